//! REST commands for live work, each a thin call to the center: an agent's own state, accepting
//! and rejecting offers, ending a contact, wrap-up with a disposition, transfers (to a queue, or to
//! a named agent — the seed's forced transfer to an expert), and supervisors' force state and
//! sign-out. Supervisor and admin commands are audited by the guard (unsafe methods).
//!
//! Agents act only on their own work: accept/reject name the agent from the session (the center
//! refuses an offer that is not theirs), end/transfer check that the contact is in the agent's
//! hands right now (the center's snapshot). Never: trust an agent id from the body for an agent.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use center::{Disposition, Presence};
use model::{AgentId, ContactId, ContactOutcome, QueueId, ReasonCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::stream::viewer_of;
use super::{center_of, visible_snapshot};
use crate::AppState;
use crate::api::{parse_id, text_field};
use crate::guard::Caller;
use crate::problem::{ApiJson, Problem, ProblemKind};

type Arc = std::sync::Arc<AppState>;
type Done = Result<StatusCode, Problem>;

/// Longest wrap-up notes, in characters (the center bounds bytes; this is the person's limit).
const MAX_NOTES_CHARS: usize = 4_000;

/// The caller's agent record, or 403 for a caller who is not an agent.
fn my_agent(c: &Caller) -> Result<AgentId, Problem> {
    c.agent.ok_or_else(|| Problem::of(ProblemKind::Forbidden, "only a signed-in agent can do this"))
}

#[derive(Deserialize)]
pub(crate) struct StateBody {
    /// `available`, `away` or `offline`.
    state: String,
    /// The reason code of `away` (`break`, `lunch`, `training`, ...).
    reason: Option<String>,
}

fn presence(body: &StateBody) -> Result<Presence, Problem> {
    match body.state.as_str() {
        "available" => Ok(Presence::Available),
        "offline" => Ok(Presence::Offline),
        "away" => {
            let reason = ReasonCode::parse(body.reason.as_deref().unwrap_or("break"))?;
            Ok(Presence::Away(reason))
        }
        other => Err(Problem::validation(format!("state {other:?} is not one of: available, away, offline"))),
    }
}

/// `GET /api/live`: the live picture the caller may see (an agent: own record and queues).
pub(crate) async fn live_snapshot(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
) -> Result<Json<Value>, Problem> {
    let snap = center_of(&app)?.snapshot().await?;
    let viewer = viewer_of(&app, &c).await?;
    Ok(Json(json!(visible_snapshot(snap, &viewer))))
}

/// `PUT /api/me/state`: the agent's own state.
pub(crate) async fn set_my_state(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    ApiJson(body): ApiJson<StateBody>,
) -> Done {
    let agent = my_agent(&c)?;
    center_of(&app)?.set_agent_state(agent, presence(&body)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/contacts/{id}/accept`.
pub(crate) async fn accept(State(app): State<Arc>, Extension(c): Extension<Caller>, Path(id): Path<String>) -> Done {
    let (agent, contact) = (my_agent(&c)?, parse_id::<ContactId>(&id, "contact")?);
    center_of(&app)?.accept(agent, contact).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/contacts/{id}/reject`.
pub(crate) async fn reject(State(app): State<Arc>, Extension(c): Extension<Caller>, Path(id): Path<String>) -> Done {
    let (agent, contact) = (my_agent(&c)?, parse_id::<ContactId>(&id, "contact")?);
    center_of(&app)?.reject(agent, contact).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A contact the caller may act on: staff any live one, an agent one in their hands now.
pub(crate) async fn live_contact(app: &AppState, c: &Caller, id: &str) -> Result<ContactId, Problem> {
    let contact: ContactId = parse_id(id, "contact")?;
    if c.agent.is_none() && matches!(c.who.role, model::Role::Admin | model::Role::Supervisor) {
        return Ok(contact);
    }
    let agent = my_agent(c)?;
    let snap = center_of(app)?.snapshot().await?;
    let mine = snap.agent(agent).is_some_and(|a| a.contacts.contains(&contact));
    if mine { Ok(contact) } else { Err(Problem::not_found("live contact")) }
}

/// `POST /api/contacts/{id}/end`: the conversation is over (answered); the agent goes to wrap-up.
pub(crate) async fn end(State(app): State<Arc>, Extension(c): Extension<Caller>, Path(id): Path<String>) -> Done {
    let contact = live_contact(&app, &c, &id).await?;
    center_of(&app)?.end(contact, ContactOutcome::Answered).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(crate) struct WrapUpBody {
    disposition: String,
    #[serde(default)]
    notes: String,
}

/// `POST /api/contacts/{id}/wrap-up`: disposition and notes; wrap-up ends.
pub(crate) async fn wrap_up(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WrapUpBody>,
) -> Done {
    let (agent, contact) = (my_agent(&c)?, parse_id::<ContactId>(&id, "contact")?);
    let code = ReasonCode::parse(body.disposition.trim())?;
    let notes = text_field("notes", &body.notes, MAX_NOTES_CHARS, false)?;
    center_of(&app)?.wrap_up_done(agent, contact, Disposition { code, notes }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(crate) struct TransferBody {
    queue_id: Option<String>,
    agent_id: Option<String>,
}

/// `POST /api/contacts/{id}/transfer`: `{"queue_id": ...}` or `{"agent_id": ...}` (an expert).
pub(crate) async fn transfer(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Done {
    let contact = live_contact(&app, &c, &id).await?;
    let center = center_of(&app)?;
    match (&body.queue_id, &body.agent_id) {
        (Some(q), None) => {
            let queue: QueueId = q.parse().map_err(|_| Problem::validation("queue_id is not an id"))?;
            center.transfer_to_queue(contact, queue).await?;
        }
        (None, Some(a)) => {
            let agent: AgentId = a.parse().map_err(|_| Problem::validation("agent_id is not an id"))?;
            if Some(agent) == c.agent {
                return Err(Problem::validation("a contact cannot be transferred to the agent who has it"));
            }
            center.transfer_to_agent(contact, agent).await?;
        }
        _ => return Err(Problem::validation("give exactly one of queue_id and agent_id")),
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/agents/{id}/state`: a supervisor forces an agent's state (audited).
pub(crate) async fn force_state(
    State(app): State<Arc>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StateBody>,
) -> Done {
    force(&app, &c, &id, presence(&body)?).await
}

/// `POST /api/agents/{id}/sign-out`: a supervisor signs an agent out (Offline; audited).
pub(crate) async fn sign_out(State(app): State<Arc>, Extension(c): Extension<Caller>, Path(id): Path<String>) -> Done {
    force(&app, &c, &id, Presence::Offline).await
}

async fn force(app: &AppState, c: &Caller, id: &str, presence: Presence) -> Done {
    let agent: AgentId = parse_id(id, "agent")?;
    let Some(by) = c.who.user else {
        return Err(Problem::of(ProblemKind::Forbidden, "forcing a state needs a signed-in person (it is recorded)"));
    };
    center_of(app)?.force_agent_state(by, agent, presence).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/transfer-targets`: where a contact can go — the org's queues and its agents with
/// their state (no contact details), for the desktop's transfer list.
pub(crate) async fn transfer_targets(State(app): State<Arc>) -> Result<Json<Value>, Problem> {
    let snap = center_of(&app)?.snapshot().await?;
    let queues: Vec<Value> = snap.queues.iter().map(|q| json!({"id": q.queue.to_string(), "name": q.name})).collect();
    let agents: Vec<Value> = snap
        .agents
        .iter()
        .map(|a| {
            json!({
                "agent": a.agent.to_string(), "extension": a.extension, "display_name": a.display_name,
                "state": a.state.as_str(),
            })
        })
        .collect();
    Ok(Json(json!({"queues": queues, "agents": agents})))
}
