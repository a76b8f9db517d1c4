//! The supervised Python worker: started lazily on the first request, restarted when it has
//! died, killed when a request outlives its deadline. Its stderr is kept (the last
//! `max_stderr_bytes`) so that a failure reason says what Python said.
//!
//! One [`WhisperEngine`] drives one process, one request at a time. It must never leave a
//! process behind: the child is killed when the engine is dropped (`kill_on_drop`) and on every
//! failure that leaves the protocol in an unknown state.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::Instant;

use crate::config::TranscribeConfig;
use crate::protocol::{Reply, Request, parse_reply};

/// The worker script, compiled in so that the binary needs no file beside it.
pub const WORKER_SCRIPT: &str = include_str!("../worker/hotline_whisper_worker.py");

/// One timed piece of speech from one channel, as the model returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSegment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// What one channel gave.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelTranscript {
    pub segments: Vec<RawSegment>,
    /// The channel's audio length, as decoded.
    pub duration_ms: u64,
    /// Segments past `max_segments_per_channel`, dropped.
    pub dropped_segments: usize,
}

/// Why a channel could not be transcribed. Messages are single lines meant for the job's
/// failure reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("the transcription worker could not start: {0}")]
    Start(String),
    #[error("the transcription worker died: {0}")]
    Died(String),
    #[error("transcription took longer than {timeout_ms} ms; the worker was stopped")]
    TimedOut { timeout_ms: u64 },
    /// The worker reported a failure for this request (file missing, not decodable...).
    #[error("{0}")]
    Rejected(String),
    #[error("the transcription worker broke the protocol: {0}")]
    Protocol(String),
}

/// The last bytes a process wrote to stderr.
#[derive(Debug, Default)]
struct StderrTail {
    bytes: Vec<u8>,
}

impl StderrTail {
    fn push(&mut self, chunk: &[u8], max_bytes: usize) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > max_bytes {
            let cut = self.bytes.len() - max_bytes;
            self.bytes.drain(..cut);
        }
    }

    /// The tail as one line: the last few lines joined with ` | `.
    fn summary(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        lines[lines.len().saturating_sub(6)..].join(" | ")
    }
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<StderrTail>>,
}

/// A lazily started, self-restarting faster-whisper worker process.
pub struct WhisperEngine {
    config: Arc<TranscribeConfig>,
    running: Option<Running>,
    next_id: u64,
    starts: u64,
}

impl std::fmt::Debug for WhisperEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperEngine").field("pid", &self.pid()).field("starts", &self.starts).finish()
    }
}

impl WhisperEngine {
    pub fn new(config: Arc<TranscribeConfig>) -> Self {
        Self { config, running: None, next_id: 1, starts: 0 }
    }

    /// The worker's process id while one runs.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().and_then(|r| r.child.id())
    }

    /// How many times a worker process was started.
    pub fn starts(&self) -> u64 {
        self.starts
    }

    /// Stops the worker, if any, and waits for it.
    pub async fn stop(&mut self) {
        if let Some(mut r) = self.running.take() {
            let _ = r.child.start_kill();
            let _ = r.child.wait().await;
        }
    }

    /// Transcribes one channel of `wav`, before `deadline`. Progress (0–100) goes to
    /// `on_progress`. Starts the worker if none runs or the last one died.
    pub async fn transcribe(
        &mut self,
        wav: &Path,
        channel: u8,
        deadline: Instant,
        on_progress: &mut (dyn FnMut(u8) + Send),
    ) -> Result<ChannelTranscript, EngineError> {
        let timeout_ms = self.config.job_timeout_ms;
        match tokio::time::timeout_at(deadline, self.transcribe_inner(wav, channel, on_progress)).await {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(e @ EngineError::Rejected(_))) => Err(e),
            Ok(Err(e)) => {
                self.stop().await;
                Err(e)
            }
            Err(_) => {
                self.stop().await;
                Err(EngineError::TimedOut { timeout_ms })
            }
        }
    }

    async fn transcribe_inner(
        &mut self,
        wav: &Path,
        channel: u8,
        on_progress: &mut (dyn FnMut(u8) + Send),
    ) -> Result<ChannelTranscript, EngineError> {
        self.ensure_running().await?;
        let id = self.next_id;
        self.next_id += 1;
        let wav_text = wav.to_string_lossy();
        let line = Request { id, wav: &wav_text, channel, language: self.config.language.as_deref() }.to_line();
        let max_line_bytes = self.config.max_line_bytes;
        let max_segments = self.config.max_segments_per_channel;
        let r = self.running.as_mut().ok_or_else(|| EngineError::Died("no worker".into()))?;
        if let Err(e) = r.stdin.write_all(line.as_bytes()).await.and(r.stdin.flush().await) {
            return Err(died(r, &format!("writing the request failed ({e})")).await);
        }
        let mut out = ChannelTranscript::default();
        loop {
            let line = match read_bounded_line(&mut r.stdout, max_line_bytes).await {
                Ok(Some(line)) => line,
                Ok(None) => return Err(died(r, "it closed its output").await),
                Err(e) => return Err(EngineError::Protocol(e)),
            };
            match parse_reply(&line) {
                Reply::Progress { id: rid, percent } if rid == id => on_progress(percent),
                Reply::Segment { id: rid, start_ms, end_ms, text } if rid == id => {
                    if out.segments.len() < max_segments {
                        out.segments.push(RawSegment { start_ms, end_ms: end_ms.max(start_ms), text });
                    } else {
                        out.dropped_segments += 1;
                    }
                }
                Reply::Done { id: rid, duration_ms } if rid == id => {
                    out.duration_ms = duration_ms;
                    return Ok(out);
                }
                Reply::Failed { id: Some(rid), message } if rid == id => return Err(EngineError::Rejected(message)),
                Reply::Failed { id: None, message } => return Err(EngineError::Protocol(message)),
                Reply::Unreadable { line } => return Err(EngineError::Protocol(format!("unreadable line {line:?}"))),
                other => return Err(EngineError::Protocol(format!("unexpected reply {other:?} to request {id}"))),
            }
        }
    }

    /// Starts a worker unless a live one runs; waits for it to load the model.
    async fn ensure_running(&mut self) -> Result<(), EngineError> {
        if let Some(r) = self.running.as_mut() {
            match r.child.try_wait() {
                Ok(None) => return Ok(()),
                Ok(Some(status)) => tracing::warn!(%status, "transcription worker had exited; restarting it"),
                Err(e) => tracing::warn!(error = %e, "transcription worker state unknown; restarting it"),
            }
            self.stop().await;
        }
        let model_bin = self.config.model_dir.join("model.bin");
        if !model_bin.is_file() {
            return Err(EngineError::Start(format!(
                "no CTranslate2 model in {} (model.bin missing)",
                self.config.model_dir.display()
            )));
        }
        let mut running = spawn(&self.config).map_err(EngineError::Start)?;
        self.starts += 1;
        let start = tokio::time::Duration::from_millis(self.config.start_timeout_ms);
        let first =
            tokio::time::timeout(start, read_bounded_line(&mut running.stdout, self.config.max_line_bytes)).await;
        let outcome = match first {
            Err(_) => Err(format!("the model did not load within {} ms", self.config.start_timeout_ms)),
            Ok(Err(e)) => Err(e),
            Ok(Ok(None)) => Err(exit_description(&mut running, "it exited while loading").await),
            Ok(Ok(Some(line))) => match parse_reply(&line) {
                Reply::Ready => Ok(()),
                Reply::StartFailed { message } => Err(message),
                other => Err(format!("unexpected first line {other:?}")),
            },
        };
        match outcome {
            Ok(()) => {
                tracing::info!(pid = running.child.id(), model = %self.config.model_dir.display(), "transcription worker ready");
                self.running = Some(running);
                Ok(())
            }
            Err(reason) => {
                let _ = running.child.start_kill();
                let _ = running.child.wait().await;
                Err(EngineError::Start(with_stderr(reason, &running.stderr)))
            }
        }
    }
}

fn spawn(config: &TranscribeConfig) -> Result<Running, String> {
    let mut cmd = Command::new(&config.python);
    match &config.worker_script {
        Some(path) => cmd.arg(path),
        None => cmd.arg("-c").arg(WORKER_SCRIPT),
    };
    cmd.arg("--model")
        .arg(&config.model_dir)
        .arg("--compute-type")
        .arg(&config.compute_type)
        .arg("--threads")
        .arg(config.cpu_threads.to_string())
        .arg("--beam-size")
        .arg(config.beam_size.to_string());
    if config.vad_filter {
        cmd.arg("--vad-filter");
    }
    cmd.env("HF_HUB_OFFLINE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {}: {e}", PathBuf::from(&config.python).display()))?;
    let (Some(stdin), Some(stdout), Some(mut stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err("the worker's pipes were not opened".into());
    };
    let tail = Arc::new(Mutex::new(StderrTail::default()));
    let sink = Arc::clone(&tail);
    let max_stderr_bytes = config.max_stderr_bytes;
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if let Ok(mut t) = sink.lock() {
                t.push(&buf[..n], max_stderr_bytes);
            }
        }
    });
    Ok(Running { child, stdin, stdout: BufReader::new(stdout), stderr: tail })
}

/// The worker is gone: waits for its exit status and describes it with its last stderr.
async fn died(r: &mut Running, what: &str) -> EngineError {
    EngineError::Died(exit_description(r, what).await)
}

async fn exit_description(r: &mut Running, what: &str) -> String {
    let status = match tokio::time::timeout(tokio::time::Duration::from_secs(5), r.child.wait()).await {
        Ok(Ok(status)) => status.to_string(),
        _ => "exit status unknown".to_owned(),
    };
    // Let the stderr reader catch the last words.
    tokio::task::yield_now().await;
    with_stderr(format!("{what} ({status})"), &r.stderr)
}

fn with_stderr(reason: String, stderr: &Mutex<StderrTail>) -> String {
    let tail = stderr.lock().map(|t| t.summary()).unwrap_or_default();
    if tail.is_empty() { reason } else { format!("{reason}; stderr: {tail}") }
}

/// Reads one line (without its newline) of at most `max_bytes`; `None` at end of stream.
async fn read_bounded_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max_bytes: usize,
) -> Result<Option<String>, String> {
    let mut line = Vec::new();
    loop {
        let buf = reader.fill_buf().await.map_err(|e| format!("reading the worker's output failed: {e}"))?;
        if buf.is_empty() {
            return Ok(if line.is_empty() { None } else { Some(String::from_utf8_lossy(&line).into_owned()) });
        }
        let (take, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        if line.len() + take > max_bytes {
            return Err(format!("a line longer than {max_bytes} bytes"));
        }
        line.extend_from_slice(&buf[..take]);
        reader.consume(if end { take + 1 } else { take });
        if end {
            return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_tail_keeps_the_last_bytes_and_lines() {
        let mut t = StderrTail::default();
        t.push(b"first\n", 1_000);
        for i in 0..10 {
            t.push(format!("line {i}\n").as_bytes(), 1_000);
        }
        assert_eq!(t.summary(), "line 4 | line 5 | line 6 | line 7 | line 8 | line 9");
        t.push(&[b'x'; 5_000], 100);
        assert_eq!(t.bytes.len(), 100);
    }

    #[tokio::test]
    async fn lines_are_bounded() {
        let data = b"short\nmuch too long for the limit\n".to_vec();
        let mut r = BufReader::new(&data[..]);
        assert_eq!(read_bounded_line(&mut r, 10).await, Ok(Some("short".into())));
        assert!(read_bounded_line(&mut r, 10).await.is_err());
        let mut r = BufReader::new(&b"tail"[..]);
        assert_eq!(read_bounded_line(&mut r, 10).await, Ok(Some("tail".into())));
        assert_eq!(read_bounded_line(&mut r, 10).await, Ok(None));
    }
}
