//! Hotline's real-time exports: the live state of the center, pushed or served to other
//! systems.
//!
//! - [`nats`]: contact events on `<prefix>.contact.<kind>` and agent state changes on
//!   `<prefix>.agent.state`, published to NATS JetStream at least once, in order, with the
//!   event id as `Nats-Msg-Id` so the stream drops duplicates; payload schema in [`events`].
//! - [`influx`]: queue gauges, agent states and contact counters as InfluxDB line protocol
//!   ([`line_protocol`], [`points`]), pushed in batches with retries ([`batcher`]).
//! - [`redis_live`]: live counters shared by several nodes in Redis, updated atomically.
//! - [`prometheus`]: the text exposition the web crate serves at `/metrics`.
//! - [`http_lookup`]: the IVR's HTTP lookups (GET with the flow's params, JSON answer read
//!   within a timeout and a byte limit, fields flattened for the flow to branch on).
//! - [`webhook`]: signed JSON POSTs (complaint alerts) with retries and a bounded queue, the
//!   tokio shell of `social`'s sans-IO webhook sender.
//!
//! Inputs are `model` entities ([`model::ContactEvent`], [`model::AgentStateChange`],
//! [`model::Contact`]) and the [`snapshot`] values the live center fills; this crate does not
//! depend on the center.
//!
//! Layout: the protocol parts ([`events`], [`outbox`], [`line_protocol`], [`batcher`],
//! [`points`], [`prometheus`]) are sans-IO, with time passed in; [`nats`], [`influx`] and
//! [`redis_live`] are thin async shells that own the async-nats, reqwest and redis clients.
//!
//! # Example
//! ```
//! use feeds::line_protocol::{FieldValue, Point};
//! use feeds::{AgentCounts, ContactCounters, QueueSnapshot};
//! use model::{Channel, ContactOutcome, DurationMs, OrgId, QueueId, QueueName};
//!
//! let general = QueueSnapshot {
//!     org: OrgId::from_u128(1),
//!     queue: QueueId::from_u128(2),
//!     name: QueueName::parse("general")?,
//!     waiting: 3,
//!     longest_wait: DurationMs::from_secs(42),
//!     agents: AgentCounts::default(),
//! };
//! let mut counters = ContactCounters::default();
//! counters.add(Channel::Voice, ContactOutcome::Answered, 7);
//! let text = feeds::prometheus::render(&[general], &[], &counters);
//! assert!(text.contains("hotline_queue_longest_wait_seconds{org=\"00000000-0000-0000-0000-000000000001\",queue=\"general\"} 42\n"));
//! assert!(text.contains("hotline_contacts_total{channel=\"voice\",outcome=\"answered\"} 7\n"));
//!
//! let line = Point::new("hotline_queue", 1_000).tag("queue", "general").field("waiting", FieldValue::Int(3)).to_line()?;
//! assert_eq!(line, "hotline_queue,queue=general waiting=3i 1000");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Invariants
//! - Must never block or fail a contact because a feed is slow or down: enqueueing never
//!   waits; every buffer has a named bound (`max_pending_events`, `max_event_bytes`,
//!   `max_buffered_points`, `max_batch_points`) and
//!   what a full bound refuses or drops is counted.
//! - Must never lose an accepted NATS event before its ack, or reorder events.
//! - Must never retry an InfluxDB 4xx; 5xx and connection errors are retried with capped
//!   exponential backoff, at most `max_attempts` times.
//! - Must never print a password: URLs in errors and logs are redacted.
//! - Never panics on input: what cannot be encoded is a typed error.

pub mod batcher;
pub mod config;
pub mod error;
pub mod events;
pub mod http_lookup;
pub mod influx;
pub mod line_protocol;
pub mod nats;
pub mod outbox;
pub mod points;
pub mod prometheus;
pub mod redis_live;
pub mod snapshot;
#[cfg(feature = "test-influxd")]
pub mod test_influxd;
pub mod webhook;

pub use config::{ConfigError, InfluxConfig, NatsConfig, RedisConfig, RetryPolicy, StreamSettings};
pub use error::FeedError;
pub use http_lookup::{HttpLookup, HttpLookupConfig, LookupReply};
pub use influx::{InfluxExport, InfluxStats};
pub use nats::{EventFeed, EventFeedStats};
pub use redis_live::{LiveCounters, LiveQueue, LiveSnapshot};
pub use snapshot::{AgentCounts, AgentSnapshot, ContactCounters, QueueSnapshot};
pub use webhook::{WebhookConfig, WebhookCounters, WebhookPoster};
