//! Quality assurance in Debian's Chromium (`browser/qa.mjs`, playwright-core): a supervisor scores
//! a recorded call in the evaluator view (why it is flagged, waveform, player, clickable
//! transcript, scorecard form) and publishes it; agent 1001 sees it under "My evaluations" and acknowledges it. Screenshots
//! in `target/screenshots/qa-*.png`; the DOM is checked for the key elements before each shot.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::browser::{assert_screenshot, place_recording, run_scenario, stereo_wav};
use model::*;
use store::Store;

const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

/// `secs` of 8 kHz 16-bit stereo: a tone on the left for the first half, on the right after.
fn call_wav(secs: u32) -> Vec<u8> {
    let frames = 8000 * secs;
    stereo_wav(frames, |i| {
        let v = (8000.0 * (2.0 * std::f64::consts::PI * 300.0 * f64::from(i) / 8000.0).sin()) as i16;
        if i < frames / 2 { (v, 0) } else { (0, v) }
    })
}

/// A call handled by agent 1001 with its recording and transcript, and the scorecard.
async fn seed(store: &Store, rec_dir: &Path) -> ContactId {
    let org = demo::DEMO_ORG;
    let now_ms =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis())
            .expect("ms");
    let at = Timestamp::from_unix_ms(now_ms - 3_600_000);
    let id = ContactId::from_u128(0xe1_0001);
    let mut c = Contact::arrived(id, org, Channel::Voice, Direction::Inbound, "+8613800000001", "4000", at);
    c.agent = Some(common::demo_agent("1001").id);
    c.answered_at = Some(at);
    c.ended_at = Some(at.plus(DurationMs::from_secs(12)));
    c.status = ContactStatus::Ended;
    store.insert_contact(&c).await.expect("contact");
    let rec_id = RecordingId::from_u128(0xe2_0001);
    let rec = place_recording(store, rec_dir, "2026/11/27/qa.wav", &call_wav(12), rec_id, id, at).await;
    let seg = |ordinal: u32, speaker, start_ms: u64, text: &str| store::TranscriptSegment {
        org,
        recording: rec.id,
        contact: id,
        ordinal,
        speaker,
        start_ms,
        end_ms: start_ms + 2_000,
        text: text.into(),
    };
    let segments = [
        seg(0, store::TranscriptSpeaker::Customer, 500, "你好，我的订单还没到，我要退款"),
        seg(1, store::TranscriptSpeaker::Agent, 3_000, "您好，我帮您查一下订单"),
        seg(2, store::TranscriptSpeaker::Agent, 6_000, "已经为您办理退款，三个工作日到账"),
    ];
    store.replace_transcript_segments(org, rec.id, &segments).await.expect("transcript");
    // Flagged twice: by its transcript (refund) and by the agent's note (complaint).
    let job = store::TranscriptionJob {
        org,
        recording: rec.id,
        contact: id,
        status: store::TranscriptionStatus::Done,
        attempts: 1,
        progress_pct: 100,
        failure_reason: None,
        rule_flags: vec!["refund".into()],
        created_at: at,
        updated_at: at,
        next_attempt_at: at,
    };
    store.insert_transcription_job(&job).await.expect("transcription job");
    let note_flag = store::TextFlag {
        org,
        contact: id,
        rule: "complaint".into(),
        keyword: "投诉".into(),
        text: store::FlaggedText::Note,
        text_ordinal: 0,
        flagged_at: at,
    };
    store.add_text_flags(&[note_flag]).await.expect("text flag");
    let definition = serde_json::json!({
        "name": "服务质量",
        "sections": [
            {"title": "开场", "questions": [
                {"key": "greeting", "text": "规范问候", "weight": 10, "max_points": 0, "auto_fail": false, "allow_na": false},
                {"key": "verified", "text": "核实身份", "weight": 20, "max_points": 0, "auto_fail": true, "allow_na": false},
            ]},
            {"title": "解决", "questions": [
                {"key": "resolved", "text": "问题解决", "weight": 50, "max_points": 5, "auto_fail": false, "allow_na": false},
                {"key": "empathy", "text": "同理心", "weight": 20, "max_points": 5, "auto_fail": false, "allow_na": true},
            ]},
        ],
    });
    let card = store::StoredScorecard {
        id: ScorecardId::from_u128(0xe3_0001),
        org,
        name: "服务质量".into(),
        definition: definition.to_string(),
        archived: false,
        created_by: demo::dataset(common::T0).users[0].user.id,
        created_at: at,
        updated_at: at,
    };
    store.insert_scorecard(&card).await.expect("scorecard");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluator_scores_a_call_and_the_agent_acknowledges_it_in_chromium() {
    common::browser::require_tools();
    let dir = tempfile::tempdir().expect("tmp");
    let rec_dir = tempfile::tempdir().expect("tmp");
    let store = common::seeded_store(dir.path()).await;
    let contact = seed(&store, rec_dir.path()).await;
    let mut config = common::config();
    config.recordings_dir = Some(rec_dir.path().to_owned());
    let state = web::AppState::new(store.clone(), Arc::new(store.clone()), config, "test");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(web::serve(listener, web::router(Arc::new(state)), std::future::pending()));

    run_scenario("qa.mjs", &base, &[&contact.to_string()], SCENARIO_LIMIT).await;
    for name in ["qa-evaluator", "qa-agent", "qa-agent-acknowledged", "qa-report"] {
        assert_screenshot(&format!("{name}.png"));
    }
    let filter = store::EvaluationFilter { contact: Some(contact), ..Default::default() };
    let stored = store.list_evaluations(demo::DEMO_ORG, &filter, 10).await.expect("evaluations");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].status, store::EvaluationStatus::Acknowledged, "acknowledged through the page");
    assert_eq!(stored[0].percent_hundredths, 8_750);
}
