//! The HTTP adapter's metrics, the same set every Hotline adapter exposes: requests, errors,
//! a latency histogram and requests in flight, plus the limiters' refusals and evictions. Served
//! in the Prometheus text format at `/api/metrics` (admins and supervisors, or an API token).
//!
//! Lock-free counters only; never: a label from request data (paths, users), which would grow
//! without bound.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds of the latency histogram's buckets, in milliseconds.
const LATENCY_BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 25, 50, 100, 250, 1_000, 5_000];

#[derive(Default)]
pub struct HttpMetrics {
    requests: AtomicU64,
    /// Responses with a 4xx status.
    client_errors: AtomicU64,
    /// Responses with a 5xx status.
    server_errors: AtomicU64,
    /// 429s from the rate limit or the login throttle.
    throttled: AtomicU64,
    in_flight: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_MS.len()],
    latency_sum_ms: AtomicU64,
}

impl HttpMetrics {
    fn observe(&self, status: u16, elapsed_ms: u64) {
        let bump = |c: &AtomicU64| c.fetch_add(1, Ordering::Relaxed);
        bump(&self.requests);
        match status {
            429 => {
                bump(&self.throttled);
                bump(&self.client_errors)
            }
            400..=499 => bump(&self.client_errors),
            500..=599 => bump(&self.server_errors),
            _ => 0,
        };
        if let Some(i) = LATENCY_BUCKETS_MS.iter().position(|b| elapsed_ms <= *b) {
            bump(&self.latency_buckets[i]);
        }
        self.latency_sum_ms.fetch_add(elapsed_ms, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of these counters and the limiters' state.
    pub fn render(&self, throttle_evictions: u64, rate_evictions: u64, tracked_clients: usize) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut line = |name: &str, kind: &str, value: u64| {
            let _ = writeln!(out, "# TYPE {name} {kind}\n{name} {value}");
        };
        line("hotline_http_requests_total", "counter", get(&self.requests));
        line("hotline_http_client_errors_total", "counter", get(&self.client_errors));
        line("hotline_http_server_errors_total", "counter", get(&self.server_errors));
        line("hotline_http_throttled_total", "counter", get(&self.throttled));
        line("hotline_http_in_flight", "gauge", get(&self.in_flight));
        line("hotline_login_throttle_evictions_total", "counter", throttle_evictions);
        line("hotline_rate_limit_evictions_total", "counter", rate_evictions);
        line("hotline_rate_limit_tracked_clients", "gauge", tracked_clients as u64);
        let _ = writeln!(out, "# TYPE hotline_http_latency_ms histogram");
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BUCKETS_MS.iter().zip(&self.latency_buckets) {
            cumulative += get(bucket);
            let _ = writeln!(out, "hotline_http_latency_ms_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "hotline_http_latency_ms_bucket{{le=\"+Inf\"}} {}", get(&self.requests));
        let _ = writeln!(out, "hotline_http_latency_ms_sum {}", get(&self.latency_sum_ms));
        let _ = writeln!(out, "hotline_http_latency_ms_count {}", get(&self.requests));
        out
    }
}

/// Server-wide middleware: counts every request and its latency.
pub async fn measure(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let m = &app.metrics;
    m.in_flight.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let resp = next.run(req).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    m.observe(resp.status().as_u16(), elapsed_ms);
    m.in_flight.fetch_sub(1, Ordering::Relaxed);
    resp
}

/// Most contacts whose channel the tally remembers between their queueing and their end; past
/// it the oldest is forgotten (its end then counts as voice) and counted in `forgotten`.
pub const MAX_TRACKED_CONTACTS: usize = 100_000;

/// Ended contacts by channel and outcome, counted from the live center's events since this
/// server started (monotonic, as Prometheus counters must be). The center's `ContactEnded`
/// carries no channel, so the channel is remembered from `ContactQueued`/`ContactOffered`;
/// a contact that ends without either (self-served in the IVR) counts as voice.
#[derive(Default)]
pub struct ContactTally {
    counters: feeds::ContactCounters,
    channels: std::collections::HashMap<model::ContactId, model::Channel>,
    order: std::collections::VecDeque<model::ContactId>,
    pub forgotten: u64,
}

impl ContactTally {
    pub fn observe(&mut self, event: &center::LiveEvent) {
        use center::LiveEvent as E;
        match event {
            E::ContactQueued { contact, channel, .. } | E::ContactOffered { contact, channel, .. }
                if self.channels.insert(*contact, *channel).is_none() =>
            {
                // `order` may still hold ids of ended contacts: popping one forgets nothing.
                self.order.push_back(*contact);
                if self.order.len() > MAX_TRACKED_CONTACTS
                    && let Some(old) = self.order.pop_front()
                    && self.channels.remove(&old).is_some()
                {
                    self.forgotten += 1;
                }
            }
            E::ContactEnded { contact, outcome, .. } => {
                let channel = self.channels.remove(contact).unwrap_or(model::Channel::Voice);
                self.counters.add(channel, *outcome, 1);
            }
            _ => {}
        }
    }

    pub fn counters(&self) -> &feeds::ContactCounters {
        &self.counters
    }
}

/// Counts the center's events into `tally` until the center's event stream closes.
pub fn spawn_tally(center: &center::CenterHandle, tally: Arc<std::sync::Mutex<ContactTally>>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no async runtime: contact counters in /api/metrics stay at zero");
        return;
    };
    let mut rx = center.subscribe();
    rt.spawn(async move {
        loop {
            match rx.recv().await {
                Ok(e) => tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner).observe(&e),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "contact tally lagged; some ended contacts were not counted");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// The live center's snapshot in the `feeds` crate's types.
pub fn feed_snapshots(s: &center::Snapshot) -> (Vec<feeds::QueueSnapshot>, Vec<feeds::AgentSnapshot>) {
    let agents: Vec<feeds::AgentSnapshot> = s
        .agents
        .iter()
        .map(|a| feeds::AgentSnapshot {
            org: s.org,
            agent: a.agent,
            state: a.state,
            since: model::Timestamp::from_unix_ms(a.since_ms),
        })
        .collect();
    let queues = s
        .queues
        .iter()
        .filter_map(|q| {
            let name = model::QueueName::parse(&q.name).ok()?;
            let mut counts = feeds::AgentCounts::default();
            for a in s.agents.iter().filter(|a| a.queues.contains(&q.queue)) {
                counts.add_one(a.state);
            }
            Some(feeds::QueueSnapshot {
                org: q.org,
                queue: q.queue,
                name,
                waiting: q.waiting,
                longest_wait: model::DurationMs::from_ms(q.longest_wait_ms),
                agents: counts,
            })
        })
        .collect();
    (queues, agents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_latencies_land_in_their_counters() {
        let m = HttpMetrics::default();
        m.observe(200, 3);
        m.observe(429, 40);
        m.observe(503, 9_000);
        let text = m.render(0, 0, 1);
        for expected in [
            "hotline_http_requests_total 3",
            "hotline_http_client_errors_total 1",
            "hotline_http_throttled_total 1",
            "hotline_http_server_errors_total 1",
            "hotline_http_latency_ms_bucket{le=\"5\"} 1",
            "hotline_http_latency_ms_bucket{le=\"50\"} 2",
            "hotline_http_latency_ms_bucket{le=\"5000\"} 2",
            "hotline_http_latency_ms_bucket{le=\"+Inf\"} 3",
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
    }
}
