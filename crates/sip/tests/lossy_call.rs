//! Deterministic simulation: a caller and a callee, each with its own transaction layer, talk over
//! a fake UDP network that loses packets (seeded, reproducible). A whole call — INVITE, 180, 200,
//! ACK, BYE, 200 — must complete for every seed, with retransmissions absorbed: the callee's TU
//! sees the INVITE once and the BYE once.

use std::net::SocketAddr;

use model::Timestamp;
use sip::dialog::Dialog;
use sip::message::{HeaderName, Host, Limits, Method, Request, StatusCode, Transport, Uri, Via, parse_datagram};
use sip::transaction::{Event, Peer, TransactionConfig, TransactionLayer};

/// A tiny deterministic generator (LCG): no dependency, same run for the same seed.
struct Lcg(u64);

impl Lcg {
    fn next_percent(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % 100
    }
}

const CALLER: &str = "10.0.0.1:5060";
const CALLEE: &str = "10.0.0.2:5060";
const LATENCY_MS: i64 = 20;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("literal address")
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_700_000_000_000 + ms)
}

fn via(host: &str, branch: &str) -> Via {
    Via::new(Transport::udp(), Host::parse(host).expect("host"), Some(5060), branch)
}

fn invite() -> Request {
    let mut r = Request::new(Method::Invite, Uri::parse("sip:4000@10.0.0.2").expect("uri"));
    r.headers.push(HeaderName::Via, via("10.0.0.1", "z9hG4bKinv1").to_string());
    r.headers.push(HeaderName::MaxForwards, "70");
    r.headers.push(HeaderName::From, "<sip:alice@10.0.0.1>;tag=alice1");
    r.headers.push(HeaderName::To, "<sip:4000@10.0.0.2>");
    r.headers.push(HeaderName::CallId, "sim-call-1");
    r.headers.push(HeaderName::CSeq, "1 INVITE");
    r.headers.push(HeaderName::Contact, "<sip:alice@10.0.0.1:5060>");
    r
}

struct Packet {
    deliver_at: i64,
    to_callee: bool,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Outcome {
    invites_seen_by_callee: usize,
    byes_seen_by_callee: usize,
    acks_seen_by_callee: usize,
    bye_answered: bool,
}

struct Sim {
    caller: TransactionLayer,
    callee: TransactionLayer,
    network: Vec<Packet>,
    rng: Lcg,
    loss_percent: u64,
    dialog: Option<Dialog>,
    outcome: Outcome,
}

impl Sim {
    fn flush(&mut self, now: i64) {
        for (layer, to_callee) in [(&mut self.caller, true), (&mut self.callee, false)] {
            while let Some(t) = layer.poll_transmit() {
                if self.rng.next_percent() >= self.loss_percent {
                    self.network.push(Packet { deliver_at: now + LATENCY_MS, to_callee, bytes: t.bytes });
                }
            }
        }
    }

    fn deliver(&mut self, now: i64) {
        let (due, later): (Vec<Packet>, Vec<Packet>) = self.network.drain(..).partition(|p| p.deliver_at <= now);
        self.network = later;
        for p in due {
            let message = parse_datagram(&p.bytes, &Limits::default()).expect("what a layer sends parses");
            let (layer, from) = if p.to_callee { (&mut self.callee, CALLER) } else { (&mut self.caller, CALLEE) };
            layer.handle_message(at(now), message, Peer::udp(addr(from)));
        }
    }

    fn callee_tu(&mut self, now: i64) {
        while let Some(event) = self.callee.poll_event() {
            match event {
                Event::Request { id, request, .. } => {
                    let is_invite = request.method == Method::Invite;
                    self.outcome.invites_seen_by_callee += usize::from(is_invite);
                    self.outcome.byes_seen_by_callee += usize::from(request.method == Method::Bye);
                    if is_invite {
                        let ringing = request.response(StatusCode::RINGING, Some("bob1"));
                        self.callee.send_response(at(now), id, ringing).expect("ringing");
                    }
                    let mut ok = request.response(StatusCode::OK, Some("bob1"));
                    ok.headers.push(HeaderName::Contact, "<sip:4000@10.0.0.2:5060>");
                    self.callee.send_response(at(now), id, ok).expect("ok");
                }
                Event::Ack { .. } => self.outcome.acks_seen_by_callee += 1,
                _ => {}
            }
        }
    }

    fn caller_tu(&mut self, now: i64, invite: &Request) {
        while let Some(event) = self.caller.poll_event() {
            let Event::Response { response, .. } = event else { continue };
            let method = response.headers.cseq().map(|c| c.method);
            if method == Some(Method::Bye) && response.status.is_final() {
                self.outcome.bye_answered = true;
            }
            if method != Some(Method::Invite) || !response.status.is_success() {
                continue;
            }
            let first_2xx = self.dialog.is_none();
            let dialog = self.dialog.get_or_insert_with(|| Dialog::new_uac(invite, &response).expect("dialog"));
            let ack = dialog.ack(1, &via("10.0.0.1", "z9hG4bKack1"));
            self.caller.send_ack(&ack, Peer::udp(addr(CALLEE)));
            if first_2xx {
                let bye = dialog.request(Method::Bye, &via("10.0.0.1", "z9hG4bKbye1"));
                self.caller.send_request(at(now), bye, Peer::udp(addr(CALLEE))).expect("bye");
            }
        }
    }

    fn next_time(&self) -> Option<i64> {
        let timers = [self.caller.poll_timeout(), self.callee.poll_timeout()]
            .into_iter()
            .flatten()
            .map(|t| t.unix_ms() - at(0).unix_ms());
        let packets = self.network.iter().map(|p| p.deliver_at);
        timers.chain(packets).min()
    }
}

fn run_call(seed: u64, loss_percent: u64) -> Outcome {
    let mut sim = Sim {
        caller: TransactionLayer::new(TransactionConfig::default()),
        callee: TransactionLayer::new(TransactionConfig::default()),
        network: Vec::new(),
        rng: Lcg(seed),
        loss_percent,
        dialog: None,
        outcome: Outcome::default(),
    };
    let invite = invite();
    sim.caller.send_request(at(0), invite.clone(), Peer::udp(addr(CALLEE))).expect("invite");
    let mut now = 0;
    sim.flush(now);
    while let Some(next) = sim.next_time() {
        now = next.max(now);
        if now > 120_000 {
            break;
        }
        sim.deliver(now);
        sim.caller.handle_timeout(at(now));
        sim.callee.handle_timeout(at(now));
        sim.callee_tu(now);
        sim.caller_tu(now, &invite);
        sim.flush(now);
    }
    sim.outcome
}

#[test]
fn a_call_completes_on_a_perfect_network_with_no_retransmission_seen_by_the_tu() {
    let o = run_call(1, 0);
    assert_eq!((o.invites_seen_by_callee, o.byes_seen_by_callee, o.acks_seen_by_callee), (1, 1, 1));
    assert!(o.bye_answered);
}

#[test]
fn a_call_completes_on_a_lossy_network_for_every_seed() {
    for seed in 0..40 {
        let o = run_call(seed, 30);
        assert_eq!(o.invites_seen_by_callee, 1, "seed {seed}: INVITE retransmissions reached the TU");
        assert_eq!(o.byes_seen_by_callee, 1, "seed {seed}: BYE retransmissions reached the TU");
        assert!(o.acks_seen_by_callee >= 1, "seed {seed}: the 2xx was never acknowledged");
        assert!(o.bye_answered, "seed {seed}: the BYE got no answer");
    }
}
