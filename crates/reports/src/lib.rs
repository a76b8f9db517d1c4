//! Hotline's historical reports: interval aggregates (15 minutes, hour, day per queue, agent and
//! channel) kept **in the store** from contact events and agent state changes, typed reports
//! computed from them with the `kpi` crate, and CSV / XLSX export. The web crate serves them;
//! the center feeds them.
//!
//! # How the aggregates stay exact (design)
//! The counting rules live in one place, `kpi::aggregate`. This crate never counts by itself: it
//! **replays** events through a fresh `kpi` aggregator and stores the result.
//! - The store keeps, per contact, the list of its reporting events (`report_contacts`, a compact
//!   text, see [`codec`]) and, per agent, the state changes counted (`report_agent_changes`).
//!   These are the memory of what was counted: an event whose id is already there is a
//!   duplicate and is ignored, however late it comes back.
//! - [`ingest`] loads the stored events of the touched contacts (plus the contacts of their
//!   first-contact-resolution groups within two FCR windows of them) and the stored changes around each touched agent's new
//!   changes, replays them **without** and **with** the new events, and adds the difference
//!   (`after − before`, per interval and dimension) to `report_intervals` with `+delta` upserts,
//!   in the same transaction as the new event lists. A contact's contribution is a pure function
//!   of its order-independent facts, and an agent's state time between two changes depends only
//!   on those two, so the difference is exact for late, out-of-order and duplicate events, and a
//!   query never recomputes anything: it reads and adds a few interval rows.
//! - [`rebuild`] recounts whole local days from the stored events (recovery, or after a change of
//!   thresholds) and replaces their interval rows.
//!
//! Reports ([`queue_performance`], [`agent_performance`], [`channel_mix`], [`ivr_containment`],
//! [`csat`], [`hourly_arrivals`], [`abandoned_contacts`]) read a period as whole days, whole hours
//! at the edges and quarter-hours for the rest ([`ReportPeriod`]); they merge `KpiCounts` and call
//! `Figures::compute`, the wallboard's code path; changes are `kpi::compare::Change` (pp for rates,
//! relative % for quantities). [`Tabular::table`] lays a report out with English or zh-CN headers;
//! [`to_csv`] and [`to_xlsx`] write it.
//!
//! # Invariants
//! - **Never counts twice**: an event id is counted once per org, whatever the order and number of
//!   deliveries; the contact's events, the agent's changes and the interval deltas of one ingest
//!   commit together or not at all.
//! - **One counting rule**: every number comes from `kpi` (aggregation and figures); nothing here
//!   re-implements a KPI.
//! - **One writer per org** for [`ingest`] (interval rows are `+delta` upserts, so different
//!   contacts never conflict, but two writers on the same contact could both read its old events).
//! - **Bounded**: [`MAX_EVENTS_PER_INGEST`] events per call, [`store::MAX_INTERVAL_ROWS`] rows per
//!   read, [`MAX_ABANDONED_ROWS`] in the abandoned list, rebuilds a day at a time with row limits.
//! - **Never panics** on stored or given data: bad stored events are [`ReportError::Corrupt`].
//!
//! # Known limits
//! Agent state older than `agent_lookback_ms` (31 days) before a new change is not split by it;
//! a rebuild sees agent changes from one day before the day rebuilt (a state lasting longer
//! across midnight is cut there) and contacts whose first event is within `contact_lookback_ms`
//! (8 days) of the day. Hold time is known only when the center sends `HandlingEnded` itself
//! ([`contact_inputs`] reads records, which do not keep it).

pub mod codec;
mod export;
mod from_model;
mod ingest;
mod period;
mod replay;
mod reports;

pub use codec::derived_event_id;
pub use export::{Cell, Table, Tabular, to_csv, to_xlsx, utc_text};
pub use from_model::contact_inputs;
pub use ingest::{
    IngestOutcome, MAX_AGENT_CHANGES_PER_REBUILT_DAY, MAX_CONTACTS_PER_REBUILT_DAY, MAX_EVENTS_PER_INGEST,
    agent_state_input, ingest, rebuild,
};
pub use period::ReportPeriod;
pub use replay::{AggregateSettings, MAX_REPLAY_SPAN_MS};
pub use reports::{
    AbandonedList, AgentReport, ChannelMixReport, CsatReport, DimensionReport, HourlyArrivals, IvrReport, KpiRow,
    MAX_ABANDONED_ROWS, QueueReport, abandoned_contacts, agent_performance, channel_mix, csat, hourly_arrivals,
    ivr_containment, queue_performance, totals,
};

use model::ContactId;

/// Why a report or an ingest failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Kpi(#[from] kpi::KpiError),
    /// A contact's stored reporting events do not parse.
    #[error("stored reporting events of contact {contact} are corrupt: {reason}")]
    Corrupt { contact: ContactId, reason: String },
    #[error("too many {what}: at most {limit}")]
    TooMany { what: &'static str, limit: usize },
    #[error("bad period: {0}")]
    BadPeriod(&'static str),
    #[error("export failed: {0}")]
    Export(String),
}
