//! Test support: a SQLite store seeded with the Demo Shop (as `hotline demo` does), a server on a
//! free loopback port, sipp as a child process, and a raw UDP client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use model::{OrgId, Timestamp, User};
use sip_server::{SipServer, SipServerConfig, StoreDirectory};
use store::{ConnectOptions, SipBinding, Store};

pub const DEMO_ORG: OrgId = demo::DEMO_ORG;

pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp::from_unix_ms(i64::try_from(ms).expect("time fits"))
}

/// A migrated SQLite store in `dir` holding the Demo Shop's org, users and agents (agent 1001's SIP
/// password is `demo1001`). Users get a placeholder hash: web logins are not under test here.
pub async fn seeded_store(dir: &Path) -> Store {
    let url = format!("sqlite://{}/hotline.db", dir.display());
    let store = Store::connect(&url, &ConnectOptions::default()).await.expect("connect");
    store.migrate().await.expect("migrate");
    let d = demo::dataset(now());
    if store.get_org(d.org.id).await.expect("org").is_none() {
        store.insert_org(&d.org).await.expect("org");
        for u in &d.users {
            let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned();
            store.insert_user(&User { password_hash: hash, ..u.user.clone() }).await.expect("user");
        }
        for a in &d.agents {
            store.insert_agent(a).await.expect("agent");
        }
    }
    store
}

/// The default config on 127.0.0.1, any free port.
pub fn config() -> SipServerConfig {
    SipServerConfig::loopback(DEMO_ORG)
}

pub async fn start(store: &Store, config: SipServerConfig) -> SipServer {
    SipServer::start(config, StoreDirectory { store: store.clone(), org: DEMO_ORG }).await.expect("server starts")
}

pub async fn bindings(store: &Store) -> Vec<SipBinding> {
    store.list_live_sip_bindings(DEMO_ORG, now(), 100).await.expect("list bindings")
}

/// Waits up to 20 s for `check` on the store's bindings to hold.
pub async fn wait_for_bindings(store: &Store, check: impl Fn(&[SipBinding]) -> bool) -> Vec<SipBinding> {
    // At most 20 s: a phone under CI load (baresip loading its modules) can take seconds to register.
    for _ in 0..400 {
        let b = bindings(store).await;
        if check(&b) {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bindings(store).await
}

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp").join(name)
}

/// A local port free for both UDP and TCP right now (sipp and baresip listen on both).
pub fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = udp.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Runs one sipp call of `scenario` against `server` from 127.0.0.1:`local_port`; returns the exit
/// code and sipp's error log (for assertion messages).
pub async fn sipp(scenario_file: &str, server: SocketAddr, local_port: u16, extra: &[&str]) -> (i32, String) {
    let work = tempfile::tempdir().expect("temp dir");
    let mut cmd = tokio::process::Command::new("sipp");
    cmd.arg(server.to_string())
        .args(["-sf", &scenario(scenario_file).display().to_string()])
        .args(["-i", "127.0.0.1", "-p", &local_port.to_string()])
        .args(["-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin", "-trace_err"])
        .args(extra)
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("sipp is installed (Debian package sip-tester)");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("sipp ends within 30 s")
        .expect("sipp runs");
    let mut log = String::from_utf8_lossy(&out.stderr).into_owned();
    for entry in std::fs::read_dir(work.path()).expect("work dir").flatten() {
        if entry.file_name().to_string_lossy().ends_with("_errors.log") {
            log.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    (out.status.code().unwrap_or(-1), log)
}

/// A raw UDP peer for malformed, oversized and repeated messages.
pub struct RawUdp {
    pub socket: tokio::net::UdpSocket,
    pub server: SocketAddr,
}

impl RawUdp {
    pub async fn new(server: SocketAddr) -> RawUdp {
        let local = if server.is_ipv4() { "127.0.0.1:0" } else { "[::1]:0" };
        RawUdp { socket: tokio::net::UdpSocket::bind(local).await.expect("bind"), server }
    }

    /// From another loopback address (Linux routes all of 127/8 to lo): another source for the guard.
    pub async fn from(local_ip: &str, server: SocketAddr) -> RawUdp {
        RawUdp { socket: tokio::net::UdpSocket::bind((local_ip, 0)).await.expect("bind"), server }
    }

    pub fn port(&self) -> u16 {
        self.socket.local_addr().expect("addr").port()
    }

    pub async fn send(&self, bytes: &[u8]) {
        self.socket.send_to(bytes, self.server).await.expect("send");
    }

    /// The next datagram within `wait_ms`, as text.
    pub async fn recv(&self, wait_ms: u64) -> Option<String> {
        let mut buf = vec![0u8; 65_535];
        let received = tokio::time::timeout(Duration::from_millis(wait_ms), self.socket.recv_from(&mut buf)).await;
        let (n, _) = received.ok()?.ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

/// A request with every mandatory header, from `host:port` (IPv6 hosts in brackets).
pub fn request(method: &str, host: &str, port: u16, branch: &str, extra_headers: &str) -> String {
    format!(
        "{method} sip:{host} SIP/2.0\r\n\
Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{branch};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:1001@{host}>;tag=t{branch}\r\n\
To: <sip:1001@{host}>\r\n\
Call-ID: {branch}@test\r\n\
CSeq: 1 {method}\r\n\
Contact: <sip:1001@{host}:{port}>\r\n\
{extra_headers}Content-Length: 0\r\n\r\n"
    )
}

/// The status code of a response text.
pub fn status(response: &str) -> u16 {
    response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// REGISTER as `user` from `peer`: unauthenticated first, then answering the challenge with
/// `password` (the strongest algorithm offered). Returns the challenge and the final answer.
pub async fn register_raw(peer: &RawUdp, user: &str, password: &str, tag: &str) -> (String, String) {
    register_raw_with(peer, user, password, tag, "").await
}

/// [`register_raw`] with `contact_params` appended to the Contact header.
pub async fn register_raw_with(
    peer: &RawUdp,
    user: &str,
    password: &str,
    tag: &str,
    contact_params: &str,
) -> (String, String) {
    use sip::message::{Limits, Message, Method, parse_datagram};
    let contact = format!("Contact: <sip:1001@127.0.0.1:{}>", peer.port());
    let with_params = format!("{contact}{contact_params}");
    let first = request("REGISTER", "127.0.0.1", peer.port(), &format!("{tag}a"), "Expires: 300\r\n")
        .replace(&contact, &with_params)
        .replace("1001@", &format!("{user}@"));
    peer.send(first.as_bytes()).await;
    let challenge_text = peer.recv(2_000).await.expect("a challenge");
    let Ok(Message::Response(challenge)) = parse_datagram(challenge_text.as_bytes(), &Limits::default()) else {
        panic!("not a response: {challenge_text}")
    };
    let offered: Vec<sip::digest::Challenge> = challenge
        .headers
        .get_all(&sip::HeaderName::WwwAuthenticate)
        .filter_map(sip::digest::Challenge::parse)
        .collect();
    let chosen = sip::digest::pick_challenge(&offered).expect("a digest challenge");
    let uri = "sip:127.0.0.1";
    let creds = sip::digest::respond(chosen, user, password, &Method::Register, uri, "c0ffee", 1);
    let second = request("REGISTER", "127.0.0.1", peer.port(), &format!("{tag}b"), "Expires: 300\r\n")
        .replace(&contact, &with_params)
        .replace("1001@", &format!("{user}@"))
        .replace(&format!("Call-ID: {tag}b@test"), &format!("Call-ID: {tag}a@test"))
        .replace("CSeq: 1 REGISTER", &format!("CSeq: 2 REGISTER\r\nAuthorization: {creds}"));
    peer.send(second.as_bytes()).await;
    let answer = peer.recv(2_000).await.unwrap_or_default();
    // Kept for replay tests: the very same credentials in a new transaction.
    let replay = second.replace(&format!("branch=z9hG4bK{tag}b"), &format!("branch=z9hG4bK{tag}r"));
    LAST_AUTHORIZED.with(|l| *l.borrow_mut() = replay.replace("CSeq: 2 REGISTER", "CSeq: 3 REGISTER"));
    (challenge_text, answer)
}

thread_local! {
    /// The last authorized REGISTER of [`register_raw`] on this thread, rebranched for a replay.
    pub static LAST_AUTHORIZED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// A response with what legitimately differs between two answers blanked: nonces, tags,
/// branches, Call-IDs, ports and the user.
pub fn shape_of(response: &str, user: &str) -> Vec<String> {
    let blank = |value: &str, key: &str| match value.find(key) {
        Some(i) => {
            let end =
                value[i + key.len()..].find([';', ',', '"', '>', '\r']).map_or(value.len(), |e| i + key.len() + e);
            format!("{}{key}*{}", &value[..i], &value[end..])
        }
        None => value.to_owned(),
    };
    response
        .lines()
        .filter(|l| !l.starts_with("Call-ID") && !l.starts_with("Via") && !l.starts_with("Contact"))
        .map(|l| {
            let l = l.replace(user, "USER");
            let l = blank(&l, "nonce=\"");
            blank(&l, "tag=")
        })
        .collect()
}
