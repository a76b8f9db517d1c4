//! Orgs, users, agents, skills and queues: round trips, lookups, unique keys, org isolation and
//! pagination.

use model::*;

use super::fixtures::*;
use super::harness::TestDb;
use crate::{Cursor, MAX_PAGE_SIZE, Page, StoreError};

pub async fn org_round_trips_and_updates(db: TestDb) {
    let store = db.migrated().await;
    let mut o = org(1);
    store.insert_org(&o).await.expect("insert");
    assert_eq!(store.get_org(o.id).await.expect("get"), Some(o.clone()));
    o.name = "Demo Shop 演示".into();
    o.default_country = CountryCode::new(1).expect("1");
    store.update_org(&o).await.expect("update");
    assert_eq!(store.get_org(o.id).await.expect("get"), Some(o.clone()));
    assert!(matches!(store.insert_org(&o).await, Err(StoreError::Conflict { what: "org", .. })));
    let page = store.list_orgs(&Page::first(10)).await.expect("list");
    assert_eq!(page.items, vec![o]);
    assert_eq!(page.next, None);
}

pub async fn user_round_trips_and_is_found_by_username(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let mut u = user(org, 10, "supervisor");
    u.email = None;
    u.role = Role::Supervisor;
    store.insert_user(&u).await.expect("insert");
    assert_eq!(store.get_user(org, u.id).await.expect("get"), Some(u.clone()));
    let name = Username::parse("supervisor").expect("name");
    assert_eq!(store.find_user_by_username(org, &name).await.expect("find"), Some(u.clone()));
    u.active = false;
    u.email = Some(Email::parse("Boss@Example.com").expect("email"));
    store.update_user(&u).await.expect("update");
    assert_eq!(store.get_user(org, u.id).await.expect("get"), Some(u));
}

pub async fn duplicate_username_in_an_org_conflicts(db: TestDb) {
    let store = db.migrated().await;
    let (a, b) = (OrgId::from_u128(1), OrgId::from_u128(2));
    store.insert_user(&user(a, 10, "1001")).await.expect("first");
    match store.insert_user(&user(a, 11, "1001")).await {
        Err(StoreError::Conflict { what: "user", .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    store.insert_user(&user(b, 12, "1001")).await.expect("same username in another org is fine");
}

pub async fn agent_round_trips_and_is_found_by_extension_and_user(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let mut a = agent(org, 20, UserId::from_u128(10), "1001");
    store.insert_agent(&a).await.expect("insert");
    assert_eq!(store.get_agent(org, a.id).await.expect("get"), Some(a.clone()));
    let ext = Extension::parse("1001").expect("ext");
    assert_eq!(store.find_agent_by_extension(org, &ext).await.expect("by ext"), Some(a.clone()));
    assert_eq!(store.find_agent_by_user(org, a.user).await.expect("by user"), Some(a.clone()));
    a.skills.clear();
    a.queues.push(QueueMembership { queue: QueueId::from_u128(902), penalty: 0 });
    a.capacity = ChannelCapacity::default();
    store.update_agent(&a).await.expect("update");
    assert_eq!(store.get_agent(org, a.id).await.expect("get"), Some(a));
}

pub async fn duplicate_extension_in_an_org_conflicts(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    store.insert_agent(&agent(org, 20, UserId::from_u128(10), "1001")).await.expect("first");
    match store.insert_agent(&agent(org, 21, UserId::from_u128(11), "1001")).await {
        Err(StoreError::Conflict { what: "agent", .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    let same_user = store.insert_agent(&agent(org, 22, UserId::from_u128(10), "1002")).await;
    assert!(matches!(same_user, Err(StoreError::Conflict { .. })), "{same_user:?}");
}

pub async fn skill_and_queue_round_trip_and_are_found_by_name(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let mut s = skill(org, 30, "premium_support");
    store.insert_skill(&s).await.expect("skill");
    s.description = "VIP callers".into();
    store.update_skill(&s).await.expect("update skill");
    let name = SkillName::parse("premium_support").expect("name");
    assert_eq!(store.find_skill_by_name(org, &name).await.expect("find"), Some(s.clone()));
    assert_eq!(store.get_skill(org, s.id).await.expect("get"), Some(s));
    let dup = store.insert_skill(&skill(org, 31, "premium_support")).await;
    assert!(matches!(dup, Err(StoreError::Conflict { what: "skill", .. })), "{dup:?}");

    let mut q = queue(org, 40, "tech_support");
    store.insert_queue(&q).await.expect("queue");
    assert_eq!(store.get_queue(org, q.id).await.expect("get"), Some(q.clone()));
    q.overflow = None;
    q.strategy = RoutingStrategy::LongestIdle;
    store.update_queue(&q).await.expect("update queue");
    let qname = QueueName::parse("tech_support").expect("name");
    assert_eq!(store.find_queue_by_name(org, &qname).await.expect("find"), Some(q.clone()));
    let dup = store.insert_queue(&queue(org, 41, "tech_support")).await;
    assert!(matches!(dup, Err(StoreError::Conflict { what: "queue", .. })), "{dup:?}");
    assert_eq!(store.list_queues(org, &Page::default()).await.expect("list").items, vec![q]);
}

pub async fn update_of_a_missing_row_is_not_found(db: TestDb) {
    let store = db.migrated().await;
    let u = user(OrgId::from_u128(1), 10, "ghost");
    assert!(matches!(store.update_user(&u).await, Err(StoreError::NotFound { what: "user", .. })));
    assert!(matches!(store.update_org(&org(5)).await, Err(StoreError::NotFound { what: "org", .. })));
}

pub async fn another_orgs_rows_are_never_returned(db: TestDb) {
    let store = db.migrated().await;
    let (mine, theirs) = (OrgId::from_u128(1), OrgId::from_u128(2));
    let u = user(theirs, 10, "1001");
    let a = agent(theirs, 20, u.id, "1001");
    let q = queue(theirs, 40, "general");
    store.insert_user(&u).await.expect("user");
    store.insert_agent(&a).await.expect("agent");
    store.insert_queue(&q).await.expect("queue");
    assert_eq!(store.get_user(mine, u.id).await.expect("get"), None);
    assert_eq!(store.find_user_by_username(mine, &u.username).await.expect("find"), None);
    assert_eq!(store.get_agent(mine, a.id).await.expect("get"), None);
    assert_eq!(store.find_agent_by_extension(mine, &a.extension).await.expect("find"), None);
    assert_eq!(store.find_agent_by_user(mine, u.id).await.expect("find"), None);
    assert_eq!(store.get_queue(mine, q.id).await.expect("get"), None);
    assert!(store.list_users(mine, &Page::default()).await.expect("list").items.is_empty());
    assert!(store.list_agents(mine, &Page::default()).await.expect("list").items.is_empty());
    let mut stolen = u.clone();
    stolen.org = mine;
    assert!(matches!(store.update_user(&stolen).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.get_user(theirs, u.id).await.expect("get"), Some(u));
}

pub async fn users_page_in_id_order_within_the_limit(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    for n in (1..=7u128).rev() {
        store.insert_user(&user(org, n, &format!("u{n}"))).await.expect("insert");
    }
    store.insert_user(&user(OrgId::from_u128(2), 99, "other")).await.expect("other org");
    let first = store.list_users(org, &Page::first(3)).await.expect("page 1");
    let ids: Vec<u128> = first.items.iter().map(|u| u.id.as_uuid().as_u128()).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    let next = first.next.expect("more pages");
    let second = store.list_users(org, &Page::after(3, next)).await.expect("page 2");
    let third = store.list_users(org, &Page::after(3, second.next.clone().expect("page 3"))).await.expect("page 3");
    let ids: Vec<u128> = second.items.iter().chain(&third.items).map(|u| u.id.as_uuid().as_u128()).collect();
    assert_eq!(ids, vec![4, 5, 6, 7]);
    assert_eq!(third.next, None);
    let capped = store.list_users(org, &Page::first(u32::MAX)).await.expect("capped");
    assert_eq!(capped.items.len(), 7);
    let one = store.list_users(org, &Page::first(0)).await.expect("limit 0 reads as 1");
    assert_eq!(one.items.len(), 1);
    assert_eq!(Page::first(u32::MAX).effective_limit(), MAX_PAGE_SIZE);
    let forged = store.list_users(org, &Page::after(3, Cursor::from_text("' OR 1=1 --"))).await;
    assert!(matches!(forged, Err(StoreError::InvalidInput { .. })), "{forged:?}");
}

pub async fn corrupt_stored_extension_is_reported_not_panicked(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let a = agent(org, 20, UserId::from_u128(10), "1001");
    store.insert_agent(&a).await.expect("insert");
    store.raw_execute("UPDATE agents SET extension = 'x1' WHERE extension = '1001'").await;
    match store.get_agent(org, a.id).await {
        Err(StoreError::Corrupt { what, reason }) => {
            assert_eq!(what, "agents.extension");
            assert!(reason.contains("2 to 10 digits"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
