//! The SIP server's settings: where to listen, every limit (units in the names), and the
//! registrar and guard settings passed through to the core. Plain data; validated by
//! [`SipServerConfig::validate`] before any socket is opened.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use model::{CountryCode, OrgId};
use sip::digest::Algorithm;
use sip::guard::GuardConfig;
use sip::transaction::TransactionConfig;
use sip::trunk::{RegistrationTiming, Trunk};

use crate::SipServerError;

/// Everything [`crate::SipServer::start`] needs.
#[derive(Debug, Clone)]
pub struct SipServerConfig {
    /// Address and port for both UDP and TCP (port 0: any free port, the same for both).
    pub bind: SocketAddr,
    /// The org whose agents register (one SIP domain per server).
    pub org: OrgId,
    /// Digest realm offered in challenges.
    pub realm: String,
    /// Largest SIP message accepted on UDP or TCP; beyond it UDP gets 513 or a drop, TCP is closed.
    pub max_message_bytes: usize,
    /// Most header lines in one message.
    pub max_headers: usize,
    /// Open TCP connections at once; a new one beyond this is closed at once and counted.
    pub max_tcp_connections: usize,
    /// A TCP connection with no bytes received for this long is closed.
    pub tcp_idle_timeout_ms: u64,
    /// Messages waiting to be written on one TCP connection; beyond it the send fails.
    pub max_queued_writes_per_connection: usize,
    /// Received messages waiting for the engine; beyond it they are dropped and counted.
    pub max_queued_inputs: usize,
    /// Credential lookups in flight at once; a REGISTER beyond this is answered 503.
    pub max_pending_lookups: usize,
    /// Binding sets waiting to be written to the store; beyond it they are dropped and counted.
    pub max_pending_binding_writes: usize,
    /// How long a store call may take before it counts as failed.
    pub store_timeout_ms: u64,
    /// Bindings restored from the store at start.
    pub max_restored_bindings: u32,
    /// How long a digest nonce is accepted before the answer is `stale=true`.
    pub nonce_ttl_ms: u64,
    /// Digest algorithms offered, one challenge each, most preferred first (RFC 8760). The default
    /// is MD5 alone, for interoperability measured here: sipp 3.6 answers only the first
    /// challenge and knows only MD5, and baresip 1.0 (Debian's, libre) fails to register at all
    /// ("Function not implemented") when any SHA-256 challenge is present, even after an MD5 one.
    /// Phones that support RFC 8760 can be offered `[Sha256, Md5]`.
    pub digest_algorithms: Vec<Algorithm>,
    /// How often each registered contact is pinged with OPTIONS.
    pub keepalive_interval_ms: u64,
    /// Shortest and longest registration accepted, and the default.
    pub min_expires_s: u32,
    pub max_expires_s: u32,
    pub default_expires_s: u32,
    /// Per-source rate limit and scanner user-agents.
    pub guard: GuardConfig,
    /// Transaction timers and limits.
    pub transactions: TransactionConfig,
    /// Numbers the application serves (entry points such as "4000"): `CallEvent::Incoming`.
    pub entry_points: Vec<String>,
    /// An INVITE for a registered extension is bridged to its bindings by the server itself.
    pub direct_dial: bool,
    /// Ring timeout of direct-dial legs.
    pub direct_dial_ring_timeout_ms: u64,
    /// Live call legs (inbound and outbound); beyond it INVITEs get 503.
    pub max_calls: usize,
    /// An inbound call left unanswered by the application this long gets 480.
    pub max_unanswered_ms: u64,
    /// Call events waiting for the application; beyond it they are dropped and counted
    /// (an `Incoming` call is then rejected 503).
    pub max_queued_call_events: usize,
    /// Call commands waiting for the engine; senders wait beyond it.
    pub max_queued_call_commands: usize,
    /// SIP trunks to providers: `DialTarget::Number` goes out through them, those with
    /// `register` keep a registration, and their addresses are trusted sources (exempt from the
    /// per-source rate limit, like `guard.trusted_sources`).
    pub trunks: Vec<Trunk>,
    /// The address phones reach us on, written in the Via, Contact and From of calls (and so
    /// where phones send in-dialog requests); `None`: the bound address. Set it when bound to a
    /// wildcard (`0.0.0.0`/`::`), which no phone can send to. Trunks bound to a wildcard use the
    /// address the OS routes towards each provider.
    pub advertise: Option<std::net::IpAddr>,
    /// The country of numbers dialled without one, for routing to a trunk.
    pub default_country: CountryCode,
    /// Retry and refresh timing of trunk registrations.
    pub registration: RegistrationTiming,
    /// How long [`crate::SipServer::stop`] waits for the providers to answer un-registrations.
    pub unregister_wait_ms: u64,
}

impl SipServerConfig {
    /// Defaults for a server on `bind` serving `org`.
    pub fn new(bind: SocketAddr, org: OrgId) -> SipServerConfig {
        SipServerConfig {
            bind,
            org,
            realm: "hotline".into(),
            max_message_bytes: sip::Limits::default().max_message_bytes,
            max_headers: sip::Limits::default().max_headers,
            max_tcp_connections: 1_024,
            tcp_idle_timeout_ms: 300_000,
            max_queued_writes_per_connection: 64,
            max_queued_inputs: 4_096,
            max_pending_lookups: 256,
            max_pending_binding_writes: 4_096,
            store_timeout_ms: 5_000,
            max_restored_bindings: 100_000,
            nonce_ttl_ms: 300_000,
            digest_algorithms: vec![Algorithm::Md5],
            keepalive_interval_ms: 30_000,
            min_expires_s: 60,
            max_expires_s: 3_600,
            default_expires_s: 3_600,
            guard: GuardConfig::default(),
            transactions: TransactionConfig::default(),
            entry_points: Vec::new(),
            direct_dial: true,
            direct_dial_ring_timeout_ms: 30_000,
            max_calls: 10_000,
            max_unanswered_ms: 120_000,
            max_queued_call_events: 4_096,
            max_queued_call_commands: 1_024,
            trunks: Vec::new(),
            advertise: None,
            default_country: CountryCode::new(86).expect("86 is a country code"),
            registration: RegistrationTiming::default(),
            unregister_wait_ms: 2_000,
        }
    }

    /// 127.0.0.1 on a free port: for tests.
    pub fn loopback(org: OrgId) -> SipServerConfig {
        SipServerConfig::new(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0), org)
    }

    /// Refuses settings that would make the server useless or unbounded, naming the setting.
    pub fn validate(&self) -> Result<(), SipServerError> {
        let positive: [(&'static str, u64); 15] = [
            ("max_message_bytes", self.max_message_bytes as u64),
            ("max_headers", self.max_headers as u64),
            ("max_tcp_connections", self.max_tcp_connections as u64),
            ("tcp_idle_timeout_ms", self.tcp_idle_timeout_ms),
            ("max_queued_writes_per_connection", self.max_queued_writes_per_connection as u64),
            ("max_queued_inputs", self.max_queued_inputs as u64),
            ("max_pending_lookups", self.max_pending_lookups as u64),
            ("max_pending_binding_writes", self.max_pending_binding_writes as u64),
            ("nonce_ttl_ms", self.nonce_ttl_ms),
            ("keepalive_interval_ms", self.keepalive_interval_ms),
            ("direct_dial_ring_timeout_ms", self.direct_dial_ring_timeout_ms),
            ("max_calls", self.max_calls as u64),
            ("max_unanswered_ms", self.max_unanswered_ms),
            ("max_queued_call_events", self.max_queued_call_events as u64),
            ("max_queued_call_commands", self.max_queued_call_commands as u64),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(SipServerError::Config { setting: name, reason: "must be above 0".into() });
        }
        if self.min_expires_s > self.max_expires_s {
            return Err(SipServerError::Config {
                setting: "min_expires_s",
                reason: format!("{} is above max_expires_s {}", self.min_expires_s, self.max_expires_s),
            });
        }
        if self.digest_algorithms.is_empty() {
            return Err(SipServerError::Config { setting: "digest_algorithms", reason: "must not be empty".into() });
        }
        if self.realm.is_empty() || self.realm.contains(['"', '\\', '\r', '\n']) {
            return Err(SipServerError::Config { setting: "realm", reason: "must be plain non-empty text".into() });
        }
        if self.advertise.is_some_and(|ip| ip.is_unspecified()) {
            return Err(SipServerError::Config {
                setting: "advertise",
                reason: "must be an address phones can reach".into(),
            });
        }
        self.validate_trunks()
    }

    fn validate_trunks(&self) -> Result<(), SipServerError> {
        let bad = |reason: String| Err(SipServerError::Config { setting: "trunks", reason });
        for (i, t) in self.trunks.iter().enumerate() {
            if t.name.is_empty() || self.trunks[..i].iter().any(|o| o.name == t.name) {
                return bad(format!("trunk {i}: names must be non-empty and unique ({:?})", t.name));
            }
            if t.max_calls == 0 || t.address.port() == 0 || t.address.ip().is_unspecified() {
                return bad(format!("{}: needs an address with a port and max_calls above 0", t.name));
            }
            if t.register && (t.username.is_empty() || t.register_expires_s == 0) {
                return bad(format!("{}: registering needs a username and register_expires_s above 0", t.name));
            }
        }
        if self.trunks.iter().filter(|t| t.is_default).count() > 1 {
            return bad("only one trunk may be the default".into());
        }
        if self.registration.retry_min_ms == 0 || self.registration.retry_max_ms < self.registration.retry_min_ms {
            return bad("registration retry_min_ms must be above 0 and at most retry_max_ms".into());
        }
        Ok(())
    }

    pub(crate) fn limits(&self) -> sip::Limits {
        sip::Limits {
            max_message_bytes: self.max_message_bytes,
            max_headers: self.max_headers,
            ..sip::Limits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_limit_is_refused_naming_the_setting() {
        let mut config = SipServerConfig::loopback(OrgId::from_u128(1));
        assert_eq!(config.validate(), Ok(()));
        config.max_tcp_connections = 0;
        match config.validate() {
            Err(SipServerError::Config { setting, .. }) => assert_eq!(setting, "max_tcp_connections"),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn trunks_need_unique_names_one_default_and_a_username_to_register() {
        let country = CountryCode::new(86).expect("86");
        let trunk = |name: &str| {
            let mut t = Trunk::new(name, "198.51.100.7:5060".parse().expect("addr"), country);
            t.is_default = true;
            t
        };
        let mut config = SipServerConfig::loopback(OrgId::from_u128(1));
        config.trunks = vec![trunk("a"), trunk("a")];
        assert!(config.validate().expect_err("twice").to_string().contains("unique"));
        config.trunks = vec![trunk("a"), trunk("b")];
        assert!(config.validate().expect_err("two defaults").to_string().contains("one trunk may be the default"));
        let mut registering = trunk("a");
        registering.register = true;
        config.trunks = vec![registering.clone()];
        assert!(config.validate().expect_err("no username").to_string().contains("username"));
        registering.username = "u".into();
        config.trunks = vec![registering];
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn min_expires_above_max_expires_is_refused() {
        let mut config = SipServerConfig::loopback(OrgId::from_u128(1));
        config.min_expires_s = 7_200;
        let err = config.validate().expect_err("refused");
        assert!(err.to_string().starts_with("min_expires_s: 7200 is above max_expires_s 3600"), "{err}");
    }
}
