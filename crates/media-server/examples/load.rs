//! Load bench (not a test): N concurrent bridged calls on 127.0.0.1 with RTP both ways through one
//! media server, measuring packet loss, added jitter two ways — the delay variation of each packet
//! (transit time minus its stream's minimum; strict) and the RFC 3550 interarrival jitter of each
//! stream after each packet (what RTCP reports) — and the media task's CPU per call. Transit is
//! timed from the sender's `send_to` to the receiver task's wake-up, so the generator's own
//! scheduling delays count against the server.
//!
//! `cargo run --release -p media-server --example load -- --calls 200 --seconds 20 [--same-codec] [--record]`
//!
//! By default the customer leg is µ-law and the agent leg A-law (every packet transcoded);
//! `--same-codec` makes both µ-law (pure relay); `--record` records every call to a stereo WAV in
//! a temporary folder (removed at the end; about 1.9 MB per call-minute). Each packet carries its send time in 16 payload
//! bytes chosen from G.711 codes that survive µ→A→µ, so transit is measured through transcoding.
//! The server runs alone on its own thread (current-thread runtime); its CPU time comes from that
//! thread's `/proc/.../schedstat`. The RTP range (`--port-min`, default 30000) must lie outside the
//! kernel's ephemeral range (32768-60999), where the phones' sockets are bound. Bounded: at most 500 calls and 120 s; binds 127.0.0.1 only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::codec::Codec;
use media::g711::{alaw_to_ulaw, ulaw_to_alaw};
use media::rtp::{RtpHeader, RtpPacket, write_simple};
use media_server::{LegId, LegSpec, MediaServer, MediaServerConfig, MediaServerHandle};
use tokio::net::UdpSocket;

const MAX_CALLS: usize = 500;
const MAX_SECONDS: u64 = 120;
const DRAIN: Duration = Duration::from_millis(500);

#[derive(Clone, Copy)]
struct Args {
    calls: usize,
    seconds: u64,
    same_codec: bool,
    record: bool,
    port_min: u16,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { calls: 100, seconds: 20, same_codec: false, record: false, port_min: 30_000 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--calls" => a.calls = value()?.parse().map_err(|e| format!("--calls: {e}"))?,
            "--seconds" => a.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--port-min" => a.port_min = value()?.parse().map_err(|e| format!("--port-min: {e}"))?,
            "--same-codec" => a.same_codec = true,
            "--record" => a.record = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.calls == 0 || a.calls > MAX_CALLS || a.seconds == 0 || a.seconds > MAX_SECONDS {
        return Err(format!("--calls 1..={MAX_CALLS} and --seconds 1..={MAX_SECONDS}"));
    }
    Ok(a)
}

/// 16 µ-law codes that map to A-law and back unchanged, one per nibble.
struct Codebook {
    ulaw: [u8; 16],
    nibble_of_ulaw: [Option<u8>; 256],
}

impl Codebook {
    fn new() -> Option<Self> {
        let stable: Vec<u8> = (0..=255u8).filter(|&u| alaw_to_ulaw(ulaw_to_alaw(u)) == u).step_by(4).take(16).collect();
        let ulaw: [u8; 16] = stable.try_into().ok()?;
        let mut nibble_of_ulaw = [None; 256];
        for (n, &u) in ulaw.iter().enumerate() {
            nibble_of_ulaw[usize::from(u)] = Some(n as u8);
        }
        Some(Self { ulaw, nibble_of_ulaw })
    }

    fn encode(&self, value: u64, codec: Codec, out: &mut [u8; 160]) {
        let silence = codec.silence();
        out.fill(silence);
        for (i, b) in out.iter_mut().take(16).enumerate() {
            let u = self.ulaw[((value >> (4 * i)) & 0xf) as usize];
            *b = if codec == Codec::Pcma { ulaw_to_alaw(u) } else { u };
        }
    }

    fn decode(&self, payload: &[u8], codec: Codec) -> Option<u64> {
        let mut v = 0u64;
        for (i, &b) in payload.get(..16)?.iter().enumerate() {
            let u = if codec == Codec::Pcma { alaw_to_ulaw(b) } else { b };
            v |= u64::from(self.nibble_of_ulaw[usize::from(u)]?) << (4 * i);
        }
        Some(v)
    }
}

/// What one direction of one call saw.
#[derive(Default)]
struct Direction {
    received: u64,
    transits_us: Vec<u64>,
}

/// Sends a 20 ms packet every 20 ms until `until`, each carrying its send time (µs since `base`).
async fn send_stream(
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    codec: Codec,
    book: Arc<Codebook>,
    base: Instant,
    until: Instant,
    ssrc: u32,
) -> u64 {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (mut seq, mut ts, mut sent) = (0u16, 0u32, 0u64);
    let mut payload = [0u8; 160];
    let mut bytes = Vec::with_capacity(172);
    while Instant::now() < until {
        tick.tick().await;
        book.encode(base.elapsed().as_micros() as u64, codec, &mut payload);
        let header = RtpHeader {
            payload_type: codec.payload_type(),
            sequence: seq,
            timestamp: ts,
            ssrc,
            ..RtpHeader::default()
        };
        bytes.clear();
        if write_simple(&header, &payload, &mut bytes).is_ok() && socket.send_to(&bytes, to).await.is_ok() {
            sent += 1;
        }
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(160);
    }
    sent
}

/// Receives the relayed stream until `until` + drain; transit = arrival − embedded send time.
async fn receive_stream(
    socket: Arc<UdpSocket>,
    codec: Codec,
    book: Arc<Codebook>,
    base: Instant,
    until: Instant,
) -> Direction {
    let mut d = Direction::default();
    let mut buf = [0u8; 2048];
    let end = tokio::time::Instant::from_std(until + DRAIN);
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(end, socket.recv_from(&mut buf)).await {
        let Ok(p) = RtpPacket::parse(&buf[..n]) else { continue };
        if p.header.payload_type != codec.payload_type() {
            continue; // RTCP or telephone-event
        }
        if let Some(sent_us) = book.decode(p.payload, codec) {
            d.received += 1;
            d.transits_us.push((base.elapsed().as_micros() as u64).saturating_sub(sent_us));
        }
    }
    d
}

/// The media thread's CPU time so far (ns), from the schedstat of the thread at `path`.
fn cpu_ns(path: &PathBuf) -> u64 {
    std::fs::read_to_string(path).ok().and_then(|s| s.split_whitespace().next()?.parse().ok()).unwrap_or(0)
}

/// Starts the server on its own thread; returns its handle and its schedstat path.
fn spawn_server(config: MediaServerConfig) -> (MediaServerHandle, PathBuf, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let (handle, mut events, task) = MediaServer::start(config).expect("valid config");
            let me = std::fs::read_link("/proc/thread-self").unwrap_or_default();
            let _ = tx.send((handle, PathBuf::from("/proc").join(me).join("schedstat")));
            let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
            let counters = task.await.expect("media task");
            drain.abort();
            println!("server counters: {counters:?}");
        });
    });
    let (handle, path) = rx.recv().expect("server started");
    (handle, path, thread)
}

struct CallLegs {
    customer: Arc<UdpSocket>,
    agent: Arc<UdpSocket>,
    to_customer_leg: SocketAddr,
    to_agent_leg: SocketAddr,
}

async fn set_up_call(
    server: &MediaServerHandle,
    customer_codec: Codec,
    agent_codec: Codec,
    record_as: Option<String>,
) -> Result<CallLegs, String> {
    let customer = Arc::new(UdpSocket::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?);
    let agent = Arc::new(UdpSocket::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?);
    let (call, to_customer_leg) = server.allocate_call().await.map_err(|e| e.to_string())?;
    let to_agent_leg = server.allocate_leg(call, LegId::Agent).await.map_err(|e| e.to_string())?;
    let c = LegSpec::new(customer_codec, customer.local_addr().map_err(|e| e.to_string())?);
    let a = LegSpec::new(agent_codec, agent.local_addr().map_err(|e| e.to_string())?);
    server.add_leg(call, LegId::Customer, c, None).await.map_err(|e| e.to_string())?;
    server.add_leg(call, LegId::Agent, a, None).await.map_err(|e| e.to_string())?;
    server.connect(call).await.map_err(|e| e.to_string())?;
    if let Some(name) = record_as {
        server.start_recording(call, name).await.map_err(|e| e.to_string())?;
    }
    Ok(CallLegs { customer, agent, to_customer_leg, to_agent_leg })
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// RFC 3550 §6.4.1 interarrival jitter after each packet (J += (|D| − J) / 16), in µs.
fn interarrival_jitter_us(transits_us: &[u64]) -> Vec<u64> {
    let mut j = 0.0f64;
    transits_us
        .windows(2)
        .map(|w| {
            j += ((w[1] as f64 - w[0] as f64).abs() - j) / 16.0;
            j as u64
        })
        .collect()
}

fn print_report(
    args: &Args,
    sent: u64,
    received: u64,
    mut added_us: Vec<u64>,
    mut rfc3550_us: Vec<u64>,
    cpu_ns_used: u64,
) {
    added_us.sort_unstable();
    rfc3550_us.sort_unstable();
    let loss = 100.0 * (sent.saturating_sub(received)) as f64 / sent.max(1) as f64;
    let cpu_share = cpu_ns_used as f64 / (args.seconds as f64 * 1e9);
    println!(
        "calls={} seconds={} mode={} sent={sent} received={received} loss={loss:.3}% added_delay_variation_ms p50={:.2} p99={:.2} max={:.2} rfc3550_jitter_ms p50={:.2} p99={:.2} max={:.2} media_task_cpu={:.1}% of a core, per_call={:.3}% ({:.1} µs per call-second)",
        args.calls,
        args.seconds,
        match (args.same_codec, args.record) {
            (true, false) => "relay",
            (true, true) => "relay+record",
            (false, false) => "transcode",
            (false, true) => "transcode+record",
        },
        percentile(&added_us, 0.5),
        percentile(&added_us, 0.99),
        percentile(&added_us, 1.0),
        percentile(&rfc3550_us, 0.5),
        percentile(&rfc3550_us, 0.99),
        percentile(&rfc3550_us, 1.0),
        cpu_share * 100.0,
        cpu_share * 100.0 / args.calls as f64,
        cpu_ns_used as f64 / 1000.0 / (args.seconds as f64 * args.calls as f64),
    );
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let record = args.record;
    let book = Arc::new(Codebook::new().ok_or("fewer than 16 G.711 codes survive µ→A→µ")?);
    let (cc, ac) = if args.same_codec { (Codec::Pcmu, Codec::Pcmu) } else { (Codec::Pcmu, Codec::Pcma) };
    let pairs = u16::try_from(args.calls * 2 + 8).map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("hotline-media-load-{}", std::process::id()));
    let mut config = MediaServerConfig::new(
        "127.0.0.1".parse().map_err(|e| format!("{e}"))?,
        args.port_min,
        args.port_min + 2 * pairs - 1,
        dir.clone(),
    );
    config.max_calls = args.calls;
    config.media_timeout_ms = 60_000;
    let (server, schedstat, server_thread) = spawn_server(config);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let mut calls = Vec::with_capacity(args.calls);
        for i in 0..args.calls {
            let record_as = args.record.then(|| format!("call-{i}.wav"));
            calls.push(set_up_call(&server, cc, ac, record_as).await?);
        }
        let base = Instant::now();
        let until = base + Duration::from_secs(args.seconds);
        let cpu_before = cpu_ns(&schedstat);
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let ssrc = i as u32 * 2;
            senders.push(tokio::spawn(send_stream(
                c.customer.clone(),
                c.to_customer_leg,
                cc,
                book.clone(),
                base,
                until,
                ssrc,
            )));
            senders.push(tokio::spawn(send_stream(
                c.agent.clone(),
                c.to_agent_leg,
                ac,
                book.clone(),
                base,
                until,
                ssrc + 1,
            )));
            // What the agent hears came from the customer, and the other way round.
            receivers.push(tokio::spawn(receive_stream(c.agent.clone(), ac, book.clone(), base, until)));
            receivers.push(tokio::spawn(receive_stream(c.customer.clone(), cc, book.clone(), base, until)));
        }
        let mut sent = 0;
        for s in senders {
            sent += s.await.map_err(|e| e.to_string())?;
        }
        let cpu_ns_used = cpu_ns(&schedstat).saturating_sub(cpu_before);
        let mut received = 0;
        let mut added_us = Vec::new();
        let mut rfc3550_us = Vec::new();
        for r in receivers {
            let d = r.await.map_err(|e| e.to_string())?;
            received += d.received;
            let min = d.transits_us.iter().copied().min().unwrap_or(0);
            added_us.extend(d.transits_us.iter().map(|t| t - min));
            rfc3550_us.extend(interarrival_jitter_us(&d.transits_us));
        }
        print_report(&args, sent, received, added_us, rfc3550_us, cpu_ns_used);
        server.shutdown().await.map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    })?;
    server_thread.join().map_err(|_| "server thread panicked".to_owned())?;
    if record {
        let files: Vec<u64> = std::fs::read_dir(&dir)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok()?.metadata().ok().map(|m| m.len()))
            .collect();
        println!("recordings: {} files, {} MB (removed)", files.len(), files.iter().sum::<u64>() / 1_000_000);
        std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
    }
    Ok(())
}
