//! REST controls of a live call, each one [`center::CenterHandle::control_call`]: hold and
//! resume, PCI recording pause and resume, consult (attended transfer: ring a second agent,
//! complete or cancel), and silent monitoring (a supervisor's phone is rung to listen or
//! whisper). The center checks the contact is connected and the voice path carries the command
//! out; what changed comes back on the event stream as `call_updated`.
//!
//! Agents act on calls in their hands (as for end and transfer); supervisors and admins on any
//! live call. Monitoring is staff only (the route table) and is audited by the guard, like every
//! staff command; an agent's recording pause and resume are audited here, since the guard audits
//! only staff. Never: let an agent monitor, or dial a phone that is not the caller's own.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use center::{CallCommand, CenterError, MonitorMode};
use model::{AgentId, ContactId, Role};
use serde::Deserialize;

use super::center_of;
use super::ops::live_contact;
use crate::AppState;
use crate::guard::{Caller, ClientIp};
use crate::problem::{ApiJson, Problem, ProblemKind};

type Arc = std::sync::Arc<AppState>;
type Done = Result<StatusCode, Problem>;

/// The channel's refusals are about the call's state (not connected, nothing to resume): 409.
fn refused(e: CenterError) -> Problem {
    match e {
        CenterError::Invalid(m) => Problem::of(ProblemKind::Conflict, m),
        other => Problem::from(other),
    }
}

async fn send(app: &AppState, contact: ContactId, command: CallCommand) -> Done {
    center_of(app)?.control_call(contact, command).await.map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/contacts/{id}/hold`: the customer hears music on hold, the agent is muted.
pub(crate) async fn hold(State(app): State<Arc>, Extension(c): Extension<Caller>, Path(id): Path<String>) -> Done {
    let contact = live_contact(&app, &c, &id).await?;
    send(&app, contact, CallCommand::Hold).await
}

/// `POST /api/contacts/{id}/resume`: off hold.
pub(crate) async fn resume(State(app): State<Arc>, Extension(c): Extension<Caller>, Path(id): Path<String>) -> Done {
    let contact = live_contact(&app, &c, &id).await?;
    send(&app, contact, CallCommand::Resume).await
}

/// `POST /api/contacts/{id}/recording/pause` and `.../resume` (PCI): silence is recorded for
/// the paused span; the pause and resume are contact events (and audited).
pub(crate) async fn pause_recording(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    ClientIp(client): ClientIp,
    Path(id): Path<String>,
) -> Done {
    recording(&app, &c, client, &id, true).await
}

pub(crate) async fn resume_recording(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    ClientIp(client): ClientIp,
    Path(id): Path<String>,
) -> Done {
    recording(&app, &c, client, &id, false).await
}

async fn recording(app: &AppState, c: &Caller, client: std::net::IpAddr, id: &str, pause: bool) -> Done {
    let contact = live_contact(app, c, id).await?;
    let command = if pause { CallCommand::PauseRecording } else { CallCommand::ResumeRecording };
    let result = send(app, contact, command).await;
    if c.who.role == Role::Agent {
        let (action, verb) = if pause { ("pause_recording", "pause") } else { ("resume_recording", "resume") };
        let status = result.as_ref().map_or_else(|p| p.status, |s| s.as_u16());
        let path = format!("/api/contacts/{contact}/recording/{verb}");
        crate::guard::record(app, &c.who, action, "POST".into(), path, status, client).await;
    }
    result
}

#[derive(Deserialize)]
pub(crate) struct ConsultBody {
    agent_id: String,
}

/// `POST /api/contacts/{id}/consult`: the customer is held and the other agent's phone rings.
pub(crate) async fn consult(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConsultBody>,
) -> Done {
    let contact = live_contact(&app, &c, &id).await?;
    let agent: AgentId = body.agent_id.parse().map_err(|_| Problem::validation("agent_id is not an id"))?;
    if Some(agent) == c.agent {
        return Err(Problem::validation("an agent cannot consult themselves"));
    }
    send(&app, contact, CallCommand::Consult { agent }).await
}

/// `POST /api/contacts/{id}/consult/complete`: the consulted agent takes the customer.
pub(crate) async fn complete_consult(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Done {
    let contact = live_contact(&app, &c, &id).await?;
    send(&app, contact, CallCommand::CompleteConsult).await
}

/// `POST /api/contacts/{id}/consult/cancel`: back to the customer.
pub(crate) async fn cancel_consult(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Done {
    let contact = live_contact(&app, &c, &id).await?;
    send(&app, contact, CallCommand::CancelConsult).await
}

#[derive(Deserialize)]
pub(crate) struct MonitorBody {
    /// `listen` (default) or `whisper`.
    #[serde(default)]
    mode: Option<String>,
}

/// `POST /api/contacts/{id}/monitor`: rings the supervisor's own phone (the extension of their
/// user's phone record) into the call, listening or whispering; again switches the mode.
pub(crate) async fn monitor(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MonitorBody>,
) -> Done {
    let contact = live_contact(&app, &c, &id).await?;
    let mode = match body.mode.as_deref().unwrap_or("listen") {
        "listen" => MonitorMode::Listen,
        "whisper" => MonitorMode::Whisper,
        other => return Err(Problem::validation(format!("mode {other:?} is not one of: listen, whisper"))),
    };
    let Some(supervisor) = c.who.user else {
        return Err(Problem::of(ProblemKind::Forbidden, "monitoring needs a signed-in person (it is recorded)"));
    };
    let phone = app.store.find_agent_by_user(c.who.org, supervisor).await?;
    let Some(phone) = phone else {
        return Err(Problem::of(ProblemKind::Conflict, "your user has no phone extension to ring"));
    };
    send(&app, contact, CallCommand::Monitor { supervisor, extension: phone.extension, mode }).await
}

/// `DELETE /api/contacts/{id}/monitor`: the supervisor's phone is hung up.
pub(crate) async fn stop_monitor(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Done {
    let contact = live_contact(&app, &c, &id).await?;
    send(&app, contact, CallCommand::StopMonitor).await
}

/// The request bodies' JSON schemas, for the OpenAPI document.
pub(crate) fn body_schema(op_id: &str) -> Option<(serde_json::Value, &'static [&'static str])> {
    match op_id {
        "consult_call" => Some((
            serde_json::json!({"agent_id": {"type": "string", "format": "uuid", "description": "the agent to consult"}}),
            &["agent_id"],
        )),
        "monitor_call" => Some((serde_json::json!({"mode": {"enum": ["listen", "whisper"]}}), &[])),
        _ => None,
    }
}
