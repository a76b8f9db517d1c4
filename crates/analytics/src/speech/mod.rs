//! Speech analytics without any network: from a stereo call recording (customer on the left
//! channel, agent on the right, as the media crate records), voice activity per channel, then
//! talk time per side, silence, longest silence, overtalk, talk ratio and the QA outlier flags.
//!
//! Entry points: [`analyse_wav`] for a whole file in memory, or [`TalkAnalyser`] to stream
//! interleaved samples from wherever the caller reads them. This module must never do IO, never
//! panic on a malformed file (it returns [`SpeechError`]) and never hold more than the segment
//! lists and fixed-size state, whatever the recording's length.

mod flags;
mod talk;
mod vad;
mod wav;

pub use flags::{OutlierPolicy, SpeechFlag};
pub use talk::{SideTalk, TalkAnalysis};
pub use vad::{ChannelVad, VadConfig};
pub use wav::{
    MAX_CHUNKS_BEFORE_DATA, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ, StereoWav, WavFormat, encode_stereo_wav,
};

/// A stretch of talk on one channel, `[start_ms, end_ms)` from the start of the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
}

impl Segment {
    pub fn len_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

/// Why a recording could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpeechError {
    #[error("not a RIFF/WAVE file")]
    NotWav,
    #[error("the WAV file has no data chunk (or a chunk runs past the end of the file)")]
    NoDataChunk,
    #[error("the WAV data chunk comes before its fmt chunk")]
    DataBeforeFormat,
    #[error("the WAV file has more than {max_chunks} chunks before its data")]
    TooManyChunks { max_chunks: usize },
    #[error("the WAV fmt chunk is only {bytes} bytes long")]
    ShortFormatChunk { bytes: usize },
    #[error("the WAV file is encoded with format tag {format_tag}, not linear PCM")]
    NotPcm { format_tag: u16 },
    #[error("the WAV file has {bits}-bit samples; recordings must be 16-bit")]
    UnsupportedBits { bits: u16 },
    #[error("the WAV file has {channels} channel(s); recordings must be stereo (customer left, agent right)")]
    NotStereo { channels: u16 },
    #[error("the WAV file's sample rate {rate_hz} Hz is outside {MIN_SAMPLE_RATE_HZ}..={MAX_SAMPLE_RATE_HZ} Hz")]
    UnsupportedSampleRate { rate_hz: u32 },
    #[error("the WAV data chunk declares {declared_bytes} bytes but only {present_bytes} are present")]
    Truncated { declared_bytes: u32, present_bytes: usize },
    #[error("the recording lasts {duration_ms} ms, longer than the {max_recording_ms} ms limit")]
    TooLong { duration_ms: u64, max_recording_ms: u64 },
    #[error("speech setting {field} {problem}")]
    BadConfig { field: &'static str, problem: &'static str },
}

/// Everything the analysis needs besides the audio.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpeechConfig {
    pub vad: VadConfig,
    /// Recordings longer than this are refused rather than analysed.
    pub max_recording_ms: u64,
}

impl SpeechConfig {
    /// The defaults with a 4-hour limit on recordings.
    pub fn standard() -> Self {
        Self { vad: VadConfig::default(), max_recording_ms: 4 * 3_600_000 }
    }
}

/// Streaming analysis of interleaved stereo samples (customer, agent, customer, agent...).
#[derive(Debug)]
pub struct TalkAnalyser {
    customer: ChannelVad,
    agent: ChannelVad,
    /// A left sample waiting for its right partner when a chunk ended mid-frame.
    pending_left: Option<i16>,
}

impl TalkAnalyser {
    pub fn new(config: &VadConfig, sample_rate_hz: u32) -> Result<Self, SpeechError> {
        config.validate()?;
        if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate_hz) {
            return Err(SpeechError::UnsupportedSampleRate { rate_hz: sample_rate_hz });
        }
        Ok(Self {
            customer: ChannelVad::new(config, sample_rate_hz),
            agent: ChannelVad::new(config, sample_rate_hz),
            pending_left: None,
        })
    }

    /// Feeds interleaved samples; chunks may split a left/right pair.
    pub fn push_interleaved(&mut self, samples: &[i16]) {
        let mut rest = samples;
        if let (Some(left), Some((&right, tail))) = (self.pending_left, rest.split_first()) {
            self.customer.push(left);
            self.agent.push(right);
            self.pending_left = None;
            rest = tail;
        }
        let mut pairs = rest.chunks_exact(2);
        for pair in &mut pairs {
            self.customer.push(pair[0]);
            self.agent.push(pair[1]);
        }
        if let [left] = pairs.remainder() {
            self.pending_left = Some(*left);
        }
    }

    /// Ends the stream and computes the figures.
    pub fn finish(self) -> TalkAnalysis {
        let (customer, duration_ms) = self.customer.finish();
        let (agent, _) = self.agent.finish();
        TalkAnalysis::from_segments(duration_ms, customer, agent)
    }
}

/// Frames decoded per step when analysing a file in memory.
const DECODE_CHUNK_FRAMES: usize = 8_192;

/// Analyses a whole WAV recording held in memory.
pub fn analyse_wav(bytes: &[u8], config: &SpeechConfig) -> Result<TalkAnalysis, SpeechError> {
    let wav = StereoWav::parse(bytes)?;
    if wav.duration_ms() > config.max_recording_ms {
        return Err(SpeechError::TooLong { duration_ms: wav.duration_ms(), max_recording_ms: config.max_recording_ms });
    }
    let mut analyser = TalkAnalyser::new(&config.vad, wav.format.sample_rate_hz)?;
    wav.for_each_chunk(DECODE_CHUNK_FRAMES, |chunk| analyser.push_interleaved(chunk));
    Ok(analyser.finish())
}
