//! The transports and the guard from raw sockets: malformed, oversized and repeated datagrams,
//! scanners, the per-source rate limit, IPv6, TCP framing and TCP limits. The server must answer
//! or drop-and-count each, and keep working afterwards.

mod common;

use std::time::Duration;

use common::*;
use sip_server::SipServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server_with(cfg: SipServerConfig) -> (tempfile::TempDir, store::Store, sip_server::SipServer) {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let server = start(&store, cfg).await;
    (dir, store, server)
}

/// OPTIONS still gets 200: the server is alive.
async fn assert_still_answers(peer: &RawUdp, host: &str, branch: &str) {
    peer.send(request("OPTIONS", host, peer.port(), branch, "").as_bytes()).await;
    let answer = peer.recv(2_000).await.expect("an answer to OPTIONS");
    assert_eq!(status(&answer), 200, "{answer}");
}

#[tokio::test]
async fn malformed_request_is_answered_400_and_the_server_keeps_working() {
    let (_dir, _store, server) = server_with(config()).await;
    let peer = RawUdp::new(server.local_addr()).await;
    let bad_cseq =
        request("OPTIONS", "127.0.0.1", peer.port(), "bad1", "").replace("CSeq: 1 OPTIONS", "CSeq: x OPTIONS");
    peer.send(bad_cseq.as_bytes()).await;
    let answer = peer.recv(2_000).await.expect("a 400");
    assert_eq!(status(&answer), 400, "{answer}");
    assert!(answer.contains("branch=z9hG4bKbad1"), "the 400 must carry the request's Via: {answer}");
    assert_eq!(server.counters().malformed_answered, 1);
    assert_still_answers(&peer, "127.0.0.1", "ok1").await;
    server.stop().await;
}

#[tokio::test]
async fn garbage_is_dropped_and_counted_and_the_server_keeps_working() {
    let (_dir, _store, server) = server_with(config()).await;
    let peer = RawUdp::new(server.local_addr()).await;
    for garbage in [&b"\x00\xff\xfe hello"[..], b"SIP/2.0 200 OK\r\n\r\n", b"INVITE\r\n\r\n", &[0xc3u8; 3000][..]] {
        peer.send(garbage).await;
    }
    assert_eq!(peer.recv(300).await, None, "garbage must not be answered");
    assert_eq!(server.counters().dropped_malformed, 4);
    assert_still_answers(&peer, "127.0.0.1", "ok2").await;
    server.stop().await;
}

#[tokio::test]
async fn oversized_request_is_refused_and_the_server_keeps_working() {
    let mut cfg = config();
    cfg.max_message_bytes = 2_000;
    let (_dir, _store, server) = server_with(cfg).await;
    let peer = RawUdp::new(server.local_addr()).await;
    let padding = format!("X-Padding: {}\r\n", "a".repeat(900));
    let big = request("OPTIONS", "127.0.0.1", peer.port(), "big1", &padding.repeat(3));
    assert!(big.len() > 2_000);
    peer.send(big.as_bytes()).await;
    let answer = peer.recv(500).await;
    let counters = server.counters();
    match answer {
        Some(a) => assert_eq!((status(&a), counters.malformed_answered), (513, 1), "{a}"),
        None => assert_eq!(counters.dropped_malformed, 1),
    }
    assert_eq!(counters.requests_received, 0);
    assert_still_answers(&peer, "127.0.0.1", "ok3").await;
    server.stop().await;
}

#[tokio::test]
async fn scanner_user_agent_is_dropped_silently() {
    let (_dir, _store, server) = server_with(config()).await;
    let peer = RawUdp::new(server.local_addr()).await;
    let scan = request("OPTIONS", "127.0.0.1", peer.port(), "scan1", "User-Agent: friendly-scanner\r\n");
    peer.send(scan.as_bytes()).await;
    assert_eq!(peer.recv(300).await, None, "a scanner must get no answer");
    assert_eq!(server.counters().dropped_scanner, 1);
    assert_still_answers(&peer, "127.0.0.1", "ok4").await;
    server.stop().await;
}

#[tokio::test]
async fn same_register_sent_twice_over_udp_is_one_transaction() {
    let (_dir, _store, server) = server_with(config()).await;
    let peer = RawUdp::new(server.local_addr()).await;
    let register = request("REGISTER", "127.0.0.1", peer.port(), "rtx1", "Expires: 300\r\n");
    peer.send(register.as_bytes()).await;
    let first = peer.recv(2_000).await.expect("a challenge");
    peer.send(register.as_bytes()).await;
    let second = peer.recv(2_000).await.expect("the challenge again");
    assert_eq!(status(&first), 401, "{first}");
    assert_eq!(first, second, "the retransmission must get the same response, not a new challenge");
    let counters = server.counters();
    assert_eq!((counters.registrations_challenged, counters.retransmissions_absorbed), (1, 1));
    server.stop().await;
}

#[tokio::test]
async fn rport_gets_the_real_source_port_and_the_answer_goes_there() {
    let (_dir, _store, server) = server_with(config()).await;
    let peer = RawUdp::new(server.local_addr()).await;
    // The Via claims port 5999 (as behind a NAT); rport makes the answer come back to the real port.
    let options = request("OPTIONS", "127.0.0.1", 5999, "nat1", "");
    peer.send(options.as_bytes()).await;
    let answer = peer.recv(2_000).await.expect("answer at the real source port");
    assert!(answer.contains(&format!(";rport={}", peer.port())), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn unknown_method_gets_501_and_known_unsupported_method_gets_405() {
    let (_dir, _store, server) = server_with(config()).await;
    let peer = RawUdp::new(server.local_addr()).await;
    peer.send(request("FROBNICATE", "127.0.0.1", peer.port(), "m1", "").as_bytes()).await;
    assert_eq!(status(&peer.recv(2_000).await.expect("501")), 501);
    peer.send(request("SUBSCRIBE", "127.0.0.1", peer.port(), "m2", "").as_bytes()).await;
    let answer = peer.recv(2_000).await.expect("405");
    assert_eq!(status(&answer), 405, "{answer}");
    assert!(answer.contains("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, REFER, NOTIFY"), "{answer}");
    let bye = request("BYE", "127.0.0.1", peer.port(), "m3", "")
        .replace("To: <sip:1001@127.0.0.1>", "To: <sip:1001@127.0.0.1>;tag=x");
    peer.send(bye.as_bytes()).await;
    assert_eq!(status(&peer.recv(2_000).await.expect("481")), 481, "a BYE for no dialog");
    server.stop().await;
}

#[tokio::test]
async fn a_source_over_its_rate_is_dropped_and_counted() {
    let mut cfg = config();
    cfg.guard.max_messages_per_second = 1;
    cfg.guard.burst_messages = 2;
    let (_dir, _store, server) = server_with(cfg).await;
    let peer = RawUdp::new(server.local_addr()).await;
    for i in 0..6 {
        peer.send(request("OPTIONS", "127.0.0.1", peer.port(), &format!("rate{i}"), "").as_bytes()).await;
    }
    let mut answered = 0;
    while peer.recv(300).await.is_some() {
        answered += 1;
    }
    let dropped = server.counters().dropped_rate_limited;
    assert!(answered < 6 && dropped >= 1, "answered {answered}, dropped {dropped}");
    assert_eq!(answered + dropped, 6);
    server.stop().await;
}

#[tokio::test]
async fn ipv6_loopback_serves_udp_and_tcp() {
    let mut cfg = config();
    cfg.bind = "[::1]:0".parse().expect("addr");
    let (_dir, _store, server) = server_with(cfg).await;
    assert!(server.local_addr().is_ipv6() && server.local_addr().port() != 0);
    let peer = RawUdp::new(server.local_addr()).await;
    assert_still_answers(&peer, "[::1]", "v6udp").await;
    let mut tcp = TcpStream::connect(server.local_addr()).await.expect("tcp on the same port");
    let options = request("OPTIONS", "[::1]", 5060, "v6tcp", "").replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    tcp.write_all(options.as_bytes()).await.expect("write");
    let answer = read_response(&mut tcp).await;
    assert_eq!(status(&answer), 200, "{answer}");
    server.stop().await;
}

async fn read_response(tcp: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 8_192];
    let mut text = String::new();
    while !text.contains("\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await.expect("answer").expect("read");
        assert!(n > 0, "connection closed before an answer: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text
}

#[tokio::test]
async fn tcp_stream_frames_messages_split_and_joined_by_content_length() {
    let (_dir, _store, server) = server_with(config()).await;
    let mut tcp = TcpStream::connect(server.local_addr()).await.expect("connect");
    let one = request("OPTIONS", "127.0.0.1", 5060, "tcp1", "").replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    let two = request("OPTIONS", "127.0.0.1", 5060, "tcp2", "").replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    let (head, tail) = one.split_at(40);
    tcp.write_all(head.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    tcp.write_all(format!("{tail}\r\n\r\n{two}").as_bytes()).await.expect("write");
    let mut answers = String::new();
    while answers.matches("SIP/2.0 200").count() < 2 {
        answers.push_str(&read_response(&mut tcp).await);
    }
    assert!(answers.contains("z9hG4bKtcp1") && answers.contains("z9hG4bKtcp2"), "{answers}");
    server.stop().await;
}

#[tokio::test]
async fn tcp_connections_over_the_limit_are_closed_and_idle_ones_time_out() {
    let mut cfg = config();
    cfg.max_tcp_connections = 1;
    cfg.tcp_idle_timeout_ms = 300;
    let (_dir, _store, server) = server_with(cfg).await;
    let mut first = TcpStream::connect(server.local_addr()).await.expect("first");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut second = TcpStream::connect(server.local_addr()).await.expect("second connects at TCP level");
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(2), second.read(&mut buf)).await.expect("closed at once");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    assert_eq!(server.counters().tcp_connections_refused, 1);
    let idle = tokio::time::timeout(Duration::from_secs(3), first.read(&mut buf)).await.expect("closed when idle");
    assert!(matches!(idle, Ok(0) | Err(_)), "{idle:?}");
    assert_eq!(server.counters().tcp_idle_closed, 1);
    server.stop().await;
}

#[tokio::test]
async fn a_tcp_stream_without_content_length_is_closed_and_counted() {
    let (_dir, _store, server) = server_with(config()).await;
    let mut tcp = TcpStream::connect(server.local_addr()).await.expect("connect");
    let no_length = request("OPTIONS", "127.0.0.1", 5060, "nolen", "").replace("Content-Length: 0\r\n", "");
    tcp.write_all(no_length.as_bytes()).await.expect("write");
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await.expect("closed");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    assert_eq!(server.counters().tcp_framing_errors, 1);
    server.stop().await;
}

#[tokio::test]
async fn a_port_in_use_is_a_bind_error() {
    let (_dir, store, server) = server_with(config()).await;
    let mut cfg = config();
    cfg.bind = server.local_addr();
    let taken = sip_server::SipServer::start(cfg, sip_server::StoreDirectory { store, org: DEMO_ORG }).await;
    assert!(matches!(taken, Err(sip_server::SipServerError::Bind(_))), "{taken:?}");
    server.stop().await;
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_answers_of_the_same_shape() {
    let mut cfg = config();
    cfg.digest_algorithms = vec![sip::digest::Algorithm::Sha256, sip::digest::Algorithm::Md5];
    let (_dir, _store, server) = server_with(cfg).await;
    let wrong = RawUdp::new(server.local_addr()).await;
    let (_, wrong_answer) = register_raw(&wrong, "1001", "not-the-password", "w").await;
    let unknown = RawUdp::new(server.local_addr()).await;
    let (_, unknown_answer) = register_raw(&unknown, "9999", "not-the-password", "u").await;
    assert_eq!(status(&wrong_answer), 401, "{wrong_answer}");
    assert_eq!(shape_of(&wrong_answer, "1001"), shape_of(&unknown_answer, "9999"));
    server.stop().await;
}

#[tokio::test]
async fn register_with_sha256_digest_is_accepted() {
    let mut cfg = config();
    cfg.digest_algorithms = vec![sip::digest::Algorithm::Sha256, sip::digest::Algorithm::Md5];
    let (_dir, store, server) = server_with(cfg).await;
    let phone = RawUdp::new(server.local_addr()).await;
    let (challenge, answer) = register_raw(&phone, "1006", "demo1006", "s").await;
    assert!(challenge.contains("algorithm=SHA-256"), "{challenge}");
    assert_eq!(status(&answer), 200, "{answer}");
    let stored = wait_for_bindings(&store, |b| !b.is_empty()).await;
    assert_eq!(stored.iter().map(|b| b.source.port()).collect::<Vec<_>>(), vec![phone.port()]);
    server.stop().await;
}

#[tokio::test]
async fn a_source_failing_auth_repeatedly_is_dropped_and_the_server_keeps_working() {
    let (_dir, _store, server) = server_with(config()).await;
    let attacker = RawUdp::new(server.local_addr()).await;
    // The core's default throttle blocks a source after 5 failures within a minute.
    for i in 0..5 {
        let (_, answer) = register_raw(&attacker, "1001", "guess", &format!("g{i}")).await;
        assert_eq!(status(&answer), 401, "attempt {i}: {answer}");
    }
    let next = request("REGISTER", "127.0.0.1", attacker.port(), "g9", "Expires: 300\r\n");
    attacker.send(next.as_bytes()).await;
    assert_eq!(attacker.recv(300).await, None, "a throttled source must get no answer");
    assert_eq!(server.counters().dropped_auth_throttled, 1);
    // The throttle is per IP address: a phone on another address still registers.
    let phone = RawUdp::from("127.0.0.2", server.local_addr()).await;
    let (_, answer) = register_raw(&phone, "1002", "demo1002", "ok").await;
    assert_eq!(status(&answer), 200, "another source must still register: {answer}");
    server.stop().await;
}

#[tokio::test]
async fn replayed_credentials_are_challenged_stale_and_change_nothing() {
    let (_dir, store, server) = server_with(config()).await;
    let phone = RawUdp::new(server.local_addr()).await;
    let (_, answer) = register_raw(&phone, "1001", "demo1001", "rp").await;
    assert_eq!(status(&answer), 200, "{answer}");
    let replay = LAST_AUTHORIZED.with(|l| l.borrow().clone());
    phone.send(replay.as_bytes()).await;
    let again = phone.recv(2_000).await.expect("an answer to the replay");
    assert_eq!(status(&again), 401, "{again}");
    assert!(again.contains("stale=true"), "{again}");
    assert_eq!(server.counters().registrations_accepted, 1);
    // Bindings are written by a separate task: wait for the one write, then check the replay
    // added none.
    let stored = wait_for_bindings(&store, |b| !b.is_empty()).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(server.counters().binding_writes, 1);
    server.stop().await;
}

#[tokio::test]
async fn a_device_that_moves_keeps_one_stored_binding() {
    let (_dir, store, server) = server_with(config()).await;
    let instance = ";+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000001001>\"";
    let before = RawUdp::new(server.local_addr()).await;
    let (_, answer) = register_raw_with(&before, "1001", "demo1001", "mv1", instance).await;
    assert_eq!(status(&answer), 200, "{answer}");
    // Same device (same instance), new address: the registrar replaces the binding.
    let after = RawUdp::new(server.local_addr()).await;
    let (_, answer) = register_raw_with(&after, "1001", "demo1001", "mv2", instance).await;
    assert_eq!(status(&answer), 200, "{answer}");
    let stored = wait_for_bindings(&store, |b| b.len() == 1 && b[0].source.port() == after.port()).await;
    assert_eq!(stored.iter().map(|b| b.source.port()).collect::<Vec<_>>(), vec![after.port()], "{stored:?}");
    server.stop().await;
}
