//! How the ledger is stored: accounts, entries, and running totals per
//! account (all time, per month, per day) updated when an entry is posted,
//! so balances and the trial balance never scan journal lines; fiscal
//! years, their periods (keyed by code: a standard period's is its month,
//! so an entry's period is one read) and the tenant's own journals.

use keel_sdk::{Collection, Range, Result};

use crate::ledger::account::Account;
use crate::ledger::balance::Totals;
use crate::ledger::entry::{CheckedEntry, Entry};
use crate::ledger::fx::{self, Rate};
use crate::ledger::journal::{self, Journal};
use crate::ledger::period::{self, FiscalYear, Period, State};
use crate::ledger::settings::Settings;
use crate::ledger::statement;
use keel_values::Date;

pub(crate) const ACCOUNTS: Collection<Account> = Collection::new("accounts");
pub(crate) const ENTRIES: Collection<Entry> = Collection::new("entries");
/// Running totals in the company's currency, by account code.
const COMPANY: Running = Running {
    all: Collection::new("totals"),
    monthly: Collection::new("monthly"),
    daily: Collection::new("daily"),
};
/// Running totals of lines' foreign amounts, by `code/CUR`.
const FOREIGN: Running = Running {
    all: Collection::new("foreign-totals"),
    monthly: Collection::new("foreign-monthly"),
    daily: Collection::new("foreign-daily"),
};

/// The ledger's settings, under [`SETTINGS_KEY`].
pub(crate) const SETTINGS: Collection<Settings> = Collection::new("settings");
pub(crate) const SETTINGS_KEY: &str = "ledger";
/// Exchange rates, by `CUR/YYYY-MM-DD`.
pub(crate) const RATES: Collection<Rate> = Collection::new("exchange-rates");

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

/// Totals kept as entries post: over all time, per month and per day, so
/// that a balance at any date reads a year of months and a month of days.
struct Running {
    /// By key.
    all: Collection<Totals>,
    /// By `key/YYYY-MM`.
    monthly: Collection<Totals>,
    /// By `key/YYYY-MM-DD`.
    daily: Collection<Totals>,
}

impl Running {
    fn add(&self, key: &str, date: &Date, delta: Totals) -> Result<()> {
        bump(&self.all, key, delta)?;
        bump(&self.monthly, &format!("{key}/{}", date.month()), delta)?;
        bump(&self.daily, &format!("{key}/{}", date.as_str()), delta)
    }

    /// The totals of `key` over all time, or up to and including `as_of`:
    /// whole months before `as_of`'s month, then the days of its month.
    fn totals(&self, key: &str, as_of: Option<&Date>) -> Result<Totals> {
        let Some(date) = as_of else {
            return Ok(self.all.get(key)?.unwrap_or_default());
        };
        let months = Range {
            prefix: Some(format!("{key}/")),
            start: None,
            end: Some(format!("{key}/{}", date.previous_month())),
        };
        let days = Range::between(
            Some(format!("{key}/{}", date.first_of_month())),
            Some(format!("{key}/{}", date.as_str())),
        );
        let mut sum = Totals::default();
        self.monthly.for_each(&months, |_, totals| sum.add(totals).map_err(Into::into))?;
        self.daily.for_each(&days, |_, totals| sum.add(totals).map_err(Into::into))?;
        Ok(sum)
    }
}

/// Adds a posted entry's amounts to the running totals of its accounts,
/// and its foreign amounts to those of its accounts in their currencies.
pub(crate) fn add_to_totals(entry: &CheckedEntry) -> Result<()> {
    for (code, delta) in entry.deltas()? {
        COMPANY.add(&code, &entry.date, delta)?;
    }
    for (key, delta) in entry.foreign_deltas()? {
        FOREIGN.add(&key, &entry.date, delta)?;
    }
    Ok(())
}

fn bump(collection: &Collection<Totals>, key: &str, delta: Totals) -> Result<()> {
    let mut totals = collection.get(key)?.unwrap_or_default();
    totals.add(delta)?;
    collection.put(key, &totals)
}

/// An account's totals in the company's currency over all time, or up to
/// and including `as_of`.
pub(crate) fn totals(code: &str, as_of: Option<&Date>) -> Result<Totals> {
    COMPANY.totals(code, as_of)
}

/// What lines in `currency` moved on an account over all time, or up to
/// and including `as_of`, in that currency.
pub(crate) fn foreign_totals(code: &str, currency: &str, as_of: Option<&Date>) -> Result<Totals> {
    FOREIGN.totals(&format!("{code}/{currency}"), as_of)
}

/// The company's currency: the settings', or else (for a ledger from before
/// settings) the first account's.
pub(crate) fn company_currency() -> Result<String> {
    if let Some(settings) = SETTINGS.get(SETTINGS_KEY)? {
        return Ok(settings.currency);
    }
    match ACCOUNTS.scan(&Range::all(), None, 1)?.items.into_iter().next() {
        Some((_, account)) => Ok(account.currency),
        None => Err(keel_sdk::Error::invalid(
            "the ledger has no company currency yet; load a chart template or PUT /settings",
        )),
    }
}

/// The ledger's settings, as stored or as they stand by default.
pub(crate) fn settings() -> Result<Settings> {
    match SETTINGS.get(SETTINGS_KEY)? {
        Some(settings) => Ok(settings),
        None => Ok(Settings::new(company_currency()?)),
    }
}

/// The rate of `currency` for `date` in the company's currency: the latest
/// of the days up to it (see [`fx::rate_for`]).
pub(crate) fn rate_on(currency: &str, date: &Date) -> Result<rust_decimal::Decimal> {
    let window = Range::between(
        Some(format!("{currency}/{}", fx::window_start(date))),
        Some(format!("{currency}/{date}")),
    );
    let candidates: Vec<Rate> = RATES.scan_all(&window)?.into_iter().map(|(_, r)| r).collect();
    Ok(fx::rate_for(currency, date, &candidates)?)
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
    period_on(&entry.date, entry.period.as_deref())
}

/// The period an entry dated `date` posts into: its month's, or the
/// adjustment period `adjustment` it names; none while the tenant has no
/// fiscal years.
pub(crate) fn period_on(date: &Date, adjustment: Option<&str>) -> Result<Option<Period>> {
    let standard = PERIODS.get(date.month())?;
    let named = match adjustment {
        Some(code) => PERIODS.get(code)?,
        None => None,
    };
    if standard.is_none() && named.is_none() && adjustment.is_none() && !has_years()? {
        return Ok(None);
    }
    let found = period::period_for(date, adjustment, standard.as_ref(), named.as_ref())?;
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
