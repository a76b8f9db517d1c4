//! The cost of one API request through the whole router in process (no sockets): the guard
//! (session lookup, user lookup, rule), the handler and the SQLite store, for a signed-in read,
//! a customer lookup by phone, and the fast refusal of an anonymous caller.

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use model::{Timestamp, User};
use store::{ConnectOptions, Store};
use tower::ServiceExt;
use web::{AppState, WebConfig};

async fn seeded(dir: &std::path::Path) -> Store {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = Store::connect(&url, &ConnectOptions::default()).await.expect("connect");
    store.migrate().await.expect("migrate");
    let d = demo::dataset(Timestamp::from_unix_ms(1_800_000_000_000));
    store.insert_org(&d.org).await.expect("org");
    for s in &d.skills {
        store.insert_skill(s).await.expect("skill");
    }
    for u in d.users.iter().filter(|u| u.user.username.as_str() == "admin") {
        let hash = auth::hash_password(&u.password, [1; 16]).expect("hash");
        store.insert_user(&User { password_hash: hash, ..u.user.clone() }).await.expect("user");
    }
    for c in &d.customers {
        store.insert_customer(c).await.expect("customer");
    }
    store
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).expect("request")
}

fn requests(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");
    let (router, cookie) = rt.block_on(async {
        let store = seeded(dir.path()).await;
        let mut config = WebConfig::new(demo::DEMO_ORG);
        config.rate.requests_per_second = u32::MAX / 2_000;
        config.rate.burst_requests = u32::MAX / 2_000;
        let state = Arc::new(AppState::new(store.clone(), Arc::new(store), config, "bench"));
        let router = web::router(state);
        let login = Request::post("/api/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"username":"admin","password":"demoadmin"}"#))
            .expect("login");
        let resp = router.clone().oneshot(login).await.expect("login");
        let cookie =
            resp.headers()[header::SET_COOKIE].to_str().expect("ascii").split(';').next().expect("pair").to_owned();
        (router, cookie)
    });
    c.bench_function("get_skills_signed_in", |b| {
        b.to_async(&rt).iter(|| async {
            let resp = router.clone().oneshot(get("/api/skills", Some(&cookie))).await.expect("call");
            assert_eq!(resp.status(), 200);
            black_box(resp)
        })
    });
    c.bench_function("find_customer_by_phone_signed_in", |b| {
        b.to_async(&rt).iter(|| async {
            let resp =
                router.clone().oneshot(get("/api/customers?phone=13800000007", Some(&cookie))).await.expect("call");
            assert_eq!(resp.status(), 200);
            black_box(resp)
        })
    });
    c.bench_function("anonymous_refused", |b| {
        b.to_async(&rt).iter(|| async {
            let resp = router.clone().oneshot(get("/api/skills", None)).await.expect("call");
            assert_eq!(resp.status(), 401);
            black_box(resp)
        })
    });
}

criterion_group!(benches, requests);
criterion_main!(benches);
