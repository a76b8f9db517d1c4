//! Historical reports: `GET /api/reports/{kind}` (supervisors and admins), read from the store's
//! interval aggregates by the `reports` crate, as JSON for the pages or as CSV / XLSX downloads.
//!
//! Kinds: `queues`, `agents`, `channels`, `ivr`, `abandoned`, `hourly`, `csat`.
//! Periods (`?period=`): `today` (so far, vs yesterday up to the same time; the default),
//! `yesterday` (vs the day before), `week` (so far, vs last week up to the same weekday and
//! time), `range` with `from`/`to` as local dates `YYYY-MM-DD` (both included, at most
//! [`MAX_RANGE_DAYS`] days; compared with the same number of days just before). Days are the
//! org's local days ([`crate::WebConfig::report_utc_offset_minutes`]). `?lang=zh|en` picks the
//! headers; `?format=json|csv|xlsx` the answer. A bad period is a problem document (400).
//!
//! Never: compute a KPI here (figures and changes come from `reports`/`kpi`), or read an
//! unbounded period.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kpi::calendar::{DAY_MS, UtcOffset, day_start};
use kpi::compare::{Kpi, Locale, Period};
use model::Timestamp;
use reports::{Cell, ReportError, ReportPeriod, Table, Tabular};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiQuery, S};
use crate::problem::{Problem, ProblemKind};

/// Longest `range` period, in days.
pub(crate) const MAX_RANGE_DAYS: i64 = 366;

/// The report kinds, as they appear in the path.
pub(crate) const KINDS: [&str; 7] = ["queues", "agents", "channels", "ivr", "abandoned", "hourly", "csat"];

#[derive(Debug, Deserialize)]
pub(crate) struct ReportQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    lang: Option<String>,
    format: Option<String>,
}

impl From<ReportError> for Problem {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Store(e) => e.into(),
            ReportError::BadPeriod(why) => Problem::bad_request(format!("bad period: {why}")),
            ReportError::TooMany { what, limit } => {
                Problem::of(ProblemKind::Validation, format!("too many {what}: at most {limit}"))
            }
            other => {
                tracing::error!(error = %other, "report failed");
                Problem::of(ProblemKind::Internal, "the report could not be computed")
            }
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date; `None` when it is not a real date.
fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] || !(1970..=9999).contains(&y) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The start (local midnight, as a UTC instant) of a `YYYY-MM-DD` date.
fn local_midnight(text: &str, what: &str, offset: UtcOffset) -> Result<Timestamp, Problem> {
    let bad = || Problem::bad_request(format!("bad period: {what} must be a date YYYY-MM-DD, not {text:?}"));
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [y, m, d] = parts.as_slice() else { return Err(bad()) };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let n = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let days = days_from_civil(n(y)?, n(m)?, n(d)?).ok_or_else(bad)?;
    Ok(Timestamp::from_unix_ms(days * DAY_MS - i64::from(offset.minutes()) * 60_000))
}

/// The period a query names (pure; `now` and the org's offset injected).
pub(crate) fn period_of(
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    now: Timestamp,
    offset: UtcOffset,
) -> Result<(&'static str, ReportPeriod), Problem> {
    let name = match (period, from.is_some() || to.is_some()) {
        (None, true) => "range",
        (None, false) => "today",
        (Some(p), _) => p,
    };
    match name {
        "today" => Ok(("today", ReportPeriod::today_vs_yesterday(now, offset))),
        "yesterday" => {
            Ok(("yesterday", ReportPeriod::day_vs_previous(Timestamp::from_unix_ms(now.unix_ms() - DAY_MS), offset)))
        }
        "week" => Ok(("week", ReportPeriod::week_vs_last_week(now, offset))),
        "range" => {
            let (Some(from), Some(to)) = (from, to) else {
                return Err(Problem::bad_request("bad period: a range needs both from and to (YYYY-MM-DD)"));
            };
            let start = local_midnight(from, "from", offset)?;
            let last = local_midnight(to, "to", offset)?;
            if last < start {
                return Err(Problem::bad_request("bad period: to is before from"));
            }
            let days = (last.unix_ms() - start.unix_ms()) / DAY_MS + 1;
            if days > MAX_RANGE_DAYS {
                return Err(Problem::bad_request(format!(
                    "bad period: {days} days; a range covers at most {MAX_RANGE_DAYS} days"
                )));
            }
            if start >= day_start(now, offset).plus_ms(DAY_MS) {
                return Err(Problem::bad_request("bad period: the range starts in the future"));
            }
            let len = days * DAY_MS;
            let current = Period { start, end: start.plus_ms(len) };
            let previous = Period { start: start.plus_ms(-len), end: start };
            Ok(("range", ReportPeriod::compared(current, previous, offset)))
        }
        other => Err(Problem::bad_request(format!(
            "bad period {other:?}: use today, yesterday, week or range (with from and to)"
        ))),
    }
}

trait PlusMs {
    fn plus_ms(self, ms: i64) -> Timestamp;
}

impl PlusMs for Timestamp {
    fn plus_ms(self, ms: i64) -> Timestamp {
        kpi::calendar::shift(self, ms)
    }
}

fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Text(t) => json!({ "text": t }),
        Cell::Count(n) => json!({ "text": n.to_string(), "value": n }),
        Cell::Number(v, d) => json!({ "text": format!("{v:.d$}", d = *d), "value": v }),
        Cell::Percent(v) => json!({ "text": format!("{:.1}%", v * 100.0), "value": v, "percent": true }),
        Cell::Empty => json!({ "text": "" }),
    }
}

fn span(p: &Period) -> Value {
    json!({ "from_ms": p.start.unix_ms(), "to_ms": p.end.unix_ms() })
}

/// What one kind produced: its table and the series the page charts.
struct Computed {
    table: Table,
    chart: Value,
    truncated: bool,
}

async fn compute(
    app: &crate::AppState,
    kind: &str,
    period: &ReportPeriod,
    locale: Locale,
) -> Result<Computed, Problem> {
    let (store, org) = (&app.store, app.config.org);
    let s = period.figure_settings;
    let plain = |table: Table| Computed { table, chart: Value::Null, truncated: false };
    Ok(match kind {
        "queues" => {
            let r = reports::queue_performance(store, org, period).await?;
            let sl: Vec<Value> = r
                .0
                .rows
                .iter()
                .map(|row| {
                    json!({
                        "label": row.label,
                        "current": row.value(Kpi::ServiceLevel, &s),
                        "previous": row.previous.as_ref().and_then(|p| Kpi::ServiceLevel.value(&kpi::figures::Figures::compute(p, &s), p)),
                    })
                })
                .collect();
            Computed { table: r.table(locale), chart: json!({ "service_level": sl }), truncated: false }
        }
        "agents" => plain(reports::agent_performance(store, org, period).await?.table(locale)),
        "channels" => plain(reports::channel_mix(store, org, period).await?.table(locale)),
        "ivr" => plain(reports::ivr_containment(store, org, period).await?.table(locale)),
        "csat" => plain(reports::csat(store, org, period).await?.table(locale)),
        "hourly" => {
            let r = reports::hourly_arrivals(store, org, period).await?;
            let hours: Vec<Value> = r
                .hours
                .iter()
                .map(|h| {
                    json!({
                        "label": h.label,
                        "offered": h.current.offered,
                        "answered": h.current.answered,
                        "previous_offered": h.previous.map(|p| p.offered),
                    })
                })
                .collect();
            Computed { table: r.table(locale), chart: json!({ "hours": hours }), truncated: false }
        }
        "abandoned" => {
            let r = reports::abandoned_contacts(store, org, period).await?;
            Computed { table: r.table(locale), chart: Value::Null, truncated: r.truncated }
        }
        _ => return Err(Problem::not_found("report")),
    })
}

/// `attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 / 8187).
pub(crate) fn content_disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// `GET /api/reports/{kind}`.
pub(crate) async fn report(
    State(app): State<S>,
    Path(kind): Path<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, Problem> {
    if !KINDS.contains(&kind.as_str()) {
        return Err(Problem::not_found("report"));
    }
    let offset = UtcOffset::from_minutes(app.config.report_utc_offset_minutes)
        .map_err(|_| Problem::of(ProblemKind::Internal, "the configured report UTC offset is out of range"))?;
    let locale = match q.lang.as_deref() {
        None | Some("en") => Locale::English,
        Some("zh" | "zh-CN") => Locale::ZhCn,
        Some(other) => return Err(Problem::bad_request(format!("bad lang {other:?}: use zh or en"))),
    };
    let now = app.clock.now();
    let (name, period) = period_of(q.period.as_deref(), q.from.as_deref(), q.to.as_deref(), now, offset)?;
    let computed = compute(&app, &kind, &period, locale).await?;
    let day = reports::utc_text(period.current.start.unix_ms() + i64::from(offset.minutes()) * 60_000);
    let file_stem = format!("{}-{}", computed.table.title.replace(' ', "-").to_lowercase(), &day[..10]);
    match q.format.as_deref() {
        None | Some("json") => {
            let body = json!({
                "kind": kind,
                "title": computed.table.title,
                "period": {
                    "name": name,
                    "current": span(&period.current),
                    "previous": period.previous.as_ref().map(span),
                    "utc_offset_minutes": offset.minutes(),
                },
                "headers": computed.table.headers,
                "rows": computed.table.rows.iter().map(|r| r.iter().map(cell_json).collect::<Vec<_>>()).collect::<Vec<_>>(),
                "chart": computed.chart,
                "truncated": computed.truncated,
            });
            Ok(axum::Json(body).into_response())
        }
        Some("csv") => {
            Ok(download(reports::to_csv(&computed.table), "text/csv; charset=utf-8", &format!("{file_stem}.csv")))
        }
        Some("xlsx") => Ok(download(
            reports::to_xlsx(&computed.table)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("{file_stem}.xlsx"),
        )),
        Some(other) => Err(Problem::bad_request(format!("bad format {other:?}: use json, csv or xlsx"))),
    }
}

fn download(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHANGHAI: i32 = 480;

    fn offset() -> UtcOffset {
        UtcOffset::from_minutes(SHANGHAI).expect("offset")
    }

    #[test]
    fn dates_are_local_midnights() {
        // 2026-11-27 00:00 +08:00 is 2026-11-26 16:00 UTC.
        let t = local_midnight("2026-11-27", "from", offset()).expect("date");
        assert_eq!(reports::utc_text(t.unix_ms()), "2026-11-26 16:00:00");
        for bad in ["2026-02-30", "2026-13-01", "26-11-27", "2026/11/27", "", "2026-11-27T00:00"] {
            assert!(local_midnight(bad, "from", offset()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_range_is_compared_with_the_days_before_and_bounded() {
        let now = local_midnight("2026-11-27", "now", offset()).expect("now").plus_ms(10 * 3_600_000);
        let (_, p) = period_of(None, Some("2026-11-20"), Some("2026-11-26"), now, offset()).expect("range");
        assert_eq!(p.current.end.unix_ms() - p.current.start.unix_ms(), 7 * DAY_MS);
        assert_eq!(p.previous.expect("previous").end, p.current.start);
        for (from, to) in [("2026-11-26", "2026-11-20"), ("2024-01-01", "2026-11-26"), ("2026-12-01", "2026-12-02")] {
            assert!(period_of(Some("range"), Some(from), Some(to), now, offset()).is_err(), "{from}..{to}");
        }
        assert!(period_of(Some("range"), Some("2026-11-20"), None, now, offset()).is_err());
        assert!(period_of(Some("month"), None, None, now, offset()).is_err());
    }

    #[test]
    fn filenames_keep_utf8_and_have_an_ascii_fallback() {
        assert_eq!(
            content_disposition("队列绩效-2026-11-27.csv"),
            "attachment; filename=\"____-2026-11-27.csv\"; \
             filename*=UTF-8''%E9%98%9F%E5%88%97%E7%BB%A9%E6%95%88-2026-11-27.csv"
        );
    }
}
