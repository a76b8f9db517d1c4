//! Property tests: no byte sequence makes the packet parsers panic, and whatever parses re-serialises
//! to something that parses to the same value. This is the CI guard behind `fuzz/`.

use media::rtcp::{parse_compound, write_compound};
use media::rtp::RtpPacket;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_bytes_never_panic_the_rtp_parser(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(p) = RtpPacket::parse(&bytes) {
            let mut out = Vec::new();
            p.write_to(&mut out).expect("a parsed packet can be written");
            prop_assert_eq!(RtpPacket::parse(&out).expect("written packet parses"), p);
        }
    }

    #[test]
    fn version_two_bytes_never_panic_the_rtp_parser(first in 0x80u8..0xc0, rest in proptest::collection::vec(any::<u8>(), 0..96)) {
        let mut bytes = vec![first];
        bytes.extend(rest);
        let _ = RtpPacket::parse(&bytes);
    }

    #[test]
    fn random_bytes_never_panic_the_rtcp_parser(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(packets) = parse_compound(&bytes) {
            let mut out = Vec::new();
            if write_compound(&packets, &mut out).is_ok() {
                prop_assert_eq!(parse_compound(&out).expect("written compound parses"), packets);
            }
        }
    }

    #[test]
    fn plausible_rtcp_headers_never_panic(count in 0u8..32, pt in 200u8..205, words in 0u16..20,
                                          body in proptest::collection::vec(any::<u8>(), 0..128)) {
        let mut bytes = vec![0x80 | count, pt];
        bytes.extend_from_slice(&words.to_be_bytes());
        bytes.extend(body);
        let _ = parse_compound(&bytes);
    }
}

#[test]
fn padded_opaque_rtcp_body_does_not_round_trip_silently_changed() {
    // APP packet with 1 byte of padding leaves a 7-byte body: writing it must fail, not add a zero.
    let bytes = [0xa0, 204, 0, 2, 0, 0, 0, 1, 9, 9, 9, 1];
    let packets = parse_compound(&bytes).expect("valid");
    assert!(write_compound(&packets, &mut Vec::new()).is_err());
}

mod bridge_under_fire {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use media::bridge::{Bridge, BridgeConfig, LegId, MonitorMode};
    use media::codec::Codec;
    use media::dtmf::TelephoneEvent;
    use media::leg::LegConfig;
    use media::stats::NtpClock;
    use proptest::prelude::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any datagrams, on any leg, from the right or a wrong address, at any time: no panic, and
        /// everything we send is still valid RTP/RTCP.
        #[test]
        fn hostile_datagrams_never_panic_the_bridge(
            datagrams in proptest::collection::vec(
                (0usize..3, any::<bool>(), 0u64..50, prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..200),
                    (any::<u8>(), any::<u16>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..200))
                        .prop_map(|(pt, seq, ts, body)| {
                            let mut v = vec![0x80, pt, (seq >> 8) as u8, seq as u8];
                            v.extend_from_slice(&ts.to_be_bytes());
                            v.extend_from_slice(&[0, 0, 0, 1]);
                            v.extend(body);
                            v
                        }),
                ]),
                0..60,
            )
        ) {
            let t0 = Instant::now();
            let mut b = Bridge::new(t0, BridgeConfig::new(NtpClock::new(t0, 0)), {
                let mut c = LegConfig::new(Codec::Pcmu, addr("10.0.0.1:4000"), 1, 1, 1);
                c.inband_dtmf = true;
                c
            });
            b.add_agent(t0, LegConfig::new(Codec::Pcma, addr("10.0.0.2:4000"), 2, 2, 2));
            b.add_supervisor(t0, LegConfig::new(Codec::Pcmu, addr("10.0.0.3:4000"), 3, 3, 3), MonitorMode::Whisper);
            b.connect();
            let mut now = t0;
            for (leg, right_source, wait_ms, bytes) in datagrams {
                let leg = [LegId::Customer, LegId::Agent, LegId::Supervisor][leg];
                let from = if right_source { ["10.0.0.1:4000", "10.0.0.2:4000", "10.0.0.3:4000"][leg as usize] } else { "10.9.9.9:1" };
                now += Duration::from_millis(wait_ms);
                b.handle_packet(now, leg, addr(from), &bytes);
                b.handle_timeout(now);
                while let Some(t) = b.poll_transmit() {
                    let ok = media::rtp::RtpPacket::parse(&t.contents).is_ok()
                        || media::rtcp::parse_compound(&t.contents).is_ok();
                    prop_assert!(ok);
                }
                while b.poll_event().is_some() {}
            }
            b.close(now);
        }

        #[test]
        fn telephone_event_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Ok(ev) = TelephoneEvent::parse(&bytes) {
                prop_assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
            }
        }
    }
}
