//! How purchasing is stored and carried out: suppliers, requisitions,
//! orders, receipts (into stock through `keel:erp/stock`) and invoices
//! (matched, then posted through `keel:erp/ledger`).

use keel_sdk::erp::{self, AccountType, GoodsReceipt, Line, Lot, Payable};
use keel_sdk::{Collection, Error, Result, audit, context, events, next_sequence};
use keel_values::Date;
use keel_values::code::check_code;
use keel_values::decimal::{self, Sign};
use rust_decimal::Decimal;

pub(crate) use crate::rules::documents::{
    Invoice, NewInvoice, NewOrder, Order, Receipt, ReceiptLine, Requisition, Supplier,
};
use crate::rules::order::{self, RequisitionStatus, Status};
use crate::rules::posting::{self, Side};
pub(crate) use crate::rules::settings::Settings;

pub(crate) const SUPPLIERS: Collection<Supplier> = Collection::new("suppliers");
pub(crate) const REQUISITIONS: Collection<Requisition> = Collection::new("requisitions");
const REORDERS: Collection<serde_json::Value> = Collection::new("reorders");
pub(crate) const ORDERS: Collection<Order> = Collection::new("orders");
pub(crate) const RECEIPTS: Collection<Receipt> = Collection::new("receipts");
pub(crate) const INVOICES: Collection<Invoice> = Collection::new("invoices");
/// Published for each goods receipt, keyed by its number.
const GOODS_RECEIVED: &str = "procurement.goods-received";
const SETTINGS: Collection<Settings> = Collection::new("settings");

pub(crate) fn settings() -> Result<Settings> {
    Ok(SETTINGS.get("purchasing")?.unwrap_or_default())
}

pub(crate) fn save_settings(mut settings: Settings) -> Result<Settings> {
    settings.check()?;
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

fn record(action: &str, collection: &str, key: &str, detail: &str) -> Result<()> {
    audit::record(audit::Event { action, collection: Some(collection), key: Some(key), detail })
}

/// Creates a supplier; 409 if its code exists.
pub(crate) fn create_supplier(supplier: Supplier) -> Result<Supplier> {
    supplier.check()?;
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
        status: RequisitionStatus::Draft,
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

/// Raises an order: approved at once up to the threshold, awaiting an
/// approver above it. Its requisitions become `ordered`.
pub(crate) fn create_order(new: NewOrder) -> Result<Order> {
    let date = Date::parse(&new.date)?;
    check_code("location", &new.location)?;
    if SUPPLIERS.get(&new.supplier)?.is_none() {
        return Err(Error::invalid(format!("supplier {} does not exist", new.supplier)));
    }
    let (lines, total) = order::order_lines(new.lines)?;
    for line in &lines {
        if erp::stock::find_item(&line.item)?.is_none() {
            return Err(Error::invalid(format!(
                "item {} is not in the stock catalogue",
                line.item
            )));
        }
    }
    let order = Order {
        number: next_number("PO", "orders")?,
        supplier: new.supplier,
        date,
        location: new.location,
        lines,
        total,
        status: Status::raised(total, settings()?.approval_threshold),
        created_by: caller()?,
        approved_by: None,
        requisitions: new.requisitions,
    };
    for requisition in &order.requisitions {
        let mut raised = REQUISITIONS
            .get(requisition)?
            .ok_or_else(|| Error::invalid(format!("requisition {requisition} does not exist")))?;
        raised.status = raised.status.order(requisition).map_err(|err| Error::conflict(err.0))?;
        if !order.lines.iter().any(|line| line.item == raised.item) {
            return Err(Error::invalid(format!(
                "requisition {requisition} is for {}, which is not on the order",
                raised.item
            )));
        }
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
    order.status = order.status.approve(number).map_err(|err| Error::conflict(err.0))?;
    let approver = caller()?;
    order.approved_by = Some(approver.clone());
    ORDERS.put(number, &order)?;
    record("order.approved", "orders", number, &format!("order {number} approved by {approver}"))?;
    Ok(order)
}

/// What a receipt receives.
pub(crate) struct NewReceipt {
    pub(crate) date: String,
    pub(crate) location: Option<String>,
    pub(crate) lines: Vec<ReceivedLine>,
}

/// Units of an item received, in a lot for providers that track them.
pub(crate) struct ReceivedLine {
    pub(crate) item: String,
    pub(crate) quantity: Decimal,
    pub(crate) lot: Option<Lot>,
}

/// Receives goods against an approved order: each line into stock through
/// the tenant's stock provider, at the order's price. Refuses an
/// over-receipt; all or nothing.
pub(crate) fn receive(number: &str, new: NewReceipt) -> Result<Receipt> {
    let date = Date::parse(&new.date)?;
    let mut order = order(number)?;
    order.status.check_receivable(number).map_err(|err| Error::conflict(err.0))?;
    let location = new.location.unwrap_or_else(|| order.location.clone());
    check_code("location", &location)?;
    if new.lines.is_empty() {
        return Err(Error::invalid("a receipt needs at least one line"));
    }
    let mut lines = Vec::new();
    for ReceivedLine { item, quantity, lot } in new.lines {
        let line = order::line_mut(&mut order.lines, &item, number)?;
        line.receive(quantity)?;
        let valued = erp::stock::receive(&GoodsReceipt {
            item: item.clone(),
            location: location.clone(),
            quantity: quantity.to_string(),
            unit_cost: line.unit_price.to_string(),
            date: date.to_string(),
            reference: number.to_owned(),
            lot,
        })?;
        let value =
            decimal::amount(&valued.value, "the stock provider's value", Sign::NonNegative)?;
        line.received_value += value;
        lines.push(ReceiptLine { item, quantity, value: valued.value });
    }
    order.status = order.status.after(&order.lines);
    let receipt = Receipt {
        number: next_number("GR", "receipts")?,
        order: number.to_owned(),
        date,
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
    // For whoever keeps what was bought: the service desk registers assets.
    let published = serde_json::json!({
        "receipt": receipt.number,
        "order": number,
        "supplier": order.supplier,
        "date": receipt.date,
        "location": receipt.location,
        "lines": receipt.lines,
    });
    events::publish(GOODS_RECEIVED, &receipt.number, &published)?;
    Ok(receipt)
}

/// Matches a supplier invoice to its order and receipts (quantity invoiced
/// at most what was received, price within the tolerance), then records it
/// as a payable through the ledger: goods received not invoiced cleared at
/// the order's prices, any difference to the variance account.
pub(crate) fn invoice(number: &str, new: NewInvoice) -> Result<Invoice> {
    let date = Date::parse(&new.date)?;
    let mut order = order(number)?;
    let supplier = SUPPLIERS
        .get(&order.supplier)?
        .ok_or_else(|| Error::invalid(format!("supplier {} no longer exists", order.supplier)))?;
    let settings = ledger_settings()?;
    let billed = order::match_invoice(
        &mut order.lines,
        &new.lines,
        settings.price_tolerance_percent,
        number,
    )?;
    let due = match new.due {
        Some(due) => Date::parse(&due)?,
        None => date.add_days(supplier.payment_terms_days)?,
    };
    let postings =
        posting::invoice_postings(billed, &settings.received_account, &settings.variance_account);
    let ledger_lines = postings
        .into_iter()
        .map(|p| {
            let amount = Some(p.amount.to_string());
            match p.side {
                Side::Debit => {
                    Line { account: p.account, debit: amount, credit: None, cost_centre: None }
                }
                Side::Credit => {
                    Line { account: p.account, debit: None, credit: amount, cost_centre: None }
                }
            }
        })
        .collect();
    let payable = erp::ledger::record_payable(&Payable {
        supplier: order.supplier.clone(),
        invoice: new.invoice.clone(),
        date: date.to_string(),
        due: due.to_string(),
        memo: format!("order {number}"),
        reference: number.to_owned(),
        lines: ledger_lines,
        currency: None,
        rate: None,
    })?;
    order.status = order.status.after(&order.lines);
    let invoice = Invoice {
        number: next_number("SI", "invoices")?,
        order: number.to_owned(),
        supplier: order.supplier.clone(),
        invoice: new.invoice,
        date,
        due,
        lines: new.lines,
        amount: billed.amount(),
        variance: billed.variance,
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
