//! Holiday calendars, one per country or site: the weekly days off and the
//! dated holidays, and the working days between two dates.

use std::collections::BTreeSet;

use keel_values::{Date, RuleError, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Longest span counted at once, in days: a leave request or a payroll
/// period is shorter.
pub const SPAN_DAYS_MAX: i64 = 366;
/// Most holidays one calendar lists.
pub const HOLIDAYS_MAX: usize = 2000;

/// Which days are worked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "Days")]
pub struct Calendar {
    weekly_off: BTreeSet<Weekday>,
    holidays: BTreeSet<Date>,
}

/// A calendar as written, checked into a [`Calendar`].
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Days {
    /// The days of the week no one works; at least one day is worked.
    weekly_off: Vec<Weekday>,
    /// Dated holidays, at most 2000.
    #[serde(default)]
    holidays: Vec<Date>,
}

impl TryFrom<Days> for Calendar {
    type Error = RuleError;

    fn try_from(days: Days) -> Result<Self, RuleError> {
        Self::new(days.weekly_off, days.holidays)
    }
}

impl Calendar {
    /// A calendar with these days off every week and these holidays.
    pub fn new(
        weekly_off: impl IntoIterator<Item = Weekday>,
        holidays: impl IntoIterator<Item = Date>,
    ) -> Result<Self, RuleError> {
        let weekly_off: BTreeSet<Weekday> = weekly_off.into_iter().collect();
        if weekly_off.len() == 7 {
            return Err(RuleError::new("a calendar has at least one working day a week"));
        }
        let holidays: BTreeSet<Date> = holidays.into_iter().collect();
        if holidays.len() > HOLIDAYS_MAX {
            return Err(RuleError::new(format!(
                "a calendar lists at most {HOLIDAYS_MAX} holidays"
            )));
        }
        Ok(Self { weekly_off, holidays })
    }

    /// Whether `date` is worked.
    pub fn is_working(&self, date: &Date) -> bool {
        !self.weekly_off.contains(&date.weekday()) && !self.holidays.contains(date)
    }

    /// The working days from `from` to `to`, both included.
    pub fn working_days(&self, from: &Date, to: &Date) -> Result<u32, RuleError> {
        let span = to.days() - from.days() + 1;
        if span < 1 {
            return Err(RuleError::new(format!("{to} is before {from}")));
        }
        if span > SPAN_DAYS_MAX {
            return Err(RuleError::new(format!(
                "from {from} to {to} is {span} days; count at most {SPAN_DAYS_MAX} at once"
            )));
        }
        let mut n = 0;
        for offset in 0..span {
            let date = Date::from_days(from.days() + offset)?;
            n += u32::from(self.is_working(&date));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn working_days_leave_out_weekends_and_holidays() {
        let france = Calendar::new(
            [Weekday::Saturday, Weekday::Sunday],
            [date("2026-12-25"), date("2027-01-01")],
        )
        .unwrap();
        // December 2026: 23 weekdays, Christmas on a Friday.
        assert_eq!(france.working_days(&date("2026-12-01"), &date("2026-12-31")).unwrap(), 22);
        assert_eq!(france.working_days(&date("2026-12-26"), &date("2026-12-27")).unwrap(), 0);
        assert_eq!(france.working_days(&date("2026-12-07"), &date("2026-12-07")).unwrap(), 1);
        assert!(!france.is_working(&date("2026-12-25")));
        // A six-day week elsewhere.
        let site = Calendar::new([Weekday::Friday], []).unwrap();
        assert_eq!(site.working_days(&date("2026-12-01"), &date("2026-12-31")).unwrap(), 27);

        let err = france.working_days(&date("2026-12-02"), &date("2026-12-01")).unwrap_err();
        assert!(err.to_string().contains("is before"), "{err}");
        let err = france.working_days(&date("2026-01-01"), &date("2027-12-31")).unwrap_err();
        assert!(err.to_string().contains("at most 366"), "{err}");
        assert!(Calendar::new(Weekday::ALL, []).is_err());
    }
}
