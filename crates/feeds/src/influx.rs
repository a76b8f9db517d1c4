//! The InfluxDB export: a thin async shell around the [`Batcher`]. Callers push points without
//! waiting; one task sends batches with `POST <url>/write?db=<database>&precision=ns` (the
//! InfluxDB 1.x API, which InfluxDB 2.x also serves for compatibility) and reports each
//! outcome back to the batcher, which decides retries.
//!
//! Must never: block the caller, buffer past its bounds, retry a 4xx, or log a password.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use model::Timestamp;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;

use crate::batcher::{Batcher, BatcherCounters, BatcherLimits, WriteOutcome};
use crate::config::{InfluxConfig, redact};
use crate::error::FeedError;
use crate::line_protocol::Point;
use crate::points::snapshot_points;
use crate::snapshot::{AgentSnapshot, ContactCounters, QueueSnapshot};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InfluxStats {
    pub counters: BatcherCounters,
    /// The last failed or refused write, for the health page.
    pub last_error: Option<String>,
}

struct Shared {
    batcher: Mutex<Batcher>,
    wake: Notify,
    /// Points buffered or being sent.
    outstanding: watch::Sender<usize>,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    fn batcher(&self) -> MutexGuard<'_, Batcher> {
        // Batcher methods finish their update before returning; a poisoned lock is still sound.
        self.batcher.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish_outstanding(&self) {
        let c = self.batcher().counters();
        self.outstanding.send_replace(c.buffered + c.in_batch);
    }

    fn set_error(&self, e: String) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }
}

/// Pushes points to InfluxDB in batches.
pub struct InfluxExport {
    shared: Arc<Shared>,
    client: reqwest::Client,
    config: InfluxConfig,
    task: JoinHandle<()>,
}

impl Drop for InfluxExport {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn endpoint(config: &InfluxConfig, path: &str, extra: &[(&str, &str)]) -> Result<Url, FeedError> {
    let mut url = Url::parse(&config.url).map_err(|e| crate::config::ConfigError {
        key: "influx.url",
        problem: format!("{} is not a URL ({e})", redact(&config.url)),
    })?;
    url.set_path(&format!("{}/{path}", url.path().trim_end_matches('/')));
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        if let Some(u) = &config.username {
            q.append_pair("u", u);
        }
        if let Some(p) = &config.password {
            q.append_pair("p", p);
        }
    }
    Ok(url)
}

impl InfluxExport {
    /// Validates the config and starts the sending task. No request is made yet.
    pub fn start(config: InfluxConfig) -> Result<InfluxExport, FeedError> {
        config.validate()?;
        let write_url = endpoint(&config, "write", &[("db", &config.database), ("precision", "ns")])?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.request_timeout_ms))
            .build()
            .map_err(|e| FeedError::Connect { peer: "InfluxDB", url: redact(&config.url), reason: e.to_string() })?;
        let limits = BatcherLimits {
            max_buffered_points: config.max_buffered_points,
            max_batch_points: config.max_batch_points,
            flush_interval: Duration::from_millis(config.flush_interval_ms),
            max_attempts: config.max_attempts,
            retry: config.retry,
        };
        let (outstanding, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            batcher: Mutex::new(Batcher::new(limits, Instant::now().into_std())),
            wake: Notify::new(),
            outstanding,
            last_error: Mutex::new(None),
        });
        let task = tokio::spawn(run(client.clone(), write_url, Arc::clone(&shared)));
        Ok(InfluxExport { shared, client, config, task })
    }

    /// `CREATE DATABASE` (idempotent in InfluxDB 1.x), for start-up.
    pub async fn create_database(&self) -> Result<(), FeedError> {
        let q = format!("CREATE DATABASE \"{}\"", self.config.database.replace('\\', "\\\\").replace('"', "\\\""));
        let url = endpoint(&self.config, "query", &[("q", &q)])?;
        let failed = |reason: String| FeedError::Connect { peer: "InfluxDB", url: redact(&self.config.url), reason };
        let response = self.client.post(url).send().await.map_err(|e| failed(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("CREATE DATABASE answered {}", response.status())));
        }
        Ok(())
    }

    /// Encodes and buffers one point (the oldest buffered point is dropped when full).
    pub fn push(&self, point: &Point) -> Result<(), FeedError> {
        let line = point.to_line()?;
        self.shared.batcher().push(line);
        self.shared.publish_outstanding();
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Buffers the points of one export tick (see [`crate::points`]).
    pub fn push_snapshot(
        &self,
        queues: &[QueueSnapshot],
        agents: &[AgentSnapshot],
        counters: &ContactCounters,
        now: Timestamp,
    ) -> Result<(), FeedError> {
        for p in snapshot_points(queues, agents, counters, now)? {
            self.push(&p)?;
        }
        Ok(())
    }

    /// Sends what is buffered now and waits until nothing is left (written, refused or given
    /// up: see [`InfluxExport::stats`]), or `timeout` passes.
    pub async fn flush(&self, timeout: Duration) -> Result<(), FeedError> {
        self.shared.batcher().flush_now(Instant::now().into_std());
        self.shared.wake.notify_one();
        let mut rx = self.shared.outstanding.subscribe();
        match tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(FeedError::Stopped),
            Err(_) => {
                let c = self.shared.batcher().counters();
                let waited_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
                Err(FeedError::FlushTimeout { pending: c.buffered + c.in_batch, waited_ms })
            }
        }
    }

    /// Flushes for at most `timeout`, then stops the task; what is still buffered is lost
    /// (the error says how much).
    pub async fn close(self, timeout: Duration) -> Result<(), FeedError> {
        self.flush(timeout).await
    }

    pub fn stats(&self) -> InfluxStats {
        InfluxStats {
            counters: self.shared.batcher().counters(),
            last_error: self.shared.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }
}

async fn send(client: &reqwest::Client, url: &Url, body: String) -> (WriteOutcome, Option<String>) {
    match client.post(url.clone()).header("content-type", "text/plain; charset=utf-8").body(body).send().await {
        Ok(response) => {
            let status = response.status();
            let outcome = WriteOutcome::from_status(status.as_u16());
            if outcome == WriteOutcome::Written {
                return (outcome, None);
            }
            let text = response.text().await.unwrap_or_default();
            let text: String = text.chars().take(300).collect();
            (outcome, Some(format!("InfluxDB answered {status}: {}", text.trim())))
        }
        // without_url: the URL may carry the password as a query parameter.
        Err(e) => (WriteOutcome::Retryable, Some(e.without_url().to_string())),
    }
}

async fn run(client: reqwest::Client, url: Url, shared: Arc<Shared>) {
    loop {
        let body = shared.batcher().poll_transmit(Instant::now().into_std());
        if let Some(body) = body {
            let (outcome, error) = send(&client, &url, body).await;
            if let Some(e) = error {
                tracing::warn!(error = %e, ?outcome, "InfluxDB write failed");
                shared.set_error(e);
            }
            shared.batcher().handle_outcome(Instant::now().into_std(), outcome);
            shared.publish_outstanding();
            continue;
        }
        let timeout = shared.batcher().poll_timeout();
        match timeout {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(Instant::from_std(at)) => {}
                    _ = shared.wake.notified() => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}
