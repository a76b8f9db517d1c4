//! Role filtering of live events and snapshots.

use center::{AgentFigures, Counters, LiveEvent, OfferEndReason, QueueFigures, Snapshot};
use model::*;

use super::*;

const ORG: OrgId = OrgId::from_u128(1);
const OTHER_ORG: OrgId = OrgId::from_u128(2);
const ME: AgentId = AgentId::from_u128(10);
const YOU: AgentId = AgentId::from_u128(11);
const MY_QUEUE: QueueId = QueueId::from_u128(20);
const YOUR_QUEUE: QueueId = QueueId::from_u128(21);

fn agent_viewer() -> Viewer {
    Viewer { org: ORG, role: Role::Agent, agent: Some(ME), queues: [MY_QUEUE].into_iter().collect() }
}

fn staff(role: Role) -> Viewer {
    Viewer { org: ORG, role, agent: None, queues: Default::default() }
}

fn offered(org: OrgId, agent: AgentId, queue: QueueId) -> LiveEvent {
    LiveEvent::ContactOffered {
        org,
        contact: ContactId::from_u128(99),
        agent,
        queue,
        channel: Channel::Voice,
        callback: false,
        ring_timeout_ms: 20_000,
        customer: None,
        from_address: "+8613800000001".into(),
        at_ms: 0,
    }
}

fn stats(queue: QueueId) -> QueueFigures {
    QueueFigures {
        org: ORG,
        queue,
        name: "q".into(),
        waiting: 1,
        longest_wait_ms: 0,
        ewt_ms: 0,
        serving_agents: 0,
        available_agents: 0,
        offered_today: 0,
        answered_today: 0,
        abandoned_today: 0,
        answered_within_sl_today: 0,
        answered_wait_ms_today: 0,
        sl_threshold_ms: 20_000,
        sl_percent: 80,
        at_ms: 0,
    }
}

#[test]
fn an_agent_sees_their_own_offer_and_not_anothers() {
    assert!(visible(&offered(ORG, ME, MY_QUEUE), &agent_viewer()));
    assert!(!visible(&offered(ORG, YOU, MY_QUEUE), &agent_viewer()));
}

#[test]
fn supervisors_and_admins_see_the_whole_org_and_nothing_else() {
    for role in [Role::Supervisor, Role::Admin] {
        assert!(visible(&offered(ORG, ME, MY_QUEUE), &staff(role)));
        assert!(visible(&offered(ORG, YOU, YOUR_QUEUE), &staff(role)));
        assert!(!visible(&offered(OTHER_ORG, YOU, YOUR_QUEUE), &staff(role)));
    }
}

#[test]
fn an_agent_sees_the_stats_of_their_queues_only() {
    assert!(visible(&LiveEvent::QueueStats(stats(MY_QUEUE)), &agent_viewer()));
    assert!(!visible(&LiveEvent::QueueStats(stats(YOUR_QUEUE)), &agent_viewer()));
}

#[test]
fn an_agent_sees_their_state_and_transfers_they_are_part_of() {
    let state = |agent| LiveEvent::AgentState {
        org: ORG,
        agent,
        state: AgentState::Available,
        reason: None,
        since_ms: 0,
        forced_by: None,
    };
    assert!(visible(&state(ME), &agent_viewer()));
    assert!(!visible(&state(YOU), &agent_viewer()));
    let transfer = |from, to| LiveEvent::ContactTransferred {
        org: ORG,
        contact: ContactId::from_u128(1),
        from_agent: from,
        from_queue: MY_QUEUE,
        to_queue: None,
        to_agent: to,
        at_ms: 0,
    };
    assert!(visible(&transfer(Some(ME), Some(YOU)), &agent_viewer()));
    assert!(visible(&transfer(Some(YOU), Some(ME)), &agent_viewer()));
    assert!(!visible(&transfer(Some(YOU), None), &agent_viewer()));
    let cancelled = LiveEvent::OfferCancelled {
        org: ORG,
        contact: ContactId::from_u128(1),
        agent: YOU,
        queue: MY_QUEUE,
        reason: OfferEndReason::RingTimeout,
        at_ms: 0,
    };
    assert!(!visible(&cancelled, &agent_viewer()));
}

#[test]
fn an_agents_snapshot_holds_their_record_and_queues_only() {
    let figures = |agent| AgentFigures {
        agent,
        extension: "1001".into(),
        display_name: "x".into(),
        state: AgentState::Available,
        reason: None,
        since_ms: 0,
        contacts: Vec::new(),
        queues: vec![MY_QUEUE],
    };
    let snap = Snapshot {
        org: ORG,
        at_ms: 0,
        queues: vec![stats(MY_QUEUE), stats(YOUR_QUEUE)],
        agents: vec![figures(ME), figures(YOU)],
        live_contacts: 5,
        counters: Counters::default(),
    };
    let mine = visible_snapshot(snap.clone(), &agent_viewer());
    assert_eq!(mine.queues.iter().map(|q| q.queue).collect::<Vec<_>>(), vec![MY_QUEUE]);
    assert_eq!(mine.agents.iter().map(|a| a.agent).collect::<Vec<_>>(), vec![ME]);
    let all = visible_snapshot(snap.clone(), &staff(Role::Supervisor));
    assert_eq!((all.queues.len(), all.agents.len()), (2, 2));
    let foreign = visible_snapshot(snap, &Viewer { org: OTHER_ORG, ..staff(Role::Admin) });
    assert!(foreign.queues.is_empty() && foreign.agents.is_empty());
}
