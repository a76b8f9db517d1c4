//! SIP trunks: the connections to a telephone provider that carry calls to and from the public
//! network. Three pure pieces:
//! - [`Trunk`]: one provider account (address, credentials, caller id, number format, routing
//!   prefixes, call limit) and [`TrunkTable`], which picks the trunk for a dialled number: the
//!   number is normalised to E.164 (`model::E164::normalise` with the table's default country),
//!   the trunk with the longest matching E.164 prefix wins, else the default trunk; the number
//!   is then written as that trunk's provider expects ([`NumberFormat`]).
//! - [`RegistrationClient`]: REGISTER to the provider as a sans-IO state machine (digest on
//!   401/407, refresh before expiry, back-off on failure, un-register) with a
//!   [`RegistrationStatus`] snapshot.
//! - Outbound INVITEs through a trunk and their digest challenges are the call layer's
//!   ([`crate::calls::DialTarget::Number`]).
//!
//! The provider's address is an IP literal: there is no DNS in the core (nor, today, in the
//! shell), so SRV/NAPTR and host names are not supported. UDP only.
//!
//! No IO, no clock, no randomness: time and seeds come in. Never panics on a response.

mod registration;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use model::{CountryCode, E164};

pub use registration::{RegistrationClient, RegistrationState, RegistrationStatus, RegistrationTiming};

/// How a trunk's provider wants numbers written in the Request-URI and To.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumberFormat {
    /// `+8613800138000`.
    #[default]
    E164,
    /// Numbers of the trunk's country as `national_prefix` + national number (`013800138000`
    /// with prefix `0`, `13800138000` with none); others as `international_prefix` + digits
    /// (`0014155550100`).
    National,
}

/// One provider account. Build with [`Trunk::new`] and set the fields that differ.
#[derive(Clone, PartialEq, Eq)]
pub struct Trunk {
    /// The operator's name for it (`telecom`), for logs and status.
    pub name: String,
    /// Where the provider listens (UDP).
    pub address: SocketAddr,
    /// Digest username; empty: challenges are not answered (an IP-authenticated trunk).
    pub username: String,
    pub password: String,
    /// When set, only challenges for this realm are answered.
    pub realm: Option<String>,
    /// Keep a registration with the provider.
    pub register: bool,
    /// Registration lifetime asked for; the provider may grant less.
    pub register_expires_s: u32,
    /// The number calls out of this trunk present: From and P-Asserted-Identity user part.
    pub caller_id: String,
    /// The trunk's country: what [`NumberFormat::National`] counts as national.
    pub country: CountryCode,
    pub number_format: NumberFormat,
    /// Put before a national number in [`NumberFormat::National`] (`0` by default).
    pub national_prefix: String,
    /// Put before the digits of a foreign number in [`NumberFormat::National`] (`00`).
    pub international_prefix: String,
    /// E.164 prefixes (`+86`, `+8610`) of the numbers this trunk carries.
    pub prefixes: Vec<String>,
    /// Carries every number no trunk's prefix matches.
    pub is_default: bool,
    /// Calls out of this trunk at once; a dial beyond it fails 503.
    pub max_calls: usize,
    /// Our address as this provider sees it (Via and Contact of calls out of the trunk), when
    /// it differs from the call layer's (a server bound to 0.0.0.0); `None`: the layer's.
    pub local: Option<SocketAddr>,
}

impl fmt::Debug for Trunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trunk")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("username", &self.username)
            .field("password", &"***")
            .field("register", &self.register)
            .field("caller_id", &self.caller_id)
            .field("prefixes", &self.prefixes)
            .field("is_default", &self.is_default)
            .field("max_calls", &self.max_calls)
            .finish_non_exhaustive()
    }
}

impl Trunk {
    /// A trunk with no credentials, no registration, E.164 numbers, no prefixes, not default.
    pub fn new(name: &str, address: SocketAddr, country: CountryCode) -> Trunk {
        Trunk {
            name: name.to_owned(),
            address,
            username: String::new(),
            password: String::new(),
            realm: None,
            register: false,
            register_expires_s: 3_600,
            caller_id: String::new(),
            country,
            number_format: NumberFormat::E164,
            national_prefix: "0".into(),
            international_prefix: "00".into(),
            prefixes: Vec::new(),
            is_default: false,
            max_calls: 100,
            local: None,
        }
    }

    /// Whether a challenge for `realm` may be answered with this trunk's credentials.
    pub fn answers_realm(&self, realm: &str) -> bool {
        !self.username.is_empty() && self.realm.as_deref().is_none_or(|r| r == realm)
    }

    /// The user part for `number` in this trunk's format.
    pub fn format_number(&self, number: &E164) -> String {
        match self.number_format {
            NumberFormat::E164 => number.as_str().to_owned(),
            NumberFormat::National => {
                let country = self.country.get().to_string();
                match number.digits().strip_prefix(&country) {
                    Some(national) => format!("{}{national}", self.national_prefix),
                    None => format!("{}{}", self.international_prefix, number.digits()),
                }
            }
        }
    }
}

/// The trunk chosen for a number, and the number as that trunk wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkRoute {
    /// Index into the [`TrunkTable`].
    pub trunk: usize,
    pub number: E164,
    /// The Request-URI and To user part.
    pub dialled: String,
}

/// Why a number cannot go out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Not a phone number (answer 484 Address Incomplete).
    #[error("{0}")]
    NotANumber(String),
    /// No trunk carries it (404).
    #[error("no trunk carries {0}")]
    NoTrunk(String),
}

impl RouteError {
    /// The SIP status a failed dial reports.
    pub fn status(&self) -> u16 {
        match self {
            RouteError::NotANumber(_) => 484,
            RouteError::NoTrunk(_) => 404,
        }
    }
}

/// Every trunk, and the country national numbers are dialled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkTable {
    trunks: Vec<Trunk>,
    country: CountryCode,
}

impl TrunkTable {
    pub fn new(trunks: Vec<Trunk>, country: CountryCode) -> TrunkTable {
        TrunkTable { trunks, country }
    }

    /// No trunks (the default of a call layer).
    pub fn none() -> TrunkTable {
        TrunkTable { trunks: Vec::new(), country: CountryCode::new(86).expect("86 is a country code") }
    }

    pub fn get(&self, index: usize) -> Option<&Trunk> {
        self.trunks.get(index)
    }

    pub fn len(&self) -> usize {
        self.trunks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trunks.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Trunk> {
        self.trunks.iter()
    }

    /// The trunk whose provider is at `ip` (an INVITE from there comes from the network).
    pub fn trunk_at(&self, ip: IpAddr) -> Option<usize> {
        self.trunks.iter().position(|t| t.address.ip() == ip)
    }

    /// Picks the trunk for `number` as a person dialled it (`138 0013 8000`, `010-12345678`,
    /// `+1 415 555 0100`): longest matching prefix of its E.164 form, else the default trunk.
    pub fn route(&self, number: &str) -> Result<TrunkRoute, RouteError> {
        let e164 = E164::normalise(number, self.country).map_err(|e| RouteError::NotANumber(e.to_string()))?;
        let by_prefix = self
            .trunks
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.prefixes.iter().map(move |p| (i, p)))
            .filter(|(_, p)| e164.as_str().starts_with(p.as_str()))
            .max_by_key(|(i, p)| (p.len(), std::cmp::Reverse(*i)))
            .map(|(i, _)| i);
        let trunk = by_prefix
            .or_else(|| self.trunks.iter().position(|t| t.is_default))
            .ok_or_else(|| RouteError::NoTrunk(e164.to_string()))?;
        let dialled = self.trunks[trunk].format_number(&e164);
        Ok(TrunkRoute { trunk, number: e164, dialled })
    }
}
