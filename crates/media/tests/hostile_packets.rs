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
