//! The OpenAPI 3.1 document, generated from the route table, so it lists exactly the routes the
//! server answers with the roles each allows. Request bodies and problem types are described
//! here; response bodies are described as JSON objects with their documented fields.
//!
//! Never: describe a route that is not in [`crate::routes::ROUTES`].

use auth::policy::Grant;
use serde_json::{Map, Value, json};

use crate::problem::ProblemKind;
use crate::routes::{ROUTES, Route};

fn grant_text(g: Grant) -> &'static str {
    match g {
        Grant::Deny => "denied",
        Grant::All => "allowed",
        Grant::Own => "own only",
    }
}

fn access_text(r: &Route) -> String {
    if r.rule.public {
        return "Public.".to_owned();
    }
    format!(
        "Roles: admin {}, supervisor {}, agent {}.",
        grant_text(r.rule.admin),
        grant_text(r.rule.supervisor),
        grant_text(r.rule.agent)
    )
}

/// The request body schema of an operation, by operation id.
fn request_body(op_id: &str) -> Option<Value> {
    let s = |props: Value, required: &[&str]| json!({"type": "object", "properties": props, "required": required});
    let body = match op_id {
        "login" => s(
            json!({"username": {"type": "string"}, "password": {"type": "string", "format": "password"}}),
            &["username", "password"],
        ),
        "change_password" => s(
            json!({"current_password": {"type": "string"}, "new_password": {"type": "string", "minLength": auth::MIN_PASSWORD_CHARS}}),
            &["current_password", "new_password"],
        ),
        "validate_ivr_flow" => s(
            json!({"name": {"type": "string", "description": "file name without .toml; when given the flow is also checked against the other flows (numbers, ids)"}, "source": {"type": "string", "description": "the flow's TOML (flows/README.md); 200 with valid and errors [{line, column, node, message}]"}}),
            &["source"],
        ),
        "put_ivr_flow" => s(
            json!({"source": {"type": "string", "description": "the flow's TOML; invalid: 422 problem+json with errors [{line, column, node, message}]; new calls use it at once, calls in progress keep theirs"}}),
            &["source"],
        ),
        "email_reply" => s(
            json!({"body": {"type": "string", "description": "the reply's text; sent as Re: <subject> with In-Reply-To/References to the customer's last email, 201 {message_id}; 503 without email.smarthost"}}),
            &["body"],
        ),
        "social_reply" => s(
            json!({"text": {"type": "string", "maxLength": crate::social_channel::MAX_SOCIAL_REPLY_CHARS, "description": "the reply's text, sent on the contact's channel (WeChat customer-service API, Weibo API or the signed webhook reply URL) with retries; 202 with the stored message {id, status: queued, ...}; GET .../social/messages shows it sent or failed with a reason; 409 without an inbound social message; 503 when the channel cannot reply"}}),
            &["text"],
        ),
        "social_webhook" => s(
            json!({"id": {"type": "string"}, "from": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}, "text": {"type": "string"}, "conversation": {"type": "string"}}),
            &["id", "from"],
        ),
        "put_calendar" => s(
            json!({"time_zone": {"type": "string", "description": "IANA zone, e.g. Asia/Shanghai (daylight saving applied)"}, "weekly": {"type": "object", "description": "mon..sun → opening ranges like \"09:00-12:00,13:00-18:00\"; a missing or empty day is closed", "additionalProperties": {"type": "string"}}, "exceptions": {"type": "array", "maxItems": store::MAX_CALENDAR_EXCEPTIONS, "items": {"type": "object", "properties": {"date": {"type": "string", "description": "local date 2027-02-10"}, "hours": {"type": "string", "description": "closed, or special ranges like 10:00-14:00"}, "note": {"type": "string"}}, "required": ["date", "hours"]}}}),
            &["time_zone"],
        ),
        "put_routes" => s(
            json!({"entry_points": {"type": "array", "description": "every entry point's route table, replacing the running one (first matching rule wins, then default_queue); unknown queue: 422 problem+json with field; saved and applied to the next contact; the answer is the new table", "items": {"type": "object", "properties": {"name": {"type": "string"}, "default_queue": {"type": "string", "description": "queue name"}, "rules": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "queue": {"type": "string"}, "vip": {"enum": ["gold", "silver", "normal"]}, "issue_type": {"type": "string"}, "language": {"type": "string"}, "channel": {"type": "string"}, "attributes": {"type": "object", "additionalProperties": {"type": "string"}}, "priority": {"type": "integer", "description": "added to the contact's priority"}}, "required": ["name", "queue"]}}}, "required": ["name", "default_queue"]}}}),
            &["entry_points"],
        ),
        "create_token" => s(
            json!({"name": {"type": "string"}, "role": {"enum": ["admin", "supervisor", "agent"]}}),
            &["name", "role"],
        ),
        "set_agent_skills" => s(
            json!({"skills": {"type": "array", "items": {"type": "object", "properties": {"skill": {"type": "string"}, "proficiency": {"type": "integer", "minimum": 1, "maximum": 10}}}}}),
            &["skills"],
        ),
        "create_user" => s(
            json!({"username": {"type": "string"}, "display_name": {"type": "string"}, "role": {"enum": ["admin", "supervisor", "agent"]}, "password": {"type": "string", "format": "password"}, "email": {"type": "string", "format": "email"}, "language": {"type": "string"}}),
            &["username", "display_name", "role", "password"],
        ),
        "update_user" => s(
            json!({"display_name": {"type": "string"}, "role": {"enum": ["admin", "supervisor", "agent"]}, "active": {"type": "boolean"}, "email": {"type": "string"}}),
            &[],
        ),
        "reset_password" => s(json!({"new_password": {"type": "string", "format": "password"}}), &["new_password"]),
        "create_queue" | "update_queue" => s(
            json!({
                "name": {"type": "string"}, "display_name": {"type": "string"},
                "strategy": {"enum": ["round_robin", "least_occupied", "longest_idle", "skills_best", "ring_all", "weighted_random"]},
                "required_skills": {"type": "array", "items": {"type": "object", "properties": {"skill": {"type": "string"}, "min_proficiency": {"type": "integer", "minimum": 1, "maximum": 10}}}},
                "service_level": {"type": "object", "properties": {"percent": {"type": "integer", "minimum": 1, "maximum": 100}, "threshold_ms": {"type": "integer"}}},
                "wrap_up_ms": {"type": "integer"}, "ring_timeout_ms": {"type": "integer"}, "max_waiting": {"type": "integer"}, "max_wait_ms": {"type": "integer"},
                "overflow": {"type": "object", "properties": {"to": {"type": "string", "format": "uuid"}, "after_ms": {"type": "integer"}, "when_ewt_exceeds_ms": {"type": "integer"}}},
            }),
            &[
                "name",
                "display_name",
                "strategy",
                "service_level",
                "wrap_up_ms",
                "ring_timeout_ms",
                "max_waiting",
                "max_wait_ms",
            ],
        ),
        "update_agent" => s(
            json!({
                "display_name": {"type": "string"}, "languages": {"type": "array", "items": {"type": "string"}},
                "capacity": {"type": "object", "properties": {"voice": {"type": "integer"}, "chat": {"type": "integer"}, "email": {"type": "integer"}, "social": {"type": "integer"}, "voice_blocks_others": {"type": "boolean"}}},
                "queues": {"type": "array", "items": {"type": "object", "properties": {"queue_id": {"type": "string", "format": "uuid"}, "penalty": {"type": "integer"}}}},
            }),
            &[],
        ),
        "create_skill" | "update_skill" => {
            s(json!({"name": {"type": "string"}, "description": {"type": "string"}}), &["name"])
        }
        "create_customer" => s(
            json!({"name": {"type": "string"}, "phones": {"type": "array", "items": {"type": "string"}}, "emails": {"type": "array", "items": {"type": "string", "format": "email"}}, "vip": {"enum": ["gold", "silver", "normal"]}, "language": {"type": "string"}}),
            &["name"],
        ),
        "update_customer" => s(
            json!({"name": {"type": "string"}, "phones": {"type": "array", "items": {"type": "string"}}, "emails": {"type": "array", "items": {"type": "string", "format": "email"}}, "language": {"type": "string"}}),
            &[],
        ),
        "set_customer_vip" => s(json!({"vip": {"enum": ["gold", "silver", "normal"]}}), &["vip"]),
        "merge_customers" => s(
            json!({"from": {"type": "string", "format": "uuid", "description": "the customer merged into this one: its phones, emails, social ids, contacts, tickets and orders move here, the higher VIP tier is kept, and its id answers 308 to this customer from then on (422 for itself, 409 if either was already merged)"}}),
            &["from"],
        ),
        "create_ticket" => s(
            json!({"subject": {"type": "string"}, "priority": {"enum": ["low", "normal", "high", "urgent"]}, "customer_id": {"type": "string", "format": "uuid"}, "assignee_id": {"type": "string", "format": "uuid"}, "contact_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}}}),
            &["subject"],
        ),
        "update_ticket" => s(
            json!({"subject": {"type": "string"}, "status": {"enum": ["open", "pending", "solved", "closed"]}, "priority": {"enum": ["low", "normal", "high", "urgent"]}, "assignee_id": {"type": "string", "format": "uuid"}, "contact_id": {"type": "string", "format": "uuid"}}),
            &[],
        ),
        "add_ticket_comment" => s(json!({"body": {"type": "string"}, "internal": {"type": "boolean"}}), &["body"]),
        "set_my_state" | "force_agent_state" => s(
            json!({"state": {"enum": ["available", "away", "offline"]}, "reason": {"type": "string", "description": "reason code of away (break, lunch, ...)"}}),
            &["state"],
        ),
        "wrap_up_contact" => s(
            json!({"disposition": {"type": "string", "description": "disposition code (resolved, follow_up, ...)"}, "notes": {"type": "string", "maxLength": 4000}}),
            &["disposition"],
        ),
        "transfer_contact" => s(
            json!({"queue_id": {"type": "string", "format": "uuid"}, "agent_id": {"type": "string", "format": "uuid", "description": "a named agent (forced transfer to an expert)"}}),
            &[],
        ),
        "create_scorecard" | "update_scorecard" => s(
            json!({"name": {"type": "string"}, "sections": {"type": "array", "items": {"type": "object", "properties": {"title": {"type": "string"}, "questions": {"type": "array", "items": {"type": "object", "required": ["key", "text", "weight"], "properties": {"key": {"type": "string"}, "text": {"type": "string"}, "weight": {"type": "integer", "minimum": 0, "maximum": 100}, "max_points": {"type": "integer", "minimum": 0, "maximum": 10, "description": "0 or absent: a yes/no question"}, "auto_fail": {"type": "boolean"}, "allow_na": {"type": "boolean"}}}}}}}}),
            &["name", "sections"],
        ),
        "create_sample" => s(
            json!({"from_ms": {"type": "integer"}, "to_ms": {"type": "integer"}, "per_agent": {"type": "integer", "minimum": 0, "maximum": 1000}, "include_flagged": {"type": "boolean", "default": true}, "seed": {"type": "integer", "description": "u64; drawn at random when absent and returned to reproduce the sample"}}),
            &["from_ms", "to_ms", "per_agent"],
        ),
        "create_evaluation" => s(
            json!({"contact": {"type": "string", "format": "uuid"}, "scorecard": {"type": "string", "format": "uuid"}, "sample": {"type": "string", "format": "uuid"}, "answers": {"type": "object", "description": "question key → \"yes\", \"no\", \"na\" or points"}, "comments": {"type": "object", "description": "question key (\"\" for the whole evaluation) → comment"}}),
            &["contact", "scorecard", "answers"],
        ),
        "score_evaluation" | "score_calibration" => s(
            json!({"answers": {"type": "object", "description": "question key → \"yes\", \"no\", \"na\" or points"}, "comments": {"type": "object"}}),
            &["answers"],
        ),
        "dispute_evaluation" => s(json!({"reason": {"type": "string", "maxLength": 2000}}), &["reason"]),
        "resolve_evaluation" => s(
            json!({"resolution": {"enum": ["uphold", "rescore"]}, "note": {"type": "string", "maxLength": 2000}, "percent": {"type": "number", "minimum": 0, "maximum": 100}}),
            &["resolution", "note"],
        ),
        "create_calibration" => s(
            json!({"contact": {"type": "string", "format": "uuid"}, "scorecard": {"type": "string", "format": "uuid"}, "title": {"type": "string", "maxLength": 200}}),
            &["contact", "scorecard", "title"],
        ),
        other => {
            let (props, required) = crate::live::calls::body_schema(other)?;
            s(props, required)
        }
    };
    Some(json!({"required": true, "content": {"application/json": {"schema": body}}}))
}

/// Query parameters of an operation.
fn query_params(op_id: &str) -> Vec<(&'static str, &'static str)> {
    let mut q: Vec<(&str, &str)> = match op_id {
        "list_customers" => vec![
            ("phone", "find by phone (E.164 or national)"),
            ("email", "find by email"),
            ("q", "customers whose name, phone (digits) or email contains this text, 1 to 100 characters"),
        ],
        "list_contacts" => vec![("from_ms", "start, unix ms, inclusive"), ("to_ms", "end, unix ms, exclusive")],
        "list_tickets" => vec![("status", "open (default), pending, solved, closed"), ("customer", "customer id")],
        "find_orders" => vec![("number", "order number, exact")],
        "search" => vec![
            ("q", "words, \"phrases\", -excluded words (required, at most 1024 bytes)"),
            ("kind", "transcript, chat, email or note"),
            ("agent", "agent id (an agent always sees only their own)"),
            ("queue", "queue id"),
            ("from", "start, unix ms, inclusive"),
            ("to", "end, unix ms, exclusive"),
            ("limit", "hits per page, 1 to 100 (default 20)"),
            ("offset", "hits to skip (offset + limit at most 1000)"),
        ],
        "list_evaluations" => vec![("agent", "agent id (staff only)"), ("contact", "contact id")],
        "qa_report" => vec![("from_ms", "start, unix ms (default 8 weeks back)"), ("to_ms", "end, unix ms, exclusive")],
        _ => vec![],
    };
    let paged = op_id.starts_with("list_")
        || matches!(
            op_id,
            "customer_contacts"
                | "customer_tickets"
                | "customer_orders"
                | "contact_events"
                | "contact_recordings"
                | "find_orders"
        );
    if paged {
        q.push(("limit", "rows per page, 1 to 500 (default 50)"));
        q.push(("after", "the `next` cursor of the previous page"));
    }
    q
}

fn operation(r: &Route) -> Value {
    let mut params: Vec<Value> = Vec::new();
    if r.path.contains("{id}") {
        params.push(
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}),
        );
    }
    if r.path.starts_with("/api/calendars/{name}") {
        params.push(json!({"name": "name", "in": "path", "required": true, "description": "calendar name, 1 to 64 of a-z, 0-9, _ and -", "schema": {"type": "string"}}));
    }
    if r.path.contains("{attachment_id}") {
        params.push(json!({"name": "attachment_id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}));
    }
    if r.path.contains("{channel}") {
        params.push(json!({"name": "channel", "in": "path", "required": true, "description": "weibo, or the generic channel's [social] webhook_name", "schema": {"type": "string"}}));
    }
    for (name, description) in query_params(r.op_id) {
        params.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}));
    }
    let problem = json!({"description": "problem details (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        crate::email_thread::response_doc(r.op_id).unwrap_or_else(
            || json!({"description": "success", "content": {"application/json": {"schema": {"type": "object"}}}}),
        ),
    );
    for code in ["400", "401", "403", "404", "409", "413", "415", "422", "429"] {
        responses.insert(code.into(), problem.clone());
    }
    let mut op = json!({
        "operationId": r.op_id,
        "summary": r.summary,
        "description": access_text(r),
        "tags": [r.tag],
        "parameters": params,
        "responses": responses,
    });
    if r.rule.public {
        op["security"] = json!([]);
    }
    if let Some(body) = request_body(r.op_id) {
        op["requestBody"] = body;
    }
    op
}

pub fn document(version: &str) -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let item = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        item[r.method.to_ascii_lowercase()] = operation(r);
    }
    let problem_types: Vec<Value> = ProblemKind::ALL
        .iter()
        .map(|k| json!({"type": k.type_uri(), "status": k.status().as_u16(), "title": k.title()}))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Hotline API",
            "version": version,
            "description": "Contact center REST API. Sign in with POST /api/auth/login (session cookie; send the returned csrf_token in X-CSRF-Token on every POST/PUT/PATCH/DELETE) or send `Authorization: Bearer hlt_...` (API token). Lists are keyset-paginated: pass the `next` cursor as `after`. Every error is application/problem+json; the `type` values are listed in x-problem-types.",
        },
        "x-problem-types": problem_types,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::guard::SESSION_COOKIE},
                "token": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string", "enum": ProblemKind::ALL.iter().map(|k| k.type_uri()).collect::<Vec<_>>()},
                        "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                    },
                },
            },
        },
        "security": [{"session": []}, {"token": []}],
    })
}
