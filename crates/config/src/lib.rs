//! Hotline's configuration, loaded once at start.
//!
//! Layers, later wins: built-in defaults → the TOML file (if one is given) → `HOTLINE_*`
//! environment variables → command-line flags. The merged tree is read into a raw serde struct
//! (unknown keys are errors) and then validated into [`Config`], whose fields are typed values
//! that are already checked. Every error is one line that names the key and the problem:
//! `sip.port: 70000 is not a port`.
//!
//! Environment variables: `HOTLINE_<SECTION>_<KEY>` sets `<section>.<key>` (`HOTLINE_HTTP_PORT`,
//! `HOTLINE_DATABASE_URL`), `HOTLINE_<KEY>` sets a top-level key (`HOTLINE_DATA_DIR`). Names
//! starting with `HOTLINE_TEST_` are reserved for test harnesses and ignored here.
//!
//! This crate reads the file it is given and nothing else; it never creates directories.

mod alerts;
mod email;
mod keyword_rules;
mod raw;
mod recordings;
mod social;
mod trunks;
mod validate;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use model::{CountryCode, DurationMs};

pub use alerts::{AlertRuleConfig, AlertsConfig, MAX_ALERT_RULES};
pub use email::{EmailConfig, EmailImapConfig, ImapAfterAccept};
pub use keyword_rules::SearchConfig;
pub use recordings::{RecordingsConfig, TranscriptionConfig};
pub use social::{SocialConfig, SocialRetry, WeChatApiConfig, WebhookChannelConfig, WeiboConfig};
pub use trunks::{TrunkConfig, TrunkNumberFormat};
pub use validate::ConfigError;

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where Hotline keeps its SQLite database, recordings and other files.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub sip: SipConfig,
    pub database: DatabaseConfig,
    pub phone: PhoneConfig,
    pub log: LogConfig,
    pub media: MediaConfig,
    pub ivr: IvrConfig,
    pub acd: AcdConfig,
    pub feeds: FeedsConfig,
    /// Complaint alerts (`[alerts]`, `[[alerts.rules]]`).
    pub alerts: AlertsConfig,
    /// Recordings at rest: encryption key file and retention (`[recordings]`).
    pub recordings: RecordingsConfig,
    /// Offline transcription (`[transcription]`); off without a model directory.
    pub transcription: TranscriptionConfig,
    /// Keyword search (`[search]`): the keyword rules (`[[search.keyword_rules]]`) that flag
    /// contacts from transcripts, chats, emails and notes.
    pub search: SearchConfig,
    /// The email channel (`[email]`, `[email.imap]`).
    pub email: EmailConfig,
    /// Social messaging channels (`[social]`): the WeChat callback.
    pub social: SocialConfig,
    /// The web chat (`[chat]`).
    pub chat: ChatConfig,
    /// Where report days start: minutes east of UTC (480 = China Standard Time, the demo's).
    pub reports_utc_offset_minutes: i32,
    /// How long in-flight requests get to finish after SIGINT/SIGTERM.
    pub shutdown_grace: DurationMs,
}

/// The web chat's settings (`[chat]`).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ChatConfig {
    /// The business-hours calendar (edited on the admin page, `/api/calendars/{name}`) the chat
    /// follows: outside its hours a new chat is a message left for later, as is one while the
    /// calendar does not exist. `None` (`calendar = ""`): chats are always answered live.
    pub calendar: Option<String>,
    /// The secret chat edges (`hotline chat-edge`) present to link to this server; `None`: no
    /// edges (`/chat/edge` answers 404). At least 16 bytes. Never printed.
    pub edge_secret: Option<String>,
}

impl std::fmt::Debug for ChatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatConfig")
            .field("calendar", &self.calendar)
            .field("edge_secret", &self.edge_secret.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub bind: IpAddr,
    /// 0 means any free port (tests).
    pub port: u16,
    pub max_body_bytes: u64,
    /// Adds `Secure` to the session cookie; set it whenever users reach Hotline over HTTPS.
    pub secure_cookies: bool,
    /// Origins besides this server's own that may send unsafe requests (`https://desk.example.com`).
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SipConfig {
    pub bind: IpAddr,
    pub port: u16,
    /// The digest realm phones authenticate in.
    pub realm: String,
    /// Digest algorithms offered, in order of preference: `MD5`, `SHA-256`, `SHA-512-256`.
    /// MD5 alone by default: sipp 3.6 and baresip 1.0 fail to register when SHA-256 is offered.
    pub digest_algorithms: Vec<String>,
    /// Addresses exempt from the per-source rate limit (besides the trunks' own, always exempt).
    pub trusted_sources: Vec<IpAddr>,
    /// SIP trunks to telephone providers (`[[sip.trunks]]`).
    pub trunks: Vec<TrunkConfig>,
    /// The address phones reach the SIP server on (Via, Contact); `None` (`""`): the bound
    /// address, or `media.advertise` when bound to a wildcard.
    pub advertise: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseConfig {
    /// `sqlite://…`, `postgres://…` or `mysql://…`; defaults to SQLite in the data directory.
    pub url: String,
    pub max_connections: u32,
    pub connect_timeout: DurationMs,
    /// Apply pending migrations when `serve` starts.
    pub auto_migrate: bool,
}

impl DatabaseConfig {
    /// The URL with any password replaced by `***`, for logs and error messages.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PhoneConfig {
    /// Put in front of numbers written without a country code (`+86` in the demo).
    pub default_country: CountryCode,
}

/// The RTP side of calls (`[media]`).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaConfig {
    /// Address the RTP/RTCP sockets bind.
    pub bind: IpAddr,
    /// Address written into SDP for phones to send RTP to: `bind` unless it is unspecified
    /// (`0.0.0.0`/`::`), then 127.0.0.1 unless `media.advertise` names the machine's LAN address.
    pub advertise: IpAddr,
    /// Inclusive RTP port range (RTP on even ports, RTCP on the odd one above).
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    /// A call with no RTP from a phone for this long is ended (reason `media_timeout`).
    pub media_timeout: DurationMs,
    /// Calls carried at once.
    pub max_calls: u32,
    /// Where call recordings are written: `<data_dir>/recordings` unless set.
    pub recordings_dir: PathBuf,
}

/// Where the voice menus come from (`[ivr]`). `None`: the demo's, built into the binary.
#[derive(Debug, Clone, PartialEq)]
pub struct IvrConfig {
    /// A folder of flow files (`*.toml`, see `flows/README.md`).
    pub flows_dir: Option<PathBuf>,
    /// A folder of prompts laid out as `<language>/<name>.wav` with its `catalog.toml`.
    pub prompts_dir: Option<PathBuf>,
}

/// Routing (`[acd]`). `None`: the demo's route table, built into the binary.
#[derive(Debug, Clone, PartialEq)]
pub struct AcdConfig {
    /// A route-table file (entry points, rules, queue tuning; see `crates/center/routes.toml`).
    pub routes_file: Option<PathBuf>,
}

/// Real-time exports (`[feeds]`); each is off while its URL is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedsConfig {
    /// NATS JetStream for contact and agent events (`nats://127.0.0.1:4222`).
    pub nats_url: Option<String>,
    /// Subjects are `<prefix>.contact.<kind>` and `<prefix>.agent.state`.
    pub nats_subject_prefix: String,
    /// Redis for live counters shared by several nodes (`redis://127.0.0.1:6379`).
    pub redis_url: Option<String>,
    pub redis_key_prefix: String,
    /// InfluxDB 1.x HTTP endpoint for queue and agent time series (`http://127.0.0.1:8086`).
    pub influx_url: Option<String>,
    pub influx_database: String,
    /// How often a snapshot of queues and agents is written to InfluxDB.
    pub influx_interval: DurationMs,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `hotline=debug,sqlx=warn`.
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Values given on the command line; `None` leaves the lower layers in force.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    pub data_dir: Option<PathBuf>,
    pub http_port: Option<i64>,
    pub sip_port: Option<i64>,
}

/// Loads and validates the configuration from its layers. `env` is passed in (normally
/// `std::env::vars()`) so tests need not touch the process environment.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    cli: &CliOverrides,
) -> Result<Config, ConfigError> {
    let mut tree = raw::defaults();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::File { path: path.to_owned(), problem: format!("cannot read it: {e}") })?;
        let from_file = raw::parse_file(path, &text)?;
        raw::merge(&mut tree, from_file);
    }
    raw::apply_env(&mut tree, env)?;
    raw::apply_cli(&mut tree, cli);
    let raw = raw::deserialize(tree)?;
    validate::validate(raw)
}

/// Replaces the password of a URL such as `postgres://user:secret@host/db` with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    let redacted = if userinfo.contains(':') { format!("{user}:***") } else { user.to_owned() };
    match path {
        Some(p) => format!("{scheme}://{redacted}@{host}/{p}"),
        None => format!("{scheme}://{redacted}@{host}"),
    }
}

#[cfg(test)]
mod tests;
