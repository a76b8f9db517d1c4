//! Route table rules, one condition per test, plus input limits and EWT/position figures.

mod common;

use std::collections::BTreeMap;

use acd::{AcdError, EventKind, Input, Output, Presence};
use common::*;
use model::{Channel, DurationMs, Language, VipTier};

const TABLE: &str = r#"
skills = ["technical"]

[[queues]]
name = "chinese"
[[queues]]
name = "social"
[[queues]]
name = "enterprise"
[[queues]]
name = "silver"
[[queues]]
name = "general"

[[entry_points]]
name = "main"
default_queue = "general"
rules = [
  { name = "zh", language = "zh", queue = "chinese" },
  { name = "wechat", channel = "wechat", queue = "social" },
  { name = "big_accounts", attributes = { segment = "enterprise" }, queue = "enterprise", priority = 3 },
  { name = "silver_chat", vip = "silver", channel = "chat", queue = "silver" },
]
"#;

fn routed(req_edit: impl FnOnce(&mut acd::ContactRequest)) -> (String, Option<String>) {
    let cfg = config(TABLE);
    let names: BTreeMap<_, _> = cfg.queues.iter().map(|q| (q.id, q.name.to_string())).collect();
    let general = queue_id(&cfg, "general");
    let mut h = Harness::new(cfg);
    let mut req = contact(1, Channel::Voice, general);
    req.entry = entry("main");
    req_edit(&mut req);
    let out = h.arrive(t(0), req);
    events(&out)
        .into_iter()
        .find_map(|e| match e {
            EventKind::ContactQueued { queue, rule, .. } => Some((names[&queue].clone(), rule)),
            _ => None,
        })
        .expect("contact was queued")
}

#[test]
fn language_rule_matches_the_primary_language() {
    let got = routed(|r| r.language = Some(Language::parse("zh-Hans").expect("valid")));
    assert_eq!(got, ("chinese".into(), Some("zh".into())));
}

#[test]
fn channel_rule_matches_the_channel() {
    assert_eq!(routed(|r| r.channel = Channel::WeChat).0, "social");
}

#[test]
fn attribute_rule_matches_and_adds_its_priority() {
    let got = routed(|r| {
        r.attributes.insert("segment".into(), "enterprise".into());
    });
    assert_eq!(got.0, "enterprise");
}

#[test]
fn rule_with_two_conditions_needs_both() {
    assert_eq!(routed(|r| r.vip = VipTier::Silver).0, "general");
    let got = routed(|r| {
        r.vip = VipTier::Silver;
        r.channel = Channel::Chat;
    });
    assert_eq!(got.0, "silver");
}

#[test]
fn no_matching_rule_uses_the_default_queue_and_names_no_rule() {
    assert_eq!(routed(|_| {}), ("general".into(), None));
}

#[test]
fn rule_priority_puts_the_contact_ahead_of_earlier_ones() {
    let cfg = config(TABLE);
    let enterprise = queue_id(&cfg, "enterprise");
    let mut h = Harness::new(cfg);
    h.arrive(t(0), contact(1, Channel::Voice, enterprise));
    let mut req = contact(2, Channel::Voice, enterprise);
    req.entry = entry("main");
    req.attributes.insert("segment".into(), "enterprise".into());
    h.arrive(t(60), req);
    assert_eq!(h.acd.queue_position(contact_id(2)), Some(1));
    assert_eq!(h.acd.queue_position(contact_id(1)), Some(2));
}

#[test]
fn too_many_attributes_are_refused() {
    let cfg = config(TABLE);
    let general = queue_id(&cfg, "general");
    let mut h = Harness::new(cfg);
    let mut req = contact(1, Channel::Voice, general);
    for i in 0..(acd::io::MAX_CONTACT_ATTRIBUTES + 1) {
        req.attributes.insert(format!("k{i}"), "v".into());
    }
    assert!(matches!(h.acd.handle(t(0), Input::ContactArrived(req)), Err(AcdError::Invalid(_))));
}

#[test]
fn same_contact_id_twice_is_refused() {
    let cfg = config(TABLE);
    let general = queue_id(&cfg, "general");
    let mut h = Harness::new(cfg);
    h.arrive(t(0), contact(1, Channel::Voice, general));
    let again = h.acd.handle(t(1), Input::ContactArrived(contact(1, Channel::Voice, general)));
    assert_eq!(again, Err(AcdError::DuplicateContact(contact_id(1))));
}

#[test]
fn agent_with_an_undeclared_skill_is_refused() {
    let cfg = config(TABLE);
    let general = queue_id(&cfg, "general");
    let mut h = Harness::new(cfg);
    let agent = AgentB::new(1, &[general]).skill("cooking", 5);
    assert!(matches!(h.acd.handle(t(0), Input::AgentLoggedIn(agent.0)), Err(AcdError::UnknownSkill(_))));
}

#[test]
fn only_waiting_contacts_are_announced_and_ewt_grows_down_the_queue() {
    let cfg = config(TABLE);
    let general = queue_id(&cfg, "general");
    let mut h = Harness::new(cfg);
    h.login(t(0), AgentB::new(1, &[general]));
    h.login(t(0), AgentB::new(2, &[general]));
    let mut announced = Vec::new();
    for n in 1..=5 {
        for o in h.arrive(t(n as i64), contact(n, Channel::Voice, general)) {
            if let Output::Announce { position, ewt, .. } = o {
                announced.push((position, ewt));
            }
        }
    }
    // Two agents busy with contacts 1 and 2; default handle time 3 min: p × 180 s / 2.
    assert_eq!(
        &announced[..],
        &[(1, DurationMs::from_secs(90)), (2, DurationMs::from_secs(180)), (3, DurationMs::from_secs(270))]
    );
}

#[test]
fn queue_snapshot_counts_waiting_and_serving() {
    let cfg = config(TABLE);
    let general = queue_id(&cfg, "general");
    let mut h = Harness::new(cfg);
    h.login(t(0), AgentB::new(1, &[general]));
    h.login(t(0), AgentB::new(2, &[general]));
    h.send(t(0), Input::AgentPresence { agent: agent_id(2), presence: Presence::Offline });
    h.arrive(t(1), contact(1, Channel::Voice, general));
    h.arrive(t(1), contact(2, Channel::Voice, general));
    let snap = h.acd.queue_snapshot(general).expect("known queue");
    assert_eq!((snap.waiting, snap.serving_agents, snap.available_agents), (1, 1, 0));
}

#[test]
fn logging_out_sends_contacts_waiting_for_that_agent_back_to_the_queue() {
    let cfg = config(TABLE);
    let general = queue_id(&cfg, "general");
    let mut h = Harness::new(cfg);
    h.login(t(0), AgentB::new(1, &[general]));
    h.arrive(t(0), contact(1, Channel::Voice, general));
    h.send(t(1), Input::OfferAccepted { agent: agent_id(1), contact: contact_id(1) });
    h.login(t(0), AgentB::new(2, &[general]));
    h.arrive(t(2), contact(2, Channel::Voice, general));
    h.send(t(3), Input::OfferAccepted { agent: agent_id(2), contact: contact_id(2) });
    h.send(t(4), Input::TransferToAgent { contact: contact_id(2), agent: agent_id(1) });
    let out = h.send(t(5), Input::AgentLoggedOut(agent_id(1)));
    assert!(
        events(&out).iter().any(|e| matches!(e, EventKind::ContactQueued { contact, .. } if *contact == contact_id(2)))
    );
}

fn queued_in(out: &[Output], names: &BTreeMap<model::QueueId, String>) -> String {
    events(out)
        .into_iter()
        .find_map(|e| match e {
            EventKind::ContactQueued { queue, .. } => Some(names[&queue].clone()),
            _ => None,
        })
        .expect("contact was queued")
}

#[test]
fn replaced_route_table_routes_the_next_contact_and_an_unknown_queue_changes_nothing() {
    let cfg = config(TABLE);
    let names: BTreeMap<_, _> = cfg.queues.iter().map(|q| (q.id, q.name.to_string())).collect();
    let general = queue_id(&cfg, "general");
    let mut h = Harness::new(cfg);
    let mut before = contact(1, Channel::Voice, general);
    before.entry = entry("main");
    before.issue_type = Some("billing".into());
    assert_eq!(queued_in(&h.arrive(t(0), before), &names), "general");

    let bad: Vec<acd::config::RawEntryPoint> = toml::from_str::<BTreeMap<String, Vec<acd::config::RawEntryPoint>>>(
        r#"entry_points = [{ name = "main", default_queue = "general", rules = [{ name = "b", issue_type = "billing", queue = "nowhere" }] }]"#,
    )
    .expect("toml")
    .remove("entry_points")
    .expect("entry points");
    assert!(matches!(h.acd.replace_entry_points(&bad), Err(acd::config::ConfigError::UnknownQueue { .. })));

    let mut good = bad.clone();
    good[0].rules[0].queue = "enterprise".into();
    h.acd.replace_entry_points(&good).expect("valid table");
    let mut after = contact(2, Channel::Voice, general);
    after.entry = entry("main");
    after.issue_type = Some("Billing".into());
    assert_eq!(queued_in(&h.arrive(t(1), after), &names), "enterprise");
}
