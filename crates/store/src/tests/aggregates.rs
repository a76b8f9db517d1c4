//! Reporting aggregates: interval deltas add up (and take back), batches commit whole, contact
//! records are replaced and found by id, group (whole, or near a span) and activity, agent windows hold the neighbours a
//! replay needs, a rebuild replaces only its range, and the contacts bulk insert and abandoned
//! list read back what was written. Org isolation throughout.

use model::*;

use super::fixtures::*;
use super::harness::TestDb;
use crate::{
    IntervalCounts, IntervalDimension, IntervalDimensionKind, IntervalLength, IntervalRow, Page, ReportAgentChange,
    ReportBatch, ReportContact, StoreError, TimeRange,
};

const HOUR: i64 = 3_600_000;

fn counts(offered: i64, talk_ms: i64) -> IntervalCounts {
    let mut c = [0; 29];
    c[0] = offered;
    c[11] = talk_ms;
    c
}

fn row(start: i64, dim: IntervalDimension, c: IntervalCounts) -> IntervalRow {
    IntervalRow { length: IntervalLength::Hour, start: Timestamp::from_unix_ms(start), dimension: dim, counts: c }
}

fn range(from: i64, to: i64) -> TimeRange {
    TimeRange::new(Timestamp::from_unix_ms(from), Timestamp::from_unix_ms(to))
}

fn deltas(rows: Vec<IntervalRow>) -> ReportBatch {
    ReportBatch { deltas: rows, ..ReportBatch::default() }
}

fn change(n: u128, agent: u128, at: i64, state: AgentState) -> ReportAgentChange {
    ReportAgentChange {
        id: AgentStateChangeId::from_u128(n),
        agent: AgentId::from_u128(agent),
        at: Timestamp::from_unix_ms(at),
        state,
    }
}

fn record(n: u128, group: Option<&str>, first: i64, last: i64) -> ReportContact {
    ReportContact {
        contact: ContactId::from_u128(n),
        repeat_group: group.map(str::to_owned),
        first_at: Timestamp::from_unix_ms(first),
        last_at: Timestamp::from_unix_ms(last),
        events: format!("events of {n} 事件"),
    }
}

pub async fn interval_deltas_add_up_take_back_and_stay_in_their_org(db: TestDb) {
    let store = db.migrated().await;
    let (org, other) = (OrgId::from_u128(1), OrgId::from_u128(2));
    let queue = IntervalDimension::Queue(QueueId::from_u128(10));
    let voice = IntervalDimension::Channel(Channel::Voice);
    store
        .apply_report_batch(org, &deltas(vec![row(T0, queue, counts(3, 9_000)), row(T0, voice, counts(3, 0))]))
        .await
        .expect("first");
    store
        .apply_report_batch(org, &deltas(vec![row(T0, queue, counts(2, -4_000)), row(T0 + HOUR, queue, counts(1, 1))]))
        .await
        .expect("second");
    store.apply_report_batch(other, &deltas(vec![row(T0, queue, counts(100, 100))])).await.expect("other org");
    let got = store
        .report_intervals(org, IntervalLength::Hour, IntervalDimensionKind::Queue, range(T0, T0 + HOUR))
        .await
        .expect("read");
    assert_eq!(got, vec![row(T0, queue, counts(5, 5_000))], "end of the range is excluded, deltas add");
    let channels = store
        .report_intervals(org, IntervalLength::Hour, IntervalDimensionKind::Channel, range(T0, T0 + 2 * HOUR))
        .await
        .expect("read");
    assert_eq!(channels, vec![row(T0, voice, counts(3, 0))]);
    let days = store
        .report_intervals(org, IntervalLength::Day, IntervalDimensionKind::Queue, range(T0, T0 + 2 * HOUR))
        .await
        .expect("read");
    assert!(days.is_empty(), "another interval length is another row");
    let summed = store
        .report_interval_totals(org, IntervalLength::Hour, IntervalDimensionKind::Queue, range(T0, T0 + 2 * HOUR))
        .await
        .expect("totals");
    assert_eq!(summed, vec![(queue, counts(6, 5_001))], "the database adds up both hours");
    let none = store
        .report_interval_totals(other, IntervalLength::Hour, IntervalDimensionKind::Agent, range(T0, T0 + 2 * HOUR))
        .await
        .expect("totals");
    assert!(none.is_empty());
}

pub async fn report_batch_commits_whole_or_not_at_all(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let first = ReportBatch {
        contacts: vec![record(1, None, T0, T0)],
        agent_changes: vec![change(1, 5, T0, AgentState::Available)],
        deltas: vec![],
    };
    store.apply_report_batch(org, &first).await.expect("first");
    let queue = IntervalDimension::Queue(QueueId::from_u128(10));
    let replayed = ReportBatch {
        contacts: vec![record(2, None, T0, T0)],
        agent_changes: vec![change(1, 5, T0, AgentState::Available)],
        deltas: vec![row(T0, queue, counts(1, 0))],
    };
    match store.apply_report_batch(org, &replayed).await {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected Conflict for a change counted twice, got {other:?}"),
    }
    assert_eq!(store.report_contacts(org, &[ContactId::from_u128(2)]).await.expect("read"), vec![]);
    let rows = store
        .report_intervals(org, IntervalLength::Hour, IntervalDimensionKind::Queue, range(T0, T0 + HOUR))
        .await
        .expect("read");
    assert!(rows.is_empty(), "the deltas of a failed batch were kept: {rows:?}");
}

pub async fn report_contacts_are_replaced_and_found_by_id_group_and_activity(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let batch = ReportBatch {
        contacts: vec![
            record(1, Some("c1:billing"), T0, T0 + HOUR),
            record(2, Some("c1:billing"), T0 + 2 * HOUR, T0 + 3 * HOUR),
            record(3, None, T0 + 5 * HOUR, T0 + 6 * HOUR),
        ],
        ..ReportBatch::default()
    };
    store.apply_report_batch(org, &batch).await.expect("insert");
    let mut newer = record(1, Some("c1:billing"), T0, T0 + 4 * HOUR);
    newer.events.push_str(" + survey");
    store
        .apply_report_batch(org, &ReportBatch { contacts: vec![newer.clone()], ..ReportBatch::default() })
        .await
        .expect("replace");
    let by_id = store.report_contacts(org, &[ContactId::from_u128(1), ContactId::from_u128(9)]).await.expect("by id");
    assert_eq!(by_id, vec![newer.clone()]);
    let mut group = store.report_contacts_in_groups(org, &["c1:billing".into()]).await.expect("group");
    group.sort_by_key(|c| c.contact);
    assert_eq!(
        group.iter().map(|c| c.contact).collect::<Vec<_>>(),
        vec![ContactId::from_u128(1), ContactId::from_u128(2)]
    );
    // Contact 1 spans T0..T0+4h, contact 2 T0+2h..T0+3h: a span meets a record's when the record
    // starts at or before its end and ends at or after its start (both ends inclusive).
    let during = |from: i64, to: i64| {
        let store = store.clone();
        async move {
            let mut found: Vec<ContactId> = store
                .report_contacts_in_groups_during(org, &["c1:billing".into(), "c9:none".into()], range(from, to))
                .await
                .expect("group during")
                .into_iter()
                .map(|c| c.contact)
                .collect();
            found.sort();
            found
        }
    };
    let (one, two) = (ContactId::from_u128(1), ContactId::from_u128(2));
    assert_eq!(during(T0 + 3 * HOUR, T0 + 4 * HOUR).await, vec![one, two], "contact 2 ends at the span's start");
    assert_eq!(during(T0 + 3 * HOUR + 1, T0 + 9 * HOUR).await, vec![one], "contact 2 ended before");
    assert_eq!(during(T0 - HOUR, T0 + 2 * HOUR - 1).await, vec![one], "contact 2 starts after");
    assert_eq!(during(T0 + 4 * HOUR + 1, T0 + 9 * HOUR).await, vec![], "both ended before");
    let active = store
        .report_contacts_active_in(org, range(T0 + 3 * HOUR + 1, T0 + 5 * HOUR), 10 * HOUR, 10)
        .await
        .expect("active");
    assert_eq!(active, vec![newer], "contact 2 ended before the range, contact 3 starts at its end");
    match store.report_contacts_active_in(org, range(T0, T0 + 10 * HOUR), 0, 2).await {
        Err(StoreError::InvalidInput { .. }) => {}
        other => panic!("expected InvalidInput past max_rows, got {other:?}"),
    }
    assert_eq!(
        store.report_contacts(OrgId::from_u128(2), &[ContactId::from_u128(1)]).await.expect("other org"),
        vec![]
    );
}

pub async fn agent_window_holds_the_changes_around_it(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let changes = vec![
        change(1, 5, T0, AgentState::Available),
        change(2, 5, T0 + 10, AgentState::Busy),
        change(3, 5, T0 + 10, AgentState::WrapUp),
        change(4, 5, T0 + 50, AgentState::Available),
        change(5, 5, T0 + 90, AgentState::Away),
        change(6, 5, T0 + 95, AgentState::Busy),
        change(7, 6, T0 + 60, AgentState::Busy),
    ];
    store
        .apply_report_batch(org, &ReportBatch { agent_changes: changes.clone(), ..ReportBatch::default() })
        .await
        .expect("insert");
    let at = Timestamp::from_unix_ms;
    let window =
        store.report_agent_window(org, AgentId::from_u128(5), at(T0 + 40), at(T0 + 60), 1_000).await.expect("window");
    assert_eq!(window, changes[1..5].to_vec(), "both changes at the last moment before, and the first after");
    let none_before =
        store.report_agent_window(org, AgentId::from_u128(5), at(T0 + 40), at(T0 + 60), 5).await.expect("window");
    assert_eq!(none_before, changes[3..5].to_vec(), "the lookback bounds the search back");
    let known = store
        .known_report_agent_changes(org, &[AgentStateChangeId::from_u128(2), AgentStateChangeId::from_u128(99)])
        .await
        .expect("known");
    assert_eq!(known, vec![AgentStateChangeId::from_u128(2)]);
    let around = store.report_agent_changes_around(org, range(T0 + 50, T0 + 60), 0, 10, 10).await.expect("around");
    assert_eq!(around, vec![changes[3], changes[6]]);
}

pub async fn replacing_intervals_touches_only_the_range(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let queue = IntervalDimension::Queue(QueueId::from_u128(10));
    let agent = IntervalDimension::Agent(AgentId::from_u128(5));
    let rows =
        vec![row(T0, queue, counts(1, 0)), row(T0 + HOUR, queue, counts(2, 0)), row(T0 + HOUR, agent, counts(0, 7))];
    store.apply_report_batch(org, &deltas(rows)).await.expect("insert");
    store
        .replace_report_intervals(org, range(T0 + HOUR, T0 + 2 * HOUR), &[row(T0 + HOUR, queue, counts(9, 0))])
        .await
        .expect("replace");
    let all = |kind| store.report_intervals(org, IntervalLength::Hour, kind, range(T0, T0 + 2 * HOUR));
    assert_eq!(
        all(IntervalDimensionKind::Queue).await.expect("read"),
        vec![row(T0, queue, counts(1, 0)), row(T0 + HOUR, queue, counts(9, 0))]
    );
    assert_eq!(all(IntervalDimensionKind::Agent).await.expect("read"), vec![], "rows of the range not given are gone");
    match store.replace_report_intervals(org, range(T0 + HOUR, T0 + 2 * HOUR), &[row(T0, queue, counts(1, 0))]).await {
        Err(StoreError::InvalidInput { .. }) => {}
        other => panic!("expected InvalidInput for a row outside the range, got {other:?}"),
    }
}

pub async fn bulk_inserted_contacts_read_back_equal_and_abandoned_ones_are_listed(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let mut all = Vec::new();
    for n in 0..450u128 {
        let mut c = contact(org, 1_000 + n, None, T0 + n as i64 * 1_000);
        c.queue = Some(QueueId::from_u128(10));
        c.queued_at = Some(Timestamp::from_unix_ms(T0 + n as i64 * 1_000 + 300));
        c.ended_at = Some(Timestamp::from_unix_ms(T0 + n as i64 * 1_000 + 900));
        c.status = ContactStatus::Ended;
        c.outcome = Some(if n % 3 == 0 { ContactOutcome::Abandoned } else { ContactOutcome::Answered });
        c.ivr_path = vec!["welcome".into(), "菜单".into()];
        c.quality_mos = Some(4.25);
        c.csat = (n % 3 != 0).then_some(5);
        all.push(c);
    }
    store.insert_contacts(&all).await.expect("bulk insert");
    assert_eq!(store.get_contact(org, all[7].id).await.expect("get"), Some(all[7].clone()));
    let listed = store.list_contacts_in_range(org, range(T0, T0 + 1_000_000), &Page::default()).await.expect("list");
    assert_eq!(listed.items[..3], all[..3]);
    let (abandoned, truncated) =
        store.list_abandoned_contacts(org, range(T0, T0 + 9_000), 10).await.expect("abandoned");
    assert!(!truncated);
    assert_eq!(
        abandoned.iter().map(|a| a.contact).collect::<Vec<_>>(),
        [0u128, 3, 6].map(|n| ContactId::from_u128(1_000 + n))
    );
    assert_eq!(abandoned[1].queued_at, Some(Timestamp::from_unix_ms(T0 + 3_300)));
    let (first_two, truncated) = store.list_abandoned_contacts(org, range(T0, T0 + 9_000), 2).await.expect("abandoned");
    assert_eq!((first_two.len(), truncated), (2, true));
    let (none, _) = store.list_abandoned_contacts(OrgId::from_u128(2), range(T0, T0 + 9_000), 10).await.expect("other");
    assert!(none.is_empty());
}
