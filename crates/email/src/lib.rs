//! Hotline's email channel core: inbound MIME, threading, auto-acknowledgement, SMTP in and out.
//!
//! Modules:
//! - [`mime`]: parses raw RFC 5322/MIME bytes (multipart, attachments, GBK/GB2312/GB18030 and RFC 2047
//!   encoded words) into a domain [`InboundEmail`], classifying bounces, auto-replies and list mail.
//! - [`thread`]: attaches an inbound email to an existing conversation (Message-ID, In-Reply-To,
//!   References, then a `[#1042]` ticket tag in the subject) through a store-agnostic lookup trait, and
//!   builds outbound replies with correct threading headers and a fresh Message-ID from an injected
//!   generator.
//! - [`attachments`]: kept attachments written to files (atomic rename, SHA-256) for the shell to
//!   store with their message.
//! - [`ack`]: the auto-acknowledgement decision (zh-CN and English templates) with loop protection.
//! - [`rate`]: a bounded per-sender fixed-window counter used for acknowledgement and flood limits.
//! - [`smtp`]: an RFC 5321 subset server as a sans-IO state machine (bytes in, replies and messages out).
//! - [`listener`]: the thin tokio shell that drives [`smtp::SmtpSession`] on 127.0.0.1 (or a configured
//!   address) and hands accepted messages over a channel; it says `250` only once the receiver took the
//!   message.
//! - [`imap`]: IMAP polling (sans-IO [`imap::PollState`] and the tokio [`imap::ImapPoller`]), handing
//!   messages over as the listener's [`listener::Delivery`], marking them only once accepted.
//! - [`intake`]: parse and thread one received message for the shell, or the verdict refusing it.
//! - [`sender`]: outbound delivery of [`OutboundEmail`] through an SMTP relay with `lettre`.
//!
//! Invariants of the whole crate:
//! - this is the only crate that uses a mail library (`mail-parser`, `lettre`);
//! - bytes from the network never cause a panic: malformed MIME or SMTP yields an error or a reply code;
//! - every buffer, map and rate has a limit named with its unit (`max_message_bytes`, `max_line_bytes`,
//!   `max_tracked_senders`, `max_acks_per_sender_per_hour`...);
//! - the cores ([`mime`], [`thread`], [`ack`], [`rate`], [`smtp`]) do no IO and read no clock: time comes in
//!   as [`model::Timestamp`], Message-IDs come from an injected [`thread::MessageIdGenerator`];
//! - an automatic message is never answered automatically: bounces, auto-replies and list mail get no
//!   acknowledgement, and every acknowledgement we send carries `Auto-Submitted: auto-replied`;
//! - mail loops are cut three ways: acknowledgements are rate-limited per sender, never sent to our own
//!   address, and a message with more than `max_received_headers` hops is refused;
//! - the SMTP server never says `250` to DATA before the application took the message, so nothing
//!   acknowledged to a sender is lost.

pub mod ack;
pub mod attachments;
pub mod imap;
pub mod intake;
pub mod listener;
pub mod mime;
pub mod rate;
pub mod sender;
pub mod smtp;
pub mod thread;

pub use ack::{AckDecision, AckLanguage, AutoAckLimits, AutoAcknowledger, SuppressReason};
pub use mime::{Attachment, InboundEmail, MailKind, Mailbox, MimeError, MimeLimits, RejectedAttachment};
pub use thread::{MessageIdGenerator, OutboundEmail, ThreadLookup, ThreadMatch};
