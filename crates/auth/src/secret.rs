//! Random secrets as text, their digests, and constant-time comparison.
//!
//! A [`Secret`] is 32 bytes the caller drew from a CSPRNG, written as 64 lower-case hex digits.
//! Never: print a secret in `Debug`, or compare secrets with `==` (timing leaks).

use std::fmt;

use sha2::{Digest, Sha256};

/// Bytes of randomness in every session id, CSRF token and API token (256 bits).
pub const SECRET_BYTES: usize = 32;
/// Characters of a secret's hex text.
pub const SECRET_HEX_CHARS: usize = SECRET_BYTES * 2;

/// A random secret in hex text form.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps bytes the caller drew from a CSPRNG.
    pub fn from_random(bytes: [u8; SECRET_BYTES]) -> Self {
        Self(hex(&bytes))
    }

    /// Accepts text received from a client when it has the shape of a secret (64 hex digits);
    /// anything else is `None`, so malformed input never reaches a lookup.
    pub fn parse(text: &str) -> Option<Self> {
        let ok =
            text.len() == SECRET_HEX_CHARS && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Self(text.to_owned()))
    }

    /// The text to hand to the client (cookie value, token, header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 digest under which the secret is stored.
    pub fn digest(&self) -> String {
        digest_hex(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Lower-case hex SHA-256 of `text`.
pub fn digest_hex(text: &str) -> String {
    hex(Sha256::digest(text.as_bytes()).as_slice())
}

/// Equality whose time depends only on the lengths, not on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_round_trips_through_its_text_and_hides_in_debug() {
        let s = Secret::from_random([0xab; SECRET_BYTES]);
        assert_eq!(s.expose().len(), SECRET_HEX_CHARS);
        assert_eq!(Secret::parse(s.expose()), Some(s.clone()));
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }

    #[test]
    fn malformed_secret_text_is_refused() {
        assert_eq!(Secret::parse("abc"), None);
        assert_eq!(Secret::parse(&"G".repeat(SECRET_HEX_CHARS)), None);
        assert_eq!(Secret::parse(&"A".repeat(SECRET_HEX_CHARS)), None, "upper case is not what we mint");
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(digest_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
