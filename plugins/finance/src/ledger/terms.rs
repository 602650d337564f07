//! Payment terms: when an invoice falls due, in one or several
//! instalments. Each line is a percentage of the total, or the remainder,
//! due some days after the invoice date; the cents rounding leaves on the
//! last instalment, so the instalments always add up to the total.

use keel_values::Date;
use keel_values::decimal::{self, Sign, cents};
use rust_decimal::Decimal;

use super::RuleError;

/// Most lines one set of terms may have.
const LINES_MAX: usize = 12;
/// Furthest an instalment may fall due after the invoice, in days.
const DAYS_MAX: u32 = 3650;

/// One line of payment terms.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct TermLine {
    /// A share of the total, such as `"30"` (percent); none for the
    /// remainder, which only the last line may be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<Decimal>,
    /// Days after the invoice date it falls due.
    pub days: u32,
}

/// Payment terms, as stored and returned.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct PaymentTerms {
    /// Such as `NET30` or `30-70`.
    pub code: String,
    /// Such as `30 days net`.
    pub name: String,
    /// Its instalments, in the order they fall due.
    pub lines: Vec<TermLine>,
}

/// Payment terms as a client submits them: percentages as decimal strings.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTerms {
    /// Such as `30-70`.
    pub code: String,
    /// What they are called.
    pub name: String,
    /// 1 to 12 instalments, in the order they fall due.
    pub lines: Vec<NewTermLine>,
}

/// A submitted line: a percentage (a decimal string) or none for the
/// remainder, and days.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTermLine {
    /// A share of the total in percent, as a decimal string such as
    /// `"30"`; none for the remainder, which only the last line may be.
    #[serde(default)]
    pub percent: Option<String>,
    /// Days after the invoice date it falls due.
    pub days: u32,
}

/// One instalment of an invoice: when and how much.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Instalment {
    pub due: Date,
    pub amount: Decimal,
}

/// Terms with one instalment of everything, due `days` after the invoice.
pub fn net(days: u32) -> PaymentTerms {
    PaymentTerms {
        code: format!("NET{days}"),
        name: format!("{days} days net"),
        lines: vec![TermLine { percent: None, days }],
    }
}

impl NewTerms {
    /// Checks the terms: a code, a name, 1 to 12 lines, each a positive
    /// percentage or (the last only) the remainder, due in order, and
    /// percentages that come to 100 (or less, before a remainder).
    pub fn check(self) -> Result<PaymentTerms, RuleError> {
        keel_values::code::check_code("payment terms", &self.code)?;
        let name = self.name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(RuleError::new("payment terms need a name of 1 to 100 bytes"));
        }
        if self.lines.is_empty() || self.lines.len() > LINES_MAX {
            return Err(RuleError::new(format!("payment terms have 1 to {LINES_MAX} lines")));
        }
        let last = self.lines.len() - 1;
        let (mut lines, mut sum, mut days) = (Vec::new(), Decimal::ZERO, 0);
        for (i, line) in self.lines.into_iter().enumerate() {
            let n = i + 1;
            if line.days > DAYS_MAX || line.days < days {
                return Err(RuleError::new(format!(
                    "line {n}: days must run in order, up to {DAYS_MAX}"
                )));
            }
            days = line.days;
            let percent = match line.percent {
                Some(text) => {
                    let percent =
                        decimal::amount(&text, &format!("line {n} percent"), Sign::Positive)?;
                    sum += percent;
                    Some(percent)
                }
                None if i == last => None,
                None => {
                    return Err(RuleError::new(format!(
                        "line {n}: only the last line is the remainder"
                    )));
                }
            };
            lines.push(TermLine { percent, days: line.days });
        }
        let remainder = lines[last].percent.is_none();
        let hundred = Decimal::ONE_HUNDRED;
        if (remainder && sum >= hundred) || (!remainder && sum != hundred) {
            return Err(RuleError::new(format!(
                "the percentages come to {sum}; they must come to 100{}",
                if remainder { ", less something for the remainder" } else { "" }
            )));
        }
        Ok(PaymentTerms { code: self.code, name: name.to_owned(), lines })
    }
}

impl PaymentTerms {
    /// The instalments of `total` invoiced on `date`: each line's share to
    /// the cent, the last taking what rounding left, so that they add up to
    /// `total` exactly and none is below zero.
    pub fn instalments(&self, total: Decimal, date: &Date) -> Result<Vec<Instalment>, RuleError> {
        let mut instalments = Vec::with_capacity(self.lines.len());
        let mut left = total;
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let amount = match line.percent {
                Some(percent) if i < last => {
                    let share =
                        total.checked_mul(percent).ok_or_else(too_large)? / Decimal::ONE_HUNDRED;
                    // Never more than is left, so no instalment goes
                    // below zero on a total of a few cents.
                    cents(share).min(left)
                }
                _ => left,
            };
            left -= amount;
            instalments.push(Instalment { due: date.add_days(line.days)?, amount });
        }
        Ok(instalments)
    }
}

fn too_large() -> RuleError {
    RuleError::new("the invoice total is too large to split")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn terms(lines: &[(Option<&str>, u32)]) -> Result<PaymentTerms, RuleError> {
        let lines = lines
            .iter()
            .map(|(percent, days)| NewTermLine { percent: percent.map(str::to_owned), days: *days })
            .collect();
        NewTerms { code: "T".into(), name: "Terms".into(), lines }.check()
    }

    #[test]
    fn instalments_add_up_to_the_total_to_the_cent() {
        let thirds = terms(&[(Some("33.33"), 0), (Some("33.33"), 30), (None, 60)]).unwrap();
        let date = Date::parse("2026-01-31").unwrap();
        let parts = thirds.instalments(d("100.00"), &date).unwrap();
        let due: Vec<_> = parts.iter().map(|p| (p.due.as_str(), p.amount)).collect();
        assert_eq!(
            due,
            [("2026-01-31", d("33.33")), ("2026-03-02", d("33.33")), ("2026-04-01", d("33.34"))]
        );
        let net30 = net(30).instalments(d("1190.00"), &date).unwrap();
        assert_eq!((net30[0].due.as_str(), net30[0].amount), ("2026-03-02", d("1190.00")));
        let halves = terms(&[(Some("50"), 10), (Some("50"), 40)]).unwrap();
        let parts = halves.instalments(d("0.03"), &date).unwrap();
        assert_eq!(
            (parts[0].amount, parts[1].amount),
            (d("0.02"), d("0.01")),
            "rounding leaves on the last"
        );
    }

    #[test]
    fn terms_come_to_a_hundred_percent_in_order() {
        assert!(terms(&[(Some("30"), 0), (Some("70"), 30)]).is_ok());
        assert!(terms(&[(Some("30"), 0), (Some("60"), 30)]).unwrap_err().0.contains("come to 90"));
        assert!(terms(&[(Some("100"), 0), (None, 30)]).unwrap_err().0.contains("less something"));
        assert!(
            terms(&[(None, 0), (Some("50"), 30)]).unwrap_err().0.contains("only the last line")
        );
        assert!(terms(&[(Some("50"), 30), (None, 10)]).unwrap_err().0.contains("in order"));
        assert!(terms(&[(Some("-5"), 0), (None, 10)]).is_err());
        assert!(terms(&[]).unwrap_err().0.contains("1 to 12 lines"));
        assert!(terms(&[(None, 4000)]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_split_adds_up(cents_total in 0i64..10_000_000_000, first in 1u32..99) {
            let total = Decimal::new(cents_total, 2);
            let split = terms(&[(Some(&first.to_string()), 0), (Some("0.5"), 15), (None, 30)]).unwrap();
            let date = Date::parse("2026-06-15").unwrap();
            let parts = split.instalments(total, &date).unwrap();
            let sum: Decimal = parts.iter().map(|p| p.amount).sum();
            proptest::prop_assert_eq!(sum, total);
            proptest::prop_assert!(parts.iter().all(|p| p.amount.scale() <= 2 && p.amount >= Decimal::ZERO));
        }
    }
}
