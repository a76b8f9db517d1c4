//! KPI figures from counts and sums, exactly as `shared/guide/KPI.md` defines them.
//!
//! [`KpiCounts`] is the only input: the live wallboard, historical reports and exports all add up
//! the counts of the intervals they show ([`KpiCounts::merge`]) and call the same functions here,
//! so there is one code path for every view. Rates are fractions in `0.0..=1.0` (shown as %),
//! averages are seconds. A figure whose denominator is zero is `None`, never `NaN` or infinity.
//!
//! Thresholds that decide a contact's class (service level threshold `T`, short abandon) are
//! applied when a contact is counted (see `aggregate`), so the counts already say "answered within
//! T"; the choices that only change the formula (service level variant, whether short abandons are
//! excluded) are [`FigureSettings`], applied here.
//!
//! This module never reads a clock, never allocates per call and never panics.

use model::{AgentState, DurationMs};

/// Short abandon threshold when a queue does not set one (KPI.md: 5 s).
pub const DEFAULT_SHORT_ABANDON_MS: u64 = 5_000;
/// Service level threshold when a queue does not set one (KPI.md: 20 s, target "80/20").
pub const DEFAULT_SERVICE_LEVEL_THRESHOLD_MS: u64 = 20_000;
/// How many [`AgentState`] values there are; `state_ms` is indexed by [`state_index`].
pub const AGENT_STATES: usize = 5;

/// The index of a state in [`KpiCounts::state_ms`].
pub const fn state_index(state: AgentState) -> usize {
    match state {
        AgentState::Offline => 0,
        AgentState::Available => 1,
        AgentState::Away => 2,
        AgentState::Busy => 3,
        AgentState::WrapUp => 4,
    }
}

/// Counts and sums of one interval (or of several, merged). Every field is a plain sum so that
/// merging intervals, queues or agents is field-by-field addition.
///
/// "Within T" and "short" were decided with the contact's queue thresholds when it was counted.
/// (`Ord` only so the aggregator can sort contributions to cancel unchanged ones.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct KpiCounts {
    /// Contacts that reached a queue.
    pub offered: u64,
    /// Offered contacts an agent answered.
    pub answered: u64,
    /// Answered with wait ≤ T.
    pub answered_within_threshold: u64,
    /// Offered contacts the customer left before an answer (short ones included).
    pub abandoned: u64,
    /// Abandoned with wait ≤ T (short ones included).
    pub abandoned_within_threshold: u64,
    /// Abandoned with wait ≤ the short abandon threshold.
    pub abandoned_short: u64,
    /// Short abandons that were also within T (all of them when short ≤ T, the usual setting).
    pub abandoned_short_within_threshold: u64,
    /// Sum of waits of answered contacts, ms.
    pub answered_wait_ms: u64,
    /// Sum of waits of abandoned contacts (short ones included), ms.
    pub abandoned_wait_ms: u64,
    /// Answered contacts that an agent transferred.
    pub transferred: u64,
    /// Handling segments that ended (one per agent who handled a contact).
    pub handled: u64,
    pub talk_ms: u64,
    pub hold_ms: u64,
    /// After-call work (wrap-up), ms.
    pub acw_ms: u64,
    /// Handled contacts whose customer and issue type are known (the FCR denominator).
    pub fcr_handled: u64,
    /// Of those, contacts followed by a repeat within the FCR window.
    pub fcr_repeated: u64,
    /// Contacts that entered the IVR.
    pub ivr_entered: u64,
    /// Contacts that ended in the IVR after a successful self-service step.
    pub ivr_contained: u64,
    pub csat_responses: u64,
    /// CSAT responses of 4 or 5.
    pub csat_top_two: u64,
    /// Sum of CSAT scores (1–5).
    pub csat_score_sum: u64,
    pub nps_responses: u64,
    /// NPS scores 9–10.
    pub nps_promoters: u64,
    /// NPS scores 0–6.
    pub nps_detractors: u64,
    /// Time agents spent in each state, ms, indexed by [`state_index`]. Offline time is not kept.
    pub state_ms: [u64; AGENT_STATES],
}

/// Whether a change is added or taken back (the aggregator retracts a contact's old
/// contribution before adding its new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Add,
    Retract,
}

impl KpiCounts {
    /// Adds `other` field by field (merging intervals, queues or agents).
    pub fn merge(&mut self, other: &KpiCounts) {
        self.apply(other, Sign::Add);
    }

    /// Adds or takes back `delta`. Wrapping arithmetic: a retraction only ever takes back what an
    /// earlier addition put in, so the result is exact and this never panics.
    pub fn apply(&mut self, delta: &KpiCounts, sign: Sign) {
        let op = |a: &mut u64, b: u64| {
            *a = match sign {
                Sign::Add => a.wrapping_add(b),
                Sign::Retract => a.wrapping_sub(b),
            }
        };
        op(&mut self.offered, delta.offered);
        op(&mut self.answered, delta.answered);
        op(&mut self.answered_within_threshold, delta.answered_within_threshold);
        op(&mut self.abandoned, delta.abandoned);
        op(&mut self.abandoned_within_threshold, delta.abandoned_within_threshold);
        op(&mut self.abandoned_short, delta.abandoned_short);
        op(&mut self.abandoned_short_within_threshold, delta.abandoned_short_within_threshold);
        op(&mut self.answered_wait_ms, delta.answered_wait_ms);
        op(&mut self.abandoned_wait_ms, delta.abandoned_wait_ms);
        op(&mut self.transferred, delta.transferred);
        op(&mut self.handled, delta.handled);
        op(&mut self.talk_ms, delta.talk_ms);
        op(&mut self.hold_ms, delta.hold_ms);
        op(&mut self.acw_ms, delta.acw_ms);
        op(&mut self.fcr_handled, delta.fcr_handled);
        op(&mut self.fcr_repeated, delta.fcr_repeated);
        op(&mut self.ivr_entered, delta.ivr_entered);
        op(&mut self.ivr_contained, delta.ivr_contained);
        op(&mut self.csat_responses, delta.csat_responses);
        op(&mut self.csat_top_two, delta.csat_top_two);
        op(&mut self.csat_score_sum, delta.csat_score_sum);
        op(&mut self.nps_responses, delta.nps_responses);
        op(&mut self.nps_promoters, delta.nps_promoters);
        op(&mut self.nps_detractors, delta.nps_detractors);
        for (a, b) in self.state_ms.iter_mut().zip(delta.state_ms) {
            op(a, b);
        }
    }

    /// True when every count is zero (an empty bucket can be dropped).
    pub fn is_empty(&self) -> bool {
        *self == KpiCounts::default()
    }

    /// Handling time from agent states (busy + wrap-up), ms.
    pub fn state_handling_ms(&self) -> u64 {
        self.state_ms[state_index(AgentState::Busy)].saturating_add(self.state_ms[state_index(AgentState::WrapUp)])
    }

    /// Logged-in time: every state but offline, ms.
    pub fn logged_in_ms(&self) -> u64 {
        self.state_ms.iter().skip(1).fold(0u64, |a, b| a.saturating_add(*b))
    }
}

/// Which service level formula a queue reports (KPI.md: default and two variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceLevelVariant {
    /// Answered within T / (answered + abandoned after T). The default.
    #[default]
    AnsweredOverAnsweredAndLateAbandoned,
    /// Answered within T / offered.
    AnsweredOverOffered,
    /// (Answered within T + abandoned within T) / offered.
    AnsweredOrAbandonedWithinOverOffered,
}

/// Whether short abandons count in service level and abandon rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShortAbandons {
    /// Left out of both numerator and denominator. The default.
    #[default]
    Excluded,
    /// Counted like any other abandon.
    Included,
}

/// The per-queue choices that change a formula (thresholds live in `aggregate::QueueThresholds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FigureSettings {
    pub service_level: ServiceLevelVariant,
    pub short_abandons: ShortAbandons,
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

fn average_s(sum_ms: u64, count: u64) -> Option<f64> {
    (count > 0).then(|| sum_ms as f64 / count as f64 / 1000.0)
}

/// Short abandons to leave out under `settings`: (all short, short within T).
fn short_left_out(c: &KpiCounts, settings: &FigureSettings) -> (u64, u64) {
    match settings.short_abandons {
        ShortAbandons::Excluded => (c.abandoned_short, c.abandoned_short_within_threshold),
        ShortAbandons::Included => (0, 0),
    }
}

/// Service level under the queue's variant; `None` when nothing is in the denominator.
pub fn service_level(c: &KpiCounts, settings: &FigureSettings) -> Option<f64> {
    let (short, short_within) = short_left_out(c, settings);
    let offered = c.offered.saturating_sub(short);
    match settings.service_level {
        ServiceLevelVariant::AnsweredOverAnsweredAndLateAbandoned => {
            let late_abandoned = c.abandoned.saturating_sub(c.abandoned_within_threshold);
            let late_short = short.saturating_sub(short_within);
            let denominator = c.answered.saturating_add(late_abandoned.saturating_sub(late_short));
            ratio(c.answered_within_threshold, denominator)
        }
        ServiceLevelVariant::AnsweredOverOffered => ratio(c.answered_within_threshold, offered),
        ServiceLevelVariant::AnsweredOrAbandonedWithinOverOffered => {
            let abandoned_within = c.abandoned_within_threshold.saturating_sub(short_within);
            ratio(c.answered_within_threshold.saturating_add(abandoned_within), offered)
        }
    }
}

/// Answered / offered (接通率).
pub fn answer_rate(c: &KpiCounts) -> Option<f64> {
    ratio(c.answered, c.offered)
}

/// Abandoned (not short) / (offered − short abandons), or all abandons / offered when short
/// abandons are included.
pub fn abandon_rate(c: &KpiCounts, settings: &FigureSettings) -> Option<f64> {
    let (short, _) = short_left_out(c, settings);
    ratio(c.abandoned.saturating_sub(short), c.offered.saturating_sub(short))
}

/// Average speed of answer: sum of waits of answered contacts / answered, seconds.
pub fn average_speed_of_answer_s(c: &KpiCounts) -> Option<f64> {
    average_s(c.answered_wait_ms, c.answered)
}

/// Sum of waits of abandoned contacts / abandoned (every abandon, short ones included: KPI.md
/// excludes short abandons only from abandon rate and service level), seconds.
pub fn average_abandoned_wait_s(c: &KpiCounts) -> Option<f64> {
    average_s(c.abandoned_wait_ms, c.abandoned)
}

/// Average handle time: (talk + hold + ACW) / handled, seconds.
pub fn average_handle_time_s(c: &KpiCounts) -> Option<f64> {
    average_s(c.talk_ms.saturating_add(c.hold_ms).saturating_add(c.acw_ms), c.handled)
}

/// Handling time / (handling time + available idle time), from agent state time.
pub fn occupancy(c: &KpiCounts) -> Option<f64> {
    let handling = c.state_handling_ms();
    ratio(handling, handling.saturating_add(c.state_ms[state_index(AgentState::Available)]))
}

/// Handling time / logged-in time, from agent state time.
pub fn utilisation(c: &KpiCounts) -> Option<f64> {
    ratio(c.state_handling_ms(), c.logged_in_ms())
}

/// Answered contacts transferred by the agent / answered.
pub fn transfer_rate(c: &KpiCounts) -> Option<f64> {
    ratio(c.transferred, c.answered)
}

/// Handled contacts with no repeat (same customer, same issue type, within the window) / handled
/// contacts whose customer and issue type are known.
pub fn first_contact_resolution(c: &KpiCounts) -> Option<f64> {
    ratio(c.fcr_handled.saturating_sub(c.fcr_repeated), c.fcr_handled)
}

/// Calls ended in the IVR after a successful self-service step / calls entering the IVR.
pub fn ivr_containment(c: &KpiCounts) -> Option<f64> {
    ratio(c.ivr_contained, c.ivr_entered)
}

/// CSAT top-2-box: responses of 4 or 5 / all responses.
pub fn csat_top_two_box(c: &KpiCounts) -> Option<f64> {
    ratio(c.csat_top_two, c.csat_responses)
}

/// Mean CSAT score on the 1–5 scale.
pub fn csat_mean(c: &KpiCounts) -> Option<f64> {
    (c.csat_responses > 0).then(|| c.csat_score_sum as f64 / c.csat_responses as f64)
}

/// Net promoter score: % promoters − % detractors, in points from −100 to 100.
pub fn net_promoter_score(c: &KpiCounts) -> Option<f64> {
    let n = c.nps_responses;
    (n > 0).then(|| (c.nps_promoters as f64 - c.nps_detractors as f64) * 100.0 / n as f64)
}

/// Longest current wait among the contacts waiting in a queue (live), given when each entered
/// the queue; `None` when nobody waits.
pub fn longest_waiting(
    now: model::Timestamp,
    waiting_since: impl IntoIterator<Item = model::Timestamp>,
) -> Option<DurationMs> {
    waiting_since.into_iter().min().map(|since| now.since(since))
}

/// What an expected wait time estimate needs, taken from the reporting side.
///
/// Method (the ACD's `acd::ewt` is the live implementation and explains why the Erlang C figure is
/// published beside the estimate rather than used as a bound): `EWT(p) = p × AHT_recent / N` for
/// a contact at position `p` (1 = next) with `N` agents serving the queue. `AHT_recent` here is
/// the AHT of the most recent closed intervals the caller chose (for example the last hour's four
/// quarter-hours merged), so the window is the caller's, stated where it is called.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EwtInputs {
    /// Average handle time of the recent window, seconds.
    pub aht_recent_s: f64,
    /// Agents logged in to the queue and not away.
    pub agents_serving: u32,
}

impl EwtInputs {
    /// Inputs from the merged counts of the recent window; `None` when nothing was handled.
    pub fn from_recent(recent: &KpiCounts, agents_serving: u32) -> Option<Self> {
        Some(Self { aht_recent_s: average_handle_time_s(recent)?, agents_serving })
    }

    /// `p × AHT_recent / N`, seconds; `None` when no agent serves the queue (the wait is unknown).
    pub fn expected_wait_s(&self, position: u32) -> Option<f64> {
        (self.agents_serving > 0).then(|| f64::from(position) * self.aht_recent_s / f64::from(self.agents_serving))
    }
}

/// Every figure of one set of counts, for a report row or a wallboard tile.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    pub service_level: Option<f64>,
    pub answer_rate: Option<f64>,
    pub abandon_rate: Option<f64>,
    pub average_speed_of_answer_s: Option<f64>,
    pub average_abandoned_wait_s: Option<f64>,
    pub average_handle_time_s: Option<f64>,
    pub occupancy: Option<f64>,
    pub utilisation: Option<f64>,
    pub transfer_rate: Option<f64>,
    pub first_contact_resolution: Option<f64>,
    pub ivr_containment: Option<f64>,
    pub csat_top_two_box: Option<f64>,
    pub csat_mean: Option<f64>,
    pub net_promoter_score: Option<f64>,
}

impl Figures {
    /// Computes every figure from `c` with the queue's formula choices.
    pub fn compute(c: &KpiCounts, settings: &FigureSettings) -> Self {
        Self {
            service_level: service_level(c, settings),
            answer_rate: answer_rate(c),
            abandon_rate: abandon_rate(c, settings),
            average_speed_of_answer_s: average_speed_of_answer_s(c),
            average_abandoned_wait_s: average_abandoned_wait_s(c),
            average_handle_time_s: average_handle_time_s(c),
            occupancy: occupancy(c),
            utilisation: utilisation(c),
            transfer_rate: transfer_rate(c),
            first_contact_resolution: first_contact_resolution(c),
            ivr_containment: ivr_containment(c),
            csat_top_two_box: csat_top_two_box(c),
            csat_mean: csat_mean(c),
            net_promoter_score: net_promoter_score(c),
        }
    }
}

#[cfg(test)]
mod tests;
