//! Transcription jobs and transcript segments: round trips, the crash re-queue, replacement of a
//! recording's transcript, limits and org scoping.

use model::{ContactId, OrgId, RecordingId, Timestamp};

use super::fixtures::T0;
use super::harness::TestDb;
use crate::{StoreError, TranscriptSegment, TranscriptSpeaker, TranscriptionJob, TranscriptionStatus};

fn job(org: u128, rec: u128, created_ms: i64) -> TranscriptionJob {
    TranscriptionJob {
        org: OrgId::from_u128(org),
        recording: RecordingId::from_u128(rec),
        contact: ContactId::from_u128(rec + 1000),
        status: TranscriptionStatus::Queued,
        attempts: 0,
        progress_pct: 0,
        failure_reason: None,
        rule_flags: vec![],
        created_at: Timestamp::from_unix_ms(T0 + created_ms),
        updated_at: Timestamp::from_unix_ms(T0 + created_ms),
        next_attempt_at: Timestamp::from_unix_ms(T0 + created_ms),
    }
}

fn segment(
    org: u128,
    rec: u128,
    ordinal: u32,
    speaker: TranscriptSpeaker,
    start_ms: u64,
    text: &str,
) -> TranscriptSegment {
    TranscriptSegment {
        org: OrgId::from_u128(org),
        recording: RecordingId::from_u128(rec),
        contact: ContactId::from_u128(rec + 1000),
        ordinal,
        speaker,
        start_ms,
        end_ms: start_ms + 1_500,
        text: text.to_owned(),
    }
}

pub async fn transcription_job_round_trips_through_its_states(db: TestDb) {
    let store = db.migrated().await;
    let mut j = job(1, 1, 0);
    store.insert_transcription_job(&j).await.expect("insert");
    assert!(matches!(store.insert_transcription_job(&j).await, Err(StoreError::Conflict { .. })));
    j.status = TranscriptionStatus::Running;
    j.attempts = 1;
    store.update_transcription_job(&j).await.expect("running");
    assert!(
        store.set_transcription_progress(j.org, j.recording, 40, Timestamp::from_unix_ms(T0 + 5)).await.expect("p")
    );
    j.progress_pct = 40;
    j.updated_at = Timestamp::from_unix_ms(T0 + 5);
    assert_eq!(store.get_transcription_job(j.org, j.recording).await.expect("get"), Some(j.clone()));
    j.status = TranscriptionStatus::Done;
    j.progress_pct = 100;
    j.rule_flags = vec!["refund".into(), "投诉".into()];
    j.failure_reason = Some("x".repeat(crate::MAX_FAILURE_REASON_CHARS + 10));
    store.update_transcription_job(&j).await.expect("done");
    let stored = store.get_transcription_job(j.org, j.recording).await.expect("get").expect("some");
    assert_eq!(stored.rule_flags, j.rule_flags);
    assert_eq!(stored.failure_reason.map(|r| r.chars().count()), Some(crate::MAX_FAILURE_REASON_CHARS));
    assert!(!store.set_transcription_progress(j.org, j.recording, 50, Timestamp::from_unix_ms(T0)).await.expect("p"));
    let missing = job(1, 99, 0);
    assert!(matches!(store.update_transcription_job(&missing).await, Err(StoreError::NotFound { .. })));
}

pub async fn interrupted_transcription_jobs_are_requeued_and_listed_oldest_first(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let mut running = job(1, 1, 20);
    running.status = TranscriptionStatus::Running;
    running.attempts = 2;
    let queued = job(1, 2, 10);
    let mut done = job(1, 3, 0);
    done.status = TranscriptionStatus::Done;
    for j in [&running, &queued, &done] {
        store.insert_transcription_job(j).await.expect("insert");
    }
    let mut other_org = job(2, 4, 0);
    other_org.status = TranscriptionStatus::Running;
    store.insert_transcription_job(&other_org).await.expect("insert");

    let now = Timestamp::from_unix_ms(T0 + 1_000);
    assert_eq!(store.requeue_interrupted_transcription_jobs(org, now).await.expect("requeue"), 1);
    let queue = store.list_transcription_jobs(org, Some(TranscriptionStatus::Queued), 10).await.expect("list");
    let expected_running =
        TranscriptionJob { status: TranscriptionStatus::Queued, updated_at: now, next_attempt_at: now, ..running };
    assert_eq!(queue, vec![queued, expected_running]);
    assert_eq!(store.list_transcription_jobs(org, None, 2).await.expect("list").len(), 2);
    let other = store.get_transcription_job(OrgId::from_u128(2), RecordingId::from_u128(4)).await.expect("get");
    assert_eq!(other.map(|j| j.status), Some(TranscriptionStatus::Running), "another org's job untouched");
}

pub async fn transcript_is_replaced_whole_and_listed_by_start(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let rec = RecordingId::from_u128(1);
    let first = vec![
        segment(1, 1, 0, TranscriptSpeaker::Agent, 0, "old agent"),
        segment(1, 1, 1, TranscriptSpeaker::Customer, 900, "old customer"),
        segment(1, 1, 2, TranscriptSpeaker::Customer, 3_000, "old tail"),
    ];
    store.replace_transcript_segments(org, rec, &first).await.expect("first");
    let second = vec![
        segment(1, 1, 0, TranscriptSpeaker::Agent, 0, "您好，请问有什么可以帮您"),
        segment(1, 1, 1, TranscriptSpeaker::Customer, 0, "I want a refund for my order"),
    ];
    store.replace_transcript_segments(org, rec, &second).await.expect("second");
    let listed = store.list_transcript_segments(org, rec, 100).await.expect("list");
    assert_eq!(listed, vec![second[1].clone(), second[0].clone()], "customer first at equal starts");
    assert_eq!(store.list_transcript_segments(org, rec, 1).await.expect("list").len(), 1);
    assert_eq!(store.list_transcript_segments(OrgId::from_u128(2), rec, 100).await.expect("list"), vec![]);
}

pub async fn transcript_of_another_recording_or_org_is_refused(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let rec = RecordingId::from_u128(1);
    let foreign = vec![segment(2, 1, 0, TranscriptSpeaker::Agent, 0, "x")];
    assert!(matches!(
        store.replace_transcript_segments(org, rec, &foreign).await,
        Err(StoreError::InvalidInput { .. })
    ));
    let too_many: Vec<_> = (0..=crate::MAX_SEGMENTS_PER_RECORDING as u32)
        .map(|i| segment(1, 1, i, TranscriptSpeaker::Agent, u64::from(i), "x"))
        .collect();
    assert!(matches!(
        store.replace_transcript_segments(org, rec, &too_many).await,
        Err(StoreError::InvalidInput { .. })
    ));
    assert_eq!(store.count_rows("transcript_segments").await, 0);
}

pub async fn corrupt_stored_job_status_is_reported_not_panicked(db: TestDb) {
    let store = db.migrated().await;
    let j = job(1, 1, 0);
    store.insert_transcription_job(&j).await.expect("insert");
    store.raw_execute("UPDATE transcription_jobs SET status = 'exploded'").await;
    let err = store.get_transcription_job(j.org, j.recording).await.expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("status"), "{err}");
}
