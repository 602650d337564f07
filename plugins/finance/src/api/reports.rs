//! Balances, the trial balance and the financial statements, from running
//! totals: none of them reads journal lines.

use std::collections::BTreeMap;

use keel_sdk::{Error, Range, Request, Response, Result};
use keel_values::Date;
use rust_decimal::Decimal;

use crate::books::{self, ACCOUNTS};
use crate::contract::accounts::LedgerPage;
use crate::contract::reports::{
    AccountBalance, AgedAnswer, BalanceSheetAnswer, ForeignBalance, Party, ProfitAndLossAnswer,
    TrialBalanceAnswer,
};
use crate::ledger::account::Account;
use crate::ledger::balance::{self, Totals};
use crate::ledger::statement::{self, Row};

/// `GET /accounts/{code}/balance?as_of=YYYY-MM-DD`, in the company's
/// currency, and in its own if it is kept in another.
pub(crate) fn balance(request: &Request) -> Result<Response> {
    let code = request.param("code")?;
    let as_of = super::date_param(request, "as_of")?;
    let Some(account) = ACCOUNTS.get(code)? else {
        return Err(Error::not_found(format!("account {code} does not exist")));
    };
    let totals = books::totals(code, as_of.as_ref())?;
    let side = account.kind.normal_side();
    let company = books::company_currency()?;
    // An account kept in a foreign currency shows its balance in it too.
    let foreign = if account.currency == company {
        None
    } else {
        let foreign = books::foreign_totals(code, &account.currency, as_of.as_ref())?;
        Some(ForeignBalance {
            currency: account.currency,
            debit: foreign.debit,
            credit: foreign.credit,
            balance: foreign.balance(side),
        })
    };
    Response::ok(&AccountBalance {
        account: account.code,
        name: account.name,
        kind: account.kind,
        currency: company,
        as_of,
        debit: totals.debit,
        credit: totals.credit,
        normal_side: side,
        balance: totals.balance(side),
        foreign,
    })
}

/// `GET /reports/trial-balance?as_of=YYYY-MM-DD`
pub(crate) fn trial_balance(request: &Request) -> Result<Response> {
    let as_of = super::date_param(request, "as_of")?;
    let mut rows = Vec::new();
    for account in books::all_accounts()? {
        let totals = books::totals(&account.code, as_of.as_ref())?;
        rows.push((account, totals));
    }
    let report = balance::trial_balance(rows, &books::company_currency()?)?;
    Response::ok(&TrialBalanceAnswer { as_of, rows: report.rows, totals: report.totals })
}

/// `GET /reports/profit-and-loss?from=&to=&compare_from=&compare_to=&currency=`:
/// income and expense over the range (and the comparative one), by account.
/// A closed year's closing entries are left out, so its profit still shows.
pub(crate) fn profit_and_loss(request: &Request) -> Result<Response> {
    let (from, to) = range(request, "from", "to")?
        .ok_or_else(|| Error::bad_request("from=YYYY-MM-DD and to=YYYY-MM-DD are required"))?;
    let compare = range(request, "compare_from", "compare_to")?;
    let (currency, accounts) = accounts_in(request)?;
    let report = profit_and_loss_of(accounts, (&from, &to), compare.as_ref())?;
    let (compare_from, compare_to) = compare.unzip();
    Response::ok(&ProfitAndLossAnswer {
        rows: report.rows(),
        report,
        from,
        to,
        currency,
        compare_from,
        compare_to,
    })
}

/// `GET /reports/balance-sheet?as_of=&compare_as_of=&currency=`: assets,
/// liabilities and equity at the end of a date (today's totals if none).
pub(crate) fn balance_sheet(request: &Request) -> Result<Response> {
    let as_of = super::date_param(request, "as_of")?;
    let compare = super::date_param(request, "compare_as_of")?;
    let (currency, accounts) = accounts_in(request)?;
    let report = balance_sheet_of(accounts, as_of.as_ref(), compare.as_ref())?;
    Response::ok(&BalanceSheetAnswer {
        rows: report.rows(),
        report,
        as_of,
        currency,
        compare_as_of: compare,
    })
}

/// The profit and loss of `accounts` over a range, and a comparative one.
pub(crate) fn profit_and_loss_of(
    accounts: Vec<Account>,
    (from, to): (&Date, &Date),
    compare: Option<&(Date, Date)>,
) -> Result<statement::ProfitAndLoss> {
    let (closing, compare_closing) = (
        books::closing_moves(from, to)?,
        compare.map(|(f, t)| books::closing_moves(f, t)).transpose()?,
    );
    let mut rows: Vec<Row> = Vec::new();
    for account in accounts {
        let current = moved(&account, (from, to), &closing)?;
        let compared = match (compare, &compare_closing) {
            (Some((f, t)), Some(c)) => Some(moved(&account, (f, t), c)?),
            _ => None,
        };
        rows.push((account, current, compared));
    }
    Ok(statement::profit_and_loss(&rows)?)
}

/// The balance sheet of `accounts` at a date (now if none), and at a
/// comparative one.
pub(crate) fn balance_sheet_of(
    accounts: Vec<Account>,
    as_of: Option<&Date>,
    compare: Option<&Date>,
) -> Result<statement::BalanceSheet> {
    let mut rows: Vec<Row> = Vec::new();
    for account in accounts {
        let totals = books::totals(&account.code, as_of)?;
        let compared = compare.map(|d| books::totals(&account.code, Some(d))).transpose()?;
        rows.push((account, totals, compared));
    }
    Ok(statement::balance_sheet(&rows)?)
}

/// The dates `from` and `to` name, both or neither, in order.
pub(super) fn range(request: &Request, from: &str, to: &str) -> Result<Option<(Date, Date)>> {
    match (super::date_param(request, from)?, super::date_param(request, to)?) {
        (Some(start), Some(end)) if start <= end => Ok(Some((start, end))),
        (Some(start), Some(end)) => {
            Err(Error::bad_request(format!("{from}={start} is after {to}={end}")))
        }
        (None, None) => Ok(None),
        _ => Err(Error::bad_request(format!("{from} and {to} go together"))),
    }
}

/// The statement's currency, the company's, and every account.
fn accounts_in(request: &Request) -> Result<(String, Vec<Account>)> {
    let currency = statement::currency_of(&books::company_currency()?, request.query("currency"))?;
    Ok((currency, books::all_accounts()?))
}

/// What moved on `account` from `from` to `to`, closing entries left out.
fn moved(
    account: &Account,
    (from, to): (&Date, &Date),
    closing: &BTreeMap<String, Totals>,
) -> Result<Totals> {
    let until_end = books::totals(&account.code, Some(to))?;
    let before_start = books::totals_before(&account.code, from)?;
    let closed = closing.get(&account.code).copied().unwrap_or_default();
    Ok(statement::movement(until_end, before_start, closed)?)
}

/// `GET /reports/aged-receivables?as_of=`: what each customer owes, by how
/// long past due at `as_of` (today if none). The amounts are what is open
/// now.
pub(crate) fn aged_receivables(request: &Request) -> Result<Response> {
    aged(request, crate::api::receivables::open_items()?, Party::Customer)
}

/// `GET /reports/aged-payables?as_of=`: what each supplier is owed, by how
/// long past due.
pub(crate) fn aged_payables(request: &Request) -> Result<Response> {
    aged(request, crate::api::payables::open_items()?, Party::Supplier)
}

fn aged(
    request: &Request,
    items: Vec<crate::ledger::aging::OpenItem>,
    party: Party,
) -> Result<Response> {
    let as_of = match super::date_param(request, "as_of")? {
        Some(date) => date,
        None => Date::parse(&keel_sdk::context::today())?,
    };
    let report = crate::ledger::aging::aged(&items, &as_of)?;
    Response::ok(&AgedAnswer { as_of, party, rows: report.rows, totals: report.totals })
}

/// Index entries read at most per page of an account's ledger; a page of
/// a rarely used account over a long range may come back short, with a
/// cursor to go on from.
const LEDGER_SCAN_MAX: usize = 5_000;

/// `GET /accounts/{code}/ledger?from=&to=&cursor=&limit=`: the account's
/// entries in date order, each with the running balance after it.
pub(crate) fn account_ledger(request: &Request) -> Result<Response> {
    use crate::ledger::general_ledger::{self, Cursor};
    let code = request.param("code")?;
    let account = ACCOUNTS
        .get(code)?
        .ok_or_else(|| Error::not_found(format!("account {code} does not exist")))?;
    let side = account.kind.normal_side();
    let limit = request.page_limit()? as usize;
    let (from, to) = (super::date_param(request, "from")?, super::date_param(request, "to")?);
    let cursor = request
        .query("cursor")
        .map(Cursor::parse)
        .transpose()
        .map_err(|err| Error::bad_request(err.0))?;
    let start = cursor.as_ref().map(|c| c.date.clone()).or(from.clone());
    let mut opening = match &start {
        Some(date) => books::totals_before(code, date)?.balance(side),
        None => Decimal::ZERO,
    };
    let resumed = |entry: &crate::ledger::entry::Entry| {
        cursor.as_ref().is_some_and(|c| entry.date == c.date && entry.number <= c.number)
    };
    if let Some(c) = &cursor {
        let same_day = books::ENTRIES.lookup_all("by-date", &Range::exactly(c.date.as_str()))?;
        let before: Vec<_> = same_day.into_iter().map(|(_, e)| e).filter(|e| resumed(e)).collect();
        if let Some(last) = general_ledger::rows(&before, code, side, opening)?.last() {
            opening = last.balance;
        }
    }
    let range = Range::between(
        start.as_ref().map(|d| d.as_str().to_owned()),
        to.as_ref().map(|d| d.as_str().to_owned()),
    );
    let (mut picked, mut scanned, mut last, mut page_cursor) = (Vec::new(), 0, None, None);
    let more = 'scan: loop {
        let page = books::ENTRIES.lookup("by-date", &range, page_cursor.as_deref(), 200)?;
        for (_, entry) in page.items {
            if resumed(&entry) {
                continue;
            }
            scanned += 1;
            last = Some(Cursor { date: entry.date.clone(), number: entry.number });
            if entry.lines.iter().any(|l| l.account == code) {
                picked.push(entry);
                if picked.len() >= limit {
                    break 'scan true;
                }
            }
            if scanned >= LEDGER_SCAN_MAX {
                break 'scan true;
            }
        }
        match page.cursor {
            Some(next) => page_cursor = Some(next),
            None => break false,
        }
    };
    let rows = general_ledger::rows(&picked, code, side, opening)?;
    let closing = rows.last().map_or(opening, |r| r.balance);
    Response::ok(&LedgerPage {
        account: account.code,
        name: account.name,
        currency: account.currency,
        from,
        to,
        opening_balance: opening,
        rows,
        closing_balance: closing,
        cursor: if more { last.map(|c| c.text()) } else { None },
    })
}
