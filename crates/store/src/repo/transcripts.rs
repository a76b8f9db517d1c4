//! Offline transcription: the job of each recording (status, attempts, progress, failure reason)
//! and the transcript segments it produced, per channel with their offsets in the recording.
//!
//! A job is keyed by (org, recording): one job per recording, re-used when it is run again. The
//! state machine lives in the `transcribe` crate; this module only stores what it decides, plus
//! the one transition the store itself must make at start-up (running → queued after a crash).
//!
//! Never: a query without `org_id = ?`, a listing without a row limit, or a stored status or
//! speaker trusted without parsing.

use model::{ContactId, OrgId, RecordingId, Timestamp};

use crate::Store;
use crate::error::StoreError;
use crate::repo::to_json;
use crate::sql::{self, RowReader, Value, to_i64};

const JOBS: &str = "transcription_jobs";
const JOB: &str = "transcription job";
const JOB_COLS: &str = "org_id, recording_id, contact_id, status, attempts, progress_pct, failure_reason, \
                        rule_flags, created_at_ms, updated_at_ms, next_attempt_at_ms";
const SEGMENTS: &str = "transcript_segments";
const SEGMENT: &str = "transcript segment";
const SEGMENT_COLS: &str = "org_id, recording_id, ordinal, contact_id, channel, speaker, start_ms, end_ms, text";

/// Longest failure reason kept, in characters (longer ones are cut: the start names the cause).
pub const MAX_FAILURE_REASON_CHARS: usize = 2000;
/// Longest segment text kept, in characters.
pub const MAX_SEGMENT_TEXT_CHARS: usize = 4000;
/// Most segments stored for one recording.
pub const MAX_SEGMENTS_PER_RECORDING: usize = 10_000;

/// Where a transcription job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TranscriptionStatus {
    /// Waiting for a worker (first run, or a retry after `next_attempt_at`).
    Queued,
    /// A worker holds it; found at start-up, it was cut short by a crash.
    Running,
    Done,
    /// Gave up after its last attempt; `failure_reason` says why.
    Failed,
}

impl TranscriptionStatus {
    pub const ALL: [TranscriptionStatus; 4] = [Self::Queued, Self::Running, Self::Done, Self::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The transcription job of one recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptionJob {
    pub org: OrgId,
    pub recording: RecordingId,
    pub contact: ContactId,
    pub status: TranscriptionStatus,
    /// Attempts started so far (a running job counts its current one).
    pub attempts: u32,
    /// 0–100 over both channels.
    pub progress_pct: u8,
    /// Why the last attempt failed (kept when a retry is queued; cleared when one succeeds).
    pub failure_reason: Option<String>,
    /// Names of the keyword rules the transcript matched (contact flagged for QA).
    pub rule_flags: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// A queued job is not started before this time (retry backoff).
    pub next_attempt_at: Timestamp,
}

/// Whose voice a segment is: the channel of the stereo recording it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TranscriptSpeaker {
    /// Left channel (0).
    Customer,
    /// Right channel (1).
    Agent,
}

impl TranscriptSpeaker {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Customer, Self::Agent].into_iter().find(|k| k.as_str() == s)
    }

    /// The recording channel: 0 (left) for the customer, 1 (right) for the agent.
    pub const fn channel(self) -> u8 {
        match self {
            Self::Customer => 0,
            Self::Agent => 1,
        }
    }
}

/// One stretch of speech in a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptSegment {
    pub org: OrgId,
    pub recording: RecordingId,
    pub contact: ContactId,
    /// Position in the recording's transcript (both channels, by start time); unique per recording.
    pub ordinal: u32,
    pub speaker: TranscriptSpeaker,
    /// Offset from the start of the recording.
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

fn job_values(j: &TranscriptionJob) -> Vec<Value> {
    vec![
        Value::from(j.org.to_string()),
        Value::from(j.recording.to_string()),
        Value::from(j.contact.to_string()),
        Value::from(j.status.as_str()),
        Value::from(i64::from(j.attempts)),
        Value::from(i64::from(j.progress_pct.min(100))),
        Value::from(j.failure_reason.as_ref().map(|r| r.chars().take(MAX_FAILURE_REASON_CHARS).collect::<String>())),
        Value::from(to_json(&j.rule_flags)),
        Value::from(j.created_at.unix_ms()),
        Value::from(j.updated_at.unix_ms()),
        Value::from(j.next_attempt_at.unix_ms()),
    ]
}

fn job_from_row(r: &RowReader<'_>) -> Result<TranscriptionJob, StoreError> {
    let status = r.text("status")?;
    Ok(TranscriptionJob {
        org: r.parse("org_id")?,
        recording: r.parse("recording_id")?,
        contact: r.parse("contact_id")?,
        status: TranscriptionStatus::parse(&status)
            .ok_or_else(|| r.invalid("status", format!("{status:?} is not a job status")))?,
        attempts: r.uint("attempts")?,
        progress_pct: r.uint("progress_pct")?,
        failure_reason: r.opt_text("failure_reason")?,
        rule_flags: r.json("rule_flags")?,
        created_at: r.time("created_at_ms")?,
        updated_at: r.time("updated_at_ms")?,
        next_attempt_at: r.time("next_attempt_at_ms")?,
    })
}

fn segment_values(s: &TranscriptSegment) -> Result<Vec<Value>, StoreError> {
    Ok(vec![
        Value::from(s.org.to_string()),
        Value::from(s.recording.to_string()),
        Value::from(i64::from(s.ordinal)),
        Value::from(s.contact.to_string()),
        Value::from(i64::from(s.speaker.channel())),
        Value::from(s.speaker.as_str()),
        Value::from(to_i64("segment start", s.start_ms)?),
        Value::from(to_i64("segment end", s.end_ms)?),
        Value::from(s.text.chars().take(MAX_SEGMENT_TEXT_CHARS).collect::<String>()),
    ])
}

fn segment_from_row(r: &RowReader<'_>) -> Result<TranscriptSegment, StoreError> {
    let speaker = r.text("speaker")?;
    Ok(TranscriptSegment {
        org: r.parse("org_id")?,
        recording: r.parse("recording_id")?,
        contact: r.parse("contact_id")?,
        ordinal: r.uint("ordinal")?,
        speaker: TranscriptSpeaker::parse(&speaker)
            .ok_or_else(|| r.invalid("speaker", format!("{speaker:?} is not customer or agent")))?,
        start_ms: r.uint("start_ms")?,
        end_ms: r.uint("end_ms")?,
        text: r.text("text")?,
    })
}

impl Store {
    /// Stores a new job; [`StoreError::Conflict`] if the recording already has one.
    pub async fn insert_transcription_job(&self, job: &TranscriptionJob) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO {JOBS} ({JOB_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, JOB, &sql, job_values(job)).await.map(drop)
    }

    /// Writes every field of the recording's job; [`StoreError::NotFound`] if it has none.
    pub async fn update_transcription_job(&self, job: &TranscriptionJob) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {JOBS} SET contact_id = ?, status = ?, attempts = ?, progress_pct = ?, failure_reason = ?, \
             rule_flags = ?, created_at_ms = ?, updated_at_ms = ?, next_attempt_at_ms = ? \
             WHERE org_id = ? AND recording_id = ?"
        );
        let mut v = job_values(job);
        let key: Vec<Value> = v.drain(..2).collect();
        v.extend(key);
        let mut conn = self.conn().await?;
        match sql::execute(&mut conn, self.backend, JOB, &sql, v).await? {
            0 => Err(StoreError::NotFound { what: JOB, key: job.recording.to_string() }),
            _ => Ok(()),
        }
    }

    /// Sets only the progress of a running job (cheap, called often); `false` if the job is not
    /// running any more.
    pub async fn set_transcription_progress(
        &self,
        org: OrgId,
        recording: RecordingId,
        progress_pct: u8,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE {JOBS} SET progress_pct = ?, updated_at_ms = ? \
             WHERE org_id = ? AND recording_id = ? AND status = 'running'"
        );
        let args = vec![
            Value::from(i64::from(progress_pct.min(100))),
            Value::from(at.unix_ms()),
            Value::from(org.to_string()),
            Value::from(recording.to_string()),
        ];
        let mut conn = self.conn().await?;
        Ok(sql::execute(&mut conn, self.backend, JOB, &sql, args).await? > 0)
    }

    pub async fn get_transcription_job(
        &self,
        org: OrgId,
        recording: RecordingId,
    ) -> Result<Option<TranscriptionJob>, StoreError> {
        let sql = format!("SELECT {JOB_COLS} FROM {JOBS} WHERE org_id = ? AND recording_id = ?");
        let mut conn = self.conn().await?;
        let args = vec![Value::from(org.to_string()), Value::from(recording.to_string())];
        let row = sql::fetch_optional(&mut conn, self.backend, JOB, &sql, args).await?;
        row.map(|r| job_from_row(&RowReader::new(&r, JOBS))).transpose()
    }

    /// The org's jobs (with `status`, or all), oldest first, at most `max_rows`.
    pub async fn list_transcription_jobs(
        &self,
        org: OrgId,
        status: Option<TranscriptionStatus>,
        max_rows: u32,
    ) -> Result<Vec<TranscriptionJob>, StoreError> {
        let mut sql = format!("SELECT {JOB_COLS} FROM {JOBS} WHERE org_id = ?");
        let mut args = vec![Value::from(org.to_string())];
        if let Some(s) = status {
            sql.push_str(" AND status = ?");
            args.push(Value::from(s.as_str()));
        }
        sql.push_str(&format!(" ORDER BY created_at_ms, recording_id LIMIT {max_rows}"));
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, JOB, &sql, args).await?;
        rows.iter().map(|r| job_from_row(&RowReader::new(r, JOBS))).collect()
    }

    /// At start-up: every job of the org still `running` was cut short by a crash; puts it back
    /// in the queue, runnable at once, its attempt counted. Returns how many.
    pub async fn requeue_interrupted_transcription_jobs(&self, org: OrgId, now: Timestamp) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE {JOBS} SET status = 'queued', updated_at_ms = ?, next_attempt_at_ms = ? \
             WHERE org_id = ? AND status = 'running'"
        );
        let args = vec![Value::from(now.unix_ms()), Value::from(now.unix_ms()), Value::from(org.to_string())];
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, JOB, &sql, args).await
    }

    /// Makes `segments` the recording's whole transcript, in one transaction (a re-run replaces
    /// the old one). Every segment must be of this org and recording; at most
    /// [`MAX_SEGMENTS_PER_RECORDING`].
    pub async fn replace_transcript_segments(
        &self,
        org: OrgId,
        recording: RecordingId,
        segments: &[TranscriptSegment],
    ) -> Result<(), StoreError> {
        if let Some(s) = segments.iter().find(|s| s.org != org || s.recording != recording) {
            return Err(StoreError::InvalidInput {
                what: SEGMENT,
                reason: format!("segment of {}/{} given for {org}/{recording}", s.org, s.recording),
            });
        }
        if segments.len() > MAX_SEGMENTS_PER_RECORDING {
            return Err(StoreError::InvalidInput {
                what: SEGMENT,
                reason: format!("{} segments; at most {MAX_SEGMENTS_PER_RECORDING} per recording", segments.len()),
            });
        }
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(SEGMENT, e))?;
        let delete = format!("DELETE FROM {SEGMENTS} WHERE org_id = ? AND recording_id = ?");
        sql::execute(
            &mut tx,
            self.backend,
            SEGMENT,
            &delete,
            vec![org.to_string().into(), recording.to_string().into()],
        )
        .await?;
        let insert = format!("INSERT INTO {SEGMENTS} ({SEGMENT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
        for s in segments {
            sql::execute(&mut tx, self.backend, SEGMENT, &insert, segment_values(s)?).await?;
        }
        tx.commit().await.map_err(|e| StoreError::from_query(SEGMENT, e))
    }

    /// The recording's transcript in order (by start, customer first at equal starts), at most
    /// `max_rows` segments.
    pub async fn list_transcript_segments(
        &self,
        org: OrgId,
        recording: RecordingId,
        max_rows: u32,
    ) -> Result<Vec<TranscriptSegment>, StoreError> {
        let sql = format!(
            "SELECT {SEGMENT_COLS} FROM {SEGMENTS} WHERE org_id = ? AND recording_id = ? \
             ORDER BY start_ms, channel, ordinal LIMIT {max_rows}"
        );
        let args = vec![Value::from(org.to_string()), Value::from(recording.to_string())];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, SEGMENT, &sql, args).await?;
        rows.iter().map(|r| segment_from_row(&RowReader::new(r, SEGMENTS))).collect()
    }
}
