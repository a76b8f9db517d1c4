//! Which database a URL names, how to show that URL without its password, and how to turn the
//! store's one SQL text (with `?` placeholders) into each dialect's. Never prints a password.

use std::borrow::Cow;
use std::fmt;

use crate::error::StoreError;

/// The database behind a [`crate::Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded, a file (WAL mode); the default.
    Sqlite,
    Postgres,
    /// MySQL 8 or MariaDB 10.5+.
    MySql,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    pub const fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// Whether DDL runs inside a transaction (so a failed migration leaves nothing behind).
    pub const fn has_transactional_ddl(self) -> bool {
        !matches!(self, Backend::MySql)
    }

    /// Rewrites `?` placeholders as `$1, $2, ...` for PostgreSQL. The store's SQL never has a `?`
    /// inside a string literal, so a plain scan is enough.
    pub(crate) fn adapt<'a>(self, sql: &'a str) -> Cow<'a, str> {
        if self != Backend::Postgres || !sql.contains('?') {
            return Cow::Borrowed(sql);
        }
        let mut out = String::with_capacity(sql.len() + 16);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A database URL that has been checked for a known scheme, with its redacted form for messages.
#[derive(Debug, Clone)]
pub(crate) struct DatabaseUrl {
    pub backend: Backend,
    /// What the driver gets (for SQLite, with `mode=rwc` added so the file is created).
    pub connect: String,
    /// What people see: the password replaced by `***`.
    pub redacted: String,
    /// The SQLite file, when the URL names one (not `:memory:`).
    pub sqlite_file: Option<std::path::PathBuf>,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let redacted = redact(url);
        let unreachable = |reason: String| StoreError::Unreachable { url: redacted.clone(), reason };
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase()).unwrap_or_default();
        let backend = match scheme.as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::MySql,
            "" => return Err(unreachable("not a URL; use sqlite://FILE, postgres://... or mysql://...".into())),
            other => {
                return Err(unreachable(format!(
                    "the scheme {other:?} is not supported; use sqlite://FILE, postgres://... or mysql://..."
                )));
            }
        };
        match backend {
            Backend::Sqlite => Self::sqlite(url, redacted),
            _ => {
                let mut parsed = url::Url::parse(url).map_err(|e| unreachable(format!("not a valid URL ({e})")))?;
                if parsed.host_str().is_none_or(str::is_empty) {
                    return Err(unreachable("the URL has no host".into()));
                }
                if backend == Backend::MySql && parsed.scheme() == "mariadb" {
                    // The driver knows only `mysql:`; MariaDB speaks the same protocol.
                    let rest = &url[url.find(':').unwrap_or(0)..];
                    parsed = url::Url::parse(&format!("mysql{rest}"))
                        .map_err(|e| unreachable(format!("not a valid URL ({e})")))?;
                }
                Ok(Self { backend, connect: parsed.to_string(), redacted, sqlite_file: None })
            }
        }
    }

    fn sqlite(url: &str, redacted: String) -> Result<Self, StoreError> {
        let rest = url.split_once(':').map(|(_, r)| r).unwrap_or_default();
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err(StoreError::Unreachable {
                url: redacted,
                reason: "the URL names no file; use sqlite://FILE".into(),
            });
        }
        let in_memory = path == ":memory:";
        let mut connect = url.to_owned();
        if !in_memory && !query.split('&').any(|kv| kv.starts_with("mode=")) {
            connect.push(if query.is_empty() { '?' } else { '&' });
            connect.push_str("mode=rwc");
        }
        let sqlite_file = (!in_memory).then(|| std::path::PathBuf::from(path));
        Ok(Self { backend: Backend::Sqlite, connect, redacted, sqlite_file })
    }
}

/// The URL with any password replaced by `***`. Works on text that does not parse as a URL too,
/// by masking whatever sits between `user:` and `@`.
pub(crate) fn redact(url: &str) -> String {
    if let Ok(mut parsed) = url::Url::parse(url)
        && parsed.password().is_some()
        && parsed.set_password(Some("***")).is_ok()
    {
        return parsed.to_string();
    }
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start + 3 => {
            let userinfo = &url[start + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..start + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Removes the password (and its redacted form's source) from a driver message, should a driver
/// ever echo it.
pub(crate) fn scrub(message: &str, url: &str) -> String {
    let password = url::Url::parse(url).ok().and_then(|u| u.password().map(str::to_owned));
    match password {
        Some(p) if !p.is_empty() => message.replace(&p, "***"),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered() {
        assert_eq!(Backend::Postgres.adapt("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(Backend::MySql.adapt("a = ?"), "a = ?");
    }

    #[test]
    fn passwords_never_reach_the_redacted_url() {
        assert_eq!(redact("postgres://bob:s3cret@db:5432/x"), "postgres://bob:***@db:5432/x");
        assert_eq!(redact("mysql://root@127.0.0.1/test"), "mysql://root@127.0.0.1/test");
        assert!(!redact("weird://bob:s3cret@[::bad").contains("s3cret"));
        assert_eq!(scrub("auth failed for s3cret", "postgres://bob:s3cret@db/x"), "auth failed for ***");
    }

    #[test]
    fn sqlite_files_are_created_on_connect() {
        let u = DatabaseUrl::parse("sqlite:///tmp/x.db").expect("valid");
        assert_eq!(u.connect, "sqlite:///tmp/x.db?mode=rwc");
        assert_eq!(u.sqlite_file.as_deref(), Some(std::path::Path::new("/tmp/x.db")));
        let u = DatabaseUrl::parse("sqlite://data/h.db?mode=ro").expect("valid");
        assert_eq!(u.connect, "sqlite://data/h.db?mode=ro");
    }

    #[test]
    fn unknown_scheme_is_unreachable_with_a_reason() {
        let err = DatabaseUrl::parse("oracle://u:pw@h/db").expect_err("unsupported");
        let text = err.to_string();
        assert!(text.contains("\"oracle\" is not supported"), "{text}");
        assert!(!text.contains("pw@"), "{text}");
    }
}
