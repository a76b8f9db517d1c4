//! The sending side of one RTP stream: one SSRC, one sequence and one timestamp line for the far end
//! however often what we send switches source (prompt → bridged caller → music on hold → prompt).
//!
//! On a switch, sequence numbers continue at last + 1, the timestamp jumps forward by the wall-clock
//! time that passed (never backwards) and the first packet carries the marker bit. Relayed packets
//! keep their own spacing (gaps, reordering) through fixed offsets. Must never: let the far end see
//! a sequence or timestamp go backwards across a switch, or a second SSRC.

use std::time::Instant;

use crate::codec::{SAMPLE_RATE_HZ, SAMPLES_PER_FRAME};

/// Where the packets we send come from at the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaSource {
    /// Frames we generate (prompt, music on hold, mix), by an id chosen by the caller.
    Local(u32),
    /// Packets relayed from another leg, by that leg's incoming SSRC.
    Relay { ssrc: u32 },
}

/// Fields to stamp on an outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
}

/// Sequence/timestamp state of one outgoing stream.
#[derive(Debug, Clone)]
pub struct SendStream {
    ssrc: u32,
    source: Option<MediaSource>,
    /// Highest sequence sent (wrap-aware) and the timestamp sent with the last packet.
    last_sequence: u16,
    last_timestamp: u32,
    last_samples: u32,
    last_sent_at: Option<Instant>,
    seq_offset: u16,
    ts_offset: u32,
    /// RTCP sender counters.
    pub packets_sent: u32,
    pub octets_sent: u32,
}

fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

impl SendStream {
    /// A stream with the given SSRC and random-looking initial sequence/timestamp (injected).
    pub fn new(ssrc: u32, initial_sequence: u16, initial_timestamp: u32) -> Self {
        Self {
            ssrc,
            source: None,
            last_sequence: initial_sequence.wrapping_sub(1),
            last_timestamp: initial_timestamp,
            last_samples: 0,
            last_sent_at: None,
            seq_offset: 0,
            ts_offset: 0,
            packets_sent: 0,
            octets_sent: 0,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The RTP timestamp that corresponds to `now` on our media clock (for SR and DTMF).
    pub fn timestamp_at(&self, now: Instant) -> u32 {
        match self.last_sent_at {
            Some(at) => self.last_timestamp.wrapping_add(elapsed_samples(at, now)),
            None => self.last_timestamp,
        }
    }

    /// Timestamp to continue from after a switch: at least one frame after the last, more if the
    /// wall clock says more time passed.
    fn continued_timestamp(&self, now: Instant) -> u32 {
        match self.last_sent_at {
            None => self.last_timestamp,
            Some(at) => {
                let gap = elapsed_samples(at, now).max(self.last_samples).max(1);
                self.last_timestamp.wrapping_add(gap)
            }
        }
    }

    fn record(&mut self, now: Instant, stamp: Stamp, samples: u32, payload_bytes: usize) {
        if seq_newer(stamp.sequence, self.last_sequence) || self.packets_sent == 0 {
            self.last_sequence = stamp.sequence;
            self.last_timestamp = stamp.timestamp;
            self.last_samples = samples;
            self.last_sent_at = Some(now);
        }
        self.packets_sent = self.packets_sent.wrapping_add(1);
        self.octets_sent = self.octets_sent.wrapping_add(payload_bytes as u32);
    }

    /// Stamps a locally generated frame of `samples` samples.
    pub fn stamp_local(&mut self, now: Instant, source_id: u32, samples: u32, payload_bytes: usize) -> Stamp {
        let source = MediaSource::Local(source_id);
        let switched = self.source != Some(source);
        let timestamp = if switched || self.last_sent_at.is_none() {
            self.continued_timestamp(now)
        } else {
            self.last_timestamp.wrapping_add(self.last_samples)
        };
        self.source = Some(source);
        let stamp = Stamp { sequence: self.last_sequence.wrapping_add(1), timestamp, marker: switched };
        self.record(now, stamp, samples, payload_bytes);
        stamp
    }

    /// Stamps a relayed packet, mapping its sequence/timestamp onto ours.
    pub fn stamp_relay(
        &mut self,
        now: Instant,
        in_ssrc: u32,
        in_seq: u16,
        in_ts: u32,
        in_marker: bool,
        payload_bytes: usize,
    ) -> Stamp {
        let source = MediaSource::Relay { ssrc: in_ssrc };
        let switched = self.source != Some(source);
        if switched {
            let ts = self.continued_timestamp(now);
            self.seq_offset = self.last_sequence.wrapping_add(1).wrapping_sub(in_seq);
            self.ts_offset = ts.wrapping_sub(in_ts);
            self.source = Some(source);
        }
        let stamp = Stamp {
            sequence: in_seq.wrapping_add(self.seq_offset),
            timestamp: in_ts.wrapping_add(self.ts_offset),
            marker: in_marker || switched,
        };
        self.record(now, stamp, SAMPLES_PER_FRAME as u32, payload_bytes);
        stamp
    }

    /// Stamps an RFC 4733 event packet: next sequence number, the event's own timestamp. The audio
    /// timestamp line is left alone, and the next audio packet is treated as a switch (marker).
    pub fn stamp_event(&mut self, now: Instant, event_timestamp: u32, marker: bool, payload_bytes: usize) -> Stamp {
        if self.last_sent_at.is_none() {
            // First packet of the stream: anchor the audio clock here so audio after the event
            // continues from wall-clock time.
            self.last_sent_at = Some(now);
        }
        self.last_sequence = self.last_sequence.wrapping_add(1);
        self.packets_sent = self.packets_sent.wrapping_add(1);
        self.octets_sent = self.octets_sent.wrapping_add(payload_bytes as u32);
        self.source = None;
        Stamp { sequence: self.last_sequence, timestamp: event_timestamp, marker }
    }

    /// Forgets the current source so the next packet is treated as a switch (marker set).
    pub fn mark_discontinuity(&mut self) {
        self.source = None;
    }
}

fn elapsed_samples(from: Instant, to: Instant) -> u32 {
    let us = to.saturating_duration_since(from).as_micros();
    u32::try_from(us * u128::from(SAMPLE_RATE_HZ) / 1_000_000).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn prompt_frames_advance_by_one_frame_each() {
        let t0 = Instant::now();
        let mut s = SendStream::new(7, 100, 1000);
        let a = s.stamp_local(t0, 1, 160, 160);
        let b = s.stamp_local(ms(t0, 20), 1, 160, 160);
        assert_eq!((a.sequence, a.timestamp, a.marker), (100, 1000, true));
        assert_eq!((b.sequence, b.timestamp, b.marker), (101, 1160, false));
    }

    #[test]
    fn prompt_then_bridge_then_prompt_stays_monotonic_with_markers_at_switches() {
        let t0 = Instant::now();
        let mut s = SendStream::new(7, 65534, u32::MAX - 500);
        let mut stamps = Vec::new();
        for i in 0..3 {
            stamps.push(s.stamp_local(ms(t0, 20 * i), 1, 160, 160));
        }
        // The caller's packets have their own unrelated numbering.
        for i in 0..3u16 {
            stamps.push(s.stamp_relay(
                ms(t0, 60 + 20 * u64::from(i)),
                0xabc,
                40000 + i,
                90_000 + 160 * u32::from(i),
                false,
                160,
            ));
        }
        for i in 0..3 {
            stamps.push(s.stamp_local(ms(t0, 200 + 20 * i), 2, 160, 160));
        }
        for w in stamps.windows(2) {
            assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1));
            let step = w[1].timestamp.wrapping_sub(w[0].timestamp);
            assert!((160..=8000).contains(&step), "timestamp step {step}");
        }
        let markers: Vec<bool> = stamps.iter().map(|s| s.marker).collect();
        assert_eq!(markers, [true, false, false, true, false, false, true, false, false]);
        // 100 ms passed between the last relayed packet (t=100) and the next prompt (t=200): 800 samples.
        assert_eq!(stamps[6].timestamp.wrapping_sub(stamps[5].timestamp), 800);
    }

    #[test]
    fn relayed_gaps_and_reordering_are_preserved() {
        let t0 = Instant::now();
        let mut s = SendStream::new(7, 10, 0);
        let a = s.stamp_relay(t0, 1, 500, 8000, false, 160);
        let c = s.stamp_relay(ms(t0, 40), 1, 502, 8320, false, 160);
        let b = s.stamp_relay(ms(t0, 45), 1, 501, 8160, false, 160);
        assert_eq!((a.sequence, b.sequence, c.sequence), (10, 11, 12));
        assert_eq!((b.timestamp - a.timestamp, c.timestamp - a.timestamp), (160, 320));
        // After the late packet, the next switch still continues after the highest sequence.
        let d = s.stamp_local(ms(t0, 60), 9, 160, 160);
        assert_eq!(d.sequence, 13);
    }

    #[test]
    fn audio_after_an_event_continues_past_the_events_duration() {
        let t0 = Instant::now();
        let mut s = SendStream::new(7, 0, 1000);
        let e = s.stamp_event(t0, s.timestamp_at(t0), true, 4);
        s.stamp_event(ms(t0, 20), e.timestamp, false, 4);
        let a = s.stamp_local(ms(t0, 100), 1, 160, 160);
        assert_eq!((e.sequence, a.sequence), (0, 2));
        assert_eq!((a.timestamp - e.timestamp, a.marker), (800, true));
    }

    #[test]
    fn a_new_incoming_ssrc_is_a_switch() {
        let t0 = Instant::now();
        let mut s = SendStream::new(7, 0, 0);
        s.stamp_relay(t0, 1, 500, 8000, false, 160);
        let x = s.stamp_relay(ms(t0, 20), 2, 7, 3, false, 160);
        assert_eq!((x.sequence, x.timestamp, x.marker), (1, 160, true));
    }
}
