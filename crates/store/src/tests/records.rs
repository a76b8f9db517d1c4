//! Customers, orders, contacts and their logs, tickets, recordings and surveys: round trips,
//! the lookups later issues need, unique keys, org isolation, order of listings, and corrupt
//! stored values.

use model::*;

use super::fixtures::*;
use super::harness::TestDb;
use crate::{Page, StoreError, TimeRange};

fn ids<T>(items: &[T], id: impl Fn(&T) -> u128) -> Vec<u128> {
    items.iter().map(id).collect()
}

pub async fn customer_round_trips_with_phones_emails_and_attributes(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let c = customer(org, 50, &["+8613800000001", "+12025550100"], &["li.lei@example.com", "LL@Work.cn"]);
    store.insert_customer(&c).await.expect("insert");
    assert_eq!(store.get_customer(org, c.id).await.expect("get"), Some(c.clone()));
    let page = store.list_customers(org, &Page::default()).await.expect("list");
    assert_eq!(page.items, vec![c]);
}

pub async fn customer_found_by_phone(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let gold = customer(org, 50, &["+8613800000001"], &[]);
    let mut normal = customer(org, 51, &["+8613800000002", "+8613900000002"], &[]);
    normal.vip = VipTier::Normal;
    store.insert_customer(&gold).await.expect("gold");
    store.insert_customer(&normal).await.expect("normal");
    let found = store.find_customer_by_phone(org, &phone("+8613900000002")).await.expect("find");
    assert_eq!(found, Some(normal));
    let found = store.find_customer_by_phone(org, &phone("+8613800000001")).await.expect("find");
    assert_eq!(found.map(|c| c.vip), Some(VipTier::Gold));
    assert_eq!(store.find_customer_by_phone(org, &phone("+8613800000009")).await.expect("find"), None);
    let other_org = OrgId::from_u128(2);
    assert_eq!(store.find_customer_by_phone(other_org, &phone("+8613800000001")).await.expect("find"), None);
}

pub async fn customer_found_by_email_whatever_the_case(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let c = customer(org, 50, &[], &["Li.Lei@example.com"]);
    store.insert_customer(&c).await.expect("insert");
    for written in ["Li.Lei@example.com", "li.lei@EXAMPLE.com"] {
        let email = Email::parse(written).expect("email");
        assert_eq!(store.find_customer_by_email(org, &email).await.expect("find"), Some(c.clone()), "{written}");
    }
    let email = Email::parse("li.lei@example.com").expect("email");
    assert_eq!(store.find_customer_by_email(OrgId::from_u128(2), &email).await.expect("find"), None);
}

pub async fn duplicate_phone_in_an_org_conflicts_and_writes_nothing(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    store.insert_customer(&customer(org, 50, &["+8613800000001"], &[])).await.expect("first");
    let second = customer(org, 51, &["+8613800000003", "+8613800000001"], &[]);
    match store.insert_customer(&second).await {
        Err(StoreError::Conflict { what: "customer phone", .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(store.get_customer(org, second.id).await.expect("get"), None, "half a customer was kept");
    assert_eq!(store.find_customer_by_phone(org, &phone("+8613800000003")).await.expect("find"), None);
    store.insert_customer(&customer(OrgId::from_u128(2), 52, &["+8613800000001"], &[])).await.expect("other org");
}

pub async fn customer_update_replaces_phones_and_emails(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let mut c = customer(org, 50, &["+8613800000001"], &["a@example.com"]);
    store.insert_customer(&c).await.expect("insert");
    c.phones = vec![phone("+8613800000007")];
    c.emails.clear();
    c.vip = VipTier::Silver;
    c.attributes.insert("note".into(), "moved".into());
    store.update_customer(&c).await.expect("update");
    assert_eq!(store.get_customer(org, c.id).await.expect("get"), Some(c.clone()));
    assert_eq!(store.find_customer_by_phone(org, &phone("+8613800000001")).await.expect("old"), None);
    assert_eq!(store.find_customer_by_phone(org, &phone("+8613800000007")).await.expect("new"), Some(c));
    let ghost = customer(org, 59, &[], &[]);
    assert!(matches!(store.update_customer(&ghost).await, Err(StoreError::NotFound { what: "customer", .. })));
}

pub async fn corrupt_stored_phone_is_reported_not_panicked(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let c = customer(org, 50, &["+8613800000001"], &[]);
    store.insert_customer(&c).await.expect("insert");
    store.raw_execute("UPDATE customer_phones SET phone = '138-abc' WHERE phone = '+8613800000001'").await;
    match store.get_customer(org, c.id).await {
        Err(StoreError::Corrupt { what, reason }) => {
            assert_eq!(what, "customer_phones.phone");
            assert!(reason.contains("138-abc"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    store.raw_execute("UPDATE customers SET vip = 'platinum'").await;
    let listed = store.list_customers(org, &Page::default()).await;
    assert!(matches!(listed, Err(StoreError::Corrupt { ref what, .. }) if what == "customers.vip"), "{listed:?}");
}

pub async fn order_found_by_number_and_listed_by_customer_newest_first(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let cust = CustomerId::from_u128(50);
    for (n, number) in [(1, "100001"), (2, "100002"), (3, "100003")] {
        store.insert_order(&order(org, n, number, cust)).await.expect("insert");
    }
    store.insert_order(&order(org, 4, "100004", CustomerId::from_u128(51))).await.expect("other customer");
    let mut o = store.find_order_by_number(org, "100002").await.expect("find").expect("order 100002");
    assert_eq!(o, order(org, 2, "100002", cust));
    o.status = OrderStatus::Delivered;
    store.update_order(&o).await.expect("update");
    assert_eq!(store.get_order(org, o.id).await.expect("get"), Some(o));
    assert_eq!(store.find_order_by_number(org, "999999").await.expect("find"), None);
    assert_eq!(store.find_order_by_number(OrgId::from_u128(2), "100001").await.expect("find"), None);
    let first = store.list_orders_by_customer(org, cust, &Page::first(2)).await.expect("page 1");
    assert_eq!(ids(&first.items, |o| o.id.as_uuid().as_u128()), vec![3, 2]);
    let rest = store.list_orders_by_customer(org, cust, &Page::after(2, first.next.expect("next"))).await.expect("2");
    assert_eq!(ids(&rest.items, |o| o.id.as_uuid().as_u128()), vec![1]);
    assert_eq!(rest.next, None);
}

pub async fn duplicate_order_number_in_an_org_conflicts(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    store.insert_order(&order(org, 1, "100001", CustomerId::from_u128(50))).await.expect("first");
    match store.insert_order(&order(org, 2, "100001", CustomerId::from_u128(51))).await {
        Err(StoreError::Conflict { what: "order", .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    store.insert_order(&order(OrgId::from_u128(2), 3, "100001", CustomerId::from_u128(52))).await.expect("other org");
}

pub async fn contact_timestamps_and_fields_round_trip(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let mut c = contact(org, 70, Some(CustomerId::from_u128(50)), T0);
    store.insert_contact(&c).await.expect("insert");
    assert_eq!(store.get_contact(org, c.id).await.expect("get"), Some(c.clone()));
    c.status = ContactStatus::Ended;
    c.outcome = Some(ContactOutcome::Answered);
    c.queue = Some(QueueId::from_u128(40));
    c.agent = Some(AgentId::from_u128(20));
    c.issue_type = Some("refund".into());
    c.language = Some(Language::parse("zh-CN").expect("lang"));
    c.ivr_left_at = Some(Timestamp::from_unix_ms(T0 + 4_001));
    c.queued_at = Some(Timestamp::from_unix_ms(T0 + 4_002));
    c.offered_at = Some(Timestamp::from_unix_ms(T0 + 9_003));
    c.answered_at = Some(Timestamp::from_unix_ms(T0 + 12_004));
    c.ended_at = Some(Timestamp::from_unix_ms(T0 + 300_005));
    c.wrap_up_ended_at = Some(Timestamp::from_unix_ms(T0 + 315_006));
    c.ivr_path = vec!["welcome".into(), "menu".into(), "order_status".into()];
    c.ivr_digits = "2100002#".into();
    c.disposition = Some(ReasonCode::parse("resolved").expect("code"));
    c.notes = "客户要求退款 — refund approved".into();
    c.recording = Some(RecordingId::from_u128(80));
    c.ticket = Some(TicketId::from_u128(60));
    c.csat = Some(5);
    c.quality_mos = Some(4.31);
    c.transferred = true;
    store.update_contact(&c).await.expect("update");
    let back = store.get_contact(org, c.id).await.expect("get").expect("contact");
    assert_eq!(back, c);
    assert_eq!(back.wait(), Some(DurationMs::from_ms(8_002)));
}

pub async fn contacts_by_customer_are_newest_first_and_paged(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let cust = Some(CustomerId::from_u128(50));
    // Two contacts share a timestamp: the id breaks the tie, so no page skips or repeats one.
    for (n, at) in [(1, T0), (2, T0 + 10), (3, T0 + 10), (4, T0 + 20), (5, T0 + 30)] {
        store.insert_contact(&contact(org, n, cust, at)).await.expect("insert");
    }
    store.insert_contact(&contact(org, 6, Some(CustomerId::from_u128(51)), T0 + 40)).await.expect("other");
    store.insert_contact(&contact(OrgId::from_u128(2), 7, cust, T0 + 50)).await.expect("other org");
    let mut seen = Vec::new();
    let mut page = Page::first(2);
    loop {
        let got = store.list_contacts_by_customer(org, CustomerId::from_u128(50), &page).await.expect("page");
        assert!(got.items.len() <= 2);
        seen.extend(ids(&got.items, |c| c.id.as_uuid().as_u128()));
        match got.next {
            Some(next) => page = Page::after(2, next),
            None => break,
        }
    }
    assert_eq!(seen, vec![5, 4, 3, 2, 1]);
}

pub async fn contacts_in_a_time_range_are_oldest_first_end_excluded(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    for n in 1..=5u128 {
        store.insert_contact(&contact(org, n, None, T0 + 1_000 * n as i64)).await.expect("insert");
    }
    let mut by_agent = contact(org, 6, None, T0 + 2_500);
    by_agent.agent = Some(AgentId::from_u128(20));
    store.insert_contact(&by_agent).await.expect("agent's");
    let range = TimeRange::new(Timestamp::from_unix_ms(T0 + 2_000), Timestamp::from_unix_ms(T0 + 4_000));
    let got = store.list_contacts_in_range(org, range, &Page::default()).await.expect("range");
    assert_eq!(ids(&got.items, |c| c.id.as_uuid().as_u128()), vec![2, 6, 3]);
    let got = store.list_contacts_by_agent(org, AgentId::from_u128(20), range, &Page::default()).await.expect("agent");
    assert_eq!(ids(&got.items, |c| c.id.as_uuid().as_u128()), vec![6]);
}

pub async fn contact_events_list_in_time_order(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let contact = ContactId::from_u128(70);
    let kinds = [ContactEventKind::Arrived, ContactEventKind::Queued, ContactEventKind::Answered];
    for (i, kind) in kinds.iter().enumerate().rev() {
        let e = ContactEvent {
            id: ContactEventId::from_u128(100 + i as u128),
            org,
            contact,
            at: Timestamp::from_unix_ms(T0 + i as i64),
            kind: *kind,
            agent: (i == 2).then(|| AgentId::from_u128(20)),
            queue: Some(QueueId::from_u128(40)),
            detail: format!("{{\"step\":{i}}}"),
        };
        store.insert_contact_event(&e).await.expect("insert");
    }
    let got = store.list_contact_events(org, contact, &Page::default()).await.expect("list");
    assert_eq!(got.items.iter().map(|e| e.kind).collect::<Vec<_>>(), kinds.to_vec());
    assert_eq!(got.items[2].agent, Some(AgentId::from_u128(20)));
    let one = store.get_contact_event(org, ContactEventId::from_u128(101)).await.expect("get");
    assert_eq!(one.as_ref(), got.items.get(1));
    assert!(
        store.list_contact_events(OrgId::from_u128(2), contact, &Page::default()).await.expect("x").items.is_empty()
    );
}

pub async fn agent_state_changes_list_by_agent_and_range(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let agent = AgentId::from_u128(20);
    let steps = [
        (AgentState::Offline, AgentState::Available, None, None),
        (AgentState::Available, AgentState::Away, Some("lunch"), None),
        (AgentState::Away, AgentState::Offline, Some("forced_logout"), Some(UserId::from_u128(9))),
    ];
    for (i, (from, to, reason, forced_by)) in steps.iter().enumerate() {
        let change = AgentStateChange {
            id: AgentStateChangeId::from_u128(200 + i as u128),
            org,
            agent,
            at: Timestamp::from_unix_ms(T0 + 60_000 * i as i64),
            from: *from,
            to: *to,
            reason: reason.map(|r| ReasonCode::parse(r).expect("code")),
            forced_by: *forced_by,
        };
        store.insert_agent_state_change(&change).await.expect("insert");
        assert_eq!(store.get_agent_state_change(org, change.id).await.expect("get"), Some(change));
    }
    let other = AgentId::from_u128(21);
    let mut theirs =
        store.get_agent_state_change(org, AgentStateChangeId::from_u128(200)).await.expect("g").expect("c");
    theirs.id = AgentStateChangeId::from_u128(299);
    theirs.agent = other;
    store.insert_agent_state_change(&theirs).await.expect("other agent");
    let range = TimeRange::new(Timestamp::from_unix_ms(T0 + 1), Timestamp::from_unix_ms(T0 + 120_001));
    let got = store.list_agent_state_changes(org, agent, range, &Page::default()).await.expect("list");
    assert_eq!(got.items.iter().map(|c| c.to).collect::<Vec<_>>(), vec![AgentState::Away, AgentState::Offline]);
    let all = store.list_agent_state_changes_in_range(org, range, &Page::default()).await.expect("all");
    assert_eq!(all.items.len(), 2, "the other agent's change at T0 is outside the range");
}

pub async fn ticket_numbers_are_handed_out_once_each_under_concurrency(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    store.insert_ticket(&ticket(org, 1, 41, None)).await.expect("a ticket imported with its number");
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.next_ticket_number(org).await }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.expect("task").expect("number"));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (42..=53).collect::<Vec<i64>>());
    assert_eq!(store.next_ticket_number(OrgId::from_u128(2)).await.expect("other org"), 1);
    assert_eq!(store.next_ticket_number(org).await.expect("next"), 54);
}

pub async fn tickets_round_trip_and_list_by_customer_and_status(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let cust = CustomerId::from_u128(50);
    for (n, number) in [(1u128, 1i64), (2, 2), (3, 3)] {
        store.insert_ticket(&ticket(org, n, number, Some(cust))).await.expect("insert");
    }
    let mut t = store.find_ticket_by_number(org, 2).await.expect("find").expect("ticket 2");
    assert_eq!(t, ticket(org, 2, 2, Some(cust)));
    t.status = TicketStatus::Solved;
    t.contacts.push(ContactId::from_u128(702));
    t.assignee = None;
    store.update_ticket(&t).await.expect("update");
    assert_eq!(store.get_ticket(org, t.id).await.expect("get"), Some(t));
    let dup = store.insert_ticket(&ticket(org, 9, 3, None)).await;
    assert!(matches!(dup, Err(StoreError::Conflict { what: "ticket", .. })), "{dup:?}");
    let by_customer = store.list_tickets_by_customer(org, cust, &Page::default()).await.expect("by customer");
    assert_eq!(ids(&by_customer.items, |t| t.id.as_uuid().as_u128()), vec![3, 2, 1]);
    let open = store.list_tickets_by_status(org, TicketStatus::Open, &Page::default()).await.expect("open");
    assert_eq!(ids(&open.items, |t| t.id.as_uuid().as_u128()), vec![3, 1]);
    for (i, internal) in [false, true].into_iter().enumerate() {
        let comment = TicketComment {
            id: TicketCommentId::from_u128(300 + i as u128),
            org,
            ticket: TicketId::from_u128(2),
            author: internal.then(|| UserId::from_u128(9)),
            body: format!("comment {i}"),
            internal,
            at: Timestamp::from_unix_ms(T0 + i as i64),
        };
        store.insert_ticket_comment(&comment).await.expect("comment");
        assert_eq!(store.get_ticket_comment(org, comment.id).await.expect("get"), Some(comment));
    }
    let comments = store.list_ticket_comments(org, TicketId::from_u128(2), &Page::default()).await.expect("list");
    assert_eq!(comments.items.iter().map(|c| c.internal).collect::<Vec<_>>(), vec![false, true]);
}

pub async fn recordings_and_survey_responses_round_trip_by_contact(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let contact = ContactId::from_u128(70);
    let mut rec = Recording {
        id: RecordingId::from_u128(80),
        org,
        contact,
        path: "2026/11/27/70.wav".into(),
        started_at: Timestamp::from_unix_ms(T0),
        duration: DurationMs::from_ms(183_250),
        size_bytes: 5_864_044,
        sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
        channels: 2,
        sample_rate_hz: 8_000,
        legal_hold: false,
        deleted_at: None,
    };
    store.insert_recording(&rec).await.expect("recording");
    rec.legal_hold = true;
    rec.deleted_at = Some(Timestamp::from_unix_ms(T0 + 86_400_000));
    store.update_recording(&rec).await.expect("update");
    assert_eq!(store.get_recording(org, rec.id).await.expect("get"), Some(rec.clone()));
    let recs = store.list_recordings_by_contact(org, contact, &Page::default()).await.expect("list");
    assert_eq!(recs.items, vec![rec]);

    let csat = SurveyResponse {
        id: SurveyResponseId::from_u128(90),
        org,
        contact,
        kind: SurveyKind::Csat,
        score: 4,
        comment: Some("很好".into()),
        at: Timestamp::from_unix_ms(T0 + 1),
    };
    let nps = SurveyResponse {
        id: SurveyResponseId::from_u128(91),
        kind: SurveyKind::Nps,
        score: 0,
        comment: None,
        ..csat.clone()
    };
    store.insert_survey_response(&csat).await.expect("csat");
    store.insert_survey_response(&nps).await.expect("nps");
    assert_eq!(store.get_survey_response(org, csat.id).await.expect("get"), Some(csat.clone()));
    let got = store.list_survey_responses_by_contact(org, contact, &Page::default()).await.expect("list");
    assert_eq!(got.items, vec![csat.clone(), nps]);
    let off_scale = SurveyResponse { id: SurveyResponseId::from_u128(92), score: 9, ..csat };
    let refused = store.insert_survey_response(&off_scale).await;
    assert!(matches!(refused, Err(StoreError::InvalidInput { .. })), "{refused:?}");
    assert!(
        store
            .list_recordings_by_contact(OrgId::from_u128(2), contact, &Page::default())
            .await
            .expect("x")
            .items
            .is_empty()
    );
}

/// A contact first stored without a quality figure, then updated with one (the center's order).
pub async fn contact_quality_can_be_set_after_the_contact_was_stored_without_one(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let mut c = contact(org, 71, None, T0);
    c.quality_mos = None;
    store.insert_contact(&c).await.expect("insert");
    store.update_contact(&c).await.expect("update with no quality");
    c.quality_mos = Some(3.9);
    store.update_contact(&c).await.expect("update with a quality");
    let back = store.get_contact(org, c.id).await.expect("get").expect("row");
    assert_eq!(back.quality_mos, Some(3.9));
}
