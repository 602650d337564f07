//! HTTP handlers, one per manifest operation.

use keel_sdk::erp::Lot;
use keel_sdk::{Range, Request, Response, Result, context};
use serde::Deserialize;
use serde_json::json;

use keel_values::decimal::{self, Sign};

use crate::books::{
    self, INVOICES, NewInvoice, NewOrder, NewReceipt, ORDERS, RECEIPTS, REQUISITIONS, ReceivedLine,
    SUPPLIERS, Supplier,
};
use crate::rules::order::PricedLine;

/// `POST /suppliers`
pub(crate) fn create_supplier(request: &Request) -> Result<Response> {
    let supplier: Supplier = request.json()?;
    Response::created(&books::create_supplier(supplier)?)
}

/// `GET /suppliers?cursor=&limit=`
pub(crate) fn list_suppliers(request: &Request) -> Result<Response> {
    let page = SUPPLIERS.scan(&Range::all(), request.query("cursor"), request.page_limit()?)?;
    let suppliers: Vec<Supplier> = page.items.into_iter().map(|(_, s)| s).collect();
    Response::ok(&json!({ "suppliers": suppliers, "cursor": page.cursor }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRequisition {
    item: String,
    quantity: String,
}

/// `POST /requisitions`
pub(crate) fn create_requisition(request: &Request) -> Result<Response> {
    let new: NewRequisition = request.json()?;
    let quantity = decimal::quantity(&new.quantity, "quantity", Sign::Positive)?;
    let by = context::caller().unwrap_or_default();
    Response::created(&books::requisition(&new.item, quantity, format!("raised by {by}"))?)
}

/// A list filtered by `status` when given, a page at a time.
fn by_status<T: serde::Serialize + serde::de::DeserializeOwned>(
    collection: &keel_sdk::Collection<T>,
    request: &Request,
) -> Result<(Vec<T>, Option<String>)> {
    let (cursor, limit) = (request.query("cursor"), request.page_limit()?);
    let page = match request.query("status") {
        Some(status) => collection.lookup("by-status", &Range::exactly(status), cursor, limit)?,
        None => collection.scan(&Range::all(), cursor, limit)?,
    };
    Ok((page.items.into_iter().map(|(_, doc)| doc).collect(), page.cursor))
}

/// `GET /requisitions?status=draft|ordered&cursor=&limit=`
pub(crate) fn list_requisitions(request: &Request) -> Result<Response> {
    let (requisitions, cursor) = by_status(&REQUISITIONS, request)?;
    Response::ok(&json!({ "requisitions": requisitions, "cursor": cursor }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PricedBody {
    item: String,
    quantity: String,
    unit_price: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    supplier: String,
    date: String,
    location: String,
    lines: Vec<PricedBody>,
    #[serde(default)]
    requisitions: Vec<String>,
}

/// The lines a client sent, their decimals read.
fn priced(lines: Vec<PricedBody>) -> Result<Vec<PricedLine>> {
    let line = |l: PricedBody| PricedLine::parse(l.item, &l.quantity, &l.unit_price);
    Ok(lines.into_iter().map(line).collect::<Result<_, _>>()?)
}

/// `POST /orders`
pub(crate) fn create_order(request: &Request) -> Result<Response> {
    let body: OrderBody = request.json()?;
    let order = books::create_order(NewOrder {
        supplier: body.supplier,
        date: body.date,
        location: body.location,
        lines: priced(body.lines)?,
        requisitions: body.requisitions,
    })?;
    Response::created(&order)
}

/// `GET /orders?status=awaiting-approval|approved|received|closed`
pub(crate) fn list_orders(request: &Request) -> Result<Response> {
    let (orders, cursor) = by_status(&ORDERS, request)?;
    Response::ok(&json!({ "orders": orders, "cursor": cursor }))
}

/// `GET /orders/{number}`, with its receipts and invoices.
pub(crate) fn get_order(request: &Request) -> Result<Response> {
    let number = request.param("number")?;
    let order = books::order(number)?;
    let by_order = Range::exactly(number);
    let receipts: Vec<_> =
        RECEIPTS.lookup_all("by-order", &by_order)?.into_iter().map(|(_, r)| r).collect();
    let invoices: Vec<_> =
        INVOICES.lookup_all("by-order", &by_order)?.into_iter().map(|(_, i)| i).collect();
    Response::ok(&json!({ "order": order, "receipts": receipts, "invoices": invoices }))
}

/// `POST /orders/{number}/approval`
pub(crate) fn approve(request: &Request) -> Result<Response> {
    Response::ok(&books::approve(request.param("number")?)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceivedBody {
    item: String,
    quantity: String,
    /// For stock providers that track lots.
    #[serde(default)]
    lot: Option<LotBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LotBody {
    code: String,
    #[serde(default)]
    expires: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptBody {
    date: String,
    /// The order's location when absent.
    #[serde(default)]
    location: Option<String>,
    lines: Vec<ReceivedBody>,
}

/// `POST /orders/{number}/receipts`
pub(crate) fn receive(request: &Request) -> Result<Response> {
    let body: ReceiptBody = request.json()?;
    let line = |l: ReceivedBody| -> Result<ReceivedLine> {
        Ok(ReceivedLine {
            quantity: decimal::quantity(&l.quantity, "quantity", Sign::Positive)?,
            item: l.item,
            lot: l.lot.map(|lot| Lot { code: lot.code, expires: lot.expires }),
        })
    };
    let lines = body.lines.into_iter().map(line).collect::<Result<_>>()?;
    let receipt = books::receive(
        request.param("number")?,
        NewReceipt { date: body.date, location: body.location, lines },
    )?;
    Response::created(&receipt)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InvoiceBody {
    /// The supplier's invoice number.
    invoice: String,
    date: String,
    /// The supplier's payment terms from `date` when absent.
    #[serde(default)]
    due: Option<String>,
    lines: Vec<PricedBody>,
}

/// `POST /orders/{number}/invoices`
pub(crate) fn invoice(request: &Request) -> Result<Response> {
    let body: InvoiceBody = request.json()?;
    let invoice = books::invoice(
        request.param("number")?,
        NewInvoice {
            invoice: body.invoice,
            date: body.date,
            due: body.due,
            lines: priced(body.lines)?,
        },
    )?;
    Response::created(&invoice)
}

/// `GET /settings`
pub(crate) fn get_settings() -> Result<Response> {
    Response::ok(&books::settings()?)
}

/// `PUT /settings`
pub(crate) fn put_settings(request: &Request) -> Result<Response> {
    let settings: books::Settings = request.json()?;
    Response::ok(&books::save_settings(settings)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_fields_are_refused() {
        let body = r#"{"date":"2026-11-23","lines":[],"extra":1}"#;
        assert!(serde_json::from_str::<super::ReceiptBody>(body).is_err());
    }
}
