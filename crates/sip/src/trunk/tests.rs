//! Trunk routing, number formats, and the registration client against the crate's own digest
//! server (MD5 and SHA-256), with injected time.

use std::net::SocketAddr;

use model::{CountryCode, DurationMs, Timestamp};

use super::*;
use crate::digest::{Algorithm, DigestServer, DigestServerConfig, UserSecret, Verdict};
use crate::message::{HeaderName, Limits, Message, Method, Request, Response, StatusCode, parse_datagram};

const PROVIDER: &str = "198.51.100.7:5060";
const LOCAL: &str = "192.0.2.1:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

fn cn() -> CountryCode {
    CountryCode::new(86).expect("country")
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_900_000_000_000 + s * 1000)
}

fn trunk(name: &str) -> Trunk {
    let mut t = Trunk::new(name, addr(PROVIDER), cn());
    t.username = "hotline-sh".into();
    t.password = "s3cret".into();
    t.register = true;
    t.register_expires_s = 600;
    t.caller_id = "+862150001000".into();
    t
}

// ----- numbers and routing -----

#[test]
fn national_numbers_are_normalised_to_e164_with_the_default_country() {
    let mut t = trunk("telecom");
    t.is_default = true;
    let table = TrunkTable::new(vec![t], cn());
    for written in ["138 0013 8000", "0138-0013-8000", "+86 138 0013 8000", "008613800138000"] {
        let route = table.route(written).expect("routed");
        assert_eq!(route.number.as_str(), "+8613800138000", "{written}");
        assert_eq!(route.dialled, "+8613800138000", "{written}");
    }
    assert_eq!(table.route("021-5000 1000").expect("landline").dialled, "+862150001000");
}

#[test]
fn the_national_format_writes_the_trunk_prefix_for_home_numbers_and_the_international_one_for_others() {
    let mut t = trunk("telecom");
    t.number_format = NumberFormat::National;
    t.is_default = true;
    let table = TrunkTable::new(vec![t.clone()], cn());
    assert_eq!(table.route("+86 21 5000 1000").expect("home").dialled, "02150001000");
    assert_eq!(table.route("+1 415 555 0100").expect("abroad").dialled, "0014155550100");
    t.national_prefix = String::new();
    let table = TrunkTable::new(vec![t], cn());
    assert_eq!(table.route("138 0013 8000").expect("mobile").dialled, "13800138000");
}

#[test]
fn the_longest_matching_prefix_picks_the_trunk_and_the_default_takes_the_rest() {
    let mut default = trunk("default");
    default.is_default = true;
    let mut china = trunk("china");
    china.prefixes = vec!["+86".into()];
    let mut shanghai = trunk("shanghai");
    shanghai.prefixes = vec!["+8621".into()];
    let table = TrunkTable::new(vec![default, china, shanghai], cn());
    assert_eq!(table.route("021 5000 1000").map(|r| r.trunk), Ok(2));
    assert_eq!(table.route("010 6000 1000").map(|r| r.trunk), Ok(1));
    assert_eq!(table.route("+1 415 555 0100").map(|r| r.trunk), Ok(0));
}

#[test]
fn a_number_no_trunk_carries_is_404_and_a_non_number_484() {
    let mut china = trunk("china");
    china.prefixes = vec!["+86".into()];
    let table = TrunkTable::new(vec![china], cn());
    let abroad = table.route("+1 415 555 0100").expect_err("no default trunk");
    assert_eq!(abroad.status(), 404);
    let junk = table.route("sip:alice").expect_err("not a number");
    assert_eq!(junk.status(), 484);
    assert_eq!(table.route("12").expect_err("too short").status(), 484);
}

#[test]
fn the_password_never_prints() {
    assert!(!format!("{:?}", trunk("t")).contains("s3cret"));
}

// ----- registration -----

/// The provider: our digest server (it answers like any registrar would).
struct Provider {
    server: DigestServer,
    salt: u64,
}

impl Provider {
    fn new(algorithms: Vec<Algorithm>) -> Provider {
        let mut config = DigestServerConfig::new("provider.example", b"provider secret");
        config.algorithms = algorithms;
        Provider { server: DigestServer::new(config), salt: 1 }
    }

    /// 401 without credentials, 200 (granting `grant_s`) for right ones, 401 for wrong ones.
    fn answer(&mut self, now: Timestamp, request: &Request, grant_s: u32, status_401: u16) -> Response {
        let auth_header = if status_401 == 407 { HeaderName::ProxyAuthorization } else { HeaderName::Authorization };
        let verdict = request.headers.get(&auth_header).map(|a| {
            self.server.verify(now, &Method::Register, &request.uri.to_string(), a, |u| {
                (u == "hotline-sh").then(|| UserSecret::Password("s3cret".into()))
            })
        });
        match verdict {
            Some(Verdict::Authenticated { .. }) => {
                let mut ok = request.response(StatusCode::OK, Some("p1"));
                let contact = request.headers.get(&HeaderName::Contact).unwrap_or_default().to_owned();
                ok.headers.push(HeaderName::Contact, format!("{contact};expires={grant_s}"));
                ok
            }
            Some(Verdict::BadRequest) => request.response(StatusCode::BAD_REQUEST, Some("p1")),
            Some(Verdict::Challenge { stale }) => self.challenge(now, request, stale, status_401),
            None => self.challenge(now, request, false, status_401),
        }
    }

    fn challenge(&mut self, now: Timestamp, request: &Request, stale: bool, status_401: u16) -> Response {
        self.salt += 1;
        let status = StatusCode::new(status_401).expect("status");
        let mut r = request.response(status, Some("p1"));
        let header = if status_401 == 407 { HeaderName::ProxyAuthenticate } else { HeaderName::WwwAuthenticate };
        for c in self.server.challenges(now, self.salt, stale) {
            r.headers.push(header.clone(), c.to_string());
        }
        r
    }
}

/// What goes on the wire parses back (the client writes real SIP).
fn wire(request: &Request) -> Request {
    match parse_datagram(&request.to_bytes(), &Limits::default()) {
        Ok(Message::Request(r)) => r,
        other => panic!("the client writes SIP: {other:?}"),
    }
}

fn client(trunk: Trunk) -> RegistrationClient {
    RegistrationClient::new(trunk, addr(LOCAL), RegistrationTiming::default(), 7, at(0))
}

/// Runs the client at `now` against `provider` until it is quiet; returns the REGISTERs sent.
fn exchange(c: &mut RegistrationClient, p: &mut Provider, now: Timestamp, grant_s: u32) -> Vec<Request> {
    let mut sent = Vec::new();
    let mut next = c.handle_timeout(now);
    while let Some(request) = next.take() {
        let request = wire(&request);
        let answer = p.answer(now, &request, grant_s, 401);
        sent.push(request);
        next = c.handle_response(now, &answer);
        assert!(sent.len() < 10, "no loop");
    }
    sent
}

#[test]
fn registration_answers_the_challenge_with_md5_and_is_registered() {
    let mut p = Provider::new(vec![Algorithm::Md5]);
    let mut c = client(trunk("telecom"));
    assert_eq!(c.poll_timeout(), Some(at(0)), "the first REGISTER is due at once");
    let sent = exchange(&mut c, &mut p, at(0), 600);
    assert_eq!(sent.len(), 2);
    assert!(sent[0].headers.get(&HeaderName::Authorization).is_none());
    let creds = sent[1].headers.get(&HeaderName::Authorization).expect("credentials");
    assert!(creds.contains("algorithm=MD5") && creds.contains("qop=auth") && creds.contains("nc=00000001"), "{creds}");
    assert_eq!(sent[0].headers.call_id(), sent[1].headers.call_id(), "same Call-ID");
    assert_eq!(sent[1].headers.cseq().map(|c| c.seq), Some(2), "next CSeq");
    assert_ne!(sent[0].headers.get(&HeaderName::Via), sent[1].headers.get(&HeaderName::Via), "new branch");
    let status = c.status();
    assert_eq!(status.state, RegistrationState::Registered);
    assert_eq!(status.registered_until, Some(at(600)));
}

#[test]
fn registration_prefers_sha256_when_the_provider_offers_it() {
    let mut p = Provider::new(vec![Algorithm::Sha256, Algorithm::Md5]);
    let mut c = client(trunk("telecom"));
    let sent = exchange(&mut c, &mut p, at(0), 600);
    let creds = sent[1].headers.get(&HeaderName::Authorization).expect("credentials");
    assert!(creds.contains("algorithm=SHA-256"), "{creds}");
    assert_eq!(c.status().state, RegistrationState::Registered);
}

#[test]
fn a_407_is_answered_with_proxy_authorization() {
    let mut p = Provider::new(vec![Algorithm::Md5]);
    let mut c = client(trunk("telecom"));
    let first = wire(&c.handle_timeout(at(0)).expect("REGISTER"));
    let again = c.handle_response(at(0), &p.answer(at(0), &first, 600, 407)).expect("answered");
    let again = wire(&again);
    assert!(again.headers.get(&HeaderName::ProxyAuthorization).is_some());
    assert!(again.headers.get(&HeaderName::Authorization).is_none());
    assert_eq!(c.handle_response(at(0), &p.answer(at(0), &again, 600, 407)), None);
    assert_eq!(c.status().state, RegistrationState::Registered);
}

#[test]
fn the_registration_is_refreshed_before_it_expires_with_the_granted_time() {
    let mut p = Provider::new(vec![Algorithm::Md5]);
    let mut c = client(trunk("telecom"));
    exchange(&mut c, &mut p, at(0), 300);
    // Granted 300 s (less than the 600 asked): refreshed 60 s before the end.
    assert_eq!(c.status().registered_until, Some(at(300)));
    assert_eq!(c.poll_timeout(), Some(at(240)));
    assert_eq!(c.handle_timeout(at(239)), None, "not yet");
    let refresh = exchange(&mut c, &mut p, at(240), 300);
    assert_eq!(refresh.len(), 2, "a fresh challenge is answered again");
    assert_eq!(c.status().registered_until, Some(at(540)));
    // A short grant is refreshed at half its life.
    let mut c = client(trunk("telecom"));
    exchange(&mut c, &mut p, at(0), 60);
    assert_eq!(c.poll_timeout(), Some(at(30)));
}

#[test]
fn a_wrong_password_is_tried_once_per_challenge_then_backs_off_doubling() {
    let mut p = Provider::new(vec![Algorithm::Md5]);
    let mut wrong = trunk("telecom");
    wrong.password = "wrong".into();
    let mut c = client(wrong);
    let sent = exchange(&mut c, &mut p, at(0), 600);
    assert_eq!(sent.len(), 2, "one answer to the challenge, no loop");
    let status = c.status();
    assert_eq!(status.state, RegistrationState::Failed);
    assert_eq!(status.last_status, Some(401));
    assert_eq!(status.consecutive_failures, 1);
    assert_eq!(status.next_attempt_at, Some(at(2)), "retry_min_ms");
    exchange(&mut c, &mut p, at(2), 600);
    assert_eq!(c.poll_timeout(), Some(at(6)), "doubled");
    exchange(&mut c, &mut p, at(6), 600);
    assert_eq!(c.poll_timeout(), Some(at(14)));
    let mut now = at(14);
    for _ in 0..20 {
        exchange(&mut c, &mut p, now, 600);
        now = c.poll_timeout().expect("retries");
    }
    let last = c.status();
    assert!(last.next_attempt_at.is_some_and(|n| n.since(now) <= DurationMs::from_ms(300_000)), "capped");
}

#[test]
fn a_stale_nonce_is_answered_once_more() {
    let mut p = Provider::new(vec![Algorithm::Md5]);
    let mut c = client(trunk("telecom"));
    let first = wire(&c.handle_timeout(at(0)).expect("REGISTER"));
    // The challenge is issued at 0 and answered 10 minutes later: past the provider's nonce TTL.
    let challenge = p.answer(at(0), &first, 600, 401);
    let answered = wire(&c.handle_response(at(600), &challenge).expect("answered"));
    let stale = p.answer(at(600), &answered, 600, 401);
    assert!(stale.headers.get(&HeaderName::WwwAuthenticate).is_some_and(|h| h.contains("stale=true")));
    let again = wire(&c.handle_response(at(600), &stale).expect("answered once more"));
    let ok = p.answer(at(600), &again, 600, 401);
    assert_eq!(c.handle_response(at(600), &ok), None);
    assert_eq!(c.status().state, RegistrationState::Registered);
}

#[test]
fn a_403_waits_the_longest_back_off_at_once() {
    let mut c = client(trunk("telecom"));
    let first = wire(&c.handle_timeout(at(0)).expect("REGISTER"));
    let forbidden = first.response(StatusCode::new(403).expect("403"), Some("p"));
    assert_eq!(c.handle_response(at(0), &forbidden), None);
    let status = c.status();
    assert_eq!(status.state, RegistrationState::Failed);
    assert_eq!(status.last_status, Some(403));
    assert_eq!(status.next_attempt_at, Some(at(300)));
}

#[test]
fn no_answer_is_a_failure_and_a_lapsed_registration_is_reported() {
    let mut p = Provider::new(vec![Algorithm::Md5]);
    let mut c = client(trunk("telecom"));
    exchange(&mut c, &mut p, at(0), 120);
    assert_eq!(c.poll_timeout(), Some(at(60)));
    assert!(c.handle_timeout(at(60)).is_some());
    c.handle_failure(at(92));
    let status = c.status();
    assert_eq!(status.state, RegistrationState::Registered, "still in force until 120");
    assert_eq!(status.consecutive_failures, 1);
    assert_eq!(c.poll_timeout(), Some(at(94)));
    assert!(c.handle_timeout(at(94)).is_some());
    c.handle_failure(at(126));
    assert_eq!(c.status().state, RegistrationState::Failed, "lapsed at 120");
    assert_eq!(c.status().registered_until, None);
}

#[test]
fn a_423_retries_with_the_providers_min_expires() {
    let mut c = client(trunk("telecom"));
    let first = wire(&c.handle_timeout(at(0)).expect("REGISTER"));
    let mut brief = first.response(StatusCode::new(423).expect("423"), Some("p"));
    brief.headers.push(HeaderName::MinExpires, "1800");
    let again = wire(&c.handle_response(at(0), &brief).expect("asked again"));
    assert_eq!(again.headers.expires(), Some(1800));
}

#[test]
fn unregistering_sends_expires_zero_and_then_nothing_more() {
    let mut p = Provider::new(vec![Algorithm::Md5]);
    let mut c = client(trunk("telecom"));
    exchange(&mut c, &mut p, at(0), 600);
    let bye = wire(&c.unregister(at(10)).expect("un-REGISTER"));
    assert_eq!(bye.headers.expires(), Some(0));
    assert!(!c.is_settled());
    let challenge = p.answer(at(10), &bye, 0, 401);
    let answered = wire(&c.handle_response(at(10), &challenge).expect("answered"));
    let ok = p.answer(at(10), &answered, 0, 401);
    assert_eq!(c.handle_response(at(10), &ok), None);
    assert!(c.is_settled());
    assert_eq!(c.status().state, RegistrationState::Unregistered);
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(c.handle_timeout(at(10_000)), None);
    // A client that never registered has nothing to undo.
    let mut idle = client(trunk("telecom"));
    assert_eq!(idle.unregister(at(0)), None);
}

#[test]
fn responses_that_are_not_for_our_last_register_are_ignored() {
    let mut c = client(trunk("telecom"));
    let first = wire(&c.handle_timeout(at(0)).expect("REGISTER"));
    let mut other = first.response(StatusCode::OK, Some("p"));
    other.headers.set(HeaderName::CSeq, "99 REGISTER");
    assert_eq!(c.handle_response(at(0), &other), None);
    assert_eq!(c.status().state, RegistrationState::Registering);
    assert!(!c.is_settled());
}
