//! The auto-acknowledgement decision: "we received your message, ticket #1042".
//!
//! Sent only to a person: never to a bounce, an auto-reply, list mail, a message without a return
//! path, or our own address, and at most `max_acks_per_sender_per_hour` times per sender (a bounded map,
//! see [`crate::rate`]). Every acknowledgement carries `Auto-Submitted: auto-replied` so well-behaved
//! robots do not answer it. This module does no IO and reads no clock.

use model::Timestamp;

use crate::mime::{InboundEmail, MailKind, Mailbox};
use crate::rate::{SenderWindow, SenderWindowLimits, WindowRefusal};
use crate::thread::{MessageIdGenerator, OutboundEmail, format_ticket_tag, reply_to};

const HOUR_MS: u64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoAckLimits {
    pub max_acks_per_sender_per_hour: u32,
    pub max_tracked_senders: usize,
    pub max_references: usize,
}

impl Default for AutoAckLimits {
    fn default() -> Self {
        Self { max_acks_per_sender_per_hour: 3, max_tracked_senders: 100_000, max_references: 50 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckLanguage {
    ZhCn,
    En,
}

impl AckLanguage {
    /// zh-CN for any `zh` language tag, English otherwise.
    pub fn for_language(language: &model::Language) -> Self {
        if language.primary().eq_ignore_ascii_case("zh") { AckLanguage::ZhCn } else { AckLanguage::En }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressReason {
    Bounce,
    AutoReply,
    MailingList,
    NullReturnPath,
    OwnAddress,
    SenderRateLimited,
    TrackingFull,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckDecision {
    Send(Box<OutboundEmail>),
    Suppressed(SuppressReason),
}

pub struct AutoAcknowledger {
    limits: AutoAckLimits,
    our_address: Mailbox,
    sent: SenderWindow,
}

impl AutoAcknowledger {
    pub fn new(our_address: Mailbox, limits: AutoAckLimits) -> Self {
        let window = SenderWindowLimits {
            max_events_per_window: limits.max_acks_per_sender_per_hour,
            window_ms: HOUR_MS,
            max_tracked_senders: limits.max_tracked_senders,
        };
        Self { limits, our_address, sent: SenderWindow::new(window) }
    }

    /// Decides whether to acknowledge `email` (already threaded into ticket `ticket`) and builds the reply.
    pub fn decide(
        &mut self,
        now: Timestamp,
        email: &InboundEmail,
        ticket: i64,
        language: AckLanguage,
        ids: &mut dyn MessageIdGenerator,
    ) -> AckDecision {
        let suppressed = match email.kind {
            MailKind::Bounce => Some(SuppressReason::Bounce),
            MailKind::AutoReply => Some(SuppressReason::AutoReply),
            MailKind::MailingList => Some(SuppressReason::MailingList),
            MailKind::Person if email.return_path.as_deref() == Some("") => Some(SuppressReason::NullReturnPath),
            MailKind::Person if email.reply_address().key() == self.our_address.key() => {
                Some(SuppressReason::OwnAddress)
            }
            MailKind::Person => None,
        };
        if let Some(reason) = suppressed {
            return AckDecision::Suppressed(reason);
        }
        match self.sent.try_record(now, &email.reply_address().key()) {
            Err(WindowRefusal::LimitReached) => return AckDecision::Suppressed(SuppressReason::SenderRateLimited),
            Err(WindowRefusal::TrackingFull) => return AckDecision::Suppressed(SuppressReason::TrackingFull),
            Ok(()) => {}
        }
        let body = ack_body(language, ticket, &email.subject);
        let mut reply = reply_to(email, self.our_address.clone(), body, Some(ticket), ids, self.limits.max_references);
        reply.auto_submitted = Some("auto-replied");
        AckDecision::Send(Box::new(reply))
    }
}

/// The acknowledgement text in the customer's language.
pub fn ack_body(language: AckLanguage, ticket: i64, subject: &str) -> String {
    let tag = format_ticket_tag(ticket);
    match language {
        AckLanguage::ZhCn => format!(
            "您好，\n\n我们已收到您的邮件“{subject}”，工单号为 {tag}。\n客服人员会尽快回复您。\
             回复本邮件时请保留主题中的工单号。\n\n此邮件为自动回复。\n"
        ),
        AckLanguage::En => format!(
            "Hello,\n\nWe have received your message \"{subject}\" and opened ticket {tag}.\n\
             An agent will answer you as soon as possible. Please keep the ticket number in the subject \
             when you reply.\n\nThis is an automatic reply.\n"
        ),
    }
}
