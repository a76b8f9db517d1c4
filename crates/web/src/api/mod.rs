//! The handlers, one module per resource, and what they share: id parsing, pagination, query
//! extraction with problem errors, and [`handler`], which maps an operation id of the route table
//! to its handler.
//!
//! Handlers never check roles themselves: the guard already applied the route's rule, and a
//! handler only narrows what an [`crate::Caller`] with an `Own` grant may see.

pub(crate) mod business_hours;
mod config;
mod contacts;
mod customers;
mod directory;
mod library;
mod meta;
mod qa;
pub(crate) mod recordings;
mod reports;
mod search;
mod session;
mod speech;
mod tickets;
mod users;
pub(crate) mod views;

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::routing::{MethodFilter, MethodRouter, on};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Cursor, DEFAULT_PAGE_SIZE, Page, PageOf};

use crate::AppState;
use crate::problem::{Problem, ProblemKind};

type S = Arc<AppState>;

/// The handler of an operation id. Panics at start-up (never on a request) if the table names an
/// operation that has no handler; a test builds the router to prove there is none.
pub(crate) fn handler(op_id: &str, method: &str) -> MethodRouter<S> {
    let filter = match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "PATCH" => MethodFilter::PATCH,
        "DELETE" => MethodFilter::DELETE,
        other => panic!("route table: unsupported method {other}"),
    };
    match op_id {
        "healthz" => on(filter, meta::healthz),
        "readyz" => on(filter, meta::readyz),
        "openapi" => on(filter, meta::openapi),
        "docs" => on(filter, meta::docs),
        "metrics" => on(filter, meta::metrics),
        "login" => on(filter, session::login),
        "logout" => on(filter, session::logout),
        "me" => on(filter, session::me),
        "change_password" => on(filter, session::change_password),
        "list_tokens" => on(filter, session::list_tokens),
        "create_token" => on(filter, session::create_token),
        "revoke_token" => on(filter, session::revoke_token),
        "list_audit" => on(filter, session::list_audit),
        "list_users" => on(filter, directory::list_users),
        "create_user" => on(filter, users::create_user),
        "update_user" => on(filter, users::update_user),
        "reset_password" => on(filter, users::reset_password),
        "list_agents" => on(filter, directory::list_agents),
        "get_agent" => on(filter, directory::get_agent),
        "set_agent_skills" => on(filter, directory::set_agent_skills),
        "list_skills" => on(filter, directory::list_skills),
        "create_skill" => on(filter, directory::create_skill),
        "update_skill" => on(filter, directory::update_skill),
        "list_queues" => on(filter, directory::list_queues),
        "get_queue" => on(filter, directory::get_queue),
        "create_queue" => on(filter, config::create_queue),
        "update_queue" => on(filter, config::update_queue),
        "update_agent" => on(filter, config::update_agent),
        "list_customers" => on(filter, customers::list_customers),
        "create_customer" => on(filter, customers::create_customer),
        "get_customer" => on(filter, customers::get_customer),
        "update_customer" => on(filter, customers::update_customer),
        "set_customer_vip" => on(filter, customers::set_customer_vip),
        "customer_contacts" => on(filter, customers::customer_contacts),
        "customer_tickets" => on(filter, customers::customer_tickets),
        "customer_orders" => on(filter, customers::customer_orders),
        "merge_customers" => on(filter, customers::merge_customers),
        "find_orders" => on(filter, customers::find_orders),
        "get_order" => on(filter, customers::get_order),
        "list_contacts" => on(filter, contacts::list_contacts),
        "get_contact" => on(filter, contacts::get_contact),
        "contact_events" => on(filter, contacts::contact_events),
        "contact_recordings" => on(filter, contacts::contact_recordings),
        "contact_flags" => on(filter, contacts::contact_flags),
        "get_recording" => on(filter, contacts::get_recording),
        "download_recording" => on(filter, recordings::download),
        "list_recordings" => on(filter, library::list),
        "recording_peaks" => on(filter, library::peaks),
        "place_legal_hold" => on(filter, library::place_hold),
        "release_legal_hold" => on(filter, library::release_hold),
        "search" => on(filter, search::search),
        "list_tickets" => on(filter, tickets::list_tickets),
        "create_ticket" => on(filter, tickets::create_ticket),
        "get_ticket" => on(filter, tickets::get_ticket),
        "update_ticket" => on(filter, tickets::update_ticket),
        "list_ticket_comments" => on(filter, tickets::list_comments),
        "add_ticket_comment" => on(filter, tickets::add_comment),
        "events" => on(filter, crate::live::stream::events),
        "live_snapshot" => on(filter, crate::live::ops::live_snapshot),
        "list_alerts" => on(filter, crate::alerts::list),
        "transfer_targets" => on(filter, crate::live::ops::transfer_targets),
        "set_my_state" => on(filter, crate::live::ops::set_my_state),
        "accept_offer" => on(filter, crate::live::ops::accept),
        "contact_chat" => on(filter, crate::chat_ws::desk::conversation),
        "send_chat_message" => on(filter, crate::chat_ws::desk::send),
        "email_reply" => on(filter, crate::email_reply::reply),
        "email_messages" => on(filter, crate::email_thread::messages),
        "download_email_attachment" => on(filter, crate::email_thread::download_attachment),
        "wechat_handshake" => on(filter, crate::wechat::handshake),
        "wechat_callback" => on(filter, crate::wechat::receive),
        "social_webhook" => on(filter, crate::social_channel::webhook),
        "social_messages" => on(filter, crate::social_channel::messages),
        "social_reply" => on(filter, crate::social_channel::reply),
        "chat_typing" => on(filter, crate::chat_ws::desk::typing),
        "chat_read" => on(filter, crate::chat_ws::desk::read),
        "reject_offer" => on(filter, crate::live::ops::reject),
        "end_contact" => on(filter, crate::live::ops::end),
        "wrap_up_contact" => on(filter, crate::live::ops::wrap_up),
        "transfer_contact" => on(filter, crate::live::ops::transfer),
        "hold_call" => on(filter, crate::live::calls::hold),
        "resume_call" => on(filter, crate::live::calls::resume),
        "pause_recording" => on(filter, crate::live::calls::pause_recording),
        "resume_recording" => on(filter, crate::live::calls::resume_recording),
        "consult_call" => on(filter, crate::live::calls::consult),
        "complete_consult" => on(filter, crate::live::calls::complete_consult),
        "cancel_consult" => on(filter, crate::live::calls::cancel_consult),
        "monitor_call" => on(filter, crate::live::calls::monitor),
        "stop_monitor" => on(filter, crate::live::calls::stop_monitor),
        "force_agent_state" => on(filter, crate::live::ops::force_state),
        "sign_out_agent" => on(filter, crate::live::ops::sign_out),
        "wallboard" => on(filter, crate::live::wallboard::wallboard),
        "report" => on(filter, reports::report),
        "list_calendars" => on(filter, business_hours::list_calendars),
        "get_calendar" => on(filter, business_hours::get_calendar),
        "put_calendar" => on(filter, business_hours::put_calendar),
        "delete_calendar" => on(filter, business_hours::delete_calendar),
        "get_routes" => on(filter, business_hours::get_routes),
        "put_routes" => on(filter, business_hours::put_routes),
        "list_ivr_flows" => on(filter, crate::ivr_flows::list),
        "validate_ivr_flow" => on(filter, crate::ivr_flows::validate),
        "get_ivr_flow" => on(filter, crate::ivr_flows::get),
        "put_ivr_flow" => on(filter, crate::ivr_flows::put),
        "list_scorecards" => on(filter, qa::list_scorecards),
        "create_scorecard" => on(filter, qa::create_scorecard),
        "get_scorecard" => on(filter, qa::get_scorecard),
        "update_scorecard" => on(filter, qa::update_scorecard),
        "archive_scorecard" => on(filter, qa::archive_scorecard),
        "list_samples" => on(filter, qa::list_samples),
        "create_sample" => on(filter, qa::create_sample),
        "get_sample" => on(filter, qa::get_sample),
        "list_evaluations" => on(filter, qa::list_evaluations),
        "create_evaluation" => on(filter, qa::create_evaluation),
        "get_evaluation" => on(filter, qa::get_evaluation),
        "score_evaluation" => on(filter, qa::score_evaluation),
        "publish_evaluation" => on(filter, qa::publish_evaluation),
        "acknowledge_evaluation" => on(filter, qa::acknowledge_evaluation),
        "dispute_evaluation" => on(filter, qa::dispute_evaluation),
        "resolve_evaluation" => on(filter, qa::resolve_evaluation),
        "list_calibrations" => on(filter, qa::list_calibrations),
        "create_calibration" => on(filter, qa::create_calibration),
        "get_calibration" => on(filter, qa::get_calibration),
        "score_calibration" => on(filter, qa::score_calibration),
        "qa_report" => on(filter, qa::report),
        "contact_transcript" => on(filter, qa::contact_transcript),
        "contact_speech" => on(filter, speech::contact_speech),
        "qa_page" => on(filter, crate::pages::qa),
        "home" => on(filter, crate::pages::home),
        "desktop_page" => on(filter, crate::pages::desktop),
        "wallboard_page" => on(filter, crate::pages::wallboard),
        "admin_page" => on(filter, crate::pages::admin),
        "reports_page" => on(filter, crate::pages::reports),
        "recordings_page" => on(filter, crate::pages::recordings),
        "asset" => on(filter, crate::pages::asset),
        other => panic!("route table: no handler for operation {other}"),
    }
}

/// Query parameters whose rejection is a problem document (400).
pub(crate) struct ApiQuery<T>(pub T);

impl<St: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<St> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(Problem::bad_request(format!("bad query parameter: {}", e.body_text()))),
        }
    }
}

/// `?limit=50&after=<cursor>`: keyset pagination with the store's opaque cursors.
#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    pub limit: Option<u32>,
    pub after: Option<String>,
}

impl PageQuery {
    pub fn page(&self) -> Page {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_SIZE);
        match &self.after {
            Some(after) if !after.is_empty() => Page::after(limit, Cursor::from_text(after)),
            _ => Page::first(limit),
        }
    }
}

/// `{"items": [...], "next": "<cursor>" | null}`.
pub(crate) fn paged<T>(page: PageOf<T>, view: impl Fn(&T) -> Value) -> Value {
    json!({
        "items": page.items.iter().map(view).collect::<Vec<_>>(),
        "next": page.next.map(|c| c.to_string()),
    })
}

/// An id from the path; a malformed one names nothing that exists, so it is a 404.
pub(crate) fn parse_id<T: FromStr>(text: &str, what: &str) -> Result<T, Problem> {
    text.parse::<T>().map_err(|_| Problem::not_found(what))
}

/// Text from a client, trimmed and bounded; empty when `required` is a 422.
pub(crate) fn text_field(what: &str, value: &str, max_chars: usize, required: bool) -> Result<String, Problem> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(Problem::of(ProblemKind::Validation, format!("{what} must not be empty")));
    }
    if v.chars().count() > max_chars {
        return Err(Problem::of(ProblemKind::Validation, format!("{what} must be at most {max_chars} characters")));
    }
    Ok(v.to_owned())
}

/// `Ok(x)` when found, 404 naming `what` otherwise.
pub(crate) fn found<T>(v: Option<T>, what: &str) -> Result<T, Problem> {
    v.ok_or_else(|| Problem::not_found(what))
}
