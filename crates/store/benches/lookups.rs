//! Benchmarks of the hot paths: the IVR's customer-by-phone lookup (1,000 customers stored), a
//! customer's newest contacts (screen-pop history), and inserting a contact, on each backend.
//! SQLite runs in a temp dir; PostgreSQL and MariaDB use a database created for the run from
//! `HOTLINE_TEST_POSTGRES_URL` / `HOTLINE_TEST_MYSQL_URL` (defaults as in the test suite) and are
//! skipped with a note when the server is down.

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use model::*;
use sqlx::{Connection, Executor};
use store::{Backend, ConnectOptions, Page, Store};

const CUSTOMERS: u128 = 1_000;
const CONTACTS_PER_CUSTOMER: u128 = 5;

fn org() -> OrgId {
    OrgId::from_u128(1)
}

fn phone_of(n: u128) -> E164 {
    E164::parse_strict(&format!("+86138{n:08}")).expect("valid phone")
}

fn customer(n: u128) -> Customer {
    Customer {
        id: CustomerId::from_u128(n),
        org: org(),
        name: format!("Customer {n}"),
        phones: vec![phone_of(n)],
        emails: vec![Email::parse(&format!("c{n}@example.com")).expect("email")],
        social_ids: vec![],
        vip: VipTier::Normal,
        attributes: Default::default(),
        language: None,
        created_at: Timestamp::from_unix_ms(0),
    }
}

fn contact(n: u128, customer: u128) -> Contact {
    let mut c = Contact::arrived(
        ContactId::from_u128(n),
        org(),
        Channel::Voice,
        Direction::Inbound,
        "+8613800000001",
        "4000",
        Timestamp::from_unix_ms(n as i64),
    );
    c.customer = Some(CustomerId::from_u128(customer));
    c
}

struct BenchDb {
    store: Store,
    drop_sql: Option<(String, String)>,
    _tmp: tempfile::TempDir,
}

async fn open(backend: Backend) -> Option<BenchDb> {
    let tmp = tempfile::tempdir().expect("temp dir");
    let name = format!("hotline_bench_{}", std::process::id());
    let (url, drop_sql) = match backend {
        Backend::Sqlite => (format!("sqlite://{}/bench.db", tmp.path().display()), None),
        _ => {
            let (var, default) = match backend {
                Backend::Postgres => ("HOTLINE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"),
                _ => ("HOTLINE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
            };
            let base = std::env::var(var).unwrap_or_else(|_| default.to_owned());
            sqlx::any::install_default_drivers();
            let Ok(mut admin) = sqlx::AnyConnection::connect(&base).await else {
                eprintln!("{backend} is not reachable; skipping its benchmarks");
                return None;
            };
            admin.execute(format!("DROP DATABASE IF EXISTS {name}").as_str()).await.expect("drop old");
            admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create");
            let mut url = url::Url::parse(&base).expect("url");
            url.set_path(&format!("/{name}"));
            (url.to_string(), Some((base, format!("DROP DATABASE IF EXISTS {name}"))))
        }
    };
    let store = Store::connect(&url, &ConnectOptions::default()).await.expect("connect");
    store.migrate().await.expect("migrate");
    for n in 1..=CUSTOMERS {
        store.insert_customer(&customer(n)).await.expect("customer");
        for k in 0..CONTACTS_PER_CUSTOMER {
            store.insert_contact(&contact(n * 100 + k, n)).await.expect("contact");
        }
    }
    Some(BenchDb { store, drop_sql, _tmp: tmp })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    for backend in Backend::ALL {
        let Some(db) = rt.block_on(open(backend)) else { continue };
        let store = db.store.clone();
        let mut group = c.benchmark_group(backend.as_str());
        let probe = AtomicU64::new(0);
        group.bench_function("find_customer_by_phone", |b| {
            b.to_async(&rt).iter(|| async {
                let n = u128::from(probe.fetch_add(1, Ordering::Relaxed)) % CUSTOMERS + 1;
                let found = store.find_customer_by_phone(org(), &phone_of(n)).await.expect("lookup");
                assert!(found.is_some());
            })
        });
        group.bench_function("list_contacts_by_customer_20", |b| {
            b.to_async(&rt).iter(|| async {
                let n = u128::from(probe.fetch_add(1, Ordering::Relaxed)) % CUSTOMERS + 1;
                let page = Page::first(20);
                let got = store.list_contacts_by_customer(org(), CustomerId::from_u128(n), &page).await.expect("list");
                assert_eq!(got.items.len(), CONTACTS_PER_CUSTOMER as usize);
            })
        });
        let next_id = AtomicU64::new(0);
        group.bench_function("insert_contact", |b| {
            b.to_async(&rt).iter(|| async {
                let n = 10_000_000 + u128::from(next_id.fetch_add(1, Ordering::Relaxed));
                store.insert_contact(&contact(n, 1)).await.expect("insert");
            })
        });
        group.finish();
        rt.block_on(async {
            db.store.close().await;
            if let Some((base, sql)) = &db.drop_sql
                && let Ok(mut admin) = sqlx::AnyConnection::connect(base).await
            {
                let _ = admin.execute(sql.as_str()).await;
            }
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
