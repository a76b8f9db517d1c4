//! Self-check of the engine's invariants, for property tests and debugging. Reads only; never
//! changes state. Cost is linear in everything, so shells must not call it per decision.

use model::RoutingStrategy;

use super::{Acd, ContactState, GROUPS, Presence, capacity_of};

impl Acd {
    /// Checks the invariants listed in the crate documentation plus index consistency and
    /// liveness (no contact waits while an agent who could take it sits available).
    /// Returns the first violation found, described.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.check_agents()?;
        self.check_contacts()?;
        self.check_indexes()?;
        self.check_index_fresh()?;
        self.check_announcements()?;
        self.check_no_idle_match()
    }

    /// Exactly the waiting, non-callback contacts of queues with an `announce_interval` have a
    /// live repeat, each in its queue's FIFO; FIFOs are in due order and their heads indexed.
    fn check_announcements(&self) -> Result<(), String> {
        let mut entries = std::collections::HashSet::new();
        for (q, queue) in self.queues.iter().enumerate() {
            if queue.repeats.iter().zip(queue.repeats.iter().skip(1)).any(|(a, b)| a.0 > b.0) {
                return Err(format!("queue {} repeats out of due order", queue.cfg.name));
            }
            if let Some(head) = queue.repeats.front()
                && !self.announce_heads.contains(&(head.0, q as u32))
            {
                return Err(format!("queue {} repeat head not indexed", queue.cfg.name));
            }
            entries.extend(queue.repeats.iter().map(|&(due, c, ticket)| (q as u32, due, c, ticket)));
        }
        if self.announce_heads.len() != self.queues.iter().filter(|q| !q.repeats.is_empty()).count() {
            return Err("repeat heads index stale".into());
        }
        let mut expected = 0usize;
        for (c, rec) in self.contacts.iter().enumerate() {
            let Some(rec) = rec else { continue };
            let should = matches!(rec.state, ContactState::Waiting { .. })
                && !rec.callback
                && self.queues[rec.queue as usize].cfg.announce_interval.is_some();
            expected += usize::from(should);
            match rec.announce_at {
                Some((due, ticket)) if should && entries.contains(&(rec.queue, due, c as u32, ticket)) => {}
                None if !should => {}
                other => return Err(format!("contact {} repeat {other:?} (should repeat: {should})", rec.id)),
            }
        }
        if expected != self.scheduled_repeats {
            return Err(format!("{expected} contacts repeat, {} counted", self.scheduled_repeats));
        }
        Ok(())
    }

    /// Every agent who could take a group-`g` contact in a queue it serves is in that index.
    fn check_index_fresh(&self) -> Result<(), String> {
        for (a, rec) in self.agents.iter().enumerate() {
            for g in 0..GROUPS as u8 {
                if !Self::can_take(rec, g) {
                    continue;
                }
                for &(q, _, _) in &rec.memberships {
                    let queue = &self.queues[q as usize];
                    let floor_ok =
                        queue.floor_skills.iter().all(|&(s, p)| rec.skills.get(s as usize).is_some_and(|&h| h >= p));
                    let listed = queue.available[g as usize].iter().any(|k| k.3 == a as u32);
                    if floor_ok && !listed {
                        return Err(format!("agent {} free for group {g} but missing from {}", rec.id, queue.cfg.name));
                    }
                }
            }
        }
        Ok(())
    }

    /// No waiting contact has an available agent in its queue who fits it and did not decline it.
    fn check_no_idle_match(&self) -> Result<(), String> {
        for q in &self.queues {
            for &k in &q.nonempty {
                let class = &q.classes[k as usize];
                for key in &q.available[class.key.group as usize] {
                    let rec = &self.agents[key.3 as usize];
                    if !Self::can_take(rec, class.key.group) || !Self::fits(rec, &class.key) {
                        continue;
                    }
                    let waiting = class.waiting.values().find(|&&c| {
                        self.contacts[c as usize].as_ref().is_some_and(|x| !x.declined_by.contains(&key.3))
                    });
                    if let Some(&c) = waiting {
                        return Err(format!("contact slot {c} waits in {} while agent {} is free", q.cfg.name, rec.id));
                    }
                }
            }
        }
        Ok(())
    }

    fn check_agents(&self) -> Result<(), String> {
        for (a, rec) in self.agents.iter().enumerate() {
            let mut used = [0u8; GROUPS];
            for &c in rec.offers.iter().chain(&rec.active) {
                let Some(contact) = self.contacts.get(c as usize).and_then(|x| x.as_ref()) else {
                    return Err(format!("agent {} holds a dead contact slot {c}", rec.id));
                };
                used[contact.group as usize] += 1;
            }
            for &(_, g) in &rec.wrap_ups {
                used[g as usize] += 1;
            }
            if used != rec.used {
                return Err(format!("agent {} slot count {:?} != held {:?}", rec.id, rec.used, used));
            }
            for g in 0..GROUPS as u8 {
                if rec.used[g as usize] > capacity_of(&rec.capacity, g) {
                    return Err(format!("agent {} over capacity on group {g}: {:?}", rec.id, rec.used));
                }
            }
            if rec.presence != Presence::Available && !rec.offers.is_empty() {
                return Err(format!("agent {} is {:?} but has offers", rec.id, rec.presence));
            }
            for &c in &rec.offers {
                match &self.contacts[c as usize].as_ref().map(|x| &x.state) {
                    Some(ContactState::Offered { agents }) if agents.contains(&(a as u32)) => {}
                    other => return Err(format!("agent {} offer {c} not mirrored: {other:?}", rec.id)),
                }
            }
        }
        Ok(())
    }

    fn check_contacts(&self) -> Result<(), String> {
        for (c, rec) in self.contacts.iter().enumerate() {
            let Some(rec) = rec else { continue };
            if self.contact_ids.get(&rec.id) != Some(&(c as u32)) {
                return Err(format!("contact {} not in the id map", rec.id));
            }
            match &rec.state {
                ContactState::Unqueued => return Err(format!("contact {} left unqueued", rec.id)),
                ContactState::Offered { agents } => {
                    let ring_all = self.queues[rec.queue as usize].cfg.strategy == RoutingStrategy::RingAll;
                    if agents.is_empty() || (agents.len() > 1 && !ring_all) {
                        return Err(format!("contact {} rings {} agents", rec.id, agents.len()));
                    }
                }
                ContactState::Waiting { class, key } => {
                    let q = &self.queues[rec.queue as usize];
                    if q.classes[*class as usize].waiting.get(key) != Some(&(c as u32)) {
                        return Err(format!("contact {} missing from its class", rec.id));
                    }
                }
                ContactState::WaitingForAgent { agent, key } => {
                    if self.agents[*agent as usize].personal.get(key) != Some(&(c as u32)) {
                        return Err(format!("contact {} missing from its agent's list", rec.id));
                    }
                }
                ContactState::Connected { agent } => {
                    if !self.agents[*agent as usize].active.contains(&(c as u32)) {
                        return Err(format!("contact {} not active at its agent", rec.id));
                    }
                }
            }
        }
        Ok(())
    }

    fn check_indexes(&self) -> Result<(), String> {
        for q in &self.queues {
            let counted: usize = q.classes.iter().map(|k| k.waiting.len()).sum();
            if q.class_ids.len() != q.nonempty.len() || q.classes.len() != q.nonempty.len() + q.free_classes.len() {
                return Err(format!("queue {} class bookkeeping is off", q.cfg.name));
            }
            if counted != q.waiting as usize || q.ranked.len() != counted {
                return Err(format!("queue {} counts {} waiting, holds {counted}", q.cfg.name, q.waiting));
            }
            for (g, set) in q.available.iter().enumerate() {
                for k in set {
                    if !Self::can_take(&self.agents[k.3 as usize], g as u8) {
                        return Err(format!("queue {} lists agent {} who cannot take group {g}", q.cfg.name, k.3));
                    }
                }
            }
        }
        Ok(())
    }
}
