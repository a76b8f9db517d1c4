//! Reporting core throughput on a day of a 200-queue, 300-agent center.
//!
//! `ingest_day`: every event of the day (about 30,000 contacts and their agents' state changes,
//! one event in 20 delivered late and one in 50 duplicated) fed into a fresh aggregator; reported
//! as events/s. `day_report_200_queues`: for each of 200 queues, merge the day's 96 quarter-hours
//! and compute every figure (the live "today so far" path); `hourly_rows_200_queues`: the same as
//! 24 hourly rows per queue from the hour buckets (4,800 rows of figures).
//!
//! `cargo bench -p kpi --bench aggregate -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kpi::aggregate::{
    AgentStateEvent, Aggregator, AggregatorConfig, ContactEvent, ContactEventKind, Dimension, Input, IntervalQuery,
};
use kpi::calendar::{DAY_MS, Granularity, HOUR_MS};
use kpi::compare::Period;
use kpi::figures::{FigureSettings, Figures};
use model::{
    AgentId, AgentState, AgentStateChangeId, Channel, ContactEventId, ContactId, CustomerId, DurationMs, QueueId,
    ReasonCode, SurveyKind, Timestamp,
};

const QUEUES: u128 = 200;
const AGENTS: u128 = 300;
const CONTACTS: u128 = 30_000;
/// 2026-11-27 00:00 UTC.
const DAY: i64 = 1_795_737_600_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(DAY + ms)
}

fn contact_events(rng: &mut Rng, id: &mut u128, c: u128, out: &mut Vec<Input>) {
    let issue = ReasonCode::parse(["billing", "delivery", "refund"][rng.next(3) as usize]).ok();
    let start = 6 * HOUR_MS + rng.next(16 * HOUR_MS as u64) as i64;
    let queue = QueueId::from_u128(c % QUEUES);
    let agent = AgentId::from_u128(1_000 + rng.next(AGENTS as u64) as u128);
    let customer = Some(CustomerId::from_u128(rng.next(20_000) as u128));
    let wait = rng.next(90_000) as i64;
    let talk = 60_000 + rng.next(400_000) as i64;
    let mut kinds = vec![(start, ContactEventKind::Queued { queue, customer })];
    if rng.next(10) == 0 {
        kinds.push((start + wait, ContactEventKind::Abandoned));
    } else {
        let transferred = rng.next(20) == 0;
        let handling = ContactEventKind::HandlingEnded {
            agent,
            talk: DurationMs::from_ms(talk as u64),
            hold: DurationMs::from_secs(15),
            wrap_up: DurationMs::from_secs(30),
            transferred,
        };
        kinds.push((start + wait, ContactEventKind::Answered { agent }));
        kinds.push((start + wait + talk + 45_000, handling));
        if let Some(issue_type) = issue {
            kinds.push((start + wait + talk + 45_000, ContactEventKind::IssueIdentified { issue_type }));
        }
        if rng.next(3) == 0 {
            let score = 1 + rng.next(5) as u8;
            kinds.push((
                start + wait + talk + 60_000,
                ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, score },
            ));
        }
    }
    for (at, kind) in kinds {
        *id += 1;
        let e = ContactEvent {
            id: ContactEventId::from_u128(*id),
            contact: ContactId::from_u128(c),
            channel: Channel::Voice,
            at: ts(at),
            kind,
        };
        out.push(Input::Contact(e));
    }
}

fn agent_events(rng: &mut Rng, id: &mut u128, out: &mut Vec<Input>) {
    let states = [AgentState::Available, AgentState::Busy, AgentState::WrapUp, AgentState::Busy, AgentState::Away];
    for a in 0..AGENTS {
        let mut at = 8 * HOUR_MS + rng.next(HOUR_MS as u64) as i64;
        while at < 18 * HOUR_MS {
            *id += 1;
            let state = states[rng.next(states.len() as u64) as usize];
            let agent = AgentId::from_u128(1_000 + a);
            out.push(Input::AgentState(AgentStateEvent {
                id: AgentStateChangeId::from_u128(*id),
                agent,
                at: ts(at),
                state,
            }));
            at += 30_000 + rng.next(300_000) as i64;
        }
    }
}

/// A day's events in delivery order: by time, one in 20 held back 10 minutes, one in 50 twice.
fn day_of_events() -> Vec<Input> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut id = 0;
    let mut events = Vec::new();
    for c in 0..CONTACTS {
        contact_events(&mut rng, &mut id, c, &mut events);
    }
    agent_events(&mut rng, &mut id, &mut events);
    let mut delivered: Vec<(i64, Input)> = Vec::with_capacity(events.len() * 2);
    for e in events {
        let at = e.at().unix_ms();
        let delay = if rng.next(20) == 0 { 10 * 60_000 } else { 0 };
        if rng.next(50) == 0 {
            delivered.push((at + 1, e.clone()));
        }
        delivered.push((at + delay, e));
    }
    delivered.sort_by_key(|(at, _)| *at);
    delivered.into_iter().map(|(_, e)| e).collect()
}

fn feed(events: &[Input]) -> Aggregator {
    let mut agg = Aggregator::new(AggregatorConfig::default()).unwrap_or_else(|e| panic!("default config: {e}"));
    let mut now = Timestamp::from_unix_ms(DAY);
    for e in events {
        now = now.max(e.at());
        agg.handle(now, e.clone());
    }
    agg
}

fn report(agg: &Aggregator, granularity: Granularity, rows: i64) -> usize {
    let settings = FigureSettings::default();
    let row_ms = DAY_MS / rows;
    let mut computed = 0;
    for q in 0..QUEUES {
        for r in 0..rows {
            let period = Period { start: ts(r * row_ms), end: ts((r + 1) * row_ms) };
            let query = IntervalQuery { granularity, dimension: Dimension::Queue(QueueId::from_u128(q)), period };
            let figures = Figures::compute(&agg.total(query), &settings);
            computed += usize::from(black_box(figures).answer_rate.is_some());
        }
    }
    computed
}

/// This thread's CPU time in ns (Linux `schedstat`), to report figures that leave out the time
/// the thread waited for a core on a shared machine; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Prints events/s of one ingest in wall time and in thread CPU time.
fn print_cpu_rate(events: &[Input]) {
    let (wall, cpu) = (std::time::Instant::now(), thread_cpu_ns());
    black_box(feed(events));
    let wall_s = wall.elapsed().as_secs_f64();
    let n = events.len() as f64;
    match (cpu, thread_cpu_ns()) {
        (Some(a), Some(b)) => {
            let cpu_s = b.saturating_sub(a) as f64 / 1e9;
            println!("ingest_day: {:.0} events/s wall, {:.0} events/s thread CPU", n / wall_s, n / cpu_s);
        }
        _ => println!("ingest_day: {:.0} events/s wall", n / wall_s),
    }
}

fn benches(c: &mut Criterion) {
    let events = day_of_events();
    print_cpu_rate(&events);
    let mut group = c.benchmark_group("kpi");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("ingest_day", |b| b.iter(|| black_box(feed(&events)).tracked_contacts()));
    group.throughput(Throughput::Elements(QUEUES as u64));
    let agg = feed(&events);
    let counters = agg.counters();
    println!("events {}, counters {counters:?}", events.len());
    group.bench_function("day_report_200_queues", |b| b.iter(|| report(&agg, Granularity::QuarterHour, 1)));
    group.throughput(Throughput::Elements(QUEUES as u64 * 24));
    group.bench_function("hourly_rows_200_queues", |b| b.iter(|| report(&agg, Granularity::Hour, 24)));
    group.finish();
}

criterion_group!(kpi_benches, benches);
criterion_main!(kpi_benches);
