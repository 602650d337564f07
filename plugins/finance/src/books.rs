//! How the ledger is stored: accounts, entries, and running totals per
//! account (all time, per month, per day) updated when an entry is posted,
//! so balances and the trial balance never scan journal lines; fiscal
//! years, their periods (keyed by code: a standard period's is its month,
//! so an entry's period is one read) and the tenant's own journals.

use keel_sdk::{Collection, Range, Result};

use crate::ledger::account::Account;
use crate::ledger::balance::Totals;
use crate::ledger::entry::{CheckedEntry, Entry};
use crate::ledger::journal::{self, Journal};
use crate::ledger::period::{self, FiscalYear, Period, State};
use crate::ledger::statement;
use keel_values::Date;

pub(crate) const ACCOUNTS: Collection<Account> = Collection::new("accounts");
pub(crate) const ENTRIES: Collection<Entry> = Collection::new("entries");
/// All-time totals, by account code.
const TOTALS: Collection<Totals> = Collection::new("totals");
/// Totals by `code/YYYY-MM`.
const MONTHLY: Collection<Totals> = Collection::new("monthly");
/// Totals by `code/YYYY-MM-DD`.
const DAILY: Collection<Totals> = Collection::new("daily");

/// Fiscal years, by code.
pub(crate) const YEARS: Collection<FiscalYear> = Collection::new("fiscal-years");
/// Periods, by code: `YYYY-MM` for a standard period, `<year>-ADJ`.
pub(crate) const PERIODS: Collection<Period> = Collection::new("periods");
/// The tenant's own journals, beside the built-in ones.
pub(crate) const JOURNALS: Collection<Journal> = Collection::new("journals");

/// The sequence that numbers journal entries.
pub(crate) const ENTRY_SEQUENCE: &str = "entries";

/// Entry keys are zero-padded so that key order is number order.
pub(crate) fn entry_key(number: u64) -> String {
    format!("{number:020}")
}

/// Adds a posted entry's amounts to the running totals of its accounts.
pub(crate) fn add_to_totals(entry: &CheckedEntry) -> Result<()> {
    for (code, delta) in entry.deltas()? {
        bump(&TOTALS, &code, delta)?;
        bump(&MONTHLY, &format!("{code}/{}", entry.date.month()), delta)?;
        bump(&DAILY, &format!("{code}/{}", entry.date.as_str()), delta)?;
    }
    Ok(())
}

fn bump(collection: &Collection<Totals>, key: &str, delta: Totals) -> Result<()> {
    let mut totals = collection.get(key)?.unwrap_or_default();
    totals.add(delta)?;
    collection.put(key, &totals)
}

/// An account's totals over all time, or up to and including `as_of`:
/// whole months before `as_of`'s month, then the days of its month.
pub(crate) fn totals(code: &str, as_of: Option<&Date>) -> Result<Totals> {
    let Some(date) = as_of else {
        return Ok(TOTALS.get(code)?.unwrap_or_default());
    };
    let months = Range {
        prefix: Some(format!("{code}/")),
        start: None,
        end: Some(format!("{code}/{}", date.previous_month())),
    };
    let days = Range::between(
        Some(format!("{code}/{}", date.first_of_month())),
        Some(format!("{code}/{}", date.as_str())),
    );
    let mut sum = Totals::default();
    MONTHLY.for_each(&months, |_, totals| sum.add(totals).map_err(Into::into))?;
    DAILY.for_each(&days, |_, totals| sum.add(totals).map_err(Into::into))?;
    Ok(sum)
}

/// An account's totals up to the day before `date` (nothing before the
/// first day there can be).
pub(crate) fn totals_before(code: &str, date: &Date) -> Result<Totals> {
    match Date::from_days(date.days() - 1) {
        Ok(day_before) => totals(code, Some(&day_before)),
        Err(_) => Ok(Totals::default()),
    }
}

/// What moved on an account from `from` to `to`, both included.
pub(crate) fn moved_between(code: &str, from: &Date, to: &Date) -> Result<Totals> {
    let (until, before) = (totals(code, Some(to))?, totals_before(code, from)?);
    Ok(statement::movement(until, before, Totals::default())?)
}

/// Every account of the chart, by code.
pub(crate) fn all_accounts() -> Result<Vec<Account>> {
    let mut accounts = Vec::new();
    ACCOUNTS.for_each(&Range::all(), |_, account| {
        accounts.push(account);
        Ok(())
    })?;
    Ok(accounts)
}

/// Every fiscal year, by code.
pub(crate) fn years() -> Result<Vec<FiscalYear>> {
    Ok(YEARS.scan_all(&Range::all())?.into_iter().map(|(_, year)| year).collect())
}

/// Every period of every year.
pub(crate) fn periods() -> Result<Vec<Period>> {
    Ok(PERIODS.scan_all(&Range::all())?.into_iter().map(|(_, period)| period).collect())
}

/// The periods of `year`: its months, then its adjustment period.
pub(crate) fn periods_of(year: &FiscalYear) -> Result<Vec<Period>> {
    let months =
        Range::between(Some(year.start.month().to_owned()), Some(year.end.month().to_owned()));
    let mut periods: Vec<Period> = PERIODS
        .scan_all(&months)?
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| p.year == year.code && p.kind == period::Kind::Standard)
        .collect();
    periods.extend(PERIODS.get(&period::adjustment_code(&year.code))?);
    Ok(periods)
}

/// The period `entry` posts into; none while the tenant has no fiscal
/// years (its ledger then has no periods to check).
pub(crate) fn period_of(entry: &CheckedEntry) -> Result<Option<Period>> {
    let standard = PERIODS.get(entry.date.month())?;
    let adjustment = match &entry.period {
        Some(code) => PERIODS.get(code)?,
        None => None,
    };
    if standard.is_none() && adjustment.is_none() && entry.period.is_none() && !has_years()? {
        return Ok(None);
    }
    let found = period::period_for(
        &entry.date,
        entry.period.as_deref(),
        standard.as_ref(),
        adjustment.as_ref(),
    )?;
    Ok(Some(found.clone()))
}

/// Whether the tenant has any fiscal year.
fn has_years() -> Result<bool> {
    Ok(!YEARS.scan(&Range::all(), None, 1)?.items.is_empty())
}

/// The journal `code`, built in or the tenant's own.
pub(crate) fn journal(code: &str) -> Result<Option<Journal>> {
    if let Some(built_in) = journal::built_in().into_iter().find(|j| j.code == code) {
        return Ok(Some(built_in));
    }
    JOURNALS.get(code)
}

/// What the closing entries of years closed with their end from `from` to
/// `to` moved on each account.
pub(crate) fn closing_moves(
    from: &Date,
    to: &Date,
) -> Result<std::collections::BTreeMap<String, Totals>> {
    let mut lines = Vec::new();
    for year in years()? {
        if year.state == State::Open || year.end < *from || year.end > *to {
            continue;
        }
        for number in &year.closing_entries {
            lines.extend(ENTRIES.get(&entry_key(*number))?.into_iter().flat_map(|e| e.lines));
        }
    }
    Ok(statement::closing_totals(&lines)?)
}
