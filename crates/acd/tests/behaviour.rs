//! The engine's behaviour, one rule per test: routing, priority, skills, relaxation, overflow,
//! limits, offers, agent states, wrap-up, capacity, callbacks and transfers.

mod common;

use acd::{CancelReason, EventKind, Input, OfferKind, Output, Presence, RejectReason, RequeueReason};
use common::*;
use model::{AgentState, Channel, ChannelCapacity, ContactOutcome, DurationMs, Language, ReasonCode, VipTier};

const SEED: &str = r#"
seed = 42
skills = ["technical", "billing", "vip"]

[[queues]]
name = "premium_support"
required_skills = [{ skill = "vip", min_proficiency = 5 }]
relaxation = [{ after = "30s", min_proficiency = 3 }, { after = "60s", drop_skills = true }]

[[queues]]
name = "tech_support"
required_skills = [{ skill = "technical", min_proficiency = 3 }]
overflow = { to = "general_support", after = "120s" }
wrap_up = "10s"
ring_timeout = "15s"
missed_offers_before_away = 2

[[queues]]
name = "general_support"
max_waiting = 2
max_wait = "10m"
priority_step = "60s"

[[entry_points]]
name = "hotline"
default_queue = "general_support"
rules = [
  { name = "vip_gold", vip = "gold", queue = "premium_support" },
  { name = "technical", issue_type = "technical", queue = "tech_support" },
]
"#;

fn setup() -> (Harness, model::QueueId, model::QueueId, model::QueueId) {
    let cfg = config(SEED);
    let ids = (queue_id(&cfg, "premium_support"), queue_id(&cfg, "tech_support"), queue_id(&cfg, "general_support"));
    (Harness::new(cfg), ids.0, ids.1, ids.2)
}

fn queued_in(out: &[Output]) -> Vec<model::QueueId> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            EventKind::ContactQueued { queue, .. } => Some(queue),
            _ => None,
        })
        .collect()
}

#[test]
fn gold_caller_through_the_entry_point_waits_in_premium_support() {
    let (mut h, premium, _, _) = setup();
    let mut req = contact(1, Channel::Voice, premium);
    req.entry = entry("hotline");
    req.vip = VipTier::Gold;
    let out = h.arrive(t(0), req);
    assert_eq!(queued_in(&out), vec![premium]);
}

#[test]
fn technical_issue_goes_to_tech_support_and_to_a_technical_agent() {
    let (mut h, _, tech, general) = setup();
    h.login(t(0), AgentB::new(1, &[tech, general]));
    h.login(t(0), AgentB::new(2, &[tech]).skill("technical", 5));
    let mut req = contact(1, Channel::Voice, general);
    req.entry = entry("hotline");
    req.issue_type = Some("technical".into());
    let out = h.arrive(t(1), req);
    assert_eq!(queued_in(&out), vec![tech]);
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(2))]);
}

#[test]
fn unknown_entry_point_is_an_error_and_changes_nothing() {
    let (mut h, premium, _, _) = setup();
    let mut req = contact(1, Channel::Voice, premium);
    req.entry = entry("nope");
    assert!(h.acd.handle(t(0), Input::ContactArrived(req)).is_err());
    assert_eq!(h.acd.live_contacts(), 0);
}

#[test]
fn arrival_is_announced_with_position_and_ewt() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.arrive(t(0), contact(1, Channel::Voice, general));
    let out = h.arrive(t(1), contact(2, Channel::Voice, general));
    let announce = out.iter().find_map(|o| match o {
        Output::Announce { position, ewt, .. } => Some((*position, *ewt)),
        _ => None,
    });
    // Default handle time 3 min, one agent serving, first in line: 180 s.
    assert_eq!(announce, Some((1, DurationMs::from_secs(180))));
}

#[test]
fn higher_priority_contact_is_served_before_earlier_normal_ones() {
    let (mut h, _, _, general) = setup();
    h.arrive(t(0), contact(1, Channel::Voice, general));
    let mut urgent = contact(2, Channel::Voice, general);
    urgent.priority = 1;
    h.arrive(t(30), urgent);
    let out = h.login(t(40), AgentB::new(1, &[general]));
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(1))]);
}

#[test]
fn priority_ages_so_a_long_waiting_contact_eventually_beats_a_priority_one() {
    let (mut h, _, _, general) = setup();
    h.arrive(t(0), contact(1, Channel::Voice, general));
    let mut urgent = contact(2, Channel::Voice, general);
    urgent.priority = 1;
    // One priority point is worth 60 s of waiting: 61 s later the old contact is ahead.
    h.arrive(t(61), urgent);
    let out = h.login(t(62), AgentB::new(1, &[general]));
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(1))]);
}

#[test]
fn contacts_of_equal_priority_are_served_first_in_first_out() {
    let (mut h, _, _, general) = setup();
    h.arrive(t(0), contact(1, Channel::Voice, general));
    h.arrive(t(1), contact(2, Channel::Voice, general));
    let out = h.login(t(2), AgentB::new(1, &[general]));
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(1))]);
}

#[test]
fn contact_waits_for_an_agent_with_enough_proficiency() {
    let (mut h, premium, _, _) = setup();
    h.login(t(0), AgentB::new(1, &[premium]).skill("vip", 4));
    let out = h.arrive(t(0), contact(1, Channel::Voice, premium));
    assert!(offers(&out).is_empty());
}

#[test]
fn after_30_s_proficiency_three_is_accepted() {
    let (mut h, premium, _, _) = setup();
    h.login(t(0), AgentB::new(1, &[premium]).skill("vip", 3));
    h.arrive(t(0), contact(1, Channel::Voice, premium));
    assert!(offers(&h.tick(t(29))).is_empty());
    let out = h.tick(t(30));
    assert!(events(&out).contains(&EventKind::ContactRelaxed { contact: contact_id(1), step: 1 }));
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(1))]);
}

#[test]
fn after_60_s_any_agent_speaking_the_language_is_accepted() {
    let (mut h, premium, _, _) = setup();
    h.login(t(0), AgentB::new(1, &[premium]).language("en"));
    h.login(t(0), AgentB::new(2, &[premium]).language("zh"));
    let mut req = contact(1, Channel::Voice, premium);
    req.language = Some(Language::parse("zh-CN").expect("valid"));
    h.arrive(t(0), req);
    assert!(offers(&h.tick(t(59))).is_empty());
    assert_eq!(offers(&h.tick(t(60))), vec![(contact_id(1), agent_id(2))]);
}

#[test]
fn contact_overflows_after_waiting_the_configured_time() {
    let (mut h, _, tech, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.send(t(0), Input::AgentPresence { agent: agent_id(1), presence: Presence::Away(reason("lunch")) });
    h.arrive(t(0), contact(1, Channel::Voice, tech));
    let out = h.tick(t(120));
    assert!(out.contains(&Output::Overflow { contact: contact_id(1), from: tech, to: general }));
    assert_eq!(queued_in(&out), vec![general]);
}

#[test]
fn contact_overflows_on_arrival_when_ewt_exceeds_the_limit() {
    let cfg = config(
        r#"
[[queues]]
name = "small"
default_handle_time = "5m"
overflow = { to = "big", when_ewt_exceeds = "2m" }
[[queues]]
name = "big"
"#,
    );
    let (small, big) = (queue_id(&cfg, "small"), queue_id(&cfg, "big"));
    let mut h = Harness::new(cfg);
    h.login(t(0), AgentB::new(1, &[small]));
    h.arrive(t(0), contact(1, Channel::Voice, small));
    // Position 1 with one busy agent and 5 min handle time: EWT 5 min > 2 min.
    let out = h.arrive(t(1), contact(2, Channel::Voice, small));
    assert!(out.contains(&Output::Overflow { contact: contact_id(2), from: small, to: big }));
}

#[test]
fn full_queue_rejects_with_its_fallback() {
    let (mut h, _, _, general) = setup();
    h.arrive(t(0), contact(1, Channel::Voice, general));
    h.arrive(t(0), contact(2, Channel::Voice, general));
    let out = h.arrive(t(0), contact(3, Channel::Voice, general));
    assert!(out.contains(&Output::Reject {
        contact: contact_id(3),
        queue: Some(general),
        reason: RejectReason::QueueFull(acd::FullFallback::Busy)
    }));
    assert!(
        events(&out)
            .contains(&EventKind::ContactFinished { contact: contact_id(3), outcome: ContactOutcome::Rejected })
    );
}

#[test]
fn closed_queue_rejects_as_closed() {
    let (mut h, _, _, general) = setup();
    h.send(t(0), Input::SetQueueOpen { queue: general, open: false });
    let out = h.arrive(t(0), contact(1, Channel::Voice, general));
    assert!(out.contains(&Output::Reject {
        contact: contact_id(1),
        queue: Some(general),
        reason: RejectReason::Closed
    }));
}

#[test]
fn contact_waiting_past_max_wait_times_out() {
    let (mut h, _, _, general) = setup();
    h.arrive(t(0), contact(1, Channel::Voice, general));
    let out = h.tick(t(600));
    assert!(
        events(&out)
            .contains(&EventKind::ContactFinished { contact: contact_id(1), outcome: ContactOutcome::TimedOut })
    );
    assert_eq!(h.acd.live_contacts(), 0);
}

#[test]
fn unanswered_offer_is_requeued_and_counts_as_missed() {
    let (mut h, _, tech, _) = setup();
    h.login(t(0), AgentB::new(1, &[tech]).skill("technical", 5));
    h.arrive(t(0), contact(1, Channel::Voice, tech));
    let out = h.tick(t(15));
    assert!(out.contains(&Output::CancelOffer {
        contact: contact_id(1),
        agent: agent_id(1),
        reason: CancelReason::RingTimeout
    }));
    assert!(out.contains(&Output::Requeue { contact: contact_id(1), queue: tech, reason: RequeueReason::NoAnswer }));
}

#[test]
fn two_missed_offers_in_a_row_put_the_agent_away_with_reason_missed() {
    let (mut h, _, tech, _) = setup();
    h.login(t(0), AgentB::new(1, &[tech]).skill("technical", 5));
    h.arrive(t(0), contact(1, Channel::Voice, tech));
    h.arrive(t(0), contact(2, Channel::Voice, tech));
    h.tick(t(15)); // misses contact 1, gets contact 2
    let out = h.tick(t(30)); // misses contact 2
    assert!(events(&out).iter().any(|e| matches!(e,
        EventKind::AgentStateChanged { to: AgentState::Away, reason: Some(r), .. } if r.as_str() == "missed")));
    assert_eq!(h.acd.agent_state(agent_id(1)), Some(AgentState::Away));
}

#[test]
fn failed_rings_count_as_missed_so_a_failing_agent_goes_away_and_others_take_the_work() {
    let (mut h, _, tech, _) = setup();
    h.login(t(0), AgentB::new(1, &[tech]).skill("technical", 5));
    h.arrive(t(0), contact(1, Channel::Voice, tech));
    h.arrive(t(0), contact(2, Channel::Voice, tech));
    h.arrive(t(0), contact(3, Channel::Voice, tech));
    // Agent 1's phone fails at once: the next contact is offered to it (one miss so far)...
    let out = h.send(t(1), Input::OfferFailed { agent: agent_id(1), contact: contact_id(1) });
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(1))]);
    // ...and the second failure in a row (the queue's limit) puts it Away "missed", offered nothing.
    let out = h.send(t(1), Input::OfferFailed { agent: agent_id(1), contact: contact_id(2) });
    assert!(offers(&out).is_empty());
    assert!(events(&out).iter().any(|e| matches!(e,
        EventKind::AgentStateChanged { to: AgentState::Away, reason: Some(r), .. } if r.as_str() == "missed")));
    // A working agent who logs in gets the waiting contacts.
    let out = h.login(t(2), AgentB::new(2, &[tech]).skill("technical", 5));
    assert_eq!(offers(&out).len(), 1);
    assert_eq!(offers(&out)[0].1, agent_id(2));
}

#[test]
fn declined_offers_do_not_count_as_missed() {
    let (mut h, _, tech, _) = setup();
    h.login(t(0), AgentB::new(1, &[tech]).skill("technical", 5));
    for i in 1..=3 {
        h.arrive(t(0), contact(i, Channel::Voice, tech));
    }
    h.send(t(1), Input::OfferRejected { agent: agent_id(1), contact: contact_id(1) });
    h.send(t(1), Input::OfferRejected { agent: agent_id(1), contact: contact_id(2) });
    assert_ne!(h.acd.agent_state(agent_id(1)), Some(AgentState::Away));
}

#[test]
fn answering_resets_the_missed_count() {
    let (mut h, _, tech, _) = setup();
    h.login(t(0), AgentB::new(1, &[tech]).skill("technical", 5));
    h.arrive(t(0), contact(1, Channel::Voice, tech));
    h.tick(t(15));
    h.send(t(20), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    h.send(t(30), Input::ContactEnded(contact_id(1)));
    h.tick(t(40));
    h.arrive(t(41), contact(2, Channel::Voice, tech));
    h.tick(t(56));
    assert_eq!(h.acd.agent_state(agent_id(1)), Some(AgentState::Available));
}

#[test]
fn rejected_offer_goes_to_another_agent() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.login(t(1), AgentB::new(2, &[general]));
    h.arrive(t(2), contact(1, Channel::Voice, general));
    let out = h.send(t(3), Input::OfferRejected { agent: agent_id(1), contact: contact_id(1) });
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(2))]);
}

#[test]
fn wrap_up_holds_the_agent_for_the_queue_wrap_up_time() {
    let (mut h, _, tech, _) = setup();
    h.login(t(0), AgentB::new(1, &[tech]).skill("technical", 5));
    h.arrive(t(0), contact(1, Channel::Voice, tech));
    h.send(t(1), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    h.arrive(t(2), contact(2, Channel::Voice, tech));
    h.send(t(50), Input::ContactEnded(contact_id(1)));
    assert_eq!(h.acd.agent_state(agent_id(1)), Some(AgentState::WrapUp));
    assert!(offers(&h.tick(t(59))).is_empty());
    assert_eq!(offers(&h.tick(t(60))), vec![(contact_id(2), agent_id(1))]);
}

#[test]
fn agent_can_end_wrap_up_early() {
    let (mut h, _, tech, _) = setup();
    h.login(t(0), AgentB::new(1, &[tech]).skill("technical", 5));
    h.arrive(t(0), contact(1, Channel::Voice, tech));
    h.send(t(1), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    h.send(t(5), Input::ContactEnded(contact_id(1)));
    h.send(t(6), Input::WrapUpDone { agent: agent_id(1), contact: contact_id(1) });
    assert_eq!(h.acd.agent_state(agent_id(1)), Some(AgentState::Available));
}

fn reason(r: &str) -> ReasonCode {
    ReasonCode::parse(r).expect("valid reason")
}

#[test]
fn away_agent_gets_no_offers() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.send(t(0), Input::AgentPresence { agent: agent_id(1), presence: Presence::Away(reason("break")) });
    let out = h.arrive(t(1), contact(1, Channel::Voice, general));
    assert!(offers(&out).is_empty());
}

#[test]
fn supervisor_forcing_away_withdraws_the_ringing_offer() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.arrive(t(1), contact(1, Channel::Voice, general));
    let out = h.send(t(2), Input::SupervisorForce { agent: agent_id(1), presence: Presence::Away(reason("meeting")) });
    assert!(out.contains(&Output::CancelOffer {
        contact: contact_id(1),
        agent: agent_id(1),
        reason: CancelReason::AgentUnavailable
    }));
    assert!(events(&out).iter().any(|e| matches!(e, EventKind::AgentStateChanged { by_supervisor: true, .. })));
    assert_eq!(h.acd.queue_position(contact_id(1)), Some(1));
}

#[test]
fn agent_coming_back_available_gets_the_waiting_contact() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.send(t(0), Input::AgentPresence { agent: agent_id(1), presence: Presence::Away(reason("lunch")) });
    h.arrive(t(1), contact(1, Channel::Voice, general));
    let out = h.send(t(2), Input::AgentPresence { agent: agent_id(1), presence: Presence::Available });
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(1))]);
}

#[test]
fn chat_agent_takes_up_to_three_chats_at_once() {
    let (mut h, _, _, general) = setup();
    let cap = ChannelCapacity { voice: 1, chat: 3, email: 2, social: 0, voice_blocks_others: true };
    h.login(t(0), AgentB::new(1, &[general]).capacity(cap));
    h.arrive(t(0), contact(1, Channel::Chat, general));
    h.arrive(t(0), contact(2, Channel::Chat, general));
    h.send(t(0), Input::ContactAbandoned(contact_id(2)));
    h.arrive(t(0), contact(3, Channel::Chat, general));
    h.arrive(t(0), contact(4, Channel::Chat, general));
    let out = h.arrive(t(0), contact(5, Channel::Chat, general));
    assert!(offers(&out).is_empty());
    let all: Vec<_> = offers(&h.log).into_iter().map(|(c, _)| c).collect();
    assert_eq!(all, vec![contact_id(1), contact_id(2), contact_id(3), contact_id(4)]);
}

#[test]
fn voice_call_blocks_new_chats_when_configured() {
    let (mut h, _, _, general) = setup();
    let cap = ChannelCapacity { voice: 1, chat: 3, email: 2, social: 0, voice_blocks_others: true };
    h.login(t(0), AgentB::new(1, &[general]).capacity(cap));
    h.arrive(t(0), contact(1, Channel::Voice, general));
    let out = h.arrive(t(0), contact(2, Channel::Chat, general));
    assert!(offers(&out).is_empty());
}

#[test]
fn voice_call_does_not_block_chats_when_not_configured() {
    let (mut h, _, _, general) = setup();
    let cap = ChannelCapacity { voice: 1, chat: 3, email: 2, social: 0, voice_blocks_others: false };
    h.login(t(0), AgentB::new(1, &[general]).capacity(cap));
    h.arrive(t(0), contact(1, Channel::Voice, general));
    let out = h.arrive(t(0), contact(2, Channel::Chat, general));
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(1))]);
}

#[test]
fn email_and_social_contacts_use_their_own_capacity() {
    let (mut h, _, _, general) = setup();
    let cap = ChannelCapacity { voice: 0, chat: 0, email: 1, social: 1, voice_blocks_others: true };
    h.login(t(0), AgentB::new(1, &[general]).capacity(cap));
    let a = h.arrive(t(0), contact(1, Channel::Email, general));
    let b = h.arrive(t(0), contact(2, Channel::WeChat, general));
    let c = h.arrive(t(0), contact(3, Channel::Weibo, general));
    assert_eq!(offers(&a).len() + offers(&b).len() + offers(&c).len(), 2);
}

#[test]
fn callback_keeps_its_place_and_is_offered_as_a_callback() {
    let (mut h, _, _, general) = setup();
    h.arrive(t(0), contact(1, Channel::Voice, general));
    h.arrive(t(1), contact(2, Channel::Voice, general));
    let out = h.send(t(5), Input::CallbackChosen(contact_id(1)));
    assert!(events(&out).iter().any(|e| matches!(e, EventKind::CallbackQueued { .. })));
    let out = h.login(t(300), AgentB::new(1, &[general]));
    // The callback kept its place ahead of contact 2.
    assert!(
        out.iter().any(
            |o| matches!(o, Output::Offer { contact, kind: OfferKind::Callback, .. } if *contact == contact_id(1))
        )
    );
}

#[test]
fn transfer_to_another_queue_keeps_priority_and_history() {
    let (mut h, _, tech, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    let mut req = contact(1, Channel::Voice, general);
    req.priority = 2;
    h.arrive(t(0), req);
    h.send(t(1), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    h.arrive(t(50), contact(2, Channel::Voice, tech));
    h.send(t(60), Input::TransferToQueue { contact: contact_id(1), queue: tech });
    let history = h.acd.contact_history(contact_id(1)).expect("live contact").len();
    assert_eq!(history, 4); // queued, answered, transferred, queued
    let out = h.login(t(70), AgentB::new(2, &[tech]).skill("technical", 9));
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(2))]);
}

#[test]
fn transfer_to_a_named_expert_waits_for_that_expert() {
    let (mut h, _, tech, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.login(t(0), AgentB::new(2, &[tech]).skill("technical", 9));
    h.login(t(0), AgentB::new(3, &[general]));
    h.arrive(t(0), contact(9, Channel::Voice, tech));
    h.send(t(1), Input::OfferAccepted { agent: agent_id(2), contact: contact_id(9) });
    h.arrive(t(2), contact(1, Channel::Voice, general));
    h.send(t(3), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    let out = h.send(t(10), Input::TransferToAgent { contact: contact_id(1), agent: agent_id(2) });
    assert!(offers(&out).is_empty(), "agent 3 is free but the transfer names agent 2");
    let out = h.send(t(20), Input::ContactEnded(contact_id(9)));
    let out = [out, h.tick(t(30))].concat();
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(2))]);
}

#[test]
fn abandoned_contact_ends_as_abandoned_and_frees_the_ringing_agent() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.arrive(t(0), contact(1, Channel::Voice, general));
    h.arrive(t(0), contact(2, Channel::Voice, general));
    let out = h.send(t(3), Input::ContactAbandoned(contact_id(1)));
    assert!(
        events(&out)
            .contains(&EventKind::ContactFinished { contact: contact_id(1), outcome: ContactOutcome::Abandoned })
    );
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(1))]);
}

#[test]
fn agent_in_two_queues_serves_the_lower_penalty_queue_first() {
    let (mut h, _, tech, general) = setup();
    h.arrive(t(0), contact(1, Channel::Voice, general));
    h.arrive(t(5), contact(2, Channel::Voice, tech));
    let agent = AgentB::new(1, &[general, tech]).skill("technical", 5).penalty(general, 2).penalty(tech, 0);
    let out = h.login(t(6), agent);
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(1))]);
}

#[test]
fn lower_penalty_agent_is_offered_before_a_longer_idle_higher_penalty_one() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]).penalty(general, 3));
    h.login(t(5), AgentB::new(2, &[general]).penalty(general, 1));
    let out = h.arrive(t(6), contact(1, Channel::Voice, general));
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(2))]);
}

#[test]
fn every_change_is_an_event_with_its_time() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    let out = h.arrive(t(3), contact(1, Channel::Voice, general));
    let at: Vec<_> = out.iter().filter_map(|o| if let Output::Event(e) = o { Some(e.at) } else { None }).collect();
    assert!(at.len() >= 3 && at.iter().all(|&x| x == t(3)));
}

#[test]
fn answered_event_reports_the_wait() {
    let (mut h, _, _, general) = setup();
    h.arrive(t(0), contact(1, Channel::Voice, general));
    h.login(t(12), AgentB::new(1, &[general]));
    let out = h.send(t(14), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, EventKind::ContactAnswered { wait, .. } if *wait == DurationMs::from_secs(14)))
    );
}

#[test]
fn accepting_an_offer_that_was_not_made_is_refused() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.arrive(t(0), contact(1, Channel::Voice, general));
    let err = h.acd.handle(t(1), Input::OfferAccepted { agent: agent_id(2), contact: contact_id(1) });
    assert!(err.is_err());
}

#[test]
fn contact_in_a_language_no_agent_spoke_yet_is_served_when_one_logs_in() {
    let (mut h, _, _, general) = setup();
    let mut req = contact(1, Channel::Voice, general);
    req.language = Some(Language::parse("pt-BR").expect("valid"));
    h.arrive(t(0), req);
    h.login(t(1), AgentB::new(1, &[general]).language("en"));
    let out = h.login(t(2), AgentB::new(2, &[general]).language("pt"));
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(2))]);
}

#[test]
fn ring_all_with_nobody_answering_requeues_the_contact() {
    let cfg = config("[[queues]]\nname = \"q\"\nstrategy = \"ring_all\"\nring_timeout = \"10s\"\n");
    let q = queue_id(&cfg, "q");
    let mut h = Harness::new(cfg);
    h.login(t(0), AgentB::new(1, &[q]));
    h.login(t(0), AgentB::new(2, &[q]));
    h.arrive(t(1), contact(1, Channel::Voice, q));
    let out = h.tick(t(11));
    let timed_out = events(&out).iter().filter(|e| matches!(e, EventKind::OfferTimedOut { .. })).count();
    assert_eq!(timed_out, 2);
    assert!(out.contains(&Output::Requeue { contact: contact_id(1), queue: q, reason: RequeueReason::NoAnswer }));
}

#[test]
fn supervisor_can_force_a_missed_agent_back_to_available() {
    let (mut h, _, tech, _) = setup();
    h.login(t(0), AgentB::new(1, &[tech]).skill("technical", 5));
    h.arrive(t(0), contact(1, Channel::Voice, tech));
    h.tick(t(15));
    h.tick(t(20)); // re-offered after the decline pause
    h.tick(t(35)); // second miss: Away "missed"
    assert_eq!(h.acd.agent_state(agent_id(1)), Some(AgentState::Away));
    let out = h.send(t(40), Input::SupervisorForce { agent: agent_id(1), presence: Presence::Available });
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(1))]);
}

#[test]
fn logged_out_agent_cannot_be_made_available_without_logging_in() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.send(t(1), Input::AgentLoggedOut(agent_id(1)));
    let forced = h.acd.handle(t(2), Input::SupervisorForce { agent: agent_id(1), presence: Presence::Available });
    assert!(forced.is_err());
    assert_eq!(h.acd.agent_state(agent_id(1)), Some(AgentState::Offline));
}

#[test]
fn overflow_and_requeue_are_events_too() {
    let (mut h, _, tech, general) = setup();
    h.login(t(0), AgentB::new(1, &[tech]).skill("technical", 5));
    h.arrive(t(0), contact(1, Channel::Voice, tech));
    let requeued = h.tick(t(15));
    assert!(events(&requeued).iter().any(|e| matches!(e, EventKind::ContactRequeued { .. })));
    h.send(t(16), Input::AgentLoggedOut(agent_id(1)));
    let overflowed = h.tick(t(120));
    assert!(events(&overflowed).contains(&EventKind::ContactOverflowed {
        contact: contact_id(1),
        from: tech,
        to: general
    }));
}

#[test]
fn stale_timers_are_swept_so_the_timer_heap_stays_bounded() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    for n in 0..20_000u128 {
        h.acd.handle(t(0), Input::ContactArrived(contact(n, Channel::Voice, general))).expect("arrives");
        h.acd.handle(t(0), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(n) }).expect("accepted");
        h.acd.handle(t(0), Input::ContactEnded(contact_id(n))).expect("ended");
        while h.acd.poll_output().is_some() {}
    }
    assert!(h.acd.pending_timers() <= acd::engine::MIN_TIMERS_BEFORE_SWEEP, "{}", h.acd.pending_timers());
}

#[test]
fn contact_rejected_by_the_named_expert_goes_back_to_its_queue() {
    let (mut h, _, _, general) = setup();
    h.login(t(0), AgentB::new(1, &[general]));
    h.login(t(0), AgentB::new(2, &[general]));
    h.arrive(t(0), contact(1, Channel::Voice, general));
    h.send(t(1), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    let out = h.send(t(2), Input::TransferToAgent { contact: contact_id(1), agent: agent_id(2) });
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(2))]);
    let out = h.send(t(3), Input::OfferRejected { agent: agent_id(2), contact: contact_id(1) });
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(1))]);
}

#[test]
fn member_without_the_queue_skill_is_never_offered_its_contacts() {
    let (mut h, _, tech, _) = setup();
    h.login(t(0), AgentB::new(1, &[tech]));
    let out = h.arrive(t(1), contact(1, Channel::Voice, tech));
    assert!(offers(&out).is_empty());
    assert_eq!(h.acd.queue_snapshot(tech).map(|s| s.available_agents), Some(0));
}
