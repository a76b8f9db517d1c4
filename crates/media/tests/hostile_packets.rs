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

mod stream_properties {
    use std::time::{Duration, Instant};

    use media::jitter::{JitterBuffer, JitterBufferConfig};
    use media::stream::SendStream;
    use proptest::prelude::*;

    proptest! {
        /// Whatever mix of prompt frames and relayed sources, the far end sees sequence +1 per
        /// packet, timestamps that only move forward, and the marker exactly at source changes.
        #[test]
        fn sent_stream_is_monotonic_across_any_source_switching(
            ops in proptest::collection::vec((any::<bool>(), 0u32..3, 1u64..60), 1..200),
            first_seq in any::<u16>(), first_ts in any::<u32>(),
        ) {
            let t0 = Instant::now();
            let mut s = SendStream::new(1, first_seq, first_ts);
            let mut relay_seq = [1000u16, 20000, 65000];
            let mut relay_ts = [0u32, 1 << 31, u32::MAX - 1000];
            let mut now = t0;
            let mut last: Option<(u16, u32, (bool, u32))> = None;
            for (local, src, step_ms) in ops {
                now += Duration::from_millis(step_ms);
                let stamp = if local {
                    s.stamp_local(now, src, 160, 160)
                } else {
                    let i = src as usize;
                    relay_seq[i] = relay_seq[i].wrapping_add(1);
                    relay_ts[i] = relay_ts[i].wrapping_add(160);
                    s.stamp_relay(now, src, relay_seq[i], relay_ts[i], false, 160)
                };
                if let Some((seq, ts, source)) = last {
                    prop_assert_eq!(stamp.sequence, seq.wrapping_add(1));
                    let step = stamp.timestamp.wrapping_sub(ts);
                    prop_assert!(step > 0 && step < 1 << 30, "timestamp step {}", step);
                    prop_assert_eq!(stamp.marker, source != (local, src));
                }
                last = Some((stamp.sequence, stamp.timestamp, (local, src)));
            }
        }

        /// Hostile sequence/timestamp combinations never panic the jitter buffer nor overfill it.
        #[test]
        fn jitter_buffer_survives_any_arrivals(
            arrivals in proptest::collection::vec((any::<u16>(), any::<u32>(), any::<bool>()), 1..300)
        ) {
            let t0 = Instant::now();
            let mut jb = JitterBuffer::new(JitterBufferConfig::default());
            for (i, (seq, ts, pop)) in arrivals.into_iter().enumerate() {
                jb.push(t0 + Duration::from_millis(i as u64 * 7), seq, ts, &[0; 160]);
                prop_assert!(jb.buffered_ms() <= 200);
                if pop {
                    jb.pop();
                }
            }
        }
    }
}
