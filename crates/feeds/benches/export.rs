//! Cost of one export tick for a 300-seat center with 100 queues: the Influx lines and the
//! Prometheus text. Run: `cargo bench -p feeds --bench export`.

use criterion::{Criterion, criterion_group, criterion_main};
use feeds::points::snapshot_points;
use feeds::prometheus::render;
use feeds::{AgentCounts, AgentSnapshot, ContactCounters, QueueSnapshot};
use model::{AgentId, AgentState, Channel, ContactOutcome, DurationMs, OrgId, QueueId, QueueName, Timestamp};

fn center() -> (Vec<QueueSnapshot>, Vec<AgentSnapshot>, ContactCounters) {
    let org = OrgId::from_u128(1);
    let queues = (0..100u32)
        .map(|i| {
            let mut agents = AgentCounts::default();
            agents.set(AgentState::Busy, i % 20);
            agents.set(AgentState::Available, i % 7);
            QueueSnapshot {
                org,
                queue: QueueId::from_u128(u128::from(i)),
                name: QueueName::parse(&format!("queue_{i}")).expect("valid"),
                waiting: i % 13,
                longest_wait: DurationMs::from_ms(u64::from(i) * 1_370),
                agents,
            }
        })
        .collect();
    let agents = (0..300u32)
        .map(|i| AgentSnapshot {
            org,
            agent: AgentId::from_u128(u128::from(i)),
            state: AgentState::ALL[i as usize % AgentState::ALL.len()],
            since: Timestamp::from_unix_ms(1_795_737_600_000 - i64::from(i) * 1_000),
        })
        .collect();
    let mut counters = ContactCounters::default();
    for (i, c) in Channel::ALL.iter().enumerate() {
        for (j, o) in ContactOutcome::ALL.iter().enumerate() {
            counters.add(*c, *o, (i * 100 + j) as u64);
        }
    }
    (queues, agents, counters)
}

fn bench(c: &mut Criterion) {
    let (queues, agents, counters) = center();
    let now = Timestamp::from_unix_ms(1_795_737_600_000);
    c.bench_function("influx_lines_100_queues_300_agents", |b| {
        b.iter(|| {
            let points = snapshot_points(&queues, &agents, &counters, now).expect("encodable");
            points.iter().map(|p| p.to_line().expect("valid").len()).sum::<usize>()
        })
    });
    c.bench_function("prometheus_render_100_queues_300_agents", |b| {
        b.iter(|| render(&queues, &agents, &counters).len())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
