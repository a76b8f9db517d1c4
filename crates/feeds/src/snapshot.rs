//! The live values the feeds export: what the live center hands over (queue and agent
//! snapshots) and the contact counters a node keeps. Plain data with no IO; the center fills
//! them, every feed reads them.

use std::collections::BTreeMap;

use model::{AgentId, AgentState, Channel, Contact, ContactOutcome, DurationMs, OrgId, QueueId, QueueName, Timestamp};

/// How many agents are in each [`AgentState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentCounts {
    counts: [u32; AgentState::ALL.len()],
}

impl AgentCounts {
    fn index(state: AgentState) -> usize {
        AgentState::ALL.iter().position(|s| *s == state).expect("ALL lists every state")
    }

    pub fn get(&self, state: AgentState) -> u32 {
        self.counts[Self::index(state)]
    }

    pub fn set(&mut self, state: AgentState, count: u32) {
        self.counts[Self::index(state)] = count;
    }

    /// Adds one agent in `state` (saturating).
    pub fn add_one(&mut self, state: AgentState) {
        let slot = &mut self.counts[Self::index(state)];
        *slot = slot.saturating_add(1);
    }

    /// Every state with its count, in [`AgentState::ALL`] order (zeros included, so exported
    /// series never disappear).
    pub fn iter(&self) -> impl Iterator<Item = (AgentState, u32)> + '_ {
        AgentState::ALL.iter().map(|s| (*s, self.get(*s)))
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| u64::from(*c)).sum()
    }
}

/// One queue as the live center sees it at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSnapshot {
    pub org: OrgId,
    pub queue: QueueId,
    pub name: QueueName,
    /// Contacts waiting for an agent (queued or ringing one), now.
    pub waiting: u32,
    /// How long the oldest waiting contact has waited; zero when none waits.
    pub longest_wait: DurationMs,
    /// The queue's agents by state (an agent in several queues counts in each).
    pub agents: AgentCounts,
}

/// One agent as the live center sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSnapshot {
    pub org: OrgId,
    pub agent: AgentId,
    pub state: AgentState,
    /// When the agent entered `state`.
    pub since: Timestamp,
}

impl AgentSnapshot {
    /// Agents by state over a slice of snapshots.
    pub fn count_by_state(agents: &[AgentSnapshot]) -> AgentCounts {
        let mut counts = AgentCounts::default();
        for a in agents {
            counts.add_one(a.state);
        }
        counts
    }
}

/// Ended contacts by channel and outcome, counted on this node since it started (monotonic,
/// as Prometheus counters must be). The caller counts each contact once, when it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactCounters {
    counts: BTreeMap<(Channel, ContactOutcome), u64>,
}

impl ContactCounters {
    /// Counts an ended contact; returns false (and counts nothing) when it has no outcome yet.
    pub fn count_ended(&mut self, contact: &Contact) -> bool {
        match contact.outcome {
            Some(outcome) => {
                self.add(contact.channel, outcome, 1);
                true
            }
            None => false,
        }
    }

    pub fn add(&mut self, channel: Channel, outcome: ContactOutcome, n: u64) {
        let slot = self.counts.entry((channel, outcome)).or_default();
        *slot = slot.saturating_add(n);
    }

    pub fn get(&self, channel: Channel, outcome: ContactOutcome) -> u64 {
        self.counts.get(&(channel, outcome)).copied().unwrap_or(0)
    }

    /// Every (channel, outcome) pair seen, with its count, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = (Channel, ContactOutcome, u64)> + '_ {
        self.counts.iter().map(|((c, o), n)| (*c, *o, *n))
    }
}
