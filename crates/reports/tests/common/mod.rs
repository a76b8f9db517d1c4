//! A fresh database per test on SQLite (a temp dir), PostgreSQL and MariaDB (created with the
//! `psql` / `mysql` clients on 127.0.0.1, as in the store's suite, and dropped by a guard).
//! Servers: `HOTLINE_TEST_PG_ADMIN` / `HOTLINE_TEST_MYSQL_ADMIN` are not needed: the defaults
//! are the machine's (PostgreSQL trust user postgres, MariaDB root without a password).

#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use store::{ConnectOptions, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

pub struct Db {
    pub store: Store,
    backend: Backend,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn admin(backend: Backend, sql: &str) {
    let out = match backend {
        Backend::Postgres => Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .output(),
        Backend::MySql => Command::new("mysql").args(["-h", "127.0.0.1", "-u", "root", "-e", sql]).output(),
        Backend::Sqlite => return,
    };
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!("{backend:?}: {sql}: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("{backend:?}: cannot run the client for {sql}: {e}"),
    }
}

impl Db {
    pub async fn fresh(backend: Backend) -> Db {
        let name = format!(
            "hotline_r_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
        );
        let (url, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                (format!("sqlite://{}/reports.db", dir.path().display()), Some(dir))
            }
            Backend::Postgres => {
                admin(backend, &format!("CREATE DATABASE {name}"));
                (format!("postgres://postgres@127.0.0.1:5432/{name}"), None)
            }
            Backend::MySql => {
                admin(backend, &format!("CREATE DATABASE {name}"));
                (format!("mysql://root@127.0.0.1:3306/{name}"), None)
            }
        };
        let opts = ConnectOptions { max_connections: 4, connect_timeout_ms: 10_000 };
        let store = Store::connect(&url, &opts).await.unwrap_or_else(|e| panic!("connect {backend:?}: {e}"));
        store.migrate().await.unwrap_or_else(|e| panic!("migrate {backend:?}: {e}"));
        Db { store, backend, name, _dir: dir }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        match self.backend {
            Backend::Sqlite => {}
            Backend::Postgres => admin(self.backend, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)),
            Backend::MySql => admin(self.backend, &format!("DROP DATABASE IF EXISTS {}", self.name)),
        }
    }
}

/// Generates `mod sqlite`, `mod postgres`, `mod mysql`, one `#[tokio::test]` each per scenario
/// `async fn name(db: &Db)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        $crate::on_every_backend!(@one sqlite, Sqlite, $($name),*);
        $crate::on_every_backend!(@one postgres, Postgres, $($name),*);
        $crate::on_every_backend!(@one mysql, MySql, $($name),*);
    };
    (@one $module:ident, $backend:ident, $($name:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::common::Db::fresh($crate::common::Backend::$backend).await;
                    super::$name(&db).await;
                    db.store.close().await;
                }
            )*
        }
    };
}
