//! Round trips through the whole shell over loopback UDP: OPTIONS answered 200, and an
//! authenticated REGISTER (challenge, digest answer, agent lookup in SQLite, binding written).
//! One client at a time, so the figure is latency-bound: requests per second = 1 / time.
//!
//! `cargo bench -p sip-server -- --warm-up-time 1 --measurement-time 3`

use std::net::SocketAddr;

use criterion::{Criterion, criterion_group, criterion_main};
use model::User;
use sip::message::{Limits, Message, Method, parse_datagram};
use sip_server::{SipServer, SipServerConfig, StoreDirectory};
use store::{ConnectOptions, Store};
use tokio::net::UdpSocket;

async fn seeded_store() -> Store {
    let store = Store::connect("sqlite::memory:", &ConnectOptions::default()).await.expect("store");
    store.migrate().await.expect("migrate");
    let d = demo::dataset(model::Timestamp::from_unix_ms(1_780_000_000_000));
    store.insert_org(&d.org).await.expect("org");
    for u in &d.users {
        store.insert_user(&User { password_hash: "x".into(), ..u.user.clone() }).await.expect("user");
    }
    for a in &d.agents {
        store.insert_agent(a).await.expect("agent");
    }
    store
}

fn request(method: &str, port: u16, n: u64, extra: &str) -> String {
    format!(
        "{method} sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{method}{n};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=t{n}\r\nTo: <sip:1001@127.0.0.1>\r\n\
         Call-ID: c{n}@bench\r\nCSeq: {} {method}\r\nContact: <sip:1001@127.0.0.1:{port}>\r\nExpires: 600\r\n\
         {extra}Content-Length: 0\r\n\r\n",
        if extra.is_empty() { 1 } else { 2 }
    )
}

async fn round_trip(socket: &UdpSocket, server: SocketAddr, text: &str) -> String {
    socket.send_to(text.as_bytes(), server).await.expect("send");
    let mut buf = vec![0u8; 8_192];
    let (n, _) = socket.recv_from(&mut buf).await.expect("answer");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

async fn register(socket: &UdpSocket, server: SocketAddr, n: u64) {
    let port = socket.local_addr().expect("addr").port();
    let challenge = round_trip(socket, server, &request("REGISTER", port, n, "")).await;
    let Ok(Message::Response(r)) = parse_datagram(challenge.as_bytes(), &Limits::default()) else {
        panic!("{challenge}")
    };
    let offered: Vec<_> =
        r.headers.get_all(&sip::HeaderName::WwwAuthenticate).filter_map(sip::digest::Challenge::parse).collect();
    let chosen = sip::digest::pick_challenge(&offered).expect("challenge");
    let creds = sip::digest::respond(chosen, "1001", "demo1001", &Method::Register, "sip:127.0.0.1", "cafe", 1);
    let second = request("REGISTER", port, n, &format!("Authorization: {creds}\r\n"))
        .replace(&format!("REGISTER{n};"), &format!("REGISTER{n}x;"));
    let answer = round_trip(socket, server, &second).await;
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (server, socket) = rt.block_on(async {
        let mut cfg = SipServerConfig::loopback(demo::DEMO_ORG);
        cfg.guard.max_messages_per_second = 10_000_000;
        cfg.guard.burst_messages = 10_000_000;
        // Completed UDP transactions linger 64×T1 = 32 s absorbing retransmissions: at thousands
        // of requests per second the core's default of 10 000 live transactions would answer 503.
        cfg.transactions.max_transactions = 2_000_000;
        cfg.transactions.max_pending_outputs = 2_000_000;
        let store = seeded_store().await;
        let server = SipServer::start(cfg, StoreDirectory { store, org: demo::DEMO_ORG }).await.expect("server");
        (server, UdpSocket::bind("127.0.0.1:0").await.expect("client"))
    });
    let addr = server.local_addr();
    let mut n = 0u64;
    c.bench_function("options_round_trip_udp", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let text = request("OPTIONS", socket.local_addr().expect("addr").port(), n, "");
            let socket = &socket;
            async move {
                let answer = round_trip(socket, addr, &text).await;
                assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
            }
        })
    });
    let mut m = 0u64;
    c.bench_function("authenticated_register_udp", |b| {
        b.to_async(&rt).iter(|| {
            m += 1;
            let socket = &socket;
            async move { register(socket, addr, m).await }
        })
    });
    rt.block_on(server.stop());
}

criterion_group!(benches, bench);
criterion_main!(benches);
