//! Closed sets of words: roles, channels, states, strategies, statuses. Each has one text form
//! (`as_str`) used in config, the store and the API, and parses back from it.

use std::fmt;
use std::str::FromStr;

use crate::values::ValueError;

macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ValueError::new($what, s, format!("is not one of: {}", [$($text),+].join(", ")))),
                }
            }
        }
    };
}

word_enum!(/// What a signed-in user may do.
    Role, "role" {
    /// Configures everything.
    Admin = "admin",
    /// Watches queues and agents, forces states, listens to calls.
    Supervisor = "supervisor",
    /// Handles contacts.
    Agent = "agent",
});

word_enum!(/// How a contact reaches the center.
    Channel, "channel" {
    Voice = "voice",
    Chat = "chat",
    Email = "email",
    WeChat = "wechat",
    Weibo = "weibo",
    Webhook = "webhook",
});

word_enum!(/// Who started the contact.
    Direction, "direction" {
    Inbound = "inbound",
    Outbound = "outbound",
});

word_enum!(/// The customer's tier; gold callers are routed to premium support in the demo.
    VipTier, "VIP tier" {
    Gold = "gold",
    Silver = "silver",
    Normal = "normal",
});

word_enum!(/// What an agent is doing, as the ACD and the wallboard see it.
    AgentState, "agent state" {
    /// Signed out: gets nothing.
    Offline = "offline",
    /// Ready for offers.
    Available = "available",
    /// Signed in but not taking offers; the change log carries the reason (break, lunch, missed, ...).
    Away = "away",
    /// Handling one or more contacts.
    Busy = "busy",
    /// After-call work for the queue's wrap-up time.
    WrapUp = "wrap_up",
});

word_enum!(/// How a queue picks among the agents who could take a contact.
    RoutingStrategy, "routing strategy" {
    RoundRobin = "round_robin",
    LeastOccupied = "least_occupied",
    LongestIdle = "longest_idle",
    SkillsBest = "skills_best",
    RingAll = "ring_all",
    WeightedRandom = "weighted_random",
});

word_enum!(/// Where a contact is in its life.
    ContactStatus, "contact status" {
    /// Arrived, not yet in the IVR or a queue.
    New = "new",
    InIvr = "in_ivr",
    Queued = "queued",
    /// Ringing an agent.
    Offered = "offered",
    /// An agent has it.
    Connected = "connected",
    WrapUp = "wrap_up",
    Ended = "ended",
});

word_enum!(/// How a contact ended, for reports; each contact ends in exactly one of these.
    ContactOutcome, "contact outcome" {
    /// An agent handled it.
    Answered = "answered",
    /// The customer left before an agent answered.
    Abandoned = "abandoned",
    /// Ended in the IVR after self-service.
    SelfServed = "self_served",
    /// Moved to another queue by overflow; the other queue's record goes on.
    Overflowed = "overflowed",
    /// Refused on entry (queue full, closed).
    Rejected = "rejected",
    /// Waited longer than the queue's maximum.
    TimedOut = "timed_out",
    /// Left a voicemail or message.
    Voicemail = "voicemail",
    /// Chose to be called back; the callback is a contact of its own.
    CallbackRequested = "callback_requested",
    /// Ended for a technical reason (media timeout, error).
    Failed = "failed",
});

word_enum!(/// What happened to a contact, one entry per change, for the log and the wallboard.
    ContactEventKind, "contact event" {
    Arrived = "arrived",
    IvrEntered = "ivr_entered",
    IvrStep = "ivr_step",
    IvrLeft = "ivr_left",
    Queued = "queued",
    Announced = "announced",
    Offered = "offered",
    OfferRejected = "offer_rejected",
    OfferTimedOut = "offer_timed_out",
    Answered = "answered",
    Held = "held",
    Resumed = "resumed",
    Transferred = "transferred",
    Overflowed = "overflowed",
    Abandoned = "abandoned",
    RecordingStarted = "recording_started",
    RecordingPaused = "recording_paused",
    RecordingResumed = "recording_resumed",
    Message = "message",
    Ended = "ended",
    WrapUpEnded = "wrap_up_ended",
    Dispositioned = "dispositioned",
    SurveyAnswered = "survey_answered",
});

word_enum!(/// A ticket's place in its workflow.
    TicketStatus, "ticket status" {
    Open = "open",
    Pending = "pending",
    Solved = "solved",
    Closed = "closed",
});

word_enum!(/// How urgent a ticket is.
    TicketPriority, "ticket priority" {
    Low = "low",
    Normal = "normal",
    High = "high",
    Urgent = "urgent",
});

word_enum!(/// An order's status, spoken by the IVR's order lookup.
    OrderStatus, "order status" {
    Pending = "pending",
    Processing = "processing",
    Shipped = "shipped",
    Delivered = "delivered",
    Cancelled = "cancelled",
    Returned = "returned",
});

word_enum!(/// Which survey a response answers.
    SurveyKind, "survey kind" {
    /// 1–5, top-2-box counts as satisfied.
    Csat = "csat",
    /// 0–10, net promoter score.
    Nps = "nps",
});

impl SurveyKind {
    /// The inclusive range of valid scores.
    pub const fn score_range(self) -> (u8, u8) {
        match self {
            SurveyKind::Csat => (1, 5),
            SurveyKind::Nps => (0, 10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_round_trips() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(*c));
        }
        for s in AgentState::ALL {
            assert_eq!(s.as_str().parse::<AgentState>(), Ok(*s));
        }
        for s in RoutingStrategy::ALL {
            assert_eq!(s.as_str().parse::<RoutingStrategy>(), Ok(*s));
        }
    }

    #[test]
    fn unknown_word_lists_the_known_ones() {
        let err = "platinum".parse::<VipTier>().unwrap_err();
        assert_eq!(err.to_string(), "VIP tier \"platinum\" is not one of: gold, silver, normal");
    }
}
