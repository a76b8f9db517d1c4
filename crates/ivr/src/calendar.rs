//! Named business-hours calendars: an IANA time zone, opening ranges per weekday and dated
//! exceptions (closed all day, or special hours), evaluated at an injected instant. Edited as
//! data (the store keeps them, the admin page edits them) and shared with running IVR sessions
//! through a [`CalendarBook`] swapped whole on every change, so an edit applies to the next
//! hours check without a restart.
//!
//! Local time comes from the tz database compiled into `chrono-tz`, so daylight-saving changes
//! are exact: 09:00 in `Europe/Berlin` is 08:00Z in winter and 07:00Z in summer. A range
//! boundary that falls in a skipped hour (spring forward) takes effect at the first local time
//! after the gap; one in a repeated hour (fall back) at its first occurrence.
//!
//! Must never: panic on any instant or input text, read a clock, or look further ahead than
//! [`MAX_LOOKAHEAD_DAYS`].

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::{Datelike, LocalResult, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;
use model::Timestamp;

use crate::hours::{self, Date, WEEKDAYS};

/// Most exceptions (dated closures or special hours) in one calendar.
pub const MAX_EXCEPTIONS: usize = 366;
/// Most calendars a [`CalendarBook`] holds.
pub const MAX_CALENDARS: usize = 256;
/// How far [`Calendar::next_change`] looks ahead, in days.
pub const MAX_LOOKAHEAD_DAYS: i64 = 400;

const MINUTE_MS: i64 = 60_000;

/// A calendar that does not validate: the field (`time_zone`, `weekly.mon`,
/// `exceptions[2].hours`) and what is wrong with it, for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CalendarError {
    pub field: String,
    pub message: String,
}

fn error(field: impl Into<String>, message: impl Into<String>) -> CalendarError {
    CalendarError { field: field.into(), message: message.into() }
}

/// When a place is open, in its own time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    time_zone: Tz,
    /// Monday first; minute ranges, start inclusive, end exclusive.
    weekly: [Vec<(u16, u16)>; 7],
    /// Local date → that day's ranges instead of the weekday's (empty: closed all day).
    exceptions: BTreeMap<Date, Vec<(u16, u16)>>,
}

impl Calendar {
    /// Validates a calendar as written: an IANA zone (`Asia/Shanghai`), opening texts per
    /// weekday Monday first (`"09:00-12:00,13:00-18:00"`, `""` or `"closed"`), and exceptions as
    /// `(date, hours)` (`("2027-02-10", "closed")`, `("2027-02-14", "10:00-14:00")`).
    pub fn parse(
        time_zone: &str,
        weekly: &[String; 7],
        exceptions: &[(String, String)],
    ) -> Result<Self, CalendarError> {
        let tz: Tz = time_zone
            .trim()
            .parse()
            .map_err(|_| error("time_zone", format!("{time_zone:?} is not an IANA time zone like Asia/Shanghai")))?;
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        for (i, text) in weekly.iter().enumerate() {
            days[i] = hours::parse_day_ranges(text).map_err(|m| error(format!("weekly.{}", WEEKDAYS[i]), m))?;
        }
        if exceptions.len() > MAX_EXCEPTIONS {
            return Err(error("exceptions", format!("at most {MAX_EXCEPTIONS} exceptions")));
        }
        let mut by_date = BTreeMap::new();
        for (i, (date, text)) in exceptions.iter().enumerate() {
            let d = Date::parse(date).map_err(|m| error(format!("exceptions[{i}].date"), m))?;
            let ranges = hours::parse_day_ranges(text).map_err(|m| error(format!("exceptions[{i}].hours"), m))?;
            if by_date.insert(d, ranges).is_some() {
                return Err(error(format!("exceptions[{i}].date"), format!("{date} is listed twice")));
            }
        }
        Ok(Self { time_zone: tz, weekly: days, exceptions: by_date })
    }

    /// The IANA name of the calendar's zone.
    pub fn time_zone(&self) -> &'static str {
        self.time_zone.name()
    }

    fn ranges_of(&self, date: Date, weekday: usize) -> &[(u16, u16)] {
        self.exceptions.get(&date).map_or(self.weekly[weekday % 7].as_slice(), Vec::as_slice)
    }

    /// Whether it is open at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        let LocalResult::Single(at) = self.time_zone.timestamp_millis_opt(now.unix_ms()) else {
            return false;
        };
        let local = at.naive_local();
        let date = date_of(local.date());
        let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
        let weekday = local.weekday().num_days_from_monday() as usize;
        self.ranges_of(date, weekday).iter().any(|(a, b)| (*a..*b).contains(&minute))
    }

    /// The first instant after `now` at which [`Calendar::is_open`] changes, to the minute;
    /// `None` when it does not change within [`MAX_LOOKAHEAD_DAYS`] (always open or closed).
    pub fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        let open_now = self.is_open(now);
        let LocalResult::Single(at) = self.time_zone.timestamp_millis_opt(now.unix_ms()) else {
            return None;
        };
        let today = at.naive_local().date();
        // From yesterday: a range of yesterday may end after `now` in UTC terms around DST.
        let mut day = today.pred_opt()?;
        for _ in 0..=MAX_LOOKAHEAD_DAYS {
            let weekday = day.weekday().num_days_from_monday() as usize;
            let mut candidates: Vec<i64> = self
                .ranges_of(date_of(day), weekday)
                .iter()
                .flat_map(|(a, b)| [*a, *b])
                .filter_map(|m| self.instant_of(day, m))
                .filter(|t| *t > now.unix_ms())
                .collect();
            candidates.sort_unstable();
            for t in candidates {
                let t = Timestamp::from_unix_ms(t);
                if self.is_open(t) != open_now {
                    return Some(t);
                }
            }
            day = day.succ_opt()?;
        }
        None
    }

    /// Unix ms of local `minute` (0..=1440) on `day`; a time in a DST gap moves past the gap.
    fn instant_of(&self, day: NaiveDate, minute: u16) -> Option<i64> {
        let (day, minute) = if minute >= 1440 { (day.succ_opt()?, 0) } else { (day, minute) };
        let mut local = day.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
        // Gaps are at most a few hours anywhere in the tz database; step by 15 minutes.
        for _ in 0..16 {
            match self.time_zone.from_local_datetime(&local) {
                LocalResult::Single(t) => return Some(t.timestamp_millis()),
                LocalResult::Ambiguous(first, _) => return Some(first.timestamp_millis()),
                LocalResult::None => local += chrono::Duration::milliseconds(15 * MINUTE_MS),
            }
        }
        None
    }
}

fn date_of(d: NaiveDate) -> Date {
    Date { year: d.year(), month: d.month() as u8, day: d.day() as u8 }
}

/// The calendars running sessions read, by name; swapped whole on every change. Shareable
/// between threads; a poisoned lock is recovered (the map is replaced whole, never half-written).
#[derive(Debug, Default)]
pub struct CalendarBook {
    current: RwLock<Arc<BTreeMap<String, Arc<Calendar>>>>,
}

impl CalendarBook {
    /// The calendar `name`, as of now.
    pub fn get(&self, name: &str) -> Option<Arc<Calendar>> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(name).cloned()
    }

    /// The names held, sorted.
    pub fn names(&self) -> Vec<String> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).keys().cloned().collect()
    }

    /// Replaces every calendar; more than [`MAX_CALENDARS`] is refused and changes nothing.
    pub fn replace(&self, calendars: BTreeMap<String, Calendar>) -> Result<(), CalendarError> {
        if calendars.len() > MAX_CALENDARS {
            return Err(error("calendars", format!("at most {MAX_CALENDARS} calendars")));
        }
        let map = calendars.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(map);
        Ok(())
    }
}

/// A flow's link to the shared [`CalendarBook`]. Not part of what a flow *is*: two flows that
/// differ only in their link are equal.
#[derive(Debug, Clone, Default)]
pub struct CalendarLink(pub Arc<CalendarBook>);

impl PartialEq for CalendarLink {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for CalendarLink {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::parse_utc_instant;

    fn at(s: &str) -> Timestamp {
        Timestamp::from_unix_ms(parse_utc_instant(s).expect("valid instant"))
    }

    fn nine_to_six(zone: &str, exceptions: &[(&str, &str)]) -> Calendar {
        let d = "09:00-18:00".to_owned();
        let weekly = [d.clone(), d.clone(), d.clone(), d.clone(), d, String::new(), "closed".into()];
        let ex: Vec<(String, String)> = exceptions.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect();
        Calendar::parse(zone, &weekly, &ex).expect("valid calendar")
    }

    #[test]
    fn opening_follows_daylight_saving_in_berlin() {
        let c = nine_to_six("Europe/Berlin", &[]);
        // Winter (CET, +01:00): 09:00 local is 08:00Z.
        assert!(!c.is_open(at("2027-03-26T07:59:00Z")));
        assert!(c.is_open(at("2027-03-26T08:00:00Z")));
        // Summer (CEST, +02:00) after the change on Sunday 2027-03-28: 09:00 local is 07:00Z.
        assert!(c.is_open(at("2027-03-29T07:00:00Z")));
        assert!(!c.is_open(at("2027-03-29T16:00:00Z")));
    }

    #[test]
    fn next_change_crosses_the_weekend_and_the_dst_switch() {
        let c = nine_to_six("Europe/Berlin", &[]);
        // Friday 2027-03-26 17:00Z is 18:00 CET: closed until Monday 09:00 CEST = 07:00Z.
        let closed_at = c.next_change(at("2027-03-26T12:00:00Z"));
        assert_eq!(closed_at, Some(at("2027-03-26T17:00:00Z")));
        assert_eq!(c.next_change(at("2027-03-26T17:00:00Z")), Some(at("2027-03-29T07:00:00Z")));
    }

    #[test]
    fn exceptions_close_a_day_or_give_it_special_hours() {
        let c = nine_to_six("Asia/Shanghai", &[("2027-02-08", "closed"), ("2027-02-13", "10:00-14:00")]);
        // Monday 2027-02-08 10:00 Beijing (02:00Z): a holiday.
        assert!(!c.is_open(at("2027-02-08T02:00:00Z")));
        assert!(c.is_open(at("2027-02-09T02:00:00Z")));
        // Saturday 2027-02-13 is normally closed, but open 10:00-14:00 that day.
        assert!(c.is_open(at("2027-02-13T02:30:00Z")));
        assert!(!c.is_open(at("2027-02-13T06:00:00Z")));
        // Sunday 2027-02-07 18:00Z: next opening skips the Monday holiday → Tuesday 09:00 = 01:00Z.
        assert_eq!(c.next_change(at("2027-02-07T18:00:00Z")), Some(at("2027-02-09T01:00:00Z")));
    }

    #[test]
    fn a_range_to_midnight_joins_the_next_day() {
        let all = "00:00-24:00".to_owned();
        let weekly = [all.clone(), all.clone(), all.clone(), all.clone(), all.clone(), all.clone(), all];
        let c = Calendar::parse("UTC", &weekly, &[]).expect("valid");
        assert!(c.is_open(at("2027-01-01T23:59:00Z")));
        assert_eq!(c.next_change(at("2027-01-01T12:00:00Z")), None);
    }

    #[test]
    fn bad_calendars_name_their_field() {
        let ok = nine_to_six("UTC", &[]);
        assert_eq!(ok.time_zone(), "UTC");
        let week: [String; 7] = Default::default();
        assert_eq!(Calendar::parse("Mars/Olympus", &week, &[]).map_err(|e| e.field), Err("time_zone".into()));
        let mut bad = week.clone();
        bad[2] = "18:00-09:00".into();
        assert_eq!(Calendar::parse("UTC", &bad, &[]).map_err(|e| e.field), Err("weekly.wed".into()));
        let ex = vec![("2027-02-30".to_owned(), "closed".to_owned())];
        assert_eq!(Calendar::parse("UTC", &week, &ex).map_err(|e| e.field), Err("exceptions[0].date".into()));
        let ex = vec![("2027-02-10".to_owned(), "9-5".to_owned())];
        assert_eq!(Calendar::parse("UTC", &week, &ex).map_err(|e| e.field), Err("exceptions[0].hours".into()));
    }

    #[test]
    fn the_book_is_swapped_whole() {
        let book = CalendarBook::default();
        assert!(book.get("support").is_none());
        book.replace(BTreeMap::from([("support".to_owned(), nine_to_six("UTC", &[]))])).expect("fits");
        assert_eq!(book.names(), vec!["support".to_owned()]);
        assert!(book.get("support").is_some_and(|c| c.is_open(at("2027-01-04T10:00:00Z"))));
    }
}
