//! The chat over real WebSockets: a server on an ephemeral port (the web crate's shell around the
//! core), clients speaking the protocol with tokio-tungstenite.

mod support;

use std::collections::BTreeMap;

use base64::Engine as _;
use chat::{Author, ChatEvent, ChatLimits, ClientFrame, ConversationId, ErrorCode, ServerFrame};
use model::AgentId;
use support::{connect, msg, start, try_connect};
use web::chat_ws::ChatSettings;

fn agent() -> AgentId {
    AgentId::from_u128(1001)
}

/// What a widget keeps: messages by sequence number (each shown once) and its unacked outbox.
#[derive(Default)]
struct View {
    by_seq: BTreeMap<u64, (Author, String)>,
    duplicates_shown: usize,
}

impl View {
    fn take(&mut self, frames: &[ServerFrame]) {
        for f in frames {
            if let ServerFrame::Msg { seq, from, text, .. } = f
                && self.by_seq.insert(*seq, (*from, text.clone())).is_some()
            {
                self.duplicates_shown += 1;
            }
        }
    }

    fn last_seq(&self) -> u64 {
        self.by_seq.keys().next_back().copied().unwrap_or(0)
    }
}

fn error_code(frame: &ServerFrame) -> Option<ErrorCode> {
    match frame {
        ServerFrame::Error { code, .. } => Some(*code),
        _ => None,
    }
}

#[tokio::test]
async fn a_customer_who_drops_mid_stream_resumes_with_nothing_lost_or_duplicated() {
    let server = start(ChatSettings::default()).await;
    server.hub.set_agent_available(agent(), true).expect("room");
    let mut events = server.hub.subscribe();
    let mut customer = connect(server.addr).await;
    let (conversation_id, token) = customer.start_conversation().await;
    let id = ConversationId::parse(&conversation_id).expect("hex id");
    let mut view = View::default();
    view.take(&customer.until(|f| matches!(f, ServerFrame::Msg { from: Author::System, .. })).await);
    server.hub.accept(&id, agent()).expect("queued");
    customer.send(&msg("m1", "我的订单 100001 还没到")).await;
    view.take(&customer.until(|f| matches!(f, ServerFrame::Ack { client_msg_id, .. } if client_msg_id == "m1")).await);
    server.hub.agent_send(&id, agent(), "a1", "您好,我来查一下").expect("agent");
    view.take(&customer.until(|f| matches!(f, ServerFrame::Msg { from: Author::Agent, .. })).await);

    // Mid-stream: two messages go out and the socket dies before any answer is read.
    customer.send(&msg("m2", "快递单号是多少?")).await;
    customer.send(&msg("m3", "谢谢")).await;
    drop(customer);
    server.hub.agent_send(&id, agent(), "a2", "单号是 SF123").expect("agent while the customer is away");

    let mut customer = connect(server.addr).await;
    customer
        .send(&ClientFrame::Hello {
            v: 1,
            conversation_id: Some(conversation_id.clone()),
            resume_after_seq: Some(view.last_seq()),
            token: Some(token),
        })
        .await;
    // The widget re-sends its unacknowledged outbox with the same ids.
    customer.send(&msg("m2", "快递单号是多少?")).await;
    customer.send(&msg("m3", "谢谢")).await;
    let resumed =
        customer.until(|f| matches!(f, ServerFrame::Ack { client_msg_id, .. } if client_msg_id == "m3")).await;
    assert!(matches!(resumed[0], ServerFrame::Welcome { .. }), "{resumed:?}");
    view.take(&resumed);
    // The acks may come before the replayed or freshly sent messages: read until m3's message.
    if !view.by_seq.values().any(|(_, t)| t == "谢谢") {
        view.take(&customer.until(|f| matches!(f, ServerFrame::Msg { text, .. } if text == "谢谢")).await);
    }

    let transcript = server.hub.transcript(&id, 0).expect("conversation");
    let stored: Vec<(u64, Author, String)> = transcript.iter().map(|e| (e.seq, e.from, e.text.clone())).collect();
    let seen: Vec<(u64, Author, String)> = view.by_seq.iter().map(|(s, (a, t))| (*s, *a, t.clone())).collect();
    assert_eq!(seen, stored, "the customer saw exactly the stored conversation");
    assert_eq!(view.duplicates_shown, 0, "no message reached the customer twice");
    let seqs: Vec<u64> = stored.iter().map(|s| s.0).collect();
    assert_eq!(seqs, (1..=stored.len() as u64).collect::<Vec<_>>(), "no gaps");
    for text in ["我的订单 100001 还没到", "快递单号是多少?", "谢谢", "您好,我来查一下", "单号是 SF123"]
    {
        assert_eq!(stored.iter().filter(|s| s.2 == text).count(), 1, "{text} exactly once");
    }
    let mut agent_view = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let ChatEvent::Message { entry, .. } = event {
            agent_view.push((entry.seq, entry.from, entry.text));
        }
    }
    assert_eq!(agent_view, stored, "the agent's event stream shows the same conversation");
}

#[tokio::test]
async fn a_page_from_a_foreign_origin_or_without_one_cannot_open_the_chat() {
    let server = start(ChatSettings::default()).await;
    for origin in [Some("http://evil.example.test"), None] {
        match try_connect(server.addr, origin).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
            Err(other) => panic!("{origin:?}: expected 403, got {other}"),
            Ok(_) => panic!("{origin:?}: the upgrade was accepted"),
        }
    }
    assert_eq!(server.hub.shell_counters().refused_origin.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[tokio::test]
async fn one_address_may_hold_only_max_connections_per_ip_sockets() {
    let server = start(ChatSettings { max_connections_per_ip: 2, ..ChatSettings::default() }).await;
    let first = connect(server.addr).await;
    let _second = connect(server.addr).await;
    match try_connect(server.addr, Some(support::PAGE_ORIGIN)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        Err(other) => panic!("expected 429, got {other}"),
        Ok(_) => panic!("a third socket was accepted"),
    }
    drop(first);
    // The slot comes back when the server sees the close: a new socket then opens.
    let mut reopened = None;
    for _ in 0..200 {
        if let Ok(client) = try_connect(server.addr, Some(support::PAGE_ORIGIN)).await {
            reopened = Some(client);
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(reopened.is_some(), "the closed socket's slot was given back");
}

fn attachment(id: &str, mime: &str, bytes: &[u8]) -> ClientFrame {
    ClientFrame::Attachment {
        client_msg_id: id.into(),
        name: "receipt".into(),
        mime: mime.into(),
        size: bytes.len() as u64,
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

#[tokio::test]
async fn forged_oversized_and_wrong_type_attachments_get_error_frames_and_a_real_one_is_stored() {
    let limits = ChatLimits { max_attachment_bytes: 1024, ..ChatLimits::default() };
    let max_frame_bytes = limits.max_frame_bytes();
    let server = start(ChatSettings { limits, ..ChatSettings::default() }).await;
    let mut customer = connect(server.addr).await;
    customer.start_conversation().await;
    customer.until(|f| matches!(f, ServerFrame::Msg { from: Author::System, .. })).await;

    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00";
    customer.send(&attachment("f1", "image/png", exe)).await;
    customer.send(&attachment("f2", "application/x-msdownload", exe)).await;
    let mut big_png = b"\x89PNG\r\n\x1a\n".to_vec();
    big_png.resize(2048, 0);
    customer.send(&attachment("f3", "image/png", &big_png)).await;
    let mut forged_size = attachment("f4", "image/png", &big_png[..100]);
    if let ClientFrame::Attachment { size, .. } = &mut forged_size {
        *size = 99;
    }
    customer.send(&forged_size).await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(error_code(&customer.recv().await));
    }
    assert_eq!(
        codes,
        [
            ErrorCode::AttachmentType,
            ErrorCode::AttachmentType,
            ErrorCode::AttachmentTooLarge,
            ErrorCode::AttachmentMismatch
        ]
        .map(Some)
    );

    customer.send(&attachment("f5", "image/png", &big_png[..512])).await;
    assert!(matches!(customer.recv().await, ServerFrame::Ack { client_msg_id, .. } if client_msg_id == "f5"));
    assert_eq!(server.hub.counters().attachments_refused, 4);

    // A WebSocket message over the frame limit never reaches the core: the socket is closed.
    customer.send_text("x".repeat(max_frame_bytes + 1)).await;
    // (The stored file's own `msg` may still be in flight; then the close.)
    while let Some(frame) = customer.next().await {
        assert!(matches!(frame, ServerFrame::Msg { .. }), "unexpected {frame:?}");
    }
}

#[tokio::test]
async fn a_flood_of_messages_is_refused_with_error_frames_and_counted() {
    let limits = ChatLimits { max_messages_per_minute: 5, ..ChatLimits::default() };
    let server = start(ChatSettings { limits, ..ChatSettings::default() }).await;
    let mut customer = connect(server.addr).await;
    customer.start_conversation().await;
    for i in 0..8 {
        customer.send(&msg(&format!("m{i}"), "刷屏")).await;
    }
    let mut acks = 0;
    let mut floods = 0;
    while acks + floods < 8 {
        match customer.recv().await {
            ServerFrame::Ack { .. } => acks += 1,
            ServerFrame::Error { code: ErrorCode::Flood, .. } => floods += 1,
            _ => {}
        }
    }
    assert_eq!((acks, floods), (5, 3));
    assert_eq!(server.hub.counters().floods_refused, 3);
}

#[tokio::test]
async fn the_widget_script_is_served_as_javascript() {
    let server = start(ChatSettings::default()).await;
    let body = reqwest_free_get(server.addr, "/chat/widget.js").await;
    assert!(body.starts_with("HTTP/1.1 200"), "{}", &body[..80.min(body.len())]);
    assert!(body.to_ascii_lowercase().contains("content-type: text/javascript"));
    assert!(body.contains("window.HotlineChat"));
}

/// A plain HTTP/1.1 GET over a TCP socket (this crate has no HTTP client).
async fn reqwest_free_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    String::from_utf8_lossy(&response).into_owned()
}
