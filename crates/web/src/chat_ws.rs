//! The web chat's transport: the thin tokio/axum shell around the sans-IO [`chat::Conversations`].
//!
//! Routes (anonymous, for customers' browsers):
//! - `GET /chat/ws`: the chat WebSocket (JSON text frames of [`chat::protocol`]). The upgrade is
//!   refused with a problem document when the page's `Origin` is missing or neither this server's
//!   own nor one of [`ChatSettings::allowed_origins`] (403), or when the peer address already holds
//!   [`ChatSettings::max_connections_per_ip`] chat sockets (429).
//! - `GET /chat/widget.js`: the embeddable widget; one `<script src=".../chat/widget.js">` on a
//!   customer's page renders the chat button and panel.
//!
//! Conversations live in memory in a [`ChatHub`] (bounded by [`chat::ChatLimits`]); the agent
//! side drives it through the `ChatHub` methods (`agent_send`, `agent_typing`, `agent_read`,
//! `agent_end`, `transcript`) and watches [`ChatHub::subscribe`]. With a contact center in the
//! [`AppState`], [`route_through`] hands every online chat to it as a `Channel::Chat` contact and
//! joins the agent who accepts the offer. With [`ChatHub::persist_to`] (the application does it
//! when a center gives it the org) every conversation, message, state change, read mark, rating
//! and routed contact is written to the store by one ordered writer (`persist`), and a widget
//! resuming a conversation this process does not hold (after a restart) gets it back from the
//! store, every message replayed once. Attachment bytes and offline messages are emitted as
//! [`ChatEvent`]s but not stored. This shell has no business rules of its own.
//!
//! Invariants:
//! - The core is only touched under one mutex, and nothing awaits while holding it: outputs are
//!   handed to each connection's bounded queue with `try_send`; a connection whose queue is full
//!   (a reader slower than [`ChatSettings::max_queued_frames`]) is closed and counted, never waited
//!   for; its customer resumes without loss because the conversation keeps every message.
//! - WebSocket messages larger than [`chat::ChatLimits::max_frame_bytes`] are refused by the
//!   WebSocket layer before they are buffered whole.
//! - Time comes from the injected [`Clock`], conversation ids and tokens from [`Entropy`].
//! - Never panics on a frame or a header.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use center::{CenterHandle, LiveEvent, NewContact};
use chat::{
    AgentError, BusinessHours, ChatCounters, ChatEvent, ChatLimits, ConnId, ConversationId, Conversations, Entry,
    IdSource, OpenHours, Output,
};
use futures_util::{SinkExt, StreamExt};
use model::{AgentId, Channel, ContactId, ContactOutcome};
use tokio::sync::{broadcast, mpsc};

use crate::{AppState, Clock, Entropy, Problem, ProblemKind};

pub(crate) mod desk;
mod persist;
#[cfg(test)]
mod routing_tests;

pub use persist::{PersistCounters, PersistSettings};

/// The widget, served as is.
const WIDGET_JS: &str = include_str!("../chat/widget.js");

/// Settings of the chat shell.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    pub limits: ChatLimits,
    /// When chats are answered live; outside them a new chat is a message left for later.
    pub hours: Arc<dyn OpenHours>,
    /// Origins of the sites that embed the widget (`https://shop.example.com`, exact match);
    /// pages served by this server itself are always allowed.
    pub allowed_origins: Vec<String>,
    /// Chat WebSockets one peer address may hold at once.
    pub max_connections_per_ip: usize,
    /// Frames waiting for one slow connection before it is closed.
    pub max_queued_frames: usize,
    /// Events kept for slow subscribers before they lag (see [`broadcast`]).
    pub max_buffered_events: usize,
    /// Longest sleep of the timer task, so a clock that jumps is noticed.
    pub max_timer_sleep_ms: u64,
    /// The secret chat edges (`hotline chat-edge`) present on `/chat/edge`; `None`: no edges,
    /// the route answers 404.
    pub edge_secret: Option<String>,
    /// Each socket's read buffer (the WebSocket library's default is 128 KiB per connection,
    /// most of a session's memory; a chat frame is small and a large one is read in steps).
    pub read_buffer_bytes: usize,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            limits: ChatLimits::default(),
            hours: Arc::new(BusinessHours::always()),
            allowed_origins: Vec::new(),
            max_connections_per_ip: 20,
            max_queued_frames: 256,
            max_buffered_events: 4_096,
            max_timer_sleep_ms: 1_000,
            read_buffer_bytes: 4 * 1024,
            edge_secret: None,
        }
    }
}

/// Counters of the shell itself (the core's are in [`ChatCounters`]).
#[derive(Debug, Default)]
pub struct ShellCounters {
    pub connections_opened: AtomicU64,
    pub refused_origin: AtomicU64,
    pub refused_ip_limit: AtomicU64,
    pub closed_slow: AtomicU64,
}

/// What goes out to one customer connection.
pub(crate) enum Outgoing {
    Frame(String),
    Close,
}

struct Inner {
    core: Conversations,
    connections: HashMap<ConnId, mpsc::Sender<Outgoing>>,
    per_ip: PerIp,
    /// The desktop's view: routed chats by contact, and when each customer last typed.
    desk: desk::DeskIndex,
}

/// Every chat conversation of this process, and the agent-side API.
pub struct ChatHub {
    inner: Mutex<Inner>,
    events: broadcast::Sender<ChatEvent>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    settings: ChatSettings,
    next_conn: AtomicU64,
    timer_started: AtomicBool,
    timer_wake: tokio::sync::Notify,
    counters: ShellCounters,
    /// The store writer, once [`ChatHub::persist_to`] started it.
    persist: std::sync::OnceLock<persist::Persistence>,
    /// The routing task's own queue of the events it acts on (starts, restores, going offline,
    /// ends), once [`route_through`] set it: never shared with the lossy broadcast, so a burst of
    /// messages cannot push a start out.
    routing: std::sync::OnceLock<mpsc::Sender<ChatEvent>>,
}

struct EntropyIds(Arc<dyn Entropy>);

impl IdSource for EntropyIds {
    fn fresh(&mut self) -> Option<[u8; 32]> {
        let mut buf = [0u8; 32];
        match self.0.fill(&mut buf) {
            Ok(()) => Some(buf),
            Err(error) => {
                tracing::error!(%error, "chat: no randomness for a conversation id");
                None
            }
        }
    }
}

impl ChatHub {
    pub fn new(settings: ChatSettings, clock: Arc<dyn Clock>, entropy: Arc<dyn Entropy>) -> Arc<Self> {
        let ids = Box::new(EntropyIds(entropy.clone()));
        let core = Conversations::new(settings.limits.clone(), settings.hours.clone(), ids);
        let (events, _) = broadcast::channel(settings.max_buffered_events.max(1));
        Arc::new(Self {
            inner: Mutex::new(Inner {
                core,
                connections: HashMap::new(),
                per_ip: PerIp::default(),
                desk: desk::DeskIndex::default(),
            }),
            events,
            clock,
            entropy,
            settings,
            next_conn: AtomicU64::new(1),
            timer_started: AtomicBool::new(false),
            timer_wake: tokio::sync::Notify::new(),
            counters: ShellCounters::default(),
            persist: std::sync::OnceLock::new(),
            routing: std::sync::OnceLock::new(),
        })
    }

    /// Writes every conversation of `org` to `store` from now on (one ordered writer task), and
    /// restores from it a conversation a widget resumes that this process does not hold. Needs a
    /// tokio runtime; a second call changes nothing.
    pub fn persist_to(&self, store: store::Store, org: model::OrgId, settings: PersistSettings) {
        let _ = self.persist.get_or_init(|| {
            persist::Persistence::start(store, org, settings, self.clock.clone(), self.entropy.clone())
        });
    }

    /// Waits until every write queued so far is in the store (a clean shutdown, tests).
    pub async fn flush_store(&self) {
        let Some(p) = self.persist.get() else { return };
        let (done, written) = tokio::sync::oneshot::channel();
        if p.tx.send(persist::Work::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// The store writer's counters (`None` without a store).
    pub fn persist_counters(&self) -> Option<&PersistCounters> {
        self.persist.get().map(|p| p.counters.as_ref())
    }

    /// Records that the center routed the conversation as `contact`.
    fn link_contact(&self, conversation: &ConversationId, contact: ContactId) {
        {
            let mut inner = self.lock();
            let max = self.settings.limits.max_conversations;
            let Inner { core, desk, .. } = &mut *inner;
            desk.link(contact, conversation.clone(), max, |id| core.state(id).is_some());
        }
        if let Some(p) = self.persist.get() {
            p.push(persist::Work::Link { conversation: conversation.clone(), contact });
        }
    }

    /// Before a widget's first frame reaches the core: when it resumes a conversation this
    /// process does not hold, read it back from the store (token checked against the stored
    /// digest) and hand it to the core. Anything else passes untouched.
    async fn restore_for(&self, first_frame: &str) {
        let Some(p) = self.persist.get() else { return };
        let Ok(chat::ClientFrame::Hello { conversation_id: Some(id), token: Some(token), .. }) =
            chat::ClientFrame::parse(first_frame)
        else {
            return;
        };
        let Some(id) = ConversationId::parse(&id) else { return };
        if self.lock().core.state(&id).is_some() {
            return;
        }
        match p.load(&id, &token).await {
            Ok(Some(conversation)) => match self.with_core(|core, now| core.restore(now, conversation)) {
                Ok(()) => {
                    p.counters.restored.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => tracing::warn!(%error, conversation = %id, "chat: stored conversation not restored"),
            },
            Ok(None) => {}
            Err(error) => tracing::error!(%error, conversation = %id, "chat: reading a stored conversation failed"),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every chat event from now on (messages, starts, leave-a-message, ratings, ends).
    pub fn subscribe(&self) -> broadcast::Receiver<ChatEvent> {
        self.events.subscribe()
    }

    pub fn counters(&self) -> ChatCounters {
        self.lock().core.counters().clone()
    }

    pub(crate) fn edge_secret(&self) -> Option<&str> {
        self.settings.edge_secret.as_deref()
    }

    pub(crate) fn max_frame_bytes(&self) -> usize {
        self.settings.limits.max_frame_bytes()
    }

    pub fn shell_counters(&self) -> &ShellCounters {
        &self.counters
    }

    /// Stored messages after `after_seq` (an agent's replay after it reconnects).
    pub fn transcript(&self, id: &ConversationId, after_seq: u64) -> Option<Vec<Entry>> {
        self.lock().core.transcript(id, after_seq)
    }

    /// Closes every chat socket (a shutdown, or moving customers to another node); the
    /// conversations stay, and each widget reconnects and resumes without loss.
    pub fn close_connections(&self) {
        let mut inner = self.lock();
        let conns: Vec<ConnId> = inner.connections.keys().copied().collect();
        for conn in conns {
            if let Some(tx) = inner.connections.remove(&conn) {
                let _ = tx.try_send(Outgoing::Close);
            }
            inner.core.disconnect(conn);
        }
    }

    /// Chats are routed by an ACD (see [`route_through`]) rather than the local available set.
    pub fn set_external_routing(&self, external: bool) {
        self.lock().core.set_external_routing(external);
    }

    /// Routing refused a queued chat: it becomes a message left for later.
    pub fn leave_for_later(&self, id: &ConversationId) {
        self.with_core(|core, now| core.leave_for_later(now, id));
    }

    pub fn set_agent_available(&self, agent: AgentId, available: bool) -> Result<(), AgentError> {
        self.lock().core.set_agent_available(agent, available)
    }

    pub fn accept(&self, id: &ConversationId, agent: AgentId) -> Result<(), AgentError> {
        self.with_core(|core, now| core.accept(now, id, agent))
    }

    /// Sends an agent message; a retry with the same `agent_msg_id` is stored once.
    pub fn agent_send(
        &self,
        id: &ConversationId,
        agent: AgentId,
        agent_msg_id: &str,
        text: &str,
    ) -> Result<u64, AgentError> {
        self.with_core(|core, now| core.agent_send(now, id, agent, agent_msg_id, text))
    }

    pub fn agent_typing(&self, id: &ConversationId, agent: AgentId) -> Result<(), AgentError> {
        self.with_core(|core, _| core.agent_typing(id, agent))
    }

    pub fn agent_read(&self, id: &ConversationId, agent: AgentId, up_to_seq: u64) -> Result<(), AgentError> {
        self.with_core(|core, _| core.agent_read(id, agent, up_to_seq))
    }

    pub fn agent_end(&self, id: &ConversationId, agent: AgentId) -> Result<(), AgentError> {
        self.with_core(|core, now| core.agent_end(now, id, agent))
    }

    /// Runs `f` on the core with the time, then acts on its outputs.
    fn with_core<T>(&self, f: impl FnOnce(&mut Conversations, model::Timestamp) -> T) -> T {
        let now = self.clock.now();
        let mut inner = self.lock();
        let result = f(&mut inner.core, now);
        self.dispatch(&mut inner);
        drop(inner);
        self.timer_wake.notify_one();
        result
    }

    /// Hands every pending output to its connection or the event subscribers, without waiting.
    fn dispatch(&self, inner: &mut Inner) {
        while let Some(output) = inner.core.poll_output() {
            match output {
                Output::Send { conn, frame } => {
                    let Some(tx) = inner.connections.get(&conn) else { continue };
                    if tx.try_send(Outgoing::Frame(frame.to_json())).is_err() {
                        self.counters.closed_slow.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(conn = conn.0, "chat: connection too slow, closed");
                        inner.connections.remove(&conn);
                        inner.core.disconnect(conn);
                    }
                }
                Output::Close { conn } => {
                    if let Some(tx) = inner.connections.remove(&conn) {
                        // Queued frames go first; a full queue is dropped as it closes anyway.
                        let _ = tx.try_send(Outgoing::Close);
                    }
                }
                Output::Event(event) => {
                    if let ChatEvent::CustomerTyping { conversation_id } = &event {
                        let max = self.settings.limits.max_conversations;
                        inner.desk.typing(conversation_id, self.clock.now(), max);
                    }
                    if let Some(p) = self.persist.get() {
                        persist_event(p, &inner.core, &event);
                    }
                    if let Some(routing) = self.routing.get()
                        && routes_on(&event)
                        && routing.try_send(event.clone()).is_err()
                    {
                        tracing::error!("chat routing: its queue is full; a chat event was not routed");
                    }
                    // No subscriber is not an error: the event is for whoever listens.
                    let _ = self.events.send(event);
                }
            }
        }
    }

    pub(crate) fn reserve_ip(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let taken = self.lock().per_ip.take(ip, self.settings.max_connections_per_ip);
        taken.then(|| IpSlot { hub: Arc::downgrade(self), ip })
    }

    pub(crate) fn start_timer(self: &Arc<Self>) {
        if self.timer_started.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::spawn(run_timer(Arc::downgrade(self)));
    }

    /// A new connection: its id and the queue its frames come out of. The sender is registered
    /// first, so a refusal from `connect` reaches the connection before its close.
    pub(crate) fn open_conn(&self) -> (ConnId, mpsc::Receiver<Outgoing>) {
        let conn = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = mpsc::channel(self.settings.max_queued_frames.max(1));
        self.counters.connections_opened.fetch_add(1, Ordering::Relaxed);
        self.lock().connections.insert(conn, tx);
        self.with_core(|core, now| core.connect(conn, now));
        (conn, rx)
    }

    /// A text frame from a connection's customer; the connection's first one may first restore
    /// a stored conversation it resumes.
    pub(crate) async fn conn_text(&self, conn: ConnId, first: bool, text: &str) {
        if first {
            self.restore_for(text).await;
        }
        self.with_core(|core, now| core.handle_text(now, conn, text));
    }

    /// The connection is gone (closed by either side).
    pub(crate) fn close_conn(&self, conn: ConnId) {
        let mut inner = self.lock();
        inner.connections.remove(&conn);
        inner.core.disconnect(conn);
    }

    /// One WebSocket, from open to close.
    async fn run(self: Arc<Self>, socket: WebSocket, slot: IpSlot) {
        let (conn, rx) = self.open_conn();
        let (sink, mut stream) = socket.split();
        let writer = write_out(sink, rx);
        let hub = self.clone();
        let reader = async move {
            let mut first = true;
            while let Some(Ok(message)) = stream.next().await {
                match message {
                    Message::Text(text) => {
                        hub.conn_text(conn, std::mem::take(&mut first), text.as_str()).await;
                    }
                    Message::Binary(_) => hub.with_core(|core, now| core.handle_text(now, conn, "")),
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
        };
        futures_util::future::select(Box::pin(writer), Box::pin(reader)).await;
        self.close_conn(conn);
        drop(slot);
    }
}

/// Writes a customer socket's queued frames until the queue closes, a close is queued or the
/// socket fails.
pub(crate) async fn write_out(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
) {
    while let Some(out) = rx.recv().await {
        let sent = match out {
            Outgoing::Frame(text) => sink.send(Message::Text(text.into())).await,
            Outgoing::Close => {
                let _ = sink.send(Message::Close(None)).await;
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    }
}

/// The page opening a chat socket may when its `Origin` is this server's own or one of
/// `allowed`: `None`. Otherwise the 403 to answer, counted in `refused`.
pub(crate) fn refuse_origin(headers: &HeaderMap, allowed: &[String], refused: &AtomicU64) -> Option<Response> {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let ok = text(header::ORIGIN)
        .is_some_and(|origin| auth::csrf::check_origin(Some(origin), text(header::HOST), allowed).is_ok());
    if ok {
        return None;
    }
    refused.fetch_add(1, Ordering::Relaxed);
    Some(Problem::of(ProblemKind::Forbidden, "this site may not open the chat").into_response())
}

/// The 429 for an address that holds as many chat sockets as it may.
pub(crate) fn too_many_from_address() -> Problem {
    Problem::of(ProblemKind::RateLimited, "too many chat connections from this address")
}

/// A customer socket's upgrade with its read buffer and frame limit.
pub(crate) fn customer_upgrade(
    upgrade: WebSocketUpgrade,
    read_buffer_bytes: usize,
    max_frame_bytes: usize,
) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(read_buffer_bytes.max(1024))
        .max_message_size(max_frame_bytes)
        .max_frame_size(max_frame_bytes)
}

/// Queues what the store keeps of `event` (not typing, not attachment bytes: the message row
/// has the file's name, type and size).
fn persist_event(p: &persist::Persistence, core: &Conversations, event: &ChatEvent) {
    let token_sha256 = match event {
        ChatEvent::CustomerTyping { .. } | ChatEvent::AttachmentReceived { .. } | ChatEvent::LeaveMessage(_) => return,
        ChatEvent::Started { conversation_id, .. } => core.resume_token(conversation_id).map(auth::secret::digest_hex),
        _ => None,
    };
    p.push(persist::Work::Event { event: event.clone(), token_sha256 });
}

/// Sockets held per peer address (addresses holding none are not kept).
#[derive(Debug, Default)]
pub(crate) struct PerIp(HashMap<IpAddr, usize>);

impl PerIp {
    /// Counts one more socket of `ip` unless it already holds `max`; `false` then.
    pub(crate) fn take(&mut self, ip: IpAddr, max: usize) -> bool {
        let held = self.0.entry(ip).or_insert(0);
        if *held >= max {
            if *held == 0 {
                self.0.remove(&ip);
            }
            return false;
        }
        *held += 1;
        true
    }

    /// One socket of `ip` is gone.
    pub(crate) fn give_back(&mut self, ip: IpAddr) {
        if let Some(held) = self.0.get_mut(&ip) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                self.0.remove(&ip);
            }
        }
    }
}

/// One connection's share of its address's limit, given back on drop (also when the upgrade
/// never completes).
pub(crate) struct IpSlot {
    hub: Weak<ChatHub>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.lock().per_ip.give_back(self.ip);
        }
    }
}

/// Sleeps until the core's next deadline (at most `max_timer_sleep_ms`) and fires it; ends when
/// the hub is dropped.
async fn run_timer(hub: Weak<ChatHub>) {
    loop {
        let sleep_ms = {
            let Some(hub) = hub.upgrade() else { return };
            let now = hub.clock.now();
            let next = hub.lock().core.poll_timeout();
            let wait = next.map_or(i64::MAX, |t| t.unix_ms().saturating_sub(now.unix_ms()));
            u64::try_from(wait).unwrap_or(0).min(hub.settings.max_timer_sleep_ms)
        };
        let woken = {
            let Some(hub) = hub.upgrade() else { return };
            let notified = async move { hub.timer_wake.notified().await };
            tokio::time::timeout(Duration::from_millis(sleep_ms), notified).await.is_ok()
        };
        if !woken {
            let Some(hub) = hub.upgrade() else { return };
            hub.with_core(|core, now| core.handle_timeout(now));
        }
    }
}

/// The contact center's entry point chats enter through (the Demo Shop's route table has one
/// entry point, `hotline`, for the IVR's agent option, chat and email).
pub const CHAT_ENTRY_POINT: &str = "hotline";

/// A chat the center knows as a contact.
struct Routed {
    contact: ContactId,
    agent: Option<AgentId>,
}

/// The chats handed to the center, both ways (bounded by `max_conversations`).
#[derive(Default)]
struct RoutedChats {
    by_chat: HashMap<ConversationId, Routed>,
    by_contact: HashMap<ContactId, ConversationId>,
}

impl RoutedChats {
    fn insert(&mut self, id: ConversationId, contact: ContactId) {
        self.by_contact.insert(contact, id.clone());
        self.by_chat.insert(id, Routed { contact, agent: None });
    }

    fn remove(&mut self, id: &ConversationId) -> Option<Routed> {
        let routed = self.by_chat.remove(id)?;
        self.by_contact.remove(&routed.contact);
        Some(routed)
    }

    fn chat_of(&self, contact: ContactId) -> Option<ConversationId> {
        self.by_contact.get(&contact).cloned()
    }
}

/// Routes the hub's chats through the contact center: a started (online) chat is submitted as a
/// `Channel::Chat` contact at `entry_point` with its issue type and language; when an agent
/// accepts the offer (desktop → `CenterHandle::accept`) the agent joins the chat; when the
/// center ends the contact the chat ends; when the chat ends first the contact is ended
/// (answered) or abandoned (never answered), and a chat the center refuses or that waited past
/// `max_queue_wait_ms` becomes a message left for later. Ends when either side stops.
pub fn route_through(hub: &Arc<ChatHub>, center: CenterHandle, entry_point: &str) -> tokio::task::JoinHandle<()> {
    hub.set_external_routing(true);
    // A conversation yields at most a start (or restore), going offline and an end: this bound
    // holds every routing event of a full hub.
    let (tx, mut chats) =
        mpsc::channel(hub.settings.limits.max_conversations.max(1).saturating_mul(ROUTING_EVENTS_PER_CONVERSATION));
    if hub.routing.set(tx).is_err() {
        tracing::error!("chat routing: this hub is already routed");
    }
    let mut live = center.subscribe();
    let hub = Arc::downgrade(hub);
    let entry_point = entry_point.to_owned();
    tokio::spawn(async move {
        let mut routed = RoutedChats::default();
        loop {
            tokio::select! {
                event = chats.recv() => match event {
                    Some(event) => {
                        let Some(hub) = hub.upgrade() else { return };
                        on_chat_event(&hub, &center, &entry_point, &mut routed, event).await;
                    }
                    None => return,
                },
                event = live.recv() => match event {
                    Ok(event) => {
                        let Some(hub) = hub.upgrade() else { return };
                        on_live_event(&hub, &mut routed, event);
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::error!(missed, "chat routing: center events lost");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    })
}

/// Routing events one conversation yields at most (start or restore, offline, end, and a
/// restore after a restart), for the routing queue's bound.
const ROUTING_EVENTS_PER_CONVERSATION: usize = 4;

/// Whether [`route_through`] acts on `event`.
fn routes_on(event: &ChatEvent) -> bool {
    matches!(
        event,
        ChatEvent::Started { .. }
            | ChatEvent::Restored { .. }
            | ChatEvent::WentOffline { .. }
            | ChatEvent::Ended { .. }
    )
}

async fn on_chat_event(
    hub: &ChatHub,
    center: &CenterHandle,
    entry_point: &str,
    routed: &mut RoutedChats,
    event: ChatEvent,
) {
    match event {
        // A restored conversation lost its contact with the old process: it is routed anew.
        ChatEvent::Started { conversation_id, prechat, offline: false, .. }
        | ChatEvent::Restored { conversation_id, prechat, offline: false, .. } => {
            if routed.by_chat.len() >= hub.settings.limits.max_conversations {
                return hub.leave_for_later(&conversation_id);
            }
            let from = prechat.email.as_ref().map_or_else(|| prechat.name.clone(), |e| e.as_str().to_owned());
            let mut contact = NewContact::new(Channel::Chat, entry_point, &from);
            contact.issue_type = Some(prechat.issue_type.as_str().to_owned());
            contact.language = Some(prechat.language.clone());
            contact.attributes.insert("chat_conversation".into(), conversation_id.as_str().to_owned());
            contact.attributes.insert("customer_name".into(), prechat.name.clone());
            match center.submit(contact).await {
                Ok(contact) => {
                    hub.link_contact(&conversation_id, contact);
                    routed.insert(conversation_id, contact);
                }
                Err(error) => {
                    tracing::warn!(%error, conversation = %conversation_id, "chat routing: the center refused the chat");
                    hub.leave_for_later(&conversation_id);
                }
            }
        }
        ChatEvent::WentOffline { conversation_id, .. } => {
            if let Some(r) = routed.remove(&conversation_id)
                && let Err(error) = center.abandon(r.contact).await
            {
                tracing::warn!(%error, contact = %r.contact, "chat routing: abandon refused");
            }
        }
        ChatEvent::Ended { conversation_id, .. } => {
            let Some(r) = routed.remove(&conversation_id) else { return };
            let result = match r.agent {
                Some(_) => center.end(r.contact, ContactOutcome::Answered).await,
                None => center.abandon(r.contact).await,
            };
            if let Err(error) = result {
                tracing::warn!(%error, contact = %r.contact, "chat routing: ending the contact refused");
            }
        }
        _ => {}
    }
}

fn on_live_event(hub: &ChatHub, routed: &mut RoutedChats, event: LiveEvent) {
    match event {
        LiveEvent::ContactAnswered { contact, agent, channel: Channel::Chat, .. } => {
            let Some(id) = routed.chat_of(contact) else { return };
            if let Some(r) = routed.by_chat.get_mut(&id) {
                r.agent = Some(agent);
            }
            if let Err(error) = hub.accept(&id, agent) {
                tracing::warn!(%error, conversation = %id, "chat routing: the answered chat could not be joined");
            }
        }
        LiveEvent::ContactEnded { contact, .. } | LiveEvent::ContactAbandoned { contact, .. } => {
            let Some(id) = routed.chat_of(contact) else { return };
            let agent = routed.remove(&id).and_then(|r| r.agent);
            match agent {
                Some(agent) => {
                    let _ = hub.agent_end(&id, agent);
                }
                None => hub.leave_for_later(&id),
            }
        }
        _ => {}
    }
}

async fn chat_socket(
    State(hub): State<Arc<ChatHub>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Some(refused) = refuse_origin(&headers, &hub.settings.allowed_origins, &hub.counters.refused_origin) {
        return refused;
    }
    let Some(slot) = hub.reserve_ip(peer.ip()) else {
        hub.counters.refused_ip_limit.fetch_add(1, Ordering::Relaxed);
        return too_many_from_address().into_response();
    };
    hub.start_timer();
    customer_upgrade(upgrade, hub.settings.read_buffer_bytes, hub.settings.limits.max_frame_bytes())
        .on_upgrade(move |socket| hub.run(socket, slot))
}

pub(crate) async fn widget() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        WIDGET_JS,
    )
        .into_response()
}

/// The chat routes over `hub`, for any outer router state.
pub fn routes_with<S: Clone + Send + Sync + 'static>(hub: Arc<ChatHub>) -> Router<S> {
    Router::new()
        .route("/chat/ws", get(chat_socket))
        .route("/chat/widget.js", get(widget))
        .route(crate::chat_edge::EDGE_PATH, get(crate::chat_edge::edge_link))
        .with_state(hub)
}

/// Chats answered live while the named business-hours calendar is open, as admins edit it
/// (`/api/calendars/{name}`); a calendar that does not exist is closed, as for the IVR's
/// `hours` nodes.
#[derive(Debug)]
struct CalendarHours {
    book: Arc<ivr::CalendarBook>,
    name: String,
}

impl OpenHours for CalendarHours {
    fn is_open(&self, now: model::Timestamp) -> bool {
        self.book.get(&self.name).is_some_and(|c| c.is_open(now))
    }
}

/// The chat routes for the application: default limits, the sites in
/// `WebConfig::allowed_origins` may embed the widget, open while `WebConfig::chat_calendar` is
/// (always, without one); with a contact center in the state (and a runtime to run on), chats are
/// routed through it at [`CHAT_ENTRY_POINT`] and stored in the center's org.
pub fn routes<S: Clone + Send + Sync + 'static>(state: &Arc<AppState>) -> Router<S> {
    let mut settings = ChatSettings {
        allowed_origins: state.config.allowed_origins.clone(),
        edge_secret: state.config.chat_edge_secret.clone(),
        ..ChatSettings::default()
    };
    if let Some(name) = &state.config.chat_calendar {
        match crate::api::business_hours::book(state) {
            Some(book) => settings.hours = Arc::new(CalendarHours { book, name: name.clone() }),
            None => tracing::warn!(calendar = %name, "chat: no calendar book on this server; chats are always open"),
        }
    }
    let hub = ChatHub::new(settings, state.clock.clone(), state.entropy.clone());
    if state.chat.set(hub.clone()).is_err() {
        tracing::warn!("chat: a second router built; the desktop talks to the first one's chats");
    }
    if let Some(center) = &state.center {
        if tokio::runtime::Handle::try_current().is_ok() {
            hub.persist_to(state.store.clone(), center.org(), PersistSettings::default());
            route_through(&hub, center.clone(), CHAT_ENTRY_POINT);
        } else {
            tracing::warn!("chat: no tokio runtime while building the router; chats are not routed");
        }
    }
    routes_with(hub)
}
