//! The store writer: one task applies the center's writes in the order they were decided, so
//! the center's task never awaits the database.
//!
//! A write that fails is retried `store_retries` times, `store_retry_backoff_ms` apart, then
//! logged with its entity and counted in `writes_failed`; a write that does not fit the queue
//! (`max_pending_writes`) is logged and counted in `writes_dropped`. Contact rows are written
//! whole (an update of a row whose insert was lost inserts it), so the next write of a contact
//! repairs an earlier loss. This module must never drop a write without counting it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use model::{AgentId, AgentStateChange, Contact, ContactEvent, ContactId, OrgId, ReasonCode};
use store::{AgentPresence, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::CenterError;
use crate::api::Counters;

/// One write, decided by the center's task.
#[derive(Debug)]
pub(crate) enum Write {
    /// Inserts the contact, or replaces it whole if it exists.
    Contact(Box<Contact>),
    Event(ContactEvent),
    AgentState(AgentStateChange, AgentPresence),
    /// The disposition of a contact no longer held live: read, set, written back; only if
    /// `agent` handled it last (otherwise logged and counted as failed).
    LateDisposition {
        org: OrgId,
        agent: AgentId,
        contact: ContactId,
        code: ReasonCode,
        notes: String,
        event: ContactEvent,
    },
    /// Answers once every write queued before it is done.
    Flush(oneshot::Sender<Result<Counters, CenterError>>),
}

/// Counters shared by the center's task and the writer.
#[derive(Debug, Default)]
pub(crate) struct SharedCounters {
    pub writes_done: AtomicU64,
    pub writes_failed: AtomicU64,
    pub writes_dropped: AtomicU64,
    pub write_retries: AtomicU64,
    pub offers_undeliverable: AtomicU64,
    pub signals_dropped: AtomicU64,
    pub commands_refused: AtomicU64,
}

impl SharedCounters {
    pub fn read(&self) -> Counters {
        Counters {
            writes_done: self.writes_done.load(Ordering::Relaxed),
            writes_failed: self.writes_failed.load(Ordering::Relaxed),
            writes_dropped: self.writes_dropped.load(Ordering::Relaxed),
            write_retries: self.write_retries.load(Ordering::Relaxed),
            offers_undeliverable: self.offers_undeliverable.load(Ordering::Relaxed),
            signals_dropped: self.signals_dropped.load(Ordering::Relaxed),
            commands_refused: self.commands_refused.load(Ordering::Relaxed),
        }
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The center's end of the writer.
pub(crate) struct Writer {
    tx: mpsc::Sender<Write>,
    counters: Arc<SharedCounters>,
}

impl Writer {
    /// Spawns the writer task.
    pub fn spawn(
        store: Store,
        max_pending_writes: usize,
        retries: u32,
        backoff_ms: u64,
        counters: Arc<SharedCounters>,
    ) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(max_pending_writes.max(1));
        let task = tokio::spawn(run(store, rx, retries, backoff_ms, counters.clone()));
        (Writer { tx, counters }, task)
    }

    /// Queues a write; a full queue drops it with a counter and a log line. A flush is never
    /// dropped: when the queue is full it waits for room in a task of its own (the center's task
    /// goes on), behind every write queued so far.
    pub fn push(&self, write: Write) {
        if let Write::Flush(_) = write {
            if let Err(mpsc::error::TrySendError::Full(flush)) = self.tx.try_send(write) {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    if let Err(mpsc::error::SendError(Write::Flush(reply))) = tx.send(flush).await {
                        let _ = reply.send(Err(CenterError::Stopped));
                    }
                });
            }
            return;
        }
        if let Err(e) = self.tx.try_send(write) {
            let write = match e {
                mpsc::error::TrySendError::Full(w) | mpsc::error::TrySendError::Closed(w) => w,
            };
            SharedCounters::bump(&self.counters.writes_dropped);
            tracing::error!(write = describe(&write), "store write dropped: the write queue is full");
        }
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Write>, retries: u32, backoff_ms: u64, c: Arc<SharedCounters>) {
    while let Some(write) = rx.recv().await {
        if let Write::Flush(reply) = write {
            let _ = reply.send(Ok(c.read()));
            continue;
        }
        let mut attempt = 0u32;
        loop {
            match apply(&store, &write, attempt > 0).await {
                Ok(()) => {
                    SharedCounters::bump(&c.writes_done);
                    break;
                }
                Err(e) if attempt < retries && transient(&e) => {
                    attempt += 1;
                    SharedCounters::bump(&c.write_retries);
                    tracing::warn!(write = describe(&write), attempt, error = %e, "store write failed; retrying");
                    tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                }
                Err(e) => {
                    SharedCounters::bump(&c.writes_failed);
                    tracing::error!(write = describe(&write), error = %e, "store write failed after every retry");
                    break;
                }
            }
        }
    }
}

async fn apply(store: &Store, write: &Write, retrying: bool) -> Result<(), StoreError> {
    match write {
        Write::Contact(contact) => match store.update_contact(contact).await {
            Err(StoreError::NotFound { .. }) => store.insert_contact(contact).await,
            other => other,
        },
        Write::Event(event) => match store.insert_contact_event(event).await {
            // A retry of an insert that did land: the row is there, with this id.
            Err(StoreError::Conflict { .. }) if retrying => Ok(()),
            other => other,
        },
        Write::AgentState(change, presence) => {
            match store.insert_agent_state_change(change).await {
                Err(StoreError::Conflict { .. }) if retrying => {}
                other => other?,
            }
            store.save_agent_presence(presence).await
        }
        Write::LateDisposition { org, agent, contact, code, notes, event } => {
            let Some(mut row) = store.get_contact(*org, *contact).await? else {
                return Err(StoreError::NotFound { what: "contact", key: contact.to_string() });
            };
            if row.agent != Some(*agent) {
                return Err(StoreError::Conflict {
                    what: "disposition",
                    detail: format!("contact {contact} was not handled by agent {agent}"),
                });
            }
            row.disposition = Some(code.clone());
            row.notes = notes.clone();
            store.update_contact(&row).await?;
            match store.insert_contact_event(event).await {
                Err(StoreError::Conflict { .. }) if retrying => Ok(()),
                other => other,
            }
        }
        Write::Flush(_) => Ok(()),
    }
}

/// Whether trying again may help (the database was busy or unreachable), as opposed to a write
/// the store refused for what it is (a conflict, a missing row).
fn transient(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(_) | StoreError::Busy(_) | StoreError::Unreachable { .. })
}

fn describe(write: &Write) -> String {
    match write {
        Write::Contact(c) => format!("contact {} ({})", c.id, c.status),
        Write::Event(e) => format!("contact event {} {} of {}", e.id, e.kind, e.contact),
        Write::AgentState(c, _) => format!("agent state change {} of {} to {}", c.id, c.agent, c.to),
        Write::LateDisposition { contact, .. } => format!("disposition of contact {contact}"),
        Write::Flush(_) => "flush".to_owned(),
    }
}
