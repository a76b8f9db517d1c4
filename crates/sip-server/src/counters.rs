//! What the server counts: requests and responses in and out, and every drop by its reason.
//! [`Counters`] is a plain snapshot; the live values sit behind a mutex held only to add.

use std::sync::{Arc, Mutex};

/// A snapshot of the server's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests that parsed and were admitted (retransmissions included).
    pub requests_received: u64,
    /// Responses that parsed (to our keep-alive OPTIONS).
    pub responses_received: u64,
    /// Messages handed to a socket.
    pub messages_sent: u64,
    /// Requests retransmitted by a peer and absorbed by their transaction.
    pub retransmissions_absorbed: u64,
    /// Malformed requests answered 400/505/513.
    pub malformed_answered: u64,
    /// Malformed messages that could not be answered.
    pub dropped_malformed: u64,
    /// Messages over the per-source rate limit.
    pub dropped_rate_limited: u64,
    /// Requests from SIP scanner user-agents.
    pub dropped_scanner: u64,
    /// REGISTERs from a source throttled after failed authentication.
    pub dropped_auth_throttled: u64,
    /// Messages dropped because the engine's input queue was full.
    pub dropped_input_queue_full: u64,
    /// TCP connections closed because the stream could not be framed (or a message was too big).
    pub tcp_framing_errors: u64,
    /// TCP connections refused over `max_tcp_connections`.
    pub tcp_connections_refused: u64,
    /// TCP connections closed after `tcp_idle_timeout_ms` of silence.
    pub tcp_idle_closed: u64,
    /// Sends that failed (no connection, queue full, socket error).
    pub send_failures: u64,
    /// REGISTERs answered 200.
    pub registrations_accepted: u64,
    /// REGISTERs answered 401 with a challenge.
    pub registrations_challenged: u64,
    /// Requests answered 405/501.
    pub methods_refused: u64,
    /// Keep-alive OPTIONS sent to registered contacts.
    pub keepalives_sent: u64,
    /// Keep-alives that got no answer (the binding was removed).
    pub keepalives_failed: u64,
    /// Binding sets (one extension's bindings after a change) written to the store.
    pub binding_writes: u64,
    /// Binding sets that failed or were dropped (queue full or store error).
    pub binding_writes_failed: u64,
    /// Credential lookups that failed (store error or timeout).
    pub lookup_failures: u64,
    /// Call events the application did not take (no application, or its queue was full).
    pub call_events_dropped: u64,
    /// REGISTERs sent to trunk providers (challenge answers and un-registrations included).
    pub trunk_registers_sent: u64,
}

/// The live counters, shared by the server's tasks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Metrics(Arc<Mutex<Counters>>);

impl Metrics {
    pub fn add(&self, f: impl FnOnce(&mut Counters)) {
        // A poisoned lock only means another task panicked mid-add: the counters are still usable.
        let mut guard = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard);
    }

    pub fn snapshot(&self) -> Counters {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
