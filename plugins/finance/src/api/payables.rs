//! Accounts payable: supplier invoices as open items, posted to the ledger
//! when recorded, and payments that settle them.

use keel_sdk::{Collection, Error, Range, Request, Response, Result, audit, next_sequence};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::entries;
use crate::books::ACCOUNTS;
use crate::ledger::amount::parse_positive;
use crate::ledger::entry::{NewEntry, NewLine};
use keel_values::Date;

/// Supplier invoices, keyed `AP-000001`.
const PAYABLES: Collection<Payable> = Collection::new("payables");
/// The payable of each supplier's invoice number, keyed `supplier/invoice`.
const INVOICES: Collection<serde_json::Value> = Collection::new("supplier-invoices");

/// The account supplier invoices are credited to until paid.
const PAYABLES_ACCOUNT: &str = "2000";
/// The account payments come out of when the client names none.
const BANK_ACCOUNT: &str = "1100";
/// Longest supplier code or invoice number.
const TEXT_BYTES_MAX: usize = 100;

/// A supplier invoice, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Payable {
    pub(crate) number: String,
    pub(crate) supplier: String,
    pub(crate) invoice: String,
    pub(crate) date: Date,
    pub(crate) due: Date,
    pub(crate) memo: String,
    pub(crate) reference: String,
    pub(crate) currency: String,
    pub(crate) amount: Decimal,
    pub(crate) open: Decimal,
    /// `open` or `paid`.
    pub(crate) status: String,
    pub(crate) journal_entry: u64,
    #[serde(default)]
    pub(crate) payments: Vec<Payment>,
}

/// A payment of a payable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Payment {
    pub(crate) date: Date,
    pub(crate) amount: Decimal,
    pub(crate) account: String,
    pub(crate) journal_entry: u64,
}

/// A supplier invoice as a client or another plugin submits it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPayable {
    pub(crate) supplier: String,
    pub(crate) invoice: String,
    pub(crate) date: String,
    pub(crate) due: String,
    #[serde(default)]
    pub(crate) memo: String,
    #[serde(default)]
    pub(crate) reference: String,
    /// The debit lines; their total is credited to payables.
    pub(crate) lines: Vec<NewLine>,
}

/// Records `new` as an open item and posts it (its lines debited, their
/// total credited to payables), in the call's transaction.
pub(crate) fn record(new: NewPayable) -> Result<Payable> {
    for (what, text) in [("supplier", &new.supplier), ("invoice", &new.invoice)] {
        let trimmed = text.trim() == text.as_str();
        if text.is_empty() || !trimmed || text.len() > TEXT_BYTES_MAX || text.contains('/') {
            return Err(Error::invalid(format!(
                "{what} must be 1 to {TEXT_BYTES_MAX} bytes without '/' or surrounding spaces"
            )));
        }
    }
    let due = Date::parse(&new.due)?;
    if due < Date::parse(&new.date)? {
        return Err(Error::invalid(format!(
            "due date {} is before the invoice date {}",
            new.due, new.date
        )));
    }
    let by_invoice = format!("{}/{}", new.supplier, new.invoice);
    if let Some(existing) = INVOICES.get(&by_invoice)? {
        return Err(Error::conflict(format!(
            "invoice {} of supplier {} is already recorded as {}",
            new.invoice, new.supplier, existing["payable"]
        )));
    }
    // Debits less credits (a price below the order's is a credit) is what
    // is owed, credited to payables.
    let mut total = Decimal::ZERO;
    for line in &new.lines {
        match (&line.debit, &line.credit) {
            (Some(debit), None) => total += parse_positive(debit, "debit")?,
            (None, Some(credit)) => total -= parse_positive(credit, "credit")?,
            _ => return Err(Error::invalid("each line of a payable is a debit or a credit")),
        }
    }
    if total <= Decimal::ZERO {
        return Err(Error::invalid(format!("a payable owes something; its lines come to {total}")));
    }
    let number = format!("AP-{:06}", next_sequence("payables")?);
    let mut lines = new.lines.clone();
    lines.push(NewLine {
        account: PAYABLES_ACCOUNT.to_owned(),
        debit: None,
        credit: Some(serde_json::Value::String(total.to_string())),
    });
    let entry = entries::post_entry(NewEntry {
        date: new.date.clone(),
        memo: format!("Supplier invoice {} from {}: {}", new.invoice, new.supplier, new.memo)
            .trim_end_matches([':', ' '])
            .to_owned(),
        reference: number.clone(),
        lines,
    })?;
    let payable = Payable {
        number: number.clone(),
        supplier: new.supplier,
        invoice: new.invoice,
        date: Date::parse(&new.date)?,
        due,
        memo: new.memo,
        reference: new.reference,
        currency: entry.currency.clone(),
        amount: total,
        open: total,
        status: "open".to_owned(),
        journal_entry: entry.number,
        payments: Vec::new(),
    };
    PAYABLES.insert(&number, &payable)?;
    INVOICES.insert(&by_invoice, &json!({ "payable": number }))?;
    let detail = format!(
        "payable {number}: invoice {} of {}, {total} {} due {}, journal entry {}",
        payable.invoice,
        payable.supplier,
        payable.currency,
        payable.due.as_str(),
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
    if status.is_some_and(|s| s != "open" && s != "paid") {
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
    let open: Decimal = payables.iter().map(|p| p.open).sum();
    Response::ok(&json!({ "payables": payables, "open_total": open, "cursor": page.cursor }))
}

/// `GET /payables/{number}`
pub(crate) fn get(request: &Request) -> Result<Response> {
    let number = request.param("number")?;
    match PAYABLES.get(number)? {
        Some(payable) => Response::ok(&payable),
        None => Err(Error::not_found(format!("payable {number} does not exist"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPayment {
    amount: serde_json::Value,
    date: String,
    #[serde(default)]
    account: Option<String>,
}

/// `POST /payables/{number}/payments`: pays some or all of what is open,
/// out of `account` (the bank, 1100, by default).
pub(crate) fn pay(request: &Request) -> Result<Response> {
    let number = request.param("number")?;
    let mut payable = PAYABLES
        .get(number)?
        .ok_or_else(|| Error::not_found(format!("payable {number} does not exist")))?;
    let body: NewPayment = request.json()?;
    let amount = parse_positive(&body.amount, "amount")?;
    if amount > payable.open {
        return Err(Error::invalid(format!(
            "{number} has {} open; cannot pay {amount}",
            payable.open
        )));
    }
    let account = body.account.unwrap_or_else(|| BANK_ACCOUNT.to_owned());
    if ACCOUNTS.get(&account)?.is_none() {
        return Err(Error::invalid(format!("account {account} does not exist")));
    }
    let text = serde_json::Value::String(amount.to_string());
    let entry = entries::post_entry(NewEntry {
        date: body.date.clone(),
        memo: format!("Payment of {number} to {}", payable.supplier),
        reference: number.to_owned(),
        lines: vec![
            NewLine {
                account: PAYABLES_ACCOUNT.to_owned(),
                debit: Some(text.clone()),
                credit: None,
            },
            NewLine { account: account.clone(), debit: None, credit: Some(text) },
        ],
    })?;
    payable.open -= amount;
    if payable.open.is_zero() {
        payable.status = "paid".to_owned();
    }
    payable.payments.push(Payment {
        date: Date::parse(&body.date)?,
        amount,
        account,
        journal_entry: entry.number,
    });
    PAYABLES.put(number, &payable)?;
    Response::created(&payable)
}
