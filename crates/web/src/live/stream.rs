//! `GET /api/events`: the WebSocket event stream of one signed-in person.
//!
//! The upgrade is authenticated by the session cookie (the route's guard), and, since browsers
//! send cookies on cross-site WebSocket handshakes too, the `Origin` must be this server's or an
//! allowed one (the CSRF rule of unsafe methods). The first frame is a role-filtered
//! `{"type":"snapshot","snapshot":{...}}`; then every [`center::LiveEvent`] the person may see
//! ([`super::visible`]) as one JSON text frame, `{"type":"contact_offered",...}`.
//!
//! Limits and close codes (each close is counted in `/api/metrics`):
//! - `max_connections_per_user` streams per person (one more: 429 before the upgrade) and
//!   `max_connections` on the server (503);
//! - a send queue of `max_queued_messages` frames per connection: a client that cannot keep up
//!   is closed with [`CLOSE_SLOW_CONSUMER`], never buffered without limit;
//! - a ping every `ping_interval_ms`; a client silent (no pong, nothing) for `idle_timeout_ms`
//!   is closed with [`CLOSE_IDLE`];
//! - the session is re-checked at every ping: signed out, expired or deactivated →
//!   [`CLOSE_SESSION_ENDED`];
//! - the center stopping → 1001 (going away); frames from the client over
//!   `max_incoming_frame_bytes` end the connection.
//!
//! If this connection's subscription to the center falls behind (the center's broadcast is
//! bounded), a fresh snapshot frame is sent instead of the missed events, so the page is right
//! again without a reconnect.
//!
//! Never: send a frame the person's role may not see, or let one slow browser hold memory or slow
//! down the center (the center never waits for a subscriber; this task never waits for the
//! browser except in its own writer).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth::session::SessionStatus;
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use model::{Role, UserId};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

use super::{Viewer, center_of, visible, visible_snapshot};
use crate::AppState;
type S = Arc<AppState>;
use crate::guard::Caller;
use crate::problem::{Problem, ProblemKind};

/// The client could not keep up: its send queue held `max_queued_messages` frames.
pub const CLOSE_SLOW_CONSUMER: u16 = 4001;
/// Nothing (not even a pong) came from the client for `idle_timeout_ms`.
pub const CLOSE_IDLE: u16 = 4002;
/// The session was signed out, expired, or its user deactivated.
pub const CLOSE_SESSION_ENDED: u16 = 4003;
/// The server or the contact center is going away.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Longest the writer tries to deliver the close frame before dropping the connection.
const CLOSE_GRACE_MS: u64 = 1_000;

/// Open streams per user and in total, with counters. The map holds only users with an open
/// stream, so it is bounded by `max_connections`.
#[derive(Default)]
pub(crate) struct Streams {
    open: Mutex<HashMap<UserId, usize>>,
    opened: AtomicU64,
    refused: AtomicU64,
    closed_slow: AtomicU64,
    closed_idle: AtomicU64,
    closed_session: AtomicU64,
    resyncs: AtomicU64,
}

/// One open stream's place; dropping it frees the place.
pub(crate) struct Permit {
    app: Arc<AppState>,
    user: UserId,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.app.streams.lock();
        if let Some(n) = open.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

impl Streams {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, usize>> {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A place for one more stream of `user`, or the problem that refuses it.
    fn acquire(app: &Arc<AppState>, user: UserId) -> Result<Permit, Problem> {
        let limits = app.config.events;
        let streams = &app.streams;
        let mut open = streams.lock();
        let total: usize = open.values().sum();
        let mine = open.get(&user).copied().unwrap_or(0);
        let refusal = if mine >= limits.max_connections_per_user {
            Some(Problem::of(
                ProblemKind::RateLimited,
                format!("at most {} event streams per user are open", limits.max_connections_per_user),
            ))
        } else if total >= limits.max_connections {
            Some(Problem::of(ProblemKind::Unavailable, "the server has no room for another event stream"))
        } else {
            None
        };
        if let Some(p) = refusal {
            streams.refused.fetch_add(1, Ordering::Relaxed);
            return Err(p.retry_after_ms(limits.ping_interval_ms));
        }
        *open.entry(user).or_insert(0) += 1;
        streams.opened.fetch_add(1, Ordering::Relaxed);
        Ok(Permit { app: app.clone(), user })
    }

    /// Prometheus text of these counters.
    pub(crate) fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let open: usize = self.lock().values().sum();
        let mut out = String::new();
        for (name, kind, v) in [
            ("hotline_events_streams_open", "gauge", open as u64),
            ("hotline_events_streams_opened_total", "counter", get(&self.opened)),
            ("hotline_events_streams_refused_total", "counter", get(&self.refused)),
            ("hotline_events_closed_slow_consumer_total", "counter", get(&self.closed_slow)),
            ("hotline_events_closed_idle_total", "counter", get(&self.closed_idle)),
            ("hotline_events_closed_session_ended_total", "counter", get(&self.closed_session)),
            ("hotline_events_resyncs_total", "counter", get(&self.resyncs)),
        ] {
            out.push_str(&format!("# TYPE {name} {kind}\n{name} {v}\n"));
        }
        out
    }
}

/// The upgrade handler.
pub(crate) async fn events(State(app): State<S>, Extension(c): Extension<Caller>, req: Request) -> Response {
    match open(app, c, req).await {
        Ok(r) => r,
        Err(p) => p.into_response(),
    }
}

async fn open(app: S, c: Caller, req: Request) -> Result<Response, Problem> {
    let (Some(user), Some((digest, _))) = (c.who.user, c.who.session.clone()) else {
        return Err(Problem::of(ProblemKind::Forbidden, "the event stream is for signed-in people (session cookie)"));
    };
    let headers = req.headers();
    let text = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    auth::csrf::check_origin(text(header::ORIGIN), text(header::HOST), &app.config.allowed_origins)
        .map_err(|e| Problem::of(ProblemKind::Csrf, e.to_string()))?;
    let (mut parts, _) = req.into_parts();
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(|e| Problem::bad_request(format!("open this URL as a WebSocket: {}", e.body_text())))?;
    let center = center_of(&app)?.clone();
    let viewer = viewer_of(&app, &c).await?;
    let permit = Streams::acquire(&app, user)?;
    let limits = app.config.events;
    let conn = Connection { app, center, viewer, user, session_digest: digest, _permit: permit };
    Ok(upgrade
        .max_message_size(limits.max_incoming_frame_bytes)
        .max_frame_size(limits.max_incoming_frame_bytes)
        .on_upgrade(move |socket| conn.run(socket)))
}

/// The filter of the caller: staff see the org, an agent their record and queues.
pub(crate) async fn viewer_of(app: &AppState, c: &Caller) -> Result<Viewer, Problem> {
    let mut viewer = Viewer { org: c.who.org, role: c.who.role, agent: None, queues: Default::default() };
    if c.who.role == Role::Agent
        && let Some(agent_id) = c.agent
        && let Some(agent) = app.store.get_agent(c.who.org, agent_id).await?
    {
        viewer.agent = Some(agent.id);
        viewer.queues = agent.queues.iter().map(|m| m.queue).collect();
    }
    Ok(viewer)
}

/// Why a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    ClientClosed,
    SlowConsumer,
    Idle,
    SessionEnded,
    GoingAway,
}

impl End {
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::ClientClosed => return None,
            End::SlowConsumer => (CLOSE_SLOW_CONSUMER, "slow consumer: send queue full"),
            End::Idle => (CLOSE_IDLE, "idle: no pong"),
            End::SessionEnded => (CLOSE_SESSION_ENDED, "session ended: sign in again"),
            End::GoingAway => (CLOSE_GOING_AWAY, "server going away"),
        };
        Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) })
    }
}

struct Connection {
    app: S,
    center: center::CenterHandle,
    viewer: Viewer,
    user: UserId,
    session_digest: String,
    _permit: Permit,
}

impl Connection {
    async fn run(self, socket: WebSocket) {
        let limits = self.app.config.events;
        let (sink, mut incoming) = socket.split();
        let (queue, queued) = mpsc::channel::<Message>(limits.max_queued_messages.max(1));
        let (close_tx, close_rx) = oneshot::channel::<Option<CloseFrame>>();
        let writer = tokio::spawn(write_frames(sink, queued, close_rx));
        let mut events = self.center.subscribe();
        let mut alerts = self.app.alerts.as_ref().filter(|_| self.viewer.is_staff()).map(|b| b.subscribe());
        let ping_every = Duration::from_millis(limits.ping_interval_ms.max(1));
        let idle_after = Duration::from_millis(limits.idle_timeout_ms.max(1));
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        let mut last_heard = Instant::now();
        let mut end = self.send_snapshot(&queue).await.err();
        while end.is_none() {
            end = tokio::select! {
                ev = events.recv() => self.on_event(ev, &queue).await.err(),
                Some(alert) = crate::alerts::next(&mut alerts) => {
                    push(&queue, Message::Text(crate::alerts::frame(&alert).into())).err()
                }
                msg = incoming.next() => match msg {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => Some(End::ClientClosed),
                    Some(Ok(_)) => { last_heard = Instant::now(); None }
                },
                _ = ping.tick() => {
                    if last_heard.elapsed() > idle_after {
                        Some(End::Idle)
                    } else if !self.session_alive().await {
                        Some(End::SessionEnded)
                    } else {
                        push(&queue, Message::Ping(Default::default())).err()
                    }
                }
            };
        }
        let end = end.unwrap_or(End::ClientClosed);
        let streams = &self.app.streams;
        match end {
            End::SlowConsumer => streams.closed_slow.fetch_add(1, Ordering::Relaxed),
            End::Idle => streams.closed_idle.fetch_add(1, Ordering::Relaxed),
            End::SessionEnded => streams.closed_session.fetch_add(1, Ordering::Relaxed),
            End::ClientClosed | End::GoingAway => 0,
        };
        tracing::debug!(user = %self.user, ?end, "event stream closed");
        let _ = close_tx.send(end.close_frame());
        let _ = writer.await;
    }

    async fn on_event(&self, ev: Result<center::LiveEvent, broadcast::error::RecvError>, queue: &Outbox) -> Step {
        match ev {
            Ok(ev) if visible(&ev, &self.viewer) => match serde_json::to_string(&ev) {
                Ok(text) => push(queue, Message::Text(text.into())),
                Err(e) => {
                    tracing::error!(error = %e, "live event not serialisable");
                    Ok(())
                }
            },
            Ok(_) => Ok(()),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(user = %self.user, missed, "event stream lagged; sending a snapshot");
                self.app.streams.resyncs.fetch_add(1, Ordering::Relaxed);
                self.send_snapshot(queue).await
            }
            Err(broadcast::error::RecvError::Closed) => Err(End::GoingAway),
        }
    }

    async fn send_snapshot(&self, queue: &Outbox) -> Step {
        let snap = match self.center.snapshot().await {
            Ok(s) => visible_snapshot(s, &self.viewer),
            Err(center::CenterError::Busy(_)) => return Ok(()),
            Err(_) => return Err(End::GoingAway),
        };
        let frame = serde_json::json!({"type": "snapshot", "snapshot": snap});
        push(queue, Message::Text(frame.to_string().into()))
    }

    /// Whether the session still exists, has not expired, and its user is active.
    async fn session_alive(&self) -> bool {
        let app = &self.app;
        let org = self.viewer.org;
        let Ok(Some(session)) = app.auth.get_session(org, &self.session_digest).await else { return false };
        if matches!(
            session.status(&app.config.session, app.clock.now()),
            SessionStatus::IdleExpired | SessionStatus::AbsoluteExpired
        ) {
            return false;
        }
        matches!(app.store.get_user(org, self.user).await, Ok(Some(u)) if u.active)
    }
}

type Outbox = mpsc::Sender<Message>;
type Step = Result<(), End>;

/// Queues a frame for the writer; a full queue means the client is too slow.
fn push(queue: &Outbox, msg: Message) -> Step {
    match queue.try_send(msg) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(_)) => Err(End::SlowConsumer),
        Err(mpsc::error::TrySendError::Closed(_)) => Err(End::ClientClosed),
    }
}

/// The writer: frames from the queue to the socket, until told to close (with a close frame, if
/// any) or the socket fails. A send stuck on a client that does not read is abandoned when the
/// close comes.
async fn write_frames(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut queued: mpsc::Receiver<Message>,
    mut close_rx: oneshot::Receiver<Option<CloseFrame>>,
) {
    let close = loop {
        tokio::select! {
            biased;
            close = &mut close_rx => break close.ok().flatten(),
            msg = queued.recv() => {
                let Some(msg) = msg else { break None };
                tokio::select! {
                    sent = sink.send(msg) => if sent.is_err() { return },
                    close = &mut close_rx => break close.ok().flatten(),
                }
            }
        }
    };
    let grace = Duration::from_millis(CLOSE_GRACE_MS);
    if let Some(frame) = close {
        let _ = tokio::time::timeout(grace, sink.send(Message::Close(Some(frame)))).await;
    }
    let _ = tokio::time::timeout(grace, sink.close()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_send_queue_means_a_slow_consumer_and_never_growth() {
        let (queue, mut queued) = mpsc::channel::<Message>(2);
        assert_eq!(push(&queue, Message::Text("a".into())), Ok(()));
        assert_eq!(push(&queue, Message::Text("b".into())), Ok(()));
        assert_eq!(push(&queue, Message::Text("c".into())), Err(End::SlowConsumer));
        assert!(queued.try_recv().is_ok());
        assert_eq!(push(&queue, Message::Text("d".into())), Ok(()), "room again once the writer drained one");
        drop(queued);
        assert_eq!(push(&queue, Message::Text("e".into())), Err(End::ClientClosed));
    }

    #[test]
    fn each_server_close_has_its_documented_code() {
        let code = |e: End| e.close_frame().map(|f| f.code);
        assert_eq!(code(End::SlowConsumer), Some(CLOSE_SLOW_CONSUMER));
        assert_eq!(code(End::Idle), Some(CLOSE_IDLE));
        assert_eq!(code(End::SessionEnded), Some(CLOSE_SESSION_ENDED));
        assert_eq!(code(End::GoingAway), Some(CLOSE_GOING_AWAY));
        assert_eq!(code(End::ClientClosed), None);
    }
}
