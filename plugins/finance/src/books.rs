//! How the ledger is stored: accounts, entries, and running totals per
//! account (all time, per month, per day) updated when an entry is posted,
//! so balances and the trial balance never scan journal lines.

use keel_sdk::{Collection, Range, Result};

use crate::ledger::account::Account;
use crate::ledger::balance::Totals;
use crate::ledger::entry::{CheckedEntry, Entry};
use keel_values::Date;

pub(crate) const ACCOUNTS: Collection<Account> = Collection::new("accounts");
pub(crate) const ENTRIES: Collection<Entry> = Collection::new("entries");
/// All-time totals, by account code.
const TOTALS: Collection<Totals> = Collection::new("totals");
/// Totals by `code/YYYY-MM`.
const MONTHLY: Collection<Totals> = Collection::new("monthly");
/// Totals by `code/YYYY-MM-DD`.
const DAILY: Collection<Totals> = Collection::new("daily");

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

/// Every account of the chart, by code.
pub(crate) fn all_accounts() -> Result<Vec<Account>> {
    let mut accounts = Vec::new();
    ACCOUNTS.for_each(&Range::all(), |_, account| {
        accounts.push(account);
        Ok(())
    })?;
    Ok(accounts)
}
