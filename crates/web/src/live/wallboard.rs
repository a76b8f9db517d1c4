//! `GET /api/wallboard`: per queue the live state from the center (waiting now, longest wait,
//! agents serving) and the KPIs of KPI.md for today so far and yesterday up to the same time
//! (service level, answer rate 接通率, ASA, AHT, abandon rate, CSAT), with the change as KPI.md
//! says — percentage points for rates, relative % for times — computed by the `kpi` crate from
//! the store's contacts; plus every agent with state and time in state, and an alert flag per
//! queue whose service level today is below its target.
//!
//! A contact counts in the period its arrival falls in (the store's time index), in its queue;
//! at most [`MAX_CONTACTS_PER_PERIOD`] contacts are read per period (`truncated` says when that
//! bit). "Today" starts at local midnight of the org's time zone ([`utc_offset_minutes`]).
//!
//! Never: compute a figure any other way than through `kpi::figures` (one code path), or produce
//! NaN (an empty denominator is `null`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use kpi::calendar::UtcOffset;
use kpi::compare::{Kpi, Locale, Period, today_vs_yesterday};
use kpi::figures::{DEFAULT_SHORT_ABANDON_MS, FigureSettings, Figures, KpiCounts};
use model::{Contact, ContactOutcome, QueueId, Timestamp};
use serde_json::{Value, json};
use store::{Page, TimeRange};

use super::center_of;
use crate::AppState;
use crate::problem::Problem;

type Arc = std::sync::Arc<AppState>;

/// Most contacts read for one period's figures.
pub(crate) const MAX_CONTACTS_PER_PERIOD: usize = 100_000;

/// The figures the wallboard shows, in its column order.
pub(crate) const WALLBOARD_KPIS: [(Kpi, &str); 6] = [
    (Kpi::ServiceLevel, "service_level"),
    (Kpi::AnswerRate, "answer_rate"),
    (Kpi::AverageSpeedOfAnswer, "asa_s"),
    (Kpi::AverageHandleTime, "aht_s"),
    (Kpi::AbandonRate, "abandon_rate"),
    (Kpi::CsatTopTwoBox, "csat"),
];

/// The fixed UTC offset of an IANA zone the wallboard knows (zones without daylight saving where
/// Hotline is sold); others fall back to UTC.
pub(crate) fn utc_offset_minutes(time_zone: &str) -> i32 {
    match time_zone {
        "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Harbin" | "Asia/Urumqi" | "PRC" | "Asia/Hong_Kong"
        | "Asia/Macau" | "Asia/Taipei" | "Asia/Singapore" | "Asia/Kuala_Lumpur" | "Asia/Manila" => 480,
        "Asia/Tokyo" | "Asia/Seoul" => 540,
        "Asia/Bangkok" | "Asia/Jakarta" | "Asia/Ho_Chi_Minh" => 420,
        "Asia/Kolkata" => 330,
        "Asia/Dubai" => 240,
        _ => 0,
    }
}

/// What a queue's contacts add up to in a period, counted with its thresholds.
pub(crate) fn count(contacts: &[Contact], sl_threshold_ms: u64) -> KpiCounts {
    let mut c = KpiCounts::default();
    let ms = |a: Timestamp, b: Timestamp| u64::try_from(b.unix_ms().saturating_sub(a.unix_ms())).unwrap_or(0);
    for contact in contacts {
        let Some(queued) = contact.queued_at.or(contact.queue.map(|_| contact.arrived_at)) else { continue };
        c.offered += 1;
        if let Some(answered) = contact.answered_at {
            let wait = ms(queued, answered);
            c.answered += 1;
            c.answered_wait_ms += wait;
            c.answered_within_threshold += u64::from(wait <= sl_threshold_ms);
            c.transferred += u64::from(contact.transferred);
            if let Some(ended) = contact.ended_at {
                c.handled += 1;
                c.talk_ms += ms(answered, ended);
                c.acw_ms += contact.wrap_up_ended_at.map_or(0, |w| ms(ended, w));
            }
        } else if contact.outcome == Some(ContactOutcome::Abandoned) {
            let wait = contact.ended_at.map_or(0, |e| ms(queued, e));
            let within = wait <= sl_threshold_ms;
            let short = wait <= DEFAULT_SHORT_ABANDON_MS;
            c.abandoned += 1;
            c.abandoned_wait_ms += wait;
            c.abandoned_within_threshold += u64::from(within);
            c.abandoned_short += u64::from(short);
            c.abandoned_short_within_threshold += u64::from(short && within);
        }
        if let Some(score) = contact.csat.filter(|s| (1..=5).contains(s)) {
            c.csat_responses += 1;
            c.csat_top_two += u64::from(score >= 4);
            c.csat_score_sum += u64::from(score);
        }
    }
    c
}

/// The org's contacts that arrived in `period`, by queue; `true` when the cap bit.
async fn contacts_by_queue(app: &AppState, period: Period) -> Result<(BTreeMap<QueueId, Vec<Contact>>, bool), Problem> {
    let mut by_queue: BTreeMap<QueueId, Vec<Contact>> = BTreeMap::new();
    let range = TimeRange::new(period.start, period.end);
    let mut page = Page::first(store::MAX_PAGE_SIZE);
    let mut read = 0usize;
    loop {
        let got = app.store.list_contacts_in_range(app.config.org, range, &page).await?;
        read += got.items.len();
        for c in got.items {
            if let Some(q) = c.queue {
                by_queue.entry(q).or_default().push(c);
            }
        }
        match got.next {
            Some(next) if read < MAX_CONTACTS_PER_PERIOD => page = Page::after(store::MAX_PAGE_SIZE, next),
            Some(_) => return Ok((by_queue, true)),
            None => return Ok((by_queue, false)),
        }
    }
}

/// One queue's figures for both periods and the changes.
pub(crate) fn queue_kpis(today: &KpiCounts, yesterday: &KpiCounts) -> Value {
    let settings = FigureSettings::default();
    let (ft, fy) = (Figures::compute(today, &settings), Figures::compute(yesterday, &settings));
    let mut out = serde_json::Map::new();
    for (kpi, key) in WALLBOARD_KPIS {
        let change = kpi.change((&ft, today), (&fy, yesterday));
        out.insert(
            key.to_owned(),
            json!({
                "today": kpi.value(&ft, today),
                "yesterday": kpi.value(&fy, yesterday),
                "change": change.map(|c| json!({"en": c.format(Locale::English), "zh": c.format(Locale::ZhCn)})),
                "higher_is_better": kpi.higher_is_better(),
            }),
        );
    }
    out.insert("offered_today".into(), json!(today.offered));
    out.insert("offered_yesterday".into(), json!(yesterday.offered));
    Value::Object(out)
}

/// `GET /api/wallboard`.
pub(crate) async fn wallboard(State(app): State<Arc>) -> Result<Json<Value>, Problem> {
    let org = app.config.org;
    let snap = center_of(&app)?.snapshot().await?;
    let zone = app.store.get_org(org).await?.map(|o| o.time_zone).unwrap_or_default();
    let offset = UtcOffset::from_minutes(utc_offset_minutes(&zone)).unwrap_or(UtcOffset::UTC);
    let now = app.clock.now();
    let periods = today_vs_yesterday(now, offset);
    let (today, cut_today) = contacts_by_queue(&app, periods.current).await?;
    let (yesterday, cut_yesterday) = contacts_by_queue(&app, periods.previous).await?;
    let queues = app.store.list_queues(org, &Page::first(store::MAX_PAGE_SIZE)).await?.items;
    let empty = Vec::new();
    let rows: Vec<Value> = queues
        .iter()
        .map(|q| {
            let threshold = q.service_level.threshold.as_ms();
            let t = count(today.get(&q.id).unwrap_or(&empty), threshold);
            let y = count(yesterday.get(&q.id).unwrap_or(&empty), threshold);
            let kpis = queue_kpis(&t, &y);
            let sl = kpis["service_level"]["today"].as_f64();
            let target = f64::from(q.service_level.percent) / 100.0;
            json!({
                "id": q.id.to_string(), "name": q.name.as_str(), "display_name": q.display_name,
                "sl_target_percent": q.service_level.percent, "sl_threshold_ms": threshold,
                "live": snap.queue(q.id),
                "kpis": kpis,
                "alert": sl.is_some_and(|v| v < target),
            })
        })
        .collect();
    Ok(Json(json!({
        "at_ms": now.unix_ms(),
        "utc_offset_minutes": offset.minutes(),
        "today": {"start_ms": periods.current.start.unix_ms(), "end_ms": periods.current.end.unix_ms()},
        "yesterday": {"start_ms": periods.previous.start.unix_ms(), "end_ms": periods.previous.end.unix_ms()},
        "truncated": cut_today || cut_yesterday,
        "queues": rows,
        "agents": snap.agents,
    })))
}

#[cfg(test)]
mod tests {
    use model::*;

    use super::*;

    fn contact(n: u128, wait_s: u64, answered: bool, talk_s: u64, csat: Option<u8>) -> Contact {
        let t0 = Timestamp::from_unix_ms(1_000_000);
        let mut c = Contact::arrived(
            ContactId::from_u128(n),
            OrgId::from_u128(1),
            Channel::Voice,
            Direction::Inbound,
            "",
            "",
            t0,
        );
        c.queue = Some(QueueId::from_u128(9));
        c.queued_at = Some(t0);
        let at = t0.plus(DurationMs::from_secs(wait_s));
        if answered {
            c.answered_at = Some(at);
            c.ended_at = Some(at.plus(DurationMs::from_secs(talk_s)));
            c.wrap_up_ended_at = c.ended_at.map(|e| e.plus(DurationMs::from_secs(10)));
            c.outcome = Some(ContactOutcome::Answered);
        } else {
            c.ended_at = Some(at);
            c.outcome = Some(ContactOutcome::Abandoned);
        }
        c.csat = csat;
        c
    }

    #[test]
    fn contacts_count_as_kpi_md_defines() {
        let contacts = [
            contact(1, 10, true, 100, Some(5)),
            contact(2, 30, true, 200, Some(2)),
            contact(3, 40, false, 0, None),
            contact(4, 3, false, 0, None),
        ];
        let c = count(&contacts, 20_000);
        assert_eq!((c.offered, c.answered, c.answered_within_threshold), (4, 2, 1));
        assert_eq!((c.abandoned, c.abandoned_short, c.abandoned_within_threshold), (2, 1, 1));
        assert_eq!((c.handled, c.talk_ms, c.acw_ms), (2, 300_000, 20_000));
        assert_eq!((c.csat_responses, c.csat_top_two), (2, 1));
        let f = Figures::compute(&c, &FigureSettings::default());
        // SL: 1 within T / (2 answered + 1 late abandon); the short abandon is left out.
        assert_eq!(f.service_level, Some(1.0 / 3.0));
        assert_eq!(f.answer_rate, Some(0.5));
        assert_eq!(f.abandon_rate, Some(1.0 / 3.0));
        assert_eq!(f.average_speed_of_answer_s, Some(20.0));
        assert_eq!(f.average_handle_time_s, Some(160.0));
    }

    #[test]
    fn changes_are_points_for_rates_and_relative_for_times() {
        let today = count(&[contact(1, 10, true, 110, None), contact(2, 10, true, 110, None)], 20_000);
        let yesterday = count(&[contact(3, 10, true, 125, None), contact(4, 40, false, 0, None)], 20_000);
        let k = queue_kpis(&today, &yesterday);
        assert_eq!(k["answer_rate"]["change"]["en"], "+50 pp");
        assert_eq!(k["answer_rate"]["change"]["zh"], "+50 个百分点");
        // AHT 120 s vs 135 s.
        assert_eq!(k["aht_s"]["change"]["en"], "\u{2212}11%");
        assert_eq!(k["csat"]["today"], Value::Null);
    }

    #[test]
    fn known_zones_have_their_offsets() {
        assert_eq!(utc_offset_minutes("Asia/Shanghai"), 480);
        assert_eq!(utc_offset_minutes("Mars/Olympus"), 0);
    }
}
