//! Hotline's HTTP surface, the only crate that uses axum.
//!
//! Serves `/healthz`, `/readyz` and the REST API under `/api` (sign-in, sessions, API tokens, the
//! audit log, users, agents, skills, queues, customers, contacts, tickets, orders, recording
//! metadata and downloads with HTTP Range; the recordings library with filters, two-channel
//! waveform peaks and legal holds; historical reports from the `reports` crate as JSON, CSV and
//! XLSX), its OpenAPI document at `/api/openapi.json` and a
//! browsable page at `/api/docs`; the live contact center ([`AppState::with_center`], the
//! `center` crate): the WebSocket event stream `/api/events`, the agents' and supervisors'
//! commands (state, accept, reject, end, wrap-up, transfer, force state, sign-out) and the
//! wallboard's figures (`live` module); and the browser pages — agent desktop `/desktop`,
//! wallboard `/wallboard`, reports `/reports`, recordings `/recordings`, admin `/admin` — as vanilla JS/CSS compiled into the binary, in zh-CN
//! and English (`pages` module).
//!
//! Invariants:
//! - **One route table** ([`routes::ROUTES`]): every route is declared once with its method, path,
//!   operation id and access [`auth::policy::Rule`] (route × role → allow/deny/own); the router,
//!   the guard that enforces the rule, the audit log and the OpenAPI document are all built from
//!   it, so a route cannot exist without a rule.
//! - **One error format**: every error response is RFC 9457 `application/problem+json`
//!   ([`Problem`], [`ProblemKind`]), including errors axum or a layer produce.
//! - **Thin shell**: credentials, CSRF, throttling and rate logic are in the sans-IO `auth` crate;
//!   data goes through the `store` crate; handlers parse, check the caller's grant, call, answer.
//!   Time and randomness come only through [`Clock`] and [`Entropy`].
//! - **Bounded**: bodies are capped at `max_body_bytes` (413), each client address has a token
//!   bucket (429), failed sign-ins are throttled per username and per address (429), argon2 work
//!   runs at most `max_concurrent_password_hashes` at a time (503 past `password_queue_timeout_ms`),
//!   pages at [`store::MAX_PAGE_SIZE`] rows; every map behind these has a named size limit.
//! - **Observable**: requests, errors, throttled requests, in-flight requests and a latency
//!   histogram at `/api/metrics` (Prometheus text), with no label taken from request data; with
//!   the live center, the same document carries its queue and agent gauges and ended-contact
//!   counters (`feeds::prometheus`, labels from the org's own queue names only).
//! - **Cookie sessions are CSRF-safe**: HttpOnly, SameSite=Strict (+Secure when configured); every
//!   unsafe method authenticated by cookie needs the per-session token in `X-CSRF-Token`, and an
//!   `Origin`, when sent, must be this server's. Bearer tokens are not sent by browsers on their
//!   own and skip the CSRF checks.
//! - **Org-scoped**: the server serves one org ([`WebConfig::org`]); every store call carries it.
//! - **Live data is role-filtered in one place** (`live::visible`): an agent's event stream and
//!   live snapshot carry only their own offers, contacts and state and their queues' stats.
//! - Never panics on a request: malformed ids, cursors, cookies and headers are problems.

pub mod alerts;
mod api;
mod authrepo;
pub mod chat_edge;
pub mod chat_ws;
pub mod email_reply;
mod email_thread;
mod guard;
mod hashing;
pub mod ivr_flows;
mod live;
mod metrics;
pub mod social_channel;
pub mod wechat;
pub use metrics::{ContactTally, feed_snapshots};
mod openapi;
mod pages;
mod problem;
pub mod routes;
mod runtime;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use auth::rate::{RateLimiter, RateLimits};
use auth::session::SessionPolicy;
use auth::throttle::{LoginThrottle, ThrottleLimits};
use axum::Router;
use model::OrgId;
use store::Store;
use tokio::net::TcpListener;

pub use authrepo::{ApiToken, AuditEntry, AuthRepo, BoxFuture};
pub use guard::{Caller, Principal};
pub use problem::{ApiJson, PROBLEM_JSON, Problem, ProblemKind};
pub use runtime::{Clock, Entropy, ManualClock, OsEntropy, SystemClock};

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The org this server serves; every query is scoped to it.
    pub org: OrgId,
    pub session: SessionPolicy,
    /// Adds `Secure` to the session cookie (set it whenever the server is reached over HTTPS).
    pub secure_cookies: bool,
    /// Origins besides this server's own host that may send unsafe requests
    /// (`https://desk.example.com`); exact match.
    pub allowed_origins: Vec<String>,
    pub throttle: ThrottleLimits,
    pub rate: RateLimits,
    /// Largest request body accepted; larger ones are refused with 413.
    pub max_body_bytes: usize,
    /// Password hashes and checks (argon2id, ~25 ms and 19 MiB each) running at once.
    pub max_concurrent_password_hashes: usize,
    /// Longest a sign-in waits for a hashing slot before a 503.
    pub password_queue_timeout_ms: u64,
    /// Where recording files live (`Recording::path` is relative to it); `None`: downloads are 404.
    pub recordings_dir: Option<std::path::PathBuf>,
    /// Where the email channel writes kept attachments (`/api/contacts/{id}/email/attachments/*`);
    /// `None`: downloads answer 404.
    pub email_attachments_dir: Option<std::path::PathBuf>,
    /// Event-stream limits.
    pub events: EventStreamLimits,
    /// The org's offset from UTC in minutes, for report days and hours (Asia/Shanghai: 480).
    pub report_utc_offset_minutes: i32,
    /// Keys that open sealed recordings (peaks); none configured: sealed files are refused.
    pub recording_keys: std::sync::Arc<recordings::Keyring>,
    /// The business-hours calendar (`/api/calendars/{name}`) the web chat follows: outside its
    /// hours a new chat is a message left for later. `None`: chats are always answered live.
    pub chat_calendar: Option<String>,
    /// The secret chat edges present on `/chat/edge` (`[chat] edge_secret`); `None`: no edges.
    pub chat_edge_secret: Option<String>,
}

/// Limits of the WebSocket event stream (`GET /api/events`).
#[derive(Debug, Clone, Copy)]
pub struct EventStreamLimits {
    /// Open event streams per signed-in user; one more is refused with 429.
    pub max_connections_per_user: usize,
    /// Open event streams on this server; one more is refused with 503.
    pub max_connections: usize,
    /// Frames waiting to be written to one connection; one more closes it as a slow consumer.
    pub max_queued_messages: usize,
    /// A ping is sent this often.
    pub ping_interval_ms: u64,
    /// A connection that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout_ms: u64,
    /// Largest frame accepted from a client (clients only answer pings and say nothing else).
    pub max_incoming_frame_bytes: usize,
}

impl Default for EventStreamLimits {
    fn default() -> Self {
        Self {
            max_connections_per_user: 4,
            max_connections: 2_000,
            max_queued_messages: 256,
            ping_interval_ms: 20_000,
            idle_timeout_ms: 60_000,
            max_incoming_frame_bytes: 4 * 1024,
        }
    }
}

impl WebConfig {
    pub fn new(org: OrgId) -> Self {
        Self {
            org,
            session: SessionPolicy::default(),
            secure_cookies: false,
            allowed_origins: Vec::new(),
            throttle: ThrottleLimits::default(),
            rate: RateLimits::default(),
            max_body_bytes: 1024 * 1024,
            max_concurrent_password_hashes: 4,
            password_queue_timeout_ms: 5_000,
            recordings_dir: None,
            email_attachments_dir: None,
            events: EventStreamLimits::default(),
            report_utc_offset_minutes: 480,
            recording_keys: std::sync::Arc::new(recordings::Keyring::none()),
            chat_calendar: None,
            chat_edge_secret: None,
        }
    }
}

/// Everything the handlers share.
pub struct AppState {
    pub store: Store,
    pub auth: Arc<dyn AuthRepo>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub config: WebConfig,
    pub version: &'static str,
    /// The live contact center; `None`: live routes answer 503 (a server without the ACD).
    pub center: Option<center::CenterHandle>,
    /// Complaint alerts (`GET /api/alerts`, staff event streams); `None`: no rule configured.
    pub alerts: Option<Arc<alerts::AlertBoard>>,
    /// IVR flows managed through the API (`/api/ivr/flows`); `None`: 503 (built-in flows).
    pub ivr: Option<Arc<ivr_flows::IvrFlows>>,
    /// The business-hours calendars the IVR reads, refilled from the store at start and after
    /// every calendar edit; `None`: the managed flows' registry's book, if any.
    pub calendars: Option<Arc<ivr::CalendarBook>>,
    /// Agents' email replies (`/api/contacts/{id}/email/reply`); `None`: 503 (no smarthost).
    pub email: Option<Arc<dyn email_reply::EmailOutbox>>,
    /// The WeChat official account's callback (`/wechat/callback`); `None`: 404.
    pub wechat: Option<Arc<wechat::WeChatCallback>>,
    /// The social channels' intake, replies and webhooks (`/webhooks/{channel}`,
    /// `/api/contacts/{id}/social/*`); `None`: 404 / 503.
    pub social: Option<Arc<social_channel::SocialWeb>>,
    /// The keyword search index (`/api/search`); `None`: 503.
    pub search: Option<Arc<search::SearchIndex>>,
    pub(crate) metrics: metrics::HttpMetrics,
    pub(crate) streams: live::stream::Streams,
    /// Ended contacts by channel and outcome, from the center's events (`/api/metrics`).
    pub(crate) tally: Arc<Mutex<metrics::ContactTally>>,
    /// The web chat's hub, once the router built it (the desktop's chat pane talks to it).
    pub(crate) chat: std::sync::OnceLock<Arc<chat_ws::ChatHub>>,
    throttle: Mutex<LoginThrottle>,
    rate: Mutex<RateLimiter>,
    password_slots: tokio::sync::Semaphore,
}

impl AppState {
    /// State with the system clock, the OS's randomness, and sessions/tokens/audit in `auth`.
    pub fn new(store: Store, auth: Arc<dyn AuthRepo>, config: WebConfig, version: &'static str) -> Self {
        Self {
            store,
            auth,
            clock: Arc::new(SystemClock),
            entropy: Arc::new(OsEntropy),
            center: None,
            alerts: None,
            ivr: None,
            calendars: None,
            email: None,
            wechat: None,
            social: None,
            search: None,
            metrics: metrics::HttpMetrics::default(),
            streams: live::stream::Streams::default(),
            tally: Arc::default(),
            chat: std::sync::OnceLock::new(),
            throttle: Mutex::new(LoginThrottle::new(config.throttle)),
            rate: Mutex::new(RateLimiter::new(config.rate)),
            password_slots: tokio::sync::Semaphore::new(config.max_concurrent_password_hashes.max(1)),
            config,
            version,
        }
    }

    /// Connects the live contact center (event stream, desktop and wallboard commands).
    pub fn with_center(mut self, center: center::CenterHandle) -> Self {
        metrics::spawn_tally(&center, self.tally.clone());
        self.center = Some(center);
        self
    }

    /// Connects the email channel's outbox (agents' replies).
    pub fn with_email(mut self, outbox: Arc<dyn email_reply::EmailOutbox>) -> Self {
        self.email = Some(outbox);
        self
    }

    /// Serves the WeChat callback (`[social] wechat_token`).
    pub fn with_wechat(mut self, callback: wechat::WeChatCallback) -> Self {
        self.wechat = Some(Arc::new(callback));
        self
    }

    /// Connects the social channels (the binary's intake and outbox) and serves their webhooks.
    pub fn with_social(mut self, social: social_channel::SocialWeb) -> Self {
        self.social = Some(Arc::new(social));
        self
    }

    /// Serves keyword search over this index (the binary feeds it transcripts and notes).
    pub fn with_search(mut self, index: Arc<search::SearchIndex>) -> Self {
        self.search = Some(index);
        self
    }

    /// Connects the complaint alerts (the `hotline` binary fills the board).
    pub fn with_alerts(mut self, board: Arc<alerts::AlertBoard>) -> Self {
        self.alerts = Some(board);
        self
    }

    /// Lets admins list, read, validate and replace the IVR flows of a directory.
    pub fn with_ivr_flows(mut self, flows: Arc<ivr_flows::IvrFlows>) -> Self {
        self.ivr = Some(flows);
        self
    }

    /// Keeps `book` (the flow registry's, `ivr::FlowRegistry::calendars`) filled with the org's
    /// business-hours calendars: loaded when the router is built, refilled after every edit.
    pub fn with_calendars(mut self, book: Arc<ivr::CalendarBook>) -> Self {
        self.calendars = Some(book);
        self
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Waits until the web chat's queued writes are in the store (a clean shutdown calls this
    /// after the HTTP server stopped); nothing to do without a chat hub.
    pub async fn flush_chat(&self) {
        if let Some(hub) = self.chat.get() {
            hub.flush_store().await;
        }
    }

    pub(crate) fn throttle(&self) -> MutexGuard<'_, LoginThrottle> {
        self.throttle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn rate(&self) -> MutexGuard<'_, RateLimiter> {
        self.rate.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The router with every route Hotline serves.
pub fn router(state: Arc<AppState>) -> Router {
    routes::build(state)
}

/// Serves until `shutdown` completes, then lets in-flight requests finish. Handlers see the
/// peer's address (for throttling and rate limits).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
