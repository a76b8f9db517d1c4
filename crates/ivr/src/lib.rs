//! # ivr — Hotline's IVR interpreter
//!
//! Voice menus declared in TOML flow files ([`Flow`]), validated at load against a
//! [`PromptCatalog`] with errors that name the file, line, column and node, and run per call by a
//! sans-IO [`Session`]: [`Input`]s (started, DTMF, playback done, lookup and action results,
//! hang-up) and an injected `now` go in; [`Action`]s (play prompts, stop playback, look up, call
//! HTTP, send a reset link, queue, voicemail, hang up) and one timer deadline come out. A
//! [`FlowSet`] maps dialled numbers to flows and is swapped whole on reload, so calls in progress
//! keep the `Arc<Flow>` they started with.
//!
//! ## Flow files
//! `version = 1`, an `id`, the dialled `numbers`, the ACD `entry_point` (default: the id), the
//! `languages` (prompt sets; the first or `default_language` is where calls start), the `start`
//! node and `[[node]]` tables with an `id` and a `type`: `play`, `menu`, `collect`, `lookup`
//! (`customer_by_caller`, `order_status`, `http`), `set`, `hours`, `language`, `queue`, `voicemail`,
//! `hangup`, `goto`, `send_reset_link`. Any node may set `max_visits` and `after_visits` (loop
//! protection: the visit after the last goes elsewhere). `say` lists prompt names and spoken
//! variables: `{digits:order_number}` reads a value digit by digit, `{status:order.status}` says an
//! order status. See `flows/demo.toml` at the repository root for every common node.
//!
//! ## Invariants
//! - No IO except reading the one flow file or directory the caller names ([`Flow::load_file`],
//!   [`FlowSet::load_dir`]); no clock, no randomness: time is always an argument.
//! - Must never panic on any flow text or any sequence of inputs and times (property-tested), and
//!   never wait without a deadline: every session ends (hang-up, queue or voicemail) once the
//!   caller stops pressing keys.
//! - Every collection is bounded by a named limit ([`Limits`], [`flow::MAX_NODES`],
//!   [`flow::MAX_FLOW_BYTES`], [`flow::MAX_RETRIES`], [`flow::MAX_COLLECT_DIGITS`] …).
//! - A flow that exists is valid: every node reachable and every reference, prompt and variable
//!   resolved; no loop can spin without waiting for the caller.

pub mod calendar;
pub mod flow;
mod flowset;
pub mod hours;
pub mod prompt;
mod raw;
mod session;

pub use calendar::{Calendar, CalendarBook, CalendarError};
pub use flow::{Flow, FlowError};
pub use flowset::{FlowRegistry, FlowSet, MAX_FLOW_FILES};
pub use prompt::{PromptCatalog, PromptRef, spoken_digits, spoken_status};
pub use session::{
    Action, CallInfo, Counters, HangupReason, Input, Limits, LookupAnswer, LookupQuery, Outcome, QueueTarget,
    RequestId, ResetLinkResult, Session,
};
