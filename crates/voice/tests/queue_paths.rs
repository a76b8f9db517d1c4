//! What happens around the queue, end to end over SIP and RTP with sipp: an agent who does not
//! answer, a gold VIP who arrives after normal callers, and a caller who keys an unknown order
//! and a menu choice that does not exist.

mod common;

use std::time::Duration;

use center::Presence;
use common::{Rig, agent, free_port, register, sipp, sipp_for};
use model::{AgentState, ContactEventKind, ContactOutcome, ContactStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_agent_phone_times_out_and_the_next_agent_answers() {
    // One missed offer sends the agent Away ("missed"), so the center's report shows the miss.
    let mut routes = center::demo_routes();
    routes.queues.entry("general".to_owned()).or_default().missed_offers_before_away = Some(1);
    let rig = Rig::start_with_routes(25_000, routes).await;
    let (silent_port, answering_port) = (free_port(), free_port());
    register(&rig, "1001", silent_port).await;
    register(&rig, "1002", answering_port).await;
    let silent = sipp_for(120, "agent_no_answer.xml", rig.sip_addr(), silent_port, "x", &["-s", "1001"]);
    let answering = sipp_for(120, "agent_answers.xml", rig.sip_addr(), answering_port, "x", &["-s", "1002"]);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Only 1001 is available when the call queues, so 1001 rings first; 1002 signs in while it rings.
    rig.center.set_agent_state(agent("1001"), Presence::Available).await.expect("available");
    let caller = sipp_for(120, "ivr_waits_long.xml", rig.sip_addr(), free_port(), "+8613800000002", &["-s", "4000"]);
    let ringing = rig.wait_for_contact(|c| c.status == ContactStatus::Offered).await;
    assert_eq!(ringing.agent, Some(agent("1001")), "{ringing:#?}");
    rig.center.set_agent_state(agent("1002"), Presence::Available).await.expect("available");

    let (code, log) = silent.finish().await;
    assert_eq!(code, 0, "silent phone scenario: {log}");
    let (code, log) = answering.finish().await;
    assert_eq!(code, 0, "answering phone scenario: {log}");
    let (code, log) = caller.finish().await;
    assert_eq!(code, 0, "caller scenario: {log}");

    let contact = rig.wait_for_contact(|c| c.status == ContactStatus::Ended).await;
    assert_eq!(contact.outcome, Some(ContactOutcome::Answered), "{contact:#?}");
    assert_eq!(contact.agent, Some(agent("1002")));
    let events = rig.events(contact.id).await;
    let missed: Vec<_> = events.iter().filter(|e| e.kind == ContactEventKind::OfferTimedOut).collect();
    assert_eq!(missed.len(), 1, "{events:#?}");
    assert_eq!(missed[0].agent, Some(agent("1001")), "{events:#?}");
    let offered: Vec<_> = events.iter().filter(|e| e.kind == ContactEventKind::Offered).map(|e| e.agent).collect();
    assert_eq!(offered, vec![Some(agent("1001")), Some(agent("1002"))], "{events:#?}");

    let snapshot = rig.center.snapshot().await.expect("snapshot");
    let first = snapshot.agent(agent("1001")).expect("1001 in the snapshot");
    assert_eq!(first.state, AgentState::Away, "{first:#?}");
    assert_eq!(first.reason.as_ref().map(|r| r.as_str().to_owned()), Some("missed".to_owned()), "{first:#?}");
    let changes = rig
        .store
        .list_agent_state_changes(
            common::org(),
            agent("1001"),
            store::TimeRange::new(
                model::Timestamp::from_unix_ms(0),
                common::now().plus(model::DurationMs::from_ms(60_000)),
            ),
            &store::Page::first(50),
        )
        .await
        .expect("state changes")
        .items;
    assert!(
        changes.iter().any(|c| c.to == AgentState::Away && c.reason.as_ref().is_some_and(|r| r.as_str() == "missed")),
        "{changes:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gold_caller_is_offered_before_normal_callers_who_queued_first() {
    let rig = Rig::start(25_200).await;
    let phone_port = free_port();
    register(&rig, "1005", phone_port).await;
    let phone = sipp_for(90, "agent_answers_any.xml", rig.sip_addr(), phone_port, "x", &["-s", "1005"]);

    // Nobody is available: two normal callers queue, then the gold VIP.
    let normal_a = sipp("ivr_abandon_late.xml", rig.sip_addr(), free_port(), "+8613800000002", &["-s", "4000"]);
    let normal_b = sipp("ivr_abandon_late.xml", rig.sip_addr(), free_port(), "+8613800000005", &["-s", "4000"]);
    for _ in 0..100 {
        if rig.contacts().await.iter().filter(|c| c.status == ContactStatus::Queued).count() == 2 {
            break;
        }
        let _ = rig.center.flush().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let gold = sipp_for(90, "ivr_to_agent.xml", rig.sip_addr(), free_port(), "+8613800000001", &["-s", "4000"]);
    for _ in 0..100 {
        if rig.contacts().await.iter().filter(|c| c.status == ContactStatus::Queued).count() == 3 {
            break;
        }
        let _ = rig.center.flush().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let queued = rig.contacts().await;
    assert_eq!(queued.iter().filter(|c| c.status == ContactStatus::Queued).count(), 3, "{queued:#?}");

    // An agent of premium_support (and general) becomes available.
    rig.center.set_agent_state(agent("1005"), Presence::Available).await.expect("available");
    let (code, log) = phone.finish().await;
    assert_eq!(code, 0, "agent phone scenario: {log}");
    let (code, log) = gold.finish().await;
    assert_eq!(code, 0, "gold caller scenario: {log}");
    for normal in [normal_a, normal_b] {
        let (code, log) = normal.finish().await;
        assert_eq!(code, 0, "normal caller scenario: {log}");
    }

    let gold = rig.wait_for_contact(|c| c.from_address == "+8613800000001" && c.status == ContactStatus::Ended).await;
    assert_eq!(gold.outcome, Some(ContactOutcome::Answered), "{gold:#?}");
    assert_eq!(gold.agent, Some(agent("1005")));
    assert_eq!(gold.queue, Some(demo::queue_id("premium_support")));
    for number in ["+8613800000002", "+8613800000005"] {
        let normal = rig.wait_for_contact(|c| c.from_address == number && c.status == ContactStatus::Ended).await;
        assert_eq!(normal.queue, Some(demo::queue_id("general")), "{normal:#?}");
        assert!(normal.queued_at < gold.queued_at, "the normal caller queued first: {normal:#?} {gold:#?}");
        assert_eq!(normal.outcome, Some(ContactOutcome::Abandoned), "{normal:#?}");
        assert_eq!(normal.agent, None, "{normal:#?}");
        let offered = rig.events(normal.id).await.iter().filter(|e| e.kind == ContactEventKind::Offered).count();
        assert_eq!(offered, 0, "the normal caller was never offered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_menu_key_and_an_unknown_order_are_on_the_contact() {
    let rig = Rig::start(25_400).await;
    let caller =
        sipp("ivr_invalid_and_unknown_order.xml", rig.sip_addr(), free_port(), "+8613800000002", &["-s", "4000"]);
    let (code, log) = caller.finish().await;
    assert_eq!(code, 0, "caller scenario: {log}");

    let contact = rig.wait_for_contact(|c| c.status == ContactStatus::Ended).await;
    let path: Vec<&str> = contact.ivr_path.iter().map(String::as_str).collect();
    // 7 is no choice: the menu is replayed (retry, no new node), then 1 leads to the order entry.
    assert_eq!(
        path.get(..6),
        Some(&["main_menu", "order_issue", "order_entry", "order_lookup", "order_not_found", "order_entry"][..]),
        "path {path:?}"
    );
    assert!(contact.ivr_digits.starts_with("71"), "the invalid key is kept: {:?}", contact.ivr_digits);
    assert!(contact.ivr_digits.contains("999999"), "digits {:?}", contact.ivr_digits);
    assert_eq!(contact.agent, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_phone_cannot_ring_goes_away_missed_and_the_working_agent_answers() {
    // 1001 is Available but has no registered phone: every ring fails at once. Two failures in a
    // row (the queue's limit here) send it Away "missed"; it must not be offered every call again.
    let mut routes = center::demo_routes();
    routes.queues.entry("general".to_owned()).or_default().missed_offers_before_away = Some(2);
    let rig = Rig::start_with_routes(26_000, routes).await;
    let answering_port = free_port();
    register(&rig, "1002", answering_port).await;
    let answering = sipp_for(120, "agent_answers.xml", rig.sip_addr(), answering_port, "x", &["-s", "1002"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    rig.center.set_agent_state(agent("1001"), Presence::Available).await.expect("available");
    rig.center.set_agent_state(agent("1002"), Presence::Available).await.expect("available");

    // One caller talks to an agent; the other waits 20 s in the queue and leaves.
    let talker = sipp_for(120, "ivr_waits_long.xml", rig.sip_addr(), free_port(), "+8613800000002", &["-s", "4000"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiter = sipp_for(90, "ivr_abandon_late.xml", rig.sip_addr(), free_port(), "+8613800000005", &["-s", "4000"]);

    let (code, log) = answering.finish().await;
    assert_eq!(code, 0, "answering phone scenario: {log}");
    let (code, log) = talker.finish().await;
    assert_eq!(code, 0, "talking caller scenario: {log}");
    let (code, log) = waiter.finish().await;
    assert_eq!(code, 0, "waiting caller scenario: {log}");

    let talked = rig.wait_for_contact(|c| c.from_address == "+8613800000002" && c.status == ContactStatus::Ended).await;
    assert_eq!(talked.outcome, Some(ContactOutcome::Answered), "{talked:#?}");
    assert_eq!(talked.agent, Some(agent("1002")), "{talked:#?}");
    let waited = rig.wait_for_contact(|c| c.from_address == "+8613800000005" && c.status == ContactStatus::Ended).await;
    assert_eq!(waited.outcome, Some(ContactOutcome::Abandoned), "{waited:#?}");

    // 1001 was offered exactly as many calls as the limit allows, each given back as rejected.
    let mut offered_to_failing = 0;
    let mut rejected_by_failing = 0;
    for contact in [talked.id, waited.id] {
        for e in rig.events(contact).await {
            if e.agent == Some(agent("1001")) {
                offered_to_failing += usize::from(e.kind == ContactEventKind::Offered);
                rejected_by_failing += usize::from(e.kind == ContactEventKind::OfferRejected);
            }
        }
    }
    assert_eq!(offered_to_failing, 2, "offers to the agent without a phone");
    assert_eq!(rejected_by_failing, 2, "failed rings given back");
    let snapshot = rig.center.snapshot().await.expect("snapshot");
    let failing = snapshot.agent(agent("1001")).expect("1001 in the snapshot");
    assert_eq!(failing.state, AgentState::Away, "{failing:#?}");
    assert_eq!(failing.reason.as_ref().map(|r| r.as_str().to_owned()), Some("missed".to_owned()), "{failing:#?}");
}
