//! The volume generator and report benchmark: writes a realistic stretch of a contact center
//! (default a year of a 300-seat center, ~10 million contacts) into a database through the same
//! paths the live center uses (`Store::insert_contacts`, then `reports::ingest` of the contacts'
//! events and the agents' state changes), then times the reports.
//!
//! ```text
//! cargo run --release -p reports --example volume -- --url sqlite:///tmp/hotline_volume/v.db --contacts 1000000
//! cargo run --release -p reports --example volume -- --url postgres://postgres@127.0.0.1:5432/hotline_volume --contacts 1000000
//! cargo run --release -p reports --example volume -- --url ... --measure-only
//! ```
//!
//! The model (seeded, so every run writes the same data): arrivals over 365 days from
//! 2025-01-06 (a Monday, Asia/Shanghai), weekday factors Mon 1.15 … Sun 0.6, an hourly curve
//! from 08:00 to 22:00 with morning and afternoon peaks; channels voice 60%, chat 20%, email
//! 10%, WeChat 10%; voice enters the IVR and 12% is self-served there; 6% of queued contacts
//! abandon (a third of them within 5 s); waits exponential (mean 25 s answered, 40 s abandoned)
//! plus the time until the first agent is free; talk log-normal-ish by channel (voice 240 s,
//! chat 420 s, email 600 s), hold on 10%, wrap-up 30 s, 4% transferred; 30% answer the CSAT
//! survey; customers drawn from 400k, issue types from 6 (so FCR repeats happen). Agents log in
//! at 08:00 and out at 22:00 and go Busy → WrapUp → Available around each contact they take
//! (the earliest-free agent takes the next contact).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use kpi::aggregate::{AgentStateEvent, Input};
use kpi::calendar::{DAY_MS, HOUR_MS, UtcOffset};
use kpi::compare::Period;
use model::*;
use reports::{AggregateSettings, ReportPeriod};
use store::{ConnectOptions, Store};

const ORG: OrgId = OrgId::from_u128(0x0f0f);
/// 2025-01-06 00:00 in Asia/Shanghai (+08:00), a Monday.
const START_MS: i64 = 1_736_092_800_000;
const QUEUES: [u128; 5] = [101, 102, 103, 104, 105];
const ISSUES: [&str; 6] = ["billing", "delivery", "returns", "technical", "account", "complaint"];
const HOURLY: [f64; 24] = [
    0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.2, 0.6, 1.2, 1.5, 1.4, 0.9, 1.0, 1.4, 1.4, 1.3, 1.0, 0.7, 0.6, 0.5,
    0.3, 0.1, 0.04,
];
const WEEKDAY: [f64; 7] = [1.15, 1.05, 1.0, 1.0, 1.05, 0.75, 0.6];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn exp_ms(&mut self, mean_s: f64) -> i64 {
        (-(1.0 - self.unit()).ln() * mean_s * 1000.0) as i64
    }
    /// Roughly log-normal around `median_s`.
    fn skewed_ms(&mut self, median_s: f64) -> u64 {
        let g = (0..4).map(|_| self.unit()).sum::<f64>() - 2.0;
        (median_s * (g * 0.6).exp() * 1000.0) as u64
    }
}

struct Args {
    url: String,
    contacts: u64,
    days: i64,
    seats: u32,
    batch: usize,
    measure_only: bool,
    /// Times every report is run (the first on a cold cache).
    rounds: usize,
    /// Days already written by an earlier run that stopped cleanly: generated again (the data is
    /// seeded, so ids and values match) but not written.
    from_day: i64,
    /// When this file exists the run stops after the day it is writing (never mid-write).
    stop_file: Option<std::path::PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        contacts: 10_000_000,
        days: 365,
        seats: 300,
        batch: 50_000,
        measure_only: false,
        rounds: 2,
        from_day: 0,
        stop_file: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => a.url = value(),
            "--contacts" => a.contacts = value().parse().unwrap_or(a.contacts),
            "--days" => a.days = value().parse().unwrap_or(a.days),
            "--seats" => a.seats = value().parse().unwrap_or(a.seats),
            "--batch" => a.batch = value().parse().unwrap_or(a.batch),
            "--measure-only" => a.measure_only = true,
            "--rounds" => a.rounds = value().parse().unwrap_or(a.rounds).max(1),
            "--from-day" => a.from_day = value().parse().unwrap_or(0),
            "--stop-file" => a.stop_file = Some(value().into()),
            other => eprintln!("ignored argument {other}"),
        }
    }
    a
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(ms)
}

/// One generated day: contact records and the kpi events of contacts and agents.
struct Day {
    contacts: Vec<Contact>,
    events: Vec<Input>,
}

struct Generator {
    rng: Rng,
    seats: u32,
    next_contact: u128,
    next_change: u128,
}

impl Generator {
    fn day(&mut self, day: i64, contacts_today: u64) -> Day {
        let day_start = START_MS + day * DAY_MS;
        let total: f64 = HOURLY.iter().sum();
        let mut arrivals: Vec<i64> = Vec::with_capacity(contacts_today as usize);
        for (h, w) in HOURLY.iter().enumerate() {
            let n = (contacts_today as f64 * w / total).round() as u64;
            for _ in 0..n {
                arrivals.push(day_start + h as i64 * HOUR_MS + self.rng.below(HOUR_MS as u64) as i64);
            }
        }
        arrivals.sort_unstable();
        let mut free: BinaryHeap<Reverse<(i64, u32)>> =
            (0..self.seats).map(|a| Reverse((day_start + 8 * HOUR_MS, a))).collect();
        let mut out =
            Day { contacts: Vec::with_capacity(arrivals.len()), events: Vec::with_capacity(arrivals.len() * 9) };
        for a in 0..self.seats {
            self.change(&mut out, a, day_start + 8 * HOUR_MS, AgentState::Available);
        }
        for arrived in arrivals {
            self.contact(&mut out, arrived, &mut free);
        }
        for a in 0..self.seats {
            self.change(&mut out, a, day_start + 22 * HOUR_MS + 30 * 60_000, AgentState::Offline);
        }
        out
    }

    fn agent_id(a: u32) -> AgentId {
        AgentId::from_u128(0xa000 + u128::from(a))
    }

    fn change(&mut self, day: &mut Day, agent: u32, at: i64, state: AgentState) {
        self.next_change += 1;
        day.events.push(Input::AgentState(AgentStateEvent {
            id: AgentStateChangeId::from_u128(self.next_change),
            agent: Self::agent_id(agent),
            at: ts(at),
            state,
        }));
    }

    fn contact(&mut self, day: &mut Day, arrived: i64, free: &mut BinaryHeap<Reverse<(i64, u32)>>) {
        self.next_contact += 1;
        let id = ContactId::from_u128(self.next_contact);
        let r = self.rng.unit();
        let channel = if r < 0.6 {
            Channel::Voice
        } else if r < 0.8 {
            Channel::Chat
        } else if r < 0.9 {
            Channel::Email
        } else {
            Channel::WeChat
        };
        let from = format!("+86138{:08}", self.rng.below(100_000_000));
        let mut c = Contact::arrived(id, ORG, channel, Direction::Inbound, &from, "4000", ts(arrived));
        c.status = ContactStatus::Ended;
        let customer = CustomerId::from_u128(0xc000_0000 + u128::from(self.rng.below(400_000)));
        c.customer = Some(customer);
        c.issue_type = Some(ISSUES[self.rng.below(6) as usize].to_owned());
        let mut queued_at = arrived;
        if channel == Channel::Voice {
            c.ivr_path = vec!["welcome".into(), "menu".into()];
            queued_at = arrived + 20_000 + self.rng.exp_ms(15.0);
            if self.rng.unit() < 0.12 {
                c.outcome = Some(ContactOutcome::SelfServed);
                c.ended_at = Some(ts(queued_at));
                day.events.extend(reports::contact_inputs(&c));
                day.contacts.push(c);
                return;
            }
            c.ivr_left_at = Some(ts(queued_at));
        }
        c.queue = Some(QueueId::from_u128(QUEUES[self.rng.below(5) as usize]));
        c.queued_at = Some(ts(queued_at));
        if self.rng.unit() < 0.06 {
            let short = self.rng.unit() < 1.0 / 3.0;
            let wait = if short { self.rng.below(5_000) as i64 } else { 5_000 + self.rng.exp_ms(40.0) };
            c.outcome = Some(ContactOutcome::Abandoned);
            c.ended_at = Some(ts(queued_at + wait));
        } else {
            let Reverse((free_at, agent)) = free.pop().unwrap_or(Reverse((queued_at, 0)));
            let answered = (queued_at + self.rng.exp_ms(25.0)).max(free_at);
            let talk_median = match channel {
                Channel::Voice => 240.0,
                Channel::Chat => 420.0,
                _ => 600.0,
            };
            let talk = self.rng.skewed_ms(talk_median) as i64;
            let hold = if self.rng.unit() < 0.1 { 30_000 + self.rng.below(90_000) as i64 } else { 0 };
            let ended = answered + talk + hold;
            let wrapped = ended + 30_000;
            c.agent = Some(Self::agent_id(agent));
            c.offered_at = Some(ts(answered));
            c.answered_at = Some(ts(answered));
            c.ended_at = Some(ts(ended));
            c.wrap_up_ended_at = Some(ts(wrapped));
            c.transferred = self.rng.unit() < 0.04;
            c.outcome = Some(ContactOutcome::Answered);
            if self.rng.unit() < 0.3 {
                let s = self.rng.unit();
                c.csat = Some(if s < 0.45 {
                    5
                } else if s < 0.75 {
                    4
                } else if s < 0.87 {
                    3
                } else if s < 0.94 {
                    2
                } else {
                    1
                });
            }
            self.change(day, agent, answered, AgentState::Busy);
            self.change(day, agent, ended, AgentState::WrapUp);
            self.change(day, agent, wrapped, AgentState::Available);
            free.push(Reverse((wrapped, agent)));
        }
        day.events.extend(reports::contact_inputs(&c));
        day.contacts.push(c);
    }
}

/// Writes the days from `a.from_day`; returns false when stopped by the stop file before the end.
async fn generate(store: &Store, a: &Args, settings: &AggregateSettings) -> Result<bool, reports::ReportError> {
    let per_day = a.contacts as f64 / a.days as f64;
    let mean_factor = WEEKDAY.iter().sum::<f64>() / 7.0;
    let mut g = Generator { rng: Rng(42), seats: a.seats, next_contact: 0, next_change: 0 };
    let started = Instant::now();
    let (mut written, mut events_written, mut changes_written) = (0u64, 0u64, 0u64);
    // Seconds spent per phase: generating days, `insert_contacts`, `reports::ingest`.
    let (mut gen_s, mut insert_s, mut ingest_s) = (0.0f64, 0.0f64, 0.0f64);
    let mut week = (Instant::now(), 0u64);
    for d in 0..a.days {
        let n = (per_day * WEEKDAY[(d % 7) as usize] / mean_factor).round() as u64;
        let t = Instant::now();
        let day = g.day(d, n);
        if d < a.from_day {
            week = (Instant::now(), written);
            continue;
        }
        // Events in time order, in the biggest batches one ingest takes (a day is 2–3 of them).
        let mut events = day.events;
        events.sort_by_key(Input::at);
        gen_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        for chunk in day.contacts.chunks(a.batch) {
            store.insert_contacts(chunk).await?;
        }
        insert_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        for chunk in events.chunks(reports::MAX_EVENTS_PER_INGEST) {
            reports::ingest(store, ORG, settings, chunk).await?;
        }
        ingest_s += t.elapsed().as_secs_f64();
        written += day.contacts.len() as u64;
        events_written += events.len() as u64;
        changes_written += events.iter().filter(|e| matches!(e, Input::AgentState(_))).count() as u64;
        if d % 7 == 6 || d + 1 == a.days {
            let secs = started.elapsed().as_secs_f64();
            let week_rate = (written - week.1) as f64 / week.0.elapsed().as_secs_f64();
            println!(
                "day {:>3}: {written} contacts, {changes_written} agent changes, {events_written} events, {secs:.0} s, \
                 {:.0} contacts/s (last week {week_rate:.0}/s); generate {gen_s:.0} s, insert_contacts \
                 {insert_s:.0} s, ingest {ingest_s:.0} s",
                d + 1,
                written as f64 / secs
            );
            week = (Instant::now(), written);
        }
        if a.stop_file.as_deref().is_some_and(std::path::Path::exists) && d + 1 < a.days {
            println!("stopped after day {}: resume with --from-day {}", d + 1, d + 1);
            return Ok(false);
        }
    }
    Ok(true)
}

/// Each query's latencies in ms, in the order first timed.
type Timings = Vec<(&'static str, Vec<f64>)>;

async fn time<T, F: std::future::Future<Output = Result<T, reports::ReportError>>>(
    timings: &mut Timings,
    label: &'static str,
    f: F,
) -> T {
    let t = Instant::now();
    let out = f.await.unwrap_or_else(|e| panic!("{label}: {e}"));
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    println!("{label}: {ms:.1} ms");
    match timings.iter_mut().find(|(l, _)| *l == label) {
        Some((_, v)) => v.push(ms),
        None => timings.push((label, vec![ms])),
    }
    out
}

/// The nearest-rank percentile `p` (0–100) of `v`.
fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s.get(rank - 1).copied().unwrap_or(f64::NAN)
}

async fn measure(store: &Store, a: &Args) {
    let offset = UtcOffset::from_minutes(480).unwrap_or(UtcOffset::UTC);
    // A month in the middle of the year (days 180–210) and the week after it.
    let month = Period { start: ts(START_MS + 180 * DAY_MS), end: ts(START_MS + 210 * DAY_MS) };
    let week = Period { start: ts(START_MS + 210 * DAY_MS), end: ts(START_MS + 217 * DAY_MS) };
    let (month, week) = if a.days < 217 {
        (
            Period { start: ts(START_MS), end: ts(START_MS + a.days.min(30) * DAY_MS) },
            Period { start: ts(START_MS), end: ts(START_MS + a.days.min(7) * DAY_MS) },
        )
    } else {
        (month, week)
    };
    let mut timings: Timings = Vec::new();
    let t = &mut timings;
    for round in 0..a.rounds {
        println!("-- round {round} --");
        let q = time(
            t,
            "queue report, one month",
            reports::queue_performance(store, ORG, &ReportPeriod::range(month, offset)),
        )
        .await;
        let offered: u64 = q.0.rows.iter().map(|r| r.current.offered).sum();
        println!("   {} queues, {offered} offered", q.0.rows.len());
        let days = time(t, "daily queue report, each day of the month (30 reports)", async {
            let mut rows = 0;
            let mut day = month.start;
            while day < month.end {
                let p = ReportPeriod::day_vs_previous(day, offset);
                rows += reports::queue_performance(store, ORG, &p).await?.0.rows.len();
                day = ts(day.unix_ms() + DAY_MS);
            }
            Ok(rows)
        })
        .await;
        println!("   {days} queue-day rows");
        let agents = time(
            t,
            "agent report, one week",
            reports::agent_performance(store, ORG, &ReportPeriod::range(week, offset)),
        )
        .await;
        println!("   {} agents", agents.0.rows.len());
        let now = ts(week.start.unix_ms() + 4 * DAY_MS + 14 * HOUR_MS + 7 * 60_000);
        let live = time(
            t,
            "agent report, week so far vs last week (quarter-hour edges)",
            reports::agent_performance(store, ORG, &ReportPeriod::week_vs_last_week(now, offset)),
        )
        .await;
        println!("   {} agents", live.0.rows.len());
        time(
            t,
            "queue report, today so far vs yesterday",
            reports::queue_performance(store, ORG, &ReportPeriod::today_vs_yesterday(now, offset)),
        )
        .await;
        time(t, "channel mix, one month", reports::channel_mix(store, ORG, &ReportPeriod::range(month, offset))).await;
        time(
            t,
            "hourly arrivals, one month",
            reports::hourly_arrivals(store, ORG, &ReportPeriod::range(month, offset)),
        )
        .await;
        let day = ReportPeriod::range(Period { start: week.start, end: ts(week.start.unix_ms() + DAY_MS) }, offset);
        let ab = time(t, "abandoned list, one day", reports::abandoned_contacts(store, ORG, &day)).await;
        println!("   {} abandoned", ab.contacts.len());
    }
    println!("-- {} rounds: first (cold) / median / p95 / max, ms --", a.rounds);
    for (label, v) in &timings {
        let first = v.first().copied().unwrap_or(f64::NAN);
        let max = v.iter().copied().fold(f64::NAN, f64::max);
        println!("{label}: {first:.1} / {:.1} / {:.1} / {max:.1}", percentile(v, 50.0), percentile(v, 95.0));
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = args();
    if a.url.is_empty() {
        eprintln!(
            "usage: volume --url URL [--contacts N] [--days D] [--seats S] [--batch B] [--rounds R] [--measure-only] \
             [--from-day D] [--stop-file PATH]"
        );
        std::process::exit(2);
    }
    let settings = AggregateSettings {
        utc_offset: UtcOffset::from_minutes(480).unwrap_or(UtcOffset::UTC),
        ..AggregateSettings::default()
    };
    if !a.measure_only {
        // The load through one bulk-load connection (on SQLite: no journal, no fsync, a large
        // page cache); the reports are then timed through an ordinary pool, as the server opens it.
        let bulk = Store::connect_bulk_load(&a.url, 10_000).await.unwrap_or_else(|e| panic!("{e}"));
        bulk.migrate().await.unwrap_or_else(|e| panic!("{e}"));
        let finished = generate(&bulk, &a, &settings).await.unwrap_or_else(|e| panic!("{e}"));
        bulk.close().await;
        if !finished {
            return;
        }
    }
    let store = Store::connect(&a.url, &ConnectOptions { max_connections: 4, connect_timeout_ms: 10_000 })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("{e}"));
    measure(&store, &a).await;
    store.close().await;
}
