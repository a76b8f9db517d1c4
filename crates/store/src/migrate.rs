//! The store's own migrator. Migrations are SQL files embedded per dialect
//! (`migrations/{sqlite,postgres,mysql}/NNNN_name.sql`); the `hotline_schema_version` table records
//! which ran (version, name, applied_at_ms).
//!
//! Rules this module keeps:
//! - the version is read first, with no write of any kind: a database migrated by a newer Hotline
//!   is refused with [`StoreError::NewerSchema`] before anything is created or changed;
//! - on SQLite and PostgreSQL each migration runs in one transaction with its version row, so it is
//!   applied whole or not at all; MySQL commits DDL at once, so its files are written to be
//!   re-runnable (`IF NOT EXISTS`, indexes inline) and a failure names the statement reached;
//! - migrating an up-to-date database writes nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{AnyConnection, Executor};

use crate::Store;
use crate::backend::Backend;
use crate::error::{StoreError, one_line};
use crate::sql::{self, RowReader, Value};

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub(crate) sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $file_prefix:literal, $name:literal, $dialect:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $dialect, "/", $file_prefix, "_", $name, ".sql")),
        }
    };
}

const SQLITE: &[Migration] = &[
    migration!(1, "0001", "initial", "sqlite"),
    migration!(2, "0002", "auth", "sqlite"),
    migration!(3, "0003", "sip_bindings", "sqlite"),
    migration!(4, "0004", "center", "sqlite"),
    migration!(5, "0005", "aggregates", "sqlite"),
    migration!(6, "0006", "transcripts", "sqlite"),
    migration!(7, "0007", "qa", "sqlite"),
    migration!(8, "0008", "chat", "sqlite"),
    migration!(9, "0009", "email", "sqlite"),
    migration!(10, "0010", "speech", "sqlite"),
    migration!(11, "0011", "business_hours", "sqlite"),
    migration!(12, "0012", "email_attachments", "sqlite"),
    migration!(14, "0014", "social", "sqlite"),
    migration!(15, "0015", "customer_merges", "sqlite"),
    migration!(16, "0016", "text_flags", "sqlite"),
];
const POSTGRES: &[Migration] = &[
    migration!(1, "0001", "initial", "postgres"),
    migration!(2, "0002", "auth", "postgres"),
    migration!(3, "0003", "sip_bindings", "postgres"),
    migration!(4, "0004", "center", "postgres"),
    migration!(5, "0005", "aggregates", "postgres"),
    migration!(6, "0006", "transcripts", "postgres"),
    migration!(7, "0007", "qa", "postgres"),
    migration!(8, "0008", "chat", "postgres"),
    migration!(9, "0009", "email", "postgres"),
    migration!(10, "0010", "speech", "postgres"),
    migration!(11, "0011", "business_hours", "postgres"),
    migration!(12, "0012", "email_attachments", "postgres"),
    migration!(14, "0014", "social", "postgres"),
    migration!(15, "0015", "customer_merges", "postgres"),
    migration!(16, "0016", "text_flags", "postgres"),
];
const MYSQL: &[Migration] = &[
    migration!(1, "0001", "initial", "mysql"),
    migration!(2, "0002", "auth", "mysql"),
    migration!(3, "0003", "sip_bindings", "mysql"),
    migration!(4, "0004", "center", "mysql"),
    migration!(5, "0005", "aggregates", "mysql"),
    migration!(6, "0006", "transcripts", "mysql"),
    migration!(7, "0007", "qa", "mysql"),
    migration!(8, "0008", "chat", "mysql"),
    migration!(9, "0009", "email", "mysql"),
    migration!(10, "0010", "speech", "mysql"),
    migration!(11, "0011", "business_hours", "mysql"),
    migration!(12, "0012", "email_attachments", "mysql"),
    migration!(14, "0014", "social", "mysql"),
    migration!(15, "0015", "customer_merges", "mysql"),
    migration!(16, "0016", "text_flags", "mysql"),
];

/// The newest schema version this build knows.
pub const LATEST_SCHEMA_VERSION: u32 = 16;

const VERSION_TABLE: &str = "hotline_schema_version";

pub(crate) fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
        Backend::MySql => MYSQL,
    }
}

fn version_table_ddl(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "CREATE TABLE IF NOT EXISTS hotline_schema_version (version INTEGER PRIMARY KEY, \
             name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)"
        }
        Backend::Postgres => {
            "CREATE TABLE IF NOT EXISTS hotline_schema_version (version BIGINT PRIMARY KEY, \
             name VARCHAR(200) NOT NULL, applied_at_ms BIGINT NOT NULL)"
        }
        Backend::MySql => {
            "CREATE TABLE IF NOT EXISTS hotline_schema_version (version BIGINT PRIMARY KEY, \
             name VARCHAR(200) NOT NULL, applied_at_ms BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        }
    }
}

/// Where the schema stands, for `/readyz`: ready when `current == latest_known`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    pub current: u32,
    pub latest_known: u32,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.current == self.latest_known
    }
}

/// What one `migrate` call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub from: u32,
    pub to: u32,
    /// (version, name) of each migration applied now, in order; empty when already current.
    pub applied: Vec<(u32, &'static str)>,
}

/// Splits a migration file into statements: they end with `;` at the end of a line; `--` lines are
/// comments.
pub(crate) fn statements(sql: &str) -> Vec<String> {
    sql.split(";\n")
        .map(|chunk| {
            chunk.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n").trim().to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

pub(crate) async fn table_exists(conn: &mut AnyConnection, backend: Backend, table: &str) -> Result<bool, StoreError> {
    let sql = match backend {
        Backend::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
        }
        Backend::MySql => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
        }
    };
    let row = sql::fetch_optional(conn, backend, "schema", sql, vec![Value::from(table)]).await?;
    match row {
        Some(row) => Ok(RowReader::new(&row, "information_schema").int("n")? > 0),
        None => Ok(false),
    }
}

async fn current_version(conn: &mut AnyConnection, backend: Backend) -> Result<u32, StoreError> {
    if !table_exists(conn, backend, VERSION_TABLE).await? {
        return Ok(0);
    }
    let sql = "SELECT MAX(version) AS v FROM hotline_schema_version";
    let row = sql::fetch_optional(conn, backend, "schema version", sql, vec![]).await?;
    let Some(row) = row else { return Ok(0) };
    let reader = RowReader::new(&row, VERSION_TABLE);
    Ok(reader.opt_uint::<u32>("v")?.unwrap_or(0))
}

/// Every version recorded as applied (none before the version table exists).
async fn applied_versions(conn: &mut AnyConnection, backend: Backend) -> Result<Vec<u32>, StoreError> {
    if !table_exists(conn, backend, VERSION_TABLE).await? {
        return Ok(Vec::new());
    }
    let sql = "SELECT version FROM hotline_schema_version ORDER BY version";
    let rows = sql::fetch_all(conn, backend, "schema version", sql, vec![]).await?;
    rows.iter().map(|r| RowReader::new(r, VERSION_TABLE).uint::<u32>("version")).collect()
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

impl Store {
    /// Where the schema stands. Reads only.
    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let mut conn = self.conn().await?;
        let current = current_version(&mut conn, self.backend).await?;
        Ok(SchemaStatus { current, latest_known: LATEST_SCHEMA_VERSION })
    }

    /// Applies the pending migrations in order. Refuses a database migrated by a newer Hotline
    /// before writing anything; does nothing on an up-to-date one. Concurrent migrators are
    /// serialised by an advisory lock on PostgreSQL and MySQL (SQLite serialises writers itself).
    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let mut conn = self.conn().await?;
        let lock = match self.backend {
            Backend::Postgres => Some(("SELECT pg_advisory_lock(72700101)", "SELECT pg_advisory_unlock(72700101)")),
            Backend::MySql => Some((
                // GET_LOCK names are server-wide; the database name keeps databases apart.
                "SELECT GET_LOCK(CONCAT('hotline_migrate_', DATABASE()), 60)",
                "SELECT RELEASE_LOCK(CONCAT('hotline_migrate_', DATABASE()))",
            )),
            Backend::Sqlite => None,
        };
        if let Some((take, _)) = lock {
            conn.execute(take).await.map_err(|e| StoreError::from_query("migration lock", e))?;
        }
        let result = self.migrate_on(&mut conn).await;
        if let Some((_, release)) = lock {
            // A failed release is harmless: the lock goes with the connection's session.
            let _ = conn.execute(release).await;
        }
        result
    }

    async fn migrate_on(&self, conn: &mut AnyConnection) -> Result<MigrationReport, StoreError> {
        let backend = self.backend;
        let from = current_version(conn, backend).await?;
        if from > LATEST_SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { found: from, supported: LATEST_SCHEMA_VERSION });
        }
        let mut report = MigrationReport { from, to: from, applied: Vec::new() };
        // Versions are assigned ahead of time and may land out of order (8 before 7): a migration
        // is pending when its version row is missing, not when it is above the newest one.
        let done = applied_versions(conn, backend).await?;
        let pending: Vec<&Migration> = migrations(backend).iter().filter(|m| !done.contains(&m.version)).collect();
        if pending.is_empty() {
            return Ok(report);
        }
        conn.execute(version_table_ddl(backend)).await.map_err(|e| StoreError::from_query("schema version", e))?;
        for m in pending {
            apply(conn, backend, m).await?;
            report.to = report.to.max(m.version);
            report.applied.push((m.version, m.name));
        }
        Ok(report)
    }
}

/// Applies one migration and records its version: in one transaction where DDL is transactional.
pub(crate) async fn apply(conn: &mut AnyConnection, backend: Backend, m: &Migration) -> Result<(), StoreError> {
    if backend.has_transactional_ddl() {
        apply_in_transaction(conn, backend, m).await
    } else {
        apply_statement_by_statement(conn, backend, m).await
    }
}

fn failed(m: &Migration, statement: usize, err: impl ToString) -> StoreError {
    StoreError::Migration { version: m.version, name: m.name, statement, reason: one_line(&err.to_string()) }
}

async fn record_version(conn: &mut AnyConnection, backend: Backend, m: &Migration) -> Result<(), StoreError> {
    let sql = "INSERT INTO hotline_schema_version (version, name, applied_at_ms) VALUES (?, ?, ?)";
    let args = vec![Value::from(i64::from(m.version)), Value::from(m.name), Value::from(now_ms())];
    sql::execute(conn, backend, "schema version", sql, args).await.map(drop)
}

async fn apply_in_transaction(conn: &mut AnyConnection, backend: Backend, m: &Migration) -> Result<(), StoreError> {
    let stmts = statements(m.sql);
    let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| failed(m, 0, e))?;
    for (i, stmt) in stmts.iter().enumerate() {
        tx.execute(sqlx::raw_sql(stmt)).await.map_err(|e| failed(m, i + 1, e))?;
    }
    record_version(&mut tx, backend, m).await.map_err(|e| failed(m, stmts.len() + 1, e))?;
    tx.commit().await.map_err(|e| failed(m, stmts.len() + 1, e))
}

async fn apply_statement_by_statement(
    conn: &mut AnyConnection,
    backend: Backend,
    m: &Migration,
) -> Result<(), StoreError> {
    let stmts = statements(m.sql);
    for (i, stmt) in stmts.iter().enumerate() {
        conn.execute(sqlx::raw_sql(stmt)).await.map_err(|e| failed(m, i + 1, e))?;
    }
    record_version(conn, backend, m).await.map_err(|e| failed(m, stmts.len() + 1, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_has_every_migration_in_order() {
        // Versions are assigned ahead of time and may land out of order: a number not landed yet
        // is a gap, but every dialect has the same versions, ascending, the newest LATEST.
        let sqlite: Vec<u32> = migrations(Backend::Sqlite).iter().map(|m| m.version).collect();
        assert!(sqlite.windows(2).all(|w| w[0] < w[1]), "{sqlite:?}");
        assert_eq!(sqlite.first(), Some(&1));
        assert_eq!(sqlite.last(), Some(&LATEST_SCHEMA_VERSION));
        for backend in Backend::ALL {
            let versions: Vec<u32> = migrations(backend).iter().map(|m| m.version).collect();
            assert_eq!(versions, sqlite, "{backend}");
        }
    }

    #[test]
    fn dialects_create_the_same_tables() {
        let tables = |b: Backend| -> Vec<String> {
            let mut t: Vec<String> = migrations(b)
                .iter()
                .flat_map(|m| statements(m.sql))
                .filter_map(|s| {
                    s.strip_prefix("CREATE TABLE IF NOT EXISTS ").map(|r| r.split(' ').next().unwrap_or("").to_owned())
                })
                .collect();
            t.sort();
            t
        };
        assert_eq!(tables(Backend::Sqlite), tables(Backend::Postgres));
        assert_eq!(tables(Backend::MySql), tables(Backend::Postgres));
        assert!(tables(Backend::Postgres).len() >= 17);
    }
}
