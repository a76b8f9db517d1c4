//! A strict reader for the recordings Hotline writes: RIFF/WAVE, 16-bit linear PCM, two channels
//! (customer left, agent right). It only borrows the caller's bytes and walks the chunk list with
//! bounds checks on every step; it must never panic or allocate in proportion to a length field
//! read from the file.

use super::SpeechError;

/// Most chunks walked before the `data` chunk; a real recording has two or three (`fmt `,
/// maybe `LIST`), so a file with more is refused instead of walked forever.
pub const MAX_CHUNKS_BEFORE_DATA: usize = 64;
/// Lowest and highest sample rates accepted. Recordings are 8 kHz; wide-band imports are fine too.
pub const MIN_SAMPLE_RATE_HZ: u32 = 8_000;
pub const MAX_SAMPLE_RATE_HZ: u32 = 48_000;

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// A data size a streaming writer leaves when it never finalised the header.
const UNFINISHED_DATA_SIZES: [u32; 2] = [0, u32::MAX];

/// What the `fmt ` chunk says, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    pub channels: u16,
    pub sample_rate_hz: u32,
    pub bits_per_sample: u16,
}

/// A parsed stereo 16-bit recording borrowing the file's bytes.
#[derive(Debug, Clone, Copy)]
pub struct StereoWav<'a> {
    pub format: WavFormat,
    /// Interleaved little-endian samples (left, right, left, right...), whole frames only.
    pcm: &'a [u8],
}

impl<'a> StereoWav<'a> {
    /// Parses a WAV file, refusing anything that is not 16-bit PCM stereo with a rate in range.
    /// A trailing partial sample frame (a crash mid-write) is ignored.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, SpeechError> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(SpeechError::NotWav);
        }
        let mut pos = 12usize;
        let mut format = None;
        for _ in 0..MAX_CHUNKS_BEFORE_DATA {
            let header = bytes.get(pos..pos + 8).ok_or(SpeechError::NoDataChunk)?;
            let id = &header[0..4];
            let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let body_start = pos + 8;
            if id == b"data" {
                let format = format.ok_or(SpeechError::DataBeforeFormat)?;
                let rest = &bytes[body_start..];
                let data = if UNFINISHED_DATA_SIZES.contains(&size) {
                    rest
                } else {
                    rest.get(..size as usize)
                        .ok_or(SpeechError::Truncated { declared_bytes: size, present_bytes: rest.len() })?
                };
                let whole = data.len() - data.len() % 4;
                return Ok(Self { format, pcm: &data[..whole] });
            }
            let body_end = body_start.checked_add(size as usize).ok_or(SpeechError::NoDataChunk)?;
            let body = bytes.get(body_start..body_end).ok_or(SpeechError::NoDataChunk)?;
            if id == b"fmt " {
                format = Some(parse_format(body)?);
            }
            // Chunks are padded to an even length.
            pos = body_end + (size as usize & 1);
        }
        Err(SpeechError::TooManyChunks { max_chunks: MAX_CHUNKS_BEFORE_DATA })
    }

    /// Number of sample frames (one left + one right sample each).
    pub fn frames(&self) -> usize {
        self.pcm.len() / 4
    }

    /// Duration in milliseconds, rounded down.
    pub fn duration_ms(&self) -> u64 {
        self.frames() as u64 * 1000 / u64::from(self.format.sample_rate_hz)
    }

    /// The samples as interleaved `i16`s, decoded in chunks of at most `chunk_frames` frames so a
    /// long recording is never copied whole.
    pub fn for_each_chunk(&self, chunk_frames: usize, mut f: impl FnMut(&[i16])) {
        let chunk_bytes = chunk_frames.max(1) * 4;
        let mut buf = Vec::with_capacity(chunk_frames.max(1) * 2);
        for bytes in self.pcm.chunks(chunk_bytes) {
            buf.clear();
            buf.extend(bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
            f(&buf);
        }
    }
}

fn parse_format(body: &[u8]) -> Result<WavFormat, SpeechError> {
    let u16_at = |i: usize| body.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |i: usize| body.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let (Some(tag), Some(channels), Some(rate), Some(bits)) = (u16_at(0), u16_at(2), u32_at(4), u16_at(14)) else {
        return Err(SpeechError::ShortFormatChunk { bytes: body.len() });
    };
    let tag = if tag == WAVE_FORMAT_EXTENSIBLE {
        // The sub-format GUID starts at byte 24 and begins with the plain format tag.
        u16_at(24).ok_or(SpeechError::ShortFormatChunk { bytes: body.len() })?
    } else {
        tag
    };
    if tag != WAVE_FORMAT_PCM {
        return Err(SpeechError::NotPcm { format_tag: tag });
    }
    if bits != 16 {
        return Err(SpeechError::UnsupportedBits { bits });
    }
    if channels != 2 {
        return Err(SpeechError::NotStereo { channels });
    }
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&rate) {
        return Err(SpeechError::UnsupportedSampleRate { rate_hz: rate });
    }
    Ok(WavFormat { channels, sample_rate_hz: rate, bits_per_sample: bits })
}

/// Builds a canonical 44-byte-header stereo 16-bit WAV from interleaved samples. Used by tests,
/// benchmarks and fixtures; recordings themselves are written by the media crate.
pub fn encode_stereo_wav(sample_rate_hz: u32, interleaved: &[i16]) -> Vec<u8> {
    let data_len = (interleaved.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + interleaved.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&WAVE_FORMAT_PCM.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&sample_rate_hz.to_le_bytes());
    out.extend_from_slice(&(sample_rate_hz * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in interleaved {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Vec<u8> {
        encode_stereo_wav(8000, &[1, 2, 3, 4, 5, 6])
    }

    #[test]
    fn canonical_stereo_file_parses() {
        let bytes = tiny();
        let wav = StereoWav::parse(&bytes).expect("valid");
        assert_eq!(wav.format, WavFormat { channels: 2, sample_rate_hz: 8000, bits_per_sample: 16 });
        assert_eq!(wav.frames(), 3);
        let mut all = Vec::new();
        wav.for_each_chunk(2, |c| all.extend_from_slice(c));
        assert_eq!(all, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn mono_file_is_refused_with_the_channel_count() {
        let mut bytes = tiny();
        bytes[22] = 1;
        assert_eq!(StereoWav::parse(&bytes).err(), Some(SpeechError::NotStereo { channels: 1 }));
    }

    #[test]
    fn mu_law_file_is_refused_as_not_pcm() {
        let mut bytes = tiny();
        bytes[20] = 7;
        assert_eq!(StereoWav::parse(&bytes).err(), Some(SpeechError::NotPcm { format_tag: 7 }));
    }

    #[test]
    fn eight_bit_file_is_refused() {
        let mut bytes = tiny();
        bytes[34] = 8;
        assert_eq!(StereoWav::parse(&bytes).err(), Some(SpeechError::UnsupportedBits { bits: 8 }));
    }

    #[test]
    fn data_size_beyond_the_file_is_reported_as_truncated() {
        let mut bytes = tiny();
        bytes[40..44].copy_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(StereoWav::parse(&bytes), Err(SpeechError::Truncated { declared_bytes: 1000, .. })));
    }

    #[test]
    fn unfinished_header_uses_the_rest_of_the_file() {
        let mut bytes = tiny();
        bytes[40..44].copy_from_slice(&0u32.to_le_bytes());
        bytes.push(9); // half a sample: ignored
        assert_eq!(StereoWav::parse(&bytes).map(|w| w.frames()).ok(), Some(3));
    }

    #[test]
    fn text_file_is_not_wav() {
        assert_eq!(StereoWav::parse(b"hello world, not a wav").err(), Some(SpeechError::NotWav));
    }

    #[test]
    fn any_prefix_of_a_valid_file_is_an_error_or_a_shorter_recording_never_a_panic() {
        let bytes = tiny();
        for n in 0..bytes.len() {
            if let Ok(w) = StereoWav::parse(&bytes[..n]) {
                assert!(w.frames() <= 3);
            }
        }
    }
}
