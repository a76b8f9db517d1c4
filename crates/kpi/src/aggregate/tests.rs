//! Behaviour of the aggregator: attribution, late and out-of-order events, duplicates, limits,
//! and the property that incremental aggregates equal a from-scratch recomputation.

use model::{
    AgentId, AgentState, AgentStateChangeId, Channel, ContactEventId, ContactId, CustomerId, DurationMs, QueueId,
    ReasonCode, SurveyKind, Timestamp,
};
use proptest::prelude::*;

use super::reference::recompute;
use super::*;
use crate::calendar::MINUTE_MS;
use crate::figures::{FigureSettings, Figures, state_index};

const Q: QueueId = QueueId::from_u128(1);
const Q2: QueueId = QueueId::from_u128(2);
const A: AgentId = AgentId::from_u128(10);
const B: AgentId = AgentId::from_u128(11);
/// 2026-11-27 00:00 UTC.
const DAY: i64 = 1_795_737_600_000;

fn t(minutes: i64, seconds: i64) -> Timestamp {
    Timestamp::from_unix_ms(DAY + minutes * MINUTE_MS + seconds * 1000)
}

/// Builds events with fresh ids.
#[derive(Default)]
struct Feed {
    next_id: u128,
}

impl Feed {
    fn contact(&mut self, contact: u128, at: Timestamp, kind: ContactEventKind) -> Input {
        self.next_id += 1;
        Input::Contact(ContactEvent {
            id: ContactEventId::from_u128(self.next_id),
            contact: ContactId::from_u128(contact),
            channel: Channel::Voice,
            at,
            kind,
        })
    }

    fn state(&mut self, agent: AgentId, at: Timestamp, state: AgentState) -> Input {
        self.next_id += 1;
        Input::AgentState(AgentStateEvent { id: AgentStateChangeId::from_u128(self.next_id), agent, at, state })
    }
}

fn queued(queue: QueueId) -> ContactEventKind {
    ContactEventKind::Queued { queue, customer: None }
}

fn handled(agent: AgentId, talk_s: u64, transferred: bool) -> ContactEventKind {
    ContactEventKind::HandlingEnded {
        agent,
        talk: DurationMs::from_secs(talk_s),
        hold: DurationMs::from_secs(10),
        wrap_up: DurationMs::from_secs(20),
        transferred,
    }
}

fn aggregator() -> Aggregator {
    Aggregator::new(AggregatorConfig::default()).unwrap_or_else(|e| panic!("default config is valid: {e}"))
}

fn feed(agg: &mut Aggregator, now: Timestamp, inputs: impl IntoIterator<Item = Input>) {
    for i in inputs {
        agg.handle(now, i);
    }
}

fn quarter(agg: &Aggregator, minutes: i64, dim: Dimension) -> KpiCounts {
    agg.interval(Granularity::QuarterHour, t(minutes, 0), dim).copied().unwrap_or_default()
}

#[test]
fn contact_counts_where_offered_and_handling_where_it_ended() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    // Queued 10:14:50, answered 10:15:05 (wait 15 s), handling ended 10:31.
    let events = [
        f.contact(1, t(614, 50), queued(Q)),
        f.contact(1, t(615, 5), ContactEventKind::Answered { agent: A }),
        f.contact(1, t(631, 0), handled(A, 600, false)),
    ];
    feed(&mut agg, t(632, 0), events);
    let offered = quarter(&agg, 600, Dimension::Queue(Q));
    assert_eq!((offered.offered, offered.answered, offered.answered_within_threshold), (1, 1, 1));
    assert_eq!(offered.answered_wait_ms, 15_000);
    assert_eq!(offered.handled, 0);
    let ended = quarter(&agg, 630, Dimension::Queue(Q));
    assert_eq!(
        (ended.offered, ended.handled, ended.talk_ms, ended.hold_ms, ended.acw_ms),
        (0, 1, 600_000, 10_000, 20_000)
    );
    assert_eq!(quarter(&agg, 630, Dimension::Agent(A)).handled, 1);
    assert_eq!(quarter(&agg, 600, Dimension::Agent(A)).answered, 1);
    assert_eq!(quarter(&agg, 600, Dimension::Channel(Channel::Voice)).offered, 1);
}

#[test]
fn answer_that_arrives_before_the_queue_entry_still_counts_with_its_wait() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let answered = f.contact(1, t(601, 0), ContactEventKind::Answered { agent: A });
    let entry = f.contact(1, t(600, 30), queued(Q));
    feed(&mut agg, t(602, 0), [answered]);
    assert_eq!(quarter(&agg, 600, Dimension::Queue(Q)), KpiCounts::default());
    feed(&mut agg, t(602, 0), [entry]);
    let c = quarter(&agg, 600, Dimension::Queue(Q));
    assert_eq!((c.offered, c.answered, c.answered_within_threshold, c.answered_wait_ms), (1, 1, 0, 30_000));
}

#[test]
fn late_event_updates_its_old_interval() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let entry = f.contact(1, t(60, 0), queued(Q));
    let abandon = f.contact(1, t(60, 40), ContactEventKind::Abandoned);
    feed(&mut agg, t(61, 0), [entry]);
    // Five hours later the abandon finally arrives.
    feed(&mut agg, t(360, 0), [abandon]);
    let c = quarter(&agg, 60, Dimension::Queue(Q));
    assert_eq!((c.offered, c.abandoned, c.abandoned_short, c.abandoned_wait_ms), (1, 1, 0, 40_000));
    let hour = agg.interval(Granularity::Hour, t(60, 0), Dimension::Queue(Q)).copied().unwrap_or_default();
    assert_eq!(hour.abandoned, 1);
}

#[test]
fn duplicate_event_id_is_ignored() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let entry = f.contact(1, t(0, 0), queued(Q));
    assert_eq!(agg.handle(t(1, 0), entry.clone()), Applied::Counted);
    assert_eq!(agg.handle(t(1, 0), entry), Applied::Duplicate);
    assert_eq!(quarter(&agg, 0, Dimension::Queue(Q)).offered, 1);
    assert_eq!(agg.counters().duplicates, 1);
}

#[test]
fn dedup_window_is_bounded_by_its_capacity() {
    let mut f = Feed::default();
    let config = AggregatorConfig { max_remembered_event_ids: 2, ..AggregatorConfig::default() };
    let mut agg = Aggregator::new(config).unwrap_or_else(|e| panic!("{e}"));
    let first = f.contact(1, t(0, 0), ContactEventKind::IvrEntered);
    feed(&mut agg, t(1, 0), [first.clone(), f.contact(2, t(0, 0), queued(Q)), f.contact(3, t(0, 0), queued(Q))]);
    // The first id fell out of the window: it is no longer recognised (the documented trade-off).
    assert_eq!(agg.handle(t(1, 0), first), Applied::Counted);
}

#[test]
fn short_abandon_is_classified_with_the_queue_threshold() {
    let mut f = Feed::default();
    let thresholds = QueueThresholds {
        service_level_threshold_ms: DurationMs::from_secs(30),
        short_abandon_ms: DurationMs::from_secs(10),
    };
    let config = AggregatorConfig { queue_thresholds: [(Q2, thresholds)].into(), ..AggregatorConfig::default() };
    let mut agg = Aggregator::new(config).unwrap_or_else(|e| panic!("{e}"));
    let events = [
        f.contact(1, t(0, 0), queued(Q)),
        f.contact(1, t(0, 8), ContactEventKind::Abandoned),
        f.contact(2, t(0, 0), queued(Q2)),
        f.contact(2, t(0, 8), ContactEventKind::Abandoned),
    ];
    feed(&mut agg, t(1, 0), events);
    assert_eq!(quarter(&agg, 0, Dimension::Queue(Q)).abandoned_short, 0, "default short abandon is 5 s");
    assert_eq!(quarter(&agg, 0, Dimension::Queue(Q2)).abandoned_short, 1);
}

#[test]
fn agent_state_time_is_split_across_interval_boundaries() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let events = [
        f.state(A, t(10, 0), AgentState::Busy),
        f.state(A, t(20, 0), AgentState::WrapUp),
        f.state(A, t(21, 0), AgentState::Available),
        f.state(A, t(31, 0), AgentState::Offline),
    ];
    feed(&mut agg, t(40, 0), events);
    let first = quarter(&agg, 0, Dimension::Agent(A));
    let second = quarter(&agg, 15, Dimension::Agent(A));
    let third = quarter(&agg, 30, Dimension::Agent(A));
    assert_eq!(first.state_ms[state_index(AgentState::Busy)], 5 * MINUTE_MS as u64);
    assert_eq!(second.state_ms[state_index(AgentState::Busy)], 5 * MINUTE_MS as u64);
    assert_eq!(second.state_ms[state_index(AgentState::WrapUp)], MINUTE_MS as u64);
    assert_eq!(second.state_ms[state_index(AgentState::Available)], 9 * MINUTE_MS as u64);
    assert_eq!(third.state_ms[state_index(AgentState::Available)], MINUTE_MS as u64);
    let figures = Figures::compute(&second, &FigureSettings::default());
    assert_eq!(figures.occupancy, Some(6.0 / 15.0));
}

#[test]
fn late_state_change_splits_the_segment_it_falls_in() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let busy = f.state(A, t(0, 0), AgentState::Busy);
    let away = f.state(A, t(10, 0), AgentState::Away);
    let late_available = f.state(A, t(4, 0), AgentState::Available);
    feed(&mut agg, t(11, 0), [busy, away, late_available]);
    let c = quarter(&agg, 0, Dimension::Agent(A));
    assert_eq!(c.state_ms[state_index(AgentState::Busy)], 4 * MINUTE_MS as u64);
    assert_eq!(c.state_ms[state_index(AgentState::Available)], 6 * MINUTE_MS as u64);
    assert_eq!(agg.agent_state(A), Some((AgentState::Away, t(10, 0))));
}

#[test]
fn repeat_within_window_marks_the_first_contact_not_resolved() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let customer = Some(CustomerId::from_u128(7));
    let billing = ReasonCode::parse("billing").unwrap_or_else(|e| panic!("{e}"));
    let first = [
        f.contact(1, t(0, 0), ContactEventKind::Queued { queue: Q, customer }),
        f.contact(1, t(0, 10), ContactEventKind::Answered { agent: A }),
        f.contact(1, t(5, 0), handled(A, 200, false)),
        f.contact(1, t(5, 0), ContactEventKind::IssueIdentified { issue_type: billing.clone() }),
    ];
    feed(&mut agg, t(6, 0), first);
    let fcr =
        |agg: &Aggregator| agg.interval(Granularity::Day, t(0, 0), Dimension::Queue(Q)).copied().unwrap_or_default();
    assert_eq!((fcr(&agg).fcr_handled, fcr(&agg).fcr_repeated), (1, 0));
    // Three hours later the same customer calls about billing again; its issue type comes first.
    let repeat = [
        f.contact(2, t(190, 0), ContactEventKind::IssueIdentified { issue_type: billing }),
        f.contact(2, t(180, 0), ContactEventKind::Queued { queue: Q, customer }),
    ];
    feed(&mut agg, t(191, 0), repeat);
    assert_eq!((fcr(&agg).fcr_handled, fcr(&agg).fcr_repeated), (1, 1));
    assert_eq!(quarter(&agg, 0, Dimension::Queue(Q)).fcr_repeated, 1, "counted where the first one's handling ended");
}

#[test]
fn contact_after_the_window_or_on_another_issue_is_not_a_repeat() {
    let mut f = Feed::default();
    let config = AggregatorConfig { fcr_window_ms: DurationMs::from_secs(3600), ..AggregatorConfig::default() };
    let mut agg = Aggregator::new(config).unwrap_or_else(|e| panic!("{e}"));
    let customer = Some(CustomerId::from_u128(7));
    let code = |s: &str| ReasonCode::parse(s).unwrap_or_else(|e| panic!("{e}"));
    let story = |f: &mut Feed, contact: u128, minute: i64, issue: &str| {
        [
            f.contact(contact, t(minute, 0), ContactEventKind::Queued { queue: Q, customer }),
            f.contact(contact, t(minute + 5, 0), handled(A, 100, false)),
            f.contact(contact, t(minute + 5, 0), ContactEventKind::IssueIdentified { issue_type: code(issue) }),
        ]
    };
    let first = story(&mut f, 1, 0, "billing");
    let other_issue = story(&mut f, 2, 10, "delivery");
    let too_late = story(&mut f, 3, 70, "billing");
    feed(&mut agg, t(80, 0), first.into_iter().chain(other_issue).chain(too_late));
    let day = agg.interval(Granularity::Day, t(0, 0), Dimension::Queue(Q)).copied().unwrap_or_default();
    assert_eq!((day.fcr_handled, day.fcr_repeated), (3, 0));
}

#[test]
fn quarter_hours_of_a_day_merge_to_the_day_bucket() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let mut events = Vec::new();
    for c in 0..40i64 {
        events.push(f.contact(c as u128, t(c * 17, 0), queued(Q)));
        let kind = if c % 3 == 0 { ContactEventKind::Abandoned } else { ContactEventKind::Answered { agent: A } };
        events.push(f.contact(c as u128, t(c * 17, c), kind));
    }
    feed(&mut agg, t(40 * 17, 0), events);
    let period = crate::compare::Period { start: t(0, 0), end: t(24 * 60, 0) };
    let dim = Dimension::Queue(Q);
    let live = agg.total(IntervalQuery { granularity: Granularity::QuarterHour, dimension: dim, period });
    let day = agg.total(IntervalQuery { granularity: Granularity::Day, dimension: dim, period });
    assert_eq!(live, day);
    assert_eq!(live.offered, 40);
}

#[test]
fn ivr_containment_is_taken_back_when_a_late_queue_entry_arrives() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let ivr = [
        f.contact(1, t(0, 0), ContactEventKind::IvrEntered),
        f.contact(1, t(1, 0), ContactEventKind::IvrSelfServiceSucceeded),
        f.contact(1, t(3, 0), ContactEventKind::Ended),
    ];
    feed(&mut agg, t(4, 0), ivr);
    let voice = |agg: &Aggregator| quarter(agg, 0, Dimension::Channel(Channel::Voice));
    assert_eq!((voice(&agg).ivr_entered, voice(&agg).ivr_contained), (1, 1));
    let late_entry = f.contact(1, t(2, 0), queued(Q));
    feed(&mut agg, t(4, 0), [late_entry]);
    assert_eq!((voice(&agg).ivr_entered, voice(&agg).ivr_contained), (1, 0));
}

#[test]
fn surveys_and_transfers_count_with_the_contact() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let events = [
        f.contact(1, t(0, 0), queued(Q)),
        f.contact(1, t(0, 5), ContactEventKind::Answered { agent: A }),
        f.contact(1, t(20, 0), handled(A, 100, true)),
        f.contact(1, t(25, 0), handled(B, 100, false)),
        f.contact(1, t(26, 0), ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, score: 4 }),
        f.contact(1, t(26, 0), ContactEventKind::SurveyAnswered { kind: SurveyKind::Nps, score: 6 }),
    ];
    feed(&mut agg, t(27, 0), events);
    let c = quarter(&agg, 0, Dimension::Queue(Q));
    assert_eq!((c.transferred, c.csat_responses, c.csat_top_two, c.nps_detractors), (1, 1, 1, 1));
    assert_eq!(quarter(&agg, 15, Dimension::Queue(Q)).handled, 2, "one handled per agent segment");
}

#[test]
fn out_of_range_survey_score_is_refused() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let bad = f.contact(1, t(0, 0), ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, score: 9 });
    assert_eq!(agg.handle(t(1, 0), bad), Applied::InvalidScore);
    assert_eq!(agg.counters().invalid_scores, 1);
}

#[test]
fn events_beyond_lateness_or_clock_skew_are_refused() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    let now = t(3 * 24 * 60, 0);
    assert_eq!(agg.handle(now, f.contact(1, t(0, 0), queued(Q))), Applied::TooLate);
    assert_eq!(agg.handle(now, f.contact(2, t(3 * 24 * 60 + 10, 0), queued(Q))), Applied::InFuture);
    assert!(agg.snapshot().is_empty());
}

#[test]
fn tracked_contacts_stay_under_their_limit() {
    let mut f = Feed::default();
    let config = AggregatorConfig { max_tracked_contacts: 10, ..AggregatorConfig::default() };
    let mut agg = Aggregator::new(config).unwrap_or_else(|e| panic!("{e}"));
    for c in 0..100 {
        agg.handle(t(60, 0), f.contact(c, t(0, c as i64), queued(Q)));
    }
    assert_eq!(agg.tracked_contacts(), 10);
    assert_eq!(agg.counters().contacts_forgotten_early, 90);
    assert_eq!(quarter(&agg, 0, Dimension::Queue(Q)).offered, 100, "forgotten contacts stay counted");
}

#[test]
fn open_intervals_stay_under_their_limit_and_dropped_ones_are_not_recreated() {
    let mut f = Feed::default();
    let config = AggregatorConfig {
        max_open_quarter_hours: 96,
        max_lateness_ms: DurationMs::from_secs(3600),
        ..AggregatorConfig::default()
    };
    let mut agg = Aggregator::new(config).unwrap_or_else(|e| panic!("{e}"));
    for q in 0..200 {
        agg.handle(t(q * 15, 0), f.contact(q as u128, t(q * 15, 0), queued(Q)));
    }
    assert_eq!(agg.open_intervals(Granularity::QuarterHour), 96);
    assert_eq!(quarter(&agg, 0, Dimension::Queue(Q)), KpiCounts::default());
}

#[test]
fn agents_beyond_the_limit_are_refused_and_counted() {
    let mut f = Feed::default();
    let config = AggregatorConfig { max_tracked_agents: 1, ..AggregatorConfig::default() };
    let mut agg = Aggregator::new(config).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(agg.handle(t(5, 0), f.state(A, t(0, 0), AgentState::Available)), Applied::Counted);
    let refused = f.state(B, t(0, 0), AgentState::Available);
    assert_eq!(agg.handle(t(5, 0), refused.clone()), Applied::OverLimit);
    assert_eq!(agg.handle(t(5, 0), refused), Applied::OverLimit, "a retry is not taken for a duplicate");
    assert_eq!(agg.counters().agent_events_refused, 2);
    assert_eq!(agg.agent_state(B), None);
}

#[test]
fn state_changes_per_agent_are_bounded() {
    let mut f = Feed::default();
    let config = AggregatorConfig { max_state_changes_per_agent: 3, ..AggregatorConfig::default() };
    let mut agg = Aggregator::new(config).unwrap_or_else(|e| panic!("{e}"));
    for m in 0..10 {
        let state = if m % 2 == 0 { AgentState::Busy } else { AgentState::Available };
        agg.handle(t(10, 0), f.state(A, t(m, 0), state));
    }
    assert_eq!(agg.counters().state_changes_forgotten_early, 7);
    // A change before the kept part can no longer be slotted in exactly, so it is refused.
    assert_eq!(agg.handle(t(10, 0), f.state(A, t(0, 30), AgentState::Away)), Applied::OverLimit);
    let c = quarter(&agg, 0, Dimension::Agent(A));
    assert_eq!(
        c.state_ms[state_index(AgentState::Busy)] + c.state_ms[state_index(AgentState::Available)],
        9 * MINUTE_MS as u64
    );
}

#[test]
fn longest_waiting_follows_the_queue() {
    let mut f = Feed::default();
    let mut agg = aggregator();
    feed(&mut agg, t(5, 0), [f.contact(1, t(1, 0), queued(Q)), f.contact(2, t(2, 0), queued(Q))]);
    assert_eq!(agg.waiting(Q), Some((t(1, 0), 2)));
    feed(&mut agg, t(5, 0), [f.contact(1, t(3, 0), ContactEventKind::Answered { agent: A })]);
    assert_eq!(agg.waiting(Q), Some((t(2, 0), 1)));
    feed(&mut agg, t(5, 0), [f.contact(2, t(4, 0), ContactEventKind::LeftQueue)]);
    assert_eq!(agg.waiting(Q), None);
}

#[test]
fn config_that_cannot_hold_late_events_is_refused() {
    let config = AggregatorConfig { max_open_quarter_hours: 4, ..AggregatorConfig::default() };
    let err = Aggregator::new(config).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("max_open_quarter_hours must cover max_lateness_ms (late events must find their interval)")
    );
}

// ---- property: incremental == from scratch ----

/// One generated contact's story, turned into events below.
#[derive(Debug, Clone)]
struct Story {
    channel: usize,
    ivr: Option<(bool, bool)>,
    queue: Option<(usize, Option<u128>)>,
    /// 0 = still waiting, 1 = answered, 2 = abandoned, 3 = left the queue.
    outcome: u8,
    wait_s: i64,
    segments: Vec<(usize, u64, bool)>,
    issue: Option<usize>,
    csat: Option<u8>,
    nps: Option<u8>,
    start_s: i64,
}

fn story() -> impl Strategy<Value = Story> {
    (
        (0..3usize, proptest::option::of((any::<bool>(), any::<bool>()))),
        proptest::option::weighted(0.85, (0..3usize, proptest::option::of(0..4u128))),
        (0..4u8, 0..120i64, proptest::collection::vec((0..4usize, 0..900u64, any::<bool>()), 0..3)),
        (proptest::option::of(0..3usize), proptest::option::of(0..7u8), proptest::option::of(0..12u8)),
        0..(8 * 3600i64),
    )
        .prop_map(|((channel, ivr), queue, (outcome, wait_s, segments), (issue, csat, nps), start_s)| Story {
            channel,
            ivr,
            queue,
            outcome,
            wait_s,
            segments,
            issue,
            csat,
            nps,
            start_s,
        })
}

fn story_events(f: &mut Feed, contact: u128, s: &Story, out: &mut Vec<Input>) {
    let channel = [Channel::Voice, Channel::Chat, Channel::Email][s.channel];
    let at = |offset_s: i64| t(0, s.start_s + offset_s);
    let mut push = |f: &mut Feed, when: Timestamp, kind| {
        if let Input::Contact(mut e) = f.contact(contact, when, kind) {
            e.channel = channel;
            out.push(Input::Contact(e));
        }
    };
    if let Some((self_served, ended)) = s.ivr {
        push(f, at(0), ContactEventKind::IvrEntered);
        if self_served {
            push(f, at(20), ContactEventKind::IvrSelfServiceSucceeded);
        }
        if ended && s.queue.is_none() {
            push(f, at(40), ContactEventKind::Ended);
        }
    }
    let Some((queue, customer)) = s.queue else { return };
    let queue = QueueId::from_u128(100 + queue as u128);
    push(f, at(60), ContactEventKind::Queued { queue, customer: customer.map(CustomerId::from_u128) });
    let resolved = at(60 + s.wait_s);
    match s.outcome {
        1 => {
            push(f, resolved, ContactEventKind::Answered { agent: AgentId::from_u128(200 + s.segments.len() as u128) })
        }
        2 => push(f, resolved, ContactEventKind::Abandoned),
        3 => push(f, resolved, ContactEventKind::LeftQueue),
        _ => {}
    }
    let mut end = 60 + s.wait_s;
    for (agent, talk_s, transferred) in &s.segments {
        end += *talk_s as i64 + 30;
        let kind = ContactEventKind::HandlingEnded {
            agent: AgentId::from_u128(200 + *agent as u128),
            talk: DurationMs::from_secs(*talk_s),
            hold: DurationMs::from_secs(10),
            wrap_up: DurationMs::from_secs(20),
            transferred: *transferred,
        };
        push(f, at(end), kind);
    }
    if let Some(issue) = s.issue {
        let code = ReasonCode::parse(["billing", "delivery", "refund"][issue]).unwrap_or_else(|e| panic!("{e}"));
        push(f, at(end + 1), ContactEventKind::IssueIdentified { issue_type: code });
    }
    if let Some(score) = s.csat {
        push(f, at(end + 5), ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, score });
    }
    if let Some(score) = s.nps {
        push(f, at(end + 6), ContactEventKind::SurveyAnswered { kind: SurveyKind::Nps, score });
    }
}

fn state_events(f: &mut Feed, changes: &[(usize, i64, usize)], out: &mut Vec<Input>) {
    for (agent, at_s, state) in changes {
        out.push(f.state(AgentId::from_u128(200 + *agent as u128), t(0, *at_s), AgentState::ALL[*state]));
    }
}

/// Shuffles with a seeded xorshift (proptest shrinks the seed, not the permutation).
fn shuffle(items: &mut [Input], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn incremental_aggregates_equal_a_from_scratch_recomputation(
        stories in proptest::collection::vec(story(), 0..60),
        changes in proptest::collection::vec((0..4usize, 0..(9 * 3600i64), 0..5usize), 0..60),
        duplicates in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
        seed in 1..u64::MAX,
    ) {
        let mut f = Feed::default();
        let mut events = Vec::new();
        for (i, s) in stories.iter().enumerate() {
            story_events(&mut f, i as u128, s, &mut events);
        }
        state_events(&mut f, &changes, &mut events);
        let expected = recompute(&AggregatorConfig::default(), &events);
        if !events.is_empty() {
            let copies: Vec<Input> = duplicates.iter().map(|i| events[i.index(events.len())].clone()).collect();
            events.extend(copies);
        }
        shuffle(&mut events, seed);
        let mut agg = aggregator();
        // The clock is the latest event time seen so far: anything older arrives late.
        let mut now = t(0, 0);
        for e in events {
            now = now.max(e.at());
            agg.handle(now, e);
        }
        prop_assert_eq!(agg.snapshot(), expected);
    }
}
