//! Signed JSON POSTs to one webhook URL (complaint alerts), with retries and a bounded queue.
//!
//! The protocol is `social`'s sans-IO [`social::WebhookSender`]: each attempt is signed afresh
//! with HMAC-SHA256 over `"{timestamp}.{body}"` (`X-Hotline-Signature: sha256=<hex>`,
//! `X-Hotline-Timestamp: <unix seconds>`); 2xx delivers, 4xx (but 408/425/429) is final, 5xx,
//! timeouts and refused connections are retried with doubling backoff up to `max_retries`
//! times. This module is the thin tokio shell that owns the reqwest client and the clock.
//!
//! Bounded: at most `max_pending` deliveries wait (in the channel and in the outbox each); a
//! body sent while full is refused and counted, never waited for. One request in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use model::Timestamp;
use social::http::{HttpRequest, HttpResponse};
use social::outbox::{OutboxEvent, OutboxLimits, RetryPolicy};
use social::webhook::{WebhookConfig as SigningConfig, WebhookSender};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::FeedError;

/// First retry after this long; doubles per attempt.
const INITIAL_BACKOFF_MS: u64 = 500;
/// Longest wait between two attempts.
const MAX_BACKOFF_MS: u64 = 30_000;

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    pub secret: Vec<u8>,
    /// How long one POST may take.
    pub timeout_ms: u64,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Most deliveries waiting.
    pub max_pending: usize,
}

/// What the webhook did so far.
#[derive(Debug, Default)]
pub struct WebhookCounters {
    pub delivered: AtomicU64,
    /// Refused by the receiver with a 4xx.
    pub rejected: AtomicU64,
    /// Every attempt failed.
    pub gave_up: AtomicU64,
    /// Refused because `max_pending` deliveries were waiting.
    pub dropped_full: AtomicU64,
}

/// The sending task's handle; dropping it (or [`WebhookPoster::stop`]) ends the task.
pub struct WebhookPoster {
    tx: mpsc::Sender<Vec<u8>>,
    counters: Arc<WebhookCounters>,
    task: JoinHandle<()>,
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp::from_unix_ms(i64::try_from(ms).unwrap_or(i64::MAX))
}

impl WebhookPoster {
    /// Starts the sending task. No request is made until [`WebhookPoster::send`].
    pub fn start(config: WebhookConfig) -> Result<WebhookPoster, FeedError> {
        let connect =
            |reason: String| FeedError::Connect { peer: "webhook", url: crate::config::redact(&config.url), reason };
        if config.max_pending == 0 {
            return Err(connect("max_pending must be at least 1".to_owned()));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms.max(1)))
            .build()
            .map_err(|e| connect(e.to_string()))?;
        let policy = RetryPolicy {
            max_attempts: config.max_retries.saturating_add(1),
            initial_backoff_ms: INITIAL_BACKOFF_MS,
            max_backoff_ms: MAX_BACKOFF_MS,
        };
        let limits = OutboxLimits { max_queued: config.max_pending, max_in_flight: 1 };
        let sender = WebhookSender::new(SigningConfig::with_secret(&config.secret), policy, limits);
        let (tx, rx) = mpsc::channel(config.max_pending);
        let counters = Arc::new(WebhookCounters::default());
        let task = tokio::spawn(run(client, config.url, sender, rx, Arc::clone(&counters)));
        Ok(WebhookPoster { tx, counters, task })
    }

    /// Queues a JSON body; refused (and counted) when `max_pending` are waiting. Never waits.
    pub fn send(&self, body: Vec<u8>) -> Result<(), FeedError> {
        self.tx.try_send(body).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                self.counters.dropped_full.fetch_add(1, Ordering::Relaxed);
                FeedError::WebhookFull { max_pending: self.tx.max_capacity() }
            }
            mpsc::error::TrySendError::Closed(_) => FeedError::Stopped,
        })
    }

    pub fn counters(&self) -> &WebhookCounters {
        &self.counters
    }

    /// Gives the deliveries already queued up to `grace_ms` to go out, then stops.
    pub async fn stop(self, grace_ms: u64) {
        let WebhookPoster { tx, task, .. } = self;
        drop(tx);
        let abort = task.abort_handle();
        if tokio::time::timeout(Duration::from_millis(grace_ms), task).await.is_err() {
            abort.abort();
        }
    }
}

async fn run(
    client: reqwest::Client,
    url: String,
    mut sender: WebhookSender,
    mut rx: mpsc::Receiver<Vec<u8>>,
    counters: Arc<WebhookCounters>,
) {
    let mut open = true;
    loop {
        while let Ok(body) = rx.try_recv() {
            enqueue(&mut sender, &url, body, &counters);
        }
        if let Some(request) = sender.poll_request(now()) {
            let response = post(&client, &request).await;
            sender.handle_response(now(), request.id, response.as_ref());
            settle(&mut sender, &counters);
            continue;
        }
        let wake = sender.poll_timeout();
        if !open && wake.is_none() {
            return;
        }
        let sleep_ms = wake.map_or(60_000, |t| u64::try_from(t.unix_ms().saturating_sub(now().unix_ms())).unwrap_or(0));
        tokio::select! {
            body = rx.recv(), if open => match body {
                Some(body) => enqueue(&mut sender, &url, body, &counters),
                None => open = false,
            },
            () = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
        }
    }
}

fn enqueue(sender: &mut WebhookSender, url: &str, body: Vec<u8>, counters: &WebhookCounters) {
    if sender.send(now(), url, body).is_err() {
        counters.dropped_full.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(url = %crate::config::redact(url), "webhook queue full: alert dropped");
    }
}

fn settle(sender: &mut WebhookSender, counters: &WebhookCounters) {
    while let Some(event) = sender.poll_event() {
        match event {
            OutboxEvent::Delivered { .. } => counters.delivered.fetch_add(1, Ordering::Relaxed),
            OutboxEvent::Rejected { status, .. } => {
                tracing::warn!(status, "webhook refused an alert");
                counters.rejected.fetch_add(1, Ordering::Relaxed)
            }
            OutboxEvent::GaveUp { attempts, last_status, .. } => {
                tracing::warn!(attempts, ?last_status, "webhook unreachable: alert given up");
                counters.gave_up.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// One attempt; `None` when no response came (refused, timed out, reset).
async fn post(client: &reqwest::Client, request: &HttpRequest) -> Option<HttpResponse> {
    let mut builder = client.post(&request.url).body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    match builder.send().await {
        Ok(response) => Some(HttpResponse { status: response.status().as_u16(), body: Vec::new() }),
        Err(e) => {
            tracing::debug!(error = %e.without_url(), "webhook attempt failed");
            None
        }
    }
}
