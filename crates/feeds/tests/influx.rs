//! The InfluxDB export against a real InfluxDB 1.x (Debian's `influxdb` package): each test
//! starts its own `influxd` with a generated config (temp dirs, loopback ephemeral ports,
//! reporting off), pushes through [`InfluxExport`], and reads back with the `/query` API.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::T0_MS;
use feeds::line_protocol::{FieldValue, Point};
use feeds::test_influxd::Influxd;
use feeds::{AgentCounts, AgentSnapshot, ContactCounters, InfluxConfig, InfluxExport, QueueSnapshot, RetryPolicy};
use model::{AgentId, AgentState, Channel, ContactOutcome, DurationMs, OrgId, QueueId, QueueName, Timestamp};
use serde_json::Value;

/// Reads back what the export wrote, through influxd's `/query` API.
trait Query {
    async fn query(&self, db: &str, q: &str) -> Vec<HashMap<String, Value>>;
}

impl Query for Influxd {
    /// Rows of `q` as column → value maps, times in nanoseconds.
    async fn query(&self, db: &str, q: &str) -> Vec<HashMap<String, Value>> {
        let body = reqwest::Client::new()
            .get(format!("{}/query", self.url))
            .query(&[("db", db), ("q", q), ("epoch", "ns")])
            .send()
            .await
            .expect("query")
            .text()
            .await
            .expect("body");
        let v: Value = serde_json::from_str(&body).expect("JSON");
        let mut rows = Vec::new();
        for series in v["results"][0]["series"].as_array().into_iter().flatten() {
            let columns: Vec<String> = series["columns"]
                .as_array()
                .expect("columns")
                .iter()
                .map(|c| c.as_str().unwrap_or("").to_owned())
                .collect();
            for values in series["values"].as_array().expect("values") {
                let values = values.as_array().expect("row");
                rows.push(columns.iter().cloned().zip(values.iter().cloned()).collect());
            }
        }
        rows
    }
}

fn config(url: &str, db: &str) -> InfluxConfig {
    let mut c = InfluxConfig::new(url, db);
    c.flush_interval_ms = 3_600_000; // only explicit flushes or full batches in these tests
    c.retry = RetryPolicy { initial_backoff_ms: 50, max_backoff_ms: 400 };
    c
}

fn queue(n: u128, name: &str, waiting: u32, longest_ms: u64) -> QueueSnapshot {
    let mut agents = AgentCounts::default();
    agents.set(AgentState::Available, 2);
    agents.set(AgentState::Busy, 5);
    QueueSnapshot {
        org: OrgId::from_u128(1),
        queue: QueueId::from_u128(n),
        name: QueueName::parse(name).expect("valid name"),
        waiting,
        longest_wait: DurationMs::from_ms(longest_ms),
        agents,
    }
}

#[tokio::test]
async fn snapshot_points_are_queried_back_with_their_values_and_times() {
    let dir = tempfile::tempdir().expect("temp dir");
    let influxd = Influxd::start(dir.path()).expect("influxd");
    let export = InfluxExport::start(config(&influxd.url, "hotline")).expect("valid config");
    export.create_database().await.expect("create database");

    let now = Timestamp::from_unix_ms(T0_MS + 123);
    let agents = [AgentSnapshot {
        org: OrgId::from_u128(1),
        agent: AgentId::from_u128(9),
        state: AgentState::WrapUp,
        since: Timestamp::from_unix_ms(T0_MS - 4_877),
    }];
    let mut counters = ContactCounters::default();
    counters.add(Channel::Voice, ContactOutcome::Answered, 41);
    counters.add(Channel::Chat, ContactOutcome::Abandoned, 3);
    let queues = [queue(1, "general", 4, 95_000), queue(2, "tech_support", 0, 0)];
    export.push_snapshot(&queues, &agents, &counters, now).expect("encodable");
    export.flush(Duration::from_secs(20)).await.expect("written");
    let c = export.stats().counters;
    assert_eq!((c.points_written, c.rejected_points, c.retries), (5, 0, 0));

    let rows = influxd.query("hotline", "SELECT * FROM hotline_queue WHERE queue_name = 'general'").await;
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["time"], Value::from(now.unix_ms() * 1_000_000));
    assert_eq!((r["waiting"].as_i64(), r["longest_wait_ms"].as_i64()), (Some(4), Some(95_000)));
    assert_eq!((r["agents_busy"].as_i64(), r["agents_available"].as_i64()), (Some(5), Some(2)));
    assert_eq!(r["queue"], Value::from(QueueId::from_u128(1).to_string()));

    let rows = influxd.query("hotline", "SELECT in_state_ms, \"state\"::field FROM hotline_agent").await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["in_state_ms"].as_i64(), rows[0]["state"].as_str()), (Some(5_000), Some("wrap_up")));

    let rows = influxd
        .query("hotline", "SELECT total FROM hotline_contacts WHERE channel = 'voice' AND outcome = 'answered'")
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["total"].as_i64(), Some(41));
    influxd.stop();
}

#[tokio::test]
async fn escaped_names_tags_and_strings_survive_the_round_trip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let influxd = Influxd::start(dir.path()).expect("influxd");
    let export = InfluxExport::start(config(&influxd.url, "esc")).expect("valid config");
    export.create_database().await.expect("create database");
    let point = Point::new("odd measurement,x", 1_000)
        .tag("tag key", "a b,c=d")
        .field("note", FieldValue::Str(r#"say "hi" \ 你好"#.into()))
        .field("ratio", FieldValue::Float(0.25))
        .field("big", FieldValue::Int(i64::MAX))
        .field("ok", FieldValue::Bool(false));
    export.push(&point).expect("encodable");
    export.flush(Duration::from_secs(20)).await.expect("written");
    let rows = influxd.query("esc", r#"SELECT * FROM "odd measurement,x" WHERE "tag key" = 'a b,c=d'"#).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r["note"].as_str(), Some(r#"say "hi" \ 你好"#));
    assert_eq!((r["ratio"].as_f64(), r["big"].as_i64(), r["ok"].as_bool()), (Some(0.25), Some(i64::MAX), Some(false)));
    assert_eq!(r["time"], Value::from(1_000));
    influxd.stop();
}

#[tokio::test]
async fn a_client_error_is_counted_and_never_retried() {
    let dir = tempfile::tempdir().expect("temp dir");
    let influxd = Influxd::start(dir.path()).expect("influxd");
    let export = InfluxExport::start(config(&influxd.url, "missing_db")).expect("valid config");
    for i in 0..3 {
        export.push(&Point::new("m", i).field("v", FieldValue::Int(i))).expect("encodable");
    }
    export.flush(Duration::from_secs(20)).await.expect("settled");
    let s = export.stats();
    assert_eq!((s.counters.rejected_points, s.counters.rejected_batches, s.counters.retries), (3, 1, 0));
    let e = s.last_error.expect("the refusal is reported");
    assert!(e.contains("404") && e.contains("database not found"), "{e}");
    influxd.stop();
}

#[tokio::test]
async fn connection_errors_are_retried_until_influxd_is_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let influxd = Influxd::start(dir.path()).expect("influxd");
    let port = influxd.http_port;
    let mut cfg = config(&influxd.url, "hotline");
    cfg.max_attempts = 1_000;
    let export = InfluxExport::start(cfg).expect("valid config");
    export.create_database().await.expect("create database");
    influxd.stop();

    export.push(&Point::new("m", 7).field("v", FieldValue::Int(42))).expect("encodable");
    let err = export.flush(Duration::from_millis(800)).await.expect_err("influxd is down");
    assert!(err.to_string().contains("1 items still waiting"), "{err}");
    let s = export.stats();
    assert!(s.counters.retries >= 1 && s.last_error.is_some(), "{s:?}");

    let influxd = Influxd::start_on(dir.path(), port).expect("influxd restarted on its port");
    export.flush(Duration::from_secs(20)).await.expect("written after the restart");
    let rows = influxd.query("hotline", "SELECT v FROM m").await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["v"].as_i64(), rows[0]["time"].as_i64()), (Some(42), Some(7)));
    let c = export.stats().counters;
    assert_eq!((c.points_written, c.rejected_points, c.gave_up_points), (1, 0, 0));
    influxd.stop();
}

#[tokio::test]
async fn a_full_buffer_keeps_the_newest_points() {
    let dir = tempfile::tempdir().expect("temp dir");
    let influxd = Influxd::start(dir.path()).expect("influxd");
    let mut cfg = config(&influxd.url, "hotline");
    cfg.max_buffered_points = 3;
    let export = InfluxExport::start(cfg).expect("valid config");
    export.create_database().await.expect("create database");
    for i in 1..=5 {
        export.push(&Point::new("m", i).field("v", FieldValue::Int(i))).expect("encodable");
    }
    assert_eq!(export.stats().counters.dropped_oldest, 2);
    export.flush(Duration::from_secs(20)).await.expect("written");
    let rows = influxd.query("hotline", "SELECT v FROM m").await;
    let values: Vec<i64> = rows.iter().filter_map(|r| r["v"].as_i64()).collect();
    assert_eq!(values, [3, 4, 5]);
    influxd.stop();
}

/// Waits (bounded) until the export has written `n` points without being asked to flush.
async fn wait_written(export: &InfluxExport, n: u64) {
    for _ in 0..200 {
        if export.stats().counters.points_written >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{n} points not written within 10 s: {:?}", export.stats());
}

#[tokio::test]
async fn a_full_batch_and_then_the_interval_send_without_a_flush() {
    let dir = tempfile::tempdir().expect("temp dir");
    let influxd = Influxd::start(dir.path()).expect("influxd");
    let mut cfg = config(&influxd.url, "hotline");
    cfg.max_batch_points = 2;
    let export = InfluxExport::start(cfg).expect("valid config");
    export.create_database().await.expect("create database");
    export.push(&Point::new("m", 1).field("v", FieldValue::Int(1))).expect("encodable");
    export.push(&Point::new("m", 2).field("v", FieldValue::Int(2))).expect("encodable");
    wait_written(&export, 2).await;
    assert_eq!(export.stats().counters.batches_written, 1, "one full batch");
    drop(export);

    let mut cfg = config(&influxd.url, "hotline");
    cfg.flush_interval_ms = 100;
    let export = InfluxExport::start(cfg).expect("valid config");
    export.push(&Point::new("m", 3).field("v", FieldValue::Int(3))).expect("encodable");
    wait_written(&export, 1).await;
    let values: Vec<i64> =
        influxd.query("hotline", "SELECT v FROM m").await.iter().filter_map(|r| r["v"].as_i64()).collect();
    assert_eq!(values, [1, 2, 3]);
    influxd.stop();
}
