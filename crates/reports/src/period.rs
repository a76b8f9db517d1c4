//! Report periods (the one shown and the one it is compared with) and how a period is read from
//! the stored intervals: whole local days from day rows, whole hours at the edges from hour rows,
//! the rest from quarter-hours. Reads stay small (a month is ~30 day rows per queue) and exact to
//! the quarter-hour, as `kpi::compare` states. Pure.

use kpi::calendar::{DAY_MS, Granularity, HOUR_MS, UtcOffset, shift};
use kpi::compare::{self, Period};
use kpi::figures::FigureSettings;
use model::Timestamp;

/// What a report covers and compares, and how days and formulas are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportPeriod {
    pub current: Period,
    /// The period compared with, if any.
    pub previous: Option<Period>,
    /// Local day boundaries (the org's zone; Asia/Shanghai is +08:00).
    pub utc_offset: UtcOffset,
    /// Service level variant and short-abandon rule (KPI.md defaults).
    pub figure_settings: FigureSettings,
}

impl ReportPeriod {
    fn from(c: compare::Comparison, utc_offset: UtcOffset) -> Self {
        Self { current: c.current, previous: Some(c.previous), utc_offset, figure_settings: FigureSettings::default() }
    }

    /// Today so far vs yesterday up to the same time (the live view).
    pub fn today_vs_yesterday(now: Timestamp, utc_offset: UtcOffset) -> Self {
        Self::from(compare::today_vs_yesterday(now, utc_offset), utc_offset)
    }

    /// A closed day (the one `day` falls in) vs the day before.
    pub fn day_vs_previous(day: Timestamp, utc_offset: UtcOffset) -> Self {
        Self::from(compare::closed_day_vs_previous(day, utc_offset), utc_offset)
    }

    /// This week so far (from local Monday) vs last week up to the same weekday and time.
    pub fn week_vs_last_week(now: Timestamp, utc_offset: UtcOffset) -> Self {
        Self::from(compare::week_so_far_vs_last_week(now, utc_offset), utc_offset)
    }

    /// Today so far vs the same weekday last week up to the same time.
    pub fn today_vs_same_weekday_last_week(now: Timestamp, utc_offset: UtcOffset) -> Self {
        Self::from(compare::today_vs_same_weekday_last_week(now, utc_offset), utc_offset)
    }

    /// Any range, not compared.
    pub fn range(current: Period, utc_offset: UtcOffset) -> Self {
        Self { current, previous: None, utc_offset, figure_settings: FigureSettings::default() }
    }

    /// Any range compared with any other.
    pub fn compared(current: Period, previous: Period, utc_offset: UtcOffset) -> Self {
        Self { previous: Some(previous), ..Self::range(current, utc_offset) }
    }

    pub fn with_figure_settings(mut self, figure_settings: FigureSettings) -> Self {
        self.figure_settings = figure_settings;
        self
    }
}

fn floor(g: Granularity, at: Timestamp, offset: UtcOffset) -> Timestamp {
    g.start_of(at, offset)
}

fn ceil(g: Granularity, at: Timestamp, offset: UtcOffset) -> Timestamp {
    let f = floor(g, at, offset);
    if f == at { at } else { shift(f, g.length_ms()) }
}

/// The pieces a period is read in: the intervals of each granularity whose start falls in its
/// piece. Together they hold exactly the quarter-hours whose start is in the period.
pub(crate) fn pieces(period: Period, offset: UtcOffset) -> Vec<(Granularity, Period)> {
    let mut out = Vec::new();
    split(Granularity::Day, period, offset, &mut out);
    out
}

fn split(g: Granularity, p: Period, offset: UtcOffset, out: &mut Vec<(Granularity, Period)>) {
    if p.end <= p.start {
        return;
    }
    let finer = match g {
        Granularity::Day => Some(Granularity::Hour),
        Granularity::Hour => Some(Granularity::QuarterHour),
        Granularity::QuarterHour => None,
    };
    let Some(finer) = finer else {
        out.push((g, p));
        return;
    };
    let (lo, hi) = (ceil(g, p.start, offset), floor(g, p.end, offset));
    if lo >= hi {
        split(finer, p, offset, out);
        return;
    }
    split(finer, Period { start: p.start, end: lo }, offset, out);
    out.push((g, Period { start: lo, end: hi }));
    split(finer, Period { start: hi, end: p.end }, offset, out);
}

/// The local hour of day (0–23) of a moment.
pub(crate) fn local_hour(at: Timestamp, offset: UtcOffset) -> usize {
    let local = at.unix_ms().saturating_add(i64::from(offset.minutes()) * 60_000);
    (local.rem_euclid(DAY_MS) / HOUR_MS) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(ms)
    }

    #[test]
    fn a_period_splits_into_days_hours_and_quarters() {
        let q = 15 * 60_000;
        let p = Period { start: at(DAY_MS - HOUR_MS - q), end: at(3 * DAY_MS + HOUR_MS + q + 1) };
        let got = pieces(p, UtcOffset::UTC);
        let expected = vec![
            (Granularity::QuarterHour, Period { start: at(DAY_MS - HOUR_MS - q), end: at(DAY_MS - HOUR_MS) }),
            (Granularity::Hour, Period { start: at(DAY_MS - HOUR_MS), end: at(DAY_MS) }),
            (Granularity::Day, Period { start: at(DAY_MS), end: at(3 * DAY_MS) }),
            (Granularity::Hour, Period { start: at(3 * DAY_MS), end: at(3 * DAY_MS + HOUR_MS) }),
            (
                Granularity::QuarterHour,
                Period { start: at(3 * DAY_MS + HOUR_MS), end: at(3 * DAY_MS + HOUR_MS + q + 1) },
            ),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn shanghai_days_start_at_sixteen_utc() {
        let offset = UtcOffset::from_minutes(480).expect("offset");
        let start = at(16 * HOUR_MS);
        let got = pieces(Period { start, end: shift(start, DAY_MS) }, offset);
        assert_eq!(got, vec![(Granularity::Day, Period { start, end: shift(start, DAY_MS) })]);
        assert_eq!(local_hour(start, offset), 0);
    }
}
