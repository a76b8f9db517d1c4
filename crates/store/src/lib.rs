//! Hotline's storage: the schema, its migrations and the repositories of every entity of the
//! `model` crate, on SQLite (embedded default: a file in WAL mode), PostgreSQL and MySQL/MariaDB,
//! chosen by the URL's scheme (`sqlite://FILE`, `postgres://...`, `mysql://...`).
//!
//! What this crate owns and promises:
//! - **The only crate that uses a database library** (sqlx, through its `Any` driver). Everything
//!   else sees [`Store`], model entities and [`StoreError`]; no SQL type leaks out.
//! - **One SQL text per query** for the three backends, written with `?` placeholders and rewritten
//!   to `$n` for PostgreSQL in one place ([`Backend`]). Migrations are per dialect, embedded in the
//!   binary (`migrations/{sqlite,postgres,mysql}/NNNN_name.sql`).
//! - **Every query is org-scoped**: each repository function takes the [`model::OrgId`] and puts it
//!   in the `WHERE` clause (every index starts with `org_id`), so a row of another org is never
//!   returned, updated or counted, even when its id is known.
//! - **No partial migrations where the backend allows it**: on SQLite and PostgreSQL a migration and
//!   its version row commit together; MySQL commits DDL at once, so its migration files are
//!   re-runnable and a failure names the statement reached. A database migrated by a newer Hotline
//!   is refused ([`StoreError::NewerSchema`]) before anything is written. [`Store::connect`] never
//!   migrates; [`Store::migrate`] does, and is a no-op on an up-to-date database.
//! - **Stored values are parsed, never trusted**: rows become entities through the model's
//!   validated constructors; a value that no longer parses is [`StoreError::Corrupt`] naming the
//!   table and column, never a panic.
//! - **Errors never leak passwords**: URLs in errors are redacted (`postgres://u:***@host/db`) and
//!   driver messages are scrubbed of the password.
//! - **Bounded**: the pool holds at most [`ConnectOptions::max_connections`]; a page returns at
//!   most [`MAX_PAGE_SIZE`] rows; waits for a connection end after `connect_timeout_ms`.
//!
//! Storage conventions: ids are UUID text (`VARCHAR(36)`), times BIGINT unix milliseconds,
//! booleans SMALLINT 0/1, lists and maps JSON text, except where a lookup needs an index: a
//! customer's phones and emails live in child tables keyed by (org, value), so the IVR finds the
//! caller with one index probe. Phones and emails are unique per org; order numbers, usernames,
//! extensions, queue and skill names are unique per org, and breaking that is
//! [`StoreError::Conflict`].

mod backend;
mod error;
mod migrate;
mod page;
mod repo;
mod sql;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Connection, Executor};

pub use backend::Backend;
pub use error::StoreError;
pub use migrate::{LATEST_SCHEMA_VERSION, MigrationReport, SchemaStatus};
pub use page::{Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageOf};
pub use repo::aggregates::{
    AbandonedContact, INTERVAL_COUNT_COLUMNS, IntervalCounts, IntervalDimension, IntervalDimensionKind, IntervalLength,
    IntervalRow, MAX_IDS_PER_QUERY, MAX_INTERVAL_ROWS, ReportAgentChange, ReportBatch, ReportContact,
};
pub use repo::auth::{AuditRecord, MAX_AUDIT_PATH_CHARS, StoredApiToken, StoredSession};
pub use repo::business_hours::{
    BusinessCalendar, CalendarException, MAX_CALENDAR_EXCEPTIONS, MAX_CALENDAR_NAME_CHARS, MAX_CALENDAR_TEXT_CHARS,
    MAX_CALENDARS, MAX_ROUTE_TABLE_BYTES, RouteTable, is_calendar_name,
};
pub use repo::chat::{
    ChatAttachment, ChatAuthor, ChatConversation, ChatConversationState, ChatMessage, MAX_CHAT_MESSAGES_PER_READ,
    MAX_CHAT_NAME_CHARS, MAX_CHAT_ROWS_PER_BATCH, MAX_CHAT_TEXT_CHARS,
};
pub use repo::contacts::TimeRange;
pub use repo::customer_merges::{CustomerMerge, MAX_MERGE_TEXT_CHARS, MergeCounts};
pub use repo::customers::MAX_CUSTOMER_SEARCH_CHARS;
pub use repo::email::{
    AttachmentFate, EmailAttachment, EmailDirection, EmailMessage, MAX_EMAIL_ADDRESS_CHARS,
    MAX_EMAIL_ATTACHMENT_NAME_CHARS, MAX_EMAIL_ATTACHMENT_PATH_CHARS, MAX_EMAIL_ATTACHMENTS_PER_READ,
    MAX_EMAIL_BODY_CHARS, MAX_EMAIL_MESSAGE_ID_CHARS, MAX_EMAIL_MESSAGES_PER_READ, MAX_EMAIL_SUBJECT_CHARS,
};
pub use repo::live::{AgentPresence, MAX_LIVE_ROWS};
pub use repo::orders::MAX_ORDER_NUMBER_CHARS;
pub use repo::qa::{
    CalibrationSheet, EvaluationFilter, EvaluationStatus, MAX_EVALUATION_JSON_BYTES, MAX_QA_ROWS, MAX_SAMPLE_CONTACTS,
    MAX_SCORECARD_DEFINITION_BYTES, QaCandidate, SampleContact, StoredCalibration, StoredDispute, StoredEvaluation,
    StoredSample, StoredScorecard,
};
pub use repo::recording_retention::{LegalHold, MAX_HOLD_BY_CHARS, MAX_HOLD_REASON_CHARS};
pub use repo::sip_bindings::SipBinding;
pub use repo::social::{
    MAX_SOCIAL_FAILURE_REASON_CHARS, MAX_SOCIAL_MESSAGES_PER_READ, MAX_SOCIAL_PEER_ID_CHARS, MAX_SOCIAL_TEXT_CHARS,
    SocialDirection, SocialMessage, SocialStatus,
};
pub use repo::speech::{
    ContactSpeech, MAX_SPEECH_FLAG_CHARS, MAX_SPEECH_FLAGS, MAX_SPEECH_ROWS_PER_READ,
    MAX_UNANALYSED_RECORDINGS_PER_READ,
};
pub use repo::text_flags::{
    FlaggedText, MAX_TEXT_FLAG_KEYWORD_CHARS, MAX_TEXT_FLAG_RULE_CHARS, MAX_TEXT_FLAGS_PER_CONTACT, TextFlag,
};
pub use repo::transcripts::{
    MAX_FAILURE_REASON_CHARS, MAX_SEGMENT_TEXT_CHARS, MAX_SEGMENTS_PER_RECORDING, TranscriptSegment, TranscriptSpeaker,
    TranscriptionJob, TranscriptionStatus,
};

use backend::{DatabaseUrl, scrub};
use error::one_line;

/// How to open the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Most connections the pool opens (at least 1; an in-memory SQLite database uses exactly 1).
    pub max_connections: u32,
    /// How long to wait for a connection, at connect and on every later use.
    pub connect_timeout_ms: u64,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { max_connections: 10, connect_timeout_ms: 5_000 }
    }
}

/// SQLite settings applied to every connection: WAL so readers never block the writer, a busy
/// timeout so concurrent writers wait instead of failing, and a page cache of at most 64 MiB per
/// connection (SQLite's default 2 MiB re-reads index pages from the OS on every insert once the
/// contacts and report tables pass a few million rows).
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA cache_size = -65536",
];

/// SQLite settings of a bulk load into a database nobody else uses ([`Store::connect_bulk_load`]):
/// no rollback journal and no fsync (a crash or a failed statement mid-load leaves the file
/// unusable: load again), the file locked by the one connection for its life (its page cache
/// stays valid between transactions), and a page cache of up to 3 GiB so the random-key indexes
/// (FCR groups, customers) are written in memory rather than re-read from the OS on every insert.
const SQLITE_BULK_LOAD_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = OFF",
    "PRAGMA synchronous = OFF",
    "PRAGMA locking_mode = EXCLUSIVE",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -3145728",
];

/// A handle on the database: cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The URL with its password masked, for messages.
    url: Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).field("url", &self.url).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens a pool on `url` and checks that one connection works. Does not migrate. A SQLite file
    /// (and its folder) is created if missing. Any failure is [`StoreError::Unreachable`] with a
    /// one-line reason and the URL redacted.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Store, StoreError> {
        Self::connect_with(url, opts, SQLITE_PRAGMAS).await
    }

    /// [`Store::connect`] for a bulk load (the reports crate's volume generator): one connection,
    /// and on SQLite no journal, no fsync, an exclusive lock and a large page cache (see
    /// `SQLITE_BULK_LOAD_PRAGMAS`). Never for a database a server or another process uses; close
    /// this store before opening the database again.
    pub async fn connect_bulk_load(url: &str, connect_timeout_ms: u64) -> Result<Store, StoreError> {
        let opts = ConnectOptions { max_connections: 1, connect_timeout_ms };
        Self::connect_with(url, &opts, SQLITE_BULK_LOAD_PRAGMAS).await
    }

    async fn connect_with(
        url: &str,
        opts: &ConnectOptions,
        sqlite_pragmas: &'static [&'static str],
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let parsed = DatabaseUrl::parse(url)?;
        let unreachable = |reason: String| StoreError::Unreachable { url: parsed.redacted.clone(), reason };
        if let Some(parent) = parsed.sqlite_file.as_deref().and_then(std::path::Path::parent)
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| unreachable(format!("cannot create the folder {}: {e}", parent.display())))?;
        }
        // One direct connection first: the pool would retry a refused connection until its
        // timeout and then report only "timed out"; this gives the real reason at once.
        let timeout = Duration::from_millis(opts.connect_timeout_ms.max(1));
        match tokio::time::timeout(timeout, sqlx::AnyConnection::connect(&parsed.connect)).await {
            Err(_) => return Err(unreachable(format!("no answer within {} ms", opts.connect_timeout_ms))),
            Ok(Err(e)) => return Err(unreachable(scrub(&describe_connect_error(&e, opts), url))),
            Ok(Ok(probe)) => {
                let _ = probe.close().await;
            }
        }
        let backend = parsed.backend;
        // An in-memory SQLite database lives as long as its one connection: never let it go.
        let in_memory = backend == Backend::Sqlite && parsed.sqlite_file.is_none();
        let pool = AnyPoolOptions::new()
            .max_connections(if in_memory { 1 } else { opts.max_connections.max(1) })
            .min_connections(u32::from(in_memory))
            .idle_timeout((!in_memory).then_some(Duration::from_secs(600)))
            .max_lifetime((!in_memory).then_some(Duration::from_secs(1800)))
            .acquire_timeout(timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in sqlite_pragmas {
                            conn.execute(*pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&parsed.connect)
            .await
            .map_err(|e| unreachable(scrub(&describe_connect_error(&e, opts), url)))?;
        Ok(Store { pool, backend, url: Arc::from(parsed.redacted.as_str()) })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with its password masked.
    pub fn redacted_url(&self) -> &str {
        &self.url
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.execute("SELECT 1").await.map(drop).map_err(|e| StoreError::from_query("ping", e))
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) async fn conn(&self) -> Result<PoolConnection<Any>, StoreError> {
        self.pool.acquire().await.map_err(|e| {
            StoreError::Database(format!("no database connection ({}): {}", self.url, one_line(&e.to_string())))
        })
    }
}

fn describe_connect_error(err: &sqlx::Error, opts: &ConnectOptions) -> String {
    match err {
        sqlx::Error::PoolTimedOut => format!("no answer within {} ms", opts.connect_timeout_ms),
        sqlx::Error::Io(io) => one_line(&io.to_string()),
        sqlx::Error::Database(db) => one_line(db.message()),
        sqlx::Error::Configuration(c) => format!("bad URL: {}", one_line(&c.to_string())),
        other => one_line(&other.to_string()),
    }
}
