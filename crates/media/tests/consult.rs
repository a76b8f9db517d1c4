//! Attended transfer in the call media engine: while a consult is on, the agent and the
//! consulted agent hear each other and the held customer reaches neither; completing it makes the
//! consulted agent's leg the agent leg; cancelling it brings the agent back to the customer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::bridge::{Bridge, BridgeConfig, LegId, PacketKind, Transmit};
use media::codec::Codec;
use media::leg::LegConfig;
use media::prompt::Playback;
use media::rtp::{RtpHeader, RtpPacket, write_simple};
use media::stats::NtpClock;

const CUSTOMER: &str = "198.51.100.10:40000";
const AGENT: &str = "192.0.2.20:50000";
const CONSULT: &str = "192.0.2.40:54000";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

struct Call {
    now: Instant,
    bridge: Bridge,
    sent: Vec<Transmit>,
    seq: u16,
}

impl Call {
    /// Customer and agent talking, then the customer held and the consult leg connected.
    fn consulting() -> Call {
        let now = Instant::now();
        let config = BridgeConfig::new(NtpClock::new(now, 3_900_000_000u64 << 32));
        let mut bridge = Bridge::new(now, config, LegConfig::new(Codec::Pcmu, addr(CUSTOMER), 0xc0, 1, 50));
        bridge.add_agent(now, LegConfig::new(Codec::Pcmu, addr(AGENT), 0xa0, 2, 70));
        bridge.connect();
        let music: Arc<[i16]> = vec![3_000i16; 800].into();
        bridge.hold(Playback::looped(vec![music]));
        bridge.add_consult(now, LegConfig::new(Codec::Pcmu, addr(CONSULT), 0xb0, 3, 90));
        bridge.connect_consult();
        Call { now, bridge, sent: Vec::new(), seq: 100 }
    }

    /// One 20 ms PCMU packet of `byte`s from a leg; what it caused is collected.
    fn say(&mut self, leg: LegId, from: &str, byte: u8) {
        self.seq += 1;
        let header = RtpHeader {
            payload_type: 0,
            sequence: self.seq,
            timestamp: u32::from(self.seq) * 160,
            ssrc: 0x5eed + leg as u32,
            ..Default::default()
        };
        let mut p = Vec::new();
        write_simple(&header, &[byte; 160], &mut p).expect("valid");
        self.bridge.handle_packet(self.now, leg, addr(from), &p);
        self.now += Duration::from_millis(20);
        self.bridge.handle_timeout(self.now);
        while let Some(t) = self.bridge.poll_transmit() {
            self.sent.push(t);
        }
    }

    /// Where packets carrying `byte` went (leg, destination).
    fn carried(&self, byte: u8) -> Vec<(LegId, SocketAddr)> {
        self.sent
            .iter()
            .filter(|t| t.kind == PacketKind::Rtp)
            .filter(|t| RtpPacket::parse(&t.contents).is_ok_and(|p| p.payload.iter().all(|b| *b == byte)))
            .map(|t| (t.leg, t.destination))
            .collect()
    }
}

#[test]
fn consulting_agents_hear_each_other_and_the_held_customer_reaches_neither() {
    let mut call = Call::consulting();
    call.say(LegId::Agent, AGENT, 0x11);
    call.say(LegId::Consult, CONSULT, 0x22);
    call.say(LegId::Customer, CUSTOMER, 0x33);
    assert_eq!(call.carried(0x11), vec![(LegId::Consult, addr(CONSULT))], "the agent reaches the consulted agent only");
    assert_eq!(call.carried(0x22), vec![(LegId::Agent, addr(AGENT))], "the consulted agent reaches the agent only");
    assert!(call.carried(0x33).is_empty(), "the held customer reaches nobody");
    let to_customer = call.sent.iter().filter(|t| t.leg == LegId::Customer && t.kind == PacketKind::Rtp).count();
    assert!(to_customer >= 2, "the customer keeps hearing music on hold");
}

#[test]
fn completing_the_consult_makes_the_consulted_agent_the_agent_leg() {
    let mut call = Call::consulting();
    call.say(LegId::Consult, CONSULT, 0x22); // latched
    assert!(call.bridge.complete_consult());
    assert!(!call.bridge.complete_consult(), "only once");
    call.sent.clear();
    call.say(LegId::Customer, CUSTOMER, 0x44);
    call.say(LegId::Agent, CONSULT, 0x55);
    assert_eq!(call.carried(0x44), vec![(LegId::Agent, addr(CONSULT))], "the customer reaches the second agent");
    assert_eq!(call.carried(0x55), vec![(LegId::Customer, addr(CUSTOMER))], "the second agent reaches the customer");
    assert_eq!(call.bridge.remote(LegId::Consult), None, "no consult leg any more");
}

#[test]
fn cancelling_the_consult_brings_the_agent_back_to_the_customer() {
    let mut call = Call::consulting();
    call.bridge.remove_consult();
    call.bridge.unhold();
    call.say(LegId::Customer, CUSTOMER, 0x66);
    call.say(LegId::Agent, AGENT, 0x77);
    assert_eq!(call.carried(0x66), vec![(LegId::Agent, addr(AGENT))]);
    assert_eq!(call.carried(0x77), vec![(LegId::Customer, addr(CUSTOMER))]);
}
