//! Accounts payable over HTTP and for `record-payable`: the rules are in
//! `ledger::payable`; this keeps the open items, posts their entries and
//! audits them.

use keel_sdk::{Collection, Error, Range, Request, Response, Result, audit, next_sequence};
use rust_decimal::Decimal;
use serde_json::json;

use crate::api::currencies;
use crate::api::entries;
use crate::books::{self, ACCOUNTS};
use crate::contract::payables::{NewPayment, PayablePage};
use crate::ledger::aging::OpenItem;
use crate::ledger::entry::{CheckedEntry, NewEntry};
use crate::ledger::fx::Exposure;
use crate::ledger::journal;
use crate::ledger::payable::{
    BANK_ACCOUNT, NewPayable, PAYABLES_ACCOUNT, Payable, Payment, Status,
};
use keel_values::Date;
use keel_values::decimal;

/// Supplier invoices, keyed `AP-000001`.
pub(crate) const PAYABLES: Collection<Payable> = Collection::new("payables");
/// The payable of each supplier's invoice number, keyed `supplier/invoice`.
const INVOICES: Collection<serde_json::Value> = Collection::new("supplier-invoices");

/// Records `new` as an open item and posts it (its lines debited, their
/// total credited to payables), in the call's transaction.
pub(crate) fn record(new: NewPayable) -> Result<Payable> {
    let checked = new.check()?;
    let by_invoice = format!("{}/{}", checked.new.supplier, checked.new.invoice);
    if let Some(existing) = INVOICES.get(&by_invoice)? {
        return Err(Error::conflict(format!(
            "invoice {} of supplier {} is already recorded as {}",
            checked.new.invoice, checked.new.supplier, existing["payable"]
        )));
    }
    let number = format!("AP-{:06}", next_sequence("payables")?);
    let entry = entries::post_entry_for(
        NewEntry {
            date: checked.date.to_string(),
            memo: checked.memo(),
            reference: number.clone(),
            journal: Some(journal::PURCHASES.to_owned()),
            period: None,
            currency: checked.new.currency.clone(),
            rate: checked.new.rate.clone(),
            lines: checked.lines(),
        },
        format!("payable {number}"),
    )?;
    // Its lines' last credits payables with what is owed.
    let owed = entry.lines.last();
    let carried = owed.and_then(|l| l.credit).unwrap_or_default();
    let rate = owed.and_then(|l| l.foreign.as_ref()).map(|f| f.rate);
    let payable =
        checked.open(number.clone(), (entry.number, entry.currency.clone(), carried), rate);
    PAYABLES.insert(&number, &payable)?;
    INVOICES.insert(&by_invoice, &json!({ "payable": number }))?;
    let detail = format!(
        "payable {number}: invoice {} of {}, {} {} due {}, journal entry {}",
        payable.invoice,
        payable.supplier,
        payable.amount,
        payable.currency,
        payable.due,
        entry.number
    );
    audit::record(audit::Event {
        action: "payable.recorded",
        collection: Some("payables"),
        key: Some(&number),
        detail: &detail,
    })?;
    Ok(payable)
}

/// `POST /payables`
pub(crate) fn create(request: &Request) -> Result<Response> {
    Response::created(&record(request.json()?)?)
}

/// `GET /payables?status=open|paid&supplier=&cursor=&limit=`
pub(crate) fn list(request: &Request) -> Result<Response> {
    let limit = request.page_limit()?;
    let status = request.query("status");
    if status.is_some_and(|s| Status::parse(s).is_none()) {
        return Err(Error::bad_request("status is open or paid"));
    }
    let page = match status {
        Some(status) => {
            PAYABLES.lookup("by-status", &Range::exactly(status), request.query("cursor"), limit)?
        }
        None => PAYABLES.scan(&Range::all(), request.query("cursor"), limit)?,
    };
    let supplier = request.query("supplier");
    let payables: Vec<Payable> = page
        .items
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| supplier.is_none_or(|s| p.supplier == s))
        .collect();
    let open_total: Decimal = payables.iter().map(|p| p.open).sum();
    Response::ok(&PayablePage { payables, open_total, cursor: page.cursor })
}

/// `GET /payables/{number}`
pub(crate) fn get(request: &Request) -> Result<Response> {
    let number = request.param("number")?;
    match PAYABLES.get(number)? {
        Some(payable) => Response::ok(&payable),
        None => Err(Error::not_found(format!("payable {number} does not exist"))),
    }
}

/// `POST /payables/{number}/payments`: pays some or all of what is open,
/// out of `account` (the bank, 1100, by default).
pub(crate) fn pay(request: &Request) -> Result<Response> {
    let number = request.param("number")?;
    let mut payable = PAYABLES
        .get(number)?
        .ok_or_else(|| Error::not_found(format!("payable {number} does not exist")))?;
    let body: NewPayment = request.json()?;
    let account = body.account.unwrap_or_else(|| BANK_ACCOUNT.to_owned());
    let (amount, date) = payable.check_payment(&body.amount, &body.date, &account)?;
    if ACCOUNTS.get(&account)?.is_none() {
        return Err(Error::invalid(format!("account {account} does not exist")));
    }
    let settings = books::settings()?;
    let accounts = settings.difference_accounts();
    let rate = match (payable.currency == settings.currency, &body.rate) {
        (true, None) => None,
        (true, Some(_)) => {
            return Err(Error::invalid(format!(
                "{number} is in the company's currency {}; a rate is only for a foreign one",
                settings.currency
            )));
        }
        (false, Some(text)) => Some(decimal::rate(text, "rate")?),
        (false, None) => Some(books::rate_on(&payable.currency, &date)?),
    };
    let posting = payable.payment(amount, &account, rate.map(|rate| (rate, &accounts)))?;
    if !posting.difference.is_zero() {
        currencies::check_difference_accounts(&accounts)?;
    }
    let total = posting.lines.iter().filter_map(|l| l.debit).sum();
    let entry = entries::post_checked(CheckedEntry {
        date: date.clone(),
        memo: format!("Payment of {number} to {}", payable.supplier),
        reference: number.to_owned(),
        journal: journal::BANK.to_owned(),
        period: None,
        reverses: None,
        source: Some(format!("a payment of payable {number}")),
        lines: posting.lines,
        total,
    })?;
    let payment = Payment {
        date,
        amount,
        account,
        rate,
        cleared: None,
        exchange_difference: rate.map(|_| posting.difference),
        journal_entry: entry.number,
    };
    payable.settle(payment, posting.cleared);
    PAYABLES.put(number, &payable)?;
    Response::created(&payable)
}

/// Every open payable, by supplier and due date: for the aged payables.
pub(crate) fn open_items() -> Result<Vec<OpenItem>> {
    let open = PAYABLES.lookup_all("by-status", &Range::exactly("open"))?;
    Ok(open
        .into_iter()
        .map(|(_, p)| OpenItem { party: p.supplier, due: p.due, open: p.carried })
        .collect())
}

/// The payables in a currency other than `company` dated by `date` and
/// open at its end (paid since by payments dated after it, or not yet), as
/// the revaluation restates them; none when payables are kept in a
/// foreign currency, which is revalued as an account.
pub(crate) fn foreign_exposures(company: &str, date: &Date) -> Result<Vec<Exposure>> {
    if ACCOUNTS.get(PAYABLES_ACCOUNT)?.is_some_and(|a| a.currency != company) {
        return Ok(Vec::new());
    }
    let mut exposures = Vec::new();
    for status in ["open", "paid"] {
        for (_, payable) in PAYABLES.lookup_all("by-status", &Range::exactly(status))? {
            if payable.currency == company || payable.date > *date {
                continue;
            }
            let (open, carried) = payable.open_at(date);
            if open.is_zero() {
                continue;
            }
            exposures.push(Exposure {
                what: format!("payable {}", payable.number),
                account: PAYABLES_ACCOUNT.to_owned(),
                foreign_account: false,
                currency: payable.currency,
                foreign: -open,
                carrying: -carried,
            });
        }
    }
    Ok(exposures)
}
