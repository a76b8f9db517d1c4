//! Email messages: round trip, a redelivered Message-ID stored once, threading lookup, org scoping.

use model::{ContactId, OrgId, Timestamp};

use super::fixtures::T0;
use super::harness::TestDb;
use crate::{EmailDirection, EmailMessage, StoreError};

fn message(org: u128, id: &str, contact: u128, at: i64) -> EmailMessage {
    EmailMessage {
        org: OrgId::from_u128(org),
        message_id: id.to_owned(),
        contact: ContactId::from_u128(contact),
        direction: EmailDirection::Inbound,
        from_address: "xiaoming@example.com".into(),
        to_address: "support@shop.test".into(),
        subject: "订单还没到".into(),
        in_reply_to: None,
        references: Vec::new(),
        body_text: "您好，我的订单还没到。".into(),
        at: Timestamp::from_unix_ms(T0 + at),
    }
}

pub async fn email_messages_round_trip_thread_by_message_id_and_a_redelivery_is_stored_once(db: TestDb) {
    let store = db.migrated().await;
    let first = message(1, "a1@example.com", 7, 0);
    let mut reply = message(1, "r1@shop.test", 7, 10);
    reply.direction = EmailDirection::Outbound;
    reply.in_reply_to = Some("a1@example.com".into());
    reply.references = vec!["a0@example.com".into(), "a1@example.com".into()];
    assert!(store.insert_email_message(&first).await.expect("first"));
    assert!(store.insert_email_message(&reply).await.expect("reply"));
    assert!(!store.insert_email_message(&first).await.expect("again"), "a redelivery was stored twice");
    let contact = ContactId::from_u128(7);
    assert_eq!(store.list_email_messages(first.org, contact, 100).await.expect("list"), vec![first.clone(), reply]);
    assert_eq!(store.email_contact_by_message_id(first.org, "r1@shop.test").await.expect("find"), Some(contact));
    assert_eq!(store.email_contact_by_message_id(first.org, "nope@x").await.expect("none"), None);
    // Another org sees nothing of it.
    assert_eq!(store.email_contact_by_message_id(OrgId::from_u128(2), "a1@example.com").await.expect("other"), None);
    assert!(store.list_email_messages(OrgId::from_u128(2), contact, 100).await.expect("other").is_empty());
    let bad = message(1, "", 7, 0);
    assert!(matches!(store.insert_email_message(&bad).await, Err(StoreError::InvalidInput { .. })));
}
