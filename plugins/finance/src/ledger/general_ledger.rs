//! One account's general ledger: its entries in date order, each with what
//! it moved on the account and the running balance after it, a page at a
//! time. A page resumes after the last entry it showed (`date:number`), and
//! its opening balance is the account's balance up to there, so every page
//! stands on its own.

use keel_values::Date;
use rust_decimal::Decimal;
use serde::Serialize;

use super::RuleError;
use super::account::Side;
use super::entry::Entry;

/// One entry's line in an account's ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LedgerRow {
    /// The entry's date.
    pub date: Date,
    /// The entry's number.
    pub entry: u64,
    /// Its number in its journal, such as `GEN/2026/0001`.
    pub journal_number: String,
    /// The entry's memo.
    pub memo: String,
    /// The entry's reference.
    pub reference: String,
    /// What it debited the account.
    pub debit: Decimal,
    /// What it credited the account.
    pub credit: Decimal,
    /// The account's balance after it, on its normal side.
    pub balance: Decimal,
}

/// Where a page resumes: after entry `number` of `date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub date: Date,
    pub number: u64,
}

impl Cursor {
    /// Reads `YYYY-MM-DD:number`.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let bad = || RuleError::new(format!("cursor {text:?} is not one this report gave"));
        let (date, number) = text.split_once(':').ok_or_else(bad)?;
        Ok(Self {
            date: Date::parse(date).map_err(|_| bad())?,
            number: number.parse().map_err(|_| bad())?,
        })
    }

    /// Writes it back.
    pub fn text(&self) -> String {
        format!("{}:{}", self.date, self.number)
    }
}

/// What `entry` moved on `account`: its debits and credits there.
pub fn moved(entry: &Entry, account: &str) -> (Decimal, Decimal) {
    entry.lines.iter().filter(|l| l.account == account).fold(
        (Decimal::ZERO, Decimal::ZERO),
        |(debit, credit), line| {
            (debit + line.debit.unwrap_or_default(), credit + line.credit.unwrap_or_default())
        },
    )
}

/// The rows of `entries` (in date order) on `account`, whose balance on
/// `side` before them is `opening`; entries that do not touch the account
/// are left out.
pub fn rows(
    entries: &[Entry],
    account: &str,
    side: Side,
    opening: Decimal,
) -> Result<Vec<LedgerRow>, RuleError> {
    let mut balance = opening;
    let mut rows = Vec::new();
    for entry in entries {
        if !entry.lines.iter().any(|l| l.account == account) {
            continue;
        }
        let (debit, credit) = moved(entry, account);
        let change = match side {
            Side::Debit => debit - credit,
            Side::Credit => credit - debit,
        };
        balance = balance
            .checked_add(change)
            .ok_or_else(|| RuleError::new("the ledger's balance overflows"))?;
        rows.push(LedgerRow {
            date: entry.date.clone(),
            entry: entry.number,
            journal_number: entry.journal_number.clone(),
            memo: entry.memo.clone(),
            reference: entry.reference.clone(),
            debit,
            credit,
            balance,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::ledger::entry::Line;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn entry(number: u64, date: &str, lines: &[(&str, Option<&str>, Option<&str>)]) -> Entry {
        Entry {
            number,
            date: Date::parse(date).unwrap(),
            memo: format!("entry {number}"),
            reference: String::new(),
            journal: "GEN".into(),
            journal_number: format!("GEN/2026/{number:04}"),
            period: String::new(),
            reverses: None,
            reversed_by: None,
            source: None,
            currency: "EUR".into(),
            lines: lines
                .iter()
                .map(|(account, debit, credit)| Line {
                    account: (*account).into(),
                    debit: debit.map(d),
                    credit: credit.map(d),
                    foreign: None,
                    cost_centre: None,
                })
                .collect(),
            total: Decimal::ZERO,
            posted_at: 0,
            posted_by: None,
        }
    }

    #[test]
    fn rows_run_the_balance_on_the_accounts_normal_side() {
        let entries = [
            entry(3, "2026-01-05", &[("1100", Some("100"), None), ("3000", None, Some("100"))]),
            entry(1, "2026-01-07", &[("6100", Some("30"), None), ("1100", None, Some("30"))]),
            entry(2, "2026-01-08", &[("6100", Some("5"), None), ("2000", None, Some("5"))]),
            entry(
                4,
                "2026-01-09",
                &[
                    ("1100", Some("1"), None),
                    ("1100", None, Some("0.5")),
                    ("4000", None, Some("0.5")),
                ],
            ),
        ];
        let rows = rows(&entries, "1100", Side::Debit, d("10")).unwrap();
        let seen: Vec<_> = rows.iter().map(|r| (r.entry, r.debit, r.credit, r.balance)).collect();
        assert_eq!(
            seen,
            [
                (3, d("100"), d("0"), d("110")),
                (1, d("0"), d("30"), d("80")),
                (4, d("1"), d("0.5"), d("80.5")),
            ],
            "entry 2 does not touch the bank; entry 4 touches it twice"
        );
        let credit_side = super::rows(&entries, "3000", Side::Credit, Decimal::ZERO).unwrap();
        assert_eq!(credit_side[0].balance, d("100"));
    }

    #[test]
    fn a_cursor_reads_back_what_it_wrote() {
        let cursor = Cursor { date: Date::parse("2026-01-07").unwrap(), number: 12 };
        assert_eq!(Cursor::parse(&cursor.text()).unwrap(), cursor);
        assert!(Cursor::parse("2026-01-07").is_err());
        assert!(Cursor::parse("2026-13-01:1").is_err());
        assert!(Cursor::parse("2026-01-07:x").is_err());
    }
}
