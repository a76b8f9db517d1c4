//! The email channel's messages, inbound and outbound, on the contact that holds their thread.
//! Migration 0009.
//!
//! A message is keyed by (org, Message-ID without brackets): storing a redelivered message again
//! answers `false` and changes nothing ([`Store::insert_email_message`]), and threading finds the
//! contact a Message-ID belongs to ([`Store::email_contact_by_message_id`]).
//!
//! Never: a query without `org_id = ?`, a listing without a row limit, a stored word trusted
//! without parsing.

use model::{ContactId, OrgId, Timestamp};

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

impl Store {
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
