//! Health and readiness over real HTTP against a server on an ephemeral loopback port.

mod common;

use store::{ConnectOptions, Store};

#[tokio::test]
async fn healthz_answers_while_readyz_follows_the_schema() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let store = Store::connect(&url, &ConnectOptions::default()).await.expect("connect");
    let server = common::serve_store(store.clone(), common::config(), dir).await;

    let health = server.http.get(server.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);

    let not_ready = server.http.get(server.url("/readyz")).send().await.expect("readyz");
    let (status, problem) = common::problem(not_ready).await;
    assert_eq!(status, 503);
    assert_eq!(problem["type"], common::problem_type("unavailable"));
    assert!(problem["detail"].as_str().expect("detail").contains("schema is at version 0"), "{problem}");

    store.migrate().await.expect("migrate");
    let ready = common::json(server.http.get(server.url("/readyz")).send().await.expect("readyz")).await;
    assert_eq!(ready["schema_version"], store::LATEST_SCHEMA_VERSION);
}

#[tokio::test]
async fn unknown_path_and_wrong_method_are_problem_documents() {
    let server = common::start().await;
    let (status, _) = common::problem(server.http.get(server.url("/nope")).send().await.expect("get")).await;
    assert_eq!(status, 404);
    let (status, p) = common::problem(server.http.delete(server.url("/healthz")).send().await.expect("delete")).await;
    assert_eq!(status, 405);
    assert_eq!(p["type"], common::problem_type("method-not-allowed"));
}
