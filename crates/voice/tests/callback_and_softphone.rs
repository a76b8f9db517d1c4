//! A caller who chooses to be called back (sipp caller, then sipp as their phone on the same
//! address), and a real softphone (baresip) as the agent of a call that came through the IVR.

mod common;

use std::process::Stdio;
use std::time::Duration;

use center::Presence;
use common::{Rig, agent, free_port, register, sipp, sipp_for, sox_rms};
use model::{ContactEventKind, ContactOutcome, ContactStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_presses_1_in_the_queue_is_called_back_when_an_agent_answers() {
    let rig = Rig::start(25_600).await;
    let phone_port = free_port();
    register(&rig, "1001", phone_port).await;

    // Nobody is available: the caller presses 3, then 1 to be called back, and Hotline hangs up.
    let customer_port = free_port();
    let caller = sipp("ivr_callback.xml", rig.sip_addr(), customer_port, "+8613800000002", &["-s", "4000"]);
    let (code, log) = caller.finish().await;
    assert_eq!(code, 0, "caller scenario: {log}");
    let waiting = rig.wait_for_contact(|c| c.status == ContactStatus::Queued).await;
    let counters = rig.voice.as_ref().expect("voice").counters();
    assert_eq!(counters.callbacks_chosen, 1, "{counters:?}");

    // The customer's phone now listens where the call came from; the agent's phone answers.
    let customer = sipp_for(90, "customer_answers_callback.xml", rig.sip_addr(), customer_port, "x", &[]);
    let phone = agent_1001_answers(&rig, phone_port).await;

    let (code, log) = phone.finish().await;
    assert_eq!(code, 0, "agent phone scenario: {log}");
    let (code, log) = customer.finish().await;
    assert_eq!(code, 0, "customer phone scenario: {log}");

    let contact = rig.wait_for_contact(|c| c.id == waiting.id && c.status == ContactStatus::Ended).await;
    assert_eq!(contact.outcome, Some(ContactOutcome::Answered), "{contact:#?}");
    assert_eq!(contact.agent, Some(agent("1001")));
    let events = rig.events(contact.id).await;
    let detail = |kind: ContactEventKind| -> Vec<serde_json::Value> {
        events.iter().filter(|e| e.kind == kind).filter_map(|e| serde_json::from_str(&e.detail).ok()).collect()
    };
    assert!(detail(ContactEventKind::Queued).iter().any(|d| d["callback"] == true), "{events:#?}");
    assert!(detail(ContactEventKind::Offered).iter().any(|d| d["callback"] == true), "{events:#?}");
    let steps: Vec<String> =
        detail(ContactEventKind::Message).iter().filter_map(|d| d["callback"].as_str().map(str::to_owned)).collect();
    assert_eq!(steps, ["chosen", "dialled", "answered"], "{events:#?}");
    let dialled = detail(ContactEventKind::Message).into_iter().find(|d| d["callback"] == "dialled").expect("dialled");
    assert_eq!(dialled["to"], format!("sip:+8613800000002@127.0.0.1:{customer_port}"));

    // Bridged and recorded like an inbound call.
    let recordings = rig
        .store
        .list_recordings_by_contact(common::org(), contact.id, &store::Page::first(10))
        .await
        .expect("recordings")
        .items;
    assert_eq!(recordings.len(), 1, "{recordings:#?}");
    let file = rig.recordings.join(&recordings[0].path);
    let (customer, agent_side) = (sox_rms(&file, 1), sox_rms(&file, 2));
    assert!(customer > 0.005 && agent_side > 0.005, "RMS customer {customer}, agent {agent_side}: {recordings:#?}");
    let counters = rig.voice.as_ref().expect("voice").counters();
    assert_eq!((counters.callbacks_dialled, counters.callbacks_answered), (1, 1), "{counters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_trunk_the_callback_dials_the_customer_number_out_through_it() {
    // The trunk's provider is a sipp on its own port, not the address the call came from: the
    // callback reaches it only by going out through the trunk, with the number in E.164.
    let provider_port = free_port();
    let rig = Rig::start_with_sip(
        27_400,
        |v| v.callback_via_trunk = true,
        |s| {
            let mut trunk = sip_server::Trunk::new(
                "provider",
                std::net::SocketAddr::from(([127, 0, 0, 1], provider_port)),
                "+86".parse().expect("country"),
            );
            trunk.is_default = true;
            s.trunks = vec![trunk];
        },
    )
    .await;
    let phone_port = free_port();
    register(&rig, "1001", phone_port).await;
    let customer_port = free_port();
    let waiting = choose_callback(&rig, customer_port).await;

    let provider = sipp_for(90, "trunk_answers_callback.xml", rig.sip_addr(), provider_port, "x", &[]);
    let phone = agent_1001_answers(&rig, phone_port).await;
    let (code, log) = phone.finish().await;
    assert_eq!(code, 0, "agent phone scenario: {log}");
    let (code, log) = provider.finish().await;
    assert_eq!(code, 0, "provider scenario (Request-URI in E.164): {log}");

    let contact = rig.wait_for_contact(|c| c.id == waiting.id && c.status == ContactStatus::Ended).await;
    assert_eq!(contact.outcome, Some(ContactOutcome::Answered), "{contact:#?}");
    let events = rig.events(contact.id).await;
    let dialled = events
        .iter()
        .filter(|e| e.kind == ContactEventKind::Message)
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).ok())
        .find(|d| d["callback"] == "dialled")
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(dialled["to"], "trunk:+8613800000002", "{dialled}");
}

/// Agent 1001's phone (sipp at `phone_port`) waits to answer, then 1001 goes Available: the
/// waiting callback is offered to them.
async fn agent_1001_answers(rig: &Rig, phone_port: u16) -> common::Sipp {
    let phone = sipp_for(90, "agent_answers.xml", rig.sip_addr(), phone_port, "x", &["-s", "1001"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    rig.center.set_agent_state(agent("1001"), Presence::Available).await.expect("available");
    phone
}

/// The caller at `customer_port` chooses a callback while nobody is free; returns the contact.
async fn choose_callback(rig: &Rig, customer_port: u16) -> model::Contact {
    let caller = sipp("ivr_callback.xml", rig.sip_addr(), customer_port, "+8613800000002", &["-s", "4000"]);
    let (code, log) = caller.finish().await;
    assert_eq!(code, 0, "caller scenario: {log}");
    rig.wait_for_contact(|c| c.status == ContactStatus::Queued).await
}

/// The `callback` steps recorded on the contact, with their attempt numbers.
async fn callback_steps(rig: &Rig, contact: model::ContactId) -> Vec<(String, Option<u64>)> {
    rig.events(contact)
        .await
        .iter()
        .filter(|e| e.kind == ContactEventKind::Message)
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).ok())
        .filter_map(|d| Some((d["callback"].as_str()?.to_owned(), d["attempt"].as_u64())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_the_customer_declines_is_dialled_again_and_answered_the_second_time() {
    let rig = Rig::start_with(26_200, center::demo_routes(), |v| {
        v.callback_max_attempts = 3;
        v.callback_retry_interval_ms = 2_000;
    })
    .await;
    let phone_port = free_port();
    register(&rig, "1001", phone_port).await;
    let customer_port = free_port();
    let waiting = choose_callback(&rig, customer_port).await;

    // The customer's phone declines the first callback; a second phone process on the same
    // address answers the retry.
    let declines = sipp_for(60, "customer_declines_callback.xml", rig.sip_addr(), customer_port, "x", &[]);
    let phone = agent_1001_answers(&rig, phone_port).await;
    let (code, log) = declines.finish().await;
    assert_eq!(code, 0, "declining customer phone: {log}");
    let answers = sipp_for(60, "customer_answers_callback.xml", rig.sip_addr(), customer_port, "x", &[]);
    let (code, log) = answers.finish().await;
    assert_eq!(code, 0, "answering customer phone: {log}");
    let (code, log) = phone.finish().await;
    assert_eq!(code, 0, "agent phone scenario: {log}");

    let contact = rig.wait_for_contact(|c| c.id == waiting.id && c.status == ContactStatus::Ended).await;
    assert_eq!(contact.outcome, Some(ContactOutcome::Answered), "{contact:#?}");
    assert_eq!(contact.agent, Some(agent("1001")));
    let steps = callback_steps(&rig, contact.id).await;
    let expected =
        [("chosen", None), ("dialled", Some(1)), ("not_reached", Some(1)), ("dialled", Some(2)), ("answered", None)];
    let expected: Vec<(String, Option<u64>)> = expected.iter().map(|(s, a)| ((*s).to_owned(), *a)).collect();
    assert_eq!(steps, expected);
    let counters = rig.voice.as_ref().expect("voice").counters();
    assert_eq!((counters.callbacks_dialled, counters.callbacks_answered), (2, 1), "{counters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_never_answered_is_recorded_failed_after_its_last_attempt() {
    let rig = Rig::start_with(26_400, center::demo_routes(), |v| {
        v.callback_max_attempts = 2;
        v.callback_retry_interval_ms = 1_000;
    })
    .await;
    let phone_port = free_port();
    register(&rig, "1001", phone_port).await;
    let customer_port = free_port();
    let waiting = choose_callback(&rig, customer_port).await;

    let declines = sipp_for(60, "customer_declines_callback.xml", rig.sip_addr(), customer_port, "x", &[]);
    let phone = agent_1001_answers(&rig, phone_port).await;
    let (code, log) = declines.finish().await;
    assert_eq!(code, 0, "declining customer phone: {log}");
    let declines = sipp_for(60, "customer_declines_callback.xml", rig.sip_addr(), customer_port, "x", &[]);
    let (code, log) = declines.finish().await;
    assert_eq!(code, 0, "declining customer phone, second time: {log}");

    let contact = rig.wait_for_contact(|c| c.id == waiting.id && c.status == ContactStatus::Ended).await;
    assert_eq!(contact.outcome, Some(ContactOutcome::Failed), "{contact:#?}");
    let steps = callback_steps(&rig, contact.id).await;
    let names: Vec<&str> = steps.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, ["chosen", "dialled", "not_reached", "dialled", "not_reached", "failed"], "{steps:?}");
    let counters = rig.voice.as_ref().expect("voice").counters();
    assert_eq!((counters.callbacks_dialled, counters.callbacks_answered), (2, 0), "{counters:?}");
    // The agent's leg was hung up by Hotline; its phone scenario (which would hang up after 5 s)
    // may end either way, so only its exit is awaited.
    let _ = phone.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_as_agent_1001_answers_a_call_from_the_ivr_and_is_heard_in_the_recording() {
    let rig = Rig::start(25_800).await;
    let phone_dir = tempfile::tempdir().expect("baresip dir");
    let phone_port = free_port();
    // A 440 Hz tone as the microphone and no loudspeaker: answering needs no sound card. Media on
    // 127.0.0.1 (`net_interface`): on its own it puts the machine's first address in its SDP.
    let settings = format!(
        "sip_listen\t\t127.0.0.1:{phone_port}\n\
         module_path\t\t/usr/lib/baresip/modules\n\
         module\t\t\tg711.so\n\
         module\t\t\tausine.so\n\
         audio_source\t\tausine,440\n\
         net_interface\t\t127.0.0.1\n\
         ausrc_srate\t\t48000\n\
         ausrc_channels\t\t2\n\
         module_app\t\taccount.so\n"
    );
    std::fs::write(phone_dir.path().join("config"), settings).expect("config");
    let account =
        format!("<sip:1001@{};transport=udp>;auth_pass=demo1001;regint=600;answermode=auto\n", rig.sip_addr());
    std::fs::write(phone_dir.path().join("accounts"), account).expect("accounts");
    let mut phone = tokio::process::Command::new("baresip")
        .args(["-f", &phone_dir.path().display().to_string(), "-t", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("baresip is installed (Debian package baresip)");
    let mut registered = false;
    for _ in 0..100 {
        let live = rig.store.list_live_sip_bindings(common::org(), common::now(), 100).await.expect("bindings");
        if live.iter().any(|b| b.extension.as_str() == "1001") {
            registered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(registered, "baresip did not register as 1001");
    rig.center.set_agent_state(agent("1001"), Presence::Available).await.expect("available");

    let caller = sipp("ivr_talks_and_hangs_up.xml", rig.sip_addr(), free_port(), "+8613800000002", &["-s", "4000"]);
    let (code, log) = caller.finish().await;
    let _ = phone.start_kill();
    let out = tokio::time::timeout(Duration::from_secs(10), phone.wait_with_output()).await.expect("baresip ends");
    let phone_log = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
        .unwrap_or_default();
    assert_eq!(code, 0, "caller scenario: {log}\nbaresip: {phone_log}");

    let contact = rig.wait_for_contact(|c| c.status == ContactStatus::Ended).await;
    assert_eq!(contact.outcome, Some(ContactOutcome::Answered), "{contact:#?}\nbaresip: {phone_log}");
    assert_eq!(contact.agent, Some(agent("1001")));
    assert!(contact.ivr_path.iter().any(|n| n == "agent_issue"), "path {:?}", contact.ivr_path);
    let recordings = rig
        .store
        .list_recordings_by_contact(common::org(), contact.id, &store::Page::first(10))
        .await
        .expect("recordings")
        .items;
    assert_eq!(recordings.len(), 1, "{recordings:#?}");
    let file = rig.recordings.join(&recordings[0].path);
    // baresip answers PCMU to the caller's PCMA: the agent's side is transcoded into the recording.
    let agent_side = sox_rms(&file, 2);
    assert!(agent_side > 0.005, "agent channel (baresip's tone) is silent: RMS {agent_side}; {recordings:#?}");
}
