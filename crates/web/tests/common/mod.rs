//! The test harness: a real server on 127.0.0.1:0 over a real SQLite store in a temp dir, seeded
//! with the Demo Shop through the store API, and a small client that carries the session cookie
//! and CSRF token the way a browser page would.

#![allow(dead_code)]

pub mod browser;

use std::sync::Arc;

use model::{Timestamp, User};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use store::{ConnectOptions, Store};
use web::{AppState, ManualClock, WebConfig};

/// The demo's start time in these tests.
pub const T0: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);

pub struct TestServer {
    pub base: String,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A test config: the demo org, generous rate limits (tests fire many requests at once).
pub fn config() -> WebConfig {
    let mut c = WebConfig::new(demo::DEMO_ORG);
    c.rate.requests_per_second = 10_000;
    c.rate.burst_requests = 10_000;
    c.max_body_bytes = 16 * 1024;
    c
}

pub async fn seeded_store(dir: &std::path::Path) -> Store {
    let url = format!("sqlite://{}", dir.join("hotline.db").display());
    let store = Store::connect(&url, &ConnectOptions::default()).await.expect("connect");
    store.migrate().await.expect("migrate");
    let d = demo::dataset(T0);
    store.insert_org(&d.org).await.expect("org");
    for s in &d.skills {
        store.insert_skill(s).await.expect("skill");
    }
    for q in &d.queues {
        store.insert_queue(q).await.expect("queue");
    }
    for u in &d.users {
        let hash = auth::hash_password(&u.password, [3; 16]).expect("hash");
        store.insert_user(&User { password_hash: hash, ..u.user.clone() }).await.expect("user");
    }
    for a in &d.agents {
        store.insert_agent(a).await.expect("agent");
    }
    for c in &d.customers {
        store.insert_customer(c).await.expect("customer");
    }
    for o in &d.orders {
        store.insert_order(o).await.expect("order");
    }
    store
}

pub async fn start() -> TestServer {
    start_with(config()).await
}

pub async fn start_with(config: WebConfig) -> TestServer {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path()).await;
    serve_store(store, config, dir).await
}

pub async fn serve_store(store: Store, config: WebConfig, dir: tempfile::TempDir) -> TestServer {
    serve_with_center(store, config, dir, None, None).await
}

/// A loopback listener on an ephemeral port; `send_buffer_bytes` fixes the kernel's send buffer
/// of the connections it accepts (a constrained link, for slow-consumer tests).
fn listener(send_buffer_bytes: Option<u32>) -> tokio::net::TcpListener {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    if let Some(bytes) = send_buffer_bytes {
        socket.set_send_buffer_size(bytes).expect("send buffer");
    }
    socket.bind("127.0.0.1:0".parse().expect("addr")).expect("bind loopback");
    socket.listen(1024).expect("listen")
}

/// The server, with the live contact center when given.
pub async fn serve_with_center(
    store: Store,
    config: WebConfig,
    dir: tempfile::TempDir,
    center: Option<center::CenterHandle>,
    send_buffer_bytes: Option<u32>,
) -> TestServer {
    let clock = Arc::new(ManualClock::new(T0));
    let repo = Arc::new(store.clone());
    let mut state = AppState::new(store.clone(), repo, config, "test").with_clock(clock.clone());
    if let Some(c) = center {
        state = state.with_center(c);
    }
    let listener = listener(send_buffer_bytes);
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(web::serve(listener, web::router(Arc::new(state)), std::future::pending()));
    TestServer { base: format!("http://{addr}"), store, clock, http: reqwest::Client::new(), _dir: dir }
}

/// Another server process on the same database (a restart, or a second node), with its own
/// state; returns its base URL.
pub async fn another_server_on(s: &TestServer) -> String {
    let state = AppState::new(s.store.clone(), Arc::new(s.store.clone()), config(), "test").with_clock(s.clock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(web::serve(listener, web::router(Arc::new(state)), std::future::pending()));
    format!("http://{addr}")
}

/// A signed-in browser: the session cookie and the CSRF token the login answer carried.
#[derive(Debug, Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
    pub me: Value,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn anon(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request as the signed-in browser sends it: cookie and CSRF header.
    pub fn as_browser(&self, b: &Browser, method: Method, path: &str) -> RequestBuilder {
        self.anon(method, path).header("cookie", &b.cookie).header("x-csrf-token", &b.csrf)
    }

    pub fn as_token(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.anon(method, path).bearer_auth(token)
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Response {
        self.anon(Method::POST, "/api/auth/login")
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request")
    }

    pub async fn login(&self, username: &str, password: &str) -> Browser {
        let resp = self.try_login(username, password).await;
        assert_eq!(resp.status(), 200, "login {username}");
        let set_cookie = resp.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        let cookie = set_cookie.split(';').next().expect("cookie pair").to_owned();
        let me: Value = resp.json().await.expect("login json");
        Browser { cookie, csrf: me["csrf_token"].as_str().expect("csrf").to_owned(), me }
    }

    pub async fn admin(&self) -> Browser {
        self.login("admin", "demoadmin").await
    }

    pub async fn supervisor(&self) -> Browser {
        self.login("supervisor", "demosuper").await
    }

    pub async fn agent(&self, ext: &str) -> Browser {
        self.login(ext, &format!("demo{ext}")).await
    }
}

/// Reads a problem document, checking the media type.
pub async fn problem(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_owned()).unwrap_or_default();
    assert_eq!(ct, "application/problem+json", "status {status} is not a problem document");
    let body: Value = resp.json().await.expect("problem json");
    assert_eq!(body["status"], status);
    (status, body)
}

pub async fn json(resp: Response) -> Value {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).expect("json")
}

pub fn problem_type(name: &str) -> String {
    format!("urn:hotline:problem:{name}")
}

/// Contacts, an event, a recording and a ticket on top of the Demo Shop.
pub struct Activity {
    /// Handled by agent 1001.
    pub contact_1001: model::ContactId,
    /// Handled by agent 1002.
    pub contact_1002: model::ContactId,
    pub recording_1001: model::RecordingId,
    pub ticket: model::TicketId,
}

pub fn demo_agent(ext: &str) -> model::Agent {
    demo::dataset(T0).agents.into_iter().find(|a| a.extension.as_str() == ext).expect("demo agent")
}

pub async fn seed_activity(store: &Store) -> Activity {
    use model::*;
    let org = demo::DEMO_ORG;
    let customer = demo::customer_id(1);
    let mut ids = Vec::new();
    for (n, ext) in [(1u128, "1001"), (2, "1002")] {
        let id = ContactId::from_u128(0xc0_0000 + n);
        let mut c = Contact::arrived(
            id,
            org,
            Channel::Voice,
            Direction::Inbound,
            "+8613800000001",
            "4000",
            T0.plus(DurationMs::from_secs(n as u64)),
        );
        c.customer = Some(customer);
        c.agent = Some(demo_agent(ext).id);
        c.status = ContactStatus::Ended;
        store.insert_contact(&c).await.expect("contact");
        let e = ContactEvent {
            id: ContactEventId::from_u128(0xe0_0000 + n),
            org,
            contact: id,
            at: c.arrived_at,
            kind: ContactEventKind::Arrived,
            agent: None,
            queue: None,
            detail: "{}".into(),
        };
        store.insert_contact_event(&e).await.expect("event");
        ids.push(id);
    }
    let rec = Recording {
        id: RecordingId::from_u128(0xa0_0001),
        org,
        contact: ids[0],
        path: "2026/11/27/a.wav".into(),
        started_at: T0,
        duration: DurationMs::from_secs(60),
        size_bytes: 960_044,
        sha256: "0".repeat(64),
        channels: 2,
        sample_rate_hz: 8_000,
        legal_hold: false,
        deleted_at: None,
    };
    store.insert_recording(&rec).await.expect("recording");
    let ticket = Ticket {
        id: TicketId::from_u128(0x70_0001),
        org,
        number: store.next_ticket_number(org).await.expect("number"),
        subject: "Parcel late".into(),
        status: TicketStatus::Open,
        priority: TicketPriority::Normal,
        customer: Some(customer),
        assignee: None,
        contacts: vec![ids[0]],
        created_at: T0,
        updated_at: T0,
    };
    store.insert_ticket(&ticket).await.expect("ticket");
    Activity { contact_1001: ids[0], contact_1002: ids[1], recording_1001: rec.id, ticket: ticket.id }
}

/// A server with the real live contact center (`center` over the same seeded SQLite store, the
/// demo's route tables, the system clock).
pub struct LiveServer {
    pub server: TestServer,
    pub center: center::CenterHandle,
}

impl std::ops::Deref for LiveServer {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

pub async fn start_live(config: WebConfig) -> LiveServer {
    start_live_with(config, None).await
}

/// [`start_live`] whose accepted connections have a fixed kernel send buffer.
pub async fn start_live_with(config: WebConfig, send_buffer_bytes: Option<u32>) -> LiveServer {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path()).await;
    let (center, _task) = center::Center::start(
        store.clone(),
        demo::DEMO_ORG,
        &center::demo_routes(),
        center::CenterConfig::default(),
        Arc::new(center::SystemClock),
    )
    .await
    .expect("center starts");
    let server = serve_with_center(store, config, dir, Some(center.clone()), send_buffer_bytes).await;
    LiveServer { server, center }
}

/// A voice contact from demo customer `n` entering the demo's `hotline` entry point.
pub fn voice_contact(n: usize) -> center::NewContact {
    let mut c = center::NewContact::new(model::Channel::Voice, "hotline", &format!("+86138000000{n:02}"));
    c.customer = Some(demo::customer_id(n));
    c
}

/// [`start_live`] with complaint alerts: `start` gets the center and the store and returns the
/// alert service whose board the server shows.
pub async fn start_live_with_alerts(
    config: WebConfig,
    start: impl FnOnce(&center::CenterHandle, &Store) -> web::alerts::AlertService,
) -> (LiveServer, web::alerts::AlertService) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path()).await;
    let (center, _task) = center::Center::start(
        store.clone(),
        demo::DEMO_ORG,
        &center::demo_routes(),
        center::CenterConfig::default(),
        Arc::new(center::SystemClock),
    )
    .await
    .expect("center starts");
    let service = start(&center, &store);
    let clock = Arc::new(ManualClock::new(T0));
    let state = AppState::new(store.clone(), Arc::new(store.clone()), config, "test")
        .with_clock(clock.clone())
        .with_center(center.clone())
        .with_alerts(service.board.clone());
    let listener = listener(None);
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(web::serve(listener, web::router(Arc::new(state)), std::future::pending()));
    let server = TestServer { base: format!("http://{addr}"), store, clock, http: reqwest::Client::new(), _dir: dir };
    (LiveServer { server, center }, service)
}

/// [`start`] with the app state changed by `tune` before it serves (extra services: IVR flows).
pub async fn start_tuned(tune: impl FnOnce(AppState) -> AppState) -> TestServer {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path()).await;
    let clock = Arc::new(ManualClock::new(T0));
    let state = AppState::new(store.clone(), Arc::new(store.clone()), config(), "test").with_clock(clock.clone());
    let listener = listener(None);
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(web::serve(listener, web::router(Arc::new(tune(state))), std::future::pending()));
    TestServer { base: format!("http://{addr}"), store, clock, http: reqwest::Client::new(), _dir: dir }
}
