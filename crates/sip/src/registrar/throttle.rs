//! Failed-authentication throttling per source IP address, in a bounded map.
//!
//! A source that fails `max_failures` times within `window_ms` is blocked for `block_ms`. The map
//! never holds more than `max_tracked_sources` entries: stale ones go first, then the oldest.

use std::collections::HashMap;
use std::net::IpAddr;

use model::Timestamp;

/// Limits of the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    pub max_failures: u32,
    pub window_ms: u64,
    pub block_ms: u64,
    pub max_tracked_sources: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig { max_failures: 5, window_ms: 60_000, block_ms: 300_000, max_tracked_sources: 10_000 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    window_start_ms: i64,
    blocked_until_ms: Option<i64>,
}

#[derive(Debug)]
pub struct FailedAuthThrottle {
    config: ThrottleConfig,
    sources: HashMap<IpAddr, Record>,
}

impl FailedAuthThrottle {
    pub fn new(config: ThrottleConfig) -> Self {
        FailedAuthThrottle { config, sources: HashMap::new() }
    }

    pub fn is_blocked(&self, now: Timestamp, source: IpAddr) -> bool {
        self.sources.get(&source).and_then(|r| r.blocked_until_ms).is_some_and(|until| now.unix_ms() < until)
    }

    /// Counts a failure; returns true when the source is now blocked.
    pub fn record_failure(&mut self, now: Timestamp, source: IpAddr) -> bool {
        let now_ms = now.unix_ms();
        let window = i64::try_from(self.config.window_ms).unwrap_or(i64::MAX);
        if !self.sources.contains_key(&source) && self.sources.len() >= self.config.max_tracked_sources {
            self.evict(now_ms);
        }
        let record = self.sources.entry(source).or_insert(Record {
            failures: 0,
            window_start_ms: now_ms,
            blocked_until_ms: None,
        });
        if now_ms.saturating_sub(record.window_start_ms) > window {
            *record = Record { failures: 0, window_start_ms: now_ms, blocked_until_ms: None };
        }
        record.failures = record.failures.saturating_add(1);
        if record.failures >= self.config.max_failures {
            let block = i64::try_from(self.config.block_ms).unwrap_or(i64::MAX);
            record.blocked_until_ms = Some(now_ms.saturating_add(block));
            return true;
        }
        false
    }

    /// A success clears the source's record.
    pub fn record_success(&mut self, source: IpAddr) {
        self.sources.remove(&source);
    }

    pub fn tracked_sources(&self) -> usize {
        self.sources.len()
    }

    fn evict(&mut self, now_ms: i64) {
        let window = i64::try_from(self.config.window_ms).unwrap_or(i64::MAX);
        self.sources.retain(|_, r| {
            let blocked = r.blocked_until_ms.is_some_and(|u| now_ms < u);
            blocked || now_ms.saturating_sub(r.window_start_ms) <= window
        });
        if self.sources.len() >= self.config.max_tracked_sources
            && let Some(oldest) = self.sources.iter().min_by_key(|(_, r)| r.window_start_ms).map(|(ip, _)| *ip)
        {
            self.sources.remove(&oldest);
        }
    }
}
