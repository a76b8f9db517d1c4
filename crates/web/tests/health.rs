//! Health and readiness over real HTTP against a server on an ephemeral loopback port.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use web::{AppState, HttpLimits, Readiness};

struct Switch(Arc<AtomicBool>);

impl Readiness for Switch {
    async fn check(&self) -> Result<u32, String> {
        if self.0.load(Ordering::SeqCst) { Ok(3) } else { Err("database unreachable: connection refused".into()) }
    }
}

async fn start(ready: Arc<AtomicBool>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let state = Arc::new(AppState { readiness: Switch(ready), version: "test" });
    let router = web::router(state, HttpLimits { max_body_bytes: 1024 });
    tokio::spawn(web::serve(listener, router, std::future::pending()));
    format!("http://{addr}")
}

#[tokio::test]
async fn healthz_answers_while_readyz_follows_the_database() {
    let ready = Arc::new(AtomicBool::new(false));
    let base = start(ready.clone()).await;
    let http = reqwest::Client::new();

    let health = http.get(format!("{base}/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);

    let not_ready = http.get(format!("{base}/readyz")).send().await.expect("readyz");
    assert_eq!(not_ready.status(), 503);
    assert_eq!(not_ready.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = not_ready.json().await.expect("problem json");
    assert_eq!(problem["status"], 503);
    assert_eq!(problem["detail"], "database unreachable: connection refused");

    ready.store(true, Ordering::SeqCst);
    let now_ready: serde_json::Value =
        http.get(format!("{base}/readyz")).send().await.expect("readyz").json().await.expect("json");
    assert_eq!(now_ready["schema_version"], 3);
}

#[tokio::test]
async fn unknown_path_is_a_problem_document() {
    let base = start(Arc::new(AtomicBool::new(true))).await;
    let resp = reqwest::get(format!("{base}/nope")).await.expect("request");
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
}
