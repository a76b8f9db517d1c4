//! Adaptive jitter buffer: packets in any order in, one 20 ms frame out per tick, in sequence.
//!
//! It reorders, drops duplicates and packets that come after their playout time, reports gaps as
//! [`Playout::Lost`] so the caller can conceal them, and adapts its target delay to the measured
//! interarrival jitter (RFC 3550 A.8 estimator): target = frame + 3 × jitter, rounded up to whole
//! frames, within `min_delay_ms ..= max_jitter_buffer_ms`. When it holds more than target + 2 frames
//! it discards one frame per tick to come back down; on underrun it re-buffers to the target.
//! Must never: hold more than `max_jitter_buffer_ms` of audio, or play a packet twice or backwards.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::codec::{PTIME_MS, SAMPLE_RATE_HZ};

/// Limits and starting point.
#[derive(Debug, Clone, Copy)]
pub struct JitterBufferConfig {
    /// Most audio buffered; the oldest is dropped beyond it.
    pub max_jitter_buffer_ms: u32,
    /// Smallest target delay.
    pub min_delay_ms: u32,
    /// Target before enough packets were seen to measure jitter.
    pub initial_delay_ms: u32,
    /// Packets needed before the target follows the measured jitter.
    pub warmup_packets: u32,
}

impl Default for JitterBufferConfig {
    fn default() -> Self {
        Self { max_jitter_buffer_ms: 200, min_delay_ms: 20, initial_delay_ms: 40, warmup_packets: 16 }
    }
}

/// What happened to a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Buffered,
    /// Its playout time has passed.
    Late,
    Duplicate,
}

/// One frame handed to the player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferedFrame {
    pub sequence: u16,
    pub timestamp: u32,
    pub payload: Vec<u8>,
}

/// What to play this tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    Frame(BufferedFrame),
    /// The packet for this tick is missing but later ones are here: conceal and move on.
    Lost,
    /// Nothing to play (not started, or re-buffering after an underrun).
    Empty,
}

#[derive(Debug, Clone, Default)]
pub struct JitterCounters {
    pub late: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub overflow_dropped: u64,
    pub shrink_dropped: u64,
    pub underruns: u64,
}

struct Entry {
    timestamp: u32,
    payload: Vec<u8>,
}

/// The adaptive jitter buffer of one incoming stream.
pub struct JitterBuffer {
    config: JitterBufferConfig,
    packets: BTreeMap<u64, Entry>,
    highest: Option<u64>,
    next: Option<u64>,
    playing: bool,
    epoch: Option<Instant>,
    last_transit_ms: Option<f64>,
    jitter_ms: f64,
    seen: u32,
    pub counters: JitterCounters,
}

/// Extended sequence numbers start here so that early reordering never goes below zero.
const EXT_BASE: u64 = 1 << 32;

impl JitterBuffer {
    pub fn new(config: JitterBufferConfig) -> Self {
        Self {
            config,
            packets: BTreeMap::new(),
            highest: None,
            next: None,
            playing: false,
            epoch: None,
            last_transit_ms: None,
            jitter_ms: 0.0,
            seen: 0,
            counters: JitterCounters::default(),
        }
    }

    fn extend(&mut self, seq: u16) -> u64 {
        match self.highest {
            None => EXT_BASE + u64::from(seq),
            Some(h) => {
                let delta = i64::from(seq.wrapping_sub(h as u16) as i16);
                h.saturating_add_signed(delta)
            }
        }
    }

    /// Measured interarrival jitter, ms.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter_ms
    }

    /// Current target delay, ms (whole frames).
    pub fn target_delay_ms(&self) -> u32 {
        let c = &self.config;
        let raw = if self.seen < c.warmup_packets {
            f64::from(c.initial_delay_ms)
        } else {
            f64::from(PTIME_MS) + 3.0 * self.jitter_ms
        };
        // The epsilon keeps float noise in an all-zero jitter from adding a whole frame.
        let frames = ((raw - 1e-6) / f64::from(PTIME_MS)).ceil() as u32;
        (frames * PTIME_MS).clamp(c.min_delay_ms, c.max_jitter_buffer_ms)
    }

    /// Audio held from the next frame to play to the newest, ms.
    pub fn buffered_ms(&self) -> u32 {
        match (self.packets.first_key_value(), self.packets.last_key_value()) {
            (Some((_, first)), Some((_, last))) => {
                let start =
                    if self.playing { self.next_timestamp().unwrap_or(first.timestamp) } else { first.timestamp };
                last.timestamp.wrapping_sub(start) / (SAMPLE_RATE_HZ / 1000) + PTIME_MS
            }
            _ => 0,
        }
    }

    fn next_timestamp(&self) -> Option<u32> {
        let next = self.next?;
        let (&k, e) = self.packets.range(next..).next()?;
        // Hostile sequence jumps can make the distance huge: wrap like RTP timestamps do.
        let frames = (k - next) as u32;
        Some(e.timestamp.wrapping_sub(frames.wrapping_mul(PTIME_MS * SAMPLE_RATE_HZ / 1000)))
    }

    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        let epoch = *self.epoch.get_or_insert(now);
        let arrival_ms = now.saturating_duration_since(epoch).as_secs_f64() * 1000.0;
        let ts_ms = f64::from(timestamp) * 1000.0 / f64::from(SAMPLE_RATE_HZ);
        let transit = arrival_ms - ts_ms;
        if let Some(last) = self.last_transit_ms {
            let d = (transit - last).abs();
            // Timestamp wrap makes one huge difference: ignore it rather than poison the estimate.
            if d < 10_000.0 {
                self.jitter_ms += (d - self.jitter_ms) / 16.0;
            }
        }
        self.last_transit_ms = Some(transit);
    }

    /// Accepts a packet from the network.
    pub fn push(&mut self, now: Instant, sequence: u16, timestamp: u32, payload: &[u8]) -> PushOutcome {
        let ext = self.extend(sequence);
        if self.next.is_some_and(|n| ext < n) {
            self.counters.late += 1;
            return PushOutcome::Late;
        }
        if self.packets.contains_key(&ext) {
            self.counters.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        self.update_jitter(now, timestamp);
        self.seen = self.seen.saturating_add(1);
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        self.packets.insert(ext, Entry { timestamp, payload: payload.to_vec() });
        while self.buffered_ms() > self.config.max_jitter_buffer_ms {
            let Some((k, _)) = self.packets.pop_first() else { break };
            self.counters.overflow_dropped += 1;
            if self.playing {
                self.next = Some(k + 1);
            }
        }
        PushOutcome::Buffered
    }

    /// Takes the frame for this 20 ms tick.
    pub fn pop(&mut self) -> Playout {
        if !self.playing {
            if self.packets.is_empty() || self.buffered_ms() < self.target_delay_ms() {
                return Playout::Empty;
            }
            self.playing = true;
            self.next = self.packets.first_key_value().map(|(k, _)| *k);
        }
        let Some(next) = self.next else { return Playout::Empty };
        if self.packets.is_empty() {
            self.playing = false;
            self.counters.underruns += 1;
            return Playout::Empty;
        }
        let mut next = next;
        if self.buffered_ms() > self.target_delay_ms() + 2 * PTIME_MS {
            // Too much delay: discard the frame due now and play the following one.
            if self.packets.remove(&next).is_some() {
                self.counters.shrink_dropped += 1;
            }
            next += 1;
        }
        self.next = Some(next + 1);
        match self.packets.remove(&next) {
            Some(e) => {
                Playout::Frame(BufferedFrame { sequence: next as u16, timestamp: e.timestamp, payload: e.payload })
            }
            None => {
                self.counters.lost += 1;
                Playout::Lost
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    fn seqs(jb: &mut JitterBuffer, ticks: usize) -> Vec<Option<u16>> {
        (0..ticks)
            .filter_map(|_| match jb.pop() {
                Playout::Frame(f) => Some(Some(f.sequence)),
                Playout::Lost => Some(None),
                Playout::Empty => None,
            })
            .collect()
    }

    #[test]
    fn reordered_packets_play_in_sequence() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterBufferConfig::default());
        for (i, s) in [1u16, 3, 2, 4].iter().enumerate() {
            jb.push(at(t0, 20 * i as u64), *s, u32::from(*s) * 160, &[*s as u8]);
        }
        assert_eq!(seqs(&mut jb, 6), [Some(1), Some(2), Some(3), Some(4)]);
    }

    #[test]
    fn a_missing_packet_is_reported_lost_and_skipped() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterBufferConfig { initial_delay_ms: 100, ..Default::default() });
        for s in [10u16, 11, 13, 14] {
            jb.push(t0, s, u32::from(s) * 160, &[]);
        }
        assert_eq!(seqs(&mut jb, 5), [Some(10), Some(11), None, Some(13), Some(14)]);
        assert_eq!(jb.counters.lost, 1);
    }

    #[test]
    fn a_packet_after_its_playout_time_is_dropped_as_late() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterBufferConfig::default());
        for s in [1u16, 3, 4] {
            jb.push(t0, s, u32::from(s) * 160, &[]);
        }
        assert_eq!(seqs(&mut jb, 2), [Some(1), None]);
        assert_eq!(jb.push(t0, 2, 320, &[]), PushOutcome::Late);
        assert_eq!(jb.push(t0, 3, 480, &[]), PushOutcome::Duplicate);
    }

    #[test]
    fn sequence_wrap_keeps_order() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterBufferConfig::default());
        for s in [65534u16, 0, 65535, 1] {
            jb.push(t0, s, u32::from(s.wrapping_add(2)) * 160, &[]);
        }
        assert_eq!(seqs(&mut jb, 4), [Some(65534), Some(65535), Some(0), Some(1)]);
    }

    #[test]
    fn buffered_audio_never_exceeds_the_limit() {
        let t0 = Instant::now();
        let cfg = JitterBufferConfig { max_jitter_buffer_ms: 100, ..Default::default() };
        let mut jb = JitterBuffer::new(cfg);
        for s in 0..50u16 {
            jb.push(at(t0, u64::from(s) * 20), s, u32::from(s) * 160, &[]);
            assert!(jb.buffered_ms() <= 100);
        }
        assert_eq!(jb.counters.overflow_dropped, 45);
    }

    #[test]
    fn steady_arrival_keeps_the_minimum_delay() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterBufferConfig::default());
        for s in 0..100u16 {
            jb.push(at(t0, u64::from(s) * 20), s, u32::from(s) * 160, &[]);
            jb.pop();
        }
        assert!(jb.jitter_ms() < 1e-9);
        assert_eq!(jb.target_delay_ms(), 20);
    }

    #[test]
    fn target_delay_grows_with_jitter_and_is_capped() {
        // Arrivals alternate 0 ms and 40 ms late: every |D| is 40 ms, so jitter tends to 40 ms and
        // the target to 20 + 3 × 40 = 140 ms, within the 200 ms cap.
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterBufferConfig::default());
        for s in 0..200u16 {
            let late = if s % 2 == 1 { 40 } else { 0 };
            jb.push(at(t0, u64::from(s) * 20 + late), s, u32::from(s) * 160, &[]);
            jb.pop();
        }
        assert!((jb.jitter_ms() - 40.0).abs() < 0.5, "{}", jb.jitter_ms());
        assert_eq!(jb.target_delay_ms(), 140);
        let capped =
            JitterBuffer { config: JitterBufferConfig { max_jitter_buffer_ms: 100, ..Default::default() }, ..jb };
        assert_eq!(capped.target_delay_ms(), 100);
    }

    #[test]
    fn excess_delay_is_shed_one_frame_per_tick() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterBufferConfig { warmup_packets: 0, ..Default::default() });
        // A burst of 8 frames at once (160 ms) against a 20 ms target.
        for s in 0..8u16 {
            jb.push(t0, s, u32::from(s) * 160, &[]);
        }
        let played = seqs(&mut jb, 8);
        assert!(jb.counters.shrink_dropped >= 2, "{played:?}");
        assert!(played.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn underrun_rebuffers_then_resumes() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterBufferConfig::default());
        jb.push(t0, 1, 160, &[]);
        jb.push(t0, 2, 320, &[]);
        assert_eq!(seqs(&mut jb, 3), [Some(1), Some(2)]);
        assert_eq!(jb.counters.underruns, 1);
        jb.push(at(t0, 60), 3, 480, &[]);
        jb.push(at(t0, 80), 4, 640, &[]);
        assert_eq!(seqs(&mut jb, 2), [Some(3), Some(4)]);
    }
}
