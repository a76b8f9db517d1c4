//! Speech analytics catch-up through the real binary: a contact that ended with a recording
//! while the binary was stopped before analysing it (no `contact_speech` row) is analysed when
//! `hotline demo` starts again, and its figures are served at `GET /api/contacts/{id}/speech`.

#[path = "common/server.rs"]
#[allow(dead_code)]
mod server;
#[path = "common/session.rs"]
#[allow(dead_code)] // each test binary uses part of it
mod session;

use model::{Channel, Contact, ContactId, Direction, DurationMs, Recording, RecordingId, Timestamp};
use server::{Server, demo_agent, eventually, now_ms, store_at};
use session::Session;

const RATE_HZ: u32 = 8_000;

/// 10 s of stereo: the customer (left) talks 0–4 s, the agent (right) 5–8 s, a 440 Hz tone.
fn call_wav() -> Vec<u8> {
    let n = RATE_HZ as usize * 10;
    let tone = |i: usize, from_s: usize, to_s: usize| -> i16 {
        if i >= from_s * RATE_HZ as usize && i < to_s * RATE_HZ as usize {
            let t = i as f64 / f64::from(RATE_HZ);
            ((2.0 * std::f64::consts::PI * 440.0 * t).sin() * 3_000.0) as i16
        } else {
            0
        }
    };
    let interleaved: Vec<i16> = (0..n).flat_map(|i| [tone(i, 0, 4), tone(i, 5, 8)]).collect();
    analytics::speech::encode_stereo_wav(RATE_HZ, &interleaved)
}

#[test]
fn an_ended_contacts_recording_left_unanalysed_by_a_stopped_binary_is_analysed_at_the_next_start() {
    let tmp = tempfile::tempdir().expect("tmp");
    Server::start(tmp.path(), None).stop();

    // What a run that stopped between the end of the call and the analysis left behind.
    let (rt, s) = store_at(tmp.path());
    let org = demo::DEMO_ORG;
    let contact = ContactId::from_u128(0x5bee_c000);
    let started = now_ms() - 120_000;
    let mut c = Contact::arrived(
        contact,
        org,
        Channel::Voice,
        Direction::Inbound,
        "+8613800000007",
        "4000",
        Timestamp::from_unix_ms(started),
    );
    c.agent = Some(demo_agent("1001"));
    c.ended_at = Some(Timestamp::from_unix_ms(started + 10_000));
    rt.block_on(s.insert_contact(&c)).expect("contact");
    let rec = Recording {
        id: RecordingId::from_u128(0x5bee_0001),
        org,
        contact,
        path: "2026/03/unanalysed.wav".into(),
        started_at: Timestamp::from_unix_ms(started),
        duration: DurationMs::from_secs(10),
        size_bytes: 0,
        sha256: String::new(),
        channels: 2,
        sample_rate_hz: RATE_HZ,
        legal_hold: false,
        deleted_at: None,
    };
    std::fs::create_dir_all(tmp.path().join("state/recordings/2026/03")).expect("dirs");
    std::fs::write(tmp.path().join("state/recordings").join(&rec.path), call_wav()).expect("wav");
    rt.block_on(s.insert_recording(&rec)).expect("recording");
    assert!(rt.block_on(s.list_contact_speech(org, contact, 10)).expect("speech").is_empty(), "nothing analysed yet");
    rt.block_on(s.close());

    let server = Server::start(tmp.path(), None);
    let supervisor = Session::login(&server.base, "supervisor", "demosuper");
    let figures = eventually(30, "the recording analysed at start", || {
        let v = supervisor.ok("GET", &format!("/api/contacts/{contact}/speech"), None);
        v["recordings"].as_array().and_then(|r| r.first().cloned())
    });
    assert_eq!(figures["recording"], rec.id.to_string().as_str());
    assert_eq!(figures["duration_ms"], 10_000, "the whole recording was read: {figures}");
    assert!(figures["customer_talk_ms"].as_u64().is_some_and(|ms| ms > 0), "{figures}");
    server.stop();
}
