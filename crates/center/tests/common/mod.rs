//! What the center's tests stand on: a real store (SQLite in a temp dir, or a fresh PostgreSQL
//! database on 127.0.0.1:5432 created and dropped with `psql`), seeded with the Demo Shop, and a
//! running center on a clock that follows tokio's (paused) time.
#![allow(dead_code)]

use std::process::Command;
use std::sync::Arc;

use center::{Center, CenterConfig, CenterHandle, LiveEvent, ManualClock};
use model::{AgentId, ContactEvent, ContactEventKind, ContactId, OrgId, QueueId, Timestamp, UserId};
use store::{ConnectOptions, Page, Store};
use tokio::sync::broadcast;

pub const T0: i64 = 1_780_000_000_000;
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of its own for one test; dropped with the test.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: tempfile::TempDir,
    pg_name: Option<String>,
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            "5432",
            "-U",
            "postgres",
            "-d",
            "test",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ])
        .output()
        .unwrap_or_else(|e| panic!("psql could not run ({e}); install postgresql-client"));
    assert!(out.status.success(), "psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

static NEXT_DB: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl TestDb {
    /// PostgreSQL only: drops the database under the running center (its connections are
    /// terminated), so every later write fails.
    pub fn take_database_away(&self) {
        let name = self.pg_name.as_deref().expect("a PostgreSQL test database");
        psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }

    /// A fresh, migrated database seeded with the Demo Shop.
    pub async fn demo(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg_name) = match backend {
            Backend::Sqlite => (format!("sqlite://{}/hotline.db", dir.path().display()), None),
            Backend::Postgres => {
                let n = NEXT_DB.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let name = format!("hotline_center_{}_{n}", std::process::id());
                psql(&format!("CREATE DATABASE {name}"));
                (DEFAULT_POSTGRES_URL.replace("/test", &format!("/{name}")), Some(name))
            }
        };
        let opts = ConnectOptions { max_connections: 4, connect_timeout_ms: 10_000 };
        let store = Store::connect(&url, &opts).await.unwrap_or_else(|e| panic!("connect {backend:?}: {e}"));
        store.migrate().await.expect("migrate");
        seed_demo(&store).await;
        TestDb { store, url, _dir: dir, pg_name }
    }
}

async fn seed_demo(store: &Store) {
    let d = demo::dataset(Timestamp::from_unix_ms(T0 - 86_400_000));
    store.insert_org(&d.org).await.expect("org");
    for s in &d.skills {
        store.insert_skill(s).await.expect("skill");
    }
    for q in &d.queues {
        store.insert_queue(q).await.expect("queue");
    }
    for u in &d.users {
        let user = model::User { password_hash: "not-a-real-hash".into(), ..u.user.clone() };
        store.insert_user(&user).await.expect("user");
    }
    for a in &d.agents {
        store.insert_agent(a).await.expect("agent");
    }
    for c in &d.customers {
        store.insert_customer(c).await.expect("customer");
    }
}

pub fn org() -> OrgId {
    demo::DEMO_ORG
}

/// Demo agent by extension (1001–1006).
pub fn agent(ext: u32) -> AgentId {
    let d = demo::dataset(Timestamp::from_unix_ms(T0));
    d.agents.iter().find(|a| a.extension.as_str() == ext.to_string()).map(|a| a.id).expect("demo agent")
}

pub fn supervisor() -> UserId {
    let d = demo::dataset(Timestamp::from_unix_ms(T0));
    d.users.iter().find(|u| u.user.username.as_str() == "supervisor").map(|u| u.user.id).expect("demo supervisor")
}

pub fn queue(name: &str) -> QueueId {
    demo::queue_id(name)
}

/// A running center on a fresh demo store, with a subscriber attached from the start.
pub struct Rig {
    pub db: TestDb,
    pub center: CenterHandle,
    pub task: tokio::task::JoinHandle<()>,
    pub events: broadcast::Receiver<LiveEvent>,
    pub clock: Arc<ManualClock>,
}

impl Rig {
    /// The center's time moves only in [`Rig::wait`]; the store works in real time.
    pub async fn start(backend: Backend) -> Rig {
        Self::start_with(backend, CenterConfig::default()).await
    }

    pub async fn start_with(backend: Backend, config: CenterConfig) -> Rig {
        let db = TestDb::demo(backend).await;
        Self::on(db, config, Timestamp::from_unix_ms(T0)).await
    }

    /// A center on an existing database, its clock starting at `start`.
    pub async fn on(db: TestDb, config: CenterConfig, start: Timestamp) -> Rig {
        let clock = Arc::new(ManualClock::new(start));
        let (center, task) = Center::start(db.store.clone(), org(), &center::demo_routes(), config, clock.clone())
            .await
            .expect("center starts");
        let events = center.subscribe();
        Rig { db, center, task, events, clock }
    }

    /// Every live event so far, queue stats left out.
    pub fn drain(&mut self) -> Vec<LiveEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            if !matches!(e, LiveEvent::QueueStats(_)) {
                out.push(e);
            }
        }
        out
    }

    /// Moves the center's clock `secs` seconds on, one second at a time, letting the center
    /// handle each second's timers before the next (a snapshot round trip is the barrier: the
    /// center takes due timers before commands).
    pub async fn wait(&self, secs: u64) {
        for _ in 0..secs {
            self.clock.advance(model::DurationMs::from_secs(1));
            self.center.snapshot().await.expect("the center answers");
        }
    }

    pub async fn available(&self, ext: u32) {
        self.center.set_agent_state(agent(ext), center::Presence::Available).await.expect("agent available");
    }

    /// Waits for every decided write, and checks none was lost.
    pub async fn flushed(&self) {
        let counters = self.center.flush().await.expect("flush");
        assert_eq!((counters.writes_failed, counters.writes_dropped), (0, 0), "{counters:?}");
    }

    pub async fn contact_events(&self, contact: ContactId) -> Vec<ContactEvent> {
        self.db.store.list_contact_events(org(), contact, &Page::first(500)).await.expect("events").items
    }

    pub async fn event_kinds(&self, contact: ContactId) -> Vec<ContactEventKind> {
        self.contact_events(contact).await.iter().map(|e| e.kind).collect()
    }
}

/// The `type` and the agent of each event, for readable sequence assertions.
pub fn kinds(events: &[LiveEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let json = serde_json::to_value(e).expect("serialises");
            json["type"].as_str().unwrap_or("?").to_owned()
        })
        .collect()
}

/// The agent each `contact_offered` went to, in order.
pub fn offered_to(events: &[LiveEvent]) -> Vec<AgentId> {
    events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::ContactOffered { agent, .. } => Some(*agent),
            _ => None,
        })
        .collect()
}

/// Generates `mod sqlite` and `mod postgres`, one `#[tokio::test]` per listed test on each.
#[macro_export]
macro_rules! center_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}
