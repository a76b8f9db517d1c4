//! Agents: login, presence (Available / Away with a reason / Offline), per-channel capacity,
//! wrap-up, and the availability index each queue picks agents from. An agent who is Away or
//! Offline, or has no free slot on a channel, must never be in that channel's index.

use std::collections::BTreeMap;

use model::{AgentState, ContactId, RoutingStrategy, Timestamp};

use super::occupancy::Segment;
use super::{
    Acd, AcdError, AgentIdx, AgentRec, AvailKey, ContactState, GROUPS, MAX_AGENTS, MAX_LANGUAGES, Presence, VOICE,
    capacity_of,
};
use crate::config::{OccupancyMeasure, SkillIdx};
use crate::io::{AgentProfile, CancelReason, EventKind, Output, RequeueReason};

/// Longest idle first: the time the agent became idle, as an order-preserving `u64`.
pub(crate) fn idle_key(rec: &AgentRec) -> u64 {
    rec.idle_since.unix_ms() as u64 ^ (1 << 63)
}

/// Skills-best score of an agent over `skills`: (lowest proficiency, sum of proficiencies).
/// Higher is better. With no skill the lowest is the top level (10), so nobody is penalised.
pub(crate) fn skills_score(rec: &AgentRec, skills: impl Iterator<Item = SkillIdx>) -> (u8, u32) {
    let mut lowest = 10u8;
    let mut sum = 0u32;
    for s in skills {
        let have = rec.skills.get(s as usize).copied().unwrap_or(0);
        lowest = lowest.min(have);
        sum += u32::from(have);
    }
    (lowest, sum)
}

/// Index key of a skills-best score: higher lowest, then higher sum, sorts first.
pub(crate) fn skills_best_key((lowest, sum): (u8, u32)) -> u64 {
    (u64::from(10u8.saturating_sub(lowest)) << 32) | u64::from(u32::MAX - sum)
}

/// The score a skills-best index key was built from.
pub(crate) fn skills_best_score(key: u64) -> (u8, u32) {
    (10u8.saturating_sub((key >> 32) as u8), u32::MAX - key as u32)
}

/// The reason code set when an agent misses too many offers in a row.
pub const MISSED_REASON: &str = "missed";

impl Acd {
    pub(crate) fn agent_logged_in(&mut self, profile: AgentProfile) -> Result<(), AcdError> {
        profile.capacity.validate().map_err(|e| AcdError::Invalid(e.to_string()))?;
        let mut skills = vec![0u8; self.cfg.skills.len()];
        for (name, level) in &profile.skills {
            let idx: SkillIdx = self.cfg.skill_index(name).ok_or_else(|| AcdError::UnknownSkill(name.to_string()))?;
            skills[idx as usize] = level.get();
        }
        let mut memberships = Vec::with_capacity(profile.queues.len());
        for m in &profile.queues {
            let q = self.queue_idx(m.queue)?;
            if !memberships.iter().any(|&(mq, _, _)| mq == q) {
                memberships.push((q, m.penalty, m.weight));
            }
        }
        memberships.sort_by_key(|&(q, penalty, _)| (penalty, q));
        let existing = self.agent_ids.get(&profile.id).copied();
        if let Some(a) = existing
            && self.agents[a as usize].presence != Presence::Offline
        {
            return Err(AcdError::AlreadyLoggedIn(profile.id));
        }
        if existing.is_none() && self.agents.len() >= MAX_AGENTS {
            return Err(AcdError::LimitReached("MAX_AGENTS"));
        }
        let languages = self.intern_languages(&profile)?;
        self.next_ordinal += 1;
        let a = match existing {
            Some(a) => a,
            None => {
                let a = self.agents.len() as AgentIdx;
                self.agents.push(AgentRec {
                    id: profile.id,
                    presence: Presence::Offline,
                    reported: AgentState::Offline,
                    skills: Vec::new(),
                    languages: Vec::new(),
                    capacity: profile.capacity,
                    memberships: Vec::new(),
                    used: [0; GROUPS],
                    offers: Vec::new(),
                    active: Vec::new(),
                    wrap_ups: Vec::new(),
                    idle_since: self.now,
                    handled_today: 0,
                    occupancy: super::occupancy::Timeline::new(self.now),
                    ordinal: self.next_ordinal,
                    missed_in_row: 0,
                    indexed: Vec::new(),
                    personal: BTreeMap::new(),
                });
                self.agent_ids.insert(profile.id, a);
                a
            }
        };
        let rec = &mut self.agents[a as usize];
        rec.skills = skills;
        rec.languages = languages;
        rec.capacity = profile.capacity;
        rec.memberships = memberships;
        rec.ordinal = self.next_ordinal;
        self.set_presence_idx(a, Presence::Available, false);
        Ok(())
    }

    fn intern_languages(&mut self, profile: &AgentProfile) -> Result<Vec<u16>, AcdError> {
        profile
            .languages
            .iter()
            .map(|l| self.intern_language(l.primary()).ok_or(AcdError::LimitReached("MAX_LANGUAGES")))
            .collect()
    }

    /// The dense index of a primary language; `None` once [`MAX_LANGUAGES`] are known.
    pub(crate) fn intern_language(&mut self, primary: &str) -> Option<u16> {
        if let Some(&i) = self.languages.get(primary) {
            return Some(i);
        }
        let next = self.languages.len();
        (next < MAX_LANGUAGES).then(|| {
            self.languages.insert(primary.to_owned(), next as u16);
            next as u16
        })
    }

    pub(crate) fn set_presence(&mut self, agent: model::AgentId, p: Presence, forced: bool) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        if self.agents[a as usize].presence == Presence::Offline && p != Presence::Offline {
            return Err(AcdError::Invalid(format!("agent {agent} is logged out; log in first")));
        }
        self.set_presence_idx(a, p, forced);
        Ok(())
    }

    /// Changes presence: ringing offers of an agent who stops being Available are withdrawn and
    /// their contacts requeued; an agent who becomes Available is offered waiting work.
    pub(crate) fn set_presence_idx(&mut self, a: AgentIdx, p: Presence, forced: bool) {
        let was_serving = self.agents[a as usize].presence != Presence::Offline
            && !matches!(self.agents[a as usize].presence, Presence::Away(_));
        let serving = p == Presence::Available;
        let reason = match &p {
            Presence::Away(r) => Some(r.clone()),
            _ => None,
        };
        if p == Presence::Available && self.agents[a as usize].presence != Presence::Available {
            let rec = &mut self.agents[a as usize];
            rec.idle_since = self.now;
            rec.missed_in_row = 0;
        }
        self.agents[a as usize].presence = p;
        if was_serving != serving {
            for i in 0..self.agents[a as usize].memberships.len() {
                let q = self.agents[a as usize].memberships[i].0 as usize;
                let s = &mut self.queues[q].serving;
                *s = if serving { s.saturating_add(1) } else { s.saturating_sub(1) };
            }
        }
        if !serving {
            // Out of every index first, so requeued contacts cannot come straight back here.
            self.reindex_agent(a);
            self.withdraw_offers(a, CancelReason::AgentUnavailable);
        }
        if self.agents[a as usize].presence == Presence::Offline {
            self.return_personal(a);
        }
        self.sync_state(a, reason, forced);
        self.fill_agent(a);
    }

    /// Cancels every offer ringing agent `a` and requeues those contacts.
    fn withdraw_offers(&mut self, a: AgentIdx, reason: CancelReason) {
        let offers = std::mem::take(&mut self.agents[a as usize].offers);
        for c in offers {
            let (id, group) = {
                let rec = self.contact(c);
                (rec.id, rec.group)
            };
            let agent_id = self.agents[a as usize].id;
            self.outputs.push_back(Output::CancelOffer { contact: id, agent: agent_id, reason });
            self.release_slot(a, group);
            let remaining = match &mut self.contact_mut(c).state {
                ContactState::Offered { agents } => {
                    agents.retain(|&x| x != a);
                    agents.len()
                }
                _ => continue,
            };
            if remaining == 0 {
                self.requeue(c, RequeueReason::AgentUnavailable);
            }
        }
    }

    /// The wallboard state derived from presence and work in hand.
    fn derived_state(rec: &AgentRec) -> AgentState {
        match rec.presence {
            Presence::Offline => AgentState::Offline,
            Presence::Away(_) => AgentState::Away,
            Presence::Available if !rec.active.is_empty() || !rec.offers.is_empty() => AgentState::Busy,
            Presence::Available if !rec.wrap_ups.is_empty() => AgentState::WrapUp,
            Presence::Available => AgentState::Available,
        }
    }

    /// What the agent's time counts as for occupancy now.
    fn occupancy_segment(rec: &AgentRec) -> Segment {
        if !rec.active.is_empty() || !rec.wrap_ups.is_empty() {
            Segment::Handling
        } else if rec.presence == Presence::Available {
            Segment::Idle
        } else {
            Segment::Other
        }
    }

    /// Emits `AgentStateChanged` when the derived state moved, and moves the occupancy timeline
    /// on (every change of an agent's work or presence ends here).
    pub(crate) fn sync_state(&mut self, a: AgentIdx, reason: Option<model::ReasonCode>, by_supervisor: bool) {
        let now = self.now;
        let rec = &mut self.agents[a as usize];
        let segment = Self::occupancy_segment(rec);
        rec.occupancy.track(now, segment);
        let to = Self::derived_state(rec);
        if to != rec.reported {
            let from = rec.reported;
            rec.reported = to;
            let agent = rec.id;
            self.emit(EventKind::AgentStateChanged { agent, from, to, reason, by_supervisor });
        }
    }

    /// Whether agent `a` could take one more contact of channel group `g` now.
    pub(crate) fn can_take(rec: &AgentRec, g: u8) -> bool {
        rec.presence == Presence::Available
            && rec.used[g as usize] < capacity_of(&rec.capacity, g)
            && !(g != VOICE && rec.capacity.voice_blocks_others && rec.used[VOICE as usize] > 0)
    }

    /// The agent's order in queue `q`'s available index (smaller first), after its penalty.
    fn strategy_key(&self, rec: &AgentRec, q: usize) -> (u64, u64) {
        let idle = idle_key(rec);
        let cfg = &self.queues[q].cfg;
        match cfg.strategy {
            RoutingStrategy::RoundRobin | RoutingStrategy::WeightedRandom => (rec.ordinal, 0),
            RoutingStrategy::LongestIdle | RoutingStrategy::RingAll => (idle, rec.ordinal),
            RoutingStrategy::LeastOccupied => match cfg.least_occupied_by {
                OccupancyMeasure::Contacts => (u64::from(rec.handled_today), idle),
                // A snapshot at (re)index time; matching re-scores the first few at decision time.
                OccupancyMeasure::Occupancy => (u64::from(rec.occupancy.ppm(self.now)), idle),
            },
            RoutingStrategy::SkillsBest => {
                let skills = cfg.required_skills.iter().map(|&(s, _)| s);
                (skills_best_key(skills_score(rec, skills)), idle)
            }
        }
    }

    /// Puts agent `a` in exactly the available sets it belongs to now.
    pub(crate) fn reindex_agent(&mut self, a: AgentIdx) {
        let old = std::mem::take(&mut self.agents[a as usize].indexed);
        for (q, g, key) in old {
            self.queues[q as usize].available[g as usize].remove(&key);
        }
        let rec = &self.agents[a as usize];
        if rec.presence != Presence::Available {
            return;
        }
        let mut entries = Vec::new();
        for g in 0..GROUPS as u8 {
            if !Self::can_take(rec, g) {
                continue;
            }
            for &(q, penalty, _) in &rec.memberships {
                // An agent below the queue's most relaxed requirements could never take any of
                // its contacts: leave it out so matching never scans past it.
                let floor = &self.queues[q as usize].floor_skills;
                if !floor.iter().all(|&(s, p)| rec.skills.get(s as usize).is_some_and(|&have| have >= p)) {
                    continue;
                }
                let (k1, k2) = self.strategy_key(rec, q as usize);
                entries.push((q, g, (penalty, k1, k2, a) as AvailKey));
            }
        }
        for &(q, g, key) in &entries {
            let queue = &mut self.queues[q as usize];
            queue.available_version[g as usize] += 1;
            queue.available[g as usize].insert(key);
        }
        self.agents[a as usize].indexed = entries;
    }

    /// Frees one slot of group `g` (offer withdrawn, contact gone, wrap-up over).
    pub(crate) fn release_slot(&mut self, a: AgentIdx, g: u8) {
        let rec = &mut self.agents[a as usize];
        rec.used[g as usize] = rec.used[g as usize].saturating_sub(1);
    }

    /// Offers waiting work to agent `a` until it is full or nothing fits.
    pub(crate) fn fill_agent(&mut self, a: AgentIdx) {
        self.fill_agent_except(a, None);
    }

    /// Always leaves the agent's index entries fresh: callers that change an agent's slots or
    /// keys end with a fill instead of reindexing twice.
    pub(crate) fn fill_agent_except(&mut self, a: AgentIdx, skip: Option<super::ContactIdx>) {
        let mut offered = false;
        while self.agents[a as usize].presence == Presence::Available {
            let Some(c) = self.best_contact_for(a, skip) else { break };
            // `make_offer` reindexes the agent after each offer.
            self.make_offer(c, vec![a]);
            offered = true;
        }
        if !offered {
            self.reindex_agent(a);
        }
    }

    pub(crate) fn wrap_up_done(&mut self, agent: model::AgentId, contact: ContactId) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        if !self.agents[a as usize].wrap_ups.iter().any(|&(c, _)| c == contact) {
            return Err(AcdError::WrongContactState(contact));
        }
        self.finish_wrap_up(a, contact);
        Ok(())
    }

    /// Ends a wrap-up (timer or agent), freeing its slot. A no-op if it already ended.
    pub(crate) fn finish_wrap_up(&mut self, a: AgentIdx, contact: ContactId) {
        let rec = &mut self.agents[a as usize];
        let Some(pos) = rec.wrap_ups.iter().position(|&(c, _)| c == contact) else { return };
        let (_, g) = rec.wrap_ups.swap_remove(pos);
        rec.idle_since = self.now;
        self.release_slot(a, g);
        self.sync_state(a, None, false);
        self.fill_agent(a);
    }

    /// Agent `a` stops handling a connected contact: wrap-up per the queue, or free at once.
    /// Leaves the agent's index stale: the caller must [`Acd::fill_agent`] it afterwards.
    pub(crate) fn agent_done_with(&mut self, a: AgentIdx, c: super::ContactIdx, now: Timestamp) {
        let (id, group, queue) = {
            let rec = self.contact(c);
            (rec.id, rec.group, rec.queue)
        };
        let wrap_up = self.queues[queue as usize].cfg.wrap_up;
        let rec = &mut self.agents[a as usize];
        rec.active.retain(|&x| x != c);
        rec.handled_today = rec.handled_today.saturating_add(1);
        if wrap_up.as_ms() > 0 {
            rec.wrap_ups.push((id, group));
            self.arm(now.plus(wrap_up), super::Timer::WrapUp { agent: a, contact: id });
        } else {
            rec.idle_since = now;
            self.release_slot(a, group);
        }
        self.sync_state(a, None, false);
    }

    /// Counts a missed offer; after the queue's limit in a row the agent goes Away ("missed").
    pub(crate) fn offer_missed_by(&mut self, a: AgentIdx, limit: u8) {
        let rec = &mut self.agents[a as usize];
        rec.missed_in_row = rec.missed_in_row.saturating_add(1);
        if rec.missed_in_row >= limit && rec.presence == Presence::Available {
            let reason = model::ReasonCode::parse(MISSED_REASON).expect("\"missed\" is a valid reason code");
            self.set_presence_idx(a, Presence::Away(reason), false);
        }
    }
}
