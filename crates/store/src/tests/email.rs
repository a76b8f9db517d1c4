//! Email messages: round trip, a redelivered Message-ID stored once, threading lookup, org scoping.

use model::{ContactId, OrgId, Timestamp};

use super::fixtures::T0;
use super::harness::TestDb;
use crate::{AttachmentFate, EmailAttachment, EmailDirection, EmailMessage, StoreError};

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

fn attachment(m: &EmailMessage, part_index: u32, fate: AttachmentFate) -> EmailAttachment {
    EmailAttachment {
        org: m.org,
        id: uuid::Uuid::from_u128(0xa77a_0000 + u128::from(part_index)),
        message_id: m.message_id.clone(),
        contact: m.contact,
        part_index,
        filename: Some("发票.pdf".into()),
        content_type: "application/pdf".into(),
        size_bytes: 1234,
        fate,
        at: m.at,
    }
}

pub async fn a_message_is_stored_with_its_attachments_whole_and_a_redelivery_writes_nothing(db: TestDb) {
    let store = db.migrated().await;
    let m = message(1, "att1@example.com", 7, 0);
    let kept = attachment(&m, 0, AttachmentFate::Stored { path: "2026/11/27/a".into(), sha256: "ab".repeat(32) });
    let mut refused = attachment(&m, 1, AttachmentFate::Refused { reason: "30000000 bytes, over the limit".into() });
    refused.filename = None;
    let both = [kept.clone(), refused.clone()];
    assert!(store.insert_email_message_with_attachments(&m, &both).await.expect("store"));
    assert!(!store.insert_email_message_with_attachments(&m, &both).await.expect("again"), "redelivery stored");
    assert_eq!(store.list_email_attachments(m.org, m.contact, 100).await.expect("list"), both.to_vec());
    assert_eq!(store.get_email_attachment(m.org, kept.id).await.expect("get"), Some(kept.clone()));
    assert_eq!(store.get_email_attachment(OrgId::from_u128(2), kept.id).await.expect("other org"), None);
    assert!(store.list_email_attachments(OrgId::from_u128(2), m.contact, 100).await.expect("other").is_empty());
    // A bad attachment row stores neither it nor its message.
    let m2 = message(1, "att2@example.com", 7, 5);
    let escape = attachment(&m2, 0, AttachmentFate::Stored { path: "../etc/passwd".into(), sha256: "ab".repeat(32) });
    let err = store.insert_email_message_with_attachments(&m2, &[escape]).await;
    assert!(matches!(err, Err(StoreError::InvalidInput { .. })), "{err:?}");
    // A failing attachment insert (its id is taken) rolls the message back.
    let mut dup = attachment(&m2, 0, AttachmentFate::Refused { reason: "x".into() });
    dup.id = kept.id;
    assert!(store.insert_email_message_with_attachments(&m2, &[dup]).await.is_err());
    assert_eq!(store.email_contact_by_message_id(m.org, "att2@example.com").await.expect("find"), None);
}
