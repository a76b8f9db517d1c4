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
//!   `max_tracked_clients`); when full, the stalest entry is evicted and counted, never a panic
//!   and never unbounded growth.
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
