//! Drives a simulated two-party call through the sans-IO [`Bridge`] and records it to a WAV file:
//! the customer sends a 440 Hz tone, the agent a 1000 Hz tone, both G.711 (µ-law and A-law, so the
//! relay transcodes). Used to check recordings with external tools, e.g.
//! `cargo run -p media --example record_call -- /tmp/call.wav 10 && sox /tmp/call.wav -n stats`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use media::bridge::{Bridge, BridgeConfig, LegId};
use media::codec::Codec;
use media::leg::LegConfig;
use media::rtp::{RtpHeader, write_simple};
use media::stats::NtpClock;

fn tone_packet(codec: Codec, hz: f64, frame: usize, ssrc: u32) -> Vec<u8> {
    let samples: Vec<i16> = (0..160)
        .map(|i| (6000.0 * (2.0 * std::f64::consts::PI * hz * (frame * 160 + i) as f64 / 8000.0).sin()) as i16)
        .collect();
    let mut payload = Vec::new();
    codec.encode(&samples, &mut payload);
    let header = RtpHeader {
        payload_type: codec.payload_type(),
        sequence: frame as u16,
        timestamp: (frame * 160) as u32,
        ssrc,
        ..Default::default()
    };
    let mut out = Vec::new();
    write_simple(&header, &payload, &mut out).expect("a 172-byte packet is valid");
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().unwrap_or_else(|| "call.wav".into()));
    let seconds: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let (customer, agent): (SocketAddr, SocketAddr) = ("127.0.0.1:40000".parse()?, "127.0.0.1:50000".parse()?);
    let t0 = Instant::now();
    let mut bridge =
        Bridge::new(t0, BridgeConfig::new(NtpClock::new(t0, 0)), LegConfig::new(Codec::Pcmu, customer, 1, 1, 1));
    bridge.add_agent(t0, LegConfig::new(Codec::Pcma, agent, 2, 2, 2));
    bridge.connect();
    bridge.start_recording(Box::new(media::files::create_recording(&path, Default::default())?));
    for frame in 0..seconds * 50 {
        let now = t0 + Duration::from_millis(20 * frame as u64 + 1);
        bridge.handle_packet(now, LegId::Customer, customer, &tone_packet(Codec::Pcmu, 440.0, frame, 10));
        bridge.handle_packet(now, LegId::Agent, agent, &tone_packet(Codec::Pcma, 1000.0, frame, 20));
        bridge.handle_timeout(now);
        while bridge.poll_transmit().is_some() {}
        while bridge.poll_event().is_some() {}
    }
    let now = t0 + Duration::from_secs(seconds as u64);
    let report = bridge.close(now);
    if let Some(rec) = report.recording {
        let info = rec?;
        println!("{}: {} ms, {} bytes, sha256 {}", path.display(), info.duration_ms, info.size_bytes, info.sha256);
    }
    for (leg, q) in report.quality {
        println!("{leg:?}: loss {:.1}% jitter {:.1} ms MOS {:.2}", q.loss_percent, q.mean_jitter_ms, q.mos);
    }
    Ok(())
}
