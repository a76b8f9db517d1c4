//! The packet and timer side of [`Bridge`]: `handle_packet`, `handle_timeout` and the `poll_*`
//! outputs, plus the 20 ms tick that pulls audio, records, mixes and plays.
//! Must never: block, allocate per sample, or let one bad datagram affect another leg.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{
    Bridge, DtmfSource, Feed, LegId, MediaEvent, MediaTimeoutReason, MonitorMode, PacketKind, SOURCE_HOLD, SOURCE_MIX,
    SOURCE_PROMPT, SOURCE_SILENCE, SOURCE_TONE, TICK, Transmit, mix_into,
};
use crate::codec::{Codec, SAMPLES_PER_FRAME};
use crate::dtmf::{DtmfDigit, DtmfNotice, DtmfPacket, TelephoneEvent};
use crate::inband;
use crate::leg::Accepted;
use crate::prompt::PlaybackEnd;
use crate::rtp::{RtpHeader, RtpPacket, looks_like_rtcp, write_simple};

/// The 20 ms of dual tone an RFC 4733 packet stands for (silence for end-packet repeats).
fn inband_tone(pkt: &DtmfPacket) -> [i16; SAMPLES_PER_FRAME] {
    let mut frame = [0; SAMPLES_PER_FRAME];
    if let (Ok(ev), false) = (TelephoneEvent::parse(&pkt.payload), pkt.retransmission)
        && let Some(digit) = DtmfDigit::from_event(ev.event)
    {
        let end = u32::from(ev.duration);
        let start = end.saturating_sub(1) / SAMPLES_PER_FRAME as u32 * SAMPLES_PER_FRAME as u32;
        inband::tone(digit, -f32::from(ev.volume), start, end, &mut frame);
    }
    frame
}

/// Ticks caught up at most after a stall; beyond that the clock is resynchronised.
const MAX_CATCH_UP_TICKS: u32 = 5;

impl Bridge {
    /// Feeds a datagram received on `leg`'s local socket from `from`.
    pub fn handle_packet(&mut self, now: Instant, leg: LegId, from: SocketAddr, bytes: &[u8]) {
        let ntp = self.config.ntp;
        let needs_audio = self.needs_audio(leg);
        let Some(l) = self.legs[leg.index()].as_mut() else { return };
        if looks_like_rtcp(bytes) {
            l.handle_rtcp(now, &ntp, from, bytes);
            return;
        }
        let Some((accepted, latched)) = l.accept_rtp(now, from, bytes) else { return };
        match accepted {
            Accepted::Audio(p, codec) if needs_audio => {
                // The jitter buffer holds the leg's negotiated law; the other law is converted.
                let payload = if codec == l.config.codec {
                    p.payload
                } else {
                    self.scratch.clear();
                    self.scratch.extend_from_slice(p.payload);
                    codec.transcode_in_place(l.config.codec, &mut self.scratch);
                    &self.scratch
                };
                l.jitter.push(now, p.header.sequence, p.header.timestamp, payload);
            }
            Accepted::Audio(..) => {}
            Accepted::Event(p) => {
                if l.dtmf_rx.handle_packet(now, p.header.timestamp, p.payload).is_err() {
                    l.counters.malformed += 1;
                }
            }
        }
        if latched {
            self.push_event(MediaEvent::Latched { leg, remote: from });
        }
        self.drain_dtmf(leg);
        match accepted {
            Accepted::Audio(p, codec) => self.relay(now, leg, &p, Some(codec)),
            Accepted::Event(p) => self.relay(now, leg, &p, None),
        }
    }

    fn whisper_active(&self) -> bool {
        self.monitor == Some(MonitorMode::Whisper) && self.legs[2].is_some()
    }

    /// Whether a leg's incoming audio must be decoded (recording, monitoring, in-band DTMF).
    pub(super) fn needs_audio(&self, leg: LegId) -> bool {
        let has_inband = self.leg(leg).is_some_and(|l| l.inband.is_some());
        match leg {
            LegId::Customer | LegId::Agent => self.recording.is_some() || self.legs[2].is_some() || has_inband,
            LegId::Supervisor => self.whisper_active() || has_inband,
            LegId::Consult => self.whisper_active() || has_inband,
        }
    }

    /// Forwards a packet to the other leg: audio (`Some(law it is in)`) transcoded to that leg's
    /// codec when they differ, or an RFC 4733 event (`None`) as it is.
    fn relay(&mut self, now: Instant, from: LegId, p: &RtpPacket<'_>, audio: Option<Codec>) {
        let is_event = audio.is_none();
        let consulting = self.consulting();
        let to = match from {
            LegId::Customer if consulting => return,
            LegId::Customer => LegId::Agent,
            LegId::Agent if consulting => LegId::Consult,
            LegId::Agent => LegId::Customer,
            LegId::Consult if consulting => LegId::Agent,
            LegId::Supervisor | LegId::Consult => return,
        };
        if !matches!(self.feeds[to.index()], Feed::Relay) || (to == LegId::Agent && self.whisper_active()) {
            return;
        }
        let Some(dst) = self.legs[to.index()].as_mut() else { return };
        if dst.dtmf_tx.is_sending() {
            return;
        }
        let payload_type = match (is_event, dst.config.telephone_event_pt) {
            (true, Some(pt)) => pt,
            (true, None) => return, // the far side cannot take RFC 4733; the digit was reported
            (false, _) => dst.config.codec.payload_type(),
        };
        let h = &p.header;
        let stamp = dst.send.stamp_relay(now, h.ssrc, h.sequence, h.timestamp, h.marker, p.payload.len());
        let header = RtpHeader {
            marker: stamp.marker,
            payload_type,
            sequence: stamp.sequence,
            timestamp: stamp.timestamp,
            ssrc: dst.send.ssrc(),
            ..RtpHeader::default()
        };
        let mut contents = Vec::with_capacity(12 + p.payload.len());
        if write_simple(&header, p.payload, &mut contents).is_err() {
            return;
        }
        let transcode = audio.filter(|&src| src != dst.config.codec);
        if let Some(src) = transcode {
            src.transcode_in_place(dst.config.codec, &mut contents[12..]);
        }
        dst.counters.rtp_sent += 1;
        let destination = dst.remote_rtp;
        self.counters.relayed += 1;
        self.counters.transcoded += u64::from(transcode.is_some());
        self.push_transmit(Transmit { leg: to, kind: PacketKind::Rtp, destination, contents });
    }

    fn drain_dtmf(&mut self, leg: LegId) {
        while let Some(n) = self.leg_mut(leg).and_then(|l| l.dtmf_rx.poll_event()) {
            match n {
                DtmfNotice::Started { digit } => self.on_digit_started(leg, digit, DtmfSource::Rfc4733),
                DtmfNotice::Ended { digit, duration_ms, .. } => self.push_event(MediaEvent::Dtmf {
                    leg,
                    digit,
                    source: DtmfSource::Rfc4733,
                    duration_ms: Some(duration_ms),
                }),
            }
        }
    }

    /// Barge-in, then the event.
    pub(super) fn on_digit_started(&mut self, leg: LegId, digit: DtmfDigit, source: DtmfSource) {
        if let Feed::Prompt(p) = &mut self.feeds[leg.index()]
            && p.on_digit()
        {
            self.end_prompt(leg, PlaybackEnd::Interrupted);
        }
        self.push_event(MediaEvent::DtmfStarted { leg, digit, source });
    }

    /// Runs timers that are due: 20 ms ticks, DTMF end timeouts, media timeouts and RTCP.
    pub fn handle_timeout(&mut self, now: Instant) {
        for id in LegId::ALL {
            if let Some(l) = self.leg_mut(id) {
                l.dtmf_rx.handle_timeout(now);
            }
            self.drain_dtmf(id);
        }
        let mut ticks = 0;
        while now >= self.next_tick_at {
            if ticks == MAX_CATCH_UP_TICKS {
                self.next_tick_at = now + TICK;
                break;
            }
            let at = self.next_tick_at;
            self.tick(at);
            self.next_tick_at += TICK;
            ticks += 1;
        }
        self.check_media_timeouts(now);
        self.send_due_rtcp(now);
    }

    fn check_media_timeouts(&mut self, now: Instant) {
        let limit = Duration::from_millis(self.config.media_timeout_ms);
        for id in LegId::ALL {
            let Some(l) = self.leg_mut(id) else { continue };
            let silent = now.saturating_duration_since(l.last_rtp_at);
            if l.expect_rtp && !l.timed_out && silent >= limit {
                l.timed_out = true;
                let silent_ms = u64::try_from(silent.as_millis()).unwrap_or(u64::MAX);
                self.push_event(MediaEvent::MediaTimeout { leg: id, reason: MediaTimeoutReason::NoRtp { silent_ms } });
            }
        }
    }

    fn send_due_rtcp(&mut self, now: Instant) {
        let ntp = self.config.ntp;
        let interval = self.rtcp_interval();
        for id in LegId::ALL {
            let Some(l) = self.leg_mut(id) else { continue };
            if !l.rtcp_due(now) {
                continue;
            }
            let contents = l.build_rtcp(now, &ntp, interval, false);
            let destination = l.rtcp_destination();
            if !contents.is_empty() {
                self.push_transmit(Transmit { leg: id, kind: PacketKind::Rtcp, destination, contents });
            }
        }
    }

    /// One 20 ms step: pull what each leg said, record it, then send each leg what it hears.
    fn tick(&mut self, now: Instant) {
        for id in LegId::ALL {
            let i = id.index();
            self.frames[i] = [0; SAMPLES_PER_FRAME];
            self.heard[i] = false;
            if !self.needs_audio(id) {
                continue;
            }
            let Some(l) = self.legs[i].as_mut() else { continue };
            self.heard[i] = l.pull_audio(&mut self.frames[i]);
            let digits = match l.inband.as_mut() {
                Some(det) if self.heard[i] => det.detect(&self.frames[i]),
                _ => Vec::new(),
            };
            for d in digits {
                self.on_digit_started(id, d, DtmfSource::Inband);
                self.push_event(MediaEvent::Dtmf { leg: id, digit: d, source: DtmfSource::Inband, duration_ms: None });
            }
        }
        if let Some(rec) = self.recording.as_mut()
            && let Err(e) = rec.write_frame(&self.frames[0], &self.frames[1])
        {
            self.recording = None;
            self.push_event(MediaEvent::RecordingFailed { reason: e.to_string() });
        }
        for id in LegId::ALL {
            self.send_tick(now, id);
        }
    }

    /// What a leg hears this tick when it is not relayed to: `None` for pure relay.
    fn frame_for(&mut self, id: LegId) -> Option<([i16; SAMPLES_PER_FRAME], u32)> {
        let i = id.index();
        if id == LegId::Supervisor {
            let mut f = self.frames[0];
            mix_into(&mut f, &self.frames[1]);
            return Some((f, SOURCE_MIX));
        }
        let mut f = [0; SAMPLES_PER_FRAME];
        let whisper_to_agent = id == LegId::Agent && self.whisper_active();
        let consulting = self.consulting();
        match &mut self.feeds[i] {
            Feed::Relay if whisper_to_agent => {
                // The agent hears whoever they talk with (the consulted agent during a consult).
                f = if consulting { self.frames[3] } else { self.frames[0] };
                mix_into(&mut f, &self.frames[2]);
                Some((f, SOURCE_MIX))
            }
            Feed::Relay => None,
            Feed::Silence => Some((f, SOURCE_SILENCE)),
            Feed::Hold(p) => {
                p.next_frame(&mut f);
                Some((f, SOURCE_HOLD))
            }
            Feed::Prompt(p) => {
                p.next_frame(&mut f);
                let ended = p.ended();
                if let Some(end) = ended {
                    self.feeds[i] = Feed::Silence;
                    self.push_event(MediaEvent::PlaybackEnded { leg: id, end });
                }
                Some((f, SOURCE_PROMPT))
            }
        }
    }

    fn send_tick(&mut self, now: Instant, id: LegId) {
        let Some(l) = self.legs[id.index()].as_mut() else { return };
        let stream_ts = l.send.timestamp_at(now);
        let frame = match (l.dtmf_tx.next_packet(stream_ts), l.config.telephone_event_pt) {
            (Some(pkt), Some(pt)) => return self.send_event(now, id, pt, &pkt),
            // The far end has no telephone-event: play the key as in-band tones instead.
            (Some(pkt), None) => Some((inband_tone(&pkt), SOURCE_TONE)),
            (None, _) => self.frame_for(id),
        };
        if let Some((frame, source)) = frame {
            self.send_audio(now, id, &frame, source);
        }
    }

    fn send_event(&mut self, now: Instant, id: LegId, payload_type: u8, pkt: &DtmfPacket) {
        let Some(l) = self.legs[id.index()].as_mut() else { return };
        let stamp = l.send.stamp_event(now, pkt.timestamp, pkt.marker, pkt.payload.len());
        let header = RtpHeader {
            marker: stamp.marker,
            payload_type,
            sequence: stamp.sequence,
            timestamp: stamp.timestamp,
            ssrc: l.send.ssrc(),
            ..RtpHeader::default()
        };
        let mut contents = Vec::with_capacity(16);
        if write_simple(&header, &pkt.payload, &mut contents).is_ok() {
            l.counters.rtp_sent += 1;
            let destination = l.remote_rtp;
            self.push_transmit(Transmit { leg: id, kind: PacketKind::Rtp, destination, contents });
        }
    }

    fn send_audio(&mut self, now: Instant, id: LegId, frame: &[i16; SAMPLES_PER_FRAME], source: u32) {
        let Some(l) = self.legs[id.index()].as_mut() else { return };
        let codec = l.config.codec;
        self.scratch.clear();
        codec.encode(frame, &mut self.scratch);
        let stamp = l.send.stamp_local(now, source, SAMPLES_PER_FRAME as u32, self.scratch.len());
        let header = RtpHeader {
            marker: stamp.marker,
            payload_type: codec.payload_type(),
            sequence: stamp.sequence,
            timestamp: stamp.timestamp,
            ssrc: l.send.ssrc(),
            ..RtpHeader::default()
        };
        let mut contents = Vec::with_capacity(12 + self.scratch.len());
        if write_simple(&header, &self.scratch, &mut contents).is_ok() {
            l.counters.rtp_sent += 1;
            let destination = l.remote_rtp;
            self.push_transmit(Transmit { leg: id, kind: PacketKind::Rtp, destination, contents });
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the signalling / contact layer.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let media_timeout = Duration::from_millis(self.config.media_timeout_ms);
        let mut next = self.next_tick_at;
        for l in self.legs.iter().flatten() {
            next = next.min(l.next_rtcp_at());
            if l.expect_rtp && !l.timed_out {
                next = next.min(l.last_rtp_at + media_timeout);
            }
            if let Some(t) = l.dtmf_rx.poll_timeout() {
                next = next.min(t);
            }
        }
        Some(next)
    }
}
