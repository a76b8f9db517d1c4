//! An outbound HTTP delivery queue with a retry schedule, as a sans-IO state machine.
//!
//! [`Outbox::enqueue`] takes a POST; [`Outbox::poll_request`] yields due requests (at most
//! `max_in_flight` at once); [`Outbox::handle_response`] settles them. 2xx delivers; 408, 425, 429, 5xx
//! and no response are retried after `initial_backoff_ms * 2^(attempt-1)` capped at `max_backoff_ms`,
//! up to `max_attempts`; other 4xx fail at once. [`Outbox::poll_timeout`] says when to poll next.
//! The queue never holds more than `max_queued` deliveries; nothing is dropped without an event.

use std::collections::{BTreeSet, HashMap, VecDeque};

use model::{DurationMs, Timestamp};

use crate::http::{HttpRequest, HttpResponse, Method, RequestId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let factor = 1u64.checked_shl(attempt.saturating_sub(1)).unwrap_or(u64::MAX);
        self.initial_backoff_ms.saturating_mul(factor).min(self.max_backoff_ms)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    pub max_queued: usize,
    pub max_in_flight: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxEvent {
    Delivered {
        id: DeliveryId,
        attempts: u32,
    },
    /// Refused by the receiver (a 4xx that retrying cannot fix).
    Rejected {
        id: DeliveryId,
        status: u16,
    },
    /// Every attempt failed; `last_status` is `None` when the last one got no response.
    GaveUp {
        id: DeliveryId,
        attempts: u32,
        last_status: Option<u16>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outbox is full ({max_queued} deliveries)")]
pub struct OutboxFull {
    pub max_queued: usize,
}

struct Delivery {
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    attempts: u32,
}

pub struct Outbox {
    policy: RetryPolicy,
    limits: OutboxLimits,
    deliveries: HashMap<DeliveryId, Delivery>,
    due: BTreeSet<(Timestamp, DeliveryId)>,
    in_flight: HashMap<RequestId, DeliveryId>,
    events: VecDeque<OutboxEvent>,
    next_id: u64,
    next_request: u64,
}

impl Outbox {
    pub fn new(policy: RetryPolicy, limits: OutboxLimits) -> Self {
        Self {
            policy,
            limits,
            deliveries: HashMap::new(),
            due: BTreeSet::new(),
            in_flight: HashMap::new(),
            events: VecDeque::new(),
            next_id: 0,
            next_request: 0,
        }
    }

    pub fn enqueue(
        &mut self,
        now: Timestamp,
        url: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<DeliveryId, OutboxFull> {
        if self.deliveries.len() >= self.limits.max_queued {
            return Err(OutboxFull { max_queued: self.limits.max_queued });
        }
        self.next_id += 1;
        let id = DeliveryId(self.next_id);
        self.deliveries.insert(id, Delivery { url, headers, body, attempts: 0 });
        self.due.insert((now, id));
        Ok(id)
    }

    /// The next due request, if any and if `max_in_flight` allows.
    pub fn poll_request(&mut self, now: Timestamp) -> Option<HttpRequest> {
        if self.in_flight.len() >= self.limits.max_in_flight {
            return None;
        }
        let &(at, id) = self.due.first()?;
        if at > now {
            return None;
        }
        self.due.remove(&(at, id));
        let delivery = self.deliveries.get_mut(&id)?;
        delivery.attempts += 1;
        self.next_request += 1;
        let request_id = RequestId(self.next_request);
        self.in_flight.insert(request_id, id);
        Some(HttpRequest {
            id: request_id,
            method: Method::Post,
            url: delivery.url.clone(),
            headers: delivery.headers.clone(),
            body: delivery.body.clone(),
        })
    }

    /// When the next queued delivery falls due (if nothing is, `None`).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.due.first().map(|(at, _)| *at)
    }

    pub fn poll_event(&mut self) -> Option<OutboxEvent> {
        self.events.pop_front()
    }

    pub fn len(&self) -> usize {
        self.deliveries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.deliveries.is_empty()
    }

    /// Which delivery a request belongs to (for signing it at send time).
    pub fn delivery_of(&self, request: RequestId) -> Option<DeliveryId> {
        self.in_flight.get(&request).copied()
    }

    pub fn handle_response(&mut self, now: Timestamp, request: RequestId, response: Option<&HttpResponse>) {
        let Some(id) = self.in_flight.remove(&request) else { return };
        let Some(attempts) = self.deliveries.get(&id).map(|d| d.attempts) else { return };
        let status = response.map(|r| r.status);
        match status {
            Some(200..=299) => {
                self.deliveries.remove(&id);
                self.events.push_back(OutboxEvent::Delivered { id, attempts });
            }
            Some(s) if (400..500).contains(&s) && !matches!(s, 408 | 425 | 429) => {
                self.deliveries.remove(&id);
                self.events.push_back(OutboxEvent::Rejected { id, status: s });
            }
            _ if attempts >= self.policy.max_attempts => {
                self.deliveries.remove(&id);
                self.events.push_back(OutboxEvent::GaveUp { id, attempts, last_status: status });
            }
            _ => {
                let retry_at = now.plus(DurationMs::from_ms(self.policy.backoff_ms(attempts)));
                self.due.insert((retry_at, id));
            }
        }
    }
}
