//! The bridge between the `kpi` aggregator and the store's interval rows: the aggregator
//! configuration used for replays, a replay of a set of events into buckets, and the signed
//! difference between two replays as store deltas. Pure: no IO, no clock.

use std::collections::{BTreeMap, HashMap};

use kpi::aggregate::{
    AgentStateEvent, Aggregator, AggregatorConfig, ContactEvent, Dimension, Input, QueueThresholds, Snapshot,
};
use kpi::calendar::{DAY_MS, Granularity, UtcOffset};
use kpi::figures::{AGENT_STATES, KpiCounts};
use model::{DurationMs, QueueId, Timestamp};
use store::{IntervalCounts, IntervalDimension, IntervalLength, IntervalRow};

use crate::ReportError;

/// How far apart the events of one replay may be (older ones would be refused as too late).
pub const MAX_REPLAY_SPAN_MS: i64 = 400 * DAY_MS;

/// What decides how events are counted. Changing any of it means rebuilding the aggregates
/// ([`crate::rebuild`]): stored intervals were counted with the old values.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateSettings {
    /// Local day boundaries (Asia/Shanghai is +08:00).
    pub utc_offset: UtcOffset,
    pub default_thresholds: QueueThresholds,
    pub queue_thresholds: HashMap<QueueId, QueueThresholds>,
    /// First-contact resolution window (KPI.md default 7 days).
    pub fcr_window_ms: DurationMs,
    /// How far back an agent's previous state change is looked for when a new one arrives, ms.
    /// A state older than this is treated as ended (its time up to the new change is not added).
    pub agent_lookback_ms: i64,
    /// How far before a rebuilt range a contact's first event may be for the contact to be
    /// recounted there (a contact whose events span more than this is partly missed by a rebuild).
    pub contact_lookback_ms: i64,
}

impl Default for AggregateSettings {
    fn default() -> Self {
        Self {
            utc_offset: UtcOffset::UTC,
            default_thresholds: QueueThresholds::default(),
            queue_thresholds: HashMap::new(),
            fcr_window_ms: DurationMs::from_secs(7 * 86_400),
            agent_lookback_ms: 31 * DAY_MS,
            contact_lookback_ms: 8 * DAY_MS,
        }
    }
}

impl AggregateSettings {
    /// The aggregator configuration of a replay: these settings, and limits wide enough that a
    /// replay never forgets or drops anything within [`MAX_REPLAY_SPAN_MS`].
    pub(crate) fn aggregator_config(&self, contacts: usize, events: usize) -> AggregatorConfig {
        let span = DurationMs::from_ms(MAX_REPLAY_SPAN_MS.unsigned_abs());
        let days = (MAX_REPLAY_SPAN_MS / DAY_MS) as usize + 2;
        AggregatorConfig {
            utc_offset: self.utc_offset,
            default_thresholds: self.default_thresholds,
            queue_thresholds: self.queue_thresholds.clone(),
            fcr_window_ms: self.fcr_window_ms,
            max_lateness_ms: span,
            max_clock_skew_ms: DurationMs::from_ms(0),
            contact_retention_ms: span.max(self.fcr_window_ms),
            max_tracked_contacts: contacts.max(1),
            max_tracked_agents: events.max(1),
            max_segments_per_contact: 64,
            max_contacts_per_repeat_group: 256,
            max_state_changes_per_agent: events.max(1),
            max_remembered_event_ids: events.max(1),
            max_open_quarter_hours: days * 96,
            max_open_hours: days * 24,
            max_open_days: days,
        }
    }
}

/// Replays events from scratch and returns every non-empty bucket.
pub(crate) fn replay(
    settings: &AggregateSettings,
    contacts: &[&[ContactEvent]],
    agents: &[AgentStateEvent],
) -> Result<Snapshot, ReportError> {
    let n_contacts = contacts.len();
    let n_events = contacts.iter().map(|c| c.len()).sum::<usize>() + agents.len();
    let latest = contacts.iter().flat_map(|c| c.iter().map(|e| e.at)).chain(agents.iter().map(|e| e.at)).max();
    let Some(now) = latest else { return Ok(Snapshot::new()) };
    let mut agg = Aggregator::new(settings.aggregator_config(n_contacts, n_events))?;
    for e in contacts.iter().flat_map(|c| c.iter()) {
        agg.handle(now, Input::Contact(e.clone()));
    }
    for e in agents {
        agg.handle(now, Input::AgentState(e.clone()));
    }
    Ok(agg.snapshot())
}

pub(crate) fn length_of(g: Granularity) -> IntervalLength {
    match g {
        Granularity::QuarterHour => IntervalLength::QuarterHour,
        Granularity::Hour => IntervalLength::Hour,
        Granularity::Day => IntervalLength::Day,
    }
}

fn dimension_of(d: Dimension) -> IntervalDimension {
    match d {
        Dimension::Queue(q) => IntervalDimension::Queue(q),
        Dimension::Agent(a) => IntervalDimension::Agent(a),
        Dimension::Channel(c) => IntervalDimension::Channel(c),
    }
}

/// `KpiCounts` as the store's columns (same order as `store::INTERVAL_COUNT_COLUMNS`).
pub(crate) fn to_columns(c: &KpiCounts) -> [u64; 29] {
    let mut out = [0u64; 29];
    let head = [
        c.offered,
        c.answered,
        c.answered_within_threshold,
        c.abandoned,
        c.abandoned_within_threshold,
        c.abandoned_short,
        c.abandoned_short_within_threshold,
        c.answered_wait_ms,
        c.abandoned_wait_ms,
        c.transferred,
        c.handled,
        c.talk_ms,
        c.hold_ms,
        c.acw_ms,
        c.fcr_handled,
        c.fcr_repeated,
        c.ivr_entered,
        c.ivr_contained,
        c.csat_responses,
        c.csat_top_two,
        c.csat_score_sum,
        c.nps_responses,
        c.nps_promoters,
        c.nps_detractors,
    ];
    out[..24].copy_from_slice(&head);
    out[24..24 + AGENT_STATES].copy_from_slice(&c.state_ms);
    out
}

/// The store's columns back as `KpiCounts`; a negative stored sum (only possible by hand
/// editing) reads as zero.
pub(crate) fn from_columns(v: &IntervalCounts) -> KpiCounts {
    let u = |i: usize| u64::try_from(v[i]).unwrap_or(0);
    let mut state_ms = [0u64; AGENT_STATES];
    for (i, s) in state_ms.iter_mut().enumerate() {
        *s = u(24 + i);
    }
    KpiCounts {
        offered: u(0),
        answered: u(1),
        answered_within_threshold: u(2),
        abandoned: u(3),
        abandoned_within_threshold: u(4),
        abandoned_short: u(5),
        abandoned_short_within_threshold: u(6),
        answered_wait_ms: u(7),
        abandoned_wait_ms: u(8),
        transferred: u(9),
        handled: u(10),
        talk_ms: u(11),
        hold_ms: u(12),
        acw_ms: u(13),
        fcr_handled: u(14),
        fcr_repeated: u(15),
        ivr_entered: u(16),
        ivr_contained: u(17),
        csat_responses: u(18),
        csat_top_two: u(19),
        csat_score_sum: u(20),
        nps_responses: u(21),
        nps_promoters: u(22),
        nps_detractors: u(23),
        state_ms,
    }
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Every bucket of `after` minus the same bucket of `before`, as store deltas (unchanged buckets
/// left out).
pub(crate) fn difference(before: &Snapshot, after: &Snapshot) -> Vec<IntervalRow> {
    let mut keys: BTreeMap<(Granularity, i64, Dimension), ()> = BTreeMap::new();
    keys.extend(before.keys().map(|k| (*k, ())));
    keys.extend(after.keys().map(|k| (*k, ())));
    let zero = KpiCounts::default();
    let mut out = Vec::new();
    for (key @ (g, start, dim), ()) in keys {
        let (b, a) = (to_columns(before.get(&key).unwrap_or(&zero)), to_columns(after.get(&key).unwrap_or(&zero)));
        if a == b {
            continue;
        }
        let mut counts = [0i64; 29];
        for i in 0..29 {
            counts[i] = signed(a[i]) - signed(b[i]);
        }
        out.push(IntervalRow {
            length: length_of(g),
            start: Timestamp::from_unix_ms(start),
            dimension: dimension_of(dim),
            counts,
        });
    }
    out
}

/// Every bucket of a snapshot whose interval starts in `[from, to)`, as store rows.
pub(crate) fn rows_in(snapshot: &Snapshot, from: Timestamp, to: Timestamp) -> Vec<IntervalRow> {
    snapshot
        .iter()
        .filter(|((_, start, _), _)| *start >= from.unix_ms() && *start < to.unix_ms())
        .map(|((g, start, dim), c)| IntervalRow {
            length: length_of(*g),
            start: Timestamp::from_unix_ms(*start),
            dimension: dimension_of(*dim),
            counts: to_columns(c).map(signed),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_survive_the_column_mapping() {
        let mut c = KpiCounts::default();
        let mut cols = [0i64; 29];
        for (i, v) in cols.iter_mut().enumerate() {
            *v = i as i64 + 1;
        }
        c.merge(&from_columns(&cols));
        assert_eq!(to_columns(&c).map(signed), cols);
        assert_eq!(c.state_ms[4], 29);
        assert_eq!(c.nps_detractors, 24);
    }
}
