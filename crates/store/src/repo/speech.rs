//! Speech analytics per recording of a contact: talk time per side, silence, longest silence,
//! overtalk, talk ratio and the QA outlier flags the binary computed from the recording's two
//! channels. Migration 0010.
//!
//! One row per (org, contact, recording); storing the figures again replaces the row
//! ([`Store::put_contact_speech`]). Flags are stored as names (`long_silence`...), space-separated;
//! the store does not interpret them beyond "any flag set" for QA sampling.
//!
//! Never: a query without `org_id = ?`, a listing without a row limit, a negative figure stored.

use model::{ContactId, OrgId, Recording, RecordingId, Timestamp};

use crate::Store;
use crate::error::StoreError;
use crate::sql::{self, RowReader, Value};

const TABLE: &str = "contact_speech";
const WHAT: &str = "contact speech";
const COLS: &str = "org_id, contact_id, recording_id, duration_ms, customer_talk_ms, agent_talk_ms, silence_ratio, \
                    longest_silence_ms, overtalk_ms, talk_ratio, agent_interruptions, flags, analysed_at_ms";

/// Most rows one listing returns (recordings of one contact).
pub const MAX_SPEECH_ROWS_PER_READ: u32 = 100;
/// Most recordings one [`Store::list_recordings_without_speech`] returns.
pub const MAX_UNANALYSED_RECORDINGS_PER_READ: u32 = 1_000;
/// Most flags stored per recording.
pub const MAX_SPEECH_FLAGS: usize = 16;
/// Longest flag name, in characters.
pub const MAX_SPEECH_FLAG_CHARS: usize = 40;

/// The speech figures of one recording of a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactSpeech {
    pub org: OrgId,
    pub contact: ContactId,
    pub recording: RecordingId,
    pub duration_ms: u64,
    pub customer_talk_ms: u64,
    pub agent_talk_ms: u64,
    /// Share of the recording in which neither side talked, 0.0 to 1.0.
    pub silence_ratio: f64,
    pub longest_silence_ms: u64,
    pub overtalk_ms: u64,
    /// Agent talk time divided by customer talk time; `None` when the customer never talked.
    pub talk_ratio: Option<f64>,
    pub agent_interruptions: u32,
    /// QA outlier flag names (`long_silence`, `too_much_overtalk`...); empty when unremarkable.
    pub flags: Vec<String>,
    pub analysed_at: Timestamp,
}

fn ms(field: &'static str, v: u64) -> Result<Value, StoreError> {
    i64::try_from(v)
        .map(Value::from)
        .map_err(|_| StoreError::InvalidInput { what: WHAT, reason: format!("{field} {v} is out of range") })
}

fn values(s: &ContactSpeech) -> Result<Vec<Value>, StoreError> {
    let flag_ok = |f: &String| {
        !f.is_empty()
            && f.chars().count() <= MAX_SPEECH_FLAG_CHARS
            && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if s.flags.len() > MAX_SPEECH_FLAGS || !s.flags.iter().all(flag_ok) {
        return Err(StoreError::InvalidInput {
            what: WHAT,
            reason: format!(
                "at most {MAX_SPEECH_FLAGS} flags, each 1 to {MAX_SPEECH_FLAG_CHARS} characters of [A-Za-z0-9_]"
            ),
        });
    }
    let finite_ratio = |v: f64| v.is_finite() && v >= 0.0;
    if !finite_ratio(s.silence_ratio) || !s.talk_ratio.is_none_or(finite_ratio) {
        return Err(StoreError::InvalidInput { what: WHAT, reason: "ratios must be finite and not negative".into() });
    }
    Ok(vec![
        Value::from(s.org.to_string()),
        Value::from(s.contact.to_string()),
        Value::from(s.recording.to_string()),
        ms("duration_ms", s.duration_ms)?,
        ms("customer_talk_ms", s.customer_talk_ms)?,
        ms("agent_talk_ms", s.agent_talk_ms)?,
        Value::from(Some(s.silence_ratio)),
        ms("longest_silence_ms", s.longest_silence_ms)?,
        ms("overtalk_ms", s.overtalk_ms)?,
        Value::from(s.talk_ratio),
        Value::from(i64::from(s.agent_interruptions)),
        Value::from(s.flags.join(" ")),
        Value::from(s.analysed_at.unix_ms()),
    ])
}

fn from_row(r: &RowReader<'_>) -> Result<ContactSpeech, StoreError> {
    Ok(ContactSpeech {
        org: r.parse("org_id")?,
        contact: r.parse("contact_id")?,
        recording: r.parse("recording_id")?,
        duration_ms: r.uint("duration_ms")?,
        customer_talk_ms: r.uint("customer_talk_ms")?,
        agent_talk_ms: r.uint("agent_talk_ms")?,
        silence_ratio: r.opt_float("silence_ratio")?.ok_or_else(|| r.invalid("silence_ratio", "is NULL"))?,
        longest_silence_ms: r.uint("longest_silence_ms")?,
        overtalk_ms: r.uint("overtalk_ms")?,
        talk_ratio: r.opt_float("talk_ratio")?,
        agent_interruptions: r.uint("agent_interruptions")?,
        flags: r.text("flags")?.split_whitespace().map(str::to_owned).collect(),
        analysed_at: r.time("analysed_at_ms")?,
    })
}

impl Store {
    /// Stores the figures of one recording of a contact, replacing any stored before.
    pub async fn put_contact_speech(&self, s: &ContactSpeech) -> Result<(), StoreError> {
        let args = values(s)?;
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(WHAT, e))?;
        let delete = format!("DELETE FROM {TABLE} WHERE org_id = ? AND contact_id = ? AND recording_id = ?");
        let key = vec![args[0].clone(), args[1].clone(), args[2].clone()];
        sql::execute(&mut tx, self.backend, WHAT, &delete, key).await?;
        let insert = format!("INSERT INTO {TABLE} ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        sql::execute(&mut tx, self.backend, WHAT, &insert, args).await?;
        tx.commit().await.map_err(|e| StoreError::from_query(WHAT, e))
    }

    /// The figures of a contact's recordings, oldest analysis first, at most `max_rows` (capped at
    /// [`MAX_SPEECH_ROWS_PER_READ`]).
    pub async fn list_contact_speech(
        &self,
        org: OrgId,
        contact: ContactId,
        max_rows: u32,
    ) -> Result<Vec<ContactSpeech>, StoreError> {
        let limit = max_rows.min(MAX_SPEECH_ROWS_PER_READ);
        let sql = format!(
            "SELECT {COLS} FROM {TABLE} WHERE org_id = ? AND contact_id = ? \
             ORDER BY analysed_at_ms, recording_id LIMIT {limit}"
        );
        let args = vec![Value::from(org.to_string()), Value::from(contact.to_string())];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, WHAT, &sql, args).await?;
        rows.iter().map(|r| from_row(&RowReader::new(r, TABLE))).collect()
    }

    /// Recordings of ended contacts, not deleted, that have no speech row yet (the binary was
    /// stopped before it analysed them), newest first, at most `max_rows` (capped at
    /// [`MAX_UNANALYSED_RECORDINGS_PER_READ`]).
    pub async fn list_recordings_without_speech(
        &self,
        org: OrgId,
        max_rows: u32,
    ) -> Result<Vec<Recording>, StoreError> {
        let limit = max_rows.min(MAX_UNANALYSED_RECORDINGS_PER_READ);
        let sql = format!(
            "SELECT r.id, r.org_id, r.contact_id, r.path, r.started_at_ms, r.duration_ms, r.size_bytes, r.sha256, \
             r.channels, r.sample_rate_hz, r.legal_hold, r.deleted_at_ms \
             FROM recordings r JOIN contacts c ON c.org_id = r.org_id AND c.id = r.contact_id \
             WHERE r.org_id = ? AND r.deleted_at_ms IS NULL AND c.ended_at_ms IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM {TABLE} s WHERE s.org_id = r.org_id AND s.recording_id = r.id) \
             ORDER BY r.started_at_ms DESC, r.id LIMIT {limit}"
        );
        let args = vec![Value::from(org.to_string())];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, "recording", &sql, args).await?;
        rows.iter().map(|r| crate::repo::recordings::from_row(&RowReader::new(r, "recordings"))).collect()
    }
}
