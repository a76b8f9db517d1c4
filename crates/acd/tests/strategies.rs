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

fn two_skill_queue() -> (Harness, model::QueueId) {
    let cfg = config(
        "seed = 99\nskills = [\"technical\", \"billing\"]\n[[queues]]\nname = \"q\"\nstrategy = \"skills_best\"\n\
         required_skills = [{ skill = \"technical\", min_proficiency = 2 }]\n",
    );
    let q = queue_id(&cfg, "q");
    (Harness::new(cfg), q)
}

fn needing_billing(n: u128, q: model::QueueId) -> acd::ContactRequest {
    let mut req = contact(n, Channel::Voice, q);
    req.required_skills.push(skill("billing", 1));
    req
}

#[test]
fn skills_best_ranks_by_the_lowest_proficiency_across_all_the_contacts_skills() {
    let (mut h, q) = two_skill_queue();
    // Agent 1 is the best at the queue's skill but weak at the contact's extra one.
    h.login(t(0), AgentB::new(1, &[q]).skill("technical", 9).skill("billing", 2));
    h.login(t(1), AgentB::new(2, &[q]).skill("technical", 6).skill("billing", 6));
    let out = h.arrive(t(2), needing_billing(1, q));
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(2))]);
    // A contact needing only the queue's skill still gets the best at it.
    let out = h.arrive(t(3), contact(2, Channel::Voice, q));
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(1))]);
}

#[test]
fn skills_best_breaks_an_equal_lowest_by_the_sum_then_by_longest_idle() {
    let (mut h, q) = two_skill_queue();
    h.login(t(0), AgentB::new(1, &[q]).skill("technical", 5).skill("billing", 5));
    h.login(t(1), AgentB::new(2, &[q]).skill("technical", 8).skill("billing", 5));
    h.login(t(2), AgentB::new(3, &[q]).skill("technical", 5).skill("billing", 8));
    h.login(t(3), AgentB::new(4, &[q]).skill("technical", 5).skill("billing", 8));
    // Lowest is 5 for everyone; sums 10, 13, 13, 13: agent 2 has been idle longest of those.
    let out = h.arrive(t(4), needing_billing(1, q));
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(2))]);
    let out = h.arrive(t(5), needing_billing(2, q));
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(3))]);
    let out = h.arrive(t(6), needing_billing(3, q));
    assert_eq!(offers(&out), vec![(contact_id(3), agent_id(4))]);
}

#[test]
fn skills_best_skips_agents_who_lack_the_contacts_extra_skill() {
    let (mut h, q) = two_skill_queue();
    // Many agents ahead in the queue-skill order, none with billing; the one who has it is last.
    let n = acd::engine::MAX_SKILLS_BEST_CANDIDATES as u128 + 10;
    for a in 1..=n {
        h.login(t(0), AgentB::new(a, &[q]).skill("technical", 9));
    }
    h.login(t(0), AgentB::new(n + 1, &[q]).skill("technical", 3).skill("billing", 9));
    let out = h.arrive(t(1), needing_billing(1, q));
    // Billing is required at level 1, so only agent n + 1 fits: the walk skips non-fitting
    // agents without counting them and still finds it.
    assert_eq!(offers(&out), vec![(contact_id(1), agent_id(n + 1))]);
}

/// The scenario where the three least-occupied readings disagree; returns who gets the contact.
/// Agent 1: one 50 s call (t 0–50), Away 50–61, available again at 61. Agent 2: three 1 s calls
/// (at 10, 20 and 60), free again at 61.
fn least_occupied_pick(measure: &str) -> model::AgentId {
    let (mut h, q) = one_queue("least_occupied", &format!("least_occupied_by = \"{measure}\""));
    h.login(t(0), AgentB::new(1, &[q]));
    h.arrive(t(0), contact(1, Channel::Voice, q));
    h.send(t(0), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    h.login(t(0), AgentB::new(2, &[q]));
    for (n, at) in [(2u128, 10i64), (3, 20), (4, 60)] {
        if n == 4 {
            h.send(t(50), Input::ContactEnded(contact_id(1)));
            // Agent 1 is free now: keep it busy elsewhere so agent 2 takes contact 4.
            h.send(
                t(50),
                Input::AgentPresence { agent: agent_id(1), presence: acd::Presence::Away(reason("meeting")) },
            );
        }
        let out = h.arrive(t(at), contact(n, Channel::Voice, q));
        assert_eq!(offers(&out), vec![(contact_id(n), agent_id(2))]);
        h.send(t(at), Input::OfferAccepted { agent: agent_id(2), contact: contact_id(n) });
        h.send(t(at + 1), Input::ContactEnded(contact_id(n)));
    }
    h.send(t(61), Input::AgentPresence { agent: agent_id(1), presence: acd::Presence::Available });
    let out = h.arrive(t(62), contact(5, Channel::Voice, q));
    offers(&out)[0].1
}

fn reason(r: &str) -> model::ReasonCode {
    model::ReasonCode::parse(r).expect("valid reason")
}

#[test]
fn least_occupied_by_occupancy_picks_the_lowest_share_of_handling_time() {
    // Occupancy: agent 1 handled 50 s of 50 s available (Away time excluded) → 100%; agent 2
    // handled 3 s of 62 s → about 5%. Fewest contacts picks agent 1 (1 against 3).
    assert_eq!(least_occupied_pick("occupancy"), agent_id(2));
    assert_eq!(least_occupied_pick("contacts"), agent_id(1));
}

#[test]
fn least_occupied_by_occupancy_counts_idle_time_up_to_the_decision() {
    let (mut h, q) = one_queue("least_occupied", "least_occupied_by = \"occupancy\"");
    h.login(t(0), AgentB::new(1, &[q]));
    h.arrive(t(0), contact(1, Channel::Voice, q));
    h.send(t(0), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    h.login(t(0), AgentB::new(2, &[q]));
    h.send(t(10), Input::ContactEnded(contact_id(1))); // agent 1: 10 s handling, 100% when freed
    let out = h.arrive(t(50), contact(2, Channel::Voice, q)); // agent 2: 0% (idle since 0)
    assert_eq!(offers(&out), vec![(contact_id(2), agent_id(2))]);
    h.send(t(50), Input::OfferAccepted { agent: agent_id(2), contact: contact_id(2) });
    h.send(t(100), Input::ContactEnded(contact_id(2))); // agent 2: 50 s of 100 s, 50% when freed
    // At 1000 s agent 1 is at 10 / 1000 = 1%, agent 2 at 50 / 1000 = 5%: the idle time since
    // each became free counts, not the figure they had then.
    let out = h.arrive(t(1000), contact(3, Channel::Voice, q));
    assert_eq!(offers(&out), vec![(contact_id(3), agent_id(1))]);
    assert_eq!(h.acd.agent_occupancy_ppm(agent_id(2)), Some(50_000));
}

/// `weak` agents strong at the queue's skill but weak at billing, then one balanced agent.
fn balanced_agent_after(weak: u128) -> model::AgentId {
    let (mut h, q) = two_skill_queue();
    for a in 1..=weak {
        h.login(t(0), AgentB::new(a, &[q]).skill("technical", 9).skill("billing", 1));
    }
    h.login(t(0), AgentB::new(weak + 1, &[q]).skill("technical", 3).skill("billing", 9));
    let out = h.arrive(t(1), needing_billing(1, q));
    offers(&out)[0].1
}

#[test]
fn skills_best_finds_the_best_over_all_skills_within_the_candidate_limit_and_stops_there() {
    // Within the limit the balanced agent (lowest 3) beats the lopsided ones (lowest 1).
    let few = acd::engine::MAX_SKILLS_BEST_CANDIDATES as u128 - 1;
    assert_eq!(balanced_agent_after(few), agent_id(few + 1));
    // Past it, the walk stops after that many fitting agents: the best of those is taken.
    let many = acd::engine::MAX_SKILLS_BEST_CANDIDATES as u128;
    assert_eq!(balanced_agent_after(many), agent_id(1));
}
