use model::Timestamp;

use super::*;

const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

fn rfc7616_challenge(algorithm: Algorithm) -> Challenge {
    Challenge {
        realm: "http-auth@example.org".into(),
        nonce: NONCE.into(),
        algorithm,
        qop_auth: true,
        opaque: Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS".into()),
        stale: false,
    }
}

fn get() -> Method {
    Method::Other("GET".into())
}

#[test]
fn rfc7616_example_sha256_response() {
    let creds = respond(
        &rfc7616_challenge(Algorithm::Sha256),
        "Mufasa",
        "Circle of Life",
        &get(),
        "/dir/index.html",
        CNONCE,
        1,
    );
    assert_eq!(creds.response, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

#[test]
fn rfc7616_example_md5_response() {
    let creds =
        respond(&rfc7616_challenge(Algorithm::Md5), "Mufasa", "Circle of Life", &get(), "/dir/index.html", CNONCE, 1);
    assert_eq!(creds.response, "8ca523f5e9506fed4657c9700eebdbec");
}

#[test]
fn hmac_matches_rfc4231_test_case_2() {
    let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(to_hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

#[test]
fn challenge_and_credentials_survive_writing_and_parsing() {
    let c = rfc7616_challenge(Algorithm::Sha256);
    assert_eq!(Challenge::parse(&c.to_string()), Some(c.clone()));
    let creds = respond(&c, "Mufasa", "Circle of Life", &get(), "/dir/index.html", CNONCE, 1);
    assert_eq!(Credentials::parse(&creds.to_string()), Some(creds));
}

#[test]
fn parses_a_challenge_as_phones_send_it() {
    let c = Challenge::parse(r#"Digest realm="asterisk",nonce="1a2b",algorithm=MD5,qop="auth,auth-int",stale=TRUE"#)
        .expect("parses");
    assert!(c.qop_auth && c.stale);
    assert_eq!(c.algorithm, Algorithm::Md5);
    assert!(Challenge::parse(r#"Basic realm="x""#).is_none());
    assert!(Challenge::parse(r#"Digest realm="x", nonce="unterminated"#).is_none());
}

const REALM: &str = "hotline.example";
const URI: &str = "sip:hotline.example";

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_800_000_000_000 + ms)
}

fn server() -> DigestServer {
    DigestServer::new(DigestServerConfig { nonce_ttl_ms: 60_000, ..DigestServerConfig::new(REALM, b"server secret") })
}

fn users(name: &str) -> Option<UserSecret> {
    (name == "1001").then(|| UserSecret::Password("correct horse".into()))
}

fn answer(server: &DigestServer, now: Timestamp, user: &str, password: &str, nc: u32) -> String {
    let challenges = server.challenges(now, 42, false);
    let chosen = pick_challenge(&challenges).expect("a challenge");
    respond(chosen, user, password, &Method::Register, URI, "c0ffee", nc).to_string()
}

#[test]
fn the_right_password_authenticates_with_sha256_by_preference() {
    let mut s = server();
    let auth = answer(&s, at(0), "1001", "correct horse", 1);
    assert!(auth.contains("algorithm=SHA-256"));
    assert_eq!(
        s.verify(at(10), &Method::Register, URI, &auth, users),
        Verdict::Authenticated { username: "1001".into() }
    );
}

#[test]
fn md5_only_clients_are_accepted_too() {
    let mut s = server();
    let challenges = s.challenges(at(0), 1, false);
    let md5 = challenges.iter().find(|c| c.algorithm == Algorithm::Md5).expect("md5 offered");
    let auth = respond(md5, "1001", "correct horse", &Method::Register, URI, "abc", 1).to_string();
    assert!(matches!(s.verify(at(1), &Method::Register, URI, &auth, users), Verdict::Authenticated { .. }));
}

#[test]
fn unknown_user_gets_exactly_the_answer_of_a_wrong_password() {
    let mut s = server();
    let wrong = answer(&s, at(0), "1001", "wrong", 1);
    let unknown = answer(&s, at(0), "9999", "whatever", 1);
    let a = s.verify(at(5), &Method::Register, URI, &wrong, users);
    let b = s.verify(at(5), &Method::Register, URI, &unknown, users);
    assert_eq!(a, Verdict::Challenge { stale: false });
    assert_eq!(a, b);
}

#[test]
fn an_expired_nonce_with_a_good_digest_is_answered_stale() {
    let mut s = server();
    let auth = answer(&s, at(0), "1001", "correct horse", 1);
    assert_eq!(s.verify(at(60_001), &Method::Register, URI, &auth, users), Verdict::Challenge { stale: true });
}

#[test]
fn a_replayed_nonce_count_is_refused_and_a_higher_one_accepted() {
    let mut s = server();
    let first = answer(&s, at(0), "1001", "correct horse", 1);
    assert!(matches!(s.verify(at(1), &Method::Register, URI, &first, users), Verdict::Authenticated { .. }));
    assert_eq!(s.verify(at(2), &Method::Register, URI, &first, users), Verdict::Challenge { stale: true });
    let second = answer(&s, at(0), "1001", "correct horse", 2);
    assert!(matches!(s.verify(at(3), &Method::Register, URI, &second, users), Verdict::Authenticated { .. }));
}

#[test]
fn a_nonce_we_did_not_issue_is_refused() {
    let mut s = server();
    let other = DigestServer::new(DigestServerConfig::new(REALM, b"another secret"));
    let forged = answer(&other, at(0), "1001", "correct horse", 1);
    assert_eq!(s.verify(at(1), &Method::Register, URI, &forged, users), Verdict::Challenge { stale: false });
}

#[test]
fn malformed_credentials_or_another_uri_are_bad_requests() {
    let mut s = server();
    assert_eq!(s.verify(at(0), &Method::Register, URI, "Digest username=", users), Verdict::BadRequest);
    let auth = answer(&s, at(0), "1001", "correct horse", 1);
    assert_eq!(s.verify(at(1), &Method::Register, "sip:elsewhere", &auth, users), Verdict::BadRequest);
}

#[test]
fn stored_ha1_authenticates_without_a_plaintext_password() {
    let mut s = server();
    let stored = UserSecret::Ha1 {
        md5: Some(ha1(Algorithm::Md5, "1001", REALM, "correct horse")),
        sha256: Some(ha1(Algorithm::Sha256, "1001", REALM, "correct horse")),
    };
    let auth = answer(&s, at(0), "1001", "correct horse", 1);
    assert!(matches!(s.verify(at(1), &Method::Register, URI, &auth, |_| Some(stored)), Verdict::Authenticated { .. }));
}

#[test]
fn replay_tracking_is_bounded_and_forgotten_nonces_turn_stale() {
    let mut s = DigestServer::new(DigestServerConfig { max_tracked_nonces: 4, ..DigestServerConfig::new(REALM, b"k") });
    let mut first = None;
    for i in 0..10u64 {
        let now = at(i64::try_from(i).unwrap_or_default());
        let challenges = s.challenges(now, i, false);
        let auth = respond(&challenges[0], "1001", "correct horse", &Method::Register, URI, "c", 1).to_string();
        assert!(matches!(s.verify(now, &Method::Register, URI, &auth, users), Verdict::Authenticated { .. }));
        if i == 0 {
            let again = respond(&challenges[0], "1001", "correct horse", &Method::Register, URI, "c", 2).to_string();
            first = Some(again);
        }
        assert!(s.tracked_nonces() <= 4);
    }
    let again = first.expect("kept");
    assert_eq!(s.verify(at(20), &Method::Register, URI, &again, users), Verdict::Challenge { stale: true });
}

#[test]
fn the_digest_uri_matches_however_the_host_is_spelled() {
    assert!(same_uri("sip:[2001:DB8:0:0:0:0:0:1]:5060", "sip:[2001:db8::1]:5060"));
    assert!(same_uri("sip:Hotline.Example", "sip:hotline.example"));
    assert!(!same_uri("sip:hotline.example;transport=tcp", "sip:hotline.example"));
    assert!(!same_uri("sip:other.example", "sip:hotline.example"));
}

#[test]
fn sha512_256_works_end_to_end_when_configured() {
    let mut s = DigestServer::new(DigestServerConfig {
        algorithms: vec![Algorithm::Sha512_256, Algorithm::Sha256],
        ..DigestServerConfig::new(REALM, b"k")
    });
    let challenges = s.challenges(at(0), 3, false);
    let chosen = pick_challenge(&challenges).expect("challenge");
    assert_eq!(chosen.algorithm, Algorithm::Sha512_256);
    let auth = respond(chosen, "1001", "correct horse", &Method::Register, URI, "c", 1).to_string();
    assert!(auth.contains("algorithm=SHA-512-256"));
    assert!(matches!(s.verify(at(1), &Method::Register, URI, &auth, users), Verdict::Authenticated { .. }));
}
