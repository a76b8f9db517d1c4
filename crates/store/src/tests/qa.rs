//! QA records: scorecards, evaluations moved through the workflow with their disputes in one
//! transaction, calibration sheets, samples with their contacts, sampling candidates with the
//! keyword-rule flag, org scoping and corrupt states.

use std::collections::BTreeMap;

use model::{
    AgentId, CalibrationId, ContactId, EvaluationId, OrgId, QaSampleId, RecordingId, ScorecardId, Timestamp, UserId,
};

use super::fixtures::{T0, contact};
use super::harness::TestDb;
use crate::{
    CalibrationSheet, EvaluationFilter, EvaluationStatus, SampleContact, StoreError, StoredCalibration, StoredDispute,
    StoredEvaluation, StoredSample, StoredScorecard, TranscriptionJob, TranscriptionStatus,
};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0 + ms)
}

fn card(org: u128, n: u128, created_ms: i64) -> StoredScorecard {
    StoredScorecard {
        id: ScorecardId::from_u128(n),
        org: OrgId::from_u128(org),
        name: format!("服务质量 {n}"),
        definition: r#"{"name":"x","sections":[]}"#.into(),
        archived: false,
        created_by: UserId::from_u128(7),
        created_at: at(created_ms),
        updated_at: at(created_ms),
    }
}

fn evaluation(org: u128, n: u128, agent: u128, created_ms: i64) -> StoredEvaluation {
    StoredEvaluation {
        id: EvaluationId::from_u128(n),
        org: OrgId::from_u128(org),
        contact: ContactId::from_u128(n + 100),
        agent: AgentId::from_u128(agent),
        evaluator: UserId::from_u128(7),
        scorecard: ScorecardId::from_u128(1),
        sample: None,
        answers: BTreeMap::from([("greeting".into(), "yes".into()), ("empathy".into(), "3".into())]),
        comments: BTreeMap::from([("".into(), "语气友好 / friendly".into())]),
        percent_hundredths: 8_750,
        weighted_percent_hundredths: 8_750,
        auto_failed: vec![],
        status: EvaluationStatus::Draft,
        status_at: at(created_ms),
        auto_acknowledged: false,
        disputes: 0,
        published_at: None,
        created_at: at(created_ms),
        updated_at: at(created_ms),
    }
}

pub async fn scorecards_round_trip_update_and_hide_archived(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    store.insert_scorecard(&card(1, 1, 0)).await.expect("insert");
    store.insert_scorecard(&card(1, 2, 10)).await.expect("insert");
    store.insert_scorecard(&card(2, 3, 5)).await.expect("other org");
    let mut second = card(1, 2, 10);
    second.archived = true;
    second.name = "Archived".into();
    second.updated_at = at(20);
    store.update_scorecard(&second).await.expect("update");
    assert_eq!(store.get_scorecard(org, second.id).await.expect("get"), Some(second.clone()));
    let active = store.list_scorecards(org, false, 10).await.expect("list");
    assert_eq!(active, vec![card(1, 1, 0)]);
    assert_eq!(store.list_scorecards(org, true, 10).await.expect("list").len(), 2);
    assert_eq!(store.get_scorecard(org, ScorecardId::from_u128(3)).await.expect("get"), None, "another org's card");
    let missing = store.update_scorecard(&card(1, 9, 0)).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
}

pub async fn evaluation_moves_through_the_workflow_with_its_dispute(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let mut e = evaluation(1, 1, 50, 0);
    store.insert_evaluation(&e).await.expect("insert");
    assert_eq!(store.get_evaluation(org, e.id).await.expect("get"), Some(e.clone()));
    e.status = EvaluationStatus::Published;
    e.status_at = at(100);
    e.published_at = Some(at(100));
    store.update_evaluation(&e, None).await.expect("publish");
    e.status = EvaluationStatus::Disputed;
    e.status_at = at(200);
    e.disputes = 1;
    let mut dispute = StoredDispute {
        id: "d1".into(),
        org,
        evaluation: e.id,
        disputed_by: UserId::from_u128(50),
        disputed_at: at(200),
        reason: "客户先挂断 / the customer hung up first".into(),
        resolved_by: None,
        resolved_at: None,
        resolution: None,
        note: None,
        new_percent_hundredths: None,
    };
    store.update_evaluation(&e, Some(&dispute)).await.expect("dispute");
    e.status = EvaluationStatus::Published;
    e.status_at = at(300);
    e.percent_hundredths = 9_500;
    dispute.resolved_by = Some(UserId::from_u128(8));
    dispute.resolved_at = Some(at(300));
    dispute.resolution = Some("rescore".into());
    dispute.note = Some("agreed".into());
    dispute.new_percent_hundredths = Some(9_500);
    store.update_evaluation(&e, Some(&dispute)).await.expect("resolve");
    assert_eq!(store.get_evaluation(org, e.id).await.expect("get"), Some(e.clone()));
    assert_eq!(store.list_disputes(org, e.id).await.expect("disputes"), vec![dispute.clone()]);
    assert_eq!(store.list_disputes(OrgId::from_u128(2), e.id).await.expect("other org"), vec![]);
    let wrong = StoredDispute { evaluation: EvaluationId::from_u128(9), ..dispute };
    assert!(matches!(store.update_evaluation(&e, Some(&wrong)).await, Err(StoreError::InvalidInput { .. })));
    let missing = store.update_evaluation(&evaluation(1, 9, 50, 0), None).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
    let other_org = store.update_evaluation(&StoredEvaluation { org: OrgId::from_u128(2), ..e }, None).await;
    assert!(matches!(other_org, Err(StoreError::NotFound { .. })), "{other_org:?}");
}

pub async fn evaluations_are_filtered_by_agent_publication_and_org(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let draft = evaluation(1, 1, 50, 0);
    let mut published = evaluation(1, 2, 50, 10);
    published.status = EvaluationStatus::Acknowledged;
    published.published_at = Some(at(1_000));
    let mut other_agent = evaluation(1, 3, 51, 20);
    other_agent.status = EvaluationStatus::Published;
    other_agent.published_at = Some(at(2_000));
    for e in [&draft, &published, &other_agent, &evaluation(2, 4, 50, 30)] {
        store.insert_evaluation(e).await.expect("insert");
    }
    let agent = |a: u128| EvaluationFilter { agent: Some(AgentId::from_u128(a)), ..Default::default() };
    let ids = |v: Vec<StoredEvaluation>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_evaluations(org, &agent(50), 10).await.expect("l")), vec![published.id, draft.id]);
    let own_published = EvaluationFilter { published_only: true, ..agent(50) };
    assert_eq!(ids(store.list_evaluations(org, &own_published, 10).await.expect("l")), vec![published.id]);
    let window = EvaluationFilter { published_between: Some((at(1_500), at(3_000))), ..Default::default() };
    assert_eq!(ids(store.list_evaluations(org, &window, 10).await.expect("l")), vec![other_agent.id]);
    let by_contact = EvaluationFilter { contact: Some(draft.contact), ..Default::default() };
    assert_eq!(ids(store.list_evaluations(org, &by_contact, 10).await.expect("l")), vec![draft.id]);
    assert_eq!(store.list_evaluations(org, &EvaluationFilter::default(), 2).await.expect("l").len(), 2, "row limit");
}

pub async fn corrupt_stored_evaluation_state_is_reported_not_panicked(db: TestDb) {
    let store = db.migrated().await;
    let e = evaluation(1, 1, 50, 0);
    store.insert_evaluation(&e).await.expect("insert");
    store.raw_execute("UPDATE qa_evaluations SET state = 'lost'").await;
    match store.get_evaluation(e.org, e.id).await {
        Err(StoreError::Corrupt { .. }) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

pub async fn calibration_sheets_are_replaced_per_evaluator(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let session = StoredCalibration {
        id: CalibrationId::from_u128(1),
        org,
        contact: ContactId::from_u128(100),
        scorecard: ScorecardId::from_u128(1),
        title: "Week 12 calibration".into(),
        created_by: UserId::from_u128(7),
        created_at: at(0),
    };
    store.insert_calibration(&session).await.expect("insert");
    let sheet = |who: u128, pct: u32, ms: i64| CalibrationSheet {
        org,
        calibration: session.id,
        evaluator: UserId::from_u128(who),
        answers: BTreeMap::from([("greeting".into(), "yes".into())]),
        percent_hundredths: pct,
        scored_at: at(ms),
    };
    store.save_calibration_sheet(&sheet(7, 8_000, 10)).await.expect("save");
    store.save_calibration_sheet(&sheet(8, 6_000, 20)).await.expect("save");
    store.save_calibration_sheet(&sheet(7, 9_000, 30)).await.expect("replace");
    let sheets = store.list_calibration_sheets(org, session.id).await.expect("list");
    assert_eq!(sheets, vec![sheet(8, 6_000, 20), sheet(7, 9_000, 30)]);
    assert_eq!(store.get_calibration(org, session.id).await.expect("get"), Some(session.clone()));
    assert_eq!(store.list_calibrations(org, 10).await.expect("list"), vec![session.clone()]);
    let foreign = CalibrationSheet { org: OrgId::from_u128(2), ..sheet(9, 1, 1) };
    assert!(matches!(store.save_calibration_sheet(&foreign).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.list_calibrations(OrgId::from_u128(2), 10).await.expect("list"), vec![]);
}

pub async fn sample_round_trips_with_its_contacts_and_seed(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let sample = StoredSample {
        id: QaSampleId::from_u128(1),
        org,
        period_start: at(0),
        period_end: at(7 * 86_400_000),
        seed: u64::MAX - 1,
        per_agent: 5,
        include_flagged: true,
        created_by: UserId::from_u128(7),
        created_at: at(10),
        contacts: vec![
            SampleContact { contact: ContactId::from_u128(3), agent: AgentId::from_u128(50), flagged: true },
            SampleContact { contact: ContactId::from_u128(1), agent: AgentId::from_u128(50), flagged: false },
            SampleContact { contact: ContactId::from_u128(2), agent: AgentId::from_u128(51), flagged: false },
        ],
    };
    store.insert_sample(&sample).await.expect("insert");
    assert_eq!(store.get_sample(org, sample.id).await.expect("get"), Some(sample.clone()));
    let listed = store.list_samples(org, 10).await.expect("list");
    assert_eq!(listed, vec![StoredSample { contacts: vec![], ..sample.clone() }]);
    assert_eq!(store.get_sample(OrgId::from_u128(2), sample.id).await.expect("get"), None);
}

pub async fn qa_candidates_are_ended_contacts_with_an_agent_flagged_by_keyword_rules(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let ended = |n: u128, agent: Option<u128>, ended_ms: Option<i64>, recording: Option<u128>| {
        let mut c = contact(org, n, None, T0);
        c.agent = agent.map(AgentId::from_u128);
        c.ended_at = ended_ms.map(at);
        c.recording = recording.map(RecordingId::from_u128);
        c
    };
    for c in [
        ended(1, Some(50), Some(100), Some(901)),
        ended(2, Some(50), Some(200), Some(902)),
        ended(3, None, Some(150), None),
        ended(4, Some(51), None, None),
        ended(5, Some(51), Some(5_000), None),
    ] {
        store.insert_contact(&c).await.expect("insert");
    }
    let mut job = TranscriptionJob {
        org,
        recording: RecordingId::from_u128(901),
        contact: ContactId::from_u128(1),
        status: TranscriptionStatus::Done,
        attempts: 1,
        progress_pct: 100,
        failure_reason: None,
        rule_flags: vec!["complaint".into()],
        created_at: at(0),
        updated_at: at(0),
        next_attempt_at: at(0),
    };
    store.insert_transcription_job(&job).await.expect("job");
    job.recording = RecordingId::from_u128(902);
    job.rule_flags = vec![];
    store.insert_transcription_job(&job).await.expect("job");
    let got = store.list_qa_candidates(org, at(0), at(1_000), 10).await.expect("list");
    let seen: Vec<(ContactId, bool)> = got.iter().map(|c| (c.contact, c.flagged)).collect();
    assert_eq!(seen, vec![(ContactId::from_u128(1), true), (ContactId::from_u128(2), false)]);
    assert_eq!(store.list_qa_candidates(org, at(0), at(10_000), 1).await.expect("list").len(), 2, "max_rows + 1");
    assert_eq!(store.list_qa_candidates(OrgId::from_u128(2), at(0), at(10_000), 10).await.expect("l"), vec![]);
}
