//! Feeding events in: checks (time window, duplicates, score range), the retract / fold / re-add
//! step for contacts, timeline insertion for agents, and retention. Never panics on input.

use model::{ContactId, Timestamp};

use super::contacts::ContactFacts;
use super::{Aggregator, Applied, ContactEvent, ContactEventKind, Contribution, Input, RepeatGroup, is_repeat};
use crate::calendar::shift;
use crate::figures::Sign;

impl Aggregator {
    /// Feeds one event in at time `now` (the caller's clock; it never goes back here: an earlier
    /// `now` than seen before is treated as the latest one).
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Applied {
        self.now = self.now.max(now);
        let verdict = self.check(&input);
        match verdict {
            Applied::Counted => {}
            Applied::Duplicate => self.counters.duplicates += 1,
            Applied::TooLate => self.counters.too_late += 1,
            Applied::InFuture => self.counters.in_future += 1,
            Applied::InvalidScore => self.counters.invalid_scores += 1,
            Applied::OverLimit => {}
        }
        if verdict != Applied::Counted {
            return verdict;
        }
        match input {
            Input::Contact(e) => self.on_contact(e),
            Input::AgentState(e) => {
                if !self.on_agent_state(e.agent, (e.at, e.id.as_uuid().as_u128()), e.state) {
                    // Forget the id so a retry, once there is room, is not taken for a duplicate.
                    self.dedup.seen.remove(&(1, e.id.as_uuid().as_u128()));
                    self.counters.agent_events_refused += 1;
                    return Applied::OverLimit;
                }
            }
        }
        self.forget_old_contacts();
        self.counters.counted += 1;
        self.counters.updates_to_dropped_intervals = self.buckets.updates_to_dropped_intervals;
        Applied::Counted
    }

    fn check(&mut self, input: &Input) -> Applied {
        let at = input.at();
        let lateness_ms = i64::try_from(self.config.max_lateness_ms.as_ms()).unwrap_or(i64::MAX);
        let skew_ms = i64::try_from(self.config.max_clock_skew_ms.as_ms()).unwrap_or(i64::MAX);
        if at < shift(self.now, -lateness_ms) {
            return Applied::TooLate;
        }
        if at > shift(self.now, skew_ms) {
            return Applied::InFuture;
        }
        if let Input::Contact(ContactEvent { kind: ContactEventKind::SurveyAnswered { kind, score }, .. }) = input {
            let (lo, hi) = kind.score_range();
            if !(lo..=hi).contains(score) {
                return Applied::InvalidScore;
            }
        }
        if !self.dedup.insert(input.dedup_key()) {
            return Applied::Duplicate;
        }
        Applied::Counted
    }

    /// Retract every contribution that may change, fold the event in, add them back.
    fn on_contact(&mut self, e: ContactEvent) {
        let id = e.contact;
        let old_group = self.contacts.get(&id).and_then(ContactFacts::repeat_group);
        let new_group = match &e.kind {
            ContactEventKind::Queued { .. } | ContactEventKind::IssueIdentified { .. } => {
                let mut probe = self.contacts.get(&id).cloned().unwrap_or_default();
                probe.apply(&e, self.config.max_segments_per_contact);
                probe.repeat_group()
            }
            _ => old_group.clone(),
        };
        let mut affected = vec![id];
        for g in [&old_group, &new_group].into_iter().flatten() {
            for m in self.groups.get(g).into_iter().flatten() {
                if !affected.contains(m) {
                    affected.push(*m);
                }
            }
        }
        let mut before = std::mem::take(&mut self.scratch_before);
        let mut after = std::mem::take(&mut self.scratch_after);
        for member in &affected {
            self.collect(*member, &mut before);
        }
        self.fold(id, &e);
        if old_group != new_group {
            if let Some(g) = &old_group {
                self.leave_group(g, id);
            }
            if let Some(g) = new_group {
                self.join_group(g, id);
            }
        }
        for member in &affected {
            self.collect(*member, &mut after);
        }
        self.apply_difference(&mut before, &mut after);
        self.scratch_before = before;
        self.scratch_after = after;
    }

    /// Retracts what was contributed before and adds what is contributed after, skipping the
    /// contributions that did not change (most of them: an answer does not move handling time).
    fn apply_difference(&mut self, before: &mut Vec<Contribution>, after: &mut Vec<Contribution>) {
        before.sort_unstable();
        after.sort_unstable();
        let (mut i, mut j) = (0, 0);
        while i < before.len() || j < after.len() {
            let order = match (before.get(i), after.get(j)) {
                (Some(b), Some(a)) => b.cmp(a),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Equal => (i, j) = (i + 1, j + 1),
                std::cmp::Ordering::Less => {
                    let (at, dim, delta) = &before[i];
                    self.buckets.apply(*at, *dim, delta, Sign::Retract);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    let (at, dim, delta) = &after[j];
                    self.buckets.apply(*at, *dim, delta, Sign::Add);
                    j += 1;
                }
            }
        }
        before.clear();
        after.clear();
    }

    /// Folds the event into the contact's facts, keeping the activity and waiting indexes.
    fn fold(&mut self, id: ContactId, e: &ContactEvent) {
        let max_segments = self.config.max_segments_per_contact;
        let facts = self.contacts.entry(id).or_default();
        let old_activity = facts.last_activity;
        let old_waiting = facts.waiting_since();
        if !facts.apply(e, max_segments) {
            self.counters.segments_dropped += 1;
        }
        let (new_activity, new_waiting) = (facts.last_activity, facts.waiting_since());
        if old_activity != new_activity {
            if let Some(at) = old_activity {
                self.by_activity.remove(&(at, id));
            }
            if let Some(at) = new_activity {
                self.by_activity.insert((at, id));
            }
        }
        if old_waiting != new_waiting {
            if let Some((queue, at)) = old_waiting {
                self.unwait(queue, at, id);
            }
            if let Some((queue, at)) = new_waiting {
                self.waiting.entry(queue).or_default().insert((at, id));
            }
        }
    }

    fn unwait(&mut self, queue: model::QueueId, at: Timestamp, id: ContactId) {
        if let Some(set) = self.waiting.get_mut(&queue) {
            set.remove(&(at, id));
            if set.is_empty() {
                self.waiting.remove(&queue);
            }
        }
    }

    fn join_group(&mut self, group: RepeatGroup, id: ContactId) {
        let members = self.groups.entry(group).or_default();
        if members.len() >= self.config.max_contacts_per_repeat_group {
            self.counters.repeat_groups_full += 1;
        } else {
            members.push(id);
        }
    }

    fn leave_group(&mut self, group: &RepeatGroup, id: ContactId) {
        if let Some(members) = self.groups.get_mut(group) {
            members.retain(|m| *m != id);
            if members.is_empty() {
                self.groups.remove(group);
            }
        }
    }

    /// Appends everything one contact contributes to `out`.
    fn collect(&self, id: ContactId, out: &mut Vec<Contribution>) {
        let Some(facts) = self.contacts.get(&id) else { return };
        let window = self.config.fcr_window_ms;
        let repeated = facts.repeat_group().is_some_and(|g| {
            self.groups
                .get(&g)
                .into_iter()
                .flatten()
                .any(|m| *m != id && self.contacts.get(m).is_some_and(|later| is_repeat(facts, later, window)))
        });
        facts.contribute(&|q| self.config.thresholds(q), repeated, &mut |at, dim, delta| out.push((at, dim, *delta)));
    }

    /// Slots an agent state change in; false when refused (agent limit, or before the
    /// forgotten part of the timeline).
    fn on_agent_state(&mut self, agent: model::AgentId, key: (Timestamp, u128), state: model::AgentState) -> bool {
        if !self.agents.contains_key(&agent) && self.agents.len() >= self.config.max_tracked_agents {
            return false;
        }
        let timeline = self.agents.entry(agent).or_default();
        let inserted = timeline.insert(agent, key, state, &mut self.buckets);
        let lateness_ms = i64::try_from(self.config.max_lateness_ms.as_ms()).unwrap_or(i64::MAX);
        let forced = timeline.prune(shift(self.now, -lateness_ms), self.config.max_state_changes_per_agent);
        self.counters.state_changes_forgotten_early += forced;
        if timeline.is_empty() {
            self.agents.remove(&agent);
        }
        inserted
    }

    /// Forgets contacts past retention, and the oldest ones beyond `max_tracked_contacts`.
    /// Their contributions stay counted; they just cannot change any more.
    fn forget_old_contacts(&mut self) {
        let retention_ms = i64::try_from(self.config.contact_retention_ms.as_ms()).unwrap_or(i64::MAX);
        let cutoff = shift(self.now, -retention_ms);
        while let Some(&(at, id)) = self.by_activity.first() {
            let over_limit = self.contacts.len() > self.config.max_tracked_contacts;
            if at >= cutoff && !over_limit {
                break;
            }
            self.by_activity.pop_first();
            if over_limit && at >= cutoff {
                self.counters.contacts_forgotten_early += 1;
            }
            self.counters.contacts_forgotten += 1;
            if let Some(facts) = self.contacts.remove(&id) {
                if let Some(g) = facts.repeat_group() {
                    self.leave_group(&g, id);
                }
                if let Some((queue, since)) = facts.waiting_since() {
                    self.unwait(queue, since, id);
                }
            }
        }
    }
}
