//! The tokio shell around Hotline's sans-IO SIP core (`sip`): sockets, tasks and timers. It binds
//! UDP and TCP on one address and port (IPv4 or IPv6), frames TCP streams, feeds what arrives to
//! the core's transaction layer, registrar and source guard, and sends what they produce.
//!
//! # What it serves (this release)
//! - REGISTER with digest authentication against agents' SIP secrets ([`Credentials`]); bindings
//!   persisted through [`BindingStore`] and restored at start, so a restart keeps them.
//! - OPTIONS keep-alive to registered contacts (a binding that stops answering is removed).
//! - Calls (the B2BUA, `sip::calls::CallLayer` driven by the engine): an application started with
//!   [`SipServer::start_with_calls`] receives [`CallEvents`] (`Incoming` for its entry points,
//!   `Ringing`, `Answered`, `Failed`, `Ended`, `Hold`, `Refer`, `Dtmf`...) and drives legs through
//!   [`CallControl`] (ring, answer, reject, dial an extension's bindings in parallel, cancel,
//!   hang up, re-INVITE, REFER progress, link two legs). Direct dial: an INVITE for a registered
//!   extension is bridged to its bindings with no application, SDP through the [`MediaAnchor`]
//!   ([`PassThrough`] by default). Any other number gets the same 404.
//! - SIP trunks ([`SipServerConfig::trunks`]): `DialTarget::Number` goes out through the trunk
//!   picked for the number (E.164 or national format, the trunk's caller id, the provider's
//!   401/407 answered with its credentials, `max_calls` per trunk); trunks with `register` keep
//!   a registration with their provider (refreshed, retried with back-off, removed at
//!   [`SipServer::stop`]); [`SipServer::trunk_status`] shows each trunk's registration and
//!   calls. Trunk addresses are trusted sources: exempt from the per-source rate limit.
//! - OPTIONS to the server: 200. Other RFC methods: 405 with `Allow`; unknown methods: 501.
//! - Malformed requests answered 400/505/513 or dropped; per-source rate limit and scanner
//!   user-agents dropped; every drop counted ([`Counters`]).
//!
//! # Tasks
//! ```text
//! udp recv ─┐                        ┌─> credential lookups (one task each, bounded)
//! tcp conn ─┼─ Inbound (bounded) ─> engine ─> binding writer (ordered, bounded) ─> store
//! tcp conn ─┘        sockets <─ Outbound ─┤   (one timer: earliest poll_timeout)
//! CallControl ─ commands (bounded) ───────┤
//! CallEvents  <─ events (bounded, try_send)┘
//! ```
//!
//! # Invariants
//! - No protocol logic: parsing, transactions, auth and bindings are the core's decisions.
//! - The engine never awaits the database or the application (call events are `try_send`: a
//!   full queue drops and counts, and an `Incoming` nobody can take is rejected 503).
//! - Every queue, map and connection count is bounded by a limit named with its unit in
//!   [`SipServerConfig`]; a full queue drops and counts.
//! - Bytes from the network never panic here (no unwrap on them; the core parses).

mod calls;
mod config;
mod counters;
mod directory;
mod engine;
mod server;
mod transport;
mod trunks;

use std::future::Future;

pub use calls::{
    CallCommand, CallConfig, CallControl, CallControlError, CallEvent, CallEvents, CallRef, Caller, DialContact,
    DialRequest, DialTarget, EndReason, MediaAnchor, PassThrough,
};
pub use config::SipServerConfig;
pub use counters::Counters;
pub use directory::{BindingStore, Credentials, StoreDirectory};
pub use server::SipServer;
pub use sip::trunk::{NumberFormat, RegistrationTiming, Trunk};
pub use trunks::{RegistrationState, RegistrationStatus, TrunkStatus};

/// Why the server could not start or a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipServerError {
    #[error("{setting}: {reason}")]
    Config { setting: &'static str, reason: String },
    #[error("cannot listen: {0}")]
    Bind(String),
    #[error("store: {0}")]
    Store(String),
}

/// Serves SIP for `config.org` on `config.bind` (UDP and TCP) with `store` until `shutdown`
/// resolves. Fails at once if the ports cannot be bound or the bindings cannot be restored.
pub async fn run(
    config: SipServerConfig,
    store: store::Store,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SipServerError> {
    let org = config.org;
    let server = SipServer::start(config, StoreDirectory { store, org }).await?;
    shutdown.await;
    server.stop().await;
    Ok(())
}
