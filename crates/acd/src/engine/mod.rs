//! The ACD state machine: [`Acd::handle`] takes commands, [`Acd::handle_timeout`] takes the
//! passing of time, [`Acd::poll_output`] gives decisions and events, [`Acd::poll_timeout`] says
//! when to call back. No IO, no clock, no global randomness; it must never panic on input
//! (unknown ids and out-of-order commands return an [`AcdError`] and change nothing).
//!
//! Data layout (what makes decisions cheap):
//! - each queue keeps its waiting contacts in *classes* (same channel group, language and
//!   effective skill requirements); each class is a `BTreeMap` ordered by
//!   `(enqueue_time − priority × priority_step, seq)`, so aging is implicit and FIFO holds within
//!   equal priority and skills;
//! - each queue keeps, per channel group, a `BTreeSet` of the agents who could take one more
//!   contact now, ordered by `(penalty, strategy key, agent)`;
//! - timers are a min-heap with lazy deletion (each entry carries the epoch it was armed in);
//! - id maps (contacts, agents, queues, classes) use a fast keyed hasher (module `hash`), not SipHash;
//! - repeated announcements are a FIFO per queue (all due `now + interval`, so already in order)
//!   plus one ordered set of the FIFOs' heads (module `announce`).

mod agents;
mod announce;
mod check;
mod contacts;
mod hash;
mod matching;
mod occupancy;
mod rank;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

use model::{AgentId, AgentState, Channel, ChannelCapacity, ContactId, QueueId, ReasonCode, Timestamp};

use self::hash::{MixMap, MixState};
use crate::config::{AcdConfig, ConfigError, QueueConfig, QueueIdx, SkillIdx};
use crate::ewt::QueueLoad;
use crate::io::{Event, EventKind, Input, Output};
use crate::rng::SeededRng;

/// Most agents one engine tracks (logged out agents keep their slot).
pub const MAX_AGENTS: usize = 200_000;
/// Most contacts one engine holds at once (waiting, ringing or connected).
pub const MAX_LIVE_CONTACTS: usize = 2_000_000;
/// Most times one contact may overflow from queue to queue.
pub const MAX_OVERFLOW_HOPS: u8 = 4;
/// Most agents rung at once by the ring-all strategy.
pub const MAX_RING_ALL_AGENTS: usize = 32;
/// Most candidates the weighted random strategy draws among.
pub const MAX_WEIGHTED_CANDIDATES: usize = 256;
/// Most contacts skipped at the head of a class because the agent declined them.
pub const MAX_DECLINED_SKIPPED: usize = 8;
/// How long an agent who declined or missed a contact is kept from being offered it again.
pub const REOFFER_AFTER_DECLINE: model::DurationMs = model::DurationMs::from_secs(5);
/// Most decliners remembered per contact during the re-offer pause.
pub const MAX_DECLINERS_KEPT: usize = 64;
/// Most history entries kept per contact (oldest dropped first).
pub const MAX_HISTORY_ENTRIES: usize = 32;
/// Most distinct languages spoken by agents.
pub const MAX_LANGUAGES: usize = 1_024;
/// Timers kept per live contact or agent before stale ones are swept (lazy deletion bound).
pub const TIMERS_PER_LIVE_ITEM: usize = 8;
/// Timers always allowed before a sweep.
pub const MIN_TIMERS_BEFORE_SWEEP: usize = 4_096;
/// Most distinct classes (channel, language, skills) with contacts waiting, per queue.
pub const MAX_CLASSES_PER_QUEUE: usize = 4_096;
/// Most repeated announcements one `handle`/`handle_timeout` call emits; the rest stay due and
/// go out on the next call (`poll_timeout` then returns a time already reached).
pub const MAX_ANNOUNCEMENTS_PER_CALL: usize = 4_096;
/// Stale entries always allowed in one queue's FIFO of repeated announcements before it is swept
/// (beyond twice its waiting contacts).
pub const MIN_REPEATS_BEFORE_SWEEP: usize = 1_024;
/// Most fitting agents skills-best compares when a contact requires skills beyond its queue's
/// (the walk also stops as soon as no later agent can beat the best one found).
pub const MAX_SKILLS_BEST_CANDIDATES: usize = 64;
/// Most fitting agents least-occupied (by occupancy) re-scores at decision time.
pub const MAX_OCCUPANCY_CANDIDATES: usize = 32;

/// Why a command was refused. The command had no effect (timers due at `now` still fired).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    #[error("unknown contact {0}")]
    UnknownContact(ContactId),
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    #[error("unknown queue {0}")]
    UnknownQueue(QueueId),
    #[error("unknown entry point {0:?}")]
    UnknownEntryPoint(String),
    #[error("unknown skill {0:?}")]
    UnknownSkill(String),
    #[error("contact {0} is already being routed")]
    DuplicateContact(ContactId),
    #[error("agent {0} is already logged in")]
    AlreadyLoggedIn(AgentId),
    #[error("contact {contact} is not offered to agent {agent}")]
    NotOffered { contact: ContactId, agent: AgentId },
    #[error("contact {0} is not in a state that allows this")]
    WrongContactState(ContactId),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("limit reached: {0}")]
    LimitReached(&'static str),
}

/// Channel groups, each with its own capacity: voice, chat, email, social.
pub(crate) const GROUPS: usize = 4;
pub(crate) const VOICE: u8 = 0;

pub(crate) fn group_of(channel: Channel) -> u8 {
    match channel {
        Channel::Voice => 0,
        Channel::Chat => 1,
        Channel::Email => 2,
        Channel::WeChat | Channel::Weibo | Channel::Webhook => 3,
    }
}

pub(crate) fn capacity_of(cap: &ChannelCapacity, group: u8) -> u8 {
    match group {
        0 => cap.voice,
        1 => cap.chat,
        2 => cap.email,
        _ => cap.social,
    }
}

pub(crate) type AgentIdx = u32;
pub(crate) type ContactIdx = u32;
/// Ordering of waiting contacts: `(enqueue_ms − priority × step_ms, seq)`; smaller is served first.
pub(crate) type WaitKey = (i64, u64);
/// Ordering of available agents in a queue: `(penalty, strategy key, tie-break, agent)`.
pub(crate) type AvailKey = (u8, u64, u64, AgentIdx);
/// A language no agent speaks.
pub(crate) const UNKNOWN_LANGUAGE: u16 = u16::MAX;

/// Contacts that agents with the same skills can take interchangeably.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClassKey {
    pub group: u8,
    pub language: Option<u16>,
    /// Sorted by skill.
    pub skills: Vec<(SkillIdx, u8)>,
}

#[derive(Debug)]
pub(crate) struct Class {
    pub key: ClassKey,
    pub waiting: BTreeMap<WaitKey, ContactIdx>,
    /// The `available_version` at which a full scan found no agent for this class.
    pub no_fit_version: Option<u64>,
}

/// A queue's live state.
#[derive(Debug)]
pub(crate) struct QueueRt {
    pub cfg: QueueConfig,
    /// The queue's required skills after every relaxation step: the least any agent must have.
    pub floor_skills: Vec<(SkillIdx, u8)>,
    pub classes: Vec<Class>,
    pub class_ids: MixMap<ClassKey, u32>,
    /// Slots of classes that emptied, reused first, so classes never pile up.
    pub free_classes: Vec<u32>,
    pub nonempty: BTreeSet<u32>,
    pub waiting: u32,
    /// Every waiting key of the queue, for positions.
    pub ranked: rank::RankedKeys,
    /// Repeated announcements of this queue, in due order (stale entries skipped lazily).
    pub repeats: VecDeque<announce::Repeat>,
    pub available: [BTreeSet<AvailKey>; GROUPS],
    /// Bumped on every insertion into `available[g]`.
    pub available_version: [u64; GROUPS],
    /// Round-robin memory: ordinal of the last agent offered.
    pub rr_last: u64,
    /// Members logged in and not Away.
    pub serving: u32,
    pub load: QueueLoad,
    pub open: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presence {
    Offline,
    Available,
    Away(ReasonCode),
}

#[derive(Debug)]
pub(crate) struct AgentRec {
    pub id: AgentId,
    pub presence: Presence,
    pub reported: AgentState,
    /// Proficiency per skill index (0 = lacks the skill).
    pub skills: Vec<u8>,
    pub languages: Vec<u16>,
    pub capacity: ChannelCapacity,
    /// (queue, penalty, weight), sorted by penalty.
    pub memberships: Vec<(QueueIdx, u8, u32)>,
    /// Slots in use per channel group: ringing + connected + wrap-up.
    pub used: [u8; GROUPS],
    pub offers: Vec<ContactIdx>,
    pub active: Vec<ContactIdx>,
    /// (contact, group) of contacts in wrap-up.
    pub wrap_ups: Vec<(ContactId, u8)>,
    pub idle_since: Timestamp,
    pub handled_today: u32,
    /// Occupancy timeline so far today (see [`occupancy`]).
    pub occupancy: occupancy::Timeline,
    pub ordinal: u64,
    pub missed_in_row: u8,
    /// Entries of this agent in queues' available sets, to remove exactly.
    pub indexed: Vec<(QueueIdx, u8, AvailKey)>,
    /// Contacts transferred to this agent by name, waiting for them.
    pub personal: BTreeMap<WaitKey, ContactIdx>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContactState {
    /// Between queues (arriving, transferring, overflowing): in no index.
    Unqueued,
    Waiting {
        class: u32,
        key: WaitKey,
    },
    WaitingForAgent {
        agent: AgentIdx,
        key: WaitKey,
    },
    Offered {
        agents: Vec<AgentIdx>,
    },
    Connected {
        agent: AgentIdx,
    },
}

/// One step of a contact's path, kept across transfers and overflows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryEntry {
    Queued { queue: QueueId, at: Timestamp },
    Answered { agent: AgentId, at: Timestamp },
    Transferred { at: Timestamp },
    Overflowed { from: QueueId, to: QueueId, at: Timestamp },
}

#[derive(Debug)]
pub(crate) struct ContactRec {
    pub id: ContactId,
    pub channel: Channel,
    pub group: u8,
    pub queue: QueueIdx,
    pub language: Option<u16>,
    /// Skills the contact itself requires (the queue's are added on entering a queue).
    pub own_skills: Vec<(SkillIdx, u8)>,
    pub priority: i32,
    pub first_queued_at: Timestamp,
    /// When it entered its current queue (relaxation, overflow and max wait count from here).
    pub queued_at: Timestamp,
    pub seq: u64,
    pub stage: u8,
    pub state: ContactState,
    pub epoch: u64,
    pub callback: bool,
    /// Agents who declined or missed it, held off it for [`REOFFER_AFTER_DECLINE`].
    pub declined_by: Vec<AgentIdx>,
    pub hops: u8,
    pub answered_at: Option<Timestamp>,
    pub history: Vec<HistoryEntry>,
    /// `(due ms, ticket)` of its live repeated announcement (an entry of its queue's FIFO).
    pub announce_at: Option<(i64, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    OfferExpires {
        contact: ContactIdx,
        epoch: u64,
    },
    Relax {
        contact: ContactIdx,
        epoch: u64,
    },
    Overflow {
        contact: ContactIdx,
        epoch: u64,
    },
    MaxWait {
        contact: ContactIdx,
        epoch: u64,
    },
    /// The decliner may be offered the contact again.
    Reoffer {
        contact: ContactIdx,
        epoch: u64,
    },
    WrapUp {
        agent: AgentIdx,
        contact: ContactId,
    },
}

/// The routing engine. See the crate documentation for inputs, outputs and invariants.
#[derive(Debug)]
pub struct Acd {
    pub(crate) cfg: AcdConfig,
    pub(crate) queues: Vec<QueueRt>,
    pub(crate) queue_ids: MixMap<QueueId, QueueIdx>,
    pub(crate) agents: Vec<AgentRec>,
    pub(crate) agent_ids: MixMap<AgentId, AgentIdx>,
    pub(crate) contacts: Vec<Option<ContactRec>>,
    pub(crate) free_slots: Vec<ContactIdx>,
    pub(crate) contact_ids: MixMap<ContactId, ContactIdx>,
    pub(crate) languages: MixMap<String, u16>,
    pub(crate) timers: BinaryHeap<Reverse<(i64, u64, Timer)>>,
    /// `(due ms, queue)` of the head of every queue's FIFO of repeated announcements.
    pub(crate) announce_heads: BTreeSet<(i64, QueueIdx)>,
    /// Contacts with a live repeated announcement.
    pub(crate) scheduled_repeats: usize,
    pub(crate) outputs: VecDeque<Output>,
    pub(crate) rng: SeededRng,
    pub(crate) next_seq: u64,
    pub(crate) next_epoch: u64,
    pub(crate) next_ordinal: u64,
    pub(crate) now: Timestamp,
}

/// A queue's figures for the wallboard and the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSnapshot {
    pub waiting: u32,
    pub serving_agents: u32,
    pub available_agents: u32,
    /// EWT for a contact arriving now.
    pub ewt_new: model::DurationMs,
    pub recent_aht: model::DurationMs,
    /// Erlang C average wait for the serving agents at the recent load (`None`: unknown or overloaded).
    pub erlang_c_asa: Option<model::DurationMs>,
    pub open: bool,
}

impl Acd {
    /// An engine with no agents and no contacts.
    pub fn new(cfg: AcdConfig) -> Self {
        let hasher = MixState::new(cfg.seed);
        let queues: Vec<QueueRt> = cfg
            .queues
            .iter()
            .map(|q| QueueRt {
                floor_skills: floor_skills(q),
                cfg: q.clone(),
                classes: Vec::new(),
                class_ids: MixMap::with_hasher(hasher),
                free_classes: Vec::new(),
                nonempty: BTreeSet::new(),
                waiting: 0,
                ranked: rank::RankedKeys::default(),
                repeats: VecDeque::new(),
                available: Default::default(),
                available_version: [0; GROUPS],
                rr_last: 0,
                serving: 0,
                load: QueueLoad::new(q.default_handle_time),
                open: q.open,
            })
            .collect();
        let queue_ids = queues.iter().enumerate().map(|(i, q)| (q.cfg.id, i as QueueIdx)).collect();
        Self {
            rng: SeededRng::new(cfg.seed),
            cfg,
            queues,
            queue_ids,
            agents: Vec::new(),
            agent_ids: MixMap::with_hasher(hasher),
            contacts: Vec::new(),
            free_slots: Vec::new(),
            contact_ids: MixMap::with_hasher(hasher),
            languages: MixMap::with_hasher(hasher),
            timers: BinaryHeap::new(),
            announce_heads: BTreeSet::new(),
            scheduled_repeats: 0,
            outputs: VecDeque::new(),
            next_seq: 0,
            next_epoch: 0,
            next_ordinal: 0,
            now: Timestamp::from_unix_ms(0),
        }
    }

    /// Feeds one command in. Timers due at `now` fire first, so the order of effects is the
    /// order of time. A `now` earlier than one already seen is treated as that later time (the
    /// engine's clock never steps back). On error the command had no effect.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Result<(), AcdError> {
        self.handle_timeout(now);
        match input {
            Input::ContactArrived(req) => self.contact_arrived(req),
            Input::ContactAbandoned(id) => self.contact_abandoned(id),
            Input::CallbackChosen(id) => self.callback_chosen(id),
            Input::AgentLoggedIn(profile) => self.agent_logged_in(profile),
            Input::AgentLoggedOut(id) => self.set_presence(id, Presence::Offline, false),
            Input::AgentPresence { agent, presence } => self.set_presence(agent, presence.into(), false),
            Input::SupervisorForce { agent, presence } => self.set_presence(agent, presence.into(), true),
            Input::OfferAccepted { agent, contact } => self.offer_accepted(agent, contact),
            Input::OfferRejected { agent, contact } => self.offer_rejected(agent, contact, false),
            Input::OfferFailed { agent, contact } => self.offer_rejected(agent, contact, true),
            Input::ContactEnded(id) => self.contact_ended(id),
            Input::WrapUpDone { agent, contact } => self.wrap_up_done(agent, contact),
            Input::TransferToQueue { contact, queue } => self.transfer_to_queue(contact, queue),
            Input::TransferToAgent { contact, agent } => self.transfer_to_agent(contact, agent),
            Input::SetQueueOpen { queue, open } => {
                let q = self.queue_idx(queue)?;
                self.queues[q as usize].open = open;
                Ok(())
            }
            Input::ResetDailyCounters => {
                let now = self.now;
                for a in 0..self.agents.len() {
                    self.agents[a].handled_today = 0;
                    self.agents[a].occupancy.reset(now);
                    self.reindex_agent(a as AgentIdx);
                }
                Ok(())
            }
        }
    }

    /// Fires every timer due at or before `now`, in time order, and the repeated announcements
    /// due (at most [`MAX_ANNOUNCEMENTS_PER_CALL`] of them).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if now > self.now {
            self.now = now;
        }
        let now_ms = self.now.unix_ms();
        let mut announced = 0usize;
        loop {
            let timer_at = self.timers.peek().map(|Reverse((at, _, _))| *at).filter(|&at| at <= now_ms);
            let announce_at =
                self.next_repeat_at().filter(|&at| at <= now_ms && announced < MAX_ANNOUNCEMENTS_PER_CALL);
            match (timer_at, announce_at) {
                (Some(t), a) if a.is_none_or(|a| t <= a) => {
                    if let Some(Reverse((_, _, timer))) = self.timers.pop() {
                        self.fire(timer);
                    }
                }
                (_, Some(_)) => {
                    if self.announce_next() {
                        announced += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// The next decision or event, oldest first. Outputs accumulate until taken: the shell
    /// drains them after every `handle`/`handle_timeout` call, and one call produces a bounded
    /// number (a few per contact or agent it touches; at most [`MAX_RING_ALL_AGENTS`] offers
    /// per contact and [`MAX_ANNOUNCEMENTS_PER_CALL`] repeated announcements).
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Acd::handle_timeout`] should be called next. May be early (a timer that no longer
    /// matters); calling early is harmless.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let timer = self.timers.peek().map(|Reverse((at, _, _))| *at);
        let announce = self.next_repeat_at();
        timer.into_iter().chain(announce).min().map(Timestamp::from_unix_ms)
    }

    /// The state an agent shows on the wallboard.
    pub fn agent_state(&self, agent: AgentId) -> Option<AgentState> {
        self.agent_ids.get(&agent).map(|&a| self.agents[a as usize].reported)
    }

    /// Timers held, live or stale (bounded by [`TIMERS_PER_LIVE_ITEM`] per live contact or agent).
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// Repeated announcements scheduled: one per waiting contact of a queue with an `announce_interval`.
    pub fn pending_announcements(&self) -> usize {
        self.scheduled_repeats
    }

    /// Entries in the queues' FIFOs of repeats, live or stale (per queue at most twice its
    /// waiting contacts plus [`MIN_REPEATS_BEFORE_SWEEP`]).
    pub fn repeat_entries(&self) -> usize {
        self.queues.iter().map(|q| q.repeats.len()).sum()
    }

    /// An agent's occupancy so far today, in parts per million: handling time / (handling +
    /// available idle time), from the engine's own state timeline up to the last `now` seen.
    pub fn agent_occupancy_ppm(&self, agent: AgentId) -> Option<u32> {
        self.agent_ids.get(&agent).map(|&a| self.agents[a as usize].occupancy.ppm(self.now))
    }

    /// Contacts the engine is holding (waiting, ringing or connected).
    pub fn live_contacts(&self) -> usize {
        self.contact_ids.len()
    }

    /// The history of a live contact (queues, answers, transfers, overflows).
    pub fn contact_history(&self, contact: ContactId) -> Option<&[HistoryEntry]> {
        let c = *self.contact_ids.get(&contact)?;
        self.contacts[c as usize].as_ref().map(|r| r.history.as_slice())
    }

    /// Position (1-based) of a waiting contact in its queue. Costs the number of contacts behind it.
    pub fn queue_position(&self, contact: ContactId) -> Option<u32> {
        let c = *self.contact_ids.get(&contact)?;
        let rec = self.contacts[c as usize].as_ref()?;
        match rec.state {
            ContactState::Waiting { key, .. } => Some(self.position_of(rec.queue, key)),
            _ => None,
        }
    }

    /// Replaces the route tables of every entry point (validated against this engine's queues)
    /// without touching queues, agents or waiting contacts: only contacts arriving afterwards are
    /// routed by the new tables. On error nothing changed.
    pub fn replace_entry_points(&mut self, raw: &[crate::config::RawEntryPoint]) -> Result<(), ConfigError> {
        let entry_points = self.cfg.entry_points_from(raw)?;
        self.cfg.entry_points = entry_points;
        Ok(())
    }

    /// The validated configuration the engine runs on.
    pub fn config(&self) -> &AcdConfig {
        &self.cfg
    }

    /// Figures of a queue, `None` for an unknown queue.
    pub fn queue_snapshot(&self, queue: QueueId) -> Option<QueueSnapshot> {
        let q = &self.queues[*self.queue_ids.get(&queue)? as usize];
        let available = q.available.iter().flat_map(|s| s.iter().map(|k| k.3)).collect::<BTreeSet<_>>().len();
        Some(QueueSnapshot {
            waiting: q.waiting,
            serving_agents: q.serving,
            available_agents: u32::try_from(available).unwrap_or(u32::MAX),
            ewt_new: q.load.ewt(q.waiting.saturating_add(1), q.serving, q.cfg.max_wait),
            recent_aht: q.load.aht(),
            erlang_c_asa: q.load.erlang_c_asa(q.serving),
            open: q.open,
        })
    }

    pub(crate) fn queue_idx(&self, id: QueueId) -> Result<QueueIdx, AcdError> {
        self.queue_ids.get(&id).copied().ok_or(AcdError::UnknownQueue(id))
    }

    pub(crate) fn agent_idx(&self, id: AgentId) -> Result<AgentIdx, AcdError> {
        self.agent_ids.get(&id).copied().ok_or(AcdError::UnknownAgent(id))
    }

    pub(crate) fn contact_idx(&self, id: ContactId) -> Result<ContactIdx, AcdError> {
        self.contact_ids.get(&id).copied().ok_or(AcdError::UnknownContact(id))
    }

    pub(crate) fn contact(&self, c: ContactIdx) -> &ContactRec {
        self.contacts[c as usize].as_ref().expect("contact index points at a live contact")
    }

    pub(crate) fn contact_mut(&mut self, c: ContactIdx) -> &mut ContactRec {
        self.contacts[c as usize].as_mut().expect("contact index points at a live contact")
    }

    pub(crate) fn emit(&mut self, kind: EventKind) {
        self.outputs.push_back(Output::Event(Event { at: self.now, kind }));
    }

    pub(crate) fn arm(&mut self, at: Timestamp, timer: Timer) {
        self.next_seq += 1;
        self.arm_in_arrival_order(at, self.next_seq, timer);
    }

    /// Arms a timer that fires, among timers due at the same time, in `order` (a contact's
    /// arrival sequence number; shares its counter with [`Acd::arm`]'s order, so both interleave).
    pub(crate) fn arm_in_arrival_order(&mut self, at: Timestamp, order: u64, timer: Timer) {
        self.timers.push(Reverse((at.unix_ms(), order, timer)));
        if self.timers.len() > self.max_timers() {
            self.compact_timers();
        }
    }

    /// Timers kept before stale ones are swept: a few per live contact and agent, never less
    /// than [`MIN_TIMERS_BEFORE_SWEEP`].
    fn max_timers(&self) -> usize {
        (TIMERS_PER_LIVE_ITEM * (self.contact_ids.len() + self.agents.len())).max(MIN_TIMERS_BEFORE_SWEEP)
    }

    /// Drops timers that can no longer fire (their contact moved on or left). Linear, but only
    /// when the heap doubled past [`Acd::max_timers`], so amortised constant per timer.
    fn compact_timers(&mut self) {
        let mut timers = std::mem::take(&mut self.timers).into_vec();
        timers.retain(|Reverse((_, _, t))| self.timer_is_live(t));
        self.timers = BinaryHeap::from(timers);
    }

    fn timer_is_live(&self, timer: &Timer) -> bool {
        match *timer {
            Timer::OfferExpires { contact, epoch }
            | Timer::Relax { contact, epoch }
            | Timer::Overflow { contact, epoch }
            | Timer::MaxWait { contact, epoch }
            | Timer::Reoffer { contact, epoch } => self.timer_is_current(contact, epoch),
            Timer::WrapUp { agent, contact } => {
                self.agents.get(agent as usize).is_some_and(|a| a.wrap_ups.iter().any(|&(c, _)| c == contact))
            }
        }
    }

    pub(crate) fn new_epoch(&mut self) -> u64 {
        self.next_epoch += 1;
        self.next_epoch
    }

    fn timer_is_current(&self, contact: ContactIdx, epoch: u64) -> bool {
        self.contacts.get(contact as usize).and_then(|c| c.as_ref()).is_some_and(|c| c.epoch == epoch)
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::OfferExpires { contact, epoch } if self.timer_is_current(contact, epoch) => {
                self.offer_expired(contact)
            }
            Timer::Relax { contact, epoch } if self.timer_is_current(contact, epoch) => self.relax(contact),
            Timer::Overflow { contact, epoch } if self.timer_is_current(contact, epoch) => {
                self.overflow_after_wait(contact)
            }
            Timer::MaxWait { contact, epoch } if self.timer_is_current(contact, epoch) => {
                self.max_wait_reached(contact)
            }
            Timer::Reoffer { contact, epoch } if self.timer_is_current(contact, epoch) => {
                self.contact_mut(contact).declined_by.clear();
                self.route_contact(contact);
            }
            Timer::WrapUp { agent, contact } => self.finish_wrap_up(agent, contact),
            _ => {}
        }
    }

    /// Position (1-based) of `key` among the contacts waiting in `queue`.
    pub(crate) fn position_of(&self, queue: QueueIdx, key: WaitKey) -> u32 {
        let rank = self.queues[queue as usize].ranked.rank(&key);
        u32::try_from(rank).unwrap_or(u32::MAX).saturating_add(1)
    }
}

/// A queue's required skills once every relaxation step applied.
fn floor_skills(q: &QueueConfig) -> Vec<(SkillIdx, u8)> {
    if q.relaxation.iter().any(|r| r.drop_skills) {
        return Vec::new();
    }
    let cap = q.relaxation.iter().filter_map(|r| r.max_min_proficiency).map(|p| p.get()).min();
    q.required_skills.iter().map(|&(s, p)| (s, cap.map_or(p.get(), |c| p.get().min(c)))).collect()
}

impl From<crate::io::Presence> for Presence {
    fn from(p: crate::io::Presence) -> Self {
        match p {
            crate::io::Presence::Available => Presence::Available,
            crate::io::Presence::Away(r) => Presence::Away(r),
            crate::io::Presence::Offline => Presence::Offline,
        }
    }
}
