//! How purchasing is stored and carried out: suppliers, requisitions,
//! orders, receipts (into stock through `keel:erp/stock`) and invoices
//! (matched, then posted through `keel:erp/ledger`).

use keel_sdk::erp::{self, AccountType, GoodsReceipt, Line, Lot, Payable};
use keel_sdk::{Collection, Error, Result, audit, context, next_sequence};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::rules::matching::OrderLine;
use crate::rules::{RuleError, check_code, dates, decimal, money, needs_approval};

pub(crate) const SUPPLIERS: Collection<Supplier> = Collection::new("suppliers");
pub(crate) const REQUISITIONS: Collection<Requisition> = Collection::new("requisitions");
const REORDERS: Collection<serde_json::Value> = Collection::new("reorders");
pub(crate) const ORDERS: Collection<Order> = Collection::new("orders");
pub(crate) const RECEIPTS: Collection<Receipt> = Collection::new("receipts");
pub(crate) const INVOICES: Collection<Invoice> = Collection::new("invoices");
const SETTINGS: Collection<Settings> = Collection::new("settings");

impl From<RuleError> for Error {
    fn from(err: RuleError) -> Self {
        Error::invalid(err.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Supplier {
    pub(crate) code: String,
    pub(crate) name: String,
    /// Days from an invoice's date to its due date.
    #[serde(default = "thirty")]
    pub(crate) payment_terms_days: u32,
}

fn thirty() -> u32 {
    30
}

/// Longest payment terms: ten years.
const PAYMENT_TERMS_DAYS_MAX: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Requisition {
    pub(crate) number: String,
    pub(crate) item: String,
    pub(crate) quantity: Decimal,
    /// `draft`, then `ordered`.
    pub(crate) status: String,
    /// Why it was raised: by whom, or by which reorder event.
    pub(crate) source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) order: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Order {
    pub(crate) number: String,
    pub(crate) supplier: String,
    pub(crate) date: String,
    /// Where its goods are received by default.
    pub(crate) location: String,
    pub(crate) lines: Vec<OrderLine>,
    pub(crate) total: Decimal,
    /// `awaiting-approval`, `approved`, `received` (in full), `closed`
    /// (received and invoiced in full).
    pub(crate) status: String,
    pub(crate) created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) requisitions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReceiptLine {
    pub(crate) item: String,
    pub(crate) quantity: Decimal,
    /// What the stock provider valued it at.
    pub(crate) value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Receipt {
    pub(crate) number: String,
    pub(crate) order: String,
    pub(crate) date: String,
    pub(crate) location: String,
    pub(crate) lines: Vec<ReceiptLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InvoiceLine {
    pub(crate) item: String,
    pub(crate) quantity: Decimal,
    pub(crate) unit_price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Invoice {
    pub(crate) number: String,
    pub(crate) order: String,
    pub(crate) supplier: String,
    /// The supplier's invoice number.
    pub(crate) invoice: String,
    pub(crate) date: String,
    pub(crate) due: String,
    pub(crate) lines: Vec<InvoiceLine>,
    pub(crate) amount: Decimal,
    /// Charged above the order's prices (negative if below).
    pub(crate) variance: Decimal,
    /// The ledger's payable.
    pub(crate) payable: String,
}

/// Thresholds, tolerance and the accounts invoices post to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// Orders above this total need an approver other than their creator.
    pub(crate) approval_threshold: Decimal,
    /// How far an invoiced price may be from the order's, in percent.
    pub(crate) price_tolerance_percent: Decimal,
    pub(crate) currency: String,
    /// Goods received not invoiced: what receipts credited, invoices clear.
    pub(crate) received_account: String,
    /// Differences between invoiced and ordered prices.
    pub(crate) variance_account: String,
    #[serde(default)]
    pub(crate) ensured: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            approval_threshold: Decimal::from(1000),
            price_tolerance_percent: Decimal::from(2),
            currency: "EUR".to_owned(),
            received_account: "2150".to_owned(),
            variance_account: "5100".to_owned(),
            ensured: false,
        }
    }
}

pub(crate) fn settings() -> Result<Settings> {
    Ok(SETTINGS.get("purchasing")?.unwrap_or_default())
}

pub(crate) fn save_settings(mut settings: Settings) -> Result<Settings> {
    if settings.approval_threshold < Decimal::ZERO || settings.approval_threshold.scale() > 4 {
        return Err(Error::invalid(
            "approval_threshold is an amount of at least 0, at most 4 places",
        ));
    }
    let percent = settings.price_tolerance_percent;
    if percent < Decimal::ZERO || percent > Decimal::ONE_HUNDRED || percent.scale() > 4 {
        return Err(Error::invalid("price_tolerance_percent is from 0 to 100, at most 4 places"));
    }
    for account in [&settings.received_account, &settings.variance_account] {
        check_code("account", account)?;
    }
    settings.ensured = false;
    SETTINGS.put("purchasing", &settings)?;
    Ok(settings)
}

/// The settings, with their accounts made sure of in the ledger (once).
fn ledger_settings() -> Result<Settings> {
    let mut settings = settings()?;
    if !settings.ensured {
        let accounts = [
            (&settings.received_account, "Goods received not invoiced", AccountType::Liability),
            (&settings.variance_account, "Purchase price variance", AccountType::Expense),
        ];
        for (code, name, type_) in accounts {
            erp::ledger::ensure_account(&erp::Account {
                code: code.clone(),
                name: name.to_owned(),
                type_,
                currency: settings.currency.clone(),
            })?;
        }
        settings.ensured = true;
        SETTINGS.put("purchasing", &settings)?;
    }
    Ok(settings)
}

fn next_number(prefix: &str, sequence: &str) -> Result<String> {
    Ok(format!("{prefix}-{:06}", next_sequence(sequence)?))
}

fn caller() -> Result<String> {
    context::caller().ok_or_else(|| Error::denied("purchasing needs a signed-in caller"))
}

fn check_date(text: &str) -> Result<()> {
    dates::days(text)?;
    Ok(())
}

fn record(action: &str, collection: &str, key: &str, detail: &str) -> Result<()> {
    audit::record(audit::Event { action, collection: Some(collection), key: Some(key), detail })
}

/// Creates a supplier; 409 if its code exists.
pub(crate) fn create_supplier(supplier: Supplier) -> Result<Supplier> {
    check_code("supplier", &supplier.code)?;
    if supplier.name.trim().is_empty() {
        return Err(Error::invalid("a supplier needs a name"));
    }
    if supplier.payment_terms_days > PAYMENT_TERMS_DAYS_MAX {
        return Err(Error::invalid(format!(
            "payment_terms_days is at most {PAYMENT_TERMS_DAYS_MAX}"
        )));
    }
    if SUPPLIERS.get(&supplier.code)?.is_some() {
        return Err(Error::conflict(format!("supplier {} already exists", supplier.code)));
    }
    SUPPLIERS.insert(&supplier.code, &supplier)?;
    Ok(supplier)
}

/// Raises a draft requisition for an item the stock provider knows.
pub(crate) fn requisition(item: &str, quantity: Decimal, source: String) -> Result<Requisition> {
    if erp::stock::find_item(item)?.is_none() {
        return Err(Error::invalid(format!("item {item} is not in the stock catalogue")));
    }
    let requisition = Requisition {
        number: next_number("RQ", "requisitions")?,
        item: item.to_owned(),
        quantity,
        status: "draft".to_owned(),
        source,
        order: None,
    };
    REQUISITIONS.insert(&requisition.number, &requisition)?;
    Ok(requisition)
}

/// Raises the requisition a reorder event asks for, once per event.
pub(crate) fn reorder(key: &str, item: &str, quantity: Decimal) -> Result<()> {
    if REORDERS.get(key)?.is_some() {
        return Ok(());
    }
    // An event from a provider the tenant has since swapped away from may
    // name an item the current one does not know: nothing to order.
    if erp::stock::find_item(item)?.is_none() {
        keel_sdk::log::warn(&format!(
            "reorder event {key}: item {item} is not in the stock provider's catalogue; no requisition"
        ));
        return REORDERS.insert(key, &serde_json::json!({ "skipped": "unknown item" }));
    }
    let raised = requisition(item, quantity, format!("reorder event {key}"))?;
    REORDERS.insert(key, &serde_json::json!({ "requisition": raised.number }))?;
    Ok(())
}

/// What a client orders.
pub(crate) struct NewOrder {
    pub(crate) supplier: String,
    pub(crate) date: String,
    pub(crate) location: String,
    pub(crate) lines: Vec<(String, String, String)>,
    pub(crate) requisitions: Vec<String>,
}

/// Raises an order: approved at once up to the threshold, awaiting an
/// approver above it. Its requisitions become `ordered`.
pub(crate) fn create_order(new: NewOrder) -> Result<Order> {
    check_date(&new.date)?;
    check_code("location", &new.location)?;
    if SUPPLIERS.get(&new.supplier)?.is_none() {
        return Err(Error::invalid(format!("supplier {} does not exist", new.supplier)));
    }
    if new.lines.is_empty() {
        return Err(Error::invalid("an order needs at least one line"));
    }
    let mut lines: Vec<OrderLine> = Vec::new();
    for (item, quantity, price) in &new.lines {
        if lines.iter().any(|l| &l.item == item) {
            return Err(Error::invalid(format!("item {item} is on the order twice")));
        }
        if erp::stock::find_item(item)?.is_none() {
            return Err(Error::invalid(format!("item {item} is not in the stock catalogue")));
        }
        lines.push(OrderLine {
            item: item.clone(),
            quantity: decimal(quantity, "quantity", true)?,
            unit_price: decimal(price, "unit price", false)?,
            received: Decimal::ZERO,
            invoiced: Decimal::ZERO,
            received_value: Decimal::ZERO,
            cleared: Decimal::ZERO,
        });
    }
    let total = money(lines.iter().map(|l| l.quantity * l.unit_price).sum());
    let settings = settings()?;
    let status = if needs_approval(total, settings.approval_threshold) {
        "awaiting-approval"
    } else {
        "approved"
    };
    let order = Order {
        number: next_number("PO", "orders")?,
        supplier: new.supplier,
        date: new.date,
        location: new.location,
        lines,
        total,
        status: status.to_owned(),
        created_by: caller()?,
        approved_by: None,
        requisitions: new.requisitions,
    };
    for requisition in &order.requisitions {
        let mut raised = REQUISITIONS
            .get(requisition)?
            .ok_or_else(|| Error::invalid(format!("requisition {requisition} does not exist")))?;
        if raised.status != "draft" {
            return Err(Error::conflict(format!(
                "requisition {requisition} is already {}",
                raised.status
            )));
        }
        if !order.lines.iter().any(|line| line.item == raised.item) {
            return Err(Error::invalid(format!(
                "requisition {requisition} is for {}, which is not on the order",
                raised.item
            )));
        }
        raised.status = "ordered".to_owned();
        raised.order = Some(order.number.clone());
        REQUISITIONS.put(requisition, &raised)?;
    }
    ORDERS.insert(&order.number, &order)?;
    let detail = format!(
        "order {} to {} for {}: {}",
        order.number, order.supplier, order.total, order.status
    );
    record("order.created", "orders", &order.number, &detail)?;
    Ok(order)
}

pub(crate) fn order(number: &str) -> Result<Order> {
    ORDERS.get(number)?.ok_or_else(|| Error::not_found(format!("order {number} does not exist")))
}

/// Approves an order awaiting approval. The kernel has already refused
/// its creator (`not_by_creator` in the manifest) and anyone without the
/// approve permission.
pub(crate) fn approve(number: &str) -> Result<Order> {
    let mut order = order(number)?;
    if order.status != "awaiting-approval" {
        return Err(Error::conflict(format!(
            "order {number} is {}, not awaiting approval",
            order.status
        )));
    }
    let approver = caller()?;
    order.status = "approved".to_owned();
    order.approved_by = Some(approver.clone());
    ORDERS.put(number, &order)?;
    record("order.approved", "orders", number, &format!("order {number} approved by {approver}"))?;
    Ok(order)
}

/// What a receipt receives.
pub(crate) struct NewReceipt {
    pub(crate) date: String,
    pub(crate) location: Option<String>,
    pub(crate) lines: Vec<(String, String, Option<Lot>)>,
}

/// Receives goods against an approved order: each line into stock through
/// the tenant's stock provider, at the order's price. Refuses an
/// over-receipt; all or nothing.
pub(crate) fn receive(number: &str, new: NewReceipt) -> Result<Receipt> {
    check_date(&new.date)?;
    let mut order = order(number)?;
    if order.status == "awaiting-approval" {
        return Err(Error::conflict(format!(
            "order {number} is awaiting approval; goods cannot be received yet"
        )));
    }
    let location = new.location.unwrap_or_else(|| order.location.clone());
    check_code("location", &location)?;
    let mut lines = Vec::new();
    for (item, quantity, lot) in new.lines {
        let quantity = decimal(&quantity, "quantity", true)?;
        let line = order
            .lines
            .iter_mut()
            .find(|l| l.item == item)
            .ok_or_else(|| Error::invalid(format!("item {item} is not on order {number}")))?;
        line.receive(quantity)?;
        let valued = erp::stock::receive(&GoodsReceipt {
            item: item.clone(),
            location: location.clone(),
            quantity: quantity.to_string(),
            unit_cost: line.unit_price.to_string(),
            date: new.date.clone(),
            reference: number.to_owned(),
            lot,
        })?;
        line.received_value += decimal(&valued.value, "the stock provider's value", false)?;
        lines.push(ReceiptLine { item, quantity, value: valued.value });
    }
    if lines.is_empty() {
        return Err(Error::invalid("a receipt needs at least one line"));
    }
    if order.lines.iter().all(OrderLine::received_in_full) {
        order.status = "received".to_owned();
    }
    let receipt = Receipt {
        number: next_number("GR", "receipts")?,
        order: number.to_owned(),
        date: new.date,
        location,
        lines,
    };
    RECEIPTS.insert(&receipt.number, &receipt)?;
    ORDERS.put(number, &order)?;
    let received: Vec<String> =
        receipt.lines.iter().map(|l| format!("{} {}", l.quantity, l.item)).collect();
    let detail =
        format!("receipt {} against order {number}: {}", receipt.number, received.join(", "));
    record("goods.received", "receipts", &receipt.number, &detail)?;
    Ok(receipt)
}

/// What a supplier invoices.
pub(crate) struct NewInvoice {
    pub(crate) invoice: String,
    pub(crate) date: String,
    pub(crate) due: Option<String>,
    pub(crate) lines: Vec<(String, String, String)>,
}

/// Matches a supplier invoice to its order and receipts (quantity invoiced
/// at most what was received, price within the tolerance), then records it
/// as a payable through the ledger: goods received not invoiced cleared at
/// the order's prices, any difference to the variance account.
pub(crate) fn invoice(number: &str, new: NewInvoice) -> Result<Invoice> {
    check_date(&new.date)?;
    let mut order = order(number)?;
    let supplier = SUPPLIERS
        .get(&order.supplier)?
        .ok_or_else(|| Error::invalid(format!("supplier {} no longer exists", order.supplier)))?;
    let settings = ledger_settings()?;
    let (mut cleared, mut variance) = (Decimal::ZERO, Decimal::ZERO);
    let mut lines = Vec::new();
    for (item, quantity, price) in new.lines {
        let quantity = decimal(&quantity, "quantity", true)?;
        let unit_price = decimal(&price, "unit price", false)?;
        let line = order
            .lines
            .iter_mut()
            .find(|l| l.item == item)
            .ok_or_else(|| Error::invalid(format!("item {item} is not on order {number}")))?;
        let matched = line.invoice(quantity, unit_price, settings.price_tolerance_percent)?;
        cleared += matched.at_order_price;
        variance += matched.variance;
        lines.push(InvoiceLine { item, quantity, unit_price });
    }
    if lines.is_empty() {
        return Err(Error::invalid("an invoice needs at least one line"));
    }
    let due = match new.due {
        Some(due) => {
            check_date(&due)?;
            due
        }
        None => dates::add_days(&new.date, supplier.payment_terms_days)?,
    };
    let mut ledger_lines = Vec::new();
    if cleared > Decimal::ZERO {
        ledger_lines.push(Line {
            account: settings.received_account.clone(),
            debit: Some(cleared.to_string()),
            credit: None,
        });
    }
    if variance > Decimal::ZERO {
        ledger_lines.push(Line {
            account: settings.variance_account.clone(),
            debit: Some(variance.to_string()),
            credit: None,
        });
    } else if variance < Decimal::ZERO {
        ledger_lines.push(Line {
            account: settings.variance_account.clone(),
            debit: None,
            credit: Some((-variance).to_string()),
        });
    }
    let payable = erp::ledger::record_payable(&Payable {
        supplier: order.supplier.clone(),
        invoice: new.invoice.clone(),
        date: new.date.clone(),
        due: due.clone(),
        memo: format!("order {number}"),
        reference: number.to_owned(),
        lines: ledger_lines,
    })?;
    if order.lines.iter().all(|l| l.received_in_full() && l.invoiced_in_full()) {
        order.status = "closed".to_owned();
    }
    let invoice = Invoice {
        number: next_number("SI", "invoices")?,
        order: number.to_owned(),
        supplier: order.supplier.clone(),
        invoice: new.invoice,
        date: new.date,
        due,
        lines,
        amount: cleared + variance,
        variance,
        payable,
    };
    INVOICES.insert(&invoice.number, &invoice)?;
    ORDERS.put(number, &order)?;
    let detail = format!(
        "invoice {} of {} matched to order {number}: {} (variance {}), payable {}",
        invoice.invoice, invoice.supplier, invoice.amount, invoice.variance, invoice.payable
    );
    record("invoice.matched", "invoices", &invoice.number, &detail)?;
    Ok(invoice)
}
