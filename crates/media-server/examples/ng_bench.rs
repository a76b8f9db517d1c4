//! Side-by-side relay bench (not a test): the same RTP load through Hotline's media server and
//! through rtpengine, both driven over rtpengine's ng control protocol (bencode over UDP:
//! `offer` / `answer` / `delete`), so one generator measures both. Run by `bench/rtpengine.sh`.
//!
//! - `ng_bench serve --ng 127.0.0.1:PORT [--port-min 30000] [--max-calls 500]`: Hotline's media
//!   server in this process behind a minimal ng front (ping, offer, answer, delete; anything else
//!   is an `error` reply). offer = allocate the call and its agent leg, customer leg from the
//!   offer's SDP, reply with the agent leg's address; answer = agent leg from the answer's SDP,
//!   connect (pure relay when both sides use the same codec), reply with the customer leg's address.
//! - `ng_bench load --ng ADDR --pid PID --label NAME [--calls 100] [--seconds 20]`: N calls set up
//!   over ng, each with a caller socket and a callee socket on 127.0.0.1 sending 20 ms PCMU packets
//!   (172 bytes) to each other through the relay for `--seconds`, then deleted. Each payload carries
//!   its send time (µs, 8 bytes) so transit is measured per packet; reports packets forwarded per
//!   second, loss, added jitter (delay variation over each stream's minimum transit, and RFC 3550
//!   interarrival jitter) and the relay process's CPU over the send window from
//!   `/proc/PID/stat` (utime + stime), per call.
//!
//! Bounded: at most 500 calls and 120 s; binds and talks to 127.0.0.1 only; ng datagrams over
//! `MAX_NG_BYTES` are dropped; every ng request has a 2 s timeout.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::codec::Codec;
use media::rtp::{RtpHeader, RtpPacket, write_simple};
use media_server::{CallId, LegId, LegSpec, MediaServer, MediaServerConfig, MediaServerHandle};
use tokio::net::UdpSocket;

const MAX_CALLS: usize = 500;
const MAX_SECONDS: u64 = 120;
const MAX_NG_BYTES: usize = 16 * 1024;
const NG_TIMEOUT: Duration = Duration::from_secs(2);
const DRAIN: Duration = Duration::from_millis(500);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

type Res<T> = Result<T, String>;

// ----- bencode (the subset ng uses: byte strings, integers, lists, dictionaries) -----

#[derive(Debug, Clone, PartialEq)]
enum Bencode {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Bencode>),
    Dict(BTreeMap<Vec<u8>, Bencode>),
}

impl Bencode {
    fn str(s: &str) -> Self {
        Bencode::Bytes(s.as_bytes().to_vec())
    }

    fn dict(pairs: &[(&str, Bencode)]) -> Self {
        Bencode::Dict(pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.clone())).collect())
    }

    fn get(&self, key: &str) -> Option<&Bencode> {
        match self {
            Bencode::Dict(d) => d.get(key.as_bytes()),
            _ => None,
        }
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Bencode::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Bencode::Int(i) => out.extend_from_slice(format!("i{i}e").as_bytes()),
            Bencode::Bytes(b) => {
                out.extend_from_slice(format!("{}:", b.len()).as_bytes());
                out.extend_from_slice(b);
            }
            Bencode::List(l) => {
                out.push(b'l');
                l.iter().for_each(|v| v.encode(out));
                out.push(b'e');
            }
            Bencode::Dict(d) => {
                out.push(b'd');
                for (k, v) in d {
                    Bencode::Bytes(k.clone()).encode(out);
                    v.encode(out);
                }
                out.push(b'e');
            }
        }
    }

    /// Parses one value from the front of `b`; returns it and the rest. Depth-limited.
    fn decode(b: &[u8], depth: u8) -> Option<(Bencode, &[u8])> {
        if depth > 16 {
            return None;
        }
        match *b.first()? {
            b'i' => {
                let end = b.iter().position(|&c| c == b'e')?;
                let n = std::str::from_utf8(&b[1..end]).ok()?.parse().ok()?;
                Some((Bencode::Int(n), &b[end + 1..]))
            }
            b'l' | b'd' => {
                let dict = b[0] == b'd';
                let mut rest = &b[1..];
                let (mut list, mut map) = (Vec::new(), BTreeMap::new());
                while *rest.first()? != b'e' {
                    let (v, r) = Bencode::decode(rest, depth + 1)?;
                    rest = r;
                    if dict {
                        let Bencode::Bytes(k) = v else { return None };
                        let (value, r) = Bencode::decode(rest, depth + 1)?;
                        rest = r;
                        map.insert(k, value);
                    } else {
                        list.push(v);
                    }
                }
                Some((if dict { Bencode::Dict(map) } else { Bencode::List(list) }, &rest[1..]))
            }
            b'0'..=b'9' => {
                let colon = b.iter().position(|&c| c == b':')?;
                let len: usize = std::str::from_utf8(&b[..colon]).ok()?.parse().ok()?;
                let body = b.get(colon + 1..colon + 1 + len)?;
                Some((Bencode::Bytes(body.to_vec()), &b[colon + 1 + len..]))
            }
            _ => None,
        }
    }
}

/// An ng datagram: `COOKIE SPACE BENCODED-DICT`.
fn ng_message(cookie: &str, body: &Bencode) -> Vec<u8> {
    let mut out = format!("{cookie} ").into_bytes();
    body.encode(&mut out);
    out
}

fn ng_parse(datagram: &[u8]) -> Option<(String, Bencode)> {
    let space = datagram.iter().position(|&c| c == b' ')?;
    let cookie = String::from_utf8(datagram[..space].to_vec()).ok()?;
    let (body, _) = Bencode::decode(&datagram[space + 1..], 0)?;
    Some((cookie, body))
}

// ----- SDP: one audio stream, the only thing either side needs -----

fn sdp(addr: SocketAddr, session: u64) -> String {
    format!(
        "v=0\r\no=- {session} 1 IN IP4 {ip}\r\ns=ng_bench\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\na=ptime:20\r\n",
        ip = addr.ip(),
        port = addr.port()
    )
}

/// The `c=` address and `m=audio` port of an SDP body.
fn sdp_address(sdp: &str) -> Option<SocketAddr> {
    let ip = sdp.lines().find_map(|l| l.strip_prefix("c=IN IP4 "))?.trim().parse().ok()?;
    let port = sdp.lines().find_map(|l| l.strip_prefix("m=audio "))?.split_whitespace().next()?.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

// ----- serve: Hotline's media server behind ng -----

struct NgCall {
    call: CallId,
    /// Where the customer (offerer) sends: the customer leg's local address.
    to_customer_leg: SocketAddr,
}

async fn ng_request(server: &MediaServerHandle, calls: &mut HashMap<String, NgCall>, req: &Bencode) -> Res<Bencode> {
    let command = req.text("command").ok_or("no command")?;
    let ok = |pairs: &[(&str, Bencode)]| {
        let mut all = vec![("result", Bencode::str("ok"))];
        all.extend_from_slice(pairs);
        Bencode::dict(&all)
    };
    if command == "ping" {
        return Ok(Bencode::dict(&[("result", Bencode::str("pong"))]));
    }
    let call_id = req.text("call-id").ok_or("no call-id")?;
    match command.as_str() {
        "offer" => {
            let remote = sdp_address(&req.text("sdp").ok_or("no sdp")?).ok_or("no c=/m= in the sdp")?;
            if calls.len() >= MAX_CALLS && !calls.contains_key(&call_id) {
                return Err(format!("more than {MAX_CALLS} calls"));
            }
            let (call, to_customer_leg) = server.allocate_call().await.map_err(|e| e.to_string())?;
            let to_agent_leg = server.allocate_leg(call, LegId::Agent).await.map_err(|e| e.to_string())?;
            server
                .add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, remote), None)
                .await
                .map_err(|e| e.to_string())?;
            calls.insert(call_id, NgCall { call, to_customer_leg });
            Ok(ok(&[("sdp", Bencode::str(&sdp(to_agent_leg, call.0)))]))
        }
        "answer" => {
            let remote = sdp_address(&req.text("sdp").ok_or("no sdp")?).ok_or("no c=/m= in the sdp")?;
            let c = calls.get(&call_id).ok_or("unknown call-id")?;
            server
                .add_leg(c.call, LegId::Agent, LegSpec::new(Codec::Pcmu, remote), None)
                .await
                .map_err(|e| e.to_string())?;
            server.connect(c.call).await.map_err(|e| e.to_string())?;
            Ok(ok(&[("sdp", Bencode::str(&sdp(c.to_customer_leg, c.call.0)))]))
        }
        "delete" => {
            let c = calls.remove(&call_id).ok_or("unknown call-id")?;
            server.close(c.call).await.map_err(|e| e.to_string())?;
            Ok(ok(&[]))
        }
        other => Err(format!("unsupported command {other}")),
    }
}

fn serve(ng: SocketAddr, port_min: u16, max_calls: usize) -> Res<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let pairs = u16::try_from(max_calls * 2 + 8).map_err(|e| e.to_string())?;
        let dir = std::env::temp_dir().join(format!("hotline-ng-bench-{}", std::process::id()));
        let mut config = MediaServerConfig::new(LOOPBACK, port_min, port_min + 2 * pairs - 1, dir);
        config.max_calls = max_calls;
        config.media_timeout_ms = 120_000;
        let (server, mut events, task) = MediaServer::start(config).map_err(|e| e.to_string())?;
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        let socket = UdpSocket::bind(ng).await.map_err(|e| format!("ng {ng}: {e}"))?;
        eprintln!("ng_bench serve: Hotline media server, ng on {ng}, RTP from port {port_min}");
        let mut calls: HashMap<String, NgCall> = HashMap::new();
        let mut buf = vec![0u8; MAX_NG_BYTES];
        // Runs until killed (the bench script stops it by its PID).
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else { continue };
            let Some((cookie, req)) = ng_parse(&buf[..n]) else { continue };
            let reply = ng_request(&server, &mut calls, &req).await.unwrap_or_else(|e| {
                Bencode::dict(&[("result", Bencode::str("error")), ("error-reason", Bencode::str(&e))])
            });
            let _ = socket.send_to(&ng_message(&cookie, &reply), from).await;
            if calls.is_empty() && task.is_finished() {
                return Err("the media task stopped".into());
            }
        }
    })
}

// ----- load: the generator -----

struct Ng {
    socket: UdpSocket,
    to: SocketAddr,
    next_cookie: u64,
}

impl Ng {
    async fn ask(&mut self, body: Bencode) -> Res<Bencode> {
        self.next_cookie += 1;
        let cookie = format!("{}_{}", std::process::id(), self.next_cookie);
        self.socket.send_to(&ng_message(&cookie, &body), self.to).await.map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; MAX_NG_BYTES];
        let end = tokio::time::Instant::now() + NG_TIMEOUT;
        loop {
            let (n, _) = tokio::time::timeout_at(end, self.socket.recv_from(&mut buf))
                .await
                .map_err(|_| format!("no ng reply from {} within {NG_TIMEOUT:?}", self.to))?
                .map_err(|e| e.to_string())?;
            let Some((c, reply)) = ng_parse(&buf[..n]) else { continue };
            if c != cookie {
                continue; // a late reply to an earlier request
            }
            return match reply.text("result").as_deref() {
                Some("ok") | Some("pong") => Ok(reply),
                _ => Err(format!("ng error: {:?}", reply.text("error-reason"))),
            };
        }
    }
}

struct CallSockets {
    call_id: String,
    from_tag: String,
    caller: Arc<UdpSocket>,
    callee: Arc<UdpSocket>,
    /// Where the caller sends (from the answer's SDP) and where the callee sends (from the offer's).
    caller_to: SocketAddr,
    callee_to: SocketAddr,
}

async fn set_up_call(ng: &mut Ng, i: usize) -> Res<CallSockets> {
    let caller = Arc::new(UdpSocket::bind((LOOPBACK, 0)).await.map_err(|e| e.to_string())?);
    let callee = Arc::new(UdpSocket::bind((LOOPBACK, 0)).await.map_err(|e| e.to_string())?);
    let (call_id, from_tag, to_tag) = (format!("ngb-{}-{i}", std::process::id()), format!("a{i}"), format!("b{i}"));
    let caller_sdp = sdp(caller.local_addr().map_err(|e| e.to_string())?, i as u64);
    let offer = ng
        .ask(Bencode::dict(&[
            ("command", Bencode::str("offer")),
            ("call-id", Bencode::str(&call_id)),
            ("from-tag", Bencode::str(&from_tag)),
            ("sdp", Bencode::str(&caller_sdp)),
        ]))
        .await?;
    let callee_to = sdp_address(&offer.text("sdp").ok_or("offer reply without sdp")?).ok_or("offer reply sdp")?;
    let callee_sdp = sdp(callee.local_addr().map_err(|e| e.to_string())?, i as u64);
    let answer = ng
        .ask(Bencode::dict(&[
            ("command", Bencode::str("answer")),
            ("call-id", Bencode::str(&call_id)),
            ("from-tag", Bencode::str(&from_tag)),
            ("to-tag", Bencode::str(&to_tag)),
            ("sdp", Bencode::str(&callee_sdp)),
        ]))
        .await?;
    let caller_to = sdp_address(&answer.text("sdp").ok_or("answer reply without sdp")?).ok_or("answer reply sdp")?;
    Ok(CallSockets { call_id, from_tag, caller, callee, caller_to, callee_to })
}

/// Sends a 20 ms PCMU packet every 20 ms until `until`, each carrying its send time (µs since `base`).
async fn send_stream(socket: Arc<UdpSocket>, to: SocketAddr, base: Instant, until: Instant, ssrc: u32) -> u64 {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (mut seq, mut ts, mut sent) = (0u16, 0u32, 0u64);
    let mut payload = [Codec::Pcmu.silence(); 160];
    let mut bytes = Vec::with_capacity(172);
    while Instant::now() < until {
        tick.tick().await;
        payload[..8].copy_from_slice(&(base.elapsed().as_micros() as u64).to_be_bytes());
        let header = RtpHeader { payload_type: 0, sequence: seq, timestamp: ts, ssrc, ..RtpHeader::default() };
        bytes.clear();
        if write_simple(&header, &payload, &mut bytes).is_ok() && socket.send_to(&bytes, to).await.is_ok() {
            sent += 1;
        }
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(160);
    }
    sent
}

/// Transit times (µs) of the packets received until `until` + drain.
async fn receive_stream(socket: Arc<UdpSocket>, base: Instant, until: Instant) -> Vec<u64> {
    let mut transits = Vec::new();
    let mut buf = [0u8; 2048];
    let end = tokio::time::Instant::from_std(until + DRAIN);
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(end, socket.recv_from(&mut buf)).await {
        let Ok(p) = RtpPacket::parse(&buf[..n]) else { continue };
        let Some(stamp) = p.payload.get(..8).filter(|_| p.header.payload_type == 0) else { continue };
        let sent_us = u64::from_be_bytes(stamp.try_into().unwrap_or_default());
        transits.push((base.elapsed().as_micros() as u64).saturating_sub(sent_us));
    }
    transits
}

/// utime + stime of a process, in clock ticks (`/proc/PID/stat` fields 14 and 15).
fn cpu_ticks(pid: u32) -> Res<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after = stat.rsplit_once(')').ok_or("bad stat")?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).ok_or("bad stat field");
    Ok(field(11)? + field(12)?) // fields 14 and 15 overall: the 12th and 13th after the name
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// RFC 3550 §6.4.1 interarrival jitter after each packet, µs.
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

struct LoadArgs {
    ng: SocketAddr,
    pid: u32,
    label: String,
    calls: usize,
    seconds: u64,
}

fn load(a: LoadArgs) -> Res<()> {
    let ticks_per_s = clock_ticks_per_second();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let mut ng =
            Ng { socket: UdpSocket::bind((LOOPBACK, 0)).await.map_err(|e| e.to_string())?, to: a.ng, next_cookie: 0 };
        ng.ask(Bencode::dict(&[("command", Bencode::str("ping"))])).await?;
        let mut calls = Vec::with_capacity(a.calls);
        for i in 0..a.calls {
            calls.push(set_up_call(&mut ng, i).await?);
        }
        let base = Instant::now();
        let until = base + Duration::from_secs(a.seconds);
        let cpu_before = cpu_ticks(a.pid)?;
        let (mut senders, mut receivers) = (Vec::new(), Vec::new());
        for (i, c) in calls.iter().enumerate() {
            let ssrc = 0x1000_0000 + 2 * i as u32;
            senders.push(tokio::spawn(send_stream(c.caller.clone(), c.caller_to, base, until, ssrc)));
            senders.push(tokio::spawn(send_stream(c.callee.clone(), c.callee_to, base, until, ssrc + 1)));
            receivers.push(tokio::spawn(receive_stream(c.callee.clone(), base, until)));
            receivers.push(tokio::spawn(receive_stream(c.caller.clone(), base, until)));
        }
        let mut sent = 0u64;
        for s in senders {
            sent += s.await.map_err(|e| e.to_string())?;
        }
        let window_s = base.elapsed().as_secs_f64();
        let cpu_s = cpu_ticks(a.pid)?.saturating_sub(cpu_before) as f64 / ticks_per_s;
        let (mut received, mut added, mut jitter) = (0u64, Vec::new(), Vec::new());
        for r in receivers {
            let transits = r.await.map_err(|e| e.to_string())?;
            received += transits.len() as u64;
            let min = transits.iter().copied().min().unwrap_or(0);
            added.extend(transits.iter().map(|t| t - min));
            jitter.extend(interarrival_jitter_us(&transits));
        }
        for c in &calls {
            let _ = ng
                .ask(Bencode::dict(&[
                    ("command", Bencode::str("delete")),
                    ("call-id", Bencode::str(&c.call_id)),
                    ("from-tag", Bencode::str(&c.from_tag)),
                ]))
                .await;
        }
        added.sort_unstable();
        jitter.sort_unstable();
        let loss = 100.0 * sent.saturating_sub(received) as f64 / sent.max(1) as f64;
        let core = 100.0 * cpu_s / window_s;
        println!(
            "relay={} calls={} seconds={:.1} sent={sent} received={received} forwarded_pps={:.0} loss={loss:.3}% \
             added_delay_variation_ms_p50={:.2} p99={:.2} max={:.2} rfc3550_jitter_ms_p50={:.2} p99={:.2} \
             cpu_s={cpu_s:.2} cpu_core={core:.1}% cpu_per_call={:.3}% cpu_us_per_call_second={:.1}",
            a.label,
            a.calls,
            window_s,
            received as f64 / window_s,
            percentile_ms(&added, 0.5),
            percentile_ms(&added, 0.99),
            percentile_ms(&added, 1.0),
            percentile_ms(&jitter, 0.5),
            percentile_ms(&jitter, 0.99),
            core / a.calls as f64,
            cpu_s * 1e6 / (window_s * a.calls as f64),
        );
        Ok(())
    })
}

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("usage: ng_bench serve|load [flags]")?;
    let mut flags: HashMap<String, String> = HashMap::new();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        flags.insert(flag, value);
    }
    let get = |name: &str, default: &str| flags.get(name).cloned().unwrap_or_else(|| default.to_owned());
    let ng: SocketAddr = get("--ng", "127.0.0.1:22230").parse().map_err(|e| format!("--ng: {e}"))?;
    if !ng.ip().is_loopback() {
        return Err("--ng must be a loopback address".into());
    }
    let number =
        |name: &str, default: &str| -> Res<u64> { get(name, default).parse().map_err(|e| format!("{name}: {e}")) };
    match mode.as_str() {
        "serve" => {
            let max_calls = number("--max-calls", "500")? as usize;
            let port_min = u16::try_from(number("--port-min", "30000")?).map_err(|e| e.to_string())?;
            if max_calls == 0 || max_calls > MAX_CALLS {
                return Err(format!("--max-calls 1..={MAX_CALLS}"));
            }
            serve(ng, port_min, max_calls)
        }
        "load" => {
            let a = LoadArgs {
                ng,
                pid: u32::try_from(number("--pid", "0")?).map_err(|e| e.to_string())?,
                label: get("--label", "relay"),
                calls: number("--calls", "100")? as usize,
                seconds: number("--seconds", "20")?,
            };
            if a.pid == 0 || a.calls == 0 || a.calls > MAX_CALLS || a.seconds == 0 || a.seconds > MAX_SECONDS {
                return Err(format!("--pid PID, --calls 1..={MAX_CALLS}, --seconds 1..={MAX_SECONDS}"));
            }
            load(a)
        }
        other => Err(format!("unknown mode {other} (serve|load)")),
    }
}
