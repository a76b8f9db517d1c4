//! The Prometheus exposition, read back by a real parser (`prometheus-parse`) and checked line
//! by line against the text format 0.0.4 grammar.

use std::collections::HashMap;

use feeds::prometheus::render;
use feeds::{AgentCounts, AgentSnapshot, ContactCounters, QueueSnapshot};
use model::{
    AgentId, AgentState, Channel, Contact, ContactId, ContactOutcome, Direction, DurationMs, OrgId, QueueId, QueueName,
    Timestamp,
};
use prometheus_parse::{Scrape, Value};

fn queue(n: u128, name: &str, waiting: u32, longest_ms: u64, busy: u32) -> QueueSnapshot {
    let mut agents = AgentCounts::default();
    agents.set(AgentState::Busy, busy);
    agents.set(AgentState::Available, 1);
    QueueSnapshot {
        org: OrgId::from_u128(1),
        queue: QueueId::from_u128(n),
        name: QueueName::parse(name).expect("valid"),
        waiting,
        longest_wait: DurationMs::from_ms(longest_ms),
        agents,
    }
}

fn agent(n: u128, state: AgentState) -> AgentSnapshot {
    AgentSnapshot { org: OrgId::from_u128(1), agent: AgentId::from_u128(n), state, since: Timestamp::from_unix_ms(0) }
}

fn ended(n: u128, channel: Channel, outcome: Option<ContactOutcome>) -> Contact {
    let mut c = Contact::arrived(
        ContactId::from_u128(n),
        OrgId::from_u128(1),
        channel,
        Direction::Inbound,
        "+8613800000000",
        "400",
        Timestamp::from_unix_ms(0),
    );
    c.outcome = outcome;
    c
}

fn sample_value(v: &Value) -> f64 {
    match v {
        Value::Counter(x) | Value::Gauge(x) | Value::Untyped(x) => *x,
        other => panic!("unexpected {other:?}"),
    }
}

/// A metric name with its labels, sorted.
type SeriesKey = (String, Vec<(String, String)>);

/// (metric, sorted labels) → value.
fn by_series(scrape: &Scrape) -> HashMap<SeriesKey, (f64, &Value)> {
    scrape
        .samples
        .iter()
        .map(|s| {
            let mut labels: Vec<(String, String)> = s.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            labels.sort();
            ((s.metric.clone(), labels), (sample_value(&s.value), &s.value))
        })
        .collect()
}

fn key(metric: &str, labels: &[(&str, &str)]) -> SeriesKey {
    let mut l: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    l.sort();
    (metric.to_owned(), l)
}

#[test]
fn the_exposition_parses_back_to_the_values_given() {
    let queues = [queue(1, "general", 3, 42_500, 2), queue(2, "premium_support", 0, 0, 4)];
    let agents = [agent(1, AgentState::Busy), agent(2, AgentState::Busy), agent(3, AgentState::Away)];
    let mut counters = ContactCounters::default();
    for n in 0..5 {
        assert!(counters.count_ended(&ended(n, Channel::Voice, Some(ContactOutcome::Answered))));
    }
    assert!(counters.count_ended(&ended(9, Channel::WeChat, Some(ContactOutcome::Abandoned))));
    assert!(!counters.count_ended(&ended(10, Channel::Voice, None)), "not ended yet");

    let text = render(&queues, &agents, &counters);
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("a Prometheus parser reads it");
    let series = by_series(&scrape);
    let org = OrgId::from_u128(1).to_string();
    let get = |metric: &str, labels: &[(&str, &str)]| series.get(&key(metric, labels)).map(|(v, _)| *v);

    assert_eq!(get("hotline_queue_waiting", &[("org", &org), ("queue", "general")]), Some(3.0));
    assert_eq!(get("hotline_queue_longest_wait_seconds", &[("org", &org), ("queue", "general")]), Some(42.5));
    assert_eq!(get("hotline_queue_waiting", &[("org", &org), ("queue", "premium_support")]), Some(0.0));
    let busy = [("org", org.as_str()), ("queue", "premium_support"), ("state", "busy")];
    assert_eq!(get("hotline_queue_agents", &busy), Some(4.0));
    assert_eq!(get("hotline_agents", &[("state", "busy")]), Some(2.0));
    assert_eq!(get("hotline_agents", &[("state", "away")]), Some(1.0));
    assert_eq!(get("hotline_agents", &[("state", "available")]), Some(0.0));
    assert_eq!(get("hotline_contacts_total", &[("channel", "voice"), ("outcome", "answered")]), Some(5.0));
    assert_eq!(get("hotline_contacts_total", &[("channel", "wechat"), ("outcome", "abandoned")]), Some(1.0));
    let (_, kind) = series[&key("hotline_contacts_total", &[("channel", "voice"), ("outcome", "answered")])];
    assert!(matches!(kind, Value::Counter(_)), "contacts_total is a counter: {kind:?}");
    let (_, kind) = series[&key("hotline_agents", &[("state", "busy")])];
    assert!(matches!(kind, Value::Gauge(_)), "agents is a gauge: {kind:?}");
    assert_eq!(
        scrape.docs.get("hotline_queue_waiting").map(String::as_str),
        Some("Contacts waiting in the queue for an agent.")
    );
    // 2 queues × (waiting + longest + 5 states) + 5 agent states + 2 counters.
    assert_eq!(scrape.samples.len(), 2 * 7 + 5 + 2);
}

/// Text format 0.0.4: every family has one HELP then one TYPE before its samples, sample
/// names belong to the family just declared, values are numbers, the text ends in a newline.
#[test]
fn every_line_follows_the_text_format_grammar() {
    let text =
        render(&[queue(1, "general", 1, 1_001, 1)], &[agent(1, AgentState::WrapUp)], &ContactCounters::default());
    assert!(text.ends_with('\n'));
    let mut family: Option<String> = None;
    let mut declared = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().expect("a name");
            assert!(!declared.contains(&name.to_owned()), "{name} declared twice");
            let ty = lines.next().expect("TYPE follows HELP");
            assert!(ty == format!("# TYPE {name} gauge") || ty == format!("# TYPE {name} counter"), "{ty}");
            declared.push(name.to_owned());
            family = Some(name.to_owned());
            continue;
        }
        let fam = family.as_deref().expect("samples come after their HELP/TYPE");
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        value.parse::<f64>().unwrap_or_else(|_| panic!("value of {line:?}"));
        let name = series.split('{').next().expect("name");
        assert_eq!(name, fam, "{line}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{name}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
        }
    }
    assert_eq!(declared.len(), 5);
}
