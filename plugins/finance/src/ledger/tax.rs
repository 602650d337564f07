//! Sales and purchase tax (VAT, GST): rates, the tax of an invoice's
//! lines, and what is due for a period. Tax is rounded once per rate on
//! the invoice, not per line, and when prices include tax the net amounts
//! are shared back over the lines to the cent (largest remainder), so the
//! lines, the tax and the total always agree and no entry is left
//! unbalanced.

use std::collections::BTreeMap;

use keel_values::code::{check_account, check_code};
use keel_values::decimal::{self, Sign, cents};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RuleError;

/// On what a tax is charged.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "TaxKind")]
pub enum Kind {
    /// Charged on sales: collected, owed to the authority.
    Sales,
    /// Paid on purchases: reclaimed from the authority.
    Purchase,
}

/// A tax rate, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaxRate {
    /// Such as `VAT20`.
    pub code: String,
    /// Such as `VAT 20%`.
    pub name: String,
    /// Percent, such as `20`.
    pub rate: Decimal,
    /// Charged on sales or paid on purchases.
    pub kind: Kind,
    /// Whether prices it applies to include it.
    pub inclusive: bool,
    /// The account the tax is posted to.
    pub account: String,
}

/// A tax rate as a client creates it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaxRate {
    /// Such as `VAT20`.
    pub code: String,
    /// Such as `VAT 20%`, 1 to 100 bytes.
    pub name: String,
    /// Percent, 0 to 100, as a decimal string such as `"20"`.
    pub rate: String,
    /// Charged on sales or paid on purchases.
    pub kind: Kind,
    /// Whether prices it applies to include it; false if not given.
    #[serde(default)]
    pub inclusive: bool,
    /// The account the tax is posted to.
    pub account: String,
}

impl NewTaxRate {
    /// Checks a rate: codes, a name, and a percentage from 0 to 100.
    pub fn check(self) -> Result<TaxRate, RuleError> {
        check_code("tax", &self.code)?;
        check_account(&self.account)?;
        let name = self.name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(RuleError::new("a tax rate needs a name of 1 to 100 bytes"));
        }
        let rate = decimal::amount(&self.rate, "rate", Sign::NonNegative)?;
        if rate > Decimal::ONE_HUNDRED {
            return Err(RuleError::new(format!("a tax rate is 0 to 100 percent, not {rate}")));
        }
        Ok(TaxRate {
            code: self.code,
            name: name.to_owned(),
            rate,
            kind: self.kind,
            inclusive: self.inclusive,
            account: self.account,
        })
    }
}

/// The tax of one rate on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaxLine {
    /// The tax rate's code.
    pub code: String,
    /// Its percent.
    pub rate: Decimal,
    /// The account the tax is posted to.
    pub account: String,
    /// The net amount it is charged on.
    pub base: Decimal,
    /// The tax, to the cent.
    pub amount: Decimal,
}

/// Taxes lines whose priced amounts are `amounts` (net, or gross where the
/// rate includes tax) at `rates` (one per line; none: untaxed). Returns each
/// line's net amount, and the tax of each rate, rounded once on the sum of
/// its lines.
pub fn apply(
    amounts: &[Decimal],
    rates: &[Option<&TaxRate>],
) -> Result<(Vec<Decimal>, Vec<TaxLine>), RuleError> {
    let mut nets = amounts.to_vec();
    let mut by_rate: BTreeMap<&str, (&TaxRate, Vec<usize>)> = BTreeMap::new();
    for (i, rate) in rates.iter().enumerate() {
        if let Some(rate) = rate {
            by_rate.entry(&rate.code).or_insert_with(|| (rate, Vec::new())).1.push(i);
        }
    }
    let mut taxes = Vec::with_capacity(by_rate.len());
    for (rate, lines) in by_rate.into_values() {
        let sum: Decimal = lines.iter().map(|&i| amounts[i]).sum();
        decimal::check_amount(
            sum,
            &format!("the amount taxed at {}", rate.code),
            Sign::NonNegative,
        )?;
        let share = rate.rate / Decimal::ONE_HUNDRED;
        let (base, amount) = if rate.inclusive {
            let tax = cents(sum * share / (Decimal::ONE + share));
            let base = sum - tax;
            for (i, net) in lines
                .iter()
                .zip(shares(base, &lines.iter().map(|&i| amounts[i]).collect::<Vec<_>>()))
            {
                nets[*i] = net;
            }
            (base, tax)
        } else {
            (sum, cents(sum.checked_mul(share).ok_or_else(too_large)?))
        };
        taxes.push(TaxLine {
            code: rate.code.clone(),
            rate: rate.rate,
            account: rate.account.clone(),
            base,
            amount,
        });
    }
    Ok((nets, taxes))
}

/// `total` shared over `weights` in proportion, to the cent, adding up to
/// `total` exactly: each share rounded down, the cents left going to the
/// largest remainders first.
pub fn shares(total: Decimal, weights: &[Decimal]) -> Vec<Decimal> {
    let sum: Decimal = weights.iter().sum();
    if sum.is_zero() {
        let mut out = vec![Decimal::ZERO; weights.len()];
        if let Some(first) = out.first_mut() {
            *first = total;
        }
        return out;
    }
    let cent = Decimal::new(1, 2);
    // The share of the whole first (at most one), so that no product
    // overflows however large the amounts.
    let exact: Vec<Decimal> = weights.iter().map(|w| (w / sum) * total).collect();
    let mut out: Vec<Decimal> = exact.iter().map(|e| (e / cent).floor() * cent).collect();
    let mut left = ((total - out.iter().sum::<Decimal>()) / cent).round();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - out[b]).cmp(&(exact[a] - out[a])).then(a.cmp(&b)));
    for i in order.into_iter().cycle() {
        if left <= Decimal::ZERO {
            break;
        }
        out[i] += cent;
        left -= Decimal::ONE;
    }
    out
}

/// What a period owes: the tax collected on sales less the tax paid on
/// purchases, from each tax account's movement over the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TaxReport {
    /// The tax collected on sales.
    pub collected: Decimal,
    /// The tax paid on purchases.
    pub paid: Decimal,
    /// Collected less paid: owed to the authority if positive, reclaimable
    /// if negative.
    pub due: Decimal,
}

/// What a tax account is used for: sales rates, purchase rates, or both
/// (one VAT control account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Sales,
    Purchase,
    Both,
}

/// The report from each tax account's use and movement over the period
/// (debits, credits): a sales account's credits less debits are
/// collected, a purchase account's debits less credits paid, and an
/// account of both counts its credits as collected and its debits as paid.
pub fn report(accounts: &[(Use, Decimal, Decimal)]) -> Result<TaxReport, RuleError> {
    let (mut collected, mut paid) = (Decimal::ZERO, Decimal::ZERO);
    let add = |sum: Decimal, more: Option<Decimal>| {
        more.and_then(|m| sum.checked_add(m)).ok_or_else(too_large)
    };
    for &(used, debit, credit) in accounts {
        match used {
            Use::Sales => collected = add(collected, credit.checked_sub(debit))?,
            Use::Purchase => paid = add(paid, debit.checked_sub(credit))?,
            Use::Both => {
                collected = add(collected, Some(credit))?;
                paid = add(paid, Some(debit))?;
            }
        }
    }
    let due = collected.checked_sub(paid).ok_or_else(too_large)?;
    Ok(TaxReport { collected, paid, due })
}

fn too_large() -> RuleError {
    RuleError::new("the tax amounts are too large")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn rate(code: &str, percent: &str, inclusive: bool) -> TaxRate {
        TaxRate {
            code: code.into(),
            name: code.into(),
            rate: d(percent),
            kind: Kind::Sales,
            inclusive,
            account: "2100".into(),
        }
    }

    #[test]
    fn exclusive_tax_is_rounded_once_per_rate() {
        let vat = rate("VAT20", "20", false);
        let amounts = [d("0.33"), d("0.33"), d("0.33")];
        let (nets, taxes) = apply(&amounts, &[Some(&vat), Some(&vat), Some(&vat)]).unwrap();
        assert_eq!(nets, amounts);
        assert_eq!(
            (taxes[0].base, taxes[0].amount),
            (d("0.99"), d("0.20")),
            "0.198 once, not 0.07 three times"
        );
    }

    #[test]
    fn inclusive_prices_share_their_net_back_to_the_cent() {
        let vat = rate("VAT20", "20", true);
        let reduced = rate("VAT5", "5", false);
        let amounts = [d("10.00"), d("10.00"), d("10.00"), d("21.00")];
        let (nets, taxes) =
            apply(&amounts, &[Some(&vat), Some(&vat), Some(&vat), Some(&reduced)]).unwrap();
        assert_eq!(taxes[0].code, "VAT20");
        assert_eq!((taxes[0].base, taxes[0].amount), (d("25.00"), d("5.00")));
        assert_eq!(nets[..3].iter().sum::<Decimal>(), d("25.00"));
        assert_eq!(&nets[..3], [d("8.34"), d("8.33"), d("8.33")]);
        assert_eq!((nets[3], taxes[1].amount), (d("21.00"), d("1.05")));
        let untaxed = apply(&[d("5")], &[None]).unwrap();
        assert!(untaxed.1.is_empty());
    }

    #[test]
    fn the_largest_amounts_are_taxed_or_refused_never_overflowing() {
        let vat = rate("VAT20", "20", true);
        let (nets, taxes) = apply(&[d("400000000000000")], &[Some(&vat)]).unwrap();
        assert_eq!(nets[0] + taxes[0].amount, d("400000000000000"));
        let halves =
            shares(d("999999999999999.99"), &[d("999999999999999.99"), d("999999999999999.99")]);
        assert_eq!(halves.iter().sum::<Decimal>(), d("999999999999999.99"));
        let too_much = [d("900000000000000"), d("900000000000000")];
        assert!(
            apply(&too_much, &[Some(&vat), Some(&vat)])
                .unwrap_err()
                .0
                .contains("amount taxed at VAT20")
        );
    }

    #[test]
    fn a_rate_is_a_percentage_with_an_account() {
        let new = |rate: &str| NewTaxRate {
            code: "VAT20".into(),
            name: "VAT".into(),
            rate: rate.into(),
            kind: Kind::Sales,
            inclusive: false,
            account: "2100".into(),
        };
        assert_eq!(new("20").check().unwrap().rate, d("20"));
        assert!(new("0").check().is_ok());
        assert!(new("101").check().unwrap_err().0.contains("0 to 100"));
        assert!(new("-1").check().is_err());
    }

    #[test]
    fn what_is_due_is_collected_less_paid() {
        let due =
            report(&[(Use::Sales, d("10"), d("1010")), (Use::Purchase, d("300"), d("0"))]).unwrap();
        assert_eq!((due.collected, due.paid, due.due), (d("1000"), d("300"), d("700")));
        let shared = report(&[(Use::Both, d("50"), d("200"))]).unwrap();
        assert_eq!((shared.collected, shared.paid, shared.due), (d("200"), d("50"), d("150")));
    }

    proptest::proptest! {
        #[test]
        fn shares_add_up_to_the_cent(total in 0i64..1_000_000_000, weights in proptest::collection::vec(0i64..1_000_000, 1..20)) {
            let total = Decimal::new(total, 2);
            let weights: Vec<Decimal> = weights.into_iter().map(|w| Decimal::new(w, 2)).collect();
            let out = shares(total, &weights);
            proptest::prop_assert_eq!(out.iter().sum::<Decimal>(), total);
            proptest::prop_assert!(out.iter().all(|s| *s >= Decimal::ZERO));
        }
    }
}
