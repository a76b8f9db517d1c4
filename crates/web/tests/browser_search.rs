//! Keyword search on the recordings page in Debian's Chromium (`browser/search.mjs`,
//! playwright-core): a supervisor types 退款, sees the highlighted transcript hit and plays the
//! recording from the moment it was said. Screenshot in `target/screenshots/search-hit.png`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::browser::{assert_screenshot, place_recording, run_scenario, stereo_wav};
use model::*;

const SCENARIO_LIMIT: Duration = Duration::from_secs(120);
/// Where in the recording the customer asks for a refund.
const REFUND_OFFSET_MS: u64 = 5_000;

/// `secs` of 8 kHz 16-bit stereo silence with a quiet tone on the left.
fn call_wav(secs: u32) -> Vec<u8> {
    stereo_wav(8000 * secs, |i| {
        ((4000.0 * (2.0 * std::f64::consts::PI * 300.0 * f64::from(i) / 8000.0).sin()) as i16, 0)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_finds_a_refund_request_and_plays_it_in_chromium() {
    common::browser::require_tools();
    let dir = tempfile::tempdir().expect("tmp");
    let rec_dir = tempfile::tempdir().expect("tmp");
    let index_dir = tempfile::tempdir().expect("tmp");
    let store = common::seeded_store(dir.path()).await;
    let org = demo::DEMO_ORG;
    let now_ms =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis())
            .expect("ms");
    let at = Timestamp::from_unix_ms(now_ms - 3_600_000);
    let id = ContactId::from_u128(0xf1_0001);
    let agent = common::demo_agent("1001").id;
    let mut c = Contact::arrived(id, org, Channel::Voice, Direction::Inbound, "+8613800000001", "4000", at);
    c.agent = Some(agent);
    c.status = ContactStatus::Ended;
    store.insert_contact(&c).await.expect("contact");
    let rec_id = RecordingId::from_u128(0xf2_0001);
    place_recording(&store, rec_dir.path(), "2026/11/27/search.wav", &call_wav(12), rec_id, id, at).await;
    let index = Arc::new(
        search::SearchIndex::open_or_create_in_dir(index_dir.path(), search::IndexConfig::default()).expect("index"),
    );
    let doc = search::SearchDocument {
        org,
        contact: id,
        kind: search::DocumentKind::TranscriptSegment,
        ordinal: 0,
        agent: Some(agent),
        queue: None,
        customer: None,
        channel: Channel::Voice,
        at,
        disposition: None,
        csat: None,
        recording_offset_ms: Some(REFUND_OFFSET_MS),
        speaker: Some(search::Speaker::Customer),
        text: "你好，我的订单还没到，我要退款".into(),
    };
    index.index(&doc, &search::KeywordRules::standard()).expect("index doc");
    index.commit().expect("commit");

    let mut config = common::config();
    config.recordings_dir = Some(rec_dir.path().to_owned());
    let state = web::AppState::new(store.clone(), Arc::new(store.clone()), config, "test").with_search(index);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(web::serve(listener, web::router(Arc::new(state)), std::future::pending()));

    run_scenario("search.mjs", &base, &[&REFUND_OFFSET_MS.to_string()], SCENARIO_LIMIT).await;
    assert_screenshot("search-hit.png");
}
