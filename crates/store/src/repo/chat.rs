//! Web chat: conversations (pre-chat form, state, agent, the contact that routed it, the
//! customer's read mark and rating) and their transcripts (one row per sequenced message, with an
//! attachment's name, type and size). Migration 0008.
//!
//! The chat core (`chat` crate) makes every decision; this module stores what it decided so a
//! conversation survives a restart and is replayed to a reconnecting widget:
//! - a message is keyed by (org, conversation, seq): writing the same message twice stores it once
//!   ([`Store::insert_chat_message`] answers `false` the second time), so a retried write never
//!   duplicates a line of the transcript;
//! - only the SHA-256 digest (hex) of a conversation's resume token is kept, never the token.
//!
//! Never: a query without `org_id = ?`, a listing without a row limit, or a stored word (state,
//! author) trusted without parsing.

use model::{AgentId, ContactId, Email, Language, OrgId, Timestamp};

use crate::error::StoreError;
use crate::sql::{self, RowReader, Value, text_opt, to_i64};
use crate::{Backend, Store};

const CONVERSATIONS: &str = "chat_conversations";
const CONVERSATION: &str = "chat conversation";
const CONVERSATION_COLS: &str = "org_id, id, token_sha256, contact_id, customer_name, issue_type, language, email, \
                                 state, agent_id, started_at_ms, updated_at_ms, ended_at_ms, customer_read_seq, \
                                 rating, rating_comment, rated_at_ms";
const MESSAGES: &str = "chat_messages";
const MESSAGE: &str = "chat message";
const MESSAGE_COLS: &str = "org_id, conversation_id, seq, author, text, client_msg_id, sent_at_ms, \
                            attachment_name, attachment_mime, attachment_bytes";

/// Longest message text kept, in characters (the chat core's own limit is far below).
pub const MAX_CHAT_TEXT_CHARS: usize = 16_000;
/// Longest customer name, attachment name or rating comment kept, in characters.
pub const MAX_CHAT_NAME_CHARS: usize = 400;
/// Most messages one listing returns.
pub const MAX_CHAT_MESSAGES_PER_READ: u32 = 10_000;
/// Most rows one [`Store::insert_chat_messages`] or [`Store::insert_chat_conversations`] takes.
pub const MAX_CHAT_ROWS_PER_BATCH: usize = 1_000;
/// Rows per multi-row INSERT (17 columns × 200 stays far below every backend's bind limit).
const ROWS_PER_STATEMENT: usize = 200;

/// Where a stored conversation stands (the chat core's states after the pre-chat form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatConversationState {
    Queued,
    Open,
    Offline,
    Ended,
}

impl ChatConversationState {
    pub const ALL: [Self; 4] = [Self::Queued, Self::Open, Self::Offline, Self::Ended];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Open => "open",
            Self::Offline => "offline",
            Self::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Who wrote a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatAuthor {
    Customer,
    Agent,
    System,
}

impl ChatAuthor {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent => "agent",
            Self::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Customer, Self::Agent, Self::System].into_iter().find(|k| k.as_str() == s)
    }
}

/// A stored chat conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatConversation {
    pub org: OrgId,
    /// The chat's public id: 32 lower-case hex digits.
    pub id: String,
    /// SHA-256 of the resume token, 64 lower-case hex digits.
    pub token_sha256: String,
    /// The contact the center routed it as (none until routed, or when never routed).
    pub contact: Option<ContactId>,
    pub customer_name: String,
    pub issue_type: String,
    pub language: Language,
    pub email: Option<Email>,
    pub state: ChatConversationState,
    pub agent: Option<AgentId>,
    pub started_at: Timestamp,
    pub updated_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// The customer has seen every message up to this sequence number.
    pub customer_read_seq: u64,
    /// CSAT 1–5, once.
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<Timestamp>,
}

/// What a stored message carries when it is a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAttachment {
    pub name: String,
    pub mime: String,
    pub bytes: u64,
}

/// One sequenced message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub org: OrgId,
    pub conversation_id: String,
    /// 1, 2, 3, ... per conversation.
    pub seq: u64,
    pub author: ChatAuthor,
    pub text: String,
    /// The customer's (or agent's) id for it, for de-duplication after a restore.
    pub client_msg_id: Option<String>,
    pub sent_at: Timestamp,
    pub attachment: Option<ChatAttachment>,
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_id(what: &'static str, id: &str) -> Result<(), StoreError> {
    if is_lower_hex(id, 32) {
        Ok(())
    } else {
        Err(StoreError::InvalidInput { what, reason: format!("{id:?} is not a 32-hex chat id") })
    }
}

fn cut(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

fn conversation_values(c: &ChatConversation) -> Result<Vec<Value>, StoreError> {
    check_id(CONVERSATION, &c.id)?;
    if !is_lower_hex(&c.token_sha256, 64) {
        return Err(StoreError::InvalidInput { what: CONVERSATION, reason: "the token digest is not 64 hex".into() });
    }
    Ok(vec![
        Value::from(c.org.to_string()),
        Value::from(c.id.clone()),
        Value::from(c.token_sha256.clone()),
        text_opt(c.contact.as_ref()),
        Value::from(cut(&c.customer_name, MAX_CHAT_NAME_CHARS)),
        Value::from(cut(&c.issue_type, 16)),
        Value::from(c.language.to_string()),
        text_opt(c.email.as_ref()),
        Value::from(c.state.as_str()),
        text_opt(c.agent.as_ref()),
        Value::from(c.started_at.unix_ms()),
        Value::from(c.updated_at.unix_ms()),
        Value::from(c.ended_at.map(Timestamp::unix_ms)),
        Value::from(to_i64("customer read mark", c.customer_read_seq)?),
        Value::from(c.rating.map(i64::from)),
        Value::from(c.rating_comment.as_deref().map(|t| cut(t, MAX_CHAT_NAME_CHARS))),
        Value::from(c.rated_at.map(Timestamp::unix_ms)),
    ])
}

fn conversation_from_row(r: &RowReader<'_>) -> Result<ChatConversation, StoreError> {
    let id = r.text("id")?;
    if !is_lower_hex(&id, 32) {
        return Err(r.invalid("id", format!("{id:?} is not a 32-hex chat id")));
    }
    let state = r.text("state")?;
    Ok(ChatConversation {
        org: r.parse("org_id")?,
        id,
        token_sha256: r.text("token_sha256")?,
        contact: r.opt_parse("contact_id")?,
        customer_name: r.text("customer_name")?,
        issue_type: r.text("issue_type")?,
        language: r.with("language", Language::parse)?,
        email: r.opt_with("email", Email::parse)?,
        state: ChatConversationState::parse(&state)
            .ok_or_else(|| r.invalid("state", format!("{state:?} is not a chat state")))?,
        agent: r.opt_parse("agent_id")?,
        started_at: r.time("started_at_ms")?,
        updated_at: r.time("updated_at_ms")?,
        ended_at: r.opt_time("ended_at_ms")?,
        customer_read_seq: r.uint("customer_read_seq")?,
        rating: r.opt_uint("rating")?,
        rating_comment: r.opt_text("rating_comment")?,
        rated_at: r.opt_time("rated_at_ms")?,
    })
}

fn message_values(m: &ChatMessage) -> Result<Vec<Value>, StoreError> {
    check_id(MESSAGE, &m.conversation_id)?;
    let attachment = m.attachment.as_ref();
    Ok(vec![
        Value::from(m.org.to_string()),
        Value::from(m.conversation_id.clone()),
        Value::from(to_i64("message seq", m.seq)?),
        Value::from(m.author.as_str()),
        Value::from(cut(&m.text, MAX_CHAT_TEXT_CHARS)),
        Value::from(m.client_msg_id.as_deref().map(|t| cut(t, 64))),
        Value::from(m.sent_at.unix_ms()),
        Value::from(attachment.map(|a| cut(&a.name, MAX_CHAT_NAME_CHARS))),
        Value::from(attachment.map(|a| cut(&a.mime, 100))),
        Value::from(attachment.map(|a| to_i64("attachment size", a.bytes)).transpose()?),
    ])
}

fn message_from_row(r: &RowReader<'_>) -> Result<ChatMessage, StoreError> {
    let author = r.text("author")?;
    let attachment = match (r.opt_text("attachment_name")?, r.opt_text("attachment_mime")?) {
        (Some(name), Some(mime)) => Some(ChatAttachment { name, mime, bytes: r.uint("attachment_bytes")? }),
        _ => None,
    };
    Ok(ChatMessage {
        org: r.parse("org_id")?,
        conversation_id: r.text("conversation_id")?,
        seq: r.uint("seq")?,
        author: ChatAuthor::parse(&author)
            .ok_or_else(|| r.invalid("author", format!("{author:?} is not a chat author")))?,
        text: r.text("text")?,
        client_msg_id: r.opt_text("client_msg_id")?,
        sent_at: r.time("sent_at_ms")?,
        attachment,
    })
}

impl Store {
    /// Writes the whole conversation row: inserted when new, replaced when it exists.
    pub async fn save_chat_conversation(&self, c: &ChatConversation) -> Result<(), StoreError> {
        let mut values = conversation_values(c)?;
        let update = format!(
            "UPDATE {CONVERSATIONS} SET token_sha256 = ?, contact_id = ?, customer_name = ?, issue_type = ?, \
             language = ?, email = ?, state = ?, agent_id = ?, started_at_ms = ?, updated_at_ms = ?, \
             ended_at_ms = ?, customer_read_seq = ?, rating = ?, rating_comment = ?, rated_at_ms = ? \
             WHERE org_id = ? AND id = ?"
        );
        let mut conn = self.conn().await?;
        let mut by_key = values.clone();
        let key: Vec<Value> = by_key.drain(..2).collect();
        by_key.extend(key);
        if sql::execute(&mut conn, self.backend, CONVERSATION, &update, by_key.clone()).await? > 0 {
            return Ok(());
        }
        let insert = format!(
            "INSERT INTO {CONVERSATIONS} ({CONVERSATION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        match sql::execute(&mut conn, self.backend, CONVERSATION, &insert, std::mem::take(&mut values)).await {
            // Another writer inserted it between the two statements: the update now applies.
            Err(StoreError::Conflict { .. }) => {
                sql::execute(&mut conn, self.backend, CONVERSATION, &update, by_key).await.map(drop)
            }
            other => other.map(drop),
        }
    }

    pub async fn get_chat_conversation(&self, org: OrgId, id: &str) -> Result<Option<ChatConversation>, StoreError> {
        if !is_lower_hex(id, 32) {
            return Ok(None);
        }
        let sql = format!("SELECT {CONVERSATION_COLS} FROM {CONVERSATIONS} WHERE org_id = ? AND id = ?");
        let args = vec![Value::from(org.to_string()), Value::from(id)];
        let mut conn = self.conn().await?;
        let row = sql::fetch_optional(&mut conn, self.backend, CONVERSATION, &sql, args).await?;
        row.map(|r| conversation_from_row(&RowReader::new(&r, CONVERSATIONS))).transpose()
    }

    /// The conversation the center routed as `contact`, if any.
    pub async fn find_chat_conversation_by_contact(
        &self,
        org: OrgId,
        contact: ContactId,
    ) -> Result<Option<ChatConversation>, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLS} FROM {CONVERSATIONS} WHERE org_id = ? AND contact_id = ? \
             ORDER BY started_at_ms DESC, id LIMIT 1"
        );
        let args = vec![Value::from(org.to_string()), Value::from(contact.to_string())];
        let mut conn = self.conn().await?;
        let row = sql::fetch_optional(&mut conn, self.backend, CONVERSATION, &sql, args).await?;
        row.map(|r| conversation_from_row(&RowReader::new(&r, CONVERSATIONS))).transpose()
    }

    /// Moves the conversation to `state` (ending it at `at` when `Ended`).
    /// [`StoreError::NotFound`] if it was never saved.
    pub async fn set_chat_conversation_state(
        &self,
        org: OrgId,
        id: &str,
        state: ChatConversationState,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {CONVERSATIONS} SET state = ?, ended_at_ms = ?, updated_at_ms = ? WHERE org_id = ? AND id = ?"
        );
        let ended = (state == ChatConversationState::Ended).then(|| at.unix_ms());
        let args = vec![
            Value::from(state.as_str()),
            Value::from(ended),
            Value::from(at.unix_ms()),
            Value::from(org.to_string()),
            Value::from(id),
        ];
        self.update_one_conversation(id, &sql, args).await
    }

    /// Records the agent talking to the customer (`None`: nobody, after a restart re-queued it).
    pub async fn set_chat_conversation_agent(
        &self,
        org: OrgId,
        id: &str,
        agent: Option<AgentId>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = format!("UPDATE {CONVERSATIONS} SET agent_id = ?, updated_at_ms = ? WHERE org_id = ? AND id = ?");
        let args =
            vec![text_opt(agent.as_ref()), Value::from(at.unix_ms()), Value::from(org.to_string()), Value::from(id)];
        self.update_one_conversation(id, &sql, args).await
    }

    /// Records the contact the center routed the conversation as.
    pub async fn link_chat_contact(&self, org: OrgId, id: &str, contact: ContactId) -> Result<(), StoreError> {
        let sql = format!("UPDATE {CONVERSATIONS} SET contact_id = ? WHERE org_id = ? AND id = ?");
        let args = vec![Value::from(contact.to_string()), Value::from(org.to_string()), Value::from(id)];
        self.update_one_conversation(id, &sql, args).await
    }

    /// Stores the customer's rating; `false` when the conversation was already rated (the first
    /// rating stays).
    pub async fn rate_chat_conversation(
        &self,
        org: OrgId,
        id: &str,
        score: u8,
        comment: Option<&str>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        if !(1..=5).contains(&score) {
            return Err(StoreError::InvalidInput { what: CONVERSATION, reason: format!("rating {score} is not 1-5") });
        }
        let sql = format!(
            "UPDATE {CONVERSATIONS} SET rating = ?, rating_comment = ?, rated_at_ms = ? \
             WHERE org_id = ? AND id = ? AND rating IS NULL"
        );
        let args = vec![
            Value::from(i64::from(score)),
            Value::from(comment.map(|t| cut(t, MAX_CHAT_NAME_CHARS))),
            Value::from(at.unix_ms()),
            Value::from(org.to_string()),
            Value::from(id),
        ];
        let mut conn = self.conn().await?;
        Ok(sql::execute(&mut conn, self.backend, CONVERSATION, &sql, args).await? > 0)
    }

    /// Raises the customer's read mark (a lower one than stored changes nothing).
    pub async fn set_chat_customer_read(&self, org: OrgId, id: &str, up_to_seq: u64) -> Result<(), StoreError> {
        let seq = to_i64("customer read mark", up_to_seq)?;
        let sql = format!(
            "UPDATE {CONVERSATIONS} SET customer_read_seq = ? WHERE org_id = ? AND id = ? AND customer_read_seq < ?"
        );
        let args = vec![Value::from(seq), Value::from(org.to_string()), Value::from(id), Value::from(seq)];
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, CONVERSATION, &sql, args).await.map(drop)
    }

    async fn update_one_conversation(&self, id: &str, sql: &str, args: Vec<Value>) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        match sql::execute(&mut conn, self.backend, CONVERSATION, sql, args).await? {
            0 => Err(StoreError::NotFound { what: CONVERSATION, key: id.to_owned() }),
            _ => Ok(()),
        }
    }

    /// Inserts new conversation rows in one transaction; a row whose id is already stored is
    /// left alone (a retried write stores it once). Returns how many were new. At most
    /// [`MAX_CHAT_ROWS_PER_BATCH`]; a bad row refuses the whole call and writes nothing.
    pub async fn insert_chat_conversations(&self, rows: &[ChatConversation]) -> Result<u64, StoreError> {
        let values = rows.iter().map(conversation_values).collect::<Result<Vec<_>, _>>()?;
        self.insert_rows_if_absent(CONVERSATIONS, CONVERSATION_COLS, "org_id, id", CONVERSATION, values).await
    }

    /// Stores messages in one transaction; one whose sequence number is already stored for its
    /// conversation is left alone (a retried write stores it once). Returns how many were new.
    /// At most [`MAX_CHAT_ROWS_PER_BATCH`]; a bad row refuses the whole call and writes nothing.
    pub async fn insert_chat_messages(&self, messages: &[ChatMessage]) -> Result<u64, StoreError> {
        let values = messages.iter().map(message_values).collect::<Result<Vec<_>, _>>()?;
        self.insert_rows_if_absent(MESSAGES, MESSAGE_COLS, "org_id, conversation_id, seq", MESSAGE, values).await
    }

    /// Multi-row inserts of `rows` into `table` in one transaction, leaving rows whose `key`
    /// exists alone.
    async fn insert_rows_if_absent(
        &self,
        table: &str,
        cols: &str,
        key: &str,
        what: &'static str,
        rows: Vec<Vec<Value>>,
    ) -> Result<u64, StoreError> {
        if rows.len() > MAX_CHAT_ROWS_PER_BATCH {
            return Err(StoreError::InvalidInput {
                what,
                reason: format!("at most {MAX_CHAT_ROWS_PER_BATCH} rows at once"),
            });
        }
        if rows.is_empty() {
            return Ok(0);
        }
        let marks = format!("({})", vec!["?"; cols.split(", ").count()].join(", "));
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(what, e))?;
        let mut added = 0;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let values = vec![marks.as_str(); chunk.len()].join(", ");
            let sql = match self.backend {
                Backend::MySql => format!("INSERT IGNORE INTO {table} ({cols}) VALUES {values}"),
                _ => format!("INSERT INTO {table} ({cols}) VALUES {values} ON CONFLICT ({key}) DO NOTHING"),
            };
            added += sql::execute(&mut tx, self.backend, what, &sql, chunk.concat()).await?;
        }
        tx.commit().await.map_err(|e| StoreError::from_query(what, e))?;
        Ok(added)
    }

    /// Stores one message; `false` when a message with its sequence number is already stored (a
    /// retried write stores it once).
    pub async fn insert_chat_message(&self, m: &ChatMessage) -> Result<bool, StoreError> {
        let sql = format!("INSERT INTO {MESSAGES} ({MESSAGE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        let mut conn = self.conn().await?;
        match sql::execute(&mut conn, self.backend, MESSAGE, &sql, message_values(m)?).await {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The conversation's messages after `after_seq`, in order, at most `max_rows` (capped at
    /// [`MAX_CHAT_MESSAGES_PER_READ`]).
    pub async fn list_chat_messages(
        &self,
        org: OrgId,
        conversation_id: &str,
        after_seq: u64,
        max_rows: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let limit = max_rows.min(MAX_CHAT_MESSAGES_PER_READ);
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM {MESSAGES} WHERE org_id = ? AND conversation_id = ? AND seq > ? \
             ORDER BY seq LIMIT {limit}"
        );
        let args = vec![
            Value::from(org.to_string()),
            Value::from(conversation_id),
            Value::from(to_i64("message seq", after_seq)?),
        ];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, MESSAGE, &sql, args).await?;
        rows.iter().map(|r| message_from_row(&RowReader::new(r, MESSAGES))).collect()
    }
}
