//! Period comparison, as KPI.md's "Period comparison" section says.
//!
//! - Which periods: today so far vs yesterday up to the same time (live), a closed day vs the day
//!   before, this week so far vs last week up to the same weekday and time, today vs the same
//!   weekday last week, or any two ranges. Periods are half-open `[start, end)`.
//! - How a change is shown: a rate (service level, answer rate, abandon rate, CSAT %, ...) changes
//!   in **percentage points** (92% vs 88% → +4 pp); a quantity (AHT, ASA, volume) changes
//!   **relatively** (120 s vs 135 s → −11%); a score that is already a difference of percentages
//!   (NPS) or a mean on a scale (CSAT mean) changes in **points**. [`Change`] says which.
//!
//! Resolution: the aggregator's totals take whole intervals whose start falls in a period, so a
//! live "up to the same time" comparison is exact to the quarter-hour (the current quarter-hour
//! is partial today and whole yesterday); closed days and weeks are exact.
//!
//! Never reads a clock (`now` is passed in) and never produces NaN: an undefined change is `None`.

use model::Timestamp;

use crate::calendar::{DAY_MS, UtcOffset, day_start, shift, weekday_from_monday};
use crate::figures::{Figures, KpiCounts};

/// A half-open range of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// The period shown and the one it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    pub current: Period,
    pub previous: Period,
}

/// Today so far vs yesterday up to the same time of day (the live view).
pub fn today_vs_yesterday(now: Timestamp, offset: UtcOffset) -> Comparison {
    shifted_back(Period { start: day_start(now, offset), end: now }, DAY_MS)
}

/// A closed day (the one `day` falls in) vs the full day before.
pub fn closed_day_vs_previous(day: Timestamp, offset: UtcOffset) -> Comparison {
    let start = day_start(day, offset);
    shifted_back(Period { start, end: shift(start, DAY_MS) }, DAY_MS)
}

/// Today so far vs the same weekday last week up to the same time.
pub fn today_vs_same_weekday_last_week(now: Timestamp, offset: UtcOffset) -> Comparison {
    shifted_back(Period { start: day_start(now, offset), end: now }, 7 * DAY_MS)
}

/// This week so far (from local Monday 00:00) vs last week up to the same weekday and time.
pub fn week_so_far_vs_last_week(now: Timestamp, offset: UtcOffset) -> Comparison {
    let monday = shift(day_start(now, offset), -weekday_from_monday(now, offset) * DAY_MS);
    shifted_back(Period { start: monday, end: now }, 7 * DAY_MS)
}

/// Any two ranges, as given.
pub fn ranges(current: Period, previous: Period) -> Comparison {
    Comparison { current, previous }
}

fn shifted_back(current: Period, by_ms: i64) -> Comparison {
    Comparison { current, previous: Period { start: shift(current.start, -by_ms), end: shift(current.end, -by_ms) } }
}

/// How a figure's change is expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A rate: difference in percentage points.
    Rate,
    /// A quantity (durations, volumes): relative difference.
    Quantity,
    /// A score (NPS, CSAT mean): difference in points of its own scale.
    Score,
}

/// A change between two periods, typed by how it must be shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Rate difference, in percentage points (`4.0` for 92% vs 88%).
    PercentagePoints(f64),
    /// Quantity difference relative to the previous period, in percent (`-11.1` for 120 vs 135).
    RelativePercent(f64),
    /// Score difference in the score's own points.
    Points(f64),
}

/// The change from `previous` to `current`. Rates are fractions (0.92). `None` when either side is
/// undefined, or for a relative change from zero.
pub fn change(kind: ChangeKind, current: Option<f64>, previous: Option<f64>) -> Option<Change> {
    let (c, p) = (current?, previous?);
    let result = match kind {
        ChangeKind::Rate => Change::PercentagePoints((c - p) * 100.0),
        ChangeKind::Score => Change::Points(c - p),
        ChangeKind::Quantity if p == 0.0 => return None,
        ChangeKind::Quantity => Change::RelativePercent((c - p) / p * 100.0),
    };
    let value = match result {
        Change::PercentagePoints(v) | Change::RelativePercent(v) | Change::Points(v) => v,
    };
    value.is_finite().then_some(result)
}

/// The language of labels and formatted changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    English,
    /// Simplified Chinese (zh-CN).
    ZhCn,
}

/// Rounds to `decimals` places and writes it with an explicit sign (U+2212 for minus), trimming a
/// trailing `.0`; a value that rounds to zero is written `0`.
fn signed(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let text = text.strip_suffix(".0").unwrap_or(&text).to_owned();
    if text.chars().all(|ch| ch == '0' || ch == '.') {
        return "0".to_owned();
    }
    let sign = if value < 0.0 { '\u{2212}' } else { '+' };
    format!("{sign}{text}")
}

impl Change {
    /// `+4 pp` / `+4 个百分点`, `−11%`, `+5 pts` / `+5 分`. Rates and scores keep one decimal,
    /// relative changes are whole percent (as in KPI.md's examples).
    pub fn format(&self, locale: Locale) -> String {
        match (*self, locale) {
            (Change::PercentagePoints(v), Locale::English) => format!("{} pp", signed(v, 1)),
            (Change::PercentagePoints(v), Locale::ZhCn) => format!("{} 个百分点", signed(v, 1)),
            (Change::RelativePercent(v), _) => format!("{}%", signed(v, 0)),
            (Change::Points(v), Locale::English) => format!("{} pts", signed(v, 1)),
            (Change::Points(v), Locale::ZhCn) => format!("{} 分", signed(v, 1)),
        }
    }
}

/// The figures a report can compare, with their labels and how their change is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kpi {
    ServiceLevel,
    AnswerRate,
    AbandonRate,
    AverageSpeedOfAnswer,
    AverageAbandonedWait,
    AverageHandleTime,
    Occupancy,
    Utilisation,
    TransferRate,
    FirstContactResolution,
    IvrContainment,
    CsatTopTwoBox,
    CsatMean,
    NetPromoterScore,
    /// Contacts offered (volume).
    Offered,
    /// Contacts answered (volume).
    Answered,
}

impl Kpi {
    pub const ALL: [Kpi; 16] = [
        Kpi::ServiceLevel,
        Kpi::AnswerRate,
        Kpi::AbandonRate,
        Kpi::AverageSpeedOfAnswer,
        Kpi::AverageAbandonedWait,
        Kpi::AverageHandleTime,
        Kpi::Occupancy,
        Kpi::Utilisation,
        Kpi::TransferRate,
        Kpi::FirstContactResolution,
        Kpi::IvrContainment,
        Kpi::CsatTopTwoBox,
        Kpi::CsatMean,
        Kpi::NetPromoterScore,
        Kpi::Offered,
        Kpi::Answered,
    ];

    pub const fn change_kind(self) -> ChangeKind {
        match self {
            Kpi::AverageSpeedOfAnswer
            | Kpi::AverageAbandonedWait
            | Kpi::AverageHandleTime
            | Kpi::Offered
            | Kpi::Answered => ChangeKind::Quantity,
            Kpi::CsatMean | Kpi::NetPromoterScore => ChangeKind::Score,
            _ => ChangeKind::Rate,
        }
    }

    /// Whether a rise is good news (for colouring a change); `None` when it is neither (volume).
    pub const fn higher_is_better(self) -> Option<bool> {
        match self {
            Kpi::AbandonRate | Kpi::AverageSpeedOfAnswer | Kpi::AverageAbandonedWait | Kpi::TransferRate => Some(false),
            Kpi::Offered | Kpi::Answered | Kpi::AverageHandleTime | Kpi::Occupancy | Kpi::Utilisation => None,
            _ => Some(true),
        }
    }

    pub const fn label(self, locale: Locale) -> &'static str {
        let (en, zh) = match self {
            Kpi::ServiceLevel => ("Service level", "服务水平"),
            Kpi::AnswerRate => ("Answer rate", "接通率"),
            Kpi::AbandonRate => ("Abandon rate", "放弃率"),
            Kpi::AverageSpeedOfAnswer => ("Average speed of answer", "平均应答速度"),
            Kpi::AverageAbandonedWait => ("Average wait of abandoned", "放弃前平均等待"),
            Kpi::AverageHandleTime => ("Average handle time", "平均处理时长"),
            Kpi::Occupancy => ("Occupancy", "占用率"),
            Kpi::Utilisation => ("Utilisation", "利用率"),
            Kpi::TransferRate => ("Transfer rate", "转接率"),
            Kpi::FirstContactResolution => ("First-contact resolution", "首次解决率"),
            Kpi::IvrContainment => ("IVR containment", "IVR 自助解决率"),
            Kpi::CsatTopTwoBox => ("CSAT", "满意度"),
            Kpi::CsatMean => ("CSAT mean score", "满意度平均分"),
            Kpi::NetPromoterScore => ("NPS", "净推荐值"),
            Kpi::Offered => ("Offered", "呼入量"),
            Kpi::Answered => ("Answered", "接通量"),
        };
        match locale {
            Locale::English => en,
            Locale::ZhCn => zh,
        }
    }

    /// This figure's value from computed figures (and the counts, for volumes).
    pub fn value(self, figures: &Figures, counts: &KpiCounts) -> Option<f64> {
        match self {
            Kpi::ServiceLevel => figures.service_level,
            Kpi::AnswerRate => figures.answer_rate,
            Kpi::AbandonRate => figures.abandon_rate,
            Kpi::AverageSpeedOfAnswer => figures.average_speed_of_answer_s,
            Kpi::AverageAbandonedWait => figures.average_abandoned_wait_s,
            Kpi::AverageHandleTime => figures.average_handle_time_s,
            Kpi::Occupancy => figures.occupancy,
            Kpi::Utilisation => figures.utilisation,
            Kpi::TransferRate => figures.transfer_rate,
            Kpi::FirstContactResolution => figures.first_contact_resolution,
            Kpi::IvrContainment => figures.ivr_containment,
            Kpi::CsatTopTwoBox => figures.csat_top_two_box,
            Kpi::CsatMean => figures.csat_mean,
            Kpi::NetPromoterScore => figures.net_promoter_score,
            Kpi::Offered => Some(counts.offered as f64),
            Kpi::Answered => Some(counts.answered as f64),
        }
    }

    /// The change of this figure between two periods' counts and figures.
    pub fn change(self, current: (&Figures, &KpiCounts), previous: (&Figures, &KpiCounts)) -> Option<Change> {
        change(self.change_kind(), self.value(current.0, current.1), self.value(previous.0, previous.1))
    }
}

#[cfg(test)]
mod tests;
