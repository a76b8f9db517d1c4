//! The one task that owns the sans-IO cores (transaction layer, registrar, source guard) and
//! drives them: received bytes in, `poll_*` drained after every step, one timer from the
//! earliest `poll_timeout`. Store work (credential lookups, binding writes) runs in other tasks
//! so the engine never waits on the database.
//!
//! Decides nothing about SIP itself: parsing, answers, auth and bindings are the core's. What is
//! here is the choice of core call per event and the counters.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use model::Timestamp;
use sip::calls::{CallCommand, CallConfig, CallEvent, CallLayer, DialContact, MediaAnchor};
use sip::digest::UserSecret;
use sip::guard::{Admission, SourceGuard};
use sip::message::{
    HeaderName, Host, MalformedAnswer, Message, Method, Request, Response, StatusCode, Transport, Uri, Via,
    answer_malformed, branch_from, is_keepalive, parse_datagram, parse_stream_message,
};
use sip::registrar::{Binding, BindingEvent, RegisterAnswer, Registrar};
use sip::transaction::{Event, Peer, TransactionId, TransactionLayer};
use sip::trunk::{RegistrationClient, TrunkTable};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::SipServerConfig;
use crate::counters::Metrics;
use crate::directory::Credentials;
use crate::transport::{Inbound, Outbound};
use crate::trunks::{TrunkStatus, TrunkStatusBoard};

/// Methods this server answers; the others get 405 (known) or 501 (unknown).
const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, REFER, NOTIFY";
/// The longest the engine sleeps with nothing scheduled.
const IDLE_WAKE_MS: u64 = 60_000;

/// The wall clock as the cores see it.
pub(crate) fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp::from_unix_ms(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// A finished credential lookup, back from its task.
pub(crate) struct Lookup {
    id: TransactionId,
    request: Request,
    source: Peer,
    username: String,
    secret: Result<Option<UserSecret>, ()>,
}

/// An extension's whole binding set after a change, for the store.
pub(crate) struct BindingWrite {
    pub at: Timestamp,
    pub aor: String,
    pub bindings: Vec<Binding>,
}

/// Tags, branches, nonce salts and Call-IDs: SplitMix64 seeded from the OS.
struct Salts(u64);

impl Salts {
    fn seeded() -> Salts {
        let mut seed = [0u8; 8];
        // Without OS randomness the salts are still unique (time-seeded); nonces stay unforgeable
        // because they are MACed under the server secret.
        if getrandom::fill(&mut seed).is_err() {
            seed = now().unix_ms().to_le_bytes();
        }
        Salts(u64::from_le_bytes(seed))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// What the engine is connected to: sockets, counters, the store, and its own task channels.
pub(crate) struct Links<D> {
    pub outbound: Outbound,
    pub metrics: Metrics,
    pub directory: Arc<D>,
    /// The bound address (for the Via and From of keep-alives).
    pub local: SocketAddr,
    /// Where credential lookups report back (room for `max_pending_lookups`).
    pub lookups_tx: mpsc::Sender<Lookup>,
    /// The binding writer's queue (`max_pending_binding_writes`).
    pub writes_tx: mpsc::Sender<BindingWrite>,
    /// The application's call events (`max_queued_call_events`); `None`: no application.
    pub call_events: Option<mpsc::Sender<CallEvent>>,
    /// Rewrites SDP between linked legs.
    pub anchor: Box<dyn MediaAnchor>,
    /// Where the trunks' status snapshot is published.
    pub trunk_status: TrunkStatusBoard,
}

pub(crate) struct Engine<D> {
    limits: sip::Limits,
    max_pending_lookups: usize,
    store_timeout_ms: u64,
    layer: TransactionLayer,
    registrar: Registrar,
    guard: SourceGuard,
    outbound: Outbound,
    metrics: Metrics,
    directory: Arc<D>,
    local: SocketAddr,
    lookups_tx: mpsc::Sender<Lookup>,
    writes_tx: mpsc::Sender<BindingWrite>,
    salts: Salts,
    pending_lookups: usize,
    /// Keep-alive OPTIONS in flight: transaction → (extension, contact).
    keepalives: HashMap<TransactionId, (String, Uri)>,
    absorbed_seen: u64,
    calls: CallLayer,
    call_events: Option<mpsc::Sender<CallEvent>>,
    /// One registration client per trunk with `register` (index into the call layer's trunks).
    registrations: Vec<(usize, RegistrationClient)>,
    /// REGISTERs in flight: transaction → index into `registrations`.
    registration_txs: HashMap<TransactionId, usize>,
    trunk_status: TrunkStatusBoard,
    /// Shutdown: un-registrations are out; reply when they are answered or at the deadline.
    draining: Option<(Timestamp, oneshot::Sender<()>)>,
    unregister_wait_ms: u64,
    /// The trunks (the call layer routes with its own copy).
    trunks: TrunkTable,
    /// Live calls per trunk as last published.
    published_trunk_calls: Vec<usize>,
}

impl<D: Credentials> Engine<D> {
    pub fn new(config: &SipServerConfig, registrar: Registrar, links: Links<D>) -> Engine<D> {
        let mut salts = Salts::seeded();
        let calls = CallLayer::new(call_config(config, links.local), salts.next(), links.anchor);
        let start = now();
        let registrations = config
            .trunks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.register)
            .map(|(i, t)| {
                let local = SocketAddr::new(local_ip_towards(links.local, t.address), links.local.port());
                (i, RegistrationClient::new(t.clone(), local, config.registration, salts.next(), start))
            })
            .collect();
        // Trunks carry many calls from one address: they are exempt from the per-source limit.
        let mut guard = config.guard.clone();
        guard.trusted_sources.extend(config.trunks.iter().map(|t| t.address.ip()));
        Engine {
            limits: config.limits(),
            max_pending_lookups: config.max_pending_lookups,
            store_timeout_ms: config.store_timeout_ms,
            layer: TransactionLayer::new(config.transactions),
            registrar,
            guard: SourceGuard::new(guard),
            outbound: links.outbound,
            metrics: links.metrics,
            directory: links.directory,
            local: links.local,
            lookups_tx: links.lookups_tx,
            writes_tx: links.writes_tx,
            salts,
            pending_lookups: 0,
            keepalives: HashMap::new(),
            absorbed_seen: 0,
            calls,
            call_events: links.call_events,
            registrations,
            registration_txs: HashMap::new(),
            trunk_status: links.trunk_status,
            draining: None,
            unregister_wait_ms: config.unregister_wait_ms,
            trunks: TrunkTable::new(config.trunks.clone(), config.default_country),
            published_trunk_calls: vec![0; config.trunks.len()],
        }
    }

    /// Runs until `stop` changes or every input closes.
    pub async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut lookups: mpsc::Receiver<Lookup>,
        mut commands: mpsc::Receiver<CallCommand>,
        mut unregister: mpsc::Receiver<oneshot::Sender<()>>,
        mut stop: watch::Receiver<bool>,
    ) {
        self.publish_trunk_status();
        loop {
            let sleep = self.until_next_deadline();
            tokio::select! {
                Some(message) = inbound.recv() => self.on_inbound(message),
                Some(lookup) = lookups.recv() => self.on_lookup(lookup),
                Some(command) = commands.recv() => self.on_command(command),
                Some(reply) = unregister.recv() => self.start_unregistering(reply),
                () = tokio::time::sleep(sleep) => self.on_timer(),
                _ = stop.changed() => break,
                else => break,
            }
            self.drain();
            self.finish_unregistering();
        }
    }

    /// Shutdown, first step: every registration in force is removed (`Expires: 0`).
    fn start_unregistering(&mut self, reply: oneshot::Sender<()>) {
        let now = now();
        for index in 0..self.registrations.len() {
            let request = self.registrations[index].1.unregister(now);
            if let Some(request) = request {
                self.send_register(now, index, request);
            }
        }
        let deadline = now.plus(model::DurationMs::from_ms(self.unregister_wait_ms));
        self.draining = Some((deadline, reply));
    }

    /// Replies to the shutdown once every un-registration is answered or the wait is over.
    fn finish_unregistering(&mut self) {
        let Some((deadline, _)) = &self.draining else { return };
        let settled = self.registrations.iter().all(|(_, c)| c.is_settled());
        if settled || *deadline <= now() {
            if let Some((_, reply)) = self.draining.take() {
                let _ = reply.send(());
            }
            self.publish_trunk_status();
        }
    }

    fn send_register(&mut self, now: Timestamp, index: usize, request: Request) {
        let Some(trunk) = self.registrations.get(index).map(|(_, c)| c.trunk().address) else { return };
        match self.layer.send_request(now, request, Peer::udp(trunk)) {
            Ok(id) => {
                self.metrics.add(|c| c.trunk_registers_sent += 1);
                self.registration_txs.insert(id, index);
            }
            Err(e) => {
                tracing::debug!(error = %e, "trunk REGISTER not sent");
                if let Some((_, client)) = self.registrations.get_mut(index) {
                    client.handle_failure(now);
                }
            }
        }
        self.publish_trunk_status();
    }

    /// Feeds a transaction event that belongs to a trunk registration; false when it is not one.
    fn on_registration_event(&mut self, event: &Event) -> bool {
        let now = now();
        match event {
            Event::Response { id, response } => {
                let Some(&index) = self.registration_txs.get(id) else { return false };
                if response.status.is_final() {
                    self.registration_txs.remove(id);
                }
                let next = self.registrations.get_mut(index).and_then(|(_, c)| c.handle_response(now, response));
                if let Some(request) = next {
                    self.send_register(now, index, request);
                }
                self.publish_trunk_status();
                true
            }
            Event::Timeout { id } | Event::TransportError { id } => {
                let Some(index) = self.registration_txs.remove(id) else { return false };
                if let Some((_, client)) = self.registrations.get_mut(index) {
                    client.handle_failure(now);
                }
                self.publish_trunk_status();
                true
            }
            Event::Terminated { id } => self.registration_txs.remove(id).is_some(),
            _ => false,
        }
    }

    /// Publishes every trunk's registration and live calls for [`crate::SipServer::trunk_status`].
    fn publish_trunk_status(&mut self) {
        let live = self.calls.trunk_calls();
        let statuses = self
            .trunks
            .iter()
            .enumerate()
            .map(|(i, t)| TrunkStatus {
                name: t.name.clone(),
                address: t.address,
                calls: live.get(i).copied().unwrap_or(0),
                max_calls: t.max_calls,
                registration: self.registrations.iter().find(|(at, _)| *at == i).map(|(_, c)| c.status()),
            })
            .collect();
        self.published_trunk_calls = live.to_vec();
        self.trunk_status.publish(statuses);
    }

    fn until_next_deadline(&self) -> Duration {
        let registrations = self.registrations.iter().filter_map(|(_, c)| c.poll_timeout()).min();
        let draining = self.draining.as_ref().map(|(at, _)| *at);
        let deadline = [
            self.layer.poll_timeout(),
            self.registrar.poll_timeout(),
            self.calls.poll_timeout(),
            registrations,
            draining,
        ]
        .into_iter()
        .flatten()
        .min();
        let ms =
            deadline.map_or(IDLE_WAKE_MS, |d| u64::try_from(d.unix_ms().saturating_sub(now().unix_ms())).unwrap_or(0));
        Duration::from_millis(ms.min(IDLE_WAKE_MS))
    }

    fn on_timer(&mut self) {
        let now = now();
        self.layer.handle_timeout(now);
        self.registrar.handle_timeout(now);
        self.calls.handle_timeout(now, &mut self.layer);
        while let Some(target) = self.registrar.poll_keepalive(now) {
            self.send_keepalive(now, target);
        }
        let mut changed = false;
        for index in 0..self.registrations.len() {
            let due = self.registrations[index].1.poll_timeout().is_some_and(|at| at <= now);
            if !due {
                continue;
            }
            changed = true;
            if let Some(request) = self.registrations[index].1.handle_timeout(now) {
                self.send_register(now, index, request);
            }
        }
        if changed {
            self.publish_trunk_status();
        }
    }

    fn on_inbound(&mut self, message: Inbound) {
        let Inbound { bytes, peer } = message;
        if !peer.is_reliable() && is_keepalive(&bytes) {
            return;
        }
        let now = now();
        if self.guard.admit_source(now, peer.addr.ip()) != Admission::Allow {
            self.metrics.add(|c| c.dropped_rate_limited += 1);
            return;
        }
        let parsed = if peer.is_reliable() {
            parse_stream_message(&bytes, &self.limits)
        } else {
            parse_datagram(&bytes, &self.limits)
        };
        match parsed {
            Err(error) => match answer_malformed(&bytes, &error) {
                MalformedAnswer::Respond(response) => {
                    self.metrics.add(|c| c.malformed_answered += 1);
                    self.send(&peer, response.to_bytes());
                }
                MalformedAnswer::Drop => self.metrics.add(|c| c.dropped_malformed += 1),
            },
            Ok(Message::Request(request)) => {
                if self.guard.is_scanner(&request) {
                    self.metrics.add(|c| c.dropped_scanner += 1);
                    return;
                }
                self.metrics.add(|c| c.requests_received += 1);
                self.layer.handle_request(now, request, peer);
            }
            Ok(Message::Response(response)) => {
                self.metrics.add(|c| c.responses_received += 1);
                self.layer.handle_response(now, response, peer);
            }
        }
    }

    /// Sends what the cores produced until they are quiet; queues changed binding sets for the store.
    fn drain(&mut self) {
        // Counted before sending, so whoever sees the answer also sees the count.
        let absorbed = self.layer.counters().absorbed_retransmissions;
        let new = absorbed.saturating_sub(self.absorbed_seen);
        self.absorbed_seen = absorbed;
        if new > 0 {
            self.metrics.add(|c| c.retransmissions_absorbed += new);
        }
        loop {
            let mut busy = false;
            while let Some(event) = self.layer.poll_event() {
                busy = true;
                self.on_event(event);
            }
            while let Some(transmit) = self.layer.poll_transmit() {
                busy = true;
                if !self.send(&transmit.destination, transmit.bytes)
                    && let Some(id) = transmit.transaction
                {
                    self.layer.handle_transport_error(id);
                }
            }
            while let Some(event) = self.calls.poll_event() {
                busy = true;
                self.deliver(event);
            }
            if !busy {
                break;
            }
        }
        if self.calls.trunk_calls() != self.published_trunk_calls.as_slice() {
            self.publish_trunk_status();
        }
        self.persist_bindings();
    }

    /// Sends the current binding set of every extension the registrar's events touched.
    fn persist_bindings(&mut self) {
        let mut touched = BTreeSet::new();
        while let Some(event) = self.registrar.poll_event() {
            touched.insert(match event {
                BindingEvent::Added(b) | BindingEvent::Refreshed(b) => b.aor,
                BindingEvent::Removed { aor, .. } => aor,
            });
        }
        let at = now();
        for aor in touched {
            let bindings = self.registrar.lookup(&aor).into_iter().cloned().collect();
            if self.writes_tx.try_send(BindingWrite { at, aor, bindings }).is_err() {
                self.metrics.add(|c| c.binding_writes_failed += 1);
            }
        }
    }

    /// Hands bytes to a socket; false when that failed.
    fn send(&self, destination: &Peer, bytes: Vec<u8>) -> bool {
        let sent = self.outbound.send(destination, bytes);
        self.metrics.add(|c| if sent { c.messages_sent += 1 } else { c.send_failures += 1 });
        sent
    }

    /// Hands a call event to the application; an `Incoming` call nobody can take is rejected 503.
    fn deliver(&mut self, event: CallEvent) {
        let incoming = match &event {
            CallEvent::Incoming { call, .. } => Some(*call),
            _ => None,
        };
        let delivered = self.call_events.as_ref().is_some_and(|tx| tx.try_send(event).is_ok());
        if delivered {
            return;
        }
        self.metrics.add(|c| c.call_events_dropped += 1);
        if let Some(call) = incoming {
            self.on_command(CallCommand::Reject { call, status: StatusCode::SERVICE_UNAVAILABLE });
        }
    }

    fn on_command(&mut self, command: CallCommand) {
        let (registrar, outbound) = (&self.registrar, &self.outbound);
        let lookup = |aor: &str| dial_contacts(registrar, outbound, aor);
        self.calls.handle_command(now(), &mut self.layer, command, &lookup);
    }

    fn on_event(&mut self, event: Event) {
        if self.on_registration_event(&event) {
            return;
        }
        let (registrar, outbound) = (&self.registrar, &self.outbound);
        let lookup = |aor: &str| dial_contacts(registrar, outbound, aor);
        if self.calls.handle_transaction_event(now(), &mut self.layer, &event, &lookup) {
            return;
        }
        match event {
            Event::Request { id, request, source } => self.on_request(id, request, source),
            Event::Response { id, response } => {
                if response.status.is_final() {
                    self.keepalives.remove(&id);
                }
            }
            Event::Timeout { id } | Event::TransportError { id } => {
                if let Some((aor, contact)) = self.keepalives.remove(&id) {
                    self.metrics.add(|c| c.keepalives_failed += 1);
                    self.registrar.keepalive_failed(&aor, &contact);
                }
            }
            Event::Terminated { id } => {
                self.keepalives.remove(&id);
            }
            Event::Ack { .. } | Event::Cancelled { .. } | Event::StrayResponse { .. } => {}
        }
    }

    fn on_request(&mut self, id: TransactionId, request: Request, source: Peer) {
        let in_dialog = request.headers.to().is_some_and(|to| to.tag().is_some());
        let status = match request.method {
            Method::Register => return self.on_register(id, request, source),
            Method::Options => StatusCode::OK,
            Method::Other(_) => StatusCode::NOT_IMPLEMENTED,
            // No dialogs exist here (calls are not served yet): a request inside one finds none.
            _ if in_dialog => StatusCode::CALL_DOES_NOT_EXIST,
            _ => StatusCode::new(405).unwrap_or(StatusCode::NOT_IMPLEMENTED),
        };
        let mut response = request.response(status, Some(&format!("{:x}", self.salts.next())));
        response.headers.push(HeaderName::Allow, ALLOW);
        if status == StatusCode::OK {
            response.headers.push(HeaderName::Accept, "application/sdp");
        } else {
            self.metrics.add(|c| c.methods_refused += 1);
        }
        self.respond(id, response);
    }

    fn respond(&mut self, id: TransactionId, response: Response) {
        if let Err(e) = self.layer.send_response(now(), id, response) {
            tracing::debug!(error = %e, "response not sent");
        }
    }

    fn on_register(&mut self, id: TransactionId, request: Request, source: Peer) {
        let username = request
            .headers
            .get(&HeaderName::Authorization)
            .and_then(sip::digest::Credentials::parse)
            .map(|c| c.username);
        let Some(username) = username else {
            // No (readable) credentials: the core challenges or answers 400 without a lookup.
            return self.answer_register(id, &request, &source, "", None);
        };
        if self.pending_lookups >= self.max_pending_lookups {
            let mut busy = request.response(StatusCode::SERVICE_UNAVAILABLE, None);
            busy.headers.push(HeaderName::RetryAfter, "5");
            return self.respond(id, busy);
        }
        self.pending_lookups += 1;
        let directory = self.directory.clone();
        let results = self.lookups_tx.clone();
        let timeout = Duration::from_millis(self.store_timeout_ms);
        tokio::spawn(async move {
            let secret = match tokio::time::timeout(timeout, directory.secret_for(&username)).await {
                Ok(Ok(secret)) => Ok(secret),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "SIP credential lookup failed");
                    Err(())
                }
                Err(_) => Err(()),
            };
            // The channel has room for every pending lookup; if the engine stopped, nothing to do.
            let _ = results.send(Lookup { id, request, source, username, secret }).await;
        });
    }

    fn on_lookup(&mut self, lookup: Lookup) {
        self.pending_lookups = self.pending_lookups.saturating_sub(1);
        match lookup.secret {
            Ok(secret) => self.answer_register(lookup.id, &lookup.request, &lookup.source, &lookup.username, secret),
            Err(()) => {
                self.metrics.add(|c| c.lookup_failures += 1);
                let mut busy = lookup.request.response(StatusCode::SERVICE_UNAVAILABLE, None);
                busy.headers.push(HeaderName::RetryAfter, "5");
                self.respond(lookup.id, busy);
            }
        }
    }

    fn answer_register(
        &mut self,
        id: TransactionId,
        request: &Request,
        source: &Peer,
        username: &str,
        secret: Option<UserSecret>,
    ) {
        let now = now();
        let salt = self.salts.next();
        let lookup = |user: &str| if user == username { secret } else { None };
        match self.registrar.handle_register(now, request, source.addr, salt, lookup) {
            RegisterAnswer::Drop => {
                self.metrics.add(|c| c.dropped_auth_throttled += 1);
                self.layer.abandon(id);
            }
            RegisterAnswer::Respond(response) => {
                let status = response.status;
                self.metrics.add(|c| {
                    if status == StatusCode::OK {
                        c.registrations_accepted += 1;
                    } else if status == StatusCode::UNAUTHORIZED {
                        c.registrations_challenged += 1;
                    }
                });
                self.respond(id, response);
            }
        }
    }

    fn send_keepalive(&mut self, now: Timestamp, target: sip::registrar::KeepaliveTarget) {
        let reliable = self.outbound.has_connection(&target.source);
        let destination = if reliable { Peer::tcp(target.source) } else { Peer::udp(target.source) };
        let transport = if reliable { Transport::tcp() } else { Transport::udp() };
        let local_ip = local_ip_towards(self.local, target.source);
        let Some(host) = Host::parse(&host_text(local_ip)) else { return };
        let mut via = Via::new(transport, host.clone(), Some(self.local.port()), &branch_from(self.salts.next()));
        via.params.set("rport", None);
        let from = Uri::sip(Some("hotline"), host, Some(self.local.port()));
        let call_id = format!("{:016x}", self.salts.next());
        let request = target.options_request(&from, &via, &call_id, &format!("{:x}", self.salts.next()));
        match self.layer.send_request(now, request, destination) {
            Ok(id) => {
                self.metrics.add(|c| c.keepalives_sent += 1);
                self.keepalives.insert(id, (target.aor, target.contact));
            }
            Err(e) => tracing::debug!(error = %e, "keep-alive not sent"),
        }
    }
}

/// The call layer's settings from the server's.
fn call_config(config: &SipServerConfig, local: SocketAddr) -> CallConfig {
    let mut calls = CallConfig::new(SocketAddr::new(config.advertise.unwrap_or(local.ip()), local.port()));
    calls.max_calls = config.max_calls;
    calls.max_unanswered_ms = config.max_unanswered_ms;
    calls.max_pending_events = config.max_queued_call_events;
    calls.direct_dial = config.direct_dial;
    calls.direct_dial_ring_timeout_ms = config.direct_dial_ring_timeout_ms;
    calls.entry_points = config.entry_points.clone();
    // Bound to a wildcard address, tell each provider the address it reaches us on.
    let trunks = config
        .trunks
        .iter()
        .cloned()
        .map(|mut t| {
            if t.local.is_none() && local.ip().is_unspecified() {
                t.local = Some(SocketAddr::new(local_ip_towards(local, t.address), local.port()));
            }
            t
        })
        .collect();
    calls.trunks = TrunkTable::new(trunks, config.default_country);
    calls
}

/// Where to ring an extension: each binding's contact, sent to the address it registered from
/// (over its TCP connection when it still has one).
fn dial_contacts(registrar: &Registrar, outbound: &Outbound, aor: &str) -> Vec<DialContact> {
    let mut bindings = registrar.lookup(aor);
    bindings.sort_by_key(|b| std::cmp::Reverse(b.q_millis()));
    bindings
        .into_iter()
        .map(|b| {
            let reliable = outbound.has_connection(&b.source);
            let destination = if reliable { Peer::tcp(b.source) } else { Peer::udp(b.source) };
            DialContact { uri: b.contact.uri.clone(), destination }
        })
        .collect()
}

fn host_text(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => format!("[{a}]"),
    }
}

/// The address the OS would send from towards `peer` (the bound one unless it is a wildcard).
fn local_ip_towards(local: SocketAddr, peer: SocketAddr) -> std::net::IpAddr {
    if !local.ip().is_unspecified() {
        return local.ip();
    }
    let any: SocketAddr = if peer.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    std::net::UdpSocket::bind(any)
        .and_then(|s| s.connect(peer).and_then(|()| s.local_addr()))
        .map_or(local.ip(), |a| a.ip())
}
