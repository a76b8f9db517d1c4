//! # center — the live contact center around the ACD
//!
//! The async shell every channel (voice, chat, email, social) and the web desktop use. One tokio
//! task owns the [`acd::Acd`] routing engine; everyone else holds a [`CenterHandle`] (cheap to
//! clone) and sends it commands over a bounded queue, with replies over oneshot channels.
//!
//! ## What it does
//! - **Routes**: [`CenterHandle::submit`] turns a [`NewContact`] into a `model::Contact` and an
//!   ACD arrival; offers go to the channel's consumer ([`CenterHandle::take_offers`], voice) and to
//!   every subscriber as [`LiveEvent::ContactOffered`] (the desktop accepts chat and email with
//!   [`CenterHandle::accept`]). Ring timeouts, wrap-up ends, relaxation, overflow and repeated
//!   announcements fire from the engine's own timers ([`acd::Acd::poll_timeout`]), slept on
//!   through the injected [`Clock`] ([`SystemClock`] in production: tokio time; [`ManualClock`]
//!   in tests, which moves only when told, so a test against a real database is deterministic).
//! - **Records**: every step is persisted through `store`: the `Contact` row (status
//!   New → Queued → Offered → Connected → Ended, queue, agent, every timestamp, outcome,
//!   disposition), one `ContactEvent` per step (queued, offered, offer rejected / timed out,
//!   answered, transferred, overflowed, abandoned, ended, dispositioned, wrap-up ended), one
//!   `AgentStateChange` per agent state change plus the agent's current state (`agent_presence`).
//! - **Call controls**: [`CenterHandle::control_call`] forwards hold, recording pause, consult
//!   and monitoring of a connected contact to the channel that took them
//!   ([`CenterHandle::take_call_controls`], voice), which answers the sender directly;
//!   [`CenterHandle::call_changed`] records what it did and publishes [`LiveEvent::CallUpdated`]
//!   (module [`calls`]).
//! - **Publishes**: a [`LiveEvent`] broadcast (`tokio::sync::broadcast`, bounded; a slow
//!   subscriber lags and is told so by tokio, the center never waits for it) and [`Snapshot`]s.
//!
//! ## Use
//! ```no_run
//! # async fn demo(store: store::Store) -> Result<(), center::CenterError> {
//! use std::sync::Arc;
//! use center::{Center, CenterConfig, NewContact, OfferSignal, Presence, SystemClock};
//! use model::{Channel, ContactOutcome};
//!
//! let routes = center::Routes::from_toml(center::DEMO_ROUTES_TOML)?;
//! let (center, _task) =
//!     Center::start(store, demo::DEMO_ORG, &routes, CenterConfig::default(), Arc::new(SystemClock)).await?;
//! let mut live = center.subscribe(); // the web layer forwards these (filtered by role)
//! let mut voice = center.take_offers(Channel::Voice).await?; // voice rings phones
//! # let agent = model::AgentId::from_u128(1);
//! center.set_agent_state(agent, Presence::Available).await?;
//! let contact = center.submit(NewContact::new(Channel::Voice, "hotline", "+8613800000002")).await?;
//! if let Some(OfferSignal::Offer(offer)) = voice.recv().await {
//!     center.accept(offer.agent, offer.contact).await?; // the phone answered
//! }
//! center.end(contact, ContactOutcome::Answered).await?;
//! # let _ = live.recv().await;
//! # Ok(()) }
//! ```
//!
//! ## Invariants
//! - The engine is only ever touched by its task, and that task **never awaits the store**:
//!   a command is decided in memory (engine + the center's mirror of contacts and agents), the
//!   outputs are published, and the rows to write are queued, in order, to a writer task.
//! - **Persistence is ordered and never silently lost**: one writer applies writes in the order
//!   decided; a failed write is retried [`CenterConfig::store_retries`] times with
//!   [`CenterConfig::store_retry_backoff_ms`] between tries, then logged (`tracing::error!` with
//!   the entity) and counted in [`Counters::writes_failed`]; when the write queue holds
//!   [`CenterConfig::max_pending_writes`] a new write is dropped and counted in
//!   [`Counters::writes_dropped`]. Contact rows are written whole, so the next write of the same
//!   contact repairs a lost one. [`CenterHandle::flush`] waits until every write decided so far
//!   is done.
//! - **Bounded everywhere**: the command queue ([`CenterConfig::max_queued_commands`]; a full
//!   queue is [`CenterError::Busy`], never growth), the broadcast
//!   ([`CenterConfig::max_live_events`]), each channel's offer queue
//!   ([`CenterConfig::max_pending_offers`]; an offer that does not fit is rejected back to the
//!   engine so the contact goes to the next agent, and counted), live contacts
//!   ([`CenterConfig::max_live_contacts`]) and the write queue.
//! - Never panics on input: unknown ids and commands out of order are a [`CenterError`] and
//!   change nothing.
//! - On start, agents are loaded from the store and begin **Offline** (a restart loses the
//!   engine's memory, so nobody is offered work before they say they are there); stored states
//!   that said otherwise are closed with an `AgentStateChange` (reason `restart`), and contacts a
//!   previous run left unfinished are ended with outcome `failed`.

mod api;
pub mod calls;
mod center;
mod handle;
mod outputs;
mod persist;
mod routes;

use std::sync::Arc;

use model::{Channel, OrgId, Timestamp};

pub use acd::config::{RawEntryPoint, RawRule};
pub use api::{
    AgentFigures, Counters, Disposition, Entry, IvrTrail, LiveEvent, MAX_ADDRESS_BYTES, MAX_IVR_DIGITS_BYTES,
    MAX_IVR_PATH_NODES, MAX_NOTES_BYTES, NewContact, Offer, OfferEndReason, OfferKind, OfferSignal, Presence,
    QueueFigures, Refusal, Snapshot,
};
pub use calls::{CallChange, CallCommand, CallControl, CallState, MonitorMode};
pub use handle::{CenterHandle, MAX_ENTRY_POINTS};
pub use routes::{DEMO_ROUTES_TOML, MAX_ROUTES_BYTES, QueueTuning, Routes, demo_routes};

/// A future that completes when a clock reaches a time.
pub type Sleep = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The wall clock and the center's timers, injected so tests and simulations control time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
    /// Completes once [`Clock::now`] has reached `at` (at once if it already has).
    fn sleep_until(&self, at: Timestamp) -> Sleep;
}

fn tokio_sleep(now: Timestamp, at: Timestamp) -> Sleep {
    Box::pin(tokio::time::sleep(at.since(now).as_std()))
}

/// The system's real time; timers on tokio's time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_unix_ms(ms)
    }

    fn sleep_until(&self, at: Timestamp) -> Sleep {
        tokio_sleep(self.now(), at)
    }
}

/// A clock that reads `origin` when made and advances with tokio's time, so a paused runtime
/// (`tokio::time::pause()`) moves timestamps and timers together. Only for runs without real IO
/// waits: a paused runtime jumps to the next timer whenever every task waits, including on a
/// database, whose pool timeouts then fire (tests with a store use [`ManualClock`]).
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: Timestamp,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// Must be called inside a tokio runtime.
    pub fn starting_at(origin: Timestamp) -> Self {
        Self { origin, start: tokio::time::Instant::now() }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.start);
        self.origin.plus(model::DurationMs::from_ms(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)))
    }

    fn sleep_until(&self, at: Timestamp) -> Sleep {
        tokio_sleep(self.now(), at)
    }
}

/// A clock that moves only when told ([`ManualClock::advance`]); the center's timers wake when
/// it passes their time. For deterministic tests and simulations against real peers (a store).
#[derive(Debug)]
pub struct ManualClock {
    now: tokio::sync::watch::Sender<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self { now: tokio::sync::watch::Sender::new(start) }
    }

    /// Moves the clock forward by `by` (never back) and wakes the timers that are due.
    pub fn advance(&self, by: model::DurationMs) {
        self.now.send_modify(|now| *now = now.plus(by));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: Timestamp) -> Sleep {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            while *rx.borrow_and_update() < at {
                if rx.changed().await.is_err() {
                    // The clock is gone: time stands still for ever.
                    std::future::pending::<()>().await;
                }
            }
        })
    }
}

/// Limits and retry policy of the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CenterConfig {
    /// Commands waiting for the center's task; more is [`CenterError::Busy`].
    pub max_queued_commands: usize,
    /// Live events buffered per subscriber before a slow one lags.
    pub max_live_events: usize,
    /// Offers buffered per channel consumer ([`CenterHandle::take_offers`]).
    pub max_pending_offers: usize,
    /// Store writes waiting for the writer.
    pub max_pending_writes: usize,
    /// Contacts held at once (queued, ringing, connected, in wrap-up); more is refused.
    pub max_live_contacts: usize,
    /// Retries of a failed store write before it is counted as failed.
    pub store_retries: u32,
    /// Pause between retries of a store write, in milliseconds.
    pub store_retry_backoff_ms: u64,
}

impl Default for CenterConfig {
    fn default() -> Self {
        Self {
            max_queued_commands: 1_024,
            max_live_events: 4_096,
            max_pending_offers: 256,
            max_pending_writes: 65_536,
            max_live_contacts: 100_000,
            store_retries: 3,
            store_retry_backoff_ms: 200,
        }
    }
}

/// Why a command or the start failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CenterError {
    /// The command queue holds `max_queued_commands`: try again later.
    #[error("the contact center is busy ({0} commands waiting); try again")]
    Busy(usize),
    #[error("the contact center has stopped")]
    Stopped,
    /// A store read failed (start, customer lookup); the message is the store's, one line.
    #[error("store: {0}")]
    Store(String),
    #[error("routes: {0}")]
    Routes(String),
    /// The routing engine refused the command (unknown id, wrong state, limit).
    #[error("{0}")]
    Refused(#[from] acd::AcdError),
    #[error("unknown contact {0}")]
    UnknownContact(model::ContactId),
    #[error("unknown agent {0}")]
    UnknownAgent(model::AgentId),
    #[error("the offers of channel {0} are already taken")]
    OffersTaken(Channel),
    #[error("limit reached: {0}")]
    LimitReached(&'static str),
    #[error("invalid: {0}")]
    Invalid(String),
}

impl From<store::StoreError> for CenterError {
    fn from(e: store::StoreError) -> Self {
        CenterError::Store(e.to_string())
    }
}

/// Starts the center of one org. See the crate documentation.
pub struct Center;

impl Center {
    /// Loads the org's queues, skills and agents from `store`, builds the engine from them and
    /// `routes`, and spawns the center's task and its store writer. The task ends when every
    /// [`CenterHandle`] is dropped or [`CenterHandle::shutdown`] is called; its `JoinHandle`
    /// resolves after the last write.
    pub async fn start(
        store: store::Store,
        org: OrgId,
        routes: &Routes,
        config: CenterConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<(CenterHandle, tokio::task::JoinHandle<()>), CenterError> {
        center::start(store, org, routes, config, clock).await
    }
}
