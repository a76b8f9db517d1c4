//! The recordings library over real HTTP: the filtered list (agents see only their own), the
//! waveform peaks of a generated stereo WAV (a tone only on the right channel), the same file
//! sealed with a key, and the audited legal-hold toggle.

mod common;

use common::{T0, TestServer, problem};
use reqwest::Method;
use serde_json::{Value, json};

/// 1 s of 8 kHz 16-bit stereo: silence on the left, a 440 Hz tone at half scale on the right.
fn tone_on_the_right() -> Vec<u8> {
    common::browser::stereo_wav(8000, |i| {
        (0, (16384.0 * (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 8000.0).sin()) as i16)
    })
}

async fn server(keys: Option<recordings::Keyring>) -> (TestServer, common::Activity, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("2026/11/27/a.wav");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
    std::fs::write(&file, tone_on_the_right()).expect("write");
    let mut config = common::config();
    config.recordings_dir = Some(dir.path().to_owned());
    if let Some(k) = keys {
        config.recording_keys = std::sync::Arc::new(k);
    }
    let s = common::start_with(config).await;
    let a = common::seed_activity(&s.store).await;
    (s, a, dir)
}

fn assert_tone_only_on_the_right(peaks: &Value, buckets: usize) {
    assert_eq!(peaks["channels"], 2);
    assert_eq!(peaks["buckets"], buckets);
    assert_eq!(peaks["duration_ms"], 1000);
    for side in ["min", "max"] {
        let left = peaks["left"][side].as_array().expect("left");
        assert_eq!(left.len(), buckets);
        assert!(left.iter().all(|v| v.as_f64() == Some(0.0)), "left {side} is silent: {left:?}");
    }
    let max = peaks["right"]["max"].as_array().expect("right max");
    let min = peaks["right"]["min"].as_array().expect("right min");
    assert!(max.iter().all(|v| v.as_f64().expect("f") > 0.45), "{max:?}");
    assert!(min.iter().all(|v| v.as_f64().expect("f") < -0.45), "{min:?}");
    assert!(max.iter().all(|v| v.as_f64().expect("f") <= 0.5));
}

#[tokio::test]
async fn peaks_show_a_right_channel_tone_and_a_silent_left() {
    let (s, a, _dir) = server(None).await;
    let owner = s.agent("1001").await;
    let path = format!("/api/recordings/{}/peaks?buckets=50", a.recording_1001);
    let peaks = common::json(s.as_browser(&owner, Method::GET, &path).send().await.expect("peaks")).await;
    assert_tone_only_on_the_right(&peaks, 50);
    let other = s.agent("1002").await;
    let (status, _) = problem(s.as_browser(&other, Method::GET, &path).send().await.expect("peaks")).await;
    assert_eq!(status, 404, "another agent does not learn it exists");
    for bad in ["0", "4001", "x"] {
        let p = format!("/api/recordings/{}/peaks?buckets={bad}", a.recording_1001);
        let (status, _) = problem(s.as_browser(&owner, Method::GET, &p).send().await.expect("peaks")).await;
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn peaks_of_a_sealed_recording_are_drawn_through_its_key() {
    let key = recordings::RecordingKey::new("k1", [7; 32]).expect("key");
    let keyring = recordings::Keyring::new(vec![key.clone()], "k1").expect("keyring");
    let (s, a, dir) = server(Some(keyring)).await;
    let file = dir.path().join("2026/11/27/a.wav");
    recordings::encrypt_in_place(&file, &key, recordings::NoncePrefix([1; 19])).expect("seal");
    assert!(recordings::is_encrypted(&file).expect("read"));
    let sup = s.supervisor().await;
    let path = format!("/api/recordings/{}/peaks?buckets=20", a.recording_1001);
    let peaks = common::json(s.as_browser(&sup, Method::GET, &path).send().await.expect("peaks")).await;
    assert_tone_only_on_the_right(&peaks, 20);
}

fn ids(body: &Value) -> Vec<String> {
    body["items"].as_array().expect("items").iter().map(|i| i["id"].as_str().expect("id").to_owned()).collect()
}

#[tokio::test]
async fn the_list_filters_and_an_agent_sees_only_their_own() {
    let (s, a, _dir) = server(None).await;
    let sup = s.supervisor().await;
    let range = format!("from_ms={}&to_ms={}", T0.unix_ms() - 1000, T0.unix_ms() + 60_000);
    let get =
        |who: &common::Browser, q: &str| s.as_browser(who, Method::GET, &format!("/api/recordings?{range}{q}")).send();
    let rec = a.recording_1001.to_string();
    let all = common::json(get(&sup, "").await.expect("list")).await;
    assert_eq!(ids(&all), vec![rec.clone()]);
    assert_eq!(all["items"][0]["audio_url"], format!("/api/recordings/{rec}/audio"));
    let agent_1001 = common::demo_agent("1001").id;
    let customer = demo::customer_id(1);
    for (q, expected) in [
        (format!("&agent={agent_1001}"), 1),
        (format!("&agent={}", common::demo_agent("1002").id), 0),
        (format!("&customer={customer}"), 1),
        (format!("&customer={}", demo::customer_id(2)), 0),
        ("&min_duration_s=60&max_duration_s=60".to_owned(), 1),
        ("&min_duration_s=61".to_owned(), 0),
        ("&legal_hold=true".to_owned(), 0),
        ("&legal_hold=false".to_owned(), 1),
        ("&csat_min=4".to_owned(), 0),
        ("&disposition=resolved".to_owned(), 0),
        (format!("&queue={}", demo::queue_id("general")), 0),
    ] {
        let body = common::json(get(&sup, &q).await.expect("list")).await;
        assert_eq!(ids(&body).len(), expected, "{q}");
    }
    let own = common::json(get(&s.agent("1001").await, "").await.expect("list")).await;
    assert_eq!(ids(&own), vec![rec]);
    let other = common::json(get(&s.agent("1002").await, "").await.expect("list")).await;
    assert!(ids(&other).is_empty());
    let (status, _) = problem(get(&sup, "&csat_min=5&csat_max=2").await.expect("bad")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn supervisors_toggle_the_legal_hold_and_it_is_audited() {
    let (s, a, _dir) = server(None).await;
    let sup = s.supervisor().await;
    let hold = format!("/api/recordings/{}/hold", a.recording_1001);
    let resp = s.as_browser(&sup, Method::PUT, &hold).json(&json!({"reason": "投诉 case 42"})).send().await;
    let body = common::json(resp.expect("hold")).await;
    assert_eq!(body["legal_hold"], true);
    assert_eq!(body["held_by"], "supervisor");
    let stored = s.store.get_recording(demo::DEMO_ORG, a.recording_1001).await.expect("get").expect("rec");
    assert!(stored.legal_hold);
    let range = format!("from_ms={}&to_ms={}", T0.unix_ms() - 1000, T0.unix_ms() + 60_000);
    let held = common::json(
        s.as_browser(&sup, Method::GET, &format!("/api/recordings?{range}&legal_hold=true"))
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(ids(&held).len(), 1);

    let agent = s.agent("1001").await;
    let (status, _) = problem(s.as_browser(&agent, Method::DELETE, &hold).send().await.expect("agent release")).await;
    assert_eq!(status, 403);
    let (status, _) =
        problem(s.as_browser(&sup, Method::PUT, &hold).json(&json!({"reason": " "})).send().await.expect("no reason"))
            .await;
    assert_eq!(status, 422);
    let released = common::json(s.as_browser(&sup, Method::DELETE, &hold).send().await.expect("release")).await;
    assert_eq!(released["released"], true);
    let stored = s.store.get_recording(demo::DEMO_ORG, a.recording_1001).await.expect("get").expect("rec");
    assert!(!stored.legal_hold);

    let admin = s.admin().await;
    let audit = common::json(s.as_browser(&admin, Method::GET, "/api/audit").send().await.expect("audit")).await;
    let actions: Vec<(String, String, u64)> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or("").to_owned(),
                e["action"].as_str().unwrap_or("").to_owned(),
                e["status"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(actions.contains(&("supervisor".into(), "place_legal_hold".into(), 200)), "{actions:?}");
    assert!(actions.contains(&("supervisor".into(), "release_legal_hold".into(), 200)), "{actions:?}");
}

#[tokio::test]
async fn a_sealed_recording_downloads_decrypted_whole_and_by_range() {
    let key = recordings::RecordingKey::new("k1", [7; 32]).expect("key");
    let keyring = recordings::Keyring::new(vec![key.clone()], "k1").expect("keyring");
    let (s, a, dir) = server(Some(keyring)).await;
    let file = dir.path().join("2026/11/27/a.wav");
    let clear = std::fs::read(&file).expect("read");
    recordings::encrypt_in_place(&file, &key, recordings::NoncePrefix([2; 19])).expect("seal");
    let owner = s.agent("1001").await;
    let path = format!("/api/recordings/{}/audio", a.recording_1001);
    let whole = s.as_browser(&owner, Method::GET, &path).send().await.expect("download");
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.expect("body").as_ref(), &clear[..], "the clear WAV");
    let part =
        s.as_browser(&owner, Method::GET, &path).header("range", "bytes=30000-30015").send().await.expect("range");
    assert_eq!(part.status(), 206);
    let total = clear.len();
    assert_eq!(part.headers()["content-range"], format!("bytes 30000-30015/{total}").as_str());
    assert_eq!(part.bytes().await.expect("body").as_ref(), &clear[30000..30016], "a range of the clear WAV");
    let past =
        s.as_browser(&owner, Method::GET, &path).header("range", format!("bytes={total}-")).send().await.expect("416");
    assert_eq!(past.status(), 416);
}
