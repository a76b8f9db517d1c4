//! Agent occupancy so far today, from the engine's own state timeline (KPI.md): handling time /
//! (handling time + available idle time). Time comes in as arguments (the engine's `now`); this
//! module never reads a clock and never changes routing state by itself.
//!
//! An agent is *handling* while it holds at least one connected or wrap-up contact (any
//! channel; concurrent chats count once, as wall time), *available idle* while it is Available
//! with nothing connected and no wrap-up (ringing counts as idle: the agent is waiting for
//! work), and neither while Away or Offline with nothing in hand. The engine calls
//! [`Timeline::track`] whenever an agent's work or presence changes (from `sync_state`), which
//! closes the running segment and opens the next one.

use model::Timestamp;

/// What an agent's time counts as for occupancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment {
    Handling,
    Idle,
    /// Away or Offline with nothing in hand: not in the ratio.
    Other,
}

/// Handling and available idle time so far today, plus the running segment.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    handling_ms: u64,
    idle_ms: u64,
    since: Timestamp,
    segment: Segment,
}

impl Timeline {
    pub fn new(now: Timestamp) -> Self {
        Self { handling_ms: 0, idle_ms: 0, since: now, segment: Segment::Other }
    }

    /// Closes the running segment at `now` and opens `segment`.
    pub fn track(&mut self, now: Timestamp, segment: Segment) {
        if now > self.since {
            let elapsed = now.since(self.since).as_ms();
            match self.segment {
                Segment::Handling => self.handling_ms = self.handling_ms.saturating_add(elapsed),
                Segment::Idle => self.idle_ms = self.idle_ms.saturating_add(elapsed),
                Segment::Other => {}
            }
            self.since = now;
        }
        self.segment = segment;
    }

    /// Midnight: both totals start again from `now`; the running segment goes on.
    pub fn reset(&mut self, now: Timestamp) {
        let segment = self.segment;
        self.track(now, segment);
        self.handling_ms = 0;
        self.idle_ms = 0;
    }

    /// `(handling ms, idle ms)` including the running segment up to `now`.
    pub fn totals(&self, now: Timestamp) -> (u64, u64) {
        let running = if now > self.since { now.since(self.since).as_ms() } else { 0 };
        match self.segment {
            Segment::Handling => (self.handling_ms.saturating_add(running), self.idle_ms),
            Segment::Idle => (self.handling_ms, self.idle_ms.saturating_add(running)),
            Segment::Other => (self.handling_ms, self.idle_ms),
        }
    }

    /// Occupancy at `now` in parts per million; 0 before any handling or idle time.
    pub fn ppm(&self, now: Timestamp) -> u32 {
        let (handling, idle) = self.totals(now);
        let total = u128::from(handling) + u128::from(idle);
        if total == 0 {
            return 0;
        }
        u32::try_from(u128::from(handling) * 1_000_000 / total).unwrap_or(1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_unix_ms(s * 1000)
    }

    #[test]
    fn occupancy_is_handling_over_handling_plus_idle_and_ignores_away_time() {
        let mut t = Timeline::new(at(0));
        t.track(at(0), Segment::Idle);
        t.track(at(30), Segment::Handling);
        t.track(at(90), Segment::Other);
        t.track(at(1000), Segment::Idle);
        // 60 s handling, 30 s idle (so far) + the running idle segment.
        assert_eq!(t.ppm(at(1000)), 666_666);
        assert_eq!(t.ppm(at(1030)), 500_000);
    }

    #[test]
    fn reset_starts_the_day_again_but_keeps_the_running_segment() {
        let mut t = Timeline::new(at(0));
        t.track(at(0), Segment::Handling);
        t.reset(at(100));
        assert_eq!(t.totals(at(100)), (0, 0));
        assert_eq!(t.totals(at(110)), (10_000, 0));
    }

    #[test]
    fn no_time_yet_is_zero_occupancy() {
        assert_eq!(Timeline::new(at(5)).ppm(at(5)), 0);
    }
}
