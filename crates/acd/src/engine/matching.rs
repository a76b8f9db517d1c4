//! Matching, both ways: which available agent gets a waiting contact (per the queue's strategy
//! and the agents' penalty tiers), and which waiting contact a newly free agent gets (lowest
//! penalty tier first, then the best wait key). Reads the indexes only; never scans all agents
//! or all contacts.

use std::ops::Bound;

use model::RoutingStrategy;

use super::agents::{skills_best_score, skills_score};
use super::{
    Acd, AgentIdx, AgentRec, AvailKey, ClassKey, ContactIdx, MAX_DECLINED_SKIPPED, MAX_OCCUPANCY_CANDIDATES,
    MAX_RING_ALL_AGENTS, MAX_SKILLS_BEST_CANDIDATES, MAX_WEIGHTED_CANDIDATES, VOICE, WaitKey,
};
use crate::config::{OccupancyMeasure, QueueIdx, SkillIdx};

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
    /// `extra`: skills the contact requires beyond its queue's (skills-best ranks by all of them).
    pub(crate) fn pick_agents(
        &mut self,
        queue: QueueIdx,
        class: u32,
        exclude: &[AgentIdx],
        extra: &[SkillIdx],
    ) -> Vec<AgentIdx> {
        let (group, version, known_empty) = {
            let q = &self.queues[queue as usize];
            let c = &q.classes[class as usize];
            let version = q.available_version[c.key.group as usize];
            (c.key.group, version, c.no_fit_version == Some(version))
        };
        if known_empty && exclude.is_empty() {
            return Vec::new();
        }
        let found = self.scan_agents(queue, class, exclude, extra);
        if found.is_empty() && exclude.is_empty() {
            self.queues[queue as usize].classes[class as usize].no_fit_version = Some(version);
        }
        debug_assert!(found.iter().all(|&a| Self::can_take(&self.agents[a as usize], group)));
        found
    }

    fn scan_agents(&mut self, queue: QueueIdx, class: u32, exclude: &[AgentIdx], extra: &[SkillIdx]) -> Vec<AgentIdx> {
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
                RoutingStrategy::SkillsBest if !extra.is_empty() => {
                    self.best_by_all_skills(whole, &ok, queue, extra).into_iter().collect()
                }
                RoutingStrategy::LeastOccupied if q.cfg.least_occupied_by == OccupancyMeasure::Occupancy => {
                    self.least_occupied_now(whole, &ok).into_iter().collect()
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

    /// Skills-best for a contact requiring skills beyond its queue's: the agent with the highest
    /// lowest proficiency over all its required skills, then the highest sum, then the longest
    /// idle. The index is ordered by the same score over the queue's skills only, which bounds
    /// the full score from above (lowest: a subset's minimum is not smaller; sum: plus at most
    /// 10 per extra skill), so the walk stops as soon as no later agent can beat the best found,
    /// and after [`MAX_SKILLS_BEST_CANDIDATES`] fitting agents in any case (then the result is
    /// the best of those, not necessarily of the whole tier).
    fn best_by_all_skills<'a>(
        &self,
        candidates: impl Iterator<Item = &'a AvailKey>,
        ok: &impl Fn(&AvailKey) -> bool,
        queue: QueueIdx,
        extra: &[SkillIdx],
    ) -> Option<AvailKey> {
        let required = &self.queues[queue as usize].cfg.required_skills;
        let bonus = 10 * u32::try_from(extra.len()).unwrap_or(u32::MAX / 10);
        let mut best: Option<((u8, u32), u64, AvailKey)> = None;
        let mut compared = 0usize;
        for k in candidates {
            let (lowest, sum) = skills_best_score(k.1);
            if best.is_some_and(|(score, _, _)| (lowest, sum.saturating_add(bonus)) < score) {
                break;
            }
            if !ok(k) {
                continue;
            }
            let rec = &self.agents[k.3 as usize];
            let score = skills_score(rec, required.iter().map(|&(s, _)| s).chain(extra.iter().copied()));
            if best.is_none_or(|(b, idle, _)| score > b || (score == b && k.2 < idle)) {
                best = Some((score, k.2, *k));
            }
            compared += 1;
            if compared >= MAX_SKILLS_BEST_CANDIDATES {
                break;
            }
        }
        best.map(|b| b.2)
    }

    /// Least-occupied by occupancy: the index holds each agent's occupancy when it last became
    /// free, but an idle agent's occupancy keeps falling, so the first
    /// [`MAX_OCCUPANCY_CANDIDATES`] fitting agents are re-scored at `now` and the lowest wins
    /// (then the longest idle).
    fn least_occupied_now<'a>(
        &self,
        candidates: impl Iterator<Item = &'a AvailKey>,
        ok: &impl Fn(&AvailKey) -> bool,
    ) -> Option<AvailKey> {
        candidates
            .filter(|k| ok(k))
            .take(MAX_OCCUPANCY_CANDIDATES)
            .map(|k| (self.agents[k.3 as usize].occupancy.ppm(self.now), k.2, *k))
            .min_by_key(|&(ppm, idle, k)| (ppm, idle, k.3))
            .map(|b| b.2)
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
