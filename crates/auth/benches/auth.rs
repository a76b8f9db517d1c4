//! Costs on the request path: the rate-limit check (known client, and a new client when the map
//! is full and must evict), the login throttle under a spraying attack (full map), the CSRF
//! checks, bearer-token digesting, and minting a session. Password hashing is argon2id by design
//! (~tens of ms) and measured too, for capacity planning of sign-ins.

use std::hint::black_box;
use std::net::IpAddr;

use auth::rate::{RateLimiter, RateLimits};
use auth::throttle::{LoginThrottle, ThrottleLimits};
use criterion::{Criterion, criterion_group, criterion_main};
use model::{OrgId, Timestamp, UserId};

fn ip(n: u32) -> IpAddr {
    IpAddr::from(n.to_be_bytes())
}

fn rate(c: &mut Criterion) {
    let limits = RateLimits { requests_per_second: 1_000_000, burst_requests: 1_000_000, max_tracked_clients: 10_000 };
    let mut r = RateLimiter::new(limits);
    let mut t = 0i64;
    c.bench_function("rate_check_known_client", |b| {
        b.iter(|| {
            t += 1;
            black_box(r.check(Timestamp::from_unix_ms(t), ip(7)))
        })
    });
    let mut full = RateLimiter::new(limits);
    for n in 0..10_000 {
        let _ = full.check(Timestamp::from_unix_ms(0), ip(n));
    }
    let mut n = 10_000u32;
    c.bench_function("rate_check_new_client_full_map_10k", |b| {
        b.iter(|| {
            n += 1;
            black_box(full.check(Timestamp::from_unix_ms(1), ip(n)))
        })
    });
}

fn throttle(c: &mut Criterion) {
    let mut th = LoginThrottle::new(ThrottleLimits::default());
    for n in 0..10_000u32 {
        th.record_failure(Timestamp::from_unix_ms(0), &format!("user{n}"), ip(n));
    }
    let mut n = 10_000u32;
    c.bench_function("throttle_check_and_fail_new_username_full_maps_10k", |b| {
        b.iter(|| {
            n += 1;
            let name = format!("spray{n}");
            let now = Timestamp::from_unix_ms(1);
            let _ = black_box(th.check(now, &name, ip(n)));
            th.record_failure(now, &name, ip(n));
        })
    });
}

fn checks(c: &mut Criterion) {
    let token = "a".repeat(64);
    c.bench_function("csrf_origin_and_token", |b| {
        b.iter(|| {
            let o = auth::csrf::check_origin(black_box(Some("http://localhost:8080")), Some("localhost:8080"), &[]);
            let t = auth::csrf::check_token(black_box(Some(token.as_str())), &token);
            (o, t)
        })
    });
    let header = format!("Bearer {}", auth::token::mint([5; 32]).token);
    c.bench_function("bearer_token_digest", |b| b.iter(|| auth::token::digest_of_bearer(black_box(&header))));
    c.bench_function("session_start", |b| {
        b.iter(|| {
            auth::session::start(
                OrgId::from_u128(1),
                UserId::from_u128(2),
                Timestamp::from_unix_ms(0),
                black_box([9; 64]),
            )
        })
    });
}

fn password(c: &mut Criterion) {
    let phc = auth::hash_password("demo1001", [1; 16]).expect("hash");
    let mut g = c.benchmark_group("argon2id");
    g.sample_size(10);
    g.bench_function("verify_password", |b| b.iter(|| auth::verify_password(black_box("demo1001"), &phc)));
    g.finish();
}

criterion_group!(benches, rate, throttle, checks, password);
criterion_main!(benches);
