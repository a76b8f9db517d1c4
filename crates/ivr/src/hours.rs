//! Business hours: weekly opening times and holidays in a timezone given as a fixed UTC offset or
//! a table of offsets from given instants (for daylight saving), evaluated at an injected `now`.
//!
//! Pure calendar arithmetic on Unix milliseconds (proleptic Gregorian); no clock, no tz database.
//! Must never: panic on any instant or accept a range that ends before it starts.

use model::Timestamp;

/// Most opening ranges in one day.
pub const MAX_RANGES_PER_DAY: usize = 8;
/// Most holidays in one hours node.
pub const MAX_HOLIDAYS: usize = 366;
/// Most entries in an offset table.
pub const MAX_OFFSET_CHANGES: usize = 64;

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
/// Weekday names as written in flow files, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A calendar date (local).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// `2027-02-10`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a date like 2027-02-10");
        let mut it = s.trim().split('-');
        let (Some(y), Some(m), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        let day: u8 = d.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(bad());
        }
        Ok(Self { year, month, day })
    }

    fn days_since_epoch(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of `days_from_civil`).
fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date { year: i32::try_from(year).unwrap_or(i32::MAX), month, day }
}

/// A UTC offset in minutes, written `+08:00`, `-05:00` or `Z`.
pub fn parse_offset(s: &str) -> Result<i32, String> {
    let s = s.trim();
    let bad = || format!("{s:?} is not a UTC offset like +08:00");
    if s == "Z" || s == "UTC" {
        return Ok(0);
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

/// `2027-03-28T01:00:00Z` or `2027-03-28T01:00Z` (UTC only) as Unix ms.
pub fn parse_utc_instant(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a UTC instant like 2027-03-28T01:00:00Z");
    let s = s.trim();
    let body = s.strip_suffix('Z').ok_or_else(bad)?;
    let (date, time) = body.split_once('T').ok_or_else(bad)?;
    let date = Date::parse(date).map_err(|_| bad())?;
    let minutes = parse_clock(time.get(..5).ok_or_else(bad)?).map_err(|_| bad())?;
    let seconds: i64 = match time.get(5..) {
        Some("") => 0,
        Some(rest) => {
            rest.strip_prefix(':').and_then(|x| x.parse().ok()).filter(|x| (0..60).contains(x)).ok_or_else(bad)?
        }
        None => return Err(bad()),
    };
    Ok(date.days_since_epoch() * DAY_MS + i64::from(minutes) * MINUTE_MS + seconds * 1000)
}

/// `09:30` as minutes after midnight; `24:00` is allowed as the end of a day.
fn parse_clock(s: &str) -> Result<u16, String> {
    let bad = || format!("{s:?} is not a time like 09:30");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Opening ranges of one day, `"09:00-12:00,13:00-18:00"`, as minute pairs (start inclusive, end
/// exclusive). `"closed"` or `""` is no range.
pub fn parse_day_ranges(s: &str) -> Result<Vec<(u16, u16)>, String> {
    let s = s.trim();
    if s.is_empty() || s == "closed" {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let (a, b) = part.trim().split_once('-').ok_or_else(|| format!("{part:?} is not a range like 09:00-18:00"))?;
        let (a, b) = (parse_clock(a.trim())?, parse_clock(b.trim())?);
        if b <= a {
            return Err(format!("{part:?} ends before it starts"));
        }
        out.push((a, b));
    }
    if out.len() > MAX_RANGES_PER_DAY {
        return Err(format!("more than {MAX_RANGES_PER_DAY} ranges in a day"));
    }
    Ok(out)
}

/// When a place is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// Offset in minutes from UTC before the first change, then each `(from_unix_ms, offset)` in order.
    pub offset_minutes: i32,
    pub offset_changes: Vec<(i64, i32)>,
    /// Monday first.
    pub weekly: [Vec<(u16, u16)>; 7],
    /// Closed all day (local dates), sorted.
    pub holidays: Vec<Date>,
}

impl BusinessHours {
    fn offset_at(&self, unix_ms: i64) -> i32 {
        self.offset_changes
            .iter()
            .take_while(|(from, _)| *from <= unix_ms)
            .last()
            .map_or(self.offset_minutes, |(_, off)| *off)
    }

    /// Whether it is open at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        let local = now.unix_ms().saturating_add(i64::from(self.offset_at(now.unix_ms())) * MINUTE_MS);
        let days = local.div_euclid(DAY_MS);
        let minute = u16::try_from(local.rem_euclid(DAY_MS) / MINUTE_MS).unwrap_or(0);
        if self.holidays.binary_search(&civil_from_days(days)).is_ok() {
            return false;
        }
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        let weekday = usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0);
        self.weekly[weekday].iter().any(|(a, b)| (*a..*b).contains(&minute))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::from_unix_ms(parse_utc_instant(s).expect("valid instant"))
    }

    fn weekdays_nine_to_six(offset: i32) -> BusinessHours {
        let day = parse_day_ranges("09:00-18:00").expect("valid");
        BusinessHours {
            offset_minutes: offset,
            offset_changes: Vec::new(),
            weekly: [day.clone(), day.clone(), day.clone(), day.clone(), day, Vec::new(), Vec::new()],
            holidays: vec![Date::parse("2027-01-01").expect("valid")],
        }
    }

    #[test]
    fn dates_round_trip_through_day_numbers() {
        for days in [-800_000, -1, 0, 1, 19_000, 20_819, 2_000_000] {
            let d = civil_from_days(days);
            assert_eq!(d.days_since_epoch(), days, "{d:?}");
        }
        assert_eq!(Date::parse("2024-02-29").map(Date::days_since_epoch), Ok(19_782));
    }

    #[test]
    fn beijing_office_is_open_at_ten_local_on_a_weekday() {
        let h = weekdays_nine_to_six(8 * 60);
        // Wednesday 2027-01-06 02:00Z is 10:00 in Beijing.
        assert!(h.is_open(at("2027-01-06T02:00:00Z")));
        // 00:59Z is 08:59 local: not yet.
        assert!(!h.is_open(at("2027-01-06T00:59:00Z")));
        // 10:00Z is 18:00 local: the end is exclusive.
        assert!(!h.is_open(at("2027-01-06T10:00:00Z")));
    }

    #[test]
    fn local_date_decides_the_weekday_and_the_holiday() {
        let h = weekdays_nine_to_six(8 * 60);
        // Saturday 2027-01-09 in Beijing, although still Friday 2027-01-08 in UTC... at 01:30Z it is 09:30 Sat.
        assert!(!h.is_open(at("2027-01-09T01:30:00Z")));
        // 2027-01-01 is a Friday but a holiday.
        assert!(!h.is_open(at("2027-01-01T02:00:00Z")));
        assert!(h.is_open(at("2026-12-31T02:00:00Z")));
    }

    #[test]
    fn offset_table_switches_at_its_instants() {
        let mut h = weekdays_nine_to_six(0);
        h.offset_changes = vec![(parse_utc_instant("2027-03-28T01:00:00Z").expect("valid"), 60)];
        // Monday 2027-03-22 08:30Z: 08:30 local before the change: closed.
        assert!(!h.is_open(at("2027-03-22T08:30:00Z")));
        // Monday 2027-03-29 08:30Z: 09:30 local after it: open.
        assert!(h.is_open(at("2027-03-29T08:30:00Z")));
    }

    #[test]
    fn malformed_hours_are_refused() {
        assert!(parse_day_ranges("18:00-09:00").is_err());
        assert!(parse_day_ranges("9-18").is_err());
        assert!(parse_day_ranges("09:00-24:30").is_err());
        assert_eq!(parse_day_ranges("00:00-24:00"), Ok(vec![(0, 1440)]));
        assert!(parse_offset("+8").is_err());
        assert_eq!(parse_offset("-05:30"), Ok(-330));
        assert!(Date::parse("2027-02-30").is_err());
        assert!(parse_utc_instant("2027-03-28T01:00:00").is_err());
    }
}
