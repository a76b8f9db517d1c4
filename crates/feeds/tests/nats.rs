//! The event feed against real NATS JetStream servers: the shared one on 127.0.0.1:4222, and for
//! the outage test one this test starts (and stops) itself. Each test uses its own stream name
//! and subject prefix and deletes its stream.

mod common;

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use common::{T0_MS, agent_change, contact_event, free_port, unique, wait_for_port};
use feeds::events::{AgentStatePayload, ContactEventPayload};
use feeds::{EventFeed, FeedError, NatsConfig, RetryPolicy, StreamSettings};
use futures_util::StreamExt;
use model::{AgentState, ContactEventKind};

const SHARED_URL: &str = "nats://127.0.0.1:4222";

struct TestStream {
    js: jetstream::Context,
    name: String,
    prefix: String,
    url: String,
}

impl TestStream {
    async fn new(url: &str) -> TestStream {
        let client = async_nats::connect(url).await.expect("the test NATS server runs");
        let id = unique("feeds").replace('-', "_");
        TestStream {
            js: jetstream::new(client),
            name: format!("T_{id}"),
            prefix: format!("t_{id}"),
            url: url.to_owned(),
        }
    }

    fn config(&self, url: &str) -> NatsConfig {
        let mut c = NatsConfig::new(url);
        c.subject_prefix = self.prefix.clone();
        c.stream = Some(StreamSettings { max_age_ms: 600_000, max_bytes: 16 << 20, ..StreamSettings::new(&self.name) });
        c.retry = RetryPolicy { initial_backoff_ms: 20, max_backoff_ms: 200 };
        c
    }

    async fn stored(&self) -> Vec<(String, String, Vec<u8>)> {
        let mut stream = self.js.get_stream(&self.name).await.expect("stream exists");
        let count = stream.info().await.expect("info").state.messages;
        let mut out = Vec::new();
        for seq in 1..=count {
            let m = stream.get_raw_message(seq).await.expect("stored message");
            let id =
                m.headers.get(async_nats::header::NATS_MESSAGE_ID).map(|v| v.as_str().to_owned()).unwrap_or_default();
            out.push((m.subject.to_string(), id, m.payload.to_vec()));
        }
        out
    }

    async fn delete(mut self) {
        self.js.delete_stream(&self.name).await.expect("delete the test stream");
        self.name.clear();
    }
}

impl Drop for TestStream {
    /// A test that failed before `delete` still removes its stream (on a thread of its own:
    /// the test's runtime may be gone or busy).
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let (name, url) = (std::mem::take(&mut self.name), self.url.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(client) = async_nats::connect(url.as_str()).await {
                    let _ = jetstream::new(client).delete_stream(&name).await;
                }
            });
        })
        .join();
    }
}

#[tokio::test]
async fn events_are_stored_in_order_with_their_ids_as_msg_id() {
    let ts = TestStream::new(SHARED_URL).await;
    let feed = EventFeed::connect(ts.config(SHARED_URL)).await.expect("connect");
    let kinds =
        [ContactEventKind::Arrived, ContactEventKind::Queued, ContactEventKind::Answered, ContactEventKind::Ended];
    let mut expected = Vec::new();
    for i in 0..20u128 {
        let e = contact_event(100 + i, i / 4, 7, T0_MS + i as i64, kinds[(i % 4) as usize]);
        feed.publish_contact_event(&e).expect("room in the outbox");
        expected.push((format!("{}.contact.{}", ts.prefix, e.kind.as_str()), e.id.to_string()));
        if i % 5 == 4 {
            let c = agent_change(900 + i, 3, T0_MS + i as i64, AgentState::Available, AgentState::Busy);
            feed.publish_agent_state(&c).expect("room");
            expected.push((format!("{}.agent.state", ts.prefix), c.id.to_string()));
        }
    }
    feed.flush(Duration::from_secs(20)).await.expect("all acked");

    let stored = ts.stored().await;
    let got: Vec<(String, String)> = stored.iter().map(|(s, id, _)| (s.clone(), id.clone())).collect();
    assert_eq!(got, expected);
    for (subject, id, payload) in &stored {
        if subject.ends_with(".agent.state") {
            let p: AgentStatePayload = serde_json::from_slice(payload).expect("agent state JSON");
            assert_eq!((&p.id, p.to.as_str()), (id, "busy"));
        } else {
            let p: ContactEventPayload = serde_json::from_slice(payload).expect("contact event JSON");
            assert_eq!(&p.id, id);
            assert!(subject.ends_with(&p.kind));
        }
    }
    let c = feed.stats().counters;
    assert_eq!((c.published, c.pending, c.dropped_when_full), (24, 0, 0));
    ts.delete().await;
}

#[tokio::test]
async fn the_same_event_published_twice_is_stored_once() {
    let ts = TestStream::new(SHARED_URL).await;
    let feed = EventFeed::connect(ts.config(SHARED_URL)).await.expect("connect");
    let a = contact_event(1, 1, 1, T0_MS, ContactEventKind::Queued);
    let b = contact_event(2, 1, 1, T0_MS + 1, ContactEventKind::Answered);
    for e in [&a, &a, &b, &a] {
        feed.publish_contact_event(e).expect("room");
    }
    feed.flush(Duration::from_secs(20)).await.expect("all acked");
    let ids: Vec<String> = ts.stored().await.into_iter().map(|(_, id, _)| id).collect();
    assert_eq!(ids, [a.id.to_string(), b.id.to_string()]);
    let c = feed.stats().counters;
    assert_eq!((c.published, c.duplicates), (4, 2));
    feed.close(Duration::from_secs(5)).await.expect("nothing pending");
    ts.delete().await;
}

async fn fetch_ids(consumer: &jetstream::consumer::Consumer<pull::Config>, max: usize) -> Vec<String> {
    let mut batch = consumer.fetch().max_messages(max).expires(Duration::from_secs(2)).messages().await.expect("fetch");
    let mut ids = Vec::new();
    while let Some(m) = batch.next().await {
        let m = m.expect("message");
        let p: ContactEventPayload = serde_json::from_slice(&m.payload).expect("JSON");
        ids.push(p.id);
        m.ack().await.expect("ack");
    }
    ids
}

#[tokio::test]
async fn a_restarted_durable_consumer_sees_every_event_once() {
    let ts = TestStream::new(SHARED_URL).await;
    let feed = EventFeed::connect(ts.config(SHARED_URL)).await.expect("connect");
    let events: Vec<_> =
        (0..20u128).map(|i| contact_event(500 + i, i, 2, T0_MS + i as i64, ContactEventKind::Queued)).collect();
    for e in &events[..10] {
        feed.publish_contact_event(e).expect("room");
    }
    feed.flush(Duration::from_secs(20)).await.expect("acked");

    let consumer_config = pull::Config {
        durable_name: Some("reports".into()),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ..Default::default()
    };
    let mut seen = {
        let stream = ts.js.get_stream(&ts.name).await.expect("stream");
        let consumer = stream.get_or_create_consumer("reports", consumer_config.clone()).await.expect("consumer");
        fetch_ids(&consumer, 4).await
        // The consumer's client goes away here: the "restart".
    };
    assert_eq!(seen.len(), 4);
    for e in &events[10..] {
        feed.publish_contact_event(e).expect("room");
    }
    // The publisher's own duplicate (a retry after a lost ack looks like this) must not show.
    feed.publish_contact_event(&events[3]).expect("room");
    feed.flush(Duration::from_secs(20)).await.expect("acked");

    let client = async_nats::connect(SHARED_URL).await.expect("reconnect");
    let stream = jetstream::new(client).get_stream(&ts.name).await.expect("stream");
    let consumer: jetstream::consumer::Consumer<pull::Config> =
        stream.get_consumer("reports").await.expect("the durable consumer survived");
    loop {
        let more = fetch_ids(&consumer, 8).await;
        if more.is_empty() {
            break;
        }
        seen.extend(more);
    }
    let expected: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(seen, expected);
    ts.delete().await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let mut config = NatsConfig::new(format!("nats://user:hunter2@127.0.0.1:{}", free_port()));
    config.connect_timeout_ms = 3_000;
    let err = EventFeed::connect(config).await.err().expect("nothing listens there");
    let text = err.to_string();
    assert!(matches!(err, FeedError::Connect { peer: "NATS", .. }), "{text}");
    assert!(text.contains("cannot connect to NATS at nats://user:***@127.0.0.1:"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

/// A nats-server with JetStream that this test owns; killed when dropped.
struct OwnServer {
    child: tokio::process::Child,
}

impl OwnServer {
    async fn start(port: u16, store: &std::path::Path) -> OwnServer {
        let child = tokio::process::Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nats-server is installed");
        wait_for_port(port).await;
        OwnServer { child }
    }

    async fn stop(mut self) {
        self.child.kill().await.expect("kill our nats-server");
    }
}

#[tokio::test]
async fn during_an_outage_the_outbox_stays_bounded_and_delivers_after_the_server_returns() {
    let store = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let server = OwnServer::start(port, store.path()).await;
    let ts = TestStream::new(&url).await;
    let mut config = ts.config(&url);
    config.max_pending_events = 5;
    config.ack_timeout_ms = 500;
    let feed = EventFeed::connect(config).await.expect("connect");
    let events: Vec<_> =
        (0..9u128).map(|i| contact_event(700 + i, i, 3, T0_MS + i as i64, ContactEventKind::Queued)).collect();
    for e in &events[..2] {
        feed.publish_contact_event(e).expect("room");
    }
    feed.flush(Duration::from_secs(20)).await.expect("acked before the outage");

    server.stop().await;
    for e in &events[2..7] {
        feed.publish_contact_event(e).expect("room for five");
    }
    for e in &events[7..] {
        let err = feed.publish_contact_event(e).expect_err("full");
        assert!(err.to_string().contains("outbox full (5 events"), "{err}");
    }
    let err = feed.flush(Duration::from_millis(1_500)).await.expect_err("nobody acks");
    assert!(matches!(err, FeedError::FlushTimeout { pending: 5, .. }), "{err}");
    let stats = feed.stats();
    assert_eq!((stats.counters.pending, stats.counters.dropped_when_full), (5, 2));
    assert!(stats.counters.retried >= 1 && stats.last_error.is_some(), "{stats:?}");

    let server = OwnServer::start(port, store.path()).await;
    feed.flush(Duration::from_secs(30)).await.expect("delivered after the restart");
    let ids: Vec<String> = ts.stored().await.into_iter().map(|(_, id, _)| id).collect();
    let expected: Vec<String> = events[..7].iter().map(|e| e.id.to_string()).collect();
    assert_eq!(ids, expected, "accepted events stored once each, in order; refused ones absent");
    ts.delete().await;
    server.stop().await;
}

#[tokio::test]
async fn an_event_over_max_event_bytes_is_refused_and_does_not_block_the_next() {
    let ts = TestStream::new(SHARED_URL).await;
    let mut config = ts.config(SHARED_URL);
    config.max_event_bytes = 4_096;
    let feed = EventFeed::connect(config).await.expect("connect");
    let mut big = contact_event(1, 1, 1, T0_MS, ContactEventKind::Message);
    big.detail = serde_json::json!({ "text": "字".repeat(2_000) }).to_string();
    let err = feed.publish_contact_event(&big).expect_err("too large");
    assert!(err.to_string().contains("over max_event_bytes (4096)"), "{err}");
    let small = contact_event(2, 1, 1, T0_MS + 1, ContactEventKind::Ended);
    feed.publish_contact_event(&small).expect("room");
    feed.flush(Duration::from_secs(20)).await.expect("acked");
    let ids: Vec<String> = ts.stored().await.into_iter().map(|(_, id, _)| id).collect();
    assert_eq!(ids, [small.id.to_string()]);
    assert_eq!(feed.stats().counters.dropped_too_large, 1);
    ts.delete().await;
}
