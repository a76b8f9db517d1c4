//! Browser sessions: minted from the caller's randomness, stored server-side under the digest of
//! their id, expiring after an idle period and after an absolute lifetime, whichever comes first.
//!
//! Never: keep a session id in clear outside the cookie, or extend a session past its absolute
//! lifetime by using it.

use model::{OrgId, Timestamp, UserId};

use crate::secret::{SECRET_BYTES, Secret};

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long is over.
    pub idle_timeout_ms: u64,
    /// A session is over this long after sign-in, however busy.
    pub absolute_timeout_ms: u64,
    /// `last_seen` is written back at most this often (one write per interval, not per request).
    pub touch_interval_ms: u64,
}

impl Default for SessionPolicy {
    /// 30 minutes idle, 12 hours absolute (one shift), touched at most once a minute.
    fn default() -> Self {
        Self { idle_timeout_ms: 30 * 60_000, absolute_timeout_ms: 12 * 3_600_000, touch_interval_ms: 60_000 }
    }
}

/// A session as the server keeps it. `id_digest` is the SHA-256 of the cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_digest: String,
    pub org: OrgId,
    pub user: UserId,
    /// Sent back by the client in the CSRF header on every unsafe request.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// A session just started: the cookie value to send once, and the record to store.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub cookie_value: Secret,
    pub session: Session,
}

/// Starts a session for `user`. `random` must come from a CSPRNG: its first half is the session
/// id, its second half the CSRF token.
pub fn start(org: OrgId, user: UserId, now: Timestamp, random: [u8; 2 * SECRET_BYTES]) -> NewSession {
    let (id, csrf) = random.split_at(SECRET_BYTES);
    let id = Secret::from_random(id.try_into().expect("split_at gives SECRET_BYTES"));
    let csrf = Secret::from_random(csrf.try_into().expect("split_at gives SECRET_BYTES"));
    let session = Session {
        id_digest: id.digest(),
        org,
        user,
        csrf_token: csrf.expose().to_owned(),
        created_at: now,
        last_seen_at: now,
    };
    NewSession { cookie_value: id, session }
}

/// What a stored session is worth at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Usable; `touch` says whether `last_seen_at` should be written back now.
    Valid {
        touch: bool,
    },
    IdleExpired,
    AbsoluteExpired,
}

impl Session {
    pub fn status(&self, policy: &SessionPolicy, now: Timestamp) -> SessionStatus {
        let age = now.since(self.created_at).as_ms();
        let idle = now.since(self.last_seen_at).as_ms();
        if age >= policy.absolute_timeout_ms {
            SessionStatus::AbsoluteExpired
        } else if idle >= policy.idle_timeout_ms {
            SessionStatus::IdleExpired
        } else {
            SessionStatus::Valid { touch: idle >= policy.touch_interval_ms }
        }
    }

    /// When the session ends if it is not used again (for the cookie's `Max-Age`).
    pub fn expires_at(&self, policy: &SessionPolicy) -> Timestamp {
        let idle_end = self.last_seen_at.unix_ms().saturating_add(ms_i64(policy.idle_timeout_ms));
        let absolute_end = self.created_at.unix_ms().saturating_add(ms_i64(policy.absolute_timeout_ms));
        Timestamp::from_unix_ms(idle_end.min(absolute_end))
    }
}

fn ms_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(ms)
    }

    fn policy() -> SessionPolicy {
        SessionPolicy { idle_timeout_ms: 1_000, absolute_timeout_ms: 10_000, touch_interval_ms: 100 }
    }

    fn session(now: i64) -> Session {
        start(OrgId::from_u128(1), UserId::from_u128(2), at(now), [7; 64]).session
    }

    #[test]
    fn stored_record_keeps_only_the_digest_of_the_cookie_value() {
        let mut random = [7; 64];
        random[40] = 8;
        let new = start(OrgId::from_u128(1), UserId::from_u128(2), at(0), random);
        assert_ne!(new.session.id_digest, new.cookie_value.expose());
        assert_eq!(new.session.id_digest, new.cookie_value.digest());
        assert_ne!(new.session.csrf_token, new.cookie_value.expose());
    }

    #[test]
    fn session_expires_when_idle() {
        let s = session(0);
        assert_eq!(s.status(&policy(), at(50)), SessionStatus::Valid { touch: false });
        assert_eq!(s.status(&policy(), at(500)), SessionStatus::Valid { touch: true });
        assert_eq!(s.status(&policy(), at(1_000)), SessionStatus::IdleExpired);
    }

    #[test]
    fn busy_session_still_ends_at_its_absolute_lifetime() {
        let mut s = session(0);
        s.last_seen_at = at(9_999);
        assert!(matches!(s.status(&policy(), at(9_999)), SessionStatus::Valid { .. }));
        assert_eq!(s.status(&policy(), at(10_000)), SessionStatus::AbsoluteExpired);
        assert_eq!(s.expires_at(&policy()), at(10_000));
    }
}
