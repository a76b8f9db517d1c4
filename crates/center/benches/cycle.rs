//! One contact's whole life through the center (submit → offered → accept → end → wrap-up done)
//! on a SQLite store in a temp dir, seeded with the Demo Shop: how long the four commands take
//! (`decide`: writes go on in the background) and with every write of the cycle persisted
//! (`decide_and_persist`: a flush per cycle).
//!
//! `cargo bench -p center --bench cycle`

use std::sync::Arc;

use center::{Center, CenterConfig, CenterHandle, Disposition, ManualClock, NewContact, Presence};
use criterion::{Criterion, criterion_group, criterion_main};
use model::{AgentId, Channel, ContactOutcome, ReasonCode, Timestamp};
use store::{ConnectOptions, Store};

const T0: i64 = 1_780_000_000_000;

async fn seeded(dir: &std::path::Path) -> Store {
    let url = format!("sqlite://{}/bench.db", dir.display());
    let store = Store::connect(&url, &ConnectOptions::default()).await.expect("connect");
    store.migrate().await.expect("migrate");
    let d = demo::dataset(Timestamp::from_unix_ms(T0));
    store.insert_org(&d.org).await.expect("org");
    for s in &d.skills {
        store.insert_skill(s).await.expect("skill");
    }
    for q in &d.queues {
        store.insert_queue(q).await.expect("queue");
    }
    for u in &d.users {
        store.insert_user(&model::User { password_hash: "x".into(), ..u.user.clone() }).await.expect("user");
    }
    for a in &d.agents {
        store.insert_agent(a).await.expect("agent");
    }
    store
}

async fn cycle(center: &CenterHandle, agent: AgentId, done: &Disposition) {
    let id = center.submit(NewContact::new(Channel::Chat, "hotline", "visitor")).await.expect("submit");
    center.accept(agent, id).await.expect("accept");
    center.end(id, ContactOutcome::Answered).await.expect("end");
    center.wrap_up_done(agent, id, done.clone()).await.expect("wrap-up");
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = demo::dataset(Timestamp::from_unix_ms(T0));
    let agent = d.agents[0].id;
    let done = Disposition { code: ReasonCode::parse("resolved").expect("code"), notes: String::new() };
    let center = rt.block_on(async {
        let store = seeded(dir.path()).await;
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_ms(T0)));
        let config = CenterConfig { max_pending_writes: 1 << 20, ..CenterConfig::default() };
        let (center, _task) =
            Center::start(store, demo::DEMO_ORG, &center::demo_routes(), config, clock).await.expect("start");
        center.set_agent_state(agent, Presence::Available).await.expect("available");
        center
    });
    let mut group = c.benchmark_group("contact_cycle_sqlite");
    group.sample_size(20);
    group.bench_function("decide", |b| b.to_async(&rt).iter(|| cycle(&center, agent, &done)));
    rt.block_on(center.flush()).expect("flush");
    group.bench_function("decide_and_persist", |b| {
        b.to_async(&rt).iter(|| async {
            cycle(&center, agent, &done).await;
            center.flush().await.expect("flush");
        })
    });
    group.finish();
    let counters = rt.block_on(center.flush()).expect("flush");
    eprintln!("counters after the bench: {counters:?}");
}

criterion_group!(benches, bench);
criterion_main!(benches);
