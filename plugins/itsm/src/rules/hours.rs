//! Business calendars: working hours per weekday on a time zone's wall
//! clock, and holidays (whole days closed). A clock on such a calendar
//! counts real seconds, but only inside working hours: a working day from
//! 01:00 to 04:00 on the night clocks go forward holds two hours, not
//! three.
//!
//! Worked example (see the tests): Paris, Monday to Friday 09:00 to 17:00.
//! A ticket opened on Friday 27 March 2026 at 16:00 with four business
//! hours to resolve is due on Monday 30 March at 12:00 local time: one hour
//! on Friday, three on Monday. That is 10:00 UTC, where the same wall-clock
//! time before the clocks went forward would have been 11:00 UTC. Were
//! Monday a holiday, it would be due on Tuesday at 12:00.

use std::collections::{BTreeMap, BTreeSet};

use keel_values::zone::DAY_SECONDS;
use keel_values::{Date, RuleError, Weekday, Zone};
use serde::{Deserialize, Serialize};

use super::sla::Calendar;

/// Most working periods in one day.
const PERIODS_PER_DAY_MAX: usize = 8;
/// Most holidays one calendar lists.
const HOLIDAYS_MAX: usize = 2_000;
/// The furthest a calendar looks for working time: a deadline further
/// than this many days away is "never".
const HORIZON_DAYS: i64 = 4 * 366;

/// One working period of a day, on the wall clock: `09:00` to `17:00`;
/// `24:00` is the end of the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub from: String,
    pub to: String,
}

/// A calendar as a tenant defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursDef {
    /// An IANA time zone, such as `Europe/Paris`.
    pub time_zone: String,
    /// The working periods of each weekday; a weekday not listed is
    /// closed.
    pub week: BTreeMap<Weekday, Vec<Period>>,
    /// Days closed all day, as `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<Date>,
}

/// A checked calendar.
#[derive(Debug, Clone)]
pub struct Hours {
    zone: Zone,
    /// Working periods of each weekday, Monday first: seconds of the day,
    /// in order, not overlapping.
    week: [Vec<(u32, u32)>; 7],
    /// Holidays, as days from 1970-01-01.
    holidays: BTreeSet<i64>,
}

impl Hours {
    /// Checks `def`: a known time zone; periods that start before they end,
    /// in order, without overlap; some working time in the week.
    pub fn new(def: &HoursDef) -> Result<Self, RuleError> {
        let zone = Zone::named(&def.time_zone)?;
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        for (weekday, periods) in &def.week {
            if periods.len() > PERIODS_PER_DAY_MAX {
                return Err(RuleError::new(format!(
                    "{weekday:?} has {} periods; at most {PERIODS_PER_DAY_MAX}",
                    periods.len()
                )));
            }
            let mut day = Vec::with_capacity(periods.len());
            for period in periods {
                let (from, to) = (clock_time(&period.from)?, clock_time(&period.to)?);
                if from >= to {
                    return Err(RuleError::new(format!(
                        "{weekday:?}: period {}–{} ends before it starts",
                        period.from, period.to
                    )));
                }
                if day.last().is_some_and(|(_, end)| *end > from) {
                    return Err(RuleError::new(format!(
                        "{weekday:?}: period {}–{} overlaps or precedes the one before; list \
                         periods in order",
                        period.from, period.to
                    )));
                }
                day.push((from, to));
            }
            week[weekday_index(*weekday)] = day;
        }
        if week.iter().all(Vec::is_empty) {
            return Err(RuleError::new("a calendar needs working hours on some weekday"));
        }
        if def.holidays.len() > HOLIDAYS_MAX {
            return Err(RuleError::new(format!(
                "{} holidays; a calendar lists at most {HOLIDAYS_MAX}",
                def.holidays.len()
            )));
        }
        let holidays = def.holidays.iter().map(Date::days).collect();
        Ok(Self { zone, week, holidays })
    }

    /// Every hour of every day, on UTC: a 24/7 service.
    pub fn always() -> Self {
        let all = vec![(0, DAY_SECONDS)];
        Self {
            zone: Zone::utc(),
            week: std::array::from_fn(|_| all.clone()),
            holidays: BTreeSet::new(),
        }
    }

    /// Its time zone.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The working periods of day `day` (days from 1970-01-01), as
    /// instants.
    fn periods(&self, day: i64) -> Vec<(i64, i64)> {
        if self.holidays.contains(&day) {
            return Vec::new();
        }
        let Ok(date) = Date::from_days(day) else { return Vec::new() };
        self.week[weekday_index(date.weekday())]
            .iter()
            .filter_map(|(from, to)| {
                let from = self.zone.instant(&date, *from).ok()?;
                let to = self.zone.instant(&date, *to).ok()?;
                (to > from).then_some((from, to))
            })
            .collect()
    }

    /// The local day (days from 1970-01-01) at instant `at`.
    fn day_of(&self, at: i64) -> Option<i64> {
        self.zone.wall(at).ok().map(|(date, _)| date.days())
    }

    /// The instant `seconds` of business time before `to`: the latest
    /// instant from which that much business time reaches `to`.
    pub fn subtract_business(&self, to: i64, seconds: i64) -> i64 {
        if seconds <= 0 {
            return to;
        }
        let Some(first) = self.day_of(to) else { return i64::MIN };
        let mut left = seconds;
        for day in (first - HORIZON_DAYS..=first).rev() {
            for (from, end) in self.periods(day).into_iter().rev() {
                let end = end.min(to);
                if end <= from {
                    continue;
                }
                if left <= end - from {
                    return end - left;
                }
                left -= end - from;
            }
        }
        i64::MIN
    }
}

impl Calendar for Hours {
    fn business_seconds(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let (Some(first), Some(last)) = (self.day_of(from), self.day_of(to)) else { return 0 };
        // A clock running longer than the horizon counts the horizon's
        // days nearest now, which is as much as any target needs.
        let first = first.max(last - HORIZON_DAYS);
        (first..=last)
            .flat_map(|day| self.periods(day))
            .map(|(start, end)| (end.min(to) - start.max(from)).max(0))
            .sum()
    }

    fn add_business(&self, from: i64, seconds: i64) -> i64 {
        if seconds <= 0 {
            return from;
        }
        let Some(first) = self.day_of(from) else { return i64::MAX };
        let mut left = seconds;
        for day in first..=first + HORIZON_DAYS {
            for (start, end) in self.periods(day) {
                let start = start.max(from);
                if end <= start {
                    continue;
                }
                if left <= end - start {
                    return start + left;
                }
                left -= end - start;
            }
        }
        i64::MAX
    }
}

/// Monday 0 to Sunday 6.
fn weekday_index(weekday: Weekday) -> usize {
    Weekday::ALL.iter().position(|w| *w == weekday).unwrap_or_default()
}

/// `HH:MM` (00:00 to 24:00) as seconds of the day.
fn clock_time(text: &str) -> Result<u32, RuleError> {
    let invalid = || RuleError::new(format!("{text:?} is not a time of day HH:MM, 00:00 to 24:00"));
    let (hours, minutes) = text.split_once(':').ok_or_else(invalid)?;
    if hours.len() != 2 || minutes.len() != 2 {
        return Err(invalid());
    }
    let hours: u32 = hours.parse().map_err(|_| invalid())?;
    let minutes: u32 = minutes.parse().map_err(|_| invalid())?;
    let second = hours * 3600 + minutes * 60;
    if minutes >= 60 || second > DAY_SECONDS {
        return Err(invalid());
    }
    Ok(second)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const HOUR: i64 = 3600;

    fn period(from: &str, to: &str) -> Period {
        Period { from: from.to_owned(), to: to.to_owned() }
    }

    fn office(zone: &str, holidays: &[&str]) -> Hours {
        let day = vec![period("09:00", "17:00")];
        let week = Weekday::ALL[..5].iter().map(|w| (*w, day.clone())).collect();
        let holidays = holidays.iter().map(|d| Date::parse(d).unwrap()).collect();
        Hours::new(&HoursDef { time_zone: zone.to_owned(), week, holidays }).unwrap()
    }

    /// `date` at `hour` on `zone`'s wall clock.
    fn at(zone: &str, date: &str, hour: i64) -> i64 {
        let second = u32::try_from(hour * HOUR).unwrap();
        Zone::named(zone).unwrap().instant(&Date::parse(date).unwrap(), second).unwrap()
    }

    #[test]
    fn four_hours_from_friday_afternoon_over_the_clocks_going_forward() {
        let paris = office("Europe/Paris", &[]);
        // Friday 27 March 2026, 16:00: one hour on Friday, three on Monday.
        let opened = at("Europe/Paris", "2026-03-27", 16);
        let due = paris.add_business(opened, 4 * HOUR);
        assert_eq!(due, at("Europe/Paris", "2026-03-30", 12));
        assert_eq!(due, at("UTC", "2026-03-30", 10), "CEST: two hours ahead");
        assert_eq!(paris.business_seconds(opened, due), 4 * HOUR);
        // Whatever the weekend holds, none of it counts.
        assert_eq!(paris.business_seconds(opened, at("Europe/Paris", "2026-03-30", 9)), HOUR);
        // A holiday on Monday moves it to Tuesday.
        let easter = office("Europe/Paris", &["2026-03-30"]);
        assert_eq!(easter.add_business(opened, 4 * HOUR), at("Europe/Paris", "2026-03-31", 12));
        // And back again.
        assert_eq!(paris.subtract_business(due, 4 * HOUR), opened);
    }

    #[test]
    fn a_day_the_clocks_change_holds_its_real_hours() {
        // Around the clock in Paris: 29 March 2026 has 23 hours, 25
        // October 25.
        let all = vec![period("00:00", "24:00")];
        let week = Weekday::ALL.iter().map(|w| (*w, all.clone())).collect();
        let def = HoursDef { time_zone: "Europe/Paris".to_owned(), week, holidays: Vec::new() };
        let paris = Hours::new(&def).unwrap();
        let day = |d: &str, next: &str| {
            paris.business_seconds(at("Europe/Paris", d, 0), at("Europe/Paris", next, 0))
        };
        assert_eq!(day("2026-03-29", "2026-03-30"), 23 * HOUR);
        assert_eq!(day("2026-10-25", "2026-10-26"), 25 * HOUR);
        // 24 hours from Saturday noon is Sunday 13:00 on the wall clock.
        let noon = at("Europe/Paris", "2026-03-28", 12);
        assert_eq!(paris.add_business(noon, 24 * HOUR), at("Europe/Paris", "2026-03-29", 13));
        // Working 01:00 to 04:00 that night is two hours.
        let night = BTreeMap::from([(Weekday::Sunday, vec![period("01:00", "04:00")])]);
        let def = HoursDef { time_zone: "Europe/Paris".to_owned(), week: night, holidays: vec![] };
        let night = Hours::new(&def).unwrap();
        assert_eq!(day_of_hours(&night, "2026-03-29"), 2 * HOUR);
        assert_eq!(day_of_hours(&night, "2026-03-22"), 3 * HOUR);
    }

    fn day_of_hours(hours: &Hours, date: &str) -> i64 {
        hours.business_seconds(at("Europe/Paris", date, 0), at("Europe/Paris", date, 24))
    }

    #[test]
    fn bad_calendars_are_refused_with_what_is_wrong() {
        let def = |zone: &str, periods: Vec<Period>| HoursDef {
            time_zone: zone.to_owned(),
            week: BTreeMap::from([(Weekday::Monday, periods)]),
            holidays: Vec::new(),
        };
        let cases = [
            (def("Mars/Olympus", vec![period("09:00", "17:00")]), "IANA"),
            (def("UTC", vec![period("17:00", "09:00")]), "ends before it starts"),
            (def("UTC", vec![period("09:00", "12:00"), period("11:00", "13:00")]), "overlaps"),
            (def("UTC", vec![period("9:00", "12:00")]), "HH:MM"),
            (def("UTC", vec![period("09:00", "24:30")]), "HH:MM"),
            (def("UTC", vec![]), "working hours"),
        ];
        for (bad, expected) in cases {
            let err = Hours::new(&bad).unwrap_err().to_string();
            assert!(err.contains(expected), "{bad:?}: {err}");
        }
    }

    fn any_calendar() -> impl Strategy<Value = Hours> {
        let zones = prop::sample::select(vec!["Europe/Paris", "America/New_York", "UTC"]);
        let day = (0u32..20, 1u32..12).prop_map(|(start, length)| {
            let to = (start + length).min(24);
            vec![period(&format!("{start:02}:00"), &format!("{to:02}:00"))]
        });
        (zones, prop::collection::vec(prop::option::of(day), 7), 0i64..60).prop_filter_map(
            "some working hours",
            |(zone, days, holiday)| {
                let week = Weekday::ALL
                    .into_iter()
                    .zip(days)
                    .filter_map(|(w, periods)| Some((w, periods?)))
                    .collect();
                // A holiday somewhere in the weeks the tests walk through.
                let holidays = vec![Date::from_days(20_500 + holiday).unwrap()];
                Hours::new(&HoursDef { time_zone: zone.to_owned(), week, holidays }).ok()
            },
        )
    }

    /// Instants in 2026, whose two clock changes the tests cross.
    fn instant() -> impl Strategy<Value = i64> {
        1_767_225_600i64..1_798_761_600
    }

    proptest! {
        /// Business time adds up across any instant between, so it never
        /// decreases as the end moves on.
        #[test]
        fn business_time_adds_up_and_never_decreases(
            hours in any_calendar(), a in instant(), gaps in (0i64..900_000, 0i64..900_000),
        ) {
            let (b, c) = (a + gaps.0, a + gaps.0 + gaps.1);
            let (ab, bc) = (hours.business_seconds(a, b), hours.business_seconds(b, c));
            prop_assert!(ab >= 0 && bc >= 0);
            prop_assert_eq!(ab + bc, hours.business_seconds(a, c));
        }

        /// Adding business time reaches exactly that much of it; taking it
        /// away again returns the start, once the start is working time
        /// (otherwise the working time after it).
        #[test]
        fn adding_then_subtracting_returns_the_start(
            hours in any_calendar(), from in instant(), seconds in 1i64..2_000_000,
        ) {
            let due = hours.add_business(from, seconds);
            if due == i64::MAX {
                // Never, within the horizon: too little working time in it.
                let horizon = from + HORIZON_DAYS * 86_400;
                prop_assert!(hours.business_seconds(from, horizon) < seconds);
                return Ok(());
            }
            prop_assert!(due > from);
            prop_assert_eq!(hours.business_seconds(from, due), seconds);
            let back = hours.subtract_business(due, seconds);
            prop_assert!(back >= from);
            prop_assert_eq!(hours.business_seconds(from, back), 0, "no working time skipped");
            if hours.business_seconds(from, from + 1) == 1 {
                prop_assert_eq!(back, from);
            }
        }
    }
}
