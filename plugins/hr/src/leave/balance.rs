//! Leave types and balances. A balance is never a bare number: it is the
//! sum of a ledger of allocations, accruals, takings, reversals and
//! expiries, each dated, so that it can be told on any date and explained.

use keel_values::{Date, RuleError};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a type's yearly allowance is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "LeaveAccrual")]
pub enum Accrual {
    /// All of it on the first of January.
    Yearly,
    /// A twelfth on the first of each month.
    Monthly,
}

/// A kind of leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveType {
    /// Its code; a client names it in the path, not the body.
    #[serde(default)]
    pub code: String,
    /// Paid: its days are paid days. Unpaid leave keeps no balance and
    /// lowers payment days.
    pub paid: bool,
    /// Days given a year.
    #[schemars(with = "keel_values::decimal::Text")]
    pub yearly_allowance: Decimal,
    /// How the allowance is given.
    pub accrual: Accrual,
    /// Most days kept into the next year; the rest expire at year end.
    #[schemars(with = "keel_values::decimal::Text")]
    pub carry_forward_max: Decimal,
    /// A request may take the balance below zero.
    pub allow_negative: bool,
}

/// Why days entered or left a balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "LeaveEntryKind")]
pub enum EntryKind {
    /// Days given by hand (a starting balance, say).
    Allocation,
    /// Days given by the type's accrual.
    Accrual,
    /// Days an approved request took (negative).
    Taking,
    /// Days a cancelled approved request gave back.
    Reversal,
    /// Days beyond the carry-forward cap, gone at year end (negative).
    Expiry,
}

/// One entry of a balance's ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "LeaveLedgerEntry")]
pub struct LedgerEntry {
    /// When the days entered or left the balance.
    pub date: Date,
    /// Days in (or out, if negative).
    pub days: Decimal,
    pub kind: EntryKind,
}

impl LeaveType {
    /// Checks the type's figures.
    pub fn check(&self) -> Result<(), RuleError> {
        let days_max = Decimal::from(366);
        for (what, days) in [
            ("yearly_allowance", self.yearly_allowance),
            ("carry_forward_max", self.carry_forward_max),
        ] {
            if days.is_sign_negative() || days > days_max || days.scale() > 2 {
                return Err(RuleError::new(format!(
                    "leave type {}: {what} is 0 to 366 days, to two places, not {days}",
                    self.code
                )));
            }
        }
        if !self.paid && !self.yearly_allowance.is_zero() {
            return Err(RuleError::new(format!(
                "leave type {}: unpaid leave keeps no balance, so has no allowance",
                self.code
            )));
        }
        Ok(())
    }

    /// The accrual entries of `year`: the allowance at once, or a twelfth
    /// a month (to the hundredth of a day, December taking what rounding
    /// left, so that the year adds up to the allowance exactly).
    pub fn accruals(&self, year: i64) -> Result<Vec<LedgerEntry>, RuleError> {
        let first = |month: u32| Date::parse(&format!("{year:04}-{month:02}-01"));
        match self.accrual {
            Accrual::Yearly => Ok(vec![LedgerEntry {
                date: first(1)?,
                days: self.yearly_allowance,
                kind: EntryKind::Accrual,
            }]),
            Accrual::Monthly => {
                let monthly = (self.yearly_allowance / Decimal::from(12)).round_dp(2);
                let mut entries = Vec::with_capacity(12);
                for month in 1..=12 {
                    let days = if month == 12 {
                        self.yearly_allowance - monthly * Decimal::from(11)
                    } else {
                        monthly
                    };
                    entries.push(LedgerEntry {
                        date: first(month)?,
                        days,
                        kind: EntryKind::Accrual,
                    });
                }
                Ok(entries)
            }
        }
    }

    /// At the end of `year`: the days beyond the carry-forward cap expire
    /// (an entry on the 31st of December), if there are any.
    pub fn year_end(
        &self,
        ledger: &[LedgerEntry],
        year: i64,
    ) -> Result<Option<LedgerEntry>, RuleError> {
        let last = Date::parse(&format!("{year:04}-12-31"))?;
        let excess = balance(ledger, &last) - self.carry_forward_max;
        Ok((excess > Decimal::ZERO).then(|| LedgerEntry {
            date: last,
            days: -excess,
            kind: EntryKind::Expiry,
        }))
    }
}

/// The entries of `leave_type` due by `today` for someone who joined on
/// `hired` (and left on `left`, if they did) that `ledger` does not hold
/// yet: this year's accruals dated on or before today, from the month they
/// joined and not after they left; and once a year is over, the expiry at
/// its end of what it left beyond the carry-forward cap, if it left any.
/// Adding them and asking again gives nothing more.
pub fn due(
    leave_type: &LeaveType,
    (hired, left): (&Date, Option<&Date>),
    today: &Date,
    ledger: &[LedgerEntry],
) -> Result<Vec<LedgerEntry>, RuleError> {
    let mut due = Vec::new();
    let last_year = today.year() - 1;
    let held = |kind: EntryKind, date: &Date| {
        ledger.iter().any(|entry| entry.kind == kind && entry.date == *date)
    };
    let year_end = Date::parse(&format!("{last_year:04}-12-31"))?;
    let in_last_year = ledger.iter().any(|entry| entry.date.year() == last_year);
    if in_last_year && !held(EntryKind::Expiry, &year_end) {
        due.extend(leave_type.year_end(ledger, last_year)?);
    }
    let joined = Date::parse(&hired.first_of_month())?;
    for accrual in leave_type.accruals(today.year())? {
        let employed = accrual.date >= joined && left.is_none_or(|left| accrual.date <= *left);
        if accrual.date <= *today && employed && !held(EntryKind::Accrual, &accrual.date) {
            due.push(accrual);
        }
    }
    Ok(due)
}

/// The balance on `on`: every entry dated then or before.
pub fn balance(ledger: &[LedgerEntry], on: &Date) -> Decimal {
    ledger.iter().filter(|entry| entry.date <= *on).map(|entry| entry.days).sum()
}

/// What is left to ask for on `today`: the balance then, less the days of
/// leave approved for later (and not cancelled since); accruals to come
/// are not counted.
pub fn available(ledger: &[LedgerEntry], today: &Date) -> Decimal {
    let planned: Decimal = ledger
        .iter()
        .filter(|entry| entry.date > *today)
        .filter(|entry| matches!(entry.kind, EntryKind::Taking | EntryKind::Reversal))
        .map(|entry| entry.days)
        .sum();
    balance(ledger, today) + planned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_due_is_this_years_accruals_so_far_and_last_years_expiry_once() {
        let annual = LeaveType {
            code: "annual".to_owned(),
            paid: true,
            yearly_allowance: Decimal::from(24),
            accrual: Accrual::Monthly,
            carry_forward_max: Decimal::from(5),
            allow_negative: false,
        };
        let (hired, today) =
            (Date::parse("2025-06-15").unwrap(), Date::parse("2026-03-10").unwrap());
        let mut ledger = vec![
            LedgerEntry {
                date: Date::parse("2025-07-01").unwrap(),
                days: Decimal::from(12),
                kind: EntryKind::Allocation,
            },
            LedgerEntry {
                date: Date::parse("2025-08-04").unwrap(),
                days: Decimal::from(-2),
                kind: EntryKind::Taking,
            },
        ];
        let first = due(&annual, (&hired, None), &today, &ledger).unwrap();
        let shown: Vec<(String, String, EntryKind)> =
            first.iter().map(|e| (e.date.to_string(), e.days.to_string(), e.kind)).collect();
        assert_eq!(
            shown,
            [
                ("2025-12-31".to_owned(), "-5".to_owned(), EntryKind::Expiry),
                ("2026-01-01".to_owned(), "2".to_owned(), EntryKind::Accrual),
                ("2026-02-01".to_owned(), "2".to_owned(), EntryKind::Accrual),
                ("2026-03-01".to_owned(), "2".to_owned(), EntryKind::Accrual),
            ],
            "10 days left at the end of 2025, 5 carried; three months accrued"
        );
        ledger.extend(first);
        assert!(due(&annual, (&hired, None), &today, &ledger).unwrap().is_empty(), "once");

        // Someone who joined in February, and someone who left in January.
        let feb = Date::parse("2026-02-20").unwrap();
        let joined = due(&annual, (&feb, None), &today, &[]).unwrap();
        assert_eq!(joined.len(), 2, "February and March");
        let left = Date::parse("2026-01-31").unwrap();
        let leaver = due(&annual, (&hired, Some(&left)), &today, &[]).unwrap();
        assert_eq!(leaver.len(), 1, "January only");
    }

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn annual() -> LeaveType {
        LeaveType {
            code: "annual".to_owned(),
            paid: true,
            yearly_allowance: d("25"),
            accrual: Accrual::Monthly,
            carry_forward_max: d("5"),
            allow_negative: false,
        }
    }

    #[test]
    fn a_monthly_accrual_adds_up_to_the_allowance() {
        let entries = annual().accruals(2026).unwrap();
        assert_eq!(entries.len(), 12);
        assert_eq!(entries[0].days, d("2.08"));
        assert_eq!(entries[11].days, d("2.12"), "December takes what rounding left");
        assert_eq!(entries.iter().map(|e| e.days).sum::<Decimal>(), d("25"));
        assert_eq!(balance(&entries, &date("2026-03-31")), d("6.24"));
        let yearly = LeaveType { accrual: Accrual::Yearly, ..annual() };
        assert_eq!(
            yearly.accruals(2026).unwrap(),
            [LedgerEntry { date: date("2026-01-01"), days: d("25"), kind: EntryKind::Accrual }]
        );
    }

    #[test]
    fn what_is_available_counts_leave_approved_for_later_but_not_later_accruals() {
        let mut ledger = annual().accruals(2026).unwrap();
        ledger.push(LedgerEntry {
            date: date("2026-12-21"),
            days: d("-4"),
            kind: EntryKind::Taking,
        });
        assert_eq!(balance(&ledger, &date("2026-03-31")), d("6.24"));
        assert_eq!(available(&ledger, &date("2026-03-31")), d("2.24"));
        assert_eq!(available(&ledger, &date("2026-12-31")), d("21"));
        ledger.push(LedgerEntry {
            date: date("2026-12-21"),
            days: d("4"),
            kind: EntryKind::Reversal,
        });
        assert_eq!(available(&ledger, &date("2026-03-31")), d("6.24"), "cancelled");
    }

    #[test]
    fn days_beyond_the_carry_forward_cap_expire_at_year_end() {
        let mut ledger = annual().accruals(2026).unwrap();
        ledger.push(LedgerEntry {
            date: date("2026-08-03"),
            days: d("-12"),
            kind: EntryKind::Taking,
        });
        let expiry = annual().year_end(&ledger, 2026).unwrap().unwrap();
        assert_eq!((&expiry.date, expiry.days), (&date("2026-12-31"), d("-8")), "13 left, 5 kept");
        ledger.push(expiry);
        assert_eq!(balance(&ledger, &date("2027-01-01")), d("5"));
        // Under the cap, nothing expires.
        ledger.push(LedgerEntry {
            date: date("2027-02-01"),
            days: d("-4"),
            kind: EntryKind::Taking,
        });
        assert_eq!(annual().year_end(&ledger, 2027).unwrap(), None);
    }

    #[test]
    fn a_leave_type_is_checked() {
        annual().check().unwrap();
        let unpaid = LeaveType { paid: false, ..annual() };
        assert!(unpaid.check().unwrap_err().to_string().contains("no allowance"));
        let too_much = LeaveType { yearly_allowance: d("400"), ..annual() };
        assert!(too_much.check().unwrap_err().to_string().contains("0 to 366"));
        let fractional = LeaveType { carry_forward_max: d("0.125"), ..annual() };
        assert!(fractional.check().is_err());
    }
}
