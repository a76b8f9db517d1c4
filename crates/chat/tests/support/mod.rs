//! A real chat server on an ephemeral port (the web crate's WebSocket shell over the core) and a
//! WebSocket client speaking the protocol, for the integration tests.

#![allow(dead_code)] // each test binary uses its own part

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chat::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use web::chat_ws::{ChatHub, ChatSettings};

/// Longest wait for one frame; only a guard against a hung test, never a measurement.
const FRAME_WAIT: Duration = Duration::from_secs(20);

pub const PAGE_ORIGIN: &str = "http://shop.example.test";

pub struct Server {
    pub addr: SocketAddr,
    pub hub: Arc<ChatHub>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start(settings: ChatSettings) -> Server {
    start_on(settings, None).await
}

/// A server whose hub writes to (and restores from) `store` in `org`.
pub async fn start_with_store(settings: ChatSettings, store: store::Store, org: model::OrgId) -> Server {
    start_on(settings, Some((store, org))).await
}

async fn start_on(mut settings: ChatSettings, store: Option<(store::Store, model::OrgId)>) -> Server {
    if settings.allowed_origins.is_empty() {
        settings.allowed_origins.push(PAGE_ORIGIN.to_owned());
    }
    let hub = ChatHub::new(settings, Arc::new(web::SystemClock), Arc::new(web::OsEntropy));
    if let Some((store, org)) = store {
        hub.persist_to(store, org, web::chat_ws::PersistSettings::default());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = web::chat_ws::routes_with::<()>(hub.clone());
    tokio::spawn(web::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    Server { addr, hub, stop: Some(stop) }
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

pub async fn try_connect(addr: SocketAddr, origin: Option<&str>) -> Result<Client, tungstenite::Error> {
    let mut request = format!("ws://{addr}/chat/ws").into_client_request()?;
    if let Some(origin) = origin {
        request.headers_mut().insert("Origin", origin.parse().expect("header value"));
    }
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(Client { ws })
}

pub async fn connect(addr: SocketAddr) -> Client {
    try_connect(addr, Some(PAGE_ORIGIN)).await.expect("chat socket")
}

impl Client {
    pub async fn send(&mut self, frame: &ClientFrame) {
        self.send_text(frame.to_json()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// The next frame; `None` when the server closed the socket.
    pub async fn next(&mut self) -> Option<ServerFrame> {
        loop {
            let message = tokio::time::timeout(FRAME_WAIT, self.ws.next()).await.expect("a frame in time")?;
            match message {
                Ok(Message::Text(text)) => return Some(serde_json::from_str(text.as_str()).expect("a server frame")),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    pub async fn recv(&mut self) -> ServerFrame {
        self.next().await.expect("socket open")
    }

    /// Reads frames until one satisfies `pred`; returns every frame read, that one last.
    pub async fn until(&mut self, pred: impl Fn(&ServerFrame) -> bool) -> Vec<ServerFrame> {
        let mut seen = Vec::new();
        loop {
            let frame = self.recv().await;
            let done = pred(&frame);
            seen.push(frame);
            if done {
                return seen;
            }
        }
    }

    /// Hello for a new conversation and the pre-chat form: returns (conversation id, token).
    pub async fn start_conversation(&mut self) -> (String, String) {
        self.send(&ClientFrame::Hello { v: 1, conversation_id: None, resume_after_seq: None, token: None }).await;
        let ServerFrame::Welcome { conversation_id, token, .. } = self.recv().await else { panic!("welcome first") };
        self.send(&ClientFrame::Prechat {
            name: "王小明".into(),
            issue_type: "order".into(),
            language: "zh-CN".into(),
            email: Some("xiaoming@example.com".into()),
        })
        .await;
        (conversation_id, token)
    }
}

pub fn msg(id: &str, text: &str) -> ClientFrame {
    ClientFrame::Msg { client_msg_id: id.into(), text: text.into() }
}
