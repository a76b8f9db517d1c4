//! Admission of requests per source address: a token-bucket rate limit (bounded map of sources)
//! with an exemption for trusted sources (SIP trunks), and the dropping of known SIP scanner
//! user-agents (friendly-scanner, sipvicious...).
//!
//! Pure: time is passed in. Dropping is silent by design (answering scanners tells them a SIP
//! server is there); the shell counts the drops from [`GuardCounters`]. Never panics.

use std::collections::HashMap;
use std::net::IpAddr;

use model::Timestamp;

use crate::message::{HeaderName, Request};

/// Limits of the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardConfig {
    /// Sustained messages per second allowed from one IP address.
    pub max_messages_per_second: u32,
    /// Messages one address may send in a burst above the sustained rate.
    pub burst_messages: u32,
    /// Addresses tracked at once; idle ones are forgotten first.
    pub max_tracked_sources: usize,
    /// Lower-case fragments of User-Agent values that mark a scanner.
    pub scanner_user_agents: Vec<String>,
    /// Addresses exempt from the rate limit (SIP trunks, the operator's own proxies): a
    /// provider carrying many calls sends far more than one phone. Scanner user-agents are
    /// dropped from them all the same.
    pub trusted_sources: Vec<IpAddr>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            max_messages_per_second: 20,
            burst_messages: 60,
            max_tracked_sources: 10_000,
            scanner_user_agents: [
                "friendly-scanner",
                "sipvicious",
                "sipcli",
                "sip-scan",
                "vaxsipuseragent",
                "iwar",
                "sundayddr",
                "pplsip",
                "smap",
            ]
            .map(String::from)
            .to_vec(),
            trusted_sources: Vec::new(),
        }
    }
}

/// The decision for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allow,
    DropRateLimited,
    DropScanner,
}

/// Drop counts for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardCounters {
    pub rate_limited: u64,
    pub scanners: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Thousandths of a message.
    tokens_milli: u64,
    last_ms: i64,
}

/// Per-source admission.
#[derive(Debug)]
pub struct SourceGuard {
    config: GuardConfig,
    buckets: HashMap<IpAddr, Bucket>,
    counters: GuardCounters,
}

impl SourceGuard {
    pub fn new(config: GuardConfig) -> SourceGuard {
        SourceGuard { config, buckets: HashMap::new(), counters: GuardCounters::default() }
    }

    pub fn counters(&self) -> GuardCounters {
        self.counters
    }

    pub fn tracked_sources(&self) -> usize {
        self.buckets.len()
    }

    fn capacity_milli(&self) -> u64 {
        u64::from(self.config.burst_messages.max(1)).saturating_mul(1000)
    }

    fn refilled(&self, bucket: Bucket, now_ms: i64) -> u64 {
        let elapsed = u64::try_from(now_ms.saturating_sub(bucket.last_ms)).unwrap_or(0);
        let refill = elapsed.saturating_mul(u64::from(self.config.max_messages_per_second));
        bucket.tokens_milli.saturating_add(refill).min(self.capacity_milli())
    }

    /// Whether `source` is exempt from the rate limit ([`GuardConfig::trusted_sources`]).
    pub fn is_trusted(&self, source: IpAddr) -> bool {
        self.config.trusted_sources.contains(&source)
    }

    /// Takes one message from `source`'s budget (trusted sources have no budget and are not
    /// tracked). Call before parsing: it is cheap.
    pub fn admit_source(&mut self, now: Timestamp, source: IpAddr) -> Admission {
        if self.is_trusted(source) {
            return Admission::Allow;
        }
        let now_ms = now.unix_ms();
        if !self.buckets.contains_key(&source) && self.buckets.len() >= self.config.max_tracked_sources {
            self.evict(now_ms);
        }
        let full = Bucket { tokens_milli: self.capacity_milli(), last_ms: now_ms };
        let bucket = self.buckets.get(&source).copied().unwrap_or(full);
        let tokens = self.refilled(bucket, now_ms);
        let (tokens, admission) = match tokens.checked_sub(1000) {
            Some(left) => (left, Admission::Allow),
            None => (tokens, Admission::DropRateLimited),
        };
        self.buckets.insert(source, Bucket { tokens_milli: tokens, last_ms: now_ms.max(bucket.last_ms) });
        if admission == Admission::DropRateLimited {
            self.counters.rate_limited += 1;
        }
        admission
    }

    /// True when the request's User-Agent names a known scanner.
    pub fn is_scanner(&self, request: &Request) -> bool {
        request.headers.get_all(&HeaderName::UserAgent).any(|ua| {
            let ua = ua.to_ascii_lowercase();
            self.config.scanner_user_agents.iter().any(|s| ua.contains(s.as_str()))
        })
    }

    /// Both checks for a parsed request.
    pub fn admit(&mut self, now: Timestamp, source: IpAddr, request: &Request) -> Admission {
        if self.is_scanner(request) {
            self.counters.scanners += 1;
            return Admission::DropScanner;
        }
        self.admit_source(now, source)
    }

    /// Forgets sources whose bucket has refilled (idle); if none, the least recently seen.
    fn evict(&mut self, now_ms: i64) {
        let capacity = self.capacity_milli();
        let idle: Vec<IpAddr> =
            self.buckets.iter().filter(|(_, b)| self.refilled(**b, now_ms) >= capacity).map(|(ip, _)| *ip).collect();
        for ip in idle {
            self.buckets.remove(&ip);
        }
        if self.buckets.len() >= self.config.max_tracked_sources
            && let Some(oldest) = self.buckets.iter().min_by_key(|(_, b)| b.last_ms).map(|(ip, _)| *ip)
        {
            self.buckets.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Limits, Message, parse_datagram};

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(1_900_000_000_000 + ms)
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    fn options(user_agent: &str) -> Request {
        let text = format!(
            "OPTIONS sip:100@203.0.113.5 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bK1\r\n\
From: <sip:100@1.1.1.1>;tag=1\r\nTo: <sip:100@1.1.1.1>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\
User-Agent: {user_agent}\r\nContent-Length: 0\r\n\r\n"
        );
        match parse_datagram(text.as_bytes(), &Limits::default()) {
            Ok(Message::Request(r)) => r,
            other => panic!("must parse: {other:?}"),
        }
    }

    #[test]
    fn scanners_are_dropped_by_user_agent() {
        let mut g = SourceGuard::new(GuardConfig::default());
        assert_eq!(g.admit(at(0), ip(1), &options("friendly-scanner")), Admission::DropScanner);
        assert_eq!(g.admit(at(0), ip(1), &options("SIPVicious 0.3.4")), Admission::DropScanner);
        assert_eq!(g.admit(at(0), ip(1), &options("baresip v3.10.1")), Admission::Allow);
        assert_eq!(g.counters().scanners, 2);
    }

    #[test]
    fn a_burst_beyond_the_budget_is_dropped_then_refills_at_the_sustained_rate() {
        let mut g =
            SourceGuard::new(GuardConfig { max_messages_per_second: 10, burst_messages: 5, ..GuardConfig::default() });
        let allowed = (0..8).filter(|_| g.admit_source(at(0), ip(1)) == Admission::Allow).count();
        assert_eq!(allowed, 5);
        assert_eq!(g.admit_source(at(0), ip(2)), Admission::Allow, "other sources keep their own budget");
        assert_eq!(g.admit_source(at(99), ip(1)), Admission::DropRateLimited);
        assert_eq!(g.admit_source(at(100), ip(1)), Admission::Allow, "one message per 100 ms at 10/s");
    }

    #[test]
    fn a_trusted_source_is_never_rate_limited_and_an_untrusted_one_still_is() {
        let config = GuardConfig {
            max_messages_per_second: 1,
            burst_messages: 2,
            trusted_sources: vec![ip(9)],
            ..GuardConfig::default()
        };
        let mut g = SourceGuard::new(config);
        assert!((0..100).all(|_| g.admit_source(at(0), ip(9)) == Admission::Allow));
        let untrusted = (0..100).filter(|_| g.admit_source(at(0), ip(1)) == Admission::Allow).count();
        assert_eq!(untrusted, 2);
        assert_eq!(g.tracked_sources(), 1, "trusted sources take no room in the map");
        assert_eq!(g.admit(at(0), ip(9), &options("friendly-scanner")), Admission::DropScanner);
    }

    #[test]
    fn the_source_map_stays_within_its_limit() {
        let mut g = SourceGuard::new(GuardConfig { max_tracked_sources: 4, ..GuardConfig::default() });
        for i in 0..50u8 {
            g.admit_source(at(i64::from(i)), ip(i));
            assert!(g.tracked_sources() <= 4);
        }
    }
}
