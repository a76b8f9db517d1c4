//! Keyword search over what was said and written on contacts: `GET /api/search?q=…` with
//! `kind`, `agent`, `queue`, `from`, `to` (Unix ms, `from` inclusive, `to` exclusive), `limit`
//! and `offset`. Each hit carries the contact, kind, speaker, an HTML-escaped snippet with the
//! matched words in `<mark>`, the relevance score and rank, and for transcript segments the recording
//! the words were said in (of the contact's several, from the segment's ordinal) and the offset in
//! it, so the page can play that moment.
//!
//! Staff search the whole org; an agent only their own contacts (the agent filter is forced to
//! the caller's agent record, and a caller without one sees nothing). The org clause is added by
//! the `search` crate itself. Without an index (`AppState::search` is `None`) the route is 503.
//!
//! Never: run a query longer than [`MAX_QUERY_BYTES`], return more than [`MAX_SEARCH_LIMIT`] hits
//! per page, or put unescaped document text in a snippet.

use axum::extract::State;
use axum::{Extension, Json};
use model::{AgentId, QueueId, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiQuery, S};
use crate::guard::Caller;
use crate::problem::{Problem, ProblemKind};
use auth::policy::Grant;

/// Longest query text accepted, in bytes (UTF-8).
pub(crate) const MAX_QUERY_BYTES: usize = 1024;
/// Most hits in one page.
pub(crate) const MAX_SEARCH_LIMIT: usize = 100;
/// Hits in a page when the client does not say.
pub(crate) const DEFAULT_SEARCH_LIMIT: usize = 20;
/// Deepest hit reachable by paging (offset + limit).
pub(crate) const MAX_SEARCH_DEPTH: usize = 1_000;

#[derive(Debug, Deserialize)]
pub(crate) struct SearchParams {
    q: Option<String>,
    kind: Option<String>,
    agent: Option<String>,
    queue: Option<String>,
    /// Unix ms, inclusive.
    from: Option<i64>,
    /// Unix ms, exclusive.
    to: Option<i64>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /api/search`.
pub(crate) async fn search(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<Value>, Problem> {
    let Some(index) = app.search.clone() else {
        return Err(Problem::of(ProblemKind::Unavailable, "keyword search is not configured on this server"));
    };
    let text = p.q.as_deref().unwrap_or_default().trim().to_owned();
    if text.is_empty() {
        return Err(Problem::bad_request("q must not be empty"));
    }
    if text.len() > MAX_QUERY_BYTES {
        return Err(Problem::bad_request(format!("q must be at most {MAX_QUERY_BYTES} bytes")));
    }
    let limit = p.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
    if limit == 0 || limit > MAX_SEARCH_LIMIT {
        return Err(Problem::bad_request(format!("limit must be 1 to {MAX_SEARCH_LIMIT}")));
    }
    let offset = p.offset.unwrap_or(0);
    if offset.saturating_add(limit) > MAX_SEARCH_DEPTH {
        return Err(Problem::bad_request(format!("offset + limit must be at most {MAX_SEARCH_DEPTH}")));
    }
    let mut filters = search::Filters::default();
    if let Some(kind) = p.kind.as_deref().filter(|k| !k.is_empty()) {
        let k = search::DocumentKind::parse(kind)
            .ok_or_else(|| Problem::bad_request("kind must be transcript, chat, email or note"))?;
        filters.kinds.push(k);
    }
    if let Some(agent) = p.agent.as_deref().filter(|a| !a.is_empty()) {
        filters.agents.push(agent.parse::<AgentId>().map_err(|_| Problem::bad_request("agent is not an agent id"))?);
    }
    if let Some(queue) = p.queue.as_deref().filter(|q| !q.is_empty()) {
        filters.queues.push(queue.parse::<QueueId>().map_err(|_| Problem::bad_request("queue is not a queue id"))?);
    }
    if let (Some(from), Some(to)) = (p.from, p.to)
        && to <= from
    {
        return Err(Problem::bad_request("to must be after from"));
    }
    filters.from = p.from.map(Timestamp::from_unix_ms);
    filters.until = p.to.map(Timestamp::from_unix_ms);
    if c.grant == Grant::Own {
        match c.agent {
            // An agent asking for another agent's contacts gets nothing, as if there were none.
            Some(own) if filters.agents.iter().all(|a| *a == own) => filters.agents = vec![own],
            _ => return Ok(Json(json!({ "total": 0, "items": [] }))),
        }
    }
    let org = c.who.org;
    let query = search::SearchQuery { text, filters, order: search::SortOrder::Relevance, offset, limit };
    let results = tokio::task::spawn_blocking(move || index.search(org, &query))
        .await
        .map_err(|_| Problem::of(ProblemKind::Internal, "the search failed"))?
        .map_err(|e| match e {
            search::SearchError::QueryTooLong { .. } | search::SearchError::BadPage { .. } => {
                Problem::bad_request(e.to_string())
            }
            other => {
                tracing::warn!(error = %other, "keyword search failed");
                Problem::of(ProblemKind::Internal, "the search failed")
            }
        })?;
    let mut items = Vec::with_capacity(results.hits.len());
    // A contact's recordings in the order they started, read once per contact of the page.
    let mut recordings: Vec<(model::ContactId, Vec<model::RecordingId>)> = Vec::new();
    for (rank, hit) in results.hits.iter().enumerate() {
        let recording = if hit.kind == search::DocumentKind::TranscriptSegment {
            if !recordings.iter().any(|(contact, _)| *contact == hit.contact) {
                let page = store::Page::first(store::MAX_PAGE_SIZE);
                let items = app.store.list_recordings_by_contact(org, hit.contact, &page).await?.items;
                recordings.push((hit.contact, items.into_iter().map(|r| r.id).collect()));
            }
            recordings
                .iter()
                .find(|(contact, _)| *contact == hit.contact)
                .and_then(|(_, ids)| ids.get(recording_position(hit.ordinal)))
                .map(ToString::to_string)
        } else {
            None
        };
        items.push(json!({
            "contact": hit.contact.to_string(),
            "kind": hit.kind.as_str(),
            "ordinal": hit.ordinal,
            "rank": offset + rank + 1,
            "agent": hit.agent.map(|a| a.to_string()),
            "queue": hit.queue.map(|q| q.to_string()),
            "channel": hit.channel.as_str(),
            "at_ms": hit.at.unix_ms(),
            "speaker": hit.speaker.map(|s| s.as_str()),
            "snippet_html": hit.snippet.to_html(),
            "recording": recording,
            "offset_ms": hit.recording_offset_ms,
            "rule_flags": hit.rule_flags,
            "score": hit.score,
        }));
    }
    Ok(Json(json!({ "total": results.total, "items": items })))
}

/// Which of the contact's recordings (in the order they started) a transcript segment's search
/// ordinal belongs to: the transcriber numbers the n-th recording's segments from
/// n × [`store::MAX_SEGMENTS_PER_RECORDING`].
fn recording_position(ordinal: u32) -> usize {
    usize::try_from(ordinal).unwrap_or(usize::MAX) / store::MAX_SEGMENTS_PER_RECORDING
}
