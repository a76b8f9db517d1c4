//! In-band DTMF detection (Goertzel) for trunks without RFC 4733: 8 kHz linear audio in, digits out.
//!
//! Audio is cut into blocks of [`BLOCK_SAMPLES`] (12.75 ms). A block votes for a digit when the
//! strongest row and column tones are loud enough, the twist between them is within limits, each
//! stands clear of the other tones of its group, and together they carry most of the block's energy
//! (which rejects speech and noise). Two consecutive votes (≥ 25.5 ms; every tone of 40 ms or more
//! fills two whole blocks) confirm a digit; two blocks without it end it. Must never: report a
//! single tone, report a held key more than once, or keep more than one block of audio.

use crate::dtmf::DtmfDigit;

/// Goertzel block length: 102 samples gives bins about 78 Hz wide, enough to separate the rows.
pub const BLOCK_SAMPLES: usize = 102;
const ROWS_HZ: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS_HZ: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYPAD: [[u8; 4]; 4] = [[1, 2, 3, 12], [4, 5, 6, 13], [7, 8, 9, 14], [10, 0, 11, 15]];

/// Detection thresholds.
#[derive(Debug, Clone, Copy)]
pub struct InbandConfig {
    /// Weakest tone amplitude accepted (16-bit linear peak; 700 ≈ -30 dBm0).
    pub min_tone_amplitude: f32,
    /// High group weaker than low group by at most this (dB).
    pub max_normal_twist_db: f32,
    /// High group stronger than low group by at most this (dB).
    pub max_reverse_twist_db: f32,
    /// The winning tone must beat the others of its group by this (dB).
    pub min_relative_peak_db: f32,
    /// Share of block energy the two tones must carry, 0..1.
    pub min_tone_energy_share: f32,
    /// Consecutive blocks needed to confirm a digit.
    pub confirm_blocks: u8,
    /// Consecutive blocks without the digit that end it.
    pub release_blocks: u8,
}

impl Default for InbandConfig {
    fn default() -> Self {
        Self {
            min_tone_amplitude: 700.0,
            max_normal_twist_db: 8.0,
            max_reverse_twist_db: 4.0,
            min_relative_peak_db: 8.0,
            min_tone_energy_share: 0.75,
            confirm_blocks: 2,
            release_blocks: 2,
        }
    }
}

struct Goertzel {
    coeff: [f32; 8],
}

impl Goertzel {
    fn new() -> Self {
        let mut coeff = [0.0; 8];
        for (i, f) in ROWS_HZ.iter().chain(COLS_HZ.iter()).enumerate() {
            coeff[i] = 2.0 * (2.0 * std::f32::consts::PI * f / 8000.0).cos();
        }
        Self { coeff }
    }

    /// Power of each of the 8 DTMF frequencies over the block.
    fn powers(&self, block: &[f32]) -> [f32; 8] {
        let mut s1 = [0.0f32; 8];
        let mut s2 = [0.0f32; 8];
        for &x in block {
            for k in 0..8 {
                let s0 = x + self.coeff[k] * s1[k] - s2[k];
                s2[k] = s1[k];
                s1[k] = s0;
            }
        }
        let mut p = [0.0; 8];
        for k in 0..8 {
            p[k] = (s1[k] * s1[k] + s2[k] * s2[k] - self.coeff[k] * s1[k] * s2[k]).max(0.0);
        }
        p
    }
}

fn db_to_power_ratio(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

fn strongest(p: &[f32]) -> (usize, f32) {
    p.iter().copied().enumerate().fold((0, 0.0), |best, (i, v)| if v > best.1 { (i, v) } else { best })
}

/// Peak amplitude of a 0 dBm0 sine in 16-bit linear (G.711: +3.14 dBm0 is full scale).
const ZERO_DBM0_PEAK: f32 = 22_735.0;

/// The row and column frequencies of a key.
pub fn frequencies(digit: DtmfDigit) -> (f32, f32) {
    let code = digit.event_code();
    for (r, row) in KEYPAD.iter().enumerate() {
        if let Some(c) = row.iter().position(|&k| k == code) {
            return (ROWS_HZ[r], COLS_HZ[c]);
        }
    }
    (ROWS_HZ[0], COLS_HZ[0]) // unreachable: the keypad holds all 16 event codes
}

/// Fills `out` with the key's dual tone from sample `first_sample` of the key press (phase
/// continuous across calls), each tone at `level_dbm0` (e.g. -10); samples at or past
/// `end_sample` are silence.
pub fn tone(digit: DtmfDigit, level_dbm0: f32, first_sample: u32, end_sample: u32, out: &mut [i16]) {
    let (low, high) = frequencies(digit);
    let amp = ZERO_DBM0_PEAK * 10f32.powf(level_dbm0 / 20.0);
    for (i, o) in out.iter_mut().enumerate() {
        let n = first_sample.saturating_add(i as u32);
        if n >= end_sample {
            *o = 0;
            continue;
        }
        let t = n as f32 / 8000.0;
        let w = 2.0 * std::f32::consts::PI * t;
        *o = (amp * ((w * low).sin() + (w * high).sin())).clamp(-32768.0, 32767.0) as i16;
    }
}

/// Streaming in-band DTMF detector.
pub struct InbandDetector {
    config: InbandConfig,
    goertzel: Goertzel,
    block: [f32; BLOCK_SAMPLES],
    filled: usize,
    candidate: Option<DtmfDigit>,
    candidate_blocks: u8,
    reported: Option<DtmfDigit>,
    misses: u8,
}

impl InbandDetector {
    pub fn new(config: InbandConfig) -> Self {
        Self {
            config,
            goertzel: Goertzel::new(),
            block: [0.0; BLOCK_SAMPLES],
            filled: 0,
            candidate: None,
            candidate_blocks: 0,
            reported: None,
            misses: 0,
        }
    }

    /// Feeds samples; calls `on_digit` once per key press, when it is confirmed.
    pub fn process(&mut self, samples: &[i16], mut on_digit: impl FnMut(DtmfDigit)) {
        for &s in samples {
            self.block[self.filled] = f32::from(s);
            self.filled += 1;
            if self.filled == BLOCK_SAMPLES {
                self.filled = 0;
                let vote = self.classify();
                if let Some(d) = self.vote(vote) {
                    on_digit(d);
                }
            }
        }
    }

    /// Convenience: the digits found in `samples`.
    pub fn detect(&mut self, samples: &[i16]) -> Vec<DtmfDigit> {
        let mut out = Vec::new();
        self.process(samples, |d| out.push(d));
        out
    }

    fn classify(&self) -> Option<DtmfDigit> {
        let c = &self.config;
        let p = self.goertzel.powers(&self.block);
        let (row, row_p) = strongest(&p[..4]);
        let (col, col_p) = strongest(&p[4..]);
        // A sine of amplitude A over N samples has Goertzel power (A·N/2)².
        let min_p = (c.min_tone_amplitude * BLOCK_SAMPLES as f32 / 2.0).powi(2);
        if row_p < min_p || col_p < min_p {
            return None;
        }
        if row_p > col_p * db_to_power_ratio(c.max_normal_twist_db)
            || col_p > row_p * db_to_power_ratio(c.max_reverse_twist_db)
        {
            return None;
        }
        let clear = db_to_power_ratio(c.min_relative_peak_db);
        let others_quiet = |group: &[f32], win: usize, win_p: f32| {
            group.iter().enumerate().all(|(i, &v)| i == win || v * clear < win_p)
        };
        if !others_quiet(&p[..4], row, row_p) || !others_quiet(&p[4..], col, col_p) {
            return None;
        }
        let energy: f32 = self.block.iter().map(|x| x * x).sum();
        // Each tone's power is (N/2)·(its energy), so the pair's share is their sum over (N/2)·total.
        let share = (row_p + col_p) / (energy * BLOCK_SAMPLES as f32 / 2.0);
        if share < c.min_tone_energy_share {
            return None;
        }
        DtmfDigit::from_event(KEYPAD[row][col])
    }

    fn vote(&mut self, vote: Option<DtmfDigit>) -> Option<DtmfDigit> {
        if vote.is_some() && vote == self.candidate {
            self.candidate_blocks = self.candidate_blocks.saturating_add(1);
        } else {
            self.candidate = vote;
            self.candidate_blocks = u8::from(vote.is_some());
        }
        if let Some(held) = self.reported {
            if vote == Some(held) {
                self.misses = 0;
            } else {
                self.misses += 1;
                if self.misses >= self.config.release_blocks {
                    self.reported = None;
                    self.misses = 0;
                }
            }
        }
        if self.reported.is_none() && self.candidate_blocks >= self.config.confirm_blocks {
            self.reported = self.candidate;
            self.misses = 0;
            return self.candidate;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded xorshift generator: tests stay deterministic without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next_f32(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        }
    }

    fn tone(freqs: &[(f32, f32)], ms: usize) -> Vec<i16> {
        (0..ms * 8)
            .map(|n| {
                let t = n as f32 / 8000.0;
                freqs.iter().map(|(f, a)| a * (2.0 * std::f32::consts::PI * f * t).sin()).sum::<f32>() as i16
            })
            .collect()
    }

    fn silence(ms: usize) -> Vec<i16> {
        vec![0; ms * 8]
    }

    fn key(c: char) -> Vec<i16> {
        let d = DtmfDigit::from_char(c).expect("key");
        let (r, col) = (0..16)
            .find_map(|i| (KEYPAD[i / 4][i % 4] == d.event_code()).then_some((i / 4, i % 4)))
            .expect("on keypad");
        tone(&[(ROWS_HZ[r], 6000.0), (COLS_HZ[col], 6000.0)], 60)
    }

    fn detect(samples: &[i16]) -> String {
        InbandDetector::new(InbandConfig::default()).detect(samples).iter().map(|d| d.as_char()).collect()
    }

    #[test]
    fn every_key_is_detected_once() {
        let mut audio = Vec::new();
        for c in "0123456789*#ABCD".chars() {
            audio.extend(key(c));
            audio.extend(silence(50));
        }
        assert_eq!(detect(&audio), "0123456789*#ABCD");
    }

    #[test]
    fn a_40_ms_tone_is_detected_at_any_alignment() {
        for offset_ms in 0..13 {
            let mut audio = silence(offset_ms);
            audio.extend(tone(&[(852.0, 5000.0), (1477.0, 5000.0)], 40));
            audio.extend(silence(40));
            assert_eq!(detect(&audio), "9", "offset {offset_ms} ms");
        }
    }

    #[test]
    fn a_20_ms_tone_is_too_short() {
        let mut audio = tone(&[(852.0, 5000.0), (1477.0, 5000.0)], 20);
        audio.extend(silence(40));
        assert_eq!(detect(&audio), "");
    }

    #[test]
    fn a_held_key_is_one_digit_and_a_repeated_key_is_two() {
        let mut audio = tone(&[(697.0, 5000.0), (1209.0, 5000.0)], 500);
        audio.extend(silence(60));
        audio.extend(tone(&[(697.0, 5000.0), (1209.0, 5000.0)], 60));
        assert_eq!(detect(&audio), "11");
    }

    #[test]
    fn single_tones_are_never_digits() {
        for f in ROWS_HZ.iter().chain(COLS_HZ.iter()).chain([440.0, 1000.0, 2600.0].iter()) {
            assert_eq!(detect(&tone(&[(*f, 8000.0)], 300)), "", "{f} Hz");
        }
    }

    #[test]
    fn white_noise_at_any_level_gives_no_digit() {
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        for amplitude in [500.0, 2000.0, 8000.0, 20000.0] {
            let noise: Vec<i16> = (0..8000 * 5).map(|_| (rng.next_f32() * amplitude) as i16).collect();
            assert_eq!(detect(&noise), "", "amplitude {amplitude}");
        }
    }

    #[test]
    fn speech_like_harmonics_with_noise_give_no_digit() {
        let mut rng = Rng(0xdead_beef_0042);
        let mut audio = Vec::new();
        // Voiced sounds: a gliding pitch with 1/k harmonics up to 3.4 kHz, plus breath noise.
        for seg in 0..100 {
            let f0 = 90.0 + (seg as f32 * 7.3) % 180.0;
            let mut harmonics = Vec::new();
            let mut k = 1.0;
            while f0 * k < 3400.0 {
                harmonics.push((f0 * k, 6000.0 / k));
                k += 1.0;
            }
            for s in tone(&harmonics, 50) {
                audio.push((f32::from(s) + rng.next_f32() * 500.0) as i16);
            }
        }
        assert_eq!(detect(&audio), "");
    }

    #[test]
    fn digit_in_noise_is_still_found() {
        let mut rng = Rng(7);
        let audio: Vec<i16> = key('5').iter().map(|&s| (f32::from(s) + rng.next_f32() * 800.0) as i16).collect();
        assert_eq!(detect(&audio), "5");
    }

    #[test]
    fn twist_within_limits_is_accepted_and_beyond_is_rejected() {
        // High group 6 dB below low group: normal twist, accepted.
        assert_eq!(detect(&tone(&[(770.0, 8000.0), (1336.0, 4000.0)], 60)), "5");
        // High group 6 dB above low group: reverse twist beyond 4 dB, rejected.
        assert_eq!(detect(&tone(&[(770.0, 4000.0), (1336.0, 8000.0)], 60)), "");
    }

    #[test]
    fn generated_key_tones_are_detected_as_their_keys() {
        let mut audio = Vec::new();
        for c in "159#D".chars() {
            let d = DtmfDigit::from_char(c).expect("key");
            let mut frame = vec![0i16; 800];
            super::tone(d, -10.0, 0, 640, &mut frame); // 80 ms of tone, 20 ms of silence
            audio.extend(frame);
            audio.extend(silence(40));
        }
        assert_eq!(detect(&audio), "159#D");
    }

    #[test]
    fn tones_below_the_energy_threshold_are_ignored() {
        assert_eq!(detect(&tone(&[(770.0, 300.0), (1336.0, 300.0)], 100)), "");
    }
}
