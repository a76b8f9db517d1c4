//! `[social]`: social messaging channels. The WeChat official account's callback (`wechat_token`;
//! `/wechat/callback` is off while it is empty) and its customer-service API for agents' replies
//! (`wechat_app_id`, `wechat_app_secret`, `wechat_api_base`); Weibo pushes at `/webhooks/weibo`
//! (`weibo_secret`) answered through its API (`weibo_access_token`, `weibo_api_base`); a generic
//! signed webhook channel at `/webhooks/{webhook_name}` (`webhook_secret`) answered by signed POSTs
//! to `webhook_reply_url`. Limits: `max_body_bytes`, `max_messages_per_sender_per_minute`, and the
//! replies' retry schedule (`reply_max_attempts`, `reply_initial_backoff_ms`, `reply_max_backoff_ms`)
//! and how old a reply left queued by a stop may be and still be sent at the next start (`max_reply_age_ms`).

use serde::Deserialize;

use crate::ConfigError;
use crate::validate::bad;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSocial {
    pub wechat_token: String,
    pub entry_point: String,
    pub max_clock_skew_ms: i64,
    pub wechat_app_id: String,
    pub wechat_app_secret: String,
    pub wechat_api_base: String,
    pub wechat_welcome: String,
    pub weibo_secret: String,
    pub weibo_access_token: String,
    pub weibo_api_base: String,
    pub webhook_name: String,
    pub webhook_secret: String,
    pub webhook_reply_url: String,
    pub max_body_bytes: i64,
    pub max_messages_per_sender_per_minute: i64,
    pub reply_max_attempts: i64,
    pub reply_initial_backoff_ms: i64,
    pub reply_max_backoff_ms: i64,
    pub max_reply_age_ms: i64,
}

impl std::fmt::Debug for RawSocial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSocial").field("wechat_token", &"<redacted>").finish_non_exhaustive()
    }
}

/// The WeChat customer-service message API (agents' replies): on when app id and secret are set.
#[derive(Clone, PartialEq, Eq)]
pub struct WeChatApiConfig {
    pub app_id: String,
    pub app_secret: String,
    /// `https://api.weixin.qq.com`; tests point it at a local server.
    pub api_base: String,
}

/// Weibo private messages: pushes verified with `secret` (webhook shape), replies through the API.
#[derive(Clone, PartialEq, Eq)]
pub struct WeiboConfig {
    pub secret: String,
    /// Empty: inbound only, replies fail with a reason.
    pub access_token: String,
    pub api_base: String,
}

/// The generic webhook channel at `/webhooks/{name}`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookChannelConfig {
    pub name: String,
    pub secret: String,
    /// Where agents' replies are POSTed, signed; `None`: inbound only.
    pub reply_url: Option<String>,
}

/// The replies' retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocialRetry {
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

/// `[social]`, validated. The token never appears in `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SocialConfig {
    /// The token set in the WeChat admin console; `None` (callback off) while empty.
    pub wechat_token: Option<String>,
    /// The route table's entry point social contacts enter at.
    pub entry_point: String,
    /// How far a callback's timestamp may be from our clock.
    pub max_clock_skew_ms: u64,
    pub wechat_api: Option<WeChatApiConfig>,
    /// The passive reply to a follow (subscribe event); `None`: no reply.
    pub wechat_welcome: Option<String>,
    pub weibo: Option<WeiboConfig>,
    pub webhook: Option<WebhookChannelConfig>,
    /// Largest inbound webhook or Weibo push body.
    pub max_body_bytes: usize,
    /// Messages one sender may deliver per minute before `429`.
    pub max_messages_per_sender_per_minute: u32,
    pub retry: SocialRetry,
    /// A reply still queued at start-up older than this is marked failed instead of sent.
    pub max_reply_age_ms: u64,
}

impl std::fmt::Debug for SocialConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocialConfig")
            .field("wechat_token", &self.wechat_token.as_ref().map(|_| "<redacted>"))
            .field("entry_point", &self.entry_point)
            .field("max_clock_skew_ms", &self.max_clock_skew_ms)
            .field("wechat_api", &self.wechat_api.as_ref().map(|a| (&a.app_id, &a.api_base, "<secret redacted>")))
            .field("weibo", &self.weibo.as_ref().map(|w| (&w.api_base, "<secret redacted>")))
            .field("webhook", &self.webhook.as_ref().map(|w| (&w.name, &w.reply_url, "<secret redacted>")))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_messages_per_sender_per_minute", &self.max_messages_per_sender_per_minute)
            .field("retry", &self.retry)
            .field("max_reply_age_ms", &self.max_reply_age_ms)
            .finish()
    }
}

pub fn social(raw: &RawSocial) -> Result<SocialConfig, ConfigError> {
    let token = raw.wechat_token.trim();
    // WeChat's console accepts 3 to 32 letters and digits.
    if !token.is_empty() && !(3..=32).contains(&token.len()) || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad("social.wechat_token", "must be 3 to 32 letters or digits (as set in the WeChat console)"));
    }
    let entry_point = raw.entry_point.trim();
    if entry_point.is_empty() {
        return Err(bad("social.entry_point", "must name an entry point of the route table"));
    }
    if !(1_000..=3_600_000).contains(&raw.max_clock_skew_ms) {
        return Err(bad(
            "social.max_clock_skew_ms",
            format!("{} is out of range 1000 to 3600000", raw.max_clock_skew_ms),
        ));
    }
    Ok(SocialConfig {
        wechat_token: (!token.is_empty()).then(|| token.to_owned()),
        entry_point: entry_point.to_owned(),
        max_clock_skew_ms: u64::try_from(raw.max_clock_skew_ms).unwrap_or(300_000),
        wechat_api: wechat_api(raw)?,
        wechat_welcome: wechat_welcome(&raw.wechat_welcome)?,
        weibo: weibo(raw)?,
        webhook: webhook(raw)?,
        max_body_bytes: usize::try_from(ranged("social.max_body_bytes", raw.max_body_bytes, 1_024, 16 << 20)?)
            .unwrap_or(65_536),
        max_messages_per_sender_per_minute: u32::try_from(ranged(
            "social.max_messages_per_sender_per_minute",
            raw.max_messages_per_sender_per_minute,
            1,
            10_000,
        )?)
        .unwrap_or(20),
        retry: retry(raw)?,
        max_reply_age_ms: ranged("social.max_reply_age_ms", raw.max_reply_age_ms, 1_000, 2_592_000_000)?,
    })
}

fn ranged(key: &str, value: i64, min: i64, max: i64) -> Result<u64, ConfigError> {
    if !(min..=max).contains(&value) {
        return Err(bad(key, format!("{value} is out of range {min} to {max}")));
    }
    Ok(u64::try_from(value).unwrap_or(0))
}

/// An `http://` or `https://` URL without a trailing slash.
fn base_url(key: &str, value: &str) -> Result<String, ConfigError> {
    let v = value.trim().trim_end_matches('/');
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
    if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
        return Err(bad(key, "must be an http:// or https:// URL"));
    }
    Ok(v.to_owned())
}

/// Longest welcome text, in characters (WeChat shows up to 2,048 bytes of a text reply).
pub const MAX_WECHAT_WELCOME_CHARS: usize = 600;

fn wechat_welcome(text: &str) -> Result<Option<String>, ConfigError> {
    let text = text.trim();
    if text.chars().count() > MAX_WECHAT_WELCOME_CHARS {
        return Err(bad("social.wechat_welcome", format!("is longer than {MAX_WECHAT_WELCOME_CHARS} characters")));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

fn wechat_api(raw: &RawSocial) -> Result<Option<WeChatApiConfig>, ConfigError> {
    let (id, secret) = (raw.wechat_app_id.trim(), raw.wechat_app_secret.trim());
    match (id.is_empty(), secret.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Ok(Some(WeChatApiConfig {
            app_id: id.to_owned(),
            app_secret: secret.to_owned(),
            api_base: base_url("social.wechat_api_base", &raw.wechat_api_base)?,
        })),
        (true, false) => Err(bad("social.wechat_app_id", "must be set with social.wechat_app_secret")),
        (false, true) => Err(bad("social.wechat_app_secret", "must be set with social.wechat_app_id")),
    }
}

fn weibo(raw: &RawSocial) -> Result<Option<WeiboConfig>, ConfigError> {
    let secret = raw.weibo_secret.trim();
    if secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(WeiboConfig {
        secret: secret.to_owned(),
        access_token: raw.weibo_access_token.trim().to_owned(),
        api_base: base_url("social.weibo_api_base", &raw.weibo_api_base)?,
    }))
}

fn webhook(raw: &RawSocial) -> Result<Option<WebhookChannelConfig>, ConfigError> {
    let secret = raw.webhook_secret.trim();
    if secret.is_empty() {
        return Ok(None);
    }
    let name = raw.webhook_name.trim();
    let name_ok = (1..=32).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name != "weibo";
    if !name_ok {
        return Err(bad("social.webhook_name", "must be 1 to 32 of a-z, 0-9 and - (and not weibo)"));
    }
    let url = raw.webhook_reply_url.trim();
    let reply_url = if url.is_empty() { None } else { Some(base_url("social.webhook_reply_url", url)?) };
    Ok(Some(WebhookChannelConfig { name: name.to_owned(), secret: secret.to_owned(), reply_url }))
}

fn retry(raw: &RawSocial) -> Result<SocialRetry, ConfigError> {
    let max_attempts = ranged("social.reply_max_attempts", raw.reply_max_attempts, 1, 100)?;
    let initial = ranged("social.reply_initial_backoff_ms", raw.reply_initial_backoff_ms, 1, 3_600_000)?;
    let max = ranged("social.reply_max_backoff_ms", raw.reply_max_backoff_ms, 1, 86_400_000)?;
    if max < initial {
        return Err(bad("social.reply_max_backoff_ms", "must not be below social.reply_initial_backoff_ms"));
    }
    Ok(SocialRetry {
        max_attempts: u32::try_from(max_attempts).unwrap_or(5),
        initial_backoff_ms: initial,
        max_backoff_ms: max,
    })
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

    #[test]
    fn wechat_callback_is_off_by_default_and_its_token_never_prints() {
        assert_eq!(load_text("").unwrap().social.wechat_token, None);
        let on = load_text("[social]\nwechat_token = \"hotlineToken42\"\n").unwrap().social;
        assert_eq!(on.wechat_token.as_deref(), Some("hotlineToken42"));
        assert!(!format!("{on:?}").contains("hotlineToken42"));
        let err = load_text("[social]\nwechat_token = \"bad token!\"\n").unwrap_err();
        assert!(err.to_string().starts_with("social.wechat_token:"), "{err}");
    }

    #[test]
    fn reply_channels_need_their_credentials_and_secrets_never_print() {
        let off = load_text("").unwrap().social;
        assert_eq!((off.wechat_api.is_some(), off.weibo.is_some(), off.webhook.is_some()), (false, false, false));
        let on = load_text(
            "[social]\nwechat_app_id = \"wx42\"\nwechat_app_secret = \"appSecret42\"\n\
             wechat_api_base = \"http://127.0.0.1:9/\"\nwebhook_secret = \"hookSecret42\"\n\
             webhook_reply_url = \"http://127.0.0.1:9/out\"\n",
        )
        .unwrap()
        .social;
        assert_eq!(on.wechat_api.as_ref().map(|a| a.api_base.as_str()), Some("http://127.0.0.1:9"));
        assert_eq!(on.webhook.as_ref().map(|w| w.name.as_str()), Some("webhook"));
        let printed = format!("{on:?}");
        assert!(!printed.contains("appSecret42") && !printed.contains("hookSecret42"), "{printed}");
        let err = load_text("[social]\nwechat_app_id = \"wx42\"\n").unwrap_err();
        assert!(err.to_string().starts_with("social.wechat_app_secret:"), "{err}");
        let err = load_text("[social]\nreply_max_attempts = 0\n").unwrap_err();
        assert!(err.to_string().starts_with("social.reply_max_attempts:"), "{err}");
        assert_eq!(load_text("").unwrap().social.max_reply_age_ms, 172_800_000);
        let err = load_text("[social]\nmax_reply_age_ms = 0\n").unwrap_err();
        assert!(err.to_string().starts_with("social.max_reply_age_ms:"), "{err}");
    }

    #[test]
    fn the_follow_welcome_has_a_bilingual_default_can_be_turned_off_and_is_bounded() {
        let default = load_text("").unwrap().social.wechat_welcome.unwrap();
        assert!(default.contains("欢迎关注") && default.contains("thanks for following"), "{default}");
        assert_eq!(load_text("[social]\nwechat_welcome = \"\"\n").unwrap().social.wechat_welcome, None);
        let long = "欢".repeat(super::MAX_WECHAT_WELCOME_CHARS + 1);
        let err = load_text(&format!("[social]\nwechat_welcome = \"{long}\"\n")).unwrap_err();
        assert!(err.to_string().starts_with("social.wechat_welcome:"), "{err}");
    }
}
