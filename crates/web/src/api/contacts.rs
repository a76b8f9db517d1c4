//! Contacts by time range, one contact, its events and its recordings' metadata. Agents see only
//! contacts they handled; a contact they may not see is a 404, as if it did not exist. (Recording
//! downloads with Range requests join with the media work.)

use auth::policy::Grant;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use model::{Contact, ContactId, RecordingId, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Page, TimeRange};

use super::{ApiQuery, PageQuery, S, found, paged, parse_id, views};
use crate::AppState;
use crate::guard::Caller;
use crate::problem::{Problem, ProblemKind};

/// Longest time range one listing may span (31 days), so a report query stays bounded.
const MAX_RANGE_MS: i64 = 31 * 24 * 3_600_000;

type JsonResult = Result<Json<Value>, Problem>;

#[derive(Deserialize)]
pub(crate) struct RangeQuery {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
}

/// Contacts that arrived in `[from_ms, to_ms)`, oldest first (default: the last 24 hours). Agents
/// get their own.
pub(crate) async fn list_contacts(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(r): ApiQuery<RangeQuery>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    let now = app.clock.now().unix_ms();
    let to = r.to_ms.unwrap_or(now.saturating_add(1));
    let from = r.from_ms.unwrap_or(to.saturating_sub(24 * 3_600_000));
    if from >= to || to.saturating_sub(from) > MAX_RANGE_MS {
        return Err(Problem::of(ProblemKind::Validation, "from_ms must be before to_ms, at most 31 days apart"));
    }
    let range = TimeRange::new(Timestamp::from_unix_ms(from), Timestamp::from_unix_ms(to));
    let org = c.who.org;
    let page = match (c.grant, c.agent) {
        (Grant::All, _) => app.store.list_contacts_in_range(org, range, &q.page()).await?,
        (_, Some(agent)) => app.store.list_contacts_by_agent(org, agent, range, &q.page()).await?,
        (_, None) => return Ok(Json(json!({"items": [], "next": null}))),
    };
    Ok(Json(paged(page, views::contact)))
}

/// The contact, if it exists and the caller may see it.
async fn visible_contact(app: &AppState, c: &Caller, id: &str) -> Result<Contact, Problem> {
    let id: ContactId = parse_id(id, "contact")?;
    let contact = found(app.store.get_contact(c.who.org, id).await?, "contact")?;
    if c.may_see(contact.agent) { Ok(contact) } else { Err(Problem::not_found("contact")) }
}

pub(crate) async fn get_contact(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> JsonResult {
    Ok(Json(views::contact(&visible_contact(&app, &c, &id).await?)))
}

pub(crate) async fn contact_events(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    let contact = visible_contact(&app, &c, &id).await?;
    Ok(Json(paged(app.store.list_contact_events(c.who.org, contact.id, &q.page()).await?, views::contact_event)))
}

pub(crate) async fn contact_recordings(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    let contact = visible_contact(&app, &c, &id).await?;
    Ok(Json(paged(app.store.list_recordings_by_contact(c.who.org, contact.id, &q.page()).await?, views::recording)))
}

/// Most of a contact's recordings whose transcripts' flags [`contact_flags`] reads (a call has a
/// few: the agent leg, a transfer's, a consult's).
const MAX_FLAGGED_RECORDINGS: u32 = 50;

/// Why the contact is flagged: the keyword rules its note, chats and emails matched (rule,
/// keyword, which text, when), then those its call transcripts matched (rule, recording).
pub(crate) async fn contact_flags(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> JsonResult {
    let contact = visible_contact(&app, &c, &id).await?;
    let org = c.who.org;
    let mut items: Vec<Value> = app
        .store
        .list_text_flags(org, contact.id)
        .await?
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "keyword": f.keyword,
                "source": f.text.as_str(),
                "ordinal": f.text_ordinal,
                "flagged_at_ms": f.flagged_at.unix_ms(),
                "recording": null,
            })
        })
        .collect();
    let recordings =
        app.store.list_recordings_by_contact(org, contact.id, &Page::first(MAX_FLAGGED_RECORDINGS)).await?;
    for r in &recordings.items {
        if let Some(job) = app.store.get_transcription_job(org, r.id).await? {
            items.extend(job.rule_flags.iter().map(|rule| {
                json!({
                    "rule": rule,
                    "keyword": null,
                    "source": "transcript",
                    "ordinal": null,
                    "flagged_at_ms": job.updated_at.unix_ms(),
                    "recording": r.id.to_string(),
                })
            }));
        }
    }
    Ok(Json(json!({ "contact": contact.id.to_string(), "items": items })))
}

pub(crate) async fn get_recording(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> JsonResult {
    let id: RecordingId = parse_id(&id, "recording")?;
    let recording = found(app.store.get_recording(c.who.org, id).await?, "recording")?;
    visible_contact(&app, &c, &recording.contact.to_string()).await.map_err(|_| Problem::not_found("recording"))?;
    Ok(Json(views::recording(&recording)))
}
