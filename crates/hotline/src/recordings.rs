//! What happens to a recording after its call (`[recordings]`, `[transcription]`):
//!
//! - **sealed at rest** when `recordings.encryption_key_file` is set: when the event dispatcher
//!   (`crate::events`) reports a contact ended, each of its recordings still in clear is encrypted in place with the current
//!   key (the web library and the transcriber open it with the same keyring);
//! - **transcribed** when `transcription.model_dir` is set: the `transcribe` crate's workers run
//!   faster-whisper on the local model, store the segments and index them for keyword search;
//!   jobs left queued or running by an earlier run are picked up at start;
//! - **deleted past retention** when `recordings.retention_days` is set: the `recordings`
//!   crate's sweep runs every `retention_sweep_interval`, never touching a held recording; the
//!   deleted recordings' transcript segments are removed from the search index;
//! - **speech-analysed** always: talk, silence and overtalk figures and QA outlier flags per
//!   recording are stored for the contact (`crate::speech`); at start, recordings of ended
//!   contacts that have no figures yet (the binary stopped first) are analysed, at most
//!   [`SPEECH_CATCH_UP_MAX_RECORDINGS`] per start.
//!
//! Never: read a key file or a model directory the configuration did not name, print a key, or
//! let a failure with one recording stop the others (it is logged with the recording's id).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use config::Config;
use model::{ContactId, OrgId, Timestamp};
use recordings::{Keyring, RecordingKey};
use store::{Page, Store};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Longest key file read, in bytes.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
/// Recordings of one contact looked at after it ended.
const MAX_RECORDINGS_PER_CONTACT: u32 = 20;
/// Ended contacts waiting for the recording services.
const MAX_QUEUED_ENDED_CONTACTS: usize = 1_000;
/// Recordings the speech catch-up analyses at start (ended contacts' recordings without
/// figures, newest first); older ones wait for the next start.
pub const SPEECH_CATCH_UP_MAX_RECORDINGS: u32 = 200;
/// How long shutdown waits for a running transcription to stop.
const TRANSCRIBER_STOP_GRACE_MS: u64 = 5_000;

/// Reads `id:64-hex-digits` lines (blank lines and `#` comments skipped); the last key is the
/// one new recordings are sealed with. Errors name the key and the line, never the key bytes.
pub fn keyring(file: Option<&Path>) -> anyhow::Result<Keyring> {
    let Some(path) = file else { return Ok(Keyring::none()) };
    let what = || format!("recordings.encryption_key_file: {}", path.display());
    let len = std::fs::metadata(path).with_context(what)?.len();
    if len > MAX_KEY_FILE_BYTES {
        anyhow::bail!("{}: larger than {MAX_KEY_FILE_BYTES} bytes", what());
    }
    let text = std::fs::read_to_string(path).with_context(what)?;
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((id, hex)) = line.split_once(':') else {
            anyhow::bail!("{}: line {} is not id:hex", what(), n + 1);
        };
        let key = RecordingKey::from_hex(id.trim(), hex.trim())
            .map_err(|e| anyhow::anyhow!("{}: line {}: {e}", what(), n + 1))?;
        keys.push(key);
    }
    let current = keys.last().map(|k| k.id().to_owned()).with_context(|| format!("{}: no key in the file", what()))?;
    Keyring::new(keys, &current).map_err(|e| anyhow::anyhow!("{}: {e}", what()))
}

/// The running recording services.
pub struct RecordingServices {
    keys: Arc<Keyring>,
    transcriber: Option<Arc<transcribe::Transcriber>>,
    /// The keyword search index (`data_dir/search`), shared with the web's `/api/search`.
    search: Arc<search::SearchIndex>,
    /// Ended contacts in (from `crate::events`).
    ended: mpsc::Sender<ContactId>,
    tasks: Vec<JoinHandle<()>>,
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_ms(ms)
}

impl RecordingServices {
    /// Starts the services; the transcriber flags contacts with `rules` (`[[search.keyword_rules]]`).
    pub async fn start(
        cfg: &Config,
        store: &Store,
        org: OrgId,
        rules: Arc<search::KeywordRules>,
    ) -> anyhow::Result<Self> {
        let keys = Arc::new(keyring(cfg.recordings.encryption_key_file.as_deref())?);
        let recordings_dir = std::path::absolute(&cfg.media.recordings_dir)
            .with_context(|| format!("media.recordings_dir: {}", cfg.media.recordings_dir.display()))?;
        let search = Arc::new(open_search_index(cfg)?);
        let transcriber = match &cfg.transcription.model_dir {
            None => None,
            Some(model) => {
                let index = search.clone();
                Some(Arc::new(start_transcriber(cfg, store, model, &recordings_dir, &keys, index, rules).await?))
            }
        };
        let mut tasks = Vec::new();
        // Speech analytics runs on every finished contact, so the worker always runs; the event
        // dispatcher (`crate::events`) sends it the ended contacts.
        let (ended, mut ended_rx) = mpsc::channel::<ContactId>(MAX_QUEUED_ENDED_CONTACTS);
        {
            let (store, keys, transcriber, dir) =
                (store.clone(), keys.clone(), transcriber.clone(), recordings_dir.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(contact) = ended_rx.recv().await {
                    after_call(&store, org, contact, &dir, &keys, transcriber.as_deref()).await;
                }
            }));
        }
        {
            let (store, keys, dir) = (store.clone(), keys.clone(), recordings_dir.clone());
            tasks.push(tokio::spawn(async move { speech_catch_up(&store, org, &dir, keys).await }));
        }
        if let Some(days) = cfg.recordings.retention_days {
            let policy = recordings::RetentionPolicy {
                retention_days: days,
                max_deletions_per_sweep: cfg.recordings.max_deletions_per_sweep,
            };
            let every = cfg.recordings.retention_sweep_interval.as_std();
            let (store, dir, index) = (store.clone(), recordings_dir.clone(), search.clone());
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    match recordings::retention::sweep(&store, org, &dir, policy, now()).await {
                        Ok(r) if r.deleted.is_empty() && r.missing_files.is_empty() && r.failed_files.is_empty() => {}
                        Ok(r) => {
                            forget_transcripts(&store, &index, org, &r).await;
                            tracing::info!(
                                deleted = r.deleted.len(),
                                missing_files = r.missing_files.len(),
                                failed_files = r.failed_files.len(),
                                "retention sweep"
                            );
                        }
                        Err(e) => tracing::warn!(error = %e, "retention sweep failed; the next one retries"),
                    }
                }
            }));
            tracing::info!(retention_days = days, "recordings past retention are deleted unless on legal hold");
        }
        Ok(Self { keys, transcriber, search, ended, tasks })
    }

    /// The keyring, for the web library (Range downloads and waveforms decrypt with it).
    pub fn keys(&self) -> Arc<Keyring> {
        self.keys.clone()
    }

    /// Where the event dispatcher sends ended contacts (seal, transcribe, analyse their speech).
    pub fn ended_sink(&self) -> mpsc::Sender<ContactId> {
        self.ended.clone()
    }

    /// The keyword search index, for the web's `/api/search` and the notes indexer.
    pub fn search_index(&self) -> Arc<search::SearchIndex> {
        self.search.clone()
    }

    /// The contacts keyword rules flag as transcripts are stored (complaint alerts); `None`
    /// without transcription.
    pub fn subscribe_flags(&self) -> Option<tokio::sync::broadcast::Receiver<transcribe::ContactFlagged>> {
        self.transcriber.as_ref().map(|t| t.subscribe_flags())
    }

    pub async fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
        if let Some(t) = self.transcriber.and_then(Arc::into_inner) {
            t.shutdown(TRANSCRIBER_STOP_GRACE_MS).await;
        }
    }
}

/// Opens (or creates) the keyword search index in `data_dir/search`.
fn open_search_index(cfg: &Config) -> anyhow::Result<search::SearchIndex> {
    let index_dir: PathBuf = cfg.data_dir.join("search");
    std::fs::create_dir_all(&index_dir).with_context(|| format!("cannot create {}", index_dir.display()))?;
    search::SearchIndex::open_or_create_in_dir(&index_dir, search::IndexConfig::default())
        .with_context(|| format!("search index in {}", index_dir.display()))
}

async fn start_transcriber(
    cfg: &Config,
    store: &Store,
    model: &Path,
    recordings_dir: &Path,
    keys: &Keyring,
    index: Arc<search::SearchIndex>,
    rules: Arc<search::KeywordRules>,
) -> anyhow::Result<transcribe::Transcriber> {
    if !model.join("model.bin").is_file() {
        anyhow::bail!("transcription.model_dir: {} holds no model.bin (a CTranslate2 Whisper model)", model.display());
    }
    let t = &cfg.transcription;
    let scratch = t.scratch_dir.clone().unwrap_or_else(|| cfg.data_dir.join("scratch"));
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("transcription.scratch_dir: cannot create {}", scratch.display()))?;
    let config = transcribe::TranscribeConfig {
        python: t.python.clone(),
        language: t.language.clone(),
        keys: keys.clone(),
        scratch_dir: scratch,
        workers: t.workers,
        max_queued_jobs: t.max_queued_jobs,
        max_attempts: t.max_attempts,
        job_timeout_ms: t.job_timeout.as_ms(),
        ..transcribe::TranscribeConfig::new(model.to_owned(), recordings_dir.to_owned())
    };
    let clock: transcribe::Clock = Arc::new(now);
    let started =
        transcribe::Transcriber::start(store.clone(), index, rules, config, clock).await.context("transcription")?;
    tracing::info!(model = %model.display(), recovered = started.recovered(), "transcription is running");
    Ok(started)
}

/// Seals the contact's clear recordings (when a key is configured) and queues their
/// transcription (when a model is configured).
async fn after_call(
    store: &Store,
    org: OrgId,
    contact: ContactId,
    dir: &Path,
    keys: &Keyring,
    transcriber: Option<&transcribe::Transcriber>,
) {
    let recs = match store.list_recordings_by_contact(org, contact, &Page::first(MAX_RECORDINGS_PER_CONTACT)).await {
        Ok(p) => p.items,
        Err(e) => {
            tracing::warn!(%contact, error = %e, "cannot list the contact's recordings");
            return;
        }
    };
    for rec in recs.iter().filter(|r| r.deleted_at.is_none()) {
        if let Some(key) = keys.current()
            && let Err(e) = seal(dir, &rec.path, key)
        {
            tracing::warn!(recording = %rec.id, error = %e, "recording left in clear");
        }
        if let Some(t) = transcriber
            && let Err(e) = t.submit(org, rec.id).await
        {
            tracing::warn!(recording = %rec.id, error = %e, "transcription not queued");
        }
    }
    crate::speech::after_call(store, org, contact, dir, Arc::new(keys.clone()), &recs, now()).await;
}

/// Speech analytics for recordings the binary never analysed (it was stopped between the end of
/// a contact and the analysis): at most [`SPEECH_CATCH_UP_MAX_RECORDINGS`] per start.
async fn speech_catch_up(store: &Store, org: OrgId, dir: &Path, keys: Arc<Keyring>) {
    let due = match store.list_recordings_without_speech(org, SPEECH_CATCH_UP_MAX_RECORDINGS).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "speech catch-up: cannot list recordings without figures");
            return;
        }
    };
    if due.is_empty() {
        return;
    }
    tracing::info!(recordings = due.len(), max = SPEECH_CATCH_UP_MAX_RECORDINGS, "speech catch-up");
    for rec in &due {
        if let Err(e) = crate::speech::analyse_recording(store, dir, keys.clone(), rec, now()).await {
            tracing::warn!(recording = %rec.id, error = %e, "speech catch-up: not analysed");
        }
    }
}

/// Removes the transcript segments of recordings the sweep deleted from the search index. A
/// recording's segments are the contact's transcript ordinals from its place among the contact's
/// recordings × `store::MAX_SEGMENTS_PER_RECORDING` (the transcriber's numbering).
async fn forget_transcripts(
    store: &Store,
    index: &Arc<search::SearchIndex>,
    org: OrgId,
    report: &recordings::SweepReport,
) {
    let ids = report.deleted.iter().chain(&report.missing_files).chain(report.failed_files.iter().map(|(id, _)| id));
    let mut forgotten = 0usize;
    for id in ids {
        match transcript_ordinals(store, org, *id).await {
            Ok(Some((contact, ordinals))) => {
                match index.delete_ordinals(org, contact, search::DocumentKind::TranscriptSegment, ordinals) {
                    Ok(()) => forgotten += 1,
                    Err(e) => {
                        tracing::warn!(recording = %id, error = %e, "deleted recording's transcript left in search")
                    }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(recording = %id, error = %e, "deleted recording's transcript left in search"),
        }
    }
    if forgotten > 0 {
        let index = index.clone();
        match tokio::task::spawn_blocking(move || index.commit()).await {
            Ok(Ok(())) => tracing::info!(recordings = forgotten, "deleted recordings' transcripts removed from search"),
            Ok(Err(e)) => tracing::warn!(error = %e, "search index not committed after the retention sweep"),
            Err(e) => tracing::warn!(error = %e, "search index not committed after the retention sweep"),
        }
    }
}

/// The contact of a recording and the range of transcript ordinals its segments were indexed at.
async fn transcript_ordinals(
    store: &Store,
    org: OrgId,
    recording: model::RecordingId,
) -> anyhow::Result<Option<(ContactId, std::ops::Range<u32>)>> {
    let Some(rec) = store.get_recording(org, recording).await? else { return Ok(None) };
    let siblings = store.list_recordings_by_contact(org, rec.contact, &Page::first(store::MAX_PAGE_SIZE)).await?;
    let Some(position) = siblings.items.iter().position(|r| r.id == recording) else { return Ok(None) };
    let per_recording = u32::try_from(store::MAX_SEGMENTS_PER_RECORDING)?;
    let base = u32::try_from(position)?.saturating_mul(per_recording);
    Ok(Some((rec.contact, base..base.saturating_add(per_recording))))
}

/// Encrypts one recording in place unless it already is.
pub fn seal(dir: &Path, stored_path: &str, key: &RecordingKey) -> Result<bool, recordings::RecordingsError> {
    let path = recordings::retention::recording_path(dir, stored_path)?;
    if recordings::is_encrypted(&path)? {
        return Ok(false);
    }
    recordings::encrypt_in_place(&path, key, recordings::NoncePrefix::random()?)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_lines_make_a_keyring_whose_last_key_is_current() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("keys");
        std::fs::write(&file, format!("# rotation\nold:{}\n\nnew:{}\n", "01".repeat(32), "02".repeat(32))).expect("w");
        let ring = keyring(Some(&file)).expect("keyring");
        assert_eq!(ring.current().map(RecordingKey::id), Some("new"));
        assert!(ring.get("old").is_some());
        assert!(keyring(None).expect("none").current().is_none());
        for (text, says) in [("nocolon\n", "line 1 is not id:hex"), ("k:abcd\n", "line 1"), ("# nothing\n", "no key")] {
            std::fs::write(&file, text).expect("w");
            let err = keyring(Some(&file)).expect_err(text).to_string();
            assert!(err.starts_with("recordings.encryption_key_file:") && err.contains(says), "{err}");
            assert!(!err.contains("abcd"), "never prints key material: {err}");
        }
    }

    #[test]
    fn a_finished_recording_is_sealed_once_and_stays_readable() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("2026")).expect("dir");
        let clear = b"RIFF\x24\x00\x00\x00WAVEfmt some audio bytes".to_vec();
        std::fs::write(dir.path().join("2026/a.wav"), &clear).expect("w");
        let key = RecordingKey::new("k1", [9; 32]).expect("key");
        assert!(seal(dir.path(), "2026/a.wav", &key).expect("seal"));
        assert!(!seal(dir.path(), "2026/a.wav", &key).expect("again"), "never sealed twice");
        let path = dir.path().join("2026/a.wav");
        assert!(recordings::is_encrypted(&path).expect("read"));
        let ring = Keyring::new(vec![key], "k1").expect("ring");
        let mut f = recordings::RecordingFile::open(&path, &ring).expect("open");
        assert_eq!(f.len(), clear.len() as u64);
        assert_eq!(f.read_range(0..clear.len() as u64, 1 << 20).expect("read"), clear);
        assert!(seal(dir.path(), "../escape.wav", &RecordingKey::new("k1", [9; 32]).expect("k")).is_err());
    }
}
