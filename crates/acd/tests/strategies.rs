//! One test per routing strategy: which available agent gets the contact.

mod common;

use acd::{CancelReason, Input, Output};
use common::*;
use model::Channel;

fn one_queue(strategy: &str, extra: &str) -> (Harness, model::QueueId) {
    let cfg = config(&format!(
        "seed = 99\nskills = [\"technical\"]\n[[queues]]\nname = \"q\"\nstrategy = \"{strategy}\"\n{extra}\n"
    ));
    let q = queue_id(&cfg, "q");
    (Harness::new(cfg), q)
}

/// Answers and ends a contact at once, leaving the agent available again.
fn handle(h: &mut Harness, at: i64, n: u128, agent: u128) {
    h.send(t(at), Input::OfferAccepted { agent: agent_id(agent), contact: contact_id(n) });
    h.send(t(at), Input::ContactEnded(contact_id(n)));
}

#[test]
fn round_robin_continues_after_the_last_agent_offered() {
    let (mut h, q) = one_queue("round_robin", "");
    for a in 1..=3 {
        h.login(t(0), AgentB::new(a, &[q]));
    }
    let mut got = Vec::new();
    for n in 1..=5 {
        let out = h.arrive(t(n as i64), contact(n, Channel::Voice, q));
        let (_, agent) = offers(&out)[0];
        got.push(agent);
        let a = (1..=3).find(|&a| agent_id(a) == agent).expect("known agent");
        handle(&mut h, n as i64, n, a);
    }
    assert_eq!(got, vec![agent_id(1), agent_id(2), agent_id(3), agent_id(1), agent_id(2)]);
}

#[test]
fn longest_idle_offers_the_agent_idle_longest() {
    let (mut h, q) = one_queue("longest_idle", "");
    h.login(t(0), AgentB::new(1, &[q]));
    h.login(t(10), AgentB::new(2, &[q]));
    h.arrive(t(11), contact(1, Channel::Voice, q));
    handle(&mut h, 12, 1, 1); // agent 1 idle again since 12, agent 2 since 10
    let out = h.arrive(t(13), contact(2, Channel::Voice, q));
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(2))]);
}

#[test]
fn least_occupied_offers_the_agent_with_fewest_contacts_today() {
    let (mut h, q) = one_queue("least_occupied", "");
    h.login(t(0), AgentB::new(1, &[q]));
    h.arrive(t(1), contact(1, Channel::Voice, q));
    handle(&mut h, 2, 1, 1);
    h.arrive(t(3), contact(2, Channel::Voice, q));
    handle(&mut h, 4, 2, 1);
    h.login(t(5), AgentB::new(2, &[q]));
    h.arrive(t(6), contact(3, Channel::Voice, q));
    handle(&mut h, 7, 3, 2);
    // Agent 1 handled 2, agent 2 handled 1 and was idle for less time: fewest contacts wins.
    let out = h.arrive(t(8), contact(4, Channel::Voice, q));
    assert_eq!(offers(&out), vec![(contact_id(4), agent_id(2))]);
}

#[test]
fn least_occupied_counts_start_again_each_day() {
    let (mut h, q) = one_queue("least_occupied", "");
    h.login(t(0), AgentB::new(1, &[q]));
    h.login(t(1), AgentB::new(2, &[q]));
    h.arrive(t(2), contact(1, Channel::Voice, q));
    handle(&mut h, 3, 1, 1);
    h.send(t(4), Input::ResetDailyCounters);
    // Both at zero: agent 2 has been idle longer (since 1) than agent 1 (since 3).
    let out = h.arrive(t(5), contact(2, Channel::Voice, q));
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(2))]);
}

#[test]
fn skills_best_offers_the_most_proficient_then_the_longest_idle() {
    let (mut h, q) = one_queue("skills_best", "required_skills = [{ skill = \"technical\", min_proficiency = 2 }]");
    h.login(t(0), AgentB::new(1, &[q]).skill("technical", 4));
    h.login(t(1), AgentB::new(2, &[q]).skill("technical", 8));
    h.login(t(2), AgentB::new(3, &[q]).skill("technical", 8));
    let out = h.arrive(t(3), contact(1, Channel::Voice, q));
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(2))]);
    let out = h.arrive(t(4), contact(2, Channel::Voice, q));
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(3))]);
}

#[test]
fn ring_all_rings_every_free_voice_agent_and_cancels_the_others_on_answer() {
    let (mut h, q) = one_queue("ring_all", "");
    for a in 1..=3 {
        h.login(t(0), AgentB::new(a, &[q]));
    }
    let out = h.arrive(t(1), contact(1, Channel::Voice, q));
    assert_eq!(offers(&out).len(), 3);
    let out = h.send(t(2), Input::OfferAccepted { agent: agent_id(2), contact: contact_id(1) });
    let cancelled: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::CancelOffer { agent, reason: CancelReason::AnsweredElsewhere, .. } => Some(*agent),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, vec![agent_id(1), agent_id(3)]);
}

#[test]
fn ring_all_on_chat_offers_one_agent() {
    let (mut h, q) = one_queue("ring_all", "");
    let cap = model::ChannelCapacity { voice: 1, chat: 2, email: 0, social: 0, voice_blocks_others: true };
    for a in 1..=3 {
        h.login(t(0), AgentB::new(a, &[q]).capacity(cap));
    }
    let out = h.arrive(t(1), contact(1, Channel::Chat, q));
    assert_eq!(offers(&out).len(), 1);
}

fn weighted_counts(seed_shift: u128) -> [u32; 3] {
    let (mut h, q) = one_queue("weighted_random", "");
    h.login(t(0), AgentB::new(1, &[q]).weight(1));
    h.login(t(0), AgentB::new(2, &[q]).weight(9));
    h.login(t(0), AgentB::new(3, &[q]).weight(0));
    let mut counts = [0u32; 3];
    for n in 1..=1000u128 {
        let out = h.arrive(t(1), contact(n + seed_shift, Channel::Voice, q));
        let (_, agent) = offers(&out)[0];
        let a = (1..=3).find(|&a| agent_id(a) == agent).expect("known agent");
        counts[(a - 1) as usize] += 1;
        handle(&mut h, 1, n + seed_shift, a);
    }
    counts
}

#[test]
fn weighted_random_follows_the_weights_and_never_picks_weight_zero() {
    let counts = weighted_counts(0);
    assert_eq!(counts[2], 0);
    assert!((850..=950).contains(&counts[1]), "{counts:?}");
}

#[test]
fn weighted_random_is_deterministic_for_a_seed() {
    assert_eq!(weighted_counts(0), weighted_counts(0));
}
