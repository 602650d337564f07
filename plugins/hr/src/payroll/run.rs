//! A payroll run's life: draft → calculated (again, as often as needed) →
//! approved, by someone other than who last calculated it → posted → paid;
//! and each employee's year to date.

use std::collections::BTreeMap;

use keel_values::{Date, RuleError};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::structure::Payslip;

/// Longest period, in days.
const PERIOD_DAYS_MAX: i64 = 31;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "PayrollRunState")]
pub enum RunState {
    Draft,
    Calculated,
    Approved,
    Posted,
    Paid,
}

/// A payroll run over one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "PayrollPeriod")]
pub struct Run {
    /// The period's first day.
    pub from: Date,
    /// The period's last day.
    pub to: Date,
    pub state: RunState,
    /// Who last calculated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculated_by: Option<String>,
    /// Who approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

impl Run {
    /// A draft run from `from` to `to`, both included: a month at most.
    pub fn new(from: Date, to: Date) -> Result<Self, RuleError> {
        let days = to.days() - from.days() + 1;
        if !(1..=PERIOD_DAYS_MAX).contains(&days) {
            return Err(RuleError::new(format!(
                "a payroll period is 1 to {PERIOD_DAYS_MAX} days, not from {from} to {to}"
            )));
        }
        Ok(Self { from, to, state: RunState::Draft, calculated_by: None, approved_by: None })
    }

    /// Its payslips are being calculated (again): a draft until they are,
    /// which no one may approve meanwhile. An approved run calculated again
    /// is approved again; a posted one is not calculated again.
    pub fn recalculating(&mut self) -> Result<(), RuleError> {
        self.expect(&[RunState::Draft, RunState::Calculated, RunState::Approved], "calculated")?;
        self.state = RunState::Draft;
        self.calculated_by = None;
        self.approved_by = None;
        Ok(())
    }

    /// Its payslips were (re)calculated by `by`; not once approved.
    pub fn calculated(&mut self, by: &str) -> Result<(), RuleError> {
        self.expect(&[RunState::Draft, RunState::Calculated], "calculated")?;
        self.state = RunState::Calculated;
        self.calculated_by = Some(by.to_owned());
        Ok(())
    }

    /// Approved by `by`, who did not calculate it.
    pub fn approve(&mut self, by: &str) -> Result<(), RuleError> {
        self.expect(&[RunState::Calculated], "approved")?;
        if self.calculated_by.as_deref() == Some(by) {
            return Err(RuleError::new(format!(
                "{by} calculated this run, so someone else approves it"
            )));
        }
        self.state = RunState::Approved;
        self.approved_by = Some(by.to_owned());
        Ok(())
    }

    /// Its journal entry was posted.
    pub fn posted(&mut self) -> Result<(), RuleError> {
        self.expect(&[RunState::Approved], "posted")?;
        self.state = RunState::Posted;
        Ok(())
    }

    /// Its net pay was paid.
    pub fn paid(&mut self) -> Result<(), RuleError> {
        self.expect(&[RunState::Posted], "paid")?;
        self.state = RunState::Paid;
        Ok(())
    }

    fn expect(&self, states: &[RunState], what: &str) -> Result<(), RuleError> {
        if states.contains(&self.state) {
            return Ok(());
        }
        Err(RuleError::new(format!("a run that is {:?} cannot be {what}", self.state)))
    }
}

/// An employee's year to date once `slip` is added: per component, and
/// `gross`, `deductions` and `net`. A new year starts from nothing.
pub fn year_to_date(
    before: &BTreeMap<String, Decimal>,
    slip: &Payslip,
) -> BTreeMap<String, Decimal> {
    let mut ytd = before.clone();
    let totals = [("gross", slip.gross), ("deductions", slip.deductions), ("net", slip.net)];
    let lines = slip.lines.iter().filter(|l| !l.statistical).map(|l| (l.code.as_str(), l.amount));
    for (code, amount) in lines.chain(totals) {
        *ytd.entry(code.to_owned()).or_default() += amount;
    }
    ytd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payroll::structure::{Kind, Line};

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn a_run_is_approved_by_someone_who_did_not_calculate_it() {
        let mut run = Run::new(date("2026-12-01"), date("2026-12-31")).unwrap();
        let early = run.approve("paula").unwrap_err();
        assert!(early.to_string().contains("Draft cannot be approved"), "{early}");
        run.calculated("paula").unwrap();
        run.calculated("carl").unwrap();
        let own = run.approve("carl").unwrap_err();
        assert!(own.to_string().contains("carl calculated this run"), "{own}");
        run.approve("paula").unwrap();
        assert!(run.calculated("carl").is_err(), "approved, it is calculated again only anew");
        run.recalculating().unwrap();
        assert_eq!((run.state, run.approved_by.as_deref()), (RunState::Draft, None));
        run.calculated("carl").unwrap();
        run.approve("paula").unwrap();
        assert!(run.paid().is_err(), "posted first");
        run.posted().unwrap();
        assert!(run.recalculating().is_err(), "posted, it stands");
        run.paid().unwrap();
        assert_eq!((run.state, run.approved_by.as_deref()), (RunState::Paid, Some("paula")));

        let err = Run::new(date("2026-12-01"), date("2027-01-31")).unwrap_err();
        assert!(err.to_string().contains("1 to 31 days"), "{err}");
        assert!(Run::new(date("2026-12-02"), date("2026-12-01")).is_err());
    }

    #[test]
    fn the_year_to_date_adds_each_payslip() {
        let slip = |basic: i64, tax: i64| Payslip {
            lines: vec![
                Line {
                    code: "basic".to_owned(),
                    kind: Kind::Earning,
                    amount: Decimal::new(basic, 2),
                    statistical: false,
                },
                Line {
                    code: "tax".to_owned(),
                    kind: Kind::Deduction,
                    amount: Decimal::new(tax, 2),
                    statistical: false,
                },
                Line {
                    code: "taxable".to_owned(),
                    kind: Kind::Earning,
                    amount: Decimal::new(basic, 2),
                    statistical: true,
                },
            ],
            gross: Decimal::new(basic, 2),
            deductions: Decimal::new(tax, 2),
            net: Decimal::new(basic - tax, 2),
            contributions: Decimal::ZERO,
        };
        let january = year_to_date(&BTreeMap::new(), &slip(150_000, 29_000));
        let february = year_to_date(&january, &slip(136_364, 24_909));
        let shown: Vec<(&str, String)> =
            february.iter().map(|(k, v)| (k.as_str(), v.to_string())).collect();
        assert_eq!(
            shown,
            [
                ("basic", "2863.64".to_owned()),
                ("deductions", "539.09".to_owned()),
                ("gross", "2863.64".to_owned()),
                ("net", "2324.55".to_owned()),
                ("tax", "539.09".to_owned()),
            ]
        );
    }
}
