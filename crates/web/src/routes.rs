//! The route table: every route the server answers, declared once with its access rule. The
//! router, the guard, the audit log, the OpenAPI document and the RBAC matrix test all read
//! [`ROUTES`]. Adding a route means adding a row here; there is no other way in.
//!
//! Never: register a handler outside [`build`], or leave a route without a rule.

use std::sync::Arc;

use auth::policy::{Grant, Rule};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::MethodRouter;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::api;
use crate::guard;
use crate::problem::{Problem, ProblemKind};

/// One row of the table.
#[derive(Debug)]
pub struct Route {
    pub method: &'static str,
    /// axum path syntax (`/api/agents/{id}`), also the OpenAPI path.
    pub path: &'static str,
    /// Stable operation id (OpenAPI `operationId`, audit `action`).
    pub op_id: &'static str,
    /// What the route does, phrased to read after "the agent role may not".
    pub summary: &'static str,
    pub tag: &'static str,
    pub rule: Rule,
}

const fn r(
    method: &'static str,
    path: &'static str,
    op_id: &'static str,
    summary: &'static str,
    tag: &'static str,
    rule: Rule,
) -> Route {
    Route { method, path, op_id, summary, tag, rule }
}

/// Agents see their own record, contacts and recordings; staff see the org's.
const OWN: Rule = Rule::STAFF_OR_OWN;
const ANY: Rule = Rule::SIGNED_IN;
const PUB: Rule = Rule::PUBLIC;
const ADM: Rule = Rule::ADMIN;
const STF: Rule = Rule::STAFF;
/// Only agents, on their own work (an offer or state is a person's own).
const AGT: Rule = Rule { public: false, admin: Grant::Deny, supervisor: Grant::Deny, agent: Grant::Own };

pub const ROUTES: &[Route] = &[
    r("GET", "/healthz", "healthz", "check the process is up", "meta", PUB),
    r("GET", "/readyz", "readyz", "check the database is ready", "meta", PUB),
    r("GET", "/api/openapi.json", "openapi", "read the API document", "meta", PUB),
    r("GET", "/api/docs", "docs", "browse the API document", "meta", PUB),
    r("GET", "/api/metrics", "metrics", "read the server's metrics", "meta", Rule::STAFF),
    r("POST", "/api/auth/login", "login", "sign in", "auth", PUB),
    r("GET", "/wechat/callback", "wechat_handshake", "verify the WeChat server URL (signed by WeChat)", "social", PUB),
    r("POST", "/wechat/callback", "wechat_callback", "deliver a WeChat message (signed by WeChat)", "social", PUB),
    r(
        "POST",
        "/webhooks/{channel}",
        "social_webhook",
        "deliver a Weibo or webhook message (HMAC-signed)",
        "social",
        PUB,
    ),
    r("POST", "/api/auth/logout", "logout", "sign out", "auth", ANY),
    r("GET", "/api/me", "me", "read their own profile", "auth", ANY),
    r("POST", "/api/me/password", "change_password", "change their password", "auth", ANY),
    r("GET", "/api/tokens", "list_tokens", "list API tokens", "admin", ADM),
    r("POST", "/api/tokens", "create_token", "create API tokens", "admin", ADM),
    r("DELETE", "/api/tokens/{id}", "revoke_token", "revoke API tokens", "admin", ADM),
    r("GET", "/api/audit", "list_audit", "read the audit log", "admin", ADM),
    r("GET", "/api/users", "list_users", "list users", "admin", ADM),
    r("POST", "/api/users", "create_user", "create users", "admin", ADM),
    r("PATCH", "/api/users/{id}", "update_user", "change users", "admin", ADM),
    r("POST", "/api/users/{id}/password", "reset_password", "reset passwords", "admin", ADM),
    r("GET", "/api/agents", "list_agents", "list agents", "directory", OWN),
    r("GET", "/api/agents/{id}", "get_agent", "read an agent", "directory", OWN),
    r("PATCH", "/api/agents/{id}", "update_agent", "change agents", "directory", ADM),
    r("PUT", "/api/agents/{id}/skills", "set_agent_skills", "change an agent's skills", "directory", ADM),
    r("GET", "/api/skills", "list_skills", "list skills", "directory", ANY),
    r("POST", "/api/skills", "create_skill", "create skills", "directory", ADM),
    r("PUT", "/api/skills/{id}", "update_skill", "change skills", "directory", ADM),
    r("GET", "/api/queues", "list_queues", "list queues", "directory", ANY),
    r("GET", "/api/queues/{id}", "get_queue", "read a queue", "directory", ANY),
    r("POST", "/api/queues", "create_queue", "create queues", "directory", ADM),
    r("PUT", "/api/queues/{id}", "update_queue", "change queues", "directory", ADM),
    r("GET", "/api/customers", "list_customers", "list or search customers", "customers", ANY),
    r("POST", "/api/customers", "create_customer", "create customers", "customers", ANY),
    r("GET", "/api/customers/{id}", "get_customer", "read a customer", "customers", ANY),
    r("PATCH", "/api/customers/{id}", "update_customer", "change customers", "customers", ANY),
    r("PUT", "/api/customers/{id}/vip", "set_customer_vip", "change a customer's VIP tier", "customers", Rule::STAFF),
    r(
        "GET",
        "/api/customers/{id}/contacts",
        "customer_contacts",
        "read a customer's contact history",
        "customers",
        ANY,
    ),
    r("GET", "/api/customers/{id}/tickets", "customer_tickets", "read a customer's tickets", "customers", ANY),
    r("GET", "/api/customers/{id}/orders", "customer_orders", "read a customer's orders", "customers", ANY),
    r("POST", "/api/customers/{id}/merge", "merge_customers", "merge customers", "customers", STF),
    r("GET", "/api/contacts", "list_contacts", "list contacts by time", "contacts", OWN),
    r("GET", "/api/contacts/{id}", "get_contact", "read a contact", "contacts", OWN),
    r("GET", "/api/contacts/{id}/events", "contact_events", "read a contact's events", "contacts", OWN),
    r("GET", "/api/contacts/{id}/recordings", "contact_recordings", "list a contact's recordings", "contacts", OWN),
    r("GET", "/api/contacts/{id}/flags", "contact_flags", "read why a contact is flagged", "contacts", OWN),
    r("GET", "/api/recordings", "list_recordings", "list recordings", "contacts", OWN),
    r("GET", "/api/recordings/{id}/peaks", "recording_peaks", "read a recording's waveform", "contacts", OWN),
    r("PUT", "/api/recordings/{id}/hold", "place_legal_hold", "place legal holds", "contacts", STF),
    r("DELETE", "/api/recordings/{id}/hold", "release_legal_hold", "release legal holds", "contacts", STF),
    r("GET", "/api/recordings/{id}", "get_recording", "read a recording's metadata", "contacts", OWN),
    r("GET", "/api/recordings/{id}/audio", "download_recording", "download a recording", "contacts", OWN),
    r("GET", "/api/search", "search", "search contacts' transcripts, chats, emails and notes", "contacts", OWN),
    r("GET", "/api/tickets", "list_tickets", "list tickets", "tickets", ANY),
    r("POST", "/api/tickets", "create_ticket", "create tickets", "tickets", ANY),
    r("GET", "/api/tickets/{id}", "get_ticket", "read a ticket", "tickets", ANY),
    r("PATCH", "/api/tickets/{id}", "update_ticket", "change tickets", "tickets", ANY),
    r("GET", "/api/tickets/{id}/comments", "list_ticket_comments", "read a ticket's comments", "tickets", ANY),
    r("POST", "/api/tickets/{id}/comments", "add_ticket_comment", "comment on tickets", "tickets", ANY),
    r("GET", "/api/orders", "find_orders", "look orders up", "orders", ANY),
    r("GET", "/api/orders/{id}", "get_order", "read an order", "orders", ANY),
    r("GET", "/api/events", "events", "open the live event stream", "live", ANY),
    r("GET", "/api/live", "live_snapshot", "read the live contact center", "live", ANY),
    r("GET", "/api/transfer-targets", "transfer_targets", "list transfer targets", "live", ANY),
    r("PUT", "/api/me/state", "set_my_state", "set their own agent state", "live", AGT),
    r("POST", "/api/contacts/{id}/accept", "accept_offer", "accept an offer", "live", AGT),
    r("POST", "/api/contacts/{id}/reject", "reject_offer", "reject an offer", "live", AGT),
    r("POST", "/api/contacts/{id}/end", "end_contact", "end a contact", "live", OWN),
    r("POST", "/api/contacts/{id}/wrap-up", "wrap_up_contact", "finish wrap-up with a disposition", "live", AGT),
    r("POST", "/api/contacts/{id}/transfer", "transfer_contact", "transfer a contact", "live", OWN),
    r("POST", "/api/contacts/{id}/hold", "hold_call", "put a call on hold", "live", OWN),
    r("POST", "/api/contacts/{id}/resume", "resume_call", "take a call off hold", "live", OWN),
    r("POST", "/api/contacts/{id}/recording/pause", "pause_recording", "pause a call's recording", "live", OWN),
    r("POST", "/api/contacts/{id}/recording/resume", "resume_recording", "resume a call's recording", "live", OWN),
    r("POST", "/api/contacts/{id}/consult", "consult_call", "consult another agent on a call", "live", OWN),
    r("POST", "/api/contacts/{id}/consult/complete", "complete_consult", "complete a consult transfer", "live", OWN),
    r("POST", "/api/contacts/{id}/consult/cancel", "cancel_consult", "cancel a consult", "live", OWN),
    r("POST", "/api/contacts/{id}/monitor", "monitor_call", "listen to or whisper on a live call", "live", STF),
    r("DELETE", "/api/contacts/{id}/monitor", "stop_monitor", "stop monitoring a live call", "live", STF),
    r("PUT", "/api/agents/{id}/state", "force_agent_state", "force an agent's state", "live", STF),
    r("POST", "/api/agents/{id}/sign-out", "sign_out_agent", "sign an agent out", "live", STF),
    r("GET", "/api/wallboard", "wallboard", "read the wallboard", "live", STF),
    r("GET", "/api/alerts", "list_alerts", "read complaint alerts", "live", STF),
    r("GET", "/api/reports/{kind}", "report", "read reports", "reports", STF),
    r("GET", "/api/calendars", "list_calendars", "list business-hours calendars", "config", STF),
    r("GET", "/api/calendars/{name}", "get_calendar", "read a business-hours calendar", "config", STF),
    r("PUT", "/api/calendars/{name}", "put_calendar", "create or change business-hours calendars", "config", ADM),
    r("DELETE", "/api/calendars/{name}", "delete_calendar", "delete business-hours calendars", "config", ADM),
    r("GET", "/api/routes", "get_routes", "read the routing rules", "config", STF),
    r("PUT", "/api/routes", "put_routes", "change and reload the routing rules", "config", ADM),
    r("GET", "/api/ivr/flows", "list_ivr_flows", "list IVR flows", "ivr", ADM),
    r("POST", "/api/ivr/flows/validate", "validate_ivr_flow", "validate IVR flows", "ivr", ADM),
    r("GET", "/api/ivr/flows/{name}", "get_ivr_flow", "read an IVR flow's source", "ivr", ADM),
    r("PUT", "/api/ivr/flows/{name}", "put_ivr_flow", "replace IVR flows", "ivr", ADM),
    r("GET", "/api/qa/scorecards", "list_scorecards", "list QA scorecards", "qa", ANY),
    r("POST", "/api/qa/scorecards", "create_scorecard", "create QA scorecards", "qa", STF),
    r("GET", "/api/qa/scorecards/{id}", "get_scorecard", "read a QA scorecard", "qa", ANY),
    r("PUT", "/api/qa/scorecards/{id}", "update_scorecard", "change QA scorecards", "qa", STF),
    r("DELETE", "/api/qa/scorecards/{id}", "archive_scorecard", "archive QA scorecards", "qa", STF),
    r("GET", "/api/qa/samples", "list_samples", "list QA samples", "qa", STF),
    r("POST", "/api/qa/samples", "create_sample", "draw QA samples", "qa", STF),
    r("GET", "/api/qa/samples/{id}", "get_sample", "read a QA sample", "qa", STF),
    r("GET", "/api/qa/evaluations", "list_evaluations", "list QA evaluations", "qa", OWN),
    r("POST", "/api/qa/evaluations", "create_evaluation", "score contacts", "qa", STF),
    r("GET", "/api/qa/evaluations/{id}", "get_evaluation", "read a QA evaluation", "qa", OWN),
    r("PUT", "/api/qa/evaluations/{id}", "score_evaluation", "rescore draft evaluations", "qa", STF),
    r("POST", "/api/qa/evaluations/{id}/publish", "publish_evaluation", "publish evaluations", "qa", STF),
    r("POST", "/api/qa/evaluations/{id}/acknowledge", "acknowledge_evaluation", "acknowledge an evaluation", "qa", AGT),
    r("POST", "/api/qa/evaluations/{id}/dispute", "dispute_evaluation", "dispute an evaluation", "qa", AGT),
    r("POST", "/api/qa/evaluations/{id}/resolve", "resolve_evaluation", "resolve disputes", "qa", STF),
    r("GET", "/api/qa/calibrations", "list_calibrations", "list calibration sessions", "qa", STF),
    r("POST", "/api/qa/calibrations", "create_calibration", "open calibration sessions", "qa", STF),
    r("GET", "/api/qa/calibrations/{id}", "get_calibration", "read a calibration session", "qa", STF),
    r("PUT", "/api/qa/calibrations/{id}/sheet", "score_calibration", "score in calibration sessions", "qa", STF),
    r("GET", "/api/qa/report", "qa_report", "read QA reports", "qa", STF),
    r("GET", "/api/contacts/{id}/transcript", "contact_transcript", "read a contact's transcript", "contacts", OWN),
    r("GET", "/api/contacts/{id}/speech", "contact_speech", "read a contact's speech analytics", "contacts", OWN),
    r("GET", "/api/contacts/{id}/chat", "contact_chat", "read a chat contact's conversation", "live", OWN),
    r("POST", "/api/contacts/{id}/chat/messages", "send_chat_message", "write in a chat", "live", AGT),
    r("POST", "/api/contacts/{id}/email/reply", "email_reply", "answer a contact's email", "live", OWN),
    r("GET", "/api/contacts/{id}/social/messages", "social_messages", "read a contact's social messages", "live", OWN),
    r("POST", "/api/contacts/{id}/social/reply", "social_reply", "answer a contact's social message", "live", OWN),
    r("GET", "/api/contacts/{id}/email/messages", "email_messages", "read a contact's email thread", "contacts", OWN),
    r(
        "GET",
        "/api/contacts/{id}/email/attachments/{attachment_id}",
        "download_email_attachment",
        "download a contact's email attachment",
        "contacts",
        OWN,
    ),
    r("POST", "/api/contacts/{id}/chat/typing", "chat_typing", "show typing in a chat", "live", AGT),
    r("POST", "/api/contacts/{id}/chat/read", "chat_read", "mark a chat read", "live", AGT),
    r("GET", "/", "home", "open the start page", "pages", PUB),
    r("GET", "/desktop", "desktop_page", "open the agent desktop", "pages", PUB),
    r("GET", "/wallboard", "wallboard_page", "open the wallboard", "pages", PUB),
    r("GET", "/admin", "admin_page", "open the admin pages", "pages", PUB),
    r("GET", "/reports", "reports_page", "open the reports", "pages", PUB),
    r("GET", "/recordings", "recordings_page", "open the recordings library", "pages", PUB),
    r("GET", "/qa", "qa_page", "open the QA pages", "pages", PUB),
    r("GET", "/assets/{file}", "asset", "load a page asset", "pages", PUB),
];

/// The row of an operation id (the table is the source; this is for tests and the docs).
pub fn route(op_id: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.op_id == op_id)
}

/// Builds the router from the table: each row's handler wrapped in the guard with that row.
pub fn build(state: Arc<AppState>) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        let handler: MethodRouter<Arc<AppState>> = api::handler(route.op_id, route.method);
        let guarded = handler.route_layer(from_fn_with_state((state.clone(), route), guard::guard));
        router = router.route(route.path, guarded);
    }
    api::business_hours::load_book_at_start(&state);
    let max_body_bytes = state.config.max_body_bytes;
    router
        .merge(crate::chat_ws::routes(&state))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(from_fn_with_state(state.clone(), guard::body_limit))
        .layer(from_fn_with_state(state.clone(), guard::rate_limit))
        .layer(from_fn(crate::problem::ensure_problem))
        .layer(from_fn_with_state(state.clone(), crate::metrics::measure))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> Problem {
    Problem::of(ProblemKind::NotFound, "no such resource")
}
