//! Time zones: an instant (Unix seconds) on a place's wall clock, and the
//! instant a wall clock shows a time of day, through the IANA time-zone
//! database. The database is bundled, so that a plugin in its sandbox reads
//! the same rules as the kernel.
//!
//! A wall-clock time that the clocks skip (going forward) is read as the
//! same distance past the gap, and one they repeat (going back) as the
//! first of the two, as RFC 5545 and cron have it.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use crate::date::{civil_from_days, days_from_civil};
use crate::{Date, RuleError};

/// Seconds in a day of the wall clock.
pub const DAY_SECONDS: u32 = 86_400;

/// An IANA time zone, such as `Europe/Paris` or `UTC`.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Zone").field(&self.name).finish()
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Zone {
    /// The zone `name` names, or why it names none.
    pub fn named(name: &str) -> Result<Self, RuleError> {
        let tz = TimeZone::get(name).map_err(|_| {
            RuleError::new(format!(
                "time zone {name:?} is not an IANA time zone name such as \"Europe/Paris\" or \"UTC\""
            ))
        })?;
        Ok(Self { name: name.to_owned(), tz })
    }

    /// Coordinated Universal Time.
    pub fn utc() -> Self {
        Self { name: "UTC".to_owned(), tz: TimeZone::UTC }
    }

    /// Its IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The date and second of the day the wall clock shows at `seconds`.
    pub fn wall(&self, seconds: i64) -> Result<(Date, u32), RuleError> {
        let at = timestamp(seconds)?;
        let local = self.tz.to_datetime(at);
        let day = local.date();
        let date = Date::from_days(days_from_civil(
            i64::from(day.year()),
            i64::from(day.month()),
            i64::from(day.day()),
        ))?;
        let time = local.time();
        let second = u32::from(time.hour().unsigned_abs()) * 3600
            + u32::from(time.minute().unsigned_abs()) * 60
            + u32::from(time.second().unsigned_abs());
        Ok((date, second))
    }

    /// The instant the wall clock shows `second` (0 to 86,400: the end of
    /// the day is the next day's midnight) of `date`.
    pub fn instant(&self, date: &Date, second: u32) -> Result<i64, RuleError> {
        if second > DAY_SECONDS {
            return Err(RuleError::new(format!("{second} is not a second of a day")));
        }
        let out_of_range = || RuleError::new(format!("{date} is outside the time zone's range"));
        let (year, month, day) = civil_from_days(date.days() + i64::from(second / DAY_SECONDS));
        let second = second % DAY_SECONDS;
        let narrow = |n: i64| i8::try_from(n).map_err(|_| out_of_range());
        let day = jiff::civil::Date::new(
            i16::try_from(year).map_err(|_| out_of_range())?,
            narrow(month)?,
            narrow(day)?,
        )
        .map_err(|_| out_of_range())?;
        let time = jiff::civil::Time::new(
            narrow(i64::from(second / 3600))?,
            narrow(i64::from(second / 60 % 60))?,
            narrow(i64::from(second % 60))?,
            0,
        )
        .map_err(|_| out_of_range())?;
        let clock = DateTime::from_parts(day, time);
        let zoned = self.tz.to_ambiguous_zoned(clock).compatible().map_err(|_| out_of_range())?;
        Ok(zoned.timestamp().as_second())
    }

    /// The instant as a zoned time, for crates that take one (cron).
    pub fn zoned(&self, seconds: i64) -> Result<jiff::Zoned, RuleError> {
        Ok(timestamp(seconds)?.to_zoned(self.tz.clone()))
    }

    /// `seconds` on this wall clock, such as
    /// `2026-01-16T02:00:00+01:00[Europe/Paris]`.
    pub fn describe(&self, seconds: i64) -> String {
        match timestamp(seconds) {
            Ok(at) => at.to_zoned(self.tz.clone()).to_string(),
            Err(_) => format!("{seconds} seconds after 1970"),
        }
    }
}

fn timestamp(seconds: i64) -> Result<Timestamp, RuleError> {
    Timestamp::from_second(seconds)
        .map_err(|_| RuleError::new(format!("{seconds} seconds after 1970 is out of range")))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    const HOUR: u32 = 3600;

    #[test]
    fn paris_is_an_hour_ahead_in_winter_and_two_in_summer() {
        let paris = Zone::named("Europe/Paris").unwrap();
        let utc = Zone::utc();
        let winter = paris.instant(&date("2026-01-16"), 9 * HOUR).unwrap();
        assert_eq!(winter, utc.instant(&date("2026-01-16"), 8 * HOUR).unwrap());
        let summer = paris.instant(&date("2026-07-16"), 9 * HOUR).unwrap();
        assert_eq!(summer, utc.instant(&date("2026-07-16"), 7 * HOUR).unwrap());
        assert_eq!(paris.wall(summer).unwrap(), (date("2026-07-16"), 9 * HOUR));
        assert_eq!(paris.describe(winter), "2026-01-16T09:00:00+01:00[Europe/Paris]");
        // The end of a day is the next day's midnight.
        assert_eq!(
            paris.instant(&date("2026-01-16"), DAY_SECONDS).unwrap(),
            paris.instant(&date("2026-01-17"), 0).unwrap()
        );
    }

    #[test]
    fn a_skipped_time_reads_past_the_gap_and_a_repeated_one_as_the_first() {
        let paris = Zone::named("Europe/Paris").unwrap();
        let utc = Zone::utc();
        // 29 March 2026: 02:00 becomes 03:00, so 02:30 reads as 03:30.
        let skipped = paris.instant(&date("2026-03-29"), 2 * HOUR + 1800).unwrap();
        assert_eq!(skipped, utc.instant(&date("2026-03-29"), HOUR + 1800).unwrap());
        assert_eq!(paris.wall(skipped).unwrap(), (date("2026-03-29"), 3 * HOUR + 1800));
        // The day is 23 hours long.
        let day = |d: &str, next: &str| {
            paris.instant(&date(next), 0).unwrap() - paris.instant(&date(d), 0).unwrap()
        };
        assert_eq!(day("2026-03-29", "2026-03-30"), 23 * 3600);
        // 25 October 2026: 02:30 happens twice; it reads as the first.
        let repeated = paris.instant(&date("2026-10-25"), 2 * HOUR + 1800).unwrap();
        assert_eq!(repeated, utc.instant(&date("2026-10-25"), 1800).unwrap());
        assert_eq!(day("2026-10-25", "2026-10-26"), 25 * 3600);
    }

    #[test]
    fn bad_names_and_seconds_are_refused_with_what_is_wrong() {
        let err = Zone::named("Mars/Olympus").unwrap_err().to_string();
        assert!(err.contains("IANA"), "{err}");
        let err = Zone::utc().instant(&date("2026-01-01"), DAY_SECONDS + 1).unwrap_err();
        assert!(err.to_string().contains("second"), "{err}");
    }

    proptest! {
        /// Any instant reads back from its wall clock, but the second of
        /// two repeated ones, which reads as the first (an hour earlier).
        #[test]
        fn an_instant_reads_back_from_its_wall_clock(seconds in 0i64..4_102_444_800) {
            for name in ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC"] {
                let zone = Zone::named(name).unwrap();
                let (day, second) = zone.wall(seconds).unwrap();
                let back = zone.instant(&day, second).unwrap();
                prop_assert!(back == seconds || (back < seconds && seconds - back <= 3600));
            }
        }
    }
}
