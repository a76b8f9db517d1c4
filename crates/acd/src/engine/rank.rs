//! An ordered multiset of wait keys that answers "how many keys are smaller than this one" in
//! `O(n / BLOCK_KEYS + log BLOCK_KEYS)`: a sorted list of sorted blocks. Used for announced
//! queue positions, so a position never costs a scan of the waiting contacts. Holds keys only;
//! it must stay in step with the queue's classes (the engine inserts and removes in both).

use super::WaitKey;

/// Most keys per block before it splits in two.
pub const BLOCK_KEYS: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct RankedKeys {
    blocks: Vec<Vec<WaitKey>>,
    len: usize,
}

impl RankedKeys {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Index of the block that holds or should hold `key`.
    fn block_for(&self, key: &WaitKey) -> usize {
        let i = self.blocks.partition_point(|b| b.last().is_some_and(|last| last < key));
        i.min(self.blocks.len().saturating_sub(1))
    }

    pub fn insert(&mut self, key: WaitKey) {
        if self.blocks.is_empty() {
            self.blocks.push(Vec::with_capacity(BLOCK_KEYS));
        }
        let b = self.block_for(&key);
        let block = &mut self.blocks[b];
        let at = block.partition_point(|k| *k < key);
        block.insert(at, key);
        self.len += 1;
        if block.len() > BLOCK_KEYS {
            let upper = block.split_off(BLOCK_KEYS / 2);
            self.blocks.insert(b + 1, upper);
        }
    }

    /// Removes `key`; returns whether it was there.
    pub fn remove(&mut self, key: &WaitKey) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let b = self.block_for(key);
        let block = &mut self.blocks[b];
        let Ok(at) = block.binary_search(key) else { return false };
        block.remove(at);
        if block.is_empty() {
            self.blocks.remove(b);
        }
        self.len -= 1;
        true
    }

    /// How many keys are strictly smaller than `key`.
    pub fn rank(&self, key: &WaitKey) -> usize {
        let mut before = 0;
        for block in &self.blocks {
            match block.last() {
                Some(last) if last < key => before += block.len(),
                _ => return before + block.partition_point(|k| k < key),
            }
        }
        before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    #[test]
    fn rank_matches_a_sorted_vector_through_inserts_and_removes() {
        let mut rng = SeededRng::new(3);
        let mut ranked = RankedKeys::default();
        let mut reference: Vec<WaitKey> = Vec::new();
        for seq in 0..5_000u64 {
            let key = (rng.below(1_000) as i64 - 500, seq);
            ranked.insert(key);
            reference.push(key);
            if rng.below(3) == 0 {
                let victim = reference.swap_remove(rng.below(reference.len() as u64) as usize);
                assert!(ranked.remove(&victim));
            }
        }
        reference.sort_unstable();
        assert_eq!(ranked.len(), reference.len());
        for probe in reference.iter().step_by(37) {
            assert_eq!(ranked.rank(probe), reference.partition_point(|k| k < probe));
        }
    }

    #[test]
    fn removing_a_missing_key_changes_nothing() {
        let mut ranked = RankedKeys::default();
        ranked.insert((1, 1));
        assert!(!ranked.remove(&(2, 2)));
        assert_eq!(ranked.len(), 1);
    }
}
