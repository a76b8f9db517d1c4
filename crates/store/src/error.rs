//! The one error type of the store. Messages are single lines a person can act on, and never
//! carry a password: connection strings are redacted before they reach an error.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or the URL is not usable (bad scheme, bad syntax,
    /// refused connection, failed authentication, timeout). `url` is redacted.
    #[error("database {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },

    /// The database was migrated by a newer Hotline; nothing was written.
    #[error(
        "database schema is at version {found}, newer than this Hotline supports ({supported}); \
         upgrade Hotline or use another database (nothing was changed)"
    )]
    NewerSchema { found: u32, supported: u32 },

    /// A migration failed. On SQLite and PostgreSQL it was rolled back whole; on MySQL, where DDL
    /// commits itself, the statements before `statement` stay applied and re-running `migrate`
    /// resumes (every statement is written to be re-runnable).
    #[error("migration {version} ({name}) failed at statement {statement}: {reason}")]
    Migration { version: u32, name: &'static str, statement: usize, reason: String },

    /// No row of this org with this id or key.
    #[error("{what} {key} not found")]
    NotFound { what: &'static str, key: String },

    /// A unique rule was broken: the id, or a key such as the username, extension or order number,
    /// is already taken in this org.
    #[error("{what} conflicts with an existing one: {detail}")]
    Conflict { what: &'static str, detail: String },

    /// A stored value no longer parses into the model's types (edited by hand, or written by a
    /// buggy version). `what` names the table and column.
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },

    /// An argument the caller passed cannot be used (a malformed pagination cursor, a value out of
    /// the range a column holds).
    #[error("invalid {what}: {reason}")]
    InvalidInput { what: &'static str, reason: String },

    /// The database gave up on the statement because of contention (deadlock, serialization
    /// failure, a locked SQLite file past its busy timeout); running it again may succeed.
    #[error("database busy: {0}")]
    Busy(String),

    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    /// Maps a driver error met while running a query on `what` (an entity name).
    pub(crate) fn from_query(what: &'static str, err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Conflict { what, detail: one_line(db.message()) }
            }
            sqlx::Error::Database(db) if is_contention(db.code().as_deref()) => Self::Busy(one_line(db.message())),
            sqlx::Error::Database(db) => Self::Database(one_line(db.message())),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                Self::Database(format!("lost the connection while working on {what}: {}", one_line(&err.to_string())))
            }
            sqlx::Error::ColumnDecode { index, source } => {
                Self::Corrupt { what: format!("{what}.{index}"), reason: one_line(&source.to_string()) }
            }
            _ => Self::Database(one_line(&err.to_string())),
        }
    }
}

/// SQLSTATE 40001 (serialization failure, MySQL deadlock), 40P01 (PostgreSQL deadlock), and
/// SQLite's BUSY / LOCKED result codes (primary and extended).
fn is_contention(code: Option<&str>) -> bool {
    matches!(code, Some("40001" | "40P01" | "5" | "6" | "261" | "262" | "517"))
}

/// Error texts of drivers sometimes span lines; keep the first, bounded.
pub(crate) fn one_line(s: &str) -> String {
    const MAX_ERROR_CHARS: usize = 300;
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_ERROR_CHARS)
        .collect()
}
