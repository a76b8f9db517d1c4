//! Quality assurance over real HTTP on a real SQLite store: scorecards (validated, staff only),
//! a seeded sample that includes the flagged contact and repeats with its seed, an evaluation
//! scored with weights, N/A and auto-fail, the workflow publish → dispute → resolve → acknowledge
//! with the access rules (an agent sees only their own published evaluations), the audit entries
//! of the supervisor's actions, a calibration session's spread and the weekly report.

mod common;

use common::{Browser, T0, TestServer, problem};
use model::ContactId;
use reqwest::Method;
use serde_json::{Value, json};

fn card() -> Value {
    json!({
        "name": "服务质量",
        "sections": [
            {"title": "开场", "questions": [
                {"key": "greeting", "text": "规范问候", "weight": 10},
                {"key": "verified", "text": "核实身份", "weight": 20, "auto_fail": true},
            ]},
            {"title": "解决", "questions": [
                {"key": "resolved", "text": "问题解决", "weight": 50, "max_points": 5},
                {"key": "empathy", "text": "同理心", "weight": 20, "max_points": 5, "allow_na": true},
            ]},
        ],
    })
}

async fn send(s: &TestServer, who: &Browser, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = s.as_browser(who, method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn ok(s: &TestServer, who: &Browser, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, v) = send(s, who, method.clone(), path, body).await;
    assert!((200..300).contains(&status), "{method} {path}: {status} {v}");
    v
}

async fn scorecard(s: &TestServer, sup: &Browser) -> String {
    ok(s, sup, Method::POST, "/api/qa/scorecards", Some(card())).await["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn scorecards_are_validated_and_edited_only_by_staff() {
    let s = common::start().await;
    let sup = s.supervisor().await;
    let agent = s.agent("1001").await;
    let mut bad = card();
    bad["sections"][0]["questions"][1]["key"] = json!("greeting");
    let (status, p) = send(&s, &sup, Method::POST, "/api/qa/scorecards", Some(bad)).await;
    assert_eq!(status, 422, "{p}");
    assert!(p["detail"].as_str().expect("detail").contains("greeting"), "{p}");
    let id = scorecard(&s, &sup).await;
    let (status, _) = send(&s, &agent, Method::POST, "/api/qa/scorecards", Some(card())).await;
    assert_eq!(status, 403);
    let listed = ok(&s, &agent, Method::GET, "/api/qa/scorecards", None).await;
    assert_eq!(listed["items"][0]["sections"][1]["questions"][0]["max_points"], 5, "agents read cards");
    ok(&s, &sup, Method::DELETE, &format!("/api/qa/scorecards/{id}"), None).await;
    assert_eq!(ok(&s, &sup, Method::GET, "/api/qa/scorecards", None).await["items"], json!([]), "archived hidden");
}

/// Ten ended contacts per agent 1001 and 1002 in the week after T0; the fourth of 1002's has a
/// recording whose transcript a keyword rule flagged.
async fn seed_week(s: &TestServer) -> ContactId {
    use model::*;
    let org = demo::DEMO_ORG;
    let mut flagged = None;
    for (k, ext) in [(0u128, "1001"), (1, "1002")] {
        for n in 0..10u128 {
            let id = ContactId::from_u128(0xd0_0000 + k * 100 + n);
            let mut c = Contact::arrived(
                id,
                org,
                Channel::Voice,
                Direction::Inbound,
                "+8613800000001",
                "4000",
                T0.plus(DurationMs::from_secs(3_600 + n as u64 * 60)),
            );
            c.agent = Some(common::demo_agent(ext).id);
            c.status = ContactStatus::Ended;
            c.ended_at = Some(c.arrived_at.plus(DurationMs::from_secs(30)));
            if k == 1 && n == 3 {
                c.recording = Some(RecordingId::from_u128(0xd1_0001));
                flagged = Some(id);
            }
            s.store.insert_contact(&c).await.expect("contact");
        }
    }
    let job = store::TranscriptionJob {
        org,
        recording: RecordingId::from_u128(0xd1_0001),
        contact: flagged.expect("flagged"),
        status: store::TranscriptionStatus::Done,
        attempts: 1,
        progress_pct: 100,
        failure_reason: None,
        rule_flags: vec!["complaint".into()],
        created_at: T0,
        updated_at: T0,
        next_attempt_at: T0,
    };
    s.store.insert_transcription_job(&job).await.expect("job");
    flagged.expect("flagged")
}

#[tokio::test]
async fn a_sample_is_fair_includes_flagged_contacts_and_repeats_with_its_seed() {
    let s = common::start().await;
    let flagged = seed_week(&s).await;
    let sup = s.supervisor().await;
    let body = json!({"from_ms": T0.unix_ms(), "to_ms": T0.unix_ms() + 7 * 86_400_000, "per_agent": 3, "seed": 42});
    let first = ok(&s, &sup, Method::POST, "/api/qa/samples", Some(body.clone())).await;
    let contacts = first["contacts"].as_array().expect("contacts");
    assert_eq!(contacts.len(), 7, "3 random per agent plus the flagged one: {first}");
    let flagged_rows: Vec<&Value> = contacts.iter().filter(|c| c["reason"] == "flagged").collect();
    assert_eq!(flagged_rows.len(), 1);
    assert_eq!(flagged_rows[0]["contact"], flagged.to_string());
    for ext in ["1001", "1002"] {
        let id = common::demo_agent(ext).id.to_string();
        let random = contacts.iter().filter(|c| c["agent"] == id.as_str() && c["reason"] == "random").count();
        assert_eq!(random, 3, "agent {ext}");
    }
    let again = ok(&s, &sup, Method::POST, "/api/qa/samples", Some(body)).await;
    assert_eq!(again["contacts"], first["contacts"], "same seed, same sample");
    assert_eq!(again["seed"], "42");
    let stored =
        ok(&s, &sup, Method::GET, &format!("/api/qa/samples/{}", first["id"].as_str().expect("id")), None).await;
    assert_eq!(stored["contacts"].as_array().expect("c").len(), 7);
    let other = json!({"from_ms": T0.unix_ms(), "to_ms": T0.unix_ms() + 7 * 86_400_000, "per_agent": 3, "seed": 43});
    let other = ok(&s, &sup, Method::POST, "/api/qa/samples", Some(other)).await;
    assert_ne!(other["contacts"], first["contacts"], "another seed draws differently");
    let agent = s.agent("1001").await;
    let (status, _) = send(&s, &agent, Method::GET, "/api/qa/samples", None).await;
    assert_eq!(status, 403);
    let (status, _) =
        send(&s, &sup, Method::POST, "/api/qa/samples", Some(json!({"from_ms": 10, "to_ms": 5, "per_agent": 1}))).await;
    assert_eq!(status, 422, "a period that ends before it starts");
}

#[tokio::test]
async fn an_agent_sees_only_their_own_published_evaluation_and_its_workflow_is_audited() {
    let s = common::start().await;
    let a = common::seed_activity(&s.store).await;
    let (sup, admin) = (s.supervisor().await, s.admin().await);
    let (agent, other) = (s.agent("1001").await, s.agent("1002").await);
    let card = scorecard(&s, &sup).await;
    let answers = json!({"greeting": "yes", "verified": "yes", "resolved": 4, "empathy": "na"});
    let body = json!({"contact": a.contact_1001.to_string(), "scorecard": card, "answers": answers, "comments": {"": "语气友好", "resolved": "退款流程解释清楚"}});
    let e = ok(&s, &sup, Method::POST, "/api/qa/evaluations", Some(body.clone())).await;
    assert_eq!(e["percent"], 87.5, "(10 + 20 + 40) / 80 with empathy N/A: {e}");
    assert_eq!(e["state"], "draft");
    let id = e["id"].as_str().expect("id").to_owned();
    let one = format!("/api/qa/evaluations/{id}");

    // A draft is invisible to the agent.
    assert_eq!(ok(&s, &agent, Method::GET, "/api/qa/evaluations", None).await["items"], json!([]));
    assert_eq!(send(&s, &agent, Method::GET, &one, None).await.0, 404);

    // Rescoring the draft with an auto-fail item answered No: 0 %, the weighted figure kept.
    let failed = json!({"answers": {"greeting": "yes", "verified": "no", "resolved": 5, "empathy": 5}});
    let e = ok(&s, &sup, Method::PUT, &one, Some(failed)).await;
    assert_eq!((e["percent"].clone(), e["weighted_percent"].clone()), (json!(0.0), json!(80.0)), "{e}");
    assert_eq!(e["auto_failed"], json!(["verified"]));
    let (status, p) = send(&s, &sup, Method::PUT, &one, Some(json!({"answers": {"greeting": "yes"}}))).await;
    assert_eq!(status, 422, "an unanswered question: {p}");
    ok(&s, &sup, Method::PUT, &one, Some(json!({"answers": answers}))).await;

    ok(&s, &sup, Method::POST, &format!("{one}/publish"), None).await;
    let mine = ok(&s, &agent, Method::GET, "/api/qa/evaluations", None).await;
    assert_eq!(mine["items"].as_array().expect("items").len(), 1);
    assert_eq!(mine["items"][0]["state"], "published");
    assert_eq!(ok(&s, &other, Method::GET, "/api/qa/evaluations", None).await["items"], json!([]), "not 1002's");
    assert_eq!(send(&s, &other, Method::GET, &one, None).await.0, 404, "existence not leaked");
    assert_eq!(send(&s, &other, Method::POST, &format!("{one}/acknowledge"), None).await.0, 404);
    let filtered = format!("/api/qa/evaluations?agent={}", common::demo_agent("1002").id);
    assert_eq!(
        ok(&s, &agent, Method::GET, &filtered, None).await["items"].as_array().expect("i").len(),
        1,
        "own only, whatever the filter"
    );

    // Dispute; the evaluator may not judge their own score, another supervisor (the admin) may.
    let reason = json!({"reason": "客户先挂断，无法核实 / the customer hung up"});
    let d = ok(&s, &agent, Method::POST, &format!("{one}/dispute"), Some(reason.clone())).await;
    assert_eq!(d["state"], "disputed");
    let (status, _) = send(&s, &agent, Method::POST, &format!("{one}/dispute"), Some(reason)).await;
    assert_eq!(status, 409, "one dispute while disputed");
    let rescore = json!({"resolution": "rescore", "note": "agreed, partly", "percent": 92.5});
    let (status, p) = send(&s, &sup, Method::POST, &format!("{one}/resolve"), Some(rescore.clone())).await;
    assert_eq!(status, 403, "the evaluator resolving their own evaluation: {p}");
    let r = ok(&s, &admin, Method::POST, &format!("{one}/resolve"), Some(rescore)).await;
    assert_eq!((r["state"].clone(), r["percent"].clone()), (json!("published"), json!(92.5)));
    assert_eq!(r["disputes"][0]["resolution"], "rescore");
    let acked = ok(&s, &agent, Method::POST, &format!("{one}/acknowledge"), None).await;
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(send(&s, &agent, Method::POST, &format!("{one}/acknowledge"), None).await.0, 409, "already final");

    // An agent cannot score at all.
    assert_eq!(send(&s, &agent, Method::POST, "/api/qa/evaluations", Some(body)).await.0, 403);

    // The supervisor's and admin's actions are in the audit log.
    let audit = ok(&s, &admin, Method::GET, "/api/audit?limit=200", None).await;
    let actions: Vec<(String, String)> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| (e["actor"].as_str().unwrap_or("").to_owned(), e["action"].as_str().unwrap_or("").to_owned()))
        .collect();
    for (actor, action) in [
        ("supervisor", "create_scorecard"),
        ("supervisor", "create_evaluation"),
        ("supervisor", "publish_evaluation"),
        ("admin", "resolve_evaluation"),
    ] {
        assert!(actions.contains(&(actor.to_owned(), action.to_owned())), "{actor} {action} audited: {actions:?}");
    }

    // The report counts the final score in the agent's week.
    let report = ok(&s, &sup, Method::GET, "/api/qa/report", None).await;
    let row = report["agents"].as_array().expect("agents").iter().find(|r| r["extension"] == "1001").expect("1001");
    assert_eq!(row["weeks"][0]["mean_percent"], 92.5, "{report}");
    assert_eq!(report["team"][0]["evaluations"], 1);
}

#[tokio::test]
async fn an_unanswered_evaluation_is_acknowledged_automatically_when_its_window_closes() {
    let s = common::start().await;
    let a = common::seed_activity(&s.store).await;
    let sup = s.supervisor().await;
    let card = scorecard(&s, &sup).await;
    let answers = json!({"greeting": "no", "verified": "yes", "resolved": 5, "empathy": 5});
    let e = ok(
        &s,
        &sup,
        Method::POST,
        "/api/qa/evaluations",
        Some(json!({"contact": a.contact_1001.to_string(), "scorecard": card, "answers": answers})),
    )
    .await;
    let one = format!("/api/qa/evaluations/{}", e["id"].as_str().expect("id"));
    ok(&s, &sup, Method::POST, &format!("{one}/publish"), None).await;
    s.clock.advance_ms(8 * 86_400_000);
    let agent = s.agent("1001").await;
    let (status, p) = send(&s, &agent, Method::POST, &format!("{one}/dispute"), Some(json!({"reason": "late"}))).await;
    assert_eq!(status, 409, "the 7-day dispute window closed: {p}");
    s.clock.advance_ms(7 * 86_400_000);
    let agent = s.agent("1001").await;
    let e = ok(&s, &agent, Method::GET, &one, None).await;
    assert_eq!((e["state"].clone(), e["auto_acknowledged"].clone()), (json!("acknowledged"), json!(true)));
}

#[tokio::test]
async fn calibration_shows_the_spread_of_several_evaluators() {
    let s = common::start().await;
    let a = common::seed_activity(&s.store).await;
    let (sup, admin) = (s.supervisor().await, s.admin().await);
    let card = scorecard(&s, &sup).await;
    let body = json!({"contact": a.contact_1001.to_string(), "scorecard": card, "title": "第 48 周校准"});
    let c = ok(&s, &sup, Method::POST, "/api/qa/calibrations", Some(body)).await;
    let one = format!("/api/qa/calibrations/{}", c["id"].as_str().expect("id"));
    let high = json!({"answers": {"greeting": "yes", "verified": "yes", "resolved": 5, "empathy": 5}});
    let low = json!({"answers": {"greeting": "no", "verified": "yes", "resolved": 3, "empathy": 5}});
    ok(&s, &sup, Method::PUT, &format!("{one}/sheet"), Some(high)).await;
    assert_eq!(ok(&s, &sup, Method::GET, &one, None).await["spread"], Value::Null, "one sheet: no spread yet");
    let r = ok(&s, &admin, Method::PUT, &format!("{one}/sheet"), Some(low)).await;
    assert_eq!(r["percent"], 70.0);
    let v = ok(&s, &sup, Method::GET, &one, None).await;
    assert_eq!(v["sheets"].as_array().expect("sheets").len(), 2);
    // 100 and 70: mean 85, population variance 225, std dev 15.
    assert_eq!(v["spread"]["overall"]["mean"], 85.0, "{v}");
    assert_eq!(v["spread"]["overall"]["variance"], 225.0);
    assert_eq!(v["spread"]["overall"]["std_dev"], 15.0);
    let greeting = v["spread"]["questions"].as_array().expect("q").iter().find(|q| q["key"] == "greeting").expect("g");
    assert_eq!(greeting["spread"]["std_dev"], 50.0);
    let agent = s.agent("1001").await;
    assert_eq!(send(&s, &agent, Method::GET, &one, None).await.0, 403);
}

#[tokio::test]
async fn the_transcript_of_a_contact_is_served_to_who_may_see_the_contact() {
    let s = common::start().await;
    let a = common::seed_activity(&s.store).await;
    let org = demo::DEMO_ORG;
    let seg = |ordinal: u32, speaker, start_ms: u64, text: &str| store::TranscriptSegment {
        org,
        recording: a.recording_1001,
        contact: a.contact_1001,
        ordinal,
        speaker,
        start_ms,
        end_ms: start_ms + 1_500,
        text: text.into(),
    };
    let segments = [
        seg(0, store::TranscriptSpeaker::Customer, 500, "I want a refund"),
        seg(1, store::TranscriptSpeaker::Agent, 2_500, "Let me check your order"),
    ];
    s.store.replace_transcript_segments(org, a.recording_1001, &segments).await.expect("segments");
    let owner = s.agent("1001").await;
    let path = format!("/api/contacts/{}/transcript", a.contact_1001);
    let t = ok(&s, &owner, Method::GET, &path, None).await;
    assert_eq!(t["recording"], a.recording_1001.to_string());
    assert_eq!(t["segments"][0]["text"], "I want a refund");
    assert_eq!(t["segments"][1]["speaker"], "agent");
    assert_eq!(t["segments"][1]["start_ms"], 2_500);
    let other = s.agent("1002").await;
    let (status, _) = problem(s.as_browser(&other, Method::GET, &path).send().await.expect("get")).await;
    assert_eq!(status, 404);
}
