//! WAV decoding for prompts and music on hold: any PCM WAV (8/16/24/32-bit integer, G.711 µ/A-law,
//! WAVE_FORMAT_EXTENSIBLE) is turned into 8 kHz 16-bit mono at load time, downmixing channels by
//! averaging and resampling with a windowed-sinc (band-limited) interpolator.
//!
//! Pure functions over byte slices: no file IO here (see `files`). Must never: panic on a malformed
//! file, or accept more than `max_prompt_bytes`.

use crate::codec::SAMPLE_RATE_HZ;
use crate::error::AudioError;
use crate::g711;

/// Decoded interleaved audio as found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcmAudio {
    pub sample_rate_hz: u32,
    pub channels: u16,
    /// Interleaved samples.
    pub samples: Vec<i16>,
}

const FORMAT_PCM: u16 = 1;
const FORMAT_ALAW: u16 = 6;
const FORMAT_ULAW: u16 = 7;
const FORMAT_EXTENSIBLE: u16 = 0xfffe;
/// Channels a prompt file may have.
const MAX_CHANNELS: u16 = 8;

fn le16(b: &[u8], at: usize) -> Result<u16, AudioError> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]])).ok_or(AudioError::Malformed("fmt "))
}

fn le32(b: &[u8], at: usize) -> Result<u32, AudioError> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]])).ok_or(AudioError::Malformed("fmt "))
}

/// Format fields of a `fmt ` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    pub format: u16,
    pub channels: u16,
    pub sample_rate_hz: u32,
    pub bits_per_sample: u16,
}

impl WavFormat {
    fn parse(body: &[u8]) -> Result<Self, AudioError> {
        let mut format = le16(body, 0)?;
        if format == FORMAT_EXTENSIBLE {
            // The sub-format GUID starts with the real format tag.
            format = le16(body, 24)?;
        }
        let f =
            Self { format, channels: le16(body, 2)?, sample_rate_hz: le32(body, 4)?, bits_per_sample: le16(body, 14)? };
        if f.channels == 0 || f.channels > MAX_CHANNELS || !(1000..=384_000).contains(&f.sample_rate_hz) {
            return Err(AudioError::Unsupported(format!("{} channels at {} Hz", f.channels, f.sample_rate_hz)));
        }
        match (f.format, f.bits_per_sample) {
            (FORMAT_PCM, 8 | 16 | 24 | 32) | (FORMAT_ALAW | FORMAT_ULAW, 8) => Ok(f),
            (fmt, bits) => Err(AudioError::Unsupported(format!("format tag {fmt} with {bits} bits"))),
        }
    }

    fn bytes_per_sample(&self) -> usize {
        usize::from(self.bits_per_sample / 8)
    }

    fn decode_sample(&self, s: &[u8]) -> i16 {
        match (self.format, s) {
            (FORMAT_ULAW, [c]) => g711::ulaw_to_linear(*c),
            (FORMAT_ALAW, [c]) => g711::alaw_to_linear(*c),
            (_, [b]) => (i16::from(*b) - 128) << 8,
            (_, [lo, hi]) => i16::from_le_bytes([*lo, *hi]),
            (_, [_, b1, b2]) => i16::from_le_bytes([*b1, *b2]),
            (_, [_, _, b2, b3]) => i16::from_le_bytes([*b2, *b3]),
            _ => 0,
        }
    }
}

/// Walks RIFF chunks: returns (format, data) slices. The data chunk may be cut short (crash): its
/// declared size is trusted only as far as the buffer goes.
fn chunks(bytes: &[u8]) -> Result<(WavFormat, &[u8]), AudioError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(AudioError::NotWave);
    }
    let mut pos = 12;
    let mut format = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = le32(bytes, pos + 4)? as usize;
        let body_start = pos + 8;
        let body_end = body_start.saturating_add(size).min(bytes.len());
        let body = &bytes[body_start..body_end];
        if id == b"fmt " {
            format = Some(WavFormat::parse(body)?);
        } else if id == b"data" {
            let f = format.ok_or(AudioError::Malformed("data before fmt "))?;
            return Ok((f, body));
        }
        pos = body_start.saturating_add(size).saturating_add(size & 1);
    }
    Err(AudioError::Malformed("data"))
}

/// Decodes a whole WAV file held in memory.
pub fn read_wav(bytes: &[u8], max_prompt_bytes: u64) -> Result<PcmAudio, AudioError> {
    if bytes.len() as u64 > max_prompt_bytes {
        return Err(AudioError::TooLarge { bytes: bytes.len() as u64, max: max_prompt_bytes });
    }
    let (f, data) = chunks(bytes)?;
    let width = f.bytes_per_sample();
    let frame = width * usize::from(f.channels);
    let whole = data.len() / frame * frame;
    let samples = data[..whole].chunks_exact(width).map(|s| f.decode_sample(s)).collect();
    Ok(PcmAudio { sample_rate_hz: f.sample_rate_hz, channels: f.channels, samples })
}

/// Averages interleaved channels into mono.
pub fn downmix(samples: &[i16], channels: u16) -> Vec<i16> {
    let n = usize::from(channels.max(1));
    samples.chunks_exact(n).map(|frame| (frame.iter().map(|&s| i32::from(s)).sum::<i32>() / n as i32) as i16).collect()
}

/// Half-width of the sinc kernel, in input samples (at the lower of the two rates).
const SINC_HALF_TAPS: i64 = 16;

/// Band-limited resampling of mono audio with a Blackman-windowed sinc.
pub fn resample(input: &[i16], from_hz: u32, to_hz: u32) -> Vec<i16> {
    if from_hz == to_hz || input.is_empty() {
        return input.to_vec();
    }
    let ratio = f64::from(from_hz) / f64::from(to_hz);
    // Low-pass at the lower Nyquist: widen the kernel when decimating.
    let cutoff = (1.0 / ratio).min(1.0);
    let half = (SINC_HALF_TAPS as f64 / cutoff).ceil() as i64;
    let out_len = (input.len() as u64 * u64::from(to_hz) / u64::from(from_hz)) as usize;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let t = n as f64 * ratio;
        let centre = t.floor() as i64;
        let mut acc = 0.0;
        let mut weight = 0.0;
        for k in (centre - half + 1)..=(centre + half) {
            let Some(&x) = usize::try_from(k).ok().and_then(|k| input.get(k)) else { continue };
            let d = t - k as f64;
            let w = sinc(d * cutoff) * blackman(d / half as f64);
            acc += f64::from(x) * w;
            weight += w;
        }
        let y = if weight.abs() > 1e-9 { acc / weight } else { 0.0 };
        out.push(y.round().clamp(-32768.0, 32767.0) as i16);
    }
    out
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// Blackman window over -1..=1.
fn blackman(x: f64) -> f64 {
    if x.abs() >= 1.0 {
        return 0.0;
    }
    let p = std::f64::consts::PI * (x + 1.0);
    0.42 - 0.5 * p.cos() + 0.08 * (2.0 * p).cos()
}

/// Decodes a WAV file into 8 kHz mono, ready to play.
pub fn load_prompt(bytes: &[u8], max_prompt_bytes: u64) -> Result<Vec<i16>, AudioError> {
    let audio = read_wav(bytes, max_prompt_bytes)?;
    let mono = downmix(&audio.samples, audio.channels);
    Ok(resample(&mono, audio.sample_rate_hz, SAMPLE_RATE_HZ))
}

/// The canonical 44-byte header of a 16-bit PCM WAV.
pub fn pcm16_header(sample_rate_hz: u32, channels: u16, data_bytes: u32) -> [u8; 44] {
    let block_align = channels * 2;
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&data_bytes.saturating_add(36).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&FORMAT_PCM.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&sample_rate_hz.to_le_bytes());
    h[28..32].copy_from_slice(&(sample_rate_hz * u32::from(block_align)).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    h
}

/// Builds a 16-bit PCM WAV in memory (tests, fixtures, small prompts).
pub fn encode_pcm16(sample_rate_hz: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let data_bytes = u32::try_from(samples.len() * 2).unwrap_or(u32::MAX);
    let mut out = pcm16_header(sample_rate_hz, channels, data_bytes).to_vec();
    samples.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
    out
}

/// Where the data chunk of a WAV starts, and its format (for header repair).
pub fn data_offset(bytes: &[u8]) -> Result<(WavFormat, usize), AudioError> {
    let (f, data) = chunks(bytes)?;
    let offset = data.as_ptr() as usize - bytes.as_ptr() as usize;
    Ok((f, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 10 << 20;

    fn sine(rate: u32, hz: f64, n: usize, amp: f64) -> Vec<i16> {
        (0..n).map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin()) as i16).collect()
    }

    /// Goertzel-free frequency check: count zero crossings per second.
    fn zero_crossing_hz(s: &[i16], rate: u32) -> f64 {
        let crossings = s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        crossings as f64 / 2.0 / (s.len() as f64 / f64::from(rate))
    }

    #[test]
    fn an_8k_mono_16_bit_file_loads_unchanged() {
        let s = sine(8000, 440.0, 800, 10000.0);
        assert_eq!(load_prompt(&encode_pcm16(8000, 1, &s), MAX).expect("valid"), s);
    }

    #[test]
    fn a_44k1_stereo_file_is_downmixed_and_resampled_to_8k() {
        let mono = sine(44100, 440.0, 44100, 10000.0);
        let stereo: Vec<i16> = mono.iter().flat_map(|&s| [s, s / 3]).collect();
        let out = load_prompt(&encode_pcm16(44100, 2, &stereo), MAX).expect("valid");
        assert_eq!(out.len(), 8000);
        assert!((zero_crossing_hz(&out[100..7900], 8000) - 440.0).abs() < 3.0);
        let peak = out[100..7900].iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!((6400..=6950).contains(&peak), "peak {peak}, expected ~ (10000 + 3333) / 2");
    }

    #[test]
    fn downsampling_removes_tones_above_the_new_nyquist() {
        // 6 kHz at 16 kHz cannot exist at 8 kHz: it must be filtered out, not aliased to 2 kHz.
        let out = resample(&sine(16000, 6000.0, 16000, 10000.0), 16000, 8000);
        let rms = (out[200..7800].iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / 7600.0).sqrt();
        assert!(rms < 300.0, "rms {rms}");
    }

    #[test]
    fn upsampling_keeps_the_tone() {
        let out = resample(&sine(4000, 500.0, 4000, 8000.0), 4000, 8000);
        assert_eq!(out.len(), 8000);
        assert!((zero_crossing_hz(&out[100..7900], 8000) - 500.0).abs() < 3.0);
    }

    #[test]
    fn ulaw_wav_prompts_are_decoded() {
        let mut bytes = pcm16_header(8000, 1, 4).to_vec();
        bytes[20] = 7; // WAVE_FORMAT_MULAW
        bytes[34] = 8;
        bytes.extend_from_slice(&[0xff, 0x80, 0x00, 0x7f]);
        assert_eq!(load_prompt(&bytes, MAX).expect("valid"), [0, 32124, -32124, 0]);
    }

    #[test]
    fn garbage_and_oversized_files_are_errors() {
        assert!(matches!(read_wav(b"not a wav file at all", MAX), Err(AudioError::NotWave)));
        let big = encode_pcm16(8000, 1, &[0; 100]);
        assert!(matches!(read_wav(&big, 100), Err(AudioError::TooLarge { .. })));
        let mut float = encode_pcm16(8000, 1, &[0; 4]);
        float[20] = 3; // IEEE float
        assert!(matches!(read_wav(&float, MAX), Err(AudioError::Unsupported(_))));
    }

    #[test]
    fn a_data_chunk_cut_short_yields_the_whole_frames_present() {
        let mut bytes = encode_pcm16(8000, 2, &[1, 2, 3, 4]);
        bytes.truncate(bytes.len() - 1);
        let a = read_wav(&bytes, MAX).expect("readable");
        assert_eq!(a.samples, [1, 2]);
    }
}
