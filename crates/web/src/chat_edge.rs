//! The chat edge: customers' chat WebSockets held by other processes, relayed to the one
//! [`ChatHub`] over a multiplexed link. One process can hold only as many sockets as it may open
//! files (20,000 on some hosts); with edges, one node holds several times that while the
//! conversations, routing and store stay in the core process.
//!
//! - **Core side**: `GET /chat/edge` (a WebSocket; `Authorization: Bearer <[chat] edge_secret>`,
//!   404 while no secret is configured, 401 for a wrong one). Each customer socket the edge opens
//!   is a connection of the hub like a direct one: same limits per address (the edge tells the
//!   customer's address), same resume and replay, same slow-reader rule.
//! - **Edge side**: [`Edge`] serves `/chat/ws` and `/chat/widget.js` (so a page that loads the
//!   widget from the edge chats through it) and keeps one link to the core, reconnecting with
//!   back-off. While the link is down new sockets are refused (503) and open ones are closed: the
//!   widget reconnects and resumes its conversation without loss, as after any disconnect.
//!
//! The link carries binary frames `[op: u8][connection: u64 big-endian][payload]`: edge → core
//! `OPEN` (payload: the customer's IP address as text), `TEXT` (a widget frame), `CLOSE`;
//! core → edge `TEXT` (a frame for the widget) and `CLOSE`. A malformed link frame closes the link.
//!
//! Invariants: every map and queue is bounded ([`MAX_CONNECTIONS_PER_LINK`],
//! [`MAX_QUEUED_LINK_FRAMES`], the edge's `max_connections`); the secret is compared in constant
//! time; nothing awaits while holding a lock; never panics on a frame.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chat::ConnId;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::chat_ws::{
    ChatHub, IpSlot, Outgoing, PerIp, customer_upgrade, refuse_origin, too_many_from_address, write_out,
};
use crate::{Problem, ProblemKind};

/// Where edges link to the core.
pub const EDGE_PATH: &str = "/chat/edge";
/// Customer connections one link may hold at once; one more is closed at once.
pub const MAX_CONNECTIONS_PER_LINK: usize = 100_000;
/// Frames waiting to go over one link (either way); a customer connection whose frames cannot be
/// queued is closed as a slow reader, as a direct one is.
pub const MAX_QUEUED_LINK_FRAMES: usize = 65_536;

const OP_OPEN: u8 = 1;
const OP_TEXT: u8 = 2;
const OP_CLOSE: u8 = 3;
const HEADER_BYTES: usize = 9;

fn encode(op: u8, conn: u64, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEADER_BYTES + payload.len());
    b.push(op);
    b.extend_from_slice(&conn.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

fn decode(frame: &[u8]) -> Option<(u8, u64, &[u8])> {
    let (head, payload) = frame.split_at_checked(HEADER_BYTES)?;
    let conn = u64::from_be_bytes(head[1..].try_into().ok()?);
    matches!(head[0], OP_OPEN | OP_TEXT | OP_CLOSE).then_some((head[0], conn, payload))
}

// ---- core side --------------------------------------------------------------------------------

/// `GET /chat/edge`: an edge's link.
pub(crate) async fn edge_link(
    State(hub): State<Arc<ChatHub>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(secret) = hub.edge_secret() else {
        return Problem::not_found("chat edge link").into_response();
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !auth::secret::constant_time_eq(bearer.as_bytes(), secret.as_bytes()) {
        return Problem::of(ProblemKind::Unauthenticated, "a chat edge must present the configured edge secret")
            .into_response();
    }
    hub.start_timer();
    let max = hub.max_frame_bytes() + HEADER_BYTES + 64;
    upgrade.max_message_size(max).max_frame_size(max).on_upgrade(move |socket| run_link(hub, socket))
}

/// One customer connection relayed by the link.
struct Relayed {
    conn: ConnId,
    first: bool,
    _slot: IpSlot,
}

async fn run_link(hub: Arc<ChatHub>, socket: WebSocket) {
    tracing::info!("chat: an edge linked");
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(MAX_QUEUED_LINK_FRAMES);
    let writer = async move {
        while let Some(frame) = out_rx.recv().await {
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                break;
            }
        }
    };
    let mut relayed: HashMap<u64, Relayed> = HashMap::new();
    let reader = async {
        while let Some(Ok(message)) = stream.next().await {
            let frame = match message {
                Message::Binary(b) => b,
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) => continue,
                Message::Text(_) => {
                    tracing::warn!("chat: a text frame on an edge link; link closed");
                    break;
                }
            };
            let Some((op, id, payload)) = decode(&frame) else {
                tracing::warn!("chat: a malformed edge link frame; link closed");
                break;
            };
            match op {
                OP_OPEN => {
                    let ip = std::str::from_utf8(payload).ok().and_then(|t| t.parse::<IpAddr>().ok());
                    let room = relayed.len() < MAX_CONNECTIONS_PER_LINK && !relayed.contains_key(&id);
                    let slot = ip.filter(|_| room).and_then(|ip| hub.reserve_ip(ip));
                    match slot {
                        Some(slot) => {
                            let (conn, rx) = hub.open_conn();
                            tokio::spawn(forward(rx, out_tx.clone(), id));
                            relayed.insert(id, Relayed { conn, first: true, _slot: slot });
                        }
                        None => {
                            if room && ip.is_some() {
                                hub.shell_counters().refused_ip_limit.fetch_add(1, Ordering::Relaxed);
                            }
                            let _ = out_tx.try_send(encode(OP_CLOSE, id, &[]));
                        }
                    }
                }
                OP_TEXT => {
                    let Some(r) = relayed.get_mut(&id) else { continue };
                    let first = std::mem::take(&mut r.first);
                    let conn = r.conn;
                    // Not UTF-8 is a bad frame, as a binary frame on a direct socket.
                    let text = std::str::from_utf8(payload).unwrap_or("");
                    hub.conn_text(conn, first, text).await;
                }
                _ => {
                    if let Some(r) = relayed.remove(&id) {
                        hub.close_conn(r.conn);
                    }
                }
            }
        }
    };
    futures_util::future::select(Box::pin(writer), Box::pin(reader)).await;
    for (_, r) in relayed.drain() {
        hub.close_conn(r.conn);
    }
    tracing::info!("chat: an edge link ended");
}

/// Carries one relayed connection's frames to the link until the hub drops or closes it.
async fn forward(mut rx: mpsc::Receiver<Outgoing>, link: mpsc::Sender<Vec<u8>>, id: u64) {
    while let Some(out) = rx.recv().await {
        let (frame, close) = match out {
            Outgoing::Frame(text) => (encode(OP_TEXT, id, text.as_bytes()), false),
            Outgoing::Close => (encode(OP_CLOSE, id, &[]), true),
        };
        if link.send(frame).await.is_err() || close {
            return;
        }
    }
}

// ---- edge side --------------------------------------------------------------------------------

/// An edge's settings.
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// The core's link URL: `ws://127.0.0.1:8080/chat/edge`.
    pub core_url: String,
    /// The core's `[chat] edge_secret`.
    pub secret: String,
    /// Origins of the sites that embed the widget (as the core's `http.allowed_origins`).
    pub allowed_origins: Vec<String>,
    /// Customer sockets this edge holds at once; one more is refused (503).
    pub max_connections: usize,
    /// Customer sockets one address may hold on this edge; one more is refused (429).
    pub max_connections_per_ip: usize,
    /// Frames waiting for one slow customer socket before it is closed.
    pub max_queued_frames: usize,
    /// Each customer socket's read buffer.
    pub read_buffer_bytes: usize,
    /// Largest widget frame (the core's `chat::ChatLimits::max_frame_bytes`).
    pub max_frame_bytes: usize,
    /// Longest wait between two tries to link to the core.
    pub max_backoff_ms: u64,
}

impl EdgeSettings {
    pub fn new(core_url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            core_url: core_url.into(),
            secret: secret.into(),
            allowed_origins: Vec::new(),
            max_connections: 19_000,
            max_connections_per_ip: 20,
            max_queued_frames: 256,
            read_buffer_bytes: 4 * 1024,
            max_frame_bytes: chat::ChatLimits::default().max_frame_bytes(),
            max_backoff_ms: 5_000,
        }
    }
}

/// Counters of an edge.
#[derive(Debug, Default)]
pub struct EdgeCounters {
    pub links_opened: AtomicU64,
    pub connections_opened: AtomicU64,
    pub refused_origin: AtomicU64,
    pub refused_ip_limit: AtomicU64,
    pub refused_unavailable: AtomicU64,
    pub closed_slow: AtomicU64,
}

#[derive(Default)]
struct EdgeInner {
    /// The link to the core while it is up.
    link: Option<mpsc::Sender<Vec<u8>>>,
    /// Which link generation each connection was opened on, and its queue.
    conns: HashMap<u64, (u64, mpsc::Sender<Outgoing>)>,
    per_ip: PerIp,
    generation: u64,
}

/// An admitted customer socket: its id, its queue and the link it goes over.
type Admitted = (u64, mpsc::Receiver<Outgoing>, mpsc::Sender<Vec<u8>>);

/// An edge process's state: its customer sockets and its link to the core.
pub struct Edge {
    settings: EdgeSettings,
    inner: Mutex<EdgeInner>,
    next_conn: AtomicU64,
    counters: EdgeCounters,
}

impl Edge {
    pub fn new(settings: EdgeSettings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            inner: Mutex::default(),
            next_conn: AtomicU64::new(1),
            counters: EdgeCounters::default(),
        })
    }

    pub fn counters(&self) -> &EdgeCounters {
        &self.counters
    }

    /// Whether the link to the core is up.
    pub fn linked(&self) -> bool {
        self.lock().link.is_some()
    }

    /// Customer sockets held now.
    pub fn connections(&self) -> usize {
        self.lock().conns.len()
    }

    fn lock(&self) -> MutexGuard<'_, EdgeInner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The customer-facing routes: `/chat/ws`, `/chat/widget.js`, and `/healthz` (200 while
    /// linked, 503 otherwise).
    pub fn routes(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/chat/ws", get(edge_socket))
            .route("/chat/widget.js", get(crate::chat_ws::widget))
            .route("/healthz", get(edge_health))
            .with_state(self.clone())
    }

    /// Keeps the link to the core up until `stop` resolves: connects, relays, and on any loss
    /// closes every customer socket (their widgets resume) and tries again with back-off.
    pub async fn run_link(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        let mut backoff_ms = 100u64;
        loop {
            tokio::select! {
                () = &mut stop => return,
                linked = self.clone().link_once() => {
                    if linked {
                        backoff_ms = 100;
                    }
                }
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(Duration::from_millis(backoff_ms)) => {}
            }
            backoff_ms = (backoff_ms * 2).min(self.settings.max_backoff_ms.max(100));
        }
    }

    /// One link: `true` when it was established (and has now ended).
    async fn link_once(self: Arc<Self>) -> bool {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = match self.settings.core_url.as_str().into_client_request() {
            Ok(r) => r,
            Err(error) => {
                tracing::error!(%error, url = %self.settings.core_url, "chat edge: bad core URL");
                return false;
            }
        };
        let Ok(auth) = format!("Bearer {}", self.settings.secret).parse() else {
            tracing::error!("chat edge: the secret is not a valid header value");
            return false;
        };
        request.headers_mut().insert(header::AUTHORIZATION, auth);
        let mut config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default();
        let max = self.settings.max_frame_bytes + HEADER_BYTES + 64;
        config.max_message_size = Some(max);
        config.max_frame_size = Some(max);
        let socket = match tokio_tungstenite::connect_async_with_config(request, Some(config), true).await {
            Ok((socket, _)) => socket,
            Err(error) => {
                tracing::warn!(%error, url = %self.settings.core_url, "chat edge: cannot link to the core");
                return false;
            }
        };
        self.counters.links_opened.fetch_add(1, Ordering::Relaxed);
        tracing::info!(url = %self.settings.core_url, "chat edge: linked to the core");
        let (mut sink, mut stream) = socket.split();
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(MAX_QUEUED_LINK_FRAMES);
        let generation = {
            let mut inner = self.lock();
            inner.generation += 1;
            inner.link = Some(tx);
            inner.generation
        };
        let writer = async move {
            while let Some(frame) = rx.recv().await {
                if sink.send(tokio_tungstenite::tungstenite::Message::Binary(frame.into())).await.is_err() {
                    break;
                }
            }
        };
        let edge = self.clone();
        let reader = async move {
            use tokio_tungstenite::tungstenite::Message as M;
            while let Some(Ok(message)) = stream.next().await {
                let frame = match message {
                    M::Binary(b) => b,
                    M::Close(_) => break,
                    M::Ping(_) | M::Pong(_) | M::Frame(_) => continue,
                    M::Text(_) => break,
                };
                let Some((op, id, payload)) = decode(&frame) else { break };
                edge.deliver(op, id, payload);
            }
        };
        futures_util::future::select(Box::pin(writer), Box::pin(reader)).await;
        // Every socket of this link is closed: its widget reconnects and resumes.
        let closing: Vec<mpsc::Sender<Outgoing>> = {
            let mut inner = self.lock();
            inner.link = None;
            let ids: Vec<u64> = inner.conns.iter().filter(|(_, (g, _))| *g == generation).map(|(id, _)| *id).collect();
            ids.iter().filter_map(|id| inner.conns.remove(id)).map(|(_, tx)| tx).collect()
        };
        for tx in closing {
            let _ = tx.try_send(Outgoing::Close);
        }
        tracing::warn!("chat edge: the link to the core ended");
        true
    }

    /// A frame from the core for customer socket `id`.
    fn deliver(&self, op: u8, id: u64, payload: &[u8]) {
        let mut inner = self.lock();
        let Some((_, tx)) = inner.conns.get(&id) else { return };
        let out = match (op, std::str::from_utf8(payload)) {
            (OP_TEXT, Ok(text)) => Outgoing::Frame(text.to_owned()),
            _ => Outgoing::Close,
        };
        let close = matches!(out, Outgoing::Close);
        if tx.try_send(out).is_err() {
            // Too slow (or gone): closed; the core hears of it from the socket's end.
            self.counters.closed_slow.fetch_add(1, Ordering::Relaxed);
            inner.conns.remove(&id);
        } else if close {
            inner.conns.remove(&id);
        }
    }

    /// Registers a customer socket: its id, its queue and the link it goes over; a problem when
    /// the link is down, this edge is full or the address holds too many sockets.
    fn admit(&self, ip: IpAddr) -> Result<Admitted, Problem> {
        let mut inner = self.lock();
        let Some(link) = inner.link.clone() else {
            self.counters.refused_unavailable.fetch_add(1, Ordering::Relaxed);
            return Err(Problem::of(ProblemKind::Unavailable, "the chat is not available right now"));
        };
        if inner.conns.len() >= self.settings.max_connections {
            self.counters.refused_unavailable.fetch_add(1, Ordering::Relaxed);
            return Err(Problem::of(ProblemKind::Unavailable, "this chat server is full"));
        }
        if !inner.per_ip.take(ip, self.settings.max_connections_per_ip) {
            self.counters.refused_ip_limit.fetch_add(1, Ordering::Relaxed);
            return Err(too_many_from_address());
        }
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.settings.max_queued_frames.max(1));
        let generation = inner.generation;
        inner.conns.insert(id, (generation, tx));
        Ok((id, rx, link))
    }

    fn release_slot(&self, id: u64, ip: IpAddr) {
        let mut inner = self.lock();
        inner.conns.remove(&id);
        inner.per_ip.give_back(ip);
    }

    /// One customer socket relayed to the core, from open to close.
    async fn relay(
        self: Arc<Self>,
        socket: WebSocket,
        slot: EdgeSlot,
        rx: mpsc::Receiver<Outgoing>,
        link: mpsc::Sender<Vec<u8>>,
    ) {
        let (id, ip) = (slot.id, slot.ip);
        self.counters.connections_opened.fetch_add(1, Ordering::Relaxed);
        if link.send(encode(OP_OPEN, id, ip.to_string().as_bytes())).await.is_err() {
            return;
        }
        let (sink, mut stream) = socket.split();
        let writer = write_out(sink, rx);
        let to_core = link.clone();
        let reader = async move {
            while let Some(Ok(message)) = stream.next().await {
                let frame = match message {
                    Message::Text(text) => encode(OP_TEXT, id, text.as_bytes()),
                    // A binary frame is a bad frame for the core to refuse, as on a direct socket.
                    Message::Binary(_) => encode(OP_TEXT, id, &[0xff]),
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                if to_core.send(frame).await.is_err() {
                    break;
                }
            }
        };
        futures_util::future::select(Box::pin(writer), Box::pin(reader)).await;
        let _ = link.try_send(encode(OP_CLOSE, id, &[]));
        drop(slot);
    }
}

/// A customer socket's place on the edge, given back on drop (also when the upgrade never
/// completes).
struct EdgeSlot {
    edge: std::sync::Weak<Edge>,
    id: u64,
    ip: IpAddr,
}

impl Drop for EdgeSlot {
    fn drop(&mut self) {
        if let Some(edge) = self.edge.upgrade() {
            edge.release_slot(self.id, self.ip);
        }
    }
}

async fn edge_health(State(edge): State<Arc<Edge>>) -> Response {
    let linked = edge.linked();
    let body = serde_json::json!({"linked": linked, "connections": edge.connections()});
    let status = if linked { axum::http::StatusCode::OK } else { axum::http::StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

async fn edge_socket(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Some(refused) = refuse_origin(&headers, &edge.settings.allowed_origins, &edge.counters.refused_origin) {
        return refused;
    }
    let ip = peer.ip();
    let (id, rx, link) = match edge.admit(ip) {
        Ok(admitted) => admitted,
        Err(problem) => return problem.into_response(),
    };
    let slot = EdgeSlot { edge: Arc::downgrade(&edge), id, ip };
    customer_upgrade(upgrade, edge.settings.read_buffer_bytes, edge.settings.max_frame_bytes)
        .on_upgrade(move |socket| edge.relay(socket, slot, rx, link))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_frames_round_trip_and_garbage_is_refused() {
        let f = encode(OP_TEXT, 0x0102_0304_0506_0708, b"{\"type\":\"hello\"}");
        assert_eq!(decode(&f), Some((OP_TEXT, 0x0102_0304_0506_0708, &b"{\"type\":\"hello\"}"[..])));
        assert_eq!(decode(&encode(OP_CLOSE, 7, &[])), Some((OP_CLOSE, 7, &[][..])));
        assert_eq!(decode(&[OP_OPEN, 0, 0]), None, "too short");
        assert_eq!(decode(&encode(9, 1, b"x")), None, "unknown op");
    }
}
