//! Retention and legal holds over the store: the sweep deletes recordings older than
//! `retention_days` unless they are on legal hold, and every deletion, hold and release leaves
//! an audit entry.
//!
//! Never: a recording on hold deleted (the store's delete re-checks the hold in the same
//! statement), a file outside the recordings directory touched, or more than
//! `max_deletions_per_sweep` recordings deleted by one sweep.

use std::path::{Component, Path, PathBuf};

use model::{OrgId, RecordingId, Role, Timestamp, UserId};
use store::{AuditRecord, LegalHold, Store};

use crate::RecordingsError;

const DAY_MS: i64 = 86_400_000;

/// How long recordings are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Recordings that started more than this many days ago are deleted (at least 1).
    pub retention_days: u32,
    /// Most recordings one sweep deletes; the next sweep goes on.
    pub max_deletions_per_sweep: u32,
}

/// Who acts, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: Option<UserId>,
    /// The username, `token:<name>`, or `system:retention`.
    pub name: String,
    pub role: Role,
    /// The client address, or the component for system actions.
    pub client: String,
}

impl Actor {
    /// The retention sweep itself.
    pub fn retention_sweep() -> Self {
        Actor { user: None, name: "system:retention".into(), role: Role::Admin, client: "retention".into() }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Marked deleted and their files removed.
    pub deleted: Vec<RecordingId>,
    /// Marked deleted; their file was already gone.
    pub missing_files: Vec<RecordingId>,
    /// Marked deleted, but the file could not be removed (reason); the next look at the
    /// folder finds it.
    pub failed_files: Vec<(RecordingId, String)>,
}

fn audit(actor: &Actor, org: OrgId, at: Timestamp, action: &str, recording: RecordingId) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::new_v4().to_string(),
        org,
        at,
        actor_user: actor.user,
        actor: actor.name.clone(),
        role: actor.role,
        action: action.to_owned(),
        method: "SYSTEM".into(),
        path: format!("/api/recordings/{recording}"),
        status: 200,
        client: actor.client.clone(),
    }
}

/// Deletes the org's recordings past retention: marks each deleted in the store (skipped if a
/// hold was placed meanwhile), removes its file under `recordings_dir`, and audits it.
pub async fn sweep(
    store: &Store,
    org: OrgId,
    recordings_dir: &Path,
    policy: RetentionPolicy,
    now: Timestamp,
) -> Result<SweepReport, RecordingsError> {
    if policy.retention_days == 0 {
        return Err(RecordingsError::BadPolicy("retention_days must be at least 1".into()));
    }
    let cutoff = Timestamp::from_unix_ms(now.unix_ms().saturating_sub(i64::from(policy.retention_days) * DAY_MS));
    let due = store.list_recordings_past_retention(org, cutoff, policy.max_deletions_per_sweep).await?;
    let actor = Actor::retention_sweep();
    let mut report = SweepReport::default();
    for id in due {
        let Some(rec) = store.get_recording(org, id).await? else { continue };
        if !store.mark_recording_deleted(org, id, now).await? {
            continue;
        }
        store.insert_audit_entry(&audit(&actor, org, now, "delete_recording", id)).await?;
        let removed = match recording_path(recordings_dir, &rec.path) {
            Err(e) => Err(e.to_string()),
            Ok(path) => match std::fs::remove_file(&path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
            },
        };
        match removed {
            Ok(true) => report.deleted.push(id),
            Ok(false) => report.missing_files.push(id),
            Err(reason) => {
                tracing::warn!(recording = %id, %reason, "recording past retention marked deleted; file not removed");
                report.failed_files.push((id, reason));
            }
        }
    }
    Ok(report)
}

/// Places a legal hold (who, when, why) and audits it. The reason is required.
pub async fn place_legal_hold(
    store: &Store,
    org: OrgId,
    recording: RecordingId,
    actor: &Actor,
    reason: &str,
    now: Timestamp,
) -> Result<LegalHold, RecordingsError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(RecordingsError::BadPolicy("a legal hold needs a reason".into()));
    }
    let hold = LegalHold { org, recording, held_by: actor.name.clone(), held_at: now, reason: reason.to_owned() };
    store.place_legal_hold(&hold).await?;
    store.insert_audit_entry(&audit(actor, org, now, "place_legal_hold", recording)).await?;
    Ok(hold)
}

/// Releases a legal hold and audits it; `false` (and no audit entry) if there was none.
pub async fn release_legal_hold(
    store: &Store,
    org: OrgId,
    recording: RecordingId,
    actor: &Actor,
    now: Timestamp,
) -> Result<bool, RecordingsError> {
    let released = store.release_legal_hold(org, recording).await?;
    if released {
        store.insert_audit_entry(&audit(actor, org, now, "release_legal_hold", recording)).await?;
    }
    Ok(released)
}

/// The recording's file: its stored path under the recordings directory. A stored path that
/// would leave the directory is refused.
pub fn recording_path(dir: &Path, stored: &str) -> Result<PathBuf, RecordingsError> {
    let rel = Path::new(stored);
    if stored.is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(RecordingsError::Io(format!("recording path {stored:?} is not inside the recordings directory")));
    }
    Ok(dir.join(rel))
}
