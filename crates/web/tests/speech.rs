//! `GET /api/contacts/{id}/speech` over real HTTP on a real SQLite store: the stored speech
//! figures of a contact's recording are served to its agent and to staff, another agent gets 404,
//! and a contact not yet analysed answers an empty list.

mod common;

use common::{TestServer, problem};
use reqwest::Method;
use serde_json::Value;

async fn get(s: &TestServer, who: &common::Browser, path: &str) -> (u16, Value) {
    let resp = s.as_browser(who, Method::GET, path).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, serde_json::from_str(&resp.text().await.expect("body")).unwrap_or(Value::Null))
}

#[tokio::test]
async fn speech_figures_of_a_contact_are_served_to_its_agent_and_staff_only() {
    let s = common::start().await;
    let a = common::seed_activity(&s.store).await;
    let row = store::ContactSpeech {
        org: demo::DEMO_ORG,
        contact: a.contact_1001,
        recording: a.recording_1001,
        duration_ms: 60_000,
        customer_talk_ms: 15_000,
        agent_talk_ms: 12_000,
        silence_ratio: 0.5833,
        longest_silence_ms: 35_000,
        overtalk_ms: 2_000,
        talk_ratio: Some(0.8),
        agent_interruptions: 0,
        flags: vec!["long_silence".into(), "too_much_silence".into()],
        analysed_at: common::T0,
    };
    s.store.put_contact_speech(&row).await.expect("speech");
    let path = format!("/api/contacts/{}/speech", a.contact_1001);
    for who in [s.agent("1001").await, s.supervisor().await] {
        let (status, body) = get(&s, &who, &path).await;
        assert_eq!(status, 200, "{body}");
        let rec = &body["recordings"][0];
        assert_eq!(rec["recording"], a.recording_1001.to_string());
        assert_eq!(rec["customer_talk_ms"], 15_000);
        assert_eq!(rec["agent_talk_ms"], 12_000);
        assert_eq!(rec["longest_silence_ms"], 35_000);
        assert_eq!(rec["overtalk_ms"], 2_000);
        assert_eq!(rec["talk_ratio"], 0.8);
        assert_eq!(rec["flags"], serde_json::json!(["long_silence", "too_much_silence"]));
    }
    let other = s.agent("1002").await;
    let (status, _) = problem(s.as_browser(&other, Method::GET, &path).send().await.expect("get")).await;
    assert_eq!(status, 404, "another agent must not learn the contact exists");
    let sup = s.supervisor().await;
    let (status, body) = get(&s, &sup, &format!("/api/contacts/{}/speech", a.contact_1002)).await;
    assert_eq!((status, body["recordings"].as_array().map(Vec::len)), (200, Some(0)));
    let (status, _) = get(&s, &sup, "/api/contacts/not-an-id/speech").await;
    assert_eq!(status, 404, "a malformed id names nothing that exists");
}
