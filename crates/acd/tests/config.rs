//! Route tables and queue settings are declared in TOML and validated with errors that name the
//! rule, queue or skill at fault.

mod common;

use acd::{ConfigError, RawAcdConfig};
use common::*;
use model::{Channel, RoutingStrategy, VipTier};

pub const SEED_EXAMPLE: &str = r#"
seed = 42
skills = ["technical", "billing", "vip"]

[[queues]]
name = "premium_support"
strategy = "skills_best"
required_skills = [{ skill = "vip", min_proficiency = 5 }]
relaxation = [{ after = "30s", min_proficiency = 3 }, { after = "60s", drop_skills = true }]
wrap_up = "15s"

[[queues]]
name = "tech_support"
strategy = "longest_idle"
required_skills = [{ skill = "technical", min_proficiency = 3 }]
overflow = { to = "general_support", after = "120s" }

[[queues]]
name = "general_support"
strategy = "round_robin"
max_waiting = 50
when_full = "callback"

[[entry_points]]
name = "hotline"
default_queue = "general_support"
rules = [
  { name = "vip_gold", vip = "gold", queue = "premium_support" },
  { name = "technical", issue_type = "technical", queue = "tech_support" },
]
"#;

fn validate(text: &str) -> Result<acd::AcdConfig, ConfigError> {
    let raw: RawAcdConfig = toml::from_str(text).expect("test TOML parses");
    raw.validate()
}

fn route_of(cfg: &acd::AcdConfig, req: &acd::ContactRequest) -> String {
    let route = cfg.entry_points[0].route(req);
    cfg.queues[route.queue as usize].name.to_string()
}

#[test]
fn seed_example_routes_gold_to_premium_technical_to_tech_and_the_rest_to_general() {
    let cfg = config(SEED_EXAMPLE);
    let mut gold = contact(1, Channel::Voice, queue_id(&cfg, "general_support"));
    gold.vip = VipTier::Gold;
    gold.issue_type = Some("technical".into());
    let mut tech = contact(2, Channel::Chat, queue_id(&cfg, "general_support"));
    tech.issue_type = Some("Technical".into());
    let plain = contact(3, Channel::Email, queue_id(&cfg, "general_support"));
    assert_eq!(route_of(&cfg, &gold), "premium_support");
    assert_eq!(route_of(&cfg, &tech), "tech_support");
    assert_eq!(route_of(&cfg, &plain), "general_support");
}

#[test]
fn seed_example_queue_settings_are_parsed() {
    let cfg = config(SEED_EXAMPLE);
    let premium = cfg.queue_by_name("premium_support").expect("premium queue");
    assert_eq!(premium.strategy, RoutingStrategy::SkillsBest);
    assert_eq!(premium.relaxation.len(), 2);
    assert_eq!(premium.wrap_up.as_secs(), 15);
    let tech = cfg.queue_by_name("tech_support").expect("tech queue");
    assert_eq!(tech.overflow.as_ref().and_then(|o| o.after).map(|d| d.as_secs()), Some(120));
    assert_eq!(cfg.queue_by_name("general_support").map(|q| q.when_full), Some(acd::FullFallback::Callback));
}

#[test]
fn rule_naming_an_unknown_queue_is_refused_with_the_rule_name() {
    let text = SEED_EXAMPLE.replace("queue = \"tech_support\" }", "queue = \"tech_suport\" }");
    let err = validate(&text).expect_err("unknown queue");
    assert!(matches!(&err, ConfigError::UnknownQueue { queue, .. } if queue == "tech_suport"), "{err}");
    assert!(err.to_string().contains("rule \"technical\""), "{err}");
}

#[test]
fn queue_requiring_an_undeclared_skill_is_refused_with_queue_and_skill() {
    let text = SEED_EXAMPLE.replace("skill = \"vip\"", "skill = \"vipp\"");
    let err = validate(&text).expect_err("unknown skill");
    assert_eq!(err, ConfigError::UnknownSkill { place: "queue \"premium_support\"".into(), skill: "vipp".into() });
}

#[test]
fn rule_after_a_catch_all_is_unreachable() {
    let text = SEED_EXAMPLE.replace(
        "{ name = \"vip_gold\", vip = \"gold\", queue = \"premium_support\" },",
        "{ name = \"everyone\", queue = \"premium_support\" },",
    );
    let err = validate(&text).expect_err("unreachable");
    assert_eq!(
        err,
        ConfigError::UnreachableRule {
            entry_point: "hotline".into(),
            rule: "technical".into(),
            catch_all: "everyone".into()
        }
    );
}

#[test]
fn rule_repeating_an_earlier_condition_is_unreachable() {
    let text = SEED_EXAMPLE.replace(
        "{ name = \"technical\", issue_type = \"technical\", queue = \"tech_support\" },",
        "{ name = \"technical\", issue_type = \"technical\", queue = \"tech_support\" },\n  { name = \"again\", issue_type = \"technical\", queue = \"general_support\" },",
    );
    let err = validate(&text).expect_err("unreachable");
    assert!(matches!(err, ConfigError::UnreachableRule { ref rule, .. } if rule == "again"), "{err}");
}

#[test]
fn bad_duration_names_the_queue_and_key() {
    let text = SEED_EXAMPLE.replace("wrap_up = \"15s\"", "wrap_up = \"15\"");
    let err = validate(&text).expect_err("bad duration");
    let msg = err.to_string();
    assert!(msg.contains("premium_support") && msg.contains("wrap_up"), "{msg}");
}

#[test]
fn overflow_to_an_unknown_queue_is_refused() {
    let text = SEED_EXAMPLE.replace("to = \"general_support\"", "to = \"nowhere\"");
    let err = validate(&text).expect_err("unknown overflow target");
    assert!(matches!(err, ConfigError::UnknownQueue { ref queue, .. } if queue == "nowhere"), "{err}");
}

#[test]
fn relaxation_steps_out_of_order_are_refused() {
    let text = SEED_EXAMPLE.replace("after = \"60s\", drop_skills", "after = \"20s\", drop_skills");
    let err = validate(&text).expect_err("out of order");
    assert!(err.to_string().contains("relaxation step 2"), "{err}");
}

#[test]
fn unknown_strategy_lists_the_known_ones() {
    let text = SEED_EXAMPLE.replace("strategy = \"skills_best\"", "strategy = \"best\"");
    let err = validate(&text).expect_err("unknown strategy");
    assert!(err.to_string().contains("round_robin"), "{err}");
}

#[test]
fn duplicate_queue_names_are_refused() {
    let text = format!("{SEED_EXAMPLE}\n[[queues]]\nname = \"tech_support\"\n");
    assert!(matches!(validate(&text), Err(ConfigError::Duplicate { .. })));
}

#[test]
fn unknown_keys_are_refused_by_the_raw_shape() {
    let text = SEED_EXAMPLE.replace("wrap_up = \"15s\"", "wrapup = \"15s\"");
    assert!(toml::from_str::<RawAcdConfig>(&text).is_err());
}

#[test]
fn queue_id_derived_from_name_is_stable() {
    let a = config(SEED_EXAMPLE);
    let b = config(SEED_EXAMPLE);
    assert_eq!(queue_id(&a, "tech_support"), queue_id(&b, "tech_support"));
    assert_ne!(queue_id(&a, "tech_support"), queue_id(&a, "general_support"));
}

#[test]
fn announce_interval_and_least_occupied_measure_are_parsed() {
    let text = SEED_EXAMPLE
        .replace("wrap_up = \"15s\"", "wrap_up = \"15s\"\nannounce_interval = \"30s\"")
        .replace("strategy = \"round_robin\"", "strategy = \"least_occupied\"\nleast_occupied_by = \"occupancy\"");
    let cfg = validate(&text).expect("valid");
    let premium = cfg.queue_by_name("premium_support").expect("exists");
    assert_eq!(premium.announce_interval, Some(model::DurationMs::from_secs(30)));
    let general = cfg.queue_by_name("general_support").expect("exists");
    assert_eq!(general.least_occupied_by, acd::config::OccupancyMeasure::Occupancy);
    let tech = cfg.queue_by_name("tech_support").expect("exists");
    assert_eq!((tech.announce_interval, tech.least_occupied_by), (None, acd::config::OccupancyMeasure::Contacts));
}

#[test]
fn announce_interval_shorter_than_the_minimum_is_refused_with_the_queue() {
    let text = SEED_EXAMPLE.replace("wrap_up = \"15s\"", "wrap_up = \"15s\"\nannounce_interval = \"2s\"");
    let msg = validate(&text).expect_err("too short").to_string();
    assert!(msg.contains("premium_support") && msg.contains("announce_interval"), "{msg}");
    let text = SEED_EXAMPLE.replace("wrap_up = \"15s\"", "wrap_up = \"15s\"\nannounce_interval = \"soon\"");
    let msg = validate(&text).expect_err("not a duration").to_string();
    assert!(msg.contains("premium_support") && msg.contains("announce_interval"), "{msg}");
}

#[test]
fn unknown_least_occupied_measure_lists_the_known_ones() {
    let text = SEED_EXAMPLE.replace("wrap_up = \"15s\"", "wrap_up = \"15s\"\nleast_occupied_by = \"talk\"");
    let msg = validate(&text).expect_err("unknown measure").to_string();
    assert!(msg.contains("contacts, occupancy"), "{msg}");
}
