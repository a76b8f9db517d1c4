//! The registrar (RFC 3261 §10.3) as a pure state machine: REGISTER requests, their digest
//! authentication and the current time in; responses, binding events (for the store) and
//! keep-alive targets out.
//!
//! One domain: the address of record is the user part of the To URI (the agent's extension).
//! Must never do IO or read a clock; every map is bounded ([`RegistrarConfig`]). Unknown users and
//! wrong passwords get the same answer (see [`crate::digest`]).

#[cfg(test)]
mod tests;
mod throttle;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use model::{DurationMs, Timestamp};

use crate::digest::{DigestServer, DigestServerConfig, UserSecret, Verdict};
use crate::message::{Contact, HeaderName, NameAddr, Request, Response, StatusCode, Uri};
pub use throttle::{FailedAuthThrottle, ThrottleConfig};

/// Registrar limits and timings. Units are in the names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shorter non-zero expirations are refused with 423 and this Min-Expires.
    pub min_expires_s: u32,
    /// Longer expirations are shortened to this.
    pub max_expires_s: u32,
    /// Used when neither the contact nor the request says.
    pub default_expires_s: u32,
    /// Devices per agent; a new one beyond this replaces the binding closest to expiry.
    pub max_bindings_per_aor: usize,
    /// Addresses of record held at once; a new one beyond this is answered 503.
    pub max_aors: usize,
    /// How often each contact is pinged with OPTIONS.
    pub keepalive_interval_ms: u64,
    pub throttle: ThrottleConfig,
    pub digest: DigestServerConfig,
}

impl RegistrarConfig {
    pub fn new(digest: DigestServerConfig) -> RegistrarConfig {
        RegistrarConfig {
            min_expires_s: 60,
            max_expires_s: 3600,
            default_expires_s: 3600,
            max_bindings_per_aor: 10,
            max_aors: 100_000,
            keepalive_interval_ms: 30_000,
            throttle: ThrottleConfig::default(),
            digest,
        }
    }
}

/// One registered contact of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The extension (user part of the To URI).
    pub aor: String,
    pub contact: NameAddr,
    pub call_id: String,
    pub cseq: u32,
    pub expires_at: Timestamp,
    /// Where the REGISTER came from (for NAT: send requests there, RFC 5626 style).
    pub source: SocketAddr,
    pub next_keepalive_at: Timestamp,
}

impl Binding {
    fn key(&self) -> String {
        binding_key(&self.contact)
    }

    /// `q` as thousandths (1.0 = 1000), 1000 when absent.
    pub fn q_millis(&self) -> u32 {
        self.contact.params.value("q").and_then(parse_q).unwrap_or(1000)
    }
}

fn binding_key(contact: &NameAddr) -> String {
    match contact.params.value("+sip.instance") {
        Some(instance) => format!("instance|{instance}"),
        None => contact.uri.binding_key(),
    }
}

fn parse_q(q: &str) -> Option<u32> {
    let (whole, frac) = q.split_once('.').unwrap_or((q, ""));
    let whole: u32 = whole.parse().ok()?;
    let frac = format!("{frac:0<3}");
    let frac: u32 = frac.get(..3)?.parse().ok()?;
    (whole <= 1).then_some((whole * 1000 + frac).min(1000))
}

/// Why a binding went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    Unregistered,
    Expired,
    /// Pushed out by a newer device beyond `max_bindings_per_aor`.
    Replaced,
    /// The keep-alive got no answer.
    Unreachable,
}

/// Changes to persist in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingEvent {
    Added(Binding),
    Refreshed(Binding),
    Removed { aor: String, contact: Uri, reason: RemovalReason },
}

/// The registrar's answer to a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterAnswer {
    Respond(Response),
    /// The source is throttled after failed authentication: drop silently and count.
    Drop,
}

/// A contact to ping with OPTIONS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepaliveTarget {
    pub aor: String,
    pub contact: Uri,
    pub source: SocketAddr,
}

impl KeepaliveTarget {
    /// The OPTIONS request that pings this contact. `via` carries a fresh branch; `call_id` and
    /// `from_tag` are fresh random tokens from the caller; `from` is the registrar's own address.
    pub fn options_request(&self, from: &Uri, via: &crate::message::Via, call_id: &str, from_tag: &str) -> Request {
        let mut request = Request::new(crate::message::Method::Options, self.contact.clone());
        let mut from = NameAddr::new(from.clone());
        from.set_tag(from_tag);
        request.headers.push(HeaderName::Via, via.to_string());
        request.headers.push(HeaderName::MaxForwards, "70");
        request.headers.push(HeaderName::From, from.to_string());
        request.headers.push(HeaderName::To, NameAddr::new(self.contact.clone()).to_string());
        request.headers.push(HeaderName::CallId, call_id);
        request.headers.push(HeaderName::CSeq, "1 OPTIONS");
        request
    }
}

/// Counters for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistrarCounters {
    pub failed_auth: u64,
    pub throttled_drops: u64,
}

/// Bindings of every agent, with authentication and throttling.
#[derive(Debug)]
pub struct Registrar {
    config: RegistrarConfig,
    digest: DigestServer,
    throttle: FailedAuthThrottle,
    bindings: HashMap<String, Vec<Binding>>,
    events: VecDeque<BindingEvent>,
    counters: RegistrarCounters,
}

/// The part of a REGISTER the binding update needs.
struct Update {
    aor: String,
    call_id: String,
    cseq: u32,
    /// Contacts with their granted expiry in seconds; empty for a query.
    contacts: Vec<(NameAddr, u32)>,
    remove_all: bool,
}

impl Registrar {
    pub fn new(config: RegistrarConfig) -> Registrar {
        Registrar {
            digest: DigestServer::new(config.digest.clone()),
            throttle: FailedAuthThrottle::new(config.throttle),
            config,
            bindings: HashMap::new(),
            events: VecDeque::new(),
            counters: RegistrarCounters::default(),
        }
    }

    pub fn counters(&self) -> RegistrarCounters {
        self.counters
    }

    /// Handles a REGISTER received from `source`. `salt` is fresh randomness for nonces and tags;
    /// `secret_for` looks an extension's secret up in the store.
    pub fn handle_register(
        &mut self,
        now: Timestamp,
        request: &Request,
        source: SocketAddr,
        salt: u64,
        secret_for: impl FnOnce(&str) -> Option<UserSecret>,
    ) -> RegisterAnswer {
        if self.throttle.is_blocked(now, source.ip()) {
            self.counters.throttled_drops += 1;
            return RegisterAnswer::Drop;
        }
        let tag = format!("{salt:x}");
        let reply = |status: StatusCode| RegisterAnswer::Respond(request.response(status, Some(&tag)));
        let Some(to) = request.headers.to() else { return reply(StatusCode::BAD_REQUEST) };
        let Some(aor) = to.uri.user.clone().filter(|_| to.uri.is_sip()) else {
            return reply(StatusCode::UNSUPPORTED_URI_SCHEME);
        };
        let Some(authorization) = request.headers.get(&HeaderName::Authorization) else {
            return self.challenge(now, request, salt, false);
        };
        let uri = request.uri.to_string();
        match self.digest.verify(now, &request.method, &uri, authorization, secret_for) {
            Verdict::BadRequest => reply(StatusCode::BAD_REQUEST),
            Verdict::Challenge { stale } => {
                if !stale {
                    self.counters.failed_auth += 1;
                    self.throttle.record_failure(now, source.ip());
                }
                self.challenge(now, request, salt, stale)
            }
            Verdict::Authenticated { username } if username != aor => reply(StatusCode::FORBIDDEN),
            Verdict::Authenticated { .. } => {
                self.throttle.record_success(source.ip());
                RegisterAnswer::Respond(self.update(now, request, aor, source, &tag))
            }
        }
    }

    fn challenge(&self, now: Timestamp, request: &Request, salt: u64, stale: bool) -> RegisterAnswer {
        let mut response = request.response(StatusCode::UNAUTHORIZED, Some(&format!("{salt:x}")));
        for c in self.digest.challenges(now, salt, stale) {
            response.headers.push(HeaderName::WwwAuthenticate, c.to_string());
        }
        RegisterAnswer::Respond(response)
    }

    /// Steps 6–8 of RFC 3261 §10.3 for an authenticated REGISTER.
    fn update(&mut self, now: Timestamp, request: &Request, aor: String, source: SocketAddr, tag: &str) -> Response {
        let update = match self.read_update(request, aor) {
            Ok(u) => u,
            Err(response) => return *response,
        };
        if let Err(status) = self.check_order(&update) {
            let mut r = request.response(status, Some(tag));
            r.reason = "Out Of Order Request".into();
            return r;
        }
        if !self.bindings.contains_key(&update.aor)
            && !update.contacts.is_empty()
            && self.bindings.len() >= self.config.max_aors
        {
            return request.response(StatusCode::SERVICE_UNAVAILABLE, Some(tag));
        }
        self.apply(now, &update, source);
        let mut response = request.response(StatusCode::OK, Some(tag));
        for b in self.lookup(&update.aor) {
            let remaining = b.expires_at.since(now).as_secs();
            let mut contact = b.contact.clone();
            contact.params.set("expires", Some(&remaining.to_string()));
            response.headers.push(HeaderName::Contact, contact.to_string());
        }
        response
    }

    /// Parses contacts and expiry; a 400 or 423 response when the request cannot be applied.
    fn read_update(&self, request: &Request, aor: String) -> Result<Update, Box<Response>> {
        let bad = |status: StatusCode| Box::new(request.response(status, None));
        let contacts = request.headers.contacts().ok_or_else(|| bad(StatusCode::BAD_REQUEST))?;
        let header_expires = request.headers.expires();
        let call_id = request.headers.call_id().unwrap_or_default().to_owned();
        let cseq = request.headers.cseq().map_or(0, |c| c.seq);
        if contacts.contains(&Contact::Star) {
            if contacts.len() != 1 || header_expires != Some(0) {
                return Err(bad(StatusCode::BAD_REQUEST));
            }
            return Ok(Update { aor, call_id, cseq, contacts: Vec::new(), remove_all: true });
        }
        let mut granted = Vec::new();
        for contact in contacts {
            let Contact::Address(addr) = contact else { continue };
            if !addr.uri.is_sip() {
                return Err(bad(StatusCode::UNSUPPORTED_URI_SCHEME));
            }
            let asked = addr.params.value("expires").and_then(|e| e.trim().parse::<u64>().ok());
            let asked = asked.map_or(header_expires.unwrap_or(self.config.default_expires_s), |e| {
                u32::try_from(e).unwrap_or(u32::MAX)
            });
            if asked != 0 && asked < self.config.min_expires_s {
                let mut r = request.response(StatusCode::INTERVAL_TOO_BRIEF, None);
                r.headers.push(HeaderName::MinExpires, self.config.min_expires_s.to_string());
                return Err(Box::new(r));
            }
            granted.push((*addr, asked.min(self.config.max_expires_s)));
        }
        Ok(Update { aor, call_id, cseq, contacts: granted, remove_all: false })
    }

    /// §10.3 step 7: a binding from the same Call-ID may only move forward in CSeq.
    fn check_order(&self, update: &Update) -> Result<(), StatusCode> {
        let Some(existing) = self.bindings.get(&update.aor) else { return Ok(()) };
        let stale = |b: &Binding| b.call_id == update.call_id && update.cseq <= b.cseq;
        let touched = if update.remove_all {
            existing.iter().any(stale)
        } else {
            update.contacts.iter().any(|(c, _)| existing.iter().any(|b| b.key() == binding_key(c) && stale(b)))
        };
        if touched { Err(StatusCode::SERVER_INTERNAL_ERROR) } else { Ok(()) }
    }

    fn apply(&mut self, now: Timestamp, update: &Update, source: SocketAddr) {
        let list = self.bindings.entry(update.aor.clone()).or_default();
        let mut events = Vec::new();
        if update.remove_all {
            for b in list.drain(..) {
                events.push(BindingEvent::Removed {
                    aor: b.aor,
                    contact: b.contact.uri,
                    reason: RemovalReason::Unregistered,
                });
            }
        }
        for (contact, expires_s) in &update.contacts {
            let key = binding_key(contact);
            let position = list.iter().position(|b| b.key() == key);
            if *expires_s == 0 {
                if let Some(i) = position {
                    let b = list.remove(i);
                    events.push(BindingEvent::Removed {
                        aor: b.aor,
                        contact: b.contact.uri,
                        reason: RemovalReason::Unregistered,
                    });
                }
                continue;
            }
            let binding = Binding {
                aor: update.aor.clone(),
                contact: strip_expires(contact),
                call_id: update.call_id.clone(),
                cseq: update.cseq,
                expires_at: now.plus(DurationMs::from_secs(u64::from(*expires_s))),
                source,
                next_keepalive_at: now.plus(DurationMs::from_ms(self.config.keepalive_interval_ms)),
            };
            match position {
                Some(i) => {
                    list[i] = binding.clone();
                    events.push(BindingEvent::Refreshed(binding));
                }
                None => {
                    if list.len() >= self.config.max_bindings_per_aor
                        && let Some(i) = (0..list.len()).min_by_key(|i| list[*i].expires_at)
                    {
                        let b = list.remove(i);
                        events.push(BindingEvent::Removed {
                            aor: b.aor,
                            contact: b.contact.uri,
                            reason: RemovalReason::Replaced,
                        });
                    }
                    list.push(binding.clone());
                    events.push(BindingEvent::Added(binding));
                }
            }
        }
        if list.is_empty() {
            self.bindings.remove(&update.aor);
        }
        self.events.extend(events);
    }

    /// Current contacts of an extension, best `q` first.
    pub fn lookup(&self, aor: &str) -> Vec<&Binding> {
        let mut found: Vec<&Binding> = self.bindings.get(aor).map(|l| l.iter().collect()).unwrap_or_default();
        found.sort_by_key(|b| std::cmp::Reverse(b.q_millis()));
        found
    }

    /// Loads a binding kept in the store (at start-up). No event is emitted.
    pub fn restore(&mut self, binding: Binding) {
        let list = self.bindings.entry(binding.aor.clone()).or_default();
        let key = binding.key();
        list.retain(|b| b.key() != key);
        if list.len() < self.config.max_bindings_per_aor {
            list.push(binding);
        }
    }

    /// Removes bindings that expired by `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let mut events = Vec::new();
        self.bindings.retain(|_, list| {
            list.retain(|b| {
                let alive = b.expires_at > now;
                if !alive {
                    events.push(BindingEvent::Removed {
                        aor: b.aor.clone(),
                        contact: b.contact.uri.clone(),
                        reason: RemovalReason::Expired,
                    });
                }
                alive
            });
            !list.is_empty()
        });
        self.events.extend(events);
    }

    /// The next expiry or keep-alive.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.bindings.values().flatten().map(|b| b.expires_at.min(b.next_keepalive_at)).min()
    }

    pub fn poll_event(&mut self) -> Option<BindingEvent> {
        self.events.pop_front()
    }

    /// The next contact due for an OPTIONS keep-alive at `now`; its next ping is scheduled.
    pub fn poll_keepalive(&mut self, now: Timestamp) -> Option<KeepaliveTarget> {
        let interval = DurationMs::from_ms(self.config.keepalive_interval_ms);
        let binding = self
            .bindings
            .values_mut()
            .flatten()
            .filter(|b| b.next_keepalive_at <= now)
            .min_by_key(|b| b.next_keepalive_at)?;
        binding.next_keepalive_at = now.plus(interval);
        Some(KeepaliveTarget { aor: binding.aor.clone(), contact: binding.contact.uri.clone(), source: binding.source })
    }

    /// The keep-alive to `contact` got no answer (timeout or transport error): drop the binding.
    pub fn keepalive_failed(&mut self, aor: &str, contact: &Uri) {
        let Some(list) = self.bindings.get_mut(aor) else { return };
        let key = contact.binding_key();
        if let Some(i) = list.iter().position(|b| b.contact.uri.binding_key() == key) {
            let b = list.remove(i);
            self.events.push_back(BindingEvent::Removed {
                aor: b.aor,
                contact: b.contact.uri,
                reason: RemovalReason::Unreachable,
            });
        }
        if list.is_empty() {
            self.bindings.remove(aor);
        }
    }
}

fn strip_expires(contact: &NameAddr) -> NameAddr {
    let mut c = contact.clone();
    c.params.remove("expires");
    c
}
