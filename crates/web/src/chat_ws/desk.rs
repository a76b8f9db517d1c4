//! The agent desktop's side of a chat, over REST: the conversation of a chat contact (messages
//! after a sequence number, whether the customer is typing, how far the customer has read),
//! sending a message, "typing" and read marks. The desktop polls the conversation while the
//! chat is in its hands.
//!
//! Routes (in the route table, tag `live`):
//! - `GET /api/contacts/{id}/chat?after=N` — the agent holding the chat, or staff;
//! - `POST /api/contacts/{id}/chat/messages` `{"id": "...", "text": "..."}` → 201 `{"seq": n}`
//!   (a retry with the same `id` is stored once and answered with the same number);
//! - `POST /api/contacts/{id}/chat/typing`, `POST /api/contacts/{id}/chat/read` `{"up_to_seq": n}`.
//!
//! Agents act only on their own chats: the agent is the session's, and the chat core refuses
//! another agent's conversation. A conversation this process no longer holds is read from the
//! store (read only).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chat::{AgentError, Author, ConversationId, ConversationState, Entry};
use model::{ContactId, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ChatHub;
use crate::AppState;
use crate::api::{ApiQuery, parse_id};
use crate::guard::Caller;
use crate::problem::{ApiJson, Problem, ProblemKind};

/// How long after the customer's last `typing` frame the desktop shows "typing".
pub const CUSTOMER_TYPING_SHOWN_MS: i64 = 5_000;
/// Most messages one read of a conversation returns.
pub const MAX_MESSAGES_PER_READ: usize = 1_000;

/// Routed chats by contact, and when each customer last typed (bounded by `max_conversations`).
#[derive(Default)]
pub(crate) struct DeskIndex {
    by_contact: HashMap<ContactId, ConversationId>,
    typing_at: HashMap<ConversationId, Timestamp>,
}

impl DeskIndex {
    /// Remembers the contact's chat; when full, first forgets chats the core no longer holds.
    pub fn link(&mut self, contact: ContactId, id: ConversationId, max: usize, held: impl Fn(&ConversationId) -> bool) {
        if self.by_contact.len() >= max {
            self.by_contact.retain(|_, c| held(c));
            self.typing_at.retain(|c, _| held(c));
        }
        if self.by_contact.len() < max {
            self.by_contact.insert(contact, id);
        }
    }

    pub fn typing(&mut self, id: &ConversationId, now: Timestamp, max: usize) {
        if self.typing_at.len() >= max {
            let cutoff = now.unix_ms() - CUSTOMER_TYPING_SHOWN_MS;
            self.typing_at.retain(|_, t| t.unix_ms() >= cutoff);
        }
        if self.typing_at.len() < max || self.typing_at.contains_key(id) {
            self.typing_at.insert(id.clone(), now);
        }
    }
}

fn hub_of(app: &AppState) -> Result<&Arc<ChatHub>, Problem> {
    app.chat.get().ok_or_else(|| Problem::of(ProblemKind::Unavailable, "web chat is not running"))
}

fn agent_problem(e: AgentError) -> Problem {
    let kind = match e {
        AgentError::UnknownConversation => ProblemKind::NotFound,
        AgentError::NotYours => ProblemKind::Forbidden,
        AgentError::InvalidMessage => ProblemKind::Validation,
        AgentError::Ended | AgentError::NotQueued | AgentError::ConversationFull | AgentError::TooManyAgents => {
            ProblemKind::Conflict
        }
    };
    Problem::of(kind, e.to_string())
}

fn author(a: Author) -> &'static str {
    match a {
        Author::Agent => "agent",
        Author::Customer => "customer",
        Author::System => "system",
    }
}

fn state_word(s: ConversationState) -> &'static str {
    match s {
        ConversationState::Prechat => "prechat",
        ConversationState::Queued => "queued",
        ConversationState::Open => "open",
        ConversationState::Offline => "offline",
        ConversationState::Ended => "ended",
    }
}

fn message_json(e: &Entry) -> Value {
    let mut m = json!({ "seq": e.seq, "from": author(e.from), "text": e.text, "ts": e.ts.unix_ms() });
    if let Some(a) = &e.attachment {
        m["attachment"] = json!({ "name": a.name, "mime": a.mime, "size": a.size });
    }
    m
}

/// What the hub knows of a contact's chat, read under its lock.
struct Held {
    id: ConversationId,
    state: ConversationState,
    agent: Option<model::AgentId>,
    messages: Vec<Entry>,
    customer_read_seq: u64,
    typing: bool,
}

impl ChatHub {
    /// The chat the center routed as `contact`, while this process holds it.
    fn chat_of(&self, contact: ContactId) -> Option<ConversationId> {
        self.lock().desk.by_contact.get(&contact).cloned()
    }

    fn held(&self, id: &ConversationId, after_seq: u64) -> Option<Held> {
        let now = self.clock.now();
        let inner = self.lock();
        let state = inner.core.state(id)?;
        let mut messages = inner.core.transcript(id, after_seq)?;
        messages.truncate(MAX_MESSAGES_PER_READ);
        let typing =
            inner.desk.typing_at.get(id).is_some_and(|t| now.unix_ms() - t.unix_ms() < CUSTOMER_TYPING_SHOWN_MS);
        Some(Held {
            id: id.clone(),
            state,
            agent: inner.core.agent(id),
            messages,
            customer_read_seq: inner.core.customer_read_seq(id).unwrap_or(0),
            typing,
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct AfterQuery {
    after: Option<u64>,
}

/// `GET /api/contacts/{id}/chat?after=N`.
pub(crate) async fn conversation(
    State(app): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<AfterQuery>,
) -> Result<Json<Value>, Problem> {
    let contact = parse_id::<ContactId>(&id, "contact")?;
    let hub = hub_of(&app)?;
    let after = q.after.unwrap_or(0);
    if let Some(held) = hub.chat_of(contact).and_then(|chat| hub.held(&chat, after)) {
        if !c.may_see(held.agent) {
            return Err(Problem::not_found("chat"));
        }
        let last_seq = held.messages.last().map_or(after, |m| m.seq);
        return Ok(Json(json!({
            "conversation_id": held.id.as_str(),
            "state": state_word(held.state),
            "agent": held.agent.map(|a| a.to_string()),
            "messages": held.messages.iter().map(message_json).collect::<Vec<_>>(),
            "last_seq": last_seq,
            "customer_typing": held.typing,
            "customer_read_seq": held.customer_read_seq,
        })));
    }
    // Not held here any more: the stored transcript, read only.
    let row = app.store.find_chat_conversation_by_contact(c.who.org, contact).await?;
    let Some(row) = row.filter(|r| c.may_see(r.agent)) else { return Err(Problem::not_found("chat")) };
    let stored = app.store.list_chat_messages(c.who.org, &row.id, after, MAX_MESSAGES_PER_READ as u32).await?;
    let messages: Vec<Value> = stored
        .iter()
        .map(|m| json!({ "seq": m.seq, "from": m.author.as_str(), "text": m.text, "ts": m.sent_at.unix_ms() }))
        .collect();
    Ok(Json(json!({
        "conversation_id": row.id,
        "state": row.state.as_str(),
        "agent": row.agent.map(|a| a.to_string()),
        "last_seq": stored.last().map_or(after, |m| m.seq),
        "messages": messages,
        "customer_typing": false,
        "customer_read_seq": row.customer_read_seq,
    })))
}

/// The caller's agent and the contact's chat held here, or the problem to answer.
fn my_chat(app: &AppState, c: &Caller, id: &str) -> Result<(Arc<ChatHub>, ConversationId, model::AgentId), Problem> {
    let agent = c.agent.ok_or_else(|| Problem::of(ProblemKind::Forbidden, "only a signed-in agent can do this"))?;
    let contact = parse_id::<ContactId>(id, "contact")?;
    let hub = hub_of(app)?;
    let chat = hub.chat_of(contact).ok_or_else(|| Problem::not_found("chat"))?;
    Ok((hub.clone(), chat, agent))
}

#[derive(Deserialize)]
pub(crate) struct MessageBody {
    /// The desktop's id for the message; a retry with the same id is stored once.
    id: String,
    text: String,
}

/// `POST /api/contacts/{id}/chat/messages`.
pub(crate) async fn send(
    State(app): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let (hub, chat, agent) = my_chat(&app, &c, &id)?;
    let seq = hub.agent_send(&chat, agent, &body.id, &body.text).map_err(agent_problem)?;
    Ok((StatusCode::CREATED, Json(json!({ "seq": seq }))))
}

/// `POST /api/contacts/{id}/chat/typing`.
pub(crate) async fn typing(
    State(app): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let (hub, chat, agent) = my_chat(&app, &c, &id)?;
    hub.agent_typing(&chat, agent).map_err(agent_problem)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(crate) struct ReadBody {
    up_to_seq: u64,
}

/// `POST /api/contacts/{id}/chat/read`.
pub(crate) async fn read(
    State(app): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReadBody>,
) -> Result<StatusCode, Problem> {
    let (hub, chat, agent) = my_chat(&app, &c, &id)?;
    hub.agent_read(&chat, agent, body.up_to_seq).map_err(agent_problem)?;
    Ok(StatusCode::NO_CONTENT)
}
