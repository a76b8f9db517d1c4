//! Contacts: arrival through a route table, waiting (classes, priority with aging, relaxation,
//! overflow, max wait), offers (accept, reject, ring timeout), abandon, end, callbacks and
//! transfers. Every contact that enters leaves with exactly one `ContactFinished` event; this
//! module must never drop one silently.

use model::{AgentId, ContactId, ContactOutcome, QueueId, Timestamp};

use super::{
    Acd, AcdError, AgentIdx, ClassKey, ContactIdx, ContactRec, ContactState, HistoryEntry, MAX_CLASSES_PER_QUEUE,
    MAX_HISTORY_ENTRIES, MAX_LIVE_CONTACTS, MAX_OVERFLOW_HOPS, Presence, Timer, UNKNOWN_LANGUAGE, WaitKey, group_of,
};
use crate::config::{QueueIdx, SkillIdx};
use crate::io::{
    CancelReason, ContactRequest, Entry, EventKind, MAX_ATTRIBUTE_BYTES, MAX_CONTACT_ATTRIBUTES, MAX_CONTACT_SKILLS,
    MAX_ISSUE_TYPE_BYTES, OfferKind, Output, RejectReason, RequeueReason,
};

impl Acd {
    fn check_request(&self, req: &ContactRequest) -> Result<(), AcdError> {
        if self.contact_ids.contains_key(&req.id) {
            return Err(AcdError::DuplicateContact(req.id));
        }
        if self.contact_ids.len() >= MAX_LIVE_CONTACTS {
            return Err(AcdError::LimitReached("MAX_LIVE_CONTACTS"));
        }
        if req.attributes.len() > MAX_CONTACT_ATTRIBUTES
            || req.attributes.iter().any(|(k, v)| k.len() > MAX_ATTRIBUTE_BYTES || v.len() > MAX_ATTRIBUTE_BYTES)
        {
            return Err(AcdError::Invalid(format!(
                "at most {MAX_CONTACT_ATTRIBUTES} attributes of at most {MAX_ATTRIBUTE_BYTES} bytes"
            )));
        }
        if req.issue_type.as_ref().is_some_and(|t| t.len() > MAX_ISSUE_TYPE_BYTES) {
            return Err(AcdError::Invalid(format!("issue type longer than {MAX_ISSUE_TYPE_BYTES} bytes")));
        }
        if req.required_skills.len() > MAX_CONTACT_SKILLS {
            return Err(AcdError::Invalid(format!("more than {MAX_CONTACT_SKILLS} required skills")));
        }
        Ok(())
    }

    pub(crate) fn contact_arrived(&mut self, req: ContactRequest) -> Result<(), AcdError> {
        self.check_request(&req)?;
        let mut own_skills = Vec::with_capacity(req.required_skills.len());
        for (name, level) in &req.required_skills {
            let s = self.cfg.skill_index(name).ok_or_else(|| AcdError::UnknownSkill(name.to_string()))?;
            own_skills.push((s, level.get()));
        }
        let (queue, rule, bonus) = match &req.entry {
            Entry::Queue(id) => (self.queue_idx(*id)?, None, 0),
            Entry::EntryPoint(name) => {
                let ep = self
                    .cfg
                    .entry_points
                    .iter()
                    .find(|e| &e.name == name)
                    .ok_or_else(|| AcdError::UnknownEntryPoint(name.chars().take(64).collect()))?;
                let route = ep.route(&req);
                (route.queue, route.rule.map(str::to_owned), route.priority_bonus)
            }
        };
        let language = req.language.as_ref().map(|l| self.intern_language(l.primary()).unwrap_or(UNKNOWN_LANGUAGE));
        self.next_seq += 1;
        let rec = ContactRec {
            id: req.id,
            channel: req.channel,
            group: group_of(req.channel),
            queue,
            language,
            own_skills,
            priority: req.priority.saturating_add(bonus),
            first_queued_at: self.now,
            queued_at: self.now,
            seq: self.next_seq,
            stage: 0,
            state: ContactState::Unqueued,
            epoch: 0,
            callback: req.callback,
            declined_by: Vec::new(),
            hops: 0,
            answered_at: None,
            history: Vec::with_capacity(4),
            announce_at: None,
        };
        let c = match self.free_slots.pop() {
            Some(c) => {
                self.contacts[c as usize] = Some(rec);
                c
            }
            None => {
                self.contacts.push(Some(rec));
                (self.contacts.len() - 1) as ContactIdx
            }
        };
        self.contact_ids.insert(req.id, c);
        // Ids come and go all day: at most half full, a removal mostly frees its slot outright
        // instead of leaving a tombstone, so the map seldom rehashes in place (profiled).
        if self.contact_ids.capacity() < 2 * self.contact_ids.len() {
            self.contact_ids.reserve(self.contact_ids.len());
        }
        self.enter_queue(c, queue, rule);
        Ok(())
    }

    fn push_history(&mut self, c: ContactIdx, entry: HistoryEntry) {
        let h = &mut self.contact_mut(c).history;
        if h.len() >= MAX_HISTORY_ENTRIES {
            h.remove(0);
        }
        h.push(entry);
    }

    /// Puts an unqueued contact in queue `q`, or rejects or overflows it.
    fn enter_queue(&mut self, c: ContactIdx, q: QueueIdx, rule: Option<String>) {
        let now = self.now;
        let queue = &self.queues[q as usize];
        let queue_id = queue.cfg.id;
        if !queue.open {
            return self.reject(c, Some(queue_id), RejectReason::Closed);
        }
        if queue.waiting >= queue.cfg.max_waiting || queue.class_ids.len() >= MAX_CLASSES_PER_QUEUE {
            return self.reject(c, Some(queue_id), RejectReason::QueueFull(queue.cfg.when_full));
        }
        let ewt_on_entry = queue.load.ewt(queue.waiting + 1, queue.serving, queue.cfg.max_wait);
        let overflow = queue.cfg.overflow.clone();
        self.queues[q as usize].load.record_arrival(now);
        if let Some(of) = overflow
            && of.when_ewt_exceeds.is_some_and(|limit| ewt_on_entry > limit)
            && self.contact(c).hops < MAX_OVERFLOW_HOPS
            && self.queues[q as usize].available.iter().all(|s| s.is_empty())
        {
            return self.overflow_to(c, q, of.to);
        }
        let rec = self.contact_mut(c);
        rec.queue = q;
        rec.queued_at = now;
        rec.stage = 0;
        rec.declined_by.clear();
        let callback = rec.callback;
        let id = rec.id;
        self.push_history(c, HistoryEntry::Queued { queue: queue_id, at: now });
        let key = self.wait_key(c);
        self.place_waiting(c, key);
        self.emit(EventKind::ContactQueued { contact: id, queue: queue_id, rule });
        if callback {
            self.emit(EventKind::CallbackQueued { contact: id, queue: queue_id });
        }
        self.route_contact(c);
        // Only a contact that has to wait hears its position and expected wait, then again
        // every `announce_interval` while it waits.
        if self.is_waiting_in_queue(c) {
            self.announce(c);
            self.schedule_announce_from_now(c);
        }
    }

    /// Whether the contact is live and waiting in its queue (not ringing, not gone).
    fn is_waiting_in_queue(&self, c: ContactIdx) -> bool {
        self.contacts[c as usize].as_ref().is_some_and(|r| matches!(r.state, ContactState::Waiting { .. }))
    }

    fn overflow_to(&mut self, c: ContactIdx, from: QueueIdx, to: QueueIdx) {
        let (from_id, to_id) = (self.queues[from as usize].cfg.id, self.queues[to as usize].cfg.id);
        let rec = self.contact_mut(c);
        rec.hops += 1;
        rec.state = ContactState::Unqueued;
        let id = rec.id;
        self.push_history(c, HistoryEntry::Overflowed { from: from_id, to: to_id, at: self.now });
        self.outputs.push_back(Output::Overflow { contact: id, from: from_id, to: to_id });
        self.emit(EventKind::ContactOverflowed { contact: id, from: from_id, to: to_id });
        self.enter_queue(c, to, None);
    }

    /// `(first_queued_ms − priority × priority_step_ms, seq)`: time-independent, so aging is implicit.
    fn wait_key(&self, c: ContactIdx) -> WaitKey {
        let rec = self.contact(c);
        let step = i128::from(self.queues[rec.queue as usize].cfg.priority_step.as_ms());
        let k = i128::from(rec.first_queued_at.unix_ms()) - i128::from(rec.priority) * step;
        (k.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64, rec.seq)
    }

    /// The class a contact belongs to at its relaxation stage.
    fn class_key(&self, c: ContactIdx) -> ClassKey {
        let rec = self.contact(c);
        let cfg = &self.queues[rec.queue as usize].cfg;
        let mut skills: Vec<(u16, u8)> = cfg.required_skills.iter().map(|&(s, p)| (s, p.get())).collect();
        for &(s, p) in &rec.own_skills {
            match skills.iter_mut().find(|(x, _)| *x == s) {
                Some(entry) => entry.1 = entry.1.max(p),
                None => skills.push((s, p)),
            }
        }
        let mut language = if cfg.match_language { rec.language } else { None };
        for step in cfg.relaxation.iter().take(rec.stage as usize) {
            if let Some(cap) = step.max_min_proficiency {
                skills.iter_mut().for_each(|(_, p)| *p = (*p).min(cap.get()));
            }
            if step.drop_skills {
                skills.clear();
            }
            if step.drop_language {
                language = None;
            }
        }
        skills.sort_unstable();
        ClassKey { group: rec.group, language, skills }
    }

    /// Inserts a contact in its class and arms its waiting timers.
    fn place_waiting(&mut self, c: ContactIdx, key: WaitKey) {
        let class_key = self.class_key(c);
        let q = self.contact(c).queue as usize;
        let queue = &mut self.queues[q];
        let class = match queue.class_ids.get(&class_key) {
            Some(&k) => k,
            None => {
                let k = match queue.free_classes.pop() {
                    Some(k) => {
                        queue.classes[k as usize].key = class_key.clone();
                        queue.classes[k as usize].no_fit_version = None;
                        k
                    }
                    None => {
                        queue.classes.push(super::Class {
                            key: class_key.clone(),
                            waiting: Default::default(),
                            no_fit_version: None,
                        });
                        (queue.classes.len() - 1) as u32
                    }
                };
                queue.class_ids.insert(class_key, k);
                k
            }
        };
        queue.classes[class as usize].waiting.insert(key, c);
        queue.ranked.insert(key);
        queue.nonempty.insert(class);
        queue.waiting += 1;
        let epoch = self.new_epoch();
        let rec = self.contact_mut(c);
        rec.state = ContactState::Waiting { class, key };
        rec.epoch = epoch;
        let (queued_at, stage, callback, seq) = (rec.queued_at, rec.stage as usize, rec.callback, rec.seq);
        let cfg = &self.queues[q].cfg;
        let relax_at = cfg.relaxation.get(stage).map(|s| queued_at.plus(s.after));
        let overflow_at = cfg.overflow.as_ref().and_then(|o| o.after).map(|d| queued_at.plus(d));
        let max_wait_at = queued_at.plus(cfg.max_wait);
        // Relaxation and overflow due at the same time happen in arrival order, even for a
        // contact re-armed later (requeued after an offer): FIFO holds across the move.
        if let Some(at) = relax_at {
            self.arm_in_arrival_order(at, seq, Timer::Relax { contact: c, epoch });
        }
        if !callback && let Some(at) = overflow_at {
            self.arm_in_arrival_order(at, seq, Timer::Overflow { contact: c, epoch });
        }
        // Callbacks keep max wait too: it bounds how long a callback may stay pending.
        self.arm(max_wait_at, Timer::MaxWait { contact: c, epoch });
    }

    /// Takes a waiting contact out of its class or personal queue. Returns its key.
    fn unplace(&mut self, c: ContactIdx) -> Option<WaitKey> {
        let (q, state) = {
            let rec = self.contact(c);
            // Copy out only the waiting states (no allocation on the hot path).
            let state = match rec.state {
                ContactState::Waiting { class, key } => ContactState::Waiting { class, key },
                ContactState::WaitingForAgent { agent, key } => ContactState::WaitingForAgent { agent, key },
                _ => return None,
            };
            (rec.queue as usize, state)
        };
        match state {
            ContactState::Waiting { class, key } => {
                self.cancel_announce(c);
                let queue = &mut self.queues[q];
                let entry = &mut queue.classes[class as usize];
                entry.waiting.remove(&key);
                if entry.waiting.is_empty() {
                    queue.nonempty.remove(&class);
                    queue.class_ids.remove(&entry.key);
                    queue.free_classes.push(class);
                }
                queue.ranked.remove(&key);
                queue.waiting = queue.waiting.saturating_sub(1);
                self.contact_mut(c).state = ContactState::Unqueued;
                Some(key)
            }
            ContactState::WaitingForAgent { agent, key } => {
                self.agents[agent as usize].personal.remove(&key);
                self.contact_mut(c).state = ContactState::Unqueued;
                Some(key)
            }
            _ => None,
        }
    }

    /// Offers a waiting contact to an agent who can take it now, if there is one.
    pub(crate) fn route_contact(&mut self, c: ContactIdx) {
        let rec = self.contact(c);
        let agents = match rec.state {
            ContactState::Waiting { class, .. } => {
                let exclude = rec.declined_by.clone();
                let extra = self.extra_skills(c);
                self.pick_agents(rec.queue, class, &exclude, &extra)
            }
            ContactState::WaitingForAgent { agent, .. } => {
                let ok = Self::can_take(&self.agents[agent as usize], rec.group) && !rec.declined_by.contains(&agent);
                if ok { vec![agent] } else { Vec::new() }
            }
            _ => return,
        };
        if !agents.is_empty() {
            self.make_offer(c, agents);
        }
    }

    /// Skills the contact requires beyond its queue's, for skills-best ranking (empty, without
    /// allocating, under any other strategy).
    fn extra_skills(&self, c: ContactIdx) -> Vec<SkillIdx> {
        let rec = self.contact(c);
        let cfg = &self.queues[rec.queue as usize].cfg;
        if cfg.strategy != model::RoutingStrategy::SkillsBest {
            return Vec::new();
        }
        let mut extra: Vec<SkillIdx> = Vec::new();
        for &(s, _) in &rec.own_skills {
            if !cfg.required_skills.iter().any(|&(q, _)| q == s) && !extra.contains(&s) {
                extra.push(s);
            }
        }
        extra
    }

    /// Rings `agents` (one, or several for ring-all) with contact `c`.
    pub(crate) fn make_offer(&mut self, c: ContactIdx, agents: Vec<AgentIdx>) {
        self.unplace(c);
        let epoch = self.new_epoch();
        let rec = self.contact_mut(c);
        rec.epoch = epoch;
        let (id, group, channel, q, callback) = (rec.id, rec.group, rec.channel, rec.queue, rec.callback);
        let (queue_id, ring) = (self.queues[q as usize].cfg.id, self.queues[q as usize].cfg.ring_timeout);
        self.arm(self.now.plus(ring), Timer::OfferExpires { contact: c, epoch });
        let kind = if callback { OfferKind::Callback } else { OfferKind::Contact };
        for &a in &agents {
            let rec = &mut self.agents[a as usize];
            rec.used[group as usize] = rec.used[group as usize].saturating_add(1);
            rec.offers.push(c);
            let agent = rec.id;
            self.outputs.push_back(Output::Offer {
                contact: id,
                agent,
                queue: queue_id,
                channel,
                kind,
                ring_timeout: ring,
            });
            self.emit(EventKind::ContactOffered { contact: id, agent });
            self.sync_state(a, None, false);
            self.reindex_agent(a);
        }
        self.contact_mut(c).state = ContactState::Offered { agents };
    }

    /// Puts a contact whose offer ended unanswered back in its place, and tries again.
    pub(crate) fn requeue(&mut self, c: ContactIdx, reason: RequeueReason) {
        let rec = self.contact_mut(c);
        rec.state = ContactState::Unqueued;
        let (id, q, declined) = (rec.id, rec.queue, !rec.declined_by.is_empty());
        let key = self.wait_key(c);
        self.place_waiting(c, key);
        if declined {
            let epoch = self.contact(c).epoch;
            self.arm(self.now.plus(super::REOFFER_AFTER_DECLINE), Timer::Reoffer { contact: c, epoch });
        }
        let queue = self.queues[q as usize].cfg.id;
        self.outputs.push_back(Output::Requeue { contact: id, queue, reason });
        self.emit(EventKind::ContactRequeued { contact: id, queue, reason });
        self.route_contact(c);
        if self.is_waiting_in_queue(c) {
            self.schedule_announce_from_now(c);
        }
    }

    fn offered_to(&self, agent: AgentId, contact: ContactId) -> Result<(AgentIdx, ContactIdx), AcdError> {
        let a = self.agent_idx(agent)?;
        let c = self.contact_idx(contact)?;
        match &self.contact(c).state {
            ContactState::Offered { agents } if agents.contains(&a) => Ok((a, c)),
            _ => Err(AcdError::NotOffered { contact, agent }),
        }
    }

    pub(crate) fn offer_accepted(&mut self, agent: AgentId, contact: ContactId) -> Result<(), AcdError> {
        let (a, c) = self.offered_to(agent, contact)?;
        let epoch = self.new_epoch();
        let now = self.now;
        let rec = self.contact_mut(c);
        let ContactState::Offered { agents } = std::mem::replace(&mut rec.state, ContactState::Connected { agent: a })
        else {
            return Err(AcdError::NotOffered { contact, agent });
        };
        rec.epoch = epoch;
        rec.answered_at = Some(now);
        let (group, q, wait) = (rec.group, rec.queue, now.since(rec.first_queued_at));
        self.push_history(c, HistoryEntry::Answered { agent, at: now });
        let rec = &mut self.agents[a as usize];
        rec.offers.retain(|&x| x != c);
        rec.active.push(c);
        rec.missed_in_row = 0;
        let queue = self.queues[q as usize].cfg.id;
        self.emit(EventKind::ContactAnswered { contact, agent, queue, wait });
        self.sync_state(a, None, false);
        for other in agents.into_iter().filter(|&x| x != a) {
            let other_id = self.agents[other as usize].id;
            self.outputs.push_back(Output::CancelOffer {
                contact,
                agent: other_id,
                reason: CancelReason::AnsweredElsewhere,
            });
            self.agents[other as usize].offers.retain(|&x| x != c);
            self.release_slot(other, group);
            self.after_slot_freed(other, None);
        }
        Ok(())
    }

    /// Bookkeeping after an agent got a slot back; offers it more work (except `skip`).
    fn after_slot_freed(&mut self, a: AgentIdx, skip: Option<ContactIdx>) {
        self.sync_state(a, None, false);
        self.fill_agent_except(a, skip);
    }

    /// The agent declined the offer, or (`missed`) their device could not ring: the contact goes
    /// to the next agent; a miss also counts towards the queue's `missed_offers_before_away`.
    pub(crate) fn offer_rejected(&mut self, agent: AgentId, contact: ContactId, missed: bool) -> Result<(), AcdError> {
        let (a, c) = self.offered_to(agent, contact)?;
        self.emit(EventKind::OfferRejected { contact, agent });
        self.agents[a as usize].offers.retain(|&x| x != c);
        let rec = self.contact_mut(c);
        note_decline(&mut rec.declined_by, a);
        let (group, q) = (rec.group, rec.queue);
        let remaining = match &mut rec.state {
            ContactState::Offered { agents } => {
                agents.retain(|&x| x != a);
                agents.len()
            }
            _ => 0,
        };
        if remaining == 0 {
            self.requeue(c, RequeueReason::Rejected);
        }
        self.release_slot(a, group);
        if missed {
            // Before the agent is filled again: one who goes Away here is offered nothing more.
            let limit = self.queues[q as usize].cfg.missed_offers_before_away;
            self.offer_missed_by(a, limit);
        }
        self.after_slot_freed(a, Some(c));
        Ok(())
    }

    pub(crate) fn offer_expired(&mut self, c: ContactIdx) {
        let rec = self.contact_mut(c);
        let ContactState::Offered { agents } =
            std::mem::replace(&mut rec.state, ContactState::Offered { agents: vec![] })
        else {
            return;
        };
        for &a in &agents {
            note_decline(&mut rec.declined_by, a);
        }
        let (id, group, q) = (rec.id, rec.group, rec.queue);
        for &a in &agents {
            let agent = self.agents[a as usize].id;
            self.agents[a as usize].offers.retain(|&x| x != c);
            self.emit(EventKind::OfferTimedOut { contact: id, agent });
            self.outputs.push_back(Output::CancelOffer { contact: id, agent, reason: CancelReason::RingTimeout });
        }
        self.requeue(c, RequeueReason::NoAnswer);
        let limit = self.queues[q as usize].cfg.missed_offers_before_away;
        for a in agents {
            self.release_slot(a, group);
            self.offer_missed_by(a, limit);
            if self.contacts[c as usize].is_some() {
                self.after_slot_freed(a, Some(c));
            } else {
                self.after_slot_freed(a, None);
            }
        }
    }

    /// Takes a contact away from wherever it is (waiting, ringing, connected); returns the agents
    /// freed, whom the caller must fill (their index entries are stale until then).
    fn detach(&mut self, c: ContactIdx, reason: CancelReason) -> Vec<AgentIdx> {
        if self.unplace(c).is_some() {
            return Vec::new();
        }
        let now = self.now;
        let rec = self.contact_mut(c);
        let (id, group) = (rec.id, rec.group);
        match std::mem::replace(&mut rec.state, ContactState::Unqueued) {
            ContactState::Offered { agents } => {
                for &a in &agents {
                    let agent = self.agents[a as usize].id;
                    self.outputs.push_back(Output::CancelOffer { contact: id, agent, reason });
                    self.agents[a as usize].offers.retain(|&x| x != c);
                    self.release_slot(a, group);
                    self.sync_state(a, None, false);
                    self.reindex_agent(a);
                }
                agents
            }
            ContactState::Connected { agent } => {
                self.record_handle_time(c, now);
                self.agent_done_with(agent, c, now);
                vec![agent]
            }
            _ => Vec::new(),
        }
    }

    fn record_handle_time(&mut self, c: ContactIdx, now: Timestamp) {
        let rec = self.contact(c);
        if let Some(answered) = rec.answered_at {
            let q = rec.queue as usize;
            let handle = model::DurationMs::from_ms(now.since(answered).as_ms() + self.queues[q].cfg.wrap_up.as_ms());
            self.queues[q].load.record_handle_time(handle);
        }
    }

    fn finish(&mut self, c: ContactIdx, outcome: ContactOutcome) {
        self.cancel_announce(c);
        if let Some(rec) = self.contacts[c as usize].take() {
            self.contact_ids.remove(&rec.id);
            self.free_slots.push(c);
            self.emit(EventKind::ContactFinished { contact: rec.id, outcome });
        }
    }

    fn reject(&mut self, c: ContactIdx, queue: Option<QueueId>, reason: RejectReason) {
        let id = self.contact(c).id;
        self.outputs.push_back(Output::Reject { contact: id, queue, reason });
        let outcome =
            if reason == RejectReason::MaxWaitExceeded { ContactOutcome::TimedOut } else { ContactOutcome::Rejected };
        self.finish(c, outcome);
    }

    pub(crate) fn contact_abandoned(&mut self, id: ContactId) -> Result<(), AcdError> {
        let c = self.contact_idx(id)?;
        if matches!(self.contact(c).state, ContactState::Connected { .. }) {
            return Err(AcdError::WrongContactState(id));
        }
        let freed = self.detach(c, CancelReason::Abandoned);
        self.finish(c, ContactOutcome::Abandoned);
        for a in freed {
            self.fill_agent(a);
        }
        Ok(())
    }

    pub(crate) fn contact_ended(&mut self, id: ContactId) -> Result<(), AcdError> {
        let c = self.contact_idx(id)?;
        if !matches!(self.contact(c).state, ContactState::Connected { .. }) {
            return self.contact_abandoned(id);
        }
        let freed = self.detach(c, CancelReason::Abandoned);
        self.finish(c, ContactOutcome::Answered);
        for a in freed {
            self.fill_agent(a);
        }
        Ok(())
    }

    pub(crate) fn callback_chosen(&mut self, id: ContactId) -> Result<(), AcdError> {
        let c = self.contact_idx(id)?;
        let rec = self.contact_mut(c);
        if !matches!(rec.state, ContactState::Waiting { .. } | ContactState::WaitingForAgent { .. }) || rec.callback {
            return Err(AcdError::WrongContactState(id));
        }
        rec.callback = true;
        let q = rec.queue as usize;
        self.cancel_announce(c);
        let queue = self.queues[q].cfg.id;
        self.emit(EventKind::CallbackQueued { contact: id, queue });
        Ok(())
    }

    pub(crate) fn transfer_to_queue(&mut self, id: ContactId, queue: QueueId) -> Result<(), AcdError> {
        let c = self.contact_idx(id)?;
        let q = self.queue_idx(queue)?;
        let freed = self.detach(c, CancelReason::Transferred);
        self.push_history(c, HistoryEntry::Transferred { at: self.now });
        self.emit(EventKind::ContactTransferred { contact: id, to_queue: Some(queue), to_agent: None });
        let rec = self.contact_mut(c);
        rec.answered_at = None;
        rec.hops = 0;
        self.enter_queue(c, q, None);
        for a in freed {
            self.fill_agent(a);
        }
        Ok(())
    }

    pub(crate) fn transfer_to_agent(&mut self, id: ContactId, agent: AgentId) -> Result<(), AcdError> {
        let c = self.contact_idx(id)?;
        let b = self.agent_idx(agent)?;
        if self.agents[b as usize].presence == Presence::Offline {
            return Err(AcdError::Invalid(format!("agent {agent} is offline")));
        }
        let channel = self.contact(c).channel;
        if super::capacity_of(&self.agents[b as usize].capacity, group_of(channel)) == 0 {
            return Err(AcdError::Invalid(format!("agent {agent} takes no {channel} contacts")));
        }
        let freed = self.detach(c, CancelReason::Transferred);
        self.push_history(c, HistoryEntry::Transferred { at: self.now });
        self.emit(EventKind::ContactTransferred { contact: id, to_queue: None, to_agent: Some(agent) });
        let epoch = self.new_epoch();
        let key = self.wait_key(c);
        let now = self.now;
        let max_wait = self.queues[self.contact(c).queue as usize].cfg.max_wait;
        let rec = self.contact_mut(c);
        rec.answered_at = None;
        rec.declined_by.clear();
        rec.epoch = epoch;
        rec.state = ContactState::WaitingForAgent { agent: b, key };
        rec.queued_at = now;
        self.agents[b as usize].personal.insert(key, c);
        self.arm(self.now.plus(max_wait), Timer::MaxWait { contact: c, epoch });
        self.route_contact(c);
        for a in freed {
            self.fill_agent(a);
        }
        Ok(())
    }

    /// An agent going offline sends the contacts waiting for them by name back to their queues.
    pub(crate) fn return_personal(&mut self, a: AgentIdx) {
        let personal = std::mem::take(&mut self.agents[a as usize].personal);
        for (_, c) in personal {
            let rec = self.contact_mut(c);
            rec.state = ContactState::Unqueued;
            let q = rec.queue;
            self.enter_queue(c, q, None);
        }
    }

    pub(crate) fn relax(&mut self, c: ContactIdx) {
        // Relaxing moves the contact between classes, not out of the queue: keep its cadence.
        let announce_at = self.contact(c).announce_at;
        let Some(key) = self.unplace(c) else { return };
        let rec = self.contact_mut(c);
        rec.stage += 1;
        let (id, step) = (rec.id, rec.stage);
        self.place_waiting(c, key);
        self.emit(EventKind::ContactRelaxed { contact: id, step });
        self.route_contact(c);
        // Its FIFO entry is still in place: make it live again.
        if announce_at.is_some() && self.is_waiting_in_queue(c) {
            self.set_announce_at(c, announce_at);
        }
    }

    pub(crate) fn overflow_after_wait(&mut self, c: ContactIdx) {
        let rec = self.contact(c);
        let (q, hops, callback) = (rec.queue, rec.hops, rec.callback);
        let Some(to) = self.queues[q as usize].cfg.overflow.as_ref().map(|o| o.to) else { return };
        if callback || hops >= MAX_OVERFLOW_HOPS || self.unplace(c).is_none() {
            return;
        }
        self.overflow_to(c, q, to);
    }

    pub(crate) fn max_wait_reached(&mut self, c: ContactIdx) {
        let queue = self.queues[self.contact(c).queue as usize].cfg.id;
        if self.unplace(c).is_some() {
            self.reject(c, Some(queue), RejectReason::MaxWaitExceeded);
        }
    }
}

/// Records a decliner, keeping at most [`super::MAX_DECLINERS_KEPT`] (the oldest go first).
fn note_decline(declined_by: &mut Vec<AgentIdx>, a: AgentIdx) {
    if declined_by.contains(&a) {
        return;
    }
    if declined_by.len() >= super::MAX_DECLINERS_KEPT {
        declined_by.remove(0);
    }
    declined_by.push(a);
}
