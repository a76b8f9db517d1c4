//! The interval buckets: per granularity, a sorted map from interval start to the counts of each
//! queue, agent and channel in that interval. Memory is bounded by `max_open_intervals` per
//! granularity: the oldest interval is dropped first, and an interval once dropped is never
//! re-created (a late update to it is counted and skipped, since re-creating it would hold only
//! part of its counts). The shell stores intervals before they age out.

use std::collections::BTreeMap;

use model::Timestamp;

use super::Dimension;
use super::fast_hash::FastMap;
use crate::calendar::{Granularity, UtcOffset};
use crate::figures::{KpiCounts, Sign};

#[derive(Debug, Default)]
struct Level {
    intervals: BTreeMap<i64, FastMap<Dimension, KpiCounts>>,
    /// Interval starts below this were dropped and stay dropped.
    dropped_below: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct Buckets {
    levels: [Level; 3],
    max_open_intervals: [usize; 3],
    offset: UtcOffset,
    /// Updates skipped because their interval was already dropped.
    pub updates_to_dropped_intervals: u64,
}

impl Buckets {
    pub fn new(max_open_intervals: [usize; 3], offset: UtcOffset) -> Self {
        Self { levels: Default::default(), max_open_intervals, offset, updates_to_dropped_intervals: 0 }
    }

    /// Adds or retracts `delta` in the interval containing `at`, at every granularity.
    pub fn apply(&mut self, at: Timestamp, dim: Dimension, delta: &KpiCounts, sign: Sign) {
        for g in Granularity::ALL {
            let start = g.start_of(at, self.offset).unix_ms();
            self.apply_at(g, start, dim, delta, sign);
        }
    }

    /// Adds or retracts `delta` in the interval starting at `start` of granularity `g`.
    pub fn apply_at(&mut self, g: Granularity, start: i64, dim: Dimension, delta: &KpiCounts, sign: Sign) {
        let max = self.max_open_intervals[g.index()];
        let level = &mut self.levels[g.index()];
        if level.dropped_below.is_some_and(|below| start < below) {
            self.updates_to_dropped_intervals += 1;
            return;
        }
        level.intervals.entry(start).or_default().entry(dim).or_default().apply(delta, sign);
        while level.intervals.len() > max {
            if let Some((oldest, _)) = level.intervals.pop_first() {
                level.dropped_below = Some(oldest + g.length_ms());
            }
        }
        if level.dropped_below.is_some_and(|below| start < below) {
            // The update itself created the oldest interval, which was dropped at once.
            self.updates_to_dropped_intervals += 1;
        }
    }

    /// Whether updates for the interval at `start` are still kept.
    pub fn is_dropped(&self, g: Granularity, start: i64) -> bool {
        self.levels[g.index()].dropped_below.is_some_and(|below| start < below)
    }

    pub fn get(&self, g: Granularity, start: Timestamp, dim: Dimension) -> Option<&KpiCounts> {
        self.levels[g.index()].intervals.get(&start.unix_ms())?.get(&dim)
    }

    /// The intervals of `g` whose start is in `[from, to)`, with the counts of `dim`.
    pub fn range(
        &self,
        g: Granularity,
        from: Timestamp,
        to: Timestamp,
        dim: Dimension,
    ) -> impl Iterator<Item = (Timestamp, &KpiCounts)> {
        let range = from.unix_ms()..to.unix_ms().max(from.unix_ms());
        self.levels[g.index()]
            .intervals
            .range(range)
            .filter_map(move |(start, dims)| dims.get(&dim).map(|c| (Timestamp::from_unix_ms(*start), c)))
    }

    /// Every non-empty bucket, sorted, for comparisons and snapshots.
    pub fn snapshot(&self) -> BTreeMap<(Granularity, i64, Dimension), KpiCounts> {
        let mut out = BTreeMap::new();
        for g in Granularity::ALL {
            for (start, dims) in &self.levels[g.index()].intervals {
                for (dim, counts) in dims {
                    if !counts.is_empty() {
                        out.insert((g, *start, *dim), *counts);
                    }
                }
            }
        }
        out
    }

    pub fn offset(&self) -> UtcOffset {
        self.offset
    }

    pub fn open_intervals(&self, g: Granularity) -> usize {
        self.levels[g.index()].intervals.len()
    }
}
