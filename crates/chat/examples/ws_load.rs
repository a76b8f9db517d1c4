//! Chat WebSocket load: how many chat sessions one server holds, the memory each costs, and how
//! many customer messages per second it stores, acknowledges and hands to the agent side.
//!
//! `cargo run --release -p chat --example ws_load -- [SESSIONS] [SENDERS] [MESSAGES_EACH]`
//! (defaults 19000 1000 20). The example starts itself again as the server (`serve`, the web
//! crate's chat shell on 127.0.0.1, an ephemeral port) and reads that process's resident memory
//! from `/proc`, so the memory figure is the server's alone. Clients connect from 127.0.0.2–9 (the
//! ephemeral port range of one source address is ~28k). Each session says hello and fills the
//! pre-chat form; then SENDERS sessions each send MESSAGES_EACH messages, one in flight per
//! session (the next after the previous `ack`). Both processes need SESSIONS + ~200 open files
//! (`ulimit -n`). Everything is bounded: sessions, senders and messages come from the command line.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use web::chat_ws::{ChatHub, ChatSettings};

const ORIGIN: &str = "http://bench.example.test";
/// Connections opened at once while ramping up.
const MAX_CONNECTING: usize = 256;

fn server_settings(sessions: usize) -> ChatSettings {
    let mut s = ChatSettings::default();
    s.allowed_origins.push(ORIGIN.to_owned());
    s.max_connections_per_ip = sessions + 1;
    s.limits.max_conversations = sessions + 1;
    s.limits.max_connections = sessions + 1;
    // One in flight per session at most: the flood windows are raised so they do not bite.
    s.limits.max_messages_per_minute = 1_000_000;
    s.limits.max_frames_per_minute = 1_000_000;
    s
}

async fn serve(sessions: usize) {
    let hub = ChatHub::new(server_settings(sessions), Arc::new(web::SystemClock), Arc::new(web::OsEntropy));
    hub.set_agent_available(model::AgentId::from_u128(1), true).expect("one agent");
    // The agent side: every stored customer message is handed to this subscriber.
    let mut events = hub.subscribe();
    let delivered = Arc::new(AtomicU64::new(0));
    let counted = delivered.clone();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(chat::ChatEvent::Message { entry, .. }) if entry.from == chat::Author::Customer => {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => eprintln!("agent side lagged {n}"),
                Err(_) => return,
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!("{}", listener.local_addr().expect("addr"));
    let router = web::chat_ws::routes_with::<()>(hub.clone());
    tokio::spawn(web::serve(listener, router, std::future::pending()));
    // One line on stdin: print how many customer messages reached the agent side (a plain thread:
    // the example's tokio has no stdin support).
    let reader = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::stdin().lock()) {
            if line.is_err() {
                return;
            }
            println!("{}", delivered.load(Ordering::Relaxed));
        }
    });
    while !reader.is_finished() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn open_session(server: SocketAddr, n: usize) -> Result<Ws, String> {
    let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (n % 8) as u8));
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket.bind(SocketAddr::new(source, 0)).map_err(|e| e.to_string())?;
    let stream = socket.connect(server).await.map_err(|e| e.to_string())?;
    let mut request = format!("ws://{server}/chat/ws").into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert("Origin", ORIGIN.parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream).await.map_err(|e| e.to_string())?;
    ws.send(Message::text(r#"{"type":"hello","v":1}"#)).await.map_err(|e| e.to_string())?;
    let form = r#"{"type":"prechat","name":"Bench","issue_type":"order","language":"en"}"#;
    ws.send(Message::text(form)).await.map_err(|e| e.to_string())?;
    // welcome, then the system "connecting you" message.
    let mut seen = 0;
    while seen < 2 {
        match ws.next().await {
            Some(Ok(Message::Text(_))) => seen += 1,
            Some(Ok(_)) => {}
            other => return Err(format!("session {n}: {other:?}")),
        }
    }
    Ok(ws)
}

/// Sends `count` messages, each after the previous one's ack.
async fn send_messages(ws: &mut Ws, session: usize, count: usize) -> Result<(), String> {
    for i in 0..count {
        let frame = format!(r#"{{"type":"msg","client_msg_id":"s{session}m{i}","text":"load message {i}"}}"#);
        ws.send(Message::text(frame)).await.map_err(|e| e.to_string())?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.as_str().contains(r#""type":"ack""#) => break,
                Some(Ok(_)) => {}
                other => return Err(format!("session {session}: {other:?}")),
            }
        }
    }
    Ok(())
}

async fn load(sessions: usize, senders: usize, messages: usize) {
    let exe = std::env::current_exe().expect("own path");
    let mut child = tokio::process::Command::new(exe)
        .args(["serve", &sessions.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("server process");
    let pid = child.id().expect("pid");
    let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut input = child.stdin.take().expect("stdin");
    let server: SocketAddr = out.next_line().await.expect("read").expect("address").parse().expect("addr");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle_kib = rss_kib(pid);

    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTING));
    let mut opening = Vec::with_capacity(sessions);
    for n in 0..sessions {
        let gate = gate.clone();
        opening.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("open");
            open_session(server, n).await
        }));
    }
    let mut open = Vec::with_capacity(sessions);
    let mut failed = 0usize;
    for task in opening {
        match task.await.expect("task") {
            Ok(ws) => open.push(ws),
            Err(e) => {
                if failed < 3 {
                    eprintln!("{e}");
                }
                failed += 1;
            }
        }
    }
    let ramp = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held_kib = rss_kib(pid);
    let per_session = (held_kib.saturating_sub(idle_kib) * 1024) / open.len().max(1) as u64;
    println!(
        "sessions open: {} (failed {failed}) in {:.1} s; server RSS {} MiB idle -> {} MiB; {} bytes per session",
        open.len(),
        ramp.as_secs_f64(),
        idle_kib / 1024,
        held_kib / 1024,
        per_session
    );

    let senders = senders.min(open.len());
    let mut sending: Vec<Ws> = open.drain(..senders).collect();
    let started = Instant::now();
    let tasks: Vec<_> = sending
        .drain(..)
        .enumerate()
        .map(|(i, mut ws)| tokio::spawn(async move { send_messages(&mut ws, i, messages).await.map(|()| ws) }))
        .collect();
    let mut errors = 0;
    for t in tasks {
        if t.await.expect("task").is_err() {
            errors += 1;
        }
    }
    let took = started.elapsed();
    input.write_all(b"count\n").await.expect("ask");
    let delivered: u64 = out.next_line().await.expect("read").expect("count").parse().expect("number");
    let total = senders * messages;
    println!(
        "{total} messages from {senders} sessions ({errors} failed) in {:.2} s: {:.0} acknowledged msg/s; \
         {delivered} reached the agent side; {} sessions idle meanwhile",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        open.len()
    );
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = cpu.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    println!("server CPU: {} ticks user, {} ticks system (100 ticks = 1 s)", ticks(11), ticks(12));
    drop(open);
    let _ = child.kill().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    if args.first().map(String::as_str) == Some("serve") {
        serve(number(1, 19_000)).await;
    } else {
        load(number(0, 19_000), number(1, 1_000), number(2, 20)).await;
    }
}
