//! Connecting and migrating: the bad-input cases of the foundation issue (unreachable URL, newer
//! schema) and the no-op second migration.

use super::harness::TestDb;
use crate::{ConnectOptions, LATEST_SCHEMA_VERSION, SchemaStatus, Store, StoreError};

pub async fn migrate_creates_the_schema_and_reports_the_version(db: TestDb) {
    let before = db.store.schema_status().await.expect("status");
    assert_eq!(before, SchemaStatus { current: 0, latest_known: LATEST_SCHEMA_VERSION });
    let report = db.store.migrate().await.expect("migrate");
    assert_eq!((report.from, report.to), (0, LATEST_SCHEMA_VERSION));
    assert_eq!(report.applied.first(), Some(&(1, "initial")));
    for table in ["orgs", "users", "agents", "customers", "customer_phones", "contacts", "orders", "survey_responses"] {
        assert!(db.store.has_table(table).await, "{table} missing");
    }
    assert!(db.store.schema_status().await.expect("status").is_current());
}

pub async fn migrating_twice_is_a_no_op(db: TestDb) {
    let store = db.migrated().await;
    let again = store.migrate().await.expect("second migrate");
    assert_eq!(again.applied, vec![]);
    assert_eq!((again.from, again.to), (LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION));
    assert_eq!(store.count_rows("hotline_schema_version").await, known_migrations(&store));
}

/// How many migrations this build has for the store's backend (versions may have a gap).
fn known_migrations(store: &Store) -> i64 {
    i64::try_from(crate::migrate::migrations(store.backend()).len()).expect("a handful")
}

pub async fn newer_schema_is_refused_before_any_write(db: TestDb) {
    let store = &db.store;
    store.raw_execute("CREATE TABLE hotline_schema_version (version BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at_ms BIGINT NOT NULL)").await;
    store
        .raw_execute(
            "INSERT INTO hotline_schema_version (version, name, applied_at_ms) VALUES (999, 'from_the_future', 0)",
        )
        .await;
    match store.migrate().await {
        Err(StoreError::NewerSchema { found: 999, supported }) => assert_eq!(supported, LATEST_SCHEMA_VERSION),
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert!(!store.has_table("orgs").await, "migrate wrote tables although the schema is newer");
    assert_eq!(store.count_rows("hotline_schema_version").await, 1);
    let status = store.schema_status().await.expect("status");
    assert_eq!(status, SchemaStatus { current: 999, latest_known: LATEST_SCHEMA_VERSION });
    assert!(!status.is_current());
}

pub async fn newer_schema_is_refused_on_a_migrated_database_without_changes(db: TestDb) {
    let store = db.migrated().await;
    store.insert_org(&super::fixtures::org(1)).await.expect("org");
    let newer = LATEST_SCHEMA_VERSION + 1;
    store
        .raw_execute(&format!(
            "INSERT INTO hotline_schema_version (version, name, applied_at_ms) VALUES ({newer}, 'newer', 0)"
        ))
        .await;
    let err = store.migrate().await.expect_err("newer schema");
    assert!(err.to_string().contains(&format!("version {newer}, newer than this Hotline supports")), "{err}");
    assert_eq!(store.count_rows("hotline_schema_version").await, known_migrations(&store) + 1);
    assert_eq!(store.count_rows("orgs").await, 1);
}

pub async fn unused_port_is_unreachable_with_a_readable_reason(db: TestDb) {
    // Port 9 (discard) is not served on the test machines; the connection is refused at once.
    let url = match db.store.backend() {
        crate::Backend::Sqlite => "sqlite:///proc/hotline-no-such-dir/h.db".to_owned(),
        crate::Backend::Postgres => "postgres://hotline:s3cret-pw@127.0.0.1:9/hotline".to_owned(),
        crate::Backend::MySql => "mysql://hotline:s3cret-pw@127.0.0.1:9/hotline".to_owned(),
    };
    let opts = ConnectOptions { max_connections: 2, connect_timeout_ms: 3_000 };
    match Store::connect(&url, &opts).await {
        Err(err @ StoreError::Unreachable { .. }) => {
            let text = err.to_string();
            assert!(!text.contains("s3cret-pw"), "password leaked: {text}");
            assert!(!text.contains('\n'), "not one line: {text}");
            assert!(text.contains("unreachable: "), "{text}");
            let reason_len = text.split("unreachable: ").nth(1).map_or(0, str::len);
            assert!(reason_len > 5, "no reason given: {text}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

pub async fn bad_scheme_is_unreachable_and_hides_the_password(_db: TestDb) {
    let opts = ConnectOptions::default();
    for url in ["oracle://scott:tiger-pw@127.0.0.1/db", "not a url at all", "postgres://u:tiger-pw@/nohost"] {
        match Store::connect(url, &opts).await {
            Err(err @ StoreError::Unreachable { .. }) => {
                let text = err.to_string();
                assert!(!text.contains("tiger-pw"), "password leaked: {text}");
                assert!(!text.contains('\n'), "{text}");
            }
            other => panic!("{url}: expected Unreachable, got {other:?}"),
        }
    }
}

pub async fn ping_answers_and_close_ends_the_pool(db: TestDb) {
    db.store.ping().await.expect("ping");
    let other = Store::connect(&db.url, &ConnectOptions::default()).await.expect("second pool");
    other.ping().await.expect("ping second");
    other.close().await;
    assert!(other.ping().await.is_err(), "a closed store still answered");
}

pub async fn migration_cut_short_before_its_version_row_completes_on_rerun(db: TestDb) {
    // What MySQL leaves after a crash between the last DDL statement and the version row: every
    // statement is re-runnable, so migrating again finishes the job (on every backend).
    let store = db.migrated().await;
    store.insert_org(&super::fixtures::org(1)).await.expect("org");
    store.raw_execute("DELETE FROM hotline_schema_version").await;
    assert_eq!(store.schema_status().await.expect("status").current, 0);
    let report = store.migrate().await.expect("re-run");
    assert_eq!(report.to, LATEST_SCHEMA_VERSION);
    assert_eq!(store.count_rows("orgs").await, 1, "re-running a migration lost data");
}

pub async fn failed_migration_names_its_statement_and_rolls_back_where_ddl_is_transactional(db: TestDb) {
    let store = db.migrated().await;
    let broken = crate::migrate::Migration {
        version: 2,
        name: "broken",
        sql: "CREATE TABLE first_step (id BIGINT);\nCREATE TABLE second_step (id BIGINT,);\n",
    };
    let mut conn = store.conn().await.expect("conn");
    let err = crate::migrate::apply(&mut conn, store.backend(), &broken).await;
    drop(conn);
    match err {
        Err(e @ StoreError::Migration { version: 2, name: "broken", statement: 2, .. }) => {
            assert!(e.to_string().starts_with("migration 2 (broken) failed at statement 2: "), "{e}");
        }
        other => panic!("expected a Migration error at statement 2, got {other:?}"),
    }
    let kept = store.has_table("first_step").await;
    assert_eq!(kept, !store.backend().has_transactional_ddl(), "first statement kept: {kept}");
    assert_eq!(store.schema_status().await.expect("status").current, LATEST_SCHEMA_VERSION);
}

pub async fn a_migration_below_the_newest_applied_one_is_still_applied(db: TestDb) {
    // Versions are assigned ahead of time: a database that got 8 before 7 existed gets 7 later.
    let store = db.migrated().await;
    store.raw_execute("DELETE FROM hotline_schema_version WHERE version = 7").await;
    let report = store.migrate().await.expect("migrate");
    assert_eq!(report.applied, vec![(7, "qa")]);
    assert_eq!((report.from, report.to), (LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION));
    assert_eq!(store.count_rows("hotline_schema_version").await, known_migrations(&store));
}
