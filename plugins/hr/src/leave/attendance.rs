//! Attendance: one record a day per employee (present, absent, or half a
//! day, with the hours worked), kept by the employee or HR and approved or
//! refused by someone above them or HR, never by the employee themselves.
//! An approved absence is a day payroll does not pay.

use keel_values::{Date, RuleError};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::request::Decider;

/// Most hours one day records.
const HOURS_MAX: i64 = 24;
/// Longest note, in bytes.
const NOTE_BYTES_MAX: usize = 500;

/// Whether the employee worked that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    Present,
    Absent,
    HalfDay,
}

/// Where a day's record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DayState {
    Submitted,
    Approved,
    Refused,
}

/// One employee's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "AttendanceDay")]
pub struct Day {
    /// The employee's number.
    pub employee: String,
    pub date: Date,
    /// What was recorded.
    pub presence: Presence,
    /// Hours worked, a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Decimal>,
    /// A note, at most 500 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub state: DayState,
    /// Who recorded it: the employee, or HR for them.
    pub recorded_by: String,
    /// Who approved or refused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// What the last approval of this day approved: it stands, for
    /// payroll, until a new record of the day is decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<Presence>,
}

impl Day {
    /// A day `by` records, to be approved; give its hours and note, then
    /// [`Day::check`] it.
    pub fn submitted(employee: &str, date: Date, presence: Presence, by: &str) -> Self {
        Self {
            employee: employee.to_owned(),
            date,
            presence,
            hours: None,
            note: None,
            state: DayState::Submitted,
            recorded_by: by.to_owned(),
            decided_by: None,
            approved: None,
        }
    }

    /// This record replacing `before`, an earlier record of the same day:
    /// what was approved then stands until this one is decided.
    pub fn replacing(self, before: &Day) -> Self {
        Self { approved: before.approved, ..self }
    }

    /// Checks that it could have happened: no day after `today`, an absence
    /// only on a day the employee's calendar works (`working`), hours
    /// within a day and none on an absent day.
    pub fn check(&self, working: bool, today: &Date) -> Result<(), RuleError> {
        let (date, employee) = (&self.date, &self.employee);
        if date > today {
            return Err(RuleError::new(format!(
                "attendance is recorded for days that have come, not {date}"
            )));
        }
        if self.presence != Presence::Present && !working {
            return Err(RuleError::new(format!(
                "{date} is not a working day for {employee}, so there is no absence to record"
            )));
        }
        if let Some(hours) = self.hours
            && (hours.is_sign_negative() || hours > Decimal::from(HOURS_MAX))
        {
            return Err(RuleError::new(format!("hours are 0 to {HOURS_MAX}, not {hours}")));
        }
        if self.presence == Presence::Absent && self.hours.is_some_and(|h| !h.is_zero()) {
            return Err(RuleError::new("an absent day records no hours worked"));
        }
        if self.note.as_ref().is_some_and(|n| n.len() > NOTE_BYTES_MAX) {
            return Err(RuleError::new(format!("a note is at most {NOTE_BYTES_MAX} bytes")));
        }
        Ok(())
    }

    /// Approves or refuses a submitted day: someone above the employee or
    /// HR (`decider.may_decide`), never the employee or who recorded it.
    pub fn decide(&mut self, decider: Decider<'_>, approve: bool) -> Result<(), RuleError> {
        if self.state != DayState::Submitted {
            return Err(RuleError::new(format!(
                "attendance of {} on {} is {:?} already",
                self.employee, self.date, self.state
            )));
        }
        if decider.employee == Some(self.employee.as_str()) || decider.user == self.recorded_by {
            return Err(RuleError::new(
                "attendance is approved by someone other than whose it is and who recorded it",
            ));
        }
        if !decider.may_decide {
            return Err(RuleError::new(format!(
                "{} is neither {}'s manager nor an HR officer",
                decider.user, self.employee
            )));
        }
        self.state = if approve { DayState::Approved } else { DayState::Refused };
        self.decided_by = Some(decider.user.to_owned());
        if approve {
            self.approved = Some(self.presence);
        }
        Ok(())
    }

    /// The days of absence it counts for payroll: 1 for an approved absent
    /// day, a half for an approved half day; for a day recorded again, what
    /// was approved before, until the new record is approved.
    pub fn absence(&self) -> Decimal {
        match self.approved {
            Some(Presence::Absent) => Decimal::ONE,
            Some(Presence::HalfDay) => Decimal::new(5, 1),
            Some(Presence::Present) | None => Decimal::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn day(presence: Presence) -> Day {
        Day::submitted("E2", date("2026-12-02"), presence, "erin")
    }

    #[test]
    fn a_day_is_decided_above_the_employee_and_only_an_approved_absence_counts() {
        let mut absent = day(Presence::Absent);
        assert_eq!(absent.absence(), Decimal::ZERO, "not yet approved");
        let herself = Decider { user: "erin", employee: Some("E2"), may_decide: true };
        let err = absent.decide(herself, true).unwrap_err();
        assert!(err.to_string().contains("someone other than whose it is"), "{err}");
        let colleague = Decider { user: "carl", employee: Some("E5"), may_decide: false };
        let err = absent.decide(colleague, true).unwrap_err();
        assert!(err.to_string().contains("neither E2's manager"), "{err}");
        let manager = Decider { user: "mia", employee: Some("E1"), may_decide: true };
        absent.decide(manager, true).unwrap();
        assert_eq!((absent.absence(), absent.decided_by.as_deref()), (Decimal::ONE, Some("mia")));
        assert!(absent.decide(manager, false).is_err(), "decided once");

        let mut half = day(Presence::HalfDay);
        half.decide(manager, true).unwrap();
        assert_eq!(half.absence(), Decimal::new(5, 1));
        let mut refused = day(Presence::Absent);
        refused.decide(manager, false).unwrap();
        assert_eq!(refused.absence(), Decimal::ZERO);
        let mut present = day(Presence::Present);
        present.decide(manager, true).unwrap();
        assert_eq!(present.absence(), Decimal::ZERO);

        // Recorded again (HR turning an approved absence into presence, or
        // a refused change): the approved absence stands until the new
        // record is approved.
        let mut again =
            Day::submitted("E2", date("2026-12-02"), Presence::Present, "olga").replacing(&absent);
        assert_eq!(again.absence(), Decimal::ONE, "not decided yet");
        let mut refused = again.clone();
        refused.decide(manager, false).unwrap();
        assert_eq!(refused.absence(), Decimal::ONE, "refused: the approval before stands");
        again.decide(manager, true).unwrap();
        assert_eq!(again.absence(), Decimal::ZERO);
    }

    #[test]
    fn a_day_records_what_could_have_happened() {
        let today = date("2026-12-04");
        let record = |on: &str, presence, hours: Option<&str>, working| {
            let mut day = Day::submitted("E2", date(on), presence, "erin");
            day.hours = hours.map(|h| h.parse().unwrap());
            day.check(working, &today)
        };
        assert!(record("2026-12-04", Presence::Present, Some("7.5"), true).is_ok());
        let cases = [
            (record("2026-12-05", Presence::Present, None, true), "days that have come"),
            (record("2026-11-29", Presence::Absent, None, false), "not a working day"),
            (record("2026-12-03", Presence::Present, Some("25"), true), "hours are 0 to 24"),
            (record("2026-12-03", Presence::Absent, Some("2"), true), "no hours worked"),
        ];
        for (recorded, expected) in cases {
            let err = recorded.unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        assert!(record("2026-11-29", Presence::Present, Some("3"), false).is_ok(), "weekend work");
    }
}
