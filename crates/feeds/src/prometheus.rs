//! Prometheus text exposition format 0.0.4 for the live values. Pure: snapshots in, text out;
//! the web crate serves it.
//!
//! Families, each with `# HELP` and `# TYPE`:
//! - `hotline_queue_waiting{org,queue}` gauge: contacts waiting;
//! - `hotline_queue_longest_wait_seconds{org,queue}` gauge;
//! - `hotline_queue_agents{org,queue,state}` gauge: a queue's agents by state;
//! - `hotline_agents{state}` gauge: agents by state over every snapshot given (every state
//!   listed, zeros included, so series never vanish);
//! - `hotline_contacts_total{channel,outcome}` counter: ended contacts.
//!
//! Label values are escaped (`\` → `\\`, `"` → `\"`, line feed → `\n`); HELP text escapes `\`
//! and line feeds. Must never emit a line a Prometheus parser would refuse.

use std::fmt::Write as _;

use crate::snapshot::{AgentSnapshot, ContactCounters, QueueSnapshot};

/// The content type to serve the output with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Escapes a label value.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape_label_value(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// The exposition of the given snapshots and counters.
pub fn render(queues: &[QueueSnapshot], agents: &[AgentSnapshot], counters: &ContactCounters) -> String {
    let mut out = String::with_capacity(256 + queues.len() * 400 + 600);
    let ids: Vec<(String, &str)> = queues.iter().map(|q| (q.org.to_string(), q.name.as_str())).collect();

    family(&mut out, "hotline_queue_waiting", "gauge", "Contacts waiting in the queue for an agent.");
    for (q, (org, name)) in queues.iter().zip(&ids) {
        sample(&mut out, "hotline_queue_waiting", &[("org", org), ("queue", name)], q.waiting);
    }
    family(
        &mut out,
        "hotline_queue_longest_wait_seconds",
        "gauge",
        "How long the oldest waiting contact has waited, in seconds.",
    );
    for (q, (org, name)) in queues.iter().zip(&ids) {
        let seconds = q.longest_wait.as_ms() as f64 / 1_000.0;
        sample(&mut out, "hotline_queue_longest_wait_seconds", &[("org", org), ("queue", name)], seconds);
    }
    family(&mut out, "hotline_queue_agents", "gauge", "The queue's agents by state.");
    for (q, (org, name)) in queues.iter().zip(&ids) {
        for (state, n) in q.agents.iter() {
            let labels = [("org", org.as_str()), ("queue", *name), ("state", state.as_str())];
            sample(&mut out, "hotline_queue_agents", &labels, n);
        }
    }
    family(&mut out, "hotline_agents", "gauge", "Agents by state.");
    for (state, n) in AgentSnapshot::count_by_state(agents).iter() {
        sample(&mut out, "hotline_agents", &[("state", state.as_str())], n);
    }
    family(&mut out, "hotline_contacts_total", "counter", "Ended contacts by channel and outcome.");
    for (channel, outcome, n) in counters.iter() {
        sample(&mut out, "hotline_contacts_total", &[("channel", channel.as_str()), ("outcome", outcome.as_str())], n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        let mut out = String::new();
        sample(&mut out, "m", &[("l", "x\"y")], 1);
        assert_eq!(out, "m{l=\"x\\\"y\"} 1\n");
    }

    #[test]
    fn empty_input_still_declares_every_family_and_agent_state() {
        let text = render(&[], &[], &ContactCounters::default());
        for name in
            ["hotline_queue_waiting", "hotline_queue_longest_wait_seconds", "hotline_agents", "hotline_contacts_total"]
        {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name} missing in {text}");
        }
        assert!(text.contains("hotline_agents{state=\"wrap_up\"} 0\n"), "{text}");
    }
}
