//! Repeated position and EWT announcements (`announce_interval`): every waiting contact hears
//! them at the queue's interval, driven by `poll_timeout`/`handle_timeout`, and they stop when
//! the contact leaves the queue.

mod common;

use acd::{Input, Output};
use common::*;
use model::{Channel, ContactId, DurationMs, QueueId};

const CONFIG: &str = r#"
seed = 3
skills = ["technical"]

[[queues]]
name = "general"
announce_interval = "30s"
default_handle_time = "2m"
relaxation = [{ after = "10s", drop_language = true }]

[[queues]]
name = "quiet"
"#;

fn setup() -> (Harness, QueueId, QueueId) {
    let cfg = config(CONFIG);
    let (general, quiet) = (queue_id(&cfg, "general"), queue_id(&cfg, "quiet"));
    (Harness::new(cfg), general, quiet)
}

/// `(contact, position, ewt)` of every announcement in `out`.
fn announced(out: &[Output]) -> Vec<(ContactId, u32, DurationMs)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Announce { contact, position, ewt, .. } => Some((*contact, *position, *ewt)),
            _ => None,
        })
        .collect()
}

/// One agent busy with contact 1; contacts 2 and 3 wait behind it.
fn two_waiting(h: &mut Harness, q: QueueId) {
    h.login(t(0), AgentB::new(1, &[q]));
    h.arrive(t(0), contact(1, Channel::Voice, q));
    h.send(t(0), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    h.arrive(t(0), contact(2, Channel::Voice, q));
    h.arrive(t(0), contact(3, Channel::Voice, q));
}

#[test]
fn waiting_contacts_hear_position_and_ewt_again_every_interval() {
    let (mut h, q, _) = setup();
    two_waiting(&mut h, q);
    // Follow the engine's own wake-ups, as the shell does, up to 30 s.
    let mut heard = Vec::new();
    while let Some(at) = h.acd.poll_timeout().filter(|&at| at <= t(30)) {
        heard.extend(announced(&h.tick(at)).into_iter().map(|a| (at, a)));
    }
    // One serving agent, AHT 2 min: EWT = position × 120 s.
    let expected = vec![(contact_id(2), 1, DurationMs::from_secs(120)), (contact_id(3), 2, DurationMs::from_secs(240))];
    assert_eq!(heard, expected.iter().map(|&a| (t(30), a)).collect::<Vec<_>>());
    assert_eq!(announced(&h.tick(t(59))), vec![]);
    assert_eq!(announced(&h.tick(t(60))), expected);
    assert_eq!(h.acd.pending_announcements(), 2);
}

#[test]
fn repeats_stop_when_the_contact_is_offered_and_the_next_one_moves_up() {
    let (mut h, q, _) = setup();
    two_waiting(&mut h, q);
    let out = h.send(t(20), Input::ContactEnded(contact_id(1)));
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(1))]);
    assert_eq!(h.acd.pending_announcements(), 1);
    // The 20 s call pulled the recent AHT down: 120 s + (20 s − 120 s) / 32 = 116.875 s.
    assert_eq!(announced(&h.tick(t(30))), vec![(contact_id(3), 1, DurationMs::from_ms(116_875))]);
}

#[test]
fn repeats_stop_when_the_contact_abandons() {
    let (mut h, q, _) = setup();
    two_waiting(&mut h, q);
    h.send(t(10), Input::ContactAbandoned(contact_id(2)));
    h.send(t(10), Input::ContactAbandoned(contact_id(3)));
    assert_eq!(h.acd.pending_announcements(), 0);
    assert!(announced(&h.tick(t(30))).is_empty());
}

#[test]
fn a_callback_placeholder_is_not_announced_again() {
    let (mut h, q, _) = setup();
    two_waiting(&mut h, q);
    h.send(t(5), Input::CallbackChosen(contact_id(2)));
    assert_eq!(announced(&h.tick(t(30))), vec![(contact_id(3), 2, DurationMs::from_secs(240))]);
}

#[test]
fn queue_without_an_interval_announces_only_on_arrival() {
    let (mut h, _, quiet) = setup();
    h.login(t(0), AgentB::new(1, &[quiet]));
    h.arrive(t(0), contact(1, Channel::Voice, quiet));
    assert_eq!(announced(&h.arrive(t(0), contact(2, Channel::Voice, quiet))).len(), 1);
    assert_eq!(h.acd.pending_announcements(), 0);
    assert!(announced(&h.tick(t(600))).is_empty());
}

#[test]
fn relaxation_keeps_the_announcement_cadence() {
    let (mut h, q, _) = setup();
    two_waiting(&mut h, q);
    h.tick(t(10)); // both contacts relax: out of their class and back in
    assert!(announced(&h.tick(t(29))).is_empty());
    assert_eq!(announced(&h.tick(t(30))).len(), 2);
}

#[test]
fn a_requeued_contact_is_announced_again_one_interval_after_requeue() {
    let (mut h, q, _) = setup();
    h.login(t(0), AgentB::new(1, &[q]));
    h.arrive(t(0), contact(1, Channel::Voice, q)); // rings agent 1, not waiting
    assert_eq!(h.acd.pending_announcements(), 0);
    h.send(t(5), Input::OfferRejected { agent: agent_id(1), contact: contact_id(1) });
    assert_eq!(h.acd.pending_announcements(), 1);
    assert!(announced(&h.tick(t(34))).is_empty());
    assert_eq!(announced(&h.tick(t(35))).len(), 1);
}

#[test]
fn a_late_tick_announces_each_contact_once_and_restarts_the_cadence() {
    let (mut h, q, _) = setup();
    two_waiting(&mut h, q);
    assert_eq!(announced(&h.tick(t(100))).len(), 2);
    assert_eq!(h.acd.poll_timeout(), Some(t(130)));
}

#[test]
fn repeats_keep_one_entry_per_waiting_contact_and_a_bounded_burst_per_call() {
    let (mut h, q, _) = setup();
    h.login(t(0), AgentB::new(1, &[q]));
    h.arrive(t(0), contact(0, Channel::Voice, q));
    h.send(t(0), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(0) });
    let waiting = acd::engine::MAX_ANNOUNCEMENTS_PER_CALL + 1_000;
    for n in 1..=(waiting as u128) {
        h.acd.handle(t(0), Input::ContactArrived(contact(n, Channel::Voice, q))).expect("arrives");
    }
    h.drain_unchecked();
    let timers = h.acd.pending_timers();
    assert_eq!(h.acd.pending_announcements(), waiting);
    for round in 1..=5i64 {
        h.acd.handle_timeout(t(30 * round));
        assert_eq!(announced(&h.drain_unchecked()).len(), acd::engine::MAX_ANNOUNCEMENTS_PER_CALL);
        // The rest are still due: the shell is told to call again at once.
        assert!(h.acd.poll_timeout().is_some_and(|at| at <= t(30 * round)));
        h.acd.handle_timeout(t(30 * round));
        assert_eq!(announced(&h.drain_unchecked()).len(), 1_000);
        assert_eq!(h.acd.pending_announcements(), waiting);
    }
    assert!(h.acd.pending_timers() <= timers, "repeats never add heap timers");
    h.acd.check_invariants().expect("invariants hold");
}

#[test]
fn contacts_that_come_and_go_leave_no_repeats_behind() {
    let (mut h, q, _) = setup();
    two_waiting(&mut h, q);
    // Far more short-lived waiters than the FIFO keeps stale entries for: it gets swept.
    let churn = 3 * acd::engine::MIN_REPEATS_BEFORE_SWEEP as u128;
    for n in 10..10 + churn {
        h.acd.handle(t(1), Input::ContactArrived(contact(n, Channel::Voice, q))).expect("arrives");
        h.acd.handle(t(1), Input::ContactAbandoned(contact_id(n))).expect("abandons");
    }
    h.drain();
    assert_eq!(h.acd.pending_announcements(), 2);
    assert!(h.acd.repeat_entries() <= 2 * 2 + acd::engine::MIN_REPEATS_BEFORE_SWEEP, "{}", h.acd.repeat_entries());
    let expected = vec![(contact_id(2), 1, DurationMs::from_secs(120)), (contact_id(3), 2, DurationMs::from_secs(240))];
    assert_eq!(announced(&h.tick(t(30))), expected);
    assert!(announced(&h.tick(t(31))).is_empty(), "the abandoned contacts are never announced");
}
