//! Cross-site request forgery defence for cookie-authenticated requests.
//!
//! Two checks, both required on every unsafe method (POST, PUT, PATCH, DELETE, ...):
//! 1. the request carries the session's CSRF token in the [`CSRF_HEADER`] header. A cross-site
//!    form cannot set a custom header, and a cross-site `fetch` that does is blocked by CORS
//!    preflight (Hotline answers no preflight), so an attacker can neither send nor read it;
//! 2. when the browser sends `Origin`, it names this server (same host as the `Host` header, or an
//!    origin the operator listed). `Origin: null` (sandboxed frames, some redirects) is foreign.
//!
//! Requests authenticated by an API token (a header, never sent by a browser on its own) are not
//! subject to these checks. Never: accept a missing token, or compare tokens with `==`.

use crate::secret::constant_time_eq;

/// The request header that carries the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Most bytes of an `Origin` or `Host` value considered; longer ones are foreign.
pub const MAX_ORIGIN_BYTES: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    #[error("the {CSRF_HEADER} header is missing")]
    MissingToken,
    #[error("the {CSRF_HEADER} header does not match this session")]
    WrongToken,
    #[error("requests from origin {0:?} are not accepted")]
    ForeignOrigin(String),
}

/// Methods that change state and so need the CSRF checks (everything but GET, HEAD, OPTIONS, TRACE).
pub fn is_unsafe_method(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// Checks the token the client sent against the session's.
pub fn check_token(sent: Option<&str>, expected: &str) -> Result<(), CsrfError> {
    let sent = sent.ok_or(CsrfError::MissingToken)?;
    if constant_time_eq(sent.as_bytes(), expected.as_bytes()) { Ok(()) } else { Err(CsrfError::WrongToken) }
}

/// Checks `Origin` (when present) against the `Host` the request was sent to and the origins the
/// operator allowed (`https://desk.example.com`, exact match, no trailing slash).
pub fn check_origin(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> Result<(), CsrfError> {
    let Some(origin) = origin else { return Ok(()) };
    let foreign = || CsrfError::ForeignOrigin(origin.chars().take(80).collect());
    if origin.len() > MAX_ORIGIN_BYTES {
        return Err(foreign());
    }
    let origin_lc = origin.to_ascii_lowercase();
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(&origin_lc)) {
        return Ok(());
    }
    let authority = origin_lc.strip_prefix("https://").or_else(|| origin_lc.strip_prefix("http://"));
    match (authority, host) {
        (Some(authority), Some(host)) if host.len() <= MAX_ORIGIN_BYTES && authority.eq_ignore_ascii_case(host) => {
            Ok(())
        }
        _ => Err(foreign()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_state_changing_methods_are_checked() {
        assert!(!is_unsafe_method("GET"));
        assert!(!is_unsafe_method("HEAD"));
        assert!(is_unsafe_method("POST"));
        assert!(is_unsafe_method("DELETE"));
        assert!(is_unsafe_method("PATCH"));
    }

    #[test]
    fn token_must_be_present_and_equal() {
        assert_eq!(check_token(None, "abc"), Err(CsrfError::MissingToken));
        assert_eq!(check_token(Some("abd"), "abc"), Err(CsrfError::WrongToken));
        assert_eq!(check_token(Some(""), "abc"), Err(CsrfError::WrongToken));
        assert_eq!(check_token(Some("abc"), "abc"), Ok(()));
    }

    #[test]
    fn same_host_origin_passes_and_foreign_ones_fail() {
        assert_eq!(check_origin(None, Some("localhost:8080"), &[]), Ok(()));
        assert_eq!(check_origin(Some("http://localhost:8080"), Some("localhost:8080"), &[]), Ok(()));
        assert_eq!(check_origin(Some("HTTPS://LocalHost:8080"), Some("localhost:8080"), &[]), Ok(()));
        assert!(check_origin(Some("http://evil.example"), Some("localhost:8080"), &[]).is_err());
        assert!(check_origin(Some("null"), Some("localhost:8080"), &[]).is_err());
        assert!(check_origin(Some("http://localhost:8080"), None, &[]).is_err());
        assert!(check_origin(Some("http://localhost:8081"), Some("localhost:8080"), &[]).is_err());
    }

    #[test]
    fn listed_origins_pass() {
        let allowed = vec!["https://desk.example.com".to_owned()];
        assert_eq!(check_origin(Some("https://desk.example.com"), Some("10.0.0.5:8080"), &allowed), Ok(()));
        assert!(check_origin(Some("https://desk.example.com.evil"), Some("10.0.0.5:8080"), &allowed).is_err());
    }
}
