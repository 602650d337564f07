//! Schedules: a manifest asks the kernel to call one of the plugin's
//! operations at the times a cron pattern names, in a time zone, for each
//! tenant that has the plugin enabled.
//!
//! Patterns are the five fields of crontab(5): minute, hour, day of month,
//! month and day of week, with lists, ranges, steps and names (`0 2 * * *`,
//! `*/15 8-18 * * MON-FRI`). A day of month and a day of week both given
//! match either, as in cron. Times are the wall clock of the time zone, an
//! IANA name such as `Europe/Paris`: a time skipped when clocks go forward
//! runs at the first instant after the gap, and one repeated when they go
//! back runs once.

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use keel_values::Zone;

/// Most schedules one manifest may declare.
pub(crate) const SCHEDULES_MAX: usize = 16;

/// One schedule a manifest declares.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Its id among the plugin's schedules, such as `nightly-reorder`.
    pub id: String,
    /// When it runs: a five-field cron pattern.
    pub cron: String,
    /// The IANA time zone the pattern reads in; UTC unless given.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// The operation it calls: one the manifest declares, that may write
    /// and has no path parameters.
    pub operation: String,
    /// One line for administrators.
    #[serde(default)]
    pub summary: String,
}

fn utc() -> String {
    "UTC".to_owned()
}

impl Schedule {
    /// The first time it runs strictly after `after`, Unix seconds; None
    /// if its pattern never matches again (a pattern such as `0 0 30 2 *`
    /// is refused when the manifest is read, so that is only past the
    /// year 9999).
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let (cron, zone) = self.parsed().ok()?;
        let start = zone.zoned(after).ok()?;
        let next = cron.find_next_occurrence(&start, false).ok()?;
        Some(next.timestamp().as_second())
    }

    /// `seconds` (Unix) on the schedule's wall clock, such as
    /// `2026-01-16T02:00:00+01:00[Europe/Paris]`.
    pub fn local_time(&self, seconds: i64) -> String {
        Zone::named(&self.time_zone).unwrap_or_else(|_| Zone::utc()).describe(seconds)
    }

    /// The pattern in words, such as "At 02:00".
    pub fn describe(&self) -> String {
        match self.parsed() {
            Ok((cron, _)) => cron.describe(),
            Err(err) => err,
        }
    }

    fn parsed(&self) -> Result<(Cron, Zone), String> {
        let cron =
            CronParser::builder().seconds(Seconds::Disallowed).build().parse(&self.cron).map_err(
                |err| format!("cron {:?} is not a five-field cron pattern: {err}", self.cron),
            )?;
        let zone = Zone::named(&self.time_zone).map_err(|err| err.to_string())?;
        Ok((cron, zone))
    }

    /// Checks the id, pattern and time zone; the operation is checked by
    /// the manifest, which knows its operations (a tenant's report
    /// schedules check theirs here too).
    pub fn validate(&self) -> Result<(), String> {
        let valid_id = !self.id.is_empty()
            && self.id.len() <= 64
            && self.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_id {
            return Err(format!(
                "schedule id {:?} must be 1 to 64 bytes of a-z, 0-9, '-'",
                self.id
            ));
        }
        let what = format!("schedule {:?}", self.id);
        self.parsed().map_err(|err| format!("{what}: {err}"))?;
        // A pattern that names no real day (the 30th of February) would
        // never run: refuse it rather than keep it silently idle.
        if self.next_after(0).is_none() {
            return Err(format!("{what}: cron {:?} never matches a real date", self.cron));
        }
        if self.summary.len() > 1024 {
            return Err(format!("{what}: its summary is over 1024 bytes"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(cron: &str, zone: &str) -> Schedule {
        Schedule {
            id: "nightly".to_owned(),
            cron: cron.to_owned(),
            time_zone: zone.to_owned(),
            operation: "run".to_owned(),
            summary: String::new(),
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` as Unix seconds.
    fn at(text: &str) -> i64 {
        let (date, time) = text.strip_suffix('Z').unwrap().split_once('T').unwrap();
        let second = time.split(':').fold(0, |s, part| s * 60 + part.parse::<u32>().unwrap());
        Zone::utc().instant(&date.parse().unwrap(), second).unwrap()
    }

    #[test]
    fn two_in_the_morning_in_paris_is_utc_one_in_winter_and_midnight_in_summer() {
        let nightly = schedule("0 2 * * *", "Europe/Paris");
        assert_eq!(
            nightly.next_after(at("2026-01-15T12:00:00Z")),
            Some(at("2026-01-16T01:00:00Z"))
        );
        assert_eq!(
            nightly.next_after(at("2026-07-15T12:00:00Z")),
            Some(at("2026-07-16T00:00:00Z"))
        );
        // Strictly after: the slot itself gives the next day's.
        assert_eq!(
            nightly.next_after(at("2026-01-16T01:00:00Z")),
            Some(at("2026-01-17T01:00:00Z"))
        );
    }

    #[test]
    fn a_time_the_clocks_skip_runs_once_after_the_gap_and_a_repeated_one_once() {
        // 29 March 2026: Paris goes from 02:00 to 03:00.
        let skipped = schedule("30 2 * * *", "Europe/Paris");
        let next = skipped.next_after(at("2026-03-28T12:00:00Z")).unwrap();
        assert_eq!(next, at("2026-03-29T01:00:00Z"), "03:00 CEST, the first instant after the gap");
        // 25 October 2026: 02:30 happens twice; it runs at the first.
        let repeated = schedule("30 2 * * *", "Europe/Paris");
        let first = repeated.next_after(at("2026-10-24T12:00:00Z")).unwrap();
        assert_eq!(first, at("2026-10-25T00:30:00Z"));
        let after = repeated.next_after(first).unwrap();
        assert_eq!(after, at("2026-10-26T01:30:00Z"), "not again an hour later");
    }

    #[test]
    fn weekdays_and_steps_read_as_cron_does() {
        let office = schedule("*/30 8-9 * * MON-FRI", "UTC");
        // Friday 2026-12-04 09:45 → Monday 08:00.
        assert_eq!(office.next_after(at("2026-12-04T09:45:00Z")), Some(at("2026-12-07T08:00:00Z")));
        assert_eq!(office.next_after(at("2026-12-07T08:00:00Z")), Some(at("2026-12-07T08:30:00Z")));
        assert!(!office.describe().is_empty());
        let nightly = schedule("0 2 * * *", "Europe/Paris");
        assert_eq!(
            nightly.local_time(at("2026-01-16T01:00:00Z")),
            "2026-01-16T02:00:00+01:00[Europe/Paris]"
        );
    }

    #[test]
    fn bad_patterns_zones_and_ids_are_refused_with_what_is_wrong() {
        let cases = [
            (schedule("0 2 * *", "UTC"), "five-field"),
            (schedule("0 0 2 * * *", "UTC"), "five-field"),
            (schedule("61 * * * *", "UTC"), "five-field"),
            (schedule("0 2 * * *", "Mars/Olympus"), "IANA"),
            (schedule("0 0 30 2 *", "UTC"), "never matches"),
            (Schedule { id: "Nightly".to_owned(), ..schedule("0 2 * * *", "UTC") }, "schedule id"),
        ];
        for (bad, expected) in cases {
            let err = bad.validate().unwrap_err();
            assert!(err.contains(expected), "{bad:?}: {err}");
        }
        assert_eq!(schedule("0 2 * * *", "Europe/Paris").validate(), Ok(()));
    }
}
