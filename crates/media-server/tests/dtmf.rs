//! DTMF over real UDP: RFC 4733 packets replayed from sipp's pcaps, in-band tones, digits sent.

mod common;

use std::time::Duration;

use common::{Phone, config, pcap_udp_payloads, start, tone, wait_event};
use media::bridge::{DtmfSource, LegId, MediaEvent};
use media::codec::Codec;
use media_server::LegSpec;

const SIPP_PCAPS: &str = "/usr/share/sip-tester";

/// Replays a sipp pcap's RTP payloads at 20 ms spacing to `to`.
async fn replay(phone: &Phone, to: std::net::SocketAddr, packets: &[Vec<u8>]) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for p in packets {
        tick.tick().await;
        phone.socket.send_to(p, to).await.expect("loopback send");
    }
}

#[tokio::test]
async fn rfc4733_digits_from_sipp_pcaps_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, mut events, task) = start(config(23_000, 8, dir.path()));
    let phone = Phone::new(Codec::Pcma).await;
    let (call, local) = server.allocate_call().await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcma, phone.addr()), None).await.expect("leg");
    for (file, key) in [("dtmf_2833_3.pcap", '3'), ("dtmf_2833_pound.pcap", '#'), ("dtmf_2833_star.pcap", '*')] {
        let path = std::path::Path::new(SIPP_PCAPS).join(file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e} (apt-get install -y sip-tester)"));
        let packets = pcap_udp_payloads(&bytes);
        assert!(packets.len() >= 5, "{file} holds {} UDP packets", packets.len());
        replay(&phone, local, &packets).await;
        let got = wait_event(&mut events, Duration::from_secs(2), |e| match e.event {
            MediaEvent::Dtmf { digit, source: DtmfSource::Rfc4733, .. } if e.call == call => Some(digit.as_char()),
            _ => None,
        })
        .await;
        assert_eq!(got, Some(key), "{file}");
    }
    server.close(call).await.expect("close");
    drop(server);
    task.await.expect("task");
}

#[tokio::test]
async fn inband_dtmf_tone_is_detected_as_a_digit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, mut events, task) = start(config(23_100, 8, dir.path()));
    let phone = Phone::new(Codec::Pcmu).await;
    let (call, local) = server.allocate_call().await.expect("ports free");
    let spec = LegSpec { inband_dtmf: true, telephone_event_pt: None, ..LegSpec::new(Codec::Pcmu, phone.addr()) };
    server.add_leg(call, LegId::Customer, spec, None).await.expect("leg");
    // Key '7' = 852 Hz + 1209 Hz for 100 ms, then silence; generated here, not by the core.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for f in 0..15 {
        tick.tick().await;
        let samples: Vec<i16> = if f < 5 {
            let low = tone(852.0, 6000.0, f * 160, 160);
            let high = tone(1209.0, 6000.0, f * 160, 160);
            low.iter().zip(&high).map(|(a, b)| a + b).collect()
        } else {
            vec![0; 160]
        };
        phone.send_frame(local, &samples).await;
    }
    let got = wait_event(&mut events, Duration::from_secs(2), |e| match e.event {
        MediaEvent::Dtmf { digit, source: DtmfSource::Inband, .. } => Some(digit.as_char()),
        _ => None,
    })
    .await;
    assert_eq!(got, Some('7'));
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn a_digit_sent_to_a_leg_arrives_as_rfc4733_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(23_200, 8, dir.path()));
    let phone = Phone::new(Codec::Pcmu).await;
    let (call, _) = server.allocate_call().await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, phone.addr()), None).await.expect("leg");
    server.send_dtmf(call, LegId::Customer, '5', 100).await.expect("queued");
    let got = phone.receive_for(Duration::from_millis(600)).await;
    let events: Vec<&Vec<u8>> =
        got.payload_types.iter().zip(&got.events).filter(|(pt, _)| **pt == 101).map(|(_, e)| e).collect();
    assert!(!events.is_empty(), "no telephone-event packet among {:?}", got.payload_types);
    assert!(events.iter().all(|e| e.first() == Some(&5)), "event codes {events:?}");
    assert!(events.iter().any(|e| e.get(1).is_some_and(|b| b & 0x80 != 0)), "no end packet");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}
