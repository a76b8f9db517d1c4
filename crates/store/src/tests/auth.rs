//! Sessions, API tokens and the audit log: round trips, lookups by digest, revocation, sweeping
//! expired sessions, newest-first paging and org isolation.

use model::*;

use super::fixtures::T0;
use super::harness::TestDb;
use crate::{AuditRecord, Page, StoreError, StoredApiToken, StoredSession};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0 + ms)
}

fn session(org: OrgId, n: u8, user: u128, created: i64) -> StoredSession {
    StoredSession {
        id_digest: format!("{:064x}", n),
        org,
        user: UserId::from_u128(user),
        csrf_token: format!("{:064x}", u32::from(n) + 1000),
        created_at: at(created),
        last_seen_at: at(created),
    }
}

fn token(org: OrgId, n: u128) -> StoredApiToken {
    StoredApiToken {
        id: uuid_text(n),
        org,
        name: format!("integration {n}"),
        role: Role::Supervisor,
        token_digest: format!("{:064x}", n + 7),
        created_by: Some(UserId::from_u128(1)),
        created_at: at(0),
        revoked_at: None,
    }
}

fn uuid_text(n: u128) -> String {
    UserId::from_u128(n).to_string()
}

fn audit(org: OrgId, n: u128, at_ms: i64) -> AuditRecord {
    AuditRecord {
        id: uuid_text(n),
        org,
        at: at(at_ms),
        actor_user: Some(UserId::from_u128(1)),
        actor: "admin".into(),
        role: Role::Admin,
        action: "create_skill".into(),
        method: "POST".into(),
        path: "/api/skills".into(),
        status: 201,
        client: "127.0.0.1".into(),
    }
}

pub async fn session_round_trips_is_touched_and_ended(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let s = session(org, 1, 10, 0);
    store.insert_session(&s).await.expect("insert");
    assert_eq!(store.get_session(org, &s.id_digest).await.expect("get"), Some(s.clone()));
    store.touch_session(org, &s.id_digest, at(5_000)).await.expect("touch");
    let touched = store.get_session(org, &s.id_digest).await.expect("get").expect("there");
    assert_eq!(touched.last_seen_at, at(5_000));
    assert_eq!(touched.created_at, s.created_at);
    store.delete_session(org, &s.id_digest).await.expect("delete");
    assert_eq!(store.get_session(org, &s.id_digest).await.expect("get"), None);
    store.delete_session(org, &s.id_digest).await.expect("deleting twice is fine");
}

pub async fn user_sessions_end_together_and_expired_ones_are_swept(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    for (n, user, created) in [(1, 10, 0), (2, 10, 0), (3, 11, 0), (4, 11, 100_000)] {
        store.insert_session(&session(org, n, user, created)).await.expect("insert");
    }
    assert_eq!(store.delete_user_sessions(org, UserId::from_u128(10)).await.expect("delete"), 2);
    assert_eq!(store.get_session(org, &format!("{:064x}", 1)).await.expect("get"), None);
    let swept = store.delete_expired_sessions(org, at(50_000), at(-1)).await.expect("sweep");
    assert_eq!(swept, 1, "only session 3 was idle since before 50 s");
    assert!(store.get_session(org, &format!("{:064x}", 4)).await.expect("get").is_some());
}

pub async fn api_token_is_found_by_digest_listed_and_revoked_once(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let t = token(org, 20);
    store.insert_api_token(&t).await.expect("insert");
    store.insert_api_token(&token(org, 21)).await.expect("insert");
    assert_eq!(store.find_api_token_by_digest(org, &t.token_digest).await.expect("find"), Some(t.clone()));
    let listed = store.list_api_tokens(org, &Page::first(1)).await.expect("list");
    assert_eq!(listed.items, vec![t.clone()]);
    let rest = store.list_api_tokens(org, &Page::after(1, listed.next.expect("more"))).await.expect("list");
    assert_eq!(rest.items.len(), 1);

    store.revoke_api_token(org, &t.id, at(10)).await.expect("revoke");
    store.revoke_api_token(org, &t.id, at(20)).await.expect("revoking twice is fine");
    let revoked = store.find_api_token_by_digest(org, &t.token_digest).await.expect("find").expect("there");
    assert_eq!(revoked.revoked_at, Some(at(10)), "the first revocation time stays");
    let missing = store.revoke_api_token(org, &uuid_text(99), at(10)).await;
    assert!(matches!(missing, Err(StoreError::NotFound { what: "API token", .. })), "{missing:?}");
}

pub async fn duplicate_token_digest_conflicts(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    store.insert_api_token(&token(org, 20)).await.expect("insert");
    let same_digest = StoredApiToken { id: uuid_text(21), ..token(org, 20) };
    let dup = store.insert_api_token(&same_digest).await;
    assert!(matches!(dup, Err(StoreError::Conflict { what: "API token", .. })), "{dup:?}");
}

pub async fn audit_log_lists_newest_first_in_pages(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    for (n, t) in [(30, 100), (31, 300), (32, 200)] {
        store.insert_audit_entry(&audit(org, n, t)).await.expect("insert");
    }
    let first = store.list_audit_entries(org, &Page::first(2)).await.expect("list");
    let ids: Vec<String> = first.items.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, vec![uuid_text(31), uuid_text(32)]);
    let rest = store.list_audit_entries(org, &Page::after(2, first.next.expect("more"))).await.expect("list");
    assert_eq!(rest.items, vec![audit(org, 30, 100)]);
    assert_eq!(rest.next, None);
}

pub async fn another_orgs_sign_in_records_are_never_returned(db: TestDb) {
    let store = db.migrated().await;
    let (a, b) = (OrgId::from_u128(1), OrgId::from_u128(2));
    let s = session(a, 1, 10, 0);
    store.insert_session(&s).await.expect("session");
    let t = token(a, 20);
    store.insert_api_token(&t).await.expect("token");
    store.insert_audit_entry(&audit(a, 30, 0)).await.expect("audit");
    assert_eq!(store.get_session(b, &s.id_digest).await.expect("get"), None);
    assert_eq!(store.find_api_token_by_digest(b, &t.token_digest).await.expect("find"), None);
    assert!(matches!(store.revoke_api_token(b, &t.id, at(1)).await, Err(StoreError::NotFound { .. })));
    assert!(store.list_audit_entries(b, &Page::default()).await.expect("list").items.is_empty());
    assert_eq!(store.delete_user_sessions(b, UserId::from_u128(10)).await.expect("delete"), 0);
    assert!(store.get_session(a, &s.id_digest).await.expect("get").is_some());
}
