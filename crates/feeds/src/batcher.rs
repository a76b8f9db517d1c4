//! The InfluxDB write batcher: a sans-IO state machine. Encoded lines wait in a bounded buffer
//! (`max_buffered_points`; when full the oldest is dropped and counted); a batch of up to
//! `max_batch_points` is taken when the buffer holds a full batch or `flush_interval_ms` after
//! the last flush; the driver sends it and reports the [`WriteOutcome`]. A server error (5xx)
//! or a connection error keeps the batch and retries it after a backoff, up to `max_attempts`
//! tries; a client error (4xx: bad line, missing database, bad credentials) is never retried,
//! the batch is dropped and counted.
//!
//! Memory is bounded by `max_buffered_points` waiting lines plus one batch of at most
//! `max_batch_points` being sent. Must never: retry a 4xx, exceed those bounds, or panic.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::RetryPolicy;

/// How one write request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// 2xx.
    Written,
    /// 5xx, a timeout or a connection error: worth retrying.
    Retryable,
    /// 4xx: the server refuses these lines; retrying cannot help.
    Rejected,
}

impl WriteOutcome {
    /// Classifies an HTTP status.
    pub fn from_status(status: u16) -> Self {
        match status {
            200..=299 => WriteOutcome::Written,
            400..=499 => WriteOutcome::Rejected,
            _ => WriteOutcome::Retryable,
        }
    }
}

/// Counters of the batcher, monotonic except `buffered` and `in_batch`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatcherCounters {
    pub points_written: u64,
    pub batches_written: u64,
    /// Retries of a batch after a 5xx or connection error.
    pub retries: u64,
    /// Oldest points dropped because the buffer was full.
    pub dropped_oldest: u64,
    /// Points in batches refused with a 4xx (never retried).
    pub rejected_points: u64,
    pub rejected_batches: u64,
    /// Points in batches dropped after `max_attempts` tries.
    pub gave_up_points: u64,
    pub buffered: usize,
    pub in_batch: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct BatcherLimits {
    pub max_buffered_points: usize,
    pub max_batch_points: usize,
    pub flush_interval: Duration,
    pub max_attempts: u32,
    pub retry: RetryPolicy,
}

#[derive(Debug)]
struct Batch {
    lines: Vec<String>,
    attempts: u32,
    in_flight: bool,
    retry_at: Option<Instant>,
}

#[derive(Debug)]
pub struct Batcher {
    limits: BatcherLimits,
    buffer: VecDeque<String>,
    batch: Option<Batch>,
    next_flush_at: Instant,
    counters: BatcherCounters,
}

impl Batcher {
    pub fn new(limits: BatcherLimits, now: Instant) -> Self {
        let limits = BatcherLimits {
            max_buffered_points: limits.max_buffered_points.max(1),
            max_batch_points: limits.max_batch_points.max(1),
            max_attempts: limits.max_attempts.max(1),
            ..limits
        };
        Self {
            limits,
            buffer: VecDeque::new(),
            batch: None,
            next_flush_at: now + limits.flush_interval,
            counters: BatcherCounters::default(),
        }
    }

    /// Adds one encoded line (no trailing newline); drops the oldest waiting one when full.
    pub fn push(&mut self, line: String) {
        if self.buffer.len() >= self.limits.max_buffered_points {
            self.buffer.pop_front();
            self.counters.dropped_oldest += 1;
        }
        self.buffer.push_back(line);
    }

    /// Sends what is buffered at the next poll instead of waiting for the interval.
    pub fn flush_now(&mut self, now: Instant) {
        self.next_flush_at = now;
    }

    /// The body of the next write request, if one is due. Report its result with
    /// [`Batcher::handle_outcome`].
    pub fn poll_transmit(&mut self, now: Instant) -> Option<String> {
        if self.batch.is_none() {
            let due = self.buffer.len() >= self.limits.max_batch_points
                || (!self.buffer.is_empty() && now >= self.next_flush_at);
            if !due {
                return None;
            }
            let n = self.buffer.len().min(self.limits.max_batch_points);
            let lines: Vec<String> = self.buffer.drain(..n).collect();
            self.batch = Some(Batch { lines, attempts: 0, in_flight: false, retry_at: None });
            self.next_flush_at = now + self.limits.flush_interval;
        }
        let batch = self.batch.as_mut().expect("a batch was just ensured");
        if batch.in_flight || batch.retry_at.is_some_and(|at| now < at) {
            return None;
        }
        if batch.retry_at.take().is_some() {
            self.counters.retries += 1;
        }
        batch.in_flight = true;
        batch.attempts += 1;
        let mut body = batch.lines.join("\n");
        body.push('\n');
        Some(body)
    }

    /// When the driver should poll again, if nothing else happens.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.batch {
            Some(b) if b.in_flight => None,
            Some(b) => b.retry_at,
            None if self.buffer.is_empty() => None,
            None => Some(self.next_flush_at),
        }
    }

    pub fn handle_outcome(&mut self, now: Instant, outcome: WriteOutcome) {
        let Some(batch) = self.batch.as_mut() else { return };
        if !batch.in_flight {
            return;
        }
        batch.in_flight = false;
        let n = batch.lines.len() as u64;
        match outcome {
            WriteOutcome::Written => {
                self.counters.points_written += n;
                self.counters.batches_written += 1;
                self.batch = None;
            }
            WriteOutcome::Rejected => {
                self.counters.rejected_points += n;
                self.counters.rejected_batches += 1;
                self.batch = None;
            }
            WriteOutcome::Retryable if batch.attempts >= self.limits.max_attempts => {
                self.counters.gave_up_points += n;
                self.batch = None;
            }
            WriteOutcome::Retryable => {
                let delay = self.limits.retry.delay_ms(batch.attempts);
                batch.retry_at = Some(now + Duration::from_millis(delay));
            }
        }
    }

    /// True when nothing is buffered or being sent.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty() && self.batch.is_none()
    }

    pub fn counters(&self) -> BatcherCounters {
        BatcherCounters {
            buffered: self.buffer.len(),
            in_batch: self.batch.as_ref().map_or(0, |b| b.lines.len()),
            ..self.counters
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> BatcherLimits {
        BatcherLimits {
            max_buffered_points: 4,
            max_batch_points: 2,
            flush_interval: Duration::from_millis(1_000),
            max_attempts: 3,
            retry: RetryPolicy { initial_backoff_ms: 10, max_backoff_ms: 1_000 },
        }
    }

    fn push(b: &mut Batcher, names: &[&str]) {
        for n in names {
            b.push((*n).to_owned());
        }
    }

    #[test]
    fn a_full_batch_goes_at_once_a_partial_one_at_the_interval() {
        let t0 = Instant::now();
        let mut b = Batcher::new(limits(), t0);
        push(&mut b, &["a"]);
        assert_eq!(b.poll_transmit(t0), None);
        assert_eq!(b.poll_timeout(), Some(t0 + Duration::from_millis(1_000)));
        push(&mut b, &["b", "c"]);
        assert_eq!(b.poll_transmit(t0).as_deref(), Some("a\nb\n"));
        b.handle_outcome(t0, WriteOutcome::Written);
        assert_eq!(b.poll_transmit(t0), None, "c waits for the interval");
        assert_eq!(b.poll_transmit(t0 + Duration::from_millis(1_000)).as_deref(), Some("c\n"));
    }

    #[test]
    fn full_buffer_drops_the_oldest_and_counts() {
        let t0 = Instant::now();
        let mut b = Batcher::new(limits(), t0);
        push(&mut b, &["1", "2", "3", "4", "5", "6"]);
        let c = b.counters();
        assert_eq!((c.buffered, c.dropped_oldest), (4, 2));
        assert_eq!(b.poll_transmit(t0).as_deref(), Some("3\n4\n"));
    }

    #[test]
    fn server_errors_are_retried_with_backoff_then_given_up() {
        let t0 = Instant::now();
        let mut b = Batcher::new(limits(), t0);
        push(&mut b, &["a", "b"]);
        assert!(b.poll_transmit(t0).is_some());
        b.handle_outcome(t0, WriteOutcome::from_status(503));
        assert_eq!(b.poll_timeout(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(b.poll_transmit(t0 + Duration::from_millis(9)), None);
        let t1 = t0 + Duration::from_millis(10);
        assert_eq!(b.poll_transmit(t1).as_deref(), Some("a\nb\n"));
        b.handle_outcome(t1, WriteOutcome::Retryable);
        assert_eq!(b.poll_timeout(), Some(t1 + Duration::from_millis(20)));
        let t2 = t1 + Duration::from_millis(20);
        assert!(b.poll_transmit(t2).is_some());
        b.handle_outcome(t2, WriteOutcome::Retryable);
        let c = b.counters();
        assert_eq!((c.retries, c.gave_up_points, c.in_batch), (2, 2, 0));
        assert!(b.is_empty());
    }

    #[test]
    fn client_errors_are_never_retried() {
        let t0 = Instant::now();
        let mut b = Batcher::new(limits(), t0);
        push(&mut b, &["a", "b", "c"]);
        assert!(b.poll_transmit(t0).is_some());
        b.handle_outcome(t0, WriteOutcome::from_status(404));
        let c = b.counters();
        assert_eq!((c.rejected_points, c.rejected_batches, c.retries, c.buffered), (2, 1, 0, 1));
        b.flush_now(t0);
        assert_eq!(b.poll_transmit(t0).as_deref(), Some("c\n"), "the next batch is not affected");
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(WriteOutcome::from_status(204), WriteOutcome::Written);
        assert_eq!(WriteOutcome::from_status(400), WriteOutcome::Rejected);
        assert_eq!(WriteOutcome::from_status(500), WriteOutcome::Retryable);
        assert_eq!(WriteOutcome::from_status(302), WriteOutcome::Retryable);
    }
}
