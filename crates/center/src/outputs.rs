//! Engine outputs → the center's mirror, store writes (in decision order), live events and
//! channel offers; plus the figures the wallboard reads. Called only by the center's task.

use acd::{EventKind, OfferKind, Output};
use model::{
    AgentId, AgentState, AgentStateChange, AgentStateChangeId, ContactEventKind, ContactId, ContactOutcome,
    ContactStatus, QueueId, Timestamp,
};
use serde_json::json;
use store::AgentPresence;

use crate::api::{AgentFigures, LiveEvent, Offer, OfferEndReason, OfferSignal, QueueFigures, Refusal, Snapshot};
use crate::center::{Core, LiveContact};
use crate::persist::{SharedCounters, Write};

impl Core {
    pub(crate) fn output(&mut self, now: Timestamp, output: Output) {
        match output {
            Output::Offer { contact, agent, queue, channel, kind, ring_timeout } => {
                self.offered(now, contact, agent, queue, channel, kind, ring_timeout.as_ms())
            }
            Output::CancelOffer { contact, agent, reason } => {
                self.offer_ended(now, contact, agent, reason.into());
                if let Some(channel) = self.contacts.get(&contact).map(|c| c.row.channel) {
                    self.signal(channel, OfferSignal::Cancel { contact, agent, reason: reason.into() });
                }
            }
            Output::Announce { contact, queue, position, ewt } => {
                let Some(live) = self.contacts.get(&contact) else { return };
                let detail = json!({"position": position, "ewt_ms": ewt.as_ms()});
                let event = self.event(&live.row, now, ContactEventKind::Announced, detail);
                self.writer.push(Write::Event(event));
                let signal = OfferSignal::Announce { contact, queue, position, ewt_ms: ewt.as_ms() };
                self.signal(live.row.channel, signal);
                self.publish(LiveEvent::Announce {
                    org: self.org,
                    contact,
                    queue,
                    position,
                    ewt_ms: ewt.as_ms(),
                    at_ms: now.unix_ms(),
                });
            }
            Output::Reject { contact, queue, reason } => {
                let Some(live) = self.contacts.get_mut(&contact) else { return };
                let refusal = Refusal::from(reason);
                live.refusal = Some(refusal);
                let channel = live.row.channel;
                self.signal(channel, OfferSignal::Refused { contact, queue, refusal });
            }
            // Both are followed by the events that say what happened.
            Output::Requeue { .. } | Output::Overflow { .. } => {}
            Output::Event(event) => self.engine_event(now, event.kind),
        }
    }

    /// Tells the channel's consumer, if it has one. Cancels, announcements and refusals that do
    /// not fit its queue are counted (`signals_dropped`) and logged: the consumer must keep up.
    fn signal(&self, channel: model::Channel, signal: OfferSignal) {
        if let Some(tx) = self.offers.get(&channel)
            && tx.try_send(signal).is_err()
        {
            SharedCounters::bump(&self.counters.signals_dropped);
            tracing::warn!(%channel, "channel signal dropped: the consumer's queue is full or closed");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn offered(
        &mut self,
        now: Timestamp,
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
        channel: model::Channel,
        kind: OfferKind,
        ring_timeout_ms: u64,
    ) {
        let org = self.org;
        let Some(live) = self.contacts.get_mut(&contact) else { return };
        live.row.status = ContactStatus::Offered;
        live.row.offered_at.get_or_insert(now);
        live.row.agent = Some(agent);
        live.row.queue = Some(queue);
        live.ringing.push(agent);
        let (customer, from_address) = (live.row.customer, live.row.from_address.clone());
        let row = live.row.clone();
        self.leave_waiting(contact);
        if let Some(a) = self.agents.get_mut(&agent) {
            a.contacts.insert(contact);
        }
        let callback = kind == OfferKind::Callback;
        let detail = json!({"ring_timeout_ms": ring_timeout_ms, "callback": callback});
        let event = self.event(&row, now, ContactEventKind::Offered, detail);
        self.writer.push(Write::Contact(Box::new(row)));
        self.writer.push(Write::Event(event));
        self.publish(LiveEvent::ContactOffered {
            org,
            contact,
            agent,
            queue,
            channel,
            callback,
            ring_timeout_ms,
            customer,
            from_address: from_address.clone(),
            at_ms: now.unix_ms(),
        });
        if let Some(tx) = self.offers.get(&channel) {
            let offer = Offer { org, contact, agent, queue, channel, kind, ring_timeout_ms, customer, from_address };
            if tx.try_send(OfferSignal::Offer(offer)).is_err() {
                SharedCounters::bump(&self.counters.offers_undeliverable);
                tracing::warn!(%contact, %agent, %channel, "offer undeliverable: the channel's offer queue is full or closed");
                self.undeliverable.push((agent, contact));
            }
        }
    }

    /// An offer stopped ringing `agent` without being accepted.
    fn offer_ended(&mut self, now: Timestamp, contact: ContactId, agent: AgentId, reason: OfferEndReason) {
        let Some(live) = self.contacts.get_mut(&contact) else { return };
        live.ringing.retain(|a| *a != agent);
        let queue = live.row.queue;
        if let Some(a) = self.agents.get_mut(&agent) {
            a.contacts.remove(&contact);
        }
        if let Some(queue) = queue {
            self.publish(LiveEvent::OfferCancelled {
                org: self.org,
                contact,
                agent,
                queue,
                reason,
                at_ms: now.unix_ms(),
            });
        }
    }

    fn engine_event(&mut self, now: Timestamp, kind: EventKind) {
        match kind {
            EventKind::ContactQueued { contact, queue, rule } => self.queued(now, contact, queue, rule),
            EventKind::OfferRejected { contact, agent } => {
                self.offer_ended(now, contact, agent, OfferEndReason::Rejected);
                self.log_offer_end(now, contact, agent, ContactEventKind::OfferRejected);
            }
            EventKind::OfferTimedOut { contact, agent } => {
                self.log_offer_end(now, contact, agent, ContactEventKind::OfferTimedOut)
            }
            EventKind::ContactAnswered { contact, agent, queue, wait } => {
                self.answered(now, contact, agent, queue, wait.as_ms())
            }
            EventKind::ContactTransferred { contact, to_queue, to_agent } => {
                self.transferred(now, contact, to_queue, to_agent)
            }
            EventKind::ContactOverflowed { contact, from, to } => {
                self.leave_waiting(contact);
                self.touched.extend([from, to]);
                if let Some(live) = self.contacts.get(&contact) {
                    let detail = json!({"from": from.to_string(), "to": to.to_string()});
                    let event = self.event(&live.row, now, ContactEventKind::Overflowed, detail);
                    self.writer.push(Write::Event(event));
                }
            }
            EventKind::ContactRequeued { contact, queue, .. } => {
                let Some(live) = self.contacts.get_mut(&contact) else { return };
                live.row.status = ContactStatus::Queued;
                live.row.agent = None;
                let since = live.entered_queue_at.unwrap_or(now);
                let row = live.row.clone();
                self.join_waiting(queue, since, contact);
                self.writer.push(Write::Contact(Box::new(row)));
            }
            EventKind::ContactFinished { contact, outcome } => self.finished(now, contact, outcome),
            EventKind::CallbackQueued { contact, queue } => {
                let Some(live) = self.contacts.get(&contact) else { return };
                let detail = json!({"callback": true, "queue": queue.to_string()});
                let event = self.event(&live.row, now, ContactEventKind::Queued, detail);
                self.writer.push(Write::Event(event));
            }
            EventKind::AgentStateChanged { agent, from, to, reason, by_supervisor } => {
                self.agent_state_changed(now, agent, from, to, reason, by_supervisor)
            }
            EventKind::ContactOffered { .. } | EventKind::ContactRelaxed { .. } => {}
        }
    }

    fn queued(&mut self, now: Timestamp, contact: ContactId, queue: QueueId, rule: Option<String>) {
        let Some(live) = self.contacts.get_mut(&contact) else { return };
        live.row.status = ContactStatus::Queued;
        live.row.queue = Some(queue);
        live.row.agent = None;
        live.row.queued_at.get_or_insert(now);
        live.entered_queue_at = Some(now);
        let row = live.row.clone();
        self.join_waiting(queue, now, contact);
        if let Some(q) = self.queues.get_mut(&queue) {
            q.today.offered = q.today.offered.saturating_add(1);
        }
        let event = self.event(&row, now, ContactEventKind::Queued, json!({"rule": rule}));
        self.writer.push(Write::Contact(Box::new(row.clone())));
        self.writer.push(Write::Event(event));
        let position = self.acd.queue_position(contact).unwrap_or(0);
        let ewt_ms = self.acd.queue_snapshot(queue).map_or(0, |s| s.ewt_new.as_ms());
        self.publish(LiveEvent::ContactQueued {
            org: self.org,
            contact,
            queue,
            channel: row.channel,
            position,
            ewt_ms,
            at_ms: now.unix_ms(),
        });
    }

    fn log_offer_end(&mut self, now: Timestamp, contact: ContactId, agent: AgentId, kind: ContactEventKind) {
        let Some(live) = self.contacts.get(&contact) else { return };
        let mut event = self.event(&live.row, now, kind, json!({}));
        event.agent = Some(agent);
        self.writer.push(Write::Event(event));
    }

    fn answered(&mut self, now: Timestamp, contact: ContactId, agent: AgentId, queue: QueueId, wait_ms: u64) {
        let Some(live) = self.contacts.get_mut(&contact) else { return };
        live.row.status = ContactStatus::Connected;
        live.row.agent = Some(agent);
        live.row.queue = Some(queue);
        live.row.answered_at.get_or_insert(now);
        live.ringing.clear();
        let (channel, row) = (live.row.channel, live.row.clone());
        self.leave_waiting(contact);
        if let Some(a) = self.agents.get_mut(&agent) {
            a.contacts.insert(contact);
        }
        if let Some(q) = self.queues.get_mut(&queue) {
            let t = &mut q.today;
            t.answered = t.answered.saturating_add(1);
            t.answered_wait_ms = t.answered_wait_ms.saturating_add(wait_ms);
            if wait_ms <= q.sl_threshold_ms {
                t.answered_within_sl = t.answered_within_sl.saturating_add(1);
            }
        }
        self.touched.insert(queue);
        let event = self.event(&row, now, ContactEventKind::Answered, json!({"wait_ms": wait_ms}));
        self.writer.push(Write::Contact(Box::new(row)));
        self.writer.push(Write::Event(event));
        self.publish(LiveEvent::ContactAnswered {
            org: self.org,
            contact,
            agent,
            queue,
            channel,
            wait_ms,
            at_ms: now.unix_ms(),
        });
    }

    fn transferred(
        &mut self,
        now: Timestamp,
        contact: ContactId,
        to_queue: Option<QueueId>,
        to_agent: Option<AgentId>,
    ) {
        let Some(live) = self.contacts.get_mut(&contact) else { return };
        let from_agent = (live.row.status == ContactStatus::Connected).then_some(live.row.agent).flatten();
        let from_queue = live.row.queue;
        live.row.transferred = true;
        let row = live.row.clone();
        self.leave_waiting(contact);
        if let (Some(agent), Some(queue)) = (from_agent, from_queue) {
            self.agent_done_with(now, agent, queue, contact);
        }
        let detail = json!({
            "from_agent": from_agent.map(|a| a.to_string()),
            "to_queue": to_queue.map(|q| q.to_string()),
            "to_agent": to_agent.map(|a| a.to_string()),
        });
        let event = self.event(&row, now, ContactEventKind::Transferred, detail);
        self.writer.push(Write::Contact(Box::new(row)));
        self.writer.push(Write::Event(event));
        if let Some(from_queue) = from_queue {
            self.publish(LiveEvent::ContactTransferred {
                org: self.org,
                contact,
                from_agent,
                from_queue,
                to_queue,
                to_agent,
                at_ms: now.unix_ms(),
            });
        }
    }

    /// `agent` stopped handling `contact` (ended or transferred away): wrap-up per the queue.
    fn agent_done_with(&mut self, now: Timestamp, agent: AgentId, queue: QueueId, contact: ContactId) {
        let wrap_up_ms = self.queues.get(&queue).map_or(0, |q| q.wrap_up_ms);
        if wrap_up_ms == 0 {
            if let Some(a) = self.agents.get_mut(&agent) {
                a.contacts.remove(&contact);
            }
            return;
        }
        let due = now.plus(model::DurationMs::from_ms(wrap_up_ms));
        if let Some(live) = self.contacts.get_mut(&contact) {
            live.wrap_ups.push((agent, due));
        }
        self.wrap_up_due.insert((due, agent, contact));
    }

    fn finished(&mut self, now: Timestamp, contact: ContactId, engine_outcome: ContactOutcome) {
        let Some(live) = self.contacts.get_mut(&contact) else { return };
        let outcome = match engine_outcome {
            ContactOutcome::Answered => live.end_outcome.unwrap_or(ContactOutcome::Answered),
            other => other,
        };
        let was_connected = live.row.status == ContactStatus::Connected;
        let (agent, queue) = (live.row.agent.filter(|_| was_connected), live.row.queue);
        let wait_ms = live.row.queued_at.map_or(0, |q| now.since(q).as_ms());
        live.row.status = ContactStatus::Ended;
        live.row.outcome = Some(outcome);
        live.row.ended_at = Some(now);
        if !was_connected {
            live.row.agent = None;
        }
        let (row, refusal) = (live.row.clone(), live.refusal);
        self.leave_waiting(contact);
        let (kind, detail) = match outcome {
            ContactOutcome::Abandoned => (ContactEventKind::Abandoned, json!({"wait_ms": wait_ms})),
            other => (ContactEventKind::Ended, json!({"outcome": other.as_str(), "refusal": refusal})),
        };
        let event = self.event(&row, now, kind, detail);
        self.writer.push(Write::Contact(Box::new(row)));
        self.writer.push(Write::Event(event));
        if let (Some(agent), Some(queue)) = (agent, queue) {
            self.agent_done_with(now, agent, queue, contact);
        }
        let org = self.org;
        if outcome == ContactOutcome::Abandoned {
            if let Some(q) = queue.and_then(|q| self.queues.get_mut(&q)) {
                q.today.abandoned = q.today.abandoned.saturating_add(1);
            }
            self.publish(LiveEvent::ContactAbandoned { org, contact, queue, wait_ms, at_ms: now.unix_ms() });
        } else {
            self.publish(LiveEvent::ContactEnded {
                org,
                contact,
                queue,
                agent,
                outcome,
                refusal,
                at_ms: now.unix_ms(),
            });
        }
        self.touched.extend(queue);
        self.forget_if_done(contact);
    }

    /// Ends `agent`'s wrap-up on `contact` at `at` (agent done, or the queue's time ran out).
    pub(crate) fn finish_wrap_up(&mut self, at: Timestamp, agent: AgentId, contact: ContactId) {
        self.wrap_up_due.retain(|&(_, a, c)| !(a == agent && c == contact));
        if let Some(a) = self.agents.get_mut(&agent) {
            a.contacts.remove(&contact);
        }
        let Some(live) = self.contacts.get_mut(&contact) else { return };
        live.wrap_ups.retain(|(a, _)| *a != agent);
        let final_agent = live.row.status == ContactStatus::Ended && live.row.agent == Some(agent);
        if final_agent {
            live.row.wrap_up_ended_at = Some(at);
        }
        let row = live.row.clone();
        let mut event = self.event(&row, at, ContactEventKind::WrapUpEnded, json!({}));
        event.agent = Some(agent);
        if final_agent {
            self.writer.push(Write::Contact(Box::new(row.clone())));
        }
        self.writer.push(Write::Event(event));
        self.publish(LiveEvent::WrapUpEnded {
            org: self.org,
            contact,
            agent,
            queue: row.queue,
            disposition: row.disposition.clone().filter(|_| final_agent),
            at_ms: at.unix_ms(),
        });
        self.forget_if_done(contact);
    }

    /// Drops an ended contact once no agent is wrapping it up.
    fn forget_if_done(&mut self, contact: ContactId) {
        if self.contacts.get(&contact).is_some_and(|c| c.row.status == ContactStatus::Ended && c.wrap_ups.is_empty()) {
            self.contacts.remove(&contact);
        }
    }

    fn agent_state_changed(
        &mut self,
        now: Timestamp,
        agent: AgentId,
        from: AgentState,
        to: AgentState,
        reason: Option<model::ReasonCode>,
        by_supervisor: bool,
    ) {
        let forced_by = if by_supervisor { self.forcing } else { None };
        if let Some(a) = self.agents.get_mut(&agent) {
            a.state = to;
            a.reason = reason.clone();
            a.since = now;
            a.logged_in = to != AgentState::Offline;
            self.touched.extend(a.row.queues.iter().map(|m| m.queue));
        }
        let change = AgentStateChange {
            id: AgentStateChangeId::from_uuid(self.new_id(now)),
            org: self.org,
            agent,
            at: now,
            from,
            to,
            reason: reason.clone(),
            forced_by,
        };
        let presence = AgentPresence { org: self.org, agent, state: to, reason: reason.clone(), since: now };
        self.writer.push(Write::AgentState(change, presence));
        self.publish(LiveEvent::AgentState {
            org: self.org,
            agent,
            state: to,
            reason,
            since_ms: now.unix_ms(),
            forced_by,
        });
    }

    fn join_waiting(&mut self, queue: QueueId, since: Timestamp, contact: ContactId) {
        if let Some(q) = self.queues.get_mut(&queue) {
            q.waiting.insert((since.unix_ms(), contact));
        }
        self.touched.insert(queue);
    }

    /// Removes the contact from its queue's waiting set (a no-op if it was not waiting).
    fn leave_waiting(&mut self, contact: ContactId) {
        let Some(LiveContact { row, entered_queue_at: Some(since), .. }) = self.contacts.get(&contact) else { return };
        let Some(queue) = row.queue else { return };
        if let Some(q) = self.queues.get_mut(&queue)
            && q.waiting.remove(&(since.unix_ms(), contact))
        {
            self.touched.insert(queue);
        }
    }

    pub(crate) fn queue_figures(&self, queue: QueueId, now: Timestamp) -> Option<QueueFigures> {
        let q = self.queues.get(&queue)?;
        let engine = self.acd.queue_snapshot(queue)?;
        let longest_wait_ms =
            q.waiting.first().map_or(0, |(since, _)| now.since(Timestamp::from_unix_ms(*since)).as_ms());
        Some(QueueFigures {
            org: self.org,
            queue,
            name: q.name.clone(),
            waiting: engine.waiting,
            longest_wait_ms,
            ewt_ms: engine.ewt_new.as_ms(),
            serving_agents: engine.serving_agents,
            available_agents: engine.available_agents,
            offered_today: q.today.offered,
            answered_today: q.today.answered,
            abandoned_today: q.today.abandoned,
            answered_within_sl_today: q.today.answered_within_sl,
            answered_wait_ms_today: q.today.answered_wait_ms,
            sl_threshold_ms: q.sl_threshold_ms,
            sl_percent: q.sl_percent,
            at_ms: now.unix_ms(),
        })
    }

    pub(crate) fn snapshot(&self, now: Timestamp) -> Snapshot {
        let queues = self.queues.keys().filter_map(|&q| self.queue_figures(q, now)).collect();
        let agents = self
            .agents
            .values()
            .map(|a| AgentFigures {
                agent: a.row.id,
                extension: a.row.extension.to_string(),
                display_name: a.row.display_name.clone(),
                state: a.state,
                reason: a.reason.clone(),
                since_ms: a.since.unix_ms(),
                contacts: a.contacts.iter().copied().collect(),
                queues: a.row.queues.iter().map(|m| m.queue).collect(),
            })
            .collect();
        Snapshot {
            org: self.org,
            at_ms: now.unix_ms(),
            queues,
            agents,
            live_contacts: u32::try_from(self.contacts.len()).unwrap_or(u32::MAX),
            counters: self.counters.read(),
        }
    }
}
