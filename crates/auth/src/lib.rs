//! Hotline's credentials and access rules, sans-IO.
//!
//! What lives here: argon2id password hashes ([`password`]), browser sessions with idle and
//! absolute expiry ([`session`]), per-session CSRF tokens and the Origin check ([`csrf`]), API
//! tokens for integrations ([`token`]), login throttling per username and per source address
//! ([`throttle`]), a per-client request rate limit ([`rate`]) and the vocabulary of the access
//! policy ([`policy`]). The HTTP glue and the policy *table* live in the `web` crate; the rows live
//! in the `store` crate.
//!
//! Invariants:
//! - **No IO, no clock, no randomness of its own**: every function that needs time takes a
//!   [`model::Timestamp`], every secret is minted from bytes the caller drew from a CSPRNG. Tests
//!   are therefore deterministic.
//! - **Secrets are never stored in clear**: session ids and API tokens are kept as SHA-256 digests
//!   ([`secret::digest_hex`]); they are high-entropy (256 bits), so a fast hash is enough, while
//!   passwords, which are low-entropy, get argon2id. `Debug` never prints a secret.
//! - **Comparisons of secrets are constant-time** ([`secret::constant_time_eq`]).
//! - **Every map is bounded** with a limit named with its unit (`max_tracked_usernames`,
//!   `max_tracked_clients`); when full, stale entries and then the least recently used eighth are
//!   evicted and counted (amortised O(1) per new key), never a panic and never unbounded growth.
//!   IPv6 sources are counted per /64 ([`client_key`]).
//! - Never panics on input from the network: malformed cookies, headers and tokens are errors.

mod bounded;
pub mod csrf;
pub mod password;
pub mod policy;
pub mod rate;
pub mod secret;
pub mod session;
pub mod throttle;
pub mod token;

pub use password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, hash_password, verify_password};

/// Why a credential operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} bytes long")]
    PasswordLength,
    #[error("stored password hash is not a valid argon2 PHC string: {0}")]
    MalformedHash(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// The key under which a source address is counted: IPv4 addresses as they are, IPv6 addresses
/// by their /64 prefix (one subscriber usually holds a whole /64, so counting single IPv6
/// addresses would let one client rotate past every limit).
pub fn client_key(address: std::net::IpAddr) -> std::net::IpAddr {
    match address {
        std::net::IpAddr::V4(_) => address,
        std::net::IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            std::net::IpAddr::V6(std::net::Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(super::client_key(a), super::client_key(b));
        assert_ne!(super::client_key(a), super::client_key(c));
        let v4: IpAddr = "10.1.2.3".parse().expect("ip");
        assert_eq!(super::client_key(v4), v4);
    }
}
