//! Parser throughput: messages per second for a typical INVITE with SDP and a REGISTER.
//! Run: `cargo bench -p sip --bench parser -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sip::message::{Limits, Message, parse_datagram};
use sip::sdp::SessionDescription;

const SDP: &str = "v=0\r\n\
o=- 3912345678 3912345678 IN IP4 198.51.100.20\r\n\
s=-\r\n\
c=IN IP4 198.51.100.20\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

fn invite() -> Vec<u8> {
    format!(
        "INVITE sip:4000@hotline.example SIP/2.0\r\n\
Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5f6;rport\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:+14155550100@198.51.100.20:5060;transport=udp>\r\n\
To: <sip:4000@hotline.example>\r\n\
From: \"Customer\" <sip:+14155550100@trunk.example>;tag=9fxced76sl\r\n\
Call-ID: 3848276298220188511@198.51.100.20\r\n\
CSeq: 1 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, INFO, UPDATE\r\n\
Supported: replaces, timer\r\n\
User-Agent: Trunk/1.0\r\n\
P-Asserted-Identity: <sip:+14155550100@trunk.example>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
    .into_bytes()
}

const REGISTER: &[u8] = b"REGISTER sip:hotline.example SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.23:5062;rport;branch=z9hG4bKPjd7f0c6a2b1\r\n\
Max-Forwards: 70\r\n\
From: <sip:1001@hotline.example>;tag=ac5b2c3e\r\n\
To: <sip:1001@hotline.example>\r\n\
Call-ID: 8d3c55f1b06a4f4e9f@10.0.0.23\r\n\
CSeq: 4 REGISTER\r\n\
User-Agent: baresip v3.10.1 (x86_64/linux)\r\n\
Contact: <sip:1001-0x55d1@10.0.0.23:5062;transport=udp>;expires=3600;+sip.instance=\"<urn:uuid:6a7b1c2d-0000-4000-8000-001122334455>\"\r\n\
Expires: 3600\r\n\
Authorization: Digest username=\"1001\", realm=\"hotline.example\", nonce=\"00000190f5b1a2c300000000000000076b0f4c3a\", uri=\"sip:hotline.example\", response=\"4f0c6ab7e7f6b2f1c3d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7\", algorithm=SHA-256, cnonce=\"a1b2c3\", qop=auth, nc=00000001\r\n\
Content-Length: 0\r\n\r\n";

fn parser(c: &mut Criterion) {
    let limits = Limits::default();
    let invite = invite();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("invite_with_sdp", |b| {
        b.iter(|| {
            let parsed = parse_datagram(black_box(&invite), &limits);
            assert!(matches!(parsed, Ok(Message::Request(_))));
            parsed
        })
    });
    group.bench_function("register", |b| {
        b.iter(|| {
            let parsed = parse_datagram(black_box(REGISTER), &limits);
            assert!(matches!(parsed, Ok(Message::Request(_))));
            parsed
        })
    });
    group.bench_function("sdp_body", |b| b.iter(|| SessionDescription::parse(black_box(SDP))));
    group.finish();
    let Ok(message) = parse_datagram(&invite, &limits) else { return };
    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::Elements(1));
    group.bench_function("invite_with_sdp", |b| b.iter(|| black_box(&message).to_bytes()));
    group.finish();
}

criterion_group!(benches, parser);
criterion_main!(benches);
