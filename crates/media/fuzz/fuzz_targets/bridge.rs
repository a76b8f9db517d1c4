//! Fuzz target: a whole call fed arbitrary datagrams on arbitrary legs at arbitrary times must not
//! panic, and everything it sends must parse. Run with `scripts/fuzz`.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use media::bridge::{Bridge, BridgeConfig, LegId, MonitorMode};
use media::codec::Codec;
use media::leg::LegConfig;
use media::stats::NtpClock;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut customer = LegConfig::new(Codec::Pcmu, addr(4000), 1, 1, 1);
    customer.inband_dtmf = true;
    let mut b = Bridge::new(t0, BridgeConfig::new(NtpClock::new(t0, 0)), customer);
    b.add_agent(t0, LegConfig::new(Codec::Pcma, addr(4002), 2, 2, 2));
    b.add_supervisor(t0, LegConfig::new(Codec::Pcmu, addr(4004), 3, 3, 3), MonitorMode::Whisper);
    b.connect();
    let mut now = t0;
    // Records: [leg/source byte, wait byte, length byte, datagram...].
    let mut rest = data;
    while let [control, wait, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (datagram, next) = tail.split_at(n);
        let leg = [LegId::Customer, LegId::Agent, LegId::Supervisor][usize::from(control % 3)];
        let from = addr(4000 + 2 * u16::from(control % 3) + u16::from(control / 3 % 2));
        now += Duration::from_millis(u64::from(*wait));
        b.handle_packet(now, leg, from, datagram);
        b.handle_timeout(now);
        while let Some(t) = b.poll_transmit() {
            assert!(
                media::rtp::RtpPacket::parse(&t.contents).is_ok() || media::rtcp::parse_compound(&t.contents).is_ok()
            );
        }
        while b.poll_event().is_some() {}
        rest = next;
    }
    b.close(now);
});
