//! SIP registrar bindings: saved, replaced by key, listed while live, deleted, org-scoped.

use model::{Extension, OrgId, Timestamp};

use super::fixtures::T0;
use super::harness::TestDb;
use crate::SipBinding;

fn binding(org: u128, ext: &str, key: &str, expires_in_ms: i64) -> SipBinding {
    SipBinding {
        org: OrgId::from_u128(org),
        extension: Extension::parse(ext).expect("extension"),
        contact_key: key.to_owned(),
        contact: format!("<sip:{ext}@192.0.2.7:5062;transport=udp>;+sip.instance=\"<urn:uuid:{key}>\""),
        call_id: format!("call-{key}"),
        cseq: 1,
        expires_at: Timestamp::from_unix_ms(T0 + expires_in_ms),
        source: "[2001:db8::7]:5062".parse().expect("addr"),
        updated_at: Timestamp::from_unix_ms(T0),
    }
}

pub async fn sip_binding_saved_again_replaces_the_row_with_its_key(db: TestDb) {
    let store = db.migrated().await;
    let first = binding(1, "1001", "k1", 60_000);
    store.save_sip_binding(&first).await.expect("save");
    let refreshed = SipBinding { cseq: 2, expires_at: Timestamp::from_unix_ms(T0 + 120_000), ..first.clone() };
    store.save_sip_binding(&refreshed).await.expect("refresh");
    store.save_sip_binding(&binding(1, "1001", "k2", 30_000)).await.expect("second phone");
    let live = store.list_live_sip_bindings(OrgId::from_u128(1), Timestamp::from_unix_ms(T0), 100).await.expect("list");
    assert_eq!(live, vec![binding(1, "1001", "k2", 30_000), refreshed]);
}

pub async fn sip_bindings_expired_are_not_listed_and_are_purged(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    store.save_sip_binding(&binding(1, "1001", "old", 1_000)).await.expect("save");
    store.save_sip_binding(&binding(1, "1002", "new", 90_000)).await.expect("save");
    let later = Timestamp::from_unix_ms(T0 + 1_000);
    let live = store.list_live_sip_bindings(org, later, 100).await.expect("list");
    assert_eq!(live, vec![binding(1, "1002", "new", 90_000)]);
    assert_eq!(store.delete_expired_sip_bindings(org, later).await.expect("purge"), 1);
    assert_eq!(store.count_rows("sip_bindings").await, 1);
    let ext = Extension::parse("1002").expect("ext");
    assert!(store.delete_sip_binding(org, &ext, "new").await.expect("delete"));
    assert!(!store.delete_sip_binding(org, &ext, "new").await.expect("delete again"));
}

pub async fn sip_bindings_of_another_org_are_never_listed_or_deleted(db: TestDb) {
    let store = db.migrated().await;
    store.save_sip_binding(&binding(2, "1001", "k1", 60_000)).await.expect("save");
    let mine = OrgId::from_u128(1);
    let now = Timestamp::from_unix_ms(T0);
    assert_eq!(store.list_live_sip_bindings(mine, now, 100).await.expect("list"), vec![]);
    let ext = Extension::parse("1001").expect("ext");
    assert!(!store.delete_sip_binding(mine, &ext, "k1").await.expect("delete"));
    assert_eq!(store.delete_expired_sip_bindings(mine, Timestamp::from_unix_ms(T0 + 999_999)).await.expect("purge"), 0);
    assert_eq!(store.count_rows("sip_bindings").await, 1);
}

pub async fn sip_binding_listing_stops_at_max_rows(db: TestDb) {
    let store = db.migrated().await;
    for i in 0..5 {
        store.save_sip_binding(&binding(1, "1001", &format!("k{i}"), 10_000 + i)).await.expect("save");
    }
    let live = store.list_live_sip_bindings(OrgId::from_u128(1), Timestamp::from_unix_ms(T0), 3).await.expect("list");
    assert_eq!(live.iter().map(|b| b.contact_key.as_str()).collect::<Vec<_>>(), vec!["k0", "k1", "k2"]);
}

pub async fn sip_bindings_replaced_for_an_extension_leave_other_extensions_alone(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let ext = Extension::parse("1001").expect("ext");
    store.save_sip_binding(&binding(1, "1001", "old-uri", 60_000)).await.expect("save");
    store.save_sip_binding(&binding(1, "1002", "other", 60_000)).await.expect("save");
    store.save_sip_binding(&binding(2, "1001", "other-org", 60_000)).await.expect("save");
    let now = Timestamp::from_unix_ms(T0);
    let current = vec![binding(1, "1001", "new-uri", 90_000)];
    store.replace_sip_bindings(org, &ext, &current).await.expect("replace");
    let keys = |v: Vec<SipBinding>| v.into_iter().map(|b| b.contact_key).collect::<Vec<_>>();
    assert_eq!(keys(store.list_live_sip_bindings(org, now, 100).await.expect("list")), vec!["other", "new-uri"]);
    store.replace_sip_bindings(org, &ext, &[]).await.expect("replace with none");
    assert_eq!(keys(store.list_live_sip_bindings(org, now, 100).await.expect("list")), vec!["other"]);
    assert_eq!(store.count_rows("sip_bindings").await, 2, "the other org's row must stay");
    let foreign = store.replace_sip_bindings(org, &ext, &[binding(1, "1002", "x", 1)]).await;
    assert!(matches!(foreign, Err(crate::StoreError::InvalidInput { .. })), "{foreign:?}");
}
