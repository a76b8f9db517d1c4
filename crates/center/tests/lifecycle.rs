//! A contact's life through the center against a real store (SQLite and PostgreSQL), in paused
//! tokio time: queued, offered, answered, ended, wrapped up; ring timeouts; abandon; channels
//! with per-channel capacity; supervisor force; transfers. Each test checks the live events in
//! order and the rows the store ends up with.

mod common;

use center::{CenterError, Disposition, LiveEvent, NewContact, OfferEndReason, Presence};
use common::*;
use model::{
    AgentState, Channel, ContactEventKind as K, ContactOutcome, ContactStatus, ReasonCode, Timestamp, VipTier,
};
use store::{Page, TimeRange};

fn voice(from: &str) -> NewContact {
    NewContact::new(Channel::Voice, "hotline", from)
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0 + secs * 1000)
}

fn code(text: &str) -> ReasonCode {
    ReasonCode::parse(text).expect("reason code")
}

center_suite! {
    contact_is_queued_offered_answered_ended_and_wrapped_up_with_every_row_stored,
    ring_timeout_offers_the_next_agent_and_records_the_miss,
    three_missed_offers_put_the_agent_away_with_reason_missed,
    customer_leaving_while_queued_is_abandoned_with_the_wait,
    wrap_up_timer_makes_the_agent_available_again,
    voice_call_blocks_chat_until_its_wrap_up_ends,
    supervisor_force_withdraws_the_ringing_offer_and_records_who,
    transfer_to_queue_keeps_the_history_and_first_queued_time,
    gold_customer_from_the_store_is_routed_to_premium_support,
    technical_contact_overflows_to_general_after_two_minutes,
    transfer_to_a_named_agent_offers_it_to_them_alone,
}

async fn contact_is_queued_offered_answered_ended_and_wrapped_up_with_every_row_stored(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    let a1001 = agent(1001);
    rig.available(1001).await;
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    rig.wait(3).await;
    rig.center.accept(a1001, id).await.expect("accept");
    rig.wait(60).await;
    rig.center.end(id, ContactOutcome::Answered).await.expect("end");
    rig.wait(10).await;
    let disposition = Disposition { code: code("order_status"), notes: "包裹已发货 shipped".into() };
    rig.center.wrap_up_done(a1001, id, disposition).await.expect("wrap-up done");

    let events = rig.drain();
    assert_eq!(
        kinds(&events),
        [
            "agent_state",
            "contact_queued",
            "contact_offered",
            "agent_state",
            "contact_answered",
            "agent_state",
            "contact_ended",
            "wrap_up_ended",
            "agent_state",
        ]
    );
    assert_eq!(offered_to(&events), [a1001]);
    let states: Vec<AgentState> = events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::AgentState { state, .. } => Some(*state),
            _ => None,
        })
        .collect();
    assert_eq!(states, [AgentState::Available, AgentState::Busy, AgentState::WrapUp, AgentState::Available]);

    rig.flushed().await;
    let row = rig.db.store.get_contact(org(), id).await.expect("get").expect("stored");
    assert_eq!((row.status, row.outcome), (ContactStatus::Ended, Some(ContactOutcome::Answered)));
    assert_eq!((row.queue, row.agent), (Some(queue("general")), Some(a1001)));
    assert_eq!(
        (row.arrived_at, row.queued_at, row.offered_at, row.answered_at, row.ended_at, row.wrap_up_ended_at),
        (at(0), Some(at(0)), Some(at(0)), Some(at(3)), Some(at(63)), Some(at(73)))
    );
    assert_eq!((row.disposition, row.notes.as_str()), (Some(code("order_status")), "包裹已发货 shipped"));
    assert_eq!(
        rig.event_kinds(id).await,
        [K::Arrived, K::Queued, K::Offered, K::Answered, K::Ended, K::Dispositioned, K::WrapUpEnded]
    );
    let range = TimeRange::new(at(-1), at(3600));
    let changes = rig.db.store.list_agent_state_changes(org(), a1001, range, &Page::first(50)).await.expect("list");
    let steps: Vec<(AgentState, AgentState)> = changes.items.iter().map(|c| (c.from, c.to)).collect();
    assert_eq!(
        steps,
        [
            (AgentState::Offline, AgentState::Available),
            (AgentState::Available, AgentState::Busy),
            (AgentState::Busy, AgentState::WrapUp),
            (AgentState::WrapUp, AgentState::Available),
        ]
    );
    let presence = rig.db.store.get_agent_presence(org(), a1001).await.expect("get").expect("stored");
    assert_eq!((presence.state, presence.since), (AgentState::Available, at(73)));
}

async fn ring_timeout_offers_the_next_agent_and_records_the_miss(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    rig.available(1001).await;
    rig.available(1002).await;
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    let first = offered_to(&rig.drain());
    assert_eq!(first.len(), 1, "one agent rings at a time");
    rig.wait(21).await; // demo ring timeout: 20 s
    let events = rig.drain();
    let missed = first[0];
    let next = if missed == agent(1001) { agent(1002) } else { agent(1001) };
    assert!(
        events.iter().any(|e| matches!(e,
            LiveEvent::OfferCancelled { agent, reason: OfferEndReason::RingTimeout, .. } if *agent == missed)),
        "{events:?}"
    );
    assert_eq!(offered_to(&events), [next]);
    rig.center.accept(next, id).await.expect("the next agent answers");
    rig.flushed().await;
    let log = rig.contact_events(id).await;
    let timed_out: Vec<_> = log.iter().filter(|e| e.kind == K::OfferTimedOut).map(|e| (e.agent, e.at)).collect();
    assert_eq!(timed_out, [(Some(missed), at(20))]);
    let offers: Vec<_> = log.iter().filter(|e| e.kind == K::Offered).map(|e| e.agent).collect();
    assert_eq!(offers, [Some(missed), Some(next)]);
    let row = rig.db.store.get_contact(org(), id).await.expect("get").expect("row");
    assert_eq!((row.agent, row.offered_at, row.answered_at), (Some(next), Some(at(0)), Some(at(21))));
}

async fn three_missed_offers_put_the_agent_away_with_reason_missed(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    let a1001 = agent(1001);
    rig.available(1001).await;
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    // Ring 20 s, then 5 s before the same agent may be offered it again; three times.
    rig.wait(3 * 25).await;
    let events = rig.drain();
    assert_eq!(offered_to(&events), [a1001, a1001, a1001]);
    let last_state = events.iter().rev().find_map(|e| match e {
        LiveEvent::AgentState { state, reason, .. } => Some((*state, reason.clone())),
        _ => None,
    });
    assert_eq!(last_state, Some((AgentState::Away, Some(code("missed")))));
    let snapshot = rig.center.snapshot().await.expect("snapshot");
    assert_eq!(snapshot.queue(queue("general")).map(|q| q.waiting), Some(1), "the contact waits on");
    rig.flushed().await;
    let misses = rig.event_kinds(id).await.iter().filter(|k| **k == K::OfferTimedOut).count();
    assert_eq!(misses, 3);
    let presence = rig.db.store.get_agent_presence(org(), a1001).await.expect("get").expect("row");
    assert_eq!((presence.state, presence.reason), (AgentState::Away, Some(code("missed"))));
}

async fn customer_leaving_while_queued_is_abandoned_with_the_wait(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    rig.wait(42).await;
    let before = rig.center.snapshot().await.expect("snapshot");
    let general = before.queue(queue("general")).expect("general");
    assert_eq!((general.waiting, general.longest_wait_ms), (1, 42_000));
    rig.center.abandon(id).await.expect("abandon");
    let events = rig.drain();
    assert!(
        matches!(events.last(), Some(LiveEvent::ContactAbandoned { contact, wait_ms: 42_000, .. }) if *contact == id),
        "{events:?}"
    );
    let after = rig.center.snapshot().await.expect("snapshot");
    let general = after.queue(queue("general")).expect("general");
    assert_eq!((general.waiting, general.offered_today, general.abandoned_today), (0, 1, 1));
    assert_eq!(rig.center.abandon(id).await, Err(CenterError::UnknownContact(id)), "a contact ends once");
    rig.flushed().await;
    let row = rig.db.store.get_contact(org(), id).await.expect("get").expect("row");
    assert_eq!(
        (row.status, row.outcome, row.ended_at),
        (ContactStatus::Ended, Some(ContactOutcome::Abandoned), Some(at(42)))
    );
    assert_eq!(row.wait().map(|w| w.as_ms()), Some(42_000));
    let log = rig.contact_events(id).await;
    let abandoned = log.iter().find(|e| e.kind == K::Abandoned).expect("abandoned event");
    assert_eq!(abandoned.detail, r#"{"wait_ms":42000}"#);
}

async fn wrap_up_timer_makes_the_agent_available_again(backend: Backend) {
    let rig = Rig::start(backend).await;
    let a1001 = agent(1001);
    rig.available(1001).await;
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    rig.center.accept(a1001, id).await.expect("accept");
    rig.wait(5).await;
    rig.center.end(id, ContactOutcome::Answered).await.expect("end");
    rig.wait(29).await; // general: 30 s wrap-up
    let snap = rig.center.snapshot().await.expect("snapshot");
    assert_eq!(snap.agent(a1001).map(|a| (a.state, a.contacts.clone())), Some((AgentState::WrapUp, vec![id])));
    rig.wait(2).await;
    let snap = rig.center.snapshot().await.expect("snapshot");
    assert_eq!(
        snap.agent(a1001).map(|a| (a.state, a.since_ms, a.contacts.len())),
        Some((AgentState::Available, T0 + 35_000, 0))
    );
    assert_eq!(snap.live_contacts, 0);
    // The disposition may still be saved after the wrap-up time ran out.
    let late = Disposition { code: code("complaint"), notes: String::new() };
    rig.center.wrap_up_done(a1001, id, late).await.expect("late disposition");
    rig.flushed().await;
    let row = rig.db.store.get_contact(org(), id).await.expect("get").expect("row");
    assert_eq!((row.wrap_up_ended_at, row.disposition), (Some(at(35)), Some(code("complaint"))));
    let kinds = rig.event_kinds(id).await;
    assert_eq!(&kinds[kinds.len() - 2..], [K::WrapUpEnded, K::Dispositioned]);
}

async fn voice_call_blocks_chat_until_its_wrap_up_ends(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    // 1002 has the default capacity (a call blocks chats); the demo's 1001 is blended.
    let a1002 = agent(1002);
    rig.available(1002).await;
    let call = rig.center.submit(voice("+8613800000002")).await.expect("call");
    rig.center.accept(a1002, call).await.expect("accept call");
    rig.drain();
    let chat = rig.center.submit(NewContact::new(Channel::Chat, "hotline", "visitor-1")).await.expect("chat");
    rig.wait(10).await;
    assert_eq!(offered_to(&rig.drain()), [], "no chat for an agent on a voice call");
    rig.center.end(call, ContactOutcome::Answered).await.expect("end call");
    assert_eq!(offered_to(&rig.drain()), [], "nor during the call's wrap-up");
    let done = Disposition { code: code("resolved"), notes: String::new() };
    rig.center.wrap_up_done(a1002, call, done).await.expect("wrap-up done");
    let events = rig.drain();
    assert!(
        events.iter().any(
            |e| matches!(e, LiveEvent::ContactOffered { contact, channel: Channel::Chat, .. } if *contact == chat)
        ),
        "{events:?}"
    );
    rig.center.accept(a1002, chat).await.expect("accept chat");
    // Chats do not block chats: a second one is offered to the same agent at once.
    let second = rig.center.submit(NewContact::new(Channel::Chat, "hotline", "visitor-2")).await.expect("chat 2");
    let events = rig.drain();
    assert!(events.iter().any(|e| matches!(e, LiveEvent::ContactOffered { contact, .. } if *contact == second)));
    let snap = rig.center.snapshot().await.expect("snapshot");
    let mut held = snap.agent(a1002).expect("agent").contacts.clone();
    held.sort();
    let mut want = vec![chat, second];
    want.sort();
    assert_eq!(held, want);
}

async fn supervisor_force_withdraws_the_ringing_offer_and_records_who(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    rig.available(1001).await;
    rig.available(1002).await;
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    let ringing = offered_to(&rig.drain())[0];
    let other = if ringing == agent(1001) { agent(1002) } else { agent(1001) };
    rig.wait(4).await;
    let boss = supervisor();
    rig.center.force_agent_state(boss, ringing, Presence::Away(code("meeting"))).await.expect("force");
    let events = rig.drain();
    assert!(
        events.iter().any(|e| matches!(e,
            LiveEvent::OfferCancelled { agent, reason: OfferEndReason::AgentUnavailable, .. } if *agent == ringing)),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(e,
        LiveEvent::AgentState { agent, state: AgentState::Away, forced_by: Some(by), .. } if *agent == ringing && *by == boss)));
    assert_eq!(offered_to(&events), [other]);
    assert_eq!(
        rig.center.accept(ringing, id).await.map_err(|e| matches!(e, CenterError::Refused(_))),
        Err(true),
        "the withdrawn offer cannot be accepted"
    );
    rig.center.accept(other, id).await.expect("the other agent answers");
    rig.flushed().await;
    let range = TimeRange::new(at(0), at(3600));
    let changes = rig.db.store.list_agent_state_changes(org(), ringing, range, &Page::first(50)).await.expect("list");
    let forced = changes.items.iter().find(|c| c.to == AgentState::Away).expect("forced change stored");
    assert_eq!((forced.forced_by, forced.reason.clone(), forced.at), (Some(boss), Some(code("meeting")), at(4)));
}

async fn transfer_to_queue_keeps_the_history_and_first_queued_time(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    let (a1001, a1003) = (agent(1001), agent(1003));
    rig.available(1001).await;
    rig.available(1003).await;
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    rig.center.accept(a1001, id).await.expect("accept");
    rig.wait(30).await;
    rig.center.transfer_to_queue(id, queue("tech_support")).await.expect("transfer");
    let events = rig.drain();
    assert!(events.iter().any(|e| matches!(e,
        LiveEvent::ContactTransferred { from_agent: Some(from), to_queue: Some(to), .. } if *from == a1001 && *to == queue("tech_support"))));
    assert_eq!(offered_to(&events), [a1001, a1003]);
    let snap = rig.center.snapshot().await.expect("snapshot");
    assert_eq!(
        snap.agent(a1001).map(|a| (a.state, a.contacts.clone())),
        Some((AgentState::WrapUp, vec![id])),
        "the first agent wraps up after the transfer"
    );
    rig.center.accept(a1003, id).await.expect("the expert answers");
    // The first agent files their part while the expert talks; the contact's disposition stays
    // for the agent who handles it last.
    let handed_over = Disposition { code: code("transferred_to_tech"), notes: String::new() };
    rig.center.wrap_up_done(a1001, id, handed_over).await.expect("first agent's wrap-up");
    let snap = rig.center.snapshot().await.expect("snapshot");
    assert_eq!(snap.agent(a1001).map(|a| (a.state, a.contacts.len())), Some((AgentState::Available, 0)));
    rig.wait(60).await;
    rig.center.end(id, ContactOutcome::Answered).await.expect("end");
    rig.flushed().await;
    let row = rig.db.store.get_contact(org(), id).await.expect("get").expect("row");
    assert!(row.transferred);
    assert_eq!(row.disposition, None);
    assert_eq!(
        (row.queue, row.agent, row.queued_at, row.answered_at),
        (Some(queue("tech_support")), Some(a1003), Some(at(0)), Some(at(0)))
    );
    assert_eq!(row.ended_at, Some(at(90)));
    let log = rig.contact_events(id).await;
    let answered: Vec<_> = log.iter().filter(|e| e.kind == K::Answered).map(|e| (e.agent, e.queue)).collect();
    assert_eq!(answered, [(Some(a1001), Some(queue("general"))), (Some(a1003), Some(queue("tech_support")))]);
    assert!(log.iter().any(|e| e.kind == K::Transferred && e.at == at(30)));
}

async fn gold_customer_from_the_store_is_routed_to_premium_support(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    let gold = rig
        .db
        .store
        .find_customer_by_phone(org(), &model::E164::parse_strict("+8613800000001").expect("number"))
        .await
        .expect("lookup")
        .expect("the demo's gold customer");
    assert_eq!(gold.vip, VipTier::Gold);
    let mut call = voice("+8613800000001");
    call.customer = Some(gold.id);
    let vip = rig.center.submit(call).await.expect("submit");
    let mut tech = voice("+8613800000002");
    tech.issue_type = Some("technical".into());
    let tech = rig.center.submit(tech).await.expect("submit");
    let plain = rig.center.submit(voice("+8613800000003")).await.expect("submit");
    let queued: Vec<_> = rig
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            LiveEvent::ContactQueued { contact, queue, .. } => Some((contact, queue)),
            _ => None,
        })
        .collect();
    assert_eq!(queued, [(vip, queue("premium_support")), (tech, queue("tech_support")), (plain, queue("general"))]);
}

async fn technical_contact_overflows_to_general_after_two_minutes(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    rig.available(1001).await; // general only; nobody serves tech_support
    let mut call = voice("+8613800000002");
    call.issue_type = Some("technical".into());
    let id = rig.center.submit(call).await.expect("submit");
    rig.wait(119).await;
    assert_eq!(offered_to(&rig.drain()), []);
    rig.wait(1).await;
    let events = rig.drain();
    assert_eq!(offered_to(&events), [agent(1001)]);
    assert!(events.iter().any(|e| matches!(e, LiveEvent::ContactQueued { queue, .. } if *queue == queue_general())));
    rig.flushed().await;
    let log = rig.contact_events(id).await;
    let overflow = log.iter().find(|e| e.kind == K::Overflowed).expect("overflow recorded");
    assert_eq!(overflow.at, at(120));
    let row = rig.db.store.get_contact(org(), id).await.expect("get").expect("row");
    assert_eq!((row.queue, row.queued_at), (Some(queue("general")), Some(at(0))));
}

fn queue_general() -> model::QueueId {
    queue("general")
}

async fn transfer_to_a_named_agent_offers_it_to_them_alone(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    let (a1001, a1002, a1003) = (agent(1001), agent(1002), agent(1003));
    rig.available(1001).await;
    rig.available(1002).await;
    rig.available(1003).await;
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    let first = offered_to(&rig.drain())[0];
    rig.center.accept(first, id).await.expect("accept");
    rig.center.transfer_to_agent(id, a1003).await.expect("to the expert");
    let events = rig.drain();
    assert_eq!(offered_to(&events), [a1003], "only the named agent, though {a1001}/{a1002} serve general");
    assert!(events.iter().any(|e| matches!(e,
        LiveEvent::ContactTransferred { to_agent: Some(to), from_agent: Some(from), .. } if *to == a1003 && *from == first)));
    rig.center.accept(a1003, id).await.expect("the expert answers");
    rig.flushed().await;
    let row = rig.db.store.get_contact(org(), id).await.expect("get").expect("row");
    assert_eq!((row.agent, row.status, row.transferred), (Some(a1003), ContactStatus::Connected, true));
}
