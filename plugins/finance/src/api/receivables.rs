//! Accounts receivable over HTTP: customers, payment terms, and invoices
//! and credit notes from draft to posted. The rules are in
//! `ledger::receivable` and `ledger::terms`; this keeps the records, posts
//! their entries in the sales journal and audits them.

use keel_sdk::{Collection, Error, Range, Request, Response, Result, audit, next_sequence};
use keel_values::Date;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

use crate::api::currencies;
use crate::api::entries;
use crate::books::{self, ACCOUNTS};
use crate::contract::receivables::{CustomerPage, InvoicePage, PaymentTermsList};
use crate::ledger::aging::OpenItem;
use crate::ledger::entry::CheckedEntry;
use crate::ledger::fx::{self, Exposure};
use crate::ledger::journal;
use crate::ledger::receipt::{CheckedReceipt, NewReceipt, Receipt};
use crate::ledger::receivable::{Customer, Due, Invoice, Kind, NewCustomer, NewInvoice, Status};
use crate::ledger::tax::shares;
use crate::ledger::terms::{self, NewTerms, PaymentTerms};

/// Customers, by code.
const CUSTOMERS: Collection<Customer> = Collection::new("customers");
/// The tenant's own payment terms, beside the built-in ones.
const TERMS: Collection<PaymentTerms> = Collection::new("payment-terms");
/// Invoices and credit notes, keyed `CI-000001`, indexed by customer and
/// by status.
pub(crate) const INVOICES: Collection<Invoice> = Collection::new("customer-invoices");

/// Receipts, keyed `RC-000001`.
const RECEIPTS: Collection<Receipt> = Collection::new("receipts");

/// Payment terms every ledger has.
fn built_in_terms() -> Vec<PaymentTerms> {
    [0, 14, 30, 60].into_iter().map(terms::net).collect()
}

/// The payment terms `code`, built in or the tenant's own.
fn payment_terms(code: &str) -> Result<Option<PaymentTerms>> {
    if let Some(terms) = built_in_terms().into_iter().find(|t| t.code == code) {
        return Ok(Some(terms));
    }
    TERMS.get(code)
}

/// `POST /payment-terms`: `{"code","name","lines":[{"percent":"30","days":0},{"days":30}]}`.
pub(crate) fn create_terms(request: &Request) -> Result<Response> {
    let terms = request.json::<NewTerms>()?.check()?;
    if payment_terms(&terms.code)?.is_some() {
        return Err(Error::conflict(format!("payment terms {} already exist", terms.code)));
    }
    TERMS.insert(&terms.code, &terms)?;
    record(
        "payment-terms.created",
        "payment-terms",
        &terms.code,
        &format!("payment terms {} created", terms.code),
    )?;
    Response::created(&terms)
}

/// `GET /payment-terms`: the built-in ones, then the tenant's own.
pub(crate) fn list_terms(_: &Request) -> Result<Response> {
    let mut payment_terms = built_in_terms();
    payment_terms.extend(TERMS.scan_all(&Range::all())?.into_iter().map(|(_, t)| t));
    Response::ok(&PaymentTermsList { payment_terms })
}

/// `POST /customers`
pub(crate) fn create_customer(request: &Request) -> Result<Response> {
    let customer = request.json::<NewCustomer>()?.check()?;
    if payment_terms(&customer.terms)?.is_none() {
        return Err(Error::invalid(format!("payment terms {} do not exist", customer.terms)));
    }
    if ACCOUNTS.get(&customer.account)?.is_none() {
        return Err(Error::invalid(format!("account {} does not exist", customer.account)));
    }
    if CUSTOMERS.get(&customer.code)?.is_some() {
        return Err(Error::conflict(format!("customer {} already exists", customer.code)));
    }
    CUSTOMERS.insert(&customer.code, &customer)?;
    let detail = format!("customer {} ({}) created", customer.code, customer.name);
    record("customer.created", "customers", &customer.code, &detail)?;
    Response::created(&customer)
}

/// `GET /customers?cursor=&limit=`
pub(crate) fn list_customers(request: &Request) -> Result<Response> {
    let page = CUSTOMERS.scan(&Range::all(), request.query("cursor"), request.page_limit()?)?;
    let customers = page.items.into_iter().map(|(_, c)| c).collect();
    Response::ok(&CustomerPage { customers, cursor: page.cursor })
}

/// `GET /customers/{code}`
pub(crate) fn get_customer(request: &Request) -> Result<Response> {
    Response::ok(&customer(request.param("code")?)?)
}

fn customer(code: &str) -> Result<Customer> {
    CUSTOMERS.get(code)?.ok_or_else(|| Error::not_found(format!("customer {code} does not exist")))
}

/// `POST /invoices`: a draft invoice or credit note, posting nothing.
pub(crate) fn create_invoice(request: &Request) -> Result<Response> {
    Response::created(&draft_invoice(request.json()?)?)
}

/// Keeps `new` as a draft: for `POST /invoices` and for other plugins
/// invoicing through `keel:erp/ledger`.
pub(crate) fn draft_invoice(new: NewInvoice) -> Result<Invoice> {
    let (checked, terms) = checked_invoice(new)?;
    let id = format!("CI-{:06}", next_sequence("customer-invoices")?);
    let invoice = Invoice::draft(id, checked, terms, &books::company_currency()?);
    INVOICES.insert(&invoice.id, &invoice)?;
    record("invoice.drafted", "customer-invoices", &invoice.id, &summary(&invoice))?;
    Ok(invoice)
}

/// `PUT /invoices/{id}`: replaces a draft; a posted invoice is refused.
pub(crate) fn update_invoice(request: &Request) -> Result<Response> {
    let existing = invoice(request.param("id")?)?;
    existing.check_draft("edited")?;
    let (checked, terms) = checked_invoice(request.json()?)?;
    let invoice = Invoice::draft(existing.id, checked, terms, &books::company_currency()?);
    INVOICES.put(&invoice.id, &invoice)?;
    record("invoice.edited", "customer-invoices", &invoice.id, &summary(&invoice))?;
    Response::ok(&invoice)
}

/// `DELETE /invoices/{id}`: deletes a draft; a posted invoice is refused.
pub(crate) fn delete_invoice(request: &Request) -> Result<Response> {
    let existing = invoice(request.param("id")?)?;
    existing.check_draft("deleted")?;
    INVOICES.delete(&existing.id)?;
    record("invoice.deleted", "customer-invoices", &existing.id, &summary(&existing))?;
    Response::no_content()
}

/// `POST /invoices/{id}/post`: posts a draft in the sales journal (the
/// total to the customer's receivable account against its lines), numbers
/// it there and sets when it falls due.
pub(crate) fn post_invoice(request: &Request) -> Result<Response> {
    Response::ok(&post_draft(request.param("id")?)?)
}

/// Posts the draft `id`, in a foreign currency at its agreed rate or else
/// the rate of its date.
pub(crate) fn post_draft(id: &str) -> Result<Invoice> {
    let mut invoice = invoice(id)?;
    invoice.check_draft("posted again")?;
    let customer = customer(&invoice.customer)?;
    let terms = payment_terms(&invoice.terms)?
        .ok_or_else(|| Error::invalid(format!("payment terms {} do not exist", invoice.terms)))?;
    let what = match invoice.kind {
        Kind::Invoice => "Invoice",
        Kind::CreditNote => "Credit note",
    };
    let mut checked = CheckedEntry {
        date: invoice.date.clone(),
        memo: format!("{what} {} to {}", invoice.id, customer.name),
        reference: invoice.id.clone(),
        journal: journal::SALES.to_owned(),
        period: None,
        reverses: None,
        source: Some(format!("{} {}", what.to_lowercase(), invoice.id)),
        lines: invoice.posting_lines(&customer.account),
        total: invoice.total,
    };
    let rate = if invoice.currency == books::company_currency()? {
        None
    } else {
        let rate = match invoice.rate {
            Some(rate) => rate,
            None => books::rate_on(&invoice.currency, &invoice.date)?,
        };
        fx::convert_entry(&mut checked, &invoice.currency, rate)?;
        Some(rate)
    };
    let entry = entries::post_checked(checked)?;
    invoice.post(&terms, (entry.journal_number.clone(), entry.number, entry.total), rate)?;
    INVOICES.put(&invoice.id, &invoice)?;
    record("invoice.posted", "customer-invoices", &invoice.id, &summary(&invoice))?;
    Ok(invoice)
}

/// `GET /invoices/{id}`
pub(crate) fn get_invoice(request: &Request) -> Result<Response> {
    Response::ok(&invoice(request.param("id")?)?)
}

/// `GET /invoices?customer=&status=&cursor=&limit=`
pub(crate) fn list_invoices(request: &Request) -> Result<Response> {
    let (cursor, limit) = (request.query("cursor"), request.page_limit()?);
    let status = request.query("status");
    if status.is_some_and(|s| Status::parse(s).is_none()) {
        return Err(Error::bad_request("status is draft, open or paid"));
    }
    let page = match (request.query("customer"), status) {
        (Some(customer), _) => {
            INVOICES.lookup("by-customer", &Range::exactly(customer), cursor, limit)?
        }
        (None, Some(status)) => {
            INVOICES.lookup("by-status", &Range::exactly(status), cursor, limit)?
        }
        (None, None) => INVOICES.scan(&Range::all(), cursor, limit)?,
    };
    let invoices = page
        .items
        .into_iter()
        .map(|(_, i)| i)
        .filter(|i| status.is_none_or(|s| Status::parse(s) == Some(i.status)))
        .collect();
    Response::ok(&InvoicePage { invoices, cursor: page.cursor })
}

/// `POST /receipts`: money received from a customer, applied to its posted
/// invoices and credit notes, with any small difference written off;
/// posted in the bank journal.
pub(crate) fn create_receipt(request: &Request) -> Result<Response> {
    let checked = request.json::<NewReceipt>()?.check()?;
    let customer = customer(&checked.customer)
        .map_err(|_| Error::invalid(format!("customer {} does not exist", checked.customer)))?;
    let mut invoices = Vec::with_capacity(checked.allocations.len());
    for allocation in &checked.allocations {
        invoices.push(INVOICES.get(&allocation.invoice)?.ok_or_else(|| {
            Error::invalid(format!("invoice {} does not exist", allocation.invoice))
        })?);
    }
    let currency = CheckedReceipt::currency_of(&invoices)?;
    let settings = books::settings()?;
    let accounts = settings.difference_accounts();
    let rate = if currency == settings.currency {
        if checked.rate.is_some() {
            return Err(Error::invalid(format!(
                "the invoices are in the company's currency {currency}; a rate is only for a foreign one"
            )));
        }
        None
    } else {
        Some(match checked.rate {
            Some(rate) => rate,
            None => books::rate_on(&currency, &checked.date)?,
        })
    };
    checked.check_against(&invoices, rate.unwrap_or(Decimal::ONE))?;
    check_receipt_accounts(&checked, &customer)?;
    let foreign = rate.map(|rate| (currency.as_str(), rate, &accounts));
    let settlement = checked.settlement(&invoices, &customer.account, foreign)?;
    if !settlement.difference.is_zero() {
        currencies::check_difference_accounts(&accounts)?;
    }
    let id = format!("RC-{:06}", next_sequence("receipts")?);
    let lines = settlement.lines;
    let total = lines.iter().filter_map(|l| l.debit).sum();
    let entry = entries::post_checked(CheckedEntry {
        date: checked.date.clone(),
        memo: format!("Receipt {id} from {}", customer.name),
        reference: id.clone(),
        journal: journal::BANK.to_owned(),
        period: None,
        reverses: None,
        source: Some(format!("receipt {id}")),
        lines,
        total,
    })?;
    for ((allocation, mut invoice), cleared) in
        checked.allocations.iter().zip(invoices).zip(settlement.cleared)
    {
        invoice.settle((&checked.date, &id), allocation.amount, cleared);
        INVOICES.put(&invoice.id, &invoice)?;
    }
    let receipt = Receipt {
        id,
        customer: checked.customer,
        date: checked.date,
        amount: checked.amount,
        account: checked.account,
        allocations: checked.allocations,
        write_off: checked.write_off,
        currency,
        rate,
        exchange_difference: rate.map(|_| settlement.difference),
        journal_entry: entry.number,
        journal_number: entry.journal_number,
    };
    RECEIPTS.insert(&receipt.id, &receipt)?;
    let settled: Vec<String> =
        receipt.allocations.iter().map(|a| format!("{} {}", a.invoice, a.amount)).collect();
    let detail = format!(
        "receipt {} from {}: {} into {}, settling {}{}",
        receipt.id,
        receipt.customer,
        receipt.amount,
        receipt.account,
        settled.join(", "),
        receipt
            .write_off
            .as_ref()
            .map(|w| format!(", {} written off to {}", w.amount, w.account))
            .unwrap_or_default()
    );
    record("receipt.posted", "receipts", &receipt.id, &detail)?;
    Response::created(&receipt)
}

/// A receipt goes into an asset account (a bank, the cash) other than the
/// customer's own, and a write-off to an income or expense account.
fn check_receipt_accounts(
    receipt: &crate::ledger::receipt::CheckedReceipt,
    customer: &Customer,
) -> Result<()> {
    use crate::ledger::account::AccountType;
    let kind = |code: &str| -> Result<AccountType> {
        Ok(ACCOUNTS
            .get(code)?
            .ok_or_else(|| Error::invalid(format!("account {code} does not exist")))?
            .kind)
    };
    if receipt.account == customer.account || kind(&receipt.account)? != AccountType::Asset {
        return Err(Error::invalid(format!(
            "a receipt goes into a bank or cash account; {} is not one",
            receipt.account
        )));
    }
    if let Some(write_off) = &receipt.write_off
        && !matches!(kind(&write_off.account)?, AccountType::Income | AccountType::Expense)
    {
        return Err(Error::invalid(format!(
            "a write-off goes to an income or expense account; {} is not one",
            write_off.account
        )));
    }
    Ok(())
}

/// `GET /receipts/{id}`
pub(crate) fn get_receipt(request: &Request) -> Result<Response> {
    let id = request.param("id")?;
    Response::ok(
        &RECEIPTS
            .get(id)?
            .ok_or_else(|| Error::not_found(format!("receipt {id} does not exist")))?,
    )
}

/// Every open instalment of posted invoices and credit notes, a credit
/// note's as a negative amount: for the aged receivables.
pub(crate) fn open_items() -> Result<Vec<OpenItem>> {
    let mut items = Vec::new();
    for (_, invoice) in INVOICES.lookup_all("by-status", &Range::exactly("open"))? {
        let sign = if invoice.kind == Kind::CreditNote { -Decimal::ONE } else { Decimal::ONE };
        let open: Vec<&Due> = invoice.instalments.iter().filter(|d| !d.open.is_zero()).collect();
        // In the company's currency: what the invoice carries, shared over
        // its open instalments.
        let weights: Vec<Decimal> = open.iter().map(|d| d.open).collect();
        for (due, carried) in open.iter().zip(shares(invoice.carried, &weights)) {
            items.push(OpenItem {
                party: invoice.customer.clone(),
                due: due.due.clone(),
                open: carried * sign,
            });
        }
    }
    Ok(items)
}

/// The invoices and credit notes in a currency other than `company`
/// dated by `date` and open at its end, as the revaluation restates them:
/// those open now, and those paid since by receipts dated after it. One
/// whose account is kept in its currency is revalued with that account.
pub(crate) fn foreign_exposures(company: &str, date: &Date) -> Result<Vec<Exposure>> {
    let mut exposures = Vec::new();
    let mut accounts: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for status in ["open", "paid"] {
        for (_, invoice) in INVOICES.lookup_all("by-status", &Range::exactly(status))? {
            if invoice.currency == company || invoice.date > *date {
                continue;
            }
            let (open, carried) = invoice.open_at(date);
            if open.is_zero() {
                continue;
            }
            let (account, kept_in_currency) = match accounts.get(&invoice.customer) {
                Some(known) => known.clone(),
                None => {
                    let code = customer(&invoice.customer)?.account;
                    let kept = ACCOUNTS.get(&code)?.is_some_and(|a| a.currency != company);
                    accounts.insert(invoice.customer.clone(), (code.clone(), kept));
                    (code, kept)
                }
            };
            if kept_in_currency {
                continue;
            }
            let sign = if invoice.kind == Kind::CreditNote { -Decimal::ONE } else { Decimal::ONE };
            exposures.push(Exposure {
                what: format!("invoice {} ({})", invoice.id, invoice.number),
                account,
                foreign_account: false,
                currency: invoice.currency,
                foreign: open * sign,
                carrying: carried * sign,
            });
        }
    }
    Ok(exposures)
}

/// The invoice the request's body describes, priced and taxed, for an
/// existing customer, and its payment terms (its own or the customer's),
/// which must exist.
fn checked_invoice(new: NewInvoice) -> Result<(crate::ledger::receivable::CheckedInvoice, String)> {
    let rates = crate::api::tax::rates(&new.tax_codes())?;
    let checked = new.check(&rates)?;
    let customer = customer(&checked.customer)
        .map_err(|_| Error::invalid(format!("customer {} does not exist", checked.customer)))?;
    let terms = checked.terms.clone().unwrap_or(customer.terms);
    if payment_terms(&terms)?.is_none() {
        return Err(Error::invalid(format!("payment terms {terms} do not exist")));
    }
    Ok((checked, terms))
}

fn invoice(id: &str) -> Result<Invoice> {
    INVOICES.get(id)?.ok_or_else(|| Error::not_found(format!("invoice {id} does not exist")))
}

fn summary(invoice: &Invoice) -> String {
    let number =
        if invoice.number.is_empty() { String::new() } else { format!(" as {}", invoice.number) };
    format!(
        "{:?} {}{number} to {}: {} on {}, {} lines",
        invoice.kind,
        invoice.id,
        invoice.customer,
        invoice.total,
        invoice.date,
        invoice.lines.len()
    )
}

fn record(action: &'static str, collection: &'static str, key: &str, detail: &str) -> Result<()> {
    audit::record(audit::Event { action, collection: Some(collection), key: Some(key), detail })
}
