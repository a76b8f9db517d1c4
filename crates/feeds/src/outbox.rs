//! The at-least-once outbox of the event feed: a sans-IO state machine. Events wait in order
//! (at most `max_pending_events`); the head is sent, and only its ack removes it; a failure or
//! a missing ack schedules a retry of the same head after a backoff. One message is in flight
//! at a time, so the stream stores events in the order they were enqueued; a retry of a message
//! that was in fact stored is dropped by JetStream's `Nats-Msg-Id` de-duplication.
//!
//! Must never: grow past its bound (a new event is refused and counted instead), lose an event
//! it accepted (it stays until acked), or reorder events.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::RetryPolicy;
use crate::events::EventMessage;

/// What the driver should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum OutboxPoll {
    /// Publish this message and report the result with [`Outbox::handle_ack`] or
    /// [`Outbox::handle_failure`].
    Send(EventMessage),
    /// Nothing to send before this instant (a retry is waiting).
    WaitUntil(Instant),
    /// Nothing to send, or the head is already in flight.
    Idle,
}

/// Counters of the outbox, monotonic except `pending`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounters {
    /// Events acked by the stream (duplicates included).
    pub published: u64,
    /// Acks saying the stream already had the message (a retry of a stored message).
    pub duplicates: u64,
    /// Sends after a failure or a missing ack.
    pub retried: u64,
    /// Events refused because the outbox was full.
    pub dropped_when_full: u64,
    /// Events refused because their payload was over `max_event_bytes`.
    pub dropped_too_large: u64,
    /// Events waiting, the one in flight included.
    pub pending: usize,
}

/// Why the outbox refused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutboxRefusal {
    #[error("event outbox full ({max_pending_events} events waiting for an ack); event dropped")]
    Full { max_pending_events: usize },
    /// Too big to ever be accepted by the server; retrying it would block every later event.
    #[error("event payload of {bytes} bytes is over max_event_bytes ({max_event_bytes}); event dropped")]
    TooLarge { bytes: usize, max_event_bytes: usize },
}

#[derive(Debug)]
pub struct Outbox {
    queue: VecDeque<EventMessage>,
    max_pending_events: usize,
    max_event_bytes: usize,
    retry: RetryPolicy,
    in_flight: bool,
    /// Failed tries of the head so far.
    head_failures: u32,
    retry_at: Option<Instant>,
    counters: OutboxCounters,
}

impl Outbox {
    pub fn new(max_pending_events: usize, max_event_bytes: usize, retry: RetryPolicy) -> Self {
        Self {
            queue: VecDeque::new(),
            max_pending_events: max_pending_events.max(1),
            max_event_bytes,
            retry,
            in_flight: false,
            head_failures: 0,
            retry_at: None,
            counters: OutboxCounters::default(),
        }
    }

    /// Adds an event at the back, or refuses it (and counts it) when full or too large.
    pub fn push(&mut self, message: EventMessage) -> Result<(), OutboxRefusal> {
        let bytes = message.payload.len();
        if bytes > self.max_event_bytes {
            self.counters.dropped_too_large += 1;
            return Err(OutboxRefusal::TooLarge { bytes, max_event_bytes: self.max_event_bytes });
        }
        if self.queue.len() >= self.max_pending_events {
            self.counters.dropped_when_full += 1;
            return Err(OutboxRefusal::Full { max_pending_events: self.max_pending_events });
        }
        self.queue.push_back(message);
        Ok(())
    }

    pub fn poll(&mut self, now: Instant) -> OutboxPoll {
        if self.in_flight {
            return OutboxPoll::Idle;
        }
        let Some(head) = self.queue.front() else { return OutboxPoll::Idle };
        if let Some(at) = self.retry_at {
            if now < at {
                return OutboxPoll::WaitUntil(at);
            }
            self.retry_at = None;
            self.counters.retried += 1;
        }
        self.in_flight = true;
        OutboxPoll::Send(head.clone())
    }

    /// The head was stored (or was already stored: `duplicate`).
    pub fn handle_ack(&mut self, duplicate: bool) {
        if !self.in_flight {
            return;
        }
        self.in_flight = false;
        self.head_failures = 0;
        self.queue.pop_front();
        self.counters.published += 1;
        if duplicate {
            self.counters.duplicates += 1;
        }
    }

    /// The head's publish failed or its ack did not come: retry it after a backoff.
    pub fn handle_failure(&mut self, now: Instant) -> Duration {
        self.in_flight = false;
        self.head_failures = self.head_failures.saturating_add(1);
        let delay = Duration::from_millis(self.retry.delay_ms(self.head_failures));
        self.retry_at = Some(now + delay);
        delay
    }

    pub fn counters(&self) -> OutboxCounters {
        OutboxCounters { pending: self.queue.len(), ..self.counters }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u32) -> EventMessage {
        EventMessage { subject: "s".into(), msg_id: n.to_string(), payload: vec![] }
    }

    fn sent(p: OutboxPoll) -> String {
        match p {
            OutboxPoll::Send(m) => m.msg_id,
            other => panic!("expected a send, got {other:?}"),
        }
    }

    #[test]
    fn full_outbox_refuses_new_events_and_counts_them() {
        let mut o = Outbox::new(2, 10, RetryPolicy::default());
        o.push(msg(1)).expect("room");
        o.push(msg(2)).expect("room");
        assert_eq!(o.push(msg(3)), Err(OutboxRefusal::Full { max_pending_events: 2 }));
        let big = EventMessage { payload: vec![b'x'; 11], ..msg(4) };
        assert_eq!(o.push(big), Err(OutboxRefusal::TooLarge { bytes: 11, max_event_bytes: 10 }));
        assert_eq!(o.counters().dropped_too_large, 1);
        let c = o.counters();
        assert_eq!((c.pending, c.dropped_when_full), (2, 1));
    }

    #[test]
    fn failed_head_is_retried_after_backoff_before_anything_behind_it() {
        let t0 = Instant::now();
        let mut o = Outbox::new(10, 1_000, RetryPolicy { initial_backoff_ms: 100, max_backoff_ms: 150 });
        o.push(msg(1)).expect("room");
        o.push(msg(2)).expect("room");
        assert_eq!(sent(o.poll(t0)), "1");
        assert_eq!(o.poll(t0), OutboxPoll::Idle, "one in flight at a time");
        assert_eq!(o.handle_failure(t0), Duration::from_millis(100));
        assert_eq!(o.poll(t0), OutboxPoll::WaitUntil(t0 + Duration::from_millis(100)));
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(sent(o.poll(t1)), "1");
        assert_eq!(o.handle_failure(t1), Duration::from_millis(150), "doubled, capped");
        let t2 = t1 + Duration::from_millis(150);
        assert_eq!(sent(o.poll(t2)), "1");
        o.handle_ack(true);
        assert_eq!(sent(o.poll(t2)), "2");
        o.handle_ack(false);
        let c = o.counters();
        assert_eq!((c.published, c.duplicates, c.retried, c.pending), (2, 1, 2, 0));
        assert_eq!(o.poll(t2), OutboxPoll::Idle);
    }

    #[test]
    fn backoff_restarts_for_the_next_head() {
        let t0 = Instant::now();
        let mut o = Outbox::new(10, 1_000, RetryPolicy { initial_backoff_ms: 10, max_backoff_ms: 1_000 });
        o.push(msg(1)).expect("room");
        o.push(msg(2)).expect("room");
        sent(o.poll(t0));
        o.handle_failure(t0);
        sent(o.poll(t0 + Duration::from_secs(1)));
        o.handle_ack(false);
        sent(o.poll(t0 + Duration::from_secs(1)));
        assert_eq!(o.handle_failure(t0), Duration::from_millis(10));
    }
}
