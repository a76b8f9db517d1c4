//! Fuzz target: any bytes through every SIP and SDP parser entry point. Run with
//! `cargo +nightly fuzz run parse_message` from `crates/sip`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip::message::{Limits, answer_malformed, frame_stream, parse_datagram, parse_stream_message};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    match parse_datagram(data, &limits) {
        Ok(message) => {
            let written = message.to_bytes();
            // What we write must parse again.
            assert!(parse_datagram(&written, &limits).is_ok(), "written message does not reparse");
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
