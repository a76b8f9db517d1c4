//! The admin page's Customers tab in Debian's Chromium (`browser/customers.mjs`, playwright-core):
//! one person recorded twice — by phone on a call, by email and WeChat — is found by name,
//! merged, and shows one history with the contacts of both. Screenshots in
//! `target/screenshots/admin-customers-*.png`.

mod common;

use std::time::Duration;

use model::*;

const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

/// Customer "王小明" twice: a regular one who called, and a silver one who wrote by email and WeChat.
async fn seed(store: &store::Store) -> (CustomerId, CustomerId) {
    let org = demo::DEMO_ORG;
    let at = Timestamp::from_unix_ms(common::T0.unix_ms() - 3_600_000);
    let record = |n: u128, phone: &str, email: Option<&str>, vip: VipTier| Customer {
        id: CustomerId::from_u128(n),
        org,
        name: "王小明".into(),
        phones: vec![E164::parse_strict(phone).expect("phone")],
        emails: email.map(|e| Email::parse(e).expect("email")).into_iter().collect(),
        social_ids: Vec::new(),
        vip,
        attributes: Default::default(),
        language: None,
        created_at: at,
    };
    let called = record(0xd1_0001, "+8613912340001", None, VipTier::Normal);
    let wrote = record(0xd1_0002, "+8613912340002", Some("wang.xm@example.com"), VipTier::Silver);
    for c in [&called, &wrote] {
        store.insert_customer(c).await.expect("customer");
    }
    let rows = [
        (0xd2_0001, called.id, Channel::Voice, "+8613912340001"),
        (0xd2_0002, wrote.id, Channel::WeChat, "o_wang_xm"),
        (0xd2_0003, wrote.id, Channel::Email, "wang.xm@example.com"),
    ];
    for (i, (n, customer, channel, from)) in rows.into_iter().enumerate() {
        let arrived = Timestamp::from_unix_ms(at.unix_ms() + i as i64 * 60_000);
        let mut c = Contact::arrived(ContactId::from_u128(n), org, channel, Direction::Inbound, from, "4000", arrived);
        c.customer = Some(customer);
        store.insert_contact(&c).await.expect("contact");
    }
    (called.id, wrote.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_merges_two_records_of_one_customer_and_sees_one_history_in_chromium() {
    common::browser::require_tools();
    let s = common::start().await;
    let (keep, away) = seed(&s.store).await;
    let (keep_id, away_id) = (keep.to_string(), away.to_string());
    common::browser::run_scenario("customers.mjs", &s.base, &["王小明", &keep_id, &away_id], SCENARIO_LIMIT).await;
    for name in ["admin-customers-merged.png", "admin-customers-en.png"] {
        common::browser::assert_screenshot(name);
    }
    // What the page did is in the store: one customer, three contacts, the old id a marker.
    let org = demo::DEMO_ORG;
    assert_eq!(s.store.get_customer(org, away).await.expect("read"), None);
    let marker = s.store.customer_merged_into(org, away).await.expect("read").expect("marker");
    assert_eq!(marker.into, keep);
    let history = s.store.list_contacts_by_customer(org, keep, &store::Page::default()).await.expect("history");
    assert_eq!(history.items.len(), 3);
}
