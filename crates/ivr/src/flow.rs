//! A validated IVR flow: nodes by index, every reference resolved, every prompt known.
//!
//! [`Flow::parse`] / [`Flow::load_file`] turn a TOML flow file into a [`Flow`] or one
//! [`FlowError`] naming the file, line, column and node (`flows/demo.toml:27:8: node
//! "order_lookup": unknown next node "order_sayy"`). Validation (all errors, none warnings):
//! the format version is 1; node ids are unique words; every node named (`next`, menu choices,
//! branches, `after_retries`, …) and the start node exist; every node is reachable from the start
//! (an unreachable node is an error: it is almost always a typo in a reference); menu digits are
//! one of `0-9*#`; durations carry a unit (`5s`, `500ms`) and are within bounds; every prompt exists
//! in the catalogue in every language of the flow (digit and status fragments too when a node
//! speaks them); every variable a node speaks or sends is defined by some collect or lookup; and
//! no loop can run without waiting for the caller (a cycle must pass through a `menu` or
//! `collect`; playing or looking up does not count, so such a cycle would replay forever).
//!
//! Must never: read any file other than the one it is given, or accept a flow over
//! [`MAX_FLOW_BYTES`] or [`MAX_NODES`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::Path;

use model::{DurationMs, Language};

use crate::calendar::CalendarLink;
use crate::hours::{self, BusinessHours, Date, MAX_HOLIDAYS, MAX_OFFSET_CHANGES, WEEKDAYS};
use crate::prompt::{PromptCatalog, fragment_prompt_names, is_prompt_name};
use crate::raw::{RawFlow, RawNode, S};

/// Largest flow file read.
pub const MAX_FLOW_BYTES: usize = 256 * 1024;
/// Most nodes in one flow.
pub const MAX_NODES: usize = 512;
/// Longest node id, variable or attribute name.
pub const MAX_NAME_CHARS: usize = 64;
/// Most fragments in one `say` list.
pub const MAX_SAY_ITEMS: usize = 32;
/// Highest `max_retries` a menu or collect may set.
pub const MAX_RETRIES: u32 = 9;
/// Most digits a collect node may take.
pub const MAX_COLLECT_DIGITS: u32 = 32;
/// Longest timeout a node may set.
pub const MAX_TIMEOUT_MS: u64 = 300_000;
/// Most attributes or params in one node.
pub const MAX_ATTRIBUTES: usize = 32;
/// Longest attribute value, HTTP URL or mailbox.
pub const MAX_VALUE_CHARS: usize = 2048;
/// The flow file format this crate reads.
pub const FORMAT_VERSION: i64 = 1;

/// Variables every session has: the caller's and the dialled number.
pub const BUILTIN_VARIABLES: [&str; 2] = ["caller", "dialled"];

/// Why a flow was refused: where, which node, what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FlowError {
    pub file: String,
    /// 1-based; 0 when the problem has no position (the file could not be read).
    pub line: usize,
    pub column: usize,
    pub node: Option<String>,
    pub message: String,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if let Some(node) = &self.node {
            write!(f, ": node {node:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Index of a node in its flow.
pub(crate) type NodeIdx = usize;

/// A piece of a spoken sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fragment {
    Prompt(String),
    /// A variable read digit by digit: `{digits:order_number}`.
    Digits(String),
    /// A variable holding an order status word, said from `status_*` fragments: `{status:order.status}`.
    Status(String),
}

/// A literal, or `{variable}` replaced by its value when the node runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Literal(String),
    Variable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Retry {
    pub max_retries: u32,
    pub invalid_prompt: Option<String>,
    pub timeout_prompt: Option<String>,
    pub after_retries: NodeIdx,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Menu {
    pub say: Vec<Fragment>,
    pub choices: BTreeMap<char, NodeIdx>,
    pub timeout: DurationMs,
    pub retry: Retry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Collect {
    pub say: Vec<Fragment>,
    pub min_digits: u32,
    pub max_digits: u32,
    pub terminator: Option<char>,
    pub first_digit_timeout: DurationMs,
    pub inter_digit_timeout: DurationMs,
    pub variable: String,
    pub next: NodeIdx,
    pub retry: Retry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LookupKind {
    CustomerByCaller,
    OrderStatus {
        order_number: String,
    },
    Http {
        url: String,
        params: BTreeMap<String, Value>,
        branch_on: Option<String>,
        branches: BTreeMap<String, NodeIdx>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lookup {
    pub kind: LookupKind,
    pub store_as: String,
    pub timeout: DurationMs,
    pub found: NodeIdx,
    pub not_found: NodeIdx,
    pub error: NodeIdx,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LanguageChoice {
    Fixed(Language),
    /// The next language of the flow's list, wrapping (a "press 9 for the other language" key).
    Next,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HangupOutcome {
    SelfServed,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Play { say: Vec<Fragment>, barge_in: bool, next: NodeIdx },
    Menu(Menu),
    Collect(Collect),
    Lookup(Lookup),
    Set { attributes: BTreeMap<String, Value>, next: NodeIdx },
    Hours { hours: Box<HoursRule>, open: NodeIdx, closed: NodeIdx },
    Language { choice: LanguageChoice, next: NodeIdx },
    Queue { say: Vec<Fragment>, queue: Option<String> },
    Voicemail { say: Vec<Fragment>, mailbox: String },
    Hangup { say: Vec<Fragment>, outcome: HangupOutcome },
    Goto { next: NodeIdx },
    SendResetLink { timeout: DurationMs, sent: NodeIdx, no_customer: NodeIdx, no_email: NodeIdx, error: NodeIdx },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub id: String,
    pub kind: NodeKind,
    /// After this many visits, the next visit goes to the other node instead (loop protection).
    pub max_visits: Option<(u32, NodeIdx)>,
}

impl NodeKind {
    /// Nodes this one can go to.
    fn successors(&self) -> Vec<NodeIdx> {
        match self {
            NodeKind::Play { next, .. }
            | NodeKind::Set { next, .. }
            | NodeKind::Language { next, .. }
            | NodeKind::Goto { next } => vec![*next],
            NodeKind::Menu(m) => m.choices.values().copied().chain([m.retry.after_retries]).collect(),
            NodeKind::Collect(c) => vec![c.next, c.retry.after_retries],
            NodeKind::Lookup(l) => {
                let mut v = vec![l.found, l.not_found, l.error];
                if let LookupKind::Http { branches, .. } = &l.kind {
                    v.extend(branches.values().copied());
                }
                v
            }
            NodeKind::Hours { open, closed, .. } => vec![*open, *closed],
            NodeKind::SendResetLink { sent, no_customer, no_email, error, .. } => {
                vec![*sent, *no_customer, *no_email, *error]
            }
            NodeKind::Queue { .. } | NodeKind::Voicemail { .. } | NodeKind::Hangup { .. } => Vec::new(),
        }
    }

    /// Whether the node waits for the caller's digits (what makes a loop safe).
    fn waits_for_caller(&self) -> bool {
        matches!(self, NodeKind::Menu(_) | NodeKind::Collect(_))
    }
}

/// A validated flow. Shared by sessions as `Arc<Flow>`; immutable once loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub(crate) id: String,
    pub(crate) file: String,
    pub(crate) numbers: Vec<String>,
    pub(crate) entry_point: String,
    pub(crate) languages: Vec<Language>,
    pub(crate) default_language: Language,
    pub(crate) start: NodeIdx,
    pub(crate) nodes: Vec<Node>,
    /// The named calendars `hours` nodes with `calendar = "..."` read at run time; a flow loaded
    /// on its own has an empty book until a [`crate::FlowRegistry`] links it to the shared one.
    pub(crate) calendars: CalendarLink,
}

/// What an `hours` node checks: hours written in the flow, or a named calendar edited as data
/// (an unknown name is closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HoursRule {
    Fixed(BusinessHours),
    Calendar(String),
}

impl HoursRule {
    pub(crate) fn is_open(&self, calendars: &CalendarLink, now: model::Timestamp) -> bool {
        match self {
            HoursRule::Fixed(h) => h.is_open(now),
            HoursRule::Calendar(name) => calendars.0.get(name).is_some_and(|c| c.is_open(now)),
        }
    }
}

impl Flow {
    /// Reads and validates a flow file. The error names `path` as given.
    pub fn load_file(path: &Path, catalog: &PromptCatalog) -> Result<Flow, FlowError> {
        let file = path.display().to_string();
        let no_pos = |message: String| FlowError { file: file.clone(), line: 0, column: 0, node: None, message };
        let meta = std::fs::metadata(path).map_err(|e| no_pos(format!("cannot read: {e}")))?;
        if meta.len() > MAX_FLOW_BYTES as u64 {
            return Err(no_pos(format!("is {} bytes; the limit is {MAX_FLOW_BYTES}", meta.len())));
        }
        let text = std::fs::read_to_string(path).map_err(|e| no_pos(format!("cannot read: {e}")))?;
        Self::parse(&file, &text, catalog)
    }

    /// Validates a flow from text; `file` names it in errors.
    pub fn parse(file: &str, text: &str, catalog: &PromptCatalog) -> Result<Flow, FlowError> {
        let lines = LineIndex::new(text);
        let at = |span: Range<usize>, node: Option<&str>, message: String| {
            let (line, column) = lines.position(text, span.start);
            FlowError { file: file.to_owned(), line, column, node: node.map(str::to_owned), message }
        };
        if text.len() > MAX_FLOW_BYTES {
            return Err(at(0..0, None, format!("is {} bytes; the limit is {MAX_FLOW_BYTES}", text.len())));
        }
        let raw: RawFlow = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_owned();
            at(e.span().unwrap_or(0..0), None, message)
        })?;
        Builder { raw: &raw, catalog, at: &at }.build(file)
    }

    /// The flow's id (`demo`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The file it was loaded from, as given.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The dialled numbers that reach this flow.
    pub fn numbers(&self) -> &[String] {
        &self.numbers
    }

    /// This flow reading its named calendars from `book` (the registry's shared one).
    pub fn with_calendars(mut self, book: std::sync::Arc<crate::CalendarBook>) -> Self {
        self.calendars = CalendarLink(book);
        self
    }

    /// The ACD entry point (route table) `queue` nodes hand contacts to unless they name a queue.
    pub fn entry_point(&self) -> &str {
        &self.entry_point
    }

    pub fn languages(&self) -> &[Language] {
        &self.languages
    }

    pub fn default_language(&self) -> &Language {
        &self.default_language
    }

    /// Node ids in file order.
    pub fn node_ids(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|n| n.id.as_str())
    }

    /// Every prompt name this flow can play (including digit and status fragments when it speaks
    /// them), sorted: what the media shell should preload and what must exist in every language.
    pub fn prompt_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let add_say = |say: &[Fragment], names: &mut Vec<String>| {
            for f in say {
                match f {
                    Fragment::Prompt(p) => names.push(p.clone()),
                    Fragment::Digits(_) | Fragment::Status(_) => names.extend(fragment_prompt_names()),
                }
            }
        };
        for n in &self.nodes {
            match &n.kind {
                NodeKind::Play { say, .. }
                | NodeKind::Queue { say, .. }
                | NodeKind::Voicemail { say, .. }
                | NodeKind::Hangup { say, .. } => add_say(say, &mut names),
                NodeKind::Menu(m) => {
                    add_say(&m.say, &mut names);
                    names.extend(m.retry.invalid_prompt.iter().chain(&m.retry.timeout_prompt).cloned());
                }
                NodeKind::Collect(c) => {
                    add_say(&c.say, &mut names);
                    names.extend(c.retry.invalid_prompt.iter().chain(&c.retry.timeout_prompt).cloned());
                }
                _ => {}
            }
        }
        names.sort();
        names.dedup();
        names
    }

    pub(crate) fn node(&self, idx: NodeIdx) -> &Node {
        &self.nodes[idx]
    }
}

/// Byte offset → (line, column), both 1-based; columns count characters.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }
}

type At<'a> = dyn Fn(Range<usize>, Option<&str>, String) -> FlowError + 'a;

struct Builder<'a> {
    raw: &'a RawFlow,
    catalog: &'a PromptCatalog,
    at: &'a At<'a>,
}

/// Fields each node type may set (besides `id`, `type`, `max_visits`, `after_visits`).
fn allowed_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "play" => &["say", "barge_in", "next"],
        "menu" => &["say", "choices", "timeout", "max_retries", "invalid_prompt", "timeout_prompt", "after_retries"],
        "collect" => &[
            "say",
            "min_digits",
            "max_digits",
            "terminator",
            "first_digit_timeout",
            "inter_digit_timeout",
            "variable",
            "next",
            "max_retries",
            "invalid_prompt",
            "timeout_prompt",
            "after_retries",
        ],
        "lookup" => &[
            "lookup",
            "order_number",
            "store_as",
            "url",
            "params",
            "branch_on",
            "branches",
            "found",
            "not_found",
            "error",
            "timeout",
        ],
        "set" => &["attributes", "next"],
        "hours" => &["calendar", "utc_offset", "utc_offsets", "weekly", "holidays", "open", "closed"],
        "language" => &["language", "next"],
        "queue" => &["say", "queue"],
        "voicemail" => &["say", "mailbox"],
        "hangup" => &["say", "outcome"],
        "goto" => &["next"],
        "send_reset_link" => &["sent", "no_customer", "no_email", "error", "timeout"],
        _ => return None,
    })
}

const NODE_TYPES: &str =
    "play, menu, collect, lookup, set, hours, language, queue, voicemail, hangup, goto, send_reset_link";

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_CHARS
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_variable_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_CHARS
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// What one node's conversion needs: its id and the flow-wide tables.
struct NodeCtx<'a> {
    node: &'a RawNode,
    ids: &'a HashMap<&'a str, NodeIdx>,
    languages: &'a [Language],
}

impl Builder<'_> {
    fn err(&self, span: Range<usize>, node: Option<&str>, message: impl Into<String>) -> FlowError {
        (self.at)(span, node, message.into())
    }

    fn build(&self, file: &str) -> Result<Flow, FlowError> {
        let raw = self.raw;
        if *raw.version.get_ref() != FORMAT_VERSION {
            return Err(self.err(
                raw.version.span(),
                None,
                format!("unsupported version {}; this Hotline reads version {FORMAT_VERSION}", raw.version.get_ref()),
            ));
        }
        if !is_word(raw.id.get_ref()) {
            return Err(self.err(raw.id.span(), None, "flow id must be a word of a-z, 0-9 and _"));
        }
        let numbers = self.numbers()?;
        let (languages, default_language) = self.languages()?;
        if raw.node.len() > MAX_NODES {
            return Err(self.err(raw.node[MAX_NODES].id.span(), None, format!("more than {MAX_NODES} nodes")));
        }
        let mut ids: HashMap<&str, NodeIdx> = HashMap::new();
        for (i, n) in raw.node.iter().enumerate() {
            let id = n.id.get_ref().as_str();
            if !is_word(id) {
                return Err(self.err(n.id.span(), Some(id), "node id must be a word of a-z, 0-9 and _"));
            }
            if ids.insert(id, i).is_some() {
                return Err(self.err(n.id.span(), Some(id), "duplicate node id"));
            }
        }
        let start = *ids
            .get(raw.start.get_ref().as_str())
            .ok_or_else(|| self.err(raw.start.span(), None, format!("unknown start node {:?}", raw.start.get_ref())))?;
        let variables = self.defined_variables();
        let mut nodes = Vec::with_capacity(raw.node.len());
        for n in &raw.node {
            let ctx = NodeCtx { node: n, ids: &ids, languages: &languages };
            nodes.push(self.node(&ctx, &variables)?);
        }
        self.check_reachable(&nodes, start)?;
        self.check_no_busy_loop(&nodes)?;
        let entry_point =
            raw.entry_point.as_ref().map_or_else(|| raw.id.get_ref().clone(), |e| e.get_ref().trim().to_owned());
        if entry_point.is_empty() || entry_point.len() > MAX_NAME_CHARS {
            let span = raw.entry_point.as_ref().map_or(0..0, S::span);
            return Err(self.err(span, None, format!("entry_point must be 1 to {MAX_NAME_CHARS} characters")));
        }
        Ok(Flow {
            id: raw.id.get_ref().clone(),
            file: file.to_owned(),
            numbers,
            entry_point,
            languages,
            default_language,
            start,
            nodes,
            calendars: CalendarLink::default(),
        })
    }

    fn numbers(&self) -> Result<Vec<String>, FlowError> {
        let raw = &self.raw.numbers;
        if raw.get_ref().is_empty() {
            return Err(self.err(raw.span(), None, "numbers must name at least one dialled number"));
        }
        raw.get_ref()
            .iter()
            .map(|n| {
                let s = n.get_ref().trim();
                let ok = (1..=32).contains(&s.len())
                    && s.bytes().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'+'));
                if ok {
                    Ok(s.to_owned())
                } else {
                    Err(self.err(n.span(), None, format!("{s:?} is not a dialled number")))
                }
            })
            .collect()
    }

    fn languages(&self) -> Result<(Vec<Language>, Language), FlowError> {
        let raw = &self.raw.languages;
        let mut languages: Vec<Language> = Vec::new();
        for l in raw.get_ref() {
            let lang = Language::parse(l.get_ref()).map_err(|e| self.err(l.span(), None, e.to_string()))?;
            if languages.contains(&lang) {
                return Err(self.err(l.span(), None, format!("language {lang} listed twice")));
            }
            languages.push(lang);
        }
        let Some(first) = languages.first().cloned() else {
            return Err(self.err(raw.span(), None, "languages must list at least one language"));
        };
        let default = match &self.raw.default_language {
            None => first,
            Some(d) => {
                let lang = Language::parse(d.get_ref()).map_err(|e| self.err(d.span(), None, e.to_string()))?;
                if !languages.contains(&lang) {
                    return Err(self.err(d.span(), None, format!("default_language {lang} is not in languages")));
                }
                lang
            }
        };
        Ok((languages, default))
    }

    /// Variables some node defines: collect variables, lookup `store_as` prefixes (`order.` …), built-ins.
    fn defined_variables(&self) -> (HashSet<String>, Vec<String>) {
        let mut exact: HashSet<String> = BUILTIN_VARIABLES.iter().map(|s| (*s).to_owned()).collect();
        let mut prefixes = Vec::new();
        for n in &self.raw.node {
            match n.kind.get_ref().as_str() {
                "collect" => {
                    if let Some(v) = &n.variable {
                        exact.insert(v.get_ref().clone());
                    }
                }
                "lookup" => {
                    let prefix = n.store_as.as_ref().map_or(n.id.get_ref().as_str(), |s| s.get_ref().as_str());
                    prefixes.push(format!("{prefix}."));
                }
                _ => {}
            }
        }
        (exact, prefixes)
    }

    fn node(&self, c: &NodeCtx<'_>, vars: &(HashSet<String>, Vec<String>)) -> Result<Node, FlowError> {
        let n = c.node;
        let id = n.id.get_ref().as_str();
        let kind_name = n.kind.get_ref().as_str();
        let Some(allowed) = allowed_fields(kind_name) else {
            return Err(self.err(
                n.kind.span(),
                Some(id),
                format!("unknown node type {kind_name:?}; expected one of: {NODE_TYPES}"),
            ));
        };
        for (field, span) in n.present_fields() {
            if !allowed.contains(&field) {
                return Err(self.err(span, Some(id), format!("field `{field}` is not used by a {kind_name} node")));
            }
        }
        let kind = match kind_name {
            "play" => NodeKind::Play {
                say: self.say_required(c, vars)?,
                barge_in: n.barge_in.as_ref().is_some_and(|b| *b.get_ref()),
                next: self.target(c, "next", &n.next)?,
            },
            "menu" => NodeKind::Menu(self.menu(c, vars)?),
            "collect" => NodeKind::Collect(self.collect(c, vars)?),
            "lookup" => NodeKind::Lookup(self.lookup(c, vars)?),
            "set" => {
                NodeKind::Set { attributes: self.set_attributes(c, vars)?, next: self.target(c, "next", &n.next)? }
            }
            "hours" => self.hours(c)?,
            "language" => {
                NodeKind::Language { choice: self.language_choice(c)?, next: self.target(c, "next", &n.next)? }
            }
            "queue" => NodeKind::Queue { say: self.say_optional(c, vars)?, queue: self.queue_name(c)? },
            "voicemail" => NodeKind::Voicemail { say: self.say_optional(c, vars)?, mailbox: self.mailbox(c)? },
            "hangup" => NodeKind::Hangup { say: self.say_optional(c, vars)?, outcome: self.hangup_outcome(c)? },
            "goto" => NodeKind::Goto { next: self.target(c, "next", &n.next)? },
            "send_reset_link" => NodeKind::SendResetLink {
                timeout: self.duration(c, "timeout", &n.timeout, 5_000)?,
                sent: self.target(c, "sent", &n.sent)?,
                no_customer: self.target(c, "no_customer", &n.no_customer)?,
                no_email: self.target(c, "no_email", &n.no_email)?,
                error: self.target(c, "error", &n.error)?,
            },
            _ => unreachable!("allowed_fields knows every type"),
        };
        let max_visits = match (&n.max_visits, &n.after_visits) {
            (None, None) => None,
            (Some(m), Some(_)) if *m.get_ref() >= 1 => {
                Some((*m.get_ref(), self.target(c, "after_visits", &n.after_visits)?))
            }
            (Some(m), Some(_)) => return Err(self.err(m.span(), Some(id), "max_visits must be at least 1")),
            (Some(m), None) => return Err(self.err(m.span(), Some(id), "max_visits needs after_visits")),
            (None, Some(a)) => return Err(self.err(a.span(), Some(id), "after_visits needs max_visits")),
        };
        Ok(Node { id: id.to_owned(), kind, max_visits })
    }

    fn missing(&self, c: &NodeCtx<'_>, field: &str) -> FlowError {
        let n = c.node;
        self.err(n.id.span(), Some(n.id.get_ref()), format!("a {} node needs `{field}`", n.kind.get_ref()))
    }

    /// A required reference to another node.
    fn target(&self, c: &NodeCtx<'_>, field: &str, value: &Option<S<String>>) -> Result<NodeIdx, FlowError> {
        let v = value.as_ref().ok_or_else(|| self.missing(c, field))?;
        self.resolve(c, field, v)
    }

    fn resolve(&self, c: &NodeCtx<'_>, field: &str, v: &S<String>) -> Result<NodeIdx, FlowError> {
        let what = if field == "next" { "next node".to_owned() } else { format!("node {field}") };
        c.ids
            .get(v.get_ref().as_str())
            .copied()
            .ok_or_else(|| self.err(v.span(), Some(c.node.id.get_ref()), format!("unknown {what} {:?}", v.get_ref())))
    }

    fn prompt(&self, c: &NodeCtx<'_>, name: &str, span: Range<usize>) -> Result<(), FlowError> {
        let id = Some(c.node.id.get_ref().as_str());
        if !is_prompt_name(name) {
            return Err(self.err(span, id, format!("{name:?} is not a prompt name (a-z, 0-9, _)")));
        }
        for lang in c.languages {
            if !self.catalog.contains(lang, name) {
                return Err(self.err(span, id, format!("unknown prompt {name:?} in {lang}")));
            }
        }
        Ok(())
    }

    fn say_optional(&self, c: &NodeCtx<'_>, vars: &(HashSet<String>, Vec<String>)) -> Result<Vec<Fragment>, FlowError> {
        let Some(say) = &c.node.say else { return Ok(Vec::new()) };
        let id = Some(c.node.id.get_ref().as_str());
        if say.get_ref().len() > MAX_SAY_ITEMS {
            return Err(self.err(say.span(), id, format!("say has more than {MAX_SAY_ITEMS} items")));
        }
        let mut out = Vec::new();
        for item in say.get_ref() {
            let text = item.get_ref().trim();
            let fragment = match text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                None => {
                    self.prompt(c, text, item.span())?;
                    Fragment::Prompt(text.to_owned())
                }
                Some(inner) => {
                    let (kind, var) = inner.split_once(':').unwrap_or((inner, ""));
                    let fragment = match kind {
                        "digits" => Fragment::Digits(var.to_owned()),
                        "status" => Fragment::Status(var.to_owned()),
                        _ => {
                            return Err(self.err(
                                item.span(),
                                id,
                                format!("{text:?}: use {{digits:VARIABLE}} or {{status:VARIABLE}}"),
                            ));
                        }
                    };
                    self.variable_ref(c, var, item.span(), vars)?;
                    for name in fragment_prompt_names() {
                        self.prompt(c, &name, item.span())?;
                    }
                    fragment
                }
            };
            out.push(fragment);
        }
        Ok(out)
    }

    fn say_required(&self, c: &NodeCtx<'_>, vars: &(HashSet<String>, Vec<String>)) -> Result<Vec<Fragment>, FlowError> {
        let say = self.say_optional(c, vars)?;
        if say.is_empty() {
            return Err(self.missing(c, "say"));
        }
        Ok(say)
    }

    fn variable_ref(
        &self,
        c: &NodeCtx<'_>,
        var: &str,
        span: Range<usize>,
        (exact, prefixes): &(HashSet<String>, Vec<String>),
    ) -> Result<(), FlowError> {
        let known = exact.contains(var) || prefixes.iter().any(|p| var.starts_with(p.as_str()) && var.len() > p.len());
        if !is_variable_name(var) || !known {
            return Err(self.err(
                span,
                Some(c.node.id.get_ref()),
                format!("unknown variable {var:?}; collect and lookup nodes define variables"),
            ));
        }
        Ok(())
    }

    fn duration(
        &self,
        c: &NodeCtx<'_>,
        field: &str,
        v: &Option<S<String>>,
        default_ms: u64,
    ) -> Result<DurationMs, FlowError> {
        let Some(v) = v else { return Ok(DurationMs::from_ms(default_ms)) };
        let id = Some(c.node.id.get_ref().as_str());
        let d: DurationMs =
            v.get_ref().parse().map_err(|e: model::ValueError| self.err(v.span(), id, format!("{field}: {e}")))?;
        if d.as_ms() == 0 || d.as_ms() > MAX_TIMEOUT_MS {
            return Err(self.err(
                v.span(),
                id,
                format!("{field} must be more than 0 and at most {}s", MAX_TIMEOUT_MS / 1000),
            ));
        }
        Ok(d)
    }

    fn retry(&self, c: &NodeCtx<'_>) -> Result<Retry, FlowError> {
        let n = c.node;
        let max_retries = match &n.max_retries {
            None => 2,
            Some(m) if *m.get_ref() <= MAX_RETRIES => *m.get_ref(),
            Some(m) => {
                return Err(self.err(
                    m.span(),
                    Some(n.id.get_ref()),
                    format!("max_retries must be at most {MAX_RETRIES}"),
                ));
            }
        };
        let prompt = |v: &Option<S<String>>| -> Result<Option<String>, FlowError> {
            v.as_ref().map(|p| self.prompt(c, p.get_ref(), p.span()).map(|()| p.get_ref().clone())).transpose()
        };
        Ok(Retry {
            max_retries,
            invalid_prompt: prompt(&n.invalid_prompt)?,
            timeout_prompt: prompt(&n.timeout_prompt)?,
            after_retries: self.target(c, "after_retries", &n.after_retries)?,
        })
    }

    fn menu(&self, c: &NodeCtx<'_>, vars: &(HashSet<String>, Vec<String>)) -> Result<Menu, FlowError> {
        let n = c.node;
        let raw = n.choices.as_ref().ok_or_else(|| self.missing(c, "choices"))?;
        if raw.get_ref().is_empty() {
            return Err(self.err(raw.span(), Some(n.id.get_ref()), "choices must offer at least one digit"));
        }
        let mut choices = BTreeMap::new();
        for (digit, target) in raw.get_ref() {
            let mut chars = digit.chars();
            let d = match (chars.next(), chars.next()) {
                (Some(d), None) if d.is_ascii_digit() || d == '*' || d == '#' => d,
                _ => {
                    return Err(self.err(
                        target.span(),
                        Some(n.id.get_ref()),
                        format!("menu digit {digit:?} must be one of 0-9, * or #"),
                    ));
                }
            };
            choices.insert(d, self.resolve(c, "choice", target)?);
        }
        Ok(Menu {
            say: self.say_required(c, vars)?,
            choices,
            timeout: self.duration(c, "timeout", &n.timeout, 5_000)?,
            retry: self.retry(c)?,
        })
    }

    fn collect(&self, c: &NodeCtx<'_>, vars: &(HashSet<String>, Vec<String>)) -> Result<Collect, FlowError> {
        let n = c.node;
        let id = Some(n.id.get_ref().as_str());
        let min = n.min_digits.as_ref().map_or(1, |m| *m.get_ref());
        let max = n.max_digits.as_ref().map_or(MAX_COLLECT_DIGITS, |m| *m.get_ref());
        if min == 0 || max > MAX_COLLECT_DIGITS || min > max {
            let span = n.min_digits.as_ref().or(n.max_digits.as_ref()).map_or(n.id.span(), S::span);
            return Err(self.err(span, id, format!("need 1 <= min_digits <= max_digits <= {MAX_COLLECT_DIGITS}")));
        }
        let terminator = match &n.terminator {
            None => None,
            Some(t) => match t.get_ref().as_str() {
                "#" => Some('#'),
                "*" => Some('*'),
                other => return Err(self.err(t.span(), id, format!("terminator {other:?} must be \"#\" or \"*\""))),
            },
        };
        let variable = n.variable.as_ref().ok_or_else(|| self.missing(c, "variable"))?;
        if !is_word(variable.get_ref()) || BUILTIN_VARIABLES.contains(&variable.get_ref().as_str()) {
            return Err(self.err(
                variable.span(),
                id,
                "variable must be a word of a-z, 0-9 and _ (not caller or dialled)",
            ));
        }
        Ok(Collect {
            say: self.say_required(c, vars)?,
            min_digits: min,
            max_digits: max,
            terminator,
            first_digit_timeout: self.duration(c, "first_digit_timeout", &n.first_digit_timeout, 8_000)?,
            inter_digit_timeout: self.duration(c, "inter_digit_timeout", &n.inter_digit_timeout, 4_000)?,
            variable: variable.get_ref().clone(),
            next: self.target(c, "next", &n.next)?,
            retry: self.retry(c)?,
        })
    }

    fn lookup(&self, c: &NodeCtx<'_>, vars: &(HashSet<String>, Vec<String>)) -> Result<Lookup, FlowError> {
        let n = c.node;
        let id = Some(n.id.get_ref().as_str());
        let which = n.lookup.as_ref().ok_or_else(|| self.missing(c, "lookup"))?;
        let only_http = [
            ("url", n.url.is_some()),
            ("params", n.params.is_some()),
            ("branch_on", n.branch_on.is_some()),
            ("branches", n.branches.is_some()),
        ];
        if which.get_ref() != "http"
            && let Some((field, _)) = only_http.iter().find(|(_, set)| *set)
        {
            return Err(self.err(which.span(), id, format!("`{field}` is only for http lookups")));
        }
        if which.get_ref() != "order_status" && n.order_number.is_some() {
            return Err(self.err(which.span(), id, "`order_number` is only for order_status lookups"));
        }
        let kind = match which.get_ref().as_str() {
            "customer_by_caller" => LookupKind::CustomerByCaller,
            "order_status" => {
                let v = n.order_number.as_ref().ok_or_else(|| self.missing(c, "order_number"))?;
                self.variable_ref(c, v.get_ref(), v.span(), vars)?;
                LookupKind::OrderStatus { order_number: v.get_ref().clone() }
            }
            "http" => self.http(c, vars)?,
            other => {
                return Err(self.err(
                    which.span(),
                    id,
                    format!("unknown lookup {other:?}; expected customer_by_caller, order_status or http"),
                ));
            }
        };
        let store_as = n.store_as.as_ref().map_or_else(|| n.id.get_ref().clone(), |s| s.get_ref().clone());
        if !is_word(&store_as) {
            let span = n.store_as.as_ref().map_or(which.span(), S::span);
            return Err(self.err(span, id, "store_as must be a word of a-z, 0-9 and _"));
        }
        Ok(Lookup {
            kind,
            store_as,
            timeout: self.duration(c, "timeout", &n.timeout, 3_000)?,
            found: self.target(c, "found", &n.found)?,
            not_found: self.target(c, "not_found", &n.not_found)?,
            error: self.target(c, "error", &n.error)?,
        })
    }

    fn http(&self, c: &NodeCtx<'_>, vars: &(HashSet<String>, Vec<String>)) -> Result<LookupKind, FlowError> {
        let n = c.node;
        let id = Some(n.id.get_ref().as_str());
        let url = n.url.as_ref().ok_or_else(|| self.missing(c, "url"))?;
        let u = url.get_ref();
        if !(u.starts_with("http://") || u.starts_with("https://"))
            || u.len() > MAX_VALUE_CHARS
            || u.contains(char::is_whitespace)
        {
            return Err(self.err(
                url.span(),
                id,
                format!("url {u:?} must be an http:// or https:// URL without spaces"),
            ));
        }
        let params = match &n.params {
            None => BTreeMap::new(),
            Some(p) => self.values(c, p, vars)?,
        };
        let branch_on = n.branch_on.as_ref().map(|b| b.get_ref().clone());
        let mut branches = BTreeMap::new();
        if let Some(b) = &n.branches {
            if branch_on.is_none() {
                return Err(self.err(b.span(), id, "branches need branch_on (the answer field to branch on)"));
            }
            for (value, target) in b.get_ref() {
                branches.insert(value.clone(), self.resolve(c, "branch", target)?);
            }
        }
        Ok(LookupKind::Http { url: u.clone(), params, branch_on, branches })
    }

    /// Attribute or param values: literals or `{variable}`.
    fn values(
        &self,
        c: &NodeCtx<'_>,
        raw: &S<BTreeMap<String, String>>,
        vars: &(HashSet<String>, Vec<String>),
    ) -> Result<BTreeMap<String, Value>, FlowError> {
        let id = Some(c.node.id.get_ref().as_str());
        if raw.get_ref().len() > MAX_ATTRIBUTES {
            return Err(self.err(raw.span(), id, format!("more than {MAX_ATTRIBUTES} entries")));
        }
        let mut out = BTreeMap::new();
        for (k, v) in raw.get_ref() {
            if !is_word(k) {
                return Err(self.err(raw.span(), id, format!("name {k:?} must be a word of a-z, 0-9 and _")));
            }
            if v.len() > MAX_VALUE_CHARS {
                return Err(self.err(raw.span(), id, format!("value of {k:?} is longer than {MAX_VALUE_CHARS}")));
            }
            let value = match v.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(var) => {
                    self.variable_ref(c, var, raw.span(), vars)?;
                    Value::Variable(var.to_owned())
                }
                None => Value::Literal(v.clone()),
            };
            out.insert(k.clone(), value);
        }
        Ok(out)
    }

    fn set_attributes(
        &self,
        c: &NodeCtx<'_>,
        vars: &(HashSet<String>, Vec<String>),
    ) -> Result<BTreeMap<String, Value>, FlowError> {
        let raw = c.node.attributes.as_ref().ok_or_else(|| self.missing(c, "attributes"))?;
        let values = self.values(c, raw, vars)?;
        if values.is_empty() {
            return Err(self.err(raw.span(), Some(c.node.id.get_ref()), "attributes must set at least one attribute"));
        }
        if let Some(Value::Literal(lang)) = values.get("language") {
            let known = Language::parse(lang).is_ok_and(|l| c.languages.contains(&l));
            if !known {
                return Err(self.err(
                    raw.span(),
                    Some(c.node.id.get_ref()),
                    format!("language {lang:?} is not one of the flow's languages"),
                ));
            }
        }
        Ok(values)
    }

    fn hours(&self, c: &NodeCtx<'_>) -> Result<NodeKind, FlowError> {
        let n = c.node;
        let id = Some(n.id.get_ref().as_str());
        if let Some(name) = &n.calendar {
            let inline = [n.utc_offset.as_ref().map(|_| "utc_offset"), n.utc_offsets.as_ref().map(|_| "utc_offsets")]
                .into_iter()
                .chain([n.weekly.as_ref().map(|_| "weekly"), n.holidays.as_ref().map(|_| "holidays")])
                .flatten()
                .next();
            if let Some(other) = inline {
                return Err(self.err(name.span(), id, format!("set calendar or {other}, not both")));
            }
            let valid = !name.get_ref().is_empty()
                && name.get_ref().len() <= MAX_NAME_CHARS
                && name
                    .get_ref()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-');
            if !valid {
                return Err(self.err(
                    name.span(),
                    id,
                    format!("calendar must be 1 to {MAX_NAME_CHARS} characters of a-z, 0-9, _ and -"),
                ));
            }
            return Ok(NodeKind::Hours {
                hours: Box::new(HoursRule::Calendar(name.get_ref().clone())),
                open: self.target(c, "open", &n.open)?,
                closed: self.target(c, "closed", &n.closed)?,
            });
        }
        let (offset_minutes, offset_changes) = match (&n.utc_offset, &n.utc_offsets) {
            (Some(o), None) => (hours::parse_offset(o.get_ref()).map_err(|e| self.err(o.span(), id, e))?, Vec::new()),
            (None, Some(t)) => {
                if t.get_ref().is_empty() || t.get_ref().len() > MAX_OFFSET_CHANGES {
                    return Err(self.err(
                        t.span(),
                        id,
                        format!("utc_offsets must have 1 to {MAX_OFFSET_CHANGES} entries"),
                    ));
                }
                let mut changes = Vec::new();
                for e in t.get_ref() {
                    let from = hours::parse_utc_instant(&e.from).map_err(|m| self.err(t.span(), id, m))?;
                    let off = hours::parse_offset(&e.offset).map_err(|m| self.err(t.span(), id, m))?;
                    if changes.last().is_some_and(|(prev, _)| *prev >= from) {
                        return Err(self.err(t.span(), id, "utc_offsets must be in time order"));
                    }
                    changes.push((from, off));
                }
                (changes[0].1, changes)
            }
            (Some(o), Some(_)) => return Err(self.err(o.span(), id, "set utc_offset or utc_offsets, not both")),
            (None, None) => return Err(self.missing(c, "utc_offset")),
        };
        let weekly_raw = n.weekly.as_ref().ok_or_else(|| self.missing(c, "weekly"))?;
        let mut weekly: [Vec<(u16, u16)>; 7] = Default::default();
        for (day, ranges) in weekly_raw.get_ref() {
            let i = WEEKDAYS.iter().position(|d| d == day).ok_or_else(|| {
                self.err(weekly_raw.span(), id, format!("weekly day {day:?} must be one of {}", WEEKDAYS.join(", ")))
            })?;
            weekly[i] =
                hours::parse_day_ranges(ranges).map_err(|e| self.err(weekly_raw.span(), id, format!("{day}: {e}")))?;
        }
        let mut holidays = Vec::new();
        if let Some(h) = &n.holidays {
            if h.get_ref().len() > MAX_HOLIDAYS {
                return Err(self.err(h.span(), id, format!("more than {MAX_HOLIDAYS} holidays")));
            }
            for d in h.get_ref() {
                holidays.push(Date::parse(d.get_ref()).map_err(|e| self.err(d.span(), id, e))?);
            }
        }
        holidays.sort();
        holidays.dedup();
        Ok(NodeKind::Hours {
            hours: Box::new(HoursRule::Fixed(BusinessHours { offset_minutes, offset_changes, weekly, holidays })),
            open: self.target(c, "open", &n.open)?,
            closed: self.target(c, "closed", &n.closed)?,
        })
    }

    fn language_choice(&self, c: &NodeCtx<'_>) -> Result<LanguageChoice, FlowError> {
        let v = c.node.language.as_ref().ok_or_else(|| self.missing(c, "language"))?;
        if v.get_ref() == "next" {
            return Ok(LanguageChoice::Next);
        }
        let id = Some(c.node.id.get_ref().as_str());
        let lang = Language::parse(v.get_ref()).map_err(|e| self.err(v.span(), id, e.to_string()))?;
        if !c.languages.contains(&lang) {
            return Err(self.err(v.span(), id, format!("language {lang} is not in the flow's languages")));
        }
        Ok(LanguageChoice::Fixed(lang))
    }

    fn queue_name(&self, c: &NodeCtx<'_>) -> Result<Option<String>, FlowError> {
        let Some(q) = &c.node.queue else { return Ok(None) };
        let name = q.get_ref().trim();
        if name.is_empty() || name.len() > MAX_NAME_CHARS {
            return Err(self.err(
                q.span(),
                Some(c.node.id.get_ref()),
                format!("queue must be 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        Ok(Some(name.to_owned()))
    }

    fn mailbox(&self, c: &NodeCtx<'_>) -> Result<String, FlowError> {
        let m = c.node.mailbox.as_ref().ok_or_else(|| self.missing(c, "mailbox"))?;
        if !is_word(m.get_ref()) {
            return Err(self.err(m.span(), Some(c.node.id.get_ref()), "mailbox must be a word of a-z, 0-9 and _"));
        }
        Ok(m.get_ref().clone())
    }

    fn hangup_outcome(&self, c: &NodeCtx<'_>) -> Result<HangupOutcome, FlowError> {
        match c.node.outcome.as_ref().map(|o| (o.get_ref().as_str(), o.span())) {
            None | Some(("self_served", _)) => Ok(HangupOutcome::SelfServed),
            Some(("error", _)) => Ok(HangupOutcome::Error),
            Some((other, span)) => Err(self.err(
                span,
                Some(c.node.id.get_ref()),
                format!("outcome {other:?} must be self_served or error"),
            )),
        }
    }

    fn check_reachable(&self, nodes: &[Node], start: NodeIdx) -> Result<(), FlowError> {
        let mut seen = vec![false; nodes.len()];
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            stack.extend(nodes[i].kind.successors());
            stack.extend(nodes[i].max_visits.map(|(_, after)| after));
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            let raw = &self.raw.node[i];
            return Err(self.err(raw.id.span(), Some(raw.id.get_ref()), "unreachable from the start node"));
        }
        Ok(())
    }

    /// Finds a cycle made only of nodes that do not wait for the caller (iterative DFS, colours).
    fn check_no_busy_loop(&self, nodes: &[Node]) -> Result<(), FlowError> {
        const WHITE: u8 = 0;
        const GREY: u8 = 1;
        const BLACK: u8 = 2;
        let edges = |i: NodeIdx| -> Vec<NodeIdx> {
            let n = &nodes[i];
            let mut out = n.kind.successors();
            out.extend(n.max_visits.map(|(_, a)| a));
            out.retain(|j| !nodes[*j].kind.waits_for_caller());
            out
        };
        let mut colour = vec![WHITE; nodes.len()];
        for root in 0..nodes.len() {
            if colour[root] != WHITE || nodes[root].kind.waits_for_caller() {
                continue;
            }
            let mut stack: Vec<(NodeIdx, Vec<NodeIdx>)> = vec![(root, edges(root))];
            colour[root] = GREY;
            while let Some((node, pending)) = stack.last_mut() {
                let node = *node;
                match pending.pop() {
                    Some(next) if colour[next] == GREY => {
                        let path: Vec<&str> = stack.iter().map(|(i, _)| nodes[*i].id.as_str()).collect();
                        let from = path.iter().position(|id| *id == nodes[next].id).unwrap_or(0);
                        let cycle = path[from..].join(" → ");
                        let raw = &self.raw.node[next];
                        return Err(self.err(
                            raw.id.span(),
                            Some(raw.id.get_ref()),
                            format!(
                                "loops through {cycle} → {} without a menu or collect to wait for the caller",
                                nodes[next].id
                            ),
                        ));
                    }
                    Some(next) if colour[next] == WHITE => {
                        colour[next] = GREY;
                        stack.push((next, edges(next)));
                    }
                    Some(_) => {}
                    None => {
                        colour[node] = BLACK;
                        stack.pop();
                    }
                }
            }
        }
        Ok(())
    }
}
