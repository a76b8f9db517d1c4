//! Keyword rules through the real binary: `[[search.keyword_rules]]` in the configuration, chats
//! over the widget's WebSocket, and what supervisors see over HTTP.
//!
//! - A configured rule ("cancel": 退订, cancel*) flags the chat whose customer wrote "我要退订":
//!   a QA sample with `include_flagged` picks it as flagged; the configured rules replace the
//!   standard ones, so a chat asking for "退款" in the same run is not flagged.
//!   `GET /api/contacts/{id}/flags` says why (rule, keyword, which chat message).
//! - With no rules configured the standard ones apply: two chats saying "我要投诉" raise the
//!   complaint alert of `[[alerts.rules]]` (keyword_flags = ["complaint"], threshold 1) on
//!   `GET /api/alerts`, the wallboard's source, each contact counted once however often its texts
//!   are indexed, and both are flagged in a QA sample.
//! - A bad rule stops start-up with one line naming its key, before anything is written.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::server::{Launch, Server, eventually, now_ms};
use common::session::Session;
use common::widget::{say, until, widget};
use serde_json::json;

/// A web chat in which the customer writes `text`: agent 1001 takes it, ends it and wraps it up
/// (disposition `resolved`, no note, so only the chat can flag it). Returns the contact id.
fn chat(server: &Server, agent: &Session, text: &str) -> String {
    let before = agent.my_contacts("1001");
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let mut ws = widget(&server.base);
    say(&mut ws, json!({"type": "hello", "v": 1}));
    until(&mut ws, "welcome");
    say(&mut ws, json!({"type": "prechat", "name": "王小明", "issue_type": "order", "language": "zh-CN"}));
    let contact = eventually(30, "the chat offered to 1001", || {
        agent.my_contacts("1001").into_iter().find(|c| !before.contains(c))
    });
    agent.ok("POST", &format!("/api/contacts/{contact}/accept"), None);
    say(&mut ws, json!({"type": "msg", "client_msg_id": "m1", "text": text}));
    until(&mut ws, "ack");
    agent.ok("POST", &format!("/api/contacts/{contact}/end"), None);
    agent.ok("POST", &format!("/api/contacts/{contact}/wrap-up"), Some(json!({"disposition": "resolved"})));
    contact
}

/// A QA sample of everything that ended since `from_ms` (up to 10 random contacts per agent plus
/// every flagged one): contact id → reason (`flagged` or `random`).
fn sample(supervisor: &Session, from_ms: i64) -> Vec<(String, String)> {
    let body =
        json!({"from_ms": from_ms, "to_ms": now_ms() + 3_600_000, "per_agent": 10, "include_flagged": true, "seed": 7});
    let s = supervisor.ok("POST", "/api/qa/samples", Some(body));
    s["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .map(|c| (c["contact"].as_str().expect("id").to_owned(), c["reason"].as_str().expect("reason").to_owned()))
        .collect()
}

fn reason(sampled: &[(String, String)], contact: &str) -> Option<String> {
    sampled.iter().find(|(c, _)| c == contact).map(|(_, r)| r.clone())
}

#[test]
fn a_configured_rule_flags_a_chat_contact_for_qa_and_replaces_the_standard_rules() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = "[[search.keyword_rules]]\nname = \"cancel\"\nkeywords = [\"退订\", \"cancel*\"]\n";
    let server = Launch::demo(tmp.path()).config(config).start();
    let started_ms = now_ms() - 1_000;
    let agent = server.login("1001", "demo1001");
    let supervisor = server.login("supervisor", "demosuper");

    // First a refund request (a standard rule's word, not a configured one), then the cancellation.
    let refund = chat(&server, &agent, "我要退款");
    let cancel = chat(&server, &agent, "你好，我要退订这个服务");
    // One worker indexes contacts in order, so once the second is flagged the first was indexed.
    let sampled = eventually(30, "the cancelling chat flagged in a QA sample", || {
        let s = sample(&supervisor, started_ms);
        (reason(&s, &cancel).as_deref() == Some("flagged")).then_some(s)
    });
    assert_eq!(reason(&sampled, &refund).as_deref(), Some("random"), "退款 flags nothing here: {sampled:?}");

    // Why it was flagged, for the supervisor and for the agent who handled it.
    for who in [&supervisor, &agent] {
        let flags = who.ok("GET", &format!("/api/contacts/{cancel}/flags"), None);
        let items = flags["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "{flags}");
        let f = &items[0];
        assert_eq!(
            (f["rule"].as_str(), f["keyword"].as_str(), f["source"].as_str()),
            (Some("cancel"), Some("退订"), Some("chat"))
        );
        assert!(f["ordinal"].is_u64() && f["flagged_at_ms"].as_i64() >= Some(started_ms), "{f}");
    }
    let none = supervisor.ok("GET", &format!("/api/contacts/{refund}/flags"), None);
    assert_eq!(none["items"], json!([]), "{none}");
    server.stop();
}

#[test]
fn standard_rules_flag_complaining_chats_for_the_complaint_alert_and_qa() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = "[[alerts.rules]]\nname = \"chat complaints\"\nkeyword_flags = [\"complaint\"]\nthreshold = 1\n\
                  window_s = 3600\n";
    let server = Launch::demo(tmp.path()).config(config).start();
    let started_ms = now_ms() - 1_000;
    let agent = server.login("1001", "demo1001");
    let supervisor = server.login("supervisor", "demosuper");
    let alerts = supervisor.ok("GET", "/api/alerts", None);
    assert_eq!(alerts["configured"], true);
    assert_eq!(alerts["active"], json!([]), "nothing raised yet: {alerts}");

    let first = chat(&server, &agent, "快递一直不到，我要投诉！");
    let second = chat(&server, &agent, "我要投诉你们的客服");
    // More than one complaining contact in the window: the wallboard's alert is raised. Each
    // contact's texts are indexed on answer, end and wrap-up; the count stays 2.
    let raised = eventually(30, "the complaint alert raised", || {
        let a = supervisor.ok("GET", "/api/alerts", None);
        a["active"].as_array().and_then(|v| v.iter().find(|n| n["rule"] == "chat complaints").cloned())
    });
    assert_eq!(raised["state"], "raised", "{raised}");
    assert_eq!(raised["complaints"], 2, "each complaining contact counts once: {raised}");
    assert_eq!(raised["threshold"], 1);

    let sampled = eventually(30, "both chats flagged in a QA sample", || {
        let s = sample(&supervisor, started_ms);
        [&first, &second].iter().all(|c| reason(&s, c).as_deref() == Some("flagged")).then_some(s)
    });
    assert!(sampled.iter().all(|(_, r)| r == "flagged"), "{sampled:?}");
    server.stop();
}

#[test]
fn a_bad_keyword_rule_stops_start_up_with_one_line_naming_its_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("hotline.toml");
    std::fs::write(&file, "[[search.keyword_rules]]\nname = \"cancel\"\nkeywords = [\"退订\", \"can*cel\"]\n")
        .expect("config");
    let expected = "hotline: search.keyword_rules[0].keywords[1]: keyword \"can*cel\" must be 1 to 64 characters \
                    with at most a trailing *";
    for args in [&["serve", "--data-dir", "state", "--config"][..], &["check-config"][..]] {
        let out = hotline(tmp.path()).args(args).arg(&file).output().expect("run hotline");
        assert!(!out.status.success(), "{args:?} must fail");
        let err = String::from_utf8_lossy(&out.stderr).trim_end().to_owned();
        assert_eq!(err, expected, "{args:?}: one line naming the key");
    }
    assert!(!tmp.path().join("state").exists(), "nothing written before the configuration is valid");
}

fn hotline(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hotline"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HOTLINE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOTLINE_LOG_LEVEL", "warn").current_dir(dir).stdin(Stdio::null());
    cmd
}
