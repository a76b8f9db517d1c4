//! The NATS JetStream event feed: a thin async shell around the [`Outbox`]. Callers enqueue
//! contact events and agent state changes without waiting; one task publishes them in order
//! with the `Nats-Msg-Id` header, waits for each JetStream ack, and retries with backoff.
//!
//! Must never: block the caller, hold more than `max_pending_events` events, drop an accepted
//! event before its ack, or log a password.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::header::{HeaderMap, NATS_MESSAGE_ID};
use async_nats::jetstream;
use model::{AgentStateChange, ContactEvent};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{NatsConfig, StreamSettings, redact};
use crate::error::FeedError;
use crate::events::{EventMessage, agent_state_message, contact_event_message};
use crate::outbox::{Outbox, OutboxCounters, OutboxPoll};

/// What the event feed has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFeedStats {
    pub counters: OutboxCounters,
    /// The last publish failure, for the health page.
    pub last_error: Option<String>,
}

struct Shared {
    outbox: Mutex<Outbox>,
    wake: Notify,
    pending: watch::Sender<usize>,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    fn outbox(&self) -> MutexGuard<'_, Outbox> {
        // A panic while holding the lock cannot leave the outbox half-changed (each method
        // completes its update before returning), so a poisoned lock is still usable.
        self.outbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish_pending(&self) {
        let n = self.outbox().counters().pending;
        self.pending.send_replace(n);
    }
}

/// Publishes contact events and agent state changes to NATS JetStream, at least once.
pub struct EventFeed {
    shared: Arc<Shared>,
    prefix: String,
    task: JoinHandle<()>,
}

impl Drop for EventFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn ensure_stream(js: &jetstream::Context, prefix: &str, s: &StreamSettings) -> Result<(), FeedError> {
    let config = jetstream::stream::Config {
        name: s.name.clone(),
        subjects: vec![format!("{prefix}.contact.*"), format!("{prefix}.agent.*")],
        duplicate_window: Duration::from_millis(s.duplicate_window_ms),
        max_age: Duration::from_millis(s.max_age_ms),
        max_bytes: i64::try_from(s.max_bytes).unwrap_or(i64::MAX),
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .map_err(|e| FeedError::Stream { stream: s.name.clone(), reason: e.to_string() })?;
    Ok(())
}

impl EventFeed {
    /// Validates the config, connects (an unreachable server is an error naming the URL),
    /// ensures the stream when configured and starts the publishing task.
    pub async fn connect(config: NatsConfig) -> Result<EventFeed, FeedError> {
        config.validate()?;
        let connect_timeout = Duration::from_millis(config.connect_timeout_ms);
        let connect_error = |reason: String| FeedError::Connect { peer: "NATS", url: redact(&config.url), reason };
        let client = async_nats::ConnectOptions::new().connection_timeout(connect_timeout).connect(config.url.as_str());
        let client = tokio::time::timeout(connect_timeout, client)
            .await
            .map_err(|_| connect_error(format!("no answer within {} ms", config.connect_timeout_ms)))?
            .map_err(|e| connect_error(e.to_string()))?;
        let mut js = jetstream::new(client);
        js.set_timeout(Duration::from_millis(config.ack_timeout_ms));
        if let Some(stream) = &config.stream {
            ensure_stream(&js, &config.subject_prefix, stream).await?;
        }
        let (pending, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            outbox: Mutex::new(Outbox::new(config.max_pending_events, config.max_event_bytes, config.retry)),
            wake: Notify::new(),
            pending,
            last_error: Mutex::new(None),
        });
        let ack_timeout = Duration::from_millis(config.ack_timeout_ms);
        let task = tokio::spawn(run(js, Arc::clone(&shared), ack_timeout));
        Ok(EventFeed { shared, prefix: config.subject_prefix, task })
    }

    /// Enqueues a contact event for `<prefix>.contact.<kind>`; refused when the outbox is full.
    pub fn publish_contact_event(&self, event: &ContactEvent) -> Result<(), FeedError> {
        self.enqueue(contact_event_message(&self.prefix, event))
    }

    /// Enqueues an agent state change for `<prefix>.agent.state`.
    pub fn publish_agent_state(&self, change: &AgentStateChange) -> Result<(), FeedError> {
        self.enqueue(agent_state_message(&self.prefix, change))
    }

    fn enqueue(&self, message: EventMessage) -> Result<(), FeedError> {
        if self.task.is_finished() {
            return Err(FeedError::Stopped);
        }
        self.shared.outbox().push(message)?;
        self.shared.publish_pending();
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Waits until every accepted event is acked, or `timeout` passes.
    pub async fn flush(&self, timeout: Duration) -> Result<(), FeedError> {
        let mut rx = self.shared.pending.subscribe();
        match tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(FeedError::Stopped),
            Err(_) => Err(FeedError::FlushTimeout {
                pending: self.shared.outbox().counters().pending,
                waited_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    /// Flushes for at most `timeout`, then stops the task. Events still unacked are lost
    /// (the error says how many); dropping the feed without `close` loses them silently.
    pub async fn close(self, timeout: Duration) -> Result<(), FeedError> {
        self.flush(timeout).await
    }

    pub fn stats(&self) -> EventFeedStats {
        EventFeedStats {
            counters: self.shared.outbox().counters(),
            last_error: self.shared.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }
}

/// Publishes one message and waits for its ack: `Ok(duplicate)` or the reason it failed.
async fn publish_one(js: &jetstream::Context, m: EventMessage, ack_timeout: Duration) -> Result<bool, String> {
    let mut headers = HeaderMap::new();
    headers.insert(NATS_MESSAGE_ID, m.msg_id.as_str());
    let attempt = async {
        let ack = js.publish_with_headers(m.subject, headers, m.payload.into()).await.map_err(|e| e.to_string())?;
        ack.await.map(|a| a.duplicate).map_err(|e| e.to_string())
    };
    match tokio::time::timeout(ack_timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no ack within {} ms", ack_timeout.as_millis())),
    }
}

async fn run(js: jetstream::Context, shared: Arc<Shared>, ack_timeout: Duration) {
    loop {
        let poll = shared.outbox().poll(Instant::now().into_std());
        match poll {
            OutboxPoll::Send(m) => {
                let result = publish_one(&js, m, ack_timeout).await;
                match result {
                    Ok(duplicate) => shared.outbox().handle_ack(duplicate),
                    Err(reason) => {
                        let delay = shared.outbox().handle_failure(Instant::now().into_std());
                        tracing::warn!(error = %reason, retry_in_ms = delay.as_millis() as u64, "NATS publish failed");
                        *shared.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
                    }
                }
                shared.publish_pending();
            }
            OutboxPoll::WaitUntil(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(Instant::from_std(at)) => {}
                    _ = shared.wake.notified() => {}
                }
            }
            OutboxPoll::Idle => shared.wake.notified().await,
        }
    }
}
