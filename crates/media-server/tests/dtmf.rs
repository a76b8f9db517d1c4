//! DTMF over real UDP: RFC 4733 packets replayed from sipp's pcaps, in-band tones, digits sent.

mod common;

use std::time::Duration;

use common::{Phone, config, goertzel_share, pcap_udp_payloads, rms, start, tone, voiced, wait_event};
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

/// Starts sipp (Debian `sip-tester`) as a UAS running `scenario`, sends it an INVITE whose SDP
/// points at `media_port` and ACKs its 200. sipp then plays its pcap there (`play_pcap_audio`).
async fn sipp_plays_to(scenario: &str, sip_port: u16, media_port: u16, dir: &std::path::Path) -> std::process::Child {
    let scenario = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(scenario);
    let sipp = std::process::Command::new("sipp")
        .arg("-sf")
        .arg(&scenario)
        .args(["-i", "127.0.0.1", "-p", &sip_port.to_string(), "-mp", &(sip_port + 50).to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "10s", "-timeout_error", "-trace_err"])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sipp runs (apt-get install -y sip-tester)");
    let sip = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let sipp_sip = std::net::SocketAddr::from(([127, 0, 0, 1], sip_port));
    let invite = sip_request("INVITE", sip.local_addr().expect("bound"), sipp_sip, media_port);
    let mut answered = false;
    let mut buf = [0u8; 4096];
    for _ in 0..20 {
        sip.send_to(invite.as_bytes(), sipp_sip).await.expect("send INVITE"); // until sipp listens
        if let Ok(Ok((n, _))) = tokio::time::timeout(Duration::from_millis(250), sip.recv_from(&mut buf)).await {
            answered = buf[..n].starts_with(b"SIP/2.0 200");
            break;
        }
    }
    assert!(answered, "sipp did not answer: {}", String::from_utf8_lossy(&buf[..64]));
    let ack = sip_request("ACK", sip.local_addr().expect("bound"), sipp_sip, media_port);
    sip.send_to(ack.as_bytes(), sipp_sip).await.expect("send ACK");
    sipp
}

async fn exits_cleanly(sipp: std::process::Child) {
    let mut sipp = sipp;
    let status = tokio::task::spawn_blocking(move || sipp.wait()).await.expect("join").expect("sipp exits");
    assert!(status.success(), "sipp: {status}");
}

#[tokio::test]
async fn digits_played_by_sipp_play_pcap_audio_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, mut events, task) = start(config(23_300, 8, dir.path()));
    let (call, local) = server.allocate_call().await.expect("ports free");
    let sipp_media = std::net::SocketAddr::from(([127, 0, 0, 1], 25_950));
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcma, sipp_media), None).await.expect("leg");
    let sipp = sipp_plays_to("uas_play_dtmf.xml", 25_900, local.port(), dir.path()).await;
    let got = wait_event(&mut events, Duration::from_secs(5), |e| match e.event {
        MediaEvent::Dtmf { digit, source: DtmfSource::Rfc4733, .. } => Some(digit.as_char()),
        _ => None,
    })
    .await;
    exits_cleanly(sipp).await;
    assert_eq!(got, Some('3'));
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

/// sipp's PCMA speech (30 ms packets) on the customer leg reaches a µ-law agent phone transcoded.
#[tokio::test]
async fn speech_played_by_sipp_reaches_a_mu_law_agent_transcoded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(23_400, 8, dir.path()));
    let agent = Phone::new(Codec::Pcmu).await;
    let (call, local) = server.allocate_call().await.expect("ports free");
    server.allocate_leg(call, LegId::Agent).await.expect("ports free");
    let sipp_media = std::net::SocketAddr::from(([127, 0, 0, 1], 26_050));
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcma, sipp_media), None).await.expect("customer");
    server.add_leg(call, LegId::Agent, LegSpec::new(Codec::Pcmu, agent.addr()), None).await.expect("agent");
    server.connect(call).await.expect("connect");
    let sipp = sipp_plays_to("uas_play_speech.xml", 26_000, local.port(), dir.path()).await;
    let heard = agent.receive_for(Duration::from_millis(1500)).await;
    exits_cleanly(sipp).await;
    assert!(heard.audio_packets >= 30, "{} packets of speech", heard.audio_packets);
    assert!(heard.payload_types.iter().all(|&pt| pt == 0), "{:?}", heard.payload_types);
    assert!(rms(&heard.samples) > 100.0, "speech rms {}", rms(&heard.samples));
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

/// sipp's PCMA speech on a customer leg answered PCMU: a caller that offered PCMA first and PCMU
/// second, answered with our preferred PCMU, which keeps playing its PCMA pcap (30 ms packets), as
/// in the voice path's sipp callers. Its speech must be in the recording's left channel and reach
/// the agent; the agent's tone in the right channel. (The left channel was silent.)
#[tokio::test]
async fn speech_played_by_sipp_on_a_leg_answered_pcmu_is_recorded_on_the_left_channel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(26_800, 8, dir.path()));
    let agent = Phone::new(Codec::Pcmu).await;
    let (call, local) = server.allocate_call().await.expect("ports free");
    let to_agent_leg = server.allocate_leg(call, LegId::Agent).await.expect("ports free");
    let sipp_media = std::net::SocketAddr::from(([127, 0, 0, 1], 26_950));
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, sipp_media), None).await.expect("customer");
    server.add_leg(call, LegId::Agent, LegSpec::new(Codec::Pcmu, agent.addr()), None).await.expect("agent");
    server.connect(call).await.expect("connect");
    let path = server.start_recording(call, "speech.wav").await.expect("recording starts");
    let sipp = sipp_plays_to("uas_play_speech.xml", 26_900, local.port(), dir.path()).await;
    let (heard, ()) =
        tokio::join!(agent.receive_for(Duration::from_millis(1500)), agent.send_tone(to_agent_leg, 440.0, 6000.0, 75));
    exits_cleanly(sipp).await;
    server.close(call).await.expect("closed").recording.expect("was recording").expect("finished");
    let wav = media::wav::read_wav(&std::fs::read(&path).expect("recording"), u64::MAX).expect("a valid WAV");
    let channel = |c: usize| -> Vec<i16> { wav.samples.iter().skip(c).step_by(2).copied().collect() };
    let left_voiced_s = voiced(&channel(0)).len() as f64 / 8000.0;
    assert!(left_voiced_s >= 0.5, "customer (left) channel: {left_voiced_s:.2} s of speech");
    assert!(rms(&heard.samples) > 100.0, "the agent hears the speech: rms {}", rms(&heard.samples));
    let right = voiced(&channel(1));
    assert!(
        goertzel_share(&right, 440.0) > 0.8,
        "agent (right) channel: 440 Hz share {}",
        goertzel_share(&right, 440.0)
    );
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

/// A minimal INVITE or ACK whose SDP offers PCMA + telephone-event at the media server's port.
fn sip_request(method: &str, from: std::net::SocketAddr, to: std::net::SocketAddr, media_port: u16) -> String {
    let sdp = format!(
        "v=0\r\no=hotline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {media_port} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    let (body, cseq) = if method == "INVITE" { (sdp.as_str(), "1 INVITE") } else { ("", "1 ACK") };
    let content_type = if body.is_empty() { "" } else { "Content-Type: application/sdp\r\n" };
    format!(
        "{method} sip:sipp@{to} SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK-media-{method}\r\nFrom: <sip:test@127.0.0.1>;tag=media\r\nTo: <sip:sipp@127.0.0.1>\r\nCall-ID: media-server-sipp-test\r\nCSeq: {cseq}\r\nContact: <sip:test@{from}>\r\nMax-Forwards: 70\r\n{content_type}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}
