//! Complaint alerting (the finance scenario): "more than N contacts with disposition `complaint`
//! (or a transcript containing a keyword such as 投诉) within a sliding window of W minutes",
//! per org and queue.
//!
//! - **Raise once**: when the count of distinct contacts in the window goes above
//!   `raise_above`, one [`AlertEvent::Raised`]; more complaints while raised say nothing new.
//! - **Clear with hysteresis**: once raised, the alert clears only when the count falls to
//!   `clear_at_or_below` (lower than `raise_above`), so a count hovering around N does not flap.
//! - A contact counts once in a window, whether it matched by disposition, keyword or both.
//!
//! Sans-IO, quinn style: `handle_signal(now, ...)` and `handle_timeout(now)` feed time and
//! signals in; `poll_event()` takes alerts out; `poll_timeout()` says when to call
//! `handle_timeout` next. Bounded: per scope only the last `raise_above + 1` contacts are kept
//! (enough to decide both thresholds exactly), at most `max_tracked_scopes` scopes, at most
//! `max_pending_events` undelivered alerts, and only the first `max_transcript_bytes` of a
//! transcript are searched. Never reads a clock, never panics on input.

use std::collections::{HashMap, VecDeque};

use model::{ContactId, DurationMs, OrgId, QueueId, ReasonCode, Timestamp};

use crate::KpiError;

/// The rule, validated by [`ComplaintRule::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintRule {
    /// The disposition that marks a complaint (`complaint`).
    pub disposition: ReasonCode,
    /// Transcript keywords that mark a complaint (`投诉`), once transcription exists.
    pub keywords: Vec<String>,
    /// N: raise when more than this many contacts complained within the window.
    pub raise_above: u32,
    /// Clear when the count falls to this or below (less than `raise_above`).
    pub clear_at_or_below: u32,
    /// W, the sliding window.
    pub window_ms: DurationMs,
    /// Complaining contacts kept per scope (more than `raise_above`).
    pub max_complaints_per_scope: usize,
    pub max_tracked_scopes: usize,
    pub max_pending_events: usize,
    pub max_transcript_bytes: usize,
}

impl ComplaintRule {
    /// "More than `n` complaints in `window`", clearing at half of `n`, with default limits.
    pub fn more_than(n: u32, window: DurationMs, disposition: ReasonCode) -> Self {
        Self {
            disposition,
            keywords: vec!["投诉".to_owned()],
            raise_above: n,
            clear_at_or_below: n / 2,
            window_ms: window,
            max_complaints_per_scope: 1_000,
            max_tracked_scopes: 1_000,
            max_pending_events: 1_000,
            max_transcript_bytes: 64 * 1024,
        }
    }

    pub fn validate(&self) -> Result<(), KpiError> {
        let bad = |key, problem: &str| Err(KpiError::Invalid { key, problem: problem.to_owned() });
        if self.clear_at_or_below >= self.raise_above {
            return bad("clear_at_or_below", "must be less than raise_above (hysteresis)");
        }
        if self.window_ms == DurationMs::ZERO {
            return bad("window_ms", "must be more than zero");
        }
        if self.keywords.iter().any(String::is_empty) {
            return bad("keywords", "must not contain an empty keyword");
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
    Disposition(&'a ReasonCode),
    Transcript(&'a str),
}

/// What the alert says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertEvent {
    /// More than `raise_above` contacts complained within the window ending `at`.
    Raised { scope: Scope, at: Timestamp, complaints: u32 },
    /// The count fell to `clear_at_or_below` or less.
    Cleared { scope: Scope, at: Timestamp, complaints: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertCounters {
    pub complaints: u64,
    pub repeated_contact: u64,
    /// Complaints dropped because `max_tracked_scopes` scopes were busy.
    pub scopes_full: u64,
    /// Alerts dropped because nobody polled them (`max_pending_events`).
    pub events_dropped: u64,
}

#[derive(Debug, Default)]
struct ScopeState {
    /// Complaining contacts in the window, oldest first, at most `max_complaints_per_scope`.
    recent: VecDeque<(Timestamp, ContactId)>,
    raised: bool,
}

/// The complaint alerts of every scope.
#[derive(Debug)]
pub struct ComplaintAlerts {
    rule: ComplaintRule,
    scopes: HashMap<Scope, ScopeState>,
    pending: VecDeque<AlertEvent>,
    counters: AlertCounters,
}

impl ComplaintAlerts {
    pub fn new(rule: ComplaintRule) -> Result<Self, KpiError> {
        rule.validate()?;
        Ok(Self { rule, scopes: HashMap::new(), pending: VecDeque::new(), counters: AlertCounters::default() })
    }

    /// Whether a signal marks a complaint under the rule.
    pub fn is_complaint(&self, signal: Signal<'_>) -> bool {
        match signal {
            Signal::Disposition(code) => *code == self.rule.disposition,
            Signal::Transcript(text) => {
                let mut end = text.len().min(self.rule.max_transcript_bytes);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                let searched = &text[..end];
                self.rule.keywords.iter().any(|k| searched.contains(k.as_str()))
            }
        }
    }

    /// Feeds one signal about a contact in. Returns whether it counted as a complaint. The
    /// scope's window is moved to `now` first and both thresholds are checked after the
    /// complaint is added, so a complaint arriving as an older one leaves does not flap the alert.
    pub fn handle_signal(&mut self, now: Timestamp, scope: Scope, contact: ContactId, signal: Signal<'_>) -> bool {
        if !self.is_complaint(signal) {
            return false;
        }
        if !self.scopes.contains_key(&scope) && self.scopes.len() >= self.rule.max_tracked_scopes {
            self.counters.scopes_full += 1;
            return false;
        }
        let keep = self.rule.max_complaints_per_scope;
        let oldest_kept = self.oldest_kept(now);
        let state = self.scopes.entry(scope).or_default();
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
        if let Some(event) = self.decide(scope, now) {
            self.push(event);
        }
        true
    }

    /// Raises or clears a scope's alert from its current count.
    fn decide(&mut self, scope: Scope, now: Timestamp) -> Option<AlertEvent> {
        let state = self.scopes.get_mut(&scope)?;
        let complaints = state.recent.len() as u32;
        if !state.raised && complaints > self.rule.raise_above {
            state.raised = true;
            return Some(AlertEvent::Raised { scope, at: now, complaints });
        }
        if state.raised && complaints <= self.rule.clear_at_or_below {
            state.raised = false;
            return Some(AlertEvent::Cleared { scope, at: now, complaints });
        }
        None
    }

    fn oldest_kept(&self, now: Timestamp) -> i64 {
        let window_ms = i64::try_from(self.rule.window_ms.as_ms()).unwrap_or(i64::MAX);
        now.unix_ms().saturating_sub(window_ms)
    }

    /// Lets time pass: complaints older than the window leave it, raised alerts may clear, and
    /// quiet scopes are forgotten.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let oldest_kept = self.oldest_kept(now);
        let mut scopes: Vec<Scope> = Vec::new();
        for (scope, state) in &mut self.scopes {
            expire(state, oldest_kept);
            scopes.push(*scope);
        }
        scopes.sort_unstable();
        for scope in scopes {
            if let Some(event) = self.decide(scope, now) {
                self.push(event);
            }
        }
        self.scopes.retain(|_, s| s.raised || !s.recent.is_empty());
    }

    /// When the next complaint leaves its window (the moment to call `handle_timeout`).
    /// O(scopes), bounded by `max_tracked_scopes`.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let window_ms = i64::try_from(self.rule.window_ms.as_ms()).unwrap_or(i64::MAX);
        self.scopes
            .values()
            .filter_map(|s| s.recent.front())
            .map(|(at, _)| Timestamp::from_unix_ms(at.unix_ms().saturating_add(window_ms)))
            .min()
    }

    /// The next alert to deliver (wallboard, webhook), oldest first.
    pub fn poll_event(&mut self) -> Option<AlertEvent> {
        self.pending.pop_front()
    }

    /// Whether a scope's alert is raised now.
    pub fn is_raised(&self, scope: Scope) -> bool {
        self.scopes.get(&scope).is_some_and(|s| s.raised)
    }

    pub fn counters(&self) -> AlertCounters {
        self.counters
    }

    pub fn tracked_scopes(&self) -> usize {
        self.scopes.len()
    }

    fn push(&mut self, event: AlertEvent) {
        if self.pending.len() >= self.rule.max_pending_events {
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
