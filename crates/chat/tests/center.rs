//! Chats routed through the live contact center (the `center` crate around the ACD) on a real
//! SQLite store seeded with the Demo Shop: the chat becomes a `Channel::Chat` contact, is offered
//! to the available agent, joins that agent when the desktop accepts, and ends the contact when
//! the customer leaves; a chat nobody is there for becomes a message left for later.

mod support;

use std::sync::Arc;
use std::time::Duration;

use center::{Center, CenterConfig, CenterHandle, LiveEvent, Presence};
use chat::{Author, ChatEvent, ClientFrame, ConversationId, ServerFrame};
use model::{AgentId, Channel, ContactOutcome, ContactStatus, Timestamp};
use store::{ConnectOptions, Store};
use tokio::sync::broadcast;
use web::chat_ws::{CHAT_ENTRY_POINT, ChatSettings, route_through};

const EVENT_WAIT: Duration = Duration::from_secs(20);

struct Rig {
    store: Store,
    center: CenterHandle,
    live: broadcast::Receiver<LiveEvent>,
    _dir: tempfile::TempDir,
}

async fn center_on_demo_store() -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/hotline.db", dir.path().display());
    let opts = ConnectOptions { max_connections: 4, connect_timeout_ms: 10_000 };
    let store = Store::connect(&url, &opts).await.expect("sqlite");
    store.migrate().await.expect("migrate");
    let d = demo::dataset(Timestamp::from_unix_ms(1_780_000_000_000));
    store.insert_org(&d.org).await.expect("org");
    for s in &d.skills {
        store.insert_skill(s).await.expect("skill");
    }
    for q in &d.queues {
        store.insert_queue(q).await.expect("queue");
    }
    for u in &d.users {
        let user = model::User { password_hash: "not-a-real-hash".into(), ..u.user.clone() };
        store.insert_user(&user).await.expect("user");
    }
    for a in &d.agents {
        store.insert_agent(a).await.expect("agent");
    }
    let (center, _task) = Center::start(
        store.clone(),
        demo::DEMO_ORG,
        &center::demo_routes(),
        CenterConfig::default(),
        Arc::new(center::SystemClock),
    )
    .await
    .expect("center starts");
    let live = center.subscribe();
    Rig { store, center, live, _dir: dir }
}

fn demo_agent(ext: &str) -> AgentId {
    let d = demo::dataset(Timestamp::from_unix_ms(1_780_000_000_000));
    d.agents.iter().find(|a| a.extension.as_str() == ext).map(|a| a.id).expect("demo agent")
}

async fn next_live(live: &mut broadcast::Receiver<LiveEvent>, pred: impl Fn(&LiveEvent) -> bool) -> LiveEvent {
    loop {
        let event = tokio::time::timeout(EVENT_WAIT, live.recv()).await.expect("a center event in time").expect("open");
        if pred(&event) {
            return event;
        }
    }
}

fn system_text(f: &ServerFrame, needle: &str) -> bool {
    matches!(f, ServerFrame::Msg { from: Author::System, text, .. } if text.contains(needle))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_is_offered_as_a_chat_contact_joined_on_accept_and_ended_through_the_center() {
    let mut rig = center_on_demo_store().await;
    let agent = demo_agent("1001");
    rig.center.set_agent_state(agent, Presence::Available).await.expect("available");
    let server = support::start(ChatSettings::default()).await;
    route_through(&server.hub, rig.center.clone(), CHAT_ENTRY_POINT);

    let mut customer = support::connect(server.addr).await;
    let (conversation_id, _) = customer.start_conversation().await;
    customer.until(|f| system_text(f, "转接")).await;

    let offered =
        next_live(&mut rig.live, |e| matches!(e, LiveEvent::ContactOffered { channel: Channel::Chat, .. })).await;
    let LiveEvent::ContactOffered { contact, agent: offered_to, .. } = offered else { unreachable!() };
    assert_eq!(offered_to, agent);
    rig.center.accept(agent, contact).await.expect("the desktop accepts");
    customer.until(|f| system_text(f, "客服已接入")).await;

    let id = ConversationId::parse(&conversation_id).expect("hex id");
    server.hub.agent_send(&id, agent, "a1", "您好,请问有什么可以帮您?").expect("the agent writes");
    customer.until(|f| matches!(f, ServerFrame::Msg { from: Author::Agent, .. })).await;

    customer.send(&ClientFrame::Leave).await;
    let ended =
        next_live(&mut rig.live, |e| matches!(e, LiveEvent::ContactEnded { contact: c, .. } if *c == contact)).await;
    assert!(matches!(ended, LiveEvent::ContactEnded { outcome: ContactOutcome::Answered, .. }), "{ended:?}");
    rig.center.flush().await.expect("flushed");
    let stored = rig.store.get_contact(demo::DEMO_ORG, contact).await.expect("read").expect("the contact row");
    assert_eq!((stored.channel, stored.status, stored.agent), (Channel::Chat, ContactStatus::Ended, Some(agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_the_center_cannot_route_becomes_a_message_left_for_later() {
    let rig = center_on_demo_store().await;
    // Nobody is available; the queue's wait limit is the core's, shortened here.
    let limits = chat::ChatLimits { max_queue_wait_ms: 1, ..chat::ChatLimits::default() };
    let server = support::start(ChatSettings { limits, max_timer_sleep_ms: 50, ..ChatSettings::default() }).await;
    let mut events = server.hub.subscribe();
    route_through(&server.hub, rig.center.clone(), CHAT_ENTRY_POINT);

    let mut customer = support::connect(server.addr).await;
    customer.start_conversation().await;
    customer.until(|f| system_text(f, "请留言")).await;
    customer.send(&support::msg("m1", "请明天给我回电话")).await;
    customer.until(|f| matches!(f, ServerFrame::Ack { .. })).await;
    customer.send(&ClientFrame::Leave).await;
    loop {
        let event = tokio::time::timeout(EVENT_WAIT, events.recv()).await.expect("in time").expect("open");
        if let ChatEvent::LeaveMessage(left) = event {
            assert!(left.transcript.iter().any(|e| e.text == "请明天给我回电话"));
            assert_eq!(left.prechat.email.map(|e| e.as_str().to_owned()).as_deref(), Some("xiaoming@example.com"));
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_chat_is_stored_with_its_contact_agent_and_the_customers_csat() {
    let mut rig = center_on_demo_store().await;
    let agent = demo_agent("1002");
    rig.center.set_agent_state(agent, Presence::Available).await.expect("available");
    let server = support::start_with_store(ChatSettings::default(), rig.store.clone(), demo::DEMO_ORG).await;
    route_through(&server.hub, rig.center.clone(), CHAT_ENTRY_POINT);

    let mut customer = support::connect(server.addr).await;
    let (conversation_id, _) = customer.start_conversation().await;
    let offered =
        next_live(&mut rig.live, |e| matches!(e, LiveEvent::ContactOffered { channel: Channel::Chat, .. })).await;
    let LiveEvent::ContactOffered { contact, .. } = offered else { unreachable!() };
    rig.center.accept(agent, contact).await.expect("the desktop accepts");
    customer.until(|f| system_text(f, "客服已接入")).await;
    customer.send(&ClientFrame::Leave).await;
    customer.until(|f| matches!(f, ServerFrame::Ended)).await;
    customer.send(&ClientFrame::Rate { score: 5, comment: None }).await;

    let deadline = tokio::time::Instant::now() + EVENT_WAIT;
    let responses = loop {
        server.hub.flush_store().await;
        let found = rig
            .store
            .list_survey_responses_by_contact(demo::DEMO_ORG, contact, &store::Page::first(10))
            .await
            .expect("read")
            .items;
        if !found.is_empty() || tokio::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let scores: Vec<(model::SurveyKind, u8)> = responses.iter().map(|r| (r.kind, r.score)).collect();
    assert_eq!(scores, vec![(model::SurveyKind::Csat, 5)], "one CSAT answer on the chat's contact");
    let row = rig.store.find_chat_conversation_by_contact(demo::DEMO_ORG, contact).await.expect("read").expect("row");
    assert_eq!((row.id.as_str(), row.agent, row.rating), (conversation_id.as_str(), Some(agent), Some(5)));
    let transcript = rig.store.list_chat_messages(demo::DEMO_ORG, &conversation_id, 0, 100).await.expect("messages");
    assert!(transcript.iter().any(|m| m.text.contains("客服已接入")), "the transcript is stored");
}
