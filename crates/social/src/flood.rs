//! Per-sender flood control for inbound social messages, sans-IO.
//!
//! Each sender (a channel's sender id) may deliver at most `max_messages_per_window` messages per
//! fixed window of `window_ms`; the next ones are refused until the window turns. At most
//! `max_tracked_senders` senders are remembered: windows that have ended are forgotten first, and
//! when every tracked window is still running a new sender is refused rather than letting the map
//! grow (a flood of distinct ids then cannot evict the ones being limited). Reads no clock.

use std::collections::HashMap;

use model::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodLimits {
    pub max_messages_per_window: u32,
    pub window_ms: u64,
    pub max_tracked_senders: usize,
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Flooded {
    #[error("more than {max_messages_per_window} messages from this sender in {window_ms} ms")]
    Sender { max_messages_per_window: u32, window_ms: u64, retry_after_ms: u64 },
    #[error("too many senders at once ({max_tracked_senders} tracked)")]
    TooManySenders { max_tracked_senders: usize },
}

pub struct SenderLimiter {
    limits: FloodLimits,
    windows: HashMap<String, (Timestamp, u32)>,
}

impl SenderLimiter {
    pub fn new(limits: FloodLimits) -> Self {
        Self { limits, windows: HashMap::new() }
    }

    /// Counts one message from `sender` at `now`, or refuses it.
    pub fn check(&mut self, now: Timestamp, sender: &str) -> Result<(), Flooded> {
        let window_ms = i64::try_from(self.limits.window_ms).unwrap_or(i64::MAX);
        let ended = |start: Timestamp| now.unix_ms().saturating_sub(start.unix_ms()) >= window_ms;
        if !self.windows.contains_key(sender) && self.windows.len() >= self.limits.max_tracked_senders {
            self.windows.retain(|_, (start, _)| !ended(*start));
            if self.windows.len() >= self.limits.max_tracked_senders {
                return Err(Flooded::TooManySenders { max_tracked_senders: self.limits.max_tracked_senders });
            }
        }
        let entry = self.windows.entry(sender.to_owned()).or_insert((now, 0));
        if ended(entry.0) {
            *entry = (now, 0);
        }
        if entry.1 >= self.limits.max_messages_per_window {
            let elapsed = now.unix_ms().saturating_sub(entry.0.unix_ms());
            let retry_after_ms = u64::try_from(window_ms.saturating_sub(elapsed)).unwrap_or(0);
            return Err(Flooded::Sender {
                max_messages_per_window: self.limits.max_messages_per_window,
                window_ms: self.limits.window_ms,
                retry_after_ms,
            });
        }
        entry.1 += 1;
        Ok(())
    }

    pub fn tracked_senders(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(1_700_000_000_000 + ms)
    }

    fn limiter(max_tracked_senders: usize) -> SenderLimiter {
        SenderLimiter::new(FloodLimits { max_messages_per_window: 2, window_ms: 1_000, max_tracked_senders })
    }

    #[test]
    fn a_sender_over_the_window_limit_is_refused_until_the_window_turns() {
        let mut l = limiter(10);
        assert_eq!(l.check(at(0), "a"), Ok(()));
        assert_eq!(l.check(at(10), "a"), Ok(()));
        assert!(matches!(l.check(at(20), "a"), Err(Flooded::Sender { retry_after_ms: 980, .. })));
        assert_eq!(l.check(at(20), "b"), Ok(()), "another sender is not limited");
        assert_eq!(l.check(at(1_000), "a"), Ok(()));
    }

    #[test]
    fn tracked_senders_are_bounded_and_ended_windows_are_forgotten_first() {
        let mut l = limiter(2);
        assert_eq!(l.check(at(0), "a"), Ok(()));
        assert_eq!(l.check(at(0), "b"), Ok(()));
        assert_eq!(l.check(at(10), "c"), Err(Flooded::TooManySenders { max_tracked_senders: 2 }));
        assert_eq!(l.check(at(1_500), "c"), Ok(()));
        assert_eq!(l.tracked_senders(), 1);
    }
}
