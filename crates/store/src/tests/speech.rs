//! Speech analytics per contact: round trip, replacement per recording, org scoping, refusal of
//! bad figures, and QA candidates flagged by speech flags.

use model::{AgentId, ContactId, OrgId, RecordingId, Timestamp};

use super::fixtures::{T0, contact};
use super::harness::TestDb;
use crate::{ContactSpeech, StoreError};

fn speech(org: u128, contact: u128, recording: u128, flags: &[&str]) -> ContactSpeech {
    ContactSpeech {
        org: OrgId::from_u128(org),
        contact: ContactId::from_u128(contact),
        recording: RecordingId::from_u128(recording),
        duration_ms: 120_000,
        customer_talk_ms: 40_000,
        agent_talk_ms: 30_000,
        silence_ratio: 0.4375,
        longest_silence_ms: 45_000,
        overtalk_ms: 2_500,
        talk_ratio: Some(0.75),
        agent_interruptions: 2,
        flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        analysed_at: Timestamp::from_unix_ms(T0 + recording as i64),
    }
}

pub async fn contact_speech_round_trips_is_replaced_per_recording_and_scoped_to_the_org(db: TestDb) {
    let store = db.migrated().await;
    let first = speech(1, 7, 1, &["long_silence", "too_much_silence"]);
    let mut second = speech(1, 7, 2, &[]);
    second.talk_ratio = None;
    second.customer_talk_ms = 0;
    store.put_contact_speech(&first).await.expect("first");
    store.put_contact_speech(&second).await.expect("second");
    let contact = ContactId::from_u128(7);
    let org = OrgId::from_u128(1);
    assert_eq!(store.list_contact_speech(org, contact, 10).await.expect("list"), vec![first.clone(), second.clone()]);
    // Analysing the first recording again replaces its row.
    let mut again = first.clone();
    again.overtalk_ms = 9_000;
    again.flags = vec![];
    store.put_contact_speech(&again).await.expect("again");
    assert_eq!(store.list_contact_speech(org, contact, 10).await.expect("list"), vec![again, second]);
    assert_eq!(store.list_contact_speech(org, contact, 1).await.expect("limit").len(), 1);
    assert_eq!(store.list_contact_speech(OrgId::from_u128(2), contact, 10).await.expect("other org"), vec![]);
    let mut bad = speech(1, 8, 3, &["long silence"]);
    assert!(matches!(store.put_contact_speech(&bad).await, Err(StoreError::InvalidInput { .. })));
    bad.flags = vec![];
    bad.silence_ratio = f64::NAN;
    assert!(matches!(store.put_contact_speech(&bad).await, Err(StoreError::InvalidInput { .. })));
    assert_eq!(store.list_contact_speech(org, ContactId::from_u128(8), 10).await.expect("none"), vec![]);
}

pub async fn speech_flagged_contacts_are_flagged_qa_candidates(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    for n in [1, 2, 3] {
        let mut c = contact(org, n, None, T0);
        c.agent = Some(AgentId::from_u128(50));
        c.ended_at = Some(Timestamp::from_unix_ms(T0 + n as i64 * 10));
        store.insert_contact(&c).await.expect("insert");
    }
    store.put_contact_speech(&speech(1, 1, 11, &["long_silence"])).await.expect("flagged");
    store.put_contact_speech(&speech(1, 2, 12, &[])).await.expect("unremarkable");
    // The same contact id in another org carries a flag that must not leak.
    store.put_contact_speech(&speech(2, 3, 13, &["no_talk"])).await.expect("other org");
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
