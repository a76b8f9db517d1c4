//! The KPI.md examples, each period rule, and the formatting in both languages.

use model::Timestamp;

use super::*;
use crate::calendar::HOUR_MS;
use crate::figures::FigureSettings;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(ms)
}

/// 2026-11-27 (a Friday) 01:00 UTC = 09:00 in Shanghai.
const FRIDAY_0900_SHANGHAI: i64 = 1_795_741_200_000;

fn shanghai() -> UtcOffset {
    UtcOffset::from_minutes(480).unwrap_or_default()
}

#[test]
fn rate_change_is_in_percentage_points() {
    let c = change(ChangeKind::Rate, Some(0.92), Some(0.88));
    assert_eq!(c.map(|c| c.format(Locale::English)), Some("+4 pp".to_owned()));
    assert_eq!(c.map(|c| c.format(Locale::ZhCn)), Some("+4 个百分点".to_owned()));
}

#[test]
fn quantity_change_is_relative() {
    let c = change(ChangeKind::Quantity, Some(120.0), Some(135.0));
    assert!(matches!(c, Some(Change::RelativePercent(v)) if (v + 11.111).abs() < 0.01));
    assert_eq!(c.map(|c| c.format(Locale::English)), Some("\u{2212}11%".to_owned()));
    assert_eq!(c.map(|c| c.format(Locale::ZhCn)), Some("\u{2212}11%".to_owned()));
}

#[test]
fn score_change_is_in_points() {
    let c = change(ChangeKind::Score, Some(32.0), Some(27.5));
    assert_eq!(c.map(|c| c.format(Locale::English)), Some("+4.5 pts".to_owned()));
    assert_eq!(c.map(|c| c.format(Locale::ZhCn)), Some("+4.5 分".to_owned()));
}

#[test]
fn a_change_that_rounds_to_nothing_has_no_sign() {
    let c = change(ChangeKind::Rate, Some(0.8801), Some(0.88));
    assert_eq!(c.map(|c| c.format(Locale::English)), Some("0 pp".to_owned()));
}

#[test]
fn relative_change_from_zero_or_undefined_side_is_none() {
    assert_eq!(change(ChangeKind::Quantity, Some(5.0), Some(0.0)), None);
    assert_eq!(change(ChangeKind::Rate, None, Some(0.5)), None);
    assert_eq!(change(ChangeKind::Rate, Some(0.5), None), None);
}

#[test]
fn kpi_kinds_follow_the_guide() {
    assert_eq!(Kpi::ServiceLevel.change_kind(), ChangeKind::Rate);
    assert_eq!(Kpi::AbandonRate.change_kind(), ChangeKind::Rate);
    assert_eq!(Kpi::CsatTopTwoBox.change_kind(), ChangeKind::Rate);
    assert_eq!(Kpi::AverageHandleTime.change_kind(), ChangeKind::Quantity);
    assert_eq!(Kpi::AverageSpeedOfAnswer.change_kind(), ChangeKind::Quantity);
    assert_eq!(Kpi::Offered.change_kind(), ChangeKind::Quantity);
    assert_eq!(Kpi::NetPromoterScore.change_kind(), ChangeKind::Score);
}

#[test]
fn every_kpi_has_an_english_and_a_chinese_label() {
    for k in Kpi::ALL {
        assert!(!k.label(Locale::English).is_empty());
        assert_ne!(k.label(Locale::English), k.label(Locale::ZhCn));
    }
    assert_eq!(Kpi::AnswerRate.label(Locale::ZhCn), "接通率");
}

#[test]
fn kpi_change_reads_the_figures_of_both_periods() {
    let today = KpiCounts { offered: 100, answered: 92, ..KpiCounts::default() };
    let yesterday = KpiCounts { offered: 50, answered: 44, ..KpiCounts::default() };
    let s = FigureSettings::default();
    let (ft, fy) = (Figures::compute(&today, &s), Figures::compute(&yesterday, &s));
    let rate = Kpi::AnswerRate.change((&ft, &today), (&fy, &yesterday));
    assert_eq!(rate.map(|c| c.format(Locale::English)), Some("+4 pp".to_owned()));
    let volume = Kpi::Offered.change((&ft, &today), (&fy, &yesterday));
    assert_eq!(volume.map(|c| c.format(Locale::English)), Some("+100%".to_owned()));
}

#[test]
fn today_is_compared_with_yesterday_up_to_the_same_time() {
    let now = at(FRIDAY_0900_SHANGHAI);
    let c = today_vs_yesterday(now, shanghai());
    assert_eq!(c.current, Period { start: at(FRIDAY_0900_SHANGHAI - 9 * HOUR_MS), end: now });
    assert_eq!(
        c.previous,
        Period { start: at(FRIDAY_0900_SHANGHAI - 33 * HOUR_MS), end: at(FRIDAY_0900_SHANGHAI - 24 * HOUR_MS) }
    );
}

#[test]
fn closed_day_is_compared_with_the_full_day_before() {
    let c = closed_day_vs_previous(at(FRIDAY_0900_SHANGHAI), shanghai());
    let start = FRIDAY_0900_SHANGHAI - 9 * HOUR_MS;
    assert_eq!(c.current, Period { start: at(start), end: at(start + 24 * HOUR_MS) });
    assert_eq!(c.previous, Period { start: at(start - 24 * HOUR_MS), end: at(start) });
}

#[test]
fn week_so_far_starts_on_local_monday_and_compares_the_same_span_last_week() {
    let now = at(FRIDAY_0900_SHANGHAI);
    let c = week_so_far_vs_last_week(now, shanghai());
    let monday = FRIDAY_0900_SHANGHAI - 9 * HOUR_MS - 4 * 24 * HOUR_MS;
    assert_eq!(c.current, Period { start: at(monday), end: now });
    assert_eq!(c.previous.start, at(monday - 7 * 24 * HOUR_MS));
    assert_eq!(c.previous.end, at(FRIDAY_0900_SHANGHAI - 7 * 24 * HOUR_MS));
}

#[test]
fn today_is_compared_with_the_same_weekday_last_week() {
    let now = at(FRIDAY_0900_SHANGHAI);
    let c = today_vs_same_weekday_last_week(now, shanghai());
    assert_eq!(c.previous.end, at(FRIDAY_0900_SHANGHAI - 7 * 24 * HOUR_MS));
    assert_eq!(c.previous.start, at(FRIDAY_0900_SHANGHAI - 9 * HOUR_MS - 7 * 24 * HOUR_MS));
}

#[test]
fn any_two_ranges_are_kept_as_given() {
    let a = Period { start: at(0), end: at(10) };
    let b = Period { start: at(100), end: at(300) };
    assert_eq!(ranges(a, b), Comparison { current: a, previous: b });
}
