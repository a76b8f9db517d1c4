//! Streaming stereo call recorder: 8 kHz 16-bit WAV, customer on the left channel, agent on the
//! right, written as the call goes through a bounded buffer. After every flush the header holds the
//! true sizes, so a file cut at any flush boundary plays; [`repair`] fixes a file cut anywhere else.
//!
//! Pause (PCI, while a card number is spoken) writes **silence** rather than skipping: the file keeps
//! the call's timeline, so its duration matches the call and a reviewer sees where the pause was.
//! Generic over `Read + Write + Seek` so tests run on in-memory cursors; `files` opens real ones.
//! Must never: hold more than `max_buffer_frames` frames in memory, or leave a header that lies
//! after `flush`/`close` returned.

use std::io::{Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

use crate::codec::SAMPLE_RATE_HZ;
use crate::error::AudioError;
use crate::wav::{data_offset, pcm16_header};

const HEADER_BYTES: u64 = 44;
const CHANNELS: u16 = 2;
const BYTES_PER_FRAME: u64 = 4;

/// Recorder limits.
#[derive(Debug, Clone, Copy)]
pub struct RecorderConfig {
    /// Stereo frames buffered before a write and header update (8000 = 1 s, 32 KiB).
    pub max_buffer_frames: usize,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self { max_buffer_frames: 8000 }
    }
}

/// What a finished recording is, for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingInfo {
    pub duration_ms: u64,
    pub size_bytes: u64,
    /// Hex SHA-256 of the whole file.
    pub sha256: String,
    pub channels: u8,
    pub sample_rate_hz: u32,
    /// Time spent paused (written as silence), ms.
    pub paused_ms: u64,
}

/// Writes a stereo recording as it streams.
pub struct StereoRecorder<W: Read + Write + Seek> {
    out: Option<W>,
    config: RecorderConfig,
    buffer: Vec<u8>,
    data_bytes: u64,
    paused: bool,
    paused_frames: u64,
}

impl<W: Read + Write + Seek> StereoRecorder<W> {
    /// Writes a provisional header (sizes 0) and starts recording.
    pub fn new(mut out: W, config: RecorderConfig) -> Result<Self, AudioError> {
        out.seek(SeekFrom::Start(0))?;
        out.write_all(&pcm16_header(SAMPLE_RATE_HZ, CHANNELS, 0))?;
        let cap = config.max_buffer_frames.max(1) * BYTES_PER_FRAME as usize;
        Ok(Self {
            out: Some(out),
            config,
            buffer: Vec::with_capacity(cap),
            data_bytes: 0,
            paused: false,
            paused_frames: 0,
        })
    }

    /// Stops capturing audio: frames written while paused are silence.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    pub fn resume(&mut self) {
        self.paused = false;
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Appends time-aligned customer (left) and agent (right) samples. A side shorter than the
    /// other is padded with silence.
    pub fn write(&mut self, customer: &[i16], agent: &[i16]) -> Result<(), AudioError> {
        if self.out.is_none() {
            return Err(AudioError::Closed);
        }
        let n = customer.len().max(agent.len());
        for i in 0..n {
            let (l, r) = if self.paused {
                (0, 0)
            } else {
                (customer.get(i).copied().unwrap_or(0), agent.get(i).copied().unwrap_or(0))
            };
            self.buffer.extend_from_slice(&l.to_le_bytes());
            self.buffer.extend_from_slice(&r.to_le_bytes());
            if self.buffer.len() >= self.config.max_buffer_frames.max(1) * BYTES_PER_FRAME as usize {
                self.flush()?;
            }
        }
        if self.paused {
            self.paused_frames += n as u64;
        }
        Ok(())
    }

    /// Writes buffered audio and rewrites the header sizes.
    pub fn flush(&mut self) -> Result<(), AudioError> {
        let out = self.out.as_mut().ok_or(AudioError::Closed)?;
        if !self.buffer.is_empty() {
            out.seek(SeekFrom::Start(HEADER_BYTES + self.data_bytes))?;
            out.write_all(&self.buffer)?;
            self.data_bytes += self.buffer.len() as u64;
            self.buffer.clear();
        }
        let data = u32::try_from(self.data_bytes).unwrap_or(u32::MAX);
        out.seek(SeekFrom::Start(0))?;
        out.write_all(&pcm16_header(SAMPLE_RATE_HZ, CHANNELS, data))?;
        out.flush()?;
        Ok(())
    }

    /// Audio recorded so far (written or buffered), ms.
    pub fn duration_ms(&self) -> u64 {
        (self.data_bytes + self.buffer.len() as u64) / BYTES_PER_FRAME * 1000 / u64::from(SAMPLE_RATE_HZ)
    }

    /// Flushes, fixes the header and hashes the file. Returns the writer for the caller to drop.
    pub fn close(mut self) -> Result<(RecordingInfo, W), AudioError> {
        self.flush()?;
        let mut out = self.out.take().ok_or(AudioError::Closed)?;
        let size_bytes = HEADER_BYTES + self.data_bytes;
        let sha256 = hash_stream(&mut out, size_bytes)?;
        let info = RecordingInfo {
            duration_ms: self.data_bytes / BYTES_PER_FRAME * 1000 / u64::from(SAMPLE_RATE_HZ),
            size_bytes,
            sha256,
            channels: CHANNELS as u8,
            sample_rate_hz: SAMPLE_RATE_HZ,
            paused_ms: self.paused_frames * 1000 / u64::from(SAMPLE_RATE_HZ),
        };
        Ok((info, out))
    }
}

impl<W: Read + Write + Seek> Drop for StereoRecorder<W> {
    /// A recorder dropped without `close` (hang-up path that errored, panic unwinding) still leaves
    /// its buffered audio and a correct header behind, best effort.
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = self.flush();
        }
    }
}

/// Hex SHA-256 of the first `len` bytes of a stream, read in 64 KiB pieces.
pub fn hash_stream<R: Read + Seek>(r: &mut R, len: u64) -> Result<String, AudioError> {
    r.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        let got = r.read(&mut chunk[..want])?;
        if got == 0 {
            break;
        }
        hasher.update(&chunk[..got]);
        left -= got as u64;
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Most header bytes read to find the data chunk of a file to repair.
const MAX_HEADER_SCAN_BYTES: u64 = 64 * 1024;

/// Fixes the RIFF and data sizes of a WAV left by a crash, from the stream's length. A trailing
/// partial frame is cut off. Returns the repaired data size in bytes.
pub fn repair<F: Read + Write + Seek>(
    file: &mut F,
    truncate: impl FnOnce(&mut F, u64) -> std::io::Result<()>,
) -> Result<u64, AudioError> {
    let len = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(0))?;
    let mut head = Vec::new();
    Read::by_ref(file).take(len.min(MAX_HEADER_SCAN_BYTES)).read_to_end(&mut head)?;
    let (format, offset) = data_offset(&head)?;
    let offset = offset as u64;
    let frame = u64::from(format.channels) * u64::from(format.bits_per_sample / 8).max(1);
    let data = (len.saturating_sub(offset) / frame * frame).min(u64::from(u32::MAX) - offset);
    if offset + data < len {
        truncate(file, offset + data)?;
    }
    let riff = u32::try_from(offset + data - 8).unwrap_or(u32::MAX);
    file.seek(SeekFrom::Start(4))?;
    file.write_all(&riff.to_le_bytes())?;
    file.seek(SeekFrom::Start(offset - 4))?;
    file.write_all(&u32::try_from(data).unwrap_or(u32::MAX).to_le_bytes())?;
    file.flush()?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wav::read_wav;
    use std::io::Cursor;

    fn recorder(frames: usize) -> StereoRecorder<Cursor<Vec<u8>>> {
        StereoRecorder::new(Cursor::new(Vec::new()), RecorderConfig { max_buffer_frames: frames }).expect("in memory")
    }

    #[test]
    fn customer_is_left_and_agent_is_right() {
        let mut r = recorder(100);
        r.write(&[1, 2, 3], &[-1, -2, -3]).expect("ok");
        let (info, out) = r.close().expect("ok");
        let wav = read_wav(out.get_ref(), u64::MAX).expect("valid");
        assert_eq!((wav.channels, wav.sample_rate_hz), (2, 8000));
        assert_eq!(wav.samples, [1, -1, 2, -2, 3, -3]);
        assert_eq!((info.size_bytes, info.channels), (44 + 12, 2));
    }

    #[test]
    fn header_is_right_after_every_flush() {
        let mut r = recorder(160);
        for i in 0..10 {
            r.write(&[100; 160], &[200; 160]).expect("ok");
            // Each 160-frame write fills the buffer: the data on "disk" and the header agree.
            let bytes = r.out.as_ref().expect("open").get_ref().clone();
            let wav = read_wav(&bytes, u64::MAX).expect("valid");
            assert_eq!(wav.samples.len(), 320 * (i + 1));
            assert_eq!(u32::from_le_bytes([bytes[40], bytes[41], bytes[42], bytes[43]]) as usize, 640 * (i + 1));
        }
    }

    #[test]
    fn memory_stays_bounded_whatever_the_call_length() {
        let mut r = recorder(800);
        for _ in 0..500 {
            r.write(&[7; 160], &[9; 160]).expect("ok");
            assert!(r.buffer.len() <= 800 * 4);
        }
        assert_eq!(r.duration_ms(), 10_000);
    }

    #[test]
    fn close_reports_duration_size_and_the_files_sha256() {
        let mut r = recorder(8000);
        for _ in 0..50 {
            r.write(&[1; 160], &[2; 160]).expect("ok");
        }
        let (info, out) = r.close().expect("ok");
        assert_eq!(info.duration_ms, 1000);
        assert_eq!(info.size_bytes, out.get_ref().len() as u64);
        let again = hash_stream(&mut Cursor::new(out.get_ref().clone()), info.size_bytes).expect("ok");
        assert_eq!(info.sha256, again);
        assert_eq!(info.sha256.len(), 64);
    }

    #[test]
    fn sha256_of_known_bytes_matches_the_standard_vector() {
        let hex = hash_stream(&mut Cursor::new(b"abc".to_vec()), 3).expect("ok");
        assert_eq!(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn paused_audio_is_written_as_silence_and_counted() {
        let mut r = recorder(100);
        r.write(&[5; 80], &[5; 80]).expect("ok");
        r.pause();
        r.write(&[5; 160], &[5; 160]).expect("ok");
        r.resume();
        r.write(&[5; 80], &[5; 80]).expect("ok");
        let (info, out) = r.close().expect("ok");
        let wav = read_wav(out.get_ref(), u64::MAX).expect("valid");
        assert_eq!(wav.samples.len(), 640);
        assert!(wav.samples[160..480].iter().all(|&s| s == 0));
        assert!(wav.samples[..160].iter().chain(&wav.samples[480..]).all(|&s| s == 5));
        assert_eq!((info.paused_ms, info.duration_ms), (20, 40));
    }

    #[test]
    fn repair_fixes_a_header_left_at_zero_and_cuts_a_partial_frame() {
        let mut bytes = pcm16_header(8000, 2, 0).to_vec();
        bytes.extend((0..1001u32).map(|i| i as u8)); // 250 frames + 1 stray byte
        let mut cur = Cursor::new(bytes);
        let data = repair(&mut cur, |c, len| {
            c.get_mut().truncate(len as usize);
            Ok(())
        })
        .expect("repairable");
        assert_eq!(data, 1000);
        let wav = read_wav(cur.get_ref(), u64::MAX).expect("valid");
        assert_eq!(wav.samples.len(), 500);
        assert_eq!(u32::from_le_bytes(cur.get_ref()[4..8].try_into().expect("4 bytes")), 36 + 1000);
    }

    #[test]
    fn repair_refuses_a_file_that_is_not_wav() {
        let mut cur = Cursor::new(b"hello world, not a wav".to_vec());
        assert!(repair(&mut cur, |_, _| Ok(())).is_err());
    }
}
