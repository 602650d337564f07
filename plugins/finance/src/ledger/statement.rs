//! Financial statements from account totals: the profit and loss account
//! over a date range and the balance sheet at a date, each with an
//! optional comparative column, grouped by account type. They read
//! maintained totals, never journal lines.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::RuleError;
use super::account::{Account, AccountType};
use super::balance::Totals;
use super::entry::Line;

/// One account's line: its balance on its normal side, and the same for
/// the comparative column if there is one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "StatementAccountLine")]
pub struct StatementLine {
    /// The account code.
    pub account: String,
    /// Its name.
    pub name: String,
    /// Its balance (or movement) on its normal side.
    pub amount: Decimal,
    /// The same in the comparative column, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Decimal>,
}

/// The lines of one account type and their total.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Section {
    /// Its accounts, by code.
    pub lines: Vec<StatementLine>,
    /// What they come to.
    pub total: Decimal,
    /// What they come to in the comparative column, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Decimal>,
}

/// Income less expense.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ProfitAndLoss {
    /// The income accounts.
    pub income: Section,
    /// The expense accounts.
    pub expense: Section,
    /// Income less expense: a profit if positive.
    pub net_profit: Decimal,
    /// The same over the comparative range, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_net_profit: Option<Decimal>,
}

/// What is owned against what is owed and the owners' stake.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct BalanceSheet {
    /// The asset accounts.
    pub assets: Section,
    /// The liability accounts.
    pub liabilities: Section,
    /// Equity accounts, and the earnings of years not closed yet.
    pub equity: Section,
    /// Income less expense not yet closed into retained earnings (part of
    /// `equity`'s total).
    pub unclosed_earnings: Decimal,
    /// The same at the comparative date, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_unclosed_earnings: Option<Decimal>,
    /// Liabilities and equity together, which equal the assets.
    pub liabilities_and_equity: Decimal,
    /// The same at the comparative date, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_liabilities_and_equity: Option<Decimal>,
    /// Whether assets equal liabilities and equity, as double entry
    /// guarantees.
    pub balanced: bool,
}

/// A statement's line in one flat list, with its section: what a CSV
/// export or a spreadsheet takes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct FlatRow {
    /// `income` or `expense`; `assets`, `liabilities` or `equity`.
    pub section: &'static str,
    /// The account code; empty for the earnings not yet closed.
    pub account: String,
    /// The account's name.
    pub name: String,
    /// Its amount.
    pub amount: Decimal,
    /// Its amount in the comparative column, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Decimal>,
}

fn flat<'a>(section: &'static str, lines: &'a Section) -> impl Iterator<Item = FlatRow> + 'a {
    lines.lines.iter().map(move |l| FlatRow {
        section,
        account: l.account.clone(),
        name: l.name.clone(),
        amount: l.amount,
        compare: l.compare,
    })
}

impl ProfitAndLoss {
    /// Its lines in one list: income, then expense.
    pub fn rows(&self) -> Vec<FlatRow> {
        flat("income", &self.income).chain(flat("expense", &self.expense)).collect()
    }
}

impl BalanceSheet {
    /// Its lines in one list: assets, liabilities, equity, and the
    /// earnings not yet closed as a line of equity.
    pub fn rows(&self) -> Vec<FlatRow> {
        let mut rows: Vec<FlatRow> = flat("assets", &self.assets)
            .chain(flat("liabilities", &self.liabilities))
            .chain(flat("equity", &self.equity))
            .collect();
        if !self.unclosed_earnings.is_zero()
            || self.compare_unclosed_earnings.is_some_and(|c| !c.is_zero())
        {
            rows.push(FlatRow {
                section: "equity",
                account: String::new(),
                name: "Earnings not yet closed".to_owned(),
                amount: self.unclosed_earnings,
                compare: self.compare_unclosed_earnings,
            });
        }
        rows
    }
}

/// An account's totals in the statement's column, and in the comparative
/// one if asked for.
pub type Row = (Account, Totals, Option<Totals>);

/// The profit and loss account from each account's movement over the
/// range (closing entries left out: see [`movement`]).
pub fn profit_and_loss(rows: &[Row]) -> Result<ProfitAndLoss, RuleError> {
    let compared = rows.iter().any(|(_, _, c)| c.is_some());
    let income = section(rows, AccountType::Income, compared)?;
    let expense = section(rows, AccountType::Expense, compared)?;
    let net = |a: Decimal, b: Decimal| a.checked_sub(b).ok_or_else(overflow);
    Ok(ProfitAndLoss {
        net_profit: net(income.total, expense.total)?,
        compare_net_profit: match (income.compare, expense.compare) {
            (Some(i), Some(e)) => Some(net(i, e)?),
            _ => None,
        },
        income,
        expense,
    })
}

/// The balance sheet from each account's totals up to its date. Income
/// and expense not closed yet show as one line of equity, so that it
/// balances before the year end as after it.
pub fn balance_sheet(rows: &[Row]) -> Result<BalanceSheet, RuleError> {
    let compared = rows.iter().any(|(_, _, c)| c.is_some());
    let assets = section(rows, AccountType::Asset, compared)?;
    let liabilities = section(rows, AccountType::Liability, compared)?;
    let mut equity = section(rows, AccountType::Equity, compared)?;
    let earnings = profit_and_loss(rows)?;
    let add = |a: Decimal, b: Decimal| a.checked_add(b).ok_or_else(overflow);
    equity.total = add(equity.total, earnings.net_profit)?;
    if let (Some(total), Some(net)) = (equity.compare, earnings.compare_net_profit) {
        equity.compare = Some(add(total, net)?);
    }
    let both = add(liabilities.total, equity.total)?;
    let compare_both = match (liabilities.compare, equity.compare) {
        (Some(l), Some(e)) => Some(add(l, e)?),
        _ => None,
    };
    let balanced = both == assets.total && compare_both == assets.compare;
    Ok(BalanceSheet {
        unclosed_earnings: earnings.net_profit,
        compare_unclosed_earnings: earnings.compare_net_profit,
        liabilities_and_equity: both,
        compare_liabilities_and_equity: compare_both,
        balanced,
        assets,
        liabilities,
        equity,
    })
}

/// The lines of accounts of `kind` with anything in either column, by
/// code, and their totals.
fn section(rows: &[Row], kind: AccountType, compared: bool) -> Result<Section, RuleError> {
    let mut section = Section { compare: compared.then_some(Decimal::ZERO), ..Section::default() };
    let side = kind.normal_side();
    let mut lines: Vec<&Row> = rows.iter().filter(|(a, _, _)| a.kind == kind).collect();
    lines.sort_by(|a, b| a.0.code.cmp(&b.0.code));
    for (account, totals, compare) in lines {
        let amount = totals.balance(side);
        let compare = compare.map(|t| t.balance(side));
        if amount.is_zero() && compare.is_none_or(|c| c.is_zero()) {
            continue;
        }
        section.total = section.total.checked_add(amount).ok_or_else(overflow)?;
        if let (Some(total), Some(c)) = (section.compare, compare) {
            section.compare = Some(total.checked_add(c).ok_or_else(overflow)?);
        }
        let (code, name) = (account.code.clone(), account.name.clone());
        section.lines.push(StatementLine { account: code, name, amount, compare });
    }
    Ok(section)
}

/// An account's movement over a range: its totals at the range's end less
/// those before its start, less what closing entries within the range
/// (`closing`) moved, so that a closed year's profit and loss still shows.
pub fn movement(
    until_end: Totals,
    before_start: Totals,
    closing: Totals,
) -> Result<Totals, RuleError> {
    let sub = |a: Decimal, b: Decimal, c: Decimal| {
        a.checked_sub(b).and_then(|d| d.checked_sub(c)).ok_or_else(overflow)
    };
    Ok(Totals {
        debit: sub(until_end.debit, before_start.debit, closing.debit)?,
        credit: sub(until_end.credit, before_start.credit, closing.credit)?,
    })
}

/// What closing entries' `lines` moved on each account.
pub fn closing_totals<'a>(
    lines: impl IntoIterator<Item = &'a Line>,
) -> Result<BTreeMap<String, Totals>, RuleError> {
    let mut moved: BTreeMap<String, Totals> = BTreeMap::new();
    for line in lines {
        let delta = Totals {
            debit: line.debit.unwrap_or_default(),
            credit: line.credit.unwrap_or_default(),
        };
        moved.entry(line.account.clone()).or_default().add(delta)?;
    }
    Ok(moved)
}

/// The currency of a statement: the company's, in which every account's
/// balance is kept (`chosen`, if a client names one, must be it).
pub fn currency_of(company: &str, chosen: Option<&str>) -> Result<String, RuleError> {
    match chosen {
        Some(chosen) if chosen != company => Err(RuleError::new(format!(
            "statements are in the company's currency {company}, not {chosen}; an account kept in another currency shows at its {company} amounts"
        ))),
        _ => Ok(company.to_owned()),
    }
}

fn overflow() -> RuleError {
    RuleError::new("statement amounts overflow")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn account(code: &str, kind: AccountType) -> Account {
        Account { code: code.into(), name: format!("account {code}"), kind, currency: "EUR".into() }
    }

    fn t(debit: &str, credit: &str) -> Totals {
        Totals { debit: d(debit), credit: d(credit) }
    }

    #[test]
    fn profit_is_income_less_expense_by_account() {
        let rows = [
            (account("4000", AccountType::Income), t("100", "8000"), Some(t("0", "5000"))),
            (account("6100", AccountType::Expense), t("1500", "0"), Some(t("1200", "0"))),
            (account("6000", AccountType::Expense), t("2500", "0"), None),
            (account("6900", AccountType::Expense), t("0", "0"), Some(t("0", "0"))),
            (account("1100", AccountType::Asset), t("9000", "0"), None),
        ];
        let pl = profit_and_loss(&rows).unwrap();
        let sections: Vec<&str> = pl.rows().iter().map(|r| r.section).collect();
        assert_eq!(sections, ["income", "expense", "expense"]);
        assert_eq!(
            (pl.income.total, pl.expense.total, pl.net_profit),
            (d("7900"), d("4000"), d("3900"))
        );
        let codes: Vec<&str> = pl.expense.lines.iter().map(|l| l.account.as_str()).collect();
        assert_eq!(codes, ["6000", "6100"], "by code; nothing moved on 6900");
        assert_eq!(pl.compare_net_profit, Some(d("3800")));
        assert_eq!(pl.expense.lines[0].compare, None, "no comparative figure for 6000");
    }

    #[test]
    fn the_balance_sheet_balances_before_and_after_the_year_end() {
        let before = [
            (account("1100", AccountType::Asset), t("10000", "4000"), None),
            (account("1200", AccountType::Asset), t("8000", "0"), None),
            (account("2100", AccountType::Liability), t("0", "1000"), None),
            (account("3000", AccountType::Equity), t("0", "10000"), None),
            (account("4000", AccountType::Income), t("0", "8000"), None),
            (account("6100", AccountType::Expense), t("5000", "0"), None),
        ];
        let sheet = balance_sheet(&before).unwrap();
        assert_eq!(sheet.assets.total, d("14000"));
        let rows = sheet.rows();
        let last = rows.last().unwrap();
        assert_eq!(
            (last.section, last.name.as_str(), last.amount),
            ("equity", "Earnings not yet closed", d("3000"))
        );
        assert_eq!(rows.iter().filter(|r| r.section == "assets").count(), 2);
        assert_eq!(sheet.unclosed_earnings, d("3000"));
        assert_eq!((sheet.equity.total, sheet.liabilities_and_equity), (d("13000"), d("14000")));
        assert!(sheet.balanced);
        let mut after = before.to_vec();
        after[4].1 = t("8000", "8000");
        after[5].1 = t("5000", "5000");
        after.push((account("3100", AccountType::Equity), t("0", "3000"), None));
        let sheet = balance_sheet(&after).unwrap();
        assert_eq!((sheet.unclosed_earnings, sheet.equity.total), (d("0"), d("13000")));
        assert!(sheet.balanced);
    }

    #[test]
    fn a_closed_years_profit_still_shows_over_its_range() {
        let until_end = t("8000", "8000"); // income 4000: 8,000 sold, closed at the year end
        let before_start = t("0", "0");
        let closing = closing_totals(&[Line::debit("4000", d("8000"))]).unwrap();
        let moved = movement(until_end, before_start, closing["4000"]).unwrap();
        assert_eq!(moved.balance(AccountType::Income.normal_side()), d("8000"));
    }

    #[test]
    fn a_statement_is_in_the_company_currency() {
        let err = currency_of("EUR", Some("USD")).unwrap_err().0;
        assert!(err.starts_with("statements are in the company's currency EUR, not USD"), "{err}");
        assert_eq!(currency_of("EUR", Some("EUR")).unwrap(), "EUR");
        assert_eq!(currency_of("EUR", None).unwrap(), "EUR");
    }
}
