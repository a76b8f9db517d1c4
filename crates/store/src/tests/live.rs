//! The live center's rows: each agent's current state replaced on every change and org-scoped;
//! unfinished contacts listed from a time on, oldest first, within a limit.

use model::{AgentId, AgentState, ContactOutcome, ContactStatus, OrgId, ReasonCode, Timestamp};

use super::fixtures::{T0, contact};
use super::harness::TestDb;
use crate::AgentPresence;

fn presence(org: u128, agent: u128, state: AgentState, reason: Option<&str>, since: i64) -> AgentPresence {
    AgentPresence {
        org: OrgId::from_u128(org),
        agent: AgentId::from_u128(agent),
        state,
        reason: reason.map(|r| ReasonCode::parse(r).expect("code")),
        since: Timestamp::from_unix_ms(T0 + since),
    }
}

pub async fn agent_presence_is_replaced_on_every_change_and_listed_by_agent(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    store.save_agent_presence(&presence(1, 20, AgentState::Available, None, 0)).await.expect("save");
    let away = presence(1, 20, AgentState::Away, Some("lunch"), 60_000);
    store.save_agent_presence(&away).await.expect("replace");
    let other = presence(1, 10, AgentState::Busy, None, 5);
    store.save_agent_presence(&other).await.expect("other agent");
    assert_eq!(store.get_agent_presence(org, AgentId::from_u128(20)).await.expect("get"), Some(away.clone()));
    assert_eq!(store.list_agent_presence(org, 100).await.expect("list"), vec![other, away]);
    assert_eq!(store.count_rows("agent_presence").await, 2);
}

pub async fn agent_presence_of_another_org_is_never_returned(db: TestDb) {
    let store = db.migrated().await;
    store.save_agent_presence(&presence(2, 20, AgentState::Available, None, 0)).await.expect("save");
    store.save_agent_presence(&presence(1, 20, AgentState::Offline, None, 9)).await.expect("same agent id, org 1");
    let mine = OrgId::from_u128(1);
    assert_eq!(
        store.list_agent_presence(mine, 100).await.expect("list"),
        vec![presence(1, 20, AgentState::Offline, None, 9)]
    );
    assert_eq!(store.get_agent_presence(OrgId::from_u128(3), AgentId::from_u128(20)).await.expect("get"), None);
    assert_eq!(store.count_rows("agent_presence").await, 2);
}

pub async fn unfinished_contacts_are_listed_from_a_time_on_oldest_first_within_the_limit(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let mut ended = contact(org, 1, None, T0 + 10);
    ended.status = ContactStatus::Ended;
    ended.outcome = Some(ContactOutcome::Answered);
    let mut queued = contact(org, 2, None, T0 + 30);
    queued.status = ContactStatus::Queued;
    let mut connected = contact(org, 3, None, T0 + 20);
    connected.status = ContactStatus::Connected;
    let too_old = contact(org, 4, None, T0 - 1);
    let theirs = contact(OrgId::from_u128(2), 5, None, T0 + 40);
    for c in [&ended, &queued, &connected, &too_old, &theirs] {
        store.insert_contact(c).await.expect("insert");
    }
    let since = Timestamp::from_unix_ms(T0);
    let got = store.list_unfinished_contacts(org, since, 100).await.expect("list");
    assert_eq!(got, vec![connected.clone(), queued]);
    assert_eq!(store.list_unfinished_contacts(org, since, 1).await.expect("list"), vec![connected]);
}
