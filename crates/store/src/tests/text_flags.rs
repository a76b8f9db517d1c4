//! Keyword-rule flags from a contact's texts: only new flags are stored and answered, they are
//! listed per contact and org, bad ones are refused whole, and a flagged contact is a flagged
//! QA candidate.

use model::{AgentId, ContactId, OrgId, Timestamp};

use super::fixtures::{T0, contact};
use super::harness::TestDb;
use crate::{FlaggedText, MAX_TEXT_FLAGS_PER_CONTACT, StoreError, TextFlag};

fn flag(org: u128, contact: u128, rule: &str, keyword: &str, text: FlaggedText, ordinal: u32) -> TextFlag {
    TextFlag {
        org: OrgId::from_u128(org),
        contact: ContactId::from_u128(contact),
        rule: rule.to_owned(),
        keyword: keyword.to_owned(),
        text,
        text_ordinal: ordinal,
        flagged_at: Timestamp::from_unix_ms(T0 + i64::from(ordinal)),
    }
}

pub async fn only_new_text_flags_are_stored_and_answered_per_contact_and_org(db: TestDb) {
    let store = db.migrated().await;
    let (org, c7) = (OrgId::from_u128(1), ContactId::from_u128(7));
    let complaint = flag(1, 7, "complaint", "投诉", FlaggedText::ChatMessage, 3);
    let cancel = flag(1, 7, "cancel", "cancel*", FlaggedText::Note, 0);
    assert_eq!(store.add_text_flags(std::slice::from_ref(&complaint)).await.expect("first"), vec![complaint.clone()]);
    // Indexing the contact again finds the complaint again (in a later email too) and a new rule.
    let again = flag(1, 7, "complaint", "complain*", FlaggedText::Email, 9);
    let added = store.add_text_flags(&[again, cancel.clone(), cancel.clone()]).await.expect("again");
    assert_eq!(added, vec![cancel.clone()], "only the rule that had not flagged the contact, once");
    assert_eq!(store.add_text_flags(std::slice::from_ref(&complaint)).await.expect("third"), vec![]);
    assert_eq!(store.list_text_flags(org, c7).await.expect("list"), vec![cancel, complaint.clone()]);
    // The same contact id in another org is another contact.
    let elsewhere = flag(2, 7, "complaint", "投诉", FlaggedText::Note, 0);
    assert_eq!(store.add_text_flags(std::slice::from_ref(&elsewhere)).await.expect("other org"), vec![elsewhere]);
    assert_eq!(store.list_text_flags(org, c7).await.expect("list").len(), 2);
    assert_eq!(store.list_text_flags(org, ContactId::from_u128(8)).await.expect("none"), vec![]);
    assert_eq!(store.add_text_flags(&[]).await.expect("nothing"), vec![]);
}

pub async fn bad_text_flags_are_refused_whole(db: TestDb) {
    let store = db.migrated().await;
    let good = flag(1, 9, "refund", "退款", FlaggedText::Email, 0);
    let empty_rule = flag(1, 9, " ", "退款", FlaggedText::Email, 1);
    let long_keyword = flag(1, 9, "x", &"k".repeat(101), FlaggedText::Email, 1);
    for bad in [empty_rule, long_keyword] {
        let r = store.add_text_flags(&[good.clone(), bad]).await;
        assert!(matches!(r, Err(StoreError::InvalidInput { .. })), "{r:?}");
    }
    let too_many: Vec<TextFlag> =
        (0..=MAX_TEXT_FLAGS_PER_CONTACT).map(|n| flag(1, 9, &format!("r{n}"), "k", FlaggedText::Note, 0)).collect();
    assert!(matches!(store.add_text_flags(&too_many).await, Err(StoreError::InvalidInput { .. })));
    assert_eq!(store.list_text_flags(OrgId::from_u128(1), ContactId::from_u128(9)).await.expect("list"), vec![]);
}

pub async fn text_flagged_contacts_are_flagged_qa_candidates(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    for n in [1, 2, 3] {
        let mut c = contact(org, n, None, T0);
        c.agent = Some(AgentId::from_u128(50));
        c.ended_at = Some(Timestamp::from_unix_ms(T0 + n as i64 * 10));
        store.insert_contact(&c).await.expect("insert");
    }
    store.add_text_flags(&[flag(1, 1, "complaint", "投诉", FlaggedText::ChatMessage, 2)]).await.expect("flag");
    // The same contact id in another org carries a flag that must not leak.
    store.add_text_flags(&[flag(2, 3, "complaint", "投诉", FlaggedText::Note, 0)]).await.expect("other org");
    let got = store
        .list_qa_candidates(org, Timestamp::from_unix_ms(T0), Timestamp::from_unix_ms(T0 + 1_000), 10)
        .await
        .expect("list");
    let seen: Vec<(ContactId, bool)> = got.iter().map(|c| (c.contact, c.flagged)).collect();
    assert_eq!(
        seen,
        vec![(ContactId::from_u128(1), true), (ContactId::from_u128(2), false), (ContactId::from_u128(3), false)]
    );
}
