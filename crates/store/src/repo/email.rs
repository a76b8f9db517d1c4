//! The email channel's messages, inbound and outbound, on the contact that holds their thread
//! (migration 0009), and their attachments, kept or refused (migration 0012).
//!
//! A message is keyed by (org, Message-ID without brackets): storing a redelivered message again
//! answers `false` and changes nothing ([`Store::insert_email_message`]), and threading finds the
//! contact a Message-ID belongs to ([`Store::email_contact_by_message_id`]).
//!
//! Never: a query without `org_id = ?`, a listing without a row limit, a stored word trusted
//! without parsing.

use model::{ContactId, OrgId, Timestamp};
use uuid::Uuid;

use crate::Store;
use crate::error::StoreError;
use crate::sql::{self, RowReader, Value};

const MESSAGES: &str = "email_messages";
const MESSAGE: &str = "email message";
const COLS: &str = "org_id, message_id, contact_id, direction, from_address, to_address, subject, in_reply_to, \
                    references_text, body_text, at_ms";

/// Longest Message-ID kept, in characters (longer ones are refused).
pub const MAX_EMAIL_MESSAGE_ID_CHARS: usize = 255;
/// Longest address kept, in characters.
pub const MAX_EMAIL_ADDRESS_CHARS: usize = 320;
/// Longest subject kept, in characters.
pub const MAX_EMAIL_SUBJECT_CHARS: usize = 2_000;
/// Longest body text kept, in characters.
pub const MAX_EMAIL_BODY_CHARS: usize = 1_000_000;
/// Most messages one listing returns.
pub const MAX_EMAIL_MESSAGES_PER_READ: u32 = 1_000;
/// Most attachments one listing returns.
pub const MAX_EMAIL_ATTACHMENTS_PER_READ: u32 = 5_000;
/// Longest attachment file name kept, in characters.
pub const MAX_EMAIL_ATTACHMENT_NAME_CHARS: usize = 255;
/// Longest stored attachment path (relative to the attachments directory), in characters.
pub const MAX_EMAIL_ATTACHMENT_PATH_CHARS: usize = 512;

const ATTACHMENTS: &str = "email_attachments";
const ATTACHMENT: &str = "email attachment";
const ATTACHMENT_COLS: &str = "org_id, attachment_id, message_id, contact_id, part_index, filename, content_type, \
                               size_bytes, sha256, storage_path, refused_reason, at_ms";

/// Whether we received or sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailDirection {
    Inbound,
    Outbound,
}

impl EmailDirection {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "in",
            Self::Outbound => "out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Inbound, Self::Outbound].into_iter().find(|d| d.as_str() == s)
    }
}

/// One stored email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    pub org: OrgId,
    /// Without angle brackets.
    pub message_id: String,
    pub contact: ContactId,
    pub direction: EmailDirection,
    pub from_address: String,
    pub to_address: String,
    pub subject: String,
    pub in_reply_to: Option<String>,
    /// Message-IDs without brackets, oldest first.
    pub references: Vec<String>,
    pub body_text: String,
    pub at: Timestamp,
}

fn cut(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

fn values(m: &EmailMessage) -> Result<Vec<Value>, StoreError> {
    let id_ok = |id: &str| !id.is_empty() && id.chars().count() <= MAX_EMAIL_MESSAGE_ID_CHARS;
    if !id_ok(&m.message_id) {
        return Err(StoreError::InvalidInput {
            what: MESSAGE,
            reason: format!("Message-ID must be 1 to {MAX_EMAIL_MESSAGE_ID_CHARS} characters"),
        });
    }
    Ok(vec![
        Value::from(m.org.to_string()),
        Value::from(m.message_id.clone()),
        Value::from(m.contact.to_string()),
        Value::from(m.direction.as_str()),
        Value::from(cut(&m.from_address, MAX_EMAIL_ADDRESS_CHARS)),
        Value::from(cut(&m.to_address, MAX_EMAIL_ADDRESS_CHARS)),
        Value::from(cut(&m.subject, MAX_EMAIL_SUBJECT_CHARS)),
        Value::from(m.in_reply_to.as_deref().filter(|id| id_ok(id)).map(str::to_owned)),
        Value::from(m.references.iter().filter(|id| id_ok(id)).cloned().collect::<Vec<_>>().join(" ")),
        Value::from(cut(&m.body_text, MAX_EMAIL_BODY_CHARS)),
        Value::from(m.at.unix_ms()),
    ])
}

fn from_row(r: &RowReader<'_>) -> Result<EmailMessage, StoreError> {
    let direction = r.text("direction")?;
    Ok(EmailMessage {
        org: r.parse("org_id")?,
        message_id: r.text("message_id")?,
        contact: r.parse("contact_id")?,
        direction: EmailDirection::parse(&direction)
            .ok_or_else(|| r.invalid("direction", format!("{direction:?} is not an email direction")))?,
        from_address: r.text("from_address")?,
        to_address: r.text("to_address")?,
        subject: r.text("subject")?,
        in_reply_to: r.opt_text("in_reply_to")?,
        references: r.text("references_text")?.split_whitespace().map(str::to_owned).collect(),
        body_text: r.text("body_text")?,
        at: r.time("at_ms")?,
    })
}

/// What became of an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentFate {
    /// Kept: its file, relative to the attachments directory, and the hex SHA-256 of its bytes.
    Stored { path: String, sha256: String },
    /// Not kept (a limit or the type lists), with the reason for a person.
    Refused { reason: String },
}

/// One attachment part of a stored email message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAttachment {
    pub org: OrgId,
    pub id: Uuid,
    /// The message's Message-ID, without brackets.
    pub message_id: String,
    pub contact: ContactId,
    /// 0, 1, 2, ... in the order of the message's attachment parts.
    pub part_index: u32,
    pub filename: Option<String>,
    pub content_type: String,
    pub size_bytes: u64,
    pub fate: AttachmentFate,
    pub at: Timestamp,
}

fn attachment_values(a: &EmailAttachment) -> Result<Vec<Value>, StoreError> {
    let invalid = |reason: String| StoreError::InvalidInput { what: ATTACHMENT, reason };
    let (sha256, path, refused) = match &a.fate {
        AttachmentFate::Stored { path, sha256 } => {
            let relative = !path.is_empty()
                && path.chars().count() <= MAX_EMAIL_ATTACHMENT_PATH_CHARS
                && !path.starts_with('/')
                && path.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
            if !relative {
                return Err(invalid(format!("storage path {path:?} is not a relative path")));
            }
            if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid("sha256 must be 64 hex digits".into()));
            }
            (Some(sha256.clone()), Some(path.clone()), None)
        }
        AttachmentFate::Refused { reason } => (None, None, Some(cut(reason, 1_000))),
    };
    Ok(vec![
        Value::from(a.org.to_string()),
        Value::from(a.id.to_string()),
        Value::from(a.message_id.clone()),
        Value::from(a.contact.to_string()),
        Value::from(i64::from(a.part_index)),
        Value::from(a.filename.as_deref().map(|f| cut(f, MAX_EMAIL_ATTACHMENT_NAME_CHARS))),
        Value::from(cut(&a.content_type, 255)),
        Value::from(sql::to_i64(ATTACHMENT, a.size_bytes)?),
        Value::from(sha256),
        Value::from(path),
        Value::from(refused),
        Value::from(a.at.unix_ms()),
    ])
}

fn attachment_from_row(r: &RowReader<'_>) -> Result<EmailAttachment, StoreError> {
    let fate = match (r.opt_text("storage_path")?, r.opt_text("sha256")?, r.opt_text("refused_reason")?) {
        (Some(path), Some(sha256), None) => AttachmentFate::Stored { path, sha256 },
        (None, None, Some(reason)) => AttachmentFate::Refused { reason },
        _ => return Err(r.invalid("storage_path", "an attachment is either stored (path and sha256) or refused")),
    };
    let id = r.text("attachment_id")?;
    Ok(EmailAttachment {
        org: r.parse("org_id")?,
        id: Uuid::parse_str(&id).map_err(|_| r.invalid("attachment_id", format!("{id:?} is not a UUID")))?,
        message_id: r.text("message_id")?,
        contact: r.parse("contact_id")?,
        part_index: r.uint("part_index")?,
        filename: r.opt_text("filename")?,
        content_type: r.text("content_type")?,
        size_bytes: r.uint("size_bytes")?,
        fate,
        at: r.time("at_ms")?,
    })
}

impl Store {
    /// Stores a message with its attachments in one transaction: all or nothing. `false`, and
    /// nothing written, when a message with its Message-ID is already stored in the org (a
    /// redelivery: its attachments were stored with it the first time).
    pub async fn insert_email_message_with_attachments(
        &self,
        m: &EmailMessage,
        attachments: &[EmailAttachment],
    ) -> Result<bool, StoreError> {
        let message = values(m)?;
        let rows = attachments.iter().map(attachment_values).collect::<Result<Vec<_>, _>>()?;
        if attachments.iter().any(|a| a.org != m.org || a.message_id != m.message_id || a.contact != m.contact) {
            return Err(StoreError::InvalidInput {
                what: ATTACHMENT,
                reason: "an attachment names another message, contact or org".into(),
            });
        }
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(MESSAGE, e))?;
        let sql = format!("INSERT INTO {MESSAGES} ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        match sql::execute(&mut tx, self.backend, MESSAGE, &sql, message).await {
            Ok(_) => {}
            // Dropping the transaction rolls it back.
            Err(StoreError::Conflict { .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
        let sql = format!("INSERT INTO {ATTACHMENTS} ({ATTACHMENT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        for row in rows {
            sql::execute(&mut tx, self.backend, ATTACHMENT, &sql, row).await?;
        }
        tx.commit().await.map_err(|e| StoreError::from_query(MESSAGE, e))?;
        Ok(true)
    }

    /// A contact's attachments (kept and refused), by message and part, at most `max_rows`
    /// (capped at [`MAX_EMAIL_ATTACHMENTS_PER_READ`]).
    pub async fn list_email_attachments(
        &self,
        org: OrgId,
        contact: ContactId,
        max_rows: u32,
    ) -> Result<Vec<EmailAttachment>, StoreError> {
        let limit = max_rows.min(MAX_EMAIL_ATTACHMENTS_PER_READ);
        let sql = format!(
            "SELECT {ATTACHMENT_COLS} FROM {ATTACHMENTS} WHERE org_id = ? AND contact_id = ? \
             ORDER BY at_ms, message_id, part_index LIMIT {limit}"
        );
        let args = vec![Value::from(org.to_string()), Value::from(contact.to_string())];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, ATTACHMENT, &sql, args).await?;
        rows.iter().map(|r| attachment_from_row(&RowReader::new(r, ATTACHMENTS))).collect()
    }

    /// One attachment of the org.
    pub async fn get_email_attachment(&self, org: OrgId, id: Uuid) -> Result<Option<EmailAttachment>, StoreError> {
        let sql = format!("SELECT {ATTACHMENT_COLS} FROM {ATTACHMENTS} WHERE org_id = ? AND attachment_id = ?");
        let args = vec![Value::from(org.to_string()), Value::from(id.to_string())];
        let mut conn = self.conn().await?;
        let row = sql::fetch_optional(&mut conn, self.backend, ATTACHMENT, &sql, args).await?;
        row.map(|r| attachment_from_row(&RowReader::new(&r, ATTACHMENTS))).transpose()
    }

    /// Stores one message; `false` when a message with its Message-ID is already stored in the org.
    pub async fn insert_email_message(&self, m: &EmailMessage) -> Result<bool, StoreError> {
        let sql = format!("INSERT INTO {MESSAGES} ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        let args = values(m)?;
        let mut conn = self.conn().await?;
        match sql::execute(&mut conn, self.backend, MESSAGE, &sql, args).await {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The contact whose thread holds the message with this Message-ID (without brackets).
    pub async fn email_contact_by_message_id(
        &self,
        org: OrgId,
        message_id: &str,
    ) -> Result<Option<ContactId>, StoreError> {
        let sql = format!("SELECT {COLS} FROM {MESSAGES} WHERE org_id = ? AND message_id = ? LIMIT 1");
        let args = vec![Value::from(org.to_string()), Value::from(message_id)];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, MESSAGE, &sql, args).await?;
        rows.first().map(|r| from_row(&RowReader::new(r, MESSAGES)).map(|m| m.contact)).transpose()
    }

    /// A contact's messages in time order, at most `max_rows` (capped at [`MAX_EMAIL_MESSAGES_PER_READ`]).
    pub async fn list_email_messages(
        &self,
        org: OrgId,
        contact: ContactId,
        max_rows: u32,
    ) -> Result<Vec<EmailMessage>, StoreError> {
        let limit = max_rows.min(MAX_EMAIL_MESSAGES_PER_READ);
        let sql = format!(
            "SELECT {COLS} FROM {MESSAGES} WHERE org_id = ? AND contact_id = ? ORDER BY at_ms, message_id LIMIT {limit}"
        );
        let args = vec![Value::from(org.to_string()), Value::from(contact.to_string())];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, MESSAGE, &sql, args).await?;
        rows.iter().map(|r| from_row(&RowReader::new(r, MESSAGES))).collect()
    }
}
