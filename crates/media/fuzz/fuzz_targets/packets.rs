//! Fuzz target: any datagram fed to the RTP, RTCP and telephone-event parsers must not panic, and
//! what parses must re-serialise to an equal value. Run with `scripts/fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::rtcp::{parse_compound, write_compound};
use media::rtp::RtpPacket;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = RtpPacket::parse(data) {
        let mut out = Vec::new();
        p.write_to(&mut out).expect("a parsed packet can be written");
        assert_eq!(RtpPacket::parse(&out).expect("written packet parses"), p);
        let _ = media::dtmf::TelephoneEvent::parse(p.payload);
    }
    if let Ok(packets) = parse_compound(data) {
        let mut out = Vec::new();
        if write_compound(&packets, &mut out).is_ok() {
            assert_eq!(parse_compound(&out).expect("written compound parses"), packets);
        }
    }
});
