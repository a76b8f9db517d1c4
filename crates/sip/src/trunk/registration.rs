//! REGISTER to a trunk's provider (RFC 3261 §10.2) as a sans-IO client: the shell sends the
//! requests it returns (one client transaction each) and feeds back their final responses,
//! transaction failures and the time.
//!
//! ```text
//! poll_timeout() ─> handle_timeout(now) ─> Some(REGISTER) ─> send
//! final response ─> handle_response(now, &r) ─> Some(REGISTER with Authorization) ─> send | None
//! timeout / transport error ─> handle_failure(now)
//! shutdown ─> unregister(now) ─> Some(REGISTER Expires: 0) ─> send; wait for is_settled()
//! ```
//! - 401/407: answered once per challenge with digest credentials (MD5, SHA-256 or SHA-512-256,
//!   qop=auth with a fresh cnonce, nc=1): a second challenge right after our credentials means
//!   they were refused (a failure), unless it says `stale=true` (the nonce expired: answered
//!   once more).
//! - 2xx: registered for the granted time (our Contact's `expires`, else `Expires`, else what we
//!   asked); refreshed at granted − min(`refresh_margin_s`, granted / 2).
//! - 423: asks again at once with the provider's Min-Expires (bounded by `max_expires_s`).
//! - Anything else, or no answer: a failure; retried after a back-off doubling from
//!   `retry_min_ms` to `retry_max_ms` (403 Forbidden waits `retry_max_ms` at once: the provider
//!   refuses the account, asking again soon would not change that).

use std::net::{IpAddr, SocketAddr};

use model::{DurationMs, Timestamp};

use super::Trunk;
use crate::digest::{Challenge, pick_challenge, respond};
use crate::message::{
    Contact, HeaderName, Host, Method, NameAddr, Request, Response, StatusCode, Transport, Uri, Via, branch_from,
};

/// Timing of registration attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationTiming {
    /// First retry after a failure; doubled per consecutive failure.
    pub retry_min_ms: u64,
    /// Longest wait between attempts.
    pub retry_max_ms: u64,
    /// Refresh this long before the registration expires (at most half its lifetime).
    pub refresh_margin_s: u32,
    /// Largest Min-Expires (423) we agree to.
    pub max_expires_s: u32,
}

impl Default for RegistrationTiming {
    fn default() -> Self {
        RegistrationTiming { retry_min_ms: 2_000, retry_max_ms: 300_000, refresh_margin_s: 60, max_expires_s: 86_400 }
    }
}

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationState {
    /// A REGISTER is out and no registration is in force.
    Registering,
    /// The provider accepted us (until [`RegistrationStatus::registered_until`]).
    Registered,
    /// The last attempt failed; the next one is at [`RegistrationStatus::next_attempt_at`].
    Failed,
    /// The un-REGISTER is out.
    Unregistering,
    /// Un-registered (shutdown): nothing more is sent.
    Unregistered,
}

impl RegistrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationState::Registering => "registering",
            RegistrationState::Registered => "registered",
            RegistrationState::Failed => "failed",
            RegistrationState::Unregistering => "unregistering",
            RegistrationState::Unregistered => "unregistered",
        }
    }
}

/// A snapshot for status pages and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationStatus {
    pub trunk: String,
    pub state: RegistrationState,
    /// When the registration in force lapses (it may be in force while a refresh is failing).
    pub registered_until: Option<Timestamp>,
    /// The last final status from the provider (408 for no answer).
    pub last_status: Option<u16>,
    /// Why the last attempt failed, for a person.
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    /// When the next REGISTER goes out.
    pub next_attempt_at: Option<Timestamp>,
}

/// Challenges answered in a row before we give up on one attempt (the second only if stale).
const MAX_AUTH_ROUNDS: u8 = 2;

/// One trunk's registration.
#[derive(Debug)]
pub struct RegistrationClient {
    trunk: Trunk,
    local: SocketAddr,
    timing: RegistrationTiming,
    salt: u64,
    call_id: String,
    from_tag: String,
    cseq: u32,
    expires_s: u32,
    state: RegistrationState,
    /// A REGISTER of ours waits for its answer.
    in_flight: bool,
    /// The last REGISTER sent (its Authorization replaced when a challenge is answered).
    last_request: Option<Request>,
    auth_rounds: u8,
    min_expires_retried: bool,
    next_at: Option<Timestamp>,
    registered_until: Option<Timestamp>,
    last_status: Option<u16>,
    last_error: Option<String>,
    failures: u32,
}

impl RegistrationClient {
    /// A client whose first REGISTER is due at `now`. `local` is our address as the provider
    /// sees it (Via and Contact); `seed` feeds the Call-ID, tags, branches and cnonces.
    pub fn new(trunk: Trunk, local: SocketAddr, timing: RegistrationTiming, seed: u64, now: Timestamp) -> Self {
        let mut client = RegistrationClient {
            expires_s: trunk.register_expires_s.max(1),
            trunk,
            local,
            timing,
            salt: seed,
            call_id: String::new(),
            from_tag: String::new(),
            cseq: 0,
            state: RegistrationState::Registering,
            in_flight: false,
            last_request: None,
            auth_rounds: 0,
            min_expires_retried: false,
            next_at: Some(now),
            registered_until: None,
            last_status: None,
            last_error: None,
            failures: 0,
        };
        client.call_id = format!("{:016x}@hotline", client.fresh());
        client.from_tag = format!("{:x}", client.fresh());
        client
    }

    pub fn trunk(&self) -> &Trunk {
        &self.trunk
    }

    pub fn status(&self) -> RegistrationStatus {
        RegistrationStatus {
            trunk: self.trunk.name.clone(),
            state: self.state,
            registered_until: self.registered_until,
            last_status: self.last_status,
            last_error: self.last_error.clone(),
            consecutive_failures: self.failures,
            next_attempt_at: if self.in_flight { None } else { self.next_at },
        }
    }

    /// No REGISTER of ours waits for an answer.
    pub fn is_settled(&self) -> bool {
        !self.in_flight
    }

    /// When [`RegistrationClient::handle_timeout`] must run: the next REGISTER, or the moment
    /// the registration in force lapses (the status changes).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let send = if self.in_flight { None } else { self.next_at };
        [send, self.registered_until].into_iter().flatten().min()
    }

    /// The REGISTER due at `now`, if any; notes a registration that lapsed.
    pub fn handle_timeout(&mut self, now: Timestamp) -> Option<Request> {
        if let Some(until) = self.registered_until
            && until <= now
        {
            self.registered_until = None;
            if self.state == RegistrationState::Registered {
                self.state = RegistrationState::Failed;
                self.last_error.get_or_insert_with(|| "the registration lapsed".into());
            }
        }
        if self.in_flight || self.next_at.is_none_or(|at| at > now) {
            return None;
        }
        self.next_at = None;
        if self.registered_until.is_none() {
            self.state = RegistrationState::Registering;
        }
        self.auth_rounds = 0;
        self.min_expires_retried = false;
        let request = self.build(self.expires_s);
        Some(self.sent(request))
    }

    /// A final response to our last REGISTER. Returns the next REGISTER to send at once (the
    /// challenge answered, or a longer expiry after 423).
    pub fn handle_response(&mut self, now: Timestamp, response: &Response) -> Option<Request> {
        if !self.in_flight || !self.is_ours(response) || response.status.is_provisional() {
            return None;
        }
        self.in_flight = false;
        let status = response.status.as_u16();
        self.last_status = Some(status);
        match status {
            200..=299 => {
                self.accepted(now, response);
                None
            }
            401 | 407 => self.challenged(now, response),
            423 => self.interval_too_brief(now, response),
            403 => {
                self.failed(now, "the provider refuses this account (403 Forbidden)".into(), true);
                None
            }
            _ => {
                let reason = format!("the provider answered {status} {}", response.reason);
                self.failed(now, reason, false);
                None
            }
        }
    }

    /// Our REGISTER got no answer (timer F) or could not be sent.
    pub fn handle_failure(&mut self, now: Timestamp) {
        if !self.in_flight {
            return;
        }
        self.in_flight = false;
        self.last_status = Some(StatusCode::REQUEST_TIMEOUT.as_u16());
        self.failed(now, "no answer from the provider".into(), false);
    }

    /// Removes our registration (shutdown): a REGISTER with `Expires: 0`, or `None` when no
    /// registration is in force. Nothing is sent after it.
    pub fn unregister(&mut self, now: Timestamp) -> Option<Request> {
        self.next_at = None;
        let in_force = self.registered_until.is_some_and(|until| until > now);
        if !in_force || matches!(self.state, RegistrationState::Unregistering | RegistrationState::Unregistered) {
            self.state = RegistrationState::Unregistered;
            self.in_flight = false;
            return None;
        }
        self.state = RegistrationState::Unregistering;
        self.auth_rounds = 0;
        let request = self.build(0);
        Some(self.sent(request))
    }

    // ----- answers -----

    fn accepted(&mut self, now: Timestamp, response: &Response) {
        if self.state == RegistrationState::Unregistering {
            self.state = RegistrationState::Unregistered;
            self.registered_until = None;
            return;
        }
        let granted = self.granted_s(response).unwrap_or(self.expires_s).max(1);
        self.state = RegistrationState::Registered;
        self.registered_until = Some(now.plus(DurationMs::from_secs(u64::from(granted))));
        let margin = self.timing.refresh_margin_s.min(granted / 2);
        self.next_at = Some(now.plus(DurationMs::from_secs(u64::from(granted - margin))));
        self.failures = 0;
        self.last_error = None;
    }

    fn challenged(&mut self, now: Timestamp, response: &Response) -> Option<Request> {
        let proxy = response.status.as_u16() == 407;
        let header = if proxy { HeaderName::ProxyAuthenticate } else { HeaderName::WwwAuthenticate };
        let offered: Vec<Challenge> = response.headers.get_all(&header).filter_map(Challenge::parse).collect();
        let usable: Vec<Challenge> = offered.into_iter().filter(|c| self.trunk.answers_realm(&c.realm)).collect();
        let Some(challenge) = pick_challenge(&usable).cloned() else {
            let reason = if self.trunk.username.is_empty() {
                "the provider asks for credentials and the trunk has no username".to_owned()
            } else {
                "no digest challenge we can answer (realm or algorithm)".to_owned()
            };
            self.failed(now, reason, false);
            return None;
        };
        let may_answer = self.auth_rounds == 0 || (challenge.stale && self.auth_rounds < MAX_AUTH_ROUNDS);
        if !may_answer {
            self.failed(now, "the provider refused the credentials".into(), false);
            return None;
        }
        self.auth_rounds += 1;
        let mut request = self.last_request.clone()?;
        let cnonce = format!("{:016x}", self.fresh());
        let creds = respond(
            &challenge,
            &self.trunk.username,
            &self.trunk.password,
            &Method::Register,
            &request.uri.to_string(),
            &cnonce,
            1,
        );
        request.headers.remove(&HeaderName::Authorization);
        request.headers.remove(&HeaderName::ProxyAuthorization);
        let name = if proxy { HeaderName::ProxyAuthorization } else { HeaderName::Authorization };
        request.headers.push(name, creds.to_string());
        Some(self.resend(request))
    }

    fn interval_too_brief(&mut self, now: Timestamp, response: &Response) -> Option<Request> {
        let min = response.headers.get(&HeaderName::MinExpires).and_then(|v| v.trim().parse::<u32>().ok());
        match min {
            Some(min) if !self.min_expires_retried && min > self.expires_s && min <= self.timing.max_expires_s => {
                self.min_expires_retried = true;
                self.expires_s = min;
                let request = self.build(min);
                Some(self.sent(request))
            }
            _ => {
                self.failed(now, "the provider wants a registration interval we cannot use (423)".into(), false);
                None
            }
        }
    }

    fn failed(&mut self, now: Timestamp, reason: String, forbidden: bool) {
        if self.state == RegistrationState::Unregistering {
            // Nothing more to do at shutdown: the registration lapses on its own.
            self.state = RegistrationState::Unregistered;
            return;
        }
        self.failures = self.failures.saturating_add(1);
        self.last_error = Some(reason);
        if self.registered_until.is_none_or(|until| until <= now) {
            self.registered_until = None;
            self.state = RegistrationState::Failed;
        }
        let wait = if forbidden { self.timing.retry_max_ms } else { self.backoff_ms() };
        let retry_at = now.plus(DurationMs::from_ms(wait));
        // A registration still in force is refreshed before it lapses if the back-off allows.
        self.next_at = Some(retry_at);
    }

    fn backoff_ms(&self) -> u64 {
        let doublings = self.failures.saturating_sub(1).min(30);
        self.timing.retry_min_ms.saturating_mul(1 << doublings).min(self.timing.retry_max_ms)
    }

    /// The lifetime the provider granted: our Contact's `expires`, else the Expires header.
    fn granted_s(&self, response: &Response) -> Option<u32> {
        let ours = self.contact_uri();
        let from_contact = response.headers.contacts().unwrap_or_default().into_iter().find_map(|c| match c {
            Contact::Address(a) if a.uri.user == ours.user && a.uri.host.eq_ignore_case(&ours.host) => {
                a.params.value("expires").and_then(|e| e.trim().parse::<u32>().ok())
            }
            _ => None,
        });
        from_contact.or_else(|| response.headers.expires())
    }

    fn is_ours(&self, response: &Response) -> bool {
        let cseq = response.headers.cseq();
        response.headers.call_id() == Some(self.call_id.as_str())
            && cseq.is_some_and(|c| c.seq == self.cseq && c.method == Method::Register)
    }

    // ----- requests -----

    fn fresh(&mut self) -> u64 {
        self.salt = self.salt.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.salt;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn sent(&mut self, request: Request) -> Request {
        self.in_flight = true;
        self.last_request = Some(request.clone());
        request
    }

    /// The same request with a new branch and the next CSeq (RFC 3261 §22.2).
    fn resend(&mut self, mut request: Request) -> Request {
        self.cseq += 1;
        request.headers.set(HeaderName::Via, self.via().to_string());
        request.headers.set(HeaderName::CSeq, format!("{} REGISTER", self.cseq));
        self.sent(request)
    }

    fn host_of(ip: IpAddr) -> Host {
        match ip {
            IpAddr::V4(a) => Host::V4(a),
            IpAddr::V6(a) => Host::V6(a),
        }
    }

    fn via(&mut self) -> Via {
        let branch = branch_from(self.fresh());
        let mut via = Via::new(Transport::udp(), Self::host_of(self.local.ip()), Some(self.local.port()), &branch);
        via.params.set("rport", None);
        via
    }

    fn contact_uri(&self) -> Uri {
        let user = if self.trunk.username.is_empty() { "hotline" } else { self.trunk.username.as_str() };
        Uri::sip(Some(user), Self::host_of(self.local.ip()), Some(self.local.port()))
    }

    fn build(&mut self, expires_s: u32) -> Request {
        self.cseq += 1;
        let provider = Self::host_of(self.trunk.address.ip());
        let registrar = Uri::sip(None, provider.clone(), Some(self.trunk.address.port()));
        let user = if self.trunk.username.is_empty() { "hotline" } else { self.trunk.username.as_str() };
        let aor = NameAddr::new(Uri::sip(Some(user), provider, None));
        let mut from = aor.clone();
        from.set_tag(&self.from_tag);
        let via = self.via();
        let mut request = Request::new(Method::Register, registrar);
        let h = &mut request.headers;
        h.push(HeaderName::Via, via.to_string());
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::From, from.to_string());
        h.push(HeaderName::To, aor.to_string());
        h.push(HeaderName::CallId, self.call_id.clone());
        h.push(HeaderName::CSeq, format!("{} REGISTER", self.cseq));
        h.push(HeaderName::Contact, NameAddr::new(self.contact_uri()).to_string());
        h.push(HeaderName::Expires, expires_s.to_string());
        h.push(HeaderName::UserAgent, "Hotline");
        request
    }
}
