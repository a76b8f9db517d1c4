//! Settings of each feed, with units in every name, and their validation. The `config` crate
//! reads files and environment; these structs only say what a feed needs and refuse values that
//! cannot work (bad URL, zero limits) with a message naming the key.

use std::fmt;

use url::Url;

/// A setting that cannot work: the key it is under and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(key: &'static str, problem: impl Into<String>) -> Self {
        Self { key, problem: problem.into() }
    }
}

/// Exponential backoff between retries: `initial_backoff_ms`, doubling, capped at
/// `max_backoff_ms`. No jitter, so tests and replays are deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { initial_backoff_ms: 100, max_backoff_ms: 30_000 }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (1 = the first retry).
    pub fn delay_ms(&self, attempt: u32) -> u64 {
        let shift = attempt.saturating_sub(1).min(63);
        self.initial_backoff_ms.saturating_mul(1u64 << shift).min(self.max_backoff_ms)
    }

    fn validate(&self, key_initial: &'static str, key_max: &'static str) -> Result<(), ConfigError> {
        if self.initial_backoff_ms == 0 {
            return Err(ConfigError::new(key_initial, "must be at least 1 ms"));
        }
        if self.max_backoff_ms < self.initial_backoff_ms {
            return Err(ConfigError::new(key_max, "must not be less than the initial backoff"));
        }
        Ok(())
    }
}

/// A URL with any password replaced by `***`, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

fn parse_url(key: &'static str, url: &str, schemes: &[&str]) -> Result<Url, ConfigError> {
    let parsed = Url::parse(url).map_err(|e| ConfigError::new(key, format!("{} is not a URL ({e})", redact(url))))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(ConfigError::new(
            key,
            format!("{} has scheme {:?}; expected one of {}", redact(url), parsed.scheme(), schemes.join(", ")),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new(key, format!("{} has no host", redact(url))));
    }
    Ok(parsed)
}

fn at_least_one(key: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 { Err(ConfigError::new(key, "must be at least 1")) } else { Ok(()) }
}

/// A NATS subject prefix: dot-separated tokens of letters, digits, `_` and `-`.
fn check_subject_prefix(key: &'static str, prefix: &str) -> Result<(), ConfigError> {
    let token_ok = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if prefix.len() > 128 || !prefix.split('.').all(token_ok) {
        return Err(ConfigError::new(
            key,
            format!("{prefix:?} must be dot-separated tokens of letters, digits, _ or - (at most 128 characters)"),
        ));
    }
    Ok(())
}

/// The JetStream stream the publisher creates when it is missing (or finds when it exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    /// Stream name: letters, digits, `_` and `-`.
    pub name: String,
    /// How long JetStream remembers `Nats-Msg-Id`s to drop duplicates.
    pub duplicate_window_ms: u64,
    /// Oldest message kept; 0 keeps messages until `max_bytes` bites.
    pub max_age_ms: u64,
    /// Most bytes the stream keeps; older messages are discarded first.
    pub max_bytes: u64,
}

impl StreamSettings {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), duplicate_window_ms: 120_000, max_age_ms: 7 * 24 * 3_600_000, max_bytes: 1 << 30 }
    }
}

/// The NATS JetStream event feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// `nats://host:port` (also `tls://`); user and password may be in the URL.
    pub url: String,
    /// Subjects are `<prefix>.contact.<kind>` and `<prefix>.agent.state`.
    pub subject_prefix: String,
    /// Ensure this stream exists on start; `None` when an operator manages streams.
    pub stream: Option<StreamSettings>,
    /// Events waiting for their ack; a new event past this is refused and counted.
    pub max_pending_events: usize,
    /// Largest JSON payload accepted (a larger one is refused and counted: the server would
    /// refuse it forever). Keep it under the server's `max_payload` (1 MiB by default).
    pub max_event_bytes: usize,
    /// How long one publish waits for its JetStream ack before it is retried.
    pub ack_timeout_ms: u64,
    /// How long the first connection may take.
    pub connect_timeout_ms: u64,
    pub retry: RetryPolicy,
}

impl NatsConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            subject_prefix: "hotline".to_owned(),
            stream: Some(StreamSettings::new("HOTLINE_EVENTS")),
            max_pending_events: 10_000,
            max_event_bytes: 64 * 1024,
            ack_timeout_ms: 5_000,
            connect_timeout_ms: 5_000,
            retry: RetryPolicy::default(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        parse_url("nats.url", &self.url, &["nats", "tls"])?;
        check_subject_prefix("nats.subject_prefix", &self.subject_prefix)?;
        if let Some(stream) = &self.stream {
            let ok = !stream.name.is_empty()
                && stream.name.len() <= 64
                && stream.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err(ConfigError::new(
                    "nats.stream.name",
                    format!("{:?} must be 1 to 64 letters, digits, _ or -", stream.name),
                ));
            }
            at_least_one("nats.stream.duplicate_window_ms", stream.duplicate_window_ms)?;
            at_least_one("nats.stream.max_bytes", stream.max_bytes)?;
        }
        at_least_one("nats.max_pending_events", self.max_pending_events as u64)?;
        if self.max_event_bytes < 1_024 {
            return Err(ConfigError::new("nats.max_event_bytes", "must be at least 1024"));
        }
        at_least_one("nats.ack_timeout_ms", self.ack_timeout_ms)?;
        at_least_one("nats.connect_timeout_ms", self.connect_timeout_ms)?;
        self.retry.validate("nats.retry.initial_backoff_ms", "nats.retry.max_backoff_ms")
    }
}

/// The InfluxDB 1.x line-protocol export (`POST /write?db=..&precision=ns`).
#[derive(Clone, PartialEq, Eq)]
pub struct InfluxConfig {
    /// Base URL, `http://127.0.0.1:8086`.
    pub url: String,
    pub database: String,
    /// Optional credentials (sent as the `u`/`p` query parameters InfluxDB 1.x reads).
    pub username: Option<String>,
    pub password: Option<String>,
    /// Points waiting to be sent; past this the oldest is dropped and counted.
    pub max_buffered_points: usize,
    /// Points in one write request; a full batch is sent at once.
    pub max_batch_points: usize,
    /// A partial batch is sent this long after the previous flush.
    pub flush_interval_ms: u64,
    pub request_timeout_ms: u64,
    /// Tries of one batch (first send included) before it is dropped and counted.
    pub max_attempts: u32,
    pub retry: RetryPolicy,
}

impl fmt::Debug for InfluxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InfluxConfig")
            .field("url", &redact(&self.url))
            .field("database", &self.database)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("max_buffered_points", &self.max_buffered_points)
            .field("max_batch_points", &self.max_batch_points)
            .field("flush_interval_ms", &self.flush_interval_ms)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("max_attempts", &self.max_attempts)
            .field("retry", &self.retry)
            .finish()
    }
}

impl InfluxConfig {
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            database: database.into(),
            username: None,
            password: None,
            max_buffered_points: 50_000,
            max_batch_points: 5_000,
            flush_interval_ms: 1_000,
            request_timeout_ms: 10_000,
            max_attempts: 10,
            retry: RetryPolicy::default(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        parse_url("influx.url", &self.url, &["http", "https"])?;
        if self.database.is_empty() || self.database.len() > 128 || self.database.contains(['\n', '\r']) {
            return Err(ConfigError::new("influx.database", "must be 1 to 128 characters on one line"));
        }
        at_least_one("influx.max_buffered_points", self.max_buffered_points as u64)?;
        at_least_one("influx.max_batch_points", self.max_batch_points as u64)?;
        at_least_one("influx.flush_interval_ms", self.flush_interval_ms)?;
        at_least_one("influx.request_timeout_ms", self.request_timeout_ms)?;
        at_least_one("influx.max_attempts", u64::from(self.max_attempts))?;
        self.retry.validate("influx.retry.initial_backoff_ms", "influx.retry.max_backoff_ms")
    }
}

/// Live counters in Redis, shared by every node of one center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://host:port/db` (also `rediss://`).
    pub url: String,
    /// Every key starts with `<key_prefix>:`.
    pub key_prefix: String,
    /// Live keys (waiting contacts, agent states) expire this long after their last write.
    pub live_key_ttl_s: u64,
    /// Daily keys (today's counters) expire this long after their last write.
    pub daily_key_ttl_s: u64,
    /// The center's local day, as a fixed offset from UTC (−840 to 840).
    pub utc_offset_minutes: i32,
    /// Most queues one [`read_snapshot`](crate::redis_live::LiveCounters::read_snapshot) returns.
    pub max_snapshot_queues: usize,
    /// How long connecting may take.
    pub connect_timeout_ms: u64,
    /// How long one command may take before it fails.
    pub command_timeout_ms: u64,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: "hotline".to_owned(),
            live_key_ttl_s: 24 * 3_600,
            daily_key_ttl_s: 3 * 24 * 3_600,
            utc_offset_minutes: 0,
            max_snapshot_queues: 1_000,
            connect_timeout_ms: 5_000,
            command_timeout_ms: 5_000,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        parse_url("redis.url", &self.url, &["redis", "rediss"])?;
        let ok = !self.key_prefix.is_empty()
            && self.key_prefix.len() <= 64
            && self.key_prefix.chars().all(|c| c.is_ascii_graphic() && c != '*' && c != '?' && c != '[');
        if !ok {
            return Err(ConfigError::new(
                "redis.key_prefix",
                "must be 1 to 64 printable characters without spaces or * ? [",
            ));
        }
        at_least_one("redis.live_key_ttl_s", self.live_key_ttl_s)?;
        at_least_one("redis.daily_key_ttl_s", self.daily_key_ttl_s)?;
        if self.daily_key_ttl_s < 24 * 3_600 {
            return Err(ConfigError::new("redis.daily_key_ttl_s", "must be at least one day (86400)"));
        }
        if self.utc_offset_minutes.abs() > 14 * 60 {
            return Err(ConfigError::new("redis.utc_offset_minutes", "must be between -840 and 840"));
        }
        at_least_one("redis.max_snapshot_queues", self.max_snapshot_queues as u64)?;
        at_least_one("redis.connect_timeout_ms", self.connect_timeout_ms)?;
        at_least_one("redis.command_timeout_ms", self.command_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy { initial_backoff_ms: 100, max_backoff_ms: 1_000 };
        let delays: Vec<u64> = (1..=6).map(|a| p.delay_ms(a)).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(p.delay_ms(500), 1_000);
    }

    #[test]
    fn bad_url_names_the_key_and_hides_the_password() {
        let mut c = NatsConfig::new("nats://user:secret@");
        let e = c.validate().expect_err("no host");
        assert_eq!(e.key, "nats.url");
        assert!(!e.to_string().contains("secret"), "{e}");
        c.url = "http://127.0.0.1:4222".into();
        assert!(c.validate().expect_err("scheme").to_string().contains("scheme"));
        let e = InfluxConfig::new("not a url", "db").validate().expect_err("bad");
        assert_eq!(e.key, "influx.url");
    }

    #[test]
    fn zero_limits_are_refused_with_their_key() {
        let mut n = NatsConfig::new("nats://127.0.0.1:4222");
        n.max_pending_events = 0;
        assert_eq!(n.validate().expect_err("zero").key, "nats.max_pending_events");
        let mut i = InfluxConfig::new("http://127.0.0.1:8086", "db");
        i.max_buffered_points = 0;
        assert_eq!(i.validate().expect_err("zero").key, "influx.max_buffered_points");
        let mut i = InfluxConfig::new("http://127.0.0.1:8086", "db");
        i.retry.initial_backoff_ms = 0;
        assert_eq!(i.validate().expect_err("zero").key, "influx.retry.initial_backoff_ms");
        let mut r = RedisConfig::new("redis://127.0.0.1:6379");
        r.max_snapshot_queues = 0;
        assert_eq!(r.validate().expect_err("zero").key, "redis.max_snapshot_queues");
    }

    #[test]
    fn subject_prefix_and_stream_name_must_be_tokens() {
        let mut n = NatsConfig::new("nats://127.0.0.1:4222");
        for bad in ["", "a..b", "a.*", "a b", "a.>"] {
            n.subject_prefix = bad.into();
            assert_eq!(n.validate().expect_err(bad).key, "nats.subject_prefix");
        }
        n.subject_prefix = "test-1.hotline".into();
        n.stream = Some(StreamSettings::new("bad.name"));
        assert_eq!(n.validate().expect_err("dot").key, "nats.stream.name");
    }

    #[test]
    fn defaults_are_valid() {
        NatsConfig::new("nats://127.0.0.1:4222").validate().expect("nats");
        InfluxConfig::new("http://127.0.0.1:8086", "hotline").validate().expect("influx");
        RedisConfig::new("redis://127.0.0.1:6379").validate().expect("redis");
    }

    #[test]
    fn influx_debug_hides_the_password() {
        let mut c = InfluxConfig::new("http://u:pw1@127.0.0.1:8086", "db");
        c.password = Some("pw2".into());
        let text = format!("{c:?}");
        assert!(!text.contains("pw1") && !text.contains("pw2"), "{text}");
    }
}
