//! Customer merges: everything of the merged customer moves to the survivor in one transaction,
//! the old id leaves a marker, refused merges change nothing, and customer search finds the
//! duplicates by name, phone or email.

use model::*;

use super::fixtures::*;
use super::harness::TestDb;
use crate::{Page, Store, StoreError};

const ORG: OrgId = OrgId::from_u128(1);
const AT: i64 = 1_790_000_000_000;

/// Customer 50 (silver, one phone, one email, a contact, a ticket, an order) and customer 51
/// (gold, a phone, an email, two contacts on other channels, a ticket, an order): the same person
/// found twice.
async fn two_records_of_one_person(store: &Store) -> (Customer, Customer) {
    let mut a = customer(ORG, 50, &["+8613800000001"], &["li.lei@example.com"]);
    a.vip = VipTier::Silver;
    a.attributes.insert("note".into(), "prefers calls".into());
    let mut b = customer(ORG, 51, &["+8613900000002"], &["LL@work.cn"]);
    b.language = None;
    b.attributes.insert("crm_id".into(), "C-other".into());
    b.attributes.insert("tier_since".into(), "2024".into());
    store.insert_customer(&a).await.expect("a");
    store.insert_customer(&b).await.expect("b");
    store.insert_contact(&contact(ORG, 700, Some(a.id), AT)).await.expect("contact a");
    let mut chat = contact(ORG, 701, Some(b.id), AT + 1_000);
    chat.channel = Channel::Chat;
    store.insert_contact(&chat).await.expect("contact b chat");
    let mut wechat = contact(ORG, 702, Some(b.id), AT + 2_000);
    wechat.channel = Channel::WeChat;
    store.insert_contact(&wechat).await.expect("contact b wechat");
    store.insert_ticket(&ticket(ORG, 800, 1, Some(a.id))).await.expect("ticket a");
    store.insert_ticket(&ticket(ORG, 801, 2, Some(b.id))).await.expect("ticket b");
    store.insert_order(&order(ORG, 900, "100001", a.id)).await.expect("order a");
    store.insert_order(&order(ORG, 901, "100002", b.id)).await.expect("order b");
    (a, b)
}

pub async fn merge_moves_contacts_tickets_orders_and_identities_to_the_survivor(db: TestDb) {
    let store = db.migrated().await;
    let (a, b) = two_records_of_one_person(&store).await;
    assert!(store.link_social_sender(ORG, Channel::WeChat, "o_openid_51", b.id).await.expect("link openid"));
    let (merged, counts) =
        store.merge_customers(ORG, a.id, b.id, Timestamp::from_unix_ms(AT + 5_000), "supervisor").await.expect("merge");
    assert_eq!(
        (counts.phones, counts.emails, counts.social_ids, counts.contacts, counts.tickets, counts.orders),
        (1, 1, 1, 2, 1, 1)
    );
    assert_eq!(counts.social_senders, 1);
    let openid = store.social_sender_customer(ORG, Channel::WeChat, "o_openid_51").await.expect("openid");
    assert_eq!(openid, Some(a.id), "the WeChat openid now finds the survivor");
    let stored = store.get_customer(ORG, a.id).await.expect("get").expect("survivor");
    assert_eq!(stored, merged, "what merge returns is what was stored");
    assert_eq!(stored.vip, VipTier::Gold, "the higher VIP tier is kept");
    assert_eq!(stored.phones, vec![phone("+8613800000001"), phone("+8613900000002")]);
    assert_eq!(stored.emails.iter().map(Email::as_str).collect::<Vec<_>>(), ["li.lei@example.com", "LL@work.cn"]);
    assert_eq!(stored.social_ids.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["wx_50", "wx_51"]);
    assert_eq!(stored.attributes.get("crm_id").map(String::as_str), Some("C50"), "the survivor's own value wins");
    assert_eq!(stored.attributes.get("tier_since").map(String::as_str), Some("2024"), "missing keys are taken");
    assert_eq!(stored.language, a.language);
    for p in ["+8613800000001", "+8613900000002"] {
        let found = store.find_customer_by_phone(ORG, &phone(p)).await.expect("by phone").map(|c| c.id);
        assert_eq!(found, Some(a.id), "{p}");
    }
    let by_email = store.find_customer_by_email(ORG, &Email::parse("ll@WORK.cn").expect("email")).await.expect("find");
    assert_eq!(by_email.map(|c| c.id), Some(a.id));
    let history = store.list_contacts_by_customer(ORG, a.id, &Page::default()).await.expect("history");
    assert_eq!(history.items.iter().map(|c| c.id).collect::<Vec<_>>(), [702, 701, 700].map(ContactId::from_u128));
    let tickets = store.list_tickets_by_customer(ORG, a.id, &Page::default()).await.expect("tickets");
    assert_eq!(tickets.items.len(), 2);
    let orders = store.list_orders_by_customer(ORG, a.id, &Page::default()).await.expect("orders");
    assert_eq!(orders.items.len(), 2);

    assert_eq!(store.get_customer(ORG, b.id).await.expect("get"), None, "the merged row is gone");
    let marker = store.customer_merged_into(ORG, b.id).await.expect("marker").expect("a marker is left");
    assert_eq!((marker.from, marker.into, marker.from_name.as_str()), (b.id, a.id, b.name.as_str()));
    assert_eq!((marker.merged_at.unix_ms(), marker.merged_by.as_str()), (AT + 5_000, "supervisor"));
    assert_eq!(store.customer_merged_into(ORG, a.id).await.expect("marker"), None);
    assert_eq!(store.customer_merged_into(OrgId::from_u128(2), b.id).await.expect("other org"), None);
    let listed = store.list_customers(ORG, &Page::default()).await.expect("list");
    assert_eq!(listed.items.iter().map(|c| c.id).collect::<Vec<_>>(), [a.id]);
}

pub async fn refused_merges_change_nothing(db: TestDb) {
    let store = db.migrated().await;
    let (a, b) = two_records_of_one_person(&store).await;
    let at = Timestamp::from_unix_ms(AT + 5_000);
    match store.merge_customers(ORG, a.id, a.id, at, "supervisor").await {
        Err(StoreError::InvalidInput { what: "customer merge", .. }) => {}
        other => panic!("merging into itself: expected InvalidInput, got {other:?}"),
    }
    let missing = CustomerId::from_u128(99);
    match store.merge_customers(ORG, a.id, missing, at, "supervisor").await {
        Err(StoreError::NotFound { what: "customer", .. }) => {}
        other => panic!("merging a missing customer: expected NotFound, got {other:?}"),
    }
    match store.merge_customers(OrgId::from_u128(2), a.id, b.id, at, "supervisor").await {
        Err(StoreError::NotFound { what: "customer", .. }) => {}
        other => panic!("merging another org's customers: expected NotFound, got {other:?}"),
    }
    assert_eq!(store.get_customer(ORG, a.id).await.expect("a"), Some(a.clone()), "refusals wrote nothing");
    assert_eq!(store.get_customer(ORG, b.id).await.expect("b"), Some(b.clone()));

    store.merge_customers(ORG, a.id, b.id, at, "supervisor").await.expect("merge");
    for (into, from) in [(a.id, b.id), (b.id, a.id)] {
        match store.merge_customers(ORG, into, from, at, "supervisor").await {
            Err(StoreError::Conflict { what: "customer merge", detail }) => {
                assert!(detail.contains(&b.id.to_string()), "{detail}");
            }
            other => panic!("an already merged customer: expected Conflict, got {other:?}"),
        }
    }
    let history = store.list_contacts_by_customer(ORG, a.id, &Page::default()).await.expect("history");
    assert_eq!(history.items.len(), 3, "a refused merge moved nothing back");
}

pub async fn merging_the_survivor_again_repoints_the_old_marker(db: TestDb) {
    let store = db.migrated().await;
    let (a, b) = two_records_of_one_person(&store).await;
    let c = customer(ORG, 52, &["+8613700000003"], &[]);
    store.insert_customer(&c).await.expect("c");
    let at = Timestamp::from_unix_ms(AT + 5_000);
    store.merge_customers(ORG, a.id, b.id, at, "supervisor").await.expect("b into a");
    store.merge_customers(ORG, c.id, a.id, at, "admin").await.expect("a into c");
    for old in [a.id, b.id] {
        let marker = store.customer_merged_into(ORG, old).await.expect("marker").expect("marker");
        assert_eq!(marker.into, c.id, "every old id answers with a customer that exists");
    }
    let history = store.list_contacts_by_customer(ORG, c.id, &Page::default()).await.expect("history");
    assert_eq!(history.items.len(), 3);
}

pub async fn customers_are_searched_by_name_phone_or_email(db: TestDb) {
    let store = db.migrated().await;
    let (a, b) = two_records_of_one_person(&store).await;
    let mut c = customer(ORG, 52, &["+12025550100"], &["someone@else.org"]);
    c.name = "Wang 100% Fang".into();
    store.insert_customer(&c).await.expect("c");
    store.insert_customer(&customer(OrgId::from_u128(2), 53, &["+8613800000009"], &[])).await.expect("other org");
    let search = |q: &'static str| {
        let store = store.clone();
        async move {
            let page = store.search_customers(ORG, q, &Page::default()).await.expect("search");
            page.items.iter().map(|c| c.id.as_uuid().as_u128()).collect::<Vec<_>>()
        }
    };
    assert_eq!(search("客户").await, vec![50, 51], "by name");
    assert_eq!(search("138000").await, vec![50], "by phone digits");
    assert_eq!(search("139 0000 0002").await, vec![51], "phone digits, written with spaces");
    assert_eq!(search("LI.LEI@").await, vec![50], "by email, whatever the case");
    assert_eq!(search("wang").await, vec![52], "by name, whatever the case");
    assert_eq!(search("100%").await, vec![52], "a % is taken literally");
    assert_eq!(search("_").await, Vec::<u128>::new(), "an _ is taken literally");
    let page = store.search_customers(ORG, "客户", &Page::first(1)).await.expect("page");
    assert_eq!(page.items.iter().map(|x| x.id).collect::<Vec<_>>(), [a.id]);
    let next = Page { after: page.next, ..Page::first(1) };
    let page = store.search_customers(ORG, "客户", &next).await.expect("next page");
    assert_eq!(page.items.iter().map(|x| x.id).collect::<Vec<_>>(), [b.id]);
    assert_eq!(page.items[0], b, "found customers come with their phones and emails");
    for bad in ["", "   ", &"x".repeat(crate::MAX_CUSTOMER_SEARCH_CHARS + 1)] {
        match store.search_customers(ORG, bad, &Page::default()).await {
            Err(StoreError::InvalidInput { what: "customer search", .. }) => {}
            other => panic!("{bad:?}: expected InvalidInput, got {other:?}"),
        }
    }
}
