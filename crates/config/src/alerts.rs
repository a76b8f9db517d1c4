//! `[alerts]`: complaint-alert rules (`[[alerts.rules]]`) and the webhook they call. The rules
//! are checked here as settings (names, ranges, disposition codes); `kpi::alert` checks them
//! again as a rule engine when `hotline serve` starts it.

use model::ReasonCode;
use serde::Deserialize;

use crate::ConfigError;
use crate::validate::bad;

/// Most `[[alerts.rules]]`.
pub const MAX_ALERT_RULES: usize = 64;
/// Longest rule name, in bytes.
const MAX_RULE_NAME_BYTES: usize = 100;
/// Most dispositions or keyword flags one rule lists.
const MAX_MARKS_PER_RULE: usize = 32;
/// Largest `threshold`.
const MAX_THRESHOLD: i64 = 100_000;
/// Longest `window_s` and `cooldown_s`: a week.
const MAX_WINDOW_S: i64 = 7 * 24 * 3600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    pub webhook_url: String,
    pub webhook_secret: String,
    pub webhook_timeout_ms: i64,
    pub max_retries: i64,
    pub max_pending: i64,
    pub rules: Vec<RawAlertRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlertRule {
    pub name: String,
    #[serde(default)]
    pub dispositions: Vec<String>,
    #[serde(default)]
    pub keyword_flags: Vec<String>,
    pub threshold: i64,
    pub window_s: i64,
    #[serde(default)]
    pub cooldown_s: i64,
    pub clear_at_or_below: Option<i64>,
}

/// Complaint alerting (`[alerts]`): off while `rules` is empty.
#[derive(Clone, PartialEq)]
pub struct AlertsConfig {
    /// Where raised and cleared alerts are POSTed as JSON (`https://ops.example.com/hotline`).
    pub webhook_url: Option<String>,
    /// The HMAC-SHA256 key of the `X-Hotline-Signature` header (required with a webhook URL).
    pub webhook_secret: String,
    /// How long one POST may take.
    pub webhook_timeout_ms: u64,
    /// Retries after a failed POST (5xx, timeout, refused), with doubling backoff; 4xx is final.
    pub max_retries: u32,
    /// Most alerts waiting for the webhook; more are dropped and counted.
    pub max_pending: usize,
    pub rules: Vec<AlertRuleConfig>,
}

impl std::fmt::Debug for AlertsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertsConfig")
            .field("webhook_url", &self.webhook_url.as_deref().map(crate::redact_url))
            .field("webhook_secret", &"<redacted>")
            .field("webhook_timeout_ms", &self.webhook_timeout_ms)
            .field("max_retries", &self.max_retries)
            .field("max_pending", &self.max_pending)
            .field("rules", &self.rules)
            .finish()
    }
}

/// One `[[alerts.rules]]`: raise when more than `threshold` contacts of one queue were marked
/// within `window_s` seconds, by a disposition in `dispositions` or a keyword-rule flag in
/// `keyword_flags`; clear at `clear_at_or_below` (default `threshold`); no second raise of the
/// same rule and queue within `cooldown_s` of the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRuleConfig {
    pub name: String,
    pub dispositions: Vec<ReasonCode>,
    pub keyword_flags: Vec<String>,
    pub threshold: u32,
    pub window_s: u64,
    pub cooldown_s: u64,
    pub clear_at_or_below: u32,
}

fn range(key: &str, value: i64, min: i64, max: i64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(u64::try_from(value).unwrap_or(0))
    } else {
        Err(bad(key.to_owned(), format!("{value} is out of range {min} to {max}")))
    }
}

pub fn alerts(raw: &RawAlerts) -> Result<AlertsConfig, ConfigError> {
    let url = raw.webhook_url.trim();
    let webhook_url = if url.is_empty() {
        None
    } else {
        match url.split_once("://") {
            Some(("http" | "https", rest)) if !rest.is_empty() && !rest.contains(char::is_whitespace) => {
                Some(url.to_owned())
            }
            _ => {
                let shown = crate::redact_url(url);
                return Err(bad("alerts.webhook_url", format!("{shown:?} is not an http or https URL")));
            }
        }
    };
    if webhook_url.is_some() && raw.webhook_secret.len() < 16 {
        return Err(bad("alerts.webhook_secret", "must be at least 16 bytes when alerts.webhook_url is set"));
    }
    if raw.rules.len() > MAX_ALERT_RULES {
        return Err(bad("alerts.rules", format!("lists {} rules; at most {MAX_ALERT_RULES}", raw.rules.len())));
    }
    let mut rules: Vec<AlertRuleConfig> = Vec::with_capacity(raw.rules.len());
    for (i, r) in raw.rules.iter().enumerate() {
        let rule = rule(i, r)?;
        if rules.iter().any(|o| o.name == rule.name) {
            return Err(bad(format!("alerts.rules[{i}].name"), format!("{:?} is used by another rule", rule.name)));
        }
        rules.push(rule);
    }
    Ok(AlertsConfig {
        webhook_url,
        webhook_secret: raw.webhook_secret.clone(),
        webhook_timeout_ms: range("alerts.webhook_timeout_ms", raw.webhook_timeout_ms, 100, 60_000)?,
        max_retries: u32::try_from(range("alerts.max_retries", raw.max_retries, 0, 20)?).unwrap_or(0),
        max_pending: usize::try_from(range("alerts.max_pending", raw.max_pending, 1, 100_000)?).unwrap_or(1),
        rules,
    })
}

fn rule(i: usize, r: &RawAlertRule) -> Result<AlertRuleConfig, ConfigError> {
    let key = |k: &str| format!("alerts.rules[{i}].{k}");
    let name = r.name.trim();
    if name.is_empty() || name.len() > MAX_RULE_NAME_BYTES || name.chars().any(char::is_control) {
        return Err(bad(key("name"), format!("{:?} must be 1 to {MAX_RULE_NAME_BYTES} bytes", r.name)));
    }
    if r.dispositions.is_empty() && r.keyword_flags.is_empty() {
        return Err(bad(key("dispositions"), "or keyword_flags must name at least one complaint mark"));
    }
    if r.dispositions.len() > MAX_MARKS_PER_RULE || r.keyword_flags.len() > MAX_MARKS_PER_RULE {
        return Err(bad(key("dispositions"), format!("and keyword_flags list at most {MAX_MARKS_PER_RULE} each")));
    }
    let dispositions = r
        .dispositions
        .iter()
        .map(|d| ReasonCode::parse(d).map_err(|e| bad(key("dispositions"), e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(f) = r.keyword_flags.iter().find(|f| f.trim().is_empty() || f.len() > MAX_RULE_NAME_BYTES) {
        return Err(bad(key("keyword_flags"), format!("{f:?} must be a keyword rule's name")));
    }
    let threshold = range(&key("threshold"), r.threshold, 1, MAX_THRESHOLD)?;
    let clear = match r.clear_at_or_below {
        Some(c) => range(&key("clear_at_or_below"), c, 0, i64::try_from(threshold).unwrap_or(MAX_THRESHOLD))?,
        None => threshold,
    };
    Ok(AlertRuleConfig {
        name: name.to_owned(),
        dispositions,
        keyword_flags: r.keyword_flags.clone(),
        threshold: u32::try_from(threshold).unwrap_or(u32::MAX),
        window_s: range(&key("window_s"), r.window_s, 1, MAX_WINDOW_S)?,
        cooldown_s: range(&key("cooldown_s"), r.cooldown_s, 0, MAX_WINDOW_S)?,
        clear_at_or_below: u32::try_from(clear).unwrap_or(u32::MAX),
    })
}
