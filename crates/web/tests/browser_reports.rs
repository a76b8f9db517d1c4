//! Reports and the recordings library in Debian's Chromium (`browser/reports.mjs`, playwright-core):
//! a supervisor opens /reports, switches the period, downloads the CSV; the recordings list
//! renders with its waveform and the player loads the file. Screenshots in
//! `target/screenshots/reports*.png`.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::browser::{assert_screenshot, place_recording, run_scenario, stereo_wav};
use kpi::calendar::{UtcOffset, day_start};
use model::*;
use store::Store;

const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

/// 12 s of 8 kHz 16-bit stereo: the agent (left) and the customer (right) take turns.
fn conversation() -> Vec<u8> {
    stereo_wav(8000 * 12, |i| {
        let sec = f64::from(i) / 8000.0;
        let turn = (sec / 1.5) as usize;
        let envelope = (std::f64::consts::PI * (sec % 1.5) / 1.5).sin().powi(2) * (0.6 + 0.4 * (sec * 3.1).sin().abs());
        let voice = |f: f64| {
            (envelope
                * 14000.0
                * ((2.0 * std::f64::consts::PI * f * sec).sin() * 0.7
                    + (2.0 * std::f64::consts::PI * f * 2.3 * sec).sin() * 0.3)) as i16
        };
        if turn.is_multiple_of(2) { (voice(220.0), 0) } else { (0, voice(310.0)) }
    })
}

/// Today and yesterday (same hours) in Shanghai time, ingested through `reports`; one recording.
async fn seed(store: &Store, rec_dir: &Path) {
    let org = demo::DEMO_ORG;
    let now_ms =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis())
            .expect("ms");
    let now = Timestamp::from_unix_ms(now_ms);
    let offset = UtcOffset::from_minutes(480).expect("offset");
    let today = day_start(now, offset).unix_ms();
    let span = (now_ms - today).max(60_000);
    let settings = reports::AggregateSettings { utc_offset: offset, ..Default::default() };
    let queues = ["general", "tech_support", "premium_support"];
    let agents = ["1001", "1002", "1003", "1004"];
    let mut n = 0u128;
    let mut recorded = None;
    for day in [0i64, 1] {
        let count = if day == 0 { 60 } else { 52 };
        for i in 0..count {
            n += 1;
            let arrived = Timestamp::from_unix_ms(today - day * 86_400_000 + span * (i * 37 % count) / count);
            let id = ContactId::from_u128(0xd0_0000 + n);
            let channel = [Channel::Voice, Channel::Voice, Channel::Chat, Channel::Email][(i % 4) as usize];
            let mut c = Contact::arrived(id, org, channel, Direction::Inbound, "+8613800000001", "4000", arrived);
            c.customer = Some(demo::customer_id(1 + (i as usize % 20)));
            c.queue = Some(demo::queue_id(queues[(i % 3) as usize]));
            c.queued_at = Some(arrived);
            let wait = 3 + (i * 7 + day * 5) % 40;
            let answered = (i + day) % 9 != 0;
            let picked = arrived.plus(DurationMs::from_secs(wait as u64));
            c.status = ContactStatus::Ended;
            if answered {
                c.agent = Some(common::demo_agent(agents[(i % 4) as usize]).id);
                c.answered_at = Some(picked);
                c.ended_at = Some(picked.plus(DurationMs::from_secs(120 + (i as u64 * 13) % 200)));
                c.outcome = Some(ContactOutcome::Answered);
                c.disposition = Some(ReasonCode::parse("resolved").expect("code"));
                c.csat = Some([5, 4, 5, 3, 5][(i % 5) as usize]);
            } else {
                c.ended_at = Some(picked);
                c.outcome = Some(ContactOutcome::Abandoned);
            }
            store.insert_contact(&c).await.expect("contact");
            reports::ingest(store, org, &settings, &reports::contact_inputs(&c)).await.expect("ingest");
            if day == 0 && answered && channel == Channel::Voice && recorded.is_none() {
                recorded = Some(c);
            }
        }
    }
    let c = recorded.expect("a voice contact");
    let (rec_id, started_at) = (RecordingId::from_u128(0xa1_0001), c.answered_at.expect("answered"));
    place_recording(store, rec_dir, "2026/11/27/browser.wav", &conversation(), rec_id, c.id, started_at).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_recordings_work_in_chromium() {
    common::browser::require_tools();
    let dir = tempfile::tempdir().expect("tmp");
    let rec_dir = tempfile::tempdir().expect("tmp");
    let store = common::seeded_store(dir.path()).await;
    seed(&store, rec_dir.path()).await;
    let mut config = common::config();
    config.recordings_dir = Some(rec_dir.path().to_owned());
    let state = web::AppState::new(store.clone(), Arc::new(store.clone()), config, "test");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(web::serve(listener, web::router(Arc::new(state)), std::future::pending()));

    run_scenario("reports.mjs", &base, &[], SCENARIO_LIMIT).await;
    for name in ["reports", "reports-en", "reports-recordings"] {
        assert_screenshot(&format!("{name}.png"));
    }
}
