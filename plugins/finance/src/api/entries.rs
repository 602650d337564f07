//! Journal entries.

use std::collections::HashMap;

use keel_sdk::{Error, Range, Request, Response, Result, audit, context, next_sequence};

use crate::books::{self, ACCOUNTS, ENTRIES, ENTRY_SEQUENCE, entry_key};
use crate::ledger::entry::{Entry, NewEntry};

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
    let checked = new.check()?;
    let mut chart = HashMap::new();
    for code in checked.account_codes() {
        if let Some(account) = ACCOUNTS.get(&code)? {
            chart.insert(code, account);
        }
    }
    let currency = checked.resolve(&chart)?;
    books::add_to_totals(&checked)?;
    let number = next_sequence(ENTRY_SEQUENCE)?;
    let entry = Entry {
        number,
        date: checked.date,
        memo: checked.memo,
        reference: checked.reference,
        currency,
        lines: checked.lines,
        total: checked.total,
        posted_at: context::now_seconds(),
        posted_by: context::caller(),
    };
    let key = entry_key(number);
    ENTRIES.insert(&key, &entry)?;
    let detail = format!(
        "journal entry {number} posted: {} lines, {} {} on {}",
        entry.lines.len(),
        entry.total,
        entry.currency,
        entry.date.as_str()
    );
    audit::record(audit::Event {
        action: "entry.posted",
        collection: Some("entries"),
        key: Some(&key),
        detail: &detail,
    })?;
    Ok(entry)
}

/// `GET /entries/{number}`
pub(crate) fn get(request: &Request) -> Result<Response> {
    let text = request.param("number")?;
    let number: u64 = text.parse().map_err(|_| {
        Error::bad_request(format!("entry number {text:?} is not a positive integer"))
    })?;
    match ENTRIES.get(&entry_key(number))? {
        Some(entry) => Response::ok(&entry),
        None => Err(Error::not_found(format!("entry {number} does not exist"))),
    }
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
        let entries: Vec<Entry> = page.items.into_iter().map(|(_, e)| e).collect();
        return Response::ok(&serde_json::json!({ "entries": entries, "cursor": page.cursor }));
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
    Response::ok(&serde_json::json!({ "entries": entries, "cursor": cursor }))
}
