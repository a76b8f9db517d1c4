//! Web chat through routing in Debian's Chromium (`browser/chat.mjs`, playwright-core): the real
//! server on an ephemeral port with the real contact center over a seeded SQLite store. A
//! customer's widget starts a chat, the center offers it to agent 1001 on `/desktop`, who accepts
//! and exchanges messages with the customer in the chat pane (typing and read marks both ways).
//! The transcript is then read back from the store. Screenshots go to `target/screenshots/`.
//!
//! Needs `node`, `/usr/bin/chromium` and `npm ci` in `crates/web/browser` (playwright-core).

mod common;

use std::sync::Arc;
use std::time::Duration;

/// Longest the whole browser scenario may take before the test fails.
const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_and_an_agent_chat_through_routing_in_chromium() {
    common::browser::require_tools();
    let dir = tempfile::tempdir().expect("tmp");
    let store = common::seeded_store(dir.path()).await;
    let (center, _task) = center::Center::start(
        store.clone(),
        demo::DEMO_ORG,
        &center::demo_routes(),
        center::CenterConfig::default(),
        Arc::new(center::SystemClock),
    )
    .await
    .expect("center starts");
    let mut live = center.subscribe();
    let state = web::AppState::new(store.clone(), Arc::new(store.clone()), common::config(), "test")
        .with_center(center.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(web::serve(listener, web::router(Arc::new(state)), std::future::pending()));

    common::browser::run_scenario("chat.mjs", &base, &[], SCENARIO_LIMIT).await;

    // The chat was a contact routed by the center to 1001, and its transcript is stored.
    let agent = common::demo_agent("1001").id;
    let contact = loop {
        match live.try_recv() {
            Ok(center::LiveEvent::ContactAnswered { contact, agent: a, channel: model::Channel::Chat, .. })
                if a == agent =>
            {
                break contact;
            }
            Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(e) => panic!("no answered chat contact for 1001: {e}"),
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let texts = loop {
        let row = store.find_chat_conversation_by_contact(demo::DEMO_ORG, contact).await.expect("read");
        let texts: Vec<String> = match &row {
            Some(row) => store
                .list_chat_messages(demo::DEMO_ORG, &row.id, 0, 100)
                .await
                .expect("messages")
                .into_iter()
                .map(|m| m.text)
                .collect(),
            None => vec![],
        };
        if texts.iter().any(|t| t.contains("马上为您查询")) || tokio::time::Instant::now() > deadline {
            break texts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(texts.iter().any(|t| t.contains("100001")), "the customer's words are stored: {texts:?}");
    assert!(texts.iter().any(|t| t.contains("马上为您查询")), "the agent's answer is stored: {texts:?}");
}
