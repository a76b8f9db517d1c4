//! `[email]`: the email channel: the SMTP listener (`smtp_listen`, off while empty), outbound sending
//! through a smarthost (`smarthost`, off while empty), the auto-acknowledgement, and `[email.imap]`,
//! IMAP polling of a support mailbox (off while `host` is empty).
//! Checked as settings only: this crate never connects; `hotline serve` does, and the email crate
//! names the server when it fails. The password never appears in `Debug` or in an error.

use std::fmt;

use serde::Deserialize;

use crate::ConfigError;
use crate::validate::bad;

/// Largest `email.imap.max_message_bytes` (100 MiB).
const MAX_IMAP_MESSAGE_BYTES: i64 = 100 * 1024 * 1024;
/// Most entries in `email.allowed_attachment_types` or `email.blocked_attachment_types`.
const MAX_ATTACHMENT_TYPE_ENTRIES: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    pub smtp_listen: String,
    pub domain: String,
    pub support_address: String,
    pub smarthost: String,
    pub max_message_bytes: i64,
    pub auto_acknowledge: bool,
    pub entry_point: String,
    pub max_attachment_bytes: i64,
    pub max_attachments_per_message: i64,
    pub allowed_attachment_types: Vec<String>,
    pub blocked_attachment_types: Vec<String>,
    pub imap: RawImap,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImap {
    pub host: String,
    pub port: i64,
    pub tls: bool,
    pub username: String,
    pub password: String,
    pub mailbox: String,
    pub poll_interval_ms: i64,
    pub max_message_bytes: i64,
    pub max_messages_per_poll: i64,
    pub max_messages_per_sender_per_hour: i64,
    pub after: String,
    pub command_timeout_ms: i64,
    pub max_backoff_ms: i64,
}

impl fmt::Debug for RawImap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawImap").field("host", &self.host).field("password", &"<redacted>").finish_non_exhaustive()
    }
}

/// The email channel (`[email]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmailConfig {
    /// Where the SMTP listener accepts mail for the support address; `None` (off) while empty.
    pub smtp_listen: Option<std::net::SocketAddr>,
    /// Our mail domain: the SMTP greeting and the right-hand side of the Message-IDs we make.
    pub domain: String,
    /// The address customers write to and our replies come from; empty = `support@<domain>`.
    pub support_address: String,
    /// The relay (`host:port`) outbound mail goes through; `None` (no sending) while empty.
    pub smarthost: Option<(String, u16)>,
    /// Larger messages are refused by the listener (and IMAP's own limit applies to polling).
    pub max_message_bytes: u32,
    /// Answer a new customer email with "we received it, ticket #n" (never to robots or loops).
    pub auto_acknowledge: bool,
    /// The route table's entry point email contacts enter at.
    pub entry_point: String,
    /// Larger attachments are not kept: recorded as refused with the reason, the message is kept.
    pub max_attachment_bytes: u64,
    /// Attachments of one message beyond this many are recorded as refused.
    pub max_attachments_per_message: usize,
    /// Attachment types kept (`type/subtype` or `type/*`, lower case); empty = every type not blocked.
    pub allowed_attachment_types: Vec<String>,
    /// Attachment types never kept, even when allowed (recorded as refused).
    pub blocked_attachment_types: Vec<String>,
    /// Where kept attachments are written: `<data_dir>/email-attachments`.
    pub attachments_dir: std::path::PathBuf,
    /// IMAP polling (`[email.imap]`); `None` while `host` is empty.
    pub imap: Option<EmailImapConfig>,
}

/// What to do with a message on the IMAP server once Hotline accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapAfterAccept {
    MarkSeen,
    Delete,
    Move(String),
}

/// `[email.imap]`, validated.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailImapConfig {
    pub host: String,
    pub port: u16,
    /// Implicit TLS (usually port 993); plain TCP otherwise (loopback, or a tunnel).
    pub tls: bool,
    pub username: String,
    pub password: String,
    /// The folder polled (`INBOX`).
    pub mailbox: String,
    pub poll_interval_ms: u64,
    /// Larger messages stay unseen on the server and are counted.
    pub max_message_bytes: u32,
    pub max_messages_per_poll: usize,
    /// A sender's messages beyond this in an hour stay unseen and are counted.
    pub max_messages_per_sender_per_hour: u32,
    pub after: ImapAfterAccept,
    /// Longest one IMAP step (connect, login, one command) may take.
    pub command_timeout_ms: u64,
    /// Longest wait between retries after errors (the wait doubles from `poll_interval_ms`).
    pub max_backoff_ms: u64,
}

impl fmt::Debug for EmailImapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailImapConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("mailbox", &self.mailbox)
            .field("poll_interval_ms", &self.poll_interval_ms)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_messages_per_poll", &self.max_messages_per_poll)
            .field("max_messages_per_sender_per_hour", &self.max_messages_per_sender_per_hour)
            .field("after", &self.after)
            .field("command_timeout_ms", &self.command_timeout_ms)
            .field("max_backoff_ms", &self.max_backoff_ms)
            .finish()
    }
}

fn range(key: &str, value: i64, min: i64, max: i64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(u64::try_from(value).unwrap_or(0))
    } else {
        Err(bad(key, format!("{value} is out of range {min} to {max}")))
    }
}

pub fn email(raw: &RawEmail, data_dir: &std::path::Path) -> Result<EmailConfig, ConfigError> {
    let smtp_listen = match raw.smtp_listen.trim() {
        "" => None,
        addr => Some(addr.parse().map_err(|_| bad("email.smtp_listen", format!("{addr:?} is not ip:port")))?),
    };
    let domain = raw.domain.trim();
    if domain.is_empty()
        || domain.len() > 253
        || !domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(bad("email.domain", format!("{domain:?} is not a domain name")));
    }
    let support_address = match raw.support_address.trim() {
        "" => format!("support@{domain}"),
        a if model::Email::parse(a).is_ok() => a.to_owned(),
        a => return Err(bad("email.support_address", format!("{a:?} is not an email address"))),
    };
    let smarthost = match raw.smarthost.trim() {
        "" => None,
        hp => {
            let problem = || bad("email.smarthost", format!("{hp:?} is not host:port"));
            let (host, port) = hp.rsplit_once(':').ok_or_else(problem)?;
            let port = port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(problem)?;
            if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
                return Err(problem());
            }
            Some((host.to_owned(), port))
        }
    };
    let max_message_bytes =
        u32::try_from(range("email.max_message_bytes", raw.max_message_bytes, 1024, MAX_IMAP_MESSAGE_BYTES)?)
            .unwrap_or(u32::MAX);
    let entry_point = raw.entry_point.trim();
    if entry_point.is_empty() {
        return Err(bad("email.entry_point", "must name an entry point of the route table"));
    }
    let max_attachment_bytes =
        range("email.max_attachment_bytes", raw.max_attachment_bytes, 1, MAX_IMAP_MESSAGE_BYTES)?;
    let max_attachments_per_message =
        usize::try_from(range("email.max_attachments_per_message", raw.max_attachments_per_message, 0, 1_000)?)
            .unwrap_or(0);
    Ok(EmailConfig {
        smtp_listen,
        domain: domain.to_owned(),
        support_address,
        smarthost,
        max_message_bytes,
        auto_acknowledge: raw.auto_acknowledge,
        entry_point: entry_point.to_owned(),
        max_attachment_bytes,
        max_attachments_per_message,
        allowed_attachment_types: attachment_types("email.allowed_attachment_types", &raw.allowed_attachment_types)?,
        blocked_attachment_types: attachment_types("email.blocked_attachment_types", &raw.blocked_attachment_types)?,
        attachments_dir: data_dir.join("email-attachments"),
        imap: imap(&raw.imap)?,
    })
}

/// A list of `type/subtype` or `type/*` patterns, lower-cased.
fn attachment_types(key: &str, raw: &[String]) -> Result<Vec<String>, ConfigError> {
    if raw.len() > MAX_ATTACHMENT_TYPE_ENTRIES {
        return Err(bad(key, format!("{} entries, more than {MAX_ATTACHMENT_TYPE_ENTRIES}", raw.len())));
    }
    let token = |s: &str| {
        !s.is_empty() && s.len() <= 127 && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    raw.iter()
        .map(|entry| {
            let t = entry.trim().to_ascii_lowercase();
            let valid = t.split_once('/').is_some_and(|(major, minor)| token(major) && (minor == "*" || token(minor)));
            if valid { Ok(t) } else { Err(bad(key, format!("{entry:?} is not type/subtype or type/*"))) }
        })
        .collect()
}

fn imap(raw: &RawImap) -> Result<Option<EmailImapConfig>, ConfigError> {
    let host = raw.host.trim();
    if host.is_empty() {
        return Ok(None);
    }
    if host.len() > 253 || host.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err(bad("email.imap.host", format!("{host:?} is not a host name or address")));
    }
    let port = u16::try_from(range("email.imap.port", raw.port, 1, 65_535)?).unwrap_or(143);
    let username = raw.username.trim();
    if username.is_empty() {
        return Err(bad("email.imap.username", "must be set when email.imap.host is"));
    }
    if raw.password.is_empty() {
        return Err(bad("email.imap.password", "must be set when email.imap.host is"));
    }
    let mailbox = raw.mailbox.trim();
    if mailbox.is_empty() || mailbox.len() > 255 || mailbox.contains(['\r', '\n', '"']) {
        return Err(bad("email.imap.mailbox", format!("{mailbox:?} is not a usable folder name")));
    }
    let after = match raw.after.trim() {
        "seen" => ImapAfterAccept::MarkSeen,
        "delete" => ImapAfterAccept::Delete,
        other => match other.strip_prefix("move:").map(str::trim) {
            Some(folder) if !folder.is_empty() && folder.len() <= 255 && !folder.contains(['\r', '\n', '"']) => {
                ImapAfterAccept::Move(folder.to_owned())
            }
            _ => return Err(bad("email.imap.after", format!("{other:?} is not one of seen, delete, move:<folder>"))),
        },
    };
    let poll_interval_ms = range("email.imap.poll_interval_ms", raw.poll_interval_ms, 100, 86_400_000)?;
    Ok(Some(EmailImapConfig {
        host: host.to_owned(),
        port,
        tls: raw.tls,
        username: username.to_owned(),
        password: raw.password.clone(),
        mailbox: mailbox.to_owned(),
        poll_interval_ms,
        max_message_bytes: u32::try_from(range(
            "email.imap.max_message_bytes",
            raw.max_message_bytes,
            1024,
            MAX_IMAP_MESSAGE_BYTES,
        )?)
        .unwrap_or(u32::MAX),
        max_messages_per_poll: usize::try_from(range(
            "email.imap.max_messages_per_poll",
            raw.max_messages_per_poll,
            1,
            10_000,
        )?)
        .unwrap_or(1),
        max_messages_per_sender_per_hour: u32::try_from(range(
            "email.imap.max_messages_per_sender_per_hour",
            raw.max_messages_per_sender_per_hour,
            1,
            100_000,
        )?)
        .unwrap_or(1),
        after,
        command_timeout_ms: range("email.imap.command_timeout_ms", raw.command_timeout_ms, 100, 600_000)?,
        max_backoff_ms: range("email.imap.max_backoff_ms", raw.max_backoff_ms, 100, 3_600_000)?.max(poll_interval_ms),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::{CliOverrides, Config, ConfigError, load};

    fn load_text(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hotline.toml");
        std::fs::write(&path, text).unwrap();
        load(Some(&path), Vec::new(), &CliOverrides::default())
    }

    const IMAP: &str =
        "[email.imap]\nhost = \"imap.example.cn\"\nusername = \"support\"\npassword = \"hunter2-imap\"\n";

    #[test]
    fn imap_polling_is_off_by_default() {
        assert_eq!(load_text("").unwrap().email.imap, None);
    }

    #[test]
    fn smtp_listener_and_sending_are_off_by_default_and_read_when_set() {
        let off = load_text("").unwrap().email;
        assert_eq!((off.smtp_listen, off.smarthost, off.auto_acknowledge), (None, None, false));
        assert_eq!(off.support_address, "support@localhost");
        let on = load_text(
            "[email]\nsmtp_listen = \"127.0.0.1:2525\"\ndomain = \"shop.test\"\nsmarthost = \"127.0.0.1:2526\"\n\
             auto_acknowledge = true\n",
        )
        .unwrap()
        .email;
        assert_eq!(on.smtp_listen, Some("127.0.0.1:2525".parse().unwrap()));
        assert_eq!(on.smarthost, Some(("127.0.0.1".to_owned(), 2526)));
        assert_eq!(on.support_address, "support@shop.test");
        assert!(on.auto_acknowledge);
        let err = load_text("[email]\nsmarthost = \"relay\"\n").unwrap_err();
        assert_eq!(err.to_string(), "email.smarthost: \"relay\" is not host:port");
        let err = load_text("[email]\nsmtp_listen = \"2525\"\n").unwrap_err();
        assert_eq!(err.to_string(), "email.smtp_listen: \"2525\" is not ip:port");
    }

    #[test]
    fn imap_section_is_read_with_defaults_and_the_password_never_prints() {
        let c = load_text(&format!("{IMAP}after = \"move:Done\"\ntls = true\nport = 993\n")).unwrap();
        let imap = c.email.imap.unwrap();
        assert_eq!((imap.host.as_str(), imap.port, imap.tls), ("imap.example.cn", 993, true));
        assert_eq!(imap.mailbox, "INBOX");
        assert_eq!(imap.after, super::ImapAfterAccept::Move("Done".into()));
        assert_eq!(imap.max_message_bytes, 25 * 1024 * 1024);
        assert!(!format!("{imap:?}").contains("hunter2"));
    }

    #[test]
    fn attachment_limits_have_defaults_are_read_and_errors_name_the_key() {
        let d = load_text("").unwrap().email;
        assert_eq!((d.max_attachment_bytes, d.max_attachments_per_message), (10 * 1024 * 1024, 20));
        assert_eq!(d.attachments_dir, std::path::PathBuf::from("data/email-attachments"));
        assert!(d.allowed_attachment_types.contains(&"application/pdf".to_owned()));
        assert!(d.blocked_attachment_types.contains(&"text/html".to_owned()));
        let c = load_text(
            "[email]\nmax_attachment_bytes = 4096\nmax_attachments_per_message = 2\n\
             allowed_attachment_types = []\nblocked_attachment_types = [\"Application/X-Sh\", \"video/*\"]\n",
        )
        .unwrap()
        .email;
        assert_eq!((c.max_attachment_bytes, c.max_attachments_per_message), (4096, 2));
        assert!(c.allowed_attachment_types.is_empty());
        assert_eq!(c.blocked_attachment_types, vec!["application/x-sh", "video/*"]);
        let err = load_text("[email]\nmax_attachment_bytes = 0\n").unwrap_err();
        assert_eq!(err.to_string(), "email.max_attachment_bytes: 0 is out of range 1 to 104857600");
        let err = load_text("[email]\nblocked_attachment_types = [\"exe\"]\n").unwrap_err();
        assert_eq!(err.to_string(), "email.blocked_attachment_types: \"exe\" is not type/subtype or type/*");
    }

    #[test]
    fn imap_errors_name_the_key() {
        let err = load_text(&format!("{IMAP}after = \"archive\"\n")).unwrap_err();
        assert_eq!(err.to_string(), "email.imap.after: \"archive\" is not one of seen, delete, move:<folder>");
        let err = load_text(&format!("{IMAP}max_messages_per_poll = 0\n")).unwrap_err();
        assert_eq!(err.to_string(), "email.imap.max_messages_per_poll: 0 is out of range 1 to 10000");
        let err = load_text("[email.imap]\nhost = \"imap.example.cn\"\nusername = \"support\"\n").unwrap_err();
        assert_eq!(err.to_string(), "email.imap.password: must be set when email.imap.host is");
        let err = load_text(&format!("{IMAP}hots = \"x\"\n")).unwrap_err();
        assert!(err.to_string().starts_with("email.imap.hots: unknown key"), "{err}");
        assert!(!err.to_string().contains("hunter2"));
    }
}
