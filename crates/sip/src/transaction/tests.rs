use model::Timestamp;

use super::*;
use crate::message::{Limits, parse_datagram};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_700_000_000_000 + ms)
}

fn peer_udp() -> Peer {
    Peer::udp("192.0.2.10:5060".parse().expect("addr"))
}

fn peer_tcp() -> Peer {
    Peer::tcp("192.0.2.10:5060".parse().expect("addr"))
}

fn request(method: &str, branch: &str, transport: &str) -> Request {
    let text = format!(
        "{method} sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/{transport} 192.0.2.10:5060;branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: call-1@192.0.2.10\r\n\
CSeq: 1 {method}\r\n\
Content-Length: 0\r\n\r\n"
    );
    match parse_datagram(text.as_bytes(), &Limits::default()) {
        Ok(Message::Request(r)) => r,
        other => panic!("test request must parse: {other:?}"),
    }
}

fn response_to(req: &Request, code: u16) -> Response {
    req.response(StatusCode::new(code).expect("code"), Some("b1"))
}

fn layer() -> TransactionLayer {
    TransactionLayer::new(TransactionConfig::default())
}

fn drain(layer: &mut TransactionLayer) -> (Vec<Transmit>, Vec<Event>) {
    let mut transmits = Vec::new();
    while let Some(t) = layer.poll_transmit() {
        transmits.push(t);
    }
    let mut events = Vec::new();
    while let Some(e) = layer.poll_event() {
        events.push(e);
    }
    (transmits, events)
}

/// Advances time through every deadline up to `until_ms`, returning when retransmissions went out.
fn run_until(layer: &mut TransactionLayer, until_ms: i64) -> (Vec<i64>, Vec<Event>) {
    let mut sent_at = Vec::new();
    let mut events = Vec::new();
    while let Some(deadline) = layer.poll_timeout() {
        if deadline > at(until_ms) {
            break;
        }
        layer.handle_timeout(deadline);
        let (t, e) = drain(layer);
        sent_at.extend(t.iter().map(|_| deadline.unix_ms() - at(0).unix_ms()));
        events.extend(e);
    }
    (sent_at, events)
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().next().unwrap_or_default().to_owned()
}

#[test]
fn client_invite_over_udp_retransmits_with_timer_a_doubling_until_timer_b() {
    let mut l = layer();
    let id = l.send_request(at(0), request("INVITE", "z9hG4bKa", "UDP"), peer_udp()).expect("sent");
    assert_eq!(drain(&mut l).0.len(), 1);
    let (resent, events) = run_until(&mut l, 40_000);
    assert_eq!(resent, vec![500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(events, vec![Event::Timeout { id }, Event::Terminated { id }]);
}

#[test]
fn client_invite_over_tcp_never_retransmits_but_still_times_out() {
    let mut l = layer();
    let id = l.send_request(at(0), request("INVITE", "z9hG4bKa", "TCP"), peer_tcp()).expect("sent");
    drain(&mut l);
    let (resent, events) = run_until(&mut l, 40_000);
    assert!(resent.is_empty());
    assert_eq!(events.first(), Some(&Event::Timeout { id }));
}

#[test]
fn client_invite_acks_an_error_response_and_absorbs_its_retransmission() {
    let mut l = layer();
    let invite = request("INVITE", "z9hG4bKa", "UDP");
    let id = l.send_request(at(0), invite.clone(), peer_udp()).expect("sent");
    drain(&mut l);
    l.handle_response(at(100), response_to(&invite, 486), peer_udp());
    let (acks, events) = drain(&mut l);
    assert_eq!(first_line(&acks[0].bytes), "ACK sip:bob@example.com SIP/2.0");
    let Ok(Message::Request(ack)) = parse_datagram(&acks[0].bytes, &Limits::default()) else { panic!("ACK parses") };
    assert_eq!(ack.headers.top_via().and_then(|v| v.branch().map(str::to_owned)).as_deref(), Some("z9hG4bKa"));
    assert_eq!(ack.headers.to().and_then(|t| t.tag().map(str::to_owned)).as_deref(), Some("b1"));
    assert!(matches!(&events[..], [Event::Response { response, .. }] if response.status.as_u16() == 486));
    l.handle_response(at(600), response_to(&invite, 486), peer_udp());
    let (again, events) = drain(&mut l);
    assert_eq!((again.len(), events.len()), (1, 0), "ACK resent, response absorbed");
    let (_, events) = run_until(&mut l, 40_000);
    assert_eq!(events, vec![Event::Terminated { id }], "timer D ends it quietly");
}

#[test]
fn client_invite_passes_every_2xx_to_the_tu_until_timer_m() {
    let mut l = layer();
    let invite = request("INVITE", "z9hG4bKa", "UDP");
    let id = l.send_request(at(0), invite.clone(), peer_udp()).expect("sent");
    l.handle_response(at(50), response_to(&invite, 180), peer_udp());
    l.handle_response(at(90), response_to(&invite, 200), peer_udp());
    l.handle_response(at(600), response_to(&invite, 200), peer_udp());
    let (transmits, events) = drain(&mut l);
    assert_eq!(transmits.len(), 1, "no ACK from the transaction for a 2xx");
    assert_eq!(events.iter().filter(|e| matches!(e, Event::Response { .. })).count(), 3);
    let (_, events) = run_until(&mut l, 40_000);
    assert_eq!(events, vec![Event::Terminated { id }]);
}

#[test]
fn client_non_invite_retransmits_with_timer_e_capped_at_t2_until_timer_f() {
    let mut l = layer();
    let id = l.send_request(at(0), request("OPTIONS", "z9hG4bKo", "UDP"), peer_udp()).expect("sent");
    drain(&mut l);
    let (resent, events) = run_until(&mut l, 40_000);
    assert_eq!(resent, vec![500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    assert_eq!(events, vec![Event::Timeout { id }, Event::Terminated { id }]);
}

#[test]
fn client_non_invite_final_response_ends_after_timer_k() {
    let mut l = layer();
    let options = request("OPTIONS", "z9hG4bKo", "UDP");
    let id = l.send_request(at(0), options.clone(), peer_udp()).expect("sent");
    l.handle_response(at(20), response_to(&options, 200), peer_udp());
    l.handle_response(at(30), response_to(&options, 200), peer_udp());
    let (_, events) = drain(&mut l);
    assert_eq!(events.len(), 1, "the retransmitted final response is absorbed");
    let (resent, events) = run_until(&mut l, 10_000);
    assert!(resent.is_empty());
    assert_eq!(events, vec![Event::Terminated { id }]);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn server_invite_sends_100_trying_and_answers_a_retransmission_with_the_last_response() {
    let mut l = layer();
    let invite = request("INVITE", "z9hG4bKs", "UDP");
    l.handle_request(at(0), invite.clone(), peer_udp());
    let (transmits, events) = drain(&mut l);
    assert_eq!(first_line(&transmits[0].bytes), "SIP/2.0 100 Trying");
    let Some(Event::Request { id, request, .. }) = events.into_iter().next() else { panic!("request event") };
    l.send_response(at(10), id, response_to(&request, 180)).expect("ringing");
    drain(&mut l);
    l.handle_request(at(500), invite, peer_udp());
    let (transmits, events) = drain(&mut l);
    assert_eq!(first_line(&transmits[0].bytes), "SIP/2.0 180 Ringing");
    assert!(events.is_empty(), "the retransmission is absorbed");
    assert_eq!(l.counters().absorbed_retransmissions, 1);
}

fn server_invite(l: &mut TransactionLayer, transport: &str) -> (TransactionId, Request) {
    let peer = if transport == "UDP" { peer_udp() } else { peer_tcp() };
    l.handle_request(at(0), request("INVITE", "z9hG4bKs", transport), peer);
    match drain(l).1.into_iter().next() {
        Some(Event::Request { id, request, .. }) => (id, request),
        other => panic!("expected a request event, got {other:?}"),
    }
}

#[test]
fn server_invite_error_is_retransmitted_with_timer_g_until_the_ack() {
    let mut l = layer();
    let (id, invite) = server_invite(&mut l, "UDP");
    l.send_response(at(0), id, response_to(&invite, 486)).expect("busy");
    drain(&mut l);
    let (resent, _) = run_until(&mut l, 8_000);
    assert_eq!(resent, vec![500, 1500, 3500, 7500]);
    l.handle_request(at(8_000), request("ACK", "z9hG4bKs", "UDP"), peer_udp());
    let (_, events) = drain(&mut l);
    assert!(events.is_empty(), "the ACK for an error is absorbed");
    let (resent, events) = run_until(&mut l, 20_000);
    assert!(resent.is_empty(), "no retransmission once confirmed");
    assert_eq!(events, vec![Event::Terminated { id }], "timer I (T4) ends it");
}

#[test]
fn server_invite_error_without_ack_times_out_with_timer_h() {
    let mut l = layer();
    let (id, invite) = server_invite(&mut l, "UDP");
    l.send_response(at(0), id, response_to(&invite, 603)).expect("decline");
    drain(&mut l);
    let (_, events) = run_until(&mut l, 40_000);
    assert_eq!(events, vec![Event::Timeout { id }, Event::Terminated { id }]);
}

#[test]
fn server_2xx_is_resent_until_the_ack_with_a_new_branch_arrives() {
    let mut l = layer();
    let (id, invite) = server_invite(&mut l, "UDP");
    l.send_response(at(0), id, response_to(&invite, 200)).expect("ok");
    drain(&mut l);
    let (resent, _) = run_until(&mut l, 2_000);
    assert_eq!(resent, vec![500, 1500]);
    l.handle_request(at(2_000), request("ACK", "z9hG4bKack2xx", "UDP"), peer_udp());
    let (_, events) = drain(&mut l);
    assert!(matches!(&events[..], [Event::Ack { invite: Some(i), .. }] if *i == id));
    let (resent, events) = run_until(&mut l, 40_000);
    assert!(resent.is_empty());
    assert_eq!(events, vec![Event::Terminated { id }], "no timeout once acknowledged");
}

#[test]
fn server_non_invite_resends_its_final_response_and_ends_after_timer_j() {
    let mut l = layer();
    let options = request("OPTIONS", "z9hG4bKn", "UDP");
    l.handle_request(at(0), options.clone(), peer_udp());
    let Some(Event::Request { id, request, .. }) = drain(&mut l).1.into_iter().next() else { panic!("event") };
    l.handle_request(at(10), options.clone(), peer_udp());
    assert!(drain(&mut l).0.is_empty(), "retransmission while Trying is absorbed silently");
    l.send_response(at(20), id, response_to(&request, 200)).expect("ok");
    drain(&mut l);
    l.handle_request(at(600), options, peer_udp());
    assert_eq!(first_line(&drain(&mut l).0[0].bytes), "SIP/2.0 200 OK");
    let (_, events) = run_until(&mut l, 32_019);
    assert!(events.is_empty(), "timer J is 64*T1 after the response");
    let (_, events) = run_until(&mut l, 32_020);
    assert_eq!(events, vec![Event::Terminated { id }]);
}

#[test]
fn server_non_invite_over_tcp_ends_as_soon_as_it_answers() {
    let mut l = layer();
    l.handle_request(at(0), request("OPTIONS", "z9hG4bKn", "TCP"), peer_tcp());
    let Some(Event::Request { id, request, .. }) = drain(&mut l).1.into_iter().next() else { panic!("event") };
    l.send_response(at(5), id, response_to(&request, 200)).expect("ok");
    assert_eq!(l.poll_timeout(), Some(at(5)));
    l.handle_timeout(at(5));
    assert!(l.is_empty());
}

#[test]
fn cancel_matches_its_invite_and_is_answered_200() {
    let mut l = layer();
    let (id, _) = server_invite(&mut l, "UDP");
    l.handle_request(at(100), request("CANCEL", "z9hG4bKs", "UDP"), peer_udp());
    let (transmits, events) = drain(&mut l);
    assert_eq!(first_line(&transmits[0].bytes), "SIP/2.0 200 OK");
    assert!(matches!(&events[..], [Event::Cancelled { invite, .. }] if *invite == id));
}

#[test]
fn cancel_for_no_invite_is_answered_481() {
    let mut l = layer();
    l.handle_request(at(0), request("CANCEL", "z9hG4bKnone", "UDP"), peer_udp());
    let (transmits, events) = drain(&mut l);
    assert_eq!(first_line(&transmits[0].bytes), "SIP/2.0 481 Call/Transaction Does Not Exist");
    assert!(events.is_empty());
}

#[test]
fn rfc2543_request_without_magic_cookie_is_matched_by_the_fallback_rule() {
    let mut l = layer();
    let old = request("INVITE", "390skdjuw", "UDP");
    l.handle_request(at(0), old.clone(), peer_udp());
    let (_, events) = drain(&mut l);
    assert_eq!(events.len(), 1);
    l.handle_request(at(500), old, peer_udp());
    let (transmits, events) = drain(&mut l);
    assert!(events.is_empty(), "recognised as a retransmission");
    assert_eq!(first_line(&transmits[0].bytes), "SIP/2.0 100 Trying");
}

#[test]
fn beyond_max_transactions_new_requests_get_503() {
    let mut l = TransactionLayer::new(TransactionConfig { max_transactions: 1, ..TransactionConfig::default() });
    l.handle_request(at(0), request("OPTIONS", "z9hG4bK1", "UDP"), peer_udp());
    drain(&mut l);
    l.handle_request(at(0), request("OPTIONS", "z9hG4bK2", "UDP"), peer_udp());
    let (transmits, events) = drain(&mut l);
    assert_eq!(first_line(&transmits[0].bytes), "SIP/2.0 503 Service Unavailable");
    assert!(events.is_empty());
    assert_eq!(l.counters().refused_over_limit, 1);
    let refused = l.send_request(at(0), request("OPTIONS", "z9hG4bK3", "UDP"), peer_udp());
    assert_eq!(refused, Err(TransactionError::TooManyTransactions { max_transactions: 1 }));
}

#[test]
fn requests_get_received_and_rport_stamped_and_responses_go_to_the_source_port() {
    let mut l = layer();
    let mut req = request("OPTIONS", "z9hG4bKr", "UDP");
    req.headers.set(HeaderName::Via, "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKr;rport");
    let nat = Peer::udp("203.0.113.9:40001".parse().expect("addr"));
    l.handle_request(at(0), req, nat.clone());
    let Some(Event::Request { id, request, .. }) = drain(&mut l).1.into_iter().next() else { panic!("event") };
    let via = request.headers.top_via().expect("via");
    assert_eq!((via.received(), via.rport()), (Some("203.0.113.9"), Some(Some(40001))));
    l.send_response(at(1), id, response_to(&request, 200)).expect("ok");
    assert_eq!(drain(&mut l).0[0].destination, nat);
}

#[test]
fn cancel_waits_for_a_provisional_response_before_going_out() {
    let mut l = layer();
    let invite = request("INVITE", "z9hG4bKc", "UDP");
    let id = l.send_request(at(0), invite.clone(), peer_udp()).expect("sent");
    drain(&mut l);
    assert_eq!(l.send_cancel(at(10), id), Ok(None));
    assert!(drain(&mut l).0.is_empty());
    l.handle_response(at(50), response_to(&invite, 180), peer_udp());
    let (transmits, _) = drain(&mut l);
    assert_eq!(first_line(&transmits[0].bytes), "CANCEL sip:bob@example.com SIP/2.0");
}

#[test]
fn a_response_for_no_transaction_is_reported_as_stray() {
    let mut l = layer();
    let invite = request("INVITE", "z9hG4bKgone", "UDP");
    l.handle_response(at(0), response_to(&invite, 200), peer_udp());
    let (_, events) = drain(&mut l);
    assert!(matches!(&events[..], [Event::StrayResponse { .. }]));
    assert_eq!(l.counters().stray_responses, 1);
}

#[test]
fn t1_is_configurable() {
    let timers = TimerConfig { t1_ms: 100, t2_ms: 400, t4_ms: 500 };
    let mut l = TransactionLayer::new(TransactionConfig { timers, ..TransactionConfig::default() });
    l.send_request(at(0), request("OPTIONS", "z9hG4bKo", "UDP"), peer_udp()).expect("sent");
    drain(&mut l);
    let (resent, events) = run_until(&mut l, 10_000);
    assert_eq!(&resent[..4], &[100, 300, 700, 1100]);
    assert!(matches!(events.first(), Some(Event::Timeout { .. })));
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn a_transport_error_ends_the_transaction_and_tells_the_tu() {
    let mut l = layer();
    let id = l.send_request(at(0), request("OPTIONS", "z9hG4bKt", "TCP"), peer_tcp()).expect("sent");
    let (transmits, _) = drain(&mut l);
    assert_eq!(transmits[0].transaction, Some(id));
    l.handle_transport_error(id);
    assert_eq!(drain(&mut l).1, vec![Event::TransportError { id }, Event::Terminated { id }]);
    assert!(l.is_empty());
}

#[test]
fn cancel_after_the_final_response_is_answered_200_but_changes_nothing() {
    let mut l = layer();
    let (id, invite) = server_invite(&mut l, "UDP");
    l.send_response(at(0), id, response_to(&invite, 200)).expect("ok");
    drain(&mut l);
    l.handle_request(at(100), request("CANCEL", "z9hG4bKs", "UDP"), peer_udp());
    let (transmits, events) = drain(&mut l);
    assert_eq!(first_line(&transmits[0].bytes), "SIP/2.0 200 OK");
    assert!(!events.iter().any(|e| matches!(e, Event::Cancelled { .. })));
}

#[test]
fn handle_input_is_the_same_as_the_specific_calls() {
    let mut l = layer();
    let message = Message::Request(request("OPTIONS", "z9hG4bKi", "UDP"));
    l.handle_input(at(0), Input::Received { message, source: peer_udp() });
    let Some(Event::Request { id, request, .. }) = drain(&mut l).1.into_iter().next() else { panic!("event") };
    l.send_response(at(1), id, response_to(&request, 200)).expect("ok");
    drain(&mut l);
    l.handle_input(at(40_000), Input::Timeout);
    assert_eq!(drain(&mut l).1, vec![Event::Terminated { id }]);
}

#[test]
fn abandoned_server_transaction_ends_without_sending_and_frees_its_slot() {
    let mut l = TransactionLayer::new(TransactionConfig { max_transactions: 1, ..TransactionConfig::default() });
    l.handle_request(at(0), request("REGISTER", "z9hG4bKdrop1", "UDP"), peer_udp());
    let (_, events) = drain(&mut l);
    let Some(Event::Request { id, .. }) = events.first().cloned() else { panic!("no request event: {events:?}") };
    l.abandon(id);
    let (transmits, events) = drain(&mut l);
    assert!(transmits.is_empty(), "abandoning sent {transmits:?}");
    assert_eq!(events, vec![Event::Terminated { id }]);
    assert!(l.is_empty());
    l.handle_request(at(10), request("REGISTER", "z9hG4bKdrop2", "UDP"), peer_udp());
    let (transmits, events) = drain(&mut l);
    assert!(transmits.is_empty(), "the next request was refused: {transmits:?}");
    assert!(matches!(events.first(), Some(Event::Request { .. })), "{events:?}");
}
