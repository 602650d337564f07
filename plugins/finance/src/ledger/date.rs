//! Calendar dates as `YYYY-MM-DD`, which sort correctly as text.

use super::RuleError;

/// A validated calendar date, stored as its ISO 8601 text.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Date(String);

impl Date {
    /// Parses `YYYY-MM-DD` (years 1000 to 9999), checking the day exists.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let invalid =
            || RuleError::new(format!("date {text:?} is not a valid YYYY-MM-DD calendar date"));
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return Err(invalid());
        }
        let number =
            |range: std::ops::Range<usize>| text[range].parse::<u32>().map_err(|_| invalid());
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        if year < 1000 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month)
        {
            return Err(invalid());
        }
        Ok(Self(text.to_owned()))
    }

    /// The date as `YYYY-MM-DD`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The month as `YYYY-MM`.
    pub fn month(&self) -> &str {
        &self.0[..7]
    }

    /// The first day of the date's month.
    pub fn first_of_month(&self) -> String {
        format!("{}-01", self.month())
    }

    /// The month before the date's, as `YYYY-MM`.
    pub fn previous_month(&self) -> String {
        let year: u32 = self.0[..4].parse().unwrap_or(1000);
        let month: u32 = self.0[5..7].parse().unwrap_or(1);
        if month == 1 {
            format!("{:04}-12", year - 1)
        } else {
            format!("{year:04}-{:02}", month - 1)
        }
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_dates() {
        for ok in ["2026-01-31", "2024-02-29", "2000-02-29", "1999-12-31"] {
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
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "0999-01-01",
            "",
            "2026-01-01T00:00",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn months() {
        let date = Date::parse("2026-01-15").unwrap();
        assert_eq!(date.month(), "2026-01");
        assert_eq!(date.first_of_month(), "2026-01-01");
        assert_eq!(date.previous_month(), "2025-12");
        assert_eq!(Date::parse("2026-07-01").unwrap().previous_month(), "2026-06");
    }
}
