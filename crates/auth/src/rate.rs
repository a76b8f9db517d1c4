//! A per-client request rate limit: a token bucket per source address, refilled continuously.
//!
//! Bounded: at most `max_tracked_clients` buckets; full buckets are stale and dropped first, then
//! the least recently used. Never: sleep or wait — a request over the limit is refused at once
//! with the time until the next token.

use std::net::IpAddr;

use model::Timestamp;

use crate::bounded::BoundedMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Sustained requests per second per client.
    pub requests_per_second: u32,
    /// Requests a client may make in a burst above the sustained rate.
    pub burst_requests: u32,
    /// Most clients tracked at once.
    pub max_tracked_clients: usize,
}

impl Default for RateLimits {
    /// 50 requests per second sustained, bursts of 100, 10 000 clients tracked.
    fn default() -> Self {
        Self { requests_per_second: 50, burst_requests: 100, max_tracked_clients: 10_000 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens in thousandths, so refill is exact in integers.
    milli_tokens: u64,
    refilled_ms: i64,
}

pub struct RateLimiter {
    limits: RateLimits,
    buckets: BoundedMap<IpAddr, Bucket>,
}

/// Refused: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub retry_after_ms: u64,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, buckets: BoundedMap::new(limits.max_tracked_clients) }
    }

    fn capacity_milli(&self) -> u64 {
        u64::from(self.limits.burst_requests.max(1)) * 1_000
    }

    /// Takes one token from `client`'s bucket, or says how long until one is there.
    pub fn check(&mut self, now: Timestamp, client: IpAddr) -> Result<(), RateLimited> {
        let capacity = self.capacity_milli();
        let per_ms = u64::from(self.limits.requests_per_second.max(1)); // milli-tokens per ms
        let now_ms = now.unix_ms();
        let full_after_ms = i64::try_from(capacity / per_ms).unwrap_or(i64::MAX);
        let bucket = self.buckets.get_or_insert(
            &crate::client_key(client),
            now_ms,
            || Bucket { milli_tokens: capacity, refilled_ms: now_ms },
            |b| now_ms.saturating_sub(b.refilled_ms) >= full_after_ms,
        );
        let elapsed = u64::try_from(now_ms.saturating_sub(bucket.refilled_ms)).unwrap_or(0);
        bucket.milli_tokens = bucket.milli_tokens.saturating_add(elapsed.saturating_mul(per_ms)).min(capacity);
        bucket.refilled_ms = bucket.refilled_ms.max(now_ms);
        if bucket.milli_tokens >= 1_000 {
            bucket.milli_tokens -= 1_000;
            Ok(())
        } else {
            Err(RateLimited { retry_after_ms: (1_000 - bucket.milli_tokens).div_ceil(per_ms) })
        }
    }

    pub fn tracked_clients(&self) -> usize {
        self.buckets.len()
    }

    pub fn evictions(&self) -> u64 {
        self.buckets.evictions()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(ms)
    }

    #[test]
    fn burst_is_allowed_then_the_sustained_rate() {
        let mut r = RateLimiter::new(RateLimits { requests_per_second: 10, burst_requests: 3, max_tracked_clients: 8 });
        let c = IpAddr::from([127, 0, 0, 1]);
        for _ in 0..3 {
            assert_eq!(r.check(at(0), c), Ok(()));
        }
        assert_eq!(r.check(at(0), c), Err(RateLimited { retry_after_ms: 100 }));
        assert_eq!(r.check(at(100), c), Ok(()), "one token every 100 ms at 10/s");
        assert!(r.check(at(150), c).is_err());
    }

    #[test]
    fn clients_have_their_own_buckets_and_the_map_is_bounded() {
        let mut r = RateLimiter::new(RateLimits { requests_per_second: 1, burst_requests: 1, max_tracked_clients: 4 });
        assert_eq!(r.check(at(0), IpAddr::from([10, 0, 0, 1])), Ok(()));
        assert_eq!(r.check(at(0), IpAddr::from([10, 0, 0, 2])), Ok(()));
        for i in 0..100u8 {
            let _ = r.check(at(1), IpAddr::from([10, 0, 1, i]));
        }
        assert!(r.tracked_clients() <= 4);
    }
}
