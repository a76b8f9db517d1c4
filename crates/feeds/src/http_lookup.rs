//! HTTP lookups for the IVR: a flow's `lookup = "http"` node asks a configured URL about the call
//! and branches on the answer. This module owns the request and the reading of the answer; the
//! IVR core (`ivr`) decides what the answer means for the flow.
//!
//! ## Protocol
//! - Request: `GET <url>?<params>` (the node's `params`, URL-encoded, appended to any query
//!   the URL already has), `Accept: application/json`. Redirects are not followed (the URL is
//!   configured, not discovered).
//! - `2xx` with a JSON object → [`LookupReply::Found`] with its fields: strings as they are,
//!   numbers and booleans as their JSON text, nested objects flattened as `outer.inner` (up to
//!   [`MAX_DEPTH`] levels); arrays and `null` are skipped.
//! - `404` → [`LookupReply::NotFound`].
//! - Anything else → [`LookupReply::Failed`] with a one-line reason: another status, a body that
//!   is not a JSON object, a body over `max_response_bytes`, more than `max_fields` fields, a
//!   value over `max_value_bytes`, a timeout, a connection error.
//!
//! ## Invariants
//! - Never waits longer than the request's timeout (connect, headers and body together), and
//!   never longer than `max_timeout_ms` whatever the flow asks.
//! - Never reads more than `max_response_bytes` of a body (a larger `Content-Length` is refused
//!   before the body is read; a body without one is cut off at the limit).
//! - Never panics on an answer; passwords in URLs never reach a reason.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::FeedError;

/// Most levels of nested objects flattened into `a.b.c` fields.
pub const MAX_DEPTH: usize = 4;

/// Limits of [`HttpLookup`]. Every limit names its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLookupConfig {
    /// Largest answer body read, in bytes.
    pub max_response_bytes: usize,
    /// Most fields taken from one answer.
    pub max_fields: usize,
    /// Longest field value, in bytes.
    pub max_value_bytes: usize,
    /// Longest any lookup may take, whatever timeout the flow gives, in ms.
    pub max_timeout_ms: u64,
}

impl Default for HttpLookupConfig {
    fn default() -> Self {
        Self { max_response_bytes: 64 * 1024, max_fields: 64, max_value_bytes: 1_024, max_timeout_ms: 10_000 }
    }
}

/// What a lookup found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupReply {
    Found(BTreeMap<String, String>),
    NotFound,
    /// Why the lookup failed, one line, for the log.
    Failed(String),
}

/// The HTTP client of IVR lookups. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct HttpLookup {
    client: reqwest::Client,
    config: HttpLookupConfig,
}

impl HttpLookup {
    pub fn new(config: HttpLookupConfig) -> Result<HttpLookup, FeedError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(config.max_timeout_ms.max(1)))
            .build()
            .map_err(|e| FeedError::Connect { peer: "http lookup", url: String::new(), reason: e.to_string() })?;
        Ok(HttpLookup { client, config })
    }

    pub fn config(&self) -> &HttpLookupConfig {
        &self.config
    }

    /// Asks `url` with `params`; gives up after `timeout_ms` (capped by `max_timeout_ms`).
    pub async fn get(&self, url: &str, params: &BTreeMap<String, String>, timeout_ms: u64) -> LookupReply {
        let limit_ms = timeout_ms.clamp(1, self.config.max_timeout_ms.max(1));
        match tokio::time::timeout(Duration::from_millis(limit_ms), self.fetch(url, params)).await {
            Ok(reply) => reply,
            Err(_) => LookupReply::Failed(format!("no answer within {limit_ms} ms")),
        }
    }

    async fn fetch(&self, url: &str, params: &BTreeMap<String, String>) -> LookupReply {
        let Ok(mut url) = url::Url::parse(url) else {
            return LookupReply::Failed("the lookup URL does not parse".to_owned());
        };
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params.iter());
        }
        let request = self.client.get(url).header(reqwest::header::ACCEPT, "application/json");
        let mut response = match request.send().await {
            Ok(r) => r,
            // Without the URL: it may carry credentials.
            Err(e) => return LookupReply::Failed(format!("request failed: {}", e.without_url())),
        };
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return LookupReply::NotFound;
        }
        if !status.is_success() {
            return LookupReply::Failed(format!("answered {}", status.as_u16()));
        }
        let max = self.config.max_response_bytes;
        if response.content_length().is_some_and(|n| n > max as u64) {
            return LookupReply::Failed(format!("answer larger than max_response_bytes ({max})"));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > max {
                        return LookupReply::Failed(format!("answer larger than max_response_bytes ({max})"));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return LookupReply::Failed(format!("answer cut short: {}", e.without_url())),
            }
        }
        parse_answer(&body, &self.config)
    }
}

/// Reads a `2xx` body into the answer's fields (see the module documentation).
pub fn parse_answer(body: &[u8], config: &HttpLookupConfig) -> LookupReply {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return LookupReply::Failed(format!("answer is not JSON: {e}")),
    };
    let serde_json::Value::Object(object) = value else {
        return LookupReply::Failed("answer is not a JSON object".to_owned());
    };
    let mut fields = BTreeMap::new();
    match flatten("", &object, 1, config, &mut fields) {
        Ok(()) => LookupReply::Found(fields),
        Err(reason) => LookupReply::Failed(reason),
    }
}

fn flatten(
    prefix: &str,
    object: &serde_json::Map<String, serde_json::Value>,
    depth: usize,
    config: &HttpLookupConfig,
    fields: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    for (key, value) in object {
        let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Object(inner) if depth < MAX_DEPTH => {
                flatten(&name, inner, depth + 1, config, fields)?;
                continue;
            }
            serde_json::Value::Object(_) | serde_json::Value::Array(_) | serde_json::Value::Null => continue,
        };
        if text.len() > config.max_value_bytes {
            return Err(format!("field {name:?} is longer than max_value_bytes ({})", config.max_value_bytes));
        }
        if fields.len() >= config.max_fields {
            return Err(format!("answer has more than max_fields ({}) fields", config.max_fields));
        }
        fields.insert(name, text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(body: &str) -> BTreeMap<String, String> {
        match parse_answer(body.as_bytes(), &HttpLookupConfig::default()) {
            LookupReply::Found(f) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scalars_become_text_and_nested_objects_are_flattened() {
        let f = found(r#"{"status":"vip","score":7.5,"open":true,"account":{"tier":"gold","tags":[1]},"x":null}"#);
        let expected: BTreeMap<String, String> =
            [("status", "vip"), ("score", "7.5"), ("open", "true"), ("account.tier", "gold")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(f, expected);
    }

    #[test]
    fn a_body_that_is_not_a_json_object_fails() {
        let config = HttpLookupConfig::default();
        for body in ["", "not json", "[1,2]", "\"text\"", "{\"a\":"] {
            assert!(matches!(parse_answer(body.as_bytes(), &config), LookupReply::Failed(_)), "{body:?}");
        }
    }

    #[test]
    fn too_many_fields_or_too_long_a_value_fails() {
        let config = HttpLookupConfig { max_fields: 2, max_value_bytes: 4, ..HttpLookupConfig::default() };
        assert!(matches!(parse_answer(br#"{"a":"1","b":"2","c":"3"}"#, &config), LookupReply::Failed(_)));
        assert!(matches!(parse_answer(br#"{"a":"12345"}"#, &config), LookupReply::Failed(_)));
        assert!(matches!(parse_answer(br#"{"a":"1234","b":"2"}"#, &config), LookupReply::Found(_)));
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_skipped_not_a_failure() {
        let f = found(r#"{"a":{"b":{"c":{"d":{"e":"deep"}}}},"z":"1"}"#);
        assert_eq!(f.get("z").map(String::as_str), Some("1"));
        assert!(!f.keys().any(|k| k.ends_with(".e")), "{f:?}");
    }
}
