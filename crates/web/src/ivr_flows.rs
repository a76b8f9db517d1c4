//! IVR flows through the API (admin only): list the flow files with their revision, read one's
//! TOML source, validate a source (errors with line, column and node), and replace or add one:
//! validated alone and together with the other files (numbers and ids unique), written to the
//! flows directory (temporary file, then rename) and swapped into the [`ivr::FlowRegistry`] the
//! voice path reads. Calls in progress keep the flow they started with; new calls get the new one.
//!
//! Never: write outside the flows directory (names are words, `[a-z0-9_-]`, at most
//! [`MAX_FLOW_NAME_CHARS`]), leave a half-written file, swap in a set that does not validate, or
//! run two replacements at once (one lock). The flow files and the prompt catalogue are read with
//! the blocking file API on tokio's blocking pool.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::problem::{ApiJson, PROBLEM_JSON, Problem, ProblemKind};

/// Longest flow name (the file name without `.toml`).
pub const MAX_FLOW_NAME_CHARS: usize = 64;

/// The flows the API manages: their directory, the prompt catalogue they are checked against,
/// and the registry new calls read.
pub struct IvrFlows {
    dir: PathBuf,
    catalog: Arc<ivr::PromptCatalog>,
    registry: Arc<ivr::FlowRegistry>,
    /// One replacement at a time.
    writing: tokio::sync::Mutex<()>,
}

impl IvrFlows {
    pub fn new(dir: PathBuf, catalog: Arc<ivr::PromptCatalog>, registry: Arc<ivr::FlowRegistry>) -> IvrFlows {
        IvrFlows { dir, catalog, registry, writing: tokio::sync::Mutex::new(()) }
    }

    /// The registry new calls read (its calendar book too).
    pub fn registry(&self) -> &Arc<ivr::FlowRegistry> {
        &self.registry
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.toml"))
    }
}

/// A flow error as the API shows it.
#[derive(Debug, Serialize)]
struct ErrorView {
    line: usize,
    column: usize,
    node: Option<String>,
    message: String,
}

impl From<&ivr::FlowError> for ErrorView {
    fn from(e: &ivr::FlowError) -> Self {
        ErrorView { line: e.line, column: e.column, node: e.node.clone(), message: e.message.clone() }
    }
}

/// 422 `problem+json` with the flow's errors as an extension member.
fn invalid_flow(error: &ivr::FlowError) -> Response {
    #[derive(Serialize)]
    struct Body {
        #[serde(flatten)]
        problem: Problem,
        errors: Vec<ErrorView>,
    }
    let problem = Problem::of(ProblemKind::Validation, format!("the flow does not validate: {error}"));
    let body = Body { problem, errors: vec![ErrorView::from(error)] };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, PROBLEM_JSON)], bytes).into_response()
}

fn flows(app: &AppState) -> Result<Arc<IvrFlows>, Problem> {
    app.ivr.clone().ok_or_else(|| {
        Problem::of(
            ProblemKind::Unavailable,
            "IVR flows are not managed here: the server runs built-in flows (set ivr.flows_dir)",
        )
    })
}

fn flow_name(name: &str) -> Result<&str, Problem> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_FLOW_NAME_CHARS
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok { Ok(name) } else { Err(Problem::not_found("flow")) }
}

/// FNV-1a 64 of the source: changes whenever the file does (a revision, not a security hash).
fn revision(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn blocking_error(e: tokio::task::JoinError) -> Problem {
    tracing::error!(error = %e, "IVR flow task failed");
    Problem::of(ProblemKind::Internal, "reading the flows failed; the error is logged")
}

/// The flow files of the directory: name → source (names sorted; at most `ivr::MAX_FLOW_FILES`).
fn read_sources(dir: &Path) -> Result<BTreeMap<String, String>, Problem> {
    let unreadable = |e: std::io::Error| {
        tracing::error!(error = %e, dir = %dir.display(), "flows directory unreadable");
        Problem::of(ProblemKind::Internal, "the flows directory cannot be read; the error is logged")
    };
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else { continue };
        if path.extension().is_none_or(|e| e != "toml") || !path.is_file() || flow_name(&name).is_err() {
            continue;
        }
        if out.len() >= ivr::MAX_FLOW_FILES {
            break;
        }
        let text = std::fs::read_to_string(&path).map_err(unreadable)?;
        out.insert(name, text);
    }
    Ok(out)
}

/// Parses `text` as `name` and, with `others`, as a whole set.
fn check(
    name: &str,
    text: &str,
    others: &BTreeMap<String, String>,
    catalog: &ivr::PromptCatalog,
) -> Result<(ivr::Flow, ivr::FlowSet), ivr::FlowError> {
    let file = format!("{name}.toml");
    let flow = ivr::Flow::parse(&file, text, catalog)?;
    let mut all = vec![flow.clone()];
    for (other, source) in others.iter().filter(|(n, _)| n.as_str() != name) {
        all.push(ivr::Flow::parse(&format!("{other}.toml"), source, catalog)?);
    }
    Ok((flow, ivr::FlowSet::new(all)?))
}

fn summary(name: &str, text: &str, flow: Option<&ivr::Flow>) -> Value {
    json!({
        "name": name,
        "revision": revision(text),
        "bytes": text.len(),
        "id": flow.map(ivr::Flow::id),
        "numbers": flow.map(ivr::Flow::numbers),
        "entry_point": flow.map(ivr::Flow::entry_point),
        "valid": flow.is_some(),
    })
}

/// `GET /api/ivr/flows`: `managed: false` (and no items) when the server runs its built-in flows,
/// a normal state rather than an error, so the admin page just says how to manage them.
pub(crate) async fn list(State(app): State<Arc<AppState>>) -> Result<Json<Value>, Problem> {
    if app.ivr.is_none() {
        return Ok(Json(json!({ "items": [], "managed": false })));
    }
    let flows = flows(&app)?;
    let items = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, Problem> {
        let sources = read_sources(&flows.dir)?;
        Ok(sources
            .iter()
            .map(|(name, text)| {
                let flow = ivr::Flow::parse(&format!("{name}.toml"), text, &flows.catalog).ok();
                summary(name, text, flow.as_ref())
            })
            .collect())
    })
    .await
    .map_err(blocking_error)??;
    Ok(Json(json!({ "items": items, "managed": true })))
}

/// `GET /api/ivr/flows/{name}`
pub(crate) async fn get(
    State(app): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<Value>, Problem> {
    let flows = flows(&app)?;
    let name = flow_name(&name)?.to_owned();
    let path = flows.path_of(&name);
    let text = match tokio::fs::read_to_string(&path).await {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Problem::not_found("flow")),
        Err(e) => {
            tracing::error!(error = %e, path = %path.display(), "flow file unreadable");
            return Err(Problem::of(ProblemKind::Internal, "the flow file cannot be read; the error is logged"));
        }
    };
    let flow = ivr::Flow::parse(&format!("{name}.toml"), &text, &flows.catalog).ok();
    let mut body = summary(&name, &text, flow.as_ref());
    body["source"] = Value::String(text);
    Ok(Json(body))
}

#[derive(Deserialize)]
pub(crate) struct ValidateBody {
    /// The file name the source would have; checked against the other files when given.
    name: Option<String>,
    source: String,
}

/// `POST /api/ivr/flows/validate`: `200 {valid, errors}` whether or not the source is valid.
pub(crate) async fn validate(
    State(app): State<Arc<AppState>>,
    ApiJson(body): ApiJson<ValidateBody>,
) -> Result<Json<Value>, Problem> {
    let flows = flows(&app)?;
    let name = match &body.name {
        Some(n) => {
            flow_name(n).map_err(|_| Problem::validation("name must be a word of a-z, 0-9, _ and -"))?.to_owned()
        }
        None => "uploaded".to_owned(),
    };
    let with_others = body.name.is_some();
    let result = tokio::task::spawn_blocking(move || -> Result<Result<ivr::Flow, ivr::FlowError>, Problem> {
        let others = if with_others { read_sources(&flows.dir)? } else { BTreeMap::new() };
        Ok(check(&name, &body.source, &others, &flows.catalog).map(|(flow, _)| flow))
    })
    .await
    .map_err(blocking_error)??;
    Ok(Json(match result {
        Ok(flow) => json!({
            "valid": true,
            "errors": [],
            "id": flow.id(),
            "numbers": flow.numbers(),
        }),
        Err(e) => json!({ "valid": false, "errors": [ErrorView::from(&e)] }),
    }))
}

#[derive(Deserialize)]
pub(crate) struct PutBody {
    source: String,
}

/// `PUT /api/ivr/flows/{name}`: validate, write, swap in. `201` for a new file, `200` otherwise.
pub(crate) async fn put(
    State(app): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
    ApiJson(body): ApiJson<PutBody>,
) -> Result<Response, Problem> {
    let flows = flows(&app)?;
    let name =
        flow_name(&name).map_err(|_| Problem::validation("name must be a word of a-z, 0-9, _ and -"))?.to_owned();
    if body.source.len() > ivr::flow::MAX_FLOW_BYTES {
        return Err(Problem::validation(format!("a flow is at most {} bytes", ivr::flow::MAX_FLOW_BYTES)));
    }
    let _writing = flows.writing.lock().await;
    let job = flows.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<Result<(bool, Value), ivr::FlowError>, Problem> {
        let others = read_sources(&job.dir)?;
        let created = !others.contains_key(&name);
        let (flow, set) = match check(&name, &body.source, &others, &job.catalog) {
            Ok(ok) => ok,
            Err(e) => return Ok(Err(e)),
        };
        let path = job.path_of(&name);
        let temporary = job.dir.join(format!(".{name}.toml.uploading"));
        let write = std::fs::write(&temporary, &body.source).and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(e) = write {
            let _ = std::fs::remove_file(&temporary);
            tracing::error!(error = %e, path = %path.display(), "flow file not written");
            return Err(Problem::of(ProblemKind::Internal, "the flow file cannot be written; the error is logged"));
        }
        job.registry.replace(set);
        tracing::info!(flow = %name, id = flow.id(), "IVR flow replaced; new calls use it");
        Ok(Ok((created, summary(&name, &body.source, Some(&flow)))))
    })
    .await
    .map_err(blocking_error)??;
    match outcome {
        Ok((created, summary)) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(summary)).into_response())
        }
        Err(e) => Ok(invalid_flow(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_names_are_words_so_no_path_leaves_the_directory() {
        for bad in ["", "../etc", "a/b", "A", "demo.toml", "x y", &"a".repeat(65)] {
            assert!(flow_name(bad).is_err(), "{bad:?}");
        }
        for good in ["demo", "after_hours", "vip-line", "a1"] {
            assert!(flow_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn the_revision_changes_with_the_text() {
        assert_eq!(revision("a"), revision("a"));
        assert_ne!(revision("a"), revision("b"));
        assert_eq!(revision("").len(), 16);
    }
}
