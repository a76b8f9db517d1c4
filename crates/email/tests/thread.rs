//! Threading, reply headers and auto-acknowledgement with loop protection.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::collections::HashMap;

use email::mime::{self, MimeLimits};
use email::thread::{self, RandomMessageIds, ThreadLookup, ThreadMatch, reply_subject, ticket_tag};
use email::{AckDecision, AckLanguage, AutoAckLimits, AutoAcknowledger, Mailbox, SuppressReason};
use model::Timestamp;

#[derive(Default)]
struct Store {
    by_message_id: HashMap<String, u32>,
    by_ticket: HashMap<i64, u32>,
}

impl ThreadLookup for Store {
    type Conversation = u32;
    fn conversation_by_message_id(&self, id: &str) -> Option<u32> {
        self.by_message_id.get(id).copied()
    }
    fn conversation_by_ticket_number(&self, n: i64) -> Option<u32> {
        self.by_ticket.get(&n).copied()
    }
}

fn fixture(name: &str) -> email::InboundEmail {
    let raw = std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    mime::parse(&raw, None, &MimeLimits::default()).unwrap()
}

fn ids() -> RandomMessageIds<impl FnMut() -> u128> {
    let mut n = 0u128;
    RandomMessageIds {
        domain: "hotline.test".into(),
        random: move || {
            n += 1;
            n
        },
    }
}

fn support() -> Mailbox {
    Mailbox::new(Some("Support"), "support@hotline.test")
}

#[test]
fn in_reply_to_wins_over_references_and_subject_tag() {
    let mut store = Store::default();
    store.by_message_id.insert("ack-9@hotline.test".into(), 7);
    store.by_message_id.insert("root-1@example.com".into(), 8);
    assert_eq!(thread::thread(&fixture("multipart_attachment.eml"), &store), ThreadMatch::InReplyTo(7));
}

#[test]
fn references_thread_when_in_reply_to_is_unknown() {
    let mut store = Store::default();
    store.by_message_id.insert("root-1@example.com".into(), 8);
    assert_eq!(thread::thread(&fixture("multipart_attachment.eml"), &store), ThreadMatch::References(8));
}

#[test]
fn ticket_tag_in_subject_is_the_fallback() {
    let mut store = Store::default();
    store.by_ticket.insert(1042, 3);
    assert_eq!(thread::thread(&fixture("subject_base64.eml"), &store), ThreadMatch::TicketTag(3));
}

#[test]
fn unknown_message_starts_a_new_conversation() {
    assert_eq!(thread::thread(&fixture("plain_utf8.eml"), &Store::default()), ThreadMatch::New);
}

#[test]
fn ticket_tag_parsing_ignores_lookalikes() {
    assert_eq!(ticket_tag("Re: order [#1042] again"), Some(1042));
    assert_eq!(ticket_tag("[#] [#12a] [#77]"), Some(77));
    assert_eq!(ticket_tag("#1042"), None);
    assert_eq!(ticket_tag("[#99999999999999999999]"), None);
}

#[test]
fn reply_subject_adds_re_once_and_the_ticket_tag_once() {
    assert_eq!(reply_subject("Printer", Some(5)), "Re: Printer [#5]");
    assert_eq!(reply_subject("RE: Re: Printer [#5]", Some(5)), "Re: Printer [#5]");
    assert_eq!(reply_subject("回复：订单", None), "Re: 订单");
}

#[test]
fn reply_carries_in_reply_to_references_and_a_fresh_message_id() {
    let original = fixture("multipart_attachment.eml");
    let reply = thread::reply_to(&original, support(), "Done.".into(), Some(1042), &mut ids(), 50);
    assert_eq!(reply.in_reply_to.as_deref(), Some("multi-1@example.com"));
    assert_eq!(reply.references, vec!["root-1@example.com", "ack-9@hotline.test", "multi-1@example.com"]);
    assert_eq!(reply.message_id, "00000000000000000000000000000001@hotline.test");
    assert_eq!(reply.subject, "Re: Invoice question [#1042]");
    assert_eq!(reply.to[0].address, "bob@example.com");
}

fn acker(max_per_hour: u32) -> AutoAcknowledger {
    let limits = AutoAckLimits { max_acks_per_sender_per_hour: max_per_hour, ..AutoAckLimits::default() };
    AutoAcknowledger::new(support(), limits)
}

#[test]
fn person_gets_a_chinese_acknowledgement_with_the_ticket_number() {
    let decision =
        acker(3).decide(Timestamp::from_unix_ms(0), &fixture("gbk_body.eml"), 1042, AckLanguage::ZhCn, &mut ids());
    let AckDecision::Send(ack) = decision else { panic!("expected an acknowledgement, got {decision:?}") };
    assert!(ack.text_body.contains("工单号为 [#1042]"), "{}", ack.text_body);
    assert_eq!(ack.subject, "Re: order [#1042]");
    assert_eq!(ack.auto_submitted, Some("auto-replied"));
    assert_eq!(ack.in_reply_to.as_deref(), Some("gbk-1@example.cn"));
}

#[test]
fn english_acknowledgement_names_the_ticket() {
    let decision =
        acker(3).decide(Timestamp::from_unix_ms(0), &fixture("plain_utf8.eml"), 7, AckLanguage::En, &mut ids());
    let AckDecision::Send(ack) = decision else { panic!("expected an acknowledgement") };
    assert!(ack.text_body.contains("opened ticket [#7]"));
}

#[test]
fn bounces_auto_replies_and_lists_are_never_acknowledged() {
    let mut a = acker(3);
    let now = Timestamp::from_unix_ms(0);
    let cases = [
        ("bounce.eml", SuppressReason::Bounce),
        ("auto_reply.eml", SuppressReason::AutoReply),
        ("mailing_list.eml", SuppressReason::MailingList),
    ];
    for (name, reason) in cases {
        assert_eq!(a.decide(now, &fixture(name), 1, AckLanguage::En, &mut ids()), AckDecision::Suppressed(reason));
    }
}

#[test]
fn same_sender_is_acknowledged_at_most_n_times_per_hour() {
    let mut a = acker(2);
    let e = fixture("plain_utf8.eml");
    let at = |ms| Timestamp::from_unix_ms(ms);
    assert!(matches!(a.decide(at(0), &e, 1, AckLanguage::En, &mut ids()), AckDecision::Send(_)));
    assert!(matches!(a.decide(at(1_000), &e, 1, AckLanguage::En, &mut ids()), AckDecision::Send(_)));
    let third = a.decide(at(2_000), &e, 1, AckLanguage::En, &mut ids());
    assert_eq!(third, AckDecision::Suppressed(SuppressReason::SenderRateLimited));
    assert!(matches!(a.decide(at(3_600_000), &e, 1, AckLanguage::En, &mut ids()), AckDecision::Send(_)));
}

#[test]
fn mail_from_our_own_address_is_not_acknowledged() {
    let raw = b"From: support@hotline.test\r\nSubject: x\r\n\r\nloop\r\n";
    let e = mime::parse(raw, None, &MimeLimits::default()).unwrap();
    let decision = acker(3).decide(Timestamp::from_unix_ms(0), &e, 1, AckLanguage::En, &mut ids());
    assert_eq!(decision, AckDecision::Suppressed(SuppressReason::OwnAddress));
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_subject_gets_one_re_prefix_and_a_parsable_tag(subject in ".{0,80}", n in 0i64..1_000_000) {
            let reply = reply_subject(&subject, Some(n));
            prop_assert!(reply.starts_with("Re: "));
            prop_assert!(!reply[4..].to_lowercase().starts_with("re:"));
            prop_assert!(ticket_tag(&reply).is_some());
        }
    }
}
