//! A bounded per-sender fixed-window counter: "at most N events per window for each sender".
//!
//! Used for auto-acknowledgement loop protection and for the per-sender SMTP flood limit. The map never
//! grows past `max_tracked_senders`: when full, expired windows are purged, and if it is still full the
//! new sender is refused (fail closed), because forgetting a counter would reopen a mail loop.
//! It reads no clock; time comes in.

use std::collections::HashMap;

use model::{DurationMs, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderWindowLimits {
    pub max_events_per_window: u32,
    pub window_ms: u64,
    pub max_tracked_senders: usize,
}

/// Why [`SenderWindow::try_record`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowRefusal {
    /// This sender used up its window.
    LimitReached,
    /// Too many distinct senders are being tracked to take a new one.
    TrackingFull,
}

#[derive(Debug)]
pub struct SenderWindow {
    limits: SenderWindowLimits,
    windows: HashMap<String, (Timestamp, u32)>,
}

impl SenderWindow {
    pub fn new(limits: SenderWindowLimits) -> Self {
        Self { limits, windows: HashMap::new() }
    }

    pub fn tracked_senders(&self) -> usize {
        self.windows.len()
    }

    /// Counts one event for `sender` at `now` if the limit allows it.
    pub fn try_record(&mut self, now: Timestamp, sender: &str) -> Result<(), WindowRefusal> {
        let window = DurationMs::from_ms(self.limits.window_ms);
        if !self.windows.contains_key(sender) && self.windows.len() >= self.limits.max_tracked_senders {
            self.windows.retain(|_, (start, _)| now.since(*start) < window);
            if self.windows.len() >= self.limits.max_tracked_senders {
                return Err(WindowRefusal::TrackingFull);
            }
        }
        let entry = self.windows.entry(sender.to_owned()).or_insert((now, 0));
        if now.since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limits.max_events_per_window {
            return Err(WindowRefusal::LimitReached);
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SenderWindowLimits {
        SenderWindowLimits { max_events_per_window: 2, window_ms: 1000, max_tracked_senders: 2 }
    }

    #[test]
    fn sender_is_limited_within_a_window_and_free_in_the_next() {
        let mut w = SenderWindow::new(limits());
        let t = Timestamp::from_unix_ms(0);
        assert_eq!(w.try_record(t, "a"), Ok(()));
        assert_eq!(w.try_record(t, "a"), Ok(()));
        assert_eq!(w.try_record(t, "a"), Err(WindowRefusal::LimitReached));
        assert_eq!(w.try_record(Timestamp::from_unix_ms(1000), "a"), Ok(()));
    }

    #[test]
    fn map_never_grows_past_its_limit_and_purges_expired_senders() {
        let mut w = SenderWindow::new(limits());
        let t = Timestamp::from_unix_ms(0);
        w.try_record(t, "a").unwrap();
        w.try_record(t, "b").unwrap();
        assert_eq!(w.try_record(t, "c"), Err(WindowRefusal::TrackingFull));
        assert_eq!(w.tracked_senders(), 2);
        assert_eq!(w.try_record(Timestamp::from_unix_ms(5000), "c"), Ok(()));
        assert_eq!(w.tracked_senders(), 1);
    }
}
