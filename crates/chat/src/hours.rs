//! Business hours: when chats are answered live. Outside them a new conversation becomes a
//! message left for later. Pure: the time is passed in.

use model::Timestamp;

const MS_PER_MINUTE: i64 = 60_000;
const MINUTES_PER_DAY: i64 = 24 * 60;

/// Opening hours per weekday in a fixed UTC offset (China Standard Time is `+480`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// Minutes east of UTC of the local time the hours are written in.
    pub utc_offset_minutes: i32,
    /// Monday first; each day's `(open, close)` in minutes after local midnight, `close`
    /// exclusive; `None` is closed all day.
    pub weekly: [Option<(u16, u16)>; 7],
}

impl BusinessHours {
    /// Open every minute of every day.
    pub const fn always() -> Self {
        Self { utc_offset_minutes: 0, weekly: [Some((0, 1440)); 7] }
    }

    /// Closed every day (every chat becomes a message left for later).
    pub const fn never() -> Self {
        Self { utc_offset_minutes: 0, weekly: [None; 7] }
    }

    pub fn is_open(&self, now: Timestamp) -> bool {
        let local_minutes = now.unix_ms().div_euclid(MS_PER_MINUTE) + i64::from(self.utc_offset_minutes);
        let day = local_minutes.div_euclid(MINUTES_PER_DAY);
        let minute = local_minutes.rem_euclid(MINUTES_PER_DAY);
        // 1970-01-01 was a Thursday: day 0 is weekday 3 counting from Monday = 0.
        let weekday = usize::try_from((day + 3).rem_euclid(7)).expect("rem_euclid(7) is in 0..7");
        self.weekly[weekday].is_some_and(|(open, close)| minute >= i64::from(open) && minute < i64::from(close))
    }
}

/// When chats are answered live, asked at each decision: fixed [`BusinessHours`], or a calendar
/// that an admin edits while the server runs (the binary's named calendars).
pub trait OpenHours: Send + Sync + std::fmt::Debug {
    fn is_open(&self, now: Timestamp) -> bool;
}

impl<T: OpenHours + ?Sized> OpenHours for std::sync::Arc<T> {
    fn is_open(&self, now: Timestamp) -> bool {
        T::is_open(self, now)
    }
}

impl OpenHours for BusinessHours {
    fn is_open(&self, now: Timestamp) -> bool {
        BusinessHours::is_open(self, now)
    }
}

impl Default for BusinessHours {
    fn default() -> Self {
        Self::always()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-27 is a Friday; 01:30 UTC is 09:30 in Beijing.
    const FRIDAY_0130_UTC: i64 = 1_795_743_000_000;

    fn weekdays_nine_to_six_beijing() -> BusinessHours {
        let day = Some((9 * 60, 18 * 60));
        BusinessHours { utc_offset_minutes: 480, weekly: [day, day, day, day, day, None, None] }
    }

    #[test]
    fn open_on_a_weekday_morning_in_the_local_offset() {
        assert!(weekdays_nine_to_six_beijing().is_open(Timestamp::from_unix_ms(FRIDAY_0130_UTC)));
    }

    #[test]
    fn closed_before_opening_after_closing_and_at_the_weekend() {
        let h = weekdays_nine_to_six_beijing();
        let hour = 3_600_000;
        assert!(!h.is_open(Timestamp::from_unix_ms(FRIDAY_0130_UTC - 2 * hour)), "07:30 local");
        assert!(!h.is_open(Timestamp::from_unix_ms(FRIDAY_0130_UTC + 9 * hour)), "18:30 local");
        assert!(!h.is_open(Timestamp::from_unix_ms(FRIDAY_0130_UTC + 24 * hour)), "Saturday");
        assert!(h.is_open(Timestamp::from_unix_ms(FRIDAY_0130_UTC + 72 * hour)), "Monday");
    }

    #[test]
    fn always_and_never() {
        let t = Timestamp::from_unix_ms(FRIDAY_0130_UTC);
        assert!(BusinessHours::always().is_open(t));
        assert!(!BusinessHours::never().is_open(t));
    }
}
