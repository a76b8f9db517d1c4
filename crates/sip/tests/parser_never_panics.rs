//! Random and mutated bytes fed to every parser entry point: they may fail, never panic.

use proptest::prelude::*;
use sip::message::{Limits, answer_malformed, frame_stream, parse_datagram, parse_stream_message};

const SEED: &[u8] = b"INVITE sip:bob@[2001:db8::1]:5060;transport=udp SIP/2.0\r\n\
v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport\r\n\
Max-Forwards: 70\r\n\
t: \"Bob \\\"B\\\"\" <sip:bob@example.com>\r\n\
f: Alice <sip:alice@example.com>;tag=1928\r\n\
i: a84b4c76e66710\r\n\
CSeq: 314159 INVITE\r\n\
m: <sip:alice@pc33.example.com>, <sip:a2@x.example.com>;q=0.5\r\n\
Subject: folded\r\n continued\r\n\
c: application/sdp\r\n\
l: 8\r\n\r\nv=0\r\ns=-";

fn exercise(bytes: &[u8]) {
    let limits = Limits { max_message_bytes: 4096, max_headers: 32, max_header_line_bytes: 512 };
    if let Err(e) = parse_datagram(bytes, &limits) {
        let _ = answer_malformed(bytes, &e);
    }
    let _ = frame_stream(bytes, &limits);
    let _ = parse_stream_message(bytes, &limits);
    if let Ok(message) = parse_datagram(bytes, &limits) {
        // What we parsed, we can write, and what we write parses to the same message.
        let written = message.to_bytes();
        let relaxed = Limits { max_message_bytes: 1 << 20, max_headers: 1024, max_header_line_bytes: 1 << 20 };
        assert_eq!(parse_datagram(&written, &relaxed).as_ref(), Ok(&message), "{}", String::from_utf8_lossy(&written));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_invites_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = SEED.to_vec();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep);
        exercise(&bytes);
    }

    #[test]
    fn spliced_separators_never_panic(
        inserts in proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![
            "\r\n", " ", "\"", "<", ">", ",", ";", ":", "[", "]", "%", "\\", "\r\n ", "=", "@", "\u{feff}",
        ])), 1..8),
    ) {
        let mut text = String::from_utf8_lossy(SEED).into_owned();
        for (at, piece) in inserts {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) { i -= 1; }
            text.insert_str(i, piece);
        }
        exercise(text.as_bytes());
    }
}

const SDP_SEED: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendonly\r\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_sdp_never_panics_and_what_parses_answers_or_refuses(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<char>()), 0..10),
    ) {
        let mut text: Vec<char> = SDP_SEED.chars().collect();
        for (at, c) in edits {
            let i = at.index(text.len());
            text[i] = c;
        }
        let text: String = text.into_iter().collect();
        if let Ok(sd) = sip::sdp::SessionDescription::parse(&text) {
            let local = sip::sdp::LocalMedia {
                address: "203.0.113.1".parse().expect("ip"),
                rtp_port: 20000,
                direction: sip::sdp::Direction::SendRecv,
                session_id: 1,
                session_version: 1,
            };
            let _ = sip::sdp::answer_offer(&sd, &local, &sip::sdp::AudioPolicy::default());
            prop_assert_eq!(sip::sdp::SessionDescription::parse(&sd.to_string()), Ok(sd));
        }
    }
}

fn torture_corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(read_corpus)
}

fn read_corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/torture");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).expect("torture dir").filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    files.iter().filter(|p| p.extension().is_some_and(|e| e == "sip")).filter_map(|p| std::fs::read(p).ok()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The RFC 4475 messages, valid and invalid, with random bytes overwritten, inserted or cut.
    #[test]
    fn mutated_torture_messages_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<bool>()), 1..8),
    ) {
        let corpus = torture_corpus();
        let mut bytes = corpus[pick.index(corpus.len())].clone();
        for (at, byte, insert) in edits {
            let i = at.index(bytes.len() + 1);
            if insert || i == bytes.len() {
                bytes.insert(i, byte);
            } else {
                bytes[i] = byte;
            }
        }
        exercise(&bytes);
    }
}

#[test]
fn the_seed_itself_parses() {
    assert!(parse_datagram(SEED, &Limits::default()).is_ok());
}
