//! A map with a fixed most number of keys, for per-username and per-client counters that an
//! attacker can otherwise grow without end by sending new keys.
//!
//! When full, inserting a new key first drops entries the caller says are stale, then (if still
//! full) the least recently used eighth; every eviction is counted. Never grows past `max_keys`,
//! and a flood of new keys costs amortised O(1) per key, not a full scan each.

use std::collections::HashMap;
use std::hash::Hash;

/// When the map is full of live entries, 1/8 of it (the least recently used) is evicted at once.
const EVICTED_FRACTION_DENOMINATOR: usize = 8;

pub(crate) struct BoundedMap<K, V> {
    max_keys: usize,
    entries: HashMap<K, (i64, V)>,
    evictions: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    pub(crate) fn new(max_keys: usize) -> Self {
        Self { max_keys: max_keys.max(1), entries: HashMap::new(), evictions: 0 }
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(_, v)| v)
    }

    pub(crate) fn remove(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// The value under `key`, inserting `make()` if absent, and marks it used at `now_ms`.
    pub(crate) fn get_or_insert(
        &mut self,
        key: &K,
        now_ms: i64,
        make: impl FnOnce() -> V,
        is_stale: impl Fn(&V) -> bool,
    ) -> &mut V {
        if !self.entries.contains_key(key) && self.entries.len() >= self.max_keys {
            let before = self.entries.len();
            self.entries.retain(|_, (_, v)| !is_stale(v));
            if self.entries.len() >= self.max_keys {
                self.evict_least_recently_used();
            }
            self.evictions += (before - self.entries.len()) as u64;
        }
        let slot = self.entries.entry(key.clone()).or_insert_with(|| (now_ms, make()));
        slot.0 = now_ms;
        &mut slot.1
    }

    /// Drops the least recently used eighth (at least one entry), so the O(n) scan is paid once
    /// per n/8 inserts of new keys, not on every one (an attacker with many addresses would
    /// otherwise make every request scan the whole map).
    fn evict_least_recently_used(&mut self) {
        let drop = self.max_keys.div_ceil(EVICTED_FRACTION_DENOMINATOR);
        let mut used: Vec<i64> = self.entries.values().map(|(u, _)| *u).collect();
        let k = drop.min(used.len()).max(1) - 1;
        let (_, threshold, _) = used.select_nth_unstable(k);
        let threshold = *threshold;
        self.entries.retain(|_, (u, _)| *u > threshold);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_holds_more_than_its_limit_and_evicts_the_least_recently_used() {
        let mut m: BoundedMap<u32, u32> = BoundedMap::new(3);
        for k in 0..3 {
            *m.get_or_insert(&k, i64::from(k), || 0, |_| false) += 1;
        }
        m.get_or_insert(&0, 10, || 0, |_| false);
        m.get_or_insert(&99, 11, || 0, |_| false);
        assert_eq!(m.len(), 3);
        assert!(m.get(&1).is_none(), "key 1 was the least recently used");
        assert!(m.get(&0).is_some());
        assert_eq!(m.evictions(), 1);
    }

    #[test]
    fn a_flood_of_new_keys_evicts_in_batches_of_an_eighth() {
        let mut m: BoundedMap<u32, ()> = BoundedMap::new(80);
        for k in 0..80 {
            m.get_or_insert(&k, i64::from(k), || (), |_| false);
        }
        m.get_or_insert(&1_000, 100, || (), |_| false);
        assert_eq!(m.len(), 71, "10 oldest dropped, 1 added");
        assert!(m.get(&9).is_none() && m.get(&10).is_some());
        for k in 1_001..1_010 {
            m.get_or_insert(&k, 101, || (), |_| false);
        }
        assert_eq!((m.len(), m.evictions()), (80, 10), "no scan until full again");
    }

    #[test]
    fn stale_entries_go_first() {
        let mut m: BoundedMap<u32, bool> = BoundedMap::new(2);
        m.get_or_insert(&1, 0, || true, |stale| *stale);
        m.get_or_insert(&2, 1, || false, |stale| *stale);
        m.get_or_insert(&3, 2, || false, |stale| *stale);
        assert!(m.get(&1).is_none());
        assert!(m.get(&2).is_some());
    }
}
