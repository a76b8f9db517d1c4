//! Passwords: argon2id hashes in PHC string form.
//!
//! The salt is passed in by the caller (from the OS RNG in production, fixed in tests). Never logs
//! or returns a password; the cost of hashing never depends on the input beyond
//! [`MAX_PASSWORD_BYTES`].

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted for a web login.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted: hashing cost must not be driven by the input.
pub const MAX_PASSWORD_BYTES: usize = 1024;

use crate::AuthError;

/// argon2id with OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a new password. `salt` must come from a cryptographic RNG.
pub fn hash_password(password: &str, salt: [u8; 16]) -> Result<String, AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::PasswordLength);
    }
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hashing(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

/// Checks a password against a stored hash. A wrong password is `Ok(false)`; only a stored hash
/// that cannot be read is an error.
pub fn verify_password(password: &str, phc: &str) -> Result<bool, AuthError> {
    let parsed = PasswordHash::new(phc).map_err(|e| AuthError::MalformedHash(e.to_string()))?;
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(false);
    }
    match hasher().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(AuthError::MalformedHash(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_password_verifies_and_wrong_one_does_not() {
        let phc = hash_password("demo1001", [7; 16]).expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(verify_password("demo1001", &phc), Ok(true));
        assert_eq!(verify_password("demo1002", &phc), Ok(false));
    }

    #[test]
    fn same_password_with_other_salt_hashes_differently() {
        assert_ne!(hash_password("demo1001", [1; 16]), hash_password("demo1001", [2; 16]));
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert_eq!(hash_password("short", [0; 16]), Err(AuthError::PasswordLength));
        assert_eq!(hash_password(&"x".repeat(2000), [0; 16]), Err(AuthError::PasswordLength));
    }

    #[test]
    fn malformed_stored_hash_is_an_error_not_a_mismatch() {
        assert!(matches!(verify_password("demo1001", "not-a-hash"), Err(AuthError::MalformedHash(_))));
    }
}
