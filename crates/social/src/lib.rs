//! Hotline's social-messaging channel cores: WeChat official accounts, Weibo and generic webhooks.
//!
//! Everything here is sans-IO: an HTTP request's parts and the current time come in, and a response
//! body or an [`http::HttpRequest`] to make comes out. The web crate owns the endpoints and the HTTP
//! client; it feeds what it receives into these cores and performs what they ask.
//!
//! Modules:
//! - [`wechat`]: the official-account callback protocol: SHA-1 signature check with a freshness
//!   window, the `echostr` GET handshake, the XML messages (text, image, voice, subscribe and
//!   unsubscribe events), passive reply XML, and [`wechat::api`], the customer-service message API
//!   with access-token caching against a configurable base URL.
//! - [`webhook`]: a generic channel: inbound JSON signed with HMAC-SHA256 over `timestamp.body` with
//!   a replay window and a bounded replay memory, and outbound signed POSTs.
//! - [`outbox`]: the outbound retry schedule (exponential backoff, `max_attempts`) as a state machine.
//! - [`weibo`]: Weibo private messages in the webhook shape.
//! - [`http`]: the request/response values crossing the boundary.
//! - [`flood`]: per-sender flood control for inbound messages (`max_messages_per_window`).
//!
//! Invariants of the whole crate:
//! - no IO, no sockets, no clock, no randomness: time comes in as [`model::Timestamp`];
//! - a request whose signature does not verify is refused before its body is parsed, and signatures
//!   are compared in constant time;
//! - bytes from outside never cause a panic; XML with a DOCTYPE or an entity other than the five
//!   predefined ones and character references is refused (no entity expansion, no XXE);
//! - every body, queue, map and retry has a limit named with its unit (`max_body_bytes`,
//!   `max_queued_messages`, `max_attempts`, `replay_window_ms`...).

pub mod flood;
pub mod http;
pub mod outbox;
pub mod webhook;
pub mod wechat;
pub mod weibo;

pub use http::{HttpRequest, HttpResponse, Method, RequestId};
