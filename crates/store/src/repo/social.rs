//! The social channels' messages (WeChat, Weibo, webhooks), inbound and outbound, on the contact
//! that holds the conversation, and the customer each sender id belongs to. Migration 0014.
//!
//! An inbound message is stored `received`; an outbound one `queued`, then `sent` or `failed` with a
//! reason as its delivery settles ([`Store::set_social_message_status`]); the still `queued` ones are what
//! a restarted driver sends again ([`Store::pending_social_replies`]). A sender id is linked to one
//! customer per (org, channel) ([`Store::link_social_sender`]; the first link wins).
//!
//! Never: a query without `org_id = ?`, a listing without a row limit, a stored word trusted
//! without parsing.

use model::{Channel, ContactId, CustomerId, OrgId, Timestamp};

use crate::Store;
use crate::error::StoreError;
use crate::sql::{self, RowReader, Value};

const MESSAGES: &str = "social_messages";
const MESSAGE: &str = "social message";
const SENDERS: &str = "social_senders";
const SENDER: &str = "social sender";
const COLS: &str = "org_id, id, contact_id, channel, direction, peer_id, body_text, status, failure_reason, attempts, \
                    at_ms, updated_at_ms";

/// Longest sender id (openid, Weibo uid, webhook participant id) kept, in characters; longer are refused.
pub const MAX_SOCIAL_PEER_ID_CHARS: usize = 128;
/// Longest message text kept, in characters (longer text is cut).
pub const MAX_SOCIAL_TEXT_CHARS: usize = 20_000;
/// Longest failure reason kept, in characters.
pub const MAX_SOCIAL_FAILURE_REASON_CHARS: usize = 500;
/// Most messages one listing returns.
pub const MAX_SOCIAL_MESSAGES_PER_READ: u32 = 1_000;

/// Whether the customer wrote the message or an agent did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocialDirection {
    Inbound,
    Outbound,
}

impl SocialDirection {
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

/// Where a message stands: inbound ones are `Received`; outbound ones go `Queued` → `Sent` | `Failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocialStatus {
    Received,
    Queued,
    Sent,
    Failed,
}

impl SocialStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Received, Self::Queued, Self::Sent, Self::Failed].into_iter().find(|d| d.as_str() == s)
    }
}

/// One stored social message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialMessage {
    pub org: OrgId,
    /// A UUID the binary assigns.
    pub id: String,
    pub contact: ContactId,
    pub channel: Channel,
    pub direction: SocialDirection,
    /// The customer's id on the channel: the sender of an inbound message, the recipient of an outbound one.
    pub peer_id: String,
    pub text: String,
    pub status: SocialStatus,
    pub failure_reason: Option<String>,
    /// Delivery attempts made (0 for inbound messages).
    pub attempts: u32,
    pub at: Timestamp,
    pub updated_at: Timestamp,
}

fn cut(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

fn invalid(what: &'static str, reason: String) -> StoreError {
    StoreError::InvalidInput { what, reason }
}

fn check_peer(peer: &str) -> Result<(), StoreError> {
    if peer.is_empty() || peer.chars().count() > MAX_SOCIAL_PEER_ID_CHARS {
        return Err(invalid(MESSAGE, format!("the sender id must be 1 to {MAX_SOCIAL_PEER_ID_CHARS} characters")));
    }
    Ok(())
}

fn values(m: &SocialMessage) -> Result<Vec<Value>, StoreError> {
    check_peer(&m.peer_id)?;
    if m.id.is_empty() || m.id.len() > 36 {
        return Err(invalid(MESSAGE, "the id must be 1 to 36 characters".into()));
    }
    Ok(vec![
        Value::from(m.org.to_string()),
        Value::from(m.id.clone()),
        Value::from(m.contact.to_string()),
        Value::from(m.channel.to_string()),
        Value::from(m.direction.as_str()),
        Value::from(m.peer_id.clone()),
        Value::from(cut(&m.text, MAX_SOCIAL_TEXT_CHARS)),
        Value::from(m.status.as_str()),
        Value::from(m.failure_reason.as_deref().map(|r| cut(r, MAX_SOCIAL_FAILURE_REASON_CHARS))),
        Value::from(i64::from(m.attempts)),
        Value::from(m.at.unix_ms()),
        Value::from(m.updated_at.unix_ms()),
    ])
}

fn from_row(r: &RowReader<'_>) -> Result<SocialMessage, StoreError> {
    let direction = r.text("direction")?;
    let status = r.text("status")?;
    let channel = r.text("channel")?;
    Ok(SocialMessage {
        org: r.parse("org_id")?,
        id: r.text("id")?,
        contact: r.parse("contact_id")?,
        channel: channel.parse::<Channel>().map_err(|e| r.invalid("channel", e))?,
        direction: SocialDirection::parse(&direction)
            .ok_or_else(|| r.invalid("direction", format!("{direction:?} is not a direction")))?,
        peer_id: r.text("peer_id")?,
        text: r.text("body_text")?,
        status: SocialStatus::parse(&status)
            .ok_or_else(|| r.invalid("status", format!("{status:?} is not a social message status")))?,
        failure_reason: r.opt_text("failure_reason")?,
        attempts: r.uint("attempts")?,
        at: r.time("at_ms")?,
        updated_at: r.time("updated_at_ms")?,
    })
}

impl Store {
    /// Stores one message.
    pub async fn insert_social_message(&self, m: &SocialMessage) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO {MESSAGES} ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        let args = values(m)?;
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, MESSAGE, &sql, args).await.map(drop)
    }

    /// Records where an outbound message's delivery stands; `false` when no such message.
    pub async fn set_social_message_status(
        &self,
        org: OrgId,
        id: &str,
        status: SocialStatus,
        failure_reason: Option<&str>,
        attempts: u32,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE {MESSAGES} SET status = ?, failure_reason = ?, attempts = ?, updated_at_ms = ? \
             WHERE org_id = ? AND id = ?"
        );
        let args = vec![
            Value::from(status.as_str()),
            Value::from(failure_reason.map(|r| cut(r, MAX_SOCIAL_FAILURE_REASON_CHARS))),
            Value::from(i64::from(attempts)),
            Value::from(at.unix_ms()),
            Value::from(org.to_string()),
            Value::from(id),
        ];
        let mut conn = self.conn().await?;
        Ok(sql::execute(&mut conn, self.backend, MESSAGE, &sql, args).await? > 0)
    }

    /// A contact's messages in time order, at most `max_rows` (capped at [`MAX_SOCIAL_MESSAGES_PER_READ`]).
    pub async fn list_social_messages(
        &self,
        org: OrgId,
        contact: ContactId,
        max_rows: u32,
    ) -> Result<Vec<SocialMessage>, StoreError> {
        let limit = max_rows.min(MAX_SOCIAL_MESSAGES_PER_READ);
        let sql = format!(
            "SELECT {COLS} FROM {MESSAGES} WHERE org_id = ? AND contact_id = ? ORDER BY at_ms, id LIMIT {limit}"
        );
        let args = vec![Value::from(org.to_string()), Value::from(contact.to_string())];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, MESSAGE, &sql, args).await?;
        rows.iter().map(|r| from_row(&RowReader::new(r, MESSAGES))).collect()
    }

    /// Outbound messages still `queued` (accepted from an agent, not yet `sent` nor `failed`), oldest
    /// first (time, then id), at most `max_rows` (capped at [`MAX_SOCIAL_MESSAGES_PER_READ`]): what a
    /// restarted driver sends again.
    pub async fn pending_social_replies(&self, org: OrgId, max_rows: u32) -> Result<Vec<SocialMessage>, StoreError> {
        let limit = max_rows.min(MAX_SOCIAL_MESSAGES_PER_READ);
        let sql = format!(
            "SELECT {COLS} FROM {MESSAGES} WHERE org_id = ? AND direction = ? AND status = ? \
             ORDER BY at_ms, id LIMIT {limit}"
        );
        let args = vec![
            Value::from(org.to_string()),
            Value::from(SocialDirection::Outbound.as_str()),
            Value::from(SocialStatus::Queued.as_str()),
        ];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, MESSAGE, &sql, args).await?;
        rows.iter().map(|r| from_row(&RowReader::new(r, MESSAGES))).collect()
    }

    /// The newest message exchanged with `peer` on `channel` (to join an open conversation).
    pub async fn last_social_message_with(
        &self,
        org: OrgId,
        channel: Channel,
        peer: &str,
    ) -> Result<Option<SocialMessage>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM {MESSAGES} WHERE org_id = ? AND channel = ? AND peer_id = ? \
             ORDER BY at_ms DESC, id DESC LIMIT 1"
        );
        let args = vec![Value::from(org.to_string()), Value::from(channel.to_string()), Value::from(peer)];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, MESSAGE, &sql, args).await?;
        rows.first().map(|r| from_row(&RowReader::new(r, MESSAGES))).transpose()
    }

    /// The customer a sender id on a channel is linked to.
    pub async fn social_sender_customer(
        &self,
        org: OrgId,
        channel: Channel,
        sender: &str,
    ) -> Result<Option<CustomerId>, StoreError> {
        let sql = format!("SELECT customer_id FROM {SENDERS} WHERE org_id = ? AND channel = ? AND sender_id = ?");
        let args = vec![Value::from(org.to_string()), Value::from(channel.to_string()), Value::from(sender)];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, SENDER, &sql, args).await?;
        rows.first().map(|r| RowReader::new(r, SENDERS).parse("customer_id")).transpose()
    }

    /// Links a sender id on a channel to a customer; `false` when it was already linked (kept as is).
    pub async fn link_social_sender(
        &self,
        org: OrgId,
        channel: Channel,
        sender: &str,
        customer: CustomerId,
    ) -> Result<bool, StoreError> {
        check_peer(sender)?;
        let sql = format!("INSERT INTO {SENDERS} (org_id, channel, sender_id, customer_id) VALUES (?, ?, ?, ?)");
        let args = vec![
            Value::from(org.to_string()),
            Value::from(channel.to_string()),
            Value::from(sender),
            Value::from(customer.to_string()),
        ];
        let mut conn = self.conn().await?;
        match sql::execute(&mut conn, self.backend, SENDER, &sql, args).await {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
