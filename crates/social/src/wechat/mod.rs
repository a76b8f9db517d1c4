//! The WeChat official account callback protocol (公众号消息推送), sans-IO.
//!
//! WeChat signs each callback with `signature = hex(sha1(sort([token, timestamp, nonce]).concat()))`
//! in the query string. [`CallbackVerifier`] checks it in constant time and refuses timestamps outside
//! `max_clock_skew_ms`, answers the `echostr` GET handshake, and parses POSTed XML ([`xml`]) only after
//! the signature verified. Passive replies are built by [`xml::PassiveReply`]; the customer-service
//! message API lives in [`api`]; [`dedup`] drops the retries WeChat sends when an answer is late.
//!
//! This module never parses a body whose signature failed, and never compares signatures with `==`.

pub mod api;
pub mod dedup;
pub mod xml;

use model::Timestamp;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

pub use xml::{InboundMessage, PassiveReply, WeChatMessage, XmlError, XmlLimits};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("query parameter {0} is missing")]
    MissingParameter(&'static str),
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp {timestamp:?} is not a unix time within {max_clock_skew_ms} ms of now")]
    StaleTimestamp { timestamp: String, max_clock_skew_ms: u64 },
    #[error("body rejected: {0}")]
    Body(#[from] XmlError),
}

/// The signed query parameters of a callback (`?signature=..&timestamp=..&nonce=..[&echostr=..]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackQuery {
    pub signature: String,
    pub timestamp: String,
    pub nonce: String,
    pub echostr: Option<String>,
}

impl CallbackQuery {
    /// Reads the parameters from a raw query string (unknown parameters are ignored).
    pub fn parse(query: &str) -> Self {
        let mut q = CallbackQuery::default();
        for (k, v) in crate::http::parse_query(query, 16) {
            match k.as_str() {
                "signature" => q.signature = v,
                "timestamp" => q.timestamp = v,
                "nonce" => q.nonce = v,
                "echostr" => q.echostr = Some(v),
                _ => {}
            }
        }
        q
    }
}

#[derive(Debug, Clone)]
pub struct CallbackConfig {
    /// The token configured in the WeChat admin console (not the access token).
    pub token: String,
    pub max_clock_skew_ms: u64,
    pub xml: XmlLimits,
}

/// `hex(sha1(sorted(token, timestamp, nonce)))`, the value WeChat sends as `signature`.
pub fn signature(token: &str, timestamp: &str, nonce: &str) -> String {
    let mut parts = [token, timestamp, nonce];
    parts.sort_unstable();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

pub struct CallbackVerifier {
    config: CallbackConfig,
}

impl CallbackVerifier {
    pub fn new(config: CallbackConfig) -> Self {
        Self { config }
    }

    /// Checks the signature and the timestamp's freshness.
    pub fn verify(&self, now: Timestamp, query: &CallbackQuery) -> Result<(), CallbackError> {
        if query.signature.is_empty() {
            return Err(CallbackError::MissingParameter("signature"));
        }
        if query.timestamp.is_empty() {
            return Err(CallbackError::MissingParameter("timestamp"));
        }
        if query.nonce.is_empty() {
            return Err(CallbackError::MissingParameter("nonce"));
        }
        let expected = signature(&self.config.token, &query.timestamp, &query.nonce);
        let given = query.signature.to_ascii_lowercase();
        if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return Err(CallbackError::BadSignature);
        }
        let stale = || CallbackError::StaleTimestamp {
            timestamp: query.timestamp.chars().take(20).collect(),
            max_clock_skew_ms: self.config.max_clock_skew_ms,
        };
        let seconds: i64 = query.timestamp.parse().map_err(|_| stale())?;
        let skew_ms = seconds.saturating_mul(1000).saturating_sub(now.unix_ms()).unsigned_abs();
        if skew_ms > self.config.max_clock_skew_ms {
            return Err(stale());
        }
        Ok(())
    }

    /// The GET handshake: answer the `echostr` as the plain-text body when the signature verifies.
    pub fn handshake(&self, now: Timestamp, query: &CallbackQuery) -> Result<String, CallbackError> {
        self.verify(now, query)?;
        query.echostr.clone().ok_or(CallbackError::MissingParameter("echostr"))
    }

    /// A POSTed message: verified first, then parsed.
    pub fn receive(&self, now: Timestamp, query: &CallbackQuery, body: &[u8]) -> Result<InboundMessage, CallbackError> {
        self.verify(now, query)?;
        Ok(xml::parse_message(body, &self.config.xml)?)
    }
}
