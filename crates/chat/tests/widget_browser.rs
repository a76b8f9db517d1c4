//! The widget in a real browser: Debian's Chromium, driven by playwright-core from
//! `browser/widget_test.mjs`, loads a customer page (served from another origin) that embeds the
//! widget with one script tag, opens it, fills the pre-chat form and sends a message; the test
//! checks the browser saw the server's acknowledgement and the agent's reply. Then the server
//! closes every chat socket and the agent writes while the customer is away; the customer sends
//! again at once; the widget reconnects, resumes, and shows every message exactly once in
//! sequence order, as the server stored them. The screenshot is saved as
//! `target/screenshots/chat-widget.png`.
//!
//! Needs `chromium` (Debian) and `npm ci --prefix crates/chat/browser` (playwright-core).

mod support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chat::{Author, ChatEvent, ConversationId};
use model::AgentId;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use web::chat_ws::ChatSettings;

const MESSAGE: &str = "你好,我的订单 100001 什么时候发货?";
const REPLY: &str = "您好,订单今天下午发出。";
const SECOND: &str = "好的,谢谢!快递单号是多少?";
const AWAY: &str = "快递单号是 SF1234567890。";

/// Serves the customer's page (any path) until dropped.
async fn serve_page(listener: tokio::net::TcpListener, chat_addr: std::net::SocketAddr) {
    let page = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>Demo Shop</title></head>\
         <body style=\"font-family:sans-serif;margin:40px\"><h1>Demo Shop 演示商店</h1>\
         <p>新品上市,全场包邮。</p>\
         <script src=\"http://{chat_addr}/chat/widget.js\" data-lang=\"zh-CN\" async></script></body></html>"
    );
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { return };
        let page = page.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

type Taken = Arc<Mutex<Option<ConversationId>>>;

/// The agent side: takes every queued chat (noting its id) and answers the customer's message.
fn run_agent(hub: Arc<web::chat_ws::ChatHub>) -> (tokio::task::JoinHandle<()>, Taken) {
    let agent = AgentId::from_u128(1001);
    hub.set_agent_available(agent, true).expect("room for one agent");
    let mut events = hub.subscribe();
    let taken = Taken::default();
    let noted = taken.clone();
    let task = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event {
                ChatEvent::Started { conversation_id, offline: false, .. } => {
                    hub.accept(&conversation_id, agent).expect("queued");
                    *noted.lock().expect("not poisoned") = Some(conversation_id);
                }
                ChatEvent::Message { conversation_id, entry } if entry.from == Author::Customer => {
                    hub.agent_send(&conversation_id, agent, "reply-1", REPLY).expect("agent reply");
                }
                _ => {}
            }
        }
    });
    (task, taken)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_opens_takes_the_prechat_form_sends_and_shows_the_ack_and_the_reply() {
    let browser_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci --prefix crates/chat/browser` (playwright-core) and `apt-get install -y chromium`"
    );
    let page_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind page");
    let page_origin = format!("http://{}", page_listener.local_addr().expect("addr"));
    let server =
        support::start(ChatSettings { allowed_origins: vec![page_origin.clone()], ..ChatSettings::default() }).await;
    let page_task = tokio::spawn(serve_page(page_listener, server.addr));
    let (agent_task, taken) = run_agent(server.hub.clone());

    let screenshots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&screenshots).expect("screenshot folder");
    let screenshot = screenshots.join("chat-widget.png");
    let mut node = tokio::process::Command::new("node")
        .arg("widget_test.mjs")
        .arg(format!("{page_origin}/shop"))
        .arg(&screenshot)
        .args([MESSAGE, REPLY, SECOND, AWAY])
        .current_dir(&browser_dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = node.stdin.take().expect("piped");
    let mut lines = tokio::io::BufReader::new(node.stdout.take().expect("piped")).lines();
    let mut stdout = String::new();
    while let Some(line) = lines.next_line().await.expect("read node's output") {
        stdout.push_str(&line);
        stdout.push('\n');
        if line.contains(r#""phase":"connected""#) {
            // Every socket closes; the agent writes while the customer is away.
            server.hub.close_connections();
            let id = taken.lock().expect("not poisoned").clone().expect("the agent took the chat");
            server.hub.agent_send(&id, AgentId::from_u128(1001), "away-1", AWAY).expect("agent writes");
            stdin.write_all(b"dropped\n").await.expect("tell the browser");
        }
    }
    let output = node.wait_with_output().await.expect("node ends");
    page_task.abort();
    agent_task.abort();
    assert!(output.status.success(), "browser run failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));

    let seen: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("one JSON line");
    assert_eq!(seen["phase"], "resumed", "{stdout}");
    assert_eq!(seen["buttonText"], "在线客服", "the zh-CN strings are used");
    assert_eq!(seen["consoleErrors"], serde_json::json!([]));
    assert!(
        seen["systemLines"].as_array().expect("lines").iter().any(|l| l.as_str().is_some_and(|l| l.contains("转接"))),
        "{seen}"
    );
    let seq = seen["seq"].as_u64().expect("the acknowledged sequence number");
    // The server stored the message once, under the number the browser showed.
    let id = taken.lock().expect("not poisoned").clone().expect("the agent took the chat");
    let transcript = server.hub.transcript(&id, 0).expect("conversation");
    let stored: Vec<u64> =
        transcript.iter().filter(|e| e.from == Author::Customer && e.text == MESSAGE).map(|e| e.seq).collect();
    assert_eq!(stored, vec![seq]);
    // After the drop and resume the browser shows exactly the stored conversation, in order.
    let shown: Vec<(u64, String)> = seen["shown"]
        .as_array()
        .expect("shown")
        .iter()
        .map(|m| (m["seq"].as_u64().unwrap_or(0), m["text"].as_str().unwrap_or_default().to_owned()))
        .filter(|(seq, _)| *seq > 0)
        .collect();
    let expected: Vec<(u64, String)> = transcript.iter().map(|e| (e.seq, e.text.clone())).collect();
    assert_eq!(shown, expected);
    for text in [MESSAGE, REPLY, SECOND, AWAY] {
        assert_eq!(expected.iter().filter(|(_, t)| t == text).count(), 1, "{text} stored once");
    }
    assert!(server.hub.counters().resumes >= 1, "the widget resumed the conversation");
    assert!(screenshot.is_file());
}
