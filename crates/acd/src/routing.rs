//! Route tables: pick a queue for an arriving contact from its entry point's declared rules.
//! First matching rule wins; otherwise the entry point's default queue. Pure lookups: this
//! module never changes engine state.

use crate::config::{EntryPoint, QueueIdx, RuleMatch};
use crate::io::ContactRequest;

/// Where a route table sent a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'a> {
    pub queue: QueueIdx,
    /// The rule that matched; `None` for the default queue.
    pub rule: Option<&'a str>,
    pub priority_bonus: i32,
}

impl RuleMatch {
    /// Whether every condition of the rule holds for the contact.
    pub fn matches(&self, contact: &ContactRequest) -> bool {
        self.vip.is_none_or(|v| v == contact.vip)
            && self.channel.is_none_or(|c| c == contact.channel)
            && self.issue_type.as_deref().is_none_or(|want| {
                contact.issue_type.as_deref().is_some_and(|got| got.trim().eq_ignore_ascii_case(want))
            })
            && self.language.as_ref().is_none_or(|want| {
                contact.language.as_ref().is_some_and(|got| got == want || got.primary() == want.as_str())
            })
            && self.attributes.iter().all(|(k, v)| contact.attributes.get(k) == Some(v))
    }
}

impl EntryPoint {
    /// The queue this entry point sends `contact` to.
    pub fn route(&self, contact: &ContactRequest) -> Route<'_> {
        self.rules
            .iter()
            .find(|r| r.when.matches(contact))
            .map(|r| Route { queue: r.queue, rule: Some(r.name.as_str()), priority_bonus: r.priority })
            .unwrap_or(Route { queue: self.default_queue, rule: None, priority_bonus: 0 })
    }
}
