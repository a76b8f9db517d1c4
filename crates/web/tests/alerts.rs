//! Complaint alerts end to end over the real HTTP API, the real center and a real webhook
//! receiver (axum on 127.0.0.1): contacts wrapped up with disposition `complaint` by an agent
//! through the API raise one alert; the receiver gets exactly one POST whose HMAC signature
//! verifies; a supervisor's event stream gets the alert frame, an agent's does not;
//! `GET /api/alerts` lists it for staff only.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use center::LiveEvent;
use common::{Browser, LiveServer, start_live_with_alerts, voice_contact};
use futures_util::StreamExt;
use kpi::alert::ComplaintRule;
use model::{DurationMs, ReasonCode};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Longest wait for an expected frame or event before the test fails (a failure bound).
const WAIT: Duration = Duration::from_secs(20);
const SECRET: &[u8] = b"alert-webhook-secret-0123";

type Posts = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook receiver on 127.0.0.1 that records every POST and answers 204.
async fn receiver() -> (String, Posts) {
    let posts: Posts = Arc::default();
    let seen = Arc::clone(&posts);
    let app = axum::Router::new().route(
        "/hooks/alerts",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
            seen.lock().expect("lock").push((headers, body));
            axum::http::StatusCode::NO_CONTENT
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hooks/alerts", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, posts)
}

/// More than 2 complaints in 15 minutes, one alert per hour.
fn rule() -> ComplaintRule {
    let code = ReasonCode::parse("complaint").expect("code");
    let mut rule = ComplaintRule::more_than(2, DurationMs::from_secs(15 * 60), code);
    rule.name = "投诉激增".to_owned();
    rule.clear_at_or_below = 2;
    rule.cooldown_ms = DurationMs::from_secs(3600);
    rule
}

async fn start() -> (LiveServer, web::alerts::AlertService, Posts) {
    start_with(rule()).await
}

async fn start_with(rule: ComplaintRule) -> (LiveServer, web::alerts::AlertService, Posts) {
    let (url, posts) = receiver().await;
    let webhook = feeds::WebhookPoster::start(feeds::WebhookConfig {
        url,
        secret: SECRET.to_vec(),
        timeout_ms: 2_000,
        max_retries: 2,
        max_pending: 10,
    })
    .expect("webhook");
    let (s, service) = start_live_with_alerts(common::config(), move |center, store| {
        web::alerts::AlertService::start(vec![rule], Some(webhook), center, store, Arc::new(center::SystemClock))
            .expect("rules are valid")
    })
    .await;
    (s, service, posts)
}

async fn connect(s: &LiveServer, b: &Browser) -> Ws {
    let mut req = format!("{}/api/events", s.base.replace("http://", "ws://")).into_client_request().expect("req");
    req.headers_mut().insert("cookie", b.cookie.parse().expect("cookie"));
    req.headers_mut().insert("origin", s.base.parse().expect("origin"));
    tokio_tungstenite::connect_async(req).await.expect("event stream opens").0
}

/// Text frames until one satisfies `done`, that one last.
async fn frames_until(ws: &mut Ws, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    let read = async {
        while let Some(msg) = ws.next().await {
            if let Message::Text(t) = msg.expect("frame") {
                let v: Value = serde_json::from_str(&t).expect("JSON frame");
                let stop = done(&v);
                seen.push(v);
                if stop {
                    return;
                }
            }
        }
        panic!("stream ended");
    };
    tokio::time::timeout(WAIT, read).await.unwrap_or_else(|_| panic!("expected frame; got {seen:?}"));
    seen
}

async fn wait_for(rx: &mut broadcast::Receiver<LiveEvent>, pred: impl Fn(&LiveEvent) -> bool) {
    tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(ev) if pred(&ev) => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("center stopped: {e}"),
            }
        }
    })
    .await
    .expect("the expected event comes");
}

async fn send(s: &LiveServer, b: &Browser, method: Method, path: &str, body: Option<Value>) -> u16 {
    let mut req = s.as_browser(b, method, path);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request").status().as_u16()
}

/// A contact comes in, agent 1001 answers, ends and wraps it up with `disposition`, all but
/// the arrival over the HTTP API.
async fn handle(s: &LiveServer, agent: &Browser, n: usize, disposition: &str) -> model::ContactId {
    let mut rx = s.center.subscribe();
    let contact = s.center.submit(voice_contact(n)).await.expect("submit");
    wait_for(&mut rx, |e| matches!(e, LiveEvent::ContactOffered { contact: c, .. } if *c == contact)).await;
    assert_eq!(send(s, agent, Method::POST, &format!("/api/contacts/{contact}/accept"), None).await, 204);
    assert_eq!(send(s, agent, Method::POST, &format!("/api/contacts/{contact}/end"), None).await, 204);
    let body = json!({"disposition": disposition, "notes": "客户投诉"});
    assert_eq!(send(s, agent, Method::POST, &format!("/api/contacts/{contact}/wrap-up"), Some(body)).await, 204);
    wait_for(&mut rx, |e| matches!(e, LiveEvent::WrapUpEnded { contact: c, .. } if *c == contact)).await;
    contact
}

#[tokio::test]
async fn complaints_over_the_threshold_raise_one_signed_webhook_and_a_staff_only_alert_frame() {
    let (s, service, posts) = start().await;
    let supervisor = s.supervisor().await;
    let agent = s.agent("1001").await;
    let mut sup_ws = connect(&s, &supervisor).await;
    let mut agent_ws = connect(&s, &agent).await;
    assert_eq!(send(&s, &agent, Method::PUT, "/api/me/state", Some(json!({"state": "available"}))).await, 204);

    handle(&s, &agent, 2, "resolved").await; // not a complaint
    for _ in 0..4 {
        handle(&s, &agent, 2, "complaint").await; // the 3rd raises; the 4th says nothing new
    }

    let frames = frames_until(&mut sup_ws, |f| f["type"] == "alert").await;
    let alert = &frames.last().expect("alert frame")["alert"];
    assert_eq!((alert["rule"].as_str(), alert["state"].as_str()), (Some("投诉激增"), Some("raised")));
    assert_eq!((alert["complaints"].as_u64(), alert["threshold"].as_u64()), (Some(3), Some(2)));
    assert!(alert["queue_name"].is_string(), "the queue is named: {alert}");

    // The agent's own stream goes on (its state change arrives) but never carries the alert.
    assert_eq!(send(&s, &agent, Method::PUT, "/api/me/state", Some(json!({"state": "offline"}))).await, 204);
    let agent_frames = frames_until(&mut agent_ws, |f| f["type"] == "agent_state" && f["state"] == "offline").await;
    assert!(agent_frames.iter().all(|f| f["type"] != "alert"), "an agent saw an alert: {agent_frames:?}");

    // Exactly one POST, however many complaints followed the raise.
    tokio::time::timeout(WAIT, async {
        while posts.lock().expect("lock").is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the webhook is called");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let posts = posts.lock().expect("lock").clone();
    assert_eq!(posts.len(), 1, "one burst, one POST");
    let (headers, body) = &posts[0];
    let pairs: Vec<(&str, &str)> =
        headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))).collect();
    let mut verifier = social::webhook::WebhookVerifier::new(social::webhook::WebhookConfig::with_secret(SECRET));
    let now = model::Timestamp::from_unix_ms(
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis())
            .expect("ms"),
    );
    verifier.verify(now, &pairs, body).expect("the HMAC-SHA256 signature verifies");
    let sent: Value = serde_json::from_slice(body).expect("JSON body");
    assert_eq!(sent["type"], "alert");
    assert_eq!(sent["alert"]["rule"], "投诉激增");
    assert_eq!(sent["alert"]["complaints"], 3);
    let mut forged = pairs.clone();
    forged.retain(|(k, _)| *k != "x-hotline-signature");
    forged.push(("x-hotline-signature", "sha256=00"));
    assert!(verifier.verify(now, &forged, body).is_err(), "a wrong signature does not verify");

    // The list: staff see the raised alert; agents may not read it.
    let list = common::json(s.as_browser(&supervisor, Method::GET, "/api/alerts").send().await.expect("list")).await;
    assert_eq!(list["active"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["active"][0]["rule"], "投诉激增");
    assert_eq!(send(&s, &agent, Method::GET, "/api/alerts", None).await, 403);
    service.stop().await;
}

#[tokio::test]
async fn transcript_keyword_flags_count_in_the_contacts_queue() {
    let mut by_keyword = rule();
    by_keyword.dispositions.clear(); // keyword flags only: the "resolved" wrap-ups below do not count
    let (s, service, posts) = start_with(by_keyword).await;
    let supervisor = s.supervisor().await;
    let agent = s.agent("1001").await;
    assert_eq!(send(&s, &agent, Method::PUT, "/api/me/state", Some(json!({"state": "available"}))).await, 204);
    let mut contacts = Vec::new();
    for _ in 0..3 {
        contacts.push(handle(&s, &agent, 2, "resolved").await);
    }
    s.center.flush().await.expect("flush");
    let list = |s: &LiveServer, b: &Browser| {
        let req = s.as_browser(b, Method::GET, "/api/alerts");
        async move { common::json(req.send().await.expect("list")).await }
    };
    assert_eq!(list(&s, &supervisor).await["active"].as_array().map(Vec::len), Some(0));
    for contact in contacts {
        let flags = vec!["refund".to_owned(), "complaint".to_owned()];
        service.keyword_flags(web::alerts::KeywordFlags { org: demo::DEMO_ORG, contact, flags });
    }
    let active = tokio::time::timeout(WAIT, async {
        loop {
            let l = list(&s, &supervisor).await;
            if l["active"].as_array().is_some_and(|a| !a.is_empty()) {
                return l["active"][0].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the keyword flags raise the alert");
    assert_eq!(active["complaints"], 3);
    assert!(active["queue"].is_string(), "counted in the contacts' queue: {active}");
    tokio::time::timeout(WAIT, async {
        while posts.lock().expect("lock").is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the webhook is called");
    service.stop().await;
}

/// The wallboard's banner in Debian's Chromium (playwright-core, `browser/alerts.mjs`): absent
/// before, shown live when the third complaint is wrapped up, in zh-CN and English, and after
/// a reload (from `GET /api/alerts`). Screenshots go to `target/screenshots/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallboard_shows_the_complaint_banner_live_in_chromium() {
    common::browser::require_tools();
    let (s, service, _posts) = start().await;
    let on_line = async |line: &str| {
        if line == "@@ready" {
            let agent = s.agent("1001").await;
            assert_eq!(send(&s, &agent, Method::PUT, "/api/me/state", Some(json!({"state": "available"}))).await, 204);
            for _ in 0..3 {
                handle(&s, &agent, 2, "complaint").await;
            }
        }
        None
    };
    common::browser::drive_scenario("alerts.mjs", &s.base, &[], Duration::from_secs(150), on_line).await;
    assert!(common::browser::screenshot_dir().join("wallboard-complaint-alert.png").exists());
    service.stop().await;
}
