//! Legal holds and the retention queries: a hold is placed and released with its flag, a held or
//! deleted recording is never listed or marked deleted, org scoping.

use model::{ContactId, DurationMs, OrgId, Recording, RecordingId, Timestamp};

use super::fixtures::T0;
use super::harness::TestDb;
use crate::{LegalHold, StoreError};

const DAY_MS: i64 = 86_400_000;

fn recording(org: u128, n: u128, started_ms: i64) -> Recording {
    Recording {
        id: RecordingId::from_u128(n),
        org: OrgId::from_u128(org),
        contact: ContactId::from_u128(n + 100),
        path: format!("{n}.wav"),
        started_at: Timestamp::from_unix_ms(started_ms),
        duration: DurationMs::from_ms(60_000),
        size_bytes: 960_044,
        sha256: String::new(),
        channels: 2,
        sample_rate_hz: 8_000,
        legal_hold: false,
        deleted_at: None,
    }
}

fn hold(org: u128, n: u128, reason: &str) -> LegalHold {
    LegalHold {
        org: OrgId::from_u128(org),
        recording: RecordingId::from_u128(n),
        held_by: "supervisor1".into(),
        held_at: Timestamp::from_unix_ms(T0),
        reason: reason.into(),
    }
}

pub async fn legal_hold_is_placed_replaced_and_released_with_its_flag(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let rec = recording(1, 1, T0);
    store.insert_recording(&rec).await.expect("insert");
    store.place_legal_hold(&hold(1, 1, "complaint #42")).await.expect("hold");
    store.place_legal_hold(&hold(1, 1, "court order 2026/7")).await.expect("hold again replaces");
    assert_eq!(store.get_legal_hold(org, rec.id).await.expect("get"), Some(hold(1, 1, "court order 2026/7")));
    assert!(store.get_recording(org, rec.id).await.expect("get").expect("some").legal_hold);
    assert!(store.release_legal_hold(org, rec.id).await.expect("release"));
    assert!(!store.release_legal_hold(org, rec.id).await.expect("release twice"));
    assert_eq!(store.get_legal_hold(org, rec.id).await.expect("get"), None);
    assert!(!store.get_recording(org, rec.id).await.expect("get").expect("some").legal_hold);
    let missing = store.place_legal_hold(&hold(1, 99, "x")).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
    assert_eq!(store.count_rows("recording_holds").await, 0);
}

pub async fn retention_lists_only_old_unheld_undeleted_recordings_of_the_org(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let cutoff = Timestamp::from_unix_ms(T0);
    for r in [
        recording(1, 1, T0 - 3 * DAY_MS),
        recording(1, 2, T0 - 2 * DAY_MS),
        recording(1, 3, T0 - DAY_MS),
        recording(1, 4, T0),
        recording(2, 5, T0 - 3 * DAY_MS),
    ] {
        store.insert_recording(&r).await.expect("insert");
    }
    store.place_legal_hold(&hold(1, 2, "dispute")).await.expect("hold");
    assert!(store.mark_recording_deleted(org, RecordingId::from_u128(3), cutoff).await.expect("delete"));
    let due = store.list_recordings_past_retention(org, cutoff, 10).await.expect("list");
    assert_eq!(due, vec![RecordingId::from_u128(1)]);
    assert_eq!(
        store.list_recordings_past_retention(org, Timestamp::from_unix_ms(T0 + 1), 10).await.expect("l").len(),
        2
    );
    assert_eq!(
        store.list_recordings_past_retention(org, Timestamp::from_unix_ms(T0 + 1), 1).await.expect("l").len(),
        1
    );
}

pub async fn recording_on_hold_or_already_deleted_is_never_marked_deleted(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let at = Timestamp::from_unix_ms(T0);
    store.insert_recording(&recording(1, 1, T0 - DAY_MS)).await.expect("insert");
    store.insert_recording(&recording(1, 2, T0 - DAY_MS)).await.expect("insert");
    store.place_legal_hold(&hold(1, 1, "litigation")).await.expect("hold");
    assert!(!store.mark_recording_deleted(org, RecordingId::from_u128(1), at).await.expect("held"));
    assert!(store.mark_recording_deleted(org, RecordingId::from_u128(2), at).await.expect("deleted"));
    assert!(!store.mark_recording_deleted(org, RecordingId::from_u128(2), at).await.expect("again"));
    assert!(!store.mark_recording_deleted(OrgId::from_u128(2), RecordingId::from_u128(1), at).await.expect("org"));
    let held = store.get_recording(org, RecordingId::from_u128(1)).await.expect("get").expect("some");
    assert_eq!(held.deleted_at, None);
    let gone = store.get_recording(org, RecordingId::from_u128(2)).await.expect("get").expect("some");
    assert_eq!(gone.deleted_at, Some(at));
    let foreign = store.place_legal_hold(&hold(2, 1, "x")).await;
    assert!(matches!(foreign, Err(StoreError::NotFound { .. })), "another org cannot hold it: {foreign:?}");
}
