//! What the aggregator knows about one contact, and what that contact contributes to the buckets.
//!
//! Facts merge order-independently (earliest queue entry / answer / abandon win, handling segments
//! add up, flags only turn on), so the same events in any order give the same facts, and a
//! contact's contribution is a pure function of its facts (plus, for FCR, whether a repeat
//! exists). The aggregator retracts a contact's old contribution and adds its new one on every
//! change: this is what makes late and out-of-order events exact. Never panics, never allocates
//! beyond `max_segments_per_contact` segments.

use model::{AgentId, Channel, CustomerId, DurationMs, QueueId, ReasonCode, SurveyKind, Timestamp};

use super::events::{ContactEvent, ContactEventKind};
use super::{Dimension, QueueThresholds};
use crate::figures::KpiCounts;

/// One agent's handling of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Segment {
    pub ended_at: Timestamp,
    pub agent: AgentId,
    pub talk: DurationMs,
    pub hold: DurationMs,
    pub wrap_up: DurationMs,
    pub transferred: bool,
}

/// Everything known about one contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ContactFacts {
    pub channel: Option<Channel>,
    pub queued: Option<(Timestamp, QueueId, Option<CustomerId>)>,
    pub answered: Option<(Timestamp, AgentId)>,
    pub abandoned: Option<Timestamp>,
    pub left_queue: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    pub ivr_entered: Option<Timestamp>,
    pub ivr_self_served: bool,
    pub issue_type: Option<ReasonCode>,
    pub csat: Option<u8>,
    pub nps: Option<u8>,
    /// Sorted, at most `max_segments_per_contact`.
    pub segments: Vec<Segment>,
    /// Latest event time seen, for retention.
    pub last_activity: Option<Timestamp>,
}

fn min_merge<T: Ord>(slot: &mut Option<T>, value: T) {
    match slot {
        Some(old) if *old <= value => {}
        _ => *slot = Some(value),
    }
}

impl ContactFacts {
    /// Folds one event in. Returns false when a segment had to be dropped (limit reached).
    /// Two survey answers of the same kind keep the lower score (order-independent, conservative).
    pub fn apply(&mut self, e: &ContactEvent, max_segments: usize) -> bool {
        min_merge(&mut self.channel, e.channel);
        self.last_activity = self.last_activity.max(Some(e.at));
        match &e.kind {
            ContactEventKind::IvrEntered => min_merge(&mut self.ivr_entered, e.at),
            ContactEventKind::IvrSelfServiceSucceeded => self.ivr_self_served = true,
            ContactEventKind::Queued { queue, customer } => min_merge(&mut self.queued, (e.at, *queue, *customer)),
            ContactEventKind::Answered { agent } => min_merge(&mut self.answered, (e.at, *agent)),
            ContactEventKind::Abandoned => min_merge(&mut self.abandoned, e.at),
            ContactEventKind::LeftQueue => min_merge(&mut self.left_queue, e.at),
            ContactEventKind::Ended => min_merge(&mut self.ended, e.at),
            ContactEventKind::IssueIdentified { issue_type } => min_merge(&mut self.issue_type, issue_type.clone()),
            ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, score } => min_merge(&mut self.csat, *score),
            ContactEventKind::SurveyAnswered { kind: SurveyKind::Nps, score } => min_merge(&mut self.nps, *score),
            ContactEventKind::HandlingEnded { agent, talk, hold, wrap_up, transferred } => {
                if self.segments.len() >= max_segments {
                    return false;
                }
                let s = Segment {
                    ended_at: e.at,
                    agent: *agent,
                    talk: *talk,
                    hold: *hold,
                    wrap_up: *wrap_up,
                    transferred: *transferred,
                };
                let pos = self.segments.partition_point(|x| *x <= s);
                self.segments.insert(pos, s);
            }
        }
        true
    }

    /// The first-contact-resolution group: customer and issue type, when both are known.
    pub fn repeat_group(&self) -> Option<(CustomerId, ReasonCode)> {
        let customer = self.queued.as_ref()?.2?;
        Some((customer, self.issue_type.clone()?))
    }

    /// When the contact's handling ended (its last segment), for FCR.
    pub fn handling_end(&self) -> Option<&Segment> {
        self.segments.last()
    }

    /// Waiting in its queue now: queued and nothing has ended the wait.
    pub fn waiting_since(&self) -> Option<(QueueId, Timestamp)> {
        let (at, queue, _) = self.queued?;
        let done =
            self.answered.is_some() || self.abandoned.is_some() || self.left_queue.is_some() || self.ended.is_some();
        (!done).then_some((queue, at))
    }

    /// Calls `emit(at, dimension, delta)` for every bucket this contact contributes to.
    /// `repeated`: whether a repeat from the same customer on the same issue followed (FCR).
    pub fn contribute(
        &self,
        thresholds: &dyn Fn(QueueId) -> QueueThresholds,
        repeated: bool,
        emit: &mut dyn FnMut(Timestamp, Dimension, &KpiCounts),
    ) {
        let Some(channel) = self.channel else { return };
        if let Some((at, queue, _)) = self.queued {
            let (queue_delta, agent_delta) = self.offer_deltas(at, thresholds(queue));
            emit(at, Dimension::Queue(queue), &queue_delta);
            emit(at, Dimension::Channel(channel), &queue_delta);
            if let Some((_, agent)) = self.answered {
                emit(at, Dimension::Agent(agent), &agent_delta);
            }
        }
        let queue = self.queued.map(|(_, q, _)| q);
        for s in &self.segments {
            let d = KpiCounts {
                handled: 1,
                talk_ms: s.talk.as_ms(),
                hold_ms: s.hold.as_ms(),
                acw_ms: s.wrap_up.as_ms(),
                ..KpiCounts::default()
            };
            emit_handling(s, channel, queue, &d, emit);
        }
        if let (Some(last), Some(_)) = (self.handling_end(), self.repeat_group()) {
            let d = KpiCounts { fcr_handled: 1, fcr_repeated: u64::from(repeated), ..KpiCounts::default() };
            emit_handling(last, channel, queue, &d, emit);
        }
        if let Some(at) = self.ivr_entered {
            let contained = self.ivr_self_served && self.queued.is_none() && self.ended.is_some();
            let d = KpiCounts { ivr_entered: 1, ivr_contained: u64::from(contained), ..KpiCounts::default() };
            emit(at, Dimension::Channel(channel), &d);
        }
    }

    /// The contact's counts in its offered interval: for the queue and channel, and for the
    /// answering agent (the same without offered/abandoned, which belong to no agent).
    fn offer_deltas(&self, queued_at: Timestamp, t: QueueThresholds) -> (KpiCounts, KpiCounts) {
        let mut d = KpiCounts { offered: 1, ..KpiCounts::default() };
        if let Some((answered_at, _)) = self.answered {
            let wait = answered_at.since(queued_at);
            d.answered = 1;
            d.answered_within_threshold = u64::from(wait <= t.service_level_threshold_ms);
            d.answered_wait_ms = wait.as_ms();
            d.transferred = u64::from(self.segments.iter().any(|s| s.transferred));
        } else if let Some(abandoned_at) = self.abandoned {
            let wait = abandoned_at.since(queued_at);
            let within = wait <= t.service_level_threshold_ms;
            let short = wait <= t.short_abandon_ms;
            d.abandoned = 1;
            d.abandoned_within_threshold = u64::from(within);
            d.abandoned_short = u64::from(short);
            d.abandoned_short_within_threshold = u64::from(short && within);
            d.abandoned_wait_ms = wait.as_ms();
        }
        if let Some(score) = self.csat {
            d.csat_responses = 1;
            d.csat_top_two = u64::from(score >= 4);
            d.csat_score_sum = u64::from(score);
        }
        if let Some(score) = self.nps {
            d.nps_responses = 1;
            d.nps_promoters = u64::from(score >= 9);
            d.nps_detractors = u64::from(score <= 6);
        }
        let agent = KpiCounts { offered: 0, abandoned: 0, ..d };
        (d, agent)
    }
}

fn emit_handling(
    s: &Segment,
    channel: Channel,
    queue: Option<QueueId>,
    d: &KpiCounts,
    emit: &mut dyn FnMut(Timestamp, Dimension, &KpiCounts),
) {
    emit(s.ended_at, Dimension::Agent(s.agent), d);
    emit(s.ended_at, Dimension::Channel(channel), d);
    if let Some(q) = queue {
        emit(s.ended_at, Dimension::Queue(q), d);
    }
}

/// Whether `later` repeats `earlier`: same group (checked by the caller), and `later` reached a
/// queue after `earlier`'s handling ended and within `window`.
pub(crate) fn is_repeat(earlier: &ContactFacts, later: &ContactFacts, window: DurationMs) -> bool {
    let (Some(end), Some((queued_at, _, _))) = (earlier.handling_end(), later.queued) else { return false };
    queued_at > end.ended_at && queued_at <= end.ended_at.plus(window)
}
