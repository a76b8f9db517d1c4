//! The generic webhook channel: signed JSON in, signed JSON POSTs out.
//!
//! Both directions sign `"{timestamp}.{raw body}"` with HMAC-SHA256 and send it as
//! `X-Hotline-Signature: sha256=<hex>` beside `X-Hotline-Timestamp: <unix seconds>` (header names are
//! configuration). [`WebhookVerifier`] refuses a missing or wrong signature (constant-time compare), a
//! timestamp outside `replay_window_ms`, and a signature it already accepted within the window
//! (bounded by `max_remembered_signatures`); only then is the body parsed, within `max_body_bytes`.
//! [`WebhookSender`] signs each attempt afresh at send time, so retries are never stale.

use std::collections::{HashMap, VecDeque};

use hmac::{Hmac, Mac};
use model::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::http::{HttpRequest, HttpResponse, RequestId};
use crate::outbox::{DeliveryId, Outbox, OutboxEvent, OutboxFull, OutboxLimits, RetryPolicy};

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("header {0} is missing")]
    MissingHeader(String),
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp is outside the replay window of {replay_window_ms} ms")]
    StaleTimestamp { replay_window_ms: u64 },
    #[error("this signed request was already accepted")]
    Replayed,
    #[error("replay memory is full ({0} signatures); try again later")]
    ReplayMemoryFull(usize),
    #[error("body is {size_bytes} bytes, over the limit of {max_body_bytes} bytes")]
    TooLarge { size_bytes: usize, max_body_bytes: usize },
    #[error("body is not the expected JSON: {0}")]
    BadJson(String),
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub secret: Vec<u8>,
    pub signature_header: String,
    pub timestamp_header: String,
    pub replay_window_ms: u64,
    pub max_body_bytes: usize,
    pub max_remembered_signatures: usize,
}

impl WebhookConfig {
    pub fn with_secret(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
            signature_header: "X-Hotline-Signature".into(),
            timestamp_header: "X-Hotline-Timestamp".into(),
            replay_window_ms: 300_000,
            max_body_bytes: 256 * 1024,
            max_remembered_signatures: 100_000,
        }
    }
}

/// `sha256=<hex of HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(mac(secret, timestamp, body)))
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// A generic inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookMessage {
    /// The sender's id for this event, used for de-duplication.
    pub id: String,
    pub from: Participant,
    #[serde(default)]
    pub conversation: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<LinkedAttachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedAttachment {
    pub url: String,
    pub content_type: String,
    pub size_bytes: u64,
}

/// An agent's reply as the generic channel POSTs it to the configured URL (signed like inbound).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookReply {
    /// Our message id, stable across retries (for the receiver's de-duplication).
    pub id: String,
    /// The participant the reply is for (the inbound message's `from.id`).
    pub to: String,
    /// Our conversation (contact) id.
    pub conversation: String,
    pub text: String,
}

impl WebhookReply {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

pub struct WebhookVerifier {
    config: WebhookConfig,
    seen: HashMap<Vec<u8>, Timestamp>,
    seen_order: VecDeque<(Timestamp, Vec<u8>)>,
}

impl WebhookVerifier {
    pub fn new(config: WebhookConfig) -> Self {
        Self { config, seen: HashMap::new(), seen_order: VecDeque::new() }
    }

    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// Verifies a request (`headers` as name/value pairs, names matched case-insensitively).
    pub fn verify(&mut self, now: Timestamp, headers: &[(&str, &str)], body: &[u8]) -> Result<(), WebhookError> {
        if body.len() > self.config.max_body_bytes {
            return Err(WebhookError::TooLarge { size_bytes: body.len(), max_body_bytes: self.config.max_body_bytes });
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
                .ok_or_else(|| WebhookError::MissingHeader(name.to_owned()))
        };
        let timestamp = header(&self.config.timestamp_header)?;
        let given = header(&self.config.signature_header)?;
        let given =
            given.strip_prefix("sha256=").and_then(|h| hex::decode(h).ok()).ok_or(WebhookError::BadSignature)?;
        let expected = mac(&self.config.secret, timestamp, body);
        if !bool::from(expected.ct_eq(&given)) {
            return Err(WebhookError::BadSignature);
        }
        let window = self.config.replay_window_ms;
        let seconds: i64 = timestamp.parse().map_err(|_| WebhookError::StaleTimestamp { replay_window_ms: window })?;
        if seconds.saturating_mul(1000).saturating_sub(now.unix_ms()).unsigned_abs() > window {
            return Err(WebhookError::StaleTimestamp { replay_window_ms: window });
        }
        self.remember(now, expected)
    }

    /// Verifies, then parses the generic message JSON.
    pub fn receive(
        &mut self,
        now: Timestamp,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<WebhookMessage, WebhookError> {
        self.verify(now, headers, body)?;
        serde_json::from_slice(body).map_err(|e| WebhookError::BadJson(e.to_string()))
    }

    fn remember(&mut self, now: Timestamp, signature: Vec<u8>) -> Result<(), WebhookError> {
        // Forget signatures old enough that their timestamps would be refused anyway (twice the window
        // covers a timestamp up to one window in the future).
        let horizon = i64::try_from(self.config.replay_window_ms.saturating_mul(2)).unwrap_or(i64::MAX);
        while let Some((at, _)) = self.seen_order.front() {
            if now.unix_ms().saturating_sub(at.unix_ms()) <= horizon {
                break;
            }
            if let Some((_, old)) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains_key(&signature) {
            return Err(WebhookError::Replayed);
        }
        if self.seen.len() >= self.config.max_remembered_signatures {
            return Err(WebhookError::ReplayMemoryFull(self.config.max_remembered_signatures));
        }
        self.seen.insert(signature.clone(), now);
        self.seen_order.push_back((now, signature));
        Ok(())
    }
}

/// Outbound signed POSTs with retries.
pub struct WebhookSender {
    config: WebhookConfig,
    outbox: Outbox,
}

impl WebhookSender {
    pub fn new(config: WebhookConfig, policy: RetryPolicy, limits: OutboxLimits) -> Self {
        Self { config, outbox: Outbox::new(policy, limits) }
    }

    /// Queues a JSON body for `url`.
    pub fn send(&mut self, now: Timestamp, url: &str, body: Vec<u8>) -> Result<DeliveryId, OutboxFull> {
        let headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        self.outbox.enqueue(now, url.to_owned(), headers, body)
    }

    /// The next request, signed with `now`.
    pub fn poll_request(&mut self, now: Timestamp) -> Option<HttpRequest> {
        let mut request = self.outbox.poll_request(now)?;
        let timestamp = (now.unix_ms().div_euclid(1000)).to_string();
        let signature = sign(&self.config.secret, &timestamp, &request.body);
        request.headers.push((self.config.timestamp_header.clone(), timestamp));
        request.headers.push((self.config.signature_header.clone(), signature));
        Some(request)
    }

    pub fn handle_response(&mut self, now: Timestamp, request: RequestId, response: Option<&HttpResponse>) {
        self.outbox.handle_response(now, request, response);
    }

    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.outbox.poll_timeout()
    }

    pub fn poll_event(&mut self) -> Option<OutboxEvent> {
        self.outbox.poll_event()
    }
}
