//! The raw layer: a TOML tree merged from defaults, file, environment and flags, then read into
//! serde structs that mirror the file. No checks beyond types and unknown keys happen here.

use std::path::Path;

use serde::Deserialize;
use toml::{Table, Value};

use crate::{CliOverrides, ConfigError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub data_dir: String,
    pub shutdown_grace: String,
    pub http: RawHttp,
    pub sip: RawSip,
    pub database: RawDatabase,
    pub phone: RawPhone,
    pub log: RawLog,
    pub media: RawMedia,
    pub ivr: RawIvr,
    pub acd: RawAcd,
    pub feeds: RawFeeds,
    pub reports: RawReports,
    pub alerts: crate::alerts::RawAlerts,
    pub recordings: crate::recordings::RawRecordings,
    pub transcription: crate::recordings::RawTranscription,
    pub search: crate::keyword_rules::RawSearch,
    pub email: crate::email::RawEmail,
    pub social: crate::social::RawSocial,
    pub chat: RawChat,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub bind: String,
    pub port: i64,
    pub max_body_bytes: i64,
    pub secure_cookies: bool,
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSip {
    pub bind: String,
    pub port: i64,
    pub realm: String,
    pub digest_algorithms: Vec<String>,
    pub trusted_sources: Vec<String>,
    pub trunks: Vec<crate::trunks::RawTrunk>,
    pub advertise: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub url: String,
    pub max_connections: i64,
    pub connect_timeout: String,
    pub auto_migrate: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPhone {
    pub default_country: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMedia {
    pub bind: String,
    pub advertise: String,
    pub rtp_port_min: i64,
    pub rtp_port_max: i64,
    pub media_timeout: String,
    pub max_calls: i64,
    pub recordings_dir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIvr {
    pub flows_dir: String,
    pub prompts_dir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAcd {
    pub routes_file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeeds {
    pub nats_url: String,
    pub nats_subject_prefix: String,
    pub redis_url: String,
    pub redis_key_prefix: String,
    pub influx_url: String,
    pub influx_database: String,
    pub influx_interval: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReports {
    pub utc_offset_minutes: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChat {
    pub calendar: String,
    pub edge_secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub level: String,
    pub format: String,
}

/// Every key with its default. The file, environment and flags are merged over this tree.
const DEFAULTS: &str = r#"
data_dir = "data"
shutdown_grace = "10s"

[http]
bind = "0.0.0.0"
port = 8080
max_body_bytes = 1048576
secure_cookies = false
allowed_origins = []

[sip]
bind = "0.0.0.0"
port = 5060
realm = "hotline"
digest_algorithms = ["MD5"]
trusted_sources = []
advertise = ""
trunks = []

[database]
url = ""
max_connections = 8
connect_timeout = "5s"
auto_migrate = true

[phone]
default_country = "+86"

[log]
level = "info"
format = "text"

[media]
bind = "0.0.0.0"
advertise = ""
rtp_port_min = 20000
rtp_port_max = 21999
media_timeout = "30s"
max_calls = 1000
recordings_dir = ""

[ivr]
flows_dir = ""
prompts_dir = ""

[acd]
routes_file = ""

[feeds]
nats_url = ""
nats_subject_prefix = "hotline"
redis_url = ""
redis_key_prefix = "hotline"
influx_url = ""
influx_database = "hotline"
influx_interval = "10s"

[reports]
utc_offset_minutes = 480

[alerts]
webhook_url = ""
webhook_secret = ""
webhook_timeout_ms = 5000
max_retries = 3
max_pending = 1000
rules = []

[recordings]
encryption_key_file = ""
retention_days = 0
retention_sweep_interval = "1h"
max_deletions_per_sweep = 1000

[transcription]
model_dir = ""
python = "python3"
language = "en"
workers = 1
max_queued_jobs = 1000
max_attempts = 3
job_timeout = "10m"
scratch_dir = ""

[search]
keyword_rules = []

[chat]
calendar = ""
edge_secret = ""

[social]
wechat_token = ""
entry_point = "hotline"
max_clock_skew_ms = 300000
wechat_app_id = ""
wechat_app_secret = ""
wechat_api_base = "https://api.weixin.qq.com"
wechat_welcome = "您好，欢迎关注！直接发送消息，客服会尽快回复。Hello, thanks for following! Send us a message and an agent will answer."
weibo_secret = ""
weibo_access_token = ""
weibo_api_base = "https://api.weibo.com"
webhook_name = "webhook"
webhook_secret = ""
webhook_reply_url = ""
max_body_bytes = 65536
max_messages_per_sender_per_minute = 20
reply_max_attempts = 5
reply_initial_backoff_ms = 1000
reply_max_backoff_ms = 60000
max_reply_age_ms = 172800000

[email]
smtp_listen = ""
domain = "localhost"
support_address = ""
smarthost = ""
max_message_bytes = 26214400
auto_acknowledge = false
entry_point = "hotline"
max_attachment_bytes = 10485760
max_attachments_per_message = 20
allowed_attachment_types = ["image/*", "text/plain", "text/csv", "application/pdf", "application/zip", "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "message/rfc822", "message/delivery-status"]
blocked_attachment_types = ["application/x-msdownload", "application/x-dosexec", "application/x-msdos-program", "application/x-sh", "application/javascript", "text/html", "image/svg+xml"]

[email.imap]
host = ""
port = 143
tls = false
username = ""
password = ""
mailbox = "INBOX"
poll_interval_ms = 30000
max_message_bytes = 26214400
max_messages_per_poll = 100
max_messages_per_sender_per_hour = 30
after = "seen"
command_timeout_ms = 30000
max_backoff_ms = 600000
"#;

pub fn defaults() -> Table {
    DEFAULTS.parse::<Table>().expect("the built-in defaults are valid TOML")
}

/// Parses the file's text, reporting a syntax error as one line with its position.
pub fn parse_file(path: &Path, text: &str) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| {
        let at = e.span().map(|span| line_and_column(text, span.start)).unwrap_or_default();
        let message = e.message().lines().next().unwrap_or("invalid TOML").trim_end_matches('.');
        ConfigError::File { path: path.to_owned(), problem: format!("{at}{message}") }
    })
}

fn line_and_column(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: ")
}

/// Merges `over` into `base`: tables merge key by key, any other value replaces.
pub fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

/// Applies `HOTLINE_*` variables. A variable that names no key is an error, so typos surface.
pub fn apply_env(tree: &mut Table, env: impl IntoIterator<Item = (String, String)>) -> Result<(), ConfigError> {
    let mut vars: Vec<(String, String)> =
        env.into_iter().filter(|(k, _)| k.starts_with("HOTLINE_") && !k.starts_with("HOTLINE_TEST_")).collect();
    vars.sort();
    for (name, value) in vars {
        let key = name["HOTLINE_".len()..].to_ascii_lowercase();
        let (section, leaf) = env_key_path(tree, &key).ok_or_else(|| ConfigError::Key {
            key: name.clone(),
            problem: format!("names no configuration key ({key} is not one)"),
        })?;
        let target = match section {
            Some(s) => tree.get_mut(&s).and_then(Value::as_table_mut).expect("env_key_path checked the section"),
            None => &mut *tree,
        };
        let typed = env_value(target.get(&leaf), &value);
        target.insert(leaf, typed);
    }
    Ok(())
}

/// Finds which `section.key` (or top-level key) an environment key such as `http_port` names.
fn env_key_path(tree: &Table, key: &str) -> Option<(Option<String>, String)> {
    if tree.get(key).is_some_and(|v| !v.is_table()) {
        return Some((None, key.to_owned()));
    }
    tree.iter().filter_map(|(name, v)| v.as_table().map(|t| (name, t))).find_map(|(section, table)| {
        let leaf = key.strip_prefix(section.as_str())?.strip_prefix('_')?;
        table.contains_key(leaf).then(|| (Some(section.clone()), leaf.to_owned()))
    })
}

/// Environment values are text; give them the type of the default they replace, so that
/// `HOTLINE_HTTP_PORT=abc` later fails as "expected an integer" rather than silently.
fn env_value(default: Option<&Value>, text: &str) -> Value {
    match default {
        Some(Value::Integer(_)) => {
            text.trim().parse::<i64>().map_or_else(|_| Value::String(text.into()), Value::Integer)
        }
        Some(Value::Boolean(_)) => match text.trim() {
            "true" | "1" | "yes" => Value::Boolean(true),
            "false" | "0" | "no" => Value::Boolean(false),
            _ => Value::String(text.into()),
        },
        // Lists are written comma-separated: `HOTLINE_SIP_DIGEST_ALGORITHMS=SHA-256,MD5`.
        Some(Value::Array(_)) => Value::Array(
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.into())).collect(),
        ),
        _ => Value::String(text.into()),
    }
}

pub fn apply_cli(tree: &mut Table, cli: &CliOverrides) {
    let mut set = |section: Option<&str>, key: &str, v: Value| {
        let table = match section {
            Some(s) => tree.get_mut(s).and_then(Value::as_table_mut).expect("the defaults have every section"),
            None => &mut *tree,
        };
        table.insert(key.to_owned(), v);
    };
    if let Some(d) = &cli.data_dir {
        set(None, "data_dir", Value::String(d.to_string_lossy().into_owned()));
    }
    if let Some(p) = cli.http_port {
        set(Some("http"), "port", Value::Integer(p));
    }
    if let Some(p) = cli.sip_port {
        set(Some("sip"), "port", Value::Integer(p));
    }
}

/// Reads the merged tree into the raw structs; errors name the key path.
pub fn deserialize(tree: Table) -> Result<RawConfig, ConfigError> {
    serde_path_to_error::deserialize(Value::Table(tree)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        key_error(&path, &inner)
    })
}

/// Turns serde's wording into ours: `sip: unknown field `prot`, expected ...` becomes
/// `sip.prot: unknown key; expected one of bind, port`.
fn key_error(path: &str, message: &str) -> ConfigError {
    let path = if path == "." { "" } else { path };
    let message = message.lines().next().unwrap_or(message);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        // The names serde lists are the ones between backticks.
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let key = if path.is_empty() || path == field || path.ends_with(&format!(".{field}")) {
            if path.is_empty() { field.to_owned() } else { path.to_owned() }
        } else {
            format!("{path}.{field}")
        };
        return ConfigError::Key { key, problem: format!("unknown key; expected one of {}", known.join(", ")) };
    }
    ConfigError::Key {
        key: if path.is_empty() { "(top level)".into() } else { path.to_owned() },
        problem: message.to_owned(),
    }
}
