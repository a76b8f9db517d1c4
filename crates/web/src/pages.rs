//! The browser pages: the agent desktop (`/desktop`), the supervisor wallboard (`/wallboard`),
//! the reports (`/reports`), the recordings library (`/recordings`) and the admin pages (`/admin`), each a small server-sent HTML shell plus vanilla JavaScript
//! and CSS from `static/`, compiled into the binary with `include_bytes!` — no CDN, no build
//! step, no network beyond this server. Every UI string exists in zh-CN and English
//! (`static/i18n.js`; a test checks both languages have the same keys).
//!
//! The pages are public shells: they hold no data. Everything they show comes from the API
//! after sign-in, under the same rules as any other client (the guard, CSRF token, role rules).
//! Responses carry a Content-Security-Policy that allows only this origin (no inline script, no
//! framing).
//!
//! Never: serve a file that is not in [`ASSETS`] (the asset name is looked up, never joined to
//! a path).

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::problem::Problem;

/// A file the pages load: name under `/assets/`, media type, bytes.
pub(crate) struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $ct:literal) => {
        Asset { name: $name, content_type: $ct, bytes: include_bytes!(concat!("../static/", $name)) }
    };
}

pub(crate) const ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("i18n.js", "text/javascript; charset=utf-8"),
    asset!("common.js", "text/javascript; charset=utf-8"),
    asset!("desktop.js", "text/javascript; charset=utf-8"),
    asset!("wallboard.js", "text/javascript; charset=utf-8"),
    asset!("admin.js", "text/javascript; charset=utf-8"),
    asset!("reports.js", "text/javascript; charset=utf-8"),
    asset!("recordings.js", "text/javascript; charset=utf-8"),
    asset!("qa.js", "text/javascript; charset=utf-8"),
    asset!("logo.svg", "image/svg+xml"),
];

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; media-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn with_headers(mut resp: Response, content_type: &'static str) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

/// The HTML shell of a page: the common frame with the page's script.
fn shell(page: &'static str, title_key: &'static str) -> Response {
    let html = include_str!("../static/shell.html").replace("{{PAGE}}", page).replace("{{TITLE_KEY}}", title_key);
    with_headers(html.into_response(), "text/html; charset=utf-8")
}

pub(crate) async fn home() -> Redirect {
    Redirect::to("/desktop")
}

pub(crate) async fn desktop() -> Response {
    shell("desktop", "title.desktop")
}

pub(crate) async fn wallboard() -> Response {
    shell("wallboard", "title.wallboard")
}

pub(crate) async fn admin() -> Response {
    shell("admin", "title.admin")
}

pub(crate) async fn reports() -> Response {
    shell("reports", "title.reports")
}

pub(crate) async fn recordings() -> Response {
    shell("recordings", "title.recordings")
}

pub(crate) async fn qa() -> Response {
    shell("qa", "title.qa")
}

pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => with_headers(a.bytes.into_response(), a.content_type),
        None => Problem::not_found("asset").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of one language's table in i18n.js (`  key: "text",` lines between markers).
    fn keys(lang: &str) -> Vec<String> {
        let js = include_str!("../static/i18n.js");
        let start = js.find(&format!("// <{lang}>")).expect("language start marker");
        let end = js.find(&format!("// </{lang}>")).expect("language end marker");
        let mut keys: Vec<String> = js[start..end]
            .lines()
            .filter_map(|l| l.trim().strip_prefix('"').and_then(|r| r.split_once('"')).map(|(k, _)| k.to_owned()))
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn every_ui_string_exists_in_both_languages() {
        let (zh, en) = (keys("zh-CN"), keys("en"));
        assert!(zh.len() > 100, "only {} zh-CN strings found", zh.len());
        assert_eq!(zh, en);
    }

    #[test]
    fn every_key_the_pages_use_is_translated() {
        let known = keys("en");
        let sources = [
            include_str!("../static/shell.html"),
            include_str!("../static/common.js"),
            include_str!("../static/desktop.js"),
            include_str!("../static/wallboard.js"),
            include_str!("../static/admin.js"),
            include_str!("../static/reports.js"),
            include_str!("../static/recordings.js"),
            include_str!("../static/qa.js"),
        ];
        for src in sources {
            for key in used_keys(src) {
                assert!(known.contains(&key), "{key:?} used but not translated");
            }
        }
    }

    /// Literal keys in `data-i18n="..."`, `data-i18n-placeholder="..."` and `t("...")` calls
    /// (`HL.t(` too, but not `split(` and friends); keys built at run time are skipped.
    fn used_keys(src: &str) -> Vec<String> {
        let mut out = Vec::new();
        for pattern in ["data-i18n=\"", "data-i18n-placeholder=\"", "t(\""] {
            let mut from = 0;
            while let Some(i) = src[from..].find(pattern) {
                let at = from + i;
                from = at + pattern.len();
                let before = src[..at].chars().next_back().unwrap_or(' ');
                if pattern == "t(\"" && (before.is_alphanumeric() || before == '_') {
                    continue;
                }
                let key = src[from..].split('"').next().unwrap_or("");
                if !key.contains('$') && !key.contains('{') && !key.ends_with('.') {
                    out.push(key.to_owned());
                }
            }
        }
        out
    }

    #[test]
    fn assets_are_served_only_by_name() {
        assert!(ASSETS.iter().all(|a| !a.name.contains('/') && !a.bytes.is_empty()));
    }
}
