//! The registrar service against a real SIP peer (sipp, Debian package `sip-tester`) on loopback,
//! with a SQLite store seeded with the Demo Shop: agent 1001 registers with password demo1001.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_with_the_right_password_is_stored_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let server = start(&store, config()).await;
    let phone_port = free_port();
    let (code, log) =
        sipp("register.xml", server.local_addr(), phone_port, &["-s", "1001", "-au", "1001", "-ap", "demo1001"]).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    let stored = wait_for_bindings(&store, |b| !b.is_empty()).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].extension.as_str(), "1001");
    assert_eq!(stored[0].source.port(), phone_port);
    assert_eq!(server.counters().registrations_accepted, 1);
    server.stop().await;

    // After a restart the registrar holds the binding again: it pings the phone with OPTIONS.
    let mut cfg = config();
    cfg.keepalive_interval_ms = 300;
    let restarted = start(&store, cfg).await;
    let (code, log) = sipp("keepalive_uas.xml", restarted.local_addr(), phone_port, &[]).await;
    assert_eq!(code, 0, "the restored binding got no keep-alive: {log}");
    assert!(restarted.counters().keepalives_sent >= 1);
    assert_eq!(bindings(&store).await.len(), 1, "the binding was lost across the restart");
    restarted.stop().await;
}
