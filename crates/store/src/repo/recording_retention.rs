//! Recordings at rest: legal holds (who placed them, when, why) and the queries of the retention
//! sweep. A hold is one row of `recording_holds` plus the `legal_hold` flag of the recording,
//! written together in one transaction so they never disagree.
//!
//! Never: a query without `org_id = ?`, a listing without a row limit, or a recording on hold
//! marked deleted (the delete itself re-checks the flag, so a hold placed between the sweep's
//! listing and its delete wins).

use model::{OrgId, RecordingId, Timestamp};

use crate::Store;
use crate::error::StoreError;
use crate::sql::{self, RowReader, Value};

const HOLDS: &str = "recording_holds";
const HOLD: &str = "legal hold";

/// Longest hold reason kept, in characters.
pub const MAX_HOLD_REASON_CHARS: usize = 1000;
/// Longest `held_by` kept, in characters.
pub const MAX_HOLD_BY_CHARS: usize = 200;

/// A legal hold on a recording: kept past retention until released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub org: OrgId,
    pub recording: RecordingId,
    /// Who placed it (username, or `token:<name>`).
    pub held_by: String,
    pub held_at: Timestamp,
    /// Why (case number, complaint...).
    pub reason: String,
}

fn hold_from_row(r: &RowReader<'_>) -> Result<LegalHold, StoreError> {
    Ok(LegalHold {
        org: r.parse("org_id")?,
        recording: r.parse("recording_id")?,
        held_by: r.text("held_by")?,
        held_at: r.time("held_at_ms")?,
        reason: r.text("reason")?,
    })
}

impl Store {
    /// Places (or replaces) the hold and sets the recording's `legal_hold` flag, in one
    /// transaction; [`StoreError::NotFound`] if the org has no such recording.
    pub async fn place_legal_hold(&self, hold: &LegalHold) -> Result<(), StoreError> {
        let reason: String = hold.reason.chars().take(MAX_HOLD_REASON_CHARS).collect();
        let by: String = hold.held_by.chars().take(MAX_HOLD_BY_CHARS).collect();
        let (org, rec) = (hold.org.to_string(), hold.recording.to_string());
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(HOLD, e))?;
        let flag = "UPDATE recordings SET legal_hold = 1 WHERE org_id = ? AND id = ?";
        if sql::execute(&mut tx, self.backend, HOLD, flag, vec![org.clone().into(), rec.clone().into()]).await? == 0 {
            // MySQL counts changed rows only: a recording already flagged reports 0. Check it exists.
            let probe = "SELECT id FROM recordings WHERE org_id = ? AND id = ?";
            let found =
                sql::fetch_optional(&mut tx, self.backend, HOLD, probe, vec![org.clone().into(), rec.clone().into()])
                    .await?;
            if found.is_none() {
                return Err(StoreError::NotFound { what: "recording", key: rec });
            }
        }
        let delete = format!("DELETE FROM {HOLDS} WHERE org_id = ? AND recording_id = ?");
        sql::execute(&mut tx, self.backend, HOLD, &delete, vec![org.clone().into(), rec.clone().into()]).await?;
        let insert =
            format!("INSERT INTO {HOLDS} (org_id, recording_id, held_by, held_at_ms, reason) VALUES (?, ?, ?, ?, ?)");
        let args = vec![org.into(), rec.into(), by.into(), hold.held_at.unix_ms().into(), reason.into()];
        sql::execute(&mut tx, self.backend, HOLD, &insert, args).await?;
        tx.commit().await.map_err(|e| StoreError::from_query(HOLD, e))
    }

    /// Releases the hold and clears the flag, in one transaction; `false` if there was none.
    pub async fn release_legal_hold(&self, org: OrgId, recording: RecordingId) -> Result<bool, StoreError> {
        let (org, rec) = (org.to_string(), recording.to_string());
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(HOLD, e))?;
        let delete = format!("DELETE FROM {HOLDS} WHERE org_id = ? AND recording_id = ?");
        let removed =
            sql::execute(&mut tx, self.backend, HOLD, &delete, vec![org.clone().into(), rec.clone().into()]).await?;
        let flag = "UPDATE recordings SET legal_hold = 0 WHERE org_id = ? AND id = ?";
        sql::execute(&mut tx, self.backend, HOLD, flag, vec![org.into(), rec.into()]).await?;
        tx.commit().await.map_err(|e| StoreError::from_query(HOLD, e))?;
        Ok(removed > 0)
    }

    pub async fn get_legal_hold(&self, org: OrgId, recording: RecordingId) -> Result<Option<LegalHold>, StoreError> {
        let sql = format!(
            "SELECT org_id, recording_id, held_by, held_at_ms, reason FROM {HOLDS} WHERE org_id = ? AND recording_id = ?"
        );
        let mut conn = self.conn().await?;
        let args = vec![Value::from(org.to_string()), Value::from(recording.to_string())];
        let row = sql::fetch_optional(&mut conn, self.backend, HOLD, &sql, args).await?;
        row.map(|r| hold_from_row(&RowReader::new(&r, HOLDS))).transpose()
    }

    /// The org's recordings that started before `started_before`, not on hold and not deleted,
    /// oldest first, at most `max_rows`: what the retention sweep deletes.
    pub async fn list_recordings_past_retention(
        &self,
        org: OrgId,
        started_before: Timestamp,
        max_rows: u32,
    ) -> Result<Vec<RecordingId>, StoreError> {
        let sql = format!(
            "SELECT id FROM recordings WHERE org_id = ? AND started_at_ms < ? AND legal_hold = 0 \
             AND deleted_at_ms IS NULL ORDER BY started_at_ms, id LIMIT {max_rows}"
        );
        let args = vec![Value::from(org.to_string()), Value::from(started_before.unix_ms())];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, "recording", &sql, args).await?;
        rows.iter().map(|r| RowReader::new(r, "recordings").parse("id")).collect()
    }

    /// Marks the recording deleted at `at` unless it is on hold or already deleted; `true` when
    /// this call marked it (the caller then removes the file).
    pub async fn mark_recording_deleted(
        &self,
        org: OrgId,
        recording: RecordingId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE recordings SET deleted_at_ms = ? \
                   WHERE org_id = ? AND id = ? AND legal_hold = 0 AND deleted_at_ms IS NULL";
        let args = vec![Value::from(at.unix_ms()), Value::from(org.to_string()), Value::from(recording.to_string())];
        let mut conn = self.conn().await?;
        Ok(sql::execute(&mut conn, self.backend, "recording", sql, args).await? > 0)
    }
}
