//! The customer-service message client: token caching, expiry margin, refresh on 40001/42001, limits.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use model::Timestamp;
use social::outbox::RetryPolicy;
use social::wechat::api::{ApiConfig, ApiEvent, CustomerServiceClient, OutboundContent, OutboundId};
use social::{HttpRequest, HttpResponse, Method};

fn config() -> ApiConfig {
    ApiConfig {
        base_url: "http://127.0.0.1:9/".into(),
        app_id: "wx123".into(),
        app_secret: "s3cret&x".into(),
        token_margin_ms: 300_000,
        token_retry_ms: 10_000,
        max_queued_messages: 3,
        retry: RetryPolicy { max_attempts: 3, initial_backoff_ms: 1_000, max_backoff_ms: 60_000 },
        max_response_bytes: 4096,
    }
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(ms)
}

fn ok(body: &str) -> Option<HttpResponse> {
    Some(HttpResponse { status: 200, body: body.as_bytes().to_vec() })
}

fn token_granted(c: &mut CustomerServiceClient, now: Timestamp, token: &str) {
    let req = c.poll_request(now).unwrap();
    assert_eq!(req.method, Method::Get);
    c.handle_response(now, req.id, ok(&format!(r#"{{"access_token":"{token}","expires_in":7200}}"#)));
}

fn text(c: &mut CustomerServiceClient, s: &str) -> OutboundId {
    c.send("openid-1", OutboundContent::Text(s.into())).unwrap()
}

#[test]
fn first_send_fetches_a_token_from_the_configured_base_url() {
    let mut c = CustomerServiceClient::new(config());
    assert_eq!(c.poll_request(at(0)), None, "nothing to send, no token request");
    text(&mut c, "hi");
    let req = c.poll_request(at(0)).unwrap();
    assert_eq!(req.url, "http://127.0.0.1:9/cgi-bin/token?grant_type=client_credential&appid=wx123&secret=s3cret%26x");
    assert_eq!(c.poll_request(at(0)), None, "one token request at a time");
}

#[test]
fn message_is_posted_with_the_token_and_the_documented_json() {
    let mut c = CustomerServiceClient::new(config());
    let id = text(&mut c, "您好");
    token_granted(&mut c, at(0), "TOK1");
    let req: HttpRequest = c.poll_request(at(0)).unwrap();
    assert_eq!(req.method, Method::Post);
    assert_eq!(req.url, "http://127.0.0.1:9/cgi-bin/message/custom/send?access_token=TOK1");
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body, serde_json::json!({"touser":"openid-1","msgtype":"text","text":{"content":"您好"}}));
    c.handle_response(at(0), req.id, ok(r#"{"errcode":0,"errmsg":"ok"}"#));
    assert_eq!(c.poll_event(), Some(ApiEvent::Delivered { id }));
}

#[test]
fn cached_token_is_reused_until_expires_in_minus_the_margin() {
    let mut c = CustomerServiceClient::new(config());
    text(&mut c, "a");
    token_granted(&mut c, at(0), "TOK1");
    let first = c.poll_request(at(0)).unwrap();
    c.handle_response(at(0), first.id, ok(r#"{"errcode":0}"#));
    text(&mut c, "b");
    let before_margin = 7_200_000 - 300_000 - 1;
    assert!(c.poll_request(at(before_margin)).unwrap().url.ends_with("access_token=TOK1"));
    text(&mut c, "c");
    let after = c.poll_request(at(7_200_000 - 300_000)).unwrap();
    assert_eq!(after.method, Method::Get, "token refreshed once inside the margin");
}

#[test]
fn errcode_40001_and_42001_refresh_the_token_and_resend() {
    for errcode in [40001, 42001] {
        let mut c = CustomerServiceClient::new(config());
        let id = text(&mut c, "a");
        token_granted(&mut c, at(0), "OLD");
        let req = c.poll_request(at(1)).unwrap();
        c.handle_response(at(1), req.id, ok(&format!(r#"{{"errcode":{errcode},"errmsg":"invalid credential"}}"#)));
        assert_eq!(c.poll_event(), None, "not failed: retried with a new token");
        token_granted(&mut c, at(2), "NEW");
        let again = c.poll_request(at(2)).unwrap();
        assert!(again.url.ends_with("access_token=NEW"));
        c.handle_response(at(2), again.id, ok(r#"{"errcode":0}"#));
        assert_eq!(c.poll_event(), Some(ApiEvent::Delivered { id }));
    }
}

#[test]
fn other_errcodes_fail_the_message_without_retry() {
    let mut c = CustomerServiceClient::new(config());
    let id = text(&mut c, "a");
    token_granted(&mut c, at(0), "T");
    let req = c.poll_request(at(0)).unwrap();
    c.handle_response(at(0), req.id, ok(r#"{"errcode":45015,"errmsg":"response out of time limit"}"#));
    assert_eq!(
        c.poll_event(),
        Some(ApiEvent::Failed { id, errcode: 45015, errmsg: "response out of time limit".into() })
    );
    assert_eq!(c.queued(), 0);
}

#[test]
fn unanswered_message_backs_off_and_is_tried_at_most_max_attempts_times() {
    let mut c = CustomerServiceClient::new(config());
    let id = text(&mut c, "a");
    token_granted(&mut c, at(0), "T");
    let mut sent_at = Vec::new();
    let mut now = 0;
    while let Some(req) = c.poll_request(at(now)) {
        sent_at.push(now);
        c.handle_response(at(now), req.id, None);
        let Some(next) = c.poll_timeout() else { break };
        assert_eq!(c.poll_request(at(next.unix_ms() - 1)), None, "nothing before the backoff ends");
        now = next.unix_ms();
    }
    assert_eq!(sent_at, [0, 1_000, 3_000]);
    assert!(matches!(c.poll_event(), Some(ApiEvent::Failed { id: failed, errcode: -1, .. }) if failed == id));
}

#[test]
fn system_busy_is_retried_after_the_backoff() {
    let mut c = CustomerServiceClient::new(config());
    let id = text(&mut c, "a");
    token_granted(&mut c, at(0), "T");
    let req = c.poll_request(at(0)).unwrap();
    c.handle_response(at(0), req.id, ok(r#"{"errcode":-1,"errmsg":"system error"}"#));
    assert_eq!(c.poll_request(at(999)), None);
    let again = c.poll_request(at(1_000)).unwrap();
    c.handle_response(at(1_000), again.id, ok(r#"{"errcode":0}"#));
    assert_eq!(c.poll_event(), Some(ApiEvent::Delivered { id }));
}

#[test]
fn refused_token_is_reported_and_retried_only_after_token_retry_ms() {
    let mut c = CustomerServiceClient::new(config());
    text(&mut c, "a");
    let req = c.poll_request(at(0)).unwrap();
    c.handle_response(at(0), req.id, ok(r#"{"errcode":40013,"errmsg":"invalid appid"}"#));
    assert_eq!(c.poll_event(), Some(ApiEvent::TokenRefused { errcode: 40013, errmsg: "invalid appid".into() }));
    assert_eq!(c.poll_request(at(9_999)), None);
    assert_eq!(c.poll_request(at(10_000)).unwrap().method, Method::Get);
}

#[test]
fn queue_is_bounded() {
    let mut c = CustomerServiceClient::new(config());
    for _ in 0..3 {
        text(&mut c, "x");
    }
    assert!(c.send("o", OutboundContent::Image { media_id: "m".into() }).is_err());
}

#[test]
fn unknown_request_ids_and_garbage_answers_are_harmless() {
    let mut c = CustomerServiceClient::new(config());
    text(&mut c, "a");
    let req = c.poll_request(at(0)).unwrap();
    c.handle_response(at(0), social::RequestId(999), ok("{}"));
    c.handle_response(at(0), req.id, ok("<html>"));
    assert_eq!(c.poll_event(), None, "garbage token answer: wait and retry, nothing to report");
    assert_eq!(c.poll_request(at(10_000)).unwrap().method, Method::Get);
}

#[test]
fn a_request_names_the_message_it_carries_and_a_token_request_none() {
    let mut c = CustomerServiceClient::new(config());
    let id = text(&mut c, "hi");
    let token = c.poll_request(at(0)).unwrap();
    assert_eq!(c.outbound_of(token.id), None);
    c.handle_response(at(0), token.id, ok(r#"{"access_token":"TOK1","expires_in":7200}"#));
    let send = c.poll_request(at(0)).unwrap();
    assert_eq!(c.outbound_of(send.id), Some(id));
    c.handle_response(at(0), send.id, ok(r#"{"errcode":0,"errmsg":"ok"}"#));
    assert_eq!(c.outbound_of(send.id), None, "settled requests are forgotten");
}
