//! Interval aggregates (15 minutes, hour, day) per queue, per agent and per channel, kept up to
//! date incrementally from contact events and agent state changes.
//!
//! Attribution (where a fact is counted), the industry norm:
//! - a contact counts (offered, answered, abandoned, waits, service level, transfer, surveys) in
//!   the interval where it was **offered to the queue**, even when it is answered or abandoned in
//!   a later one; the answering agent gets the answered part in that same interval;
//! - handling time (talk, hold, wrap-up, one "handled" per agent segment) counts in the interval
//!   where the **handling ended**, for that agent, the contact's queue and channel; FCR counts in
//!   the interval where the contact's last handling ended;
//! - IVR entry and containment count in the interval where the contact **entered the IVR**, per
//!   channel;
//! - agent state time is **split across interval boundaries**.
//!
//! How late and out-of-order events stay exact: a contact's contribution is a pure function of
//! its facts, and facts merge order-independently (see `contacts`). On each event the
//! aggregator retracts the contact's old contribution, folds the event in and adds the new one;
//! agent state changes are slotted into a sorted timeline the same way. A contact whose answer
//! arrives before its queue entry contributes nothing until the queue entry arrives, then counts
//! as answered with the right wait. Duplicates (same event id) are ignored within a window of the
//! last `max_remembered_event_ids` ids.
//!
//! Bounded memory: intervals per granularity (`max_open_*`), contacts (`max_tracked_contacts`,
//! forgotten after `contact_retention_ms`), agents, state changes per agent, handling segments per
//! contact, contacts per FCR group, remembered event ids. Each limit that bites is counted in
//! [`Counters`]. Events older than `now − max_lateness_ms` are refused (their intervals are stored
//! and closed). Buckets hold only counts and sums; figures come from `figures`.
//!
//! Sans-IO: `now` is passed to [`Aggregator::handle`]; this module never reads a clock, never
//! does IO and never panics on input.

mod agents;
mod buckets;
mod contacts;
mod events;
mod fast_hash;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use model::{AgentId, AgentState, Channel, ContactId, CustomerId, DurationMs, QueueId, ReasonCode, Timestamp};

use crate::KpiError;
use crate::calendar::{Granularity, UtcOffset};
use crate::compare::Period;
use crate::figures::{DEFAULT_SERVICE_LEVEL_THRESHOLD_MS, DEFAULT_SHORT_ABANDON_MS, KpiCounts};
use agents::AgentTimeline;
use buckets::Buckets;
use contacts::{ContactFacts, is_repeat};
pub use events::{AgentStateEvent, Applied, ContactEvent, ContactEventKind, Input};
use fast_hash::{FastMap, FastSet};

/// What a bucket is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Queue(QueueId),
    Agent(AgentId),
    Channel(Channel),
}

/// A queue's thresholds, applied when its contacts are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueThresholds {
    /// T of "answered within T" (KPI.md default 20 s).
    pub service_level_threshold_ms: DurationMs,
    /// Abandons at or under this are short (KPI.md default 5 s, `short_abandon_ms`).
    pub short_abandon_ms: DurationMs,
}

impl Default for QueueThresholds {
    fn default() -> Self {
        Self {
            service_level_threshold_ms: DurationMs::from_ms(DEFAULT_SERVICE_LEVEL_THRESHOLD_MS),
            short_abandon_ms: DurationMs::from_ms(DEFAULT_SHORT_ABANDON_MS),
        }
    }
}

/// The aggregator's settings. Thresholds are fixed for the aggregator's life: a retraction must
/// take back exactly what was added, so a threshold change means rebuilding from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregatorConfig {
    /// Local day boundaries (fixed offset; see `calendar`).
    pub utc_offset: UtcOffset,
    pub default_thresholds: QueueThresholds,
    pub queue_thresholds: HashMap<QueueId, QueueThresholds>,
    /// A contact from the same customer on the same issue within this after a handled one makes
    /// the handled one "not resolved first time" (KPI.md default 7 days).
    pub fcr_window_ms: DurationMs,
    /// Events older than `now − max_lateness_ms` are refused.
    pub max_lateness_ms: DurationMs,
    /// Events later than `now + max_clock_skew_ms` are refused.
    pub max_clock_skew_ms: DurationMs,
    /// A contact's facts are forgotten this long after its last event (at least the FCR window
    /// and the lateness, so repeats and late events still find it).
    pub contact_retention_ms: DurationMs,
    pub max_tracked_contacts: usize,
    pub max_tracked_agents: usize,
    pub max_segments_per_contact: usize,
    pub max_contacts_per_repeat_group: usize,
    pub max_state_changes_per_agent: usize,
    pub max_remembered_event_ids: usize,
    pub max_open_quarter_hours: usize,
    pub max_open_hours: usize,
    pub max_open_days: usize,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        Self {
            utc_offset: UtcOffset::UTC,
            default_thresholds: QueueThresholds::default(),
            queue_thresholds: HashMap::new(),
            fcr_window_ms: DurationMs::from_secs(7 * 86_400),
            max_lateness_ms: DurationMs::from_secs(86_400),
            max_clock_skew_ms: DurationMs::from_secs(300),
            contact_retention_ms: DurationMs::from_secs(8 * 86_400),
            max_tracked_contacts: 2_000_000,
            max_tracked_agents: 50_000,
            max_segments_per_contact: 16,
            max_contacts_per_repeat_group: 64,
            max_state_changes_per_agent: 10_000,
            max_remembered_event_ids: 2_000_000,
            max_open_quarter_hours: 4 * 24 * 3,
            max_open_hours: 24 * 10,
            max_open_days: 62,
        }
    }
}

impl AggregatorConfig {
    /// Checks the limits fit together; the error names the key.
    pub fn validate(&self) -> Result<(), KpiError> {
        let bad = |key, problem: &str| Err(KpiError::Invalid { key, problem: problem.to_owned() });
        let limits = [
            ("max_tracked_contacts", self.max_tracked_contacts),
            ("max_tracked_agents", self.max_tracked_agents),
            ("max_segments_per_contact", self.max_segments_per_contact),
            ("max_contacts_per_repeat_group", self.max_contacts_per_repeat_group),
            ("max_state_changes_per_agent", self.max_state_changes_per_agent),
            ("max_remembered_event_ids", self.max_remembered_event_ids),
            ("max_open_quarter_hours", self.max_open_quarter_hours),
            ("max_open_hours", self.max_open_hours),
            ("max_open_days", self.max_open_days),
        ];
        if let Some((key, _)) = limits.iter().find(|(_, v)| *v == 0) {
            return bad(key, "must be at least 1");
        }
        if self.contact_retention_ms < self.max_lateness_ms || self.contact_retention_ms < self.fcr_window_ms {
            return bad("contact_retention_ms", "must be at least max_lateness_ms and fcr_window_ms");
        }
        let quarter_span_ms = (self.max_open_quarter_hours as u64).saturating_mul(15 * 60_000);
        if quarter_span_ms < self.max_lateness_ms.as_ms() {
            return bad("max_open_quarter_hours", "must cover max_lateness_ms (late events must find their interval)");
        }
        Ok(())
    }

    fn thresholds(&self, queue: QueueId) -> QueueThresholds {
        self.queue_thresholds.get(&queue).copied().unwrap_or(self.default_thresholds)
    }
}

/// How often each limit or refusal happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub counted: u64,
    pub duplicates: u64,
    pub too_late: u64,
    pub in_future: u64,
    pub invalid_scores: u64,
    /// Agent events refused because `max_tracked_agents` agents are tracked, or because they fall
    /// before the forgotten part of the agent's timeline.
    pub agent_events_refused: u64,
    pub contacts_forgotten: u64,
    /// Contacts forgotten before `contact_retention_ms` because `max_tracked_contacts` was reached.
    pub contacts_forgotten_early: u64,
    pub segments_dropped: u64,
    pub repeat_groups_full: u64,
    pub state_changes_forgotten_early: u64,
    pub updates_to_dropped_intervals: u64,
}

/// Duplicate detection over the last `capacity` event ids.
#[derive(Debug)]
struct DedupWindow {
    seen: FastSet<(u8, u128)>,
    order: VecDeque<(u8, u128)>,
    capacity: usize,
}

impl DedupWindow {
    /// True if `key` is new (and remembers it).
    fn insert(&mut self, key: (u8, u128)) -> bool {
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}

type RepeatGroup = (CustomerId, ReasonCode);

/// The incremental aggregator of one org.
#[derive(Debug)]
pub struct Aggregator {
    config: AggregatorConfig,
    now: Timestamp,
    contacts: FastMap<ContactId, ContactFacts>,
    /// Contacts by last activity, oldest first, for retention.
    by_activity: BTreeSet<(Timestamp, ContactId)>,
    groups: FastMap<RepeatGroup, Vec<ContactId>>,
    waiting: FastMap<QueueId, BTreeSet<(Timestamp, ContactId)>>,
    agents: FastMap<AgentId, AgentTimeline>,
    buckets: Buckets,
    dedup: DedupWindow,
    counters: Counters,
    /// Reused buffers for one event's contributions before and after it.
    scratch_before: Vec<Contribution>,
    scratch_after: Vec<Contribution>,
}

/// One bucket update: at this time, for this dimension, these counts.
type Contribution = (Timestamp, Dimension, KpiCounts);

mod handle;
mod query;

impl Aggregator {
    pub fn new(config: AggregatorConfig) -> Result<Self, KpiError> {
        config.validate()?;
        let buckets = Buckets::new(
            [config.max_open_quarter_hours, config.max_open_hours, config.max_open_days],
            config.utc_offset,
        );
        let dedup =
            DedupWindow { seen: FastSet::default(), order: VecDeque::new(), capacity: config.max_remembered_event_ids };
        Ok(Self {
            config,
            now: Timestamp::from_unix_ms(i64::MIN),
            contacts: FastMap::default(),
            by_activity: BTreeSet::new(),
            groups: FastMap::default(),
            waiting: FastMap::default(),
            agents: FastMap::default(),
            buckets,
            dedup,
            counters: Counters::default(),
            scratch_before: Vec::new(),
            scratch_after: Vec::new(),
        })
    }
}

/// Every non-empty bucket, keyed by granularity, interval start (unix ms) and dimension.
pub type Snapshot = BTreeMap<(Granularity, i64, Dimension), KpiCounts>;

/// Queries over one period at one granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalQuery {
    pub granularity: Granularity,
    pub dimension: Dimension,
    /// Intervals whose start is in `[start, end)`.
    pub period: Period,
}

/// Agent state and since when, for live occupancy (the open state is not in the buckets yet).
pub type CurrentState = (AgentState, Timestamp);
