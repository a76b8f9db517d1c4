//! `GET /api/contacts/{id}/speech`: the speech analytics figures of a contact's recordings (talk
//! per side, silence ratio, longest silence, overtalk, talk ratio, QA outlier flags), computed by
//! the binary when the contact ended. Staff, or the agent who handled the contact; anyone else
//! gets 404 (the contact's existence is not revealed).

use axum::extract::{Path, State};
use axum::{Extension, Json};
use model::ContactId;
use serde_json::{Value, json};
use store::MAX_SPEECH_ROWS_PER_READ;

use super::{S, found, parse_id};
use crate::guard::Caller;
use crate::problem::Problem;

/// `GET /api/contacts/{id}/speech`: `{"recordings": [...]}`, empty until the analysis ran.
pub(crate) async fn contact_speech(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let id: ContactId = parse_id(&id, "contact")?;
    let contact = found(app.store.get_contact(c.who.org, id).await?, "contact")?;
    if !c.may_see(contact.agent) {
        return Err(Problem::not_found("contact"));
    }
    let rows = app.store.list_contact_speech(c.who.org, contact.id, MAX_SPEECH_ROWS_PER_READ).await?;
    Ok(Json(json!({
        "contact": contact.id.to_string(),
        "recordings": rows.iter().map(|s| json!({
            "recording": s.recording.to_string(),
            "duration_ms": s.duration_ms,
            "customer_talk_ms": s.customer_talk_ms,
            "agent_talk_ms": s.agent_talk_ms,
            "silence_ratio": s.silence_ratio,
            "longest_silence_ms": s.longest_silence_ms,
            "overtalk_ms": s.overtalk_ms,
            "talk_ratio": s.talk_ratio,
            "agent_interruptions": s.agent_interruptions,
            "flags": s.flags,
            "analysed_at_ms": s.analysed_at.unix_ms(),
        })).collect::<Vec<_>>(),
    })))
}
