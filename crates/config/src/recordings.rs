//! `[recordings]` (encryption at rest, retention) and `[transcription]` (the offline
//! faster-whisper worker). Paths are checked as settings only: this crate never reads the key
//! file or looks into the model directory; `hotline serve` does, and names the key when it fails.

use std::path::PathBuf;

use model::DurationMs;
use serde::Deserialize;

use crate::ConfigError;
use crate::validate::bad;

/// Longest retention, in days (ten years).
const MAX_RETENTION_DAYS: i64 = 3_660;
/// Most transcription workers.
const MAX_TRANSCRIPTION_WORKERS: i64 = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecordings {
    pub encryption_key_file: String,
    pub retention_days: i64,
    pub retention_sweep_interval: String,
    pub max_deletions_per_sweep: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTranscription {
    pub model_dir: String,
    pub python: String,
    pub language: String,
    pub workers: i64,
    pub max_queued_jobs: i64,
    pub max_attempts: i64,
    pub job_timeout: String,
    pub scratch_dir: String,
}

/// Recordings at rest (`[recordings]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingsConfig {
    /// A file of keys, one `id:64-hex-digits` per line, the last line the key new recordings are
    /// sealed with (earlier lines still open older recordings). `None`: recordings stay clear.
    pub encryption_key_file: Option<PathBuf>,
    /// Recordings older than this many days are deleted unless on legal hold; `None` keeps them.
    pub retention_days: Option<u32>,
    /// How often the retention sweep runs.
    pub retention_sweep_interval: DurationMs,
    /// Most recordings one sweep deletes; the next sweep goes on.
    pub max_deletions_per_sweep: u32,
}

/// Offline transcription (`[transcription]`); off while `model_dir` is unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptionConfig {
    /// A local CTranslate2 Whisper model directory; never downloaded.
    pub model_dir: Option<PathBuf>,
    /// The Python that has `faster-whisper` installed.
    pub python: PathBuf,
    /// ISO 639-1 code (`en`, `zh`); `None` lets a multilingual model detect it.
    pub language: Option<String>,
    pub workers: usize,
    /// Jobs waiting; one more is refused.
    pub max_queued_jobs: usize,
    pub max_attempts: u32,
    /// Longest one attempt may take.
    pub job_timeout: DurationMs,
    /// Where sealed recordings are decrypted for the worker; `None`: `<data_dir>/scratch`.
    pub scratch_dir: Option<PathBuf>,
}

fn range(key: &str, value: i64, min: i64, max: i64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(u64::try_from(value).unwrap_or(0))
    } else {
        Err(bad(key, format!("{value} is out of range {min} to {max}")))
    }
}

fn path(value: &str) -> Option<PathBuf> {
    let v = value.trim();
    (!v.is_empty()).then(|| PathBuf::from(v))
}

fn duration(key: &str, value: &str, min_ms: u64) -> Result<DurationMs, ConfigError> {
    let d = value.parse::<DurationMs>().map_err(|e| bad(key, format!("{value:?} {}", e.problem())))?;
    if d.as_ms() < min_ms {
        return Err(bad(key, format!("{value:?} is below {min_ms} ms")));
    }
    Ok(d)
}

pub fn recordings(raw: &RawRecordings) -> Result<RecordingsConfig, ConfigError> {
    let days = range("recordings.retention_days", raw.retention_days, 0, MAX_RETENTION_DAYS)?;
    Ok(RecordingsConfig {
        encryption_key_file: path(&raw.encryption_key_file),
        retention_days: (days > 0).then(|| u32::try_from(days).unwrap_or(u32::MAX)),
        retention_sweep_interval: duration(
            "recordings.retention_sweep_interval",
            &raw.retention_sweep_interval,
            1_000,
        )?,
        max_deletions_per_sweep: u32::try_from(range(
            "recordings.max_deletions_per_sweep",
            raw.max_deletions_per_sweep,
            1,
            100_000,
        )?)
        .unwrap_or(1),
    })
}

pub fn transcription(raw: &RawTranscription) -> Result<TranscriptionConfig, ConfigError> {
    let language = raw.language.trim();
    let language = if language.is_empty() || language == "auto" {
        None
    } else if (2..=3).contains(&language.len()) && language.chars().all(|c| c.is_ascii_lowercase()) {
        Some(language.to_owned())
    } else {
        return Err(bad("transcription.language", format!("{language:?} is not an ISO 639-1 code such as en or zh")));
    };
    let python = path(&raw.python).ok_or_else(|| bad("transcription.python", "must name a Python interpreter"))?;
    let count = |key: &str, v: i64, max: i64| range(key, v, 1, max).map(|n| usize::try_from(n).unwrap_or(1));
    Ok(TranscriptionConfig {
        model_dir: path(&raw.model_dir),
        python,
        language,
        workers: count("transcription.workers", raw.workers, MAX_TRANSCRIPTION_WORKERS)?,
        max_queued_jobs: count("transcription.max_queued_jobs", raw.max_queued_jobs, 1_000_000)?,
        max_attempts: u32::try_from(range("transcription.max_attempts", raw.max_attempts, 1, 100)?).unwrap_or(1),
        job_timeout: duration("transcription.job_timeout", &raw.job_timeout, 1_000)?,
        scratch_dir: path(&raw.scratch_dir),
    })
}
