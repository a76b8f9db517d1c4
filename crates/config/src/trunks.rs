//! `[[sip.trunks]]` and `sip.trusted_sources`: SIP trunks to telephone providers, read from their
//! raw form and checked one key at a time. Errors name the trunk by its position:
//! `sip.trunks[0].host: "sip.example.com" is not an IP address (host names are not resolved)`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use model::CountryCode;
use serde::Deserialize;

use crate::ConfigError;
use crate::validate::bad;

/// One `[[sip.trunks]]` table as written. Only `name` and `host` are required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrunk {
    pub name: String,
    pub host: String,
    #[serde(default = "default_port")]
    pub port: i64,
    #[serde(default = "default_transport")]
    pub transport: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub realm: String,
    #[serde(default)]
    pub register: bool,
    #[serde(default = "default_register_expires_s")]
    pub register_expires_s: i64,
    #[serde(default)]
    pub caller_id: String,
    #[serde(default)]
    pub default_country: String,
    #[serde(default = "default_number_format")]
    pub number_format: String,
    #[serde(default = "default_national_prefix")]
    pub national_prefix: String,
    #[serde(default = "default_international_prefix")]
    pub international_prefix: String,
    #[serde(default)]
    pub prefixes: Vec<String>,
    #[serde(default)]
    pub default: bool,
    #[serde(default = "default_max_calls")]
    pub max_calls: i64,
}

fn default_port() -> i64 {
    5060
}
fn default_transport() -> String {
    "udp".into()
}
fn default_register_expires_s() -> i64 {
    3600
}
fn default_number_format() -> String {
    "e164".into()
}
fn default_national_prefix() -> String {
    "0".into()
}
fn default_international_prefix() -> String {
    "00".into()
}
fn default_max_calls() -> i64 {
    30
}

/// How a provider wants numbers written (`number_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrunkNumberFormat {
    /// `+8613800138000` (the default).
    E164,
    /// Home numbers as `national_prefix` + national number, others as `international_prefix` + digits.
    National,
}

/// One checked trunk.
#[derive(Clone, PartialEq)]
pub struct TrunkConfig {
    pub name: String,
    /// The provider's address: an IP literal (no DNS) and port; UDP.
    pub address: SocketAddr,
    pub username: String,
    pub password: String,
    /// Only challenges for this realm are answered; `None`: any.
    pub realm: Option<String>,
    pub register: bool,
    pub register_expires_s: u32,
    /// The number outbound calls present (From, P-Asserted-Identity).
    pub caller_id: String,
    /// The trunk's country (`phone.default_country` unless set).
    pub default_country: CountryCode,
    pub number_format: TrunkNumberFormat,
    pub national_prefix: String,
    pub international_prefix: String,
    /// E.164 prefixes (`+86`, `+8621`) of the numbers this trunk carries; the longest wins.
    pub prefixes: Vec<String>,
    /// Carries what no trunk's prefix matches.
    pub default: bool,
    pub max_calls: u32,
}

impl fmt::Debug for TrunkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrunkConfig")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("username", &self.username)
            .field("password", &"***")
            .field("register", &self.register)
            .field("prefixes", &self.prefixes)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

const MAX_TRUNKS: usize = 64;
const MAX_TRUNK_CALLS: i64 = 100_000;
const MAX_TEXT_CHARS: usize = 128;

/// Plain text for a SIP header value: no quotes, backslashes or control characters.
fn plain(key: String, value: &str, may_be_empty: bool) -> Result<String, ConfigError> {
    if (!may_be_empty && value.is_empty())
        || value.chars().count() > MAX_TEXT_CHARS
        || value.chars().any(|c| c.is_control() || c == '"' || c == '\\')
    {
        let empty = if may_be_empty { "" } else { "non-empty, " };
        return Err(bad(
            key,
            format!(
                "must be {empty}at most {MAX_TEXT_CHARS} characters without quotes, backslashes or control characters"
            ),
        ));
    }
    Ok(value.to_owned())
}

fn digits(key: String, value: &str, max: usize) -> Result<String, ConfigError> {
    if value.len() > max || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(key, format!("{value:?} must be at most {max} digits")));
    }
    Ok(value.to_owned())
}

pub fn trusted_sources(list: &[String]) -> Result<Vec<IpAddr>, ConfigError> {
    list.iter()
        .map(|s| {
            s.trim().parse::<IpAddr>().map_err(|_| {
                bad("sip.trusted_sources", format!("{s:?} is not an IP address (host names are not resolved)"))
            })
        })
        .collect()
}

pub fn trunks(raw: &[RawTrunk], default_country: CountryCode) -> Result<Vec<TrunkConfig>, ConfigError> {
    if raw.len() > MAX_TRUNKS {
        return Err(bad("sip.trunks", format!("at most {MAX_TRUNKS} trunks")));
    }
    let mut out: Vec<TrunkConfig> = Vec::with_capacity(raw.len());
    for (i, t) in raw.iter().enumerate() {
        let trunk = trunk(i, t, default_country)?;
        if out.iter().any(|o| o.name == trunk.name) {
            return Err(bad(format!("sip.trunks[{i}].name"), format!("{:?} is used by another trunk", trunk.name)));
        }
        if trunk.default && out.iter().any(|o| o.default) {
            return Err(bad(format!("sip.trunks[{i}].default"), "only one trunk may be the default"));
        }
        out.push(trunk);
    }
    Ok(out)
}

fn trunk(i: usize, t: &RawTrunk, default_country: CountryCode) -> Result<TrunkConfig, ConfigError> {
    let key = |field: &str| format!("sip.trunks[{i}].{field}");
    let name = t.name.trim();
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(bad(key("name"), format!("{name:?} must be 1 to 64 letters, digits, - or _")));
    }
    let ip: IpAddr = t.host.trim().parse().map_err(|_| {
        bad(key("host"), format!("{:?} is not an IP address (host names are not resolved: no DNS)", t.host))
    })?;
    if ip.is_unspecified() {
        return Err(bad(key("host"), format!("{ip} cannot be reached")));
    }
    let port = u16::try_from(t.port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| bad(key("port"), format!("{} is not a port", t.port)))?;
    if !t.transport.eq_ignore_ascii_case("udp") {
        return Err(bad(key("transport"), format!("{:?} is not supported; only udp", t.transport)));
    }
    let username = plain(key("username"), &t.username, true)?;
    let password = plain(key("password"), &t.password, true)?;
    let realm = plain(key("realm"), &t.realm, true)?;
    if t.register && username.is_empty() {
        return Err(bad(key("username"), "must be set when register = true"));
    }
    if !(60..=86_400).contains(&t.register_expires_s) {
        return Err(bad(key("register_expires_s"), format!("{} must be 60 to 86400", t.register_expires_s)));
    }
    let caller_id = t.caller_id.trim();
    let caller_digits = caller_id.strip_prefix('+').unwrap_or(caller_id);
    if caller_id.len() > 32 || !caller_digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(key("caller_id"), format!("{caller_id:?} must be a number (digits, optionally after +)")));
    }
    let country = if t.default_country.trim().is_empty() {
        default_country
    } else {
        t.default_country
            .parse::<CountryCode>()
            .map_err(|e| bad(key("default_country"), format!("{:?} {}", t.default_country, e.problem())))?
    };
    let number_format = match t.number_format.as_str() {
        "e164" => TrunkNumberFormat::E164,
        "national" => TrunkNumberFormat::National,
        other => return Err(bad(key("number_format"), format!("{other:?} is not one of e164, national"))),
    };
    let prefixes = t
        .prefixes
        .iter()
        .map(|p| {
            let ok = p
                .strip_prefix('+')
                .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
            if ok {
                Ok(p.clone())
            } else {
                Err(bad(key("prefixes"), format!("{p:?} must be + and 1 to 15 digits, like +86")))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if prefixes.is_empty() && !t.default {
        return Err(bad(key("prefixes"), "the trunk carries no numbers: give it prefixes or default = true"));
    }
    if !(1..=MAX_TRUNK_CALLS).contains(&t.max_calls) {
        return Err(bad(key("max_calls"), format!("{} must be 1 to {MAX_TRUNK_CALLS}", t.max_calls)));
    }
    Ok(TrunkConfig {
        name: name.to_owned(),
        address: SocketAddr::new(ip, port),
        username,
        password,
        realm: (!realm.is_empty()).then_some(realm),
        register: t.register,
        register_expires_s: u32::try_from(t.register_expires_s).expect("range-checked"),
        caller_id: caller_id.to_owned(),
        default_country: country,
        number_format,
        national_prefix: digits(key("national_prefix"), &t.national_prefix, 4)?,
        international_prefix: digits(key("international_prefix"), &t.international_prefix, 4)?,
        prefixes,
        default: t.default,
        max_calls: u32::try_from(t.max_calls).expect("range-checked"),
    })
}
