//! The desktop's side of a web chat over real HTTP and a real chat WebSocket: a customer's chat
//! is routed by the live center to agent 1001, who accepts it through the API and exchanges
//! messages with the customer (typing, read marks); another agent can neither read nor write it.

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use center::LiveEvent;
use model::Channel;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(20);

async fn widget(base: &str) -> Ws {
    let ws_url = base.replacen("http://", "ws://", 1) + "/chat/ws";
    let mut request = ws_url.into_client_request().expect("request");
    request.headers_mut().insert("Origin", base.parse().expect("origin"));
    tokio_tungstenite::connect_async(request).await.expect("chat socket").0
}

async fn say(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.expect("send");
}

/// Frames until one has `type` = `kind` (and passes `pred`).
async fn until(ws: &mut Ws, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("a frame in time").expect("open").expect("ok");
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(text.as_str()).expect("json");
            if v["type"] == kind && pred(&v) {
                return v;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_accepts_a_chat_and_exchanges_messages_with_the_customer_through_the_api() {
    let s = common::start_live(common::config()).await;
    let a1 = s.agent("1001").await;
    let a2 = s.agent("1002").await;
    let mut live = s.center.subscribe();
    let put_state = s.as_browser(&a1, Method::PUT, "/api/me/state").json(&json!({"state": "available"}));
    assert_eq!(put_state.send().await.expect("state").status(), 204);

    let mut ws = widget(&s.base).await;
    say(&mut ws, json!({"type": "hello", "v": 1})).await;
    until(&mut ws, "welcome", |_| true).await;
    let form = json!({"type": "prechat", "name": "王小明", "issue_type": "order", "language": "zh-CN"});
    say(&mut ws, form).await;
    let contact = loop {
        let e = tokio::time::timeout(WAIT, live.recv()).await.expect("an offer in time").expect("open");
        if let LiveEvent::ContactOffered { contact, channel: Channel::Chat, .. } = e {
            break contact;
        }
    };
    let accept = s.as_browser(&a1, Method::POST, &format!("/api/contacts/{contact}/accept"));
    assert_eq!(accept.send().await.expect("accept").status(), 204);
    until(&mut ws, "msg", |m| m["text"].as_str().is_some_and(|t| t.contains("客服已接入"))).await;

    let chat = format!("/api/contacts/{contact}/chat");
    let body = json!({"id": "d1", "text": "您好,请问有什么可以帮您?"});
    let sent = s.as_browser(&a1, Method::POST, &format!("{chat}/messages")).json(&body).send().await.expect("send");
    assert_eq!(sent.status(), 201);
    let seq = common::json(sent).await["seq"].as_u64().expect("seq");
    let shown = until(&mut ws, "msg", |m| m["from"] == "agent").await;
    assert_eq!((shown["seq"].as_u64(), shown["text"].as_str()), (Some(seq), Some("您好,请问有什么可以帮您?")));
    let again = s.as_browser(&a1, Method::POST, &format!("{chat}/messages")).json(&body).send().await.expect("retry");
    assert_eq!(common::json(again).await["seq"].as_u64(), Some(seq), "a retried send is stored once");

    let typing = s.as_browser(&a1, Method::POST, &format!("{chat}/typing")).send().await.expect("typing");
    assert_eq!(typing.status(), 204);
    until(&mut ws, "typing", |_| true).await;
    say(&mut ws, json!({"type": "typing"})).await;
    say(&mut ws, json!({"type": "msg", "client_msg_id": "c1", "text": "订单 DS-1001 还没到"})).await;
    let ack = until(&mut ws, "ack", |_| true).await;
    let customer_seq = ack["seq"].as_u64().expect("seq");
    say(&mut ws, json!({"type": "read", "up_to_seq": seq})).await;

    let deadline = tokio::time::Instant::now() + WAIT;
    let view = loop {
        let view =
            common::json(s.as_browser(&a1, Method::GET, &format!("{chat}?after={seq}")).send().await.expect("get"))
                .await;
        if view["customer_read_seq"].as_u64() == Some(seq) || tokio::time::Instant::now() > deadline {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(view["state"], "open");
    assert_eq!(view["customer_typing"], true);
    let texts: Vec<(&str, u64)> = view["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| (m["text"].as_str().unwrap_or(""), m["seq"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(texts, vec![("订单 DS-1001 还没到", customer_seq)], "only what came after the agent's message");
    assert_eq!(view["customer_read_seq"].as_u64(), Some(seq));

    let read = s.as_browser(&a1, Method::POST, &format!("{chat}/read")).json(&json!({"up_to_seq": customer_seq}));
    assert_eq!(read.send().await.expect("read").status(), 204);
    let mark = until(&mut ws, "read", |_| true).await;
    assert_eq!(mark["up_to_seq"].as_u64(), Some(customer_seq));

    let other = s.as_browser(&a2, Method::POST, &format!("{chat}/messages")).json(&json!({"id": "x", "text": "hi"}));
    assert_eq!(other.send().await.expect("other").status(), 403, "another agent may not write in it");
    let peek = s.as_browser(&a2, Method::GET, &chat).send().await.expect("peek");
    assert_eq!(peek.status(), 404, "another agent may not read it");
}
