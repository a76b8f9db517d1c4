//! Interval arithmetic: which 15-minute, hour or day interval a moment falls in, with days cut
//! at local midnight of a fixed UTC offset.
//!
//! A fixed offset (not an IANA zone) is enough for zones without daylight saving, such as
//! `Asia/Shanghai` (+08:00); a zone with DST needs the shell to pass the offset in force, and a
//! day that changes offset is then cut at the new offset (known limitation, stated in the report).
//! Never reads a clock; all arithmetic is on unix milliseconds and never panics.

use model::Timestamp;

use crate::KpiError;

/// Milliseconds in one minute, hour and day.
pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Largest UTC offset in the world's zones (±14:00), in minutes.
pub const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;

/// A fixed offset from UTC, in minutes east (Asia/Shanghai is +480).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UtcOffset(i32);

impl UtcOffset {
    pub const UTC: UtcOffset = UtcOffset(0);

    pub fn from_minutes(minutes: i32) -> Result<Self, KpiError> {
        if minutes.abs() > MAX_UTC_OFFSET_MINUTES {
            return Err(KpiError::Invalid { key: "utc_offset_minutes", problem: "must be within ±14:00".into() });
        }
        Ok(Self(minutes))
    }

    pub fn minutes(self) -> i32 {
        self.0
    }

    fn ms(self) -> i64 {
        i64::from(self.0) * MINUTE_MS
    }
}

/// How long a report interval is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    QuarterHour,
    Hour,
    Day,
}

impl Granularity {
    pub const ALL: [Granularity; 3] = [Granularity::QuarterHour, Granularity::Hour, Granularity::Day];

    pub const fn length_ms(self) -> i64 {
        match self {
            Granularity::QuarterHour => 15 * MINUTE_MS,
            Granularity::Hour => HOUR_MS,
            Granularity::Day => DAY_MS,
        }
    }

    pub const fn index(self) -> usize {
        match self {
            Granularity::QuarterHour => 0,
            Granularity::Hour => 1,
            Granularity::Day => 2,
        }
    }

    /// The start of the interval `at` falls in. Intervals are cut at local boundaries of `offset`
    /// (only days are affected by whole-hour offsets; quarter-hours and hours by offsets such as
    /// +05:45 as well, which keeps every interval inside one local day).
    pub fn start_of(self, at: Timestamp, offset: UtcOffset) -> Timestamp {
        let local = at.unix_ms().saturating_add(offset.ms());
        let start = local.div_euclid(self.length_ms()).saturating_mul(self.length_ms());
        Timestamp::from_unix_ms(start.saturating_sub(offset.ms()))
    }
}

/// Start of the local day `at` falls in.
pub fn day_start(at: Timestamp, offset: UtcOffset) -> Timestamp {
    Granularity::Day.start_of(at, offset)
}

/// Monday = 0 … Sunday = 6, of the local day `at` falls in (1970-01-01 was a Thursday).
pub fn weekday_from_monday(at: Timestamp, offset: UtcOffset) -> i64 {
    let local_day = at.unix_ms().saturating_add(offset.ms()).div_euclid(DAY_MS);
    (local_day + 3).rem_euclid(7)
}

/// Moves a moment by whole milliseconds (negative goes back); saturates instead of overflowing.
pub fn shift(at: Timestamp, ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(at.unix_ms().saturating_add(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHANGHAI: i32 = 8 * 60;

    #[test]
    fn shanghai_day_starts_at_sixteen_hundred_utc() {
        // 2026-11-27 01:00 UTC is 09:00 in Shanghai; the local day began 2026-11-26 16:00 UTC.
        let at = Timestamp::from_unix_ms(1_795_741_200_000);
        let offset = UtcOffset::from_minutes(SHANGHAI).ok().unwrap_or_default();
        assert_eq!(day_start(at, offset), Timestamp::from_unix_ms(1_795_741_200_000 - 9 * HOUR_MS));
    }

    #[test]
    fn quarter_hour_start_rounds_down_and_negative_times_floor() {
        let g = Granularity::QuarterHour;
        assert_eq!(
            g.start_of(Timestamp::from_unix_ms(16 * MINUTE_MS), UtcOffset::UTC),
            Timestamp::from_unix_ms(15 * MINUTE_MS)
        );
        assert_eq!(g.start_of(Timestamp::from_unix_ms(-1), UtcOffset::UTC), Timestamp::from_unix_ms(-15 * MINUTE_MS));
    }

    #[test]
    fn epoch_was_a_thursday() {
        assert_eq!(weekday_from_monday(Timestamp::from_unix_ms(0), UtcOffset::UTC), 3);
    }

    #[test]
    fn offsets_beyond_fourteen_hours_are_refused() {
        assert!(UtcOffset::from_minutes(15 * 60).is_err());
        assert!(UtcOffset::from_minutes(-14 * 60).is_ok());
    }
}
