//! The shell's own promises, against a real store (SQLite and PostgreSQL): bounded queues
//! refuse instead of growing, channel consumers get offers and cancellations, an offer nobody
//! can take goes back to the engine (counted), snapshots add up, bad input is refused, and a
//! restart closes what the previous run left behind.

mod common;

use center::{
    CenterConfig, CenterError, Disposition, IvrTrail, LiveEvent, NewContact, OfferEndReason, OfferKind, OfferSignal,
    Presence, Refusal, Routes,
};
use common::*;
use model::{AgentState, Channel, ContactOutcome, ContactStatus, ReasonCode, Timestamp};

fn voice(from: &str) -> NewContact {
    NewContact::new(Channel::Voice, "hotline", from)
}

fn code(text: &str) -> ReasonCode {
    ReasonCode::parse(text).expect("reason code")
}

center_suite! {
    full_command_queue_is_refused_not_grown,
    voice_offers_reach_their_consumer_and_stop_ringing_when_the_caller_hangs_up,
    offer_no_consumer_can_take_goes_back_to_the_engine_and_is_counted,
    snapshot_counts_waiting_longest_wait_and_todays_figures,
    self_served_contact_is_recorded_ended_with_its_ivr_trail,
    bad_commands_are_refused_and_change_nothing,
    restart_starts_agents_offline_and_ends_contacts_left_unfinished,
    full_queue_and_max_wait_refuse_with_what_the_channel_should_do,
    callback_keeps_the_place_and_is_offered_as_a_callback,
    writes_that_do_not_fit_the_write_queue_are_dropped_and_counted,
    agent_added_after_start_can_sign_in_and_take_contacts,
    ivr_abandon_and_call_quality_are_recorded,
}

async fn full_command_queue_is_refused_not_grown(backend: Backend) {
    let config = CenterConfig { max_queued_commands: 2, ..CenterConfig::default() };
    let rig = Rig::start_with(backend, config).await;
    let c = &rig.center;
    // All five are sent before the center's task runs (one thread): two fit, three are refused.
    let results = tokio::join!(c.snapshot(), c.snapshot(), c.snapshot(), c.snapshot(), c.snapshot());
    let results = [results.0, results.1, results.2, results.3, results.4];
    let busy = results.iter().filter(|r| matches!(r, Err(CenterError::Busy(2)))).count();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!((ok, busy), (2, 3));
    assert!(c.snapshot().await.is_ok(), "room again once the queue drained");
}

async fn voice_offers_reach_their_consumer_and_stop_ringing_when_the_caller_hangs_up(backend: Backend) {
    let rig = Rig::start(backend).await;
    let mut offers = rig.center.take_offers(Channel::Voice).await.expect("voice offers");
    assert_eq!(rig.center.take_offers(Channel::Voice).await.err(), Some(CenterError::OffersTaken(Channel::Voice)));
    rig.available(1001).await;
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    match offers.try_recv() {
        Ok(OfferSignal::Offer(offer)) => {
            assert_eq!((offer.contact, offer.agent, offer.queue), (id, agent(1001), queue("general")));
            assert_eq!(
                (offer.kind, offer.ring_timeout_ms, offer.from_address.as_str()),
                (OfferKind::Contact, 20_000, "+8613800000002")
            );
        }
        other => panic!("expected an offer, got {other:?}"),
    }
    // Chat offers are not voice's business.
    rig.center.submit(NewContact::new(Channel::Chat, "hotline", "visitor")).await.expect("chat");
    rig.wait(2).await;
    rig.center.abandon(id).await.expect("caller hangs up");
    match offers.try_recv() {
        Ok(OfferSignal::Cancel { contact, agent: a, reason }) => {
            assert_eq!((contact, a, reason), (id, agent(1001), OfferEndReason::Abandoned));
        }
        other => panic!("expected a cancel, got {other:?}"),
    }
    assert!(offers.try_recv().is_err(), "nothing else for voice");
}

async fn offer_no_consumer_can_take_goes_back_to_the_engine_and_is_counted(backend: Backend) {
    let config = CenterConfig { max_pending_offers: 1, ..CenterConfig::default() };
    let mut rig = Rig::start_with(backend, config).await;
    let mut offers = rig.center.take_offers(Channel::Voice).await.expect("voice offers");
    rig.available(1001).await;
    rig.available(1002).await;
    let first = rig.center.submit(voice("+8613800000002")).await.expect("first");
    let second = rig.center.submit(voice("+8613800000003")).await.expect("second");
    let snap = rig.center.snapshot().await.expect("snapshot");
    assert!(snap.counters.offers_undeliverable >= 1, "{:?}", snap.counters);
    let events = rig.drain();
    assert!(
        events.iter().any(|e| matches!(e,
            LiveEvent::OfferCancelled { contact, reason: OfferEndReason::Rejected, .. } if *contact == second)),
        "the offer that did not fit was handed back: {events:?}"
    );
    assert_eq!(snap.queue(queue("general")).map(|q| q.waiting), Some(1), "the second caller waits, not lost");
    // The consumer catches up: the first offer is there, and the second comes once it may.
    assert!(matches!(offers.try_recv(), Ok(OfferSignal::Offer(o)) if o.contact == first));
    rig.wait(6).await;
    let later: Vec<_> = std::iter::from_fn(|| offers.try_recv().ok()).collect();
    assert!(
        later.iter().any(|s| matches!(s, OfferSignal::Offer(o) if o.contact == second)),
        "offered again after the decline pause: {later:?}"
    );
}

async fn snapshot_counts_waiting_longest_wait_and_todays_figures(backend: Backend) {
    let rig = Rig::start(backend).await;
    // 1002 has the default capacity (busy on a call = not available); the demo's 1001 is blended.
    let a1002 = agent(1002);
    rig.available(1002).await;
    let a = rig.center.submit(voice("+8613800000002")).await.expect("a");
    let b = rig.center.submit(voice("+8613800000003")).await.expect("b");
    rig.wait(4).await;
    rig.center.submit(voice("+8613800000004")).await.expect("c");
    rig.wait(6).await;
    let snap = rig.center.snapshot().await.expect("snapshot");
    let general = snap.queue(queue("general")).expect("general");
    assert_eq!((general.waiting, general.longest_wait_ms, general.offered_today), (2, 10_000, 3));
    assert_eq!((general.serving_agents, general.available_agents), (1, 0));
    let me = snap.agent(a1002).expect("1002");
    assert_eq!((me.state, me.contacts.clone(), me.extension.as_str()), (AgentState::Busy, vec![a], "1002"));
    assert_eq!(snap.agent(agent(1001)).map(|x| x.state), Some(AgentState::Offline));
    assert_eq!(snap.live_contacts, 3);
    rig.center.accept(a1002, a).await.expect("accept a after 10 s of ringing");
    rig.center.abandon(b).await.expect("b hangs up");
    let snap = rig.center.snapshot().await.expect("snapshot");
    let general = snap.queue(queue("general")).expect("general");
    assert_eq!(
        (general.waiting, general.answered_today, general.answered_wait_ms_today, general.answered_within_sl_today),
        (1, 1, 10_000, 1)
    );
    assert_eq!((general.abandoned_today, general.longest_wait_ms, general.sl_threshold_ms), (1, 6_000, 20_000));
    rig.center.reset_day().await.expect("midnight");
    let snap = rig.center.snapshot().await.expect("snapshot");
    let general = snap.queue(queue("general")).expect("general");
    assert_eq!((general.offered_today, general.answered_today, general.abandoned_today, general.waiting), (0, 0, 0, 1));
}

async fn self_served_contact_is_recorded_ended_with_its_ivr_trail(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    let mut call = voice("+8613800000001");
    call.to_address = "4000".into();
    call.ivr = Some(IvrTrail {
        arrived_at: Some(Timestamp::from_unix_ms(T0 - 45_000)),
        path: vec!["welcome".into(), "menu".into(), "order_status".into()],
        digits: "1100001#".into(),
    });
    let id = rig.center.self_served(call).await.expect("self served");
    let events = rig.drain();
    assert!(matches!(events.as_slice(), [LiveEvent::ContactEnded { outcome: ContactOutcome::SelfServed, .. }]));
    rig.flushed().await;
    let row = rig.db.store.get_contact(org(), id).await.expect("get").expect("row");
    assert_eq!((row.status, row.outcome), (ContactStatus::Ended, Some(ContactOutcome::SelfServed)));
    assert_eq!((row.arrived_at.unix_ms(), row.ivr_left_at.map(|t| t.unix_ms())), (T0 - 45_000, Some(T0)));
    assert_eq!((row.ivr_path.len(), row.ivr_digits.as_str(), row.to_address.as_str()), (3, "1100001#", "4000"));
    assert_eq!(row.queue, None);
}

async fn bad_commands_are_refused_and_change_nothing(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    let a1001 = agent(1001);
    let unknown_agent = model::AgentId::from_u128(42);
    assert_eq!(
        rig.center.set_agent_state(unknown_agent, Presence::Available).await,
        Err(CenterError::UnknownAgent(unknown_agent))
    );
    let nowhere = NewContact::new(Channel::Voice, "no_such_entry", "+8613800000002");
    assert!(matches!(rig.center.submit(nowhere).await, Err(CenterError::Refused(acd::AcdError::UnknownEntryPoint(_)))));
    let long = voice(&"9".repeat(center::MAX_ADDRESS_BYTES + 1));
    assert!(matches!(rig.center.submit(long).await, Err(CenterError::Invalid(_))));
    rig.available(1001).await;
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    assert!(matches!(rig.center.accept(agent(1002), id).await, Err(CenterError::Refused(_))), "not offered to 1002");
    rig.center.accept(a1001, id).await.expect("accept");
    assert!(matches!(rig.center.end(id, ContactOutcome::Abandoned).await, Err(CenterError::Invalid(_))));
    let essay = Disposition { code: code("resolved"), notes: "x".repeat(center::MAX_NOTES_BYTES + 1) };
    assert!(matches!(rig.center.wrap_up_done(a1001, id, essay).await, Err(CenterError::Invalid(_))));
    let early = Disposition { code: code("resolved"), notes: String::new() };
    assert!(
        matches!(rig.center.wrap_up_done(a1001, id, early).await, Err(CenterError::Refused(_))),
        "no wrap-up while still connected"
    );
    let snap = rig.center.snapshot().await.expect("snapshot");
    assert_eq!(snap.agent(a1001).map(|a| (a.state, a.contacts.clone())), Some((AgentState::Busy, vec![id])));
    assert!(snap.counters.commands_refused >= 2);
    let events = rig.drain();
    assert!(!events.iter().any(|e| matches!(e, LiveEvent::ContactEnded { .. })), "{events:?}");
    rig.flushed().await;
}

async fn restart_starts_agents_offline_and_ends_contacts_left_unfinished(backend: Backend) {
    let rig = Rig::start(backend).await;
    let a1001 = agent(1001);
    rig.available(1001).await;
    rig.available(1002).await;
    rig.center.force_agent_state(supervisor(), agent(1002), Presence::Away(code("training"))).await.expect("away");
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    rig.center.accept(a1001, id).await.expect("accept");
    rig.center.shutdown().await.expect("shutdown");
    let Rig { db, task, .. } = rig;
    task.await.expect("the center's task ends");

    let later = Timestamp::from_unix_ms(T0 + 60_000);
    let again = Rig::on(db, CenterConfig::default(), later).await;
    let snap = again.center.snapshot().await.expect("snapshot");
    assert!(snap.agents.iter().all(|a| a.state == AgentState::Offline), "{:?}", snap.agents);
    again.flushed().await;
    let store = &again.db.store;
    for ext in [1001, 1002] {
        let p = store.get_agent_presence(org(), agent(ext)).await.expect("get").expect("row");
        assert_eq!(p.state, AgentState::Offline, "agent {ext}");
    }
    let range = store::TimeRange::new(Timestamp::from_unix_ms(T0), Timestamp::from_unix_ms(T0 + 60_001));
    let changes =
        store.list_agent_state_changes(org(), agent(1002), range, &store::Page::first(50)).await.expect("list").items;
    let last = changes.last().expect("changes");
    assert_eq!(
        (last.from, last.to, last.reason.clone(), last.at),
        (AgentState::Away, AgentState::Offline, Some(code("restart")), later)
    );
    let row = store.get_contact(org(), id).await.expect("get").expect("row");
    assert_eq!(
        (row.status, row.outcome, row.ended_at),
        (ContactStatus::Ended, Some(ContactOutcome::Failed), Some(later))
    );
    // And the new run routes as usual.
    again.available(1001).await;
    again.center.submit(voice("+8613800000003")).await.expect("routes again");
}

async fn full_queue_and_max_wait_refuse_with_what_the_channel_should_do(backend: Backend) {
    let db = TestDb::demo(backend).await;
    let mut general = db.store.get_queue(org(), queue("general")).await.expect("get").expect("general");
    general.max_waiting = 1;
    general.max_wait = model::DurationMs::from_secs(60);
    db.store.update_queue(&general).await.expect("update");
    let mut rig = Rig::on(db, CenterConfig::default(), Timestamp::from_unix_ms(T0)).await;
    let mut voice_signals = rig.center.take_offers(Channel::Voice).await.expect("voice");
    let first = rig.center.submit(voice("+8613800000002")).await.expect("first waits");
    let second = rig.center.submit(voice("+8613800000003")).await.expect("second is recorded");
    let signals: Vec<_> = std::iter::from_fn(|| voice_signals.try_recv().ok()).collect();
    assert!(
        signals.contains(&OfferSignal::Refused {
            contact: second,
            queue: Some(queue("general")),
            refusal: Refusal::QueueFullBusy
        }),
        "{signals:?}"
    );
    assert!(
        signals.iter().any(|s| matches!(s, OfferSignal::Announce { contact, position: 1, .. } if *contact == first))
    );
    rig.wait(60).await;
    let signals: Vec<_> = std::iter::from_fn(|| voice_signals.try_recv().ok()).collect();
    assert!(
        signals.iter().any(|s| matches!(s,
            OfferSignal::Refused { contact, refusal: Refusal::MaxWaitExceeded, .. } if *contact == first)),
        "{signals:?}"
    );
    let ended: Vec<_> = rig
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            LiveEvent::ContactEnded { contact, outcome, refusal, at_ms, .. } => {
                Some((contact, outcome, refusal, at_ms))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        ended,
        [
            (second, ContactOutcome::Rejected, Some(Refusal::QueueFullBusy), T0),
            (first, ContactOutcome::TimedOut, Some(Refusal::MaxWaitExceeded), T0 + 60_000),
        ]
    );
    rig.flushed().await;
    for (id, outcome) in [(first, ContactOutcome::TimedOut), (second, ContactOutcome::Rejected)] {
        let row = rig.db.store.get_contact(org(), id).await.expect("get").expect("row");
        assert_eq!((row.status, row.outcome), (ContactStatus::Ended, Some(outcome)));
        let ends = rig.event_kinds(id).await.iter().filter(|k| **k == model::ContactEventKind::Ended).count();
        assert_eq!(ends, 1, "one end event per contact");
    }
}

async fn callback_keeps_the_place_and_is_offered_as_a_callback(backend: Backend) {
    let rig = Rig::start(backend).await;
    let mut voice_signals = rig.center.take_offers(Channel::Voice).await.expect("voice");
    let caller = rig.center.submit(voice("+8613800000002")).await.expect("caller");
    let later = rig.center.submit(voice("+8613800000003")).await.expect("later caller");
    rig.wait(30).await;
    rig.center.choose_callback(caller).await.expect("press 1 for a callback");
    rig.wait(30).await;
    let _ = std::iter::from_fn(|| voice_signals.try_recv().ok()).count();
    rig.available(1001).await;
    match voice_signals.try_recv() {
        Ok(OfferSignal::Offer(offer)) => {
            assert_eq!((offer.contact, offer.kind, offer.agent), (caller, OfferKind::Callback, agent(1001)));
        }
        other => panic!("expected the callback first, got {other:?}"),
    }
    let snap = rig.center.snapshot().await.expect("snapshot");
    assert_eq!(snap.queue(queue("general")).map(|q| q.waiting), Some(1), "{later} still waits");
}

async fn writes_that_do_not_fit_the_write_queue_are_dropped_and_counted(backend: Backend) {
    let config = CenterConfig { max_pending_writes: 1, ..CenterConfig::default() };
    let rig = Rig::start_with(backend, config).await;
    rig.available(1001).await;
    // One command decides several writes (row, events, agent state) before the writer runs.
    rig.center.submit(voice("+8613800000002")).await.expect("routing goes on");
    let counters = rig.center.flush().await.expect("flush");
    assert!(counters.writes_dropped >= 1, "{counters:?}");
    assert!(counters.writes_done >= 1, "{counters:?}");
}

async fn agent_added_after_start_can_sign_in_and_take_contacts(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    let d = demo::dataset(Timestamp::from_unix_ms(T0));
    let template = d.agents[0].clone();
    let newcomer = model::Agent {
        id: model::AgentId::from_u128(77),
        user: d.users.iter().find(|u| u.user.username.as_str() == "admin").map(|u| u.user.id).expect("admin user"),
        extension: model::Extension::parse("1077").expect("extension"),
        ..template
    };
    rig.db.store.insert_agent(&newcomer).await.expect("admin adds an agent");
    assert_eq!(
        rig.center.set_agent_state(newcomer.id, Presence::Available).await,
        Err(CenterError::UnknownAgent(newcomer.id))
    );
    rig.center.upsert_agent(newcomer.clone()).await.expect("the center learns of them");
    rig.center.set_agent_state(newcomer.id, Presence::Available).await.expect("signs in");
    let id = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    assert_eq!(offered_to(&rig.drain()), [newcomer.id]);
    rig.center.accept(newcomer.id, id).await.expect("accept");
    let mut other_org = newcomer;
    other_org.org = model::OrgId::from_u128(9);
    assert!(matches!(rig.center.upsert_agent(other_org).await, Err(CenterError::Invalid(_))));
}

/// Not in the suite: needs a server whose database can be taken away mid-run.
#[tokio::test]
async fn postgres_outage_is_retried_then_counted_and_routing_goes_on() {
    let config = CenterConfig { store_retries: 2, store_retry_backoff_ms: 10, ..CenterConfig::default() };
    let mut rig = Rig::start_with(Backend::Postgres, config).await;
    rig.available(1001).await;
    rig.flushed().await;
    rig.db.take_database_away();
    let id = rig.center.submit(voice("+8613800000002")).await.expect("routing does not wait for the store");
    rig.center.accept(agent(1001), id).await.expect("accept");
    let events = rig.drain();
    assert!(events.iter().any(|e| matches!(e, LiveEvent::ContactAnswered { contact, .. } if *contact == id)));
    let counters = rig.center.flush().await.expect("flush");
    assert!(counters.writes_failed >= 1, "{counters:?}");
    assert!(counters.write_retries >= 2 * counters.writes_failed, "each failed write was retried twice: {counters:?}");
    assert_eq!(counters.writes_dropped, 0);
}

#[test]
fn live_events_serialise_with_a_type_tag_text_ids_and_ms_times() {
    let event = LiveEvent::ContactOffered {
        org: org(),
        contact: model::ContactId::from_u128(7),
        agent: agent(1001),
        queue: queue("general"),
        channel: Channel::Chat,
        callback: false,
        ring_timeout_ms: 20_000,
        customer: None,
        from_address: "visitor".into(),
        at_ms: T0,
    };
    let json = serde_json::to_value(&event).expect("serialises");
    assert_eq!(json["type"], "contact_offered");
    assert_eq!(json["contact"], "00000000-0000-0000-0000-000000000007");
    assert_eq!(json["agent"], agent(1001).to_string());
    assert_eq!(json["channel"], "chat");
    assert_eq!(json["customer"], serde_json::Value::Null);
    assert_eq!(json["at_ms"], T0);
    assert_eq!((event.org(), event.agent(), event.queue()), (org(), Some(agent(1001)), Some(queue("general"))));
    let state = LiveEvent::AgentState {
        org: org(),
        agent: agent(1002),
        state: AgentState::WrapUp,
        reason: None,
        since_ms: T0,
        forced_by: None,
    };
    assert_eq!(serde_json::to_value(&state).expect("serialises")["state"], "wrap_up");
}

#[test]
fn demo_routes_build_the_engine_from_the_demo_queues_and_skills() {
    let d = demo::dataset(Timestamp::from_unix_ms(T0));
    let cfg = center::demo_routes().acd_config(&d.queues, &d.skills).expect("demo routes are valid");
    assert_eq!(cfg.entry_points.len(), 1);
    let premium = cfg.queue_by_name("premium_support").expect("premium");
    assert_eq!(
        (premium.id, premium.wrap_up.as_ms(), premium.ring_timeout.as_ms()),
        (queue("premium_support"), 30_000, 20_000)
    );
    assert_eq!(premium.overflow.as_ref().map(|o| cfg.queues[o.to as usize].id), Some(queue("general")));
    assert_eq!(premium.announce_interval.map(|d| d.as_ms()), Some(30_000));
}

#[test]
fn routes_naming_an_unknown_queue_or_with_bad_toml_are_refused_with_the_place() {
    let d = demo::dataset(Timestamp::from_unix_ms(T0));
    let unknown_default =
        Routes::from_toml("[[entry_points]]\nname = \"hotline\"\ndefault_queue = \"nowhere\"\n").expect("parses");
    let err = unknown_default.acd_config(&d.queues, &d.skills).expect_err("unknown queue");
    assert!(err.to_string().contains("nowhere"), "{err}");
    let tuning = Routes::from_toml("[queues.nowhere]\nannounce_interval = \"30s\"\n").expect("parses");
    let err = tuning.acd_config(&d.queues, &d.skills).expect_err("unknown queue");
    assert!(err.to_string().contains("queues.nowhere"), "{err}");
    let err = Routes::from_toml("[[entry_points]]\nname = 3\n").expect_err("bad type");
    assert!(err.to_string().contains("line"), "{err}");
    let err = Routes::from_toml("colour = \"blue\"\n").expect_err("unknown key");
    assert!(err.to_string().contains("colour"), "{err}");
}

async fn ivr_abandon_and_call_quality_are_recorded(backend: Backend) {
    let rig = Rig::start(backend).await;
    // A caller who hangs up in the menu: abandoned in the IVR, never routed.
    let left = rig.center.ivr_finished(voice("+8613800000003"), ContactOutcome::Abandoned).await.expect("ivr abandon");
    let refused = rig.center.ivr_finished(voice("+8613800000003"), ContactOutcome::Answered).await;
    assert!(matches!(refused, Err(CenterError::Invalid(_))), "{refused:?}");

    // A bridged call: the media engine's MOS is kept on the contact through its end.
    rig.available(1001).await;
    let call = rig.center.submit(voice("+8613800000002")).await.expect("submit");
    rig.center.accept(agent(1001), call).await.expect("accept");
    assert!(matches!(rig.center.set_quality(call, 9.0).await, Err(CenterError::Invalid(_))));
    rig.center.set_quality(call, 4.1).await.expect("quality");
    rig.center.end(call, ContactOutcome::Answered).await.expect("end");
    rig.flushed().await;
    let left = rig.db.store.get_contact(org(), left).await.expect("get").expect("row");
    assert_eq!((left.status, left.outcome, left.queue), (ContactStatus::Ended, Some(ContactOutcome::Abandoned), None));
    let call = rig.db.store.get_contact(org(), call).await.expect("get").expect("row");
    assert_eq!(call.outcome, Some(ContactOutcome::Answered));
    assert_eq!(call.quality_mos, Some(4.1));
}
