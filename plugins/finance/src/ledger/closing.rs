//! Year end: the entries that bring every income and expense account to
//! zero against retained earnings, in the year's adjustment period on its
//! last day. What stays on the balance sheet carries forward as next
//! year's opening balances.

use rust_decimal::Decimal;

use super::RuleError;
use super::account::{Account, AccountType};
use super::balance::Totals;
use super::entry::{CheckedEntry, LINES_MAX, Line};
use super::journal::GENERAL;
use super::period::{FiscalYear, adjustment_code};

/// The entries that close `year`: each income and expense account of
/// `balances` (its totals as of the year's last day) brought to zero, the
/// net going to `retained` (an equity account). None if every one is zero
/// already. Entries hold at most [`LINES_MAX`] lines; a larger chart
/// closes in several.
pub fn closing_entries(
    year: &FiscalYear,
    balances: &[(Account, Totals)],
    retained: &Account,
) -> Result<Vec<CheckedEntry>, RuleError> {
    if retained.kind != AccountType::Equity {
        return Err(RuleError::new(format!(
            "retained earnings account {} is {}, not equity",
            retained.code,
            retained.kind.as_str()
        )));
    }
    let mut lines = Vec::new();
    for (account, totals) in balances {
        if !matches!(account.kind, AccountType::Income | AccountType::Expense) {
            continue;
        }
        let net = totals.debit - totals.credit;
        if net.is_zero() {
            continue;
        }
        if account.currency != retained.currency {
            return Err(RuleError::new(format!(
                "account {} is kept in {} and retained earnings {} in {}; close into a retained earnings account of the same currency",
                account.code, account.currency, retained.code, retained.currency
            )));
        }
        let (debit, credit) =
            if net > Decimal::ZERO { (None, Some(net)) } else { (Some(-net), None) };
        lines.push(Line {
            account: account.code.clone(),
            debit,
            credit,
            foreign: None,
            cost_centre: None,
        });
    }
    let chunks = lines.chunks(LINES_MAX - 1);
    let count = chunks.len();
    chunks.enumerate().map(|(n, chunk)| entry(year, retained, chunk, (n + 1, count))).collect()
}

/// One closing entry of `lines`, balanced against `retained`; the `n`th
/// of `count`.
fn entry(
    year: &FiscalYear,
    retained: &Account,
    lines: &[Line],
    (n, count): (usize, usize),
) -> Result<CheckedEntry, RuleError> {
    let sum = |side: fn(&Line) -> Option<Decimal>| -> Result<Decimal, RuleError> {
        lines.iter().filter_map(side).try_fold(Decimal::ZERO, |a, b| {
            a.checked_add(b).ok_or_else(|| RuleError::new("closing amounts overflow"))
        })
    };
    let (debits, credits) = (sum(|l| l.debit)?, sum(|l| l.credit)?);
    let mut lines = lines.to_vec();
    let net = debits - credits;
    if net > Decimal::ZERO {
        lines.push(Line::credit(&retained.code, net));
    } else if net < Decimal::ZERO {
        lines.push(Line::debit(&retained.code, -net));
    }
    let part = if count > 1 { format!(" ({n} of {count})") } else { String::new() };
    Ok(CheckedEntry {
        date: year.end.clone(),
        memo: format!("Closing of fiscal year {} into {}{part}", year.code, retained.code),
        reference: format!("CLOSE-{}", year.code),
        journal: GENERAL.to_owned(),
        period: Some(adjustment_code(&year.code)),
        reverses: None,
        source: Some(format!("the year-end closing of fiscal year {}", year.code)),
        total: debits.max(credits),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::ledger::period::NewYear;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn account(code: &str, kind: AccountType) -> Account {
        Account { code: code.into(), name: code.into(), kind, currency: "EUR".into() }
    }

    fn year() -> FiscalYear {
        let new =
            NewYear { code: "2026".into(), start: "2026-01-01".into(), end: "2026-12-31".into() };
        new.check(&[]).unwrap().0
    }

    fn totals(debit: &str, credit: &str) -> Totals {
        Totals { debit: d(debit), credit: d(credit) }
    }

    #[test]
    fn a_profit_goes_to_retained_earnings_and_the_balance_sheet_stays() {
        let balances = [
            (account("1000", AccountType::Asset), totals("5000", "1200")),
            (account("4000", AccountType::Income), totals("100", "3100")),
            (account("5000", AccountType::Expense), totals("1200", "0")),
            (account("5100", AccountType::Expense), totals("50", "50")),
        ];
        let retained = account("3200", AccountType::Equity);
        let entries = closing_entries(&year(), &balances, &retained).unwrap();
        assert_eq!(entries.len(), 1);
        let closing = &entries[0];
        assert_eq!(
            (closing.date.as_str(), closing.period.as_deref()),
            ("2026-12-31", Some("2026-ADJ"))
        );
        let lines: Vec<_> =
            closing.lines.iter().map(|l| (l.account.as_str(), l.debit, l.credit)).collect();
        assert_eq!(
            lines,
            [
                ("4000", Some(d("3000")), None),
                ("5000", None, Some(d("1200"))),
                ("3200", None, Some(d("1800"))),
            ],
            "income and expense to zero, the profit credited to retained earnings; asset and zero accounts untouched"
        );
        assert_eq!(closing.total, d("3000"));
    }

    #[test]
    fn a_loss_is_debited_and_nothing_to_close_makes_no_entry() {
        let retained = account("3200", AccountType::Equity);
        let balances = [
            (account("4000", AccountType::Income), totals("0", "100")),
            (account("5000", AccountType::Expense), totals("400", "0")),
        ];
        let closing = &closing_entries(&year(), &balances, &retained).unwrap()[0];
        assert_eq!(closing.lines[2].debit, Some(d("300")));
        let quiet = [(account("4000", AccountType::Income), totals("10", "10"))];
        assert!(closing_entries(&year(), &quiet, &retained).unwrap().is_empty());
    }

    #[test]
    fn a_large_chart_closes_in_balanced_entries_of_at_most_the_line_limit() {
        let retained = account("3200", AccountType::Equity);
        let balances: Vec<_> = (0..LINES_MAX + 10)
            .map(|n| (account(&format!("4{n:04}"), AccountType::Income), totals("0", "1.5")))
            .collect();
        let entries = closing_entries(&year(), &balances, &retained).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(entries[0].memo.ends_with("(1 of 2)"));
        for entry in &entries {
            assert!(entry.lines.len() <= LINES_MAX);
            let debits: Decimal = entry.lines.iter().filter_map(|l| l.debit).sum();
            let credits: Decimal = entry.lines.iter().filter_map(|l| l.credit).sum();
            assert_eq!(debits, credits);
        }
    }

    #[test]
    fn retained_earnings_is_equity_in_the_same_currency() {
        let balances = [(account("4000", AccountType::Income), totals("0", "100"))];
        let not_equity = account("1000", AccountType::Asset);
        let err = closing_entries(&year(), &balances, &not_equity).unwrap_err().0;
        assert!(err.contains("is asset, not equity"), "{err}");
        let mut usd = account("3200", AccountType::Equity);
        usd.currency = "USD".into();
        let err = closing_entries(&year(), &balances, &usd).unwrap_err().0;
        assert!(err.contains("same currency"), "{err}");
    }
}
