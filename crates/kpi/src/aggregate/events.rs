//! The aggregator's inputs, in contact-center words: what happened to a contact, and an agent's
//! state changes. Each carries the id the bus gave it (for de-duplication) and when it happened.
//! Plain data: building one never fails, and the aggregator checks what it must (score ranges).

use model::{
    AgentId, AgentState, AgentStateChangeId, Channel, ContactEventId, ContactId, CustomerId, DurationMs, QueueId,
    ReasonCode, SurveyKind, Timestamp,
};

/// One thing that happened to a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactEvent {
    /// Unique per event; a second event with the same id is a duplicate and is ignored.
    pub id: ContactEventId,
    pub contact: ContactId,
    pub channel: Channel,
    pub at: Timestamp,
    pub kind: ContactEventKind,
}

/// What happened. Each contact fact is kept order-independently (the earliest queue entry, answer
/// and abandon win; handling segments add up), so events may come in any order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactEventKind {
    /// Entered the IVR.
    IvrEntered,
    /// A self-service step in the IVR succeeded (balance read out, order status given, ...).
    IvrSelfServiceSucceeded,
    /// Offered to a queue (voice: left the IVR toward an agent; chat/email: created for routing).
    /// The customer, when known, is what first-contact resolution groups by.
    Queued { queue: QueueId, customer: Option<CustomerId> },
    /// An agent answered (accepted) it.
    Answered { agent: AgentId },
    /// The customer left before an answer.
    Abandoned,
    /// Left the queue without answer or abandon (overflow, timeout, voicemail, callback request).
    LeftQueue,
    /// One agent's handling ended (after wrap-up). A contact transferred between agents has one
    /// segment per agent.
    HandlingEnded { agent: AgentId, talk: DurationMs, hold: DurationMs, wrap_up: DurationMs, transferred: bool },
    /// The contact ended (for voice: hung up); a contact that ends in the IVR ends here.
    Ended,
    /// The issue type (a disposition code such as `billing`), for first-contact resolution.
    IssueIdentified { issue_type: ReasonCode },
    /// A post-contact survey answer: CSAT 1–5 or NPS 0–10.
    SurveyAnswered { kind: SurveyKind, score: u8 },
}

/// An agent entered a state at `at` (the state lasts until the agent's next change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStateEvent {
    pub id: AgentStateChangeId,
    pub agent: AgentId,
    pub at: Timestamp,
    pub state: AgentState,
}

/// Anything the aggregator is fed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Contact(ContactEvent),
    AgentState(AgentStateEvent),
}

impl Input {
    pub fn at(&self) -> Timestamp {
        match self {
            Input::Contact(e) => e.at,
            Input::AgentState(e) => e.at,
        }
    }

    /// The event id as a de-duplication key (the kind tag keeps the two id spaces apart).
    pub(crate) fn dedup_key(&self) -> (u8, u128) {
        match self {
            Input::Contact(e) => (0, e.id.as_uuid().as_u128()),
            Input::AgentState(e) => (1, e.id.as_uuid().as_u128()),
        }
    }
}

/// What became of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Counted.
    Counted,
    /// Its id was seen before (within the de-duplication window).
    Duplicate,
    /// Older than `now − max_lateness_ms`: its intervals may already be closed and stored.
    TooLate,
    /// Later than `now + max_clock_skew_ms`: a clock is wrong.
    InFuture,
    /// A survey score outside its scale.
    InvalidScore,
    /// An agent state change refused: `max_tracked_agents` reached, or it falls before the part
    /// of the agent's timeline already forgotten (it could not be slotted in exactly).
    OverLimit,
}
