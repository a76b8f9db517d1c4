//! Inbound MIME parsing: raw message bytes in, a domain [`InboundEmail`] out.
//!
//! Decoding (multipart, base64, quoted-printable, RFC 2047 encoded words, legacy charsets such as
//! GBK, GB2312 and GB18030) is delegated to `mail-parser` built with its `full_encoding` feature:
//! without that feature it decodes GBK bodies as lossy UTF-8, which a test here guards against.
//! This module adds the contact-center view: size and attachment-type limits, and the classification
//! of bounces, auto-replies and list mail that loop protection depends on.
//!
//! It must never panic on any input bytes, and never keep an attachment that breaks a limit: such an
//! attachment is dropped and listed in [`InboundEmail::rejected_attachments`] so an agent sees why.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};

/// Why a raw message cannot become an [`InboundEmail`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    #[error("message is {size_bytes} bytes, over the limit of {max_message_bytes} bytes")]
    TooLarge { size_bytes: usize, max_message_bytes: usize },
    #[error("message is empty")]
    Empty,
    #[error("malformed message: no RFC 5322 header section could be parsed")]
    NoHeaders,
    #[error("malformed message: no usable From address")]
    MissingFrom,
    #[error("mail loop: {received_headers} Received headers, over the limit of {max_received_headers}")]
    MailLoop { received_headers: usize, max_received_headers: usize },
}

/// Limits applied while parsing. Types are matched case-insensitively as `type/subtype` or `type/*`.
#[derive(Debug, Clone)]
pub struct MimeLimits {
    pub max_message_bytes: usize,
    pub max_attachment_bytes: usize,
    pub max_attachments: usize,
    /// Longest Message-ID/References list kept (oldest entries beyond it are dropped, the first kept).
    pub max_references: usize,
    /// More `Received:` hops than this means a mail loop (RFC 5321 §6.3 suggests about 100; we use less).
    pub max_received_headers: usize,
    /// Types kept; empty = every type that is not blocked.
    pub allowed_attachment_types: Vec<String>,
    /// Types never kept, even when allowed.
    pub blocked_attachment_types: Vec<String>,
}

impl Default for MimeLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 25 * 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_attachments: 20,
            max_references: 50,
            max_received_headers: 30,
            allowed_attachment_types: [
                "image/*",
                "text/plain",
                "text/csv",
                "application/pdf",
                "application/zip",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "message/rfc822",
                "message/delivery-status",
            ]
            .map(String::from)
            .to_vec(),
            blocked_attachment_types: [
                "application/x-msdownload",
                "application/x-dosexec",
                "application/x-msdos-program",
                "application/x-sh",
                "application/javascript",
                "text/html",
                "image/svg+xml",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl MimeLimits {
    /// Whether an attachment of `content_type` may be kept: allowed (or no allow-list) and not blocked.
    pub fn allows_type(&self, content_type: &str) -> bool {
        self.type_verdict(content_type).is_none()
    }

    /// Why an attachment of `content_type` may not be kept, if it may not.
    pub fn type_verdict(&self, content_type: &str) -> Option<RejectReason> {
        let ct = content_type.to_ascii_lowercase();
        let major = ct.split('/').next().unwrap_or("");
        let matches = |pattern: &String| {
            let pattern = pattern.to_ascii_lowercase();
            pattern == ct || pattern.strip_suffix("/*").is_some_and(|a| a == major)
        };
        if self.blocked_attachment_types.iter().any(matches) {
            Some(RejectReason::TypeBlocked)
        } else if !self.allowed_attachment_types.is_empty() && !self.allowed_attachment_types.iter().any(matches) {
            Some(RejectReason::TypeNotAllowed)
        } else {
            None
        }
    }
}

/// A display name and an address as written in a header (not validated beyond `local@domain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

impl Mailbox {
    pub fn new(name: Option<&str>, address: &str) -> Self {
        Self { name: name.map(str::to_owned), address: address.to_owned() }
    }

    /// The address lower-cased, the key for rate limits and customer lookup.
    pub fn key(&self) -> String {
        self.address.to_ascii_lowercase()
    }

    /// The validated vocabulary type, if the address is one.
    pub fn email(&self) -> Option<model::Email> {
        model::Email::parse(&self.address).ok()
    }

    fn local_part(&self) -> &str {
        self.address.split('@').next().unwrap_or("")
    }
}

/// A kept attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub content_id: Option<String>,
    pub size_bytes: usize,
    pub data: Vec<u8>,
}

/// An attachment dropped by a limit, kept as a note for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedAttachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub size_bytes: usize,
    pub reason: RejectReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Not in `allowed_attachment_types`.
    TypeNotAllowed,
    /// In `blocked_attachment_types`.
    TypeBlocked,
    /// Over `max_attachment_bytes`.
    TooLarge,
    /// Beyond `max_attachments` kept for one message.
    TooMany,
}

impl RejectedAttachment {
    /// Why it was not kept, for a person (the agent), naming the limit.
    pub fn explain(&self, limits: &MimeLimits) -> String {
        match self.reason {
            RejectReason::TypeNotAllowed => format!("type {} is not among the allowed types", self.content_type),
            RejectReason::TypeBlocked => format!("type {} is blocked", self.content_type),
            RejectReason::TooLarge => {
                format!("{} bytes, over the limit of {} bytes", self.size_bytes, limits.max_attachment_bytes)
            }
            RejectReason::TooMany => format!("more than {} attachments in one message", limits.max_attachments),
        }
    }
}

/// What kind of sender produced the message; anything but `Person` must never get an automatic answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Person,
    AutoReply,
    MailingList,
    Bounce,
}

/// An inbound email in Hotline's terms. Message-IDs are stored without angle brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEmail {
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub subject: String,
    pub text_body: Option<String>,
    pub html_body: Option<String>,
    pub attachments: Vec<Attachment>,
    pub rejected_attachments: Vec<RejectedAttachment>,
    /// `None` when neither the envelope nor a Return-Path header said; `Some("")` for the null path `<>`.
    pub return_path: Option<String>,
    pub auto_submitted: Option<String>,
    pub precedence: Option<String>,
    pub list_id: Option<String>,
    pub kind: MailKind,
    pub size_bytes: usize,
}

impl InboundEmail {
    /// Where an answer goes: Reply-To if given, else From.
    pub fn reply_address(&self) -> &Mailbox {
        self.reply_to.as_ref().unwrap_or(&self.from)
    }
}

/// Parses `raw`. `envelope_sender` is the SMTP `MAIL FROM` path (`Some("")` for `<>`), when known.
pub fn parse(raw: &[u8], envelope_sender: Option<&str>, limits: &MimeLimits) -> Result<InboundEmail, MimeError> {
    if raw.is_empty() {
        return Err(MimeError::Empty);
    }
    if raw.len() > limits.max_message_bytes {
        return Err(MimeError::TooLarge { size_bytes: raw.len(), max_message_bytes: limits.max_message_bytes });
    }
    let message = MessageParser::default().parse(raw).ok_or(MimeError::NoHeaders)?;
    if message.headers().is_empty() {
        return Err(MimeError::NoHeaders);
    }
    let received_headers = message.headers().iter().filter(|h| h.name().eq_ignore_ascii_case("Received")).count();
    if received_headers > limits.max_received_headers {
        let max_received_headers = limits.max_received_headers;
        return Err(MimeError::MailLoop { received_headers, max_received_headers });
    }
    let from = message.from().and_then(first_mailbox).ok_or(MimeError::MissingFrom)?;
    let return_path = envelope_sender.map(|s| s.trim_matches(|c| c == '<' || c == '>').to_owned()).or_else(|| {
        raw_header(&message, "Return-Path").map(|s| s.trim_matches(|c| c == '<' || c == '>').trim().to_owned())
    });
    let (attachments, rejected_attachments) = collect_attachments(&message, limits);
    let mut email = InboundEmail {
        message_id: message.message_id().map(clean_id).filter(|s| !s.is_empty()),
        in_reply_to: id_list(message.in_reply_to(), limits.max_references),
        references: id_list(message.references(), limits.max_references),
        from,
        to: mailboxes(message.to()),
        cc: mailboxes(message.cc()),
        reply_to: message.reply_to().and_then(first_mailbox),
        subject: message.subject().unwrap_or("").trim().to_owned(),
        text_body: message.body_text(0).map(|b| b.into_owned()),
        // mail-parser renders a text part as HTML when there is no HTML part; keep only real HTML.
        html_body: message
            .html_part(0)
            .filter(|p| p.is_text_html())
            .and_then(|_| message.body_html(0))
            .map(|b| b.into_owned()),
        attachments,
        rejected_attachments,
        return_path,
        auto_submitted: raw_header(&message, "Auto-Submitted"),
        precedence: raw_header(&message, "Precedence"),
        list_id: raw_header(&message, "List-Id").map(|v| list_id(&v)),
        kind: MailKind::Person,
        size_bytes: raw.len(),
    };
    let has_list_headers = !message.list_unsubscribe().is_empty() || !message.list_post().is_empty();
    let auto_reply_headers = ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"]
        .iter()
        .filter_map(|h| raw_header(&message, h))
        .any(|v| !v.eq_ignore_ascii_case("no") && !v.is_empty());
    email.kind = classify(&email, is_delivery_report(&message), has_list_headers, auto_reply_headers);
    Ok(email)
}

fn classify(email: &InboundEmail, delivery_report: bool, list_headers: bool, auto_reply_headers: bool) -> MailKind {
    let local = email.from.local_part().to_ascii_lowercase();
    let null_path = email.return_path.as_deref().is_some_and(str::is_empty);
    if delivery_report || null_path || local == "mailer-daemon" || local == "postmaster" {
        return MailKind::Bounce;
    }
    if email.list_id.is_some() || list_headers {
        return MailKind::MailingList;
    }
    let precedence = email.precedence.as_deref().map(str::to_ascii_lowercase);
    if matches!(precedence.as_deref(), Some("list" | "mailing-list")) {
        return MailKind::MailingList;
    }
    let auto = email.auto_submitted.as_deref().is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    if auto || auto_reply_headers || matches!(precedence.as_deref(), Some("bulk" | "junk" | "auto_reply")) {
        return MailKind::AutoReply;
    }
    MailKind::Person
}

fn is_delivery_report(message: &mail_parser::Message<'_>) -> bool {
    let report_root = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    report_root
        || message.parts.iter().any(|p| {
            p.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("message")
                    && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("delivery-status"))
            })
        })
}

fn collect_attachments(
    message: &mail_parser::Message<'_>,
    limits: &MimeLimits,
) -> (Vec<Attachment>, Vec<RejectedAttachment>) {
    let mut kept = Vec::new();
    let mut rejected = Vec::new();
    for part in message.attachments() {
        let content_type = part
            .content_type()
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")).to_ascii_lowercase())
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let data: &[u8] = match &part.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => b,
            PartType::Text(t) | PartType::Html(t) => t.as_bytes(),
            PartType::Message(m) => m.raw_message(),
            PartType::Multipart(_) => continue,
        };
        let filename = attachment_name(message, part);
        let reason = if let Some(reason) = limits.type_verdict(&content_type) {
            Some(reason)
        } else if data.len() > limits.max_attachment_bytes {
            Some(RejectReason::TooLarge)
        } else if kept.len() >= limits.max_attachments {
            Some(RejectReason::TooMany)
        } else {
            None
        };
        match reason {
            Some(reason) => {
                rejected.push(RejectedAttachment { filename, content_type, size_bytes: data.len(), reason });
            }
            None => kept.push(Attachment {
                filename,
                content_type,
                content_id: part.content_id().map(clean_id),
                size_bytes: data.len(),
                data: data.to_vec(),
            }),
        }
    }
    (kept, rejected)
}

/// The part's file name, decoded (RFC 2047 encoded words and RFC 2231 parameters in any charset,
/// through mail-parser). A name sent as raw 8-bit bytes that are not UTF-8 (some Chinese mail
/// clients write GBK bytes straight into the header) is read from the raw header as GB18030,
/// a superset of GBK and GB2312.
fn attachment_name(message: &mail_parser::Message<'_>, part: &mail_parser::MessagePart<'_>) -> Option<String> {
    let raw = message.raw_message.get(part.raw_header_offset() as usize..part.raw_body_offset() as usize);
    raw.and_then(raw_gbk_name).or_else(|| part.attachment_name().map(str::to_owned))
}

/// `filename="..."` (else `name="..."`) in raw header bytes, decoded as GB18030 when not UTF-8.
fn raw_gbk_name(raw_headers: &[u8]) -> Option<String> {
    for key in [&b"filename=\""[..], &b"name=\""[..]] {
        let Some(start) = raw_headers.windows(key.len()).position(|w| w.eq_ignore_ascii_case(key)) else { continue };
        let value = &raw_headers[start + key.len()..];
        let end = value.iter().position(|&b| b == b'"' || b == b'\r' || b == b'\n')?;
        let bytes = &value[..end];
        if std::str::from_utf8(bytes).is_ok() {
            return None;
        }
        let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
        return (!had_errors).then(|| text.into_owned());
    }
    None
}

fn first_mailbox(address: &Address<'_>) -> Option<Mailbox> {
    address.iter().find_map(to_mailbox)
}

fn mailboxes(address: Option<&Address<'_>>) -> Vec<Mailbox> {
    address.map(|a| a.iter().filter_map(to_mailbox).collect()).unwrap_or_default()
}

fn to_mailbox(addr: &mail_parser::Addr<'_>) -> Option<Mailbox> {
    let address = addr.address()?.trim();
    let (local, domain) = address.split_once('@')?;
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    Some(Mailbox {
        name: addr.name().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
        address: address.to_owned(),
    })
}

fn clean_id(id: &str) -> String {
    id.trim().trim_matches(|c| c == '<' || c == '>').to_owned()
}

/// Message-ID lists keep their first entry (the thread root) and the newest ones up to `max`.
fn id_list(value: &HeaderValue<'_>, max: usize) -> Vec<String> {
    let ids: Vec<String> = match value {
        HeaderValue::Text(t) => t.split_whitespace().map(clean_id).collect(),
        HeaderValue::TextList(list) => list.iter().map(|s| clean_id(s)).collect(),
        _ => Vec::new(),
    };
    let ids: Vec<String> = ids.into_iter().filter(|s| !s.is_empty()).collect();
    bound_references(ids, max)
}

pub(crate) fn bound_references(mut ids: Vec<String>, max: usize) -> Vec<String> {
    if ids.len() > max && max > 0 {
        let tail = ids.split_off(ids.len() - (max - 1));
        ids.truncate(1);
        ids.extend(tail);
    } else if max == 0 {
        ids.clear();
    }
    ids
}

/// `Weekly news <weekly.lists.example.com>` → `weekly.lists.example.com` (RFC 2919).
fn list_id(value: &str) -> String {
    match (value.rfind('<'), value.rfind('>')) {
        (Some(start), Some(end)) if start < end => value[start + 1..end].trim().to_owned(),
        _ => value.trim().to_owned(),
    }
}

fn raw_header(message: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    message.header_raw(name).map(|v| v.trim().to_owned())
}
