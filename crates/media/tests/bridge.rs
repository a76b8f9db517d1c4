//! Behaviour of the call media engine through its sans-IO surface: datagrams and instants in,
//! datagrams, timers and events out.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use media::bridge::{
    Bridge, BridgeConfig, DtmfSource, LegId, MediaEvent, MediaTimeoutReason, MonitorMode, PacketKind, RecordingSink,
    Transmit,
};
use media::codec::Codec;
use media::dtmf::{DtmfDigit, TelephoneEvent};
use media::error::AudioError;
use media::g711;
use media::leg::LegConfig;
use media::prompt::{Playback, PlaybackEnd};
use media::recorder::RecordingInfo;
use media::rtcp::{ReceiverReport, ReportBlock, RtcpPacket, parse_compound, write_compound};
use media::rtp::{RtpHeader, RtpPacket, write_simple};
use media::stats::NtpClock;

const CUSTOMER: &str = "198.51.100.10:40000";
const AGENT: &str = "192.0.2.20:50000";
const SUPERVISOR: &str = "192.0.2.30:52000";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

struct Call {
    t0: Instant,
    now: Instant,
    bridge: Bridge,
    sent: Vec<Transmit>,
    events: Vec<MediaEvent>,
}

impl Call {
    fn new(customer_codec: Codec) -> Self {
        let t0 = Instant::now();
        let config = BridgeConfig::new(NtpClock::new(t0, 3_900_000_000u64 << 32));
        let customer = LegConfig::new(customer_codec, addr(CUSTOMER), 0xc0, 1000, 50_000);
        Self { t0, now: t0, bridge: Bridge::new(t0, config, customer), sent: Vec::new(), events: Vec::new() }
    }

    fn with_agent(customer: Codec, agent: Codec) -> Self {
        let mut c = Self::new(customer);
        c.bridge.add_agent(c.now, LegConfig::new(agent, addr(AGENT), 0xa0, 2000, 70_000));
        c
    }

    fn drain(&mut self) {
        while let Some(t) = self.bridge.poll_transmit() {
            self.sent.push(t);
        }
        while let Some(e) = self.bridge.poll_event() {
            self.events.push(e);
        }
    }

    /// Advances the fake clock, running every timer that falls due.
    fn advance(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        while let Some(t) = self.bridge.poll_timeout() {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.bridge.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    fn packet(&mut self, leg: LegId, from: &str, bytes: &[u8]) {
        self.bridge.handle_packet(self.now, leg, addr(from), bytes);
        self.drain();
    }

    fn rtp_to(&self, leg: LegId) -> Vec<RtpHeader> {
        self.sent
            .iter()
            .filter(|t| t.leg == leg && t.kind == PacketKind::Rtp)
            .map(|t| RtpPacket::parse(&t.contents).expect("we send valid RTP").header)
            .collect()
    }

    fn payloads_to(&self, leg: LegId) -> Vec<Vec<u8>> {
        self.sent
            .iter()
            .filter(|t| t.leg == leg && t.kind == PacketKind::Rtp)
            .map(|t| RtpPacket::parse(&t.contents).expect("valid").payload.to_vec())
            .collect()
    }
}

fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let header = RtpHeader { marker, payload_type: pt, sequence: seq, timestamp: ts, ssrc, ..Default::default() };
    write_simple(&header, payload, &mut out).expect("valid");
    out
}

fn tone_frame(codec: Codec, hz: f64, amp: f64, frame_no: usize) -> Vec<u8> {
    let samples: Vec<i16> = (0..160)
        .map(|i| {
            let n = (frame_no * 160 + i) as f64;
            (amp * (2.0 * std::f64::consts::PI * hz * n / 8000.0).sin()) as i16
        })
        .collect();
    let mut out = Vec::new();
    codec.encode(&samples, &mut out);
    out
}

/// Sends `frames` 20 ms packets from a leg, advancing time as it goes.
fn talk(
    call: &mut Call,
    leg: LegId,
    from: &str,
    codec: Codec,
    frames: usize,
    mut payload: impl FnMut(usize) -> Vec<u8>,
) {
    for i in 0..frames {
        let p =
            rtp(codec.payload_type(), 100 + i as u16, 8000 + 160 * i as u32, 0x5eed + leg as u32, i == 0, &payload(i));
        call.packet(leg, from, &p);
        call.advance(20);
    }
}

fn assert_continuous(headers: &[RtpHeader]) {
    for w in headers.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1), "sequence gap in {w:?}");
        let step = w[1].timestamp.wrapping_sub(w[0].timestamp);
        assert!((1..=16_000).contains(&step), "timestamp step {step} in {w:?}");
        assert_eq!(w[0].ssrc, w[1].ssrc);
    }
}

#[test]
fn relay_restamps_packets_with_the_far_sides_ssrc_and_sequence() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.connect();
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcmu, 5, |_| vec![0x55; 160]);
    let to_agent = call.rtp_to(LegId::Agent);
    assert_eq!(to_agent.len(), 5);
    assert!(to_agent.iter().all(|h| h.ssrc == 0xa0 && h.payload_type == 0));
    assert_eq!(to_agent[0].sequence, 2000);
    assert!(to_agent[0].marker);
    assert_continuous(&to_agent);
    assert!(call.sent.iter().filter(|t| t.leg == LegId::Agent).all(|t| t.destination == addr(AGENT)));
    assert_eq!(call.payloads_to(LegId::Agent)[0], vec![0x55; 160]);
}

#[test]
fn legs_with_different_codecs_are_transcoded() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcma);
    call.bridge.connect();
    let ulaw = tone_frame(Codec::Pcmu, 1000.0, 8000.0, 0);
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcmu, 1, |_| ulaw.clone());
    let to_agent = call.rtp_to(LegId::Agent);
    assert_eq!(to_agent[0].payload_type, 8);
    let expected: Vec<u8> = ulaw.iter().map(|&c| g711::ulaw_to_alaw(c)).collect();
    assert_eq!(call.payloads_to(LegId::Agent)[0], expected);
    assert_eq!(call.bridge.counters.transcoded, 1);
}

#[test]
fn prompt_then_bridge_then_prompt_is_one_continuous_stream_for_the_caller() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.play(LegId::Customer, Playback::new(vec![vec![1000i16; 800].into()], false));
    call.advance(100);
    call.bridge.connect();
    talk(&mut call, LegId::Agent, AGENT, Codec::Pcmu, 5, |_| vec![0x11; 160]);
    call.bridge.play(LegId::Customer, Playback::new(vec![vec![2000i16; 800].into()], false));
    call.advance(100);
    let to_customer = call.rtp_to(LegId::Customer);
    assert!(to_customer.len() >= 14, "{}", to_customer.len());
    assert_continuous(&to_customer);
    let marker_at: Vec<usize> = to_customer.iter().enumerate().filter(|(_, h)| h.marker).map(|(i, _)| i).collect();
    let payloads = call.payloads_to(LegId::Customer);
    let first_relayed = payloads.iter().position(|p| p == &vec![0x11; 160]).expect("relayed audio");
    let first_second_prompt =
        payloads.iter().position(|p| p[0] == g711::linear_to_ulaw(2000)).expect("second prompt audio");
    assert!(marker_at.contains(&0) && marker_at.contains(&first_relayed) && marker_at.contains(&first_second_prompt));
    assert!(call.events.contains(&MediaEvent::PlaybackEnded { leg: LegId::Customer, end: PlaybackEnd::Finished }));
}

#[test]
fn hold_plays_looped_music_and_stops_the_relay_until_unhold() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.connect();
    call.bridge.hold(Playback::looped(vec![vec![3000i16; 240].into()]));
    talk(&mut call, LegId::Agent, AGENT, Codec::Pcmu, 10, |_| vec![0x22; 160]);
    let payloads = call.payloads_to(LegId::Customer);
    assert!(payloads.len() >= 9);
    assert!(payloads.iter().all(|p| p.iter().all(|&c| c == g711::linear_to_ulaw(3000))), "only music");
    call.bridge.unhold();
    call.sent.clear();
    talk(&mut call, LegId::Agent, AGENT, Codec::Pcmu, 3, |_| vec![0x22; 160]);
    assert!(call.payloads_to(LegId::Customer).iter().any(|p| p == &vec![0x22; 160]));
}

#[test]
fn the_remote_address_is_latched_from_the_first_packet_of_the_expected_ip() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.connect();
    let p = rtp(0, 1, 160, 9, false, &[0xff; 160]);
    call.packet(LegId::Customer, "203.0.113.99:40000", &p); // wrong IP: dropped, no latch
    call.packet(LegId::Customer, "198.51.100.10:61000", &p); // NAT rewrote the port: latch
    call.packet(LegId::Customer, "198.51.100.10:40000", &rtp(0, 2, 320, 9, false, &[0xff; 160]));
    assert!(call.events.contains(&MediaEvent::Latched { leg: LegId::Customer, remote: addr("198.51.100.10:61000") }));
    assert_eq!(call.bridge.remote(LegId::Customer), Some(addr("198.51.100.10:61000")));
    assert_eq!(call.bridge.leg_counters(LegId::Customer).expect("leg").wrong_source, 2);
    talk(&mut call, LegId::Agent, AGENT, Codec::Pcmu, 2, |_| vec![0x33; 160]);
    assert!(
        call.sent.iter().filter(|t| t.leg == LegId::Customer).all(|t| t.destination == addr("198.51.100.10:61000"))
    );
}

#[test]
fn no_rtp_for_the_media_timeout_ends_the_leg_with_a_reason_once() {
    let mut call = Call::new(Codec::Pcmu);
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcmu, 2, |_| vec![0xff; 160]);
    call.advance(29_000);
    assert!(!call.events.iter().any(|e| matches!(e, MediaEvent::MediaTimeout { .. })));
    call.advance(2_000);
    let timeouts: Vec<_> = call.events.iter().filter(|e| matches!(e, MediaEvent::MediaTimeout { .. })).collect();
    assert_eq!(timeouts.len(), 1);
    assert!(matches!(
        timeouts[0],
        MediaEvent::MediaTimeout { leg: LegId::Customer, reason: MediaTimeoutReason::NoRtp { silent_ms } } if *silent_ms >= 30_000
    ));
    call.advance(60_000);
    assert_eq!(call.events.iter().filter(|e| matches!(e, MediaEvent::MediaTimeout { .. })).count(), 1);
}

#[test]
fn a_held_far_end_that_sends_nothing_is_not_timed_out() {
    let mut call = Call::new(Codec::Pcmu);
    call.bridge.set_expect_rtp(call.now, LegId::Customer, false);
    call.advance(120_000);
    assert!(!call.events.iter().any(|e| matches!(e, MediaEvent::MediaTimeout { .. })));
}

fn event_packet(seq: u16, ts: u32, digit: char, end: bool, duration: u16) -> Vec<u8> {
    let ev =
        TelephoneEvent { event: DtmfDigit::from_char(digit).expect("key").event_code(), end, volume: 10, duration };
    rtp(101, seq, ts, 0x5eed, !end && duration == 160, &ev.to_bytes())
}

#[test]
fn rfc_4733_digit_interrupts_a_barge_in_prompt_and_is_reported_once() {
    let mut call = Call::new(Codec::Pcmu);
    call.bridge.play(LegId::Customer, Playback::new(vec![vec![500i16; 80_000].into()], true));
    call.advance(200);
    for (i, (end, d)) in [(false, 160), (false, 320), (true, 480), (true, 480), (true, 480)].iter().enumerate() {
        call.packet(LegId::Customer, CUSTOMER, &event_packet(10 + i as u16, 16_000, '7', *end, *d));
    }
    let digit = DtmfDigit::from_char('7').expect("key");
    assert_eq!(call.events.iter().filter(|e| matches!(e, MediaEvent::Dtmf { .. })).count(), 1);
    assert!(call.events.contains(&MediaEvent::Dtmf {
        leg: LegId::Customer,
        digit,
        source: DtmfSource::Rfc4733,
        duration_ms: Some(60)
    }));
    assert!(call.events.contains(&MediaEvent::PlaybackEnded { leg: LegId::Customer, end: PlaybackEnd::Interrupted }));
}

#[test]
fn in_band_tones_are_detected_on_a_trunk_without_rfc_4733() {
    let t0 = Instant::now();
    let mut customer = LegConfig::new(Codec::Pcma, addr(CUSTOMER), 1, 1, 1);
    customer.inband_dtmf = true;
    customer.telephone_event_pt = None;
    let mut call = Call {
        t0,
        now: t0,
        bridge: Bridge::new(t0, BridgeConfig::new(NtpClock::new(t0, 0)), customer),
        sent: Vec::new(),
        events: Vec::new(),
    };
    let key = |frame: usize| {
        let samples: Vec<i16> = (0..160)
            .map(|i| {
                let t = (frame * 160 + i) as f64 / 8000.0;
                let s =
                    (2.0 * std::f64::consts::PI * 941.0 * t).sin() + (2.0 * std::f64::consts::PI * 1477.0 * t).sin();
                (s * 5000.0) as i16
            })
            .collect();
        let mut out = Vec::new();
        Codec::Pcma.encode(&samples, &mut out);
        out
    };
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcma, 5, key); // 100 ms of '#'
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcma, 10, |_| vec![g711::ALAW_SILENCE; 160]);
    let hash = DtmfDigit::from_char('#').expect("key");
    let found: Vec<_> = call.events.iter().filter(|e| matches!(e, MediaEvent::Dtmf { .. })).collect();
    assert_eq!(
        found,
        [&MediaEvent::Dtmf { leg: LegId::Customer, digit: hash, source: DtmfSource::Inband, duration_ms: None }]
    );
    let _ = call.t0;
}

#[test]
fn dtmf_we_send_goes_out_as_rfc_4733_with_three_end_packets() {
    let mut call = Call::new(Codec::Pcmu);
    call.bridge.send_dtmf(LegId::Customer, DtmfDigit::from_char('3').expect("key"), 100).expect("queued");
    call.advance(300);
    let events: Vec<_> = call
        .sent
        .iter()
        .filter_map(|t| {
            RtpPacket::parse(&t.contents)
                .ok()
                .filter(|p| p.header.payload_type == 101)
                .map(|p| (p.header, TelephoneEvent::parse(p.payload).expect("valid")))
        })
        .collect();
    assert_eq!(events.iter().filter(|(_, e)| e.end).count(), 3);
    assert!(events[0].0.marker);
    assert!(events.iter().all(|(h, e)| h.timestamp == events[0].0.timestamp && e.event == 3));
    // Sequence numbers stay contiguous; timestamps never go back, and audio after the event starts
    // at least the event's duration after its timestamp.
    let all = call.rtp_to(LegId::Customer);
    for w in all.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1));
        assert!(w[1].timestamp.wrapping_sub(w[0].timestamp) < 1 << 31, "{w:?}");
    }
    let last_event = all.iter().rposition(|h| h.payload_type == 101).expect("events");
    let after = all[last_event + 1];
    assert!(after.marker && after.timestamp.wrapping_sub(events[0].0.timestamp) >= 800, "{after:?}");
}

#[test]
fn sip_info_digits_are_reported_like_rtp_ones() {
    let mut call = Call::new(Codec::Pcmu);
    let d = DtmfDigit::from_char('9').expect("key");
    call.bridge.handle_sip_info_dtmf(LegId::Customer, d, 250);
    call.drain();
    assert!(call.events.contains(&MediaEvent::Dtmf {
        leg: LegId::Customer,
        digit: d,
        source: DtmfSource::SipInfo,
        duration_ms: Some(250)
    }));
}

fn rms(payload: &[u8], codec: Codec) -> f64 {
    let mut pcm = Vec::new();
    codec.decode(payload, &mut pcm);
    (pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

#[test]
fn a_listening_supervisor_hears_both_sides_and_nobody_hears_them() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.connect();
    call.bridge.add_supervisor(
        call.now,
        LegConfig::new(Codec::Pcmu, addr(SUPERVISOR), 0x50, 1, 1),
        MonitorMode::Listen,
    );
    for i in 0..20u16 {
        let (ts, seq) = (8000 + 160 * u32::from(i), 100 + i);
        call.packet(
            LegId::Customer,
            CUSTOMER,
            &rtp(0, seq, ts, 1, false, &tone_frame(Codec::Pcmu, 500.0, 4000.0, i.into())),
        );
        call.packet(
            LegId::Agent,
            AGENT,
            &rtp(0, seq, ts, 2, false, &tone_frame(Codec::Pcmu, 1200.0, 4000.0, i.into())),
        );
        call.packet(
            LegId::Supervisor,
            SUPERVISOR,
            &rtp(0, seq, ts, 3, false, &tone_frame(Codec::Pcmu, 2000.0, 9000.0, i.into())),
        );
        call.advance(20);
    }
    let to_sup = call.payloads_to(LegId::Supervisor);
    let loud = to_sup.iter().filter(|p| rms(p, Codec::Pcmu) > 3000.0).count();
    assert!(loud >= 10, "supervisor hears the mix ({loud} loud frames)");
    // What the agent receives is the customer's packets unchanged: no supervisor audio in them.
    let customer_frames: Vec<Vec<u8>> = (0..20).map(|i| tone_frame(Codec::Pcmu, 500.0, 4000.0, i)).collect();
    assert!(call.payloads_to(LegId::Agent).iter().all(|p| customer_frames.contains(p)));
    assert!(call.payloads_to(LegId::Customer).iter().all(|p| rms(p, Codec::Pcmu) < 3500.0));
}

#[test]
fn whisper_reaches_the_agent_but_never_the_customer() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.connect();
    call.bridge.add_supervisor(
        call.now,
        LegConfig::new(Codec::Pcmu, addr(SUPERVISOR), 0x50, 1, 1),
        MonitorMode::Whisper,
    );
    for i in 0..20u16 {
        let (ts, seq) = (8000 + 160 * u32::from(i), 100 + i);
        call.packet(LegId::Agent, AGENT, &rtp(0, seq, ts, 2, false, &[0xff; 160]));
        call.packet(
            LegId::Supervisor,
            SUPERVISOR,
            &rtp(0, seq, ts, 3, false, &tone_frame(Codec::Pcmu, 2000.0, 9000.0, i.into())),
        );
        call.advance(20);
    }
    let agent_loud = call.payloads_to(LegId::Agent).iter().filter(|p| rms(p, Codec::Pcmu) > 5000.0).count();
    assert!(agent_loud >= 10, "agent hears the whisper ({agent_loud})");
    assert!(
        call.payloads_to(LegId::Customer).iter().all(|p| rms(p, Codec::Pcmu) < 100.0),
        "customer hears only the silent agent"
    );
    assert_continuous(&call.rtp_to(LegId::Agent));
}

/// Recorded (customer, agent) frames.
type Frames = Arc<Mutex<Vec<(Vec<i16>, Vec<i16>)>>>;

#[derive(Clone, Default)]
struct MemorySink {
    frames: Frames,
    paused: Arc<Mutex<bool>>,
}

impl RecordingSink for MemorySink {
    fn write_frame(&mut self, customer: &[i16], agent: &[i16]) -> Result<(), AudioError> {
        let paused = *self.paused.lock().expect("lock");
        let (l, r) = if paused { (vec![0; 160], vec![0; 160]) } else { (customer.to_vec(), agent.to_vec()) };
        self.frames.lock().expect("lock").push((l, r));
        Ok(())
    }
    fn set_paused(&mut self, paused: bool) {
        *self.paused.lock().expect("lock") = paused;
    }
    fn finish(self: Box<Self>) -> Result<RecordingInfo, AudioError> {
        Err(AudioError::Closed)
    }
}

#[test]
fn recording_puts_the_customer_left_and_the_agent_right() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcma);
    call.bridge.connect();
    let sink = MemorySink::default();
    call.bridge.start_recording(Box::new(sink.clone()));
    for i in 0..25u16 {
        let (ts, seq) = (8000 + 160 * u32::from(i), 100 + i);
        call.packet(
            LegId::Customer,
            CUSTOMER,
            &rtp(0, seq, ts, 1, false, &tone_frame(Codec::Pcmu, 440.0, 6000.0, i.into())),
        );
        call.packet(LegId::Agent, AGENT, &rtp(8, seq, ts, 2, false, &[g711::ALAW_SILENCE; 160]));
        call.advance(20);
    }
    let frames = sink.frames.lock().expect("lock").clone();
    assert!(frames.len() >= 24);
    let energy = |s: &[i16]| s.iter().map(|&x| f64::from(x).abs()).sum::<f64>() / s.len() as f64;
    let loud_left = frames.iter().filter(|(l, _)| energy(l) > 2000.0).count();
    assert!(loud_left >= 18, "{loud_left}");
    assert!(frames.iter().all(|(_, r)| energy(r) < 20.0));
}

#[test]
fn a_call_recorded_to_a_file_has_the_call_duration_and_a_hash() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("call.wav");
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.connect();
    let rec = media::files::create_recording(&path, Default::default()).expect("file");
    call.bridge.start_recording(Box::new(rec));
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcmu, 50, |i| tone_frame(Codec::Pcmu, 440.0, 6000.0, i));
    call.bridge.set_recording_paused(true);
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcmu, 50, |i| tone_frame(Codec::Pcmu, 440.0, 6000.0, i));
    let report = call.bridge.close(call.now);
    let info = report.recording.expect("was recording").expect("closed");
    assert!((1980..=2020).contains(&info.duration_ms), "{}", info.duration_ms);
    assert!((980..=1020).contains(&info.paused_ms), "{}", info.paused_ms);
    assert_eq!(info.size_bytes, std::fs::metadata(&path).expect("exists").len());
    let wav = media::wav::read_wav(&std::fs::read(&path).expect("read"), u64::MAX).expect("valid");
    let second_half = &wav.samples[wav.samples.len() / 2 + 400..];
    assert!(second_half.iter().all(|&s| s == 0), "paused part is silent");
}

#[test]
fn rtcp_reports_go_out_on_the_interval_and_rr_from_the_peer_gives_rtt() {
    let mut call = Call::new(Codec::Pcmu);
    call.bridge.play(LegId::Customer, Playback::new(vec![vec![100i16; 80_000].into()], false));
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcmu, 10, |_| vec![0xff; 160]);
    call.advance(7_500);
    let reports: Vec<Vec<RtcpPacket>> = call
        .sent
        .iter()
        .filter(|t| t.kind == PacketKind::Rtcp)
        .map(|t| parse_compound(&t.contents).expect("valid RTCP"))
        .collect();
    // Intervals are 0.5–1.5 × 5 s: by 7.7 s there was at least one report and at most three.
    assert!((1..=3).contains(&reports.len()), "{} reports", reports.len());
    let RtcpPacket::SenderReport(sr) = &reports[0][0] else { panic!("SR expected, we were sending") };
    assert_eq!(sr.ssrc, 0xc0);
    assert!(sr.packet_count >= 125, "{} packets by the first report", sr.packet_count);
    assert_eq!(sr.reports.len(), 1);
    assert!(matches!(&reports[0][1], RtcpPacket::SourceDescription(c) if c[0].cname_str() == Some("hotline-000000c0")));
    // The peer answers with an RR whose LSR is our SR and whose DLSR says it held it for all but
    // 30 ms of the time since we sent it: the RTT must come out as 30 ms.
    let lsr = (sr.ntp_timestamp >> 16) as u32;
    call.advance(40);
    let sr_sent_ms = ((sr.ntp_timestamp - (3_900_000_000u64 << 32)) * 1000) >> 32;
    let elapsed_ms = (call.now - call.t0).as_millis() as u64 - sr_sent_ms;
    let dlsr = ((elapsed_ms - 30) * 65536 / 1000) as u32;
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 0x5eed,
        reports: vec![ReportBlock { ssrc: 0xc0, last_sr: lsr, delay_since_last_sr: dlsr, ..Default::default() }],
    });
    let mut bytes = Vec::new();
    write_compound(&[rr], &mut bytes).expect("valid");
    call.packet(LegId::Customer, CUSTOMER, &bytes);
    let rtt = call.bridge.quality(LegId::Customer).expect("leg").rtt_ms.expect("measured");
    assert!((29.0..=31.0).contains(&rtt), "{rtt}");
}

#[test]
fn close_sends_bye_and_reports_quality_per_leg() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.connect();
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcmu, 50, |_| vec![0xff; 160]);
    let report = call.bridge.close(call.now);
    call.drain();
    let byes = call
        .sent
        .iter()
        .filter(|t| t.kind == PacketKind::Rtcp)
        .filter(|t| parse_compound(&t.contents).expect("valid").iter().any(|p| matches!(p, RtcpPacket::Goodbye(_))))
        .count();
    assert_eq!(byes, 2);
    let (_, q) = report.quality.iter().find(|(l, _)| *l == LegId::Customer).expect("customer");
    assert_eq!(q.packets_lost, 0);
    assert!(q.mos > 4.3, "{}", q.mos);
    // The agent sent nothing: its summary has no packets, and the call's summary is the worse one.
    let worst = report.call_quality().expect("two legs");
    assert!(worst.mos <= q.mos);
}

#[test]
fn garbage_datagrams_are_counted_not_fatal() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.connect();
    for junk in
        [&[][..], &[0x80][..], &[0x80, 200, 0, 50][..], &[0x00; 40][..], &[0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1][..]]
    {
        call.packet(LegId::Customer, CUSTOMER, junk);
    }
    let c = call.bridge.leg_counters(LegId::Customer).expect("leg");
    assert_eq!(c.malformed, 4);
    assert_eq!(c.unknown_payload_type, 1);
    assert!(call.rtp_to(LegId::Agent).is_empty());
}

#[test]
fn rfc_4733_events_are_passed_through_to_the_other_leg_restamped() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcma);
    call.bridge.connect();
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcmu, 3, |_| vec![0xff; 160]);
    for (i, (end, d)) in [(false, 160), (false, 320), (true, 400), (true, 400), (true, 400)].iter().enumerate() {
        let mut p = event_packet(103 + i as u16, 8480, '4', *end, *d);
        p[8..12].copy_from_slice(&(0x5eed_u32).to_be_bytes()); // same source as the audio
        call.packet(LegId::Customer, CUSTOMER, &p);
    }
    let to_agent = call.rtp_to(LegId::Agent);
    let events: Vec<_> = to_agent.iter().filter(|h| h.payload_type == 101).collect();
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|h| h.ssrc == 0xa0));
    assert!(to_agent.windows(2).all(|w| w[1].sequence == w[0].sequence.wrapping_add(1)));
    // The event keeps its own timestamp on the agent's timeline: 3 frames after the first packet.
    assert_eq!(events[0].timestamp.wrapping_sub(to_agent[0].timestamp), 480);
}

#[test]
fn rtcp_intervals_are_randomised_between_half_and_one_and_a_half_times_the_nominal() {
    let mut call = Call::new(Codec::Pcmu);
    let mut report_times_ms = Vec::new();
    for ms in (0..200_000u64).step_by(20) {
        let before = call.sent.iter().filter(|t| t.kind == PacketKind::Rtcp).count();
        call.advance(20);
        if call.sent.iter().filter(|t| t.kind == PacketKind::Rtcp).count() > before {
            report_times_ms.push(ms + 20);
        }
    }
    assert!((27..=80).contains(&report_times_ms.len()), "{} reports in 200 s", report_times_ms.len());
    let gaps: Vec<u64> = report_times_ms.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| (2_480..=7_520).contains(g)), "{gaps:?}");
    assert!(gaps.iter().any(|&g| g < 4_500) && gaps.iter().any(|&g| g > 5_500), "spread: {gaps:?}");
}

#[test]
fn dtmf_to_a_leg_without_telephone_event_is_played_as_detectable_tones() {
    let t0 = Instant::now();
    let mut customer = LegConfig::new(Codec::Pcma, addr(CUSTOMER), 1, 1, 1);
    customer.telephone_event_pt = None;
    let mut call = Call {
        t0,
        now: t0,
        bridge: Bridge::new(t0, BridgeConfig::new(NtpClock::new(t0, 0)), customer),
        sent: Vec::new(),
        events: Vec::new(),
    };
    for c in "42*".chars() {
        call.bridge.send_dtmf(LegId::Customer, DtmfDigit::from_char(c).expect("key"), 100).expect("queued");
    }
    call.advance(1_000);
    let mut detector = media::inband::InbandDetector::new(Default::default());
    let mut pcm = Vec::new();
    let mut heard = String::new();
    for p in call.payloads_to(LegId::Customer) {
        Codec::Pcma.decode(&p, &mut pcm);
        heard.extend(detector.detect(&pcm).iter().map(|d| d.as_char()));
    }
    assert_eq!(heard, "42*");
    assert_continuous(&call.rtp_to(LegId::Customer));
}

#[test]
fn a_reinvite_to_another_codec_and_address_is_followed() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.connect();
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcmu, 2, |_| vec![0x7e; 160]);
    call.bridge.renegotiate(LegId::Agent, addr("192.0.2.21:50010"), Codec::Pcma);
    call.sent.clear();
    talk(&mut call, LegId::Customer, CUSTOMER, Codec::Pcmu, 2, |_| vec![0x7e; 160]);
    let to_agent: Vec<_> = call.sent.iter().filter(|t| t.leg == LegId::Agent).collect();
    assert!(to_agent.iter().all(|t| t.destination == addr("192.0.2.21:50010")));
    assert_eq!(call.rtp_to(LegId::Agent)[0].payload_type, 8);
    assert_eq!(call.payloads_to(LegId::Agent)[0], vec![g711::ulaw_to_alaw(0x7e); 160]);
    // The agent's new address latches from its own packets again.
    call.packet(LegId::Agent, "192.0.2.21:50012", &rtp(8, 1, 160, 77, false, &[0xd5; 160]));
    assert_eq!(call.bridge.remote(LegId::Agent), Some(addr("192.0.2.21:50012")));
}

#[test]
fn a_lost_packet_is_concealed_in_the_recording_not_left_as_a_hole() {
    let mut call = Call::with_agent(Codec::Pcmu, Codec::Pcmu);
    call.bridge.connect();
    let sink = MemorySink::default();
    call.bridge.start_recording(Box::new(sink.clone()));
    for i in 0..30u16 {
        if i != 15 {
            let frame = tone_frame(Codec::Pcmu, 400.0, 8000.0, i.into());
            call.packet(LegId::Customer, CUSTOMER, &rtp(0, 100 + i, 8000 + 160 * u32::from(i), 1, false, &frame));
        }
        call.advance(20);
    }
    let frames = sink.frames.lock().expect("lock").clone();
    let level = |s: &[i16]| s.iter().map(|&x| i64::from(x).abs()).sum::<i64>() / s.len() as i64;
    let levels: Vec<i64> = frames.iter().map(|(l, _)| level(l)).collect();
    let start = levels.iter().position(|&l| l > 3000).expect("audio plays");
    let played = &levels[start..start + 28];
    // Every frame has audio; the concealed one is quieter (half level) but not silent.
    assert!(played.iter().all(|&l| l > 1500), "{levels:?}");
    assert!(played.iter().any(|&l| l < 3500), "{levels:?}");
}

#[test]
fn a_16k_stereo_prompt_file_reaches_the_caller_as_the_same_tone() {
    let tone: Vec<i16> = (0..16_000)
        .flat_map(|n| {
            let s = (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * f64::from(n) / 16_000.0).sin()) as i16;
            [s, s]
        })
        .collect();
    let file = media::wav::encode_pcm16(16_000, 2, &tone);
    let mut cache = media::prompt::PromptCache::new(Default::default());
    cache.insert("tone", media::wav::load_prompt(&file, 1 << 20).expect("valid WAV")).expect("room");
    let mut call = Call::new(Codec::Pcma);
    call.bridge.play(LegId::Customer, Playback::new(cache.sequence(&["tone"]).expect("cached"), true));
    call.advance(1_100);
    let mut heard = Vec::new();
    let mut pcm = Vec::new();
    for p in call.payloads_to(LegId::Customer) {
        Codec::Pcma.decode(&p, &mut pcm);
        heard.extend_from_slice(&pcm);
    }
    let body = &heard[400..7600];
    // Goertzel power at 1 kHz against 700 Hz: the tone is there, and only there.
    let power = |hz: f64| {
        let coeff = 2.0 * (2.0 * std::f64::consts::PI * hz / 8000.0).cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in body {
            let s0 = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - coeff * s1 * s2
    };
    assert!(power(1000.0) > 1000.0 * power(700.0));
    let rms = (body.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / body.len() as f64).sqrt();
    assert!((5300.0..=6000.0).contains(&rms), "rms {rms}, a 8000-peak sine has 5657");
    assert!(call.events.contains(&MediaEvent::PlaybackEnded { leg: LegId::Customer, end: PlaybackEnd::Finished }));
}

#[test]
fn a_call_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<Bridge>();
    assert_send::<Transmit>();
    assert_send::<MediaEvent>();
}

/// Goertzel power of `hz` in `samples` relative to their total energy (1.0: a pure tone at `hz`).
fn tone_share(samples: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let energy: f64 = samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    if energy == 0.0 { 0.0 } else { 2.0 * power / (energy * samples.len() as f64) }
}

/// A bridged, recorded call in which each side talks for a second with its own tone: the customer
/// a 1 kHz tone in `customer_sends` on a leg negotiated as `customer_leg`, the agent 440 Hz in
/// `agent`. Returns the last half second of the recording (left, right) and of what the agent heard.
fn two_way_call(customer_leg: Codec, customer_sends: Codec, agent: Codec) -> (Vec<i16>, Vec<i16>, Vec<i16>) {
    let mut call = Call::with_agent(customer_leg, agent);
    call.bridge.connect();
    let sink = MemorySink::default();
    call.bridge.start_recording(Box::new(sink.clone()));
    for i in 0..50u16 {
        let (ts, seq) = (8000 + 160 * u32::from(i), 100 + i);
        let said = tone_frame(customer_sends, 1000.0, 6000.0, i.into());
        call.packet(LegId::Customer, CUSTOMER, &rtp(customer_sends.payload_type(), seq, ts, 1, i == 0, &said));
        let said = tone_frame(agent, 440.0, 6000.0, i.into());
        call.packet(LegId::Agent, AGENT, &rtp(agent.payload_type(), seq, ts, 2, i == 0, &said));
        call.advance(20);
    }
    let frames = sink.frames.lock().expect("lock").clone();
    // The last 0.5 s: past the jitter buffer's start-up silence, both sides talking steadily.
    let tail = |v: Vec<i16>| v[v.len().saturating_sub(4000)..].to_vec();
    let left = tail(frames.iter().flat_map(|(l, _)| l.clone()).collect());
    let right = tail(frames.iter().flat_map(|(_, r)| r.clone()).collect());
    let mut heard = Vec::new();
    for t in call.sent.iter().filter(|t| t.leg == LegId::Agent && t.kind == PacketKind::Rtp) {
        let p = RtpPacket::parse(&t.contents).expect("valid");
        let codec = Codec::from_payload_type(p.header.payload_type).expect("the agent is sent G.711");
        let mut samples = Vec::new();
        codec.decode(p.payload, &mut samples);
        heard.extend(samples);
    }
    (left, right, tail(heard))
}

fn assert_each_side_carries_its_own_tone(customer_leg: Codec, customer_sends: Codec, agent: Codec) {
    let (left, right, heard) = two_way_call(customer_leg, customer_sends, agent);
    let shares = |s: &[i16], own: f64, other: f64| (tone_share(s, own), tone_share(s, other));
    let (own, other) = shares(&left, 1000.0, 440.0);
    assert!(own > 0.8 && other < 0.05, "recording's left (customer) channel: 1 kHz {own:.3}, 440 Hz {other:.3}");
    let (own, other) = shares(&right, 440.0, 1000.0);
    assert!(own > 0.8 && other < 0.05, "recording's right (agent) channel: 440 Hz {own:.3}, 1 kHz {other:.3}");
    let (own, other) = shares(&heard, 1000.0, 440.0);
    assert!(own > 0.8 && other < 0.05, "what the agent hears: 1 kHz {own:.3}, 440 Hz {other:.3}");
}

#[test]
fn a_pcma_caller_bridged_to_a_pcmu_agent_is_recorded_on_both_channels() {
    assert_each_side_carries_its_own_tone(Codec::Pcma, Codec::Pcma, Codec::Pcmu);
}

#[test]
fn a_pcmu_caller_bridged_to_a_pcma_agent_is_recorded_on_both_channels() {
    assert_each_side_carries_its_own_tone(Codec::Pcmu, Codec::Pcmu, Codec::Pcma);
}

/// A caller that offered PCMA first and PCMU second, answered PCMU (our preference), that keeps
/// sending PCMA: its audio is still recorded, and reaches the agent transcoded, not dropped.
#[test]
fn a_caller_sending_pcma_on_a_leg_answered_pcmu_is_recorded_and_heard() {
    assert_each_side_carries_its_own_tone(Codec::Pcmu, Codec::Pcma, Codec::Pcmu);
}

#[test]
fn a_caller_sending_pcmu_on_a_leg_answered_pcma_is_recorded_and_heard() {
    assert_each_side_carries_its_own_tone(Codec::Pcma, Codec::Pcmu, Codec::Pcma);
}

/// A caller packetising at `ptime_ms` (sipp's `g711a.pcap` is 30 ms) talks for three seconds:
/// returns the recorded left channel, one 20 ms frame per tick.
fn recorded_caller_with_ptime(ptime_ms: u64) -> Vec<Vec<i16>> {
    let mut call = Call::with_agent(Codec::Pcma, Codec::Pcmu);
    call.bridge.connect();
    let sink = MemorySink::default();
    call.bridge.start_recording(Box::new(sink.clone()));
    let samples = (ptime_ms * 8) as usize;
    let mut sent = 0u64;
    for tick in 0..150u64 {
        while sent * ptime_ms <= tick * 20 {
            let start = (sent as usize) * samples;
            let tone: Vec<i16> = (start..start + samples)
                .map(|n| (6000.0 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / 8000.0).sin()) as i16)
                .collect();
            let mut payload = Vec::new();
            Codec::Pcma.encode(&tone, &mut payload);
            let (seq, ts) = (59_133u16.wrapping_add(sent as u16), 240 + (start as u32));
            call.packet(LegId::Customer, CUSTOMER, &rtp(8, seq, ts, 0xdee0_ee8f, sent == 0, &payload));
            sent += 1;
        }
        call.advance(20);
    }
    sink.frames.lock().expect("lock").iter().map(|(l, _)| l.clone()).collect()
}

fn assert_recorded_without_gaps(ptime_ms: u64) {
    let frames = recorded_caller_with_ptime(ptime_ms);
    let loud = |f: &Vec<i16>| f.iter().any(|&s| s.abs() > 3000);
    let first = frames.iter().position(loud).expect("the caller is heard");
    let map: String = frames.iter().map(|f| if loud(f) { '#' } else { '.' }).collect();
    assert!(frames[first..frames.len() - 1].iter().all(loud), "{ptime_ms} ms packets, frames heard: {map}");
    let tail: Vec<i16> = frames[frames.len() - 50..].concat();
    let share = tone_share(&tail, 1000.0);
    assert!(share > 0.95, "{ptime_ms} ms packets: 1 kHz share {share:.3} in the last second, frames: {map}");
}

#[test]
fn a_caller_sending_30_ms_packets_is_recorded_whole_not_two_frames_in_three() {
    assert_recorded_without_gaps(30);
}

#[test]
fn a_caller_sending_10_ms_packets_is_recorded_whole() {
    assert_recorded_without_gaps(10);
}
