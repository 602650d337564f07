//! Calendar dates as `YYYY-MM-DD` (years 1000 to 9999), which sort as text
//! in the order of time, and the days between them.

use std::fmt;
use std::str::FromStr;

use crate::RuleError;

/// First and last year a date may have: four digits, so that dates sort
/// as text.
const YEARS: std::ops::RangeInclusive<i64> = 1000..=9999;

/// A valid calendar date, kept as its ISO 8601 text.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Date(String);

/// In a plugin's contract: text in the `date` format, which the kernel
/// checks before the plugin runs.
impl schemars::JsonSchema for Date {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Date".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date",
            "description": "A calendar date, YYYY-MM-DD",
        })
    }
}

impl Date {
    /// Parses `YYYY-MM-DD`, checking that the month has the day.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let invalid =
            || RuleError::new(format!("date {text:?} is not a valid YYYY-MM-DD calendar date"));
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(invalid());
        }
        let (year, month, day) = (digits(text, 0..4), digits(text, 5..7), digits(text, 8..10));
        if !YEARS.contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return Err(invalid());
        }
        Ok(Self(text.to_owned()))
    }

    /// The date `days` days after 1970-01-01 (before it, if negative).
    pub fn from_days(days: i64) -> Result<Self, RuleError> {
        // 1000-01-01 and 9999-12-31, so that no arithmetic below overflows.
        let (year, month, day) =
            if (-354_285..=2_932_896).contains(&days) { civil_from_days(days) } else { (0, 1, 1) };
        if !YEARS.contains(&year) {
            return Err(RuleError::new(format!(
                "{days} days from 1970-01-01 is outside the years 1000 to 9999"
            )));
        }
        Ok(Self(format!("{year:04}-{month:02}-{day:02}")))
    }

    /// Days from 1970-01-01 to this date (negative before it).
    pub fn days(&self) -> i64 {
        days_from_civil(digits(&self.0, 0..4), digits(&self.0, 5..7), digits(&self.0, 8..10))
    }

    /// The date `n` days later; an error past 9999-12-31.
    pub fn add_days(&self, n: u32) -> Result<Self, RuleError> {
        Self::from_days(self.days() + i64::from(n))
            .map_err(|_| RuleError::new(format!("{n} days after {} is past the year 9999", self.0)))
    }

    /// The date as `YYYY-MM-DD`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The month as `YYYY-MM`.
    pub fn month(&self) -> &str {
        &self.0[..7]
    }

    /// The day of the week.
    pub fn weekday(&self) -> Weekday {
        // 1970-01-01 was a Thursday.
        match (self.days() + 3).rem_euclid(7) {
            0 => Weekday::Monday,
            1 => Weekday::Tuesday,
            2 => Weekday::Wednesday,
            3 => Weekday::Thursday,
            4 => Weekday::Friday,
            5 => Weekday::Saturday,
            _ => Weekday::Sunday,
        }
    }

    /// The year.
    pub fn year(&self) -> i64 {
        digits(&self.0, 0..4)
    }

    /// The first day of the date's month, as `YYYY-MM-DD`.
    pub fn first_of_month(&self) -> String {
        format!("{}-01", self.month())
    }

    /// The month before the date's, as `YYYY-MM` (`0999-12` before the
    /// first month of 1000, which no date is in).
    pub fn previous_month(&self) -> String {
        let (year, month) = (digits(&self.0, 0..4), digits(&self.0, 5..7));
        if month == 1 {
            format!("{:04}-12", year - 1)
        } else {
            format!("{year:04}-{:02}", month - 1)
        }
    }
}

/// A day of the week.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// Every day of the week, Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
}

/// The number written in `text[range]`, which holds ASCII digits only.
fn digits(text: &str, range: std::ops::Range<usize>) -> i64 {
    text.as_bytes()[range].iter().fold(0, |n, b| n * 10 + i64::from(b - b'0'))
}

impl FromStr for Date {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Self, RuleError> {
        Self::parse(text)
    }
}

impl TryFrom<String> for Date {
    type Error = RuleError;

    fn try_from(text: String) -> Result<Self, RuleError> {
        Self::parse(&text)
    }
}

impl From<Date> for String {
    fn from(date: Date) -> String {
        date.0
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Days in `month` (1 to 12) of `year`, in the proleptic Gregorian calendar.
pub fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a year, month and day (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The year, month and day `days` days after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), for any year.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// The UTC calendar date of a Unix time, as `YYYY-MM-DD`, for any year.
pub fn civil_date(unix_seconds: i64) -> String {
    let (year, month, day) = civil_from_days(unix_seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_knows_its_weekday_and_year() {
        for (date, weekday) in [
            ("1970-01-01", Weekday::Thursday),
            ("2026-12-07", Weekday::Monday),
            ("2024-02-29", Weekday::Thursday),
            ("1969-12-31", Weekday::Wednesday),
            ("1000-01-01", Weekday::Wednesday),
            ("9999-12-31", Weekday::Friday),
        ] {
            assert_eq!(Date::parse(date).unwrap().weekday(), weekday, "{date}");
        }
        assert_eq!(Date::parse("2026-12-07").unwrap().year(), 2026);
    }

    #[test]
    fn valid_dates() {
        for ok in
            ["2026-01-31", "2024-02-29", "2000-02-29", "1999-12-31", "1000-01-01", "9999-12-31"]
        {
            assert_eq!(Date::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn invalid_dates() {
        for bad in [
            "2026-02-29",
            "1900-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-01-32",
            "2026-01-00",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "0999-12-31",
            "20x6-01-01",
            "+026-01-01",
            "2026-0١-01",
            "",
            "2026-01-01T00:00",
        ] {
            let err = Date::parse(bad).unwrap_err();
            assert!(err.0.contains("not a valid YYYY-MM-DD"), "{bad}: {err}");
        }
    }

    #[test]
    fn days_cross_months_years_and_leap_days() {
        assert_eq!(Date::parse("1970-01-01").unwrap().days(), 0);
        assert_eq!(Date::parse("1969-12-31").unwrap().days(), -1);
        let add = |date: &str, n| Date::parse(date).unwrap().add_days(n).unwrap().to_string();
        assert_eq!(add("2026-01-31", 30), "2026-03-02");
        assert_eq!(add("2028-01-31", 30), "2028-03-01");
        assert_eq!(add("2026-12-15", 30), "2027-01-14");
        assert_eq!(add("2026-12-15", 0), "2026-12-15");
        let err = Date::parse("9999-12-15").unwrap().add_days(30).unwrap_err();
        assert!(err.0.contains("past the year 9999"), "{err}");
    }

    #[test]
    fn months() {
        let date = Date::parse("2026-01-15").unwrap();
        assert_eq!(date.month(), "2026-01");
        assert_eq!(date.first_of_month(), "2026-01-01");
        assert_eq!(date.previous_month(), "2025-12");
        assert_eq!(Date::parse("2026-07-01").unwrap().previous_month(), "2026-06");
    }

    #[test]
    fn days_far_outside_the_years_are_refused_without_overflow() {
        for days in [i64::MIN, i64::MIN / 2, -354_286, 2_932_897, i64::MAX / 2, i64::MAX] {
            assert!(Date::from_days(days).is_err(), "{days}");
        }
        assert_eq!(Date::from_days(-354_285).unwrap().as_str(), "1000-01-01");
        assert_eq!(Date::from_days(2_932_896).unwrap().as_str(), "9999-12-31");
    }

    #[test]
    fn unix_times() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_795_392_000), "2026-11-23");
        assert_eq!(civil_date(1_795_478_399), "2026-11-23");
        assert_eq!(civil_date(-86_400), "1969-12-31");
        assert_eq!(civil_date(-1), "1969-12-31");
    }

    #[test]
    fn serde_checks_what_it_reads() {
        let date: Date = serde_json::from_str("\"2024-02-29\"").unwrap();
        assert_eq!(serde_json::to_string(&date).unwrap(), "\"2024-02-29\"");
        assert!(serde_json::from_str::<Date>("\"2023-02-29\"").is_err());
    }
}
