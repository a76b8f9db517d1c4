//! Live counters against the real Redis on 127.0.0.1:6379, each test under its own key prefix,
//! deleted at the end (keys also carry TTLs, so a failed test leaves nothing for long).

mod common;

use common::{T0_MS, agent_change, contact_event, free_port, unique};
use feeds::{FeedError, LiveCounters, RedisConfig};
use model::{AgentState, ContactEventKind, OrgId, QueueId, Timestamp};

const URL: &str = "redis://127.0.0.1:6379";

fn config(prefix: &str) -> RedisConfig {
    let mut c = RedisConfig::new(URL);
    c.key_prefix = prefix.to_owned();
    c.live_key_ttl_s = 600;
    c
}

async fn raw() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(URL).expect("URL");
    client.get_multiplexed_async_connection().await.expect("the test Redis runs")
}

async fn keys(prefix: &str) -> Vec<String> {
    let mut con = raw().await;
    let mut keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(&mut con).await.expect("KEYS");
    keys.sort();
    keys
}

/// A key prefix of one test; its keys are deleted when dropped, even if the test failed.
struct TestPrefix(String);

impl TestPrefix {
    fn new() -> TestPrefix {
        TestPrefix(unique("feeds-test"))
    }
}

impl std::ops::Deref for TestPrefix {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Drop for TestPrefix {
    fn drop(&mut self) {
        let Ok(mut con) = redis::Client::open(URL).and_then(|c| c.get_connection()) else { return };
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}:*", self.0)).query(&mut con).unwrap_or_default();
        for k in keys {
            let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&k).query(&mut con);
        }
    }
}

/// One node's work: its own contacts' lives, plus the other node's "queued" events again (a
/// redelivery, as at-least-once allows).
async fn node(counters: LiveCounters, mine: std::ops::Range<u128>, theirs: std::ops::Range<u128>) {
    for c in mine.clone() {
        let at = T0_MS + c as i64 * 1_000;
        counters.apply_contact_event(&contact_event(c * 10, c, 1, at, ContactEventKind::Queued)).await.expect("queued");
        let end = match c % 4 {
            0 => Some(ContactEventKind::Abandoned),
            1 | 2 => Some(ContactEventKind::Answered),
            _ => None,
        };
        if let Some(kind) = end {
            counters.apply_contact_event(&contact_event(c * 10 + 1, c, 1, at + 500, kind)).await.expect("ended");
        }
    }
    for c in theirs {
        let at = T0_MS + c as i64 * 1_000;
        counters.apply_contact_event(&contact_event(c * 10, c, 1, at, ContactEventKind::Queued)).await.expect("again");
    }
    let state = if mine.start == 0 { AgentState::Busy } else { AgentState::Available };
    let first_agent = if mine.start == 0 { 0 } else { 5 };
    for a in first_agent..first_agent + 5 {
        let change = agent_change(10_000 + a, a, T0_MS + 100, AgentState::Offline, state);
        counters.apply_agent_state(&change, &[QueueId::from_u128(1)]).await.expect("agent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_updating_concurrently_give_exact_totals() {
    let prefix = TestPrefix::new();
    let a = LiveCounters::connect(config(&prefix)).await.expect("node a");
    let b = LiveCounters::connect(config(&prefix)).await.expect("node b");
    let (ra, rb) =
        tokio::join!(tokio::spawn(node(a.clone(), 0..100, 100..200)), tokio::spawn(node(b, 100..200, 0..100)));
    ra.expect("node a finished");
    rb.expect("node b finished");
    // A stale change (older than the one stored) arriving late must not win.
    let stale = agent_change(20_000, 0, T0_MS + 50, AgentState::Available, AgentState::Offline);
    assert!(!a.apply_agent_state(&stale, &[QueueId::from_u128(1)]).await.expect("applied"));

    let now = Timestamp::from_unix_ms(T0_MS + 1_000_000);
    let snap = a.read_snapshot(OrgId::from_u128(1), now).await.expect("snapshot");
    assert_eq!(snap.day, "2026-11-27");
    assert_eq!(snap.queues.len(), 1);
    let q = &snap.queues[0];
    assert_eq!((q.offered, q.answered, q.abandoned, q.waiting), (200, 100, 50, 50));
    // The oldest contact still waiting is contact 3, queued at T0 + 3 s.
    assert_eq!(q.longest_wait.as_ms(), 997_000);
    assert_eq!((q.agents.get(AgentState::Busy), q.agents.get(AgentState::Available)), (5, 5));
    assert_eq!((snap.agents.get(AgentState::Busy), snap.agents.get(AgentState::Offline)), (5, 0));
    assert!(!snap.truncated);
}

#[tokio::test]
async fn late_and_repeated_events_do_not_undo_newer_facts() {
    let prefix = TestPrefix::new();
    let live = LiveCounters::connect(config(&prefix)).await.expect("connect");
    let answered = contact_event(2, 1, 5, T0_MS + 2_000, ContactEventKind::Answered);
    let queued = contact_event(1, 1, 5, T0_MS + 1_000, ContactEventKind::Queued);
    assert!(live.apply_contact_event(&answered).await.expect("answered"));
    assert!(!live.apply_contact_event(&answered).await.expect("repeat"), "counted once");
    assert!(live.apply_contact_event(&queued).await.expect("late queued"), "still offered");
    // Contact 2 is queued, leaves by overflow, and is queued again later in the same queue.
    for (n, at, kind) in
        [(3, 100, ContactEventKind::Queued), (4, 200, ContactEventKind::Overflowed), (5, 300, ContactEventKind::Queued)]
    {
        live.apply_contact_event(&contact_event(n, 2, 5, T0_MS + at, kind)).await.expect("apply");
    }
    let no_queue = model::ContactEvent { queue: None, ..contact_event(6, 3, 5, T0_MS, ContactEventKind::Queued) };
    assert!(!live.apply_contact_event(&no_queue).await.expect("ignored"));

    let snap = live.read_snapshot(OrgId::from_u128(1), Timestamp::from_unix_ms(T0_MS + 10_300)).await.expect("read");
    let q = &snap.queues[0];
    assert_eq!((q.queue, q.offered, q.answered, q.waiting), (QueueId::from_u128(5), 2, 1, 1));
    assert_eq!(q.longest_wait.as_ms(), 10_000, "contact 2, queued again at +300 ms");
}

#[tokio::test]
async fn daily_counters_belong_to_the_local_day_and_expire() {
    let prefix = TestPrefix::new();
    let mut cfg = config(&prefix);
    cfg.utc_offset_minutes = 480; // Beijing
    let live = LiveCounters::connect(cfg).await.expect("connect");
    // 15:59 and 16:01 UTC fall on two local days at +8.
    let before = T0_MS + 15 * 3_600_000 + 59 * 60_000;
    let after = T0_MS + 16 * 3_600_000 + 60_000;
    live.apply_contact_event(&contact_event(1, 1, 1, before, ContactEventKind::Queued)).await.expect("apply");
    live.apply_contact_event(&contact_event(2, 2, 1, after, ContactEventKind::Queued)).await.expect("apply");
    live.apply_contact_event(&contact_event(3, 3, 1, after, ContactEventKind::Queued)).await.expect("apply");
    let snap = live.read_snapshot(OrgId::from_u128(1), Timestamp::from_unix_ms(after)).await.expect("read");
    assert_eq!((snap.day.as_str(), snap.queues[0].offered), ("2026-11-28", 2));

    let org = OrgId::from_u128(1);
    let queue = QueueId::from_u128(1);
    let day_key = format!("{}:{org}:q:{queue}:day:2026-11-27", &*prefix);
    assert!(keys(&prefix).await.contains(&day_key), "{:?}", keys(&prefix).await);
    let mut con = raw().await;
    let ttl: i64 = redis::cmd("TTL").arg(&day_key).query_async(&mut con).await.expect("TTL");
    assert!((1..=3 * 86_400).contains(&ttl), "daily keys expire: {ttl}");
    for k in keys(&prefix).await {
        let ttl: i64 = redis::cmd("TTL").arg(&k).query_async(&mut con).await.expect("TTL");
        assert!(ttl > 0, "{k} has no TTL");
    }
}

#[tokio::test]
async fn corrupt_values_are_reported_not_guessed() {
    let prefix = TestPrefix::new();
    let live = LiveCounters::connect(config(&prefix)).await.expect("connect");
    let org = OrgId::from_u128(1);
    let change = agent_change(1, 1, T0_MS, AgentState::Offline, AgentState::Available);
    live.apply_agent_state(&change, &[]).await.expect("apply");
    let mut con = raw().await;
    let _: i64 = redis::cmd("HSET")
        .arg(format!("{}:{org}:agents", &*prefix))
        .arg("x")
        .arg("12|dancing")
        .query_async(&mut con)
        .await
        .expect("HSET");
    let err = live.read_snapshot(org, Timestamp::from_unix_ms(T0_MS)).await.expect_err("corrupt");
    assert!(matches!(&err, FeedError::Corrupt { value, .. } if value == "12|dancing"), "{err}");
}

#[tokio::test]
async fn an_unreachable_redis_is_a_clear_error() {
    let mut cfg = RedisConfig::new(format!("redis://:s3cret@127.0.0.1:{}", free_port()));
    cfg.connect_timeout_ms = 2_000;
    let err = LiveCounters::connect(cfg).await.err().expect("nothing listens there");
    let text = err.to_string();
    assert!(text.starts_with("cannot connect to Redis at redis://:***@127.0.0.1:"), "{text}");
    assert!(!text.contains("s3cret") && !text.contains("no answer"), "{text}");
}
