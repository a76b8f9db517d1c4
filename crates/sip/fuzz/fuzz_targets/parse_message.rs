//! Fuzz target: any bytes through every SIP and SDP parser entry point. Run with
//! `scripts/fuzz` (cargo-fuzz on the stable toolchain).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip::message::{Limits, answer_malformed, frame_stream, parse_datagram, parse_stream_message};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    match parse_datagram(data, &limits) {
        Ok(message) => {
            // What we write must parse again to the same message. Writing expands compact names and
            // splits comma lists, so it may be a little larger: reparse with room to spare.
            let written = message.to_bytes();
            let relaxed = Limits { max_message_bytes: 1 << 20, max_headers: 4096, max_header_line_bytes: 1 << 20 };
            assert_eq!(parse_datagram(&written, &relaxed).as_ref(), Ok(&message), "written message does not reparse");
        }
        Err(error) => {
            let _ = answer_malformed(data, &error);
        }
    }
    let _ = frame_stream(data, &limits);
    let _ = parse_stream_message(data, &limits);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sip::sdp::SessionDescription::parse(text);
    }
});
