//! HTTP handlers for moves and valuation; the catalogue, locations, the
//! move list and settings are the kit's (`keel_stock_kit::api`).

use keel_sdk::{Request, Response, Result};
use keel_stock_kit::api::NewMove;
use keel_stock_kit::rules::moves::required;

use crate::books;

/// A move's body, refusing what only providers that track lots take.
fn new_move(request: &Request) -> Result<NewMove> {
    let new: NewMove = request.json()?;
    Ok(new.without_lots(
        "inventory does not track lots; choose inventory-lots as the stock provider for lots and expiry dates",
    )?)
}

/// `POST /receipts` with `unit_cost`.
pub(crate) fn receipt(request: &Request) -> Result<Response> {
    let new = new_move(request)?;
    let cost = required(&new.unit_cost, "unit_cost")?;
    Response::created(&books::receive(&new.request(), cost)?)
}

/// `POST /issues`
pub(crate) fn issue(request: &Request) -> Result<Response> {
    let new = new_move(request)?;
    Response::created(&books::issue(&new.request())?)
}

/// `POST /transfers` with `to`.
pub(crate) fn transfer(request: &Request) -> Result<Response> {
    let new = new_move(request)?;
    let to = required(&new.to, "to")?;
    Response::created(&books::transfer(&new.request(), to)?)
}

/// `POST /adjustments`: `quantity` is signed, what the count found more or less.
pub(crate) fn adjust(request: &Request) -> Result<Response> {
    let new = new_move(request)?;
    Response::created(&books::adjust(&new.request())?)
}
