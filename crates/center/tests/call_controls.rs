//! Live call controls through the center, against a real store (SQLite and PostgreSQL): a
//! control reaches the channel that took the controls only for a connected contact, with the
//! connected agent filled in, and the channel's answer comes back to the sender; what the
//! channel then did is recorded as a contact event and published as `call_updated`.

mod common;

use center::{CallChange, CallCommand, CallState, CenterError, LiveEvent, NewContact, OfferSignal};
use common::*;
use model::{Channel, ContactEventKind};

/// The next offer (announcements of the waiting contact come first).
async fn next_offer(offers: &mut tokio::sync::mpsc::Receiver<OfferSignal>) -> center::Offer {
    loop {
        match offers.recv().await {
            Some(OfferSignal::Offer(o)) => return o,
            Some(_) => continue,
            None => panic!("the offers ended"),
        }
    }
}

center_suite! {
    controls_reach_the_channel_only_for_connected_contacts_and_come_back_answered,
    call_changes_are_recorded_and_published_with_the_calls_state,
}

async fn controls_reach_the_channel_only_for_connected_contacts_and_come_back_answered(backend: Backend) {
    let rig = Rig::start(backend).await;
    let mut offers = rig.center.take_offers(Channel::Voice).await.expect("voice offers");
    let id = rig.center.submit(NewContact::new(Channel::Voice, "hotline", "+8613800000002")).await.expect("submit");

    // No consumer of voice controls yet, and the contact waits: refused either way, nothing sent.
    let waiting = rig.center.control_call(id, CallCommand::Hold).await;
    assert!(matches!(waiting, Err(CenterError::Invalid(ref m)) if m.contains("not connected")), "{waiting:?}");
    let unknown = rig.center.control_call(model::ContactId::from_u128(7), CallCommand::Hold).await;
    assert!(matches!(unknown, Err(CenterError::UnknownContact(_))), "{unknown:?}");

    rig.available(1001).await;
    let offer = next_offer(&mut offers).await;
    rig.center.accept(offer.agent, id).await.expect("answered");
    let no_consumer = rig.center.control_call(id, CallCommand::Hold).await;
    assert!(
        matches!(no_consumer, Err(CenterError::Invalid(ref m)) if m.contains("no call controls")),
        "{no_consumer:?}"
    );

    let mut controls = rig.center.take_call_controls(Channel::Voice).await.expect("controls");
    let taken = rig.center.take_call_controls(Channel::Voice).await;
    assert_eq!(taken.err(), Some(CenterError::OffersTaken(Channel::Voice)));
    let center = rig.center.clone();
    let sent = tokio::spawn(async move { center.control_call(id, CallCommand::PauseRecording).await });
    let control = controls.recv().await.expect("the control reaches the channel");
    assert_eq!(
        (control.contact, control.agent, control.command.clone()),
        (id, agent(1001), CallCommand::PauseRecording)
    );
    control.done(Err(CenterError::Invalid("the call is not being recorded".into())));
    let answer = sent.await.expect("joined");
    assert_eq!(answer, Err(CenterError::Invalid("the call is not being recorded".into())), "the channel's answer");

    let center = rig.center.clone();
    let sent = tokio::spawn(async move { center.control_call(id, CallCommand::Hold).await });
    controls.recv().await.expect("control").done(Ok(()));
    assert_eq!(sent.await.expect("joined"), Ok(()));
}

async fn call_changes_are_recorded_and_published_with_the_calls_state(backend: Backend) {
    let mut rig = Rig::start(backend).await;
    let mut offers = rig.center.take_offers(Channel::Voice).await.expect("voice offers");
    rig.available(1001).await;
    let id = rig.center.submit(NewContact::new(Channel::Voice, "hotline", "+8613800000002")).await.expect("submit");
    let offer = next_offer(&mut offers).await;
    rig.center.accept(offer.agent, id).await.expect("answered");
    rig.drain();

    let paused = CallState { recording_paused: true, ..CallState::default() };
    rig.center.call_changed(id, CallChange::RecordingPaused, paused).await.expect("recorded");
    rig.center.call_changed(id, CallChange::RecordingResumed, CallState::default()).await.expect("recorded");
    let events = rig.drain();
    let updates: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::CallUpdated { contact, agent: a, change, state, .. } => Some((*contact, *a, *change, *state)),
            _ => None,
        })
        .collect();
    assert_eq!(
        updates,
        vec![
            (id, Some(agent(1001)), "recording_paused", paused),
            (id, Some(agent(1001)), "recording_resumed", CallState::default())
        ]
    );
    let json = serde_json::to_value(&events[0]).expect("json");
    assert_eq!(
        (json["type"].as_str(), json["state"]["recording_paused"].as_bool()),
        (Some("call_updated"), Some(true))
    );
    rig.flushed().await;
    let kinds = rig.event_kinds(id).await;
    let paused_at = kinds.iter().position(|k| *k == ContactEventKind::RecordingPaused);
    let resumed_at = kinds.iter().position(|k| *k == ContactEventKind::RecordingResumed);
    assert!(matches!((paused_at, resumed_at), (Some(p), Some(r)) if p < r), "the pause interval is kept: {kinds:?}");

    let gone = rig.center.call_changed(model::ContactId::from_u128(9), CallChange::Held, CallState::default()).await;
    assert!(matches!(gone, Err(CenterError::UnknownContact(_))), "{gone:?}");
}
