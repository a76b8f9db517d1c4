//! The only module that touches the file system: opening recordings, repairing them after a crash
//! and loading prompt files. Everything else in the crate works on memory and injected writers.
//! Must never: be called from the packet path (these calls block), or follow a path it was not given.

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::error::AudioError;
use crate::recorder::{RecorderConfig, StereoRecorder, repair};
use crate::wav::load_prompt;

/// Creates (or truncates) a recording file and starts writing it.
pub fn create_recording(path: &Path, config: RecorderConfig) -> Result<StereoRecorder<File>, AudioError> {
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
    StereoRecorder::new(file, config)
}

/// Fixes the header of a recording left by a crash; returns its audio bytes.
pub fn repair_recording(path: &Path) -> Result<u64, AudioError> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    repair(&mut file, |f, len| f.set_len(len))
}

/// Reads a prompt file into 8 kHz mono samples.
pub fn load_prompt_file(path: &Path, max_prompt_bytes: u64) -> Result<Vec<i16>, AudioError> {
    let len = std::fs::metadata(path)?.len();
    if len > max_prompt_bytes {
        return Err(AudioError::TooLarge { bytes: len, max: max_prompt_bytes });
    }
    load_prompt(&std::fs::read(path)?, max_prompt_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wav::{encode_pcm16, read_wav};
    use std::io::Write;

    #[test]
    fn a_recording_on_disk_reads_back_with_the_reported_size() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("call.wav");
        let mut rec = create_recording(&path, RecorderConfig::default()).expect("created");
        for _ in 0..100 {
            rec.write(&[1000; 160], &[-1000; 160]).expect("written");
        }
        let (info, file) = rec.close().expect("closed");
        drop(file);
        let bytes = std::fs::read(&path).expect("readable");
        assert_eq!(info.size_bytes, bytes.len() as u64);
        assert_eq!(read_wav(&bytes, u64::MAX).expect("valid").samples.len(), 32000);
        assert_eq!(info.duration_ms, 2000);
    }

    #[test]
    fn a_file_left_by_a_crash_is_repaired_in_place() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("crashed.wav");
        let mut rec = create_recording(&path, RecorderConfig { max_buffer_frames: 1600 }).expect("created");
        for _ in 0..25 {
            rec.write(&[3; 160], &[4; 160]).expect("written");
        }
        // Simulate a crash: the process dies (no destructor runs), a half-written frame follows
        // the last flush and the header still says 3200 frames at most.
        std::mem::forget(rec);
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(&[1, 2, 3]).expect("append");
        drop(f);
        let data = repair_recording(&path).expect("repaired");
        assert_eq!(data, 3200 * 4, "800 frames were still in memory when it died");
        let wav = read_wav(&std::fs::read(&path).expect("read"), u64::MAX).expect("valid");
        assert_eq!(wav.samples.len(), 6400);
    }

    #[test]
    fn a_recorder_dropped_without_close_still_flushes() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("dropped.wav");
        let mut rec = create_recording(&path, RecorderConfig::default()).expect("created");
        rec.write(&[3; 160], &[4; 160]).expect("written");
        drop(rec);
        let wav = read_wav(&std::fs::read(&path).expect("read"), u64::MAX).expect("valid");
        assert_eq!(wav.samples.len(), 320);
    }

    #[test]
    fn prompt_files_load_and_oversized_ones_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("welcome.wav");
        std::fs::write(&path, encode_pcm16(16000, 1, &[100; 1600])).expect("written");
        assert_eq!(load_prompt_file(&path, 1 << 20).expect("loads").len(), 800);
        assert!(matches!(load_prompt_file(&path, 100), Err(AudioError::TooLarge { .. })));
    }
}
