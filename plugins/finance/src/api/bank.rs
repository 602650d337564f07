//! Bank reconciliation over HTTP: statements imported from CSV, their
//! lines matched to the bank account's entries (automatically on import,
//! or by hand), unmatched lines posted to a chosen account, and the
//! reconciled balance against the statement's. The rules are in
//! `ledger::bank`.

use keel_sdk::{Collection, Error, Range, Request, Response, Result, audit, next_sequence};
use keel_values::Date;
use rust_decimal::Decimal;
use serde_json::json;

use crate::api::entries;
use crate::books::{self, ACCOUNTS, ENTRIES, entry_key};
use crate::contract::bank::{MatchLine, Outstanding, PostLine, Reconciliation};
use crate::ledger::account::{Account, AccountType};
use crate::ledger::bank::{
    self, LineStatus, MATCH_DAYS, Movement, NewStatement, SPAN_DAYS, Statement,
};
use crate::ledger::entry::{CheckedEntry, Entry, Line};
use crate::ledger::fx;
use crate::ledger::journal;

/// Statements, keyed `BS-000001`.
const STATEMENTS: Collection<Statement> = Collection::new("bank-statements");
/// The statement line each matched entry is matched to, keyed by the
/// entry's zero-padded number: an entry matches one line at most.
const MATCHES: Collection<serde_json::Value> = Collection::new("bank-matches");
/// The days each statement covers, keyed `account/from/id`: what the
/// overlap check and the reconciliation read, rather than whole statements.
const SPANS: Collection<Span> = Collection::new("bank-statement-spans");

/// The days one statement covers.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Span {
    id: String,
    from: Date,
    to: Date,
}

/// `POST /bank-statements`: imports a CSV statement of a bank account and
/// matches what it can.
pub(crate) fn import(request: &Request) -> Result<Response> {
    let new: NewStatement = request.json()?;
    let id = format!("BS-{:06}", next_sequence("bank-statements")?);
    let mut statement = new.read(id)?;
    let account = ACCOUNTS
        .get(&statement.account)?
        .ok_or_else(|| Error::invalid(format!("account {} does not exist", statement.account)))?;
    if account.kind != AccountType::Asset {
        return Err(Error::invalid(format!(
            "account {} is not a bank account (an asset)",
            account.code
        )));
    }
    if let Some(currency) = &statement.currency
        && *currency != account.currency
    {
        return Err(Error::invalid(format!(
            "the statement is in {currency} but account {} is kept in {}",
            account.code, account.currency
        )));
    }
    if let Some(other) = spans_of(&statement.account)?
        .into_iter()
        .find(|o| o.from <= statement.to && statement.from <= o.to)
    {
        return Err(Error::conflict(format!(
            "statement {} of {} already covers {} to {}; a statement's days are imported once",
            other.id, statement.account, other.from, other.to
        )));
    }
    let kept_in = foreign_currency(&account)?;
    let mut movements = unmatched_movements(
        (&statement.account, kept_in.as_deref()),
        &days_from(&statement.from, -MATCH_DAYS),
        &days_from(&statement.to, MATCH_DAYS),
    )?;
    let mut matched = 0;
    for n in 0..statement.lines.len() {
        let Some(found) = bank::best_match(&statement.lines[n], &movements) else { continue };
        let entry = found.entry;
        movements.retain(|m| m.entry != entry);
        settle(&mut statement, n, LineStatus::Matched { entry })?;
        matched += 1;
    }
    STATEMENTS.insert(&statement.id, &statement)?;
    let span =
        Span { id: statement.id.clone(), from: statement.from.clone(), to: statement.to.clone() };
    SPANS.insert(&format!("{}/{}/{}", statement.account, span.from, span.id), &span)?;
    let detail = format!(
        "statement {} of {}: {} lines from {} to {}, {matched} matched",
        statement.id,
        statement.account,
        statement.lines.len(),
        statement.from,
        statement.to
    );
    record("bank-statement.imported", &statement.id, &detail)?;
    Response::created(&statement)
}

/// `GET /bank-statements/{id}`
pub(crate) fn get(request: &Request) -> Result<Response> {
    Response::ok(&statement(request)?)
}

/// `POST /bank-statements/{id}/lines/{line}/match` with `{"entry": 12}`:
/// matches a line to an entry that moved the bank account by its amount.
pub(crate) fn match_line(request: &Request) -> Result<Response> {
    let mut statement = statement(request)?;
    let n = line_index(request, &statement)?;
    let body: MatchLine = request.json()?;
    let line = &statement.lines[n];
    if line.status != LineStatus::Unmatched {
        return Err(Error::conflict(format!(
            "line {} is already {}",
            line.line,
            describe(&line.status)
        )));
    }
    let entry = ENTRIES
        .get(&entry_key(body.entry))?
        .ok_or_else(|| Error::invalid(format!("entry {} does not exist", body.entry)))?;
    let account = ACCOUNTS
        .get(&statement.account)?
        .ok_or_else(|| Error::internal(format!("account {} is missing", statement.account)))?;
    let moved = moved_on(&entry, &statement.account, foreign_currency(&account)?.as_deref());
    if moved != line.amount {
        return Err(Error::invalid(format!(
            "entry {} moved {} on {} but line {} is {}",
            entry.number, moved, statement.account, line.line, line.amount
        )));
    }
    if let Some(other) = MATCHES.get(&entry_key(entry.number))? {
        return Err(Error::conflict(format!(
            "entry {} is already matched to {other}",
            entry.number
        )));
    }
    settle(&mut statement, n, LineStatus::Matched { entry: entry.number })?;
    STATEMENTS.put(&statement.id, &statement)?;
    let line = statement.lines[n].line;
    record(
        "bank-line.matched",
        &statement.id,
        &format!("line {line} matched to entry {}", entry.number),
    )?;
    Response::ok(&statement.lines[n])
}

/// `DELETE /bank-statements/{id}/lines/{line}/match`: undoes a match (a
/// posted line stays: reverse its entry instead).
pub(crate) fn unmatch_line(request: &Request) -> Result<Response> {
    let mut statement = statement(request)?;
    let n = line_index(request, &statement)?;
    let LineStatus::Matched { entry } = statement.lines[n].status else {
        return Err(Error::conflict(format!(
            "line {} is {}; only a matched line can be unmatched",
            statement.lines[n].line,
            describe(&statement.lines[n].status)
        )));
    };
    MATCHES.delete(&entry_key(entry))?;
    statement.lines[n].status = LineStatus::Unmatched;
    STATEMENTS.put(&statement.id, &statement)?;
    let line = statement.lines[n].line;
    record(
        "bank-line.unmatched",
        &statement.id,
        &format!("line {line} no longer matched to entry {entry}"),
    )?;
    Response::ok(&statement.lines[n])
}

/// `POST /bank-statements/{id}/lines/{line}/post` with `{"account", "memo"}`:
/// posts an unmatched line (a fee, interest) against the chosen account in
/// the bank journal.
pub(crate) fn post_line(request: &Request) -> Result<Response> {
    let mut statement = statement(request)?;
    let n = line_index(request, &statement)?;
    let body: PostLine = request.json()?;
    let line = statement.lines[n].clone();
    if line.amount.is_zero() {
        return Err(Error::invalid(format!(
            "line {} moves nothing; there is nothing to post",
            line.line
        )));
    }
    if body.account == statement.account {
        return Err(Error::invalid(format!(
            "line {} is posted against another account than the bank's own, {}",
            line.line, statement.account
        )));
    }
    if line.status != LineStatus::Unmatched {
        return Err(Error::conflict(format!(
            "line {} is already {}",
            line.line,
            describe(&line.status)
        )));
    }
    let amount = line.amount.abs();
    let (bank_side, other_side) =
        if line.amount > Decimal::ZERO { (true, false) } else { (false, true) };
    let side = |account: &str, debit: bool| Line::side(account, amount, debit);
    let memo = body.memo.unwrap_or_else(|| {
        format!("{} (statement {} line {})", line.description, statement.id, line.line)
    });
    let mut checked = CheckedEntry {
        date: line.date.clone(),
        memo: memo.chars().take(500).collect(),
        reference: line.reference.clone(),
        journal: journal::BANK.to_owned(),
        period: None,
        reverses: None,
        source: Some(format!("bank statement {} line {}", statement.id, line.line)),
        lines: vec![side(&statement.account, bank_side), side(&body.account, other_side)],
        total: amount,
    };
    // A statement of an account kept in a foreign currency is in it.
    let account = ACCOUNTS
        .get(&statement.account)?
        .ok_or_else(|| Error::internal(format!("account {} is missing", statement.account)))?;
    if let Some(currency) = foreign_currency(&account)? {
        let rate = books::rate_on(&currency, &line.date)?;
        fx::convert_entry(&mut checked, &currency, rate)?;
    }
    let entry = entries::post_checked(checked)?;
    settle(&mut statement, n, LineStatus::Posted { entry: entry.number })?;
    STATEMENTS.put(&statement.id, &statement)?;
    record(
        "bank-line.posted",
        &statement.id,
        &format!("line {} posted as entry {}", line.line, entry.number),
    )?;
    Response::ok(&statement.lines[n])
}

/// `GET /bank-statements/{id}/reconciliation`: the statement's closing
/// balance against the ledger's: the ledger balance at the statement's
/// last date, less the ledger's movements of the statement's dates that no
/// line matched, plus the lines not in the ledger, comes to the
/// statement's closing balance when everything is explained.
pub(crate) fn reconciliation(request: &Request) -> Result<Response> {
    let statement = statement(request)?;
    let account = ACCOUNTS
        .get(&statement.account)?
        .ok_or_else(|| Error::internal(format!("account {} is missing", statement.account)))?;
    // In the statement's currency: the account's own.
    let kept_in = foreign_currency(&account)?;
    let totals = match &kept_in {
        Some(currency) => books::foreign_totals(&account.code, currency, Some(&statement.to))?,
        None => books::totals(&statement.account, Some(&statement.to))?,
    };
    let ledger = totals.balance(account.kind.normal_side());
    // Items still outstanding: the account's movements no line matched,
    // back to a quarter before the statement (or the account's first
    // statement, whose opening balance covers what came before).
    let first = spans_of(&statement.account)?.into_iter().map(|o| o.from).min();
    let back = days_from(&statement.from, -SPAN_DAYS);
    let since = first.map_or(back.clone(), |first| first.max(back));
    let outstanding =
        unmatched_movements((&statement.account, kept_in.as_deref()), &since, &statement.to)?;
    let outstanding_total: Decimal = outstanding.iter().map(|m| m.amount).sum();
    let unmatched: Vec<_> =
        statement.lines.iter().filter(|l| l.status == LineStatus::Unmatched).collect();
    let unmatched_total: Decimal = unmatched.iter().map(|l| l.amount).sum();
    let unmatched_lines: Vec<u32> = unmatched.iter().map(|l| l.line).collect();
    // Lines matched to entries dated after the statement: on the
    // statement, not yet in the ledger's balance at its end.
    let mut in_transit = Decimal::ZERO;
    for line in &statement.lines {
        if let LineStatus::Matched { entry } | LineStatus::Posted { entry } = line.status
            && ENTRIES.get(&entry_key(entry))?.is_some_and(|e| e.date > statement.to)
        {
            in_transit += line.amount;
        }
    }
    let reconciled = ledger - outstanding_total + unmatched_total + in_transit;
    Response::ok(&Reconciliation {
        statement: statement.id,
        account: statement.account,
        to: statement.to,
        ledger_balance: ledger,
        outstanding_entries: outstanding
            .into_iter()
            .map(|m| Outstanding { entry: m.entry, date: m.date, amount: m.amount })
            .collect(),
        outstanding_total,
        reconciled: unmatched_lines.is_empty() && statement.closing_balance == reconciled,
        unmatched_lines,
        unmatched_total,
        matched_after_statement: in_transit,
        reconciled_balance: reconciled,
        statement_balance: statement.closing_balance,
        difference: statement.closing_balance - reconciled,
    })
}

/// Sets line `n`'s status, noting the entry it is matched to.
fn settle(statement: &mut Statement, n: usize, status: LineStatus) -> Result<()> {
    let (LineStatus::Matched { entry } | LineStatus::Posted { entry }) = status else {
        return Ok(());
    };
    let line = statement.lines[n].line;
    MATCHES.insert(&entry_key(entry), &json!({ "statement": statement.id, "line": line }))?;
    statement.lines[n].status = status;
    Ok(())
}

/// The days every statement of `account` covers, earliest first.
fn spans_of(account: &str) -> Result<Vec<Span>> {
    let spans = SPANS.scan_all(&Range::prefix(format!("{account}/")))?;
    Ok(spans.into_iter().map(|(_, span)| span).collect())
}

/// `date` moved by `days`, or itself at the ends of the calendar.
fn days_from(date: &Date, days: i64) -> Date {
    Date::from_days(date.days() + days).unwrap_or_else(|_| date.clone())
}

/// The currency `account` is kept in, if not the company's: its
/// statements and their amounts are in it.
fn foreign_currency(account: &Account) -> Result<Option<String>> {
    let company = books::company_currency()?;
    Ok((account.currency != company).then(|| account.currency.clone()))
}

/// `account`'s movements (in the currency it is kept in, if foreign), by
/// entry, dated from `from` to `to`, that no statement line matches yet.
fn unmatched_movements(
    (account, kept_in): (&str, Option<&str>),
    from: &Date,
    to: &Date,
) -> Result<Vec<Movement>> {
    let window = Range::between(Some(from.as_str().to_owned()), Some(to.as_str().to_owned()));
    let mut movements = Vec::new();
    for (key, entry) in ENTRIES.lookup_all("by-date", &window)? {
        if !entry.lines.iter().any(|l| l.account == account) || MATCHES.get(&key)?.is_some() {
            continue;
        }
        let amount = moved_on(&entry, account, kept_in);
        let references = vec![entry.reference.clone(), entry.journal_number.clone()];
        movements.push(Movement {
            entry: entry.number,
            date: entry.date.clone(),
            references,
            amount,
        });
    }
    Ok(movements)
}

/// What `entry` moved on `account`, debits less credits: in the currency
/// it is kept in (`kept_in`), or else the company's.
fn moved_on(entry: &Entry, account: &str, kept_in: Option<&str>) -> Decimal {
    let signed = |line: &Line, amount: Decimal| if line.debit.is_some() { amount } else { -amount };
    entry
        .lines
        .iter()
        .filter(|l| l.account == account)
        .map(|l| match (kept_in, &l.foreign) {
            (None, _) => signed(l, l.amount()),
            (Some(currency), Some(f)) if f.currency == currency => signed(l, f.amount),
            (Some(_), _) => Decimal::ZERO,
        })
        .sum()
}

fn statement(request: &Request) -> Result<Statement> {
    let id = request.param("id")?;
    STATEMENTS
        .get(id)?
        .ok_or_else(|| Error::not_found(format!("bank statement {id} does not exist")))
}

/// The index of the line the path parameter `line` names.
fn line_index(request: &Request, statement: &Statement) -> Result<usize> {
    let text = request.param("line")?;
    let n: usize =
        text.parse().map_err(|_| Error::bad_request(format!("line {text:?} is not a number")))?;
    if n == 0 || n > statement.lines.len() {
        return Err(Error::not_found(format!("statement {} has no line {n}", statement.id)));
    }
    Ok(n - 1)
}

fn describe(status: &LineStatus) -> String {
    match status {
        LineStatus::Unmatched => "unmatched".to_owned(),
        LineStatus::Matched { entry } => format!("matched to entry {entry}"),
        LineStatus::Posted { entry } => format!("posted as entry {entry}"),
    }
}

fn record(action: &'static str, key: &str, detail: &str) -> Result<()> {
    audit::record(audit::Event {
        action,
        collection: Some("bank-statements"),
        key: Some(key),
        detail,
    })
}
