//! The reporting events of a stored [`model::Contact`], for a center that persists contacts and
//! then calls [`crate::ingest`]. Ids are derived from the contact id and the event kind
//! ([`crate::derived_event_id`]), so ingesting the same contact again (after an update) counts
//! only what is new. Pure.
//!
//! What a contact record says, and how it is read:
//! - IVR entry at `arrived_at` when `ivr_path` is not empty; self-service success when the
//!   outcome is `SelfServed`;
//! - queue entry at `queued_at` (with the customer) when it has a queue;
//! - answer at `answered_at` by `agent`; abandon at `ended_at` when the outcome is `Abandoned`;
//!   left the queue (overflow, time-out, voicemail, callback, rejection) at `ended_at` otherwise
//!   when not answered;
//! - one handling segment when answered and ended: talk `ended_at − answered_at`, wrap-up
//!   `wrap_up_ended_at − ended_at`, hold 0 (the record does not keep hold time: a center that
//!   knows it sends `HandlingEnded` itself), transferred as recorded; counted at the end of
//!   wrap-up (or at the end, without wrap-up);
//! - end at `ended_at`; issue type from `issue_type` (or the disposition) when it is a valid code;
//!   CSAT when recorded (at the end of handling).

use kpi::aggregate::{ContactEvent, ContactEventKind, Input};
use model::{Contact, ContactOutcome, DurationMs, ReasonCode, SurveyKind, Timestamp};

use crate::codec::derived_event_id;

/// The kpi inputs a contact record implies, with derived ids (see the module doc).
pub fn contact_inputs(c: &Contact) -> Vec<Input> {
    let mut kinds: Vec<(Timestamp, ContactEventKind)> = Vec::new();
    if !c.ivr_path.is_empty() {
        kinds.push((c.arrived_at, ContactEventKind::IvrEntered));
        if c.outcome == Some(ContactOutcome::SelfServed) {
            kinds.push((c.ended_at.unwrap_or(c.arrived_at), ContactEventKind::IvrSelfServiceSucceeded));
        }
    }
    if let (Some(queue), Some(at)) = (c.queue, c.queued_at) {
        kinds.push((at, ContactEventKind::Queued { queue, customer: c.customer }));
    }
    let answered = c.answered_at.zip(c.agent);
    if let Some((at, agent)) = answered {
        kinds.push((at, ContactEventKind::Answered { agent }));
    }
    if let Some(ended) = c.ended_at {
        match c.outcome {
            Some(ContactOutcome::Abandoned) if answered.is_none() => kinds.push((ended, ContactEventKind::Abandoned)),
            Some(
                ContactOutcome::Overflowed
                | ContactOutcome::TimedOut
                | ContactOutcome::Voicemail
                | ContactOutcome::CallbackRequested
                | ContactOutcome::Rejected,
            ) if answered.is_none() && c.queued_at.is_some() => kinds.push((ended, ContactEventKind::LeftQueue)),
            _ => {}
        }
        if let Some((answered_at, agent)) = answered {
            let done = c.wrap_up_ended_at.unwrap_or(ended).max(ended);
            kinds.push((
                done,
                ContactEventKind::HandlingEnded {
                    agent,
                    talk: ended.since(answered_at),
                    hold: DurationMs::from_ms(0),
                    wrap_up: done.since(ended),
                    transferred: c.transferred,
                },
            ));
            if let Some(score) = c.csat {
                kinds.push((done, ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, score }));
            }
        }
        kinds.push((ended, ContactEventKind::Ended));
    }
    let issue = c.issue_type.as_deref().and_then(|s| ReasonCode::parse(s).ok()).or_else(|| c.disposition.clone());
    if let Some(issue_type) = issue {
        kinds.push((c.ended_at.unwrap_or(c.arrived_at), ContactEventKind::IssueIdentified { issue_type }));
    }
    kinds
        .into_iter()
        .map(|(at, kind)| {
            Input::Contact(ContactEvent {
                id: derived_event_id(c.id, &kind),
                contact: c.id,
                channel: c.channel,
                at,
                kind,
            })
        })
        .collect()
}
