//! The engine's boundary: [`Input`] commands going in, [`Output`] decisions and [`Event`]s coming
//! out. Plain data, no behaviour; these types never hold references into the engine.

use std::collections::BTreeMap;

use model::{
    AgentId, AgentState, Channel, ChannelCapacity, ContactId, ContactOutcome, DurationMs, Language, Proficiency,
    QueueId, ReasonCode, SkillName, Timestamp, VipTier,
};

/// Most attributes a contact may carry.
pub const MAX_CONTACT_ATTRIBUTES: usize = 32;
/// Longest attribute key or value, in bytes.
pub const MAX_ATTRIBUTE_BYTES: usize = 256;
/// Longest issue type, in bytes.
pub const MAX_ISSUE_TYPE_BYTES: usize = 64;
/// Most skills a contact may require on top of its queue's.
pub const MAX_CONTACT_SKILLS: usize = 16;

/// Where an arriving contact enters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Through a route table (an entry point's name).
    EntryPoint(String),
    /// Straight into a queue.
    Queue(QueueId),
}

/// A contact asking to be routed.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRequest {
    pub id: ContactId,
    pub channel: Channel,
    pub entry: Entry,
    pub vip: VipTier,
    pub issue_type: Option<String>,
    pub language: Option<Language>,
    /// Needed on top of the queue's required skills.
    pub required_skills: Vec<(SkillName, Proficiency)>,
    /// Higher is served sooner; one point is worth the queue's `priority_step` of waiting.
    pub priority: i32,
    pub attributes: BTreeMap<String, String>,
    /// A callback placeholder: the customer hung up and keeps their place.
    pub callback: bool,
}

impl ContactRequest {
    /// A normal-priority contact with nothing special, for tests and simple shells.
    pub fn new(id: ContactId, channel: Channel, entry: Entry) -> Self {
        Self {
            id,
            channel,
            entry,
            vip: VipTier::Normal,
            issue_type: None,
            language: None,
            required_skills: Vec::new(),
            priority: 0,
            attributes: BTreeMap::new(),
            callback: false,
        }
    }
}

/// An agent's membership of a queue: lower penalty is offered first; weight for weighted random.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub queue: QueueId,
    pub penalty: u8,
    /// Relative chance under the weighted random strategy (0 = never picked by it).
    pub weight: u32,
}

/// What the engine needs to know about an agent logging in.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentProfile {
    pub id: AgentId,
    pub skills: Vec<(SkillName, Proficiency)>,
    pub languages: Vec<Language>,
    pub capacity: ChannelCapacity,
    pub queues: Vec<Membership>,
}

impl AgentProfile {
    /// From the vocabulary's agent entity (weight 1 in every queue).
    pub fn from_agent(agent: &model::Agent) -> Self {
        Self {
            id: agent.id,
            skills: agent.skills.iter().map(|s| (s.skill.clone(), s.proficiency)).collect(),
            languages: agent.languages.clone(),
            capacity: agent.capacity,
            queues: agent.queues.iter().map(|m| Membership { queue: m.queue, penalty: m.penalty, weight: 1 }).collect(),
        }
    }
}

/// A state an agent sets or a supervisor forces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Available,
    Away(ReasonCode),
    Offline,
}

/// Commands into the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    ContactArrived(ContactRequest),
    /// The customer hung up / left while waiting or ringing.
    ContactAbandoned(ContactId),
    /// A waiting voice customer chose a callback: keep the place, stop counting patience.
    CallbackChosen(ContactId),
    AgentLoggedIn(AgentProfile),
    AgentLoggedOut(AgentId),
    /// The agent changes their own state (Available, Away with a reason, Offline).
    AgentPresence {
        agent: AgentId,
        presence: Presence,
    },
    /// A supervisor forces a state; offers ringing the agent are cancelled and requeued.
    SupervisorForce {
        agent: AgentId,
        presence: Presence,
    },
    OfferAccepted {
        agent: AgentId,
        contact: ContactId,
    },
    OfferRejected {
        agent: AgentId,
        contact: ContactId,
    },
    /// The offer could not ring the agent at all (phone unreachable, not registered, busy):
    /// handled like a rejection, and counted as a missed offer, so an agent whose device keeps
    /// failing goes Away ("missed") after the queue's `missed_offers_before_away` instead of
    /// being offered every contact in turn.
    OfferFailed {
        agent: AgentId,
        contact: ContactId,
    },
    /// The conversation is over; the agent goes to the queue's wrap-up.
    ContactEnded(ContactId),
    /// The agent finished after-contact work before the wrap-up timer.
    WrapUpDone {
        agent: AgentId,
        contact: ContactId,
    },
    /// Move a waiting or connected contact to another queue, keeping history and priority.
    TransferToQueue {
        contact: ContactId,
        queue: QueueId,
    },
    /// Move a waiting or connected contact to a named agent (forced transfer to an expert).
    TransferToAgent {
        contact: ContactId,
        agent: AgentId,
    },
    SetQueueOpen {
        queue: QueueId,
        open: bool,
    },
    /// Midnight: "so far today" counters (least-occupied) start again.
    ResetDailyCounters,
}

/// Why the engine refused a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The queue holds `max_waiting` contacts; the fallback says busy, voicemail or callback.
    QueueFull(crate::config::FullFallback),
    Closed,
    /// Waited longer than the queue's `max_wait` (voicemail).
    MaxWaitExceeded,
}

/// Why an offer was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// Ring-all: another agent took it.
    AnsweredElsewhere,
    Abandoned,
    /// The agent did not answer within the ring timeout.
    RingTimeout,
    /// The agent was forced Away/Offline or logged out.
    AgentUnavailable,
    Transferred,
}

/// Why a contact went back to waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequeueReason {
    Rejected,
    NoAnswer,
    AgentUnavailable,
}

/// What kind of work an offer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferKind {
    Contact,
    /// Call the customer back: their turn came.
    Callback,
}

/// Decisions for the shell, and events for the log and the wallboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Offer {
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
        channel: Channel,
        kind: OfferKind,
        ring_timeout: DurationMs,
    },
    CancelOffer {
        contact: ContactId,
        agent: AgentId,
        reason: CancelReason,
    },
    Requeue {
        contact: ContactId,
        queue: QueueId,
        reason: RequeueReason,
    },
    Overflow {
        contact: ContactId,
        from: QueueId,
        to: QueueId,
    },
    Announce {
        contact: ContactId,
        queue: QueueId,
        position: u32,
        ewt: DurationMs,
    },
    Reject {
        contact: ContactId,
        queue: Option<QueueId>,
        reason: RejectReason,
    },
    Event(Event),
}

/// One change, for the log and the wallboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: Timestamp,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    ContactQueued {
        contact: ContactId,
        queue: QueueId,
        rule: Option<String>,
    },
    ContactOffered {
        contact: ContactId,
        agent: AgentId,
    },
    OfferRejected {
        contact: ContactId,
        agent: AgentId,
    },
    OfferTimedOut {
        contact: ContactId,
        agent: AgentId,
    },
    ContactAnswered {
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
        wait: DurationMs,
    },
    ContactRelaxed {
        contact: ContactId,
        step: u8,
    },
    ContactTransferred {
        contact: ContactId,
        to_queue: Option<QueueId>,
        to_agent: Option<AgentId>,
    },
    ContactOverflowed {
        contact: ContactId,
        from: QueueId,
        to: QueueId,
    },
    /// Back to waiting after an offer ended unanswered, in its old place.
    ContactRequeued {
        contact: ContactId,
        queue: QueueId,
        reason: RequeueReason,
    },
    /// The contact left the engine's care with this outcome (answered contacts end at `ContactEnded`).
    ContactFinished {
        contact: ContactId,
        outcome: ContactOutcome,
    },
    CallbackQueued {
        contact: ContactId,
        queue: QueueId,
    },
    AgentStateChanged {
        agent: AgentId,
        from: AgentState,
        to: AgentState,
        reason: Option<ReasonCode>,
        by_supervisor: bool,
    },
}
