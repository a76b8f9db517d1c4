//! The errors of the feeds' IO shells. Messages name the peer and never carry a password.

use crate::config::ConfigError;
use crate::line_protocol::LineError;
use crate::outbox::OutboxRefusal;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot connect to {peer} at {url}: {reason}")]
    Connect { peer: &'static str, url: String, reason: String },
    #[error("NATS stream {stream}: {reason}")]
    Stream { stream: String, reason: String },
    #[error(transparent)]
    Refused(#[from] OutboxRefusal),
    #[error("point refused: {0}")]
    Line(#[from] LineError),
    #[error("redis: {0}")]
    Redis(String),
    #[error("redis holds a value this version cannot read at {key}: {value:?}")]
    Corrupt { key: String, value: String },
    #[error("{pending} items still waiting after {waited_ms} ms")]
    FlushTimeout { pending: usize, waited_ms: u64 },
    #[error("the webhook queue is full ({max_pending} deliveries waiting)")]
    WebhookFull { max_pending: usize },
    #[error("the feed's task has stopped")]
    Stopped,
}
