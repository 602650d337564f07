//! Journal entries.

use std::collections::HashMap;

use keel_sdk::{Error, Range, Request, Response, Result, audit, context, next_sequence};

use crate::books::{self, ACCOUNTS, ENTRIES, ENTRY_SEQUENCE, PERIODS, entry_key};
use crate::contract::accounts::EntryPage;
use crate::ledger::entry::{CheckedEntry, Entry, NewEntry};
use crate::ledger::fx;
use crate::ledger::journal;
use crate::ledger::period::{self, Kind};
use keel_values::Date;

/// Pages of the index read per list request when filtering by account and
/// date together; the client continues with the cursor.
const FILTER_PAGES_MAX: u32 = 20;

/// `POST /entries`: validates, numbers and stores an entry and adds it to
/// the running totals, all in the call's one transaction.
pub(crate) fn post(request: &Request) -> Result<Response> {
    Response::created(&post_entry(request.json::<NewEntry>()?)?)
}

/// Validates, numbers and stores `new`, adds it to the running totals and
/// records `entry.posted`: for `POST /entries` and for other plugins
/// posting through `keel:erp/ledger`.
pub(crate) fn post_entry(new: NewEntry) -> Result<Entry> {
    post_checked(in_company_currency(new)?)
}

/// Posts `new` for `source`, the record it belongs to, which alone may
/// undo it.
pub(crate) fn post_entry_for(new: NewEntry, source: String) -> Result<Entry> {
    post_checked(CheckedEntry { source: Some(source), ..in_company_currency(new)? })
}

/// `new`, checked and, if written in a foreign currency, converted into
/// the company's at its rate (the one given, or else its date's).
pub(crate) fn in_company_currency(new: NewEntry) -> Result<CheckedEntry> {
    let written = new.written_in()?;
    let mut checked = new.check()?;
    let Some((currency, rate)) = written else {
        return Ok(checked);
    };
    let company = books::company_currency()?;
    if currency == company {
        if rate.is_some() {
            return Err(Error::invalid(format!(
                "{company} is the company's currency; a rate is only for a foreign one"
            )));
        }
        return Ok(checked);
    }
    let rate = match rate {
        Some(rate) => rate,
        None => books::rate_on(&currency, &checked.date)?,
    };
    fx::convert_entry(&mut checked, &currency, rate)?;
    Ok(checked)
}

/// Posts a checked entry: into an open period of an existing journal, on
/// accounts that take its lines' currencies, numbered gaplessly in the ledger and in its
/// journal's fiscal year; a reversal is linked to the entry it reverses.
pub(crate) fn post_checked(checked: CheckedEntry) -> Result<Entry> {
    checked.check_built()?;
    if books::journal(&checked.journal)?.is_none() {
        return Err(Error::invalid(format!(
            "journal {} does not exist; GET /journals lists them",
            checked.journal
        )));
    }
    let period = books::period_of(&checked)?;
    if let Some(period) = &period {
        period.check_posting(&checked.journal)?;
    }
    let mut chart = HashMap::new();
    for code in checked.account_codes() {
        if let Some(account) = ACCOUNTS.get(&code)? {
            chart.insert(code, account);
        }
    }
    let currency = checked.resolve(&chart, &books::company_currency()?)?;
    books::add_to_totals(&checked)?;
    let number = next_sequence(ENTRY_SEQUENCE)?;
    // Without fiscal years, a journal numbers its entries per calendar year.
    let year = period.as_ref().map_or(&checked.date.as_str()[..4], |p| p.year.as_str()).to_owned();
    let in_journal = next_sequence(&journal::sequence(&checked.journal, &year))?;
    let entry = Entry {
        number,
        journal_number: journal::number(&checked.journal, &year, in_journal),
        period: period.map(|p| p.code).unwrap_or_default(),
        date: checked.date,
        memo: checked.memo,
        reference: checked.reference,
        journal: checked.journal,
        reverses: checked.reverses,
        reversed_by: None,
        source: checked.source,
        currency,
        lines: checked.lines,
        total: checked.total,
        posted_at: context::now_seconds(),
        posted_by: context::caller(),
    };
    let key = entry_key(number);
    ENTRIES.insert(&key, &entry)?;
    if let Some(original) = entry.reverses {
        link_reversal(original, number)?;
    }
    let detail = format!(
        "journal entry {number} ({}) posted: {} lines, {} {} on {}{}",
        entry.journal_number,
        entry.lines.len(),
        entry.total,
        entry.currency,
        entry.date.as_str(),
        entry.reverses.map(|n| format!(", reversing entry {n}")).unwrap_or_default()
    );
    audit::record(audit::Event {
        action: "entry.posted",
        collection: Some("entries"),
        key: Some(&key),
        detail: &detail,
    })?;
    Ok(entry)
}

/// Notes on entry `original` that entry `by` reversed it.
fn link_reversal(original: u64, by: u64) -> Result<()> {
    let key = entry_key(original);
    let mut entry = ENTRIES
        .get(&key)?
        .ok_or_else(|| Error::not_found(format!("entry {original} does not exist")))?;
    entry.reversed_by = Some(by);
    ENTRIES.put(&key, &entry)
}

/// What `POST /entries/{number}/reversal` may say.
#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Reversal {
    /// Its date; by default the original's, or the first open date after.
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    memo: Option<String>,
}

/// `POST /entries/{number}/reversal`: posts the entry that undoes entry
/// `number`, linked both ways.
pub(crate) fn reverse(request: &Request) -> Result<Response> {
    let original = requested(request)?;
    let body: Reversal = super::optional_json(request)?;
    let entry = reverse_entry(&original, body.date.as_deref(), body.memo, None)?;
    Response::created(&entry)
}

/// Reverses `original` on `date` (by default its own date, or the first
/// open date after it); a reversal of an entry in an adjustment period
/// stays in that period. `by` is the record undoing its own entry; without
/// one, an entry a record posted is refused.
pub(crate) fn reverse_entry(
    original: &Entry,
    date: Option<&str>,
    memo: Option<String>,
    by: Option<String>,
) -> Result<Entry> {
    let in_adjustment = match original.period.as_str() {
        "" => None,
        code => PERIODS.get(code)?.filter(|p| p.kind == Kind::Adjustment),
    };
    let date = match (date, &in_adjustment) {
        (Some(text), _) => Date::parse(text)?,
        (None, Some(_)) => original.date.clone(),
        (None, None) => {
            let periods = books::periods()?;
            if periods.is_empty() {
                original.date.clone()
            } else {
                period::first_open_on_or_after(&original.date, &original.journal, &periods)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "no period on or after {} is open for journal {}; create or reopen one to reverse entry {}",
                            original.date, original.journal, original.number
                        ))
                    })?
            }
        }
    };
    let mut reversal = match by {
        None => original.reversal(date, memo)?,
        Some(source) => original.undo(date, memo, Some(source))?,
    };
    reversal.period = in_adjustment.map(|p| p.code);
    post_checked(reversal)
}

/// The entry the path parameter `number` names; 404 if there is none.
fn requested(request: &Request) -> Result<Entry> {
    let text = request.param("number")?;
    let number: u64 = text.parse().map_err(|_| {
        Error::bad_request(format!("entry number {text:?} is not a positive integer"))
    })?;
    ENTRIES
        .get(&entry_key(number))?
        .ok_or_else(|| Error::not_found(format!("entry {number} does not exist")))
}

/// `GET /entries/{number}`
pub(crate) fn get(request: &Request) -> Result<Response> {
    Response::ok(&requested(request)?)
}

/// `GET /entries?from=&to=&account=&cursor=&limit=`: by date when filtered
/// by date only, otherwise by number.
pub(crate) fn list(request: &Request) -> Result<Response> {
    let limit = request.page_limit()?;
    let from = super::date_param(request, "from")?;
    let to = super::date_param(request, "to")?;
    let dates =
        Range::between(from.map(|d| d.as_str().to_owned()), to.map(|d| d.as_str().to_owned()));
    let mut cursor = request.query("cursor").map(str::to_owned);
    let Some(account) = request.query("account") else {
        let page = if dates == Range::all() {
            ENTRIES.scan(&Range::all(), cursor.as_deref(), limit)?
        } else {
            ENTRIES.lookup("by-date", &dates, cursor.as_deref(), limit)?
        };
        let entries = page.items.into_iter().map(|(_, e)| e).collect();
        return Response::ok(&EntryPage { entries, cursor: page.cursor });
    };
    // By account, in number order, keeping those within the dates.
    let in_dates = |entry: &Entry| {
        dates.start.as_deref().is_none_or(|s| entry.date.as_str() >= s)
            && dates.end.as_deref().is_none_or(|e| entry.date.as_str() <= e)
    };
    let mut entries = Vec::new();
    for _ in 0..FILTER_PAGES_MAX {
        let want = limit - u32::try_from(entries.len()).unwrap_or(limit);
        let page =
            ENTRIES.lookup("by-account", &Range::exactly(account), cursor.as_deref(), want)?;
        entries.extend(page.items.into_iter().map(|(_, e)| e).filter(in_dates));
        cursor = page.cursor;
        if cursor.is_none() || entries.len() >= limit as usize {
            break;
        }
    }
    Response::ok(&EntryPage { entries, cursor })
}
