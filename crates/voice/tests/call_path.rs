//! A customer calls the demo's 4000 over real SIP and RTP (sipp), the IVR serves or queues them,
//! the ACD picks an agent whose phone (sipp, registered with digest auth) rings and answers; the
//! call is bridged and recorded; the store holds every step.

mod common;

use center::Presence;
use common::{Rig, agent, free_port, register, sipp, sox_channels, sox_rms};
use model::{ContactEventKind, ContactOutcome, ContactStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_hears_order_status_by_keys_and_the_contact_is_self_served() {
    let rig = Rig::start(24_000).await;
    let caller = sipp("ivr_order_status.xml", rig.sip_addr(), free_port(), "+8613800000002", &["-s", "4000"]);
    let (code, log) = caller.finish().await;
    assert_eq!(code, 0, "caller scenario: {log}");

    let contact = rig.wait_for_contact(|c| c.status == ContactStatus::Ended).await;
    assert_eq!(contact.outcome, Some(ContactOutcome::SelfServed));
    assert_eq!(contact.channel, model::Channel::Voice);
    assert!(contact.ivr_path.iter().any(|n| n == "order_status"), "path {:?}", contact.ivr_path);
    assert!(contact.ivr_digits.contains("100001"), "digits {:?}", contact.ivr_digits);
    assert!(contact.customer.is_some(), "the caller's number is a demo customer");
    assert_eq!(contact.from_address, "+8613800000002");
    let counters = rig.voice.as_ref().expect("voice").counters();
    assert_eq!(counters.errors, 0, "{counters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_caller_reaches_the_registered_agent_is_recorded_and_rates_the_call() {
    let rig = Rig::start(24_200).await;
    let phone_port = free_port();
    register(&rig, "1001", phone_port).await;
    rig.center.set_agent_state(agent("1001"), Presence::Available).await.expect("available");

    let phone = sipp("agent_answers.xml", rig.sip_addr(), phone_port, "x", &["-s", "1001"]);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let caller = sipp("ivr_to_agent.xml", rig.sip_addr(), free_port(), "+8613800000002", &["-s", "4000"]);
    let (code, log) = phone.finish().await;
    assert_eq!(code, 0, "agent phone scenario: {log}");
    let (code, log) = caller.finish().await;
    assert_eq!(code, 0, "caller scenario: {log}");

    // Ended, and the media engine's call quality (E-model MOS) kept on the contact.
    let contact = rig.wait_for_contact(|c| c.status == ContactStatus::Ended && c.quality_mos.is_some()).await;
    let mos = contact.quality_mos.unwrap_or_default();
    assert!((1.0..=4.5).contains(&mos), "MOS {mos}");
    assert_eq!(contact.outcome, Some(ContactOutcome::Answered), "{contact:#?}");
    assert_eq!(contact.agent, Some(agent("1001")));
    assert_eq!(contact.queue, Some(demo::queue_id("general")));
    assert!(contact.answered_at.is_some() && contact.queued_at.is_some());
    assert!(contact.ivr_path.iter().any(|n| n == "agent_issue"), "path {:?}", contact.ivr_path);

    let kinds: Vec<ContactEventKind> = rig.events(contact.id).await.iter().map(|e| e.kind).collect();
    for expected in [
        ContactEventKind::Queued,
        ContactEventKind::Offered,
        ContactEventKind::Answered,
        ContactEventKind::RecordingStarted,
        ContactEventKind::Ended,
    ] {
        assert!(kinds.contains(&expected), "{expected:?} missing from {kinds:?}");
    }
    // The idle agent was offered the contact as it queued, possibly before `submit` returned its
    // id to the call: that first offer still rang the phone, none was given back.
    let counters = rig.voice.as_ref().expect("voice").counters();
    assert_eq!(counters.offers_without_call, 0, "{counters:?}");

    let recordings = rig
        .store
        .list_recordings_by_contact(common::org(), contact.id, &store::Page::first(10))
        .await
        .expect("recordings")
        .items;
    assert_eq!(recordings.len(), 1, "{recordings:#?}");
    let r = &recordings[0];
    assert_eq!((r.channels, r.sample_rate_hz), (2, 8_000));
    assert_eq!(r.sha256.len(), 64);
    let file = rig.recordings.join(&r.path);
    assert_eq!(std::fs::metadata(&file).expect("recording file").len(), r.size_bytes);
    assert!((3_000..=8_000).contains(&r.duration.as_ms()), "duration {} ms", r.duration.as_ms());
    assert_eq!(sox_channels(&file), 2);
    assert!(sox_rms(&file, 1) > 0.005, "customer channel is silent");
    assert!(sox_rms(&file, 2) > 0.005, "agent channel is silent");

    // The caller stayed for the post-call survey and pressed 5.
    let answers = rig
        .store
        .list_survey_responses_by_contact(common::org(), contact.id, &store::Page::first(10))
        .await
        .expect("survey")
        .items;
    assert_eq!(answers.iter().map(|a| (a.kind, a.score)).collect::<Vec<_>>(), vec![(model::SurveyKind::Csat, 5)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_who_hangs_up_in_the_queue_is_abandoned() {
    let rig = Rig::start(24_400).await;
    // Nobody is available: the call waits in the queue until the caller gives up.
    let caller = sipp("ivr_abandon.xml", rig.sip_addr(), free_port(), "+8613800000003", &["-s", "4000"]);
    let (code, log) = caller.finish().await;
    assert_eq!(code, 0, "caller scenario: {log}");
    let contact = rig.wait_for_contact(|c| c.status == ContactStatus::Ended).await;
    assert_eq!(contact.outcome, Some(ContactOutcome::Abandoned), "{contact:#?}");
    assert!(contact.queue.is_some());
    assert_eq!(contact.agent, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_from_the_agent_phone_reaches_the_desktop_live_and_the_contact() {
    let rig = Rig::start(31_000).await;
    let mut live = rig.center.subscribe();
    let phone_port = free_port();
    register(&rig, "1001", phone_port).await;
    rig.center.set_agent_state(agent("1001"), Presence::Available).await.expect("available");

    let phone = sipp("agent_holds.xml", rig.sip_addr(), phone_port, "x", &["-s", "1001"]);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let caller = sipp("ivr_to_agent.xml", rig.sip_addr(), free_port(), "+8613800000002", &["-s", "4000"]);
    let (code, log) = phone.finish().await;
    assert_eq!(code, 0, "agent phone scenario: {log}");
    let (code, log) = caller.finish().await;
    assert_eq!(code, 0, "caller scenario: {log}");

    let contact = rig.wait_for_contact(|c| c.status == ContactStatus::Ended).await;
    // What the desktop and the wallboard saw: the call held, then resumed, as it happened.
    let mut updates = Vec::new();
    while let Ok(event) = live.try_recv() {
        if let center::LiveEvent::CallUpdated { contact: c, change, state, .. } = event
            && c == contact.id
        {
            updates.push((change, state.held));
        }
    }
    assert_eq!(updates, vec![("held", true), ("resumed", false)]);
    let kinds: Vec<ContactEventKind> = rig.events(contact.id).await.iter().map(|e| e.kind).collect();
    let holds: Vec<_> =
        kinds.iter().filter(|k| matches!(k, ContactEventKind::Held | ContactEventKind::Resumed)).collect();
    assert_eq!(holds, vec![&ContactEventKind::Held, &ContactEventKind::Resumed], "{kinds:?}");
}
