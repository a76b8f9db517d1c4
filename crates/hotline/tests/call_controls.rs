//! Live call controls through the real binary (`hotline demo`): HTTP calls to the running server,
//! sipp as the caller and as the registered phones of agents and the supervisor, and the test's
//! own RTP sockets as those phones' media (the SDP sipp sends points at them), so what each
//! party hears is captured and measured (RMS and Goertzel), never eyeballed.
//!
//! - PCI pause: the stored recording is digital silence on both channels for the paused span
//!   (from the contact's `recording_paused` / `recording_resumed` events) and carries each side's
//!   tone before and after it; the agent's pause is in the audit log.
//! - Hold: the caller hears music on hold, the agent hears silence; resume brings them back.
//! - Monitoring: the supervisor's phone (extension 1900) is rung; listening, it hears whichever
//!   side sends a tone; whispering, the agent hears the supervisor and the caller does not. An
//!   agent may not monitor (403).
//! - Consult: the second agent's phone is rung with the caller on hold, the two agents talk, and
//!   completing it bridges the caller to the second agent (both directions measured), ends the
//!   first agent's phone and records the transfer on the contact.
//! - Chromium: the desktop's Hold and Pause recording buttons show the call's state.
//!
//! Needs sipp (Debian `sip-tester`); the Chromium test also node, `/usr/bin/chromium` and
//! `npm ci` in `crates/web/browser`.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::server::{Launch, free_port};
use common::session::Session;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Polls `f` every 100 ms until it returns `Some`, for at most `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ----- the server -------------------------------------------------------------------------------

/// `hotline demo` on free loopback ports, RTP from `rtp_min` (each test its own range), in its own
/// temp directory.
struct Server {
    inner: common::server::Server,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(rtp_min: u16) -> Server {
        let dir = tempfile::tempdir().expect("tmp");
        let inner = Launch::demo(dir.path())
            .env("HOTLINE_MEDIA_BIND", "127.0.0.1")
            .env("HOTLINE_MEDIA_RTP_PORT_MIN", rtp_min)
            .env("HOTLINE_MEDIA_RTP_PORT_MAX", rtp_min + 199)
            .start();
        Server { inner, _dir: dir }
    }
}

impl std::ops::Deref for Server {
    type Target = common::server::Server;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

// ----- phones: sipp for SIP, our sockets for RTP ------------------------------------------------

fn sipp_scenario(name: &str) -> PathBuf {
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp").join(name);
    if own.exists() { own } else { repo().join("crates/voice/tests/sipp").join(name) }
}

/// A sipp process; `finish` waits for it and says how it went.
struct Sipp {
    child: Child,
    work: tempfile::TempDir,
}

impl Sipp {
    fn start(server: SocketAddr, scenario: &str, port: u16, args: &[&str]) -> Sipp {
        let work = tempfile::tempdir().expect("tmp");
        std::fs::write(work.path().join("callers.csv"), "SEQUENTIAL\n+8613800000002;\n").expect("inf");
        let child = Command::new("sipp")
            .arg(server.to_string())
            .args(["-sf", &sipp_scenario(scenario).display().to_string(), "-inf", "callers.csv"])
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-mp", &free_port().to_string()])
            .args(["-m", "1", "-timeout", "120s", "-timeout_error", "-nostdin", "-trace_err"])
            .args(args)
            .current_dir(work.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sipp is installed (Debian package sip-tester)");
        Sipp { child, work }
    }

    fn finish(mut self, limit: Duration) -> (bool, String) {
        let status = wait_for(limit, "sipp to finish", || self.child.try_wait().expect("wait"));
        let mut log = String::new();
        for e in std::fs::read_dir(self.work.path()).expect("dir").flatten() {
            if e.file_name().to_string_lossy().ends_with("_errors.log") {
                log.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        (status.success(), log)
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers `ext` from 127.0.0.1:`port` and starts its phone there (answers with our RTP socket).
fn phone_for(server: &Server, ext: &str, password: &str, port: u16, rtp: &Rtp) -> Sipp {
    let reg = Sipp::start(server.sip, "register.xml", port, &["-s", ext, "-au", ext, "-ap", password]);
    let (ok, log) = reg.finish(Duration::from_secs(20));
    assert!(ok, "register {ext}: {log}");
    Sipp::start(server.sip, "phone_rtp.xml", port, &["-key", "rtp_port", &rtp.port().to_string()])
}

/// A call to 4000 whose media is `rtp`; it hangs up after `stay_ms`.
fn caller(server: &Server, rtp: &Rtp, stay_ms: u64) -> Sipp {
    let port = free_port();
    let rtp_port = rtp.port().to_string();
    let stay = stay_ms.to_string();
    Sipp::start(server.sip, "caller_rtp.xml", port, &["-s", "4000", "-key", "rtp_port", &rtp_port, "-d", &stay])
}

fn ulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let (mut exponent, mut mask) = (7, 0x4000);
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !((sign | (exponent << 4) | mantissa) as u8)
}

fn ulaw_decode(byte: u8) -> i16 {
    let u = !byte;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    (if u & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

/// A phone's media: receives and decodes PCMU (with arrival times), and every 20 ms sends a
/// frame of its current tone (or silence) and any keys pressed (RFC 4733) to the address it
/// last heard from.
/// Received audio frames with their arrival times.
type Heard = Arc<Mutex<Vec<(Instant, Vec<i16>)>>>;

struct Rtp {
    socket: Arc<UdpSocket>,
    heard: Heard,
    remote: Arc<Mutex<Option<SocketAddr>>>,
    tone_hz: Arc<Mutex<Option<f64>>>,
    keys: Arc<Mutex<Vec<char>>>,
    stop: Arc<AtomicBool>,
}

/// Most received frames kept per phone (a test's calls last under a minute: 3000 frames).
const MAX_HEARD_FRAMES: usize = 6_000;
const TONE_AMPLITUDE: f64 = 8_000.0;

impl Rtp {
    fn new() -> Rtp {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").expect("bind rtp"));
        socket.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
        let rtp = Rtp {
            socket,
            heard: Arc::default(),
            remote: Arc::default(),
            tone_hz: Arc::default(),
            keys: Arc::default(),
            stop: Arc::default(),
        };
        rtp.spawn_receiver();
        rtp.spawn_sender();
        rtp
    }

    fn port(&self) -> u16 {
        self.socket.local_addr().expect("addr").port()
    }

    fn spawn_receiver(&self) {
        let (socket, heard, remote, stop) =
            (self.socket.clone(), self.heard.clone(), self.remote.clone(), self.stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
                if n < 12 || buf[0] >> 6 != 2 {
                    continue;
                }
                *remote.lock().expect("lock") = Some(from);
                let header = 12 + 4 * usize::from(buf[0] & 0x0f);
                if buf[1] & 0x7f != 0 || n <= header {
                    continue; // not PCMU audio (RTCP, events)
                }
                let samples = buf[header..n].iter().map(|b| ulaw_decode(*b)).collect();
                let mut h = heard.lock().expect("lock");
                if h.len() < MAX_HEARD_FRAMES {
                    h.push((Instant::now(), samples));
                }
            }
        });
    }

    fn spawn_sender(&self) {
        let (socket, remote, tone, keys, stop) =
            (self.socket.clone(), self.remote.clone(), self.tone_hz.clone(), self.keys.clone(), self.stop.clone());
        std::thread::spawn(move || {
            let (ssrc, mut seq, mut ts, mut phase) = (0x5eed_0001u32, 1u16, 0u32, 0f64);
            let mut events: Vec<Vec<u8>> = Vec::new();
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                next += Duration::from_millis(20);
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                let Some(to) = *remote.lock().expect("lock") else { continue };
                if events.is_empty()
                    && let Some(key) = keys.lock().expect("lock").pop()
                {
                    let event = key.to_digit(10).expect("digit") as u8;
                    for i in 1..=8u16 {
                        let end = i > 5;
                        let duration = 160 * i.min(6);
                        events.push(vec![
                            event,
                            if end { 0x80 | 10 } else { 10 },
                            (duration >> 8) as u8,
                            duration as u8,
                        ]);
                    }
                    events.reverse();
                }
                let mut packet = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                if let Some(payload) = events.pop() {
                    packet[1] = 101 | if payload[1] & 0x80 == 0 && payload[3] == 160 { 0x80 } else { 0 };
                    packet[4..8].copy_from_slice(&ts.to_be_bytes());
                    packet.extend_from_slice(&payload);
                    if events.is_empty() {
                        ts = ts.wrapping_add(960);
                    }
                } else {
                    let hz = *tone.lock().expect("lock");
                    packet[4..8].copy_from_slice(&ts.to_be_bytes());
                    for _ in 0..160 {
                        let s = hz.map_or(0.0, |_| TONE_AMPLITUDE * phase.sin());
                        phase += hz.unwrap_or(0.0) * std::f64::consts::TAU / 8000.0;
                        packet.push(ulaw_encode(s as i16));
                    }
                    ts = ts.wrapping_add(160);
                }
                packet[2..4].copy_from_slice(&seq.to_be_bytes());
                packet[8..12].copy_from_slice(&ssrc.to_be_bytes());
                seq = seq.wrapping_add(1);
                let _ = socket.send_to(&packet, to);
            }
        });
    }

    fn tone(&self, hz: Option<f64>) {
        *self.tone_hz.lock().expect("lock") = hz;
    }

    fn press(&self, key: char) {
        self.keys.lock().expect("lock").push(key);
    }

    fn has_remote(&self) -> bool {
        self.remote.lock().expect("lock").is_some()
    }

    /// Samples received between two instants.
    fn heard_between(&self, from: Instant, to: Instant) -> Vec<i16> {
        let h = self.heard.lock().expect("lock");
        h.iter().filter(|(at, _)| *at >= from && *at < to).flat_map(|(_, s)| s.iter().copied()).collect()
    }
}

impl Drop for Rtp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// Amplitude of the `hz` component (Goertzel), in sample units: a full-scale sine of amplitude A
/// reads about A.
fn tone_amplitude(samples: &[i16], hz: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let coeff = 2.0 * (std::f64::consts::TAU * hz / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / samples.len() as f64
}

/// What a phone heard over the next `ms` milliseconds (after waiting `settle_ms`).
fn listen(rtp: &Rtp, settle_ms: u64, ms: u64) -> Vec<i16> {
    std::thread::sleep(Duration::from_millis(settle_ms));
    let from = Instant::now();
    std::thread::sleep(Duration::from_millis(ms));
    rtp.heard_between(from, Instant::now())
}

// ----- the call ---------------------------------------------------------------------------------

fn agent_id(staff: &Session, ext: &str) -> String {
    let live = staff.ok("GET", "/api/live", None);
    let agents = live["agents"].as_array().expect("agents");
    let a = agents.iter().find(|a| a["extension"] == ext).unwrap_or_else(|| panic!("agent {ext} in {live}"));
    a["agent"].as_str().expect("id").to_owned()
}

/// The caller presses 3 once the menu plays, and the call rings `ext`'s phone, which answers:
/// returns the contact once it is connected.
fn reach_agent(staff: &Session, customer: &Rtp, ext: &str) -> String {
    wait_for(Duration::from_secs(20), "the IVR's first prompt", || customer.has_remote().then_some(()));
    std::thread::sleep(Duration::from_millis(1_500));
    customer.press('3');
    let contact = wait_for(Duration::from_secs(30), "a contact with the agent", || {
        let live = staff.ok("GET", "/api/live", None);
        let a = live["agents"].as_array()?.iter().find(|a| a["extension"] == ext)?.clone();
        a["contacts"].as_array()?.first()?.as_str().map(str::to_owned)
    });
    wait_for(Duration::from_secs(20), "the contact connected", || {
        let c = staff.ok("GET", &format!("/api/contacts/{contact}"), None);
        (c["status"] == "connected").then_some(())
    });
    contact
}

fn events(staff: &Session, contact: &str) -> Vec<Value> {
    let v = staff.ok("GET", &format!("/api/contacts/{contact}/events?limit=100"), None);
    v["items"].as_array().expect("items").clone()
}

fn go_available(agent: &Session) {
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
}

/// Left and right channels of a 16-bit stereo WAV.
fn wav_channels(bytes: &[u8]) -> (Vec<i16>, Vec<i16>) {
    assert_eq!(&bytes[..4], b"RIFF", "a WAV file");
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        if id == b"fmt " {
            assert_eq!(u16::from_le_bytes([bytes[at + 10], bytes[at + 11]]), 2, "stereo");
        }
        if id == b"data" {
            let data = &bytes[at + 8..(at + 8 + len).min(bytes.len())];
            let samples: Vec<i16> = data.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
            let left = samples.iter().step_by(2).copied().collect();
            let right = samples.iter().skip(1).step_by(2).copied().collect();
            return (left, right);
        }
        at += 8 + len + (len & 1);
    }
    panic!("no data chunk");
}

/// Samples of one channel between two offsets in ms.
fn span(channel: &[i16], from_ms: i64, to_ms: i64) -> &[i16] {
    let at = |ms: i64| usize::try_from(ms.max(0) * 8).unwrap_or(0).min(channel.len());
    &channel[at(from_ms)..at(to_ms)]
}

#[test]
fn pause_recording_and_hold_from_the_desktop_api_reach_the_call_and_the_recording() {
    let server = Server::start(26_000);
    let supervisor = server.login("supervisor", "demosuper");
    let admin = server.login("admin", "demoadmin");
    let (agent_rtp, customer) = (Rtp::new(), Rtp::new());
    let agent_phone = phone_for(&server, "1001", "demo1001", free_port(), &agent_rtp);
    let agent = server.login("1001", "demo1001");
    go_available(&agent);
    let call = caller(&server, &customer, 24_000);
    let contact = reach_agent(&supervisor, &customer, "1001");
    customer.tone(Some(1_000.0));
    agent_rtp.tone(Some(1_500.0));
    std::thread::sleep(Duration::from_millis(2_000));

    // PCI pause for 2.5 s, by the agent on their own call.
    agent.ok("POST", &format!("/api/contacts/{contact}/recording/pause"), None);
    let (status, again) = agent.call("POST", &format!("/api/contacts/{contact}/recording/pause"), None);
    assert_eq!(status, 409, "a second pause is a conflict: {again}");
    std::thread::sleep(Duration::from_millis(2_500));
    agent.ok("POST", &format!("/api/contacts/{contact}/recording/resume"), None);
    std::thread::sleep(Duration::from_millis(1_500));

    // Hold: music to the caller, silence to the agent.
    let before_hold = listen(&agent_rtp, 0, 800);
    agent.ok("POST", &format!("/api/contacts/{contact}/hold"), None);
    let (customer_on_hold, agent_on_hold) = {
        std::thread::sleep(Duration::from_millis(400));
        let from = Instant::now();
        std::thread::sleep(Duration::from_millis(1_500));
        (customer.heard_between(from, Instant::now()), agent_rtp.heard_between(from, Instant::now()))
    };
    agent.ok("POST", &format!("/api/contacts/{contact}/resume"), None);
    let after_hold = listen(&agent_rtp, 400, 800);
    assert!(tone_amplitude(&before_hold, 1_000.0) > 2_000.0, "the agent hears the caller before hold");
    assert!(rms(&customer_on_hold) > 300.0, "the caller hears music on hold: RMS {}", rms(&customer_on_hold));
    assert!(tone_amplitude(&customer_on_hold, 1_500.0) < 300.0, "the caller does not hear the agent on hold");
    assert!(rms(&agent_on_hold) < 50.0, "the agent hears silence on hold: RMS {}", rms(&agent_on_hold));
    assert!(tone_amplitude(&after_hold, 1_000.0) > 2_000.0, "the agent hears the caller again after resume");

    // An agent may not listen in.
    let (status, body) = agent.call("POST", &format!("/api/contacts/{contact}/monitor"), Some(json!({})));
    assert_eq!(status, 403, "an agent cannot monitor: {body}");

    let (ok, log) = call.finish(Duration::from_secs(60));
    assert!(ok, "caller: {log}");
    let (ok, log) = agent_phone.finish(Duration::from_secs(30));
    assert!(ok, "agent phone: {log}");

    // The contact's events keep the pause interval and the hold.
    let evs = wait_for(Duration::from_secs(20), "the recording stored", || {
        let recs = supervisor.ok("GET", &format!("/api/contacts/{contact}/recordings"), None);
        recs["items"].as_array().filter(|r| !r.is_empty()).map(|r| r[0].clone())
    });
    let events = events(&supervisor, &contact);
    let at = |kind: &str| {
        events.iter().find(|e| e["kind"] == kind).and_then(|e| e["at_ms"].as_i64()).unwrap_or_else(|| {
            panic!("no {kind} event in {events:#?}");
        })
    };
    let (paused, resumed) = (at("recording_paused"), at("recording_resumed"));
    assert!((2_300..3_500).contains(&(resumed - paused)), "pause lasted {} ms", resumed - paused);
    assert!(at("held") < at("resumed"), "held then resumed");

    // The recording: silence on both channels while paused, each side's tone around it.
    let wav = supervisor.bytes(&format!("/api/recordings/{}/audio", evs["id"].as_str().expect("id")));
    let (left, right) = wav_channels(&wav);
    let start = evs["started_at_ms"].as_i64().expect("started");
    let (p0, p1) = (paused - start, resumed - start);
    for (name, ch) in [("customer", &left), ("agent", &right)] {
        let quiet = span(ch, p0 + 200, p1 - 200);
        assert!(quiet.len() > 8 * 1_500, "{name}: paused span in the file");
        assert!(quiet.iter().all(|&s| s == 0), "{name} channel is silent while paused (max {:?})", quiet.iter().max());
    }
    assert!(tone_amplitude(span(&left, p0 - 1_200, p0 - 200), 1_000.0) > 2_000.0, "caller's tone before the pause");
    assert!(tone_amplitude(span(&right, p0 - 1_200, p0 - 200), 1_500.0) > 2_000.0, "agent's tone before the pause");
    assert!(tone_amplitude(span(&left, p1 + 200, p1 + 1_200), 1_000.0) > 2_000.0, "caller's tone after the pause");
    assert!(tone_amplitude(span(&right, p1 + 200, p1 + 1_200), 1_500.0) > 2_000.0, "agent's tone after the pause");

    // Speech analytics ran on the ended contact's recording: both sides talked, at once, and the
    // pause is a silence on both channels at least as long as the pause (less the VAD's hangover).
    let speech = wait_for(Duration::from_secs(20), "the speech figures stored", || {
        let s = supervisor.ok("GET", &format!("/api/contacts/{contact}/speech"), None);
        s["recordings"].as_array().filter(|r| !r.is_empty()).map(|r| r[0].clone())
    });
    assert_eq!(speech["recording"], evs["id"], "{speech}");
    let figure = |k: &str| speech[k].as_i64().unwrap_or_else(|| panic!("no {k} in {speech}"));
    assert!(figure("customer_talk_ms") > 3_000 && figure("agent_talk_ms") > 3_000, "{speech}");
    assert!(figure("overtalk_ms") > 1_000, "both tones play at once: {speech}");
    assert!(figure("longest_silence_ms") >= (p1 - p0) - 500, "the paused span is silence: {speech}");

    // The agent's pause and resume are audited.
    let audit = admin.ok("GET", "/api/audit?limit=100", None);
    let actions: Vec<&str> =
        audit["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"pause_recording") && actions.contains(&"resume_recording"), "{actions:?}");
}

#[test]
fn supervisor_listens_to_both_sides_and_whispers_to_the_agent_only() {
    let server = Server::start(26_200);
    let supervisor = server.login("supervisor", "demosuper");
    let admin = server.login("admin", "demoadmin");
    let (agent_rtp, customer, boss) = (Rtp::new(), Rtp::new(), Rtp::new());
    let agent_phone = phone_for(&server, "1001", "demo1001", free_port(), &agent_rtp);
    let boss_phone = phone_for(&server, "1900", "demosuper", free_port(), &boss);
    let agent = server.login("1001", "demo1001");
    go_available(&agent);
    let call = caller(&server, &customer, 22_000);
    let contact = reach_agent(&supervisor, &customer, "1001");

    let (status, body) =
        agent.call("POST", &format!("/api/contacts/{contact}/monitor"), Some(json!({"mode": "listen"})));
    assert_eq!(status, 403, "agents cannot listen: {body}");
    supervisor.ok("POST", &format!("/api/contacts/{contact}/monitor"), Some(json!({"mode": "listen"})));
    wait_for(Duration::from_secs(10), "the supervisor's phone answered", || boss.has_remote().then_some(()));

    customer.tone(Some(1_000.0));
    let hears_customer = listen(&boss, 600, 1_000);
    customer.tone(None);
    agent_rtp.tone(Some(1_500.0));
    let hears_agent = listen(&boss, 600, 1_000);
    agent_rtp.tone(None);
    assert!(tone_amplitude(&hears_customer, 1_000.0) > 2_000.0, "listening, the supervisor hears the caller");
    assert!(tone_amplitude(&hears_agent, 1_500.0) > 2_000.0, "listening, the supervisor hears the agent");

    // Listening: nobody hears the supervisor.
    boss.tone(Some(2_000.0));
    let (agent_hears, customer_hears) = {
        std::thread::sleep(Duration::from_millis(600));
        let from = Instant::now();
        std::thread::sleep(Duration::from_millis(1_000));
        (agent_rtp.heard_between(from, Instant::now()), customer.heard_between(from, Instant::now()))
    };
    assert!(tone_amplitude(&agent_hears, 2_000.0) < 300.0, "listening: the agent does not hear the supervisor");
    assert!(tone_amplitude(&customer_hears, 2_000.0) < 300.0, "listening: the caller does not hear the supervisor");

    // Whisper: the agent hears the supervisor, the caller does not.
    supervisor.ok("POST", &format!("/api/contacts/{contact}/monitor"), Some(json!({"mode": "whisper"})));
    let (agent_hears, customer_hears) = {
        std::thread::sleep(Duration::from_millis(600));
        let from = Instant::now();
        std::thread::sleep(Duration::from_millis(1_000));
        (agent_rtp.heard_between(from, Instant::now()), customer.heard_between(from, Instant::now()))
    };
    assert!(tone_amplitude(&agent_hears, 2_000.0) > 2_000.0, "whispering: the agent hears the supervisor");
    assert!(tone_amplitude(&customer_hears, 2_000.0) < 300.0, "whispering: the caller does not");

    supervisor.ok("DELETE", &format!("/api/contacts/{contact}/monitor"), None);
    let (ok, log) = boss_phone.finish(Duration::from_secs(20));
    assert!(ok, "the supervisor's phone is hung up: {log}");
    let (ok, log) = call.finish(Duration::from_secs(60));
    assert!(ok, "caller: {log}");
    let (ok, log) = agent_phone.finish(Duration::from_secs(30));
    assert!(ok, "agent phone: {log}");

    let events = events(&supervisor, &contact);
    let monitor: Vec<String> =
        events.iter().filter_map(|e| e["detail"]["monitor"].as_str().map(str::to_owned)).collect();
    assert!(monitor.contains(&"started".to_owned()) && monitor.contains(&"ended".to_owned()), "{events:#?}");
    let audit = admin.ok("GET", "/api/audit?limit=100", None);
    let monitored = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "monitor_call" && e["actor"] == "supervisor")
        .count();
    assert_eq!(monitored, 2, "listen and whisper are audited: {audit}");
}

/// Agents 1001 and 1002 with phones whose media are the test's RTP sockets, and a caller
/// (staying `stay_ms`) connected to 1001; 1002 is signed in and Available when `second_available`.
struct TwoAgents {
    server: Server,
    supervisor: Session,
    first_rtp: Rtp,
    second_rtp: Rtp,
    customer: Rtp,
    first_phone: Sipp,
    second_phone: Sipp,
    first: Session,
    call: Sipp,
    contact: String,
    second_id: String,
}

fn two_agents_on_a_call(rtp_min: u16, stay_ms: u64, second_available: bool) -> TwoAgents {
    let server = Server::start(rtp_min);
    let supervisor = server.login("supervisor", "demosuper");
    let (first_rtp, second_rtp, customer) = (Rtp::new(), Rtp::new(), Rtp::new());
    let first_phone = phone_for(&server, "1001", "demo1001", free_port(), &first_rtp);
    let second_phone = phone_for(&server, "1002", "demo1002", free_port(), &second_rtp);
    let first = server.login("1001", "demo1001");
    go_available(&first);
    let call = caller(&server, &customer, stay_ms);
    let contact = reach_agent(&supervisor, &customer, "1001");
    if second_available {
        go_available(&server.login("1002", "demo1002"));
    }
    let second_id = agent_id(&supervisor, "1002");
    TwoAgents {
        server,
        supervisor,
        first_rtp,
        second_rtp,
        customer,
        first_phone,
        second_phone,
        first,
        call,
        contact,
        second_id,
    }
}

/// What `a` and `b` hear over one second, once the tones just set have settled.
fn both_hear(a: &Rtp, b: &Rtp) -> (Vec<i16>, Vec<i16>) {
    std::thread::sleep(Duration::from_millis(700));
    let from = Instant::now();
    std::thread::sleep(Duration::from_millis(1_000));
    (a.heard_between(from, Instant::now()), b.heard_between(from, Instant::now()))
}

#[test]
fn consult_rings_the_second_agent_and_completing_it_bridges_the_caller_to_them() {
    let TwoAgents {
        server: _server,
        supervisor,
        first_rtp,
        second_rtp,
        customer,
        first_phone,
        second_phone,
        first,
        call,
        contact,
        second_id,
    } = two_agents_on_a_call(26_400, 22_000, true);

    first.ok("POST", &format!("/api/contacts/{contact}/consult"), Some(json!({"agent_id": second_id})));
    wait_for(Duration::from_secs(10), "the second agent answered", || second_rtp.has_remote().then_some(()));
    customer.tone(Some(1_000.0));
    first_rtp.tone(Some(1_500.0));
    let (second_hears, customer_hears) = both_hear(&second_rtp, &customer);
    assert!(tone_amplitude(&second_hears, 1_500.0) > 2_000.0, "consulting, the agents talk");
    assert!(tone_amplitude(&second_hears, 1_000.0) < 300.0, "consulting, the second agent does not hear the caller");
    assert!(tone_amplitude(&customer_hears, 1_500.0) < 300.0, "consulting, the caller does not hear the agents");
    assert!(rms(&customer_hears) > 300.0, "consulting, the caller hears music on hold");

    first.ok("POST", &format!("/api/contacts/{contact}/consult/complete"), None);
    let (ok, log) = first_phone.finish(Duration::from_secs(15));
    assert!(ok, "the first agent's phone is hung up: {log}");
    first_rtp.tone(None);
    second_rtp.tone(Some(1_800.0));
    let (second_hears, customer_hears) = both_hear(&second_rtp, &customer);
    assert!(tone_amplitude(&second_hears, 1_000.0) > 2_000.0, "after the transfer the second agent hears the caller");
    assert!(tone_amplitude(&customer_hears, 1_800.0) > 2_000.0, "after the transfer the caller hears the second agent");

    // The contact is the second agent's, its transfer recorded; the first agent wraps up.
    let c = supervisor.ok("GET", &format!("/api/contacts/{contact}"), None);
    assert_eq!(c["agent_id"], second_id.as_str(), "{c}");
    assert_eq!(c["transferred"], true, "{c}");
    let live = supervisor.ok("GET", "/api/live", None);
    let first_state = live["agents"].as_array().expect("agents").iter().find(|a| a["extension"] == "1001").cloned();
    assert_eq!(first_state.expect("1001")["state"], "wrap_up", "the first agent is in wrap-up");
    let events = events(&supervisor, &contact);
    let transfer = events.iter().find(|e| e["kind"] == "transferred").unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(transfer["detail"]["to_agent"], second_id.as_str(), "{transfer}");

    let (ok, log) = call.finish(Duration::from_secs(60));
    assert!(ok, "caller: {log}");
    let (ok, log) = second_phone.finish(Duration::from_secs(30));
    assert!(ok, "second agent's phone: {log}");
}

#[test]
fn a_desktop_transfer_of_a_live_call_rings_the_expert_and_bridges_the_caller_to_them() {
    let TwoAgents {
        server: _server,
        supervisor,
        first_rtp: _first_rtp,
        second_rtp,
        customer,
        first_phone,
        second_phone,
        first,
        call,
        contact,
        second_id,
    } = two_agents_on_a_call(27_000, 22_000, true);

    // The desktop's transfer to a named agent (the seed's forced transfer to an expert).
    first.ok("POST", &format!("/api/contacts/{contact}/transfer"), Some(json!({"agent_id": second_id})));
    let (ok, log) = first_phone.finish(Duration::from_secs(15));
    assert!(ok, "the first agent's phone is hung up: {log}");
    wait_for(Duration::from_secs(15), "the expert's phone answered", || second_rtp.has_remote().then_some(()));
    customer.tone(Some(1_000.0));
    second_rtp.tone(Some(1_800.0));
    let (second_hears, customer_hears) = both_hear(&second_rtp, &customer);
    assert!(tone_amplitude(&second_hears, 1_000.0) > 2_000.0, "the expert hears the caller");
    assert!(tone_amplitude(&customer_hears, 1_800.0) > 2_000.0, "the caller hears the expert");

    let c = supervisor.ok("GET", &format!("/api/contacts/{contact}"), None);
    assert_eq!(c["agent_id"], second_id.as_str(), "{c}");
    assert_eq!(c["transferred"], true, "{c}");
    let events = events(&supervisor, &contact);
    let transfer = events.iter().find(|e| e["kind"] == "transferred").unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(transfer["detail"]["to_agent"], second_id.as_str(), "{transfer}");

    let (ok, log) = call.finish(Duration::from_secs(60));
    assert!(ok, "caller: {log}");
    let (ok, log) = second_phone.finish(Duration::from_secs(30));
    assert!(ok, "expert's phone: {log}");
}

#[test]
fn cancelling_a_consult_hangs_up_the_second_agent_and_brings_the_caller_back() {
    let TwoAgents {
        server: _server,
        supervisor,
        first_rtp,
        second_rtp,
        customer,
        first_phone,
        second_phone,
        first,
        call,
        contact,
        second_id,
    } = two_agents_on_a_call(26_800, 16_000, false);

    first.ok("POST", &format!("/api/contacts/{contact}/consult"), Some(json!({"agent_id": second_id})));
    wait_for(Duration::from_secs(10), "the second agent answered", || second_rtp.has_remote().then_some(()));
    let (status, body) = first.call("POST", &format!("/api/contacts/{contact}/hold"), None);
    assert_eq!(status, 409, "hold is the consult's while it is on: {body}");
    first.ok("POST", &format!("/api/contacts/{contact}/consult/cancel"), None);
    let (ok, log) = second_phone.finish(Duration::from_secs(15));
    assert!(ok, "the second agent's phone is hung up: {log}");
    customer.tone(Some(1_000.0));
    first_rtp.tone(Some(1_500.0));
    let (first_hears, customer_hears) = both_hear(&first_rtp, &customer);
    assert!(tone_amplitude(&first_hears, 1_000.0) > 2_000.0, "after the cancel the agent hears the caller again");
    assert!(tone_amplitude(&customer_hears, 1_500.0) > 2_000.0, "after the cancel the caller hears the agent again");
    let c = supervisor.ok("GET", &format!("/api/contacts/{contact}"), None);
    assert_eq!(c["agent_id"], agent_id(&supervisor, "1001").as_str(), "still the first agent's: {c}");
    assert_eq!(c["transferred"], false, "{c}");
    let consult: Vec<String> = events(&supervisor, &contact)
        .iter()
        .filter_map(|e| e["detail"]["consult"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(consult, ["ringing", "answered", "cancelled"], "the consult's steps are on the contact");

    let (ok, log) = call.finish(Duration::from_secs(60));
    assert!(ok, "caller: {log}");
    let (ok, log) = first_phone.finish(Duration::from_secs(30));
    assert!(ok, "first agent's phone: {log}");
}

/// The desktop in Chromium (`crates/web/browser/call_controls.mjs`): Hold and Pause recording
/// toggle and show the call's state from the live events.
#[test]
fn desktop_hold_and_pause_buttons_show_the_call_state_in_chromium() {
    let server = Server::start(26_600);
    let supervisor = server.login("supervisor", "demosuper");
    let (agent_rtp, customer) = (Rtp::new(), Rtp::new());
    let agent_phone = phone_for(&server, "1001", "demo1001", free_port(), &agent_rtp);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("call-controls-screenshots");
    let (mut call, mut contact) = (None, None);
    common::browser::scenario("call_controls.mjs", &server.base, &shots, || {
        call = Some(caller(&server, &customer, 30_000));
        contact = Some(reach_agent(&supervisor, &customer, "1001"));
    });
    common::browser::assert_screenshots(&shots, &["desktop-on-hold", "desktop-recording-paused"]);
    let contact = contact.expect("the call reached 1001");
    let kinds: Vec<String> =
        events(&supervisor, &contact).iter().filter_map(|e| e["kind"].as_str().map(str::to_owned)).collect();
    for kind in ["held", "resumed", "recording_paused", "recording_resumed"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} recorded from the clicks: {kinds:?}");
    }
    drop(call);
    drop(agent_phone);
}

/// The desktop in Chromium (`crates/web/browser/desktop_multi.mjs`): blended agent 1001 holds a
/// real call and a web chat at once as two tabs, each with its own pane and wrap-up; the chat rings
/// during the call; the wallboard's Listen rings the supervisor's phone; the desktop's Consult rings
/// 1002's phone and Cancel consult hangs it up. What the clicks did is read back over HTTP.
#[test]
fn blended_desktop_holds_a_call_and_a_chat_consults_and_the_wallboard_listens_in_chromium() {
    let server = Server::start(27_200);
    let supervisor = server.login("supervisor", "demosuper");
    let (agent_rtp, second_rtp, boss_rtp, customer) = (Rtp::new(), Rtp::new(), Rtp::new(), Rtp::new());
    let agent_phone = phone_for(&server, "1001", "demo1001", free_port(), &agent_rtp);
    let second_phone = phone_for(&server, "1002", "demo1002", free_port(), &second_rtp);
    let boss_phone = phone_for(&server, "1900", "demosuper", free_port(), &boss_rtp);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("desktop-multi-screenshots");
    let mut call = None;
    let transcript = common::browser::scenario("desktop_multi.mjs", &server.base, &shots, || {
        call = Some(caller(&server, &customer, 110_000));
        reach_agent(&supervisor, &customer, "1001");
    });
    common::browser::assert_screenshots(
        &shots,
        &[
            "desktop-chat-rings-during-call",
            "desktop-call-tab",
            "desktop-chat-tab",
            "wallboard-listening",
            "desktop-consulting",
            "desktop-call-wrap-up-with-chat",
        ],
    );
    let (voice, chat) =
        (common::browser::reported(&transcript, "voice"), common::browser::reported(&transcript, "chat"));

    // The phones the clicks rang were answered and hung up again.
    assert!(boss_rtp.has_remote(), "Listen rang the supervisor's phone");
    assert!(second_rtp.has_remote(), "Consult rang 1002's phone");
    let (ok, log) = boss_phone.finish(Duration::from_secs(20));
    assert!(ok, "the supervisor's phone is hung up after Stop: {log}");
    let (ok, log) = second_phone.finish(Duration::from_secs(20));
    assert!(ok, "1002's phone is hung up after Cancel consult: {log}");

    // The call's events: the monitor and the consult the buttons started and stopped.
    let evs = events(&supervisor, &voice);
    let detail = |key: &str| -> Vec<String> {
        evs.iter().filter_map(|e| e["detail"][key].as_str().map(str::to_owned)).collect()
    };
    assert_eq!(detail("consult"), ["ringing", "answered", "cancelled"], "{evs:#?}");
    let monitor = detail("monitor");
    assert!(monitor.contains(&"started".to_owned()) && monitor.contains(&"ended".to_owned()), "{evs:#?}");

    // Each contact was wrapped up with its own disposition and notes, and 1001 held both at once.
    let wrapped = |id: &str| {
        wait_for(Duration::from_secs(20), "the wrap-up stored", || {
            let c = supervisor.ok("GET", &format!("/api/contacts/{id}"), None);
            c["disposition"].is_string().then_some(c)
        })
    };
    let (v, c) = (wrapped(&voice), wrapped(&chat));
    assert_eq!((v["channel"].as_str(), c["channel"].as_str()), (Some("voice"), Some("chat")));
    assert_eq!((v["disposition"].as_str(), c["disposition"].as_str()), (Some("resolved"), Some("follow_up")));
    assert!(v["notes"].as_str().is_some_and(|n| n.contains("电话备注")), "{v}");
    assert!(c["notes"].as_str().is_some_and(|n| n.contains("聊天备注")), "{c}");
    assert_eq!(v["agent_id"], c["agent_id"], "one agent held both");
    let (answered, ended) = (c["answered_at_ms"].as_i64().expect("chat answered"), v["ended_at_ms"].as_i64());
    assert!(ended.is_some_and(|e| answered < e), "the chat was answered while the call was on: {v} {c}");
    drop(call);
    drop(agent_phone);
}
