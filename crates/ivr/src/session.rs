//! One call walking one flow: a sans-IO state machine.
//!
//! The shell feeds [`Input`]s with [`Session::handle`]`(now, input)` and the passing of time with
//! [`Session::handle_timeout`]`(now)`; it takes [`Action`]s out with [`Session::poll_action`] and
//! asks [`Session::poll_timeout`] when to call `handle_timeout` next. The session never does IO:
//! lookups, HTTP calls and the reset-link mail are actions carrying a [`RequestId`]; their answers
//! come back as inputs with the same id (a late answer, after its timeout, is ignored).
//!
//! Must never: panic on any input or any order of inputs, wait without a deadline, or grow past its
//! [`Limits`]. Every session ends (hang-up, queue or voicemail) once the caller stops pressing keys:
//! each wait has a deadline, retries are bounded, and the path, the steps per input and the time in
//! the IVR are capped; hitting a cap hands the caller to an agent (the flow's entry point) with the
//! attribute `ivr_limit` naming the cap.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use model::{ContactOutcome, DurationMs, Language, OrderStatus, Timestamp};

use crate::flow::{
    Collect, Flow, Fragment, HangupOutcome, LanguageChoice, Lookup, LookupKind, Menu, NodeIdx, NodeKind, Value,
};
use crate::prompt::{PromptRef, spoken_digits, spoken_status};

/// Bounds of one session. Every collection and wait is bounded by one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most nodes recorded in the path; entering one more hands the call to an agent.
    pub max_path_len: usize,
    /// Most digits recorded for the contact record (more are counted, not kept).
    pub max_digits: usize,
    /// Most nodes run for one input (a safety net: validation already refuses busy loops).
    pub max_steps_per_input: usize,
    /// Most variables kept (collected digits, lookup fields).
    pub max_variables: usize,
    /// Longest variable value kept, in bytes.
    pub max_value_bytes: usize,
    /// Longest wait for `PlaybackDone` before going on as if it came.
    pub max_play_wait_ms: u64,
    /// Longest time in the IVR before the call is handed to an agent.
    pub max_ivr_duration_ms: u64,
    /// Most actions waiting to be polled (the oldest is dropped and counted beyond it).
    pub max_pending_actions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_path_len: 64,
            max_digits: 64,
            max_steps_per_input: 32,
            max_variables: 64,
            max_value_bytes: 256,
            max_play_wait_ms: 120_000,
            max_ivr_duration_ms: 900_000,
            max_pending_actions: 16,
        }
    }
}

/// The call a session serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The caller's number as received (`+8613800000001`); available to the flow as `{caller}`.
    pub caller: String,
    /// The number dialled (`4000`); available as `{dialled}`.
    pub dialled: String,
    /// The language to start in; the flow's default when `None` or not one of its languages.
    pub language: Option<Language>,
}

/// Ties an asynchronous answer to the action that asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u32);

/// An answer to a `Lookup` or `Http` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupAnswer {
    /// Fields of the answer. `order_status` needs `status` (an [`OrderStatus`] word);
    /// `customer_by_caller` may give any (`name`, `vip`, `email_on_file` …). Stored as
    /// variables `<store_as>.<field>` (`store_as` defaults to the lookup node's id).
    Found(BTreeMap<String, String>),
    NotFound,
    /// The lookup failed (database down, HTTP error, bad answer).
    Failed,
}

/// The answer to a `SendResetLink` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetLinkResult {
    /// The link was sent to the email on file.
    Sent,
    /// No customer has the caller's number.
    NoCustomer,
    /// The customer has no email on file.
    NoEmail,
    Failed,
}

/// What the shell tells the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The call is answered and media flows: the flow starts.
    Started,
    /// A DTMF digit (`0-9`, `*`, `#`, `A-D`); anything else is ignored and counted.
    Dtmf(char),
    /// The last `Play` finished (or was stopped).
    PlaybackDone,
    LookupResult {
        request: RequestId,
        answer: LookupAnswer,
    },
    ActionResult {
        request: RequestId,
        result: ResetLinkResult,
    },
    /// The caller hung up.
    Hangup,
}

/// A built-in lookup the application answers from its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupQuery {
    CustomerByCaller { caller: String },
    OrderStatus { order_number: String },
}

/// Where a queued call goes: the ACD's route table chooses the queue for an entry point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueTarget {
    EntryPoint(String),
    /// A queue named by the flow (a hint the application may map to a `QueueId`).
    Queue(String),
}

/// Why the session hangs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupReason {
    /// The caller was served.
    Completed,
    /// The flow ended in an error branch.
    Error,
}

/// What the session asks the shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Play the fragments back to back; then send `PlaybackDone`. With `barge_in`, a digit may stop it.
    Play { fragments: Vec<PromptRef>, barge_in: bool },
    /// Stop the current playback (the caller pressed a key during a barge-in prompt).
    StopPlayback,
    /// Answer with `Input::LookupResult` carrying `request`.
    Lookup { request: RequestId, query: LookupQuery, timeout: DurationMs },
    /// GET `url` with `params` as the query string; answer with `Input::LookupResult`
    /// (`Found` with the JSON object's top-level string fields, `NotFound` on 404, else `Failed`).
    Http { request: RequestId, url: String, params: BTreeMap<String, String>, timeout: DurationMs },
    /// Send a password-reset link to the email on file of the customer with this number; answer
    /// with `Input::ActionResult`.
    SendResetLink { request: RequestId, caller: String, language: Language, timeout: DurationMs },
    /// Hand the call to the ACD; the session has ended.
    Queue { target: QueueTarget, attributes: BTreeMap<String, String>, language: Language },
    /// Record a voicemail; the session has ended.
    Voicemail { mailbox: String, language: Language },
    /// Hang up; the session has ended.
    Hangup { reason: HangupReason },
}

/// How the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    SelfServed,
    Queued,
    Voicemail,
    Abandoned,
    Error,
}

impl Outcome {
    /// The contact's outcome, or `None` when the ACD decides it (queued).
    pub fn contact_outcome(self) -> Option<ContactOutcome> {
        match self {
            Outcome::SelfServed => Some(ContactOutcome::SelfServed),
            Outcome::Queued => None,
            Outcome::Voicemail => Some(ContactOutcome::Voicemail),
            Outcome::Abandoned => Some(ContactOutcome::Abandoned),
            Outcome::Error => Some(ContactOutcome::Failed),
        }
    }
}

/// Things a session dropped or ignored because a limit bit or an input made no sense.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub ignored_inputs: u64,
    pub dropped_digits: u64,
    pub dropped_variables: u64,
    pub dropped_actions: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterPlay {
    Next(NodeIdx),
    /// Perform the terminal node's end (queue, voicemail, hang-up).
    Finish(NodeIdx),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Wait {
    NotStarted,
    Playing { barge_in: bool, then: AfterPlay },
    Menu { node: NodeIdx, retries: u32, listening: bool },
    Collect { node: NodeIdx, retries: u32, listening: bool, digits: String },
    Lookup { node: NodeIdx, request: RequestId },
    ResetLink { node: NodeIdx, request: RequestId },
    Ended,
}

#[derive(Debug, Clone, Copy)]
enum Failure {
    Timeout,
    Invalid,
}

/// One call in the IVR.
#[derive(Debug)]
pub struct Session {
    flow: Arc<Flow>,
    limits: Limits,
    caller: String,
    dialled: String,
    language: Language,
    started_at: Timestamp,
    wait: Wait,
    deadline: Option<Timestamp>,
    variables: BTreeMap<String, String>,
    attributes: BTreeMap<String, String>,
    visits: Vec<u32>,
    path: Vec<String>,
    digits: String,
    actions: VecDeque<Action>,
    outcome: Option<Outcome>,
    next_request: u32,
    counters: Counters,
}

impl Session {
    /// A session with the default [`Limits`]; nothing happens until [`Input::Started`].
    pub fn new(flow: Arc<Flow>, call: CallInfo, now: Timestamp) -> Self {
        Self::with_limits(flow, call, now, Limits::default())
    }

    pub fn with_limits(flow: Arc<Flow>, call: CallInfo, now: Timestamp, limits: Limits) -> Self {
        let language =
            call.language.filter(|l| flow.languages.contains(l)).unwrap_or_else(|| flow.default_language.clone());
        let nodes = flow.nodes.len();
        Self {
            flow,
            limits,
            caller: call.caller,
            dialled: call.dialled,
            language,
            started_at: now,
            wait: Wait::NotStarted,
            deadline: None,
            variables: BTreeMap::new(),
            attributes: BTreeMap::new(),
            visits: vec![0; nodes],
            path: Vec::new(),
            digits: String::new(),
            actions: VecDeque::new(),
            outcome: None,
            next_request: 0,
            counters: Counters::default(),
        }
    }

    /// Feeds one input. Timers due at `now` fire first.
    pub fn handle(&mut self, now: Timestamp, input: Input) {
        self.handle_timeout(now);
        if self.is_ended() {
            self.counters.ignored_inputs += 1;
            return;
        }
        match input {
            Input::Started => self.start(now),
            Input::Dtmf(d) => self.dtmf(now, d),
            Input::PlaybackDone => self.playback_done(now),
            Input::LookupResult { request, answer } => self.lookup_result(now, request, answer),
            Input::ActionResult { request, result } => self.reset_link_result(now, request, result),
            Input::Hangup => {
                self.end(Outcome::Abandoned);
            }
        }
    }

    /// The passing of time: fires the wait's deadline and the IVR time cap if due.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.is_ended() || matches!(self.wait, Wait::NotStarted) {
            return;
        }
        if now.since(self.started_at).as_ms() >= self.limits.max_ivr_duration_ms {
            self.give_up("duration");
            return;
        }
        if self.deadline.is_some_and(|d| d <= now) {
            self.deadline = None;
            self.deadline_passed(now);
        }
    }

    /// The next action for the shell, oldest first.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`Session::handle_timeout`] next; `None` when ended or not started.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.is_ended() || matches!(self.wait, Wait::NotStarted) {
            return None;
        }
        let cap = self.started_at.plus(DurationMs::from_ms(self.limits.max_ivr_duration_ms));
        Some(self.deadline.map_or(cap, |d| d.min(cap)))
    }

    pub fn is_ended(&self) -> bool {
        matches!(self.wait, Wait::Ended)
    }

    /// How the session ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// Node ids visited, in order (the contact's `ivr_path`).
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// Digits pressed, in order (the contact's `ivr_digits`).
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The language prompts are played in now.
    pub fn language(&self) -> &Language {
        &self.language
    }

    /// Attributes set so far (handed to the ACD on queueing).
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.attributes
    }

    /// Collected digits and lookup fields.
    pub fn variables(&self) -> &BTreeMap<String, String> {
        &self.variables
    }

    /// The node the session is waiting in, if any.
    pub fn current_node(&self) -> Option<&str> {
        let idx = match &self.wait {
            Wait::Menu { node, .. }
            | Wait::Collect { node, .. }
            | Wait::Lookup { node, .. }
            | Wait::ResetLink { node, .. } => *node,
            Wait::Playing { .. } => return self.path.last().map(String::as_str),
            Wait::NotStarted | Wait::Ended => return None,
        };
        Some(&self.flow.node(idx).id)
    }

    /// The flow this session runs (kept across reloads).
    pub fn flow(&self) -> &Arc<Flow> {
        &self.flow
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    // --- inputs ---

    fn start(&mut self, now: Timestamp) {
        if matches!(self.wait, Wait::NotStarted) {
            self.started_at = now;
            self.wait = Wait::Playing { barge_in: false, then: AfterPlay::Next(self.flow.start) };
            self.run(now, self.flow.start);
        } else {
            self.counters.ignored_inputs += 1;
        }
    }

    fn dtmf(&mut self, now: Timestamp, d: char) {
        let valid = d.is_ascii_digit() || matches!(d, '*' | '#' | 'A'..='D');
        if !valid || matches!(self.wait, Wait::NotStarted) {
            self.counters.ignored_inputs += 1;
            return;
        }
        if self.digits.len() < self.limits.max_digits {
            self.digits.push(d);
        } else {
            self.counters.dropped_digits += 1;
        }
        match std::mem::replace(&mut self.wait, Wait::Ended) {
            Wait::Playing { barge_in: true, then } => {
                self.emit(Action::StopPlayback);
                self.after_play(now, then);
            }
            Wait::Menu { node, retries, listening } => {
                if !listening {
                    self.emit(Action::StopPlayback);
                }
                self.menu_digit(now, node, retries, d);
            }
            Wait::Collect { node, retries, listening, digits } => {
                if !listening {
                    self.emit(Action::StopPlayback);
                }
                self.collect_digit(now, node, retries, digits, d);
            }
            other => {
                self.wait = other;
            }
        }
    }

    fn playback_done(&mut self, now: Timestamp) {
        match std::mem::replace(&mut self.wait, Wait::Ended) {
            Wait::Playing { then, .. } => self.after_play(now, then),
            Wait::Menu { node, retries, listening: false } => {
                let timeout = self.menu(node).timeout;
                self.wait = Wait::Menu { node, retries, listening: true };
                self.deadline = Some(now.plus(timeout));
            }
            Wait::Collect { node, retries, listening: false, digits } => {
                let timeout = self.collect(node).first_digit_timeout;
                self.wait = Wait::Collect { node, retries, listening: true, digits };
                self.deadline = Some(now.plus(timeout));
            }
            other => {
                // A late PlaybackDone (after a barge-in stop or a play timeout) changes nothing.
                self.wait = other;
                self.counters.ignored_inputs += 1;
            }
        }
    }

    fn lookup_result(&mut self, now: Timestamp, request: RequestId, answer: LookupAnswer) {
        let Wait::Lookup { node, request: waiting } = self.wait else {
            self.counters.ignored_inputs += 1;
            return;
        };
        if waiting != request {
            self.counters.ignored_inputs += 1;
            return;
        }
        let lookup = self.lookup(node).clone();
        let next = match answer {
            LookupAnswer::NotFound => lookup.not_found,
            LookupAnswer::Failed => lookup.error,
            LookupAnswer::Found(fields) => self.lookup_found(&lookup, fields),
        };
        self.run(now, next);
    }

    fn lookup_found(&mut self, lookup: &Lookup, fields: BTreeMap<String, String>) -> NodeIdx {
        if let LookupKind::OrderStatus { .. } = lookup.kind {
            let valid = fields.get("status").is_some_and(|s| s.parse::<OrderStatus>().is_ok());
            if !valid {
                return lookup.error;
            }
        }
        let mut next = lookup.found;
        if let LookupKind::Http { branch_on: Some(field), branches, .. } = &lookup.kind
            && let Some(target) = fields.get(field).and_then(|v| branches.get(v))
        {
            next = *target;
        }
        for (k, v) in fields {
            let name = format!("{}.{}", lookup.store_as, k);
            self.set_variable(name, v);
        }
        next
    }

    fn reset_link_result(&mut self, now: Timestamp, request: RequestId, result: ResetLinkResult) {
        let Wait::ResetLink { node, request: waiting } = self.wait else {
            self.counters.ignored_inputs += 1;
            return;
        };
        if waiting != request {
            self.counters.ignored_inputs += 1;
            return;
        }
        let NodeKind::SendResetLink { sent, no_customer, no_email, error, .. } = self.flow.node(node).kind else {
            unreachable!("ResetLink waits only in send_reset_link nodes");
        };
        let next = match result {
            ResetLinkResult::Sent => sent,
            ResetLinkResult::NoCustomer => no_customer,
            ResetLinkResult::NoEmail => no_email,
            ResetLinkResult::Failed => error,
        };
        self.run(now, next);
    }

    fn deadline_passed(&mut self, now: Timestamp) {
        match std::mem::replace(&mut self.wait, Wait::Ended) {
            // Media never said the prompt ended: go on as if it had.
            Wait::Playing { then, .. } => self.after_play(now, then),
            Wait::Menu { node, retries, listening: false } => {
                self.wait = Wait::Menu { node, retries, listening: false };
                self.playback_done(now);
            }
            Wait::Menu { node, retries, listening: true } => self.retry(now, node, retries, Failure::Timeout),
            Wait::Collect { node, retries, listening: false, digits } => {
                self.wait = Wait::Collect { node, retries, listening: false, digits };
                self.playback_done(now);
            }
            Wait::Collect { node, retries, listening: true, digits } => {
                let c = self.collect(node);
                if digits.len() >= c.min_digits as usize {
                    self.collected(now, node, digits);
                } else {
                    let why = if digits.is_empty() { Failure::Timeout } else { Failure::Invalid };
                    self.retry(now, node, retries, why);
                }
            }
            Wait::Lookup { node, .. } => {
                let error = self.lookup(node).error;
                self.run(now, error);
            }
            Wait::ResetLink { node, .. } => {
                let NodeKind::SendResetLink { error, .. } = self.flow.node(node).kind else {
                    unreachable!("ResetLink waits only in send_reset_link nodes");
                };
                self.run(now, error);
            }
            other => self.wait = other,
        }
    }

    // --- menus and digit collection ---

    fn menu(&self, node: NodeIdx) -> &Menu {
        match &self.flow.node(node).kind {
            NodeKind::Menu(m) => m,
            _ => unreachable!("Menu waits only in menu nodes"),
        }
    }

    fn collect(&self, node: NodeIdx) -> &Collect {
        match &self.flow.node(node).kind {
            NodeKind::Collect(c) => c,
            _ => unreachable!("Collect waits only in collect nodes"),
        }
    }

    fn lookup(&self, node: NodeIdx) -> &Lookup {
        match &self.flow.node(node).kind {
            NodeKind::Lookup(l) => l,
            _ => unreachable!("Lookup waits only in lookup nodes"),
        }
    }

    fn menu_digit(&mut self, now: Timestamp, node: NodeIdx, retries: u32, d: char) {
        self.deadline = None;
        match self.menu(node).choices.get(&d).copied() {
            Some(next) => self.run(now, next),
            None => self.retry(now, node, retries, Failure::Invalid),
        }
    }

    fn collect_digit(&mut self, now: Timestamp, node: NodeIdx, retries: u32, mut digits: String, d: char) {
        let c = self.collect(node);
        let (terminator, min, max, inter) =
            (c.terminator, c.min_digits as usize, c.max_digits as usize, c.inter_digit_timeout);
        if Some(d) == terminator {
            self.deadline = None;
            if digits.len() >= min {
                self.collected(now, node, digits);
            } else {
                self.retry(now, node, retries, Failure::Invalid);
            }
            return;
        }
        if d.is_ascii_digit() {
            digits.push(d);
        }
        if digits.len() >= max {
            self.deadline = None;
            self.collected(now, node, digits);
            return;
        }
        self.wait = Wait::Collect { node, retries, listening: true, digits };
        self.deadline = Some(now.plus(inter));
    }

    fn collected(&mut self, now: Timestamp, node: NodeIdx, digits: String) {
        let c = self.collect(node);
        let (variable, next) = (c.variable.clone(), c.next);
        self.set_variable(variable, digits);
        self.run(now, next);
    }

    /// Plays the retry prompt and the node's prompt again, or leaves after the last retry.
    fn retry(&mut self, now: Timestamp, node: NodeIdx, retries: u32, why: Failure) {
        let flow = Arc::clone(&self.flow);
        let (retry, say, is_menu) = match &flow.node(node).kind {
            NodeKind::Menu(m) => (&m.retry, &m.say, true),
            NodeKind::Collect(c) => (&c.retry, &c.say, false),
            _ => unreachable!("retries happen only in menu and collect nodes"),
        };
        if retries >= retry.max_retries {
            self.run(now, retry.after_retries);
            return;
        }
        let prompt = match why {
            Failure::Timeout => retry.timeout_prompt.as_ref().or(retry.invalid_prompt.as_ref()),
            Failure::Invalid => retry.invalid_prompt.as_ref(),
        };
        let mut fragments: Vec<PromptRef> = prompt.map(|p| PromptRef::new(&self.language, p)).into_iter().collect();
        fragments.extend(self.render(say));
        self.wait = if is_menu {
            Wait::Menu { node, retries: retries + 1, listening: false }
        } else {
            Wait::Collect { node, retries: retries + 1, listening: false, digits: String::new() }
        };
        self.play(now, fragments, true);
    }

    // --- running nodes ---

    fn after_play(&mut self, now: Timestamp, then: AfterPlay) {
        match then {
            AfterPlay::Next(next) => self.run(now, next),
            AfterPlay::Finish(node) => self.finish(node),
        }
    }

    /// Enters `idx` and runs nodes that do not wait until one does or the session ends.
    fn run(&mut self, now: Timestamp, mut idx: NodeIdx) {
        self.deadline = None;
        let flow = Arc::clone(&self.flow);
        for _ in 0..self.limits.max_steps_per_input {
            let node = flow.node(idx);
            if let Some((max, after)) = node.max_visits
                && self.visits[idx] >= max
            {
                idx = after;
                continue;
            }
            if self.path.len() >= self.limits.max_path_len {
                self.give_up("path");
                return;
            }
            self.visits[idx] = self.visits[idx].saturating_add(1);
            self.path.push(node.id.clone());
            match &node.kind {
                NodeKind::Play { say, barge_in, next } => {
                    let fragments = self.render(say);
                    if fragments.is_empty() {
                        idx = *next;
                        continue;
                    }
                    self.wait = Wait::Playing { barge_in: *barge_in, then: AfterPlay::Next(*next) };
                    self.play(now, fragments, *barge_in);
                    return;
                }
                NodeKind::Menu(m) => {
                    let fragments = self.render(&m.say);
                    self.wait = Wait::Menu { node: idx, retries: 0, listening: false };
                    self.play(now, fragments, true);
                    return;
                }
                NodeKind::Collect(c) => {
                    let fragments = self.render(&c.say);
                    self.wait = Wait::Collect { node: idx, retries: 0, listening: false, digits: String::new() };
                    self.play(now, fragments, true);
                    return;
                }
                NodeKind::Lookup(l) => match self.start_lookup(now, idx, l) {
                    Some(next) => idx = next,
                    None => return,
                },
                NodeKind::Set { attributes, next } => {
                    for (k, v) in attributes {
                        let value = self.value(v);
                        if k == "language" {
                            // The language is the session's (and the Queue action's), not an attribute;
                            // a value that is not one of the flow's languages changes nothing.
                            if let Some(l) = Language::parse(&value).ok().filter(|l| flow.languages.contains(l)) {
                                self.language = l;
                            }
                        } else {
                            self.attributes.insert(k.clone(), value);
                        }
                    }
                    idx = *next;
                }
                NodeKind::Hours { hours, open, closed } => {
                    idx = if hours.is_open(&flow.calendars, now) { *open } else { *closed }
                }
                NodeKind::Language { choice, next } => {
                    self.language = match choice {
                        LanguageChoice::Fixed(l) => l.clone(),
                        LanguageChoice::Next => {
                            let langs = &flow.languages;
                            let i = langs.iter().position(|l| *l == self.language).map_or(0, |i| (i + 1) % langs.len());
                            langs[i].clone()
                        }
                    };
                    idx = *next;
                }
                NodeKind::Goto { next } => idx = *next,
                NodeKind::SendResetLink { timeout, .. } => {
                    let request = self.request_id();
                    let (caller, language) = (self.caller.clone(), self.language.clone());
                    self.emit(Action::SendResetLink { request, caller, language, timeout: *timeout });
                    self.wait = Wait::ResetLink { node: idx, request };
                    self.deadline = Some(now.plus(*timeout));
                    return;
                }
                NodeKind::Queue { say, .. } | NodeKind::Voicemail { say, .. } | NodeKind::Hangup { say, .. } => {
                    let fragments = self.render(say);
                    if fragments.is_empty() {
                        self.finish(idx);
                    } else {
                        self.wait = Wait::Playing { barge_in: false, then: AfterPlay::Finish(idx) };
                        self.play(now, fragments, false);
                    }
                    return;
                }
            }
        }
        self.give_up("steps");
    }

    /// Emits the lookup and waits, or returns where to go at once (no order number to look up).
    fn start_lookup(&mut self, now: Timestamp, idx: NodeIdx, l: &Lookup) -> Option<NodeIdx> {
        let request = self.request_id();
        let action = match &l.kind {
            LookupKind::CustomerByCaller => Action::Lookup {
                request,
                query: LookupQuery::CustomerByCaller { caller: self.caller.clone() },
                timeout: l.timeout,
            },
            LookupKind::OrderStatus { order_number } => {
                let number = self.variable(order_number).unwrap_or_default().to_owned();
                if number.is_empty() {
                    return Some(l.not_found);
                }
                let prefix = format!("{}.number", l.store_as);
                self.set_variable(prefix, number.clone());
                Action::Lookup { request, query: LookupQuery::OrderStatus { order_number: number }, timeout: l.timeout }
            }
            LookupKind::Http { url, params, .. } => {
                let params = params.iter().map(|(k, v)| (k.clone(), self.value(v))).collect();
                Action::Http { request, url: url.clone(), params, timeout: l.timeout }
            }
        };
        self.emit(action);
        self.wait = Wait::Lookup { node: idx, request };
        self.deadline = Some(now.plus(l.timeout));
        None
    }

    /// Ends in a terminal node.
    fn finish(&mut self, idx: NodeIdx) {
        let language = self.language.clone();
        let (action, outcome) = match &self.flow.node(idx).kind {
            NodeKind::Queue { queue, .. } => {
                let target = match queue {
                    Some(q) => QueueTarget::Queue(q.clone()),
                    None => QueueTarget::EntryPoint(self.flow.entry_point.clone()),
                };
                (Action::Queue { target, attributes: self.attributes.clone(), language }, Outcome::Queued)
            }
            NodeKind::Voicemail { mailbox, .. } => {
                (Action::Voicemail { mailbox: mailbox.clone(), language }, Outcome::Voicemail)
            }
            NodeKind::Hangup { outcome: HangupOutcome::SelfServed, .. } => {
                (Action::Hangup { reason: HangupReason::Completed }, Outcome::SelfServed)
            }
            NodeKind::Hangup { outcome: HangupOutcome::Error, .. } => {
                (Action::Hangup { reason: HangupReason::Error }, Outcome::Error)
            }
            _ => unreachable!("finish is called only for terminal nodes"),
        };
        self.emit(action);
        self.end(outcome);
    }

    /// A limit was reached: hand the caller to an agent rather than drop them.
    fn give_up(&mut self, limit: &str) {
        if matches!(
            self.wait,
            Wait::Playing { .. } | Wait::Menu { listening: false, .. } | Wait::Collect { listening: false, .. }
        ) {
            self.emit(Action::StopPlayback);
        }
        self.attributes.insert("ivr_limit".to_owned(), limit.to_owned());
        let target = QueueTarget::EntryPoint(self.flow.entry_point.clone());
        let (attributes, language) = (self.attributes.clone(), self.language.clone());
        self.emit(Action::Queue { target, attributes, language });
        self.end(Outcome::Queued);
    }

    fn end(&mut self, outcome: Outcome) {
        self.wait = Wait::Ended;
        self.deadline = None;
        self.outcome = Some(outcome);
    }

    fn play(&mut self, now: Timestamp, fragments: Vec<PromptRef>, barge_in: bool) {
        self.emit(Action::Play { fragments, barge_in });
        self.deadline = Some(now.plus(DurationMs::from_ms(self.limits.max_play_wait_ms)));
    }

    fn emit(&mut self, action: Action) {
        if self.actions.len() >= self.limits.max_pending_actions {
            self.actions.pop_front();
            self.counters.dropped_actions += 1;
        }
        self.actions.push_back(action);
    }

    fn request_id(&mut self) -> RequestId {
        self.next_request = self.next_request.wrapping_add(1);
        RequestId(self.next_request)
    }

    // --- variables and prompts ---

    fn variable(&self, name: &str) -> Option<&str> {
        match name {
            "caller" => Some(&self.caller),
            "dialled" => Some(&self.dialled),
            _ => self.variables.get(name).map(String::as_str),
        }
    }

    fn value(&self, v: &Value) -> String {
        match v {
            Value::Literal(s) => s.clone(),
            Value::Variable(name) => self.variable(name).unwrap_or_default().to_owned(),
        }
    }

    fn set_variable(&mut self, name: String, value: String) {
        let fits = value.len() <= self.limits.max_value_bytes && name.len() <= crate::flow::MAX_NAME_CHARS * 2;
        let room = self.variables.len() < self.limits.max_variables || self.variables.contains_key(&name);
        if fits && room {
            self.variables.insert(name, value);
        } else {
            self.counters.dropped_variables += 1;
        }
    }

    /// Prompt references for `say` in the current language; a fragment whose variable is unset
    /// (or not a status) says nothing.
    fn render(&self, say: &[Fragment]) -> Vec<PromptRef> {
        let mut out = Vec::new();
        for f in say {
            match f {
                Fragment::Prompt(p) => out.push(PromptRef::new(&self.language, p)),
                Fragment::Digits(var) => {
                    out.extend(spoken_digits(&self.language, self.variable(var).unwrap_or_default()))
                }
                Fragment::Status(var) => {
                    if let Some(status) = self.variable(var).and_then(|s| s.parse::<OrderStatus>().ok()) {
                        out.push(spoken_status(&self.language, status));
                    }
                }
            }
        }
        out
    }
}
