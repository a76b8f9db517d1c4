//! Matching, both ways: which available agent gets a waiting contact (per the queue's strategy
//! and the agents' penalty tiers), and which waiting contact a newly free agent gets (lowest
//! penalty tier first, then the best wait key). Reads the indexes only; never scans all agents
//! or all contacts.

use std::ops::Bound;

use model::RoutingStrategy;

use super::{
    Acd, AgentIdx, AgentRec, AvailKey, ClassKey, ContactIdx, MAX_DECLINED_SKIPPED, MAX_RING_ALL_AGENTS,
    MAX_WEIGHTED_CANDIDATES, VOICE, WaitKey,
};
use crate::config::QueueIdx;

const TOP: u64 = u64::MAX;

impl Acd {
    /// Whether the agent has the class's language and skills at the required levels.
    pub(crate) fn fits(rec: &AgentRec, key: &ClassKey) -> bool {
        key.language.is_none_or(|l| rec.languages.contains(&l))
            && key.skills.iter().all(|&(s, p)| rec.skills.get(s as usize).is_some_and(|&have| have >= p))
    }

    /// The agents to ring for a contact of `class` in `queue`: one, or several under ring-all.
    /// A scan that finds nobody is remembered per class with the index version it saw, and not
    /// repeated until an agent is (re)inserted in that index: the set only shrank meanwhile.
    pub(crate) fn pick_agents(&mut self, queue: QueueIdx, class: u32, exclude: &[AgentIdx]) -> Vec<AgentIdx> {
        let (group, version, known_empty) = {
            let q = &self.queues[queue as usize];
            let c = &q.classes[class as usize];
            let version = q.available_version[c.key.group as usize];
            (c.key.group, version, c.no_fit_version == Some(version))
        };
        if known_empty && exclude.is_empty() {
            return Vec::new();
        }
        let found = self.scan_agents(queue, class, exclude);
        if found.is_empty() && exclude.is_empty() {
            self.queues[queue as usize].classes[class as usize].no_fit_version = Some(version);
        }
        debug_assert!(found.iter().all(|&a| Self::can_take(&self.agents[a as usize], group)));
        found
    }

    fn scan_agents(&mut self, queue: QueueIdx, class: u32, exclude: &[AgentIdx]) -> Vec<AgentIdx> {
        let q = &self.queues[queue as usize];
        let key = &q.classes[class as usize].key;
        let set = &q.available[key.group as usize];
        let mut strategy = q.cfg.strategy;
        if strategy == RoutingStrategy::RingAll && key.group != VOICE {
            strategy = RoutingStrategy::LongestIdle;
        }
        let ok = |k: &AvailKey| {
            let rec = &self.agents[k.3 as usize];
            !exclude.contains(&k.3) && Self::can_take(rec, key.group) && Self::fits(rec, key)
        };
        let mut tier = match set.first() {
            Some(k) => k.0,
            None => return Vec::new(),
        };
        loop {
            let whole = set.range((tier, 0, 0, 0)..=(tier, TOP, TOP, AgentIdx::MAX));
            let found: Vec<AvailKey> = match strategy {
                RoutingStrategy::RoundRobin => {
                    let split = (tier, q.rr_last.saturating_add(1), 0, 0);
                    let after = set.range(split..=(tier, TOP, TOP, AgentIdx::MAX));
                    let before = set.range((tier, 0, 0, 0)..split);
                    after.chain(before).find(|k| ok(k)).into_iter().copied().collect()
                }
                RoutingStrategy::RingAll => whole.filter(|k| ok(k)).take(MAX_RING_ALL_AGENTS).copied().collect(),
                RoutingStrategy::WeightedRandom => {
                    whole.filter(|k| ok(k)).take(MAX_WEIGHTED_CANDIDATES).copied().collect()
                }
                _ => whole.clone().find(|k| ok(k)).into_iter().copied().collect(),
            };
            if !found.is_empty() {
                return self.choose(queue, strategy, found);
            }
            match set.range((Bound::Excluded((tier, TOP, TOP, AgentIdx::MAX)), Bound::Unbounded)).next() {
                Some(k) => tier = k.0,
                None => return Vec::new(),
            }
        }
    }

    fn choose(&mut self, queue: QueueIdx, strategy: RoutingStrategy, found: Vec<AvailKey>) -> Vec<AgentIdx> {
        match strategy {
            RoutingStrategy::RingAll => found.into_iter().map(|k| k.3).collect(),
            RoutingStrategy::RoundRobin => {
                self.queues[queue as usize].rr_last = found[0].1;
                vec![found[0].3]
            }
            RoutingStrategy::WeightedRandom => {
                let weight = |a: AgentIdx| {
                    self.agents[a as usize].memberships.iter().find(|m| m.0 == queue).map_or(0, |m| u64::from(m.2))
                };
                let weights: Vec<u64> = found.iter().map(|k| weight(k.3)).collect();
                let total: u64 = weights.iter().sum();
                if total == 0 {
                    return vec![found[0].3];
                }
                let mut draw = self.rng.below(total);
                for (k, w) in found.iter().zip(weights) {
                    if draw < w {
                        return vec![k.3];
                    }
                    draw -= w;
                }
                vec![found[0].3]
            }
            _ => vec![found[0].3],
        }
    }

    /// The waiting contact a free agent should get next, if any: contacts transferred to the
    /// agent by name first, then the lowest penalty tier with a fitting contact, best wait key.
    pub(crate) fn best_contact_for(&self, a: AgentIdx, skip: Option<ContactIdx>) -> Option<ContactIdx> {
        let rec = &self.agents[a as usize];
        for &c in rec.personal.values() {
            if Some(c) != skip && Self::can_take(rec, self.contact(c).group) {
                return Some(c);
            }
        }
        let mut best: Option<(WaitKey, ContactIdx, u8)> = None;
        for &(q, penalty, _) in &rec.memberships {
            if best.is_some_and(|b| penalty > b.2) {
                break;
            }
            let queue = &self.queues[q as usize];
            for &k in &queue.nonempty {
                let class = &queue.classes[k as usize];
                if !Self::can_take(rec, class.key.group) || !Self::fits(rec, &class.key) {
                    continue;
                }
                let head = class
                    .waiting
                    .iter()
                    .take(MAX_DECLINED_SKIPPED)
                    .find(|&(_, &c)| Some(c) != skip && !self.contact(c).declined_by.contains(&a));
                if let Some((&key, &c)) = head
                    && best.is_none_or(|b| key < b.0)
                {
                    best = Some((key, c, penalty));
                }
            }
        }
        best.map(|b| b.1)
    }
}
