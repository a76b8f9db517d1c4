//! Generic webhook and Weibo: HMAC verification with a replay window, and the retrying outbox.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use model::Timestamp;
use social::outbox::{Outbox, OutboxEvent, OutboxLimits, RetryPolicy};
use social::webhook::{WebhookConfig, WebhookError, WebhookSender, WebhookVerifier, sign};
use social::weibo::{self, WeiboMessage};
use social::{HttpResponse, RequestId};

const BODY: &str = r#"{"id":"e1","from":{"id":"u1"},"text":"hi"}"#;
const TS: &str = "1764222000";
/// HMAC-SHA256("whsec", "1764222000." + BODY) computed independently with Python's hmac.
const SIG: &str = "sha256=640c742270a28cb7bb88e3437957ae4f5a98f5d863d567a1bfa7189d71d89569";

fn at_s(s: i64) -> Timestamp {
    Timestamp::from_unix_ms(s * 1000)
}

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(WebhookConfig::with_secret(b"whsec"))
}

fn headers(sig: &'static str) -> [(&'static str, &'static str); 2] {
    [("x-hotline-timestamp", TS), ("X-Hotline-Signature", sig)]
}

#[test]
fn signature_matches_an_independent_hmac() {
    assert_eq!(sign(b"whsec", TS, BODY.as_bytes()), SIG);
}

#[test]
fn signed_message_is_accepted_and_parsed() {
    let m = verifier().receive(at_s(1_764_222_010), &headers(SIG), BODY.as_bytes()).unwrap();
    assert_eq!(m.id, "e1");
    assert_eq!(m.from.id, "u1");
    assert_eq!(m.text.as_deref(), Some("hi"));
}

#[test]
fn forged_signature_is_refused() {
    let forged = "sha256=640c742270a28cb7bb88e3437957ae4f5a98f5d863d567a1bfa7189d71d89568";
    assert_eq!(
        verifier().verify(at_s(1_764_222_000), &headers(forged), BODY.as_bytes()),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        verifier().verify(at_s(1_764_222_000), &headers("garbage"), BODY.as_bytes()),
        Err(WebhookError::BadSignature)
    );
    let tampered = BODY.replace("hi", "ho");
    assert_eq!(
        verifier().verify(at_s(1_764_222_000), &headers(SIG), tampered.as_bytes()),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn timestamp_outside_the_replay_window_is_refused() {
    let err = verifier().verify(at_s(1_764_222_000 + 301), &headers(SIG), BODY.as_bytes()).unwrap_err();
    assert_eq!(err, WebhookError::StaleTimestamp { replay_window_ms: 300_000 });
}

#[test]
fn the_same_signed_request_is_accepted_once() {
    let mut v = verifier();
    v.verify(at_s(1_764_222_000), &headers(SIG), BODY.as_bytes()).unwrap();
    assert_eq!(v.verify(at_s(1_764_222_001), &headers(SIG), BODY.as_bytes()), Err(WebhookError::Replayed));
}

#[test]
fn missing_headers_and_oversized_bodies_are_named() {
    let mut v = verifier();
    let err = v.verify(at_s(1_764_222_000), &[("X-Hotline-Signature", SIG)], BODY.as_bytes()).unwrap_err();
    assert_eq!(err, WebhookError::MissingHeader("X-Hotline-Timestamp".into()));
    let big = vec![b' '; 256 * 1024 + 1];
    assert!(matches!(v.verify(at_s(0), &headers(SIG), &big), Err(WebhookError::TooLarge { .. })));
}

fn policy() -> RetryPolicy {
    RetryPolicy { max_attempts: 4, initial_backoff_ms: 1_000, max_backoff_ms: 3_000 }
}

#[test]
fn backoff_doubles_and_is_capped() {
    let p = policy();
    assert_eq!([1, 2, 3, 4, 60].map(|a| p.backoff_ms(a)), [1_000, 2_000, 3_000, 3_000, 3_000]);
}

fn limits() -> OutboxLimits {
    OutboxLimits { max_queued: 2, max_in_flight: 1 }
}

fn status(code: u16) -> Option<HttpResponse> {
    Some(HttpResponse { status: code, body: Vec::new() })
}

#[test]
fn failed_posts_are_retried_on_the_schedule_then_given_up() {
    let mut o = Outbox::new(policy(), limits());
    let id = o.enqueue(Timestamp::from_unix_ms(0), "http://127.0.0.1:9/hook".into(), vec![], b"{}".to_vec()).unwrap();
    let mut now = 0;
    let mut sent_at = Vec::new();
    while let Some(due) = o.poll_timeout() {
        now = now.max(due.unix_ms());
        assert_eq!(o.poll_request(Timestamp::from_unix_ms(now - 1)), None, "not before due");
        let req = o.poll_request(Timestamp::from_unix_ms(now)).unwrap();
        sent_at.push(now);
        o.handle_response(Timestamp::from_unix_ms(now), req.id, status(503).as_ref());
    }
    assert_eq!(sent_at, [0, 1_000, 3_000, 6_000]);
    assert_eq!(o.poll_event(), Some(OutboxEvent::GaveUp { id, attempts: 4, last_status: Some(503) }));
    assert!(o.is_empty());
}

#[test]
fn client_errors_are_not_retried_but_429_is() {
    let mut o = Outbox::new(policy(), limits());
    let t0 = Timestamp::from_unix_ms(0);
    let id = o.enqueue(t0, "u".into(), vec![], vec![]).unwrap();
    let req = o.poll_request(t0).unwrap();
    o.handle_response(t0, req.id, status(429).as_ref());
    let req = o.poll_request(Timestamp::from_unix_ms(1_000)).unwrap();
    o.handle_response(t0, req.id, status(400).as_ref());
    assert_eq!(o.poll_event(), Some(OutboxEvent::Rejected { id, status: 400 }));
}

#[test]
fn outbox_is_bounded_and_in_flight_is_limited() {
    let mut o = Outbox::new(policy(), limits());
    let t0 = Timestamp::from_unix_ms(0);
    o.enqueue(t0, "a".into(), vec![], vec![]).unwrap();
    o.enqueue(t0, "b".into(), vec![], vec![]).unwrap();
    assert!(o.enqueue(t0, "c".into(), vec![], vec![]).is_err());
    let first = o.poll_request(t0).unwrap();
    assert_eq!(o.poll_request(t0), None, "max_in_flight is 1");
    o.handle_response(t0, first.id, status(204).as_ref());
    assert!(matches!(o.poll_event(), Some(OutboxEvent::Delivered { attempts: 1, .. })));
    assert_eq!(o.poll_request(t0).unwrap().url, "b");
    o.handle_response(t0, RequestId(12345), status(200).as_ref());
}

#[test]
fn sender_signs_each_attempt_with_its_own_time_and_a_verifier_accepts_it() {
    let config = WebhookConfig::with_secret(b"shared");
    let mut sender = WebhookSender::new(config.clone(), policy(), limits());
    sender.send(at_s(100), "http://127.0.0.1:9/in", BODY.as_bytes().to_vec()).unwrap();
    let first = sender.poll_request(at_s(100)).unwrap();
    sender.handle_response(at_s(100), first.id, None);
    let retry = sender.poll_request(at_s(101)).unwrap();
    let header = |r: &social::HttpRequest, n: &str| r.headers.iter().find(|(k, _)| k == n).unwrap().1.clone();
    assert_eq!(header(&first, "X-Hotline-Timestamp"), "100");
    assert_eq!(header(&retry, "X-Hotline-Timestamp"), "101");
    let pairs: Vec<(&str, &str)> = retry.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut receiver = WebhookVerifier::new(config);
    assert!(receiver.receive(at_s(101), &pairs, &retry.body).is_ok());
}

#[test]
fn weibo_push_is_verified_then_parsed() {
    let body = r#"{"type":"text","receiver_id":5678,"sender_id":1234,"created_at":"Mon Jul 16 18:09:20 +0800 2012","text":"私信内容","data":{}}"#;
    let sig = sign(b"whsec", TS, body.as_bytes());
    let hdrs = [("X-Hotline-Timestamp", TS), ("X-Hotline-Signature", sig.as_str())];
    let m = weibo::receive(&mut verifier(), at_s(1_764_222_000), &hdrs, body.as_bytes()).unwrap();
    assert_eq!(m, WeiboMessage::Text { sender_id: 1234, receiver_id: 5678, text: "私信内容".into() });
    let forged = [("X-Hotline-Timestamp", TS), ("X-Hotline-Signature", SIG)];
    assert_eq!(
        weibo::receive(&mut verifier(), at_s(1_764_222_000), &forged, body.as_bytes()),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn weibo_follow_events_and_images_parse() {
    let follow = br#"{"type":"event","receiver_id":1,"sender_id":2,"text":"","data":{"subtype":"follow"}}"#;
    assert_eq!(weibo::parse(follow).unwrap(), WeiboMessage::Follow { sender_id: 2, receiver_id: 1 });
    let image = br#"{"type":"image","receiver_id":1,"sender_id":2,"data":{"vfid":821804459,"tovfid":821804469}}"#;
    assert_eq!(weibo::parse(image).unwrap(), WeiboMessage::Image { sender_id: 2, receiver_id: 1, fid: 821_804_469 });
    assert!(matches!(weibo::parse(b"{\"type\":1}"), Err(WebhookError::BadJson(_))));
}

#[test]
fn weibo_reply_is_a_form_post_with_encoded_json_data() {
    let mut o = Outbox::new(policy(), limits());
    weibo::queue_text_reply(&mut o, at_s(0), "http://127.0.0.1:9", "TOK", 1234, "好的 & thanks").unwrap();
    let req = o.poll_request(at_s(0)).unwrap();
    assert_eq!(req.url, "http://127.0.0.1:9/2/messages/reply.json");
    let form = String::from_utf8(req.body).unwrap();
    let pairs = social::http::parse_query(&form, 10);
    assert_eq!(pairs[0], ("access_token".into(), "TOK".into()));
    assert_eq!(pairs[2], ("data".into(), r#"{"text":"好的 & thanks"}"#.into()));
    assert_eq!(pairs[3], ("receiver_id".into(), "1234".into()));
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_headers_and_body_never_panic(ts in ".{0,30}", sig in ".{0,80}", body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let hdrs = [("X-Hotline-Timestamp", ts.as_str()), ("X-Hotline-Signature", sig.as_str())];
            let _ = verifier().receive(at_s(1_764_222_000), &hdrs, &body);
            let _ = weibo::parse(&body);
        }
    }
}
