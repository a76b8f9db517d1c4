//! `[social]`: social messaging channels. So far the WeChat official account's callback
//! (`wechat_token`; the callback at `/wechat/callback` is off while it is empty).

use serde::Deserialize;

use crate::ConfigError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSocial {
    pub wechat_token: String,
    pub entry_point: String,
    pub max_clock_skew_ms: i64,
}

impl std::fmt::Debug for RawSocial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSocial").field("wechat_token", &"<redacted>").finish_non_exhaustive()
    }
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
}

impl std::fmt::Debug for SocialConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocialConfig")
            .field("wechat_token", &self.wechat_token.as_ref().map(|_| "<redacted>"))
            .field("entry_point", &self.entry_point)
            .field("max_clock_skew_ms", &self.max_clock_skew_ms)
            .finish()
    }
}

fn bad(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Key { key: key.to_owned(), problem: problem.into() }
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
}
