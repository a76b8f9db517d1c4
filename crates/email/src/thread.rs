//! Conversation threading and reply construction, as pure functions.
//!
//! [`thread`] finds the conversation an inbound email belongs to through a [`ThreadLookup`] the store
//! implements: In-Reply-To first, then References from newest to oldest, then a `[#1042]` ticket tag in
//! the subject. [`reply_to`] builds an [`OutboundEmail`] with `In-Reply-To`, `References` and a `Re: `
//! subject carrying the ticket tag, and a fresh Message-ID from an injected [`MessageIdGenerator`].
//! This module never does IO and never invents ids on its own.

use crate::mime::{InboundEmail, Mailbox, bound_references};

/// What the store answers; `Conversation` is whatever it uses to name a conversation (a contact id, a ticket id).
pub trait ThreadLookup {
    type Conversation;
    /// The conversation that contains a message (inbound or outbound) with this Message-ID (no brackets).
    fn conversation_by_message_id(&self, message_id: &str) -> Option<Self::Conversation>;
    /// The conversation of the ticket with this number.
    fn conversation_by_ticket_number(&self, number: i64) -> Option<Self::Conversation>;
}

/// How an inbound email was threaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadMatch<C> {
    InReplyTo(C),
    References(C),
    TicketTag(C),
    /// No match: open a new conversation.
    New,
}

impl<C> ThreadMatch<C> {
    pub fn conversation(&self) -> Option<&C> {
        match self {
            ThreadMatch::InReplyTo(c) | ThreadMatch::References(c) | ThreadMatch::TicketTag(c) => Some(c),
            ThreadMatch::New => None,
        }
    }
}

/// Finds the conversation `email` continues.
pub fn thread<L: ThreadLookup>(email: &InboundEmail, lookup: &L) -> ThreadMatch<L::Conversation> {
    if let Some(c) = email.in_reply_to.iter().find_map(|id| lookup.conversation_by_message_id(id)) {
        return ThreadMatch::InReplyTo(c);
    }
    if let Some(c) = email.references.iter().rev().find_map(|id| lookup.conversation_by_message_id(id)) {
        return ThreadMatch::References(c);
    }
    match ticket_tag(&email.subject).and_then(|n| lookup.conversation_by_ticket_number(n)) {
        Some(c) => ThreadMatch::TicketTag(c),
        None => ThreadMatch::New,
    }
}

/// The ticket number in a `[#1042]` tag, the first one in the subject.
pub fn ticket_tag(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let digits: &str = &after[..after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len())];
        if !digits.is_empty() && after[digits.len()..].starts_with(']') && digits.len() <= 18 {
            return digits.parse().ok();
        }
        rest = after;
    }
    None
}

/// The tag written into subjects.
pub fn format_ticket_tag(number: i64) -> String {
    format!("[#{number}]")
}

/// Produces fresh Message-IDs (without angle brackets). Injected so tests are deterministic.
pub trait MessageIdGenerator {
    fn next_message_id(&mut self) -> String;
}

/// Message-IDs `<hex>@domain` from an injected source of 128-bit random numbers.
pub struct RandomMessageIds<F: FnMut() -> u128> {
    pub domain: String,
    pub random: F,
}

impl<F: FnMut() -> u128> MessageIdGenerator for RandomMessageIds<F> {
    fn next_message_id(&mut self) -> String {
        format!("{:032x}@{}", (self.random)(), self.domain)
    }
}

/// An email we send. Message-IDs are stored without angle brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundEmail {
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub text_body: String,
    pub html_body: Option<String>,
    /// `Some("auto-replied")` for automatic messages (RFC 3834), so other robots do not answer them.
    pub auto_submitted: Option<&'static str>,
}

/// A reply to `original` from `from`. `ticket` adds a `[#n]` tag to the subject if it is missing.
pub fn reply_to(
    original: &InboundEmail,
    from: Mailbox,
    text_body: String,
    ticket: Option<i64>,
    ids: &mut dyn MessageIdGenerator,
    max_references: usize,
) -> OutboundEmail {
    let mut references = original.references.clone();
    if references.is_empty() {
        references.extend(original.in_reply_to.iter().take(1).cloned());
    }
    references.extend(original.message_id.iter().cloned());
    OutboundEmail {
        from,
        to: vec![original.reply_address().clone()],
        cc: Vec::new(),
        subject: reply_subject(&original.subject, ticket),
        message_id: ids.next_message_id(),
        in_reply_to: original.message_id.clone(),
        references: bound_references(references, max_references),
        text_body,
        html_body: None,
        auto_submitted: None,
    }
}

/// `Re: ` once (existing `Re:`/`RE:`/`回复:`/`答复:` prefixes are not repeated), plus the ticket tag.
pub fn reply_subject(subject: &str, ticket: Option<i64>) -> String {
    let mut base = subject.trim();
    loop {
        let lower = base.to_lowercase();
        let prefix = ["re:", "re：", "回复:", "回复：", "答复:", "答复："].iter().find(|p| lower.starts_with(**p));
        match prefix.and_then(|p| base.get(p.len()..)) {
            Some(rest) => base = rest.trim_start(),
            None => break,
        }
    }
    let mut subject = format!("Re: {base}");
    if let Some(n) = ticket
        && ticket_tag(base) != Some(n)
    {
        subject.push(' ');
        subject.push_str(&format_ticket_tag(n));
    }
    subject
}
