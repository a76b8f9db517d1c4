//! The whole voice path on loopback: a SQLite store seeded with the Demo Shop, the center with the
//! demo route table, the media server, the SIP server with the voice path attached, the demo's
//! IVR flow and prompts from the repository, and sipp as the caller and as the agent's phone.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use center::{Center, CenterConfig, CenterHandle, SystemClock};
use media_server::{MediaServer, MediaServerConfig, MediaServerHandle};
use model::{AgentId, Contact, ContactId, OrgId, Timestamp};
use sip_server::{PassThrough, SipServer, SipServerConfig, StoreDirectory};
use store::{ConnectOptions, Page, Store};
use voice::{Prompts, Voice, VoiceConfig};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis();
    Timestamp::from_unix_ms(i64::try_from(ms).expect("ms"))
}

pub fn org() -> OrgId {
    demo::DEMO_ORG
}

pub fn agent(ext: &str) -> AgentId {
    let d = demo::dataset(now());
    d.agents.iter().find(|a| a.extension.as_str() == ext).map(|a| a.id).expect("demo agent")
}

pub struct Rig {
    pub store: Store,
    pub center: CenterHandle,
    pub media: MediaServerHandle,
    pub sip: Option<SipServer>,
    pub voice: Option<Voice>,
    pub recordings: PathBuf,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// Everything running; RTP ports from `rtp_base` (each test file its own range).
    pub async fn start(rtp_base: u16) -> Rig {
        Rig::start_with_routes(rtp_base, center::demo_routes()).await
    }

    /// [`Rig::start`] with another route table (ACD tuning such as missed offers before Away).
    pub async fn start_with_routes(rtp_base: u16, routes: center::Routes) -> Rig {
        Rig::start_with(rtp_base, routes, |_| {}).await
    }

    /// [`Rig::start_with_routes`] with the voice path's settings changed by `tune`.
    pub async fn start_with(rtp_base: u16, routes: center::Routes, tune: impl FnOnce(&mut VoiceConfig)) -> Rig {
        Rig::start_full(rtp_base, routes, tune, |_| {}, None).await
    }

    /// [`Rig::start_with`] with the SIP server's settings changed by `tune_sip` (trunks).
    pub async fn start_with_sip(
        rtp_base: u16,
        tune: impl FnOnce(&mut VoiceConfig),
        tune_sip: impl FnOnce(&mut SipServerConfig),
    ) -> Rig {
        Rig::start_full(rtp_base, center::demo_routes(), tune, tune_sip, None).await
    }

    /// [`Rig::start`] with one more IVR flow (TOML text) next to the demo's.
    pub async fn start_with_flow(rtp_base: u16, flow_toml: &str) -> Rig {
        Rig::start_full(rtp_base, center::demo_routes(), |_| {}, |_| {}, Some(flow_toml)).await
    }

    async fn start_full(
        rtp_base: u16,
        routes: center::Routes,
        tune: impl FnOnce(&mut VoiceConfig),
        tune_sip: impl FnOnce(&mut SipServerConfig),
        extra_flow: Option<&str>,
    ) -> Rig {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/hotline.db", dir.path().display());
        let store =
            Store::connect(&url, &ConnectOptions { max_connections: 4, connect_timeout_ms: 10_000 }).await.expect("db");
        store.migrate().await.expect("migrate");
        seed(&store).await;

        let (center, _task) =
            Center::start(store.clone(), org(), &routes, CenterConfig::default(), Arc::new(SystemClock))
                .await
                .expect("center");
        let recordings = dir.path().join("recordings");
        std::fs::create_dir_all(&recordings).expect("recordings dir");
        let media_config =
            MediaServerConfig::new("127.0.0.1".parse().expect("ip"), rtp_base, rtp_base + 199, recordings.clone());
        let (media, media_events, _media_task) = MediaServer::start(media_config).expect("media server");

        let catalog_text = std::fs::read_to_string(repo().join("prompts/catalog.toml")).expect("catalog");
        let catalog = ivr::PromptCatalog::parse_toml("prompts/catalog.toml", &catalog_text).expect("catalog parses");
        let flows_dir = match extra_flow {
            None => repo().join("flows"),
            Some(text) => {
                let flows_dir = dir.path().join("flows");
                std::fs::create_dir_all(&flows_dir).expect("flows dir");
                std::fs::copy(repo().join("flows/demo.toml"), flows_dir.join("demo.toml")).expect("demo flow");
                std::fs::write(flows_dir.join("extra.toml"), text).expect("extra flow");
                flows_dir
            }
        };
        let flows = ivr::FlowSet::load_dir(&flows_dir, &catalog).expect("flows load");
        let entry_points: Vec<String> = flows.numbers().map(str::to_owned).collect();
        let prompts = Prompts::load_dir(&repo().join("prompts")).expect("prompts load");

        let mut sip_config = SipServerConfig::new("127.0.0.1:0".parse().expect("addr"), org());
        sip_config.entry_points = entry_points;
        tune_sip(&mut sip_config);
        let directory = StoreDirectory { store: store.clone(), org: org() };
        let (sip, calls, call_events) =
            SipServer::start_with_calls(sip_config, directory, Box::new(PassThrough)).await.expect("sip server");

        let deps = voice::VoiceDeps {
            calls,
            call_events,
            media: media.clone(),
            media_events,
            center: center.clone(),
            flows: Arc::new(ivr::FlowRegistry::new(flows)),
            prompts: Arc::new(prompts),
            store: store.clone(),
            clock: Arc::new(SystemClock),
        };
        let country = "+86".parse().expect("country");
        let mut voice_config = VoiceConfig::new(org(), "127.0.0.1".parse().expect("ip"), country);
        tune(&mut voice_config);
        let voice = Voice::start(deps, voice_config).await.expect("voice");
        Rig { store, center, media, sip: Some(sip), voice: Some(voice), recordings, _dir: dir }
    }

    pub fn sip_addr(&self) -> SocketAddr {
        self.sip.as_ref().expect("running").local_addr()
    }

    /// The org's contacts, newest first.
    pub async fn contacts(&self) -> Vec<Contact> {
        let range = store::TimeRange::new(Timestamp::from_unix_ms(0), now().plus(model::DurationMs::from_ms(60_000)));
        self.store.list_contacts_in_range(org(), range, &Page::first(100)).await.expect("contacts").items
    }

    /// Waits until a contact satisfies `check` (the center writes asynchronously).
    pub async fn wait_for_contact(&self, check: impl Fn(&Contact) -> bool) -> Contact {
        for _ in 0..100 {
            let _ = self.center.flush().await;
            if let Some(c) = self.contacts().await.into_iter().find(|c| check(c)) {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no contact matched; have {:#?}", self.contacts().await);
    }

    pub async fn events(&self, contact: ContactId) -> Vec<model::ContactEvent> {
        self.store.list_contact_events(org(), contact, &Page::first(100)).await.expect("events").items
    }
}

async fn seed(store: &Store) {
    let d = demo::dataset(now());
    store.insert_org(&d.org).await.expect("org");
    for s in &d.skills {
        store.insert_skill(s).await.expect("skill");
    }
    for q in &d.queues {
        store.insert_queue(q).await.expect("queue");
    }
    for u in &d.users {
        let user = model::User { password_hash: "not-a-real-hash".into(), ..u.user.clone() };
        store.insert_user(&user).await.expect("user");
    }
    for a in &d.agents {
        store.insert_agent(a).await.expect("agent");
    }
    for c in &d.customers {
        store.insert_customer(c).await.expect("customer");
    }
    for o in &d.orders {
        store.insert_order(o).await.expect("order");
    }
}

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp").join(name)
}

pub fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A sipp process for one call of `scenario_file` from 127.0.0.1:`port` (media on `port + 2`).
/// `caller` is the From number (`[field0]`).
pub fn sipp(scenario_file: &str, server: SocketAddr, port: u16, caller: &str, extra: &[&str]) -> Sipp {
    sipp_for(45, scenario_file, server, port, caller, extra)
}

/// [`sipp`] for scenarios that wait longer (a ring timeout, a callback): sipp gives up after
/// `limit_s` seconds.
pub fn sipp_for(
    limit_s: u64,
    scenario_file: &str,
    server: SocketAddr,
    port: u16,
    caller: &str,
    extra: &[&str],
) -> Sipp {
    let work = tempfile::tempdir().expect("temp dir");
    let inf = work.path().join("callers.csv");
    std::fs::write(&inf, format!("SEQUENTIAL\n{caller};\n")).expect("injection file");
    let mut cmd = tokio::process::Command::new("sipp");
    cmd.arg(server.to_string())
        .args(["-sf", &scenario(scenario_file).display().to_string()])
        .args(["-inf", &inf.display().to_string()])
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-mp", &(port + 2).to_string()])
        .args(["-m", "1", "-timeout", &format!("{limit_s}s"), "-timeout_error", "-nostdin", "-trace_err"])
        .args(extra)
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("sipp is installed (Debian package sip-tester)");
    Sipp { child, work, limit_s }
}

pub struct Sipp {
    child: tokio::process::Child,
    work: tempfile::TempDir,
    limit_s: u64,
}

impl Sipp {
    /// Waits for sipp to finish; returns its exit code and error log.
    pub async fn finish(self) -> (i32, String) {
        let out = tokio::time::timeout(Duration::from_secs(self.limit_s + 15), self.child.wait_with_output())
            .await
            .expect("sipp ends within its own time limit")
            .expect("sipp runs");
        let mut log = String::from_utf8_lossy(&out.stderr).into_owned();
        for entry in std::fs::read_dir(self.work.path()).expect("work dir").flatten() {
            if entry.file_name().to_string_lossy().ends_with("_errors.log") {
                log.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        (out.status.code().unwrap_or(-1), log)
    }
}

/// Registers `ext` (demo password) from 127.0.0.1:`port` with sipp and waits for the binding.
pub async fn register(rig: &Rig, ext: &str, port: u16) {
    let password = format!("demo{ext}");
    let (code, log) =
        sipp("register.xml", rig.sip_addr(), port, "x", &["-s", ext, "-au", ext, "-ap", &password]).finish().await;
    assert_eq!(code, 0, "register {ext}: {log}");
    let ext = model::Extension::parse(ext).expect("ext");
    for _ in 0..50 {
        let live = rig.store.list_live_sip_bindings(org(), now(), 100).await.expect("bindings");
        if live.iter().any(|b| b.extension == ext) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("binding of {ext} not stored");
}

/// `sox --i` / `sox stat` facts of a recording.
pub fn sox_channels(path: &Path) -> u32 {
    let out = std::process::Command::new("soxi").arg("-c").arg(path).output().expect("soxi (Debian package sox)");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("channel count")
}

/// RMS amplitude of one channel (1 = left/customer, 2 = right/agent) by `sox remix N -n stat`.
pub fn sox_rms(path: &Path, channel: u32) -> f64 {
    let out = std::process::Command::new("sox")
        .arg(path)
        .args(["-n", "remix", &channel.to_string(), "stat"])
        .output()
        .expect("sox");
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find(|l| l.starts_with("RMS     amplitude"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("sox stat output: {text}"))
}
