//! The RBAC matrix: every route × (anonymous, agent, supervisor, admin), each expected allowed or
//! denied by the table below, checked over real HTTP. The table is written here independently of
//! the server's route table, and must cover every route the server has: a new route fails this
//! test until its expected access is written down.
//!
//! "Allowed" means the guard let the request through (whatever the handler then answered: 200,
//! 404, 422...); "denied" means a 401 `unauthenticated` (anonymous) or 403 `forbidden` problem.

mod common;

use std::collections::BTreeMap;

use common::{Browser, TestServer};
use reqwest::Method;
use serde_json::Value;

/// op id → expected for [anonymous, agent, supervisor, admin]: `Y` allowed, `-` denied.
const EXPECTED: &[(&str, &str)] = &[
    ("healthz", "YYYY"),
    ("readyz", "YYYY"),
    ("openapi", "YYYY"),
    ("docs", "YYYY"),
    ("metrics", "--YY"),
    ("login", "YYYY"),
    ("logout", "-YYY"),
    ("me", "-YYY"),
    ("change_password", "-YYY"),
    ("list_tokens", "---Y"),
    ("create_token", "---Y"),
    ("revoke_token", "---Y"),
    ("list_audit", "---Y"),
    ("list_users", "---Y"),
    ("create_user", "---Y"),
    ("update_user", "---Y"),
    ("reset_password", "---Y"),
    ("list_agents", "-YYY"),
    ("get_agent", "-YYY"),
    ("update_agent", "---Y"),
    ("set_agent_skills", "---Y"),
    ("list_skills", "-YYY"),
    ("create_skill", "---Y"),
    ("update_skill", "---Y"),
    ("list_queues", "-YYY"),
    ("get_queue", "-YYY"),
    ("create_queue", "---Y"),
    ("update_queue", "---Y"),
    ("list_customers", "-YYY"),
    ("create_customer", "-YYY"),
    ("get_customer", "-YYY"),
    ("update_customer", "-YYY"),
    ("set_customer_vip", "--YY"),
    ("customer_contacts", "-YYY"),
    ("customer_tickets", "-YYY"),
    ("customer_orders", "-YYY"),
    ("merge_customers", "--YY"),
    ("list_contacts", "-YYY"),
    ("get_contact", "-YYY"),
    ("contact_events", "-YYY"),
    ("contact_recordings", "-YYY"),
    ("contact_flags", "-YYY"),
    ("get_recording", "-YYY"),
    ("list_tickets", "-YYY"),
    ("create_ticket", "-YYY"),
    ("get_ticket", "-YYY"),
    ("update_ticket", "-YYY"),
    ("list_ticket_comments", "-YYY"),
    ("add_ticket_comment", "-YYY"),
    ("find_orders", "-YYY"),
    ("get_order", "-YYY"),
    ("download_recording", "-YYY"),
    ("list_recordings", "-YYY"),
    ("search", "-YYY"),
    ("recording_peaks", "-YYY"),
    ("place_legal_hold", "--YY"),
    ("release_legal_hold", "--YY"),
    ("report", "--YY"),
    ("list_ivr_flows", "---Y"),
    ("validate_ivr_flow", "---Y"),
    ("get_ivr_flow", "---Y"),
    ("put_ivr_flow", "---Y"),
    ("list_calendars", "--YY"),
    ("get_calendar", "--YY"),
    ("put_calendar", "---Y"),
    ("delete_calendar", "---Y"),
    ("get_routes", "--YY"),
    ("put_routes", "---Y"),
    ("events", "-YYY"),
    ("live_snapshot", "-YYY"),
    ("transfer_targets", "-YYY"),
    ("set_my_state", "-Y--"),
    ("accept_offer", "-Y--"),
    ("contact_chat", "-YYY"),
    ("send_chat_message", "-Y--"),
    ("email_reply", "-YYY"),
    ("email_messages", "-YYY"),
    ("download_email_attachment", "-YYY"),
    ("wechat_handshake", "YYYY"),
    ("wechat_callback", "YYYY"),
    ("social_webhook", "YYYY"),
    ("social_messages", "-YYY"),
    ("social_reply", "-YYY"),
    ("chat_typing", "-Y--"),
    ("chat_read", "-Y--"),
    ("reject_offer", "-Y--"),
    ("end_contact", "-YYY"),
    ("wrap_up_contact", "-Y--"),
    ("transfer_contact", "-YYY"),
    ("hold_call", "-YYY"),
    ("resume_call", "-YYY"),
    ("pause_recording", "-YYY"),
    ("resume_recording", "-YYY"),
    ("consult_call", "-YYY"),
    ("complete_consult", "-YYY"),
    ("cancel_consult", "-YYY"),
    ("monitor_call", "--YY"),
    ("stop_monitor", "--YY"),
    ("force_agent_state", "--YY"),
    ("sign_out_agent", "--YY"),
    ("wallboard", "--YY"),
    ("list_alerts", "--YY"),
    ("home", "YYYY"),
    ("desktop_page", "YYYY"),
    ("wallboard_page", "YYYY"),
    ("admin_page", "YYYY"),
    ("reports_page", "YYYY"),
    ("recordings_page", "YYYY"),
    ("qa_page", "YYYY"),
    ("list_scorecards", "-YYY"),
    ("create_scorecard", "--YY"),
    ("get_scorecard", "-YYY"),
    ("update_scorecard", "--YY"),
    ("archive_scorecard", "--YY"),
    ("list_samples", "--YY"),
    ("create_sample", "--YY"),
    ("get_sample", "--YY"),
    ("list_evaluations", "-YYY"),
    ("create_evaluation", "--YY"),
    ("get_evaluation", "-YYY"),
    ("score_evaluation", "--YY"),
    ("publish_evaluation", "--YY"),
    ("acknowledge_evaluation", "-Y--"),
    ("dispute_evaluation", "-Y--"),
    ("resolve_evaluation", "--YY"),
    ("list_calibrations", "--YY"),
    ("create_calibration", "--YY"),
    ("get_calibration", "--YY"),
    ("score_calibration", "--YY"),
    ("qa_report", "--YY"),
    ("contact_transcript", "-YYY"),
    ("contact_speech", "-YYY"),
    ("asset", "YYYY"),
];

fn concrete_path(path: &str, op_id: &str, a: &common::Activity) -> String {
    let path = &path.replace("{attachment_id}", "0190f5a0-0000-7000-8000-0000000000ee");
    if !path.contains("{id}") {
        return path.to_owned();
    }
    let d = demo::dataset(common::T0);
    let id = match path.split('/').nth(2).unwrap_or("") {
        "agents" => common::demo_agent("1001").id.to_string(),
        "skills" => d.skills[0].id.to_string(),
        "queues" => d.queues[0].id.to_string(),
        "customers" => demo::customer_id(1).to_string(),
        "contacts" => a.contact_1001.to_string(),
        "recordings" => a.recording_1001.to_string(),
        "tickets" => a.ticket.to_string(),
        "orders" => d.orders[0].id.to_string(),
        "tokens" => "0190f5a0-0000-7000-8000-000000000000".to_owned(),
        "users" => d.users[0].user.id.to_string(),
        "qa" => "0190f5a0-0000-7000-8000-0000000000aa".to_owned(),
        other => panic!("{op_id}: no id for /{other}"),
    };
    path.replace("{id}", &id)
}

async fn decision(s: &TestServer, who: Option<&Browser>, method: &str, path: &str) -> (bool, String) {
    let method: Method = method.parse().expect("method");
    let unsafe_method = method != Method::GET;
    let mut req = match who {
        Some(b) => s.as_browser(b, method, path),
        None => s.anon(method, path),
    };
    if unsafe_method {
        req = req.json(&Value::Object(Default::default()));
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let kind = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["type"].as_str().map(str::to_owned));
    let denied = matches!(
        (status, kind.as_deref()),
        (401, Some("urn:hotline:problem:unauthenticated")) | (403, Some("urn:hotline:problem:forbidden"))
    );
    (!denied, format!("{status} {text}"))
}

#[tokio::test]
async fn every_route_admits_exactly_the_roles_the_matrix_expects() {
    let s = common::start().await;
    let activity = common::seed_activity(&s.store).await;
    let expected: BTreeMap<&str, &str> = EXPECTED.iter().copied().collect();
    let table: Vec<&str> = web::routes::ROUTES.iter().map(|r| r.op_id).collect();
    let missing: Vec<&&str> = table.iter().filter(|op| !expected.contains_key(**op)).collect();
    assert!(missing.is_empty(), "routes without an expected row: {missing:?}");
    assert_eq!(expected.len(), table.len(), "rows for routes that do not exist");

    let agent = s.agent("1001").await;
    let supervisor = s.supervisor().await;
    let admin = s.admin().await;
    let callers: [(&str, Option<&Browser>); 4] =
        [("anonymous", None), ("agent", Some(&agent)), ("supervisor", Some(&supervisor)), ("admin", Some(&admin))];
    let mut failures = Vec::new();
    // Sign-out last: it ends the session the other rows use.
    let mut routes: Vec<_> = web::routes::ROUTES.iter().collect();
    routes.sort_by_key(|r| r.op_id == "logout");
    for route in routes {
        let path = concrete_path(route.path, route.op_id, &activity);
        let row = expected[route.op_id].as_bytes();
        for (i, (name, who)) in callers.iter().enumerate() {
            let (allowed, answer) = decision(&s, *who, route.method, &path).await;
            if allowed != (row[i] == b'Y') {
                failures.push(format!("{} {path} as {name}: expected {}, got {answer}", route.method, row[i] as char));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
