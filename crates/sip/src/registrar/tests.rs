use std::net::SocketAddr;

use model::Timestamp;

use super::*;
use crate::digest::{Challenge, DigestServerConfig, UserSecret, pick_challenge, respond};
use crate::message::{Limits, Message, Method, parse_datagram};

fn at(s: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_800_000_000_000 + s * 1000)
}

fn phone() -> SocketAddr {
    "198.51.100.20:5062".parse().expect("addr")
}

fn registrar() -> Registrar {
    Registrar::new(RegistrarConfig {
        max_bindings_per_aor: 2,
        ..RegistrarConfig::new(DigestServerConfig::new("hotline.example", b"secret"))
    })
}

fn users(name: &str) -> Option<UserSecret> {
    match name {
        "1001" | "1002" => Some(UserSecret::Password(format!("pw{name}"))),
        _ => None,
    }
}

fn register(user: &str, contact: &str, expires: Option<u32>, call_id: &str, cseq: u32) -> Request {
    let expires = expires.map(|e| format!("Expires: {e}\r\n")).unwrap_or_default();
    let text = format!(
        "REGISTER sip:hotline.example SIP/2.0\r\n\
Via: SIP/2.0/UDP 198.51.100.20:5062;branch=z9hG4bK{cseq}\r\n\
Max-Forwards: 70\r\n\
From: <sip:{user}@hotline.example>;tag=f1\r\n\
To: <sip:{user}@hotline.example>\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} REGISTER\r\n\
Contact: {contact}\r\n\
{expires}Content-Length: 0\r\n\r\n"
    );
    match parse_datagram(text.as_bytes(), &Limits::default()) {
        Ok(Message::Request(r)) => r,
        other => panic!("test REGISTER must parse: {other:?}"),
    }
}

/// Fresh randomness per call, as the shell would give (nonces must differ between exchanges).
fn salt() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn respond_to(r: &mut Registrar, now: Timestamp, req: &Request) -> Response {
    match r.handle_register(now, req, phone(), salt(), users) {
        RegisterAnswer::Respond(resp) => resp,
        RegisterAnswer::Drop => panic!("unexpected drop"),
    }
}

/// Sends the REGISTER, answers the challenge with `password`, returns the final response.
fn authenticated(r: &mut Registrar, now: Timestamp, mut req: Request, user: &str, password: &str) -> Response {
    let challenge = respond_to(r, now, &req);
    assert_eq!(challenge.status, StatusCode::UNAUTHORIZED);
    let offered: Vec<Challenge> =
        challenge.headers.get_all(&HeaderName::WwwAuthenticate).filter_map(Challenge::parse).collect();
    let chosen = pick_challenge(&offered).expect("challenge");
    let creds = respond(chosen, user, password, &Method::Register, &req.uri.to_string(), "cn", 1);
    req.headers.push(HeaderName::Authorization, creds.to_string());
    respond_to(r, now, &req)
}

fn events(r: &mut Registrar) -> Vec<BindingEvent> {
    std::iter::from_fn(|| r.poll_event()).collect()
}

#[test]
fn a_register_without_credentials_is_challenged_with_sha256_then_md5() {
    let mut r = registrar();
    let resp = respond_to(&mut r, at(0), &register("1001", "<sip:1001@10.0.0.2>", None, "c1", 1));
    let algorithms: Vec<String> = resp
        .headers
        .get_all(&HeaderName::WwwAuthenticate)
        .filter_map(Challenge::parse)
        .map(|c| c.algorithm.as_str().to_owned())
        .collect();
    assert_eq!(algorithms, vec!["SHA-256", "MD5"]);
}

#[test]
fn good_credentials_add_a_binding_and_the_answer_lists_it() {
    let mut r = registrar();
    let resp =
        authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2>", Some(600), "c1", 1), "1001", "pw1001");
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.headers.get(&HeaderName::Contact), Some("<sip:1001@10.0.0.2>;expires=600"));
    assert!(matches!(&events(&mut r)[..], [BindingEvent::Added(b)] if b.aor == "1001"));
    assert_eq!(r.lookup("1001").len(), 1);
}

#[test]
fn unknown_user_and_wrong_password_get_byte_identical_answers() {
    let mut r = registrar();
    // Same nonce salt for both, as if the two attempts raced: only the user differs.
    let challenge = respond_to(&mut r, at(0), &register("1001", "<sip:1001@10.0.0.2>", None, "c1", 1));
    let offered: Vec<Challenge> =
        challenge.headers.get_all(&HeaderName::WwwAuthenticate).filter_map(Challenge::parse).collect();
    let chosen = pick_challenge(&offered).expect("challenge");
    let attempt = |user: &str| {
        let mut req = register("1001", "<sip:1001@10.0.0.2>", None, "c1", 1);
        let creds = respond(chosen, user, "nope", &Method::Register, "sip:hotline.example", "cn", 1);
        req.headers.push(HeaderName::Authorization, creds.to_string());
        req
    };
    let answer = |r: &mut Registrar, req: &Request| match r.handle_register(at(1), req, phone(), 99, users) {
        RegisterAnswer::Respond(resp) => resp.to_bytes(),
        RegisterAnswer::Drop => Vec::new(),
    };
    let wrong = answer(&mut r, &attempt("1001"));
    let unknown = answer(&mut r, &attempt("1001x"));
    assert!(wrong.starts_with(b"SIP/2.0 401 "));
    assert_eq!(String::from_utf8_lossy(&wrong), String::from_utf8_lossy(&unknown));
}

#[test]
fn an_agent_cannot_register_another_extension() {
    let mut r = registrar();
    let resp = authenticated(&mut r, at(0), register("1002", "<sip:1002@10.0.0.2>", None, "c1", 1), "1001", "pw1001");
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
}

#[test]
fn too_brief_an_expiry_gets_423_with_min_expires() {
    let mut r = registrar();
    let resp =
        authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2>", Some(10), "c1", 1), "1001", "pw1001");
    assert_eq!(resp.status, StatusCode::INTERVAL_TOO_BRIEF);
    assert_eq!(resp.headers.get(&HeaderName::MinExpires), Some("60"));
    assert!(r.lookup("1001").is_empty());
}

#[test]
fn too_long_an_expiry_is_shortened_to_the_maximum() {
    let mut r = registrar();
    let resp = authenticated(
        &mut r,
        at(0),
        register("1001", "<sip:1001@10.0.0.2>;expires=99999", None, "c1", 1),
        "1001",
        "pw1001",
    );
    assert_eq!(resp.headers.get(&HeaderName::Contact), Some("<sip:1001@10.0.0.2>;expires=3600"));
}

#[test]
fn expires_zero_unregisters_one_contact() {
    let mut r = registrar();
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2>", None, "c1", 1), "1001", "pw1001");
    events(&mut r);
    let resp =
        authenticated(&mut r, at(5), register("1001", "<sip:1001@10.0.0.2>", Some(0), "c1", 2), "1001", "pw1001");
    assert_eq!((resp.status, resp.headers.get(&HeaderName::Contact)), (StatusCode::OK, None));
    assert!(matches!(&events(&mut r)[..], [BindingEvent::Removed { reason: RemovalReason::Unregistered, .. }]));
}

#[test]
fn star_with_expires_zero_removes_every_binding() {
    let mut r = registrar();
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2>", None, "c1", 1), "1001", "pw1001");
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.3>", None, "c2", 1), "1001", "pw1001");
    let resp = authenticated(&mut r, at(1), register("1001", "*", Some(0), "c3", 1), "1001", "pw1001");
    assert_eq!(resp.status, StatusCode::OK);
    assert!(r.lookup("1001").is_empty());
}

#[test]
fn star_without_expires_zero_is_a_bad_request() {
    let mut r = registrar();
    let resp = authenticated(&mut r, at(1), register("1001", "*", None, "c3", 1), "1001", "pw1001");
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
}

#[test]
fn several_devices_bind_and_the_limit_replaces_the_one_closest_to_expiry() {
    let mut r = registrar();
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2>", Some(300), "desk", 1), "1001", "pw1001");
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.3>", Some(900), "soft", 1), "1001", "pw1001");
    events(&mut r);
    authenticated(&mut r, at(1), register("1001", "<sip:1001@10.0.0.4>", Some(600), "mobile", 1), "1001", "pw1001");
    let hosts: Vec<String> = r.lookup("1001").iter().map(|b| b.contact.uri.host.to_string()).collect();
    assert_eq!(hosts.len(), 2);
    assert!(!hosts.contains(&"10.0.0.2".to_owned()));
    assert!(events(&mut r).iter().any(|e| matches!(e, BindingEvent::Removed { reason: RemovalReason::Replaced, .. })));
}

#[test]
fn an_older_cseq_from_the_same_call_id_is_refused_and_changes_nothing() {
    let mut r = registrar();
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2>", Some(300), "c1", 5), "1001", "pw1001");
    let resp =
        authenticated(&mut r, at(1), register("1001", "<sip:1001@10.0.0.2>", Some(0), "c1", 4), "1001", "pw1001");
    assert_eq!(resp.status, StatusCode::SERVER_INTERNAL_ERROR);
    assert_eq!(r.lookup("1001").len(), 1);
    let other_call =
        authenticated(&mut r, at(1), register("1001", "<sip:1001@10.0.0.2>", Some(0), "c9", 1), "1001", "pw1001");
    assert_eq!(other_call.status, StatusCode::OK, "another Call-ID may always update");
}

#[test]
fn bindings_expire_with_time() {
    let mut r = registrar();
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2>", Some(120), "c1", 1), "1001", "pw1001");
    events(&mut r);
    r.handle_timeout(at(119));
    assert_eq!(r.lookup("1001").len(), 1);
    r.handle_timeout(at(120));
    assert!(r.lookup("1001").is_empty());
    assert!(matches!(&events(&mut r)[..], [BindingEvent::Removed { reason: RemovalReason::Expired, .. }]));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn repeated_failures_from_one_address_are_throttled_but_others_are_not() {
    let mut r = registrar();
    for _ in 0..5 {
        authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2>", None, "c1", 1), "1001", "bad");
    }
    let req = register("1001", "<sip:1001@10.0.0.2>", None, "c1", 1);
    assert_eq!(r.handle_register(at(1), &req, phone(), 1, users), RegisterAnswer::Drop);
    let elsewhere: SocketAddr = "198.51.100.99:5060".parse().expect("addr");
    assert!(matches!(r.handle_register(at(1), &req, elsewhere, 1, users), RegisterAnswer::Respond(_)));
    assert!(
        matches!(r.handle_register(at(301), &req, phone(), 1, users), RegisterAnswer::Respond(_)),
        "the block ends"
    );
}

#[test]
fn the_throttle_map_stays_within_its_limit() {
    let mut t = FailedAuthThrottle::new(ThrottleConfig { max_tracked_sources: 3, ..ThrottleConfig::default() });
    for i in 0..20u8 {
        t.record_failure(at(i64::from(i)), std::net::IpAddr::from([10, 0, 0, i]));
        assert!(t.tracked_sources() <= 3);
    }
}

#[test]
fn keepalives_come_due_once_per_interval() {
    let mut r = registrar();
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2>", None, "c1", 1), "1001", "pw1001");
    assert_eq!(r.poll_keepalive(at(29)), None);
    let target = r.poll_keepalive(at(30)).expect("due");
    assert_eq!((target.aor.as_str(), target.source), ("1001", phone()));
    assert_eq!(r.poll_keepalive(at(30)), None);
    assert!(r.poll_keepalive(at(60)).is_some());
    r.keepalive_failed("1001", &target.contact);
    assert!(r.lookup("1001").is_empty());
}

#[test]
fn lookup_puts_the_preferred_contact_first() {
    let mut r = registrar();
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2>;q=0.2", None, "a", 1), "1001", "pw1001");
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.3>;q=0.9", None, "b", 1), "1001", "pw1001");
    assert_eq!(r.lookup("1001")[0].contact.uri.host.to_string(), "10.0.0.3");
}

#[test]
fn a_non_sip_address_of_record_is_refused() {
    let mut r = registrar();
    let mut req = register("1001", "<sip:1001@10.0.0.2>", None, "c1", 1);
    req.headers.set(HeaderName::To, "isbn:2983792873");
    assert!(
        matches!(r.handle_register(at(0), &req, phone(), 1, users), RegisterAnswer::Respond(resp) if resp.status.as_u16() == 416)
    );
}

#[test]
fn the_keepalive_options_request_targets_the_contact_and_parses() {
    let mut r = registrar();
    authenticated(&mut r, at(0), register("1001", "<sip:1001@10.0.0.2:5062>", None, "c1", 1), "1001", "pw1001");
    let target = r.poll_keepalive(at(30)).expect("due");
    let via = crate::message::Via::new(
        crate::message::Transport::udp(),
        crate::message::Host::parse("203.0.113.5").expect("host"),
        Some(5060),
        "z9hG4bKka1",
    );
    let me = crate::message::Uri::parse("sip:hotline@hotline.example").expect("uri");
    let options = target.options_request(&me, &via, "ka-1", "t1");
    assert_eq!(options.uri.to_string(), "sip:1001@10.0.0.2:5062");
    assert!(matches!(parse_datagram(&options.to_bytes(), &Limits::default()), Ok(Message::Request(_))));
}

mod model_check {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Register { device: u8, expires: Option<u32> },
        RemoveAll,
        Advance { secs: u16 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..4, prop::option::of(prop::sample::select(vec![0u32, 30, 120, 600, 5000])))
                .prop_map(|(device, expires)| Op::Register { device, expires }),
            Just(Op::RemoveAll),
            (0u16..400).prop_map(|secs| Op::Advance { secs }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The store only sees events: replaying them must always rebuild exactly the registrar's
        /// bindings, and the registrar never holds more than its limit or an expired binding.
        #[test]
        fn events_rebuild_the_bindings_and_limits_hold(ops in proptest::collection::vec(op(), 1..25)) {
            let mut r = registrar();
            let mut stored: BTreeSet<String> = BTreeSet::new();
            let mut now = 0i64;
            let mut cseq = 1u32;
            for op in ops {
                cseq += 1;
                match op {
                    Op::Register { device, expires } => {
                        let contact = format!("<sip:1001@10.0.0.{device}>");
                        let req = register("1001", &contact, expires, &format!("dev{device}"), cseq);
                        authenticated(&mut r, at(now), req, "1001", "pw1001");
                    }
                    Op::RemoveAll => {
                        authenticated(&mut r, at(now), register("1001", "*", Some(0), "star", cseq), "1001", "pw1001");
                    }
                    Op::Advance { secs } => {
                        now += i64::from(secs);
                        r.handle_timeout(at(now));
                    }
                }
                for event in events(&mut r) {
                    match event {
                        BindingEvent::Added(b) | BindingEvent::Refreshed(b) => {
                            stored.insert(b.contact.uri.to_string());
                        }
                        BindingEvent::Removed { contact, .. } => {
                            stored.remove(&contact.to_string());
                        }
                    }
                }
                let live: BTreeSet<String> = r.lookup("1001").iter().map(|b| b.contact.uri.to_string()).collect();
                prop_assert_eq!(&live, &stored);
                prop_assert!(live.len() <= 2);
                prop_assert!(r.lookup("1001").iter().all(|b| b.expires_at > at(now)));
            }
        }
    }
}
