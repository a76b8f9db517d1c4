//! Complaint alerting (the finance scenario): named rules such as "more than N contacts with
//! disposition `complaint` (or flagged by the keyword rule `complaint`, i.e. 投诉 in a
//! transcript) within a sliding window of W seconds", each counted per org and queue.
//!
//! - **Raise once**: when the count of distinct contacts in a rule's window goes above
//!   `raise_above`, one [`AlertEvent::Raised`]; more complaints while raised say nothing new.
//! - **Clear**: once raised, the alert clears when the count falls to `clear_at_or_below`
//!   (at most `raise_above`; lower gives hysteresis, so a count hovering around N does not flap).
//! - **Cooldown**: after a raise, the same rule and scope does not raise again for `cooldown_ms`,
//!   even if it cleared in between: one burst raises one alert.
//! - A contact counts once per rule in a window, whether it matched by disposition, keyword
//!   flag or both. Rules are independent: one contact may count for several.
//!
//! Sans-IO, quinn style: `handle_signal(now, ...)` and `handle_timeout(now)` feed time and
//! signals in; `poll_event()` takes alerts out; `poll_timeout()` says when to call
//! `handle_timeout` next. Bounded: per rule and scope only the last `max_complaints_per_scope`
//! contacts are kept (more than `raise_above`, enough to decide both thresholds exactly), at
//! most `max_tracked_scopes` scopes per rule, at most `max_pending_events` undelivered alerts in
//! all, at most [`MAX_RULES`] rules. Never reads a clock, never panics on input.

use std::collections::{HashMap, VecDeque};

use model::{ContactId, DurationMs, OrgId, QueueId, ReasonCode, Timestamp};

use crate::KpiError;

/// Most rules one [`ComplaintAlerts`] holds.
pub const MAX_RULES: usize = 64;
/// Longest rule name, in bytes.
pub const MAX_RULE_NAME_BYTES: usize = 100;

/// One rule, validated by [`ComplaintRule::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintRule {
    /// What the alert is called on the wallboard and in the webhook (`complaints`).
    pub name: String,
    /// Dispositions that mark a complaint (`complaint`).
    pub dispositions: Vec<ReasonCode>,
    /// Names of the keyword rules (the `search` crate's, run on transcripts) whose flag marks a
    /// complaint (`complaint`, the rule that matches 投诉).
    pub keyword_flags: Vec<String>,
    /// N: raise when more than this many contacts complained within the window.
    pub raise_above: u32,
    /// Clear when the count falls to this or below (at most `raise_above`).
    pub clear_at_or_below: u32,
    /// W, the sliding window.
    pub window_ms: DurationMs,
    /// After a raise, no new raise of the same rule and scope for this long.
    pub cooldown_ms: DurationMs,
    /// Complaining contacts kept per scope (more than `raise_above`).
    pub max_complaints_per_scope: usize,
    /// Scopes (org and queue) tracked at once by this rule.
    pub max_tracked_scopes: usize,
    /// Undelivered alerts kept (the smallest of all rules' applies to the whole engine).
    pub max_pending_events: usize,
}

impl ComplaintRule {
    /// "More than `n` complaints in `window`" by disposition `complaint` or the keyword rule
    /// `complaint`, clearing at half of `n`, no cooldown, with default limits.
    pub fn more_than(n: u32, window: DurationMs, disposition: ReasonCode) -> Self {
        Self {
            name: "complaints".to_owned(),
            dispositions: vec![disposition],
            keyword_flags: vec!["complaint".to_owned()],
            raise_above: n,
            clear_at_or_below: n / 2,
            window_ms: window,
            cooldown_ms: DurationMs::ZERO,
            max_complaints_per_scope: 1_000,
            max_tracked_scopes: 1_000,
            max_pending_events: 1_000,
        }
    }

    pub fn validate(&self) -> Result<(), KpiError> {
        let bad = |key, problem: &str| Err(KpiError::Invalid { key, problem: problem.to_owned() });
        if self.name.trim().is_empty() || self.name.len() > MAX_RULE_NAME_BYTES {
            return bad("name", &format!("must be 1 to {MAX_RULE_NAME_BYTES} bytes"));
        }
        if self.clear_at_or_below > self.raise_above {
            return bad("clear_at_or_below", "must be at most raise_above");
        }
        if self.window_ms == DurationMs::ZERO {
            return bad("window_ms", "must be more than zero");
        }
        if self.dispositions.is_empty() && self.keyword_flags.is_empty() {
            return bad("dispositions", "or keyword_flags must name at least one complaint mark");
        }
        if self.keyword_flags.iter().any(|k| k.trim().is_empty()) {
            return bad("keyword_flags", "must not contain an empty name");
        }
        if self.max_complaints_per_scope <= self.raise_above as usize {
            return bad("max_complaints_per_scope", "must be more than raise_above");
        }
        if self.max_tracked_scopes == 0 || self.max_pending_events == 0 {
            return bad("max_tracked_scopes", "and max_pending_events must be at least 1");
        }
        Ok(())
    }
}

/// Where complaints are counted: an org, and a queue (or the org as a whole with `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub org: OrgId,
    pub queue: Option<QueueId>,
}

/// What may mark a contact as a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal<'a> {
    /// The disposition the agent set at wrap-up.
    Disposition(&'a ReasonCode),
    /// The names of the keyword rules that flagged the contact's transcript.
    KeywordFlags(&'a [String]),
}

/// A rule, by its place in the list given to [`ComplaintAlerts::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleIndex(pub usize);

/// What the alert says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertEvent {
    /// More than `raise_above` contacts complained within the window ending `at`.
    Raised { rule: RuleIndex, scope: Scope, at: Timestamp, complaints: u32 },
    /// The count fell to `clear_at_or_below` or less.
    Cleared { rule: RuleIndex, scope: Scope, at: Timestamp, complaints: u32 },
}

impl AlertEvent {
    pub fn rule(&self) -> RuleIndex {
        match self {
            AlertEvent::Raised { rule, .. } | AlertEvent::Cleared { rule, .. } => *rule,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertCounters {
    pub complaints: u64,
    pub repeated_contact: u64,
    /// Complaints dropped because `max_tracked_scopes` scopes were busy.
    pub scopes_full: u64,
    /// Raises held back by a rule's cooldown.
    pub raises_cooled_down: u64,
    /// Alerts dropped because nobody polled them (`max_pending_events`).
    pub events_dropped: u64,
}

#[derive(Debug, Default)]
struct ScopeState {
    /// Complaining contacts in the window, oldest first, at most `max_complaints_per_scope`.
    recent: VecDeque<(Timestamp, ContactId)>,
    raised: bool,
    /// No raise before this (unix ms): the last raise plus the rule's cooldown.
    cooldown_until_ms: i64,
}

/// The complaint alerts of every rule and scope.
#[derive(Debug)]
pub struct ComplaintAlerts {
    rules: Vec<ComplaintRule>,
    scopes: HashMap<(RuleIndex, Scope), ScopeState>,
    pending: VecDeque<AlertEvent>,
    max_pending_events: usize,
    counters: AlertCounters,
}

fn ms(d: DurationMs) -> i64 {
    i64::try_from(d.as_ms()).unwrap_or(i64::MAX)
}

impl ComplaintAlerts {
    /// The engine for these rules (at most [`MAX_RULES`], each valid, names unique).
    pub fn new(rules: Vec<ComplaintRule>) -> Result<Self, KpiError> {
        if rules.is_empty() || rules.len() > MAX_RULES {
            return Err(KpiError::Invalid { key: "rules", problem: format!("must be 1 to {MAX_RULES}") });
        }
        for (i, rule) in rules.iter().enumerate() {
            rule.validate()?;
            if rules[..i].iter().any(|r| r.name == rule.name) {
                return Err(KpiError::Invalid { key: "name", problem: format!("{:?} is used twice", rule.name) });
            }
        }
        let max_pending_events = rules.iter().map(|r| r.max_pending_events).min().unwrap_or(1);
        Ok(Self {
            rules,
            scopes: HashMap::new(),
            pending: VecDeque::new(),
            max_pending_events,
            counters: AlertCounters::default(),
        })
    }

    /// The rules, in [`RuleIndex`] order.
    pub fn rules(&self) -> &[ComplaintRule] {
        &self.rules
    }

    /// The rule an event names.
    pub fn rule(&self, index: RuleIndex) -> Option<&ComplaintRule> {
        self.rules.get(index.0)
    }

    /// The rules under which a signal marks a complaint.
    pub fn matching_rules(&self, signal: Signal<'_>) -> Vec<RuleIndex> {
        let matches = |rule: &ComplaintRule| match signal {
            Signal::Disposition(code) => rule.dispositions.contains(code),
            Signal::KeywordFlags(flags) => flags.iter().any(|f| rule.keyword_flags.contains(f)),
        };
        self.rules.iter().enumerate().filter(|(_, r)| matches(r)).map(|(i, _)| RuleIndex(i)).collect()
    }

    /// Whether a signal marks a complaint under any rule.
    pub fn is_complaint(&self, signal: Signal<'_>) -> bool {
        !self.matching_rules(signal).is_empty()
    }

    /// Feeds one signal about a contact in. Returns how many rules counted it as a complaint.
    /// The scope's window is moved to `now` first and both thresholds are checked after the
    /// complaint is added, so a complaint arriving as an older one leaves does not flap the alert.
    pub fn handle_signal(&mut self, now: Timestamp, scope: Scope, contact: ContactId, signal: Signal<'_>) -> usize {
        let mut counted = 0;
        for rule in self.matching_rules(signal) {
            if self.count(now, rule, scope, contact) {
                counted += 1;
            }
        }
        counted
    }

    fn count(&mut self, now: Timestamp, rule: RuleIndex, scope: Scope, contact: ContactId) -> bool {
        let r = &self.rules[rule.0];
        let key = (rule, scope);
        let tracked = self.scopes.keys().filter(|(i, _)| *i == rule).count();
        if !self.scopes.contains_key(&key) && tracked >= r.max_tracked_scopes {
            self.counters.scopes_full += 1;
            return false;
        }
        let keep = r.max_complaints_per_scope;
        let oldest_kept = now.unix_ms().saturating_sub(ms(r.window_ms));
        let state = self.scopes.entry(key).or_default();
        expire(state, oldest_kept);
        if state.recent.iter().any(|(_, c)| *c == contact) {
            self.counters.repeated_contact += 1;
        } else {
            self.counters.complaints += 1;
            state.recent.push_back((now, contact));
            while state.recent.len() > keep {
                state.recent.pop_front();
            }
        }
        if let Some(event) = self.decide(key, now) {
            self.push(event);
        }
        true
    }

    /// Raises or clears a scope's alert from its current count.
    fn decide(&mut self, key: (RuleIndex, Scope), now: Timestamp) -> Option<AlertEvent> {
        let (rule, scope) = key;
        let r = &self.rules[rule.0];
        let state = self.scopes.get_mut(&key)?;
        let complaints = state.recent.len() as u32;
        if !state.raised && complaints > r.raise_above {
            if now.unix_ms() < state.cooldown_until_ms {
                self.counters.raises_cooled_down += 1;
                return None;
            }
            state.raised = true;
            state.cooldown_until_ms = now.unix_ms().saturating_add(ms(r.cooldown_ms));
            return Some(AlertEvent::Raised { rule, scope, at: now, complaints });
        }
        if state.raised && complaints <= r.clear_at_or_below {
            state.raised = false;
            return Some(AlertEvent::Cleared { rule, scope, at: now, complaints });
        }
        None
    }

    /// Lets time pass: complaints older than the window leave it, raised alerts may clear,
    /// cooled-down scopes still above the threshold raise, and quiet scopes are forgotten.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let mut keys: Vec<(RuleIndex, Scope)> = Vec::new();
        for (key, state) in &mut self.scopes {
            let oldest_kept = now.unix_ms().saturating_sub(ms(self.rules[key.0.0].window_ms));
            expire(state, oldest_kept);
            keys.push(*key);
        }
        keys.sort_unstable();
        for key in keys {
            if let Some(event) = self.decide(key, now) {
                self.push(event);
            }
        }
        let now_ms = now.unix_ms();
        self.scopes.retain(|_, s| s.raised || !s.recent.is_empty() || s.cooldown_until_ms > now_ms);
    }

    /// When to call `handle_timeout` next: the next complaint leaving its window, or the end
    /// of a cooldown that holds back a raise. O(scopes), bounded by the rules' scope limits.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.scopes
            .iter()
            .filter_map(|((rule, _), s)| {
                let r = &self.rules[rule.0];
                let leaves = s.recent.front().map(|(at, _)| at.unix_ms().saturating_add(ms(r.window_ms)));
                let held_back = !s.raised && s.recent.len() as u32 > r.raise_above;
                let cools = held_back.then_some(s.cooldown_until_ms);
                leaves.into_iter().chain(cools).min()
            })
            .min()
            .map(Timestamp::from_unix_ms)
    }

    /// The next alert to deliver (wallboard, webhook), oldest first.
    pub fn poll_event(&mut self) -> Option<AlertEvent> {
        self.pending.pop_front()
    }

    /// Whether a rule's alert is raised now for a scope.
    pub fn is_raised(&self, rule: RuleIndex, scope: Scope) -> bool {
        self.scopes.get(&(rule, scope)).is_some_and(|s| s.raised)
    }

    /// The alerts raised now, with their current counts, in rule and scope order.
    pub fn raised(&self) -> Vec<(RuleIndex, Scope, u32)> {
        let mut out: Vec<_> = self
            .scopes
            .iter()
            .filter(|(_, s)| s.raised)
            .map(|((rule, scope), s)| (*rule, *scope, s.recent.len() as u32))
            .collect();
        out.sort_unstable();
        out
    }

    pub fn counters(&self) -> AlertCounters {
        self.counters
    }

    pub fn tracked_scopes(&self) -> usize {
        self.scopes.len()
    }

    fn push(&mut self, event: AlertEvent) {
        if self.pending.len() >= self.max_pending_events {
            self.counters.events_dropped += 1;
        } else {
            self.pending.push_back(event);
        }
    }
}

/// Drops complaints that left the window (made at or before `oldest_kept`).
fn expire(state: &mut ScopeState, oldest_kept: i64) {
    while state.recent.front().is_some_and(|(at, _)| at.unix_ms() <= oldest_kept) {
        state.recent.pop_front();
    }
}

#[cfg(test)]
mod tests;
