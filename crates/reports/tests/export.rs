//! Export: a real report written as CSV and XLSX and read back (the XLSX with calamine), with
//! Chinese and English headers.

mod common;

use calamine::{Data, Reader, Xlsx};
use common::{Backend, Db};
use kpi::aggregate::{ContactEvent, ContactEventKind, Input};
use kpi::calendar::{DAY_MS, HOUR_MS, UtcOffset};
use kpi::compare::Locale;
use model::*;
use reports::{AggregateSettings, ReportPeriod, Tabular};

const DAY0: i64 = 1_780_272_000_000;
const ORG: OrgId = OrgId::from_u128(1);

fn event(n: u128, contact: u128, ms: i64, kind: ContactEventKind) -> Input {
    Input::Contact(ContactEvent {
        id: ContactEventId::from_u128(n),
        contact: ContactId::from_u128(contact),
        channel: Channel::Voice,
        at: Timestamp::from_unix_ms(ms),
        kind,
    })
}

/// Day 0: one contact answered in 10 s; day 1: two, one answered in 10 s, one abandoned after 60 s.
async fn two_days(db: &Db) {
    let queue = Queue {
        id: QueueId::from_u128(10),
        org: ORG,
        name: QueueName::parse("general").expect("name"),
        display_name: "售后服务, \"VIP\"".into(),
        strategy: RoutingStrategy::LongestIdle,
        required_skills: vec![],
        service_level: ServiceLevelTarget::new(80, DurationMs::from_secs(20)).expect("sl"),
        wrap_up: DurationMs::from_secs(15),
        ring_timeout: DurationMs::from_secs(20),
        max_waiting: 50,
        max_wait: DurationMs::from_secs(600),
        overflow: None,
        created_at: Timestamp::from_unix_ms(DAY0),
    };
    db.store.insert_queue(&queue).await.expect("queue");
    let agent = AgentId::from_u128(20);
    let q = |c: u128, ms: i64| event(c * 10, c, ms, ContactEventKind::Queued { queue: queue.id, customer: None });
    let events = vec![
        q(1, DAY0 + 9 * HOUR_MS),
        event(11, 1, DAY0 + 9 * HOUR_MS + 10_000, ContactEventKind::Answered { agent }),
        q(2, DAY0 + DAY_MS + 9 * HOUR_MS),
        event(21, 2, DAY0 + DAY_MS + 9 * HOUR_MS + 10_000, ContactEventKind::Answered { agent }),
        q(3, DAY0 + DAY_MS + 10 * HOUR_MS),
        event(31, 3, DAY0 + DAY_MS + 10 * HOUR_MS + 60_000, ContactEventKind::Abandoned),
    ];
    reports::ingest(&db.store, ORG, &AggregateSettings::default(), &events).await.expect("ingest");
}

fn cell(v: &Data) -> String {
    match v {
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => format!("{i}"),
        Data::Empty => String::new(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_report_round_trips_through_xlsx_and_csv_with_chinese_headers() {
    let db = Db::fresh(Backend::Sqlite).await;
    two_days(&db).await;
    let period = ReportPeriod::day_vs_previous(Timestamp::from_unix_ms(DAY0 + DAY_MS), UtcOffset::UTC);
    let report = reports::queue_performance(&db.store, ORG, &period).await.expect("report");
    let table = report.table(Locale::ZhCn);

    let bytes = reports::to_xlsx(&table).expect("xlsx");
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("open xlsx");
    let sheet = book.worksheet_range("队列绩效").expect("sheet named after the title");
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(cell).collect()).collect();
    assert_eq!(rows[0][..5], ["队列", "呼入量", "呼入量 变化", "接通量", "接通量 变化"]);
    assert_eq!(rows[1][0], "售后服务, \"VIP\"");
    assert_eq!(rows[1][1..5], ["2", "+100%", "1", "0%"], "offered 2 vs 1, answered 1 vs 1");
    let sl = rows[0].iter().position(|h| h == "服务水平").expect("SL column");
    assert_eq!(rows[1][sl], "0.5", "SL as a fraction formatted as %");
    assert_eq!(rows[1][sl + 1], "\u{2212}50 个百分点");
    assert_eq!(rows.last().map(|r| r[0].as_str()), Some("合计"));

    let csv = String::from_utf8(reports::to_csv(&table)).expect("utf-8");
    assert!(csv.starts_with("\u{FEFF}队列,呼入量,呼入量 变化,"), "{csv}");
    let second = csv.split("\r\n").nth(1).expect("row");
    assert!(second.starts_with("\"售后服务, \"\"VIP\"\"\",2,+100%,1,0%,"), "{second}");
    assert!(second.contains(",50.0%,\u{2212}50 个百分点,"), "{second}");

    let english = report.table(Locale::English);
    assert_eq!(english.headers[..3], ["Queue", "Offered", "Offered change"]);
    db.store.close().await;
}
