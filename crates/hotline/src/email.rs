//! The email channel in the running server: the SMTP listener and the IMAP poller hand every
//! message to one receiver task, which threads it, stores it on its contact and routes new threads
//! through the contact center as `Channel::Email` contacts; agents answer through the
//! [`web::email_reply::EmailOutbox`] implemented here, sent by SMTP via `email.smarthost`.
//!
//! Per message, in order: parse (malformed → 554), look up the Message-IDs it names and its
//! `[#n]` ticket tag in the store, then
//! - a Message-ID already stored → `250` without storing again (a redelivery);
//! - a reply to a contact still open → stored on that contact (it joins the thread);
//! - a reply to a contact that has ended → a new contact submitted, added to that contact's ticket;
//! - otherwise → customer found or created by address, a contact submitted to the center at
//!   `email.entry_point`, a ticket opened, the message stored;
//!
//! and only after the store write the listener says `250` (a failed write answers `451`, so the
//! sender retries). The auto-acknowledgement (`email.auto_acknowledge`, needs a smarthost) goes out
//! after that, with the ticket number, never to robots or our own address (see `email::ack`).
//!
//! Attachments: kept ones (within `email.max_attachment_bytes`, `max_attachments_per_message` and
//! the allowed/blocked type lists) are written under `email.attachments_dir` before anything is
//! opened, then stored as rows with the message in one transaction; refused ones are stored as
//! rows with the reason, and the message is accepted all the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use center::{CenterHandle, NewContact};
use email::listener::{Delivery, ListenerConfig, SmtpListener};
use email::mime::{self, InboundEmail, Mailbox, MimeLimits};
use email::rate::SenderWindowLimits;
use email::sender::{RelayConfig, SmtpSender};
use email::smtp::{SmtpConfig, SmtpLimits, Verdict};
use email::thread::{self, MessageIdGenerator, OutboundEmail, ThreadLookup};
use email::{AckDecision, AckLanguage, AutoAckLimits, AutoAcknowledger};
use model::{
    Channel, ContactId, Customer, CustomerId, Language, OrgId, Ticket, TicketId, TicketPriority, TicketStatus,
    Timestamp, VipTier,
};
use store::{EmailDirection, EmailMessage, Store};
use tokio::sync::mpsc;
use web::email_reply::{EmailOutbox, EmailReplyError, ReplyFuture};

/// Messages waiting for the receiver task (the listener and poller wait for room).
const MAX_QUEUED_DELIVERIES: usize = 64;
/// Most Message-IDs of one message looked up for threading.
const MAX_THREAD_LOOKUPS: usize = 50;
/// Most of a customer's tickets searched for the one an answered, ended contact belongs to.
const MAX_TICKETS_SEARCHED: u32 = 50;
/// How long one outbound SMTP exchange with the smarthost may take.
const RELAY_TIMEOUT_MS: u64 = 30_000;

/// The running email channel.
pub struct EmailChannel {
    listener: Option<SmtpListener>,
    poller: Option<email::imap::ImapPoller>,
    receiver: tokio::task::JoinHandle<()>,
    outbox: Option<Arc<Mail>>,
}

impl EmailChannel {
    /// Starts what `[email]` configures; `None` when it configures nothing.
    pub async fn start(
        cfg: &config::EmailConfig,
        store: &Store,
        org: OrgId,
        center: &CenterHandle,
        texts: crate::search_texts::TextSink,
    ) -> anyhow::Result<Option<Self>> {
        if cfg.smtp_listen.is_none() && cfg.imap.is_none() && cfg.smarthost.is_none() {
            return Ok(None);
        }
        let sender = cfg.smarthost.as_ref().map(|(host, port)| {
            SmtpSender::new(&RelayConfig {
                host: host.clone(),
                port: *port,
                timeout_ms: RELAY_TIMEOUT_MS,
                credentials: None,
            })
        });
        let our = Mailbox::new(None, &cfg.support_address);
        let ack = (cfg.auto_acknowledge && sender.is_some())
            .then(|| Mutex::new(AutoAcknowledger::new(our.clone(), AutoAckLimits::default())));
        let mime_limits = MimeLimits {
            max_message_bytes: cfg.max_message_bytes as usize,
            max_attachment_bytes: usize::try_from(cfg.max_attachment_bytes).unwrap_or(usize::MAX),
            max_attachments: cfg.max_attachments_per_message,
            allowed_attachment_types: cfg.allowed_attachment_types.clone(),
            blocked_attachment_types: cfg.blocked_attachment_types.clone(),
            ..MimeLimits::default()
        };
        let mail = Arc::new(Mail {
            store: store.clone(),
            org,
            center: center.clone(),
            sender,
            our,
            domain: cfg.domain.clone(),
            entry_point: cfg.entry_point.clone(),
            mime_limits,
            attachments_dir: cfg.attachments_dir.clone(),
            ack,
            texts,
        });
        let (tx, mut rx) = mpsc::channel::<Delivery>(MAX_QUEUED_DELIVERIES);
        let clock: email::listener::Clock = Arc::new(now);
        let listener = match cfg.smtp_listen {
            Some(bind) => {
                let config = ListenerConfig {
                    bind,
                    smtp: SmtpConfig {
                        hostname: cfg.domain.clone(),
                        accepted_domains: vec![accepted_domain(&cfg.support_address, &cfg.domain)],
                        limits: SmtpLimits {
                            max_message_bytes: cfg.max_message_bytes as usize,
                            ..SmtpLimits::default()
                        },
                    },
                    max_connections: 100,
                    idle_timeout_ms: 300_000,
                    verdict_timeout_ms: 60_000,
                    flood: SenderWindowLimits {
                        max_events_per_window: 30,
                        window_ms: 3_600_000,
                        max_tracked_senders: 100_000,
                    },
                };
                let listener = SmtpListener::start(config, tx.clone(), clock.clone())
                    .await
                    .with_context(|| format!("email.smtp_listen: cannot listen on {bind}"))?;
                tracing::info!(smtp = %listener.local_addr(), "email: SMTP listener is accepting mail");
                Some(listener)
            }
            None => None,
        };
        let poller = cfg.imap.as_ref().map(|imap| {
            tracing::info!(host = %imap.host, mailbox = %imap.mailbox, "email: polling IMAP");
            email::imap::ImapPoller::start(imap_config(imap), tx.clone(), clock.clone())
        });
        drop(tx);
        let worker = mail.clone();
        let receiver = tokio::spawn(async move {
            while let Some(delivery) = rx.recv().await {
                let (verdict, acknowledge) = worker.take(&delivery).await;
                let _ = delivery.verdict.send(verdict);
                // After the `250`: the sender never waits for our acknowledgement's relay.
                if let Some(new_thread) = acknowledge {
                    worker.acknowledge(&new_thread).await;
                }
            }
        });
        let outbox = mail.sender.is_some().then_some(mail);
        Ok(Some(Self { listener, poller, receiver, outbox }))
    }

    /// The agents' reply path, when a smarthost is configured.
    pub fn outbox(&self) -> Option<Arc<dyn EmailOutbox>> {
        self.outbox.clone().map(|m| m as Arc<dyn EmailOutbox>)
    }

    /// Stops accepting and polling, then lets the receiver finish what it holds.
    pub async fn stop(self) {
        if let Some(listener) = self.listener {
            listener.shutdown().await;
        }
        if let Some(poller) = self.poller {
            poller.shutdown().await;
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.receiver).await;
    }
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp::from_unix_ms(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn random_u128() -> u128 {
    let mut bytes = [0u8; 16];
    // Without OS randomness the time still makes ids distinct enough for Message-IDs.
    if getrandom::fill(&mut bytes).is_err() {
        return u128::try_from(now().unix_ms()).unwrap_or(0);
    }
    u128::from_le_bytes(bytes)
}

/// A random (version 4 shaped) id for customers and tickets.
fn new_uuid() -> u128 {
    (random_u128() & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)
}

fn accepted_domain(support_address: &str, domain: &str) -> String {
    support_address.rsplit_once('@').map_or(domain, |(_, d)| d).to_ascii_lowercase()
}

fn imap_config(c: &config::EmailImapConfig) -> email::imap::ImapConfig {
    email::imap::ImapConfig {
        host: c.host.clone(),
        port: c.port,
        tls: c.tls,
        username: c.username.clone(),
        password: email::imap::Password(c.password.clone()),
        mailbox: c.mailbox.clone(),
        poll_interval_ms: c.poll_interval_ms,
        after: match &c.after {
            config::ImapAfterAccept::MarkSeen => email::imap::AfterAccept::MarkSeen,
            config::ImapAfterAccept::Delete => email::imap::AfterAccept::Delete,
            config::ImapAfterAccept::Move(folder) => email::imap::AfterAccept::Move(folder.clone()),
        },
        limits: email::imap::PollLimits {
            max_message_bytes: c.max_message_bytes,
            max_messages_per_poll: c.max_messages_per_poll,
            max_skipped_uids: 10_000,
            flood: SenderWindowLimits {
                max_events_per_window: c.max_messages_per_sender_per_hour,
                window_ms: 3_600_000,
                max_tracked_senders: 100_000,
            },
        },
        command_timeout_ms: c.command_timeout_ms,
        verdict_timeout_ms: 60_000,
        min_backoff_ms: c.poll_interval_ms,
        max_backoff_ms: c.max_backoff_ms,
    }
}

struct Ids {
    domain: String,
}

impl MessageIdGenerator for Ids {
    fn next_message_id(&mut self) -> String {
        format!("{:032x}@{}", random_u128(), self.domain)
    }
}

/// What the store said about the Message-IDs and ticket tag of one message.
#[derive(Default)]
struct Known {
    by_message_id: HashMap<String, ContactId>,
    by_ticket: HashMap<i64, ContactId>,
}

impl ThreadLookup for Known {
    type Conversation = ContactId;
    fn conversation_by_message_id(&self, id: &str) -> Option<ContactId> {
        self.by_message_id.get(id).copied()
    }
    fn conversation_by_ticket_number(&self, number: i64) -> Option<ContactId> {
        self.by_ticket.get(&number).copied()
    }
}

/// A thread just opened, to acknowledge once the sender heard `250`.
struct NewThread {
    email: InboundEmail,
    ticket: i64,
    contact: ContactId,
}

/// The shared state of the receiver and the outbox.
struct Mail {
    store: Store,
    org: OrgId,
    center: CenterHandle,
    sender: Option<SmtpSender>,
    our: Mailbox,
    domain: String,
    entry_point: String,
    mime_limits: MimeLimits,
    /// Where kept attachments are written (`email.attachments_dir`).
    attachments_dir: std::path::PathBuf,
    ack: Option<Mutex<AutoAcknowledger>>,
    /// Stored messages (in and out) go to keyword search.
    texts: crate::search_texts::TextSink,
}

fn temporary(what: &str, e: impl std::fmt::Display) -> Verdict {
    tracing::warn!(error = %e, "email intake: {what}");
    Verdict::TemporaryFailure(format!("{what}, try later"))
}

fn is_chinese(email: &InboundEmail) -> bool {
    let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    cjk(&email.subject) || email.text_body.as_deref().is_some_and(cjk)
}

impl Mail {
    async fn known(&self, email: &InboundEmail) -> Result<Known, store::StoreError> {
        let mut known = Known::default();
        let ids = email.message_id.iter().chain(&email.in_reply_to).chain(email.references.iter().rev());
        for id in ids.take(MAX_THREAD_LOOKUPS) {
            if let Some(contact) = self.store.email_contact_by_message_id(self.org, id).await? {
                known.by_message_id.insert(id.clone(), contact);
            }
        }
        if let Some(number) = thread::ticket_tag(&email.subject)
            && let Some(ticket) = self.store.find_ticket_by_number(self.org, number).await?
            && let Some(contact) = ticket.contacts.last()
        {
            known.by_ticket.insert(number, *contact);
        }
        Ok(known)
    }

    /// One delivery, answered only after the store write; a new thread to acknowledge.
    async fn take(&self, delivery: &Delivery) -> (Verdict, Option<NewThread>) {
        match self.take_one(delivery).await {
            Ok((verdict, new_thread)) => (verdict, new_thread),
            Err(verdict) => (verdict, None),
        }
    }

    async fn take_one(&self, delivery: &Delivery) -> Result<(Verdict, Option<NewThread>), Verdict> {
        let message = &delivery.message;
        let email = match mime::parse(&message.data, Some(&message.mail_from), &self.mime_limits) {
            Ok(email) => email,
            Err(e) => return Err(email::intake::refusal(&e)),
        };
        let known = self.known(&email).await.map_err(|e| temporary("mail store unavailable", e))?;
        // The intake rule: a Message-ID already stored is a redelivery, accepted without storing again.
        if let Some(contact) = email.message_id.as_deref().and_then(|id| known.conversation_by_message_id(id)) {
            tracing::info!(%contact, "email: a redelivered message was accepted again without storing it");
            return Ok((Verdict::Accepted { queue_id: contact.to_string() }, None));
        }
        let matched = thread::thread(&email, &known).conversation().copied();
        let open = match matched {
            Some(contact) => match self.store.get_contact(self.org, contact).await {
                Ok(stored) => stored.is_none_or(|c| c.ended_at.is_none()).then_some(contact),
                Err(e) => return Err(temporary("mail store unavailable", e)),
            },
            None => None,
        };
        let received_at = now();
        let message_id =
            email.message_id.clone().unwrap_or_else(|| Ids { domain: self.domain.clone() }.next_message_id());
        // Files first, before a contact is opened: a failing disk answers 451 and opens nothing.
        let attachments = self
            .write_attachments(&email, &message_id)
            .await
            .map_err(|e| temporary("attachment store write failed", e))?;
        let (contact, ticket) = match open {
            Some(contact) => (contact, None),
            None => self.open_thread(&email, received_at, matched).await?,
        };
        let rows: Vec<_> =
            attachments.into_iter().map(|a| a.row(self.org, &message_id, contact, received_at)).collect();
        let stored = EmailMessage {
            org: self.org,
            message_id,
            contact,
            direction: EmailDirection::Inbound,
            from_address: email.reply_address().address.clone(),
            to_address: message.rcpt_to.first().cloned().unwrap_or_default(),
            subject: email.subject.clone(),
            in_reply_to: email.in_reply_to.first().cloned(),
            references: email.references.clone(),
            body_text: email.text_body.clone().unwrap_or_default(),
            at: received_at,
        };
        if let Err(e) = self.store.insert_email_message_with_attachments(&stored, &rows).await {
            if open.is_none()
                && let Err(error) = self.center.abandon(contact).await
            {
                tracing::warn!(%error, %contact, "email: abandoning the contact of an unstored message failed");
            }
            return Err(temporary("mail store write failed", e));
        }
        tracing::info!(%contact, joined = open.is_some(), "email: message stored");
        self.texts.changed(contact);
        let new_thread = ticket.map(|ticket| NewThread { email, ticket, contact });
        Ok((Verdict::Accepted { queue_id: contact.to_string() }, new_thread))
    }

    /// A new thread: the customer (found or created), a contact submitted to the center, a ticket.
    /// `continues`: the ended contact this message answers; its ticket gets the new contact.
    async fn open_thread(
        &self,
        email: &InboundEmail,
        at: Timestamp,
        continues: Option<ContactId>,
    ) -> Result<(ContactId, Option<i64>), Verdict> {
        let from = email.reply_address();
        let customer = match self.customer(from, is_chinese(email), at).await {
            Ok(customer) => customer,
            Err(e) => return Err(temporary("customer store unavailable", e)),
        };
        let mut new = NewContact::new(Channel::Email, &self.entry_point, &from.address);
        new.customer = customer;
        new.to_address = self.our.address.clone();
        new.language = Some(
            Language::parse(if is_chinese(email) { "zh-CN" } else { "en" }).map_err(|e| temporary("language", e))?,
        );
        new.attributes.insert("email_subject".into(), email.subject.chars().take(200).collect());
        if let Some(id) = &email.message_id {
            new.attributes.insert("email_message_id".into(), id.clone());
        }
        let contact = match self.center.submit(new).await {
            Ok(contact) => contact,
            Err(e) => return Err(temporary("the contact center refused the email", e)),
        };
        if let (Some(previous), Some(customer)) = (continues, customer) {
            match self.ticket_of(customer, previous).await {
                Ok(Some(mut ticket)) => {
                    ticket.contacts.push(contact);
                    ticket.updated_at = at;
                    if let Err(e) = self.store.update_ticket(&ticket).await {
                        let _ = self.center.abandon(contact).await;
                        return Err(temporary("ticket store write failed", e));
                    }
                    return Ok((contact, None));
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = self.center.abandon(contact).await;
                    return Err(temporary("ticket store unavailable", e));
                }
            }
        }
        let number = match self.store.next_ticket_number(self.org).await {
            Ok(n) => n,
            Err(e) => {
                let _ = self.center.abandon(contact).await;
                return Err(temporary("ticket store unavailable", e));
            }
        };
        let ticket = Ticket {
            id: TicketId::from_u128(new_uuid()),
            org: self.org,
            number,
            subject: email.subject.chars().take(200).collect(),
            status: TicketStatus::Open,
            priority: TicketPriority::Normal,
            customer,
            assignee: None,
            contacts: vec![contact],
            created_at: at,
            updated_at: at,
        };
        if let Err(e) = self.store.insert_ticket(&ticket).await {
            let _ = self.center.abandon(contact).await;
            return Err(temporary("ticket store write failed", e));
        }
        Ok((contact, Some(number)))
    }

    /// The ticket among the customer's newest [`MAX_TICKETS_SEARCHED`] that holds `contact`.
    async fn ticket_of(&self, customer: CustomerId, contact: ContactId) -> Result<Option<Ticket>, store::StoreError> {
        let page =
            self.store.list_tickets_by_customer(self.org, customer, &store::Page::first(MAX_TICKETS_SEARCHED)).await?;
        Ok(page.items.into_iter().find(|t| t.contacts.contains(&contact)))
    }

    async fn customer(
        &self,
        from: &Mailbox,
        chinese: bool,
        at: Timestamp,
    ) -> Result<Option<CustomerId>, store::StoreError> {
        let Some(address) = from.email() else { return Ok(None) };
        if let Some(found) = self.store.find_customer_by_email(self.org, &address).await? {
            return Ok(Some(found.id));
        }
        let customer = Customer {
            id: CustomerId::from_u128(new_uuid()),
            org: self.org,
            name: from.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| address.to_string()),
            phones: Vec::new(),
            emails: vec![address.clone()],
            social_ids: Vec::new(),
            vip: VipTier::Normal,
            attributes: Default::default(),
            language: Language::parse(if chinese { "zh-CN" } else { "en" }).ok(),
            created_at: at,
        };
        match self.store.insert_customer(&customer).await {
            Ok(()) => Ok(Some(customer.id)),
            // Another message from the same address created them first.
            Err(store::StoreError::Conflict { .. }) => {
                Ok(self.store.find_customer_by_email(self.org, &address).await?.map(|c| c.id))
            }
            Err(e) => Err(e),
        }
    }

    /// Sends the acknowledgement (when configured and allowed) and stores it on the contact.
    async fn acknowledge(&self, new_thread: &NewThread) {
        let NewThread { email, ticket, contact } = new_thread;
        let (ticket, contact) = (*ticket, *contact);
        let (Some(ack), Some(sender)) = (&self.ack, &self.sender) else { return };
        let language = if is_chinese(email) { AckLanguage::ZhCn } else { AckLanguage::En };
        let decision = match ack.lock() {
            Ok(mut ack) => ack.decide(now(), email, ticket, language, &mut Ids { domain: self.domain.clone() }),
            Err(_) => return,
        };
        let AckDecision::Send(reply) = decision else {
            tracing::info!(?decision, "email: no acknowledgement");
            return;
        };
        if let Err(error) = sender.send(&reply).await {
            tracing::warn!(%error, "email: the acknowledgement was not sent");
            return;
        }
        if let Err(error) = self.store.insert_email_message(&outbound_row(self.org, contact, &reply)).await {
            tracing::warn!(%error, "email: the sent acknowledgement was not stored");
        }
    }

    async fn send_reply(&self, org: OrgId, contact: ContactId, body: String) -> Result<String, EmailReplyError> {
        let sender = self.sender.as_ref().ok_or_else(|| EmailReplyError::Send("no smarthost".into()))?;
        let messages = self
            .store
            .list_email_messages(org, contact, store::MAX_EMAIL_MESSAGES_PER_READ)
            .await
            .map_err(|e| EmailReplyError::Store(e.to_string()))?;
        let original =
            messages.iter().rev().find(|m| m.direction == EmailDirection::Inbound).ok_or(EmailReplyError::NoThread)?;
        let mut references = original.references.clone();
        if references.is_empty() {
            references.extend(original.in_reply_to.iter().cloned());
        }
        references.push(original.message_id.clone());
        let skip = references.len().saturating_sub(MAX_THREAD_LOOKUPS);
        let reply = OutboundEmail {
            from: self.our.clone(),
            to: vec![Mailbox::new(None, &original.from_address)],
            cc: Vec::new(),
            subject: thread::reply_subject(&original.subject, None),
            message_id: Ids { domain: self.domain.clone() }.next_message_id(),
            in_reply_to: Some(original.message_id.clone()),
            references: references.into_iter().skip(skip).collect(),
            text_body: body,
            html_body: None,
            auto_submitted: None,
        };
        sender.send(&reply).await.map_err(|e| EmailReplyError::Send(e.to_string()))?;
        self.store
            .insert_email_message(&outbound_row(org, contact, &reply))
            .await
            .map_err(|e| EmailReplyError::Store(e.to_string()))?;
        self.texts.changed(contact);
        Ok(reply.message_id)
    }
}

fn outbound_row(org: OrgId, contact: ContactId, m: &OutboundEmail) -> EmailMessage {
    EmailMessage {
        org,
        message_id: m.message_id.clone(),
        contact,
        direction: EmailDirection::Outbound,
        from_address: m.from.address.clone(),
        to_address: m.to.first().map(|t| t.address.clone()).unwrap_or_default(),
        subject: m.subject.clone(),
        in_reply_to: m.in_reply_to.clone(),
        references: m.references.clone(),
        body_text: m.text_body.clone(),
        at: now(),
    }
}

impl EmailOutbox for Mail {
    fn reply(&self, org: OrgId, contact: ContactId, body: String) -> ReplyFuture<'_> {
        Box::pin(self.send_reply(org, contact, body))
    }
}

/// Most refused attachments of one message recorded one by one (the rest are counted in the log).
const MAX_REFUSED_ATTACHMENT_ROWS: usize = 100;
/// The namespace of attachment ids (UUID v5 of org, Message-ID and part index).
const ATTACHMENT_ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6a0e_52c1_7d3b_4f0a_9b51_3c2e_8d47_a612);

/// An attachment of a message being taken, written (or refused) before its contact is known.
struct TakenAttachment {
    id: uuid::Uuid,
    part_index: u32,
    filename: Option<String>,
    content_type: String,
    size_bytes: usize,
    fate: store::AttachmentFate,
}

impl TakenAttachment {
    fn row(self, org: OrgId, message_id: &str, contact: ContactId, at: Timestamp) -> store::EmailAttachment {
        store::EmailAttachment {
            org,
            id: self.id,
            message_id: message_id.to_owned(),
            contact,
            part_index: self.part_index,
            filename: self.filename,
            content_type: self.content_type,
            size_bytes: u64::try_from(self.size_bytes).unwrap_or(u64::MAX),
            fate: self.fate,
            at,
        }
    }
}

impl Mail {
    /// Writes the kept attachments to files and lists the refused ones with their reasons. Ids
    /// derive from (org, Message-ID, part), so a redelivery before the first was stored rewrites
    /// the same files.
    async fn write_attachments(
        &self,
        email: &InboundEmail,
        message_id: &str,
    ) -> Result<Vec<TakenAttachment>, email::attachments::AttachmentWriteError> {
        let id = |part: usize| {
            uuid::Uuid::new_v5(&ATTACHMENT_ID_NAMESPACE, format!("{}/{message_id}/{part}", self.org).as_bytes())
        };
        let part_index = |part: usize| u32::try_from(part).unwrap_or(u32::MAX);
        let mut taken = Vec::with_capacity(email.attachments.len());
        for (part, a) in email.attachments.iter().enumerate() {
            let id = id(part);
            let file = email::attachments::write(&self.attachments_dir, &id.to_string(), &a.data).await?;
            taken.push(TakenAttachment {
                id,
                part_index: part_index(part),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size_bytes: a.size_bytes,
                fate: store::AttachmentFate::Stored { path: file.path, sha256: file.sha256 },
            });
        }
        let refused = &email.rejected_attachments;
        if refused.len() > MAX_REFUSED_ATTACHMENT_ROWS {
            let unrecorded = refused.len() - MAX_REFUSED_ATTACHMENT_ROWS;
            tracing::warn!(unrecorded, "email: more refused attachments than are recorded one by one");
        }
        for (n, r) in refused.iter().take(MAX_REFUSED_ATTACHMENT_ROWS).enumerate() {
            let part = email.attachments.len() + n;
            let reason = r.explain(&self.mime_limits);
            tracing::info!(filename = ?r.filename, %reason, "email: attachment refused, message kept");
            taken.push(TakenAttachment {
                id: id(part),
                part_index: part_index(part),
                filename: r.filename.clone(),
                content_type: r.content_type.clone(),
                size_bytes: r.size_bytes,
                fate: store::AttachmentFate::Refused { reason },
            });
        }
        Ok(taken)
    }
}
