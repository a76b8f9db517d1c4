//! Gives each test a database of its own on the backend it runs on, and removes it afterwards:
//! a temp dir for SQLite, `CREATE DATABASE hotline_t_<random>` on PostgreSQL and MariaDB (from
//! `HOTLINE_TEST_POSTGRES_URL` / `HOTLINE_TEST_MYSQL_URL`). An unreachable server fails the test.

use std::future::Future;

use sqlx::{Connection, Executor};

use crate::{Backend, ConnectOptions, Store};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// What a test gets: a connected, not yet migrated store on a fresh database, and its URL.
#[derive(Clone)]
pub struct TestDb {
    pub store: Store,
    pub url: String,
}

impl TestDb {
    /// The store, migrated.
    pub async fn migrated(&self) -> Store {
        if let Err(e) = self.store.migrate().await {
            panic!("migrate on {}: {e}", self.store.backend());
        }
        self.store.clone()
    }
}

fn base_url(backend: Backend) -> String {
    let (var, default) = match backend {
        Backend::Postgres => ("HOTLINE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        Backend::MySql => ("HOTLINE_TEST_MYSQL_URL", DEFAULT_MYSQL_URL),
        Backend::Sqlite => return String::new(),
    };
    std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

async fn admin(backend: Backend, sql: &str) {
    let base = base_url(backend);
    let mut conn = match sqlx::AnyConnection::connect(&base).await {
        Ok(c) => c,
        Err(e) => panic!(
            "the {backend} test server at {} is unreachable ({e}); start it or set HOTLINE_TEST_{}_URL",
            crate::backend::redact(&base),
            backend.as_str().to_uppercase()
        ),
    };
    if let Err(e) = conn.execute(sqlx::raw_sql(sql)).await {
        panic!("{backend}: {sql}: {e}");
    }
    let _ = conn.close().await;
}

fn url_with_database(base: &str, db: &str) -> String {
    let mut url = url::Url::parse(base).unwrap_or_else(|e| panic!("test database URL {base:?}: {e}"));
    url.set_path(&format!("/{db}"));
    url.to_string()
}

/// Runs `test` on a fresh database of `backend`, drops the database, then re-raises the test's panic.
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    sqlx::any::install_default_drivers();
    let opts = ConnectOptions { max_connections: 4, connect_timeout_ms: 10_000 };
    let name = format!("hotline_t_{}", uuid::Uuid::new_v4().simple());
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}/hotline.db", tmp.path().display()),
        _ => {
            admin(backend, &format!("CREATE DATABASE {name}")).await;
            url_with_database(&base_url(backend), &name)
        }
    };
    let store = match Store::connect(&url, &opts).await {
        Ok(s) => s,
        Err(e) => panic!("connect to the fresh {backend} database: {e}"),
    };
    let outcome = tokio::spawn(test(TestDb { store: store.clone(), url })).await;
    store.close().await;
    match backend {
        Backend::Sqlite => {}
        Backend::Postgres => admin(backend, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await,
        Backend::MySql => admin(backend, &format!("DROP DATABASE IF EXISTS {name}")).await,
    }
    drop(tmp);
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

impl Store {
    /// Test-only: runs SQL as given (to plant corrupt values or a newer schema version).
    pub(crate) async fn raw_execute(&self, sql: &str) {
        let mut conn = self.conn().await.unwrap_or_else(|e| panic!("{e}"));
        if let Err(e) = conn.execute(sqlx::raw_sql(sql)).await {
            panic!("raw SQL {sql:?} on {}: {e}", self.backend);
        }
    }

    /// Test-only: whether a table exists.
    pub(crate) async fn has_table(&self, table: &str) -> bool {
        let mut conn = self.conn().await.unwrap_or_else(|e| panic!("{e}"));
        crate::migrate::table_exists(&mut conn, self.backend, table).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Test-only: how many rows a table has.
    pub(crate) async fn count_rows(&self, table: &str) -> i64 {
        let mut conn = self.conn().await.unwrap_or_else(|e| panic!("{e}"));
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = crate::sql::fetch_optional(&mut conn, self.backend, "count", &sql, vec![])
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("COUNT returned no row"));
        crate::sql::RowReader::new(&row, "count").int("n").unwrap_or_else(|e| panic!("{e}"))
    }
}
