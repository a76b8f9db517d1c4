//! The report API over real HTTP against a seeded SQLite store whose aggregates were fed through
//! `reports::ingest`: figures checked against a hand computation, CSV parsed back, XLSX read back
//! with calamine, bad periods as problem documents, the agent role refused.

mod common;

use calamine::{Data, Reader, Xlsx};
use common::{T0, TestServer, problem};
use model::*;
use reqwest::Method;
use serde_json::Value;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Local midnight (UTC in these tests) of T0's day.
fn today() -> i64 {
    T0.unix_ms() - T0.unix_ms().rem_euclid(DAY)
}

async fn contact(s: &TestServer, n: u128, queued_ms: i64, wait_s: i64, talk_s: Option<i64>) {
    let queue = demo::queue_id("general");
    let at = Timestamp::from_unix_ms(queued_ms);
    let mut c = Contact::arrived(
        ContactId::from_u128(0xbb_0000 + n),
        demo::DEMO_ORG,
        Channel::Voice,
        Direction::Inbound,
        "+8613800000001",
        "4000",
        at,
    );
    c.queue = Some(queue);
    c.queued_at = Some(at);
    c.status = ContactStatus::Ended;
    let wait_end = Timestamp::from_unix_ms(queued_ms + wait_s * 1000);
    match talk_s {
        Some(talk) => {
            c.agent = Some(common::demo_agent("1001").id);
            c.answered_at = Some(wait_end);
            c.ended_at = Some(Timestamp::from_unix_ms(queued_ms + (wait_s + talk) * 1000));
            c.outcome = Some(ContactOutcome::Answered);
        }
        None => {
            c.ended_at = Some(wait_end);
            c.outcome = Some(ContactOutcome::Abandoned);
        }
    }
    s.store.insert_contact(&c).await.expect("contact");
    let settings = reports::AggregateSettings { utc_offset: kpi::calendar::UtcOffset::UTC, ..Default::default() };
    reports::ingest(&s.store, demo::DEMO_ORG, &settings, &reports::contact_inputs(&c)).await.expect("ingest");
}

/// Today (so far, T0 is 08:00 UTC): 3 offered to `general`, answered after 10 s (talk 120 s) and
/// 30 s (talk 60 s), one abandoned after 40 s. Yesterday, same hours: 2 answered after 5 s
/// (talk 60 s and 180 s). By hand, today vs yesterday:
/// - offered 3 vs 2 → +50%; answered 2 vs 2 → 0%;
/// - SL (20 s) = 1 / (2 answered + 1 abandoned after 20 s) = 33.3% vs 100% → −66.7 pp;
/// - answer rate 66.7% vs 100% → −33.3 pp; ASA (10+30)/2 = 20 s vs 5 s → +300%;
/// - AHT (120+60)/2 = 90 s vs (60+180)/2 = 120 s → −25%.
async fn seeded() -> TestServer {
    let mut config = common::config();
    config.report_utc_offset_minutes = 0;
    let s = common::start_with(config).await;
    let (d, y) = (today(), today() - DAY);
    contact(&s, 1, d + HOUR, 10, Some(120)).await;
    contact(&s, 2, d + 2 * HOUR, 30, Some(60)).await;
    contact(&s, 3, d + 3 * HOUR, 40, None).await;
    contact(&s, 4, y + HOUR, 5, Some(60)).await;
    contact(&s, 5, y + 2 * HOUR, 5, Some(180)).await;
    // After T0: outside "today so far" and its comparison.
    contact(&s, 6, y + 10 * HOUR, 5, Some(60)).await;
    s
}

fn column(body: &Value, header: &str) -> usize {
    body["headers"].as_array().expect("headers").iter().position(|h| h == header).unwrap_or_else(|| {
        panic!("no column {header:?} in {}", body["headers"]);
    })
}

fn general_row(body: &Value) -> Vec<String> {
    body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_array().expect("cells").iter().map(|c| c["text"].as_str().unwrap_or("").to_owned()).collect())
        .find(|r: &Vec<String>| r[0].starts_with("General support"))
        .expect("general queue row")
}

#[tokio::test]
async fn queue_performance_today_matches_the_hand_computation() {
    let s = seeded().await;
    let sup = s.supervisor().await;
    let body = common::json(s.as_browser(&sup, Method::GET, "/api/reports/queues").send().await.expect("get")).await;
    assert_eq!(body["period"]["name"], "today");
    assert_eq!(body["period"]["current"]["from_ms"], today());
    assert_eq!(body["period"]["current"]["to_ms"], T0.unix_ms());
    assert_eq!(body["period"]["previous"]["from_ms"], today() - DAY);
    let row = general_row(&body);
    let at = |h: &str| row[column(&body, h)].clone();
    assert_eq!(at("Offered"), "3");
    assert_eq!(at("Offered change"), "+50%");
    assert_eq!(at("Answered"), "2");
    assert_eq!(at("Service level"), "33.3%");
    assert_eq!(at("Service level change"), "\u{2212}66.7 pp");
    assert_eq!(at("Answer rate"), "66.7%");
    assert_eq!(at("Answer rate change"), "\u{2212}33.3 pp");
    assert_eq!(at("Average speed of answer"), "20.0");
    assert_eq!(at("Average speed of answer change"), "+300%");
    assert_eq!(at("Average handle time"), "90.0");
    assert_eq!(at("Average handle time change"), "\u{2212}25%");
    let sl = body["chart"]["service_level"].as_array().expect("chart");
    let general = sl.iter().find(|q| q["label"].as_str().is_some_and(|l| l.starts_with("General"))).expect("sl");
    assert!((general["current"].as_f64().expect("sl now") - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(general["previous"].as_f64(), Some(1.0));
}

#[tokio::test]
async fn hourly_arrivals_count_by_hour_with_yesterday() {
    let s = seeded().await;
    let sup = s.supervisor().await;
    let body = common::json(s.as_browser(&sup, Method::GET, "/api/reports/hourly").send().await.expect("get")).await;
    let hours = body["chart"]["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 24);
    let offered: Vec<u64> = hours.iter().map(|h| h["offered"].as_u64().expect("offered")).collect();
    let previous: Vec<u64> = hours.iter().map(|h| h["previous_offered"].as_u64().expect("previous")).collect();
    assert_eq!(offered[..4], [0, 1, 1, 1]);
    assert_eq!(previous[..4], [0, 1, 1, 0]);
    assert_eq!(offered.iter().sum::<u64>(), 3);
    assert_eq!(previous.iter().sum::<u64>(), 2, "yesterday after 08:00 is not compared");
}

/// A tiny RFC 4180 reader (quotes, doubled quotes, CRLF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = vec![];
    let (mut row, mut field, mut quoted, mut chars) = (vec![], String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[tokio::test]
async fn csv_download_parses_back_with_the_same_figures_and_a_utf8_filename() {
    let s = seeded().await;
    let sup = s.supervisor().await;
    let resp = s.as_browser(&sup, Method::GET, "/api/reports/queues?format=csv&lang=zh").send().await.expect("csv");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let cd = resp.headers()["content-disposition"].to_str().expect("ascii").to_owned();
    assert!(cd.starts_with("attachment; filename=\""), "{cd}");
    // 队列绩效 percent-encoded as UTF-8.
    assert!(cd.contains("filename*=UTF-8''%E9%98%9F%E5%88%97%E7%BB%A9%E6%95%88-"), "{cd}");
    assert!(cd.ends_with(".csv"), "{cd}");
    let text = resp.text().await.expect("body");
    let rows = parse_csv(text.strip_prefix('\u{FEFF}').expect("BOM for Excel"));
    assert_eq!(rows[0][..3], ["队列", "呼入量", "呼入量 变化"]);
    let general = rows.iter().find(|r| r[0].starts_with("General support")).expect("general");
    let sl = rows[0].iter().position(|h| h == "服务水平").expect("SL");
    assert_eq!(general[1..3], ["3", "+50%"]);
    assert_eq!(general[sl], "33.3%");
    assert_eq!(general[sl + 1], "\u{2212}66.7 个百分点");
    assert_eq!(rows.last().expect("total")[0], "合计");
}

#[tokio::test]
async fn xlsx_download_reads_back_with_calamine() {
    let s = seeded().await;
    let sup = s.admin().await;
    let resp = s.as_browser(&sup, Method::GET, "/api/reports/queues?format=xlsx").send().await.expect("xlsx");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(resp.headers()["content-disposition"].to_str().expect("ascii").contains(".xlsx"));
    let bytes = resp.bytes().await.expect("body").to_vec();
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("open xlsx");
    let sheet = book.worksheet_range("Queue performance").expect("sheet");
    let text = |d: &Data| match d {
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => format!("{i}"),
        Data::Empty => String::new(),
        other => format!("{other:?}"),
    };
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(text).collect()).collect();
    let general = rows.iter().find(|r| r[0].starts_with("General support")).expect("general");
    let sl = rows[0].iter().position(|h| h == "Service level").expect("SL");
    assert_eq!(general[1], "3");
    let v: f64 = general[sl].parse().expect("SL is a number");
    assert!((v - 1.0 / 3.0).abs() < 1e-9, "{v}");
}

#[tokio::test]
async fn ranges_weeks_and_yesterday_are_periods_and_bad_ones_are_problems() {
    let s = seeded().await;
    let sup = s.supervisor().await;
    let get = |q: &str| s.as_browser(&sup, Method::GET, &format!("/api/reports/queues{q}")).send();
    let day = reports::utc_text(today())[..10].to_owned();
    let yday = reports::utc_text(today() - DAY)[..10].to_owned();
    let body = common::json(get(&format!("?from={yday}&to={yday}")).await.expect("range")).await;
    assert_eq!(body["period"]["name"], "range");
    assert_eq!(general_row(&body)[column(&body, "Offered")], "3", "the whole of yesterday");
    let body = common::json(get("?period=yesterday").await.expect("yesterday")).await;
    assert_eq!(general_row(&body)[column(&body, "Offered")], "3");
    let body = common::json(get("?period=week").await.expect("week")).await;
    assert!(body["period"]["previous"]["from_ms"].as_i64().is_some());
    for bad in [
        format!("?from={day}&to={yday}"),
        "?from=2020-01-01&to=2026-01-01".to_owned(),
        "?from=2026-02-30&to=2026-03-01".to_owned(),
        "?period=fortnight".to_owned(),
        "?period=range&from=2026-01-01".to_owned(),
        "?format=pdf".to_owned(),
    ] {
        let (status, body) = problem(get(&bad).await.expect("bad")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = problem(get("x").await.expect("unknown kind")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn every_kind_answers_and_agents_are_refused() {
    let s = seeded().await;
    let sup = s.supervisor().await;
    for kind in ["queues", "agents", "channels", "ivr", "abandoned", "hourly", "csat"] {
        let body =
            common::json(s.as_browser(&sup, Method::GET, &format!("/api/reports/{kind}")).send().await.expect("get"))
                .await;
        assert!(!body["headers"].as_array().expect("headers").is_empty(), "{kind}");
    }
    let abandoned =
        common::json(s.as_browser(&sup, Method::GET, "/api/reports/abandoned").send().await.expect("get")).await;
    assert_eq!(abandoned["rows"].as_array().expect("rows").len(), 1, "one abandoned today");
    let agent = s.agent("1001").await;
    let (status, _) =
        problem(s.as_browser(&agent, Method::GET, "/api/reports/queues").send().await.expect("get")).await;
    assert_eq!(status, 403);
}
