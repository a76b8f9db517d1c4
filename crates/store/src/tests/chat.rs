//! Web chat conversations and transcripts: round trips, a message written twice stored once,
//! state changes, the first rating kept, read marks only rising, and org scoping.

use model::{AgentId, ContactId, Email, Language, OrgId, Timestamp};

use super::fixtures::T0;
use super::harness::TestDb;
use crate::{ChatAttachment, ChatAuthor, ChatConversation, ChatConversationState, ChatMessage, StoreError};

const CHAT: &str = "0123456789abcdef0123456789abcdef";

fn conversation(org: u128) -> ChatConversation {
    ChatConversation {
        org: OrgId::from_u128(org),
        id: CHAT.to_owned(),
        token_sha256: "ab".repeat(32),
        contact: None,
        customer_name: "王小明".into(),
        issue_type: "order".into(),
        language: Language::parse("zh-CN").expect("language"),
        email: Some(Email::parse("xiaoming@example.com").expect("email")),
        state: ChatConversationState::Queued,
        agent: None,
        started_at: Timestamp::from_unix_ms(T0),
        updated_at: Timestamp::from_unix_ms(T0),
        ended_at: None,
        customer_read_seq: 0,
        rating: None,
        rating_comment: None,
        rated_at: None,
    }
}

fn message(org: u128, seq: u64, author: ChatAuthor, text: &str) -> ChatMessage {
    ChatMessage {
        org: OrgId::from_u128(org),
        conversation_id: CHAT.to_owned(),
        seq,
        author,
        text: text.to_owned(),
        client_msg_id: (author == ChatAuthor::Customer).then(|| format!("c{seq}")),
        sent_at: Timestamp::from_unix_ms(T0 + i64::try_from(seq).expect("small")),
        attachment: None,
    }
}

pub async fn chat_conversation_and_transcript_round_trip_and_a_repeated_message_is_stored_once(db: TestDb) {
    let store = db.migrated().await;
    let mut c = conversation(1);
    store.save_chat_conversation(&c).await.expect("insert");
    store.save_chat_conversation(&c).await.expect("a second save replaces");
    assert_eq!(store.get_chat_conversation(c.org, CHAT).await.expect("get"), Some(c.clone()));

    let first = message(1, 1, ChatAuthor::Customer, "我的订单还没到");
    let mut file = message(1, 2, ChatAuthor::Customer, "photo.png");
    file.attachment = Some(ChatAttachment { name: "photo.png".into(), mime: "image/png".into(), bytes: 2048 });
    let reply = message(1, 3, ChatAuthor::Agent, "您好,我来查一下");
    assert!(store.insert_chat_message(&first).await.expect("first"));
    assert!(store.insert_chat_message(&file).await.expect("file"));
    assert!(store.insert_chat_message(&reply).await.expect("reply"));
    assert!(!store.insert_chat_message(&first).await.expect("repeat"), "a repeated write was stored again");
    let all = store.list_chat_messages(c.org, CHAT, 0, 100).await.expect("list");
    assert_eq!(all, vec![first, file, reply.clone()]);
    assert_eq!(store.list_chat_messages(c.org, CHAT, 2, 100).await.expect("after 2"), vec![reply]);

    let contact = ContactId::from_u128(77);
    let agent = AgentId::from_u128(5);
    store.link_chat_contact(c.org, CHAT, contact).await.expect("link");
    let at = Timestamp::from_unix_ms(T0 + 50);
    store.set_chat_conversation_state(c.org, CHAT, ChatConversationState::Open, at).await.expect("open");
    store.set_chat_conversation_agent(c.org, CHAT, Some(agent), at).await.expect("agent");
    store.set_chat_customer_read(c.org, CHAT, 3).await.expect("read 3");
    store.set_chat_customer_read(c.org, CHAT, 1).await.expect("read 1 changes nothing");
    assert!(store.rate_chat_conversation(c.org, CHAT, 5, Some("很好"), at).await.expect("rate"));
    assert!(!store.rate_chat_conversation(c.org, CHAT, 1, None, at).await.expect("rate again"), "second rating kept");
    c.contact = Some(contact);
    c.agent = Some(agent);
    c.state = ChatConversationState::Open;
    c.updated_at = at;
    c.customer_read_seq = 3;
    c.rating = Some(5);
    c.rating_comment = Some("很好".into());
    c.rated_at = Some(at);
    assert_eq!(store.find_chat_conversation_by_contact(c.org, contact).await.expect("by contact"), Some(c));
}

pub async fn another_orgs_chat_is_never_returned_and_bad_ids_are_refused(db: TestDb) {
    let store = db.migrated().await;
    store.save_chat_conversation(&conversation(1)).await.expect("insert");
    assert!(store.insert_chat_message(&message(1, 1, ChatAuthor::Customer, "hi")).await.expect("message"));
    let other = OrgId::from_u128(2);
    assert_eq!(store.get_chat_conversation(other, CHAT).await.expect("get"), None);
    assert_eq!(store.list_chat_messages(other, CHAT, 0, 100).await.expect("list"), vec![]);
    let at = Timestamp::from_unix_ms(T0);
    let moved = store.set_chat_conversation_state(other, CHAT, ChatConversationState::Ended, at).await;
    assert!(matches!(moved, Err(StoreError::NotFound { .. })), "{moved:?}");
    let one = OrgId::from_u128(1);
    store.set_chat_conversation_state(one, CHAT, ChatConversationState::Ended, at).await.expect("ended");
    let ended = store.get_chat_conversation(one, CHAT).await.expect("get").expect("row");
    assert_eq!((ended.state, ended.ended_at), (ChatConversationState::Ended, Some(at)));
    assert_eq!(store.get_chat_conversation(OrgId::from_u128(1), "not-hex").await.expect("get"), None);
    let mut bad = conversation(1);
    bad.id = "../etc".into();
    assert!(matches!(store.save_chat_conversation(&bad).await, Err(StoreError::InvalidInput { .. })));
    assert!(matches!(
        store.rate_chat_conversation(OrgId::from_u128(1), CHAT, 9, None, at).await,
        Err(StoreError::InvalidInput { .. })
    ));
}

pub async fn chat_rows_and_messages_are_written_in_batches_and_a_repeated_message_is_left_alone(db: TestDb) {
    let store = db.migrated().await;
    let mut other = conversation(1);
    other.id = "fedcba9876543210fedcba9876543210".into();
    let c = conversation(1);
    assert_eq!(store.insert_chat_conversations(&[c.clone(), other.clone()]).await.expect("two new rows"), 2);
    let mut again = c.clone();
    again.state = ChatConversationState::Open;
    assert_eq!(store.insert_chat_conversations(&[again]).await.expect("a retried write"), 0);
    assert_eq!(store.get_chat_conversation(c.org, CHAT).await.expect("get"), Some(c.clone()), "left alone");
    assert_eq!(store.get_chat_conversation(c.org, &other.id).await.expect("get"), Some(other));

    let first = message(1, 1, ChatAuthor::Customer, "我要退款");
    let reply = message(1, 2, ChatAuthor::Agent, "好的");
    assert_eq!(store.insert_chat_messages(&[first.clone(), reply.clone()]).await.expect("batch"), 2);
    let mut changed = first.clone();
    changed.text = "a retried write must not change the stored message".into();
    let third = message(1, 3, ChatAuthor::Customer, "谢谢");
    assert_eq!(store.insert_chat_messages(&[changed, third.clone()]).await.expect("batch with a repeat"), 1);
    assert_eq!(store.list_chat_messages(c.org, CHAT, 0, 100).await.expect("list"), vec![first, reply, third]);

    // A bad row refuses the whole batch: nothing of it is written.
    let mut bad = message(1, 9, ChatAuthor::Customer, "x");
    bad.conversation_id = "not hex".into();
    let fourth = message(1, 4, ChatAuthor::Agent, "还有问题吗");
    assert!(store.insert_chat_messages(&[fourth, bad]).await.is_err());
    assert_eq!(store.list_chat_messages(c.org, CHAT, 3, 100).await.expect("list"), vec![]);
    let too_many = vec![message(1, 1, ChatAuthor::Agent, "x"); crate::MAX_CHAT_ROWS_PER_BATCH + 1];
    assert!(matches!(store.insert_chat_messages(&too_many).await, Err(StoreError::InvalidInput { .. })));
}
