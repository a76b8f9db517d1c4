//! Recording downloads over real HTTP: Range requests (206, 416, whole file), permission checks
//! (an agent hears only their own contacts; staff the org's) and the audit entry of each download.

mod common;

use common::{TestServer, problem};
use reqwest::Method;

/// The recording file's bytes: 1000 bytes, each its index mod 251 (so any slice is recognisable).
fn audio() -> Vec<u8> {
    (0..1000u32).map(|i| (i % 251) as u8).collect()
}

async fn server_with_recording() -> (TestServer, common::Activity, tempfile::TempDir) {
    let rec_dir = tempfile::tempdir().expect("tmp");
    let file = rec_dir.path().join("2026/11/27/a.wav");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
    std::fs::write(&file, audio()).expect("write");
    let mut config = common::config();
    config.recordings_dir = Some(rec_dir.path().to_owned());
    let s = common::start_with(config).await;
    let a = common::seed_activity(&s.store).await;
    (s, a, rec_dir)
}

#[tokio::test]
async fn the_owner_downloads_the_whole_file_or_a_range() {
    let (s, a, _dir) = server_with_recording().await;
    let agent = s.agent("1001").await;
    let path = format!("/api/recordings/{}/audio", a.recording_1001);
    let whole = s.as_browser(&agent, Method::GET, &path).send().await.expect("get");
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.headers()["content-type"], "audio/wav");
    assert_eq!(whole.bytes().await.expect("body").to_vec(), audio());

    let part = s.as_browser(&agent, Method::GET, &path).header("range", "bytes=100-199").send().await.expect("get");
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 100-199/1000");
    assert_eq!(part.bytes().await.expect("body").to_vec(), audio()[100..200].to_vec());

    let tail = s.as_browser(&agent, Method::GET, &path).header("range", "bytes=-10").send().await.expect("get");
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.headers()["content-range"], "bytes 990-999/1000");
    assert_eq!(tail.bytes().await.expect("body").len(), 10);
}

#[tokio::test]
async fn a_range_past_the_end_is_416_with_the_size() {
    let (s, a, _dir) = server_with_recording().await;
    let sup = s.supervisor().await;
    let path = format!("/api/recordings/{}/audio", a.recording_1001);
    let resp = s.as_browser(&sup, Method::GET, &path).header("range", "bytes=1000-").send().await.expect("get");
    assert_eq!(resp.headers()["content-range"], "bytes */1000");
    let (status, body) = problem(resp).await;
    assert_eq!(status, 416);
    assert_eq!(body["type"], common::problem_type("range-not-satisfiable"));
}

#[tokio::test]
async fn another_agent_gets_404_and_staff_get_the_file() {
    let (s, a, _dir) = server_with_recording().await;
    let path = format!("/api/recordings/{}/audio", a.recording_1001);
    let other = s.agent("1002").await;
    let (status, _) = problem(s.as_browser(&other, Method::GET, &path).send().await.expect("get")).await;
    assert_eq!(status, 404);
    for who in [s.supervisor().await, s.admin().await] {
        let resp = s.as_browser(&who, Method::GET, &path).send().await.expect("get");
        assert_eq!(resp.status(), 200);
    }
}

#[tokio::test]
async fn every_download_is_audited_with_its_outcome() {
    let (s, a, _dir) = server_with_recording().await;
    let path = format!("/api/recordings/{}/audio", a.recording_1001);
    let (owner, other) = (s.agent("1001").await, s.agent("1002").await);
    assert_eq!(s.as_browser(&owner, Method::GET, &path).send().await.expect("get").status(), 200);
    assert_eq!(s.as_browser(&other, Method::GET, &path).send().await.expect("get").status(), 404);
    let admin = s.admin().await;
    let audit = common::json(s.as_browser(&admin, Method::GET, "/api/audit").send().await.expect("audit")).await;
    let downloads: Vec<(String, u64)> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "download_recording")
        .map(|e| (e["actor"].as_str().unwrap_or("").to_owned(), e["status"].as_u64().unwrap_or(0)))
        .collect();
    assert!(downloads.contains(&("1001".to_owned(), 200)), "{downloads:?}");
    assert!(downloads.contains(&("1002".to_owned(), 404)), "{downloads:?}");
}

#[tokio::test]
async fn without_a_recordings_directory_downloads_are_404() {
    let s = common::start().await;
    let a = common::seed_activity(&s.store).await;
    let sup = s.supervisor().await;
    let path = format!("/api/recordings/{}/audio", a.recording_1001);
    let (status, _) = problem(s.as_browser(&sup, Method::GET, &path).send().await.expect("get")).await;
    assert_eq!(status, 404);
}
