//! HTTP handlers, one per manifest operation.

use keel_sdk::erp::Lot;
use keel_sdk::{Range, Request, Response, Result, context};

use keel_values::decimal::{self, Sign};

use crate::books::{
    self, INVOICES, NewInvoice, NewOrder, NewReceipt, ORDERS, RECEIPTS, REQUISITIONS, ReceivedLine,
    SUPPLIERS, Supplier,
};
use crate::contract::{
    InvoiceBody, NewRequisition, OrderBody, OrderDetail, OrderPage, PricedBody, ReceiptBody,
    ReceivedBody, RequisitionPage, SupplierPage,
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
    let suppliers = page.items.into_iter().map(|(_, s)| s).collect();
    Response::ok(&SupplierPage { suppliers, cursor: page.cursor })
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
    Response::ok(&RequisitionPage { requisitions, cursor })
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
    Response::ok(&OrderPage { orders, cursor })
}

/// `GET /orders/{number}`, with its receipts and invoices.
pub(crate) fn get_order(request: &Request) -> Result<Response> {
    let number = request.param("number")?;
    let order = books::order(number)?;
    let by_order = Range::exactly(number);
    let receipts =
        RECEIPTS.lookup_all("by-order", &by_order)?.into_iter().map(|(_, r)| r).collect();
    let invoices =
        INVOICES.lookup_all("by-order", &by_order)?.into_iter().map(|(_, i)| i).collect();
    Response::ok(&OrderDetail { order, receipts, invoices })
}

/// `POST /orders/{number}/approval`
pub(crate) fn approve(request: &Request) -> Result<Response> {
    Response::ok(&books::approve(request.param("number")?)?)
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
