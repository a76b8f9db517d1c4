//! Agent state time: each agent's recent state changes, kept sorted so a late change can be
//! slotted in between two others. A state lasts from its change to the agent's next change; the
//! time is split across interval boundaries (a Busy spell from 10:10 to 10:20 counts 5 minutes in
//! 10:00–10:15 and 5 in 10:15–10:30). The last, still open state is not counted until the next
//! change arrives; live views add `now − since` from [`AgentTimeline::current`]. Offline time is
//! not counted (no figure uses it, and it would fill every interval of a night).
//! Bounded: at most `max_state_changes_per_agent` changes are kept per agent.

use std::collections::BTreeMap;

use model::{AgentId, AgentState, Timestamp};

use super::Dimension;
use super::buckets::Buckets;
use crate::calendar::Granularity;
use crate::figures::{KpiCounts, Sign, state_index};

/// Sort key of a change: its time, then its id (two changes at the same millisecond are ordered
/// by id, the same way whatever order they arrive in).
pub(crate) type ChangeKey = (Timestamp, u128);

#[derive(Debug, Default)]
pub(crate) struct AgentTimeline {
    changes: BTreeMap<ChangeKey, AgentState>,
    /// Set once a change was forgotten: a change before the first kept one can no longer be
    /// slotted in exactly.
    pruned: bool,
}

impl AgentTimeline {
    /// Slots a change in, retracting the segment it splits and adding the two new ones.
    /// Returns false (and changes nothing) if the key was already there or falls before the
    /// forgotten part of the timeline.
    pub fn insert(&mut self, agent: AgentId, key: ChangeKey, state: AgentState, buckets: &mut Buckets) -> bool {
        if self.changes.contains_key(&key)
            || (self.pruned && self.changes.first_key_value().is_some_and(|(k, _)| key < *k))
        {
            return false;
        }
        let prev = self.changes.range(..key).next_back().map(|(k, s)| (*k, *s));
        let next = self.changes.range(key..).next().map(|(k, _)| *k);
        if let (Some((pk, ps)), Some(nk)) = (prev, next) {
            add_segment(agent, ps, pk.0, nk.0, buckets, Sign::Retract);
        }
        if let Some((pk, ps)) = prev {
            add_segment(agent, ps, pk.0, key.0, buckets, Sign::Add);
        }
        if let Some(nk) = next {
            add_segment(agent, state, key.0, nk.0, buckets, Sign::Add);
        }
        self.changes.insert(key, state);
        true
    }

    /// Forgets changes before `cutoff`, keeping the last one before it (it starts the segment
    /// that a change after `cutoff` may still split), and at most `max_changes` in all.
    /// Forgotten segments stay counted. Returns how many were forgotten because of `max_changes`.
    pub fn prune(&mut self, cutoff: Timestamp, max_changes: usize) -> u64 {
        while self.changes.len() > 1 {
            let mut keys = self.changes.keys();
            let (Some(first), Some(second)) = (keys.next().copied(), keys.next().copied()) else { break };
            if second.0 < cutoff {
                self.changes.remove(&first);
                self.pruned = true;
            } else {
                break;
            }
        }
        let mut forced = 0;
        while self.changes.len() > max_changes.max(1) {
            self.changes.pop_first();
            self.pruned = true;
            forced += 1;
        }
        forced
    }

    /// The state the agent is in now and since when.
    pub fn current(&self) -> Option<(AgentState, Timestamp)> {
        self.changes.last_key_value().map(|(k, s)| (*s, k.0))
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Adds or retracts `[from, to)` in `state`, split at every interval boundary of every granularity.
pub(crate) fn add_segment(
    agent: AgentId,
    state: AgentState,
    from: Timestamp,
    to: Timestamp,
    buckets: &mut Buckets,
    sign: Sign,
) {
    if state == AgentState::Offline || to <= from {
        return;
    }
    let dim = Dimension::Agent(agent);
    for g in Granularity::ALL {
        let len = g.length_ms();
        let mut start = g.start_of(from, buckets.offset()).unix_ms();
        while start < to.unix_ms() {
            let end = start.saturating_add(len);
            if !buckets.is_dropped(g, start) {
                let overlap = end.min(to.unix_ms()) - start.max(from.unix_ms());
                let mut d = KpiCounts::default();
                d.state_ms[state_index(state)] = u64::try_from(overlap).unwrap_or(0);
                buckets.apply_at(g, start, dim, &d, sign);
            }
            start = end;
        }
    }
}
