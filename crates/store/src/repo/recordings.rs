//! Recording metadata (the audio itself is a file the media crate writes).

use model::{ContactId, DurationMs, OrgId, Recording, RecordingId};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table};
use crate::sql::{RowReader, Value, to_i64};

const RECORDINGS: Table = Table {
    name: "recordings",
    what: "recording",
    cols: &[
        "id",
        "org_id",
        "contact_id",
        "path",
        "started_at_ms",
        "duration_ms",
        "size_bytes",
        "sha256",
        "channels",
        "sample_rate_hz",
        "legal_hold",
        "deleted_at_ms",
    ],
};

fn values(r: &Recording) -> Result<Vec<Value>, StoreError> {
    Ok(vec![
        Value::from(r.contact.to_string()),
        Value::from(r.path.clone()),
        Value::from(r.started_at.unix_ms()),
        Value::from(to_i64("recording duration", r.duration.as_ms())?),
        Value::from(to_i64("recording size", r.size_bytes)?),
        Value::from(r.sha256.clone()),
        Value::from(i64::from(r.channels)),
        Value::from(i64::from(r.sample_rate_hz)),
        Value::from(r.legal_hold),
        Value::Int(r.deleted_at.map(|t| t.unix_ms())),
    ])
}

pub(crate) fn from_row(r: &RowReader<'_>) -> Result<Recording, StoreError> {
    Ok(Recording {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        contact: r.parse("contact_id")?,
        path: r.text("path")?,
        started_at: r.time("started_at_ms")?,
        duration: DurationMs::from_ms(r.uint("duration_ms")?),
        size_bytes: r.uint("size_bytes")?,
        sha256: r.text("sha256")?,
        channels: r.uint("channels")?,
        sample_rate_hz: r.uint("sample_rate_hz")?,
        legal_hold: r.bool("legal_hold")?,
        deleted_at: r.opt_time("deleted_at_ms")?,
    })
}

impl Store {
    pub async fn insert_recording(&self, recording: &Recording) -> Result<(), StoreError> {
        let mut v = vec![Value::from(recording.id.to_string()), Value::from(recording.org.to_string())];
        v.extend(values(recording)?);
        self.insert_row(&RECORDINGS, v).await
    }

    /// Stores the finished file's facts, a legal hold, or the deletion time.
    pub async fn update_recording(&self, recording: &Recording) -> Result<(), StoreError> {
        self.update_row(&RECORDINGS, recording.org, recording.id.to_string(), values(recording)?).await
    }

    pub async fn get_recording(&self, org: OrgId, id: RecordingId) -> Result<Option<Recording>, StoreError> {
        self.get_row(&RECORDINGS, org, id.to_string(), from_row).await
    }

    /// A contact's recordings in the order they started.
    pub async fn list_recordings_by_contact(
        &self,
        org: OrgId,
        contact: ContactId,
        page: &Page,
    ) -> Result<PageOf<Recording>, StoreError> {
        let filter = ("contact_id = ?", vec![Value::from(contact.to_string())]);
        self.list_rows(&RECORDINGS, org, Some(filter), Keyset::TimeAsc("started_at_ms"), page, from_row).await
    }
}
