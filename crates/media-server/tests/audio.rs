//! Audio over real UDP: prompts reach the phone, two phones bridged (µ-law ↔ A-law), a stereo
//! recording checked with `sox`, media timeout, NAT latching.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use common::{Phone, config, goertzel_share, rms, start, tone, voiced, wait_event};
use media::bridge::{LegId, MediaEvent, MediaTimeoutReason};
use media::codec::Codec;
use media::prompt::PlaybackEnd;
use media_server::LegSpec;

#[tokio::test]
async fn a_prompt_reaches_the_phone_as_audio_of_its_frequency_and_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, mut events, task) = start(config(24_000, 8, dir.path()));
    let phone = Phone::new(Codec::Pcmu).await;
    let (call, _) = server.allocate_call().await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, phone.addr()), None).await.expect("leg");
    let prompt: Arc<[i16]> = tone(1000.0, 8000.0, 0, 8000).into(); // 1 s of 1 kHz
    server.play(call, LegId::Customer, vec![prompt], true).await.expect("play");
    let got = phone.receive_for(Duration::from_millis(1300)).await;
    assert!(got.audio_packets >= 45, "{} audio packets for a 1 s prompt", got.audio_packets);
    let loud: Vec<i16> = got.samples.iter().copied().skip_while(|s| s.abs() < 1000).take(4000).collect();
    assert!((rms(&loud) - 8000.0 / 2f64.sqrt()).abs() < 400.0, "rms {}", rms(&loud));
    assert!(goertzel_share(&loud, 1000.0) > 0.9, "1 kHz share {}", goertzel_share(&loud, 1000.0));
    assert!(goertzel_share(&loud, 1400.0) < 0.05);
    let ended = wait_event(&mut events, Duration::from_secs(1), |e| match e.event {
        MediaEvent::PlaybackEnded { leg: LegId::Customer, end } => Some(end),
        _ => None,
    });
    assert_eq!(ended.await, Some(PlaybackEnd::Finished));
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

/// Customer (µ-law) and agent (A-law) phones on one call, connected.
async fn bridged(
    server: &media_server::MediaServerHandle,
) -> (media_server::CallId, Phone, Phone, std::net::SocketAddr, std::net::SocketAddr) {
    let customer = Phone::new(Codec::Pcmu).await;
    let agent = Phone::new(Codec::Pcma).await;
    let (call, to_customer_leg) = server.allocate_call().await.expect("ports free");
    let to_agent_leg = server.allocate_leg(call, LegId::Agent).await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, customer.addr()), None).await.expect("customer");
    server.add_leg(call, LegId::Agent, LegSpec::new(Codec::Pcma, agent.addr()), None).await.expect("agent");
    server.connect(call).await.expect("connect");
    (call, customer, agent, to_customer_leg, to_agent_leg)
}

#[tokio::test]
async fn two_phones_hear_each_other_through_mu_law_to_a_law_transcoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(24_100, 8, dir.path()));
    let (call, customer, agent, c_leg, a_leg) = bridged(&server).await;
    let (c_heard, a_heard, (), ()) = tokio::join!(
        customer.receive_for(Duration::from_millis(1200)),
        agent.receive_for(Duration::from_millis(1200)),
        customer.send_tone(c_leg, 440.0, 6000.0, 50),
        agent.send_tone(a_leg, 1500.0, 6000.0, 50),
    );
    assert!(
        c_heard.audio_packets >= 40 && a_heard.audio_packets >= 40,
        "{} / {}",
        c_heard.audio_packets,
        a_heard.audio_packets
    );
    assert!(c_heard.payload_types.iter().all(|&pt| pt == 0), "customer got {:?}", c_heard.payload_types);
    assert!(a_heard.payload_types.iter().all(|&pt| pt == 8), "agent got {:?}", a_heard.payload_types);
    assert!(goertzel_share(&c_heard.samples, 1500.0) > 0.8, "customer hears the agent's 1500 Hz");
    assert!(goertzel_share(&a_heard.samples, 440.0) > 0.8, "agent hears the customer's 440 Hz");
    let report = server.close(call).await.expect("closed");
    let legs: Vec<LegId> = report.quality.iter().map(|(leg, _)| *leg).collect();
    assert_eq!(legs, [LegId::Customer, LegId::Agent]);
    for (leg, q) in &report.quality {
        assert!(q.packets_received >= 45 && q.loss_percent < 1.0 && q.mos > 4.0, "{leg:?}: {q:?}");
    }
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

/// `sox FILE -n remix CHANNEL trim START LEN stat` → (RMS amplitude, rough frequency).
fn sox_stat(file: &Path, channel: u8, start_s: f64, len_s: f64) -> (f64, f64) {
    let out = Command::new("sox")
        .arg(file)
        .args(["-n", "remix", &channel.to_string(), "trim", &start_s.to_string(), &len_s.to_string(), "stat"])
        .output()
        .expect("sox runs (apt-get install -y sox)");
    let text = String::from_utf8_lossy(&out.stderr);
    let field = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(':').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name:?} in sox output: {text}"))
    };
    (field("RMS     amplitude"), field("Rough   frequency"))
}

/// What `sox stat` reads as the rough frequency of a pure tone of `hz` at 8 kHz.
fn sox_reference_hz(dir: &Path, hz: u32) -> f64 {
    let file = dir.join(format!("reference-{hz}.wav"));
    let status = Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&file)
        .args(["synth", "1", "sine", &hz.to_string()])
        .status()
        .expect("sox runs");
    assert!(status.success());
    sox_stat(&file, 1, 0.0, 1.0).1
}

fn soxi(file: &Path, flag: &str) -> f64 {
    let out = Command::new("soxi").arg(flag).arg(file).output().expect("soxi runs (apt-get install -y sox)");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("soxi {flag}: {out:?}"))
}

#[tokio::test]
async fn a_bridged_call_is_recorded_to_a_stereo_wav_that_sox_confirms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(24_200, 8, dir.path()));
    let (call, customer, agent, c_leg, a_leg) = bridged(&server).await;
    let path = server.start_recording(call, "2026/11/call.wav").await.expect("recording starts");
    let started = Instant::now();
    let ((), ()) =
        tokio::join!(customer.send_tone(c_leg, 500.0, 8000.0, 100), agent.send_tone(a_leg, 1500.0, 8000.0, 100),);
    let report = server.close(call).await.expect("closed");
    let wall_s = started.elapsed().as_secs_f64();
    let info = report.recording.expect("was recording").expect("finished cleanly");
    assert_eq!(path, dir.path().join("2026/11/call.wav"));
    assert_eq!(soxi(&path, "-c"), 2.0);
    let seconds = soxi(&path, "-D");
    assert!((seconds - wall_s).abs() <= wall_s * 0.05, "recorded {seconds} s of a {wall_s} s call");
    assert!((info.duration_ms as f64 / 1000.0 - seconds).abs() < 0.05, "info {info:?} vs sox {seconds}");
    let (left_rms, left_hz) = sox_stat(&path, 1, 0.5, 1.0);
    let (right_rms, right_hz) = sox_stat(&path, 2, 0.5, 1.0);
    assert!(left_rms > 0.1 && right_rms > 0.1, "rms left {left_rms} right {right_rms}");
    // sox's "rough frequency" counts zero crossings (a pure 1500 Hz reads 1414 at 8 kHz), so each
    // channel is compared with what sox reads on a synthesised tone of the expected frequency.
    let (left_ref, right_ref) = (sox_reference_hz(dir.path(), 500), sox_reference_hz(dir.path(), 1500));
    assert!((left_hz - left_ref).abs() <= left_ref * 0.02, "customer (left) at {left_hz} Hz, 500 Hz reads {left_ref}");
    assert!(
        (right_hz - right_ref).abs() <= right_ref * 0.02,
        "agent (right) at {right_hz} Hz, 1500 Hz reads {right_ref}"
    );
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn media_timeout_fires_for_the_side_that_goes_silent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(24_300, 8, dir.path());
    cfg.media_timeout_ms = 400;
    let (server, mut events, task) = start(cfg);
    let (call, customer, agent, c_leg, a_leg) = bridged(&server).await;
    let timeouts = async {
        let mut seen = Vec::new();
        let end = tokio::time::Instant::now() + Duration::from_millis(1200);
        while let Ok(Some(e)) = tokio::time::timeout_at(end, events.recv()).await {
            if let MediaEvent::MediaTimeout { leg, reason: MediaTimeoutReason::NoRtp { silent_ms } } = e.event {
                seen.push((e.call, leg, silent_ms));
            }
        }
        seen
    };
    let (seen, (), ()) = tokio::join!(
        timeouts,
        customer.send_tone(c_leg, 500.0, 4000.0, 60),
        agent.send_tone(a_leg, 700.0, 4000.0, 10), // 200 ms, then silence
    );
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!((seen[0].0, seen[0].1), (call, LegId::Agent));
    assert!(seen[0].2 >= 400, "{seen:?}");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn rtp_from_another_port_than_signalled_is_latched_and_answered_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, mut events, task) = start(config(24_400, 8, dir.path()));
    let signalled = Phone::new(Codec::Pcmu).await; // what the SDP said; the NAT maps elsewhere
    let behind_nat = Phone::new(Codec::Pcmu).await;
    let (call, local) = server.allocate_call().await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, signalled.addr()), None).await.expect("leg");
    behind_nat.send_tone(local, 300.0, 3000.0, 3).await;
    let latched = wait_event(&mut events, Duration::from_secs(1), |e| match e.event {
        MediaEvent::Latched { leg: LegId::Customer, remote } => Some(remote),
        _ => None,
    });
    assert_eq!(latched.await, Some(behind_nat.addr()));
    let prompt: Arc<[i16]> = tone(1000.0, 8000.0, 0, 1600).into();
    server.play(call, LegId::Customer, vec![prompt], false).await.expect("play");
    let (at_nat, at_signalled) = tokio::join!(
        behind_nat.receive_for(Duration::from_millis(500)),
        signalled.receive_for(Duration::from_millis(500)),
    );
    assert!(at_nat.audio_packets >= 10, "{} packets reached the latched address", at_nat.audio_packets);
    assert!(goertzel_share(&voiced(&at_nat.samples), 1000.0) > 0.9);
    assert_eq!(at_signalled.audio_packets, 0, "the signalled address still got RTP");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn on_hold_the_customer_hears_music_and_the_agent_silence_until_unhold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(24_500, 8, dir.path()));
    let (call, customer, agent, c_leg, _) = bridged(&server).await;
    let music: Arc<[i16]> = tone(600.0, 6000.0, 0, 1600).into(); // 200 ms, looped
    server.hold(call, vec![music]).await.expect("hold");
    let (c_heard, a_heard, ()) = tokio::join!(
        customer.receive_for(Duration::from_millis(800)),
        agent.receive_for(Duration::from_millis(800)),
        customer.send_tone(c_leg, 440.0, 6000.0, 35),
    );
    let music_heard = voiced(&c_heard.samples);
    assert!(music_heard.len() >= 30 * 160, "{} samples of music for 800 ms", music_heard.len());
    assert!(goertzel_share(&music_heard, 600.0) > 0.9);
    assert!(rms(&a_heard.samples) < 50.0, "agent hears the held customer: rms {}", rms(&a_heard.samples));
    server.unhold(call).await.expect("unhold");
    let (a_heard, ()) =
        tokio::join!(agent.receive_for(Duration::from_millis(600)), customer.send_tone(c_leg, 440.0, 6000.0, 25),);
    assert!(goertzel_share(&voiced(&a_heard.samples), 440.0) > 0.9, "agent hears the customer after unhold");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn a_paused_recording_holds_silence_for_the_pause_and_keeps_the_timeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(24_600, 8, dir.path()));
    let (call, customer, agent, c_leg, a_leg) = bridged(&server).await;
    let path = server.start_recording(call, "pci.wav").await.expect("recording starts");
    let started = Instant::now();
    let pci = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        server.pause_recording(call, true).await.expect("pause");
        tokio::time::sleep(Duration::from_millis(500)).await;
        server.pause_recording(call, false).await.expect("resume");
    };
    let ((), (), ()) =
        tokio::join!(pci, customer.send_tone(c_leg, 500.0, 8000.0, 75), agent.send_tone(a_leg, 1000.0, 8000.0, 75),);
    let report = server.close(call).await.expect("closed");
    let wall_s = started.elapsed().as_secs_f64();
    let info = report.recording.expect("was recording").expect("finished cleanly");
    assert!((info.paused_ms as f64 - 500.0).abs() <= 100.0, "{info:?}");
    assert!((soxi(&path, "-D") - wall_s).abs() <= wall_s * 0.05, "the pause keeps the timeline");
    for channel in [1, 2] {
        assert!(sox_stat(&path, channel, 0.15, 0.25).0 > 0.1, "channel {channel} before the pause");
        assert!(sox_stat(&path, channel, 0.6, 0.3).0 < 0.001, "channel {channel} during the pause");
        assert!(sox_stat(&path, channel, 1.1, 0.25).0 > 0.1, "channel {channel} after the pause");
    }
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn hostile_datagrams_are_dropped_and_the_call_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, mut events, task) = start(config(24_700, 8, dir.path()));
    let phone = Phone::new(Codec::Pcmu).await;
    let (call, local) = server.allocate_call().await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, phone.addr()), None).await.expect("leg");
    let rtcp = std::net::SocketAddr::new(local.ip(), local.port() + 1);
    let hostile: [&[u8]; 6] = [
        b"",
        &[0x80],
        &[0xbf, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff], // 15 CSRCs announced, none present
        &[0x90, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff], // extension longer than the packet
        &[0x81, 0xc8, 0xff, 0xff, 0, 0, 0, 0],             // RTCP SR claiming 256 KiB
        &[0xa0, 0x65, 0, 2, 0, 0, 0, 160, 0, 0, 0, 1, 0xff], // telephone-event, padding past the end
    ];
    for bytes in hostile {
        for to in [local, rtcp] {
            phone.socket.send_to(bytes, to).await.expect("loopback send");
        }
    }
    phone.socket.send_to(&[0xa5; 1400], local).await.expect("loopback send");
    let dtmf = std::fs::read("/usr/share/sip-tester/dtmf_2833_9.pcap").expect("apt-get install -y sip-tester");
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for p in common::pcap_udp_payloads(&dtmf) {
        tick.tick().await;
        phone.socket.send_to(&p, local).await.expect("loopback send");
    }
    let digit = wait_event(&mut events, Duration::from_secs(2), |e| match e.event {
        MediaEvent::Dtmf { digit, .. } => Some(digit.as_char()),
        _ => None,
    });
    assert_eq!(digit.await, Some('9'), "the call still works after hostile datagrams");
    let counters = server.counters().await.expect("server alive");
    assert!(counters.datagrams_received >= 13, "{counters:?}");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn rtcp_leaves_from_the_rtcp_port_towards_the_remote_rtp_port_plus_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(24_800, 8, dir.path());
    cfg.rtcp_interval_ms = 500;
    let (server, _events, task) = start(cfg);
    // The phone's own even/odd pair, outside the ephemeral range.
    let mut pair = None;
    for port in (28_000..28_200).step_by(2) {
        let (a, b) =
            (tokio::net::UdpSocket::bind(("127.0.0.1", port)), tokio::net::UdpSocket::bind(("127.0.0.1", port + 1)));
        if let (Ok(a), Ok(b)) = tokio::join!(a, b) {
            pair = Some((a, b));
            break;
        }
    }
    let (rtp, rtcp_sink) = pair.expect("a free port pair in 28000-28199");
    let rtp = Phone::on(rtp, Codec::Pcmu);
    let (call, local) = server.allocate_call().await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, rtp.addr()), None).await.expect("leg");
    rtp.send_tone(local, 300.0, 3000.0, 10).await;
    let mut buf = [0u8; 1500];
    let got = tokio::time::timeout(Duration::from_secs(2), rtcp_sink.recv_from(&mut buf)).await;
    let (n, from) = got.expect("an RTCP report within 2 intervals").expect("recv");
    assert_eq!(from.port(), local.port() + 1, "sent from the RTCP socket");
    assert!(n >= 8 && (200..=201).contains(&buf[1]), "SR or RR first, got type {}", buf[1]);
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn a_listening_supervisor_hears_both_sides_mixed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(24_900, 8, dir.path()));
    let (call, customer, agent, c_leg, a_leg) = bridged(&server).await;
    let supervisor = Phone::new(Codec::Pcmu).await;
    server.allocate_leg(call, LegId::Supervisor).await.expect("ports free");
    let spec = LegSpec::new(Codec::Pcmu, supervisor.addr());
    let no_mode = server.add_leg(call, LegId::Supervisor, spec.clone(), None).await;
    assert!(matches!(no_mode, Err(media_server::MediaServerError::NoMonitorMode)), "{no_mode:?}");
    server.add_leg(call, LegId::Supervisor, spec, Some(media_server::MonitorMode::Listen)).await.expect("supervisor");
    let (heard, (), ()) = tokio::join!(
        supervisor.receive_for(Duration::from_millis(1000)),
        customer.send_tone(c_leg, 500.0, 5000.0, 50),
        agent.send_tone(a_leg, 1500.0, 5000.0, 50),
    );
    let mix = voiced(&heard.samples);
    assert!(mix.len() >= 30 * 160, "{} samples heard", mix.len());
    let (c, a) = (goertzel_share(&mix, 500.0), goertzel_share(&mix, 1500.0));
    assert!(c > 0.3 && a > 0.3 && c + a > 0.9, "customer share {c}, agent share {a}");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn when_the_agent_hangs_up_the_customer_hears_silence_and_the_agent_ports_are_freed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(25_600, 8, dir.path()));
    let (call, customer, agent, _, a_leg) = bridged(&server).await;
    server.remove_leg(call, LegId::Agent).await.expect("agent leg removed");
    let stays = server.remove_leg(call, LegId::Customer).await;
    assert!(matches!(stays, Err(media_server::MediaServerError::CustomerLegStays(_))), "{stays:?}");
    let mut freed = false;
    for _ in 0..50 {
        if std::net::UdpSocket::bind(a_leg).is_ok() {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(freed, "agent RTP port still bound");
    let (heard, ()) = tokio::join!(
        customer.receive_for(Duration::from_millis(500)),
        agent.send_tone(a_leg, 1500.0, 6000.0, 20), // to a port nobody listens on any more
    );
    assert!(heard.audio_packets >= 15, "the customer still gets a stream: {}", heard.audio_packets);
    assert!(rms(&heard.samples) < 50.0, "customer hears rms {}", rms(&heard.samples));
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn a_sip_info_digit_is_reported_like_an_rtp_one_and_stops_a_prompt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, mut events, task) = start(config(25_700, 8, dir.path()));
    let phone = Phone::new(Codec::Pcmu).await;
    let (call, _) = server.allocate_call().await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, phone.addr()), None).await.expect("leg");
    let prompt: Arc<[i16]> = tone(1000.0, 8000.0, 0, 80_000).into(); // 10 s
    server.play(call, LegId::Customer, vec![prompt], true).await.expect("play");
    server.sip_info_dtmf(call, LegId::Customer, '#', 120).await.expect("reported");
    let mut seen = Vec::new();
    wait_event(&mut events, Duration::from_millis(500), |e| {
        seen.push(e.event.clone());
        None::<()>
    })
    .await;
    assert!(
        seen.contains(&MediaEvent::PlaybackEnded { leg: LegId::Customer, end: PlaybackEnd::Interrupted }),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|e| matches!(e, MediaEvent::Dtmf { source: media::bridge::DtmfSource::SipInfo, digit, .. } if digit.as_char() == '#')),
        "{seen:?}"
    );
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn a_leg_that_holds_us_does_not_time_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(25_800, 8, dir.path());
    cfg.media_timeout_ms = 300;
    let (server, mut events, task) = start(cfg);
    let phone = Phone::new(Codec::Pcmu).await;
    let (call, _) = server.allocate_call().await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, phone.addr()), None).await.expect("leg");
    server.set_expect_rtp(call, LegId::Customer, false).await.expect("sendonly");
    let early = wait_event(&mut events, Duration::from_millis(700), |e| {
        matches!(e.event, MediaEvent::MediaTimeout { .. }).then_some(())
    });
    assert_eq!(early.await, None, "timed out while held");
    server.set_expect_rtp(call, LegId::Customer, true).await.expect("sendrecv");
    let late = wait_event(&mut events, Duration::from_millis(1000), |e| {
        matches!(e.event, MediaEvent::MediaTimeout { .. }).then_some(())
    });
    assert_eq!(late.await, Some(()), "silence after resuming is a timeout");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn a_whispering_supervisor_is_heard_by_the_agent_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(25_300, 8, dir.path()));
    let (call, customer, agent, c_leg, a_leg) = bridged(&server).await;
    let supervisor = Phone::new(Codec::Pcmu).await;
    let s_leg = server.allocate_leg(call, LegId::Supervisor).await.expect("ports free");
    let spec = LegSpec::new(Codec::Pcmu, supervisor.addr());
    server.add_leg(call, LegId::Supervisor, spec, Some(media_server::MonitorMode::Listen)).await.expect("supervisor");
    server.set_monitor_mode(call, media_server::MonitorMode::Whisper).await.expect("whisper");
    let (c_heard, a_heard, (), (), ()) = tokio::join!(
        customer.receive_for(Duration::from_millis(1000)),
        agent.receive_for(Duration::from_millis(1000)),
        customer.send_tone(c_leg, 500.0, 5000.0, 50),
        agent.send_tone(a_leg, 1500.0, 5000.0, 50),
        supervisor.send_tone(s_leg, 1000.0, 5000.0, 50),
    );
    let (to_agent, to_customer) = (voiced(&a_heard.samples), voiced(&c_heard.samples));
    let (cust, sup) = (goertzel_share(&to_agent, 500.0), goertzel_share(&to_agent, 1000.0));
    assert!(cust > 0.3 && sup > 0.3, "agent hears customer {cust} and supervisor {sup}");
    assert!(goertzel_share(&to_customer, 1000.0) < 0.02, "the customer hears the supervisor");
    assert!(goertzel_share(&to_customer, 1500.0) > 0.9, "the customer still hears the agent");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn a_recording_stopped_mid_call_is_complete_and_a_new_one_can_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(25_400, 8, dir.path()));
    let (call, customer, _agent, c_leg, _) = bridged(&server).await;
    let first = server.start_recording(call, "part1.wav").await.expect("recording");
    customer.send_tone(c_leg, 500.0, 5000.0, 25).await;
    let (path, info) = server.stop_recording(call).await.expect("running").expect("was recording");
    assert_eq!(path, first);
    assert_eq!(info.size_bytes, std::fs::metadata(&path).expect("on disk").len());
    assert_eq!(info.channels, 2);
    assert!((soxi(&path, "-D") * 1000.0 - info.duration_ms as f64).abs() < 25.0, "{info:?}");
    assert_eq!(server.stop_recording(call).await.expect("running"), None);
    server.start_recording(call, "part2.wav").await.expect("a second recording");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}
