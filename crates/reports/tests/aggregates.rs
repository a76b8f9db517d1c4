//! Aggregates through the store on SQLite, PostgreSQL and MariaDB: a hand-computed day, late,
//! out-of-order and duplicate events (equal to a from-scratch `kpi` recount, also with an FCR
//! window much shorter than the stream), rebuild, contact
//! records ingested twice, and day-over-day comparison figures.

mod common;

use common::Db;
use kpi::aggregate::{AgentStateEvent, Aggregator, ContactEvent, ContactEventKind, Input};
use kpi::calendar::{DAY_MS, HOUR_MS, MINUTE_MS, UtcOffset};
use kpi::compare::{Change, Kpi, Period};
use kpi::figures::FigureSettings;
use model::*;
use reports::{AggregateSettings, ReportPeriod};
use store::{IntervalDimensionKind, IntervalLength, TimeRange};

/// 2026-06-01 00:00 UTC, a Monday.
const DAY0: i64 = 1_780_272_000_000;
const ORG: OrgId = OrgId::from_u128(1);
const QUEUE: QueueId = QueueId::from_u128(10);
const AGENT: AgentId = AgentId::from_u128(20);

fn at(h: i64, m: i64, s: i64) -> Timestamp {
    Timestamp::from_unix_ms(DAY0 + h * HOUR_MS + m * MINUTE_MS + s * 1000)
}

struct Stream {
    events: Vec<Input>,
    next_id: u128,
}

impl Stream {
    fn new() -> Self {
        Self { events: Vec::new(), next_id: 1 }
    }

    fn contact(&mut self, contact: u128, channel: Channel, when: Timestamp, kind: ContactEventKind) {
        self.next_id += 1;
        self.events.push(Input::Contact(ContactEvent {
            id: ContactEventId::from_u128(self.next_id),
            contact: ContactId::from_u128(contact),
            channel,
            at: when,
            kind,
        }));
    }

    fn agent(&mut self, agent: AgentId, when: Timestamp, state: AgentState) {
        self.next_id += 1;
        self.events.push(Input::AgentState(AgentStateEvent {
            id: AgentStateChangeId::from_u128(self.next_id),
            agent,
            at: when,
            state,
        }));
    }

    /// Queued, answered after `wait_s`, talk/hold/wrap-up in seconds, optional CSAT.
    #[allow(clippy::too_many_arguments)]
    fn answered(
        &mut self,
        c: u128,
        queued: Timestamp,
        wait_s: i64,
        talk_s: u64,
        hold_s: u64,
        wrap_s: u64,
        csat: Option<u8>,
        transferred: bool,
    ) {
        let ms = |s: i64| Timestamp::from_unix_ms(queued.unix_ms() + s * 1000);
        self.contact(c, Channel::Voice, queued, ContactEventKind::Queued { queue: QUEUE, customer: None });
        self.contact(c, Channel::Voice, ms(wait_s), ContactEventKind::Answered { agent: AGENT });
        let end = ms(wait_s + (talk_s + hold_s + wrap_s) as i64);
        self.contact(
            c,
            Channel::Voice,
            end,
            ContactEventKind::HandlingEnded {
                agent: AGENT,
                talk: DurationMs::from_secs(talk_s),
                hold: DurationMs::from_secs(hold_s),
                wrap_up: DurationMs::from_secs(wrap_s),
                transferred,
            },
        );
        if let Some(score) = csat {
            self.contact(c, Channel::Voice, end, ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, score });
        }
    }

    fn abandoned(&mut self, c: u128, queued: Timestamp, wait_s: i64) {
        self.contact(c, Channel::Voice, queued, ContactEventKind::Queued { queue: QUEUE, customer: None });
        let when = Timestamp::from_unix_ms(queued.unix_ms() + wait_s * 1000);
        self.contact(c, Channel::Voice, when, ContactEventKind::Abandoned);
    }
}

/// The hand-computed day (see `hand_computed_day_reads_back_as_figures`).
fn hand_day() -> Stream {
    let mut s = Stream::new();
    s.contact(1, Channel::Voice, at(9, 0, 0), ContactEventKind::IvrEntered);
    s.answered(1, at(9, 0, 10), 10, 240, 20, 40, Some(5), false);
    s.abandoned(2, at(9, 10, 0), 30);
    s.abandoned(3, at(9, 20, 0), 3);
    s.answered(4, at(10, 0, 0), 40, 300, 0, 60, Some(3), true);
    s.contact(5, Channel::Voice, at(11, 0, 0), ContactEventKind::IvrEntered);
    s.contact(5, Channel::Voice, at(11, 1, 0), ContactEventKind::IvrSelfServiceSucceeded);
    s.contact(5, Channel::Voice, at(11, 2, 0), ContactEventKind::Ended);
    for (when, state) in [
        (at(8, 0, 0), AgentState::Available),
        (at(9, 0, 20), AgentState::Busy),
        (at(9, 4, 40), AgentState::WrapUp),
        (at(9, 5, 20), AgentState::Available),
        (at(10, 0, 40), AgentState::Busy),
        (at(10, 5, 40), AgentState::WrapUp),
        (at(10, 6, 40), AgentState::Available),
        (at(12, 0, 0), AgentState::Offline),
    ] {
        s.agent(AGENT, when, state);
    }
    s
}

/// A deterministic shuffle (xorshift), so a failure reproduces.
fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut v = items.to_vec();
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

fn day(offset_days: i64) -> Period {
    Period {
        start: Timestamp::from_unix_ms(DAY0 + offset_days * DAY_MS),
        end: Timestamp::from_unix_ms(DAY0 + (offset_days + 1) * DAY_MS),
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

async fn hand_computed_day_reads_back_as_figures(db: &Db) {
    let settings = AggregateSettings::default();
    let events = hand_day().events;
    // Late and out of order: every batch shuffled, the answer of contact 1 before its queue entry.
    let mixed = shuffled(&events, 7);
    for chunk in mixed.chunks(5) {
        reports::ingest(&db.store, ORG, &settings, chunk).await.expect("ingest");
    }
    let period = ReportPeriod::range(day(0), UtcOffset::UTC);
    let q = reports::queue_performance(&db.store, ORG, &period).await.expect("queue report");
    let row = q.0.queue(QUEUE).expect("queue row");
    let s = FigureSettings::default();
    let f = row.figures(&s);
    assert_eq!((row.current.offered, row.current.answered, row.current.abandoned), (4, 2, 2));
    assert!(close(f.service_level, 1.0 / 3.0), "SL {:?}", f.service_level);
    assert!(close(f.answer_rate, 0.5));
    assert!(close(f.abandon_rate, 1.0 / 3.0), "short abandon excluded: {:?}", f.abandon_rate);
    assert!(close(f.average_speed_of_answer_s, 25.0));
    assert!(close(f.average_handle_time_s, 330.0));
    assert!(close(f.transfer_rate, 0.5));
    assert!(close(f.csat_top_two_box, 0.5) && close(f.csat_mean, 4.0));
    let a = reports::agent_performance(&db.store, ORG, &period).await.expect("agent report");
    let af = a.0.agent(AGENT).expect("agent row").figures(&s);
    assert!(close(af.occupancy, 660.0 / 14_400.0), "occupancy {:?}", af.occupancy);
    assert!(close(af.utilisation, 660.0 / 14_400.0));
    let ivr = reports::ivr_containment(&db.store, ORG, &period).await.expect("ivr");
    assert!(close(ivr.0.channel(Channel::Voice).expect("voice").figures(&s).ivr_containment, 0.5));
    let hourly = reports::hourly_arrivals(&db.store, ORG, &period).await.expect("hourly");
    let offered: Vec<u64> = hourly.hours.iter().map(|h| h.current.offered).collect();
    assert_eq!(offered[9..=11], [3, 1, 0]);
    assert_eq!(offered.iter().sum::<u64>(), 4);
}

/// A two-day stream with FCR repeats, transfers, surveys, IVR, several agents and channels.
fn busy_stream() -> Stream {
    let mut s = Stream::new();
    let issue = |n: u128| ReasonCode::parse(if n.is_multiple_of(2) { "billing" } else { "delivery" }).expect("code");
    for n in 0..120u128 {
        let base = DAY0 + (n as i64) * 23 * MINUTE_MS + 7_000;
        let when = |off_s: i64| Timestamp::from_unix_ms(base + off_s * 1000);
        let channel = [Channel::Voice, Channel::Chat, Channel::Email, Channel::WeChat][(n % 4) as usize];
        let customer = CustomerId::from_u128(500 + n % 9);
        let agent = AgentId::from_u128(20 + n % 3);
        let c = 1000 + n;
        if n.is_multiple_of(5) {
            s.contact(c, channel, when(0), ContactEventKind::IvrEntered);
        }
        if n.is_multiple_of(11) {
            s.contact(c, channel, when(20), ContactEventKind::IvrSelfServiceSucceeded);
            s.contact(c, channel, when(30), ContactEventKind::Ended);
            continue;
        }
        s.contact(
            c,
            channel,
            when(10),
            ContactEventKind::Queued { queue: QueueId::from_u128(10 + n % 2), customer: Some(customer) },
        );
        if n % 7 == 3 {
            s.contact(c, channel, when(10 + (n % 40) as i64), ContactEventKind::Abandoned);
            continue;
        }
        let wait = (n % 50) as i64;
        s.contact(c, channel, when(10 + wait), ContactEventKind::Answered { agent });
        s.agent(agent, when(10 + wait), AgentState::Busy);
        let done = 10 + wait + 300;
        s.contact(
            c,
            channel,
            when(done),
            ContactEventKind::HandlingEnded {
                agent,
                talk: DurationMs::from_secs(200 + (n % 60) as u64),
                hold: DurationMs::from_secs((n % 3) as u64 * 10),
                wrap_up: DurationMs::from_secs(30),
                transferred: n.is_multiple_of(13),
            },
        );
        s.agent(agent, when(done - 30), AgentState::WrapUp);
        s.agent(agent, when(done), AgentState::Available);
        s.contact(c, channel, when(done), ContactEventKind::IssueIdentified { issue_type: issue(n) });
        if n.is_multiple_of(3) {
            s.contact(
                c,
                channel,
                when(done + 5),
                ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, score: (n % 5) as u8 + 1 },
            );
        }
        if n % 4 == 1 {
            s.contact(
                c,
                channel,
                when(done + 6),
                ContactEventKind::SurveyAnswered { kind: SurveyKind::Nps, score: (n % 11) as u8 },
            );
        }
    }
    for a in 20..23u128 {
        s.agent(AgentId::from_u128(a), Timestamp::from_unix_ms(DAY0), AgentState::Available);
        s.agent(AgentId::from_u128(a), Timestamp::from_unix_ms(DAY0 + 2 * DAY_MS - HOUR_MS), AgentState::Offline);
    }
    s
}

async fn all_rows(db: &Db, org: OrgId) -> Vec<store::IntervalRow> {
    let mut out = Vec::new();
    let range = TimeRange::new(Timestamp::from_unix_ms(DAY0 - DAY_MS), Timestamp::from_unix_ms(DAY0 + 4 * DAY_MS));
    for length in IntervalLength::ALL {
        for kind in [IntervalDimensionKind::Queue, IntervalDimensionKind::Agent, IntervalDimensionKind::Channel] {
            out.extend(db.store.report_intervals(org, length, kind, range).await.expect("read"));
        }
    }
    out.sort_by_key(|r| (r.length, r.start, r.dimension));
    out
}

/// The same buckets from a from-scratch `kpi` aggregator, as store rows.
fn recount(events: &[Input]) -> Vec<(IntervalLength, i64, store::IntervalDimension, KpiTotals)> {
    recount_with(events, AggregateSettings::default().fcr_window_ms)
}

fn recount_with(
    events: &[Input],
    fcr_window_ms: DurationMs,
) -> Vec<(IntervalLength, i64, store::IntervalDimension, KpiTotals)> {
    let config = kpi::aggregate::AggregatorConfig {
        fcr_window_ms,
        max_lateness_ms: DurationMs::from_secs(10 * 86_400),
        contact_retention_ms: DurationMs::from_secs(10 * 86_400),
        max_open_quarter_hours: 96 * 11,
        ..kpi::aggregate::AggregatorConfig::default()
    };
    let mut agg = Aggregator::new(config).expect("config");
    let now = Timestamp::from_unix_ms(DAY0 + 3 * DAY_MS);
    for e in events {
        agg.handle(now, e.clone());
    }
    agg.snapshot()
        .into_iter()
        .map(|((g, start, dim), c)| {
            let length = match g {
                kpi::calendar::Granularity::QuarterHour => IntervalLength::QuarterHour,
                kpi::calendar::Granularity::Hour => IntervalLength::Hour,
                kpi::calendar::Granularity::Day => IntervalLength::Day,
            };
            let dim = match dim {
                kpi::aggregate::Dimension::Queue(q) => store::IntervalDimension::Queue(q),
                kpi::aggregate::Dimension::Agent(a) => store::IntervalDimension::Agent(a),
                kpi::aggregate::Dimension::Channel(c) => store::IntervalDimension::Channel(c),
            };
            (length, start, dim, KpiTotals(c.offered, c.answered, c.handled, c.talk_ms, c.fcr_repeated, c.state_ms))
        })
        .filter(|(_, _, _, t)| *t != KpiTotals(0, 0, 0, 0, 0, [0; 5]))
        .collect()
}

#[derive(Debug, PartialEq)]
struct KpiTotals(u64, u64, u64, u64, u64, [u64; 5]);

fn totals_of(rows: &[store::IntervalRow]) -> Vec<(IntervalLength, i64, store::IntervalDimension, KpiTotals)> {
    let u = |v: i64| u64::try_from(v).expect("non-negative");
    rows.iter()
        .map(|r| {
            let c = &r.counts;
            let states = [u(c[24]), u(c[25]), u(c[26]), u(c[27]), u(c[28])];
            (
                r.length,
                r.start.unix_ms(),
                r.dimension,
                KpiTotals(u(c[0]), u(c[1]), u(c[10]), u(c[11]), u(c[15]), states),
            )
        })
        .filter(|(_, _, _, t)| *t != KpiTotals(0, 0, 0, 0, 0, [0; 5]))
        .collect()
}

async fn late_out_of_order_and_duplicate_events_count_as_a_recount_does(db: &Db) {
    let settings = AggregateSettings::default();
    let events = busy_stream().events;
    let (in_order, mixed) = (OrgId::from_u128(1), OrgId::from_u128(2));
    for chunk in events.chunks(400) {
        reports::ingest(&db.store, in_order, &settings, chunk).await.expect("in order");
    }
    // Reversed halves, shuffled, in uneven batches, every batch delivered twice, plus stray repeats.
    let mut delivery = shuffled(&events, 99);
    delivery.extend(shuffled(&events[..50], 3));
    let mut i = 0;
    let mut size = 1;
    while i < delivery.len() {
        let end = (i + size).min(delivery.len());
        for _ in 0..2 {
            reports::ingest(&db.store, mixed, &settings, &delivery[i..end]).await.expect("mixed");
        }
        i = end;
        size = size % 37 + 3;
    }
    let expected = recount(&events);
    let got_in_order = totals_of(&all_rows(db, in_order).await);
    assert!(!expected.is_empty());
    assert_eq!(got_in_order.len(), expected.len(), "in-order rows");
    assert_eq!(got_in_order, expected, "in order = from-scratch recount");
    let got_mixed = all_rows(db, mixed).await;
    assert_eq!(got_mixed, all_rows(db, in_order).await, "any order and duplicates = in order (all 29 sums)");
    // A rebuild from the stored events gives the same rows.
    let written = reports::rebuild(
        &db.store,
        mixed,
        &settings,
        Timestamp::from_unix_ms(DAY0),
        Timestamp::from_unix_ms(DAY0 + 3 * DAY_MS),
    )
    .await
    .expect("rebuild");
    assert!(written > 0);
    assert_eq!(all_rows(db, mixed).await, all_rows(db, in_order).await, "rebuild = incremental");
}

/// With an FCR window of 8 hours the busy stream's repeat groups (a customer and issue every
/// ~7 hours over two days) reach far past what an ingest loads of them (two windows either side
/// of the touched contacts): the counts, FCR repeats included, are still a from-scratch recount's.
async fn a_short_fcr_window_counts_repeats_as_a_recount_does(db: &Db) {
    let window = DurationMs::from_secs(8 * 3600);
    let settings = AggregateSettings { fcr_window_ms: window, ..AggregateSettings::default() };
    let events = busy_stream().events;
    let (in_order, mixed) = (OrgId::from_u128(3), OrgId::from_u128(4));
    for chunk in events.chunks(40) {
        reports::ingest(&db.store, in_order, &settings, chunk).await.expect("in order");
    }
    let delivery = shuffled(&events, 7);
    for chunk in delivery.chunks(17) {
        reports::ingest(&db.store, mixed, &settings, chunk).await.expect("mixed");
    }
    let expected = recount_with(&events, window);
    let repeats = |rows: &[(IntervalLength, i64, store::IntervalDimension, KpiTotals)]| -> u64 {
        rows.iter()
            .filter(|(l, _, d, _)| *l == IntervalLength::Day && d.kind() == IntervalDimensionKind::Queue)
            .map(|(_, _, _, t)| t.4)
            .sum()
    };
    assert!(repeats(&expected) > 0, "the stream has repeats within 8 hours");
    assert!(repeats(&expected) < repeats(&recount(&events)), "and more within 7 days: the window matters");
    assert_eq!(totals_of(&all_rows(db, in_order).await), expected, "in order = from-scratch recount");
    assert_eq!(all_rows(db, mixed).await, all_rows(db, in_order).await, "shuffled = in order (all 29 sums)");
}

fn record(n: u128, arrived: Timestamp, outcome: ContactOutcome) -> Contact {
    let mut c = Contact::arrived(
        ContactId::from_u128(n),
        ORG,
        Channel::Voice,
        Direction::Inbound,
        "+8613800000001",
        "4000",
        arrived,
    );
    c.queue = Some(QUEUE);
    c.queued_at = Some(Timestamp::from_unix_ms(arrived.unix_ms() + 5_000));
    c.status = ContactStatus::Ended;
    c.outcome = Some(outcome);
    c
}

async fn contact_records_ingested_twice_count_once_and_abandoned_ones_are_listed(db: &Db) {
    let settings = AggregateSettings::default();
    let mut answered = record(1, at(9, 0, 0), ContactOutcome::Answered);
    answered.agent = Some(AGENT);
    answered.answered_at = Some(at(9, 0, 15));
    answered.ended_at = Some(at(9, 4, 15));
    let mut abandoned = record(2, at(9, 30, 0), ContactOutcome::Abandoned);
    abandoned.ended_at = Some(at(9, 30, 50));
    db.store.insert_contacts(&[answered.clone(), abandoned.clone()]).await.expect("insert");
    for c in [&answered, &abandoned] {
        reports::ingest(&db.store, ORG, &settings, &reports::contact_inputs(c)).await.expect("first");
    }
    // The survey and wrap-up arrive later: the record is updated and ingested again.
    answered.wrap_up_ended_at = Some(at(9, 4, 45));
    answered.csat = Some(4);
    let again = reports::ingest(&db.store, ORG, &settings, &reports::contact_inputs(&answered)).await.expect("again");
    assert_eq!(again.counted, 1, "only the survey is new: {again:?}");
    let period = ReportPeriod::range(day(0), UtcOffset::UTC);
    let q = reports::queue_performance(&db.store, ORG, &period).await.expect("report");
    let row = q.0.queue(QUEUE).expect("row");
    assert_eq!(
        (row.current.offered, row.current.answered, row.current.abandoned, row.current.csat_responses),
        (2, 1, 1, 1)
    );
    assert_eq!(row.current.talk_ms, 240_000);
    let list = reports::abandoned_contacts(&db.store, ORG, &period).await.expect("abandoned");
    assert_eq!(list.contacts.iter().map(|c| c.contact).collect::<Vec<_>>(), vec![abandoned.id]);
}

/// Yesterday: 8 offered, 7 answered (87.5%), AHT 135 s. Today: 10 offered, 9 answered (90%),
/// AHT 120 s. Changes: +2.5 pp and −11% (KPI.md's style).
async fn day_over_day_changes_are_points_for_rates_and_percent_for_quantities(db: &Db) {
    let settings = AggregateSettings::default();
    let mut s = Stream::new();
    let mut n = 0u128;
    for (d, offered, answered, handle_s) in [(0i64, 8u128, 7u128, 135u64), (1, 10, 9, 120)] {
        for i in 0..offered {
            n += 1;
            let queued = Timestamp::from_unix_ms(DAY0 + d * DAY_MS + 9 * HOUR_MS + i as i64 * 10 * MINUTE_MS);
            if i < answered {
                s.answered(n, queued, 5, handle_s - 15, 0, 15, None, false);
            } else {
                s.abandoned(n, queued, 60);
            }
        }
    }
    reports::ingest(&db.store, ORG, &settings, &shuffled(&s.events, 5)).await.expect("ingest");
    let period = ReportPeriod::day_vs_previous(Timestamp::from_unix_ms(DAY0 + DAY_MS + HOUR_MS), UtcOffset::UTC);
    let report = reports::queue_performance(&db.store, ORG, &period).await.expect("report");
    let row = report.0.queue(QUEUE).expect("row");
    let fs = FigureSettings::default();
    match row.change(Kpi::AnswerRate, &fs) {
        Some(Change::PercentagePoints(pp)) => assert!((pp - 2.5).abs() < 1e-9, "{pp}"),
        other => panic!("answer rate change {other:?}"),
    }
    match row.change(Kpi::AverageHandleTime, &fs) {
        Some(change @ Change::RelativePercent(p)) => {
            assert!((p - (120.0 - 135.0) / 135.0 * 100.0).abs() < 1e-9, "{p}");
            assert_eq!(change.format(kpi::compare::Locale::English), "\u{2212}11%");
        }
        other => panic!("AHT change {other:?}"),
    }
    // Live view at 09:45 on day 1: today so far vs yesterday up to 09:45 (5 contacts each side).
    let live = ReportPeriod::today_vs_yesterday(
        Timestamp::from_unix_ms(DAY0 + DAY_MS + 9 * HOUR_MS + 45 * MINUTE_MS),
        UtcOffset::UTC,
    );
    let report = reports::queue_performance(&db.store, ORG, &live).await.expect("live report");
    let row = report.0.queue(QUEUE).expect("row");
    assert_eq!((row.current.offered, row.previous.map(|p| p.offered)), (5, Some(5)));
    assert_eq!(row.change(Kpi::Offered, &fs), Some(Change::RelativePercent(0.0)));
}

on_every_backend!(
    hand_computed_day_reads_back_as_figures,
    late_out_of_order_and_duplicate_events_count_as_a_recount_does,
    a_short_fcr_window_counts_repeats_as_a_recount_does,
    contact_records_ingested_twice_count_once_and_abandoned_ones_are_listed,
    day_over_day_changes_are_points_for_rates_and_percent_for_quantities,
);
