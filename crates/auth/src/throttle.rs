//! Login throttling: after too many failed sign-ins for one username, or from one source address,
//! within a window, further attempts are refused until the window ends — whether or not the
//! password is right, so guessing gets no signal.
//!
//! Per-username limits stop guessing one account from many addresses; per-address limits stop one
//! address guessing many accounts. Both maps are bounded (stalest evicted, counted). Never: let a
//! success from one address clear another address's failures.

use std::net::IpAddr;

use model::Timestamp;

use crate::bounded::BoundedMap;

/// The limits, with their units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Failed sign-ins of one username per window before it is locked for the rest of the window.
    pub max_failures_per_username: u32,
    /// Failed sign-ins from one address per window.
    pub max_failures_per_address: u32,
    /// Length of the counting window.
    pub window_ms: u64,
    /// Most usernames tracked at once.
    pub max_tracked_usernames: usize,
    /// Most source addresses tracked at once.
    pub max_tracked_addresses: usize,
}

impl Default for ThrottleLimits {
    /// 5 failures per username and 20 per address in 15 minutes; 10 000 of each tracked.
    fn default() -> Self {
        Self {
            max_failures_per_username: 5,
            max_failures_per_address: 20,
            window_ms: 15 * 60_000,
            max_tracked_usernames: 10_000,
            max_tracked_addresses: 10_000,
        }
    }
}

/// A refusal, with how long to wait (for `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started_ms: i64,
    failures: u32,
}

/// The throttle's state; one per server.
pub struct LoginThrottle {
    limits: ThrottleLimits,
    by_username: BoundedMap<String, Window>,
    by_address: BoundedMap<IpAddr, Window>,
}

/// Usernames are compared as the model stores them (lower case), bounded in length.
fn username_key(username: &str) -> String {
    username.trim().chars().take(model::Username::MAX_CHARS).collect::<String>().to_lowercase()
}

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        Self {
            limits,
            by_username: BoundedMap::new(limits.max_tracked_usernames),
            by_address: BoundedMap::new(limits.max_tracked_addresses),
        }
    }

    pub fn limits(&self) -> &ThrottleLimits {
        &self.limits
    }

    /// Whether a sign-in may be attempted now. Call before checking the password.
    pub fn check(&self, now: Timestamp, username: &str, address: IpAddr) -> Result<(), Throttled> {
        let user = self.by_username.get(&username_key(username));
        let addr = self.by_address.get(&crate::client_key(address));
        let waits = [
            self.wait(user, self.limits.max_failures_per_username, now),
            self.wait(addr, self.limits.max_failures_per_address, now),
        ];
        match waits.into_iter().flatten().max() {
            Some(retry_after_ms) => Err(Throttled { retry_after_ms }),
            None => Ok(()),
        }
    }

    fn wait(&self, w: Option<&Window>, max: u32, now: Timestamp) -> Option<u64> {
        let w = w?;
        let end = w.started_ms.saturating_add(i64::try_from(self.limits.window_ms).unwrap_or(i64::MAX));
        (w.failures >= max && now.unix_ms() < end).then(|| (end - now.unix_ms()).unsigned_abs())
    }

    /// Counts a failed sign-in (wrong password or unknown username alike).
    pub fn record_failure(&mut self, now: Timestamp, username: &str, address: IpAddr) {
        let window_ms = i64::try_from(self.limits.window_ms).unwrap_or(i64::MAX);
        let now_ms = now.unix_ms();
        let stale = |w: &Window| now_ms >= w.started_ms.saturating_add(window_ms);
        let fresh = || Window { started_ms: now_ms, failures: 0 };
        for w in [
            self.by_username.get_or_insert(&username_key(username), now_ms, fresh, stale),
            self.by_address.get_or_insert(&crate::client_key(address), now_ms, fresh, stale),
        ] {
            if stale(w) {
                *w = fresh();
            }
            w.failures = w.failures.saturating_add(1);
        }
    }

    /// A successful sign-in clears the username's failures (not the address's: one right password
    /// must not reset the count of an address guessing many accounts).
    pub fn record_success(&mut self, username: &str) {
        self.by_username.remove(&username_key(username));
    }

    /// Entries evicted because a map was full (a sign of a spraying attack).
    pub fn evictions(&self) -> u64 {
        self.by_username.evictions() + self.by_address.evictions()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(ms)
    }

    fn limits() -> ThrottleLimits {
        ThrottleLimits {
            max_failures_per_username: 3,
            max_failures_per_address: 5,
            window_ms: 1_000,
            max_tracked_usernames: 100,
            max_tracked_addresses: 100,
        }
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn username_locks_after_its_limit_until_the_window_ends() {
        let mut t = LoginThrottle::new(limits());
        for i in 0..3 {
            assert_eq!(t.check(at(i), "Admin", ip(i as u8)), Ok(()));
            t.record_failure(at(i), "admin", ip(i as u8));
        }
        assert_eq!(t.check(at(10), "ADMIN", ip(9)), Err(Throttled { retry_after_ms: 990 }));
        assert_eq!(t.check(at(1_000), "admin", ip(9)), Ok(()));
    }

    #[test]
    fn address_locks_after_guessing_many_usernames() {
        let mut t = LoginThrottle::new(limits());
        for i in 0..5 {
            t.record_failure(at(0), &format!("user{i}"), ip(1));
        }
        assert!(t.check(at(1), "someone_else", ip(1)).is_err());
        assert_eq!(t.check(at(1), "someone_else", ip(2)), Ok(()));
    }

    #[test]
    fn success_clears_the_username_but_not_the_address() {
        let mut t = LoginThrottle::new(limits());
        for _ in 0..2 {
            t.record_failure(at(0), "1001", ip(1));
        }
        t.record_success("1001");
        t.record_failure(at(1), "1001", ip(1));
        t.record_failure(at(1), "1001", ip(1));
        assert_eq!(t.check(at(2), "1001", ip(3)), Ok(()), "2 failures since the success");
        t.record_failure(at(2), "1002", ip(1));
        assert!(t.check(at(3), "1003", ip(1)).is_err(), "the address kept all 5");
    }

    #[test]
    fn tracked_usernames_are_bounded() {
        let mut t = LoginThrottle::new(ThrottleLimits { max_tracked_usernames: 10, ..limits() });
        for i in 0..1_000 {
            t.record_failure(at(i), &format!("spray{i}"), ip((i % 200) as u8));
        }
        assert!(t.by_username.len() <= 10);
        assert!(t.evictions() >= 990);
    }
}
