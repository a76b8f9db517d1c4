//! Property test: random command sequences against a small reference model that shadows the
//! engine's outputs, checking after every step that
//! - no agent is offered more than its per-channel capacity (ringing + connected + wrap-up),
//! - a contact rings at most one agent at a time (except ring-all),
//! - Away/Offline agents get no offers,
//! - FIFO holds within one queue for equal priority and equal requirements,
//! - no contact is lost: each one ends exactly once (answered, abandoned, rejected or timed out);
//! - only contacts waiting in a queue hear position/EWT announcements (with repeats every
//!   `announce_interval`, whose schedule the engine's own check keeps in step with its waiting contacts).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use acd::{EventKind, Input, Output, Presence, RequeueReason};
use common::*;
use model::{AgentId, AgentState, Channel, ChannelCapacity, ContactId, ContactOutcome, QueueId, ReasonCode};
use proptest::prelude::*;
use proptest::sample::Index;

const CONFIG: &str = r#"
seed = 5
skills = ["a", "b"]

[[queues]]
name = "q0"
strategy = "longest_idle"
ring_timeout = "10s"
wrap_up = "5s"
max_waiting = 6
max_wait = "300s"
overflow = { to = "q1", after = "60s" }
relaxation = [{ after = "20s", drop_skills = true }]
announce_interval = "30s"

[[queues]]
name = "q1"
strategy = "ring_all"
ring_timeout = "8s"
max_waiting = 6
max_wait = "200s"
missed_offers_before_away = 2

[[queues]]
name = "q2"
strategy = "round_robin"
required_skills = [{ skill = "a", min_proficiency = 3 }]
wrap_up = "3s"
announce_interval = "15s"
"#;

const CHANNELS: [Channel; 4] = [Channel::Voice, Channel::Chat, Channel::Email, Channel::WeChat];
const WRAP_UP_MS: [i64; 3] = [5_000, 0, 3_000];

fn group(c: Channel) -> usize {
    match c {
        Channel::Voice => 0,
        Channel::Chat => 1,
        Channel::Email => 2,
        _ => 3,
    }
}

fn cap_of(cap: &ChannelCapacity, g: usize) -> u8 {
    [cap.voice, cap.chat, cap.email, cap.social][g]
}

fn agents(q: &[QueueId]) -> Vec<AgentB> {
    let cap = |voice, chat, email, social, blocks| ChannelCapacity {
        voice,
        chat,
        email,
        social,
        voice_blocks_others: blocks,
    };
    vec![
        AgentB::new(1, &[q[0], q[1]]).skill("a", 5).capacity(cap(1, 2, 1, 1, true)),
        AgentB::new(2, &[q[1], q[2]]).skill("a", 2).skill("b", 7).penalty(q[1], 1).capacity(cap(1, 0, 0, 0, true)),
        AgentB::new(3, &[q[0], q[2]]).skill("a", 9).capacity(cap(1, 3, 0, 0, false)),
        AgentB::new(4, &[q[0], q[1], q[2]]).skill("b", 3).capacity(cap(0, 0, 2, 2, true)),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Arrive { channel: usize, queue: usize, priority: i32, skill: usize },
    Abandon(Index),
    Accept(Index),
    Reject(Index),
    End(Index),
    WrapUpDone(usize),
    SetPresence { agent: usize, presence: usize, forced: bool },
    Login(usize),
    Transfer { contact: Index, queue: usize },
    TransferToAgent { contact: Index, agent: usize },
    Callback(Index),
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..4usize, 0..3usize, 0..2i32, 0..3usize)
            .prop_map(|(channel, queue, priority, skill)| Op::Arrive { channel, queue, priority, skill }),
        1 => any::<Index>().prop_map(Op::Abandon),
        4 => any::<Index>().prop_map(Op::Accept),
        1 => any::<Index>().prop_map(Op::Reject),
        3 => any::<Index>().prop_map(Op::End),
        1 => (0..4usize).prop_map(Op::WrapUpDone),
        2 => (0..4usize, 0..3usize, any::<bool>()).prop_map(|(agent, presence, forced)| Op::SetPresence { agent, presence, forced }),
        1 => (0..4usize).prop_map(Op::Login),
        1 => (any::<Index>(), 0..3usize).prop_map(|(contact, queue)| Op::Transfer { contact, queue }),
        1 => (any::<Index>(), 0..4usize).prop_map(|(contact, agent)| Op::TransferToAgent { contact, agent }),
        1 => any::<Index>().prop_map(Op::Callback),
        4 => (0..40i64).prop_map(Op::Advance),
    ]
}

#[derive(Debug, Clone, PartialEq)]
enum Life {
    Waiting { queue: usize, personal: bool },
    Offered { queue: usize },
    Connected { queue: usize, agent: usize },
    Done(ContactOutcome),
}

#[derive(Debug, Clone)]
struct ModelContact {
    id: ContactId,
    channel: Channel,
    priority: i32,
    skill: usize,
    seq: usize,
    life: Life,
    /// Declined or missed at least once: FIFO is not promised for it any more.
    declined: bool,
}

/// The reference model: what the engine must have done, rebuilt from its outputs.
struct Model {
    now_ms: i64,
    queues: Vec<QueueId>,
    ring_all: usize,
    agent_ids: Vec<AgentId>,
    caps: Vec<ChannelCapacity>,
    presence: Vec<Option<bool>>, // None offline, Some(true) available, Some(false) away
    offers: BTreeMap<usize, BTreeSet<usize>>, // contact -> agents ringing
    connected: Vec<BTreeSet<usize>>,
    wrap_ups: Vec<Vec<(usize, i64, usize)>>, // (contact, ends at ms, group)
    contacts: Vec<ModelContact>,
}

impl Model {
    fn contact_index(&self, id: ContactId) -> usize {
        self.contacts.iter().position(|c| c.id == id).expect("engine speaks of a known contact")
    }
    fn agent_index(&self, id: AgentId) -> usize {
        self.agent_ids.iter().position(|&a| a == id).expect("engine speaks of a known agent")
    }
    fn queue_index(&self, id: QueueId) -> usize {
        self.queues.iter().position(|&q| q == id).expect("known queue")
    }

    fn used(&self, a: usize) -> [u8; 4] {
        let mut used = [0u8; 4];
        for (&c, agents) in &self.offers {
            if agents.contains(&a) {
                used[group(self.contacts[c].channel)] += 1;
            }
        }
        for &c in &self.connected[a] {
            used[group(self.contacts[c].channel)] += 1;
        }
        for &(_, _, g) in &self.wrap_ups[a] {
            used[g] += 1;
        }
        used
    }

    fn advance_to(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
        for w in &mut self.wrap_ups {
            w.retain(|&(_, end, _)| end > now_ms);
        }
    }

    fn start_wrap_up(&mut self, c: usize, queue: usize, agent: usize) {
        self.connected[agent].remove(&c);
        if WRAP_UP_MS[queue] > 0 {
            let g = group(self.contacts[c].channel);
            self.wrap_ups[agent].push((c, self.now_ms + WRAP_UP_MS[queue], g));
        }
    }

    fn check_offer(&self, c: usize, a: usize, batch: &BTreeSet<usize>) -> Result<(), String> {
        if self.presence[a] != Some(true) {
            return Err(format!("offer to agent {a} who is {:?}", self.presence[a]));
        }
        let g = group(self.contacts[c].channel);
        let used = self.used(a);
        let cap = &self.caps[a];
        if used[g] + 1 > cap_of(cap, g) {
            return Err(format!("agent {a} over capacity on group {g}: used {used:?}"));
        }
        if g != 0 && cap.voice_blocks_others && used[0] > 0 {
            return Err(format!("agent {a} on a voice call offered group {g}"));
        }
        let Life::Waiting { queue, .. } = self.contacts[c].life else {
            return Err(format!("contact {c} offered while {:?}", self.contacts[c].life));
        };
        let ringing = self.offers.get(&c).map_or(0, |s| s.len());
        if ringing > 0 && !(queue == self.ring_all && batch.contains(&c)) {
            return Err(format!("contact {c} offered to a second agent"));
        }
        self.check_fifo(c, queue)
    }

    fn check_fifo(&self, c: usize, queue: usize) -> Result<(), String> {
        let me = &self.contacts[c];
        if me.declined || matches!(me.life, Life::Waiting { personal: true, .. }) {
            return Ok(());
        }
        for other in &self.contacts {
            let same = other.channel == me.channel && other.priority == me.priority && other.skill == me.skill;
            let waiting_here = other.life == Life::Waiting { queue, personal: false };
            if same && waiting_here && !other.declined && other.seq < me.seq {
                return Err(format!("FIFO: contact {} offered before earlier contact {}", me.seq, other.seq));
            }
        }
        Ok(())
    }

    /// Applies one batch of outputs, checking each offer.
    fn apply(&mut self, out: &[Output]) -> Result<(), String> {
        let mut batch = BTreeSet::new();
        for o in out {
            match o {
                Output::Offer { contact, agent, .. } => {
                    let (c, a) = (self.contact_index(*contact), self.agent_index(*agent));
                    self.check_offer(c, a, &batch)?;
                    batch.insert(c);
                    self.offers.entry(c).or_default().insert(a);
                }
                Output::CancelOffer { contact, agent, .. } => {
                    let (c, a) = (self.contact_index(*contact), self.agent_index(*agent));
                    if let Some(s) = self.offers.get_mut(&c) {
                        s.remove(&a);
                        if s.is_empty() {
                            self.offers.remove(&c);
                        }
                    }
                }
                Output::Requeue { contact, queue, reason } => {
                    let c = self.contact_index(*contact);
                    if *reason != RequeueReason::AgentUnavailable {
                        self.contacts[c].declined = true;
                    }
                    self.contacts[c].life = Life::Waiting { queue: self.queue_index(*queue), personal: false };
                    batch.remove(&c);
                }
                Output::Announce { contact, queue, .. } => {
                    let c = self.contact_index(*contact);
                    let expected = Life::Waiting { queue: self.queue_index(*queue), personal: false };
                    if self.contacts[c].life != expected {
                        return Err(format!("contact {c} announced while {:?}", self.contacts[c].life));
                    }
                }
                Output::Event(e) => self.apply_event(&e.kind)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn apply_event(&mut self, kind: &EventKind) -> Result<(), String> {
        match kind {
            EventKind::ContactQueued { contact, queue, .. } => {
                let c = self.contact_index(*contact);
                self.contacts[c].life = Life::Waiting { queue: self.queue_index(*queue), personal: false };
            }
            EventKind::ContactOffered { contact, .. } => {
                let c = self.contact_index(*contact);
                if let Life::Waiting { queue, .. } = self.contacts[c].life {
                    self.contacts[c].life = Life::Offered { queue };
                }
            }
            EventKind::OfferRejected { contact, agent } | EventKind::OfferTimedOut { contact, agent } => {
                let (c, a) = (self.contact_index(*contact), self.agent_index(*agent));
                self.contacts[c].declined = true;
                if let Some(s) = self.offers.get_mut(&c) {
                    s.remove(&a);
                    if s.is_empty() {
                        self.offers.remove(&c);
                    }
                }
            }
            EventKind::ContactAnswered { contact, agent, .. } => {
                let (c, a) = (self.contact_index(*contact), self.agent_index(*agent));
                let Life::Offered { queue } = self.contacts[c].life else {
                    return Err(format!("contact {c} answered while {:?}", self.contacts[c].life));
                };
                self.contacts[c].life = Life::Connected { queue, agent: a };
                if let Some(s) = self.offers.get_mut(&c) {
                    s.remove(&a);
                }
                self.connected[a].insert(c);
            }
            EventKind::ContactFinished { contact, outcome } => {
                let c = self.contact_index(*contact);
                if let Life::Done(prev) = self.contacts[c].life {
                    return Err(format!("contact {c} finished twice ({prev:?}, {outcome:?})"));
                }
                if let Life::Connected { queue, agent } = self.contacts[c].life {
                    self.start_wrap_up(c, queue, agent);
                }
                self.contacts[c].life = Life::Done(*outcome);
            }
            EventKind::ContactTransferred { contact, to_agent, .. } => {
                let c = self.contact_index(*contact);
                if let Life::Connected { queue, agent } = self.contacts[c].life {
                    self.start_wrap_up(c, queue, agent);
                }
                let queue = match self.contacts[c].life {
                    Life::Waiting { queue, .. } | Life::Offered { queue } | Life::Connected { queue, .. } => queue,
                    Life::Done(_) => return Err("transfer of a finished contact".into()),
                };
                self.contacts[c].declined = true; // keeps its old place: FIFO is about first arrival
                self.contacts[c].life = Life::Waiting { queue, personal: to_agent.is_some() };
            }
            EventKind::AgentStateChanged { agent, to: AgentState::Away, reason: Some(r), .. }
                if r.as_str() == "missed" =>
            {
                let a = self.agent_index(*agent);
                self.presence[a] = Some(false);
            }
            _ => {}
        }
        Ok(())
    }
}

fn pick<T: Clone>(items: &[T], i: &Index) -> Option<T> {
    (!items.is_empty()).then(|| items[i.index(items.len())].clone())
}

struct World {
    h: Harness,
    m: Model,
    profiles: Vec<AgentB>,
}

impl World {
    fn new() -> Self {
        let cfg = config(CONFIG);
        let queues: Vec<QueueId> = ["q0", "q1", "q2"].iter().map(|n| queue_id(&cfg, n)).collect();
        let profiles = agents(&queues);
        let m = Model {
            now_ms: t(0).unix_ms(),
            ring_all: 1,
            agent_ids: profiles.iter().map(|p| p.0.id).collect(),
            caps: profiles.iter().map(|p| p.0.capacity).collect(),
            presence: vec![None; profiles.len()],
            offers: BTreeMap::new(),
            connected: vec![BTreeSet::new(); profiles.len()],
            wrap_ups: vec![Vec::new(); profiles.len()],
            contacts: Vec::new(),
            queues,
        };
        Self { h: Harness::new(cfg), m, profiles }
    }

    /// Sends one input; on success applies the outputs to the model and checks everything.
    fn send(&mut self, input: Input) -> Result<bool, String> {
        let now = model::Timestamp::from_unix_ms(self.m.now_ms);
        if self.h.acd.handle(now, input).is_err() {
            // Refused commands change nothing, except that due timers fired first.
            let out = self.h.drain_unchecked();
            self.m.apply(&out)?;
            return Ok(false);
        }
        let out = self.h.drain_unchecked();
        self.m.apply(&out)?;
        Ok(true)
    }

    fn live(&self, f: impl Fn(&Life) -> bool) -> Vec<usize> {
        (0..self.m.contacts.len()).filter(|&c| f(&self.m.contacts[c].life)).collect()
    }

    fn step(&mut self, op: &Op) -> Result<(), String> {
        match op {
            Op::Arrive { channel, queue, priority, skill } => {
                let n = self.m.contacts.len();
                let mut req = contact(n as u128, CHANNELS[*channel], self.m.queues[*queue]);
                req.priority = *priority;
                if *skill > 0 {
                    req.required_skills.push(if *skill == 1 { skill_req("a", 4) } else { skill_req("b", 5) });
                }
                self.m.contacts.push(ModelContact {
                    id: req.id,
                    channel: req.channel,
                    priority: *priority,
                    skill: *skill,
                    seq: n,
                    life: Life::Waiting { queue: *queue, personal: false },
                    declined: false,
                });
                self.send(Input::ContactArrived(req))?;
            }
            Op::Abandon(i) => {
                if let Some(c) = pick(&self.live(|l| !matches!(l, Life::Done(_))), i) {
                    self.send(Input::ContactAbandoned(self.m.contacts[c].id))?;
                }
            }
            Op::Accept(i) | Op::Reject(i) => {
                let ringing: Vec<(usize, usize)> =
                    self.m.offers.iter().flat_map(|(&c, s)| s.iter().map(move |&a| (c, a))).collect();
                if let Some((c, a)) = pick(&ringing, i) {
                    let (contact, agent) = (self.m.contacts[c].id, self.m.agent_ids[a]);
                    let input = if matches!(op, Op::Accept(_)) {
                        Input::OfferAccepted { agent, contact }
                    } else {
                        Input::OfferRejected { agent, contact }
                    };
                    if !self.send(input)? {
                        return Err(format!("engine refused a valid answer to offer {c} → {a}"));
                    }
                }
            }
            Op::End(i) => {
                if let Some(c) = pick(&self.live(|l| matches!(l, Life::Connected { .. })), i) {
                    self.send(Input::ContactEnded(self.m.contacts[c].id))?;
                }
            }
            Op::WrapUpDone(a) => {
                if let Some(&(c, _, _)) = self.m.wrap_ups[*a].first() {
                    let (agent, contact) = (self.m.agent_ids[*a], self.m.contacts[c].id);
                    let before = self.m.wrap_ups[*a].clone();
                    self.m.wrap_ups[*a].retain(|w| w.0 != c);
                    if !self.send(Input::WrapUpDone { agent, contact })? {
                        self.m.wrap_ups[*a] = before;
                    }
                }
            }
            Op::SetPresence { agent, presence, forced } => {
                let p = match presence {
                    0 => Presence::Available,
                    1 => Presence::Away(ReasonCode::parse("break").expect("valid")),
                    _ => Presence::Offline,
                };
                let id = self.m.agent_ids[*agent];
                let input = if *forced {
                    Input::SupervisorForce { agent: id, presence: p.clone() }
                } else {
                    Input::AgentPresence { agent: id, presence: p.clone() }
                };
                let before = self.m.presence[*agent];
                // Set first: offers made during this call go to the agent in its new state.
                self.m.presence[*agent] = match p {
                    Presence::Available => Some(true),
                    Presence::Away(_) => Some(false),
                    Presence::Offline => None,
                };
                if !self.send(input)? {
                    self.m.presence[*agent] = before;
                }
            }
            Op::Login(a) => {
                let before = self.m.presence[*a];
                self.m.presence[*a] = Some(true);
                let profile = AgentB(self.profiles[*a].0.clone());
                if !self.send(Input::AgentLoggedIn(profile.0))? {
                    self.m.presence[*a] = before;
                }
            }
            Op::Transfer { contact, queue } => {
                if let Some(c) = pick(&self.live(|l| !matches!(l, Life::Done(_))), contact) {
                    let (contact, queue) = (self.m.contacts[c].id, self.m.queues[*queue]);
                    self.send(Input::TransferToQueue { contact, queue })?;
                }
            }
            Op::TransferToAgent { contact, agent } => {
                if let Some(c) = pick(&self.live(|l| !matches!(l, Life::Done(_))), contact) {
                    let (contact, agent) = (self.m.contacts[c].id, self.m.agent_ids[*agent]);
                    self.send(Input::TransferToAgent { contact, agent })?;
                }
            }
            Op::Callback(i) => {
                if let Some(c) = pick(&self.live(|l| matches!(l, Life::Waiting { .. })), i) {
                    self.send(Input::CallbackChosen(self.m.contacts[c].id))?;
                }
            }
            Op::Advance(secs) => {
                self.m.advance_to(self.m.now_ms + secs * 1000);
                let now = model::Timestamp::from_unix_ms(self.m.now_ms);
                self.h.acd.handle_timeout(now);
                let out = self.h.drain_unchecked();
                self.m.apply(&out)?;
            }
        }
        self.check()
    }

    fn check(&self) -> Result<(), String> {
        self.h.acd.check_invariants()?;
        let live = self.live(|l| !matches!(l, Life::Done(_))).len();
        if live != self.h.acd.live_contacts() {
            return Err(format!("model holds {live} live contacts, engine {}", self.h.acd.live_contacts()));
        }
        Ok(())
    }

    /// Everyone available, every offer answered, every call ended, time passes: all contacts end.
    fn drain_all(&mut self) -> Result<(), String> {
        for a in 0..self.profiles.len() {
            self.step(&Op::Login(a))?;
            self.step(&Op::SetPresence { agent: a, presence: 0, forced: true })?;
        }
        for _ in 0..500 {
            if self.h.acd.live_contacts() == 0 {
                break;
            }
            let ringing: Option<(usize, usize)> =
                self.m.offers.iter().find_map(|(&c, s)| s.iter().next().map(|&a| (c, a)));
            if let Some((c, a)) = ringing {
                let (contact, agent) = (self.m.contacts[c].id, self.m.agent_ids[a]);
                self.send(Input::OfferAccepted { agent, contact })?;
            }
            if let Some(&c) = self.live(|l| matches!(l, Life::Connected { .. })).first() {
                self.send(Input::ContactEnded(self.m.contacts[c].id))?;
            }
            self.check()?;
            self.step(&Op::Advance(30))?;
            for a in 0..self.profiles.len() {
                if self.m.presence[a] != Some(true) {
                    self.step(&Op::SetPresence { agent: a, presence: 0, forced: true })?;
                }
            }
        }
        let unfinished: Vec<_> = self.live(|l| !matches!(l, Life::Done(_)));
        if !unfinished.is_empty() || self.h.acd.live_contacts() != 0 {
            return Err(format!("contacts never finished: {unfinished:?}"));
        }
        Ok(())
    }
}

fn skill_req(name: &str, level: i64) -> (model::SkillName, model::Proficiency) {
    skill(name, level)
}

proptest! {
    // 128 cases by default (fast in debug); PROPTEST_CASES=5000 for a deeper run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128),
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_keeps_its_invariants_and_loses_no_contact(ops in prop::collection::vec(op(), 1..80)) {
        let mut w = World::new();
        for a in 0..2 {
            w.step(&Op::Login(a)).map_err(TestCaseError::fail)?;
        }
        for op in &ops {
            w.step(op).map_err(|e| TestCaseError::fail(format!("after {op:?}: {e}")))?;
        }
        w.drain_all().map_err(TestCaseError::fail)?;
    }
}
