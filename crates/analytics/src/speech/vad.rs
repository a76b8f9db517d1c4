//! Energy-based voice activity detection for one channel, streaming and sans-IO.
//!
//! Samples go in, talk segments come out. Each 20 ms frame's energy (dBFS) is compared with an
//! adaptive noise floor: the minimum frame energy seen over the last `noise_window_ms` (minimum
//! statistics, kept as per-block minima so memory is bounded), clamped between
//! `min_noise_floor_dbfs` and `max_noise_floor_dbfs`. A frame is speech when it is at least
//! `speech_above_floor_db` over the floor and louder than `min_speech_dbfs`.
//!
//! Hangover: a pause shorter than `hangover_ms` inside talk counts as talk. The decision on the
//! paused frames is deferred until talk resumes or the hangover runs out, so segment edges stay
//! where the energy is (no tail added to every utterance). Bursts shorter than `min_speech_ms`
//! (clicks, line noise) are dropped. This module must never allocate per sample; its memory is
//! the segment list plus a fixed ring.

use super::{Segment, SpeechError};

/// Tuning of the detector. Defaults suit narrow-band telephone speech.
#[derive(Debug, Clone, PartialEq)]
pub struct VadConfig {
    /// Analysis frame length.
    pub frame_ms: u32,
    /// A frame is speech when its energy is this far above the noise floor...
    pub speech_above_floor_db: f64,
    /// ...and louder than this absolute level (so a digitally silent line with dither is not talk).
    pub min_speech_dbfs: f64,
    /// How far back the noise floor looks for its minimum.
    pub noise_window_ms: u32,
    /// The floor never goes below this (digital silence would otherwise make any hiss "speech").
    pub min_noise_floor_dbfs: f64,
    /// The floor never goes above this, so a long stretch of loud talk is never taken for noise.
    pub max_noise_floor_dbfs: f64,
    /// Pauses shorter than this inside talk are talk.
    pub hangover_ms: u32,
    /// Talk bursts shorter than this are dropped as clicks.
    pub min_speech_ms: u32,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            frame_ms: 20,
            speech_above_floor_db: 9.0,
            min_speech_dbfs: -50.0,
            noise_window_ms: 5_000,
            min_noise_floor_dbfs: -80.0,
            max_noise_floor_dbfs: -45.0,
            hangover_ms: 300,
            min_speech_ms: 100,
        }
    }
}

/// Frames per noise-floor block: the floor keeps one minimum per block.
const NOISE_BLOCK_FRAMES: u32 = 25;
/// Energy reported for an all-zero frame.
const SILENT_FRAME_DBFS: f64 = -100.0;

impl VadConfig {
    /// Checks that every field is in a range where the detector means something.
    pub fn validate(&self) -> Result<(), SpeechError> {
        let bad = |field: &'static str, problem: &'static str| Err(SpeechError::BadConfig { field, problem });
        if !(10..=100).contains(&self.frame_ms) {
            return bad("frame_ms", "must be 10 to 100");
        }
        if !(self.speech_above_floor_db.is_finite() && self.speech_above_floor_db > 0.0) {
            return bad("speech_above_floor_db", "must be a positive number of dB");
        }
        if !(self.min_noise_floor_dbfs < self.max_noise_floor_dbfs && self.max_noise_floor_dbfs <= 0.0) {
            return bad("max_noise_floor_dbfs", "must be above min_noise_floor_dbfs and at most 0 dBFS");
        }
        if !(self.min_speech_dbfs.is_finite() && self.min_speech_dbfs <= 0.0) {
            return bad("min_speech_dbfs", "must be at most 0 dBFS");
        }
        if self.noise_window_ms < self.frame_ms * NOISE_BLOCK_FRAMES || self.noise_window_ms > 600_000 {
            return bad("noise_window_ms", "must be 25 frames to 10 minutes long");
        }
        if self.hangover_ms > 10_000 {
            return bad("hangover_ms", "must be at most 10000 ms");
        }
        if self.min_speech_ms > 10_000 {
            return bad("min_speech_ms", "must be at most 10000 ms");
        }
        Ok(())
    }
}

/// Minimum statistics over a sliding window, as a ring of per-block minima.
#[derive(Debug)]
struct NoiseFloor {
    block_minima: Vec<f64>,
    next_slot: usize,
    filled: usize,
    current_min: f64,
    frames_in_block: u32,
    min_dbfs: f64,
    max_dbfs: f64,
}

impl NoiseFloor {
    fn new(config: &VadConfig) -> Self {
        let blocks = (config.noise_window_ms / (config.frame_ms * NOISE_BLOCK_FRAMES)).max(1) as usize;
        Self {
            block_minima: vec![f64::INFINITY; blocks],
            next_slot: 0,
            filled: 0,
            current_min: f64::INFINITY,
            frames_in_block: 0,
            min_dbfs: config.min_noise_floor_dbfs,
            max_dbfs: config.max_noise_floor_dbfs,
        }
    }

    /// Takes one frame's energy and returns the floor to judge it against.
    fn observe(&mut self, energy_dbfs: f64) -> f64 {
        self.current_min = self.current_min.min(energy_dbfs);
        self.frames_in_block += 1;
        let past = self.block_minima[..self.filled].iter().copied().fold(f64::INFINITY, f64::min);
        let floor = past.min(self.current_min).clamp(self.min_dbfs, self.max_dbfs);
        if self.frames_in_block == NOISE_BLOCK_FRAMES {
            self.block_minima[self.next_slot] = self.current_min;
            self.next_slot = (self.next_slot + 1) % self.block_minima.len();
            self.filled = (self.filled + 1).min(self.block_minima.len());
            self.current_min = f64::INFINITY;
            self.frames_in_block = 0;
        }
        floor
    }
}

/// A talk segment still open, in samples.
#[derive(Debug, Clone, Copy)]
struct OpenSegment {
    start_sample: u64,
    last_speech_end_sample: u64,
}

/// The detector for one channel.
#[derive(Debug)]
pub struct ChannelVad {
    config: VadConfig,
    sample_rate_hz: u32,
    frame_samples: u32,
    floor: NoiseFloor,
    sum_squares: f64,
    samples_in_frame: u32,
    samples_seen: u64,
    open: Option<OpenSegment>,
    segments: Vec<Segment>,
}

impl ChannelVad {
    /// A detector for a channel at `sample_rate_hz`; the config must have passed
    /// [`VadConfig::validate`].
    pub fn new(config: &VadConfig, sample_rate_hz: u32) -> Self {
        let frame_samples = (u64::from(sample_rate_hz) * u64::from(config.frame_ms) / 1000).max(1) as u32;
        Self {
            config: config.clone(),
            sample_rate_hz,
            frame_samples,
            floor: NoiseFloor::new(config),
            sum_squares: 0.0,
            samples_in_frame: 0,
            samples_seen: 0,
            open: None,
            segments: Vec::new(),
        }
    }

    /// Feeds one sample.
    #[inline]
    pub fn push(&mut self, sample: i16) {
        let s = f64::from(sample);
        self.sum_squares += s * s;
        self.samples_in_frame += 1;
        self.samples_seen += 1;
        if self.samples_in_frame == self.frame_samples {
            self.end_frame();
        }
    }

    fn end_frame(&mut self) {
        let mean_square = self.sum_squares / f64::from(self.samples_in_frame.max(1));
        let full_scale = 32768.0f64 * 32768.0;
        let energy = if mean_square > 0.0 {
            (10.0 * (mean_square / full_scale).log10()).max(SILENT_FRAME_DBFS)
        } else {
            SILENT_FRAME_DBFS
        };
        let floor = self.floor.observe(energy);
        let speech = energy >= floor + self.config.speech_above_floor_db && energy >= self.config.min_speech_dbfs;
        let frame_end = self.samples_seen;
        let frame_start = frame_end - u64::from(self.samples_in_frame);
        self.sum_squares = 0.0;
        self.samples_in_frame = 0;
        self.decide(frame_start, frame_end, speech);
    }

    fn decide(&mut self, frame_start: u64, frame_end: u64, speech: bool) {
        let hangover_samples = self.ms_to_samples(self.config.hangover_ms);
        match (self.open.as_mut(), speech) {
            (Some(open), true) => open.last_speech_end_sample = frame_end,
            (None, true) => {
                self.open = Some(OpenSegment { start_sample: frame_start, last_speech_end_sample: frame_end });
            }
            (Some(open), false) if frame_end - open.last_speech_end_sample > hangover_samples => self.close(),
            _ => {}
        }
    }

    fn close(&mut self) {
        if let Some(open) = self.open.take() {
            let len = open.last_speech_end_sample - open.start_sample;
            if len >= self.ms_to_samples(self.config.min_speech_ms) {
                self.segments.push(Segment {
                    start_ms: self.samples_to_ms(open.start_sample),
                    end_ms: self.samples_to_ms(open.last_speech_end_sample),
                });
            }
        }
    }

    fn ms_to_samples(&self, ms: u32) -> u64 {
        u64::from(ms) * u64::from(self.sample_rate_hz) / 1000
    }

    fn samples_to_ms(&self, samples: u64) -> u64 {
        samples * 1000 / u64::from(self.sample_rate_hz)
    }

    /// Ends the stream: a last partial frame is judged on its own, an open segment is closed.
    /// Returns the talk segments in time order, non-overlapping, and the duration in ms.
    pub fn finish(mut self) -> (Vec<Segment>, u64) {
        if self.samples_in_frame > 0 {
            self.end_frame();
        }
        self.close();
        let duration_ms = self.samples_to_ms(self.samples_seen);
        (self.segments, duration_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        assert_eq!(VadConfig::default().validate(), Ok(()));
    }

    #[test]
    fn out_of_range_setting_is_refused_by_name() {
        let c = VadConfig { min_speech_ms: 60_000, ..VadConfig::default() };
        assert_eq!(
            c.validate(),
            Err(SpeechError::BadConfig { field: "min_speech_ms", problem: "must be at most 10000 ms" })
        );
        let c = VadConfig { max_noise_floor_dbfs: -90.0, ..VadConfig::default() };
        assert!(matches!(c.validate(), Err(SpeechError::BadConfig { field: "max_noise_floor_dbfs", .. })));
    }

    #[test]
    fn digital_silence_is_never_talk() {
        let mut vad = ChannelVad::new(&VadConfig::default(), 8_000);
        for _ in 0..80_000 {
            vad.push(0);
        }
        assert_eq!(vad.finish(), (vec![], 10_000));
    }
}
