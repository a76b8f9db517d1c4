//! API tokens for integrations: `Authorization: Bearer hlt_<64 hex digits>`.
//!
//! A token is minted from the caller's randomness, shown once, and stored only as its SHA-256
//! digest with the role it is scoped to. Never: store or log the token itself.

use crate::secret::{SECRET_BYTES, Secret};

/// Every API token starts with this, so leaked tokens are easy to spot and scan for.
pub const API_TOKEN_PREFIX: &str = "hlt_";
/// Most bytes of an `Authorization` header value considered.
pub const MAX_AUTHORIZATION_BYTES: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the Authorization header must be `Bearer hlt_...`")]
    NotBearer,
    #[error("the bearer token is malformed")]
    Malformed,
}

/// A token just minted: the text to show once, and the digest to store.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// `hlt_` followed by 64 hex digits.
    pub token: String,
    pub digest: String,
}

/// Mints a token from bytes drawn from a CSPRNG.
pub fn mint(random: [u8; SECRET_BYTES]) -> NewApiToken {
    let secret = Secret::from_random(random);
    let token = format!("{API_TOKEN_PREFIX}{}", secret.expose());
    NewApiToken { digest: crate::secret::digest_hex(&token), token }
}

/// Reads an `Authorization` header and returns the digest to look the token up by.
pub fn digest_of_bearer(header: &str) -> Result<String, TokenError> {
    if header.len() > MAX_AUTHORIZATION_BYTES {
        return Err(TokenError::Malformed);
    }
    let (scheme, rest) = header.split_once(' ').ok_or(TokenError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::NotBearer);
    }
    let token = rest.trim();
    let secret = token.strip_prefix(API_TOKEN_PREFIX).ok_or(TokenError::Malformed)?;
    Secret::parse(secret).ok_or(TokenError::Malformed)?;
    Ok(crate::secret::digest_hex(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_token_is_found_by_the_digest_of_its_bearer_header() {
        let t = mint([9; SECRET_BYTES]);
        assert!(t.token.starts_with(API_TOKEN_PREFIX));
        assert!(!t.digest.contains(&t.token[4..]));
        assert_eq!(digest_of_bearer(&format!("Bearer {}", t.token)), Ok(t.digest.clone()));
        assert_eq!(digest_of_bearer(&format!("bearer {}", t.token)), Ok(t.digest));
    }

    #[test]
    fn malformed_headers_are_refused() {
        assert_eq!(digest_of_bearer("Basic YWRtaW46eA=="), Err(TokenError::NotBearer));
        assert_eq!(digest_of_bearer("Bearer"), Err(TokenError::NotBearer));
        assert_eq!(digest_of_bearer("Bearer hlt_123"), Err(TokenError::Malformed));
        assert_eq!(digest_of_bearer("Bearer xyz_0000"), Err(TokenError::Malformed));
        assert_eq!(digest_of_bearer(&format!("Bearer hlt_{}", "0".repeat(5000))), Err(TokenError::Malformed));
    }
}
