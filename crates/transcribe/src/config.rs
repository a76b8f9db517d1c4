//! The transcription settings, with every limit named with its unit, and their validation.

use std::path::PathBuf;

use crate::TranscribeError;

/// How transcription runs. Built by the caller (the `config` crate in production), checked by
/// [`TranscribeConfig::validate`] before anything starts.
#[derive(Debug, Clone)]
pub struct TranscribeConfig {
    /// The Python interpreter that has `faster-whisper` installed.
    pub python: PathBuf,
    /// The worker script to run; `None` runs the copy compiled into this crate (`-c`).
    pub worker_script: Option<PathBuf>,
    /// A local directory holding a CTranslate2 Whisper model (`model.bin`, `config.json`,
    /// `tokenizer.json`, `vocabulary.txt`). Never downloaded.
    pub model_dir: PathBuf,
    /// ISO 639-1 language passed to the model (`en`, `zh`); `None` lets a multilingual model
    /// detect it. An `.en` model only knows English.
    pub language: Option<String>,
    /// Recording paths in the store are relative to this directory.
    pub recordings_dir: PathBuf,
    /// Keys to open recordings sealed at rest (`recordings` crate); none when not encrypted.
    pub keys: recordings::Keyring,
    /// Where a sealed recording is decrypted for the worker (mode 0600, removed after the job;
    /// a tmpfs keeps the clear audio off disk).
    pub scratch_dir: PathBuf,
    /// Jobs run at once, each with its own worker process.
    pub workers: usize,
    /// Jobs waiting (queued or waiting for a retry); one more is refused.
    pub max_queued_jobs: usize,
    /// Attempts before a job is failed for good (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each later one.
    pub retry_backoff_ms: u64,
    /// Longest wait between retries.
    pub max_retry_backoff_ms: u64,
    /// Longest one attempt of a job may take (both channels); the worker is killed past it.
    pub job_timeout_ms: u64,
    /// Longest a worker may take to load its model.
    pub start_timeout_ms: u64,
    /// The worker's last stderr bytes kept for failure reasons.
    pub max_stderr_bytes: usize,
    /// Longest line accepted from the worker.
    pub max_line_bytes: usize,
    /// Most segments kept per channel; the rest of a very long call is dropped with a warning.
    pub max_segments_per_channel: usize,
    /// CTranslate2 compute type (`int8` is the fast choice on CPU).
    pub compute_type: String,
    /// CPU threads of each worker.
    pub cpu_threads: u32,
    /// Beam size (1 = greedy, fastest).
    pub beam_size: u32,
    /// Skip silence with faster-whisper's VAD filter (fewer hallucinated words on quiet channels).
    pub vad_filter: bool,
}

impl TranscribeConfig {
    /// Defaults for everything but the paths.
    pub fn new(model_dir: PathBuf, recordings_dir: PathBuf) -> Self {
        Self {
            python: PathBuf::from("python3"),
            worker_script: None,
            model_dir,
            language: Some("en".to_owned()),
            recordings_dir,
            keys: recordings::Keyring::none(),
            scratch_dir: std::env::temp_dir(),
            workers: 1,
            max_queued_jobs: 1_000,
            max_attempts: 3,
            retry_backoff_ms: 5_000,
            max_retry_backoff_ms: 300_000,
            job_timeout_ms: 600_000,
            start_timeout_ms: 60_000,
            max_stderr_bytes: 4_096,
            max_line_bytes: 64 * 1024,
            max_segments_per_channel: 5_000,
            compute_type: "int8".to_owned(),
            cpu_threads: 1,
            beam_size: 1,
            vad_filter: false,
        }
    }

    /// Checks every setting; the error names the key.
    pub fn validate(&self) -> Result<(), TranscribeError> {
        let bad = |key: &'static str, problem: String| Err(TranscribeError::Config { key, problem });
        if self.workers == 0 || self.workers > 64 {
            return bad("workers", format!("{} is not 1 to 64", self.workers));
        }
        if self.max_queued_jobs == 0 {
            return bad("max_queued_jobs", "must be at least 1".into());
        }
        if self.max_attempts == 0 || self.max_attempts > 100 {
            return bad("max_attempts", format!("{} is not 1 to 100", self.max_attempts));
        }
        if self.job_timeout_ms == 0 || self.start_timeout_ms == 0 {
            return bad("job_timeout_ms", "timeouts must be at least 1 ms".into());
        }
        if self.max_line_bytes < 256 {
            return bad("max_line_bytes", format!("{} is below 256", self.max_line_bytes));
        }
        if self.max_segments_per_channel == 0 || self.max_segments_per_channel * 2 > store::MAX_SEGMENTS_PER_RECORDING {
            return bad("max_segments_per_channel", format!("must be 1 to {}", store::MAX_SEGMENTS_PER_RECORDING / 2));
        }
        if let Some(lang) = &self.language
            && (lang.len() < 2 || lang.len() > 3 || !lang.chars().all(|c| c.is_ascii_lowercase()))
        {
            return bad("language", format!("{lang:?} is not an ISO 639-1 code such as en or zh"));
        }
        if !["int8", "int8_float32", "float32", "int16", "default", "auto"].contains(&self.compute_type.as_str()) {
            return bad("compute_type", format!("{:?} is not a CPU compute type", self.compute_type));
        }
        if self.cpu_threads == 0 || self.beam_size == 0 || self.beam_size > 16 {
            return bad("beam_size", "cpu_threads must be at least 1 and beam_size 1 to 16".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        let c = TranscribeConfig::new("/m".into(), "/r".into());
        assert!(c.validate().is_ok());
        let e = TranscribeConfig { workers: 0, ..c.clone() }.validate().expect_err("workers");
        assert!(e.to_string().starts_with("transcription.workers:"), "{e}");
        let e = TranscribeConfig { language: Some("english".into()), ..c.clone() }.validate().expect_err("lang");
        assert!(e.to_string().contains("language"), "{e}");
        let e = TranscribeConfig { max_queued_jobs: 0, ..c }.validate().expect_err("queue");
        assert!(e.to_string().contains("max_queued_jobs"), "{e}");
    }
}
