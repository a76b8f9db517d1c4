//! Chat edges through the real binaries: `hotline demo` with `[chat] edge_secret`, and
//! `hotline chat-edge` holding the customer's WebSocket and relaying it over one link.
//!
//! - A customer chats through the edge: the widget served by the edge, welcome, pre-chat, the
//!   chat offered to agent 1001 who accepts it; messages both ways with their sequence numbers.
//! - The customer's connection drops; the agent writes meanwhile; the widget reconnects through
//!   the edge and resumes: the missed message is replayed exactly once, nothing is lost.
//! - An edge with the wrong secret is refused (401 on `/chat/edge`), stays unlinked (`/healthz`
//!   503) and refuses customers (503) instead of accepting chats it cannot deliver.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{Launch, Server, eventually};
use common::widget::{Ws, say, until, widget};
use serde_json::{Value, json};

const SECRET: &str = "edge-secret-0123456789";

/// A `hotline chat-edge` this test owns, killed when dropped.
struct EdgeProcess {
    child: Child,
    base: String,
}

impl EdgeProcess {
    fn start(dir: &std::path::Path, core: &str, secret: &str) -> EdgeProcess {
        let config = dir.join(format!("edge-{}.toml", secret.len()));
        std::fs::write(&config, format!("[chat]\nedge_secret = \"{secret}\"\n")).expect("config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hotline"));
        for (k, _) in std::env::vars() {
            if k.starts_with("HOTLINE_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(["chat-edge", "--core", core, "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("HOTLINE_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn hotline chat-edge");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the listening line");
        let addr = line.trim().strip_prefix("chat edge listening on ").unwrap_or_else(|| panic!("{line:?}"));
        EdgeProcess { child, base: format!("http://{addr}") }
    }

    fn health(&self) -> (u16, Value) {
        let r = reqwest::blocking::get(format!("{}/healthz", self.base)).expect("edge health");
        (r.status().as_u16(), r.json().expect("json"))
    }
}

impl Drop for EdgeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Frames until a `msg` with `text`; returns its sequence number.
fn until_text(ws: &mut Ws, text: &str) -> u64 {
    loop {
        let m = until(ws, "msg");
        if m["text"] == text {
            return m["seq"].as_u64().expect("seq");
        }
    }
}

/// The status of a WebSocket upgrade of `/chat/edge` presenting `secret`.
fn link_attempt(server: &Server, secret: &str) -> u16 {
    reqwest::blocking::Client::new()
        .get(format!("{}/chat/edge", server.base))
        .header("authorization", format!("Bearer {secret}"))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .expect("link attempt")
        .status()
        .as_u16()
}

#[test]
fn a_customer_chats_through_an_edge_and_resumes_after_a_drop_without_loss() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = format!("[chat]\nedge_secret = \"{SECRET}\"\n");
    let server: Server = Launch::demo(tmp.path()).config(&config).start();
    let edge = EdgeProcess::start(tmp.path(), &server.base, SECRET);
    eventually(30, "the edge linked to the core", || (edge.health().0 == 200).then_some(()));
    let widget_js = reqwest::blocking::get(format!("{}/chat/widget.js", edge.base)).expect("widget");
    assert_eq!(widget_js.status(), 200, "the edge serves the widget");

    let agent = server.login("1001", "demo1001");
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let before = agent.my_contacts("1001");
    let mut ws = widget(&edge.base);
    say(&mut ws, json!({"type": "hello", "v": 1}));
    let welcome = until(&mut ws, "welcome");
    let (conversation, token) = (
        welcome["conversation_id"].as_str().expect("id").to_owned(),
        welcome["token"].as_str().expect("token").to_owned(),
    );
    say(&mut ws, json!({"type": "prechat", "name": "韩梅梅", "issue_type": "order", "language": "zh-CN"}));
    let contact = eventually(30, "the chat offered to 1001", || {
        agent.my_contacts("1001").into_iter().find(|c| !before.contains(c))
    });
    agent.ok("POST", &format!("/api/contacts/{contact}/accept"), None);
    say(&mut ws, json!({"type": "msg", "client_msg_id": "c1", "text": "我的快递到哪了？"}));
    let ack = until(&mut ws, "ack");
    assert_eq!(ack["client_msg_id"], "c1");
    let sent = agent.ok(
        "POST",
        &format!("/api/contacts/{contact}/chat/messages"),
        Some(json!({"id": "a1", "text": "正在为您查询"})),
    );
    let first_seq = until_text(&mut ws, "正在为您查询");
    assert_eq!(Some(first_seq), sent["seq"].as_u64());
    let (status, health) = edge.health();
    assert_eq!((status, health["connections"].as_u64()), (200, Some(1)), "{health}");

    // The customer's network drops; the agent answers meanwhile.
    drop(ws);
    agent.ok("POST", &format!("/api/contacts/{contact}/chat/messages"), Some(json!({"id": "a2", "text": "明天送达"})));
    let mut ws = widget(&edge.base);
    say(
        &mut ws,
        json!({"type": "hello", "v": 1, "conversation_id": conversation, "token": token, "resume_after_seq": first_seq}),
    );
    let resumed = until(&mut ws, "welcome");
    assert_eq!(resumed["conversation_id"], conversation.as_str());
    let replayed = until_text(&mut ws, "明天送达");
    assert_eq!(replayed, first_seq + 1, "the missed message, next in sequence");
    say(&mut ws, json!({"type": "msg", "client_msg_id": "c2", "text": "谢谢"}));
    until(&mut ws, "ack");
    // Exactly once: the conversation as the agent reads it has each message once, in order.
    let chat = agent.ok("GET", &format!("/api/contacts/{contact}/chat"), None);
    let texts: Vec<&str> =
        chat["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    let mine: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|t| ["我的快递到哪了？", "正在为您查询", "明天送达", "谢谢"].contains(t))
        .collect();
    assert_eq!(mine, ["我的快递到哪了？", "正在为您查询", "明天送达", "谢谢"], "{chat}");
    server.stop();
}

#[test]
fn an_edge_with_the_wrong_secret_is_refused_and_refuses_customers() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = format!("[chat]\nedge_secret = \"{SECRET}\"\n");
    let server = Launch::demo(tmp.path()).config(&config).start();
    assert_eq!(link_attempt(&server, "not-the-edge-secret-at-all"), 401);

    let edge = EdgeProcess::start(tmp.path(), &server.base, "wrong-edge-secret-0123456");
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        assert_eq!(edge.health().0, 503, "never linked with a wrong secret");
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(
        edge.base.replacen("http://", "ws://", 1) + "/chat/ws",
    )
    .expect("request");
    request.headers_mut().insert("Origin", edge.base.parse().expect("origin"));
    let refused = tungstenite::connect(request);
    match refused {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
    server.stop();
}

#[test]
fn without_an_edge_secret_the_link_route_does_not_exist() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = Launch::demo(tmp.path()).start();
    assert_eq!(link_attempt(&server, SECRET), 404);
    server.stop();
}
