//! The live REST commands over real HTTP against the real center: agent state, accept, end,
//! wrap-up with a disposition, transfers (to an expert, to a queue), supervisor force state and
//! sign-out (audited), the role-filtered live snapshot, the wallboard, and bad input.

mod common;

use std::time::Duration;

use center::LiveEvent;
use common::{Browser, LiveServer, start_live, voice_contact};
use model::{AgentId, ContactId};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::broadcast;

const EVENT_WAIT: Duration = Duration::from_secs(20);

async fn wait_for(rx: &mut broadcast::Receiver<LiveEvent>, pred: impl Fn(&LiveEvent) -> bool) -> LiveEvent {
    tokio::time::timeout(EVENT_WAIT, async {
        loop {
            match rx.recv().await {
                Ok(ev) if pred(&ev) => return ev,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("center stopped: {e}"),
            }
        }
    })
    .await
    .expect("the expected event comes")
}

fn offered_to(contact: ContactId, agent: AgentId) -> impl Fn(&LiveEvent) -> bool {
    move |e| matches!(e, LiveEvent::ContactOffered { contact: c, agent: a, .. } if *c == contact && *a == agent)
}

async fn send(s: &LiveServer, b: &Browser, method: Method, path: &str, body: Option<Value>) -> u16 {
    let mut req = s.as_browser(b, method, path);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request").status().as_u16()
}

async fn state(s: &LiveServer, b: &Browser, state: &str) {
    assert_eq!(send(s, b, Method::PUT, "/api/me/state", Some(json!({"state": state}))).await, 204);
}

async fn audit_actions(s: &LiveServer) -> Vec<(String, String)> {
    let admin = s.admin().await;
    let audit = common::json(s.as_browser(&admin, Method::GET, "/api/audit").send().await.expect("audit")).await;
    audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| (e["actor"].as_str().unwrap_or("").to_owned(), e["action"].as_str().unwrap_or("").to_owned()))
        .collect()
}

#[tokio::test]
async fn an_agent_accepts_ends_and_wraps_up_with_a_disposition() {
    let s = start_live(common::config()).await;
    let a1 = s.agent("1001").await;
    let agent = common::demo_agent("1001").id;
    let mut rx = s.center.subscribe();
    state(&s, &a1, "available").await;
    let contact = s.center.submit(voice_contact(2)).await.expect("submit");
    wait_for(&mut rx, offered_to(contact, agent)).await;
    assert_eq!(send(&s, &a1, Method::POST, &format!("/api/contacts/{contact}/accept"), None).await, 204);
    assert_eq!(send(&s, &a1, Method::POST, &format!("/api/contacts/{contact}/end"), None).await, 204);
    wait_for(&mut rx, |e| matches!(e, LiveEvent::ContactEnded { contact: c, .. } if *c == contact)).await;
    let body = json!({"disposition": "resolved", "notes": "退款已处理"});
    assert_eq!(send(&s, &a1, Method::POST, &format!("/api/contacts/{contact}/wrap-up"), Some(body)).await, 204);
    wait_for(&mut rx, |e| matches!(e, LiveEvent::WrapUpEnded { contact: c, .. } if *c == contact)).await;
    s.center.flush().await.expect("flush");
    let stored = s.store.get_contact(demo::DEMO_ORG, contact).await.expect("read").expect("stored");
    assert_eq!(stored.disposition.map(|d| d.to_string()).as_deref(), Some("resolved"));
    assert_eq!(stored.notes, "退款已处理");
}

#[tokio::test]
async fn an_agent_transfers_a_connected_contact_to_a_named_expert() {
    let s = start_live(common::config()).await;
    let (a1, a3) = (s.agent("1001").await, s.agent("1003").await);
    let (id1, id3) = (common::demo_agent("1001").id, common::demo_agent("1003").id);
    let mut rx = s.center.subscribe();
    state(&s, &a1, "available").await;
    let contact = s.center.submit(voice_contact(2)).await.expect("submit");
    wait_for(&mut rx, offered_to(contact, id1)).await;
    assert_eq!(send(&s, &a1, Method::POST, &format!("/api/contacts/{contact}/accept"), None).await, 204);
    state(&s, &a3, "available").await;
    let body = json!({"agent_id": id3.to_string()});
    assert_eq!(send(&s, &a1, Method::POST, &format!("/api/contacts/{contact}/transfer"), Some(body)).await, 204);
    wait_for(&mut rx, offered_to(contact, id3)).await;
    assert_eq!(send(&s, &a3, Method::POST, &format!("/api/contacts/{contact}/accept"), None).await, 204);
}

#[tokio::test]
async fn a_supervisor_moves_a_waiting_contact_to_another_queue_and_it_is_audited() {
    let s = start_live(common::config()).await;
    let sup = s.supervisor().await;
    let mut rx = s.center.subscribe();
    let contact = s.center.submit(voice_contact(2)).await.expect("submit");
    wait_for(&mut rx, |e| matches!(e, LiveEvent::ContactQueued { contact: c, .. } if *c == contact)).await;
    let tech = demo::queue_id("tech_support");
    let body = json!({"queue_id": tech.to_string()});
    assert_eq!(send(&s, &sup, Method::POST, &format!("/api/contacts/{contact}/transfer"), Some(body)).await, 204);
    wait_for(&mut rx, |e| matches!(e, LiveEvent::ContactTransferred { contact: c, to_queue: Some(q), .. } if *c == contact && *q == tech)).await;
    assert!(audit_actions(&s).await.contains(&("supervisor".into(), "transfer_contact".into())));
}

#[tokio::test]
async fn a_supervisor_forces_a_state_and_signs_an_agent_out_and_both_are_audited() {
    let s = start_live(common::config()).await;
    let (sup, a1) = (s.supervisor().await, s.agent("1001").await);
    let agent = common::demo_agent("1001").id;
    state(&s, &a1, "available").await;
    let body = json!({"state": "away", "reason": "meeting"});
    assert_eq!(send(&s, &sup, Method::PUT, &format!("/api/agents/{agent}/state"), Some(body)).await, 204);
    let live = common::json(s.as_browser(&a1, Method::GET, "/api/live").send().await.expect("live")).await;
    assert_eq!(live["agents"][0]["state"], "away");
    assert_eq!(live["agents"][0]["reason"], "meeting");
    assert_eq!(send(&s, &sup, Method::POST, &format!("/api/agents/{agent}/sign-out"), None).await, 204);
    let live = common::json(s.as_browser(&a1, Method::GET, "/api/live").send().await.expect("live")).await;
    assert_eq!(live["agents"][0]["state"], "offline");
    let actions = audit_actions(&s).await;
    for action in ["force_agent_state", "sign_out_agent"] {
        assert!(actions.contains(&("supervisor".into(), action.into())), "{action} audited: {actions:?}");
    }
    assert!(!actions.iter().any(|(actor, _)| actor == "1001"), "agent actions are not audited");
}

#[tokio::test]
async fn an_agents_live_view_holds_their_record_and_queues_only() {
    let s = start_live(common::config()).await;
    let a2 = s.agent("1002").await;
    let live = common::json(s.as_browser(&a2, Method::GET, "/api/live").send().await.expect("live")).await;
    let agents: Vec<&str> =
        live["agents"].as_array().expect("agents").iter().filter_map(|a| a["extension"].as_str()).collect();
    assert_eq!(agents, vec!["1002"]);
    let mut queues: Vec<&str> =
        live["queues"].as_array().expect("queues").iter().filter_map(|q| q["name"].as_str()).collect();
    queues.sort_unstable();
    assert_eq!(queues, vec!["general", "tech_support"]);
    let sup = s.supervisor().await;
    let all = common::json(s.as_browser(&sup, Method::GET, "/api/live").send().await.expect("live")).await;
    assert_eq!(all["agents"].as_array().expect("agents").len(), 6);
}

#[tokio::test]
async fn the_wallboard_shows_waiting_contacts_and_every_kpi_per_queue() {
    let s = start_live(common::config()).await;
    let sup = s.supervisor().await;
    let mut rx = s.center.subscribe();
    let contact = s.center.submit(voice_contact(2)).await.expect("submit");
    wait_for(&mut rx, |e| matches!(e, LiveEvent::ContactQueued { contact: c, .. } if *c == contact)).await;
    let board = common::json(s.as_browser(&sup, Method::GET, "/api/wallboard").send().await.expect("wallboard")).await;
    let general = board["queues"].as_array().expect("queues").iter().find(|q| q["name"] == "general").expect("general");
    assert_eq!(general["live"]["waiting"], 1);
    for kpi in ["service_level", "answer_rate", "asa_s", "aht_s", "abandon_rate", "csat"] {
        assert!(general["kpis"][kpi].is_object(), "{kpi} present");
    }
    assert_eq!(general["sl_target_percent"], 80);
    assert_eq!(board["agents"].as_array().expect("agents").len(), 6);
    let agent = s.agent("1001").await;
    let (status, _) =
        common::problem(s.as_browser(&agent, Method::GET, "/api/wallboard").send().await.expect("get")).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn bad_commands_are_refused_with_the_documented_problems() {
    let s = start_live(common::config()).await;
    let a1 = s.agent("1001").await;
    let cases = [
        (Method::PUT, "/api/me/state".to_owned(), json!({"state": "dancing"}), 422),
        (Method::PUT, "/api/me/state".to_owned(), json!({"state": "away", "reason": "no spaces!"}), 422),
        (Method::POST, format!("/api/contacts/{}/wrap-up", ContactId::from_u128(5)), json!({"disposition": "?"}), 422),
        (Method::POST, "/api/contacts/not-an-id/accept".to_owned(), json!({}), 404),
    ];
    for (method, path, body, expected) in cases {
        let resp = s.as_browser(&a1, method.clone(), &path).json(&body).send().await.expect("send");
        let (status, _) = common::problem(resp).await;
        assert_eq!(status, expected, "{method} {path} {body}");
    }
    let sup = s.supervisor().await;
    let both = json!({"queue_id": demo::queue_id("general").to_string(), "agent_id": common::demo_agent("1002").id.to_string()});
    let resp = s
        .as_browser(&sup, Method::POST, &format!("/api/contacts/{}/transfer", ContactId::from_u128(5)))
        .json(&both)
        .send()
        .await
        .expect("send");
    assert_eq!(common::problem(resp).await.0, 422);
}
