//! The second stage: raw values become typed, checked values. Each check names its key.

use std::net::IpAddr;
use std::path::PathBuf;

use model::{CountryCode, DurationMs};

use crate::raw::RawConfig;
use crate::raw::{RawFeeds, RawMedia};
use crate::{
    AcdConfig, ChatConfig, Config, DatabaseConfig, FeedsConfig, HttpConfig, IvrConfig, LogConfig, LogFormat,
    MediaConfig, PhoneConfig, SipConfig,
};

/// Why the configuration was refused. `Display` is one line, ready for stderr.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or is not valid TOML.
    #[error("config file {}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
    /// A key has a bad value, or is unknown.
    #[error("{key}: {problem}")]
    Key { key: String, problem: String },
}

/// The error for a key with a bad value (every section's checks use this one).
pub(crate) fn bad(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Key { key: key.into(), problem: problem.into() }
}

/// Smallest and largest accepted `http.max_body_bytes`.
const MIN_BODY_BYTES: i64 = 1024;
const MAX_BODY_BYTES: i64 = 64 * 1024 * 1024;
const MAX_DB_CONNECTIONS: i64 = 1000;

pub fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    if raw.data_dir.trim().is_empty() {
        return Err(bad("data_dir", "must not be empty"));
    }
    let data_dir = PathBuf::from(&raw.data_dir);
    let http = HttpConfig {
        bind: ip("http.bind", &raw.http.bind)?,
        port: port("http.port", raw.http.port)?,
        max_body_bytes: in_range("http.max_body_bytes", raw.http.max_body_bytes, MIN_BODY_BYTES, MAX_BODY_BYTES)?,
        secure_cookies: raw.http.secure_cookies,
        allowed_origins: origins(&raw.http.allowed_origins)?,
    };
    let mut sip = SipConfig {
        bind: ip("sip.bind", &raw.sip.bind)?,
        port: port("sip.port", raw.sip.port)?,
        realm: realm(&raw.sip.realm)?,
        digest_algorithms: digest_algorithms(&raw.sip.digest_algorithms)?,
        trusted_sources: crate::trunks::trusted_sources(&raw.sip.trusted_sources)?,
        trunks: Vec::new(),
        advertise: sip_advertise(&raw.sip.advertise)?,
    };
    if sip.port != 0 && sip.port == http.port && sip.bind == http.bind {
        return Err(bad("sip.port", format!("{} is also http.port", sip.port)));
    }
    let database = DatabaseConfig {
        url: database_url(&raw.database.url, &data_dir)?,
        max_connections: u32::try_from(in_range(
            "database.max_connections",
            raw.database.max_connections,
            1,
            MAX_DB_CONNECTIONS,
        )?)
        .expect("range-checked"),
        connect_timeout: duration("database.connect_timeout", &raw.database.connect_timeout)?,
        auto_migrate: raw.database.auto_migrate,
    };
    let phone =
        PhoneConfig {
            default_country: raw.phone.default_country.parse::<CountryCode>().map_err(|e| {
                bad("phone.default_country", format!("{:?} {}", raw.phone.default_country, e.problem()))
            })?,
        };
    sip.trunks = crate::trunks::trunks(&raw.sip.trunks, phone.default_country)?;
    let log = LogConfig { level: log_level(&raw.log.level)?, format: log_format(&raw.log.format)? };
    let media = media(&raw.media, &data_dir)?;
    let email = crate::email::email(&raw.email, &data_dir)?;
    let ivr = IvrConfig {
        flows_dir: optional_path("ivr.flows_dir", &raw.ivr.flows_dir)?,
        prompts_dir: optional_path("ivr.prompts_dir", &raw.ivr.prompts_dir)?,
    };
    let acd = AcdConfig { routes_file: optional_path("acd.routes_file", &raw.acd.routes_file)? };
    let feeds = feeds(&raw.feeds)?;
    let reports_utc_offset_minutes =
        i32::try_from(in_range_signed("reports.utc_offset_minutes", raw.reports.utc_offset_minutes, -720, 840)?)
            .expect("range-checked");
    Ok(Config {
        data_dir,
        http,
        sip,
        database,
        phone,
        log,
        media,
        ivr,
        acd,
        feeds,
        alerts: crate::alerts::alerts(&raw.alerts)?,
        recordings: crate::recordings::recordings(&raw.recordings)?,
        transcription: crate::recordings::transcription(&raw.transcription)?,
        search: crate::keyword_rules::search(&raw.search)?,
        email,
        social: crate::social::social(&raw.social)?,
        chat: ChatConfig {
            calendar: calendar_name("chat.calendar", &raw.chat.calendar)?,
            edge_secret: edge_secret(&raw.chat.edge_secret)?,
        },
        reports_utc_offset_minutes,
        shutdown_grace: duration("shutdown_grace", &raw.shutdown_grace)?,
    })
}

/// A calendar's name: empty (none), or 1 to 64 of a-z, 0-9, `_` and `-`.
fn calendar_name(key: &str, text: &str) -> Result<Option<String>, ConfigError> {
    if text.is_empty() {
        return Ok(None);
    }
    if !model::is_calendar_name(text) {
        return Err(bad(
            key,
            format!("{text:?} is not a calendar name (1 to {} of a-z, 0-9, _ and -)", model::MAX_CALENDAR_NAME_CHARS),
        ));
    }
    Ok(Some(text.to_owned()))
}

/// Shortest `chat.edge_secret`, in bytes.
const MIN_EDGE_SECRET_BYTES: usize = 16;

/// `chat.edge_secret`: empty (no edges), or at least 16 bytes of printable ASCII (it travels in
/// an HTTP header).
fn edge_secret(text: &str) -> Result<Option<String>, ConfigError> {
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() < MIN_EDGE_SECRET_BYTES || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            "chat.edge_secret",
            format!("must be at least {MIN_EDGE_SECRET_BYTES} printable ASCII characters without spaces"),
        ));
    }
    Ok(Some(text.to_owned()))
}

/// `sip.advertise`: empty, or an address phones can send to.
fn sip_advertise(text: &str) -> Result<Option<IpAddr>, ConfigError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let a = ip("sip.advertise", text)?;
    if a.is_unspecified() {
        return Err(bad("sip.advertise", format!("{a} cannot be reached; name the address phones send SIP to")));
    }
    Ok(Some(a))
}

/// Most calls `media.max_calls` may allow (each holds up to three RTP/RTCP port pairs).
const MAX_MEDIA_CALLS: i64 = 100_000;

fn media(raw: &RawMedia, data_dir: &std::path::Path) -> Result<MediaConfig, ConfigError> {
    let bind = ip("media.bind", &raw.bind)?;
    let advertise = if raw.advertise.trim().is_empty() {
        if bind.is_unspecified() { IpAddr::from([127, 0, 0, 1]) } else { bind }
    } else {
        let a = ip("media.advertise", &raw.advertise)?;
        if a.is_unspecified() {
            return Err(bad("media.advertise", format!("{a} cannot be reached; name the address phones send RTP to")));
        }
        a
    };
    let min = port("media.rtp_port_min", raw.rtp_port_min)?;
    let max = port("media.rtp_port_max", raw.rtp_port_max)?;
    if min < 1024 || min % 2 != 0 {
        return Err(bad("media.rtp_port_min", format!("{min} must be an even port of 1024 or above")));
    }
    if max <= min {
        return Err(bad("media.rtp_port_max", format!("{max} must be above media.rtp_port_min ({min})")));
    }
    let media_timeout = duration("media.media_timeout", &raw.media_timeout)?;
    if media_timeout.as_ms() < 1_000 {
        return Err(bad("media.media_timeout", format!("{:?} is below 1s", raw.media_timeout)));
    }
    let max_calls =
        u32::try_from(in_range("media.max_calls", raw.max_calls, 1, MAX_MEDIA_CALLS)?).expect("range-checked");
    let recordings_dir = if raw.recordings_dir.trim().is_empty() {
        data_dir.join("recordings")
    } else {
        PathBuf::from(&raw.recordings_dir)
    };
    Ok(MediaConfig { bind, advertise, rtp_port_min: min, rtp_port_max: max, media_timeout, max_calls, recordings_dir })
}

fn feeds(raw: &RawFeeds) -> Result<FeedsConfig, ConfigError> {
    let url = |key: &str, value: &str, schemes: &[&str]| -> Result<Option<String>, ConfigError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        match value.split_once("://") {
            Some((scheme, rest)) if schemes.contains(&scheme) && !rest.is_empty() => Ok(Some(value.to_owned())),
            _ => {
                Err(bad(key, format!("{:?} is not a URL with one of {}", crate::redact_url(value), schemes.join(", "))))
            }
        }
    };
    let prefix = |key: &str, value: &str| -> Result<String, ConfigError> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        if ok {
            Ok(value.to_owned())
        } else {
            Err(bad(key, format!("{value:?} must be 1 to 64 letters, digits, _, - or dots")))
        }
    };
    let influx_interval = duration("feeds.influx_interval", &raw.influx_interval)?;
    if influx_interval.as_ms() < 1_000 {
        return Err(bad("feeds.influx_interval", format!("{:?} is below 1s", raw.influx_interval)));
    }
    Ok(FeedsConfig {
        nats_url: url("feeds.nats_url", &raw.nats_url, &["nats", "tls"])?,
        nats_subject_prefix: prefix("feeds.nats_subject_prefix", &raw.nats_subject_prefix)?,
        redis_url: url("feeds.redis_url", &raw.redis_url, &["redis", "rediss"])?,
        redis_key_prefix: prefix("feeds.redis_key_prefix", &raw.redis_key_prefix)?,
        influx_url: url("feeds.influx_url", &raw.influx_url, &["http", "https"])?,
        influx_database: prefix("feeds.influx_database", &raw.influx_database)?,
        influx_interval,
    })
}

/// An optional file or folder: empty means "not set". Existence is checked where it is read.
fn optional_path(key: &str, value: &str) -> Result<Option<PathBuf>, ConfigError> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.trim() != value || value.contains('\0') {
        return Err(bad(key, format!("{value:?} is not a usable path")));
    }
    Ok(Some(PathBuf::from(value)))
}

fn port(key: &str, value: i64) -> Result<u16, ConfigError> {
    u16::try_from(value).map_err(|_| bad(key, format!("{value} is not a port")))
}

fn ip(key: &str, value: &str) -> Result<IpAddr, ConfigError> {
    value.trim().parse().map_err(|_| bad(key, format!("{value:?} is not an IP address")))
}

fn in_range(key: &str, value: i64, min: i64, max: i64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(u64::try_from(value).expect("range starts above zero"))
    } else {
        Err(bad(key, format!("{value} is out of range {min} to {max}")))
    }
}

fn in_range_signed(key: &str, value: i64, min: i64, max: i64) -> Result<i64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(bad(key, format!("{value} is out of range {min} to {max}")))
    }
}

fn duration(key: &str, value: &str) -> Result<DurationMs, ConfigError> {
    value.parse::<DurationMs>().map_err(|e| bad(key, format!("{value:?} {}", e.problem())))
}

const URL_SCHEMES: &str = "sqlite, postgres, mysql";

fn database_url(url: &str, data_dir: &std::path::Path) -> Result<String, ConfigError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(format!("sqlite://{}", data_dir.join("hotline.db").display()));
    }
    let Some((scheme, rest)) = url.split_once("://").or_else(|| url.split_once(':')) else {
        return Err(bad(
            "database.url",
            format!("{:?} is not a URL; use one of {URL_SCHEMES}", crate::redact_url(url)),
        ));
    };
    let scheme = match scheme {
        "sqlite" => "sqlite",
        "postgres" | "postgresql" => "postgres",
        "mysql" | "mariadb" => "mysql",
        other => return Err(bad("database.url", format!("scheme {other:?} is not one of {URL_SCHEMES}"))),
    };
    if rest.is_empty() {
        return Err(bad("database.url", "names no database"));
    }
    Ok(if url.contains("://") { format!("{scheme}://{rest}") } else { format!("{scheme}:{rest}") })
}

/// Most origins `http.allowed_origins` may list.
const MAX_ALLOWED_ORIGINS: usize = 32;

fn origins(list: &[String]) -> Result<Vec<String>, ConfigError> {
    if list.len() > MAX_ALLOWED_ORIGINS {
        return Err(bad(
            "http.allowed_origins",
            format!("lists {} origins; at most {MAX_ALLOWED_ORIGINS}", list.len()),
        ));
    }
    list.iter()
        .map(|o| {
            let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains(['/', ' ', '?', '#']) => Ok(o.clone()),
                _ => Err(bad("http.allowed_origins", format!("{o:?} is not an origin like https://desk.example.com"))),
            }
        })
        .collect()
}

fn realm(realm: &str) -> Result<String, ConfigError> {
    if realm.is_empty() || realm.len() > 128 || realm.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
        return Err(bad(
            "sip.realm",
            format!("{realm:?} must be 1 to 128 characters without quotes, backslashes or control characters"),
        ));
    }
    Ok(realm.to_owned())
}

const DIGEST_ALGORITHMS: [&str; 3] = ["MD5", "SHA-256", "SHA-512-256"];

fn digest_algorithms(list: &[String]) -> Result<Vec<String>, ConfigError> {
    if list.is_empty() {
        return Err(bad("sip.digest_algorithms", "must name at least one of MD5, SHA-256, SHA-512-256"));
    }
    let mut out: Vec<String> = Vec::new();
    for a in list {
        let upper = a.to_ascii_uppercase();
        if !DIGEST_ALGORITHMS.contains(&upper.as_str()) {
            return Err(bad("sip.digest_algorithms", format!("{a:?} is not one of MD5, SHA-256, SHA-512-256")));
        }
        if out.contains(&upper) {
            return Err(bad("sip.digest_algorithms", format!("{a:?} is listed twice")));
        }
        out.push(upper);
    }
    Ok(out)
}

fn log_level(level: &str) -> Result<String, ConfigError> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    for directive in level.split(',').map(str::trim) {
        let lvl = directive.rsplit('=').next().unwrap_or(directive);
        let target_ok = directive
            .split_once('=')
            .is_none_or(|(t, _)| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || "_:-".contains(c)));
        if !LEVELS.contains(&lvl.to_ascii_lowercase().as_str()) || !target_ok {
            return Err(bad(
                "log.level",
                format!("{directive:?} is not a level; use off, error, warn, info, debug, trace or target=level"),
            ));
        }
    }
    Ok(level.to_owned())
}

fn log_format(format: &str) -> Result<LogFormat, ConfigError> {
    match format {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(bad("log.format", format!("{other:?} is not one of text, json"))),
    }
}
