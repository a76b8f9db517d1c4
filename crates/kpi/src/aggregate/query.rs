//! Reading the aggregates: one interval, a period's intervals, their merged total, the live
//! waiting list and agent states. Read-only; never allocates more than the answer.

use model::{AgentId, QueueId, Timestamp};

use super::{Aggregator, AggregatorConfig, Counters, CurrentState, Dimension, IntervalQuery, Snapshot};
use crate::calendar::Granularity;
use crate::figures::KpiCounts;

impl Aggregator {
    /// The counts of one interval (by its start), if anything was counted there.
    pub fn interval(&self, granularity: Granularity, start: Timestamp, dimension: Dimension) -> Option<&KpiCounts> {
        self.buckets.get(granularity, start, dimension)
    }

    /// The intervals of a period, oldest first (intervals with nothing counted are left out).
    pub fn intervals(&self, q: IntervalQuery) -> impl Iterator<Item = (Timestamp, &KpiCounts)> {
        self.buckets.range(q.granularity, q.period.start, q.period.end, q.dimension)
    }

    /// The merged counts of a period's intervals: feed it to `Figures::compute`. For a live
    /// "today so far" use quarter-hours: the current quarter-hour counts what happened so far.
    pub fn total(&self, q: IntervalQuery) -> KpiCounts {
        let mut total = KpiCounts::default();
        for (_, c) in self.intervals(q) {
            total.merge(c);
        }
        total
    }

    /// When the longest-waiting contact of a queue entered it, and how many wait.
    pub fn waiting(&self, queue: QueueId) -> Option<(Timestamp, usize)> {
        let set = self.waiting.get(&queue)?;
        set.first().map(|(at, _)| (*at, set.len()))
    }

    /// The agent's current state and since when.
    pub fn agent_state(&self, agent: AgentId) -> Option<CurrentState> {
        self.agents.get(&agent)?.current()
    }

    pub fn counters(&self) -> Counters {
        Counters { updates_to_dropped_intervals: self.buckets.updates_to_dropped_intervals, ..self.counters }
    }

    pub fn config(&self) -> &AggregatorConfig {
        &self.config
    }

    /// How many contacts' facts are held (bounded by `max_tracked_contacts`).
    pub fn tracked_contacts(&self) -> usize {
        self.contacts.len()
    }

    pub fn open_intervals(&self, granularity: Granularity) -> usize {
        self.buckets.open_intervals(granularity)
    }

    /// Every non-empty bucket (for tests, snapshots to the store, and comparisons).
    pub fn snapshot(&self) -> Snapshot {
        self.buckets.snapshot()
    }
}
