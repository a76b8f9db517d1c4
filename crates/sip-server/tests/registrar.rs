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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_with_a_wrong_password_is_challenged_again_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let server = start(&store, config()).await;
    let args = ["-s", "1001", "-au", "1001", "-ap", "not-the-password"];
    let (code, log) = sipp("register_rejected.xml", server.local_addr(), free_port(), &args).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    assert_eq!(server.counters().registrations_challenged, 2);
    assert_eq!(server.counters().registrations_accepted, 0);
    assert!(bindings(&store).await.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_as_an_unknown_user_gets_the_same_answer_as_a_wrong_password() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let server = start(&store, config()).await;
    let args = ["-s", "9999", "-au", "9999", "-ap", "anything"];
    let (code, log) = sipp("register_rejected.xml", server.local_addr(), free_port(), &args).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    assert_eq!(server.counters().registrations_challenged, 2);
    assert!(bindings(&store).await.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_with_an_expired_nonce_is_answered_stale_and_the_client_reauthenticates() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let mut cfg = config();
    // The scenario waits 1500 ms between the challenge and its answer.
    cfg.nonce_ttl_ms = 500;
    let server = start(&store, cfg).await;
    let args = ["-s", "1002", "-au", "1002", "-ap", "demo1002"];
    let (code, log) = sipp("register_stale_nonce.xml", server.local_addr(), free_port(), &args).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    let stored = wait_for_bindings(&store, |b| !b.is_empty()).await;
    assert_eq!(stored.iter().map(|b| b.extension.as_str()).collect::<Vec<_>>(), vec!["1002"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregister_with_expires_zero_removes_the_stored_binding() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let server = start(&store, config()).await;
    let args = ["-s", "1003", "-au", "1003", "-ap", "demo1003"];
    let (code, log) = sipp("unregister.xml", server.local_addr(), free_port(), &args).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    assert_eq!(server.counters().registrations_accepted, 2);
    // Added then removed, written in order.
    for _ in 0..100 {
        if server.counters().binding_writes >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(server.counters().binding_writes, 2);
    assert!(bindings(&store).await.is_empty(), "{:?}", bindings(&store).await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_over_tcp_is_stored() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let server = start(&store, config()).await;
    let args = ["-t", "t1", "-s", "1004", "-au", "1004", "-ap", "demo1004"];
    let (code, log) = sipp("register.xml", server.local_addr(), free_port(), &args).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    let stored = wait_for_bindings(&store, |b| !b.is_empty()).await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].contact.to_ascii_lowercase().contains("transport=tcp"), "{}", stored[0].contact);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_to_the_server_is_answered_200_with_allow() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let server = start(&store, config()).await;
    let (code, log) = sipp("options.xml", server.local_addr(), free_port(), &[]).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_that_stops_answering_keepalives_is_unregistered() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let mut cfg = config();
    cfg.keepalive_interval_ms = 200;
    // Timer F is 64 × T1: 640 ms here.
    cfg.transactions.timers.t1_ms = 10;
    let server = start(&store, cfg).await;
    let args = ["-s", "1005", "-au", "1005", "-ap", "demo1005"];
    let (code, log) = sipp("register.xml", server.local_addr(), free_port(), &args).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    // The binding is written by a separate task: wait until it is stored, or an empty store
    // would pass the next wait before any keep-alive was even sent.
    let stored = wait_for_bindings(&store, |b| !b.is_empty()).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    // sipp has exited: nobody answers the OPTIONS.
    let left = wait_for_bindings(&store, |b| b.is_empty()).await;
    assert!(left.is_empty(), "{left:?}");
    assert!(server.counters().keepalives_failed >= 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_survives_lossy_udp_through_retransmissions() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let server = start(&store, config()).await;
    // sipp drops 10% of the messages it sends and receives; its REGISTERs retransmit every 500 ms.
    let args = ["-s", "1001", "-au", "1001", "-ap", "demo1001", "-lost", "10"];
    let (code, log) = sipp("register.xml", server.local_addr(), free_port(), &args).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    let stored = wait_for_bindings(&store, |b| !b.is_empty()).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(server.counters().registrations_accepted, 1, "a retransmitted REGISTER was applied twice");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_until_its_shutdown_future_resolves() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let mut cfg = config();
    cfg.bind = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let addr = cfg.bind;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(sip_server::run(cfg, store.clone(), async move {
        let _ = stop_rx.await;
    }));
    let (code, log) = sipp("options.xml", addr, free_port(), &[]).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    let _ = stop_tx.send(());
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), running).await.expect("run returns");
    assert_eq!(ended.expect("task"), Ok(()));
    let probe = tokio::net::UdpSocket::bind(addr).await;
    assert!(probe.is_ok(), "the UDP port must be released after run returns");
}
