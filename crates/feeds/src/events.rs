//! The event messages published on NATS: subjects, `Nats-Msg-Id`s and the JSON payloads. Pure:
//! a `model` entity in, an [`EventMessage`] out.
//!
//! # Subjects
//! - `<prefix>.contact.<kind>` for each [`ContactEvent`], `<kind>` being
//!   [`ContactEventKind::as_str`] (`hotline.contact.queued`, `hotline.contact.answered`, ...);
//! - `<prefix>.agent.state` for each [`AgentStateChange`].
//!
//! # Payload schema (version 1, JSON, UTF-8)
//! Fields are never removed or renamed within a version; new optional fields may be added, so
//! consumers must ignore fields they do not know. Ids are hyphenated lower-case UUIDs, times are
//! Unix milliseconds, absent values are `null`.
//!
//! Contact event:
//! ```json
//! {"schema":"hotline.contact_event.v1","id":"…","org":"…","contact":"…","at_ms":1764230400000,
//!  "kind":"queued","agent":null,"queue":"…","detail":{}}
//! ```
//! `detail` is the event's extra facts as a JSON value; when the stored text is not JSON it is
//! carried as `{"text":"<the text>"}` rather than dropping the event.
//!
//! Agent state change:
//! ```json
//! {"schema":"hotline.agent_state.v1","id":"…","org":"…","agent":"…","at_ms":1764230400000,
//!  "from":"available","to":"busy","reason":null,"forced_by":null}
//! ```
//!
//! The `Nats-Msg-Id` header is the message's `id` (the event's own id), so a message published
//! twice within the stream's duplicate window is stored once.

use model::{AgentStateChange, ContactEvent, ContactEventKind};
use serde::{Deserialize, Serialize};

/// Schema name of contact event payloads.
pub const CONTACT_EVENT_SCHEMA: &str = "hotline.contact_event.v1";
/// Schema name of agent state payloads.
pub const AGENT_STATE_SCHEMA: &str = "hotline.agent_state.v1";

/// One message ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMessage {
    pub subject: String,
    /// The `Nats-Msg-Id` header.
    pub msg_id: String,
    pub payload: Vec<u8>,
}

/// The JSON of a contact event (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactEventPayload {
    pub schema: String,
    pub id: String,
    pub org: String,
    pub contact: String,
    pub at_ms: i64,
    pub kind: String,
    pub agent: Option<String>,
    pub queue: Option<String>,
    pub detail: serde_json::Value,
}

/// The JSON of an agent state change (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentStatePayload {
    pub schema: String,
    pub id: String,
    pub org: String,
    pub agent: String,
    pub at_ms: i64,
    pub from: String,
    pub to: String,
    pub reason: Option<String>,
    pub forced_by: Option<String>,
}

/// The subject of contact events of `kind`.
pub fn contact_subject(prefix: &str, kind: ContactEventKind) -> String {
    format!("{prefix}.contact.{}", kind.as_str())
}

/// The subject of agent state changes.
pub fn agent_state_subject(prefix: &str) -> String {
    format!("{prefix}.agent.state")
}

fn detail_value(detail: &str) -> serde_json::Value {
    if detail.trim().is_empty() {
        return serde_json::Value::Object(serde_json::Map::new());
    }
    serde_json::from_str(detail).unwrap_or_else(|_| serde_json::json!({ "text": detail }))
}

pub fn contact_event_message(prefix: &str, event: &ContactEvent) -> EventMessage {
    let payload = ContactEventPayload {
        schema: CONTACT_EVENT_SCHEMA.to_owned(),
        id: event.id.to_string(),
        org: event.org.to_string(),
        contact: event.contact.to_string(),
        at_ms: event.at.unix_ms(),
        kind: event.kind.as_str().to_owned(),
        agent: event.agent.map(|a| a.to_string()),
        queue: event.queue.map(|q| q.to_string()),
        detail: detail_value(&event.detail),
    };
    EventMessage {
        subject: contact_subject(prefix, event.kind),
        msg_id: payload.id.clone(),
        payload: serde_json::to_vec(&payload).expect("a struct of strings and numbers serialises"),
    }
}

pub fn agent_state_message(prefix: &str, change: &AgentStateChange) -> EventMessage {
    let payload = AgentStatePayload {
        schema: AGENT_STATE_SCHEMA.to_owned(),
        id: change.id.to_string(),
        org: change.org.to_string(),
        agent: change.agent.to_string(),
        at_ms: change.at.unix_ms(),
        from: change.from.as_str().to_owned(),
        to: change.to.as_str().to_owned(),
        reason: change.reason.as_ref().map(|r| r.as_str().to_owned()),
        forced_by: change.forced_by.map(|u| u.to_string()),
    };
    EventMessage {
        subject: agent_state_subject(prefix),
        msg_id: payload.id.clone(),
        payload: serde_json::to_vec(&payload).expect("a struct of strings and numbers serialises"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{
        AgentId, AgentState, AgentStateChangeId, ContactEventId, ContactId, OrgId, QueueId, ReasonCode, Timestamp,
    };

    fn event(detail: &str) -> ContactEvent {
        ContactEvent {
            id: ContactEventId::from_u128(1),
            org: OrgId::from_u128(2),
            contact: ContactId::from_u128(3),
            at: Timestamp::from_unix_ms(1_764_230_400_000),
            kind: ContactEventKind::Queued,
            agent: None,
            queue: Some(QueueId::from_u128(4)),
            detail: detail.to_owned(),
        }
    }

    #[test]
    fn contact_event_json_follows_schema_v1() {
        let m = contact_event_message("hotline", &event(r#"{"digits":"1"}"#));
        assert_eq!(m.subject, "hotline.contact.queued");
        assert_eq!(m.msg_id, "00000000-0000-0000-0000-000000000001");
        let v: serde_json::Value = serde_json::from_slice(&m.payload).expect("json");
        assert_eq!(
            v,
            serde_json::json!({
                "schema": "hotline.contact_event.v1",
                "id": "00000000-0000-0000-0000-000000000001",
                "org": "00000000-0000-0000-0000-000000000002",
                "contact": "00000000-0000-0000-0000-000000000003",
                "at_ms": 1_764_230_400_000_i64,
                "kind": "queued",
                "agent": null,
                "queue": "00000000-0000-0000-0000-000000000004",
                "detail": {"digits": "1"}
            })
        );
    }

    #[test]
    fn detail_that_is_not_json_is_carried_as_text() {
        let m = contact_event_message("p", &event("pressed 1"));
        let p: ContactEventPayload = serde_json::from_slice(&m.payload).expect("json");
        assert_eq!(p.detail, serde_json::json!({"text": "pressed 1"}));
        let m = contact_event_message("p", &event(""));
        let p: ContactEventPayload = serde_json::from_slice(&m.payload).expect("json");
        assert_eq!(p.detail, serde_json::json!({}));
    }

    #[test]
    fn agent_state_json_follows_schema_v1() {
        let change = AgentStateChange {
            id: AgentStateChangeId::from_u128(9),
            org: OrgId::from_u128(2),
            agent: AgentId::from_u128(5),
            at: Timestamp::from_unix_ms(10),
            from: AgentState::Available,
            to: AgentState::Away,
            reason: Some(ReasonCode::parse("lunch").expect("valid")),
            forced_by: None,
        };
        let m = agent_state_message("x.y", &change);
        assert_eq!(m.subject, "x.y.agent.state");
        let p: AgentStatePayload = serde_json::from_slice(&m.payload).expect("json");
        assert_eq!((p.schema.as_str(), p.from.as_str(), p.to.as_str()), (AGENT_STATE_SCHEMA, "available", "away"));
        assert_eq!(p.reason.as_deref(), Some("lunch"));
        assert_eq!(p.id, m.msg_id);
    }
}
