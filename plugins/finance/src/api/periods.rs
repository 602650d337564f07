//! Fiscal years and periods: creating a year, closing, reopening and
//! locking its periods, and the year end into retained earnings.

use keel_sdk::{Error, Request, Response, Result, audit};

use crate::api::entries;
use crate::books::{self, ACCOUNTS, ENTRIES, PERIODS, YEARS, entry_key};
use crate::contract::periods::{CloseYear, FiscalYears, Periods, YearWithPeriods};
use crate::ledger::closing;
use crate::ledger::period::{FiscalYear, NewYear, Period, State};

/// `POST /fiscal-years` with `{code, start, end}`: the year and its
/// periods, all open.
pub(crate) fn create_year(request: &Request) -> Result<Response> {
    let (year, periods) = request.json::<NewYear>()?.check(&books::years()?)?;
    for period in &periods {
        PERIODS.insert(&period.code, period)?;
    }
    YEARS.insert(&year.code, &year)?;
    record(
        "fiscal-year.created",
        "fiscal-years",
        &year.code,
        &format!(
            "fiscal year {} created: {} to {}, {} periods",
            year.code,
            year.start,
            year.end,
            periods.len()
        ),
    )?;
    Response::created(&YearWithPeriods { year, periods })
}

/// `GET /fiscal-years`
pub(crate) fn list_years(_: &Request) -> Result<Response> {
    Response::ok(&FiscalYears { fiscal_years: books::years()? })
}

/// `GET /fiscal-years/{code}`: the year with its periods.
pub(crate) fn get_year(request: &Request) -> Result<Response> {
    let year = requested_year(request)?;
    let periods = books::periods_of(&year)?;
    Response::ok(&YearWithPeriods { year, periods })
}

/// `GET /periods?year=`: every period (or one year's), by code.
pub(crate) fn list_periods(request: &Request) -> Result<Response> {
    let mut periods = books::periods()?;
    if let Some(year) = request.query("year") {
        periods.retain(|p| p.year == year);
    }
    Response::ok(&Periods { periods })
}

/// What closing or reopening a period may name.
#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ForJournal {
    /// Only this journal; the whole period if none.
    #[serde(default)]
    journal: Option<String>,
}

/// `POST /periods/{code}/close` with `{journal}` to close one journal only.
pub(crate) fn close_period(request: &Request) -> Result<Response> {
    let body: ForJournal = super::optional_json(request)?;
    let journal = checked_journal(body.journal.as_deref())?;
    change_period(request, "period.closed", |period| period.close(journal))
}

/// `POST /periods/{code}/reopen` with `{journal}` to reopen one journal
/// only: a permission of its own.
pub(crate) fn reopen_period(request: &Request) -> Result<Response> {
    let body: ForJournal = super::optional_json(request)?;
    let journal = checked_journal(body.journal.as_deref())?;
    change_period(request, "period.reopened", |period| period.reopen(journal))
}

/// `POST /periods/{code}/lock`: a closed period, for good.
pub(crate) fn lock_period(request: &Request) -> Result<Response> {
    change_period(request, "period.locked", Period::lock)
}

/// `journal`, which must exist if named.
fn checked_journal(journal: Option<&str>) -> Result<Option<&str>> {
    match journal {
        Some(code) if books::journal(code)?.is_none() => {
            Err(Error::invalid(format!("journal {code} does not exist; GET /journals lists them")))
        }
        journal => Ok(journal),
    }
}

/// Changes the period the path names by `change`, while its year is open.
fn change_period(
    request: &Request,
    action: &'static str,
    change: impl FnOnce(&mut Period) -> std::result::Result<(), keel_values::RuleError>,
) -> Result<Response> {
    let code = request.param("code")?;
    let mut period = PERIODS
        .get(code)?
        .ok_or_else(|| Error::not_found(format!("period {code} does not exist")))?;
    let year = YEARS
        .get(&period.year)?
        .ok_or_else(|| Error::internal(format!("the fiscal year of period {code} is missing")))?;
    year.check_period_change(code)?;
    change(&mut period)?;
    PERIODS.put(code, &period)?;
    let journals = if period.closed_journals.is_empty() {
        String::new()
    } else {
        format!(", closed for {}", period.closed_journals.join(", "))
    };
    let detail = format!("period {code} is {}{journals}", period.state.as_str());
    record(action, "periods", code, &detail)?;
    Response::ok(&period)
}

/// `POST /fiscal-years/{code}/close` with `{retained_earnings}`: every
/// income and expense account brought to zero into retained earnings in
/// the adjustment period, then every period of the year closed. Refused
/// while an earlier year is open.
pub(crate) fn close_year(request: &Request) -> Result<Response> {
    let mut year = requested_year(request)?;
    let body: CloseYear = request.json()?;
    year.check_close(&books::years()?)?;
    let retained = ACCOUNTS.get(&body.retained_earnings)?.ok_or_else(|| {
        Error::invalid(format!("account {} does not exist", body.retained_earnings))
    })?;
    let mut balances = Vec::new();
    for account in books::all_accounts()? {
        let totals = books::totals(&account.code, Some(&year.end))?;
        balances.push((account, totals));
    }
    for closing in closing::closing_entries(&year, &balances, &retained)? {
        year.closing_entries.push(entries::post_checked(closing)?.number);
    }
    let mut periods = books::periods_of(&year)?;
    for period in &mut periods {
        if period.state == State::Open {
            period.close(None)?;
            PERIODS.put(&period.code, period)?;
        }
    }
    year.state = State::Closed;
    YEARS.put(&year.code, &year)?;
    let detail = format!(
        "fiscal year {} closed into {} by entries {:?}",
        year.code, retained.code, year.closing_entries
    );
    record("fiscal-year.closed", "fiscal-years", &year.code, &detail)?;
    Response::ok(&YearWithPeriods { year, periods })
}

/// `POST /fiscal-years/{code}/reopen`: undoes the year end. Its closing
/// entries are reversed in the reopened adjustment period; its months stay
/// closed until reopened one by one. Refused while a later year is closed.
pub(crate) fn reopen_year(request: &Request) -> Result<Response> {
    let mut year = requested_year(request)?;
    year.check_reopen(&books::years()?)?;
    let adjustment = crate::ledger::period::adjustment_code(&year.code);
    let mut period = PERIODS
        .get(&adjustment)?
        .ok_or_else(|| Error::internal(format!("period {adjustment} is missing")))?;
    period.reopen(None)?;
    PERIODS.put(&adjustment, &period)?;
    year.state = State::Open;
    let mut reversals = Vec::new();
    for number in std::mem::take(&mut year.closing_entries) {
        let original = ENTRIES
            .get(&entry_key(number))?
            .ok_or_else(|| Error::internal(format!("closing entry {number} is missing")))?;
        let memo = format!("Reopening of fiscal year {}: reversal of entry {number}", year.code);
        let by = format!("the reopening of fiscal year {}", year.code);
        reversals.push(entries::reverse_entry(&original, None, Some(memo), Some(by))?.number);
    }
    YEARS.put(&year.code, &year)?;
    let detail =
        format!("fiscal year {} reopened; closing reversed by entries {reversals:?}", year.code);
    record("fiscal-year.reopened", "fiscal-years", &year.code, &detail)?;
    let periods = books::periods_of(&year)?;
    Response::ok(&YearWithPeriods { year, periods })
}

/// `POST /fiscal-years/{code}/lock`: a closed year and all its periods,
/// for good.
pub(crate) fn lock_year(request: &Request) -> Result<Response> {
    let mut year = requested_year(request)?;
    year.lock()?;
    let mut periods = books::periods_of(&year)?;
    for period in &mut periods {
        if period.state == State::Closed {
            period.lock()?;
            PERIODS.put(&period.code, period)?;
        }
    }
    YEARS.put(&year.code, &year)?;
    record(
        "fiscal-year.locked",
        "fiscal-years",
        &year.code,
        &format!("fiscal year {} locked", year.code),
    )?;
    Response::ok(&YearWithPeriods { year, periods })
}

/// The year the path parameter `code` names; 404 if there is none.
fn requested_year(request: &Request) -> Result<FiscalYear> {
    let code = request.param("code")?;
    YEARS.get(code)?.ok_or_else(|| Error::not_found(format!("fiscal year {code} does not exist")))
}

fn record(action: &'static str, collection: &'static str, key: &str, detail: &str) -> Result<()> {
    audit::record(audit::Event { action, collection: Some(collection), key: Some(key), detail })
}
