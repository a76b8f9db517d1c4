//! The customer-service message API (客服消息) with access-token caching, as a sans-IO client.
//!
//! [`CustomerServiceClient::send`] queues a message; [`CustomerServiceClient::poll_request`] yields the
//! HTTP requests to make: `GET {base}/cgi-bin/token?grant_type=client_credential&appid=..&secret=..`
//! when no token is cached, then `POST {base}/cgi-bin/message/custom/send?access_token=..`. The token
//! is cached until `expires_in` minus `token_margin_ms`; an answer with errcode 40001, 40014 or 42001
//! drops it and the message is sent again with a fresh one. The base URL is configuration, so tests
//! and staging run against a local server that follows the published protocol.
//!
//! A message that got no usable answer, or errcode -1 (system busy), is retried after the
//! [`RetryPolicy`] backoff; one refused for a stale token is retried at once with a new token. Never
//! more than `max_queued_messages` wait, never more than `retry.max_attempts` tries per message, and
//! the secret never appears in an event.

use std::collections::{HashMap, VecDeque};

use model::{DurationMs, Timestamp};
use serde::Deserialize;

use crate::http::{HttpRequest, HttpResponse, Method, RequestId, with_query};
use crate::outbox::RetryPolicy;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `https://api.weixin.qq.com` in production.
    pub base_url: String,
    pub app_id: String,
    pub app_secret: String,
    pub token_margin_ms: u64,
    /// Wait after a failed token request before asking again.
    pub token_retry_ms: u64,
    pub max_queued_messages: usize,
    pub retry: RetryPolicy,
    pub max_response_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundContent {
    Text(String),
    Image { media_id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutboundId(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiEvent {
    Delivered {
        id: OutboundId,
    },
    Failed {
        id: OutboundId,
        errcode: i64,
        errmsg: String,
    },
    /// The token endpoint refused (bad appid/secret, IP not whitelisted): an operator must act.
    TokenRefused {
        errcode: i64,
        errmsg: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outbound queue is full ({max_queued_messages} messages)")]
pub struct QueueFull {
    pub max_queued_messages: usize,
}

#[derive(Debug, Clone)]
struct Pending {
    id: OutboundId,
    openid: String,
    content: OutboundContent,
    attempts: u32,
    not_before: Timestamp,
}

enum InFlight {
    Token,
    Message(Pending),
}

#[derive(Deserialize)]
struct ApiAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

const TOKEN_INVALID: [i64; 3] = [40001, 40014, 42001];

pub struct CustomerServiceClient {
    config: ApiConfig,
    token: Option<(String, Timestamp)>,
    token_wait_until: Timestamp,
    queue: VecDeque<Pending>,
    in_flight: HashMap<RequestId, InFlight>,
    token_in_flight: bool,
    next_request: u64,
    next_outbound: u64,
    events: VecDeque<ApiEvent>,
}

impl CustomerServiceClient {
    pub fn new(config: ApiConfig) -> Self {
        Self {
            config,
            token: None,
            token_wait_until: Timestamp::from_unix_ms(i64::MIN),
            queue: VecDeque::new(),
            in_flight: HashMap::new(),
            token_in_flight: false,
            next_request: 0,
            next_outbound: 0,
            events: VecDeque::new(),
        }
    }

    /// Queues a message to a customer's openid.
    pub fn send(&mut self, openid: &str, content: OutboundContent) -> Result<OutboundId, QueueFull> {
        if self.queue.len() + self.in_flight.len() >= self.config.max_queued_messages {
            return Err(QueueFull { max_queued_messages: self.config.max_queued_messages });
        }
        self.next_outbound += 1;
        let id = OutboundId(self.next_outbound);
        let not_before = Timestamp::from_unix_ms(i64::MIN);
        self.queue.push_back(Pending { id, openid: openid.to_owned(), content, attempts: 0, not_before });
        Ok(id)
    }

    /// The next request to perform, if any.
    pub fn poll_request(&mut self, now: Timestamp) -> Option<HttpRequest> {
        let token = match &self.token {
            Some((token, expires)) if now < *expires => token.clone(),
            _ => return self.token_request(now),
        };
        let position = self.queue.iter().position(|p| p.not_before <= now)?;
        let mut pending = self.queue.remove(position)?;
        pending.attempts += 1;
        let url = with_query(&self.endpoint("/cgi-bin/message/custom/send"), &[("access_token", &token)]);
        let body = message_body(&pending.openid, &pending.content);
        let id = self.request_id();
        self.in_flight.insert(id, InFlight::Message(pending));
        let headers = vec![("Content-Type".to_owned(), "application/json; charset=utf-8".to_owned())];
        Some(HttpRequest { id, method: Method::Post, url, headers, body })
    }

    /// The answer to a request from [`Self::poll_request`]; `None` when the request failed without one.
    pub fn handle_response(&mut self, now: Timestamp, id: RequestId, response: Option<HttpResponse>) {
        let answer = response
            .filter(|r| r.body.len() <= self.config.max_response_bytes)
            .and_then(|r| serde_json::from_slice::<ApiAnswer>(&r.body).ok());
        match self.in_flight.remove(&id) {
            Some(InFlight::Token) => self.token_answer(now, answer),
            Some(InFlight::Message(pending)) => self.message_answer(now, pending, answer),
            None => {}
        }
    }

    /// Which queued message a request carries (`None` for a token request), to count its attempts.
    pub fn outbound_of(&self, request: RequestId) -> Option<OutboundId> {
        match self.in_flight.get(&request)? {
            InFlight::Message(pending) => Some(pending.id),
            InFlight::Token => None,
        }
    }

    pub fn poll_event(&mut self) -> Option<ApiEvent> {
        self.events.pop_front()
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The earliest time a backed-off message or token request becomes due, to poll again then.
    /// `None` while waiting on an answer only, so a shell never spins.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.queue.is_empty() {
            return None;
        }
        match &self.token {
            Some((_, expires)) => self.queue.iter().map(|p| p.not_before).min().map(|t| t.min(*expires)),
            None if self.token_in_flight => None,
            None => Some(self.token_wait_until),
        }
    }

    fn token_request(&mut self, now: Timestamp) -> Option<HttpRequest> {
        if self.token_in_flight || now < self.token_wait_until || self.queue.is_empty() {
            return None;
        }
        self.token = None;
        self.token_in_flight = true;
        let url = with_query(
            &self.endpoint("/cgi-bin/token"),
            &[("grant_type", "client_credential"), ("appid", &self.config.app_id), ("secret", &self.config.app_secret)],
        );
        let id = self.request_id();
        self.in_flight.insert(id, InFlight::Token);
        Some(HttpRequest { id, method: Method::Get, url, headers: Vec::new(), body: Vec::new() })
    }

    fn token_answer(&mut self, now: Timestamp, answer: Option<ApiAnswer>) {
        self.token_in_flight = false;
        match answer {
            Some(ApiAnswer { access_token: Some(token), expires_in: Some(expires_in_s), .. }) if !token.is_empty() => {
                let lifetime_ms = expires_in_s.saturating_mul(1000).saturating_sub(self.config.token_margin_ms);
                self.token = Some((token, now.plus(DurationMs::from_ms(lifetime_ms))));
            }
            other => {
                self.token_wait_until = now.plus(DurationMs::from_ms(self.config.token_retry_ms));
                if let Some(ApiAnswer { errcode, errmsg, .. }) = other {
                    self.events.push_back(ApiEvent::TokenRefused { errcode, errmsg });
                }
            }
        }
    }

    fn message_answer(&mut self, now: Timestamp, mut pending: Pending, answer: Option<ApiAnswer>) {
        let (errcode, errmsg) = match answer {
            Some(ApiAnswer { errcode: 0, .. }) => {
                self.events.push_back(ApiEvent::Delivered { id: pending.id });
                return;
            }
            Some(a) => (a.errcode, a.errmsg),
            None => (-1, "no usable answer".to_owned()),
        };
        let stale_token = TOKEN_INVALID.contains(&errcode);
        if stale_token {
            self.token = None;
        }
        if (stale_token || errcode == -1) && pending.attempts < self.config.retry.max_attempts {
            let wait_ms = if stale_token { 0 } else { self.config.retry.backoff_ms(pending.attempts) };
            pending.not_before = now.plus(DurationMs::from_ms(wait_ms));
            self.queue.push_front(pending);
        } else {
            self.events.push_back(ApiEvent::Failed { id: pending.id, errcode, errmsg });
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }
}

fn message_body(openid: &str, content: &OutboundContent) -> Vec<u8> {
    let value = match content {
        OutboundContent::Text(text) => {
            serde_json::json!({ "touser": openid, "msgtype": "text", "text": { "content": text } })
        }
        OutboundContent::Image { media_id } => {
            serde_json::json!({ "touser": openid, "msgtype": "image", "image": { "media_id": media_id } })
        }
    };
    value.to_string().into_bytes()
}
