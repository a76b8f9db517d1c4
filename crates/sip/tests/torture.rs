//! RFC 4475 torture messages as data: every file in `tests/torture/` is parsed as a UDP datagram
//! and checked against the verdict in `manifest.txt` (accept, or reject with the answer expected
//! from `answer_malformed`). A few messages also get checks of what was parsed.

use std::path::PathBuf;

use sip::message::{Limits, MalformedAnswer, Message, answer_malformed, parse_datagram};
use sip::{HeaderName, Method};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/torture")
}

fn load(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parse(name: &str) -> Message {
    parse_datagram(&load(name), &Limits::default()).unwrap_or_else(|e| panic!("{name} must parse: {e}"))
}

#[test]
fn every_torture_message_gets_the_verdict_of_the_manifest() {
    let manifest = std::fs::read_to_string(dir().join("manifest.txt")).expect("manifest");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in manifest.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let [file, verdict, answer] = cols[..] else { panic!("bad manifest line {line:?}") };
        let bytes = load(file);
        let got = parse_datagram(&bytes, &Limits::default());
        let outcome = match (&got, verdict) {
            (Ok(_), "accept") => Ok(()),
            (Ok(_), _) => Err("parsed but should be rejected".to_owned()),
            (Err(e), "accept") => Err(format!("rejected: {e}")),
            (Err(e), _) => match (answer_malformed(&bytes, e), answer) {
                (MalformedAnswer::Drop, "drop") => Ok(()),
                (MalformedAnswer::Respond(r), code) if code == r.status.to_string() => Ok(()),
                (other, _) => Err(format!("{e}: answered {other:?}, expected {answer}")),
            },
        };
        if let Err(why) = outcome {
            failures.push(format!("{file}: {why}"));
        }
        checked += 1;
    }
    assert!(checked >= 49, "only {checked} messages in the manifest");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_file_in_the_folder_is_listed_in_the_manifest() {
    let manifest = std::fs::read_to_string(dir().join("manifest.txt")).expect("manifest");
    for entry in std::fs::read_dir(dir()).expect("dir") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        if name.ends_with(".sip") {
            assert!(manifest.lines().any(|l| l.starts_with(&name)), "{name} has no verdict");
        }
    }
}

#[test]
fn wsinv_unfolds_splits_and_mixes_compact_forms() {
    let Message::Request(req) = parse("wsinv.sip") else { panic!("a request") };
    let vias = req.headers.via().expect("vias");
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(req.headers.max_forwards(), Some(68));
    assert_eq!(req.headers.cseq().map(|c| c.seq), Some(9));
    let from = req.headers.from().expect("from");
    assert_eq!(from.display_name.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(req.headers.to().and_then(|t| t.tag().map(str::to_owned)).as_deref(), Some("1918181833n"));
    assert_eq!(req.headers.get(&HeaderName::Subject), Some(""));
    assert_eq!(
        req.headers.get(&HeaderName::Other("NewFangledHeader".into())),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(req.body.len(), 150);
}

#[test]
fn intmeth_keeps_the_extension_method_and_control_characters_in_quotes() {
    let Message::Request(req) = parse("intmeth.sip") else { panic!("a request") };
    assert_eq!(req.method, Method::Other("!interesting-Method0123456789_*+`.%indeed'~".into()));
    let to = req.headers.to().expect("to");
    assert_eq!(to.display_name.as_deref(), Some("BEL:\x07 NUL:\x00 DEL:\x7f"));
    assert_eq!(req.uri.password.as_deref(), Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"));
}

#[test]
fn dblreq_keeps_only_the_first_request_of_the_datagram() {
    let Message::Request(req) = parse("dblreq.sip") else { panic!("a request") };
    assert_eq!(req.method, Method::Register);
    assert!(req.body.is_empty());
}

#[test]
fn mpart01_body_is_binary_and_exactly_content_length() {
    let Message::Request(req) = parse("mpart01.sip") else { panic!("a request") };
    assert_eq!(req.body.len(), 553);
}

#[test]
fn valid_messages_survive_a_write_and_reparse() {
    for file in ["wsinv.sip", "intmeth.sip", "esc01.sip", "longreq.sip", "unreason.sip", "noreason.sip", "inv2543.sip"]
    {
        let first = parse(file);
        let again = parse_datagram(&first.to_bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("{file} written back does not parse: {e}"));
        assert_eq!(again, first, "{file}");
    }
}

#[test]
fn every_accepted_torture_request_opens_a_server_transaction_and_can_be_answered() {
    use sip::transaction::{Event, Peer, TransactionConfig, TransactionLayer};
    let manifest = std::fs::read_to_string(dir().join("manifest.txt")).expect("manifest");
    let now = model::Timestamp::from_unix_ms(1_700_000_000_000);
    let source = Peer::udp("192.0.2.200:5060".parse().expect("addr"));
    let mut checked = 0;
    for line in manifest.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| l.ends_with("accept  -"))
    {
        let file = line.split_whitespace().next().unwrap_or_default();
        let mut layer = TransactionLayer::new(TransactionConfig::default());
        let message = parse(file);
        let is_request = matches!(message, Message::Request(_));
        layer.handle_message(now, message, source.clone());
        let events: Vec<Event> = std::iter::from_fn(|| layer.poll_event()).collect();
        match events.first() {
            Some(Event::Request { id, request, .. }) => {
                let answer = request.response(sip::StatusCode::OK, Some("t1"));
                layer.send_response(now, *id, answer).unwrap_or_else(|e| panic!("{file}: {e}"));
                let sent = std::iter::from_fn(|| layer.poll_transmit()).last().expect("a response went out");
                assert!(parse_datagram(&sent.bytes, &Limits::default()).is_ok(), "{file}: our answer does not parse");
            }
            Some(Event::StrayResponse { .. }) => assert!(!is_request, "{file}"),
            other => panic!("{file}: unexpected {other:?}"),
        }
        checked += 1;
    }
    assert!(checked >= 28, "only {checked} accepted messages");
}
