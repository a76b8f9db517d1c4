//! The chat's writer to the store: one task that takes the hub's [`ChatEvent`]s in order from a
//! bounded queue and writes them (conversation rows, every sequenced message, state, agent, read
//! mark, rating, the contact that routed it; migration 0008), and reads a conversation back when
//! a widget resumes one this process does not hold (after a restart).
//!
//! Invariants:
//! - One ordered writer: a message or a state change is written after its conversation row, state
//!   changes in their order. What waits is taken together and written in few transactions (new
//!   conversation rows in one, messages in one, then the rest in order), so the writer keeps up
//!   with bursts. The hub hands it work with `try_send` and never waits (it holds its
//!   mutex); a full queue (`max_pending_writes`) drops the write and counts it.
//! - A write that fails is retried (`write_attempts`, `retry_backoff_ms` apart) and then counted;
//!   writing a message twice stores it once (keyed by conversation and sequence number).
//! - The resume token is never stored: only its SHA-256, compared in constant time on restore.
//! - A rating is stored on the conversation and, when the chat was routed as a contact, as that
//!   contact's CSAT survey response (as the voice path stores its post-call survey).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chat::{Author, ChatEvent, ConversationId, ConversationState, Entry, IssueType, Prechat, RestoredConversation};
use model::{
    ContactEvent, ContactEventId, ContactEventKind, ContactId, OrgId, SurveyKind, SurveyResponse, SurveyResponseId,
    Timestamp,
};
use store::{
    ChatAttachment, ChatAuthor, ChatConversation, ChatConversationState, ChatMessage, MAX_CHAT_MESSAGES_PER_READ,
    Store, StoreError,
};
use tokio::sync::{mpsc, oneshot};

use crate::{Clock, Entropy};

/// Most queued writes the writer takes at once (and so the most rows of one transaction).
const MAX_WRITES_PER_BATCH: usize = 500;

/// Limits of the writer, units in the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersistSettings {
    /// Writes waiting for the store; past it a write is dropped and counted.
    pub max_pending_writes: usize,
    /// Tries per write before it is counted as failed.
    pub write_attempts: u32,
    pub retry_backoff_ms: u64,
}

impl Default for PersistSettings {
    fn default() -> Self {
        Self { max_pending_writes: 65_536, write_attempts: 3, retry_backoff_ms: 200 }
    }
}

/// Counters of the writer, for metrics.
#[derive(Debug, Default)]
pub struct PersistCounters {
    pub written: AtomicU64,
    /// Writes refused by a full queue (the hub never waits for the store).
    pub dropped: AtomicU64,
    /// Writes that still failed after every attempt.
    pub failed: AtomicU64,
    pub restored: AtomicU64,
}

/// One unit of work for the writer.
pub(super) enum Work {
    /// A chat event; `token_sha256` is set for `Started` (the row's resume token digest).
    Event { event: ChatEvent, token_sha256: Option<String> },
    /// The center routed the conversation as `contact`.
    Link { conversation: ConversationId, contact: ContactId },
    /// Answered once every write queued before it is done.
    Flush(oneshot::Sender<()>),
}

/// The hub's handle on its writer.
pub(super) struct Persistence {
    pub store: Store,
    pub org: OrgId,
    pub tx: mpsc::Sender<Work>,
    pub counters: Arc<PersistCounters>,
}

impl Persistence {
    /// Starts the writer task.
    pub fn start(
        store: Store,
        org: OrgId,
        settings: PersistSettings,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(settings.max_pending_writes.max(1));
        let counters = Arc::new(PersistCounters::default());
        let writer = Writer { store: store.clone(), org, settings, clock, entropy, counters: counters.clone() };
        tokio::spawn(writer.run(rx));
        Self { store, org, tx, counters }
    }

    /// Queues `work` without waiting; a full queue drops it and counts it.
    pub fn push(&self, work: Work) {
        if self.tx.try_send(work).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!("chat: store writer queue full, a write was dropped");
        }
    }

    /// The conversation as stored, if `token` is its token: what a restart needs to resume it.
    pub async fn load(&self, id: &ConversationId, token: &str) -> Result<Option<RestoredConversation>, StoreError> {
        let Some(row) = self.store.get_chat_conversation(self.org, id.as_str()).await? else { return Ok(None) };
        let digest = auth::secret::digest_hex(token);
        if !auth::secret::constant_time_eq(digest.as_bytes(), row.token_sha256.as_bytes()) {
            return Ok(None);
        }
        let messages = self.store.list_chat_messages(self.org, id.as_str(), 0, MAX_CHAT_MESSAGES_PER_READ).await?;
        let Some(issue_type) = IssueType::parse(&row.issue_type) else {
            return Err(StoreError::Corrupt {
                what: "chat_conversations.issue_type".into(),
                reason: format!("{:?} is not an issue type", row.issue_type),
            });
        };
        let state = match row.state {
            ChatConversationState::Queued => ConversationState::Queued,
            ChatConversationState::Open => ConversationState::Open,
            ChatConversationState::Offline => ConversationState::Offline,
            ChatConversationState::Ended => ConversationState::Ended,
        };
        Ok(Some(RestoredConversation {
            id: id.clone(),
            token: token.to_owned(),
            state,
            prechat: Prechat { name: row.customer_name, issue_type, language: row.language, email: row.email },
            log: messages.into_iter().map(entry_of).collect(),
            customer_read_seq: row.customer_read_seq,
            rated: row.rating.is_some(),
            ended_at: row.ended_at,
        }))
    }
}

fn entry_of(m: ChatMessage) -> Entry {
    Entry {
        seq: m.seq,
        from: match m.author {
            ChatAuthor::Customer => Author::Customer,
            ChatAuthor::Agent => Author::Agent,
            ChatAuthor::System => Author::System,
        },
        text: m.text,
        ts: m.sent_at,
        client_msg_id: m.client_msg_id,
        attachment: m.attachment.map(|a| chat::AttachmentMeta { name: a.name, mime: a.mime, size: a.bytes }),
    }
}

struct Writer {
    store: Store,
    org: OrgId,
    settings: PersistSettings,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    counters: Arc<PersistCounters>,
}

impl Writer {
    /// Takes work until every sender is gone, then ends (what was queued is written first).
    /// Whatever is waiting is taken at once (up to [`MAX_WRITES_PER_BATCH`]) and written in as few
    /// transactions as the order rules allow (see [`Writer::write_batch`]).
    async fn run(self, mut rx: mpsc::Receiver<Work>) {
        let mut taken = Vec::with_capacity(MAX_WRITES_PER_BATCH);
        while rx.recv_many(&mut taken, MAX_WRITES_PER_BATCH).await > 0 {
            let mut segment = Vec::new();
            for work in taken.drain(..) {
                match work {
                    Work::Flush(done) => {
                        self.write_batch(std::mem::take(&mut segment)).await;
                        let _ = done.send(());
                    }
                    work => segment.push(work),
                }
            }
            self.write_batch(segment).await;
        }
    }

    /// Writes `works` (taken in order): first every new conversation row in one transaction,
    /// then every message in one transaction, then the rest one by one in order. Every rule of
    /// the order holds: a message or a state change comes after its conversation's row (rows
    /// first), state changes keep their order among themselves, messages are keyed by sequence
    /// number (their order between them does not matter).
    async fn write_batch(&self, works: Vec<Work>) {
        let mut rows = Vec::new();
        let mut messages = Vec::new();
        let mut rest = Vec::new();
        for work in works {
            match &work {
                Work::Event {
                    event: ChatEvent::Started { conversation_id, prechat, offline, at },
                    token_sha256: Some(t),
                } => {
                    let state = if *offline { ChatConversationState::Offline } else { ChatConversationState::Queued };
                    rows.push(new_row(self.org, conversation_id, t, prechat, state, *at));
                }
                Work::Event { event: ChatEvent::Message { conversation_id, entry }, .. } => {
                    messages.push(message_row(self.org, conversation_id, entry));
                }
                _ => rest.push(work),
            }
        }
        if !rows.is_empty() {
            let n = rows.len() as u64;
            self.attempt(n, || async { self.store.insert_chat_conversations(&rows).await.map(drop) }).await;
        }
        if !messages.is_empty() {
            let n = messages.len() as u64;
            self.attempt(n, || async { self.store.insert_chat_messages(&messages).await.map(drop) }).await;
        }
        for work in &rest {
            self.write(work).await;
        }
    }

    /// Runs `write` (worth `n` writes) with the retries of [`Writer::write`].
    async fn attempt<F, Fut>(&self, n: u64, write: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), StoreError>>,
    {
        let attempts = self.settings.write_attempts.max(1);
        for attempt in 1..=attempts {
            match write().await {
                Ok(()) => {
                    self.counters.written.fetch_add(n, Ordering::Relaxed);
                    return;
                }
                Err(error) if attempt == attempts => {
                    self.counters.failed.fetch_add(n, Ordering::Relaxed);
                    tracing::error!(%error, writes = n, "chat: a batch of writes to the store failed; given up");
                }
                Err(error) => {
                    tracing::warn!(%error, attempt, "chat: a batch of writes to the store failed; retrying");
                    tokio::time::sleep(Duration::from_millis(self.settings.retry_backoff_ms)).await;
                }
            }
        }
    }

    async fn write(&self, work: &Work) {
        self.attempt(1, || self.apply(work)).await;
    }

    async fn apply(&self, work: &Work) -> Result<(), StoreError> {
        let (store, org) = (&self.store, self.org);
        let event = match work {
            Work::Event { event, token_sha256 } => (event, token_sha256),
            Work::Link { conversation, contact } => {
                return store.link_chat_contact(org, conversation.as_str(), *contact).await;
            }
            Work::Flush(_) => return Ok(()),
        };
        match event {
            (ChatEvent::Started { conversation_id, prechat, offline, at }, Some(token_sha256)) => {
                let state = if *offline { ChatConversationState::Offline } else { ChatConversationState::Queued };
                store.save_chat_conversation(&new_row(org, conversation_id, token_sha256, prechat, state, *at)).await
            }
            (ChatEvent::Message { conversation_id, entry }, _) => {
                store.insert_chat_message(&message_row(org, conversation_id, entry)).await.map(drop)
            }
            (ChatEvent::AgentJoined { conversation_id, agent, at }, _) => {
                let id = conversation_id.as_str();
                store.set_chat_conversation_state(org, id, ChatConversationState::Open, *at).await?;
                store.set_chat_conversation_agent(org, id, Some(*agent), *at).await
            }
            (ChatEvent::WentOffline { conversation_id, at }, _) => {
                store
                    .set_chat_conversation_state(org, conversation_id.as_str(), ChatConversationState::Offline, *at)
                    .await
            }
            (ChatEvent::Restored { conversation_id, offline, at, .. }, _) => {
                let id = conversation_id.as_str();
                let state = if *offline { ChatConversationState::Offline } else { ChatConversationState::Queued };
                store.set_chat_conversation_state(org, id, state, *at).await?;
                store.set_chat_conversation_agent(org, id, None, *at).await
            }
            (ChatEvent::CustomerRead { conversation_id, up_to_seq }, _) => {
                store.set_chat_customer_read(org, conversation_id.as_str(), *up_to_seq).await
            }
            (ChatEvent::Ended { conversation_id, at, .. }, _) => {
                store
                    .set_chat_conversation_state(org, conversation_id.as_str(), ChatConversationState::Ended, *at)
                    .await
            }
            (ChatEvent::Rated { conversation_id, score, comment, at }, _) => {
                self.rate(conversation_id, *score, comment.as_deref(), *at).await
            }
            _ => Ok(()),
        }
    }

    /// The rating on the conversation, then (first rating of a routed chat only) the contact's
    /// CSAT survey response and its `survey_answered` event.
    async fn rate(
        &self,
        id: &ConversationId,
        score: u8,
        comment: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (store, org) = (&self.store, self.org);
        if !store.rate_chat_conversation(org, id.as_str(), score, comment, at).await? {
            return Ok(());
        }
        let Some(contact) = store.get_chat_conversation(org, id.as_str()).await?.and_then(|c| c.contact) else {
            return Ok(());
        };
        let (clock, entropy) = (self.clock.as_ref(), self.entropy.as_ref());
        let fresh = || {
            crate::runtime::new_uuid(clock, entropy)
                .map_err(|_| StoreError::Database("no randomness for a survey response id".into()))
        };
        let response = SurveyResponse {
            id: SurveyResponseId::from_uuid(fresh()?),
            org,
            contact,
            kind: SurveyKind::Csat,
            score,
            comment: comment.map(str::to_owned),
            at,
        };
        store.insert_survey_response(&response).await?;
        let detail = serde_json::json!({ "kind": "csat", "score": score, "channel": "chat" }).to_string();
        let event = ContactEvent {
            id: ContactEventId::from_uuid(fresh()?),
            org,
            contact,
            at,
            kind: ContactEventKind::SurveyAnswered,
            agent: None,
            queue: None,
            detail,
        };
        store.insert_contact_event(&event).await
    }
}

fn new_row(
    org: OrgId,
    id: &ConversationId,
    token_sha256: &str,
    prechat: &Prechat,
    state: ChatConversationState,
    at: Timestamp,
) -> ChatConversation {
    ChatConversation {
        org,
        id: id.as_str().to_owned(),
        token_sha256: token_sha256.to_owned(),
        contact: None,
        customer_name: prechat.name.clone(),
        issue_type: prechat.issue_type.as_str().to_owned(),
        language: prechat.language.clone(),
        email: prechat.email.clone(),
        state,
        agent: None,
        started_at: at,
        updated_at: at,
        ended_at: None,
        customer_read_seq: 0,
        rating: None,
        rating_comment: None,
        rated_at: None,
    }
}

fn message_row(org: OrgId, id: &ConversationId, e: &Entry) -> ChatMessage {
    ChatMessage {
        org,
        conversation_id: id.as_str().to_owned(),
        seq: e.seq,
        author: match e.from {
            Author::Customer => ChatAuthor::Customer,
            Author::Agent => ChatAuthor::Agent,
            Author::System => ChatAuthor::System,
        },
        text: e.text.clone(),
        client_msg_id: e.client_msg_id.clone(),
        sent_at: e.ts,
        attachment: e.attachment.as_ref().map(|a| ChatAttachment {
            name: a.name.clone(),
            mime: a.mime.clone(),
            bytes: a.size,
        }),
    }
}
