//! The browser pages end to end in Debian's Chromium, driven by playwright-core
//! (`browser/e2e.mjs`): the real server on an ephemeral port, a seeded SQLite store, the real
//! contact center. The agent signs in, goes Available, a contact submitted through `center`
//! rings, is accepted, the screen-pop shows the customer (name, VIP tier, orders, past contacts
//! across channels, open tickets), wrap-up is saved with a disposition, notes and a new ticket,
//! the state returns to Available; the supervisor's wallboard follows live; the language switch
//! changes visible strings both ways. Screenshots go to `target/screenshots/`.
//!
//! Needs `node`, `/usr/bin/chromium` (Debian package `chromium`) and `npm ci` in
//! `crates/web/browser` (playwright-core); without them the test fails and says what is missing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::browser::{assert_screenshot, drive_scenario, require_tools, screenshot_dir};
use kpi::calendar::{UtcOffset, day_start};
use model::*;
use store::Store;

/// Longest the whole browser scenario may take before the test fails.
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);

/// Earlier contacts of customer 1 on other channels today, and a day of figures for the
/// wallboard: today's `general` queue is under its 80% target (one late answer, one abandon)
/// while yesterday's same hours were all answered in time.
async fn seed_history(store: &Store) {
    let org = demo::DEMO_ORG;
    let now = Timestamp::from_unix_ms(
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis())
            .expect("ms"),
    );
    let offset = UtcOffset::from_minutes(480).expect("offset");
    let today = day_start(now, offset);
    let span = now.unix_ms() - today.unix_ms();
    let at = |day: i64, share: i64| Timestamp::from_unix_ms(today.unix_ms() - day * 86_400_000 + span * share / 100);
    let general = demo::queue_id("general");
    let agent = common::demo_agent("1001").id;
    // (day back, share of the day so far, channel, wait s, answered, disposition)
    let rows: &[(i64, i64, Channel, u64, bool, &str)] = &[
        (0, 20, Channel::Chat, 8, true, "resolved"),
        (0, 40, Channel::Email, 5, true, "follow_up"),
        (0, 60, Channel::Voice, 95, true, "resolved"),
        (0, 70, Channel::Voice, 40, false, ""),
        (1, 20, Channel::Voice, 6, true, "resolved"),
        (1, 40, Channel::Voice, 9, true, "resolved"),
        (1, 60, Channel::Chat, 12, true, "resolved"),
        (1, 70, Channel::Voice, 15, true, "resolved"),
    ];
    let mut first = None;
    for (i, (day, share, channel, wait_s, answered, disposition)) in rows.iter().enumerate() {
        let arrived = at(*day, *share);
        let id = ContactId::from_u128(0xb0_0000 + i as u128);
        let mut c = Contact::arrived(id, org, *channel, Direction::Inbound, "+8613800000001", "4000", arrived);
        c.customer = Some(demo::customer_id(1));
        c.queue = Some(general);
        c.queued_at = Some(arrived);
        let picked = arrived.plus(DurationMs::from_secs(*wait_s));
        if *answered {
            c.agent = Some(agent);
            c.answered_at = Some(picked);
            c.ended_at = Some(picked.plus(DurationMs::from_secs(180)));
            c.wrap_up_ended_at = c.ended_at.map(|e| e.plus(DurationMs::from_secs(20)));
            c.outcome = Some(ContactOutcome::Answered);
            c.disposition = Some(ReasonCode::parse(disposition).expect("code"));
            c.notes = "查询物流".into();
            c.csat = Some(if i % 3 == 0 { 3 } else { 5 });
        } else {
            c.ended_at = Some(picked);
            c.outcome = Some(ContactOutcome::Abandoned);
        }
        c.status = ContactStatus::Ended;
        store.insert_contact(&c).await.expect("contact");
        first.get_or_insert(id);
    }
    let ticket = Ticket {
        id: TicketId::from_u128(0x70_0042),
        org,
        number: store.next_ticket_number(org).await.expect("number"),
        subject: "快递延误".into(),
        status: TicketStatus::Open,
        priority: TicketPriority::High,
        customer: Some(demo::customer_id(1)),
        assignee: None,
        contacts: first.into_iter().collect(),
        created_at: at(0, 20),
        updated_at: at(0, 20),
    };
    store.insert_ticket(&ticket).await.expect("ticket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_desktop_and_wallboard_work_end_to_end_in_chromium() {
    require_tools();
    let dir = tempfile::tempdir().expect("tmp");
    let store = common::seeded_store(dir.path()).await;
    seed_history(&store).await;
    let (center, _task) = center::Center::start(
        store.clone(),
        demo::DEMO_ORG,
        &center::demo_routes(),
        center::CenterConfig::default(),
        Arc::new(center::SystemClock),
    )
    .await
    .expect("center starts");
    // The system clock for the web too: the wallboard's "today" is the center's today.
    let state = web::AppState::new(store.clone(), Arc::new(store.clone()), common::config(), "test")
        .with_center(center.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(web::serve(listener, web::router(Arc::new(state)), std::future::pending()));

    let mut submitted = None;
    let on_line = async |line: &str| {
        if line != "@@submit" {
            return None;
        }
        let mut contact = common::voice_contact(1);
        contact.from_address = "+8613800000001".into();
        let id = center.submit(contact).await.expect("submit");
        submitted = Some(id);
        Some(id.to_string())
    };
    drive_scenario("e2e.mjs", &base, &[], SCENARIO_LIMIT, on_line).await;
    println!("screenshots in {}", screenshot_dir().display());
    for name in
        ["desktop-ringing", "desktop-screen-pop", "desktop-wrap-up", "desktop-en", "wallboard-live", "wallboard-en"]
    {
        assert_screenshot(&format!("{name}.png"));
    }

    // What the agent saved through the pages is in the store.
    center.flush().await.expect("flush");
    let id = submitted.expect("a contact was submitted");
    let saved = store.get_contact(demo::DEMO_ORG, id).await.expect("read").expect("contact stored");
    assert_eq!(saved.disposition.as_ref().map(ReasonCode::as_str), Some("resolved"));
    assert!(saved.notes.contains("退款"), "notes saved: {:?}", saved.notes);
    let tickets = store
        .list_tickets_by_customer(demo::DEMO_ORG, demo::customer_id(1), &store::Page::first(50))
        .await
        .expect("tickets");
    assert!(tickets.items.iter().any(|t| t.subject == "退款跟进" && t.contacts.contains(&id)), "ticket created");
}
