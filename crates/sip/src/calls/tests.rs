//! The call layer driven through a real transaction layer with injected time: what goes on the
//! wire and what the application hears, for the flows sipp cannot force (forks, timeouts,
//! REFER, Replaces, no ACK, linked legs).

use std::net::SocketAddr;

use model::{DurationMs, Timestamp};

use super::*;
use crate::message::{HeaderName, Limits, Message, Method, parse_datagram};
use crate::transaction::{TransactionConfig, TransactionLayer};

const CALLER: &str = "192.0.2.10:5060";
const AGENT_A: &str = "192.0.2.21:5060";
const AGENT_B: &str = "192.0.2.22:5060";
const SDP_TEXT: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

struct Harness {
    layer: TransactionLayer,
    calls: CallLayer,
    now: Timestamp,
    bindings: Vec<DialContact>,
}

fn contact(user: &str, at: &str) -> DialContact {
    DialContact { uri: Uri::parse(&format!("sip:{user}@{at}")).expect("uri"), destination: Peer::udp(addr(at)) }
}

impl Harness {
    fn new(direct_dial: bool) -> Harness {
        let mut config = CallConfig::new(addr("192.0.2.1:5060"));
        config.entry_points = vec!["4000".into()];
        config.direct_dial = direct_dial;
        Harness {
            layer: TransactionLayer::new(TransactionConfig::default()),
            calls: CallLayer::new(config, 42, Box::new(PassThrough)),
            now: Timestamp::from_unix_ms(1_000_000),
            bindings: vec![contact("1001", AGENT_A), contact("1001", AGENT_B)],
        }
    }

    fn pump(&mut self) {
        let bindings = self.bindings.clone();
        let lookup = move |aor: &str| if aor == "1001" { bindings.clone() } else { Vec::new() };
        while let Some(event) = self.layer.poll_event() {
            self.calls.handle_transaction_event(self.now, &mut self.layer, &event, &lookup);
        }
    }

    fn receive(&mut self, text: &str, from: &str) {
        let message = parse_datagram(text.as_bytes(), &Limits::default()).expect("test message parses");
        self.layer.handle_message(self.now, message, Peer::udp(addr(from)));
        self.pump();
    }

    fn command(&mut self, command: CallCommand) {
        let bindings = self.bindings.clone();
        let lookup = move |aor: &str| if aor == "1001" { bindings.clone() } else { Vec::new() };
        self.calls.handle_command(self.now, &mut self.layer, command, &lookup);
        self.pump();
    }

    fn advance(&mut self, ms: u64) {
        self.now = self.now.plus(DurationMs::from_ms(ms));
        self.layer.handle_timeout(self.now);
        self.calls.handle_timeout(self.now, &mut self.layer);
        self.pump();
    }

    /// Everything sent since the last call: (destination, message).
    fn sent(&mut self) -> Vec<(SocketAddr, Message)> {
        let mut out = Vec::new();
        while let Some(t) = self.layer.poll_transmit() {
            let message = parse_datagram(&t.bytes, &Limits::default()).expect("we send what parses");
            out.push((t.destination.addr, message));
        }
        out
    }

    fn events(&mut self) -> Vec<CallEvent> {
        std::iter::from_fn(|| self.calls.poll_event()).collect()
    }
}

fn first_line(m: &Message) -> String {
    match m {
        Message::Request(r) => r.method.to_string(),
        Message::Response(r) => r.status.as_u16().to_string(),
    }
}

fn lines(sent: &[(SocketAddr, Message)]) -> Vec<String> {
    sent.iter().map(|(to, m)| format!("{} -> {to}", first_line(m))).collect()
}

fn request_of(sent: &[(SocketAddr, Message)], method: Method, to: &str) -> Request {
    sent.iter()
        .find_map(|(dest, m)| match m {
            Message::Request(r) if r.method == method && *dest == addr(to) => Some(r.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {method} to {to} in {:?}", lines(sent)))
}

fn response_of(sent: &[(SocketAddr, Message)], status: u16) -> crate::message::Response {
    sent.iter()
        .find_map(|(_, m)| match m {
            Message::Response(r) if r.status.as_u16() == status => Some(r.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {status} in {:?}", lines(sent)))
}

/// The far end's answer to one of our requests, with its To tag.
fn answer(request: &Request, status: u16, tag: &str, contact_at: &str, sdp: bool) -> String {
    let mut response = request.response(StatusCode::new(status).expect("status"), Some(tag));
    response.headers.push(crate::message::HeaderName::Contact, format!("<sip:agent@{contact_at}>"));
    if sdp {
        response.headers.push(crate::message::HeaderName::ContentType, "application/sdp");
        response.body = SDP_TEXT.as_bytes().to_vec();
    }
    String::from_utf8(response.to_bytes()).expect("utf-8")
}

fn caller_request(
    method: &str,
    dialled: &str,
    cseq: u32,
    branch: &str,
    to_tag: &str,
    extra: &str,
    body: &str,
) -> String {
    let to_tag = if to_tag.is_empty() { String::new() } else { format!(";tag={to_tag}") };
    let content_type = if body.is_empty() { "" } else { "Content-Type: application/sdp\r\n" };
    format!(
        "{method} sip:{dialled}@192.0.2.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {CALLER};branch=z9hG4bK{branch}\r\n\
Max-Forwards: 70\r\n\
From: \"Customer\" <sip:+8613800138000@192.0.2.10>;tag=caller1\r\n\
To: <sip:{dialled}@192.0.2.1>{to_tag}\r\n\
Call-ID: call-1@192.0.2.10\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:caller@{CALLER}>\r\n\
{extra}{content_type}Content-Length: {len}\r\n\r\n{body}",
        len = body.len()
    )
}

/// An inbound call to 4000 answered by the application and ACKed: (call, our To tag).
fn answered_inbound(h: &mut Harness) -> (CallRef, String) {
    h.receive(&caller_request("INVITE", "4000", 1, "inv1", "", "", SDP_TEXT), CALLER);
    let Some(CallEvent::Incoming { call, offer: Some(offer), .. }) = h.events().pop() else { panic!("no Incoming") };
    h.command(CallCommand::Answer { call, sdp: offer });
    let sent = h.sent();
    let ok = response_of(&sent, 200);
    let tag = ok.headers.to().and_then(|t| t.tag().map(str::to_owned)).expect("our tag");
    h.receive(&caller_request("ACK", "4000", 1, "ack1", &tag, "", ""), CALLER);
    (call, tag)
}

fn dial_request(ring_timeout_ms: u64) -> Box<DialRequest> {
    Box::new(DialRequest {
        target: DialTarget::Extension("1001".into()),
        caller_number: "+8613800138000".into(),
        caller_display: Some("Customer".into()),
        extra_headers: vec![("X-Hotline-Queue".into(), "general".into())],
        offer: SessionDescription::parse(SDP_TEXT).ok(),
        ring_timeout_ms,
    })
}

#[test]
fn a_dial_forks_to_every_binding_and_cancels_the_others_when_one_answers() {
    let mut h = Harness::new(false);
    let call = CallRef::FIRST_DIALLED;
    h.command(CallCommand::Dial { call, request: dial_request(30_000) });
    let sent = h.sent();
    let to_a = request_of(&sent, Method::Invite, AGENT_A);
    let to_b = request_of(&sent, Method::Invite, AGENT_B);
    assert_eq!(to_a.headers.call_id(), to_b.headers.call_id());
    assert_eq!(to_a.headers.from().and_then(|f| f.uri.user), Some("+8613800138000".into()));
    assert!(to_a.headers.get(&HeaderName::PAssertedIdentity).is_some_and(|p| p.contains("+8613800138000")));
    assert_eq!(to_a.headers.get(&HeaderName::parse("X-Hotline-Queue")), Some("general"));

    h.receive(&answer(&to_a, 180, "phoneA", AGENT_A, false), AGENT_A);
    h.receive(&answer(&to_b, 200, "phoneB", AGENT_B, true), AGENT_B);
    let sent = h.sent();
    let ack = request_of(&sent, Method::Ack, AGENT_B);
    assert_eq!(ack.headers.to().and_then(|t| t.tag().map(str::to_owned)).as_deref(), Some("phoneB"));
    request_of(&sent, Method::Cancel, AGENT_A);
    let events = h.events();
    assert!(matches!(events[0], CallEvent::Ringing { early_sdp: None, .. }), "{events:?}");
    assert!(matches!(&events[1], CallEvent::Answered { sdp: Some(_), .. }), "{events:?}");

    // The losing phone answers anyway: it gets an ACK and a BYE, the call does not change.
    h.receive(&answer(&to_a, 200, "phoneA", AGENT_A, true), AGENT_A);
    let sent = h.sent();
    request_of(&sent, Method::Ack, AGENT_A);
    request_of(&sent, Method::Bye, AGENT_A);
    assert!(h.events().is_empty());
}

#[test]
fn a_ring_timeout_cancels_every_fork_and_fails_the_leg_with_408() {
    let mut h = Harness::new(false);
    let call = CallRef::FIRST_DIALLED;
    h.command(CallCommand::Dial { call, request: dial_request(5_000) });
    let sent = h.sent();
    let (to_a, to_b) = (request_of(&sent, Method::Invite, AGENT_A), request_of(&sent, Method::Invite, AGENT_B));
    h.receive(&answer(&to_a, 180, "phoneA", AGENT_A, false), AGENT_A);
    h.receive(&answer(&to_b, 180, "phoneB", AGENT_B, false), AGENT_B);
    h.sent();
    h.advance(5_000);
    let sent = h.sent();
    request_of(&sent, Method::Cancel, AGENT_A);
    request_of(&sent, Method::Cancel, AGENT_B);
    let events = h.events();
    assert!(matches!(events.last(), Some(CallEvent::Failed { status: 408, .. })), "{events:?}");
}

#[test]
fn a_dial_to_an_extension_with_no_binding_fails_480() {
    let mut h = Harness::new(false);
    h.bindings.clear();
    h.command(CallCommand::Dial { call: CallRef::FIRST_DIALLED, request: dial_request(5_000) });
    assert!(matches!(h.events().as_slice(), [CallEvent::Failed { status: 480, .. }]));
    assert!(h.calls.is_empty());
}

#[test]
fn an_unacknowledged_200_is_retransmitted_then_the_call_ends_with_a_bye() {
    let mut h = Harness::new(false);
    h.receive(&caller_request("INVITE", "4000", 1, "inv1", "", "", SDP_TEXT), CALLER);
    let Some(CallEvent::Incoming { call, offer: Some(offer), .. }) = h.events().pop() else { panic!("no Incoming") };
    h.command(CallCommand::Answer { call, sdp: offer });
    h.sent();
    let mut retransmitted = 0;
    for _ in 0..64 {
        h.advance(500);
        retransmitted += h.sent().iter().filter(|(_, m)| first_line(m) == "200").count();
    }
    assert!(retransmitted >= 5, "only {retransmitted} retransmissions of the 200");
    let mut sent = h.sent();
    if !sent.iter().any(|(_, m)| first_line(m) == "BYE") {
        h.advance(500);
        sent = h.sent();
    }
    request_of(&sent, Method::Bye, CALLER);
    assert_eq!(h.events(), vec![CallEvent::Ended { call, by_remote: true, reason: EndReason::NoAck }]);
}

#[test]
fn a_hangup_before_the_ack_sends_its_bye_only_once_the_ack_arrives() {
    let mut h = Harness::new(false);
    h.receive(&caller_request("INVITE", "4000", 1, "inv1", "", "", SDP_TEXT), CALLER);
    let Some(CallEvent::Incoming { call, offer: Some(offer), .. }) = h.events().pop() else { panic!("no Incoming") };
    h.command(CallCommand::Answer { call, sdp: offer });
    let tag = response_of(&h.sent(), 200).headers.to().and_then(|t| t.tag().map(str::to_owned)).expect("our tag");
    // The IVR hangs up at once (a failed lookup): RFC 3261 §15, no BYE before the 2xx is ACKed.
    h.command(CallCommand::Hangup { call });
    h.advance(100);
    assert!(!h.sent().iter().any(|(_, m)| first_line(m) == "BYE"), "a BYE was sent before the ACK");
    assert_eq!(h.events(), vec![]);
    h.receive(&caller_request("ACK", "4000", 1, "ack1", &tag, "", ""), CALLER);
    request_of(&h.sent(), Method::Bye, CALLER);
    assert_eq!(h.events(), vec![CallEvent::Ended { call, by_remote: false, reason: EndReason::Local }]);
}

#[test]
fn a_hangup_before_an_ack_that_never_comes_ends_with_a_bye_at_the_ack_timeout() {
    let mut h = Harness::new(false);
    h.receive(&caller_request("INVITE", "4000", 1, "inv1", "", "", SDP_TEXT), CALLER);
    let Some(CallEvent::Incoming { call, offer: Some(offer), .. }) = h.events().pop() else { panic!("no Incoming") };
    h.command(CallCommand::Answer { call, sdp: offer });
    h.command(CallCommand::Hangup { call });
    let mut byes = 0;
    for _ in 0..70 {
        h.advance(500);
        byes += h.sent().iter().filter(|(_, m)| first_line(m) == "BYE").count();
    }
    assert!(byes >= 1, "no BYE after the ACK timeout");
    assert_eq!(h.events(), vec![CallEvent::Ended { call, by_remote: false, reason: EndReason::Local }]);
}

#[test]
fn a_refer_is_accepted_202_and_its_progress_notified_as_sipfrag() {
    let mut h = Harness::new(false);
    let (call, tag) = answered_inbound(&mut h);
    h.sent();
    h.events();
    let refer_to = "Refer-To: <sip:1002@192.0.2.1>\r\nReferred-By: <sip:1001@192.0.2.1>\r\n";
    h.receive(&caller_request("REFER", "4000", 2, "ref1", &tag, refer_to, ""), CALLER);
    let sent = h.sent();
    response_of(&sent, 202);
    let trying = request_of(&sent, Method::Notify, CALLER);
    assert_eq!(String::from_utf8_lossy(&trying.body), "SIP/2.0 100 Trying\r\n");
    assert_eq!(trying.headers.get(&HeaderName::Event), Some("refer"));
    let events = h.events();
    let [CallEvent::Refer { target, replaces: None, referred_by: Some(_), .. }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(target, "sip:1002@192.0.2.1");

    h.command(CallCommand::ReferProgress { call, status: StatusCode::OK });
    let done = request_of(&h.sent(), Method::Notify, CALLER);
    assert_eq!(String::from_utf8_lossy(&done.body), "SIP/2.0 200 OK\r\n");
    let state = done.headers.get(&HeaderName::parse("Subscription-State")).unwrap_or_default().to_owned();
    assert!(state.starts_with("terminated"), "{state}");
}

#[test]
fn an_invite_with_replaces_names_the_leg_it_replaces_and_answering_it_ends_that_leg() {
    let mut h = Harness::new(false);
    let (old, tag) = answered_inbound(&mut h);
    h.sent();
    h.events();
    let replaces = format!("Replaces: call-1@192.0.2.10;to-tag={tag};from-tag=caller1\r\n");
    let invite = caller_request("INVITE", "1001", 1, "inv2", "", &replaces, SDP_TEXT)
        .replace("Call-ID: call-1@192.0.2.10", "Call-ID: call-2@192.0.2.10");
    h.receive(&invite, CALLER);
    let events = h.events();
    let [CallEvent::Incoming { call, replaces: Some(replaced), offer: Some(offer), .. }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(*replaced, old);
    h.command(CallCommand::Answer { call: *call, sdp: offer.clone() });
    let sent = h.sent();
    let bye = request_of(&sent, Method::Bye, CALLER);
    assert_eq!(bye.headers.call_id(), Some("call-1@192.0.2.10"));
    assert_eq!(h.events(), vec![CallEvent::Ended { call: old, by_remote: false, reason: EndReason::Replaced }]);

    // Replaces naming no dialog of ours: 481.
    let stale = caller_request("INVITE", "4000", 1, "inv3", "", "Replaces: nope;to-tag=x;from-tag=y\r\n", SDP_TEXT)
        .replace("Call-ID: call-1@192.0.2.10", "Call-ID: call-3@192.0.2.10");
    h.receive(&stale, CALLER);
    response_of(&h.sent(), 481);
}

#[test]
fn direct_dial_links_the_legs_so_the_agents_bye_ends_the_callers_leg() {
    let mut h = Harness::new(true);
    h.bindings.truncate(1);
    h.receive(&caller_request("INVITE", "1001", 1, "inv1", "", "", SDP_TEXT), CALLER);
    let to_agent = request_of(&h.sent(), Method::Invite, AGENT_A);
    assert_eq!(String::from_utf8_lossy(&to_agent.body), SDP_TEXT, "the pass-through anchor relays the offer");
    h.receive(&answer(&to_agent, 180, "phoneA", AGENT_A, false), AGENT_A);
    response_of(&h.sent(), 180);
    h.receive(&answer(&to_agent, 200, "phoneA", AGENT_A, true), AGENT_A);
    let sent = h.sent();
    request_of(&sent, Method::Ack, AGENT_A);
    let ok = response_of(&sent, 200);
    assert_eq!(String::from_utf8_lossy(&ok.body), SDP_TEXT);

    let mut bye = to_agent.clone();
    bye.method = Method::Bye;
    let from = bye.headers.to().map(|mut t| {
        t.set_tag("phoneA");
        t.to_string()
    });
    let to = bye.headers.from().map(|f| f.to_string());
    bye.headers.set(HeaderName::From, from.unwrap_or_default());
    bye.headers.set(HeaderName::To, to.unwrap_or_default());
    bye.headers.set(HeaderName::CSeq, "1 BYE");
    bye.headers.set(HeaderName::Via, format!("SIP/2.0/UDP {AGENT_A};branch=z9hG4bKbye1"));
    bye.headers.remove(&HeaderName::ContentType);
    bye.body.clear();
    h.receive(&String::from_utf8_lossy(&bye.to_bytes()), AGENT_A);
    let sent = h.sent();
    response_of(&sent, 200);
    request_of(&sent, Method::Bye, CALLER);
    let ends: Vec<(bool, EndReason)> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::Ended { by_remote, reason, .. } => Some((by_remote, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(ends, vec![(true, EndReason::Bye), (false, EndReason::LinkedLegEnded)]);
    assert!(h.calls.is_empty());
}

#[test]
fn dtmf_relay_bodies_are_read_and_bad_ones_refused() {
    assert_eq!(super::layer::dtmf_relay_for_tests("Signal=5\r\nDuration=160\r\n"), Some(('5', 160)));
    assert_eq!(super::layer::dtmf_relay_for_tests("Signal=#\r\n"), Some(('#', 250)));
    assert_eq!(super::layer::dtmf_relay_for_tests("Signal=x\r\n"), None);
}

// ----- calls out through a trunk -----

const PROVIDER: &str = "198.51.100.7:5060";

fn trunk_harness(max_calls: usize) -> Harness {
    let country = model::CountryCode::new(86).expect("country");
    let mut trunk = crate::trunk::Trunk::new("telecom", addr(PROVIDER), country);
    trunk.username = "hotline-sh".into();
    trunk.password = "s3cret".into();
    trunk.caller_id = "+862150001000".into();
    trunk.is_default = true;
    trunk.max_calls = max_calls;
    let mut h = Harness::new(false);
    let mut config = CallConfig::new(addr("192.0.2.1:5060"));
    config.trunks = crate::trunk::TrunkTable::new(vec![trunk], country);
    h.calls = CallLayer::new(config, 42, Box::new(PassThrough));
    h
}

fn number_request(number: &str) -> Box<DialRequest> {
    let mut request = dial_request(30_000);
    request.target = DialTarget::Number(number.into());
    request.caller_number = "4000".into();
    request
}

/// The provider's digest server: it challenges with 407 and checks what comes back.
fn provider() -> crate::digest::DigestServer {
    let mut config = crate::digest::DigestServerConfig::new("provider.example", b"provider secret");
    config.algorithms = vec![crate::digest::Algorithm::Md5];
    crate::digest::DigestServer::new(config)
}

fn challenge_407(server: &crate::digest::DigestServer, now: Timestamp, invite: &Request) -> String {
    let mut r = invite.response(StatusCode::new(407).expect("407"), Some("prov"));
    for c in server.challenges(now, 9, false) {
        r.headers.push(HeaderName::ProxyAuthenticate, c.to_string());
    }
    String::from_utf8(r.to_bytes()).expect("utf-8")
}

#[test]
fn a_number_goes_out_the_trunk_in_e164_with_the_trunks_caller_id() {
    let mut h = trunk_harness(10);
    h.command(CallCommand::Dial { call: CallRef::FIRST_DIALLED, request: number_request("138 0013 8000") });
    let invite = request_of(&h.sent(), Method::Invite, PROVIDER);
    assert_eq!(invite.uri.to_string(), "sip:+8613800138000@198.51.100.7:5060");
    assert_eq!(invite.headers.to().and_then(|t| t.uri.user), Some("+8613800138000".into()));
    let from = invite.headers.from().expect("From");
    assert_eq!(from.uri.to_string(), "sip:+862150001000@198.51.100.7");
    let pai = invite.headers.get(&HeaderName::PAssertedIdentity).expect("P-Asserted-Identity");
    assert!(pai.contains("sip:+862150001000@198.51.100.7"), "{pai}");
}

#[test]
fn a_407_from_the_provider_is_acked_and_the_invite_resent_once_with_proxy_authorization() {
    let mut h = trunk_harness(10);
    let mut server = provider();
    let call = CallRef::FIRST_DIALLED;
    h.command(CallCommand::Dial { call, request: number_request("+8613800138000") });
    let first = request_of(&h.sent(), Method::Invite, PROVIDER);
    h.receive(&challenge_407(&server, h.now, &first), PROVIDER);
    let sent = h.sent();
    let ack = request_of(&sent, Method::Ack, PROVIDER);
    assert_eq!(ack.headers.cseq().map(|c| c.seq), Some(1), "the 407 is ACKed in its own transaction");
    let second = request_of(&sent, Method::Invite, PROVIDER);
    assert_eq!(second.headers.call_id(), first.headers.call_id(), "same Call-ID");
    assert_eq!(
        second.headers.from().and_then(|f| f.tag().map(str::to_owned)),
        first.headers.from().and_then(|f| f.tag().map(str::to_owned))
    );
    assert_eq!(second.headers.cseq().map(|c| c.seq), Some(2), "new CSeq");
    assert_ne!(
        second.headers.top_via().and_then(|v| v.branch().map(str::to_owned)),
        first.headers.top_via().and_then(|v| v.branch().map(str::to_owned))
    );
    let creds = second.headers.get(&HeaderName::ProxyAuthorization).expect("Proxy-Authorization");
    let verdict = server.verify(h.now, &Method::Invite, &second.uri.to_string(), creds, |u| {
        (u == "hotline-sh").then(|| crate::digest::UserSecret::Password("s3cret".into()))
    });
    assert!(matches!(verdict, crate::digest::Verdict::Authenticated { .. }), "{verdict:?}");

    // Refused again: no second answer, the dial fails with the challenge's status.
    h.receive(&challenge_407(&server, h.now, &second), PROVIDER);
    let sent = h.sent();
    assert!(
        !sent.iter().any(|(_, m)| matches!(m, Message::Request(r) if r.method == Method::Invite)),
        "{:?}",
        lines(&sent)
    );
    let events = h.events();
    assert!(matches!(events.last(), Some(CallEvent::Failed { status: 407, .. })), "{events:?}");
    assert_eq!(h.calls.counters().trunk_challenges_answered, 1);
    assert_eq!(h.calls.trunk_calls(), &[0]);
}

#[test]
fn the_answer_to_the_authenticated_invite_confirms_the_call_with_cseq_2() {
    let mut h = trunk_harness(10);
    let server = provider();
    let call = CallRef::FIRST_DIALLED;
    h.command(CallCommand::Dial { call, request: number_request("+8613800138000") });
    let first = request_of(&h.sent(), Method::Invite, PROVIDER);
    h.receive(&challenge_407(&server, h.now, &first), PROVIDER);
    let second = request_of(&h.sent(), Method::Invite, PROVIDER);
    h.receive(&answer(&second, 200, "prov2", PROVIDER, true), PROVIDER);
    let ack = request_of(&h.sent(), Method::Ack, PROVIDER);
    assert_eq!(ack.headers.cseq().map(|c| c.seq), Some(2));
    assert!(matches!(h.events().last(), Some(CallEvent::Answered { .. })));
    assert_eq!(h.calls.trunk_calls(), &[1]);
    h.command(CallCommand::Hangup { call });
    let bye = request_of(&h.sent(), Method::Bye, PROVIDER);
    assert_eq!(bye.headers.cseq().map(|c| c.seq), Some(3));
    assert_eq!(h.calls.trunk_calls(), &[0]);
}

#[test]
fn a_trunk_with_its_own_local_address_puts_it_in_the_via_and_contact() {
    let mut h = trunk_harness(10);
    let country = model::CountryCode::new(86).expect("country");
    let mut trunk = crate::trunk::Trunk::new("telecom", addr(PROVIDER), country);
    trunk.is_default = true;
    trunk.local = Some(addr("203.0.113.5:5060"));
    let mut config = CallConfig::new(addr("0.0.0.0:5060"));
    config.trunks = crate::trunk::TrunkTable::new(vec![trunk], country);
    h.calls = CallLayer::new(config, 42, Box::new(PassThrough));
    h.command(CallCommand::Dial { call: CallRef::FIRST_DIALLED, request: number_request("+8613800138000") });
    let invite = request_of(&h.sent(), Method::Invite, PROVIDER);
    assert_eq!(invite.headers.top_via().map(|v| v.host.to_string()), Some("203.0.113.5".to_owned()));
    let contact = invite.headers.get(&HeaderName::Contact).expect("Contact");
    assert!(contact.contains("@203.0.113.5:5060"), "{contact}");
}

#[test]
fn a_trunk_at_its_max_calls_refuses_the_next_dial_with_503() {
    let mut h = trunk_harness(1);
    h.command(CallCommand::Dial { call: CallRef::FIRST_DIALLED, request: number_request("+8613800138000") });
    h.command(CallCommand::Dial {
        call: CallRef(CallRef::FIRST_DIALLED.0 + 1),
        request: number_request("+8613800138001"),
    });
    let events = h.events();
    let Some(CallEvent::Failed { status: 503, reason, .. }) = events.last() else { panic!("{events:?}") };
    assert!(reason.contains("telecom") && reason.contains("max_calls"), "{reason}");
    assert_eq!(h.calls.counters().trunk_dials_refused, 1);
}

#[test]
fn a_dial_to_something_that_is_not_a_number_fails_484_and_sends_nothing() {
    let mut h = trunk_harness(1);
    h.command(CallCommand::Dial { call: CallRef::FIRST_DIALLED, request: number_request("alice") });
    assert!(h.sent().is_empty());
    assert!(matches!(h.events().last(), Some(CallEvent::Failed { status: 484, .. })));
}
