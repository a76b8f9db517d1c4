//! A map with a fixed most number of keys, for per-username and per-client counters that an
//! attacker can otherwise grow without end by sending new keys.
//!
//! When full, inserting a new key first drops entries the caller says are stale, then (if still
//! full) the entry with the oldest `last_used_ms`; every eviction is counted. Never grows past
//! `max_keys`.

use std::collections::HashMap;
use std::hash::Hash;

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
            if self.entries.len() >= self.max_keys
                && let Some(oldest) = self.entries.iter().min_by_key(|(_, (used, _))| *used).map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
            self.evictions += (before - self.entries.len()) as u64;
        }
        let slot = self.entries.entry(key.clone()).or_insert_with(|| (now_ms, make()));
        slot.0 = now_ms;
        &mut slot.1
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
    fn stale_entries_go_first() {
        let mut m: BoundedMap<u32, bool> = BoundedMap::new(2);
        m.get_or_insert(&1, 0, || true, |stale| *stale);
        m.get_or_insert(&2, 1, || false, |stale| *stale);
        m.get_or_insert(&3, 2, || false, |stale| *stale);
        assert!(m.get(&1).is_none());
        assert!(m.get(&2).is_some());
    }
}
