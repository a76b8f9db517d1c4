//! Business-hours calendars and the route tables, edited as data by admins (supervisors read).
//!
//! A calendar is checked by `ivr::Calendar` (IANA zone, ranges, dates) before it is stored; a
//! refusal is a 422 problem whose `field` member names what is wrong (`weekly.wed`,
//! `exceptions[1].date`). After every write the server's calendar book (the one the IVR's
//! `hours` nodes read) is refilled from the store, so the next hours check sees the edit.
//!
//! Route tables go to the running center, which checks them against its queues (an unknown
//! queue is a 422 naming the entry point, rule and queue, with `field`), saves them and routes
//! the next contact by them. Writes are audited by the guard like every admin write.
//!
//! Never: store a calendar that `ivr::Calendar` refuses, or leave the book behind the store after
//! a successful write without logging it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::{BusinessCalendar, CalendarException};

use super::S;
use crate::AppState;
use crate::problem::{ApiJson, PROBLEM_JSON, Problem, ProblemKind};

/// Weekday keys of the API, Monday first.
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// 422 `problem+json` with the offending field as an extension member.
pub(crate) fn field_problem(field: &str, detail: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct Body {
        #[serde(flatten)]
        problem: Problem,
        field: String,
    }
    let body = Body { problem: Problem::of(ProblemKind::Validation, detail), field: field.to_owned() };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, PROBLEM_JSON)], bytes).into_response()
}

fn problem(p: impl Into<Problem>) -> Response {
    p.into().into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExceptionBody {
    date: String,
    hours: String,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CalendarBody {
    time_zone: String,
    /// `mon` … `sun` → `"09:00-18:00"`; a missing day is closed.
    #[serde(default)]
    weekly: BTreeMap<String, String>,
    #[serde(default)]
    exceptions: Vec<ExceptionBody>,
}

fn parsed(c: &BusinessCalendar) -> Result<ivr::Calendar, ivr::CalendarError> {
    let ex: Vec<(String, String)> = c.exceptions.iter().map(|e| (e.date.clone(), e.hours.clone())).collect();
    ivr::Calendar::parse(&c.time_zone, &c.weekly, &ex)
}

fn view(app: &AppState, c: &BusinessCalendar) -> Value {
    let weekly: serde_json::Map<String, Value> =
        WEEKDAYS.iter().zip(&c.weekly).map(|(d, h)| ((*d).to_owned(), Value::from(h.clone()))).collect();
    let now = app.clock.now();
    let live = parsed(c).ok();
    json!({
        "name": c.name, "time_zone": c.time_zone, "weekly": weekly,
        "exceptions": c.exceptions.iter().map(|e| json!({"date": e.date, "hours": e.hours, "note": e.note})).collect::<Vec<_>>(),
        "updated_at_ms": c.updated_at.unix_ms(),
        "open_now": live.as_ref().map(|l| l.is_open(now)),
        "next_change_ms": live.as_ref().and_then(|l| l.next_change(now)).map(model::Timestamp::unix_ms),
    })
}

/// The calendar book the IVR reads, when this server has one.
pub(crate) fn book(app: &AppState) -> Option<Arc<ivr::CalendarBook>> {
    app.calendars.clone().or_else(|| app.ivr.as_ref().map(|f| Arc::clone(f.registry().calendars())))
}

/// Refills the IVR's calendar book from the store (every calendar of the org that parses).
pub(crate) async fn refresh_book(app: &AppState) -> Result<(), Problem> {
    let Some(book) = book(app) else { return Ok(()) };
    let stored = app.store.list_calendars(app.config.org).await?;
    let mut map = BTreeMap::new();
    for c in &stored {
        match parsed(c) {
            Ok(cal) => {
                map.insert(c.name.clone(), cal);
            }
            Err(e) => tracing::warn!(calendar = %c.name, error = %e, "stored calendar does not parse; left out"),
        }
    }
    book.replace(map).map_err(|e| Problem::of(ProblemKind::Internal, e.to_string()))
}

/// Fills the calendar book from the store once the server starts (a background task of the
/// router's runtime; a failure is logged and the next edit refills it).
pub(crate) fn load_book_at_start(app: &Arc<AppState>) {
    if book(app).is_none() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    let app = Arc::clone(app);
    runtime.spawn(async move {
        if let Err(p) = refresh_book(&app).await {
            tracing::error!(detail = %p.detail, "business-hours calendars not loaded at start");
        }
    });
}

fn calendar_name(name: &str) -> Result<&str, Problem> {
    if store::is_calendar_name(name) { Ok(name) } else { Err(Problem::not_found("calendar")) }
}

pub(crate) async fn list_calendars(State(app): State<S>) -> Result<Json<Value>, Problem> {
    let items = app.store.list_calendars(app.config.org).await?;
    Ok(Json(json!({ "items": items.iter().map(|c| view(&app, c)).collect::<Vec<_>>() })))
}

pub(crate) async fn get_calendar(State(app): State<S>, Path(name): Path<String>) -> Result<Json<Value>, Problem> {
    let name = calendar_name(&name)?;
    let c = app.store.get_calendar(app.config.org, name).await?.ok_or_else(|| Problem::not_found("calendar"))?;
    Ok(Json(view(&app, &c)))
}

pub(crate) async fn put_calendar(
    State(app): State<S>,
    Path(name): Path<String>,
    ApiJson(b): ApiJson<CalendarBody>,
) -> Response {
    if !store::is_calendar_name(&name) {
        return field_problem(
            "name",
            format!("a calendar name is 1 to {} characters of a-z, 0-9, _ and -", store::MAX_CALENDAR_NAME_CHARS),
        );
    }
    if let Some(day) = b.weekly.keys().find(|d| !WEEKDAYS.contains(&d.as_str())) {
        return field_problem(&format!("weekly.{day}"), format!("{day:?} is not one of {}", WEEKDAYS.join(", ")));
    }
    if let Some(i) = b.exceptions.iter().position(|e| e.note.chars().count() > store::MAX_CALENDAR_TEXT_CHARS) {
        return field_problem(
            &format!("exceptions[{i}].note"),
            format!("at most {} characters", store::MAX_CALENDAR_TEXT_CHARS),
        );
    }
    let weekly: [String; 7] = WEEKDAYS.map(|d| b.weekly.get(d).map_or_else(String::new, |h| h.trim().to_owned()));
    let mut exceptions: Vec<CalendarException> = b
        .exceptions
        .iter()
        .map(|e| CalendarException {
            date: e.date.trim().to_owned(),
            hours: e.hours.trim().to_owned(),
            note: e.note.clone(),
        })
        .collect();
    let calendar = BusinessCalendar {
        org: app.config.org,
        name,
        time_zone: b.time_zone.trim().to_owned(),
        weekly,
        exceptions: Vec::new(),
        updated_at: app.clock.now(),
    };
    let checked = BusinessCalendar { exceptions: exceptions.clone(), ..calendar.clone() };
    if let Err(e) = parsed(&checked) {
        return field_problem(&e.field, e.message);
    }
    exceptions.sort_by(|a, b| a.date.cmp(&b.date));
    let calendar = BusinessCalendar { exceptions, ..calendar };
    if let Err(e) = app.store.put_calendar(&calendar).await {
        return problem(e);
    }
    if let Err(p) = refresh_book(&app).await {
        tracing::error!(detail = %p.detail, "calendar saved but the IVR's calendar book was not refreshed");
        return p.into_response();
    }
    Json(view(&app, &calendar)).into_response()
}

pub(crate) async fn delete_calendar(State(app): State<S>, Path(name): Path<String>) -> Result<StatusCode, Problem> {
    let name = calendar_name(&name)?;
    if !app.store.delete_calendar(app.config.org, name).await? {
        return Err(Problem::not_found("calendar"));
    }
    refresh_book(&app).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The route tables; without a live center `managed: false` and none (a 200, so the admin page
/// does not log an error on every load).
pub(crate) async fn get_routes(State(app): State<S>) -> Result<Json<Value>, Problem> {
    let Some(center) = app.center.as_ref() else {
        return Ok(Json(json!({ "managed": false, "entry_points": [] })));
    };
    let entry_points = center.routes().await?;
    Ok(Json(json!({ "managed": true, "entry_points": entry_points })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoutesBody {
    entry_points: Vec<center::RawEntryPoint>,
}

pub(crate) async fn put_routes(State(app): State<S>, ApiJson(b): ApiJson<RoutesBody>) -> Response {
    let c = match crate::live::center_of(&app) {
        Ok(c) => c,
        Err(p) => return p.into_response(),
    };
    // Name the field of an unknown queue before the center's own (complete) check.
    let queues = match app.store.list_queues(app.config.org, &store::Page::first(store::MAX_PAGE_SIZE)).await {
        Ok(q) => q.items,
        Err(e) => return problem(e),
    };
    let known = |name: &str| queues.iter().any(|q| q.name.as_str() == name.trim().to_ascii_lowercase());
    for (i, ep) in b.entry_points.iter().enumerate() {
        if !known(&ep.default_queue) {
            return field_problem(
                &format!("entry_points[{i}].default_queue"),
                format!("no queue named {:?}", ep.default_queue),
            );
        }
        if let Some((j, r)) = ep.rules.iter().enumerate().find(|(_, r)| !known(&r.queue)) {
            return field_problem(
                &format!("entry_points[{i}].rules[{j}].queue"),
                format!("no queue named {:?}", r.queue),
            );
        }
    }
    match c.replace_routes(b.entry_points).await {
        Ok(()) => match c.routes().await {
            Ok(entry_points) => Json(json!({ "managed": true, "entry_points": entry_points })).into_response(),
            Err(e) => Problem::from(e).into_response(),
        },
        Err(center::CenterError::Routes(detail)) => field_problem("entry_points", detail),
        Err(e) => Problem::from(e).into_response(),
    }
}
