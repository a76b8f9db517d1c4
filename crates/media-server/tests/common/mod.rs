//! Test helpers: a "phone" (a real UDP socket on 127.0.0.1 sending and receiving RTP), G.711 test
//! signals, a Goertzel/RMS analyser, a tiny pcap reader and a server started on a port range.

#![allow(dead_code)]

use std::cell::Cell;
use std::f64::consts::PI;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use media::codec::Codec;
use media::rtp::{RtpHeader, RtpPacket, write_simple};
use media_server::{MediaServer, MediaServerConfig, MediaServerHandle, ServerCounters, ServerEvent};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub type Server = (MediaServerHandle, mpsc::Receiver<ServerEvent>, JoinHandle<ServerCounters>);

/// Each test takes its own slice of ports (below Linux's ephemeral range, 32768-60999, where the
/// phones' own sockets land) so tests running in parallel do not collide; ports held by others
/// are skipped by the server anyway.
pub fn config(first_port: u16, pairs: u16, recordings: &Path) -> MediaServerConfig {
    let mut c = MediaServerConfig::new(
        "127.0.0.1".parse().expect("literal"),
        first_port,
        first_port + 2 * pairs - 1,
        recordings.to_path_buf(),
    );
    c.media_timeout_ms = 5_000;
    c
}

pub fn start(config: MediaServerConfig) -> Server {
    MediaServer::start(config).expect("valid config")
}

/// A remote phone: one UDP socket, its own RTP stream.
pub struct Phone {
    pub socket: UdpSocket,
    pub codec: Codec,
    ssrc: u32,
    seq: Cell<u16>,
    ts: Cell<u32>,
}

impl Phone {
    pub async fn new(codec: Codec) -> Self {
        Self::on(UdpSocket::bind("127.0.0.1:0").await.expect("bind loopback"), codec)
    }

    pub fn on(socket: UdpSocket, codec: Codec) -> Self {
        Self {
            socket,
            codec,
            ssrc: 0x5eed_0000 | u32::from(codec.payload_type()),
            seq: Cell::new(1000),
            ts: Cell::new(8000),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("bound")
    }

    /// Sends one 20 ms frame of linear samples, encoded with the phone's codec.
    pub async fn send_frame(&self, to: SocketAddr, samples: &[i16]) {
        let mut payload = Vec::new();
        self.codec.encode(samples, &mut payload);
        let header = RtpHeader {
            marker: self.seq.get() == 1000,
            payload_type: self.codec.payload_type(),
            sequence: self.seq.get(),
            timestamp: self.ts.get(),
            ssrc: self.ssrc,
            ..RtpHeader::default()
        };
        let mut bytes = Vec::new();
        write_simple(&header, &payload, &mut bytes).expect("small packet");
        self.socket.send_to(&bytes, to).await.expect("loopback send");
        self.seq.set(self.seq.get().wrapping_add(1));
        self.ts.set(self.ts.get().wrapping_add(160));
    }

    /// Sends `frames` 20 ms frames of a tone (amplitude `amp`), paced in real time.
    pub async fn send_tone(&self, to: SocketAddr, hz: f64, amp: f64, frames: usize) {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for f in 0..frames {
            tick.tick().await;
            let samples = tone(hz, amp, f * 160, 160);
            self.send_frame(to, &samples).await;
        }
    }

    /// Every RTP packet received within `window` (RTCP and others ignored), decoded per its PT.
    pub async fn receive_for(&self, window: Duration) -> Received {
        let mut r = Received::default();
        let end = tokio::time::Instant::now() + window;
        let mut buf = [0u8; 2048];
        while let Ok(Ok((n, from))) = tokio::time::timeout_at(end, self.socket.recv_from(&mut buf)).await {
            let Ok(p) = RtpPacket::parse(&buf[..n]) else { continue };
            if buf[1] & 0x7f >= 72 && buf[1] & 0x7f <= 76 {
                continue; // RTCP
            }
            r.from = Some(from);
            r.payload_types.push(p.header.payload_type);
            r.events.push(p.payload.to_vec());
            let decode = match p.header.payload_type {
                0 => media::g711::ulaw_to_linear,
                8 => media::g711::alaw_to_linear,
                _ => continue,
            };
            r.samples.extend(p.payload.iter().map(|&b| decode(b)));
            r.audio_packets += 1;
        }
        r
    }
}

#[derive(Default, Debug)]
pub struct Received {
    pub from: Option<SocketAddr>,
    pub payload_types: Vec<u8>,
    pub events: Vec<Vec<u8>>,
    pub samples: Vec<i16>,
    pub audio_packets: usize,
}

/// `n` samples of a sine at 8 kHz starting at sample `start`.
pub fn tone(hz: f64, amp: f64, start: usize, n: usize) -> Vec<i16> {
    (start..start + n).map(|i| (amp * (2.0 * PI * hz * i as f64 / 8000.0).sin()) as i16).collect()
}

/// Relative power of `hz` in `samples` (Goertzel), normalised by the block's energy: close to 1
/// for a pure tone at `hz`, near 0 for other frequencies.
pub fn goertzel_share(samples: &[i16], hz: f64) -> f64 {
    let n = samples.len() as f64;
    let k = (0.5 + n * hz / 8000.0).floor();
    let w = 2.0 * PI * k / n;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let energy: f64 = samples.iter().map(|&x| f64::from(x).powi(2)).sum();
    if energy == 0.0 { 0.0 } else { 2.0 * power / (n * energy) }
}

pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// UDP payloads of an Ethernet/IPv4 classic pcap (little- or big-endian), in capture order.
pub fn pcap_udp_payloads(bytes: &[u8]) -> Vec<Vec<u8>> {
    let le = match bytes.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1]) => true,
        Some([0xa1, 0xb2, 0xc3, 0xd4]) => false,
        _ => return Vec::new(),
    };
    let u32_at = |b: &[u8], at: usize| -> Option<usize> {
        let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some((if le { u32::from_le_bytes(w) } else { u32::from_be_bytes(w) }) as usize)
    };
    let mut out = Vec::new();
    let mut at = 24;
    while let Some(incl) = u32_at(bytes, at + 8) {
        let Some(frame) = bytes.get(at + 16..at + 16 + incl) else { break };
        at += 16 + incl;
        // Ethernet (14) → IPv4 (IHL) → UDP (8).
        if frame.len() < 14 + 20 + 8 || frame[12..14] != [0x08, 0x00] || frame[23] != 17 {
            continue;
        }
        let ihl = usize::from(frame[14] & 0x0f) * 4;
        if let Some(udp) = frame.get(14 + ihl + 8..) {
            out.push(udp.to_vec());
        }
    }
    out
}

/// The next event matching `pick` within `within`, skipping others.
pub async fn wait_event<T>(
    events: &mut mpsc::Receiver<ServerEvent>,
    within: Duration,
    mut pick: impl FnMut(&ServerEvent) -> Option<T>,
) -> Option<T> {
    let end = tokio::time::Instant::now() + within;
    while let Ok(Some(e)) = tokio::time::timeout_at(end, events.recv()).await {
        if let Some(t) = pick(&e) {
            return Some(t);
        }
    }
    None
}

/// The 20 ms frames of `samples` that are not silence (RMS above 200), concatenated.
pub fn voiced(samples: &[i16]) -> Vec<i16> {
    samples.chunks(160).filter(|f| rms(f) > 200.0).flatten().copied().collect()
}
