//! Dates a filter names relative to the day a report runs, so that a
//! report sent every Monday covers the week before that Monday, not a
//! week fixed when it was written: `today`, `today-7`, `month-start`
//! (the first of this month), `month-start-1` (of last month),
//! `year-start`, `year-start+1`.

use keel_values::Date;

/// A date relative to the day a report runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relative {
    /// That many days from today.
    Day(i64),
    /// The first of the month that many months from this one.
    MonthStart(i64),
    /// The first of January that many years from this one.
    YearStart(i64),
}

/// The furthest an offset reaches: a century of days, months or years.
const OFFSET_MAX: i64 = 36_600;

impl Relative {
    /// `today`, `month-start` or `year-start`, with `+N` or `-N` after it.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (kind, rest): (fn(i64) -> Self, &str) = if let Some(rest) = text.strip_prefix("today") {
            (Self::Day, rest)
        } else if let Some(rest) = text.strip_prefix("month-start") {
            (Self::MonthStart, rest)
        } else if let Some(rest) = text.strip_prefix("year-start") {
            (Self::YearStart, rest)
        } else {
            return None;
        };
        let offset = match rest.as_bytes().first() {
            None => 0,
            Some(b'+' | b'-')
                if rest.len() > 1 && rest[1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                let n: i64 = rest[1..].parse().ok().filter(|n| *n <= OFFSET_MAX)?;
                if rest.starts_with('-') { -n } else { n }
            }
            _ => return None,
        };
        Some(kind(offset))
    }

    /// The date it names when a report runs on `today`; none past the
    /// years a date may have.
    pub(crate) fn on(self, today: &Date) -> Option<Date> {
        let month = |year: i64, month: i64| Date::parse(&format!("{year:04}-{month:02}-01")).ok();
        let (year, this_month) = (today.year(), today.month()[5..7].parse::<i64>().ok()?);
        match self {
            Self::Day(n) => Date::from_days(today.days() + n).ok(),
            Self::MonthStart(n) => {
                let months = year * 12 + (this_month - 1) + n;
                month(months.div_euclid(12), months.rem_euclid(12) + 1)
            }
            Self::YearStart(n) => month(year + n, 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_dates_read_and_land_on_the_day_meant() {
        let today = Date::parse("2026-03-31").unwrap();
        let on = |text: &str| {
            Relative::parse(text).and_then(|r| r.on(&today)).map(|d| d.as_str().to_owned())
        };
        assert_eq!(on("today").as_deref(), Some("2026-03-31"));
        assert_eq!(on("today-31").as_deref(), Some("2026-02-28"));
        assert_eq!(on("today+1").as_deref(), Some("2026-04-01"));
        assert_eq!(on("month-start").as_deref(), Some("2026-03-01"));
        assert_eq!(on("month-start-3").as_deref(), Some("2025-12-01"));
        assert_eq!(on("month-start+10").as_deref(), Some("2027-01-01"));
        assert_eq!(on("year-start-1").as_deref(), Some("2025-01-01"));
        for bad in
            ["tomorrow", "today-", "today-x", "today 1", "month-start-99999999", "today+-1", ""]
        {
            assert_eq!(Relative::parse(bad), None, "{bad}");
        }
        assert_eq!(Relative::parse("year-start-36600").and_then(|r| r.on(&today)), None);
    }
}
