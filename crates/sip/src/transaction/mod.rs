//! RFC 3261 §17 transactions: client and server, INVITE and non-INVITE, with timers A–K (and the
//! RFC 6026 Accepted state, timers L and M), owned by a [`TransactionLayer`].
//!
//! Sans-IO in the quinn/str0m style: the shell feeds received messages with `handle_request` /
//! `handle_response`, the TU (dialog/B2BUA layer) sends with `send_request` / `send_response`,
//! time passes with `handle_timeout`, and the shell drains `poll_transmit`, `poll_event` and
//! `poll_timeout` after each call. Time is a [`Timestamp`] passed in; nothing here reads a clock,
//! does IO, or panics on what peers send. Every map and queue is bounded ([`TransactionConfig`]).
//!
//! As in RFC 3261, an INVITE transaction in Proceeding has no timer: the TU ends it, with a final
//! response (server) or a CANCEL on its own ring timeout (client).

mod key;
mod machine;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;

use model::Timestamp;
use thiserror::Error;

pub use key::TransactionKey;
use machine::{Kind, State, Transaction};

use crate::message::{HeaderName, Message, Method, Request, Response, StatusCode, Transport};

/// RFC 3261 timer base values, in milliseconds (§17.1.1.1, table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate: first retransmission interval (default 500 ms).
    pub t1_ms: u64,
    /// Longest retransmission interval for non-INVITE requests and INVITE responses (default 4 s).
    pub t2_ms: u64,
    /// Longest time a message stays in the network (default 5 s).
    pub t4_ms: u64,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig { t1_ms: 500, t2_ms: 4_000, t4_ms: 5_000 }
    }
}

/// Limits and behaviour of the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionConfig {
    pub timers: TimerConfig,
    /// Live transactions; a new request beyond this is answered 503 statelessly.
    pub max_transactions: usize,
    /// Transmits and events waiting to be polled; beyond this the oldest are dropped and counted.
    pub max_pending_outputs: usize,
    /// Answer every new INVITE with 100 Trying at once (RFC 3261 §17.2.1).
    pub send_100_trying: bool,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            timers: TimerConfig::default(),
            max_transactions: 10_000,
            max_pending_outputs: 10_000,
            send_100_trying: true,
        }
    }
}

/// The far end of a message: its address and the transport it came or goes over.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Peer {
    pub addr: SocketAddr,
    pub transport: Transport,
}

impl Peer {
    pub fn udp(addr: SocketAddr) -> Peer {
        Peer { addr, transport: Transport::udp() }
    }

    pub fn tcp(addr: SocketAddr) -> Peer {
        Peer { addr, transport: Transport::tcp() }
    }

    pub fn is_reliable(&self) -> bool {
        self.transport.is_reliable()
    }
}

/// Handle of one transaction, stable for its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(u64);

/// Bytes to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub destination: Peer,
    pub bytes: Vec<u8>,
    /// The transaction to report to [`TransactionLayer::handle_transport_error`] if sending fails
    /// (`None` for stateless answers and 2xx ACKs).
    pub transaction: Option<TransactionId>,
}

/// What the layer tells the TU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new request created server transaction `id`; answer it with [`TransactionLayer::send_response`].
    Request { id: TransactionId, request: Request, source: Peer },
    /// An ACK outside any transaction: the ACK for a 2xx. `invite` is the INVITE server transaction
    /// it acknowledges when it is still absorbing retransmissions.
    Ack { request: Request, source: Peer, invite: Option<TransactionId> },
    /// A CANCEL matched INVITE transaction `invite`. The layer already answered the CANCEL 200; the TU
    /// should answer the INVITE 487 unless it already sent a final response.
    Cancelled { invite: TransactionId, request: Request },
    /// A response for client transaction `id` (1xx, the final one, and retransmitted 2xx for INVITE).
    Response { id: TransactionId, response: Response },
    /// A response that matched no transaction (a late 2xx retransmission, a stray).
    StrayResponse { response: Response, source: Peer },
    /// Timer B/F (no final response), H (no ACK for our error) or L/timer for 2xx without ACK.
    Timeout { id: TransactionId },
    /// The shell could not send for transaction `id` (§17.1.4, §17.2.4): the TU treats it as a 503.
    TransportError { id: TransactionId },
    /// The transaction ended and its id will not be used again.
    Terminated { id: TransactionId },
}

/// Why the TU's call was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransactionError {
    #[error("no transaction {0:?}")]
    UnknownTransaction(TransactionId),
    #[error("transaction limit of {max_transactions} reached")]
    TooManyTransactions { max_transactions: usize },
    #[error("the request has no usable top Via branch")]
    MissingBranch,
    #[error("a transaction with this branch exists already")]
    DuplicateBranch,
    #[error("the response does not fit the transaction state")]
    WrongState,
}

/// Counters for the shell's metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub absorbed_retransmissions: u64,
    pub stray_responses: u64,
    pub refused_over_limit: u64,
    pub dropped_outputs: u64,
    pub timeouts: u64,
}

/// Owns every transaction of one SIP endpoint.
#[derive(Debug)]
pub struct TransactionLayer {
    config: TransactionConfig,
    next_id: u64,
    transactions: HashMap<TransactionId, Transaction>,
    by_key: HashMap<TransactionKey, TransactionId>,
    /// Every live transaction's next deadline, earliest first (so timers cost O(log n)).
    deadlines: BTreeSet<(Timestamp, TransactionId)>,
    /// The deadline each transaction is filed under in `deadlines`.
    filed: HashMap<TransactionId, Timestamp>,
    /// Server INVITE transactions in Accepted, by (Call-ID, CSeq number): where a 2xx ACK lands.
    accepted: HashMap<(String, u32), TransactionId>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    counters: Counters,
}

impl TransactionLayer {
    pub fn new(config: TransactionConfig) -> TransactionLayer {
        TransactionLayer {
            config,
            next_id: 1,
            transactions: HashMap::new(),
            by_key: HashMap::new(),
            deadlines: BTreeSet::new(),
            filed: HashMap::new(),
            accepted: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Live transactions.
    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    /// A request arrived from `source`. Stamps `received`/`rport` on its top Via (RFC 3261
    /// §18.2.1, RFC 3581), then matches it to a server transaction or creates one.
    pub fn handle_request(&mut self, now: Timestamp, mut request: Request, source: Peer) {
        stamp_top_via(&mut request, &source);
        let Some(key) = TransactionKey::for_server(&request) else { return };
        if let Some(id) = self.by_key.get(&key).copied() {
            self.on_request_retransmission(now, id, request, source);
            return;
        }
        match request.method {
            Method::Ack => self.on_stray_ack(request, source),
            Method::Cancel => self.on_cancel(now, key, request, source),
            _ => self.open_server(now, key, request, source),
        }
    }

    fn on_request_retransmission(&mut self, now: Timestamp, id: TransactionId, request: Request, source: Peer) {
        let timers = self.config.timers;
        let Some(tx) = self.transactions.get_mut(&id) else { return };
        if request.method == Method::Ack {
            if tx.on_ack(now, &timers) {
                self.events.push_back(Event::Ack { request, source, invite: Some(id) });
            }
            self.after_change(id);
            return;
        }
        self.counters.absorbed_retransmissions += 1;
        if let Some(bytes) = tx.response_to_retransmit() {
            let destination = tx.peer.clone();
            self.push_transmit(Transmit { destination, bytes, transaction: Some(id) });
        }
    }

    /// An ACK that matched no transaction by branch: the ACK for a 2xx (new branch, §13.2.2.4).
    fn on_stray_ack(&mut self, request: Request, source: Peer) {
        let invite = self.accepted_invite_for(&request);
        if let Some(id) = invite
            && let Some(tx) = self.transactions.get_mut(&id)
        {
            tx.stop_retransmitting();
            self.after_change(id);
        }
        self.events.push_back(Event::Ack { request, source, invite });
    }

    fn accepted_invite_for(&self, ack: &Request) -> Option<TransactionId> {
        let key = (ack.headers.call_id()?.to_owned(), ack.headers.cseq()?.seq);
        self.accepted.get(&key).copied()
    }

    fn on_cancel(&mut self, now: Timestamp, key: TransactionKey, request: Request, source: Peer) {
        let invite = TransactionKey::for_cancelled_invite(&request).and_then(|k| self.by_key.get(&k).copied());
        // §9.2: a CANCEL for a known INVITE is answered 200 even when a final response already went
        // out (it then has no effect); only a CANCEL for no INVITE at all gets 481.
        let live_invite = invite.filter(|id| self.transactions.get(id).is_some_and(|tx| tx.state == State::Proceeding));
        let status = if invite.is_some() { StatusCode::OK } else { StatusCode::CALL_DOES_NOT_EXIST };
        let response = request.response(status, Some("cancel"));
        let Some(id) = self.insert_server(now, key, request.clone(), source) else { return };
        let _ = self.send_response(now, id, response);
        if let Some(invite) = live_invite {
            self.events.push_back(Event::Cancelled { invite, request });
        }
    }

    fn open_server(&mut self, now: Timestamp, key: TransactionKey, request: Request, source: Peer) {
        let is_invite = request.method == Method::Invite;
        let Some(id) = self.insert_server(now, key, request.clone(), source.clone()) else { return };
        if is_invite && self.config.send_100_trying {
            let trying = request.response(StatusCode::TRYING, None);
            let _ = self.send_response(now, id, trying);
        }
        self.events.push_back(Event::Request { id, request, source });
    }

    fn insert_server(
        &mut self,
        now: Timestamp,
        key: TransactionKey,
        request: Request,
        source: Peer,
    ) -> Option<TransactionId> {
        if self.transactions.len() >= self.config.max_transactions {
            self.counters.refused_over_limit += 1;
            if request.method != Method::Ack {
                let busy = request.response(StatusCode::SERVICE_UNAVAILABLE, None);
                let destination = response_destination(&request, &source);
                self.push_transmit(Transmit { destination, bytes: busy.to_bytes(), transaction: None });
            }
            return None;
        }
        let id = self.allocate_id();
        let destination = response_destination(&request, &source);
        let tx = Transaction::server(now, key.clone(), request, destination);
        self.transactions.insert(id, tx);
        self.by_key.insert(key, id);
        Some(id)
    }

    /// The TU answers server transaction `id`. Provisional, 2xx and error responses drive the state
    /// machine of §17.2.1/§17.2.2.
    pub fn send_response(
        &mut self,
        now: Timestamp,
        id: TransactionId,
        response: Response,
    ) -> Result<(), TransactionError> {
        let timers = self.config.timers;
        let tx = self.transactions.get_mut(&id).ok_or(TransactionError::UnknownTransaction(id))?;
        let bytes = response.to_bytes();
        tx.on_send_response(now, response.status, bytes.clone(), &timers)?;
        let destination = tx.peer.clone();
        self.push_transmit(Transmit { destination, bytes, transaction: Some(id) });
        self.after_change(id);
        Ok(())
    }

    /// The TU sends a request to `destination` in a new client transaction. The request must carry
    /// a top Via with a unique branch (the TU owns randomness). ACK for 2xx is sent with
    /// [`TransactionLayer::send_ack`] instead: it has no transaction.
    pub fn send_request(
        &mut self,
        now: Timestamp,
        request: Request,
        destination: Peer,
    ) -> Result<TransactionId, TransactionError> {
        if self.transactions.len() >= self.config.max_transactions {
            self.counters.refused_over_limit += 1;
            return Err(TransactionError::TooManyTransactions { max_transactions: self.config.max_transactions });
        }
        let key = TransactionKey::for_client(&request).ok_or(TransactionError::MissingBranch)?;
        if self.by_key.contains_key(&key) {
            return Err(TransactionError::DuplicateBranch);
        }
        let id = self.allocate_id();
        let tx = Transaction::client(now, key.clone(), request, destination.clone(), &self.config.timers);
        let bytes = tx.last_sent.clone();
        self.transactions.insert(id, tx);
        self.by_key.insert(key, id);
        self.after_change(id);
        self.push_transmit(Transmit { destination, bytes, transaction: Some(id) });
        Ok(id)
    }

    /// Sends an ACK for a 2xx (a new, transaction-less request, §13.2.2.4).
    pub fn send_ack(&mut self, ack: &Request, destination: Peer) {
        self.push_transmit(Transmit { destination, bytes: ack.to_bytes(), transaction: None });
    }

    /// Cancels client INVITE transaction `invite` (§9.1). The CANCEL goes out once a provisional
    /// response has arrived; before that it is held. Returns the CANCEL's transaction once sent.
    pub fn send_cancel(
        &mut self,
        now: Timestamp,
        invite: TransactionId,
    ) -> Result<Option<TransactionId>, TransactionError> {
        let tx = self.transactions.get_mut(&invite).ok_or(TransactionError::UnknownTransaction(invite))?;
        if tx.kind != Kind::ClientInvite {
            return Err(TransactionError::WrongState);
        }
        let cancel = cancel_for(&tx.request);
        match tx.state {
            State::Calling => {
                tx.cancel_pending = Some(cancel);
                Ok(None)
            }
            State::Proceeding => {
                let destination = tx.peer.clone();
                self.send_request(now, cancel, destination).map(Some)
            }
            _ => Err(TransactionError::WrongState),
        }
    }

    /// A response arrived. Matched by top Via branch and CSeq method (§17.1.3).
    pub fn handle_response(&mut self, now: Timestamp, response: Response, source: Peer) {
        let id = TransactionKey::for_response(&response).and_then(|k| self.by_key.get(&k).copied());
        let Some(id) = id else {
            self.counters.stray_responses += 1;
            self.events.push_back(Event::StrayResponse { response, source });
            return;
        };
        let timers = self.config.timers;
        let Some(tx) = self.transactions.get_mut(&id) else { return };
        let outcome = tx.on_response(now, &response, &timers);
        let destination = tx.peer.clone();
        let pending_cancel = if response.status.is_provisional() { tx.cancel_pending.take() } else { None };
        if let Some(ack) = outcome.send {
            self.push_transmit(Transmit { destination: destination.clone(), bytes: ack, transaction: Some(id) });
        }
        if outcome.deliver {
            self.events.push_back(Event::Response { id, response });
        } else {
            self.counters.absorbed_retransmissions += 1;
        }
        if let Some(cancel) = pending_cancel {
            let _ = self.send_request(now, cancel, destination);
        }
        self.after_change(id);
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let timers = self.config.timers;
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.remove(&(deadline, id));
            self.filed.remove(&id);
            let Some(tx) = self.transactions.get_mut(&id) else { continue };
            let fired = tx.on_timer(now, &timers);
            let destination = tx.peer.clone();
            if let Some(bytes) = fired.retransmit {
                self.push_transmit(Transmit { destination, bytes, transaction: Some(id) });
            }
            if fired.timed_out {
                self.counters.timeouts += 1;
                self.events.push_back(Event::Timeout { id });
            }
            self.after_change(id);
        }
    }

    /// The shell failed to send for transaction `id` (connection refused, ICMP error, closed
    /// stream): the transaction ends at once and the TU hears of it (§17.1.4, §17.2.4).
    pub fn handle_transport_error(&mut self, id: TransactionId) {
        if let Some(tx) = self.transactions.get_mut(&id) {
            tx.terminate();
            self.events.push_back(Event::TransportError { id });
            self.after_change(id);
        }
    }

    /// The TU will not answer server transaction `id` (a request dropped on purpose, such as a
    /// REGISTER from a source throttled after failed authentication). A server non-INVITE
    /// transaction in Trying has no timer, so without this it would hold a slot forever and a
    /// throttled peer could fill `max_transactions`. Ends it at once, sending nothing; a later
    /// retransmission opens a new transaction (and is dropped again by the TU).
    pub fn abandon(&mut self, id: TransactionId) {
        if let Some(tx) = self.transactions.get_mut(&id) {
            tx.terminate();
            self.after_change(id);
        }
    }

    /// The earliest time [`TransactionLayer::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.deadlines.first().map(|(deadline, _)| *deadline)
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn allocate_id(&mut self) -> TransactionId {
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        id
    }

    fn push_transmit(&mut self, transmit: Transmit) {
        if self.transmits.len() >= self.config.max_pending_outputs {
            self.transmits.pop_front();
            self.counters.dropped_outputs += 1;
        }
        self.transmits.push_back(transmit);
    }

    /// Refiles the transaction's deadline, removes it if terminated and reports that; bounds the
    /// event queue. Called after every change to a transaction.
    fn after_change(&mut self, id: TransactionId) {
        if let Some(old) = self.filed.remove(&id) {
            self.deadlines.remove(&(old, id));
        }
        if let Some(tx) = self.transactions.get(&id)
            && let Some(key) = tx.dialog_key()
        {
            if tx.state == State::Accepted {
                self.accepted.insert(key, id);
            } else if self.accepted.get(&key) == Some(&id) {
                self.accepted.remove(&key);
            }
        }
        match self.transactions.get(&id) {
            Some(tx) if tx.state == State::Terminated => {
                if let Some(tx) = self.transactions.remove(&id) {
                    self.by_key.remove(&tx.key);
                    self.events.push_back(Event::Terminated { id });
                }
            }
            Some(tx) => {
                if let Some(deadline) = tx.next_deadline() {
                    self.deadlines.insert((deadline, id));
                    self.filed.insert(id, deadline);
                }
            }
            None => {}
        }
        while self.events.len() > self.config.max_pending_outputs {
            self.events.pop_front();
            self.counters.dropped_outputs += 1;
        }
    }
}

/// RFC 3261 §18.2.1 / RFC 3581 §4: record the real source in the top Via.
fn stamp_top_via(request: &mut Request, source: &Peer) {
    let Some(mut via) = request.headers.top_via() else { return };
    via.stamp_source(source.addr.ip(), source.addr.port());
    if request.headers.remove_first(&HeaderName::Via).is_some() {
        request.headers.push_front(HeaderName::Via, via.to_string());
    }
}

/// Where responses of a server transaction go (§18.2.2, RFC 3581 §4): back to the source for
/// reliable transports and for `rport`; else to the `received` address at the sent-by port.
fn response_destination(request: &Request, source: &Peer) -> Peer {
    let Some(via) = request.headers.top_via() else { return source.clone() };
    if source.is_reliable() || via.rport().is_some() {
        return source.clone();
    }
    let port = via.port.unwrap_or(5060);
    Peer { addr: SocketAddr::new(source.addr.ip(), port), transport: source.transport.clone() }
}

/// Builds the CANCEL for an INVITE we sent (§9.1): same Request-URI, top Via, Call-ID, From, To,
/// CSeq number and Route.
pub fn cancel_for(invite: &Request) -> Request {
    let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
    copy_for_ack_or_cancel(invite, &mut cancel, Method::Cancel, invite.headers.get(&HeaderName::To));
    cancel
}

/// Builds the ACK for a non-2xx final response to an INVITE we sent (§17.1.1.3).
pub fn ack_for_error(invite: &Request, response: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    copy_for_ack_or_cancel(invite, &mut ack, Method::Ack, response.headers.get(&HeaderName::To));
    ack
}

fn copy_for_ack_or_cancel(invite: &Request, out: &mut Request, method: Method, to: Option<&str>) {
    if let Some(via) = invite.headers.get(&HeaderName::Via) {
        out.headers.push(HeaderName::Via, via);
    }
    for name in [HeaderName::From, HeaderName::CallId] {
        if let Some(v) = invite.headers.get(&name) {
            out.headers.push(name.clone(), v);
        }
    }
    if let Some(to) = to {
        out.headers.push(HeaderName::To, to);
    }
    if let Some(cseq) = invite.headers.cseq() {
        out.headers.push(HeaderName::CSeq, format!("{} {}", cseq.seq, method));
    }
    for route in invite.headers.get_all(&HeaderName::Route) {
        out.headers.push(HeaderName::Route, route);
    }
    out.headers.push(HeaderName::MaxForwards, "70");
}

/// Everything the shell feeds in, for a single entry point in the str0m style.
// An Input lives for one call and is moved straight in: boxing the message would cost an
// allocation per received message for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A parsed message that arrived from `source`.
    Received { message: Message, source: Peer },
    /// Time passed: fire the timers due.
    Timeout,
    /// Sending for this transaction failed.
    TransportError(TransactionId),
}

impl TransactionLayer {
    /// The single entry point: `handle_input(now, input)`, then drain the `poll_*` methods.
    pub fn handle_input(&mut self, now: Timestamp, input: Input) {
        match input {
            Input::Received { message, source } => self.handle_message(now, message, source),
            Input::Timeout => self.handle_timeout(now),
            Input::TransportError(id) => self.handle_transport_error(id),
        }
    }

    /// Turns a parsed message into the right `handle_*` call.
    pub fn handle_message(&mut self, now: Timestamp, message: Message, source: Peer) {
        match message {
            Message::Request(r) => self.handle_request(now, r, source),
            Message::Response(r) => self.handle_response(now, r, source),
        }
    }
}

#[cfg(test)]
mod tests;
