//! Social messages: round trip in time order, delivery status updates, the newest message with a
//! sender, sender → customer links (first link wins), org scoping, the pending (queued) replies.

use model::{Channel, ContactId, CustomerId, OrgId, Timestamp};

use super::fixtures::T0;
use super::harness::TestDb;
use crate::{SocialDirection, SocialMessage, SocialStatus, StoreError};

fn message(org: u128, id: &str, contact: u128, at: i64) -> SocialMessage {
    SocialMessage {
        org: OrgId::from_u128(org),
        id: id.to_owned(),
        contact: ContactId::from_u128(contact),
        channel: Channel::WeChat,
        direction: SocialDirection::Inbound,
        peer_id: "oCustomer42".into(),
        text: "我的订单还没到".into(),
        status: SocialStatus::Received,
        failure_reason: None,
        attempts: 0,
        at: Timestamp::from_unix_ms(T0 + at),
        updated_at: Timestamp::from_unix_ms(T0 + at),
    }
}

pub async fn social_messages_round_trip_settle_their_delivery_and_link_senders_per_org(db: TestDb) {
    let store = db.migrated().await;
    let inbound = message(1, "m1", 7, 0);
    let mut reply = message(1, "m2", 7, 10);
    reply.direction = SocialDirection::Outbound;
    reply.status = SocialStatus::Queued;
    store.insert_social_message(&reply).await.expect("reply");
    store.insert_social_message(&inbound).await.expect("inbound");
    let (org, contact) = (inbound.org, ContactId::from_u128(7));
    assert_eq!(
        store.list_social_messages(org, contact, 100).await.expect("list"),
        vec![inbound.clone(), reply.clone()]
    );

    let settled = Timestamp::from_unix_ms(T0 + 20);
    let failed = store.set_social_message_status(org, "m2", SocialStatus::Failed, Some("errcode 45015"), 3, settled);
    assert!(failed.await.expect("status"));
    let listed = store.list_social_messages(org, contact, 100).await.expect("list");
    assert_eq!(
        (listed[1].status, listed[1].failure_reason.as_deref(), listed[1].attempts),
        (SocialStatus::Failed, Some("errcode 45015"), 3)
    );
    let last = store.last_social_message_with(org, Channel::WeChat, "oCustomer42").await.expect("last");
    assert_eq!(last.map(|m| m.id), Some("m2".to_owned()));
    assert_eq!(store.last_social_message_with(org, Channel::Weibo, "oCustomer42").await.expect("other channel"), None);

    let (a, b) = (CustomerId::from_u128(100), CustomerId::from_u128(101));
    assert!(store.link_social_sender(org, Channel::WeChat, "oCustomer42", a).await.expect("link"));
    assert!(!store.link_social_sender(org, Channel::WeChat, "oCustomer42", b).await.expect("again"));
    assert_eq!(store.social_sender_customer(org, Channel::WeChat, "oCustomer42").await.expect("find"), Some(a));

    // Another org sees nothing of it.
    let other = OrgId::from_u128(2);
    assert!(store.list_social_messages(other, contact, 100).await.expect("other").is_empty());
    assert_eq!(store.social_sender_customer(other, Channel::WeChat, "oCustomer42").await.expect("other"), None);
    assert!(!store.set_social_message_status(other, "m2", SocialStatus::Sent, None, 1, settled).await.expect("other"));
    // A sender id over the limit is refused, not cut.
    let mut long = message(1, "m3", 7, 30);
    long.peer_id = "x".repeat(crate::MAX_SOCIAL_PEER_ID_CHARS + 1);
    assert!(matches!(store.insert_social_message(&long).await, Err(StoreError::InvalidInput { .. })));
}

pub async fn pending_social_replies_are_the_queued_outbound_ones_oldest_first_within_the_limit_per_org(db: TestDb) {
    let store = db.migrated().await;
    let outbound = |org, id: &str, contact, at, status| {
        let mut m = message(org, id, contact, at);
        m.direction = SocialDirection::Outbound;
        m.status = status;
        m
    };
    let rows = [
        message(1, "in", 7, 0),
        outbound(1, "later", 7, 30, SocialStatus::Queued),
        outbound(1, "sent", 7, 5, SocialStatus::Sent),
        outbound(1, "failed", 7, 6, SocialStatus::Failed),
        outbound(1, "first", 8, 10, SocialStatus::Queued),
        outbound(1, "second-b", 7, 20, SocialStatus::Queued),
        outbound(1, "second-a", 8, 20, SocialStatus::Queued),
        outbound(2, "other-org", 7, 1, SocialStatus::Queued),
    ];
    for row in &rows {
        store.insert_social_message(row).await.expect("insert");
    }
    let org = OrgId::from_u128(1);
    let ids = |found: Vec<SocialMessage>| found.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.pending_social_replies(org, 100).await.expect("pending")),
        ["first", "second-a", "second-b", "later"]
    );
    assert_eq!(ids(store.pending_social_replies(org, 2).await.expect("limited")), ["first", "second-a"]);
    // A settled reply is no longer pending.
    let at = Timestamp::from_unix_ms(T0 + 40);
    assert!(store.set_social_message_status(org, "first", SocialStatus::Sent, None, 1, at).await.expect("settle"));
    assert_eq!(ids(store.pending_social_replies(org, 100).await.expect("after")), ["second-a", "second-b", "later"]);
    assert_eq!(ids(store.pending_social_replies(OrgId::from_u128(2), 100).await.expect("org 2")), ["other-org"]);
}
