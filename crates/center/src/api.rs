//! The center's boundary types: what channels and the web layer send in ([`NewContact`],
//! [`Disposition`], [`Presence`]) and get out ([`LiveEvent`], [`OfferSignal`], [`Snapshot`]).
//! Plain data; [`LiveEvent`] and [`Snapshot`] serialise to JSON for the WebSocket and REST API
//! (ids as UUID text, times as unix ms in `*_ms` fields, words as the model's `as_str`).

use std::collections::BTreeMap;

use model::{
    AgentId, AgentState, Channel, ContactId, ContactOutcome, CustomerId, Language, OrgId, Proficiency, QueueId,
    ReasonCode, SkillName, Timestamp, UserId, VipTier,
};
use serde::Serialize;

pub use acd::{Entry, OfferKind, Presence};

/// Longest `from_address` / `to_address`, in bytes.
pub const MAX_ADDRESS_BYTES: usize = 512;
/// Longest disposition notes, in bytes.
pub const MAX_NOTES_BYTES: usize = 16_384;
/// Most IVR nodes kept in a contact's path.
pub const MAX_IVR_PATH_NODES: usize = 64;
/// Longest IVR digit string kept, in bytes.
pub const MAX_IVR_DIGITS_BYTES: usize = 256;

/// What the IVR did before the contact was handed to the center (voice).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IvrTrail {
    /// When the call arrived (before the IVR); `None`: when the center received it.
    pub arrived_at: Option<Timestamp>,
    /// The IVR nodes visited, in order.
    pub path: Vec<String>,
    /// Digits the caller pressed.
    pub digits: String,
}

/// A contact a channel hands to the center.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    pub channel: Channel,
    /// A route table's entry point (`Entry::EntryPoint("hotline")`) or a queue.
    pub entry: Entry,
    pub customer: Option<CustomerId>,
    /// Caller number, sender address or social id, as received.
    pub from_address: String,
    /// Dialled number, mailbox or account, as received.
    pub to_address: String,
    /// `None`: the customer's tier from the store (normal when there is no customer).
    pub vip: Option<VipTier>,
    pub issue_type: Option<String>,
    pub language: Option<Language>,
    /// Needed on top of the queue's required skills.
    pub required_skills: Vec<(SkillName, Proficiency)>,
    pub attributes: BTreeMap<String, String>,
    /// Higher is served sooner.
    pub priority: i32,
    pub ivr: Option<IvrTrail>,
}

impl NewContact {
    /// A contact entering through `entry_point` with nothing special.
    pub fn new(channel: Channel, entry_point: &str, from_address: &str) -> Self {
        Self {
            channel,
            entry: Entry::EntryPoint(entry_point.to_owned()),
            customer: None,
            from_address: from_address.to_owned(),
            to_address: String::new(),
            vip: None,
            issue_type: None,
            language: None,
            required_skills: Vec::new(),
            attributes: BTreeMap::new(),
            priority: 0,
            ivr: None,
        }
    }
}

/// What the agent records at wrap-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    pub code: ReasonCode,
    pub notes: String,
}

/// An offer for a channel's own consumer (voice rings the agent's phone); see
/// [`crate::CenterHandle::take_offers`].
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub org: OrgId,
    pub contact: ContactId,
    pub agent: AgentId,
    pub queue: QueueId,
    pub channel: Channel,
    pub kind: OfferKind,
    pub ring_timeout_ms: u64,
    pub customer: Option<CustomerId>,
    pub from_address: String,
}

/// What a channel consumer receives about its channel's contacts: ring, stop ringing, tell the
/// waiting customer their place, or the center refused the contact (the channel plays busy,
/// takes a voicemail or offers a callback as [`Refusal`] says).
#[derive(Debug, Clone, PartialEq)]
pub enum OfferSignal {
    Offer(Offer),
    /// Stop ringing `agent` for `contact` (answered elsewhere, abandoned, ring timeout, ...).
    Cancel {
        contact: ContactId,
        agent: AgentId,
        reason: OfferEndReason,
    },
    /// Position (1-based) and expected wait of a waiting contact, when it starts waiting and at
    /// its queue's announcement interval.
    Announce {
        contact: ContactId,
        queue: QueueId,
        position: u32,
        ewt_ms: u64,
    },
    /// The contact was refused and is over (its row says `rejected` or `timed_out`).
    Refused {
        contact: ContactId,
        queue: Option<QueueId>,
        refusal: Refusal,
    },
}

/// Why the center refused a contact, and so what the channel does with the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The queue is full: play busy.
    QueueFullBusy,
    /// The queue is full: take a voicemail / leave-a-message.
    QueueFullVoicemail,
    /// The queue is full: offer a callback.
    QueueFullCallback,
    /// The queue is closed.
    Closed,
    /// Waited longer than the queue's maximum: voicemail.
    MaxWaitExceeded,
}

impl From<acd::RejectReason> for Refusal {
    fn from(r: acd::RejectReason) -> Self {
        match r {
            acd::RejectReason::QueueFull(acd::FullFallback::Busy) => Self::QueueFullBusy,
            acd::RejectReason::QueueFull(acd::FullFallback::Voicemail) => Self::QueueFullVoicemail,
            acd::RejectReason::QueueFull(acd::FullFallback::Callback) => Self::QueueFullCallback,
            acd::RejectReason::Closed => Self::Closed,
            acd::RejectReason::MaxWaitExceeded => Self::MaxWaitExceeded,
        }
    }
}

/// Why an offer stopped ringing without being accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferEndReason {
    Rejected,
    RingTimeout,
    AnsweredElsewhere,
    Abandoned,
    AgentUnavailable,
    Transferred,
}

impl From<acd::CancelReason> for OfferEndReason {
    fn from(r: acd::CancelReason) -> Self {
        match r {
            acd::CancelReason::AnsweredElsewhere => Self::AnsweredElsewhere,
            acd::CancelReason::Abandoned => Self::Abandoned,
            acd::CancelReason::RingTimeout => Self::RingTimeout,
            acd::CancelReason::AgentUnavailable => Self::AgentUnavailable,
            acd::CancelReason::Transferred => Self::Transferred,
        }
    }
}

/// One live change, for the WebSocket. Every event names its org and the queue and/or agent it
/// concerns ([`LiveEvent::org`], [`LiveEvent::queue`], [`LiveEvent::agent`]) so the web layer
/// filters by role: agents see their own offers and contacts and their queues' stats,
/// supervisors everything in their org.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    ContactQueued {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        contact: ContactId,
        #[serde(with = "text")]
        queue: QueueId,
        #[serde(with = "text")]
        channel: Channel,
        /// 1-based place in the queue; 0 when it was offered at once (no wait).
        position: u32,
        ewt_ms: u64,
        at_ms: i64,
    },
    ContactOffered {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        contact: ContactId,
        #[serde(with = "text")]
        agent: AgentId,
        #[serde(with = "text")]
        queue: QueueId,
        #[serde(with = "text")]
        channel: Channel,
        /// `true`: call the customer back (their turn came).
        callback: bool,
        ring_timeout_ms: u64,
        #[serde(with = "opt_text")]
        customer: Option<CustomerId>,
        from_address: String,
        at_ms: i64,
    },
    OfferCancelled {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        contact: ContactId,
        #[serde(with = "text")]
        agent: AgentId,
        #[serde(with = "text")]
        queue: QueueId,
        reason: OfferEndReason,
        at_ms: i64,
    },
    ContactAnswered {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        contact: ContactId,
        #[serde(with = "text")]
        agent: AgentId,
        #[serde(with = "text")]
        queue: QueueId,
        #[serde(with = "text")]
        channel: Channel,
        wait_ms: u64,
        at_ms: i64,
    },
    ContactTransferred {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        contact: ContactId,
        #[serde(with = "opt_text")]
        from_agent: Option<AgentId>,
        #[serde(with = "text")]
        from_queue: QueueId,
        #[serde(with = "opt_text")]
        to_queue: Option<QueueId>,
        #[serde(with = "opt_text")]
        to_agent: Option<AgentId>,
        at_ms: i64,
    },
    /// The customer left before an agent answered.
    ContactAbandoned {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        contact: ContactId,
        #[serde(with = "opt_text")]
        queue: Option<QueueId>,
        wait_ms: u64,
        at_ms: i64,
    },
    /// The contact is over (answered and hung up, rejected, timed out, self-served, ...).
    ContactEnded {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        contact: ContactId,
        #[serde(with = "opt_text")]
        queue: Option<QueueId>,
        #[serde(with = "opt_text")]
        agent: Option<AgentId>,
        #[serde(with = "text")]
        outcome: ContactOutcome,
        /// Set when the center refused the contact.
        refusal: Option<Refusal>,
        at_ms: i64,
    },
    /// The agent finished after-contact work (or the queue's wrap-up time ran out).
    WrapUpEnded {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        contact: ContactId,
        #[serde(with = "text")]
        agent: AgentId,
        #[serde(with = "opt_text")]
        queue: Option<QueueId>,
        #[serde(with = "opt_text")]
        disposition: Option<ReasonCode>,
        at_ms: i64,
    },
    /// Position and expected wait for a waiting contact (voice plays it).
    Announce {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        contact: ContactId,
        #[serde(with = "text")]
        queue: QueueId,
        position: u32,
        ewt_ms: u64,
        at_ms: i64,
    },
    AgentState {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        agent: AgentId,
        #[serde(with = "text")]
        state: AgentState,
        #[serde(with = "opt_text")]
        reason: Option<ReasonCode>,
        since_ms: i64,
        /// Set when a supervisor forced it.
        #[serde(with = "opt_text")]
        forced_by: Option<UserId>,
    },
    QueueStats(QueueFigures),
    /// A live call's controls changed (hold, recording pause, consult, monitoring).
    CallUpdated {
        #[serde(with = "text")]
        org: OrgId,
        #[serde(with = "text")]
        contact: ContactId,
        #[serde(with = "opt_text")]
        agent: Option<AgentId>,
        #[serde(with = "opt_text")]
        queue: Option<QueueId>,
        /// What changed: `held`, `resumed`, `recording_paused`, `consult_ringing`, ...
        change: &'static str,
        /// The call's controls as they are now.
        state: crate::calls::CallState,
        at_ms: i64,
    },
}

impl LiveEvent {
    pub fn org(&self) -> OrgId {
        match self {
            LiveEvent::ContactQueued { org, .. }
            | LiveEvent::ContactOffered { org, .. }
            | LiveEvent::OfferCancelled { org, .. }
            | LiveEvent::ContactAnswered { org, .. }
            | LiveEvent::ContactTransferred { org, .. }
            | LiveEvent::ContactAbandoned { org, .. }
            | LiveEvent::ContactEnded { org, .. }
            | LiveEvent::WrapUpEnded { org, .. }
            | LiveEvent::Announce { org, .. }
            | LiveEvent::AgentState { org, .. }
            | LiveEvent::CallUpdated { org, .. } => *org,
            LiveEvent::QueueStats(q) => q.org,
        }
    }

    /// The queue the event concerns, if any (for an agent's "my queues" filter).
    pub fn queue(&self) -> Option<QueueId> {
        match self {
            LiveEvent::ContactQueued { queue, .. }
            | LiveEvent::ContactOffered { queue, .. }
            | LiveEvent::OfferCancelled { queue, .. }
            | LiveEvent::ContactAnswered { queue, .. }
            | LiveEvent::Announce { queue, .. } => Some(*queue),
            LiveEvent::ContactTransferred { from_queue, .. } => Some(*from_queue),
            LiveEvent::ContactAbandoned { queue, .. }
            | LiveEvent::ContactEnded { queue, .. }
            | LiveEvent::WrapUpEnded { queue, .. }
            | LiveEvent::CallUpdated { queue, .. } => *queue,
            LiveEvent::AgentState { .. } => None,
            LiveEvent::QueueStats(q) => Some(q.queue),
        }
    }

    /// The agent the event concerns, if any (an agent sees offers and contacts addressed to them).
    pub fn agent(&self) -> Option<AgentId> {
        match self {
            LiveEvent::ContactOffered { agent, .. }
            | LiveEvent::OfferCancelled { agent, .. }
            | LiveEvent::ContactAnswered { agent, .. }
            | LiveEvent::WrapUpEnded { agent, .. }
            | LiveEvent::AgentState { agent, .. } => Some(*agent),
            LiveEvent::ContactTransferred { to_agent, from_agent, .. } => to_agent.or(*from_agent),
            LiveEvent::ContactEnded { agent, .. } | LiveEvent::CallUpdated { agent, .. } => *agent,
            LiveEvent::ContactQueued { .. }
            | LiveEvent::ContactAbandoned { .. }
            | LiveEvent::Announce { .. }
            | LiveEvent::QueueStats(_) => None,
        }
    }

    /// The contact the event concerns, if any.
    pub fn contact(&self) -> Option<ContactId> {
        match self {
            LiveEvent::ContactQueued { contact, .. }
            | LiveEvent::ContactOffered { contact, .. }
            | LiveEvent::OfferCancelled { contact, .. }
            | LiveEvent::ContactAnswered { contact, .. }
            | LiveEvent::ContactTransferred { contact, .. }
            | LiveEvent::ContactAbandoned { contact, .. }
            | LiveEvent::ContactEnded { contact, .. }
            | LiveEvent::WrapUpEnded { contact, .. }
            | LiveEvent::Announce { contact, .. }
            | LiveEvent::CallUpdated { contact, .. } => Some(*contact),
            LiveEvent::AgentState { .. } | LiveEvent::QueueStats(_) => None,
        }
    }
}

/// A queue's live figures ("today" = since start or the last [`crate::CenterHandle::reset_day`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueFigures {
    #[serde(with = "text")]
    pub org: OrgId,
    #[serde(with = "text")]
    pub queue: QueueId,
    pub name: String,
    /// Contacts waiting now (callback placeholders included).
    pub waiting: u32,
    /// How long the contact waiting longest has waited, 0 when none waits.
    pub longest_wait_ms: u64,
    /// Expected wait for a contact arriving now.
    pub ewt_ms: u64,
    /// Members signed in and not Away.
    pub serving_agents: u32,
    /// Members who could take one more contact now.
    pub available_agents: u32,
    /// Contacts that entered this queue today (transfers and overflows in count again).
    pub offered_today: u32,
    pub answered_today: u32,
    pub abandoned_today: u32,
    /// Answered today within the queue's service-level threshold.
    pub answered_within_sl_today: u32,
    /// Sum of waits of contacts answered today (ASA = this / answered).
    pub answered_wait_ms_today: u64,
    pub sl_threshold_ms: u64,
    pub sl_percent: u8,
    pub at_ms: i64,
}

/// An agent as the wallboard shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentFigures {
    #[serde(with = "text")]
    pub agent: AgentId,
    pub extension: String,
    pub display_name: String,
    #[serde(with = "text")]
    pub state: AgentState,
    #[serde(with = "opt_text")]
    pub reason: Option<ReasonCode>,
    pub since_ms: i64,
    /// Contacts ringing, connected or in wrap-up with this agent.
    #[serde(serialize_with = "text_list")]
    pub contacts: Vec<ContactId>,
    #[serde(serialize_with = "text_list")]
    pub queues: Vec<QueueId>,
}

/// Health counters of the shell: nothing is dropped without being counted here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counters {
    /// Store writes done.
    pub writes_done: u64,
    /// Store writes that failed after every retry (logged with the entity).
    pub writes_failed: u64,
    /// Store writes dropped because the write queue held `max_pending_writes`.
    pub writes_dropped: u64,
    /// Store write attempts retried.
    pub write_retries: u64,
    /// Offers a channel consumer could not take (its queue full or closed): rejected back to the ACD.
    pub offers_undeliverable: u64,
    /// Cancels, announcements and refusals a channel consumer's full (or closed) queue could not take.
    pub signals_dropped: u64,
    /// Commands refused by the engine (unknown ids, wrong state).
    pub commands_refused: u64,
}

/// The whole live picture of one org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    #[serde(with = "text")]
    pub org: OrgId,
    pub at_ms: i64,
    pub queues: Vec<QueueFigures>,
    pub agents: Vec<AgentFigures>,
    /// Contacts the center holds (queued, ringing, connected, or in wrap-up).
    pub live_contacts: u32,
    pub counters: Counters,
}

impl Snapshot {
    pub fn queue(&self, queue: QueueId) -> Option<&QueueFigures> {
        self.queues.iter().find(|q| q.queue == queue)
    }

    pub fn agent(&self, agent: AgentId) -> Option<&AgentFigures> {
        self.agents.iter().find(|a| a.agent == agent)
    }
}

/// Serialises any `Display` (ids, words) as its text.
mod text {
    pub fn serialize<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
}

mod opt_text {
    pub fn serialize<T: std::fmt::Display, S: serde::Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }
}

fn text_list<T: std::fmt::Display, S: serde::Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(ToString::to_string))
}
