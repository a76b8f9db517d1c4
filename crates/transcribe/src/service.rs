//! The job system: a bounded in-memory queue in front of the jobs persisted in the store, and
//! `workers` tasks, each with its own [`WhisperEngine`], that take ready jobs, transcribe both
//! channels, store the segments, index them for search and record the outcome.
//!
//! The store is the truth: a job's status is written before and after each attempt, so a crash
//! leaves it `running` and [`Transcriber::start`] puts it back in the queue. The queue holds at
//! most `max_queued_jobs` jobs (waiting or waiting for a retry); one more is refused with
//! [`TranscribeError::QueueFull`], never dropped silently. This module must never hold a lock
//! across an await, nor run a job twice at once.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use model::{Channel, OrgId, RecordingId, Timestamp};
use search::{DocumentKind, KeywordRules, SearchDocument, SearchIndex, Speaker};
use store::{Page, Store, TranscriptSegment, TranscriptSpeaker, TranscriptionJob, TranscriptionStatus};
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant};

use crate::TranscribeError;
use crate::config::TranscribeConfig;
use crate::engine::WhisperEngine;
use crate::policy::{self, RetryPolicy};

/// Flag notices buffered for subscribers that have not read them (a slower one skips, counted
/// by tokio's `Lagged`; the job's stored `rule_flags` stay the truth).
pub const FLAG_BROADCAST_CAPACITY: usize = 256;

/// A transcribed contact that keyword rules flagged (complaint alerts listen for these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFlagged {
    pub org: OrgId,
    pub contact: model::ContactId,
    pub recording: RecordingId,
    /// Names of the keyword rules the transcript matched (`complaint`, `refund`).
    pub rule_flags: Vec<String>,
}

/// The injected clock: wall time in unix ms.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// A job in the in-memory queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    org: OrgId,
    recording: RecordingId,
    /// Not started before this; `Timestamp::MAX_RESERVED` while `submit` is still writing it.
    not_before: Timestamp,
}

const RESERVED: Timestamp = Timestamp::from_unix_ms(i64::MAX);

struct Shared {
    store: Store,
    index: Arc<SearchIndex>,
    rules: Arc<KeywordRules>,
    config: Arc<TranscribeConfig>,
    policy: RetryPolicy,
    clock: Clock,
    queue: Mutex<VecDeque<Pending>>,
    wake: Notify,
    stopping: AtomicBool,
    /// Bumped whenever a job reaches done or failed.
    finished: watch::Sender<u64>,
    /// Every job done with at least one keyword flag.
    flagged: broadcast::Sender<ContactFlagged>,
    /// Each worker's process id, while it has one.
    pids: Mutex<Vec<Option<u32>>>,
}

/// The running transcription service.
pub struct Transcriber {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    recovered: usize,
}

impl std::fmt::Debug for Transcriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcriber").field("workers", &self.workers.len()).finish_non_exhaustive()
    }
}

impl Transcriber {
    /// Validates the config, puts back in the queue every job a crash left `running` and every
    /// job still queued (up to `max_queued_jobs`), in every org, then starts the workers. Worker
    /// processes start lazily, with the first job.
    pub async fn start(
        store: Store,
        index: Arc<SearchIndex>,
        rules: impl Into<Arc<KeywordRules>>,
        config: TranscribeConfig,
        clock: Clock,
    ) -> Result<Transcriber, TranscribeError> {
        config.validate()?;
        let policy = RetryPolicy {
            max_attempts: config.max_attempts,
            retry_backoff_ms: config.retry_backoff_ms,
            max_retry_backoff_ms: config.max_retry_backoff_ms,
        };
        let workers = config.workers;
        let shared = Arc::new(Shared {
            store,
            index,
            rules: rules.into(),
            config: Arc::new(config),
            policy,
            clock,
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
            finished: watch::Sender::new(0),
            flagged: broadcast::channel(FLAG_BROADCAST_CAPACITY).0,
            pids: Mutex::new(vec![None; workers]),
        });
        let recovered = recover(&shared).await?;
        let handles = (0..workers)
            .map(|i| {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move { worker_loop(shared, i).await })
            })
            .collect();
        Ok(Transcriber { shared, workers: handles, recovered })
    }

    /// Each transcription that keyword rules flagged, once its outcome is stored.
    pub fn subscribe_flags(&self) -> broadcast::Receiver<ContactFlagged> {
        self.shared.flagged.subscribe()
    }

    /// Jobs put back in the queue at start (interrupted or still queued).
    pub fn recovered(&self) -> usize {
        self.recovered
    }

    /// Queues the recording's transcription. A job already queued or running is returned as it
    /// is; a done or failed one is queued afresh (attempts reset).
    pub async fn submit(&self, org: OrgId, recording: RecordingId) -> Result<TranscriptionJob, TranscribeError> {
        let s = &self.shared;
        if s.stopping.load(Ordering::SeqCst) {
            return Err(TranscribeError::Stopped);
        }
        let already_queued = {
            let mut q = lock(&s.queue);
            let present = q.iter().any(|p| p.org == org && p.recording == recording);
            if !present {
                if q.len() >= s.config.max_queued_jobs {
                    return Err(TranscribeError::QueueFull { max_queued_jobs: s.config.max_queued_jobs });
                }
                q.push_back(Pending { org, recording, not_before: RESERVED });
            }
            present
        };
        if already_queued {
            return s
                .store
                .get_transcription_job(org, recording)
                .await?
                .ok_or(TranscribeError::BeingQueued { recording });
        }
        let written = self.write_submission(org, recording).await;
        let mut q = lock(&s.queue);
        let slot = q.iter().position(|p| p.org == org && p.recording == recording && p.not_before == RESERVED);
        match (&written, slot) {
            (Ok(job), Some(i)) if job.status == TranscriptionStatus::Queued => q[i].not_before = job.next_attempt_at,
            (_, Some(i)) => {
                q.remove(i);
            }
            (_, None) => {}
        }
        drop(q);
        s.wake.notify_one();
        written
    }

    async fn write_submission(&self, org: OrgId, recording: RecordingId) -> Result<TranscriptionJob, TranscribeError> {
        let s = &self.shared;
        let rec =
            s.store.get_recording(org, recording).await?.ok_or(TranscribeError::UnknownRecording { recording })?;
        let now = (s.clock)();
        match s.store.get_transcription_job(org, recording).await? {
            None => {
                let job = policy::new_job(org, recording, rec.contact, now);
                s.store.insert_transcription_job(&job).await?;
                Ok(job)
            }
            Some(job) if matches!(job.status, TranscriptionStatus::Done | TranscriptionStatus::Failed) => {
                let job = policy::resubmit(&job, now);
                s.store.update_transcription_job(&job).await?;
                Ok(job)
            }
            // Queued in the store (left over from before a restart) or running right now.
            Some(job) => Ok(job),
        }
    }

    /// The recording's job as stored.
    pub async fn job(&self, org: OrgId, recording: RecordingId) -> Result<Option<TranscriptionJob>, TranscribeError> {
        Ok(self.shared.store.get_transcription_job(org, recording).await?)
    }

    /// Waits until the recording's job is done or failed, and returns it. Callers bound the wait
    /// with a timeout of their own.
    pub async fn wait_finished(&self, org: OrgId, recording: RecordingId) -> Result<TranscriptionJob, TranscribeError> {
        let mut rx = self.shared.finished.subscribe();
        loop {
            rx.borrow_and_update();
            let job = self
                .shared
                .store
                .get_transcription_job(org, recording)
                .await?
                .ok_or(TranscribeError::UnknownRecording { recording })?;
            if matches!(job.status, TranscriptionStatus::Done | TranscriptionStatus::Failed) {
                return Ok(job);
            }
            if rx.changed().await.is_err() {
                return Err(TranscribeError::Stopped);
            }
        }
    }

    /// Jobs waiting in the queue (including those waiting for a retry).
    pub fn queued(&self) -> usize {
        lock(&self.shared.queue).len()
    }

    /// The process ids of the running worker processes.
    pub fn worker_pids(&self) -> Vec<u32> {
        lock(&self.shared.pids).iter().flatten().copied().collect()
    }

    /// Stops taking jobs, lets running ones finish for up to `grace_ms`, then stops the workers
    /// (a job cut short stays `running` in the store and is re-queued at the next start).
    pub async fn shutdown(mut self, grace_ms: u64) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.wake.notify_waiters();
        let deadline = Instant::now() + Duration::from_millis(grace_ms);
        for h in self.workers.drain(..) {
            let abort = h.abort_handle();
            if tokio::time::timeout_at(deadline, h).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for Transcriber {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.wake.notify_waiters();
        for h in &self.workers {
            h.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave their data half-changed (single pushes and
    // removals), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Re-queues interrupted jobs and loads queued ones, org by org.
async fn recover(s: &Shared) -> Result<usize, TranscribeError> {
    let now = (s.clock)();
    let mut page = Page::first(store::MAX_PAGE_SIZE);
    let mut loaded = 0;
    loop {
        let orgs = s.store.list_orgs(&page).await?;
        for org in &orgs.items {
            let requeued = s.store.requeue_interrupted_transcription_jobs(org.id, now).await?;
            if requeued > 0 {
                tracing::warn!(org = %org.id, requeued, "transcription jobs interrupted by a stop were queued again");
            }
            let room = s.config.max_queued_jobs.saturating_sub(lock(&s.queue).len());
            let room = u32::try_from(room).unwrap_or(u32::MAX);
            if room == 0 {
                continue;
            }
            let jobs = s.store.list_transcription_jobs(org.id, Some(TranscriptionStatus::Queued), room).await?;
            let mut q = lock(&s.queue);
            for j in jobs {
                q.push_back(Pending { org: j.org, recording: j.recording, not_before: j.next_attempt_at });
                loaded += 1;
            }
        }
        match orgs.next {
            Some(cursor) => page = Page::after(store::MAX_PAGE_SIZE, cursor),
            None => return Ok(loaded),
        }
    }
}

/// Takes the next ready job, waiting for one; `None` when stopping.
async fn next_ready(s: &Shared) -> Option<Pending> {
    loop {
        let notified = s.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if s.stopping.load(Ordering::SeqCst) {
            return None;
        }
        let now = (s.clock)();
        let wait_ms = {
            let mut q = lock(&s.queue);
            if let Some(i) = q.iter().position(|p| p.not_before <= now) {
                return q.remove(i);
            }
            q.iter()
                .filter(|p| p.not_before != RESERVED)
                .map(|p| p.not_before.unix_ms().saturating_sub(now.unix_ms()))
                .min()
                .unwrap_or(60_000)
                .clamp(1, 60_000)
        };
        let _ = tokio::time::timeout(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(1)), notified).await;
    }
}

async fn worker_loop(s: Arc<Shared>, index: usize) {
    let mut engine = WhisperEngine::new(Arc::clone(&s.config));
    while let Some(p) = next_ready(&s).await {
        run_job(&s, &mut engine, index, p).await;
        lock(&s.pids)[index] = engine.pid();
    }
    engine.stop().await;
    lock(&s.pids)[index] = None;
}

/// One attempt of one job, its outcome stored; a retry is put back in the queue.
async fn run_job(s: &Shared, engine: &mut WhisperEngine, worker: usize, p: Pending) {
    let job = match s.store.get_transcription_job(p.org, p.recording).await {
        Ok(Some(job)) if job.status == TranscriptionStatus::Queued => job,
        Ok(_) => return,
        Err(e) => {
            tracing::error!(org = %p.org, recording = %p.recording, error = %e, "cannot read a transcription job; retrying later");
            requeue(
                s,
                Pending { not_before: (s.clock)().plus(model::DurationMs::from_ms(s.policy.retry_backoff_ms)), ..p },
            );
            return;
        }
    };
    let job = policy::start_attempt(&job, (s.clock)());
    if let Err(e) = s.store.update_transcription_job(&job).await {
        tracing::error!(recording = %p.recording, error = %e, "cannot mark a transcription job running; retrying later");
        requeue(
            s,
            Pending { not_before: (s.clock)().plus(model::DurationMs::from_ms(s.policy.retry_backoff_ms)), ..p },
        );
        return;
    }
    lock(&s.pids)[worker] = engine.pid();
    let started = Instant::now();
    let outcome = attempt(s, engine, worker, &job).await;
    let now = (s.clock)();
    let next = match &outcome {
        Ok(flags) => policy::succeed(&job, flags.clone(), now),
        Err(reason) => policy::fail_attempt(&job, reason, &s.policy, now),
    };
    match &outcome {
        Ok(_) => {
            tracing::info!(recording = %job.recording, elapsed_ms = started.elapsed().as_millis() as u64, "transcribed")
        }
        Err(reason) => {
            tracing::warn!(recording = %job.recording, attempt = job.attempts, %reason, "transcription attempt failed")
        }
    }
    if let Err(e) = s.store.update_transcription_job(&next).await {
        // The row stays `running`: the next start re-queues it.
        tracing::error!(recording = %job.recording, error = %e, "cannot store a transcription outcome");
        return;
    }
    if next.status == TranscriptionStatus::Queued {
        requeue(s, Pending { not_before: next.next_attempt_at, ..p });
    } else {
        if next.status == TranscriptionStatus::Done && !next.rule_flags.is_empty() {
            let _ = s.flagged.send(ContactFlagged {
                org: next.org,
                contact: next.contact,
                recording: next.recording,
                rule_flags: next.rule_flags.clone(),
            });
        }
        s.finished.send_modify(|n| *n = n.wrapping_add(1));
    }
}

fn requeue(s: &Shared, p: Pending) {
    lock(&s.queue).push_back(p);
    s.wake.notify_one();
}

/// Transcribes every channel, stores and indexes the transcript; returns the keyword rules it
/// matched, or the failure reason.
async fn attempt(
    s: &Shared,
    engine: &mut WhisperEngine,
    worker: usize,
    job: &TranscriptionJob,
) -> Result<Vec<String>, String> {
    let rec = s
        .store
        .get_recording(job.org, job.recording)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("recording {} no longer exists", job.recording))?;
    if rec.deleted_at.is_some() {
        return Err(format!("recording {} was deleted", job.recording));
    }
    let stored_path = recording_path(&s.config.recordings_dir, &rec.path)?;
    let clear = ClearCopy::of(&stored_path, &s.config, worker).await?;
    let path = clear.path().to_owned();
    let contact = s.store.get_contact(job.org, rec.contact).await.map_err(|e| e.to_string())?;
    let channels = rec.channels.clamp(1, 2);
    let deadline = Instant::now() + Duration::from_millis(s.config.job_timeout_ms);
    let (progress_tx, progress_task) = progress_writer(s, job);
    let mut raw = Vec::new();
    for channel in 0..channels {
        let mut on_progress = |pct: u8| {
            let overall = (u32::from(channel) * 100 + u32::from(pct)) / u32::from(channels);
            progress_tx.send_replace(u8::try_from(overall.min(99)).unwrap_or(99));
        };
        let t = engine.transcribe(&path, channel, deadline, &mut on_progress).await;
        lock(&s.pids)[worker] = engine.pid();
        let t = t.map_err(|e| e.to_string())?;
        if t.dropped_segments > 0 {
            tracing::warn!(recording = %rec.id, channel, dropped = t.dropped_segments, "segments past max_segments_per_channel dropped");
        }
        raw.extend(t.segments.into_iter().map(|seg| (channel, seg)));
    }
    drop(progress_tx);
    drop(clear);
    let _ = progress_task.await;
    raw.sort_by_key(|(channel, seg)| (seg.start_ms, *channel));
    let segments: Vec<TranscriptSegment> = raw
        .into_iter()
        .enumerate()
        .map(|(i, (channel, seg))| TranscriptSegment {
            org: job.org,
            recording: rec.id,
            contact: rec.contact,
            ordinal: u32::try_from(i).unwrap_or(u32::MAX),
            speaker: if channel == 0 { TranscriptSpeaker::Customer } else { TranscriptSpeaker::Agent },
            start_ms: seg.start_ms,
            end_ms: seg.end_ms,
            text: seg.text,
        })
        .collect();
    s.store.replace_transcript_segments(job.org, rec.id, &segments).await.map_err(|e| e.to_string())?;
    let base = ordinal_base(s, &rec).await?;
    let docs: Vec<SearchDocument> = segments
        .iter()
        .map(|seg| SearchDocument {
            org: job.org,
            contact: rec.contact,
            kind: DocumentKind::TranscriptSegment,
            ordinal: base.saturating_add(seg.ordinal),
            agent: contact.as_ref().and_then(|c| c.agent),
            queue: contact.as_ref().and_then(|c| c.queue),
            customer: contact.as_ref().and_then(|c| c.customer),
            channel: contact.as_ref().map_or(Channel::Voice, |c| c.channel),
            at: rec.started_at.plus(model::DurationMs::from_ms(seg.start_ms)),
            disposition: contact.as_ref().and_then(|c| c.disposition.clone()),
            csat: None,
            recording_offset_ms: Some(seg.start_ms),
            speaker: Some(match seg.speaker {
                TranscriptSpeaker::Customer => Speaker::Customer,
                TranscriptSpeaker::Agent => Speaker::Agent,
            }),
            text: seg.text.clone(),
        })
        .collect();
    index_documents(s, docs).await
}

/// Where the recording's segments start in the contact's search ordinals: a contact may have
/// several recordings (a transfer, a callback), and a search document's key is (contact, kind,
/// ordinal). The n-th recording of the contact (by start time) uses ordinals from
/// n × [`store::MAX_SEGMENTS_PER_RECORDING`].
async fn ordinal_base(s: &Shared, rec: &model::Recording) -> Result<u32, String> {
    let page = Page::first(store::MAX_PAGE_SIZE);
    let siblings = s.store.list_recordings_by_contact(rec.org, rec.contact, &page).await.map_err(|e| e.to_string())?;
    let position = siblings.items.iter().position(|r| r.id == rec.id).unwrap_or(0);
    let per_recording = u32::try_from(store::MAX_SEGMENTS_PER_RECORDING).unwrap_or(u32::MAX);
    Ok(u32::try_from(position).unwrap_or(0).saturating_mul(per_recording))
}

/// The recording as the worker reads it: the file itself, or, for a sealed one, a clear copy in
/// the scratch directory that is removed when this is dropped.
enum ClearCopy {
    Original(PathBuf),
    Decrypted(PathBuf),
}

impl ClearCopy {
    async fn of(path: &Path, config: &TranscribeConfig, worker: usize) -> Result<ClearCopy, String> {
        let (path, keys, scratch) = (path.to_owned(), config.keys.clone(), config.scratch_dir.clone());
        tokio::task::spawn_blocking(move || {
            if !path.exists() || !recordings::is_encrypted(&path).map_err(|e| e.to_string())? {
                return Ok(ClearCopy::Original(path));
            }
            let mut sealed = recordings::RecordingFile::open(&path, &keys).map_err(|e| e.to_string())?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let copy = scratch.join(format!("hotline-transcribe-{}-{worker}-{name}", std::process::id()));
            let _ = std::fs::remove_file(&copy);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = options.open(&copy).map_err(|e| format!("cannot create {}: {e}", copy.display()))?;
            let guard = ClearCopy::Decrypted(copy);
            sealed.copy_to(&mut out).map_err(|e| format!("cannot decrypt {}: {e}", path.display()))?;
            Ok(guard)
        })
        .await
        .map_err(|e| format!("the decryption task failed: {e}"))?
    }

    fn path(&self) -> &Path {
        match self {
            ClearCopy::Original(p) | ClearCopy::Decrypted(p) => p,
        }
    }
}

impl Drop for ClearCopy {
    fn drop(&mut self) {
        if let ClearCopy::Decrypted(p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Indexes the documents and commits, off the async threads (tantivy blocks).
async fn index_documents(s: &Shared, docs: Vec<SearchDocument>) -> Result<Vec<String>, String> {
    let index = Arc::clone(&s.index);
    let rules = Arc::clone(&s.rules);
    tokio::task::spawn_blocking(move || {
        let mut flags = BTreeSet::new();
        for doc in &docs {
            let outcome = index.index(doc, &rules).map_err(|e| format!("indexing the transcript failed: {e}"))?;
            flags.extend(outcome.rule_hits.into_iter().map(|h| h.rule));
        }
        index.commit().map_err(|e| format!("committing the search index failed: {e}"))?;
        Ok(flags.into_iter().collect())
    })
    .await
    .map_err(|e| format!("the indexing task failed: {e}"))?
}

/// Writes the latest progress of a job to the store as it changes (only the latest value is
/// kept, so a slow database never queues updates).
fn progress_writer(s: &Shared, job: &TranscriptionJob) -> (watch::Sender<u8>, JoinHandle<()>) {
    let (tx, mut rx) = watch::channel(0u8);
    let store = s.store.clone();
    let clock = Arc::clone(&s.clock);
    let (org, recording) = (job.org, job.recording);
    let task = tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let pct = *rx.borrow_and_update();
            if let Err(e) = store.set_transcription_progress(org, recording, pct, clock()).await {
                tracing::debug!(error = %e, "transcription progress not stored");
            }
        }
    });
    (tx, task)
}

/// The recording's file: its stored path under the recordings directory. A stored path that
/// would leave the directory is refused.
fn recording_path(dir: &Path, stored: &str) -> Result<PathBuf, String> {
    let rel = Path::new(stored);
    if stored.is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(format!("recording path {stored:?} is not a relative path inside the recordings directory"));
    }
    Ok(dir.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_paths_stay_inside_the_directory() {
        let dir = Path::new("/var/rec");
        assert_eq!(recording_path(dir, "2026/11/27/a.wav"), Ok(PathBuf::from("/var/rec/2026/11/27/a.wav")));
        for bad in ["", "/etc/passwd", "../x.wav", "a/../../x.wav"] {
            assert!(recording_path(dir, bad).is_err(), "{bad}");
        }
    }
}
