//! Chat WebSocket load: how many chat sessions one node holds, the memory each costs, and how
//! many customer messages per second it stores, acknowledges and hands to the agent side.
//!
//! `cargo run --release -p chat --example ws_load -- [SESSIONS] [SENDERS] [MESSAGES_EACH] [EDGES]`
//! (defaults 19000 1000 20 0). The example starts itself again as the server (`serve`, the web
//! crate's chat shell on 127.0.0.1, an ephemeral port) and reads that process's resident memory
//! from `/proc`, so the memory figure is the server's alone. With EDGES > 0 it also starts that
//! many chat edges (`edge`, `web::chat_edge::Edge` linked to the server's `/chat/edge`): the
//! customers' sockets are spread over the edges and relayed to the one server, so the node holds
//! more sessions than one process may open files. The customers are simulated by client processes
//! (`client`), each holding at most CLIENT_SESSIONS sockets, connecting from 127.0.0.2–9 (the
//! ephemeral port range of one source address is ~28k). Each session says hello and fills the
//! pre-chat form; then SENDERS sessions each send MESSAGES_EACH messages, one in flight per
//! session (the next after the previous `ack`). With `WS_LOAD_DB=<database URL>` the server also
//! writes everything through the hub's store writer and reports how long it takes to catch up.
//! Every process stays under the open-files limit;
//! everything is bounded: sessions, senders and messages come from the command line.

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
/// Connections opened at once while ramping up (per client process).
const MAX_CONNECTING: usize = 256;
/// Most sockets one client process holds (under a 20,000 open-files limit).
const CLIENT_SESSIONS: usize = 17_000;
/// The secret the bench's server and edges share.
const EDGE_SECRET: &str = "bench-edge-secret-0123456789";

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
    let mut settings = server_settings(sessions);
    settings.edge_secret = Some(EDGE_SECRET.to_owned());
    let hub = ChatHub::new(settings, Arc::new(web::SystemClock), Arc::new(web::OsEntropy));
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
    // With WS_LOAD_DB (a database URL), every conversation, message and state change is written
    // by the hub's store writer, as in the product.
    if let Ok(url) = std::env::var("WS_LOAD_DB") {
        let store = store::Store::connect(&url, &store::ConnectOptions::default()).await.expect("database");
        store.migrate().await.expect("migrate");
        let org = demo::dataset(model::Timestamp::from_unix_ms(0)).org;
        let _ = store.insert_org(&org).await; // already there from an earlier run
        hub.persist_to(store, org.id, web::chat_ws::PersistSettings::default());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!("{}", listener.local_addr().expect("addr"));
    let router = web::chat_ws::routes_with::<()>(hub.clone());
    tokio::spawn(web::serve(listener, router, std::future::pending()));
    // Lines on stdin (read on a plain thread: the example's tokio has no stdin support): `count`
    // prints how many customer messages reached the agent side; `persist` waits until the store
    // writer has written everything queued and prints `written dropped failed drain_ms`.
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::stdin().lock()).map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        if line == "persist" {
            let started = Instant::now();
            hub.flush_store().await;
            let c = hub.persist_counters();
            let n = |f: fn(&web::chat_ws::PersistCounters) -> &AtomicU64| c.map_or(0, |c| f(c).load(Ordering::Relaxed));
            println!(
                "{} {} {} {}",
                n(|c| &c.written),
                n(|c| &c.dropped),
                n(|c| &c.failed),
                started.elapsed().as_millis()
            );
        } else {
            println!("{}", delivered.load(Ordering::Relaxed));
        }
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

/// An edge linked to the server at `core`: prints its address once linked, then serves until
/// stdin closes.
async fn edge(core: &str, sessions: usize) {
    let mut settings = web::chat_edge::EdgeSettings::new(format!("ws://{core}/chat/edge"), EDGE_SECRET);
    settings.allowed_origins.push(ORIGIN.to_owned());
    settings.max_connections = sessions + 1;
    settings.max_connections_per_ip = sessions + 1;
    let edge = web::chat_edge::Edge::new(settings);
    tokio::spawn(edge.clone().run_link(std::future::pending()));
    while !edge.linked() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!("{}", listener.local_addr().expect("addr"));
    tokio::spawn(web::serve(listener, edge.routes(), std::future::pending()));
    wait_for_stdin_close().await;
}

/// Returns when stdin closes (the parent ended), reading it on a plain thread.
async fn wait_for_stdin_close() {
    let reader =
        std::thread::spawn(|| for _ in std::io::BufRead::lines(std::io::stdin().lock()).map_while(Result::ok) {});
    while !reader.is_finished() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Opens `sessions` sessions round-robin over `targets` (session numbers from `first`), prints
/// `open <n> <failed>`; on a `go` line sends from the first `senders` sessions and prints
/// `sent <messages> <errors>`; ends when stdin closes.
async fn client(targets: Vec<SocketAddr>, first: usize, sessions: usize, senders: usize, messages: usize) {
    let gate = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTING));
    let mut opening = Vec::with_capacity(sessions);
    for n in first..first + sessions {
        let gate = gate.clone();
        let target = targets[n % targets.len()];
        opening.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("open");
            open_session(target, n).await
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
    println!("open {} {failed}", open.len());
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::stdin().lock()).map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    if lines.recv().await.as_deref() != Some("go") {
        return;
    }
    let senders = senders.min(open.len());
    let tasks: Vec<_> = open
        .drain(..senders)
        .enumerate()
        .map(|(i, mut ws)| tokio::spawn(async move { send_messages(&mut ws, first + i, messages).await.map(|()| ws) }))
        .collect();
    let mut errors = 0;
    let mut done = Vec::with_capacity(senders);
    for t in tasks {
        match t.await.expect("task") {
            Ok(ws) => done.push(ws),
            Err(_) => errors += 1,
        }
    }
    println!("sent {} {errors}", senders * messages);
    while lines.recv().await.is_some() {}
    drop((open, done));
}

/// A child process of this example, with its stdin and stdout lines.
struct Child {
    child: tokio::process::Child,
    pid: u32,
    input: tokio::process::ChildStdin,
    out: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Child {
    fn start(args: &[String]) -> Child {
        let exe = std::env::current_exe().expect("own path");
        let mut child = tokio::process::Command::new(exe)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("child process");
        let pid = child.id().expect("pid");
        let out = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let input = child.stdin.take().expect("stdin");
        Child { child, pid, input, out }
    }

    async fn line(&mut self) -> String {
        self.out.next_line().await.expect("read").expect("a line")
    }
}

/// The first `N` numbers of a report line (`open 16667 0`, `sent 13340 0`, `140020 0 0 2870`),
/// 0 for any missing.
fn numbers<const N: usize>(line: &str) -> [usize; N] {
    let mut out = [0; N];
    let values = line.split_whitespace().filter_map(|v| v.parse().ok());
    for (slot, v) in out.iter_mut().zip(values) {
        *slot = v;
    }
    out
}

/// The next report line of every client, summed field by field.
async fn sum_reports(clients: &mut [(Child, usize)]) -> [usize; 2] {
    let mut sum = [0; 2];
    for (c, _) in clients.iter_mut() {
        let [a, b] = numbers(&c.line().await);
        sum = [sum[0] + a, sum[1] + b];
    }
    sum
}

fn cpu_ticks(pid: u32) -> (u64, u64) {
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = cpu.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11), ticks(12))
}

async fn load(sessions: usize, senders: usize, messages: usize, edges: usize) {
    let mut server = Child::start(&["serve".into(), sessions.to_string()]);
    let address: SocketAddr = server.line().await.parse().expect("addr");
    let mut edge_procs = Vec::with_capacity(edges);
    let mut targets = Vec::new();
    for _ in 0..edges {
        let mut e = Child::start(&["edge".into(), address.to_string(), sessions.div_ceil(edges).to_string()]);
        targets.push(e.line().await.parse::<SocketAddr>().expect("edge addr"));
        edge_procs.push(e);
    }
    if targets.is_empty() {
        targets.push(address);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss = |pids: &[u32]| pids.iter().map(|p| rss_kib(*p)).sum::<u64>();
    let server_pids: Vec<u32> = std::iter::once(server.pid).chain(edge_procs.iter().map(|e| e.pid)).collect();
    let idle_kib = (rss_kib(server.pid), rss(&server_pids[1..]));

    let clients_n = sessions.div_ceil(CLIENT_SESSIONS).max(1);
    let per_client = sessions.div_ceil(clients_n);
    let list = targets.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let started = Instant::now();
    let mut clients = Vec::with_capacity(clients_n);
    for c in 0..clients_n {
        let first = c * per_client;
        let count = per_client.min(sessions - first);
        let share = senders.div_ceil(clients_n).min(count);
        let args = [
            "client".into(),
            list.clone(),
            first.to_string(),
            count.to_string(),
            share.to_string(),
            messages.to_string(),
        ];
        clients.push((Child::start(&args), share));
    }
    let [open, failed] = sum_reports(&mut clients).await;
    let ramp = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held_kib = (rss_kib(server.pid), rss(&server_pids[1..]));
    let grown = held_kib.0.saturating_sub(idle_kib.0) + held_kib.1.saturating_sub(idle_kib.1);
    println!(
        "sessions open: {open} (failed {failed}) through {} in {:.1} s from {clients_n} client processes; \
         server RSS {} MiB idle -> {} MiB, edges {} MiB -> {} MiB; {} bytes per session (server + edges)",
        if edges == 0 { "the server".to_owned() } else { format!("{edges} edges") },
        ramp.as_secs_f64(),
        idle_kib.0 / 1024,
        held_kib.0 / 1024,
        idle_kib.1 / 1024,
        held_kib.1 / 1024,
        grown * 1024 / open.max(1) as u64
    );

    let started = Instant::now();
    for (c, _) in &mut clients {
        c.input.write_all(b"go\n").await.expect("go");
    }
    let [total, errors] = sum_reports(&mut clients).await;
    let took = started.elapsed();
    server.input.write_all(b"count\n").await.expect("ask");
    let delivered: u64 = server.line().await.parse().expect("number");
    let senders_total: usize = clients.iter().map(|(_, s)| s).sum();
    println!(
        "{total} messages from {senders_total} sessions ({errors} failed) in {:.2} s: {:.0} acknowledged msg/s; \
         {delivered} reached the agent side; {} sessions idle meanwhile",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        open.saturating_sub(senders_total)
    );
    if std::env::var("WS_LOAD_DB").is_ok() {
        server.input.write_all(b"persist\n").await.expect("ask");
        let [written, dropped, failed, drain_ms] = numbers(&server.line().await);
        println!(
            "store writer: {written} writes, {dropped} dropped (queue full), {failed} failed; \
             drained {drain_ms} ms after the last ack"
        );
    }
    let (user, system) = cpu_ticks(server.pid);
    println!("server CPU: {user} ticks user, {system} ticks system (100 ticks = 1 s)");
    for (i, e) in edge_procs.iter().enumerate() {
        let (user, system) = cpu_ticks(e.pid);
        println!("edge {i} CPU: {user} ticks user, {system} ticks system");
    }
    for (c, _) in &mut clients {
        let _ = c.child.kill().await;
    }
    for e in &mut edge_procs {
        let _ = e.child.kill().await;
    }
    let _ = server.child.kill().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("serve") => serve(number(1, 19_000)).await,
        Some("edge") => edge(&args[1], number(2, 19_000)).await,
        Some("client") => {
            let targets = args[1].split(',').map(|a| a.parse().expect("address")).collect();
            client(targets, number(2, 0), number(3, 0), number(4, 0), number(5, 0)).await;
        }
        _ => load(number(0, 19_000), number(1, 1_000), number(2, 20), number(3, 0)).await,
    }
}
