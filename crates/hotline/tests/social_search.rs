//! A WeChat conversation is searchable and flags its contact by the keyword rules, through the real
//! binary (`hotline demo` with `[social]`): a signed WeChat text "我要投诉，快递三天没到" becomes a
//! contact; agent 1001 answers it over HTTP (delivered to a local customer-service API server that
//! follows the published protocol), ends it and wraps it up; then a supervisor's
//! `GET /api/search?q=快递` finds the customer's line as a `chat` hit on the `wechat` channel with
//! a `<mark>` highlight, `q=查询` finds the agent's answer, and the standard "complaint" rule has
//! flagged the contact (the stored text flag, and a QA sample picks it as flagged).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use common::server::{Launch, eventually, now_ms, store_at};
use common::session::Session;
use common::wechat;
use serde_json::{Value, json};

/// A WeChat API server that hands out a token and accepts every customer-service message.
fn wechat_api() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the API server");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let (mut line, mut length) = (String::new(), 0usize);
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let token = line.contains("/cgi-bin/token");
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((_, v)) = h.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")) {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let text = if token {
                json!({"access_token": "TOKEN1", "expires_in": 7200})
            } else {
                json!({"errcode": 0, "errmsg": "ok"})
            }
            .to_string();
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    port
}

/// `GET /api/search?{query}` as `session`: the hits.
fn hits(session: &Session, query: &str) -> Vec<Value> {
    let v = session.ok("GET", &format!("/api/search?{query}"), None);
    v["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_complaining_wechat_conversation_is_found_by_search_with_highlights_and_flags_its_contact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wechat_token, api_port) = ("hotlineWeChat42", wechat_api());
    let config = format!(
        "[social]\nwechat_token = \"{wechat_token}\"\nwechat_app_id = \"wxapp42\"\nwechat_app_secret = \"appsecret42\"\n\
         wechat_api_base = \"http://127.0.0.1:{api_port}\"\nreply_initial_backoff_ms = 100\n"
    );
    let server = Launch::demo(dir.path()).config(&config).start();
    let started_ms = now_ms() - 1_000;
    let agent = server.login("1001", "demo1001");
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let supervisor = server.login("supervisor", "demosuper");

    // The customer complains to the official account, signed as WeChat signs its callbacks.
    let xml = wechat::text("oCustomer42", "我要投诉，快递三天没到", 1234567890123456);
    let r = wechat::callback(&server.base, wechat_token, xml);
    assert_eq!(r.status().as_u16(), 200);

    // Agent 1001 takes it, answers, ends it and wraps it up (no note: only the conversation can flag it).
    let contact = eventually(30, "the WeChat text offered to 1001", || agent.my_contacts("1001").into_iter().next());
    agent.ok("POST", &format!("/api/contacts/{contact}/accept"), None);
    let queued = agent.ok(
        "POST",
        &format!("/api/contacts/{contact}/social/reply"),
        Some(json!({"text": "非常抱歉，我们马上查询您的包裹。"})),
    );
    assert_eq!(queued["status"], "queued", "{queued}");
    agent.ok("POST", &format!("/api/contacts/{contact}/end"), None);
    agent.ok("POST", &format!("/api/contacts/{contact}/wrap-up"), Some(json!({"disposition": "resolved"})));

    // The customer's line is found, highlighted, as a chat line on the WeChat channel.
    let found = eventually(30, "the WeChat text found by search", || {
        let h = hits(&supervisor, "q=%E5%BF%AB%E9%80%92"); // 快递
        (!h.is_empty()).then_some(h)
    });
    assert_eq!(found.len(), 1, "{found:?}");
    let hit = &found[0];
    assert_eq!(
        (&hit["contact"], &hit["kind"], &hit["channel"], &hit["speaker"]),
        (&json!(contact), &json!("chat"), &json!("wechat"), &json!("customer")),
        "{hit}"
    );
    assert!(hit["snippet_html"].as_str().is_some_and(|s| s.contains("<mark>快递</mark>")), "{hit}");
    // The agent's answer is indexed too, and the kind filter keeps the conversation's lines.
    let answer = eventually(30, "the agent's answer found by search", || {
        let h = hits(&supervisor, "q=%E6%9F%A5%E8%AF%A2&kind=chat"); // 查询
        (!h.is_empty()).then_some(h)
    });
    assert_eq!((&answer[0]["contact"], &answer[0]["speaker"]), (&json!(contact), &json!("agent")), "{answer:?}");
    assert!(hits(&supervisor, "q=%E5%BF%AB%E9%80%92&kind=email").is_empty(), "no email says 快递");

    // The standard complaint rule flagged the contact on the customer's line, and QA picks it as flagged.
    let sampled = eventually(30, "the WeChat contact flagged in a QA sample", || {
        let body = json!({"from_ms": started_ms, "to_ms": now_ms() + 3_600_000, "per_agent": 10,
                          "include_flagged": true, "seed": 7});
        let s = supervisor.ok("POST", "/api/qa/samples", Some(body));
        let sampled = s["contacts"].as_array().cloned().unwrap_or_default();
        sampled.iter().any(|c| c["contact"] == contact.as_str() && c["reason"] == "flagged").then_some(sampled)
    });
    assert!(!sampled.is_empty());
    let (rt, store) = store_at(dir.path());
    let org = demo::DEMO_ORG;
    let flags = rt
        .block_on(store.list_text_flags(org, contact.parse().expect("contact id")))
        .expect("the contact's text flags");
    let seen: Vec<(&str, &str, store::FlaggedText, u32)> =
        flags.iter().map(|f| (f.rule.as_str(), f.keyword.as_str(), f.text, f.text_ordinal)).collect();
    assert_eq!(seen, vec![("complaint", "投诉", store::FlaggedText::ChatMessage, 0)], "the customer's first line");
    server.stop();
}
