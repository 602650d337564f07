//! Leave requests: asked for by the employee (or for them), approved or
//! refused by their manager or an HR officer, never by whom it is for or
//! who asked (segregation of duties), and cancelled. Approval takes the
//! days from the balance; cancelling an approved request gives them back.

use keel_values::{Date, RuleError};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::balance::{EntryKind, LeaveType, LedgerEntry};
use super::calendar::Calendar;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "LeaveState")]
pub enum State {
    Open,
    Approved,
    Refused,
    Cancelled,
}

/// A request for leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "LeaveRequest")]
pub struct Request {
    /// The employee it is for.
    pub employee: String,
    /// Who asked: the employee, or someone for them.
    pub requester: String,
    /// The leave type's code.
    pub leave_type: String,
    /// The first day of leave.
    pub from: Date,
    /// The last day of leave.
    pub to: Date,
    /// Working days it takes.
    pub days: Decimal,
    pub state: State,
    /// Who approved or refused it; null until decided.
    pub decided_by: Option<String>,
    /// Whether its approval took days from a balance (so that cancelling
    /// gives back exactly what was taken, whatever its type says since).
    #[serde(default)]
    pub took_days: bool,
}

/// Who is deciding (the user, and the employee they are, if any), and
/// whether they may decide for the employee (their manager, or an HR
/// officer).
#[derive(Debug, Clone, Copy)]
pub struct Decider<'a> {
    pub user: &'a str,
    pub employee: Option<&'a str>,
    pub may_decide: bool,
}

impl Request {
    /// A request of `leave_type` for `employee` from `from` to `to`
    /// (half a day if `half_day`, on a single date), counted on
    /// `calendar`; refused over `balance` unless the type allows it.
    pub fn new(
        employee: &str,
        requester: &str,
        leave_type: &LeaveType,
        (from, to): (Date, Date),
        half_day: bool,
        calendar: &Calendar,
        balance: Decimal,
    ) -> Result<Self, RuleError> {
        let working = Decimal::from(calendar.working_days(&from, &to)?);
        if working.is_zero() {
            return Err(RuleError::new(format!("from {from} to {to} is no working day")));
        }
        let days = if half_day {
            if from != to {
                return Err(RuleError::new("half a day is asked for one date"));
            }
            Decimal::new(5, 1)
        } else {
            working
        };
        check_balance(leave_type, days, balance)?;
        Ok(Self {
            employee: employee.to_owned(),
            requester: requester.to_owned(),
            leave_type: leave_type.code.clone(),
            from,
            to,
            days,
            state: State::Open,
            decided_by: None,
            took_days: false,
        })
    }

    /// Approves (with the balance as it stands now) or refuses an open
    /// request; an approval answers the ledger entry that takes its days.
    pub fn decide(
        &mut self,
        decider: Decider<'_>,
        approve: bool,
        leave_type: &LeaveType,
        balance: Decimal,
    ) -> Result<Option<LedgerEntry>, RuleError> {
        if self.state != State::Open {
            return Err(RuleError::new(format!("the request is {:?}, not open", self.state)));
        }
        if decider.employee == Some(self.employee.as_str()) || decider.user == self.requester {
            return Err(RuleError::new(
                "a leave request is approved or refused by someone other than whom it is for \
                 and who asked for it",
            ));
        }
        if !decider.may_decide {
            return Err(RuleError::new(format!(
                "{} is neither {}'s manager nor an HR officer",
                decider.user, self.employee
            )));
        }
        self.decided_by = Some(decider.user.to_owned());
        if !approve {
            self.state = State::Refused;
            return Ok(None);
        }
        check_balance(leave_type, self.days, balance)?;
        self.state = State::Approved;
        self.took_days = leave_type.paid;
        Ok(leave_type.paid.then(|| LedgerEntry {
            date: self.from.clone(),
            days: -self.days,
            kind: EntryKind::Taking,
        }))
    }

    /// Cancels an open or approved request; cancelling an approved one
    /// answers the entry that gives back the days its approval took.
    pub fn cancel(&mut self) -> Result<Option<LedgerEntry>, RuleError> {
        let given_back = match self.state {
            State::Open => None,
            State::Approved => self.took_days.then(|| LedgerEntry {
                date: self.from.clone(),
                days: self.days,
                kind: EntryKind::Reversal,
            }),
            State::Refused | State::Cancelled => {
                return Err(RuleError::new(format!("the request is {:?} already", self.state)));
            }
        };
        self.state = State::Cancelled;
        Ok(given_back)
    }

    /// Whether it is open or approved and shares a day with `other`'s
    /// dates: the same days cannot be asked for twice.
    pub fn overlaps(&self, from: &Date, to: &Date) -> bool {
        matches!(self.state, State::Open | State::Approved) && self.from <= *to && *from <= self.to
    }

    /// The working days of an approved request between `from` and `to`
    /// (a payroll period, say), both included.
    pub fn days_within(
        &self,
        calendar: &Calendar,
        from: &Date,
        to: &Date,
    ) -> Result<Decimal, RuleError> {
        if self.state != State::Approved {
            return Ok(Decimal::ZERO);
        }
        let start = if self.from > *from { &self.from } else { from };
        let end = if self.to < *to { &self.to } else { to };
        if start > end {
            return Ok(Decimal::ZERO);
        }
        if self.days < Decimal::ONE {
            return Ok(self.days);
        }
        Ok(Decimal::from(calendar.working_days(start, end)?))
    }
}

fn check_balance(leave_type: &LeaveType, days: Decimal, balance: Decimal) -> Result<(), RuleError> {
    if leave_type.paid && !leave_type.allow_negative && days > balance {
        return Err(RuleError::new(format!(
            "the request takes {days} days of {}, and its balance is {balance}",
            leave_type.code
        )));
    }
    Ok(())
}

/// A payroll period's payment days: its working days less unpaid leave
/// and absences, never below zero.
pub fn payment_days(working_days: Decimal, unpaid_leave: Decimal, absences: Decimal) -> Decimal {
    (working_days - unpaid_leave - absences).max(Decimal::ZERO)
}

#[cfg(test)]
mod tests {
    use super::super::balance::Accrual;
    use super::*;
    use keel_values::Weekday;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn calendar() -> Calendar {
        Calendar::new([Weekday::Saturday, Weekday::Sunday], [date("2026-12-25")]).unwrap()
    }

    fn annual() -> LeaveType {
        LeaveType {
            code: "annual".to_owned(),
            paid: true,
            yearly_allowance: d("25"),
            accrual: Accrual::Yearly,
            carry_forward_max: d("5"),
            allow_negative: false,
        }
    }

    fn unpaid() -> LeaveType {
        LeaveType { code: "unpaid".to_owned(), paid: false, yearly_allowance: d("0"), ..annual() }
    }

    fn ask(
        leave_type: &LeaveType,
        from: &str,
        to: &str,
        balance: &str,
    ) -> Result<Request, RuleError> {
        let span = (date(from), date(to));
        Request::new("erin", "erin", leave_type, span, false, &calendar(), d(balance))
    }

    #[test]
    fn a_request_takes_working_days_and_is_decided_by_someone_else() {
        // Monday 21 to Friday 25 December: Christmas is not taken.
        let mut request = ask(&annual(), "2026-12-21", "2026-12-25", "10").unwrap();
        assert_eq!(request.days, d("4"));

        let manager = Decider { user: "mia", employee: Some("mia"), may_decide: true };
        for (decider, expected) in [
            (
                Decider { user: "erin", employee: Some("erin"), may_decide: true },
                "someone other than",
            ),
            (Decider { user: "sam", employee: None, may_decide: false }, "neither erin's manager"),
        ] {
            let err = request.decide(decider, true, &annual(), d("10")).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
        }
        // The balance fell meanwhile: the approval is refused.
        let err = request.decide(manager, true, &annual(), d("3")).unwrap_err();
        assert!(err.to_string().contains("takes 4 days of annual, and its balance is 3"), "{err}");

        let taken = request.decide(manager, true, &annual(), d("10")).unwrap().unwrap();
        assert_eq!((taken.days, taken.kind), (d("-4"), EntryKind::Taking));
        assert_eq!((request.state, request.decided_by.as_deref()), (State::Approved, Some("mia")));
        assert!(request.decide(manager, false, &annual(), d("10")).is_err(), "decided once");

        // Asked for by HR on erin's behalf, erin still cannot decide it,
        // whatever her rights.
        let mut on_behalf = Request::new(
            "erin",
            "olga",
            &annual(),
            (date("2026-12-07"), date("2026-12-07")),
            false,
            &calendar(),
            d("10"),
        )
        .unwrap();
        let herself = Decider { user: "erin-login", employee: Some("erin"), may_decide: true };
        let err = on_behalf.decide(herself, true, &annual(), d("10")).unwrap_err();
        assert!(err.to_string().contains("someone other than"), "{err}");

        assert!(request.overlaps(&date("2026-12-25"), &date("2027-01-04")));
        assert!(!request.overlaps(&date("2026-12-26"), &date("2027-01-04")));
        let back = request.cancel().unwrap().unwrap();
        assert_eq!((back.days, back.kind), (d("4"), EntryKind::Reversal));
        assert!(!request.overlaps(&date("2026-12-21"), &date("2026-12-21")), "cancelled");
        assert!(request.cancel().is_err(), "cancelled once");
    }

    #[test]
    fn a_request_over_the_balance_or_on_no_working_day_is_refused() {
        let err = ask(&annual(), "2026-12-07", "2026-12-18", "9.5").unwrap_err();
        assert!(err.to_string().contains("takes 10 days"), "{err}");
        let lenient = LeaveType { allow_negative: true, ..annual() };
        assert_eq!(ask(&lenient, "2026-12-07", "2026-12-18", "9.5").unwrap().days, d("10"));
        // Unpaid leave keeps no balance.
        assert_eq!(ask(&unpaid(), "2026-12-07", "2026-12-08", "0").unwrap().days, d("2"));
        let err = ask(&annual(), "2026-12-26", "2026-12-27", "10").unwrap_err();
        assert!(err.to_string().contains("no working day"), "{err}");
        let half = Request::new(
            "erin",
            "erin",
            &annual(),
            (date("2026-12-07"), date("2026-12-07")),
            true,
            &calendar(),
            d("1"),
        );
        assert_eq!(half.unwrap().days, d("0.5"));
        let half = Request::new(
            "erin",
            "erin",
            &annual(),
            (date("2026-12-07"), date("2026-12-08")),
            true,
            &calendar(),
            d("1"),
        );
        assert!(half.is_err());
    }

    #[test]
    fn unpaid_leave_in_a_period_lowers_its_payment_days() {
        let manager = Decider { user: "mia", employee: Some("mia"), may_decide: true };
        // Unpaid from Monday 30 November to Wednesday 2 December.
        let mut request = ask(&unpaid(), "2026-11-30", "2026-12-02", "0").unwrap();
        assert_eq!(request.decide(manager, true, &unpaid(), d("0")).unwrap(), None, "no balance");
        let (first, last) = (date("2026-12-01"), date("2026-12-31"));
        let unpaid_days = request.days_within(&calendar(), &first, &last).unwrap();
        assert_eq!(unpaid_days, d("2"), "the 1st and 2nd fall in December");
        let working = Decimal::from(calendar().working_days(&first, &last).unwrap());
        assert_eq!(payment_days(working, unpaid_days, d("1")), d("19"));
        assert_eq!(payment_days(d("2"), d("3"), d("0")), d("0"));
    }
}
