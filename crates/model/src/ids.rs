//! Typed ids. Each entity has its own id type so an `AgentId` can never be passed where a
//! `QueueId` is expected. Ids are UUIDs (the shells generate v7 ones, time-ordered); this crate
//! never generates them itself because it has no clock and no randomness.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::values::ValueError;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID that the caller generated (v7 in production, fixed in tests).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// An id built from a number, for deterministic tests and demo data.
            pub const fn from_u128(n: u128) -> Self {
                Self(Uuid::from_u128(n))
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| ValueError::new($what, s, "is not a UUID"))
            }
        }
    };
}

typed_id!(/// A tenant: one company using Hotline.
    OrgId, "org id");
typed_id!(/// A person who signs in to the web UI.
    UserId, "user id");
typed_id!(/// An agent: a user who handles contacts.
    AgentId, "agent id");
typed_id!(/// A skill definition.
    SkillId, "skill id");
typed_id!(/// A queue contacts wait in for an agent.
    QueueId, "queue id");
typed_id!(/// A customer.
    CustomerId, "customer id");
typed_id!(/// One interaction on one channel.
    ContactId, "contact id");
typed_id!(/// One entry of a contact's event log.
    ContactEventId, "contact event id");
typed_id!(/// One entry of the agent state log.
    AgentStateChangeId, "agent state change id");
typed_id!(/// A ticket (case) that may span several contacts.
    TicketId, "ticket id");
typed_id!(/// A comment on a ticket.
    TicketCommentId, "ticket comment id");
typed_id!(/// An order, for self-service lookups.
    OrderId, "order id");
typed_id!(/// A call recording.
    RecordingId, "recording id");
typed_id!(/// An answer to a post-contact survey.
    SurveyResponseId, "survey response id");
typed_id!(/// A QA scorecard.
    ScorecardId, "scorecard id");
typed_id!(/// A QA evaluation of one contact.
    EvaluationId, "evaluation id");
typed_id!(/// A QA calibration session.
    CalibrationId, "calibration id");
typed_id!(/// A QA sample drawn for a period.
    QaSampleId, "QA sample id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_round_trips_through_its_text_form() {
        let id = AgentId::from_u128(42);
        let text = id.to_string();
        assert_eq!(text.parse::<AgentId>().ok(), Some(id));
    }

    #[test]
    fn malformed_id_names_the_kind_of_id() {
        let err = "nope".parse::<QueueId>().unwrap_err();
        assert_eq!(err.to_string(), "queue id \"nope\" is not a UUID");
    }
}
