//! The WebSocket event stream over real HTTP with a real WebSocket client (tokio-tungstenite),
//! against the real `center` over a seeded SQLite store: role filtering, refusals (anonymous,
//! foreign Origin, too many streams), and the closes (session ended, idle client).

mod common;

use std::time::Duration;

use common::{Browser, LiveServer, start_live, voice_contact};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Longest wait for an expected frame before the test fails (a failure bound, not a timing).
const FRAME_WAIT: Duration = Duration::from_secs(20);

fn ws_url(s: &LiveServer) -> String {
    format!("{}/api/events", s.base.replace("http://", "ws://"))
}

fn request(s: &LiveServer, cookie: Option<&str>, origin: Option<&str>) -> tungstenite::handshake::client::Request {
    let mut req = ws_url(s).into_client_request().expect("request");
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", c.parse().expect("cookie header"));
    }
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().expect("origin header"));
    }
    req
}

async fn connect(s: &LiveServer, b: &Browser) -> Ws {
    let (ws, resp) =
        tokio_tungstenite::connect_async(request(s, Some(&b.cookie), Some(&s.base))).await.expect("event stream opens");
    assert_eq!(resp.status(), 101);
    ws
}

/// The HTTP status a refused handshake got.
async fn refused(s: &LiveServer, cookie: Option<&str>, origin: Option<&str>) -> u16 {
    match tokio_tungstenite::connect_async(request(s, cookie, origin)).await {
        Ok(_) => panic!("the handshake was accepted"),
        Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// Reads text frames until one satisfies `done`; returns every frame read, that one last.
async fn frames_until(ws: &mut Ws, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    let read = async {
        while let Some(msg) = ws.next().await {
            match msg.expect("frame") {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).expect("JSON frame");
                    let stop = done(&v);
                    seen.push(v);
                    if stop {
                        return;
                    }
                }
                Message::Close(c) => panic!("closed: {c:?}; frames so far: {seen:?}"),
                _ => {}
            }
        }
        panic!("stream ended");
    };
    tokio::time::timeout(FRAME_WAIT, read).await.expect("expected frame arrives");
    seen
}

fn agent_id(b: &Browser) -> String {
    b.me["agent"]["id"].as_str().map(str::to_owned).unwrap_or_default()
}

async fn me(s: &LiveServer, b: Browser) -> Browser {
    let me = common::json(s.as_browser(&b, Method::GET, "/api/me").send().await.expect("me")).await;
    Browser { me, ..b }
}

async fn go_available(s: &LiveServer, b: &Browser) {
    let resp = s.as_browser(b, Method::PUT, "/api/me/state").json(&json!({"state": "available"})).send().await;
    assert_eq!(resp.expect("state").status(), 204);
}

fn is_offer(contact: &str) -> impl Fn(&Value) -> bool + '_ {
    move |v| v["type"] == "contact_offered" && v["contact"] == contact
}

#[tokio::test]
async fn an_agent_sees_their_own_offer_and_not_anothers_while_a_supervisor_sees_both() {
    let s = start_live(common::config()).await;
    let (a1, a2) = (me(&s, s.agent("1001").await).await, me(&s, s.agent("1002").await).await);
    let sup = s.supervisor().await;
    let (mut ws1, mut ws2, mut ws_sup) = (connect(&s, &a1).await, connect(&s, &a2).await, connect(&s, &sup).await);
    for ws in [&mut ws1, &mut ws2, &mut ws_sup] {
        let first = frames_until(ws, |_| true).await;
        assert_eq!(first[0]["type"], "snapshot");
    }

    go_available(&s, &a1).await;
    let c1 = s.center.submit(voice_contact(2)).await.expect("submit").to_string();
    let seen1 = frames_until(&mut ws1, is_offer(&c1)).await;
    assert_eq!(seen1.last().expect("offer")["agent"], agent_id(&a1));

    go_available(&s, &a2).await;
    let c2 = s.center.submit(voice_contact(4)).await.expect("submit").to_string();
    let seen2 = frames_until(&mut ws2, is_offer(&c2)).await;
    assert_eq!(seen2.last().expect("offer")["agent"], agent_id(&a2));

    let sup_seen = frames_until(&mut ws_sup, is_offer(&c2)).await;
    assert!(sup_seen.iter().any(is_offer(&c1)), "the supervisor saw agent 1001's offer");

    // Each agent accepts; their answer is after the other's offer in the one ordered stream, so
    // everything before it has been delivered (or filtered) by then.
    for (b, c) in [(&a1, &c1), (&a2, &c2)] {
        let resp = s.as_browser(b, Method::POST, &format!("/api/contacts/{c}/accept")).send().await.expect("accept");
        assert_eq!(resp.status(), 204);
    }
    let answered = |c: &str| {
        let c = c.to_owned();
        move |v: &Value| v["type"] == "contact_answered" && v["contact"] == c.as_str()
    };
    let rest1 = frames_until(&mut ws1, answered(&c1)).await;
    let rest2 = frames_until(&mut ws2, answered(&c2)).await;
    let mentions = |frames: &[Value], needle: &str| frames.iter().any(|f| f.to_string().contains(needle));
    assert!(!mentions(&[seen1, rest1].concat(), &c2), "agent 1001 saw agent 1002's contact");
    assert!(!mentions(&[seen2, rest2].concat(), &c1), "agent 1002 saw agent 1001's contact");
}

#[tokio::test]
async fn anonymous_and_stale_cookies_are_refused() {
    let s = start_live(common::config()).await;
    assert_eq!(refused(&s, None, Some(&s.base)).await, 401);
    assert_eq!(refused(&s, Some("hl_session=not-a-session"), Some(&s.base)).await, 401);
}

#[tokio::test]
async fn a_foreign_origin_is_refused() {
    let s = start_live(common::config()).await;
    let sup = s.supervisor().await;
    assert_eq!(refused(&s, Some(&sup.cookie), Some("http://evil.example")).await, 403);
}

#[tokio::test]
async fn a_user_may_open_only_so_many_streams() {
    let mut config = common::config();
    config.events.max_connections_per_user = 2;
    let s = start_live(config).await;
    let sup = s.supervisor().await;
    let _keep = (connect(&s, &sup).await, connect(&s, &sup).await);
    assert_eq!(refused(&s, Some(&sup.cookie), Some(&s.base)).await, 429);
    // Another person is not affected.
    let _other = connect(&s, &s.admin().await).await;
}

#[tokio::test]
async fn signing_out_closes_the_stream_with_the_session_ended_code() {
    let mut config = common::config();
    config.events.ping_interval_ms = 50;
    let s = start_live(config).await;
    let sup = s.supervisor().await;
    let mut ws = connect(&s, &sup).await;
    frames_until(&mut ws, |v| v["type"] == "snapshot").await;
    let resp = s.as_browser(&sup, Method::POST, "/api/auth/logout").send().await.expect("logout");
    assert_eq!(resp.status(), 204);
    let close = tokio::time::timeout(FRAME_WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                other => panic!("stream ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("closed");
    assert_eq!(close, Some(4003));
    let _ = ws.close(None).await;
}

/// A raw TCP client that completes the handshake and then only reads bytes: it never answers a
/// ping (a WebSocket library would), so the server must close it as idle.
#[tokio::test]
async fn a_client_that_never_answers_pings_is_closed_as_idle() {
    let mut config = common::config();
    config.events.ping_interval_ms = 50;
    config.events.idle_timeout_ms = 150;
    let s = start_live(config).await;
    let sup = s.supervisor().await;
    let host = s.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&host).await.expect("tcp");
    let handshake = format!(
        "GET /api/events HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: {}\r\n\r\n",
        sup.cookie
    );
    tcp.write_all(handshake.as_bytes()).await.expect("handshake");
    let mut bytes = Vec::new();
    tokio::time::timeout(FRAME_WAIT, tcp.read_to_end(&mut bytes)).await.expect("server closes").expect("read");
    assert!(bytes.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&bytes[..bytes.len().min(200)]));
    // A server close frame: FIN + opcode 8, unmasked, payload starting with the code 4002.
    let idle = [0x88, 0x0f, 0x0f, 0xa2];
    assert!(bytes.windows(4).any(|w| w == idle), "no close frame with code 4002 in {} bytes", bytes.len());
}

#[tokio::test]
async fn an_agent_can_keep_only_their_own_work() {
    let s = start_live(common::config()).await;
    let (a1, a2) = (me(&s, s.agent("1001").await).await, me(&s, s.agent("1002").await).await);
    go_available(&s, &a1).await;
    let mut ws1 = connect(&s, &a1).await;
    let c1 = s.center.submit(voice_contact(2)).await.expect("submit").to_string();
    frames_until(&mut ws1, is_offer(&c1)).await;
    // Agent 1002 can neither take nor end agent 1001's contact.
    let resp = s.as_browser(&a2, Method::POST, &format!("/api/contacts/{c1}/accept")).send().await.expect("accept");
    assert_eq!(resp.status(), 409);
    let resp = s.as_browser(&a2, Method::POST, &format!("/api/contacts/{c1}/end")).send().await.expect("end");
    assert_eq!(resp.status(), 404);
    let resp = s.as_browser(&a1, Method::POST, &format!("/api/contacts/{c1}/accept")).send().await.expect("accept");
    assert_eq!(resp.status(), 204);
}

/// A client that reads nothing while events keep coming: once the kernel's buffers are full the
/// server's per-connection queue (`max_queued_messages`) fills, and the server closes the
/// connection and counts it instead of buffering more.
#[tokio::test]
async fn a_client_that_stops_reading_is_closed_as_a_slow_consumer() {
    let mut config = common::config();
    config.events.max_queued_messages = 4;
    // A constrained link: 16 KiB of kernel send buffer per accepted connection.
    let s = common::start_live_with(config, Some(16 * 1024)).await;
    let sup = s.supervisor().await;
    let host = s.base.trim_start_matches("http://").to_owned();
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4 * 1024).expect("small receive buffer");
    let mut tcp = socket.connect(host.parse().expect("addr")).await.expect("tcp");
    let handshake = format!(
        "GET /api/events HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: {}\r\n\r\n",
        sup.cookie
    );
    tcp.write_all(handshake.as_bytes()).await.expect("handshake");
    let slow_closes = || async {
        let text = s.as_browser(&sup, Method::GET, "/api/metrics").send().await.expect("metrics").text().await;
        let text = text.expect("metrics text");
        text.lines().find_map(|l| l.strip_prefix("hotline_events_closed_slow_consumer_total ")).map(str::to_owned)
    };
    // Events until the server gives up on the client (bounded: at most this many contacts).
    let mut closed = false;
    for n in 0..2_000usize {
        let _ = s.center.submit(voice_contact(1 + n % 50)).await;
        if n % 10 == 9 && slow_closes().await.as_deref() == Some("1") {
            closed = true;
            break;
        }
    }
    assert!(closed, "the server closed the slow consumer");
    // The server let go of the connection: reading now drains what was sent and reaches the end.
    let mut sink = Vec::new();
    tokio::time::timeout(FRAME_WAIT, tcp.read_to_end(&mut sink)).await.expect("connection ends").expect("read");
}
