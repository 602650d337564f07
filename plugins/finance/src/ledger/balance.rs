//! Account totals, balances and the trial balance.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::RuleError;
use super::account::{Account, Side};

/// Debit and credit totals of an account over some period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    /// Sum of debits.
    pub debit: Decimal,
    /// Sum of credits.
    pub credit: Decimal,
}

impl Totals {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: Totals) -> Result<(), RuleError> {
        let overflow = || RuleError::new("account totals overflow");
        self.debit = self.debit.checked_add(other.debit).ok_or_else(overflow)?;
        self.credit = self.credit.checked_add(other.credit).ok_or_else(overflow)?;
        Ok(())
    }

    /// The balance on the account's normal side (negative when the other side is larger).
    pub fn balance(self, side: Side) -> Decimal {
        match side {
            Side::Debit => self.debit - self.credit,
            Side::Credit => self.credit - self.debit,
        }
    }

    /// Whether nothing was ever posted.
    pub fn is_empty(self) -> bool {
        self.debit.is_zero() && self.credit.is_zero()
    }
}

/// One account's line of the trial balance: its net balance in the debit or
/// the credit column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct TrialBalanceRow {
    /// The account code.
    pub account: String,
    /// The account name.
    pub name: String,
    /// The account type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The company's currency, which the balance is in.
    pub currency: String,
    /// Net debit balance, or zero.
    pub debit: Decimal,
    /// Net credit balance, or zero.
    pub credit: Decimal,
}

/// Column totals of one currency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct CurrencyTotals {
    /// The currency.
    pub currency: String,
    /// Sum of the debit column.
    pub debit: Decimal,
    /// Sum of the credit column.
    pub credit: Decimal,
    /// Whether the columns agree, as double entry guarantees.
    pub balanced: bool,
}

/// A trial balance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrialBalance {
    /// The accounts with any activity, by code.
    pub rows: Vec<TrialBalanceRow>,
    /// Column totals per currency.
    pub totals: Vec<CurrencyTotals>,
}

/// Builds a trial balance from each account's totals in the company's
/// currency (`company`); accounts with no activity are left out.
pub fn trial_balance(
    accounts: Vec<(Account, Totals)>,
    company: &str,
) -> Result<TrialBalance, RuleError> {
    let mut rows = Vec::new();
    let mut columns: BTreeMap<String, Totals> = BTreeMap::new();
    for (account, totals) in accounts {
        if totals.is_empty() {
            continue;
        }
        let net = totals.debit - totals.credit;
        let (debit, credit) =
            if net >= Decimal::ZERO { (net, Decimal::ZERO) } else { (Decimal::ZERO, -net) };
        columns.entry(company.to_owned()).or_default().add(Totals { debit, credit })?;
        rows.push(TrialBalanceRow {
            account: account.code,
            name: account.name,
            kind: account.kind.as_str(),
            currency: company.to_owned(),
            debit,
            credit,
        });
    }
    rows.sort_by(|a, b| a.account.cmp(&b.account));
    let totals = columns
        .into_iter()
        .map(|(currency, t)| CurrencyTotals {
            currency,
            debit: t.debit,
            credit: t.credit,
            balanced: t.debit == t.credit,
        })
        .collect();
    Ok(TrialBalance { rows, totals })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::ledger::account::AccountType;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn account(code: &str, kind: AccountType) -> Account {
        Account { code: code.into(), name: code.into(), kind, currency: "EUR".into() }
    }

    #[test]
    fn balances_follow_the_normal_side() {
        let totals = Totals { debit: d("100"), credit: d("30") };
        assert_eq!(totals.balance(Side::Debit), d("70"));
        assert_eq!(totals.balance(Side::Credit), d("-70"));
    }

    #[test]
    fn trial_balance_columns_agree() {
        let tb = trial_balance(
            vec![
                (
                    account("4000", AccountType::Income),
                    Totals { debit: d("0"), credit: d("500.25") },
                ),
                (
                    account("1000", AccountType::Asset),
                    Totals { debit: d("800"), credit: d("299.75") },
                ),
                (account("1100", AccountType::Asset), Totals::default()),
            ],
            "EUR",
        )
        .unwrap();
        assert_eq!(tb.rows.len(), 2, "accounts without activity are left out");
        assert_eq!(tb.rows[0].account, "1000");
        assert_eq!(tb.rows[0].debit, d("500.25"));
        assert_eq!(tb.rows[1].credit, d("500.25"));
        assert_eq!(tb.totals.len(), 1);
        assert!(tb.totals[0].balanced);
        assert_eq!(tb.totals[0].debit, d("500.25"));
    }
}
