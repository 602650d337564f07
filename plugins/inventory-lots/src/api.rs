//! HTTP handlers for moves, lots and valuation; the catalogue, locations,
//! the move list and settings are the kit's (`keel_stock_kit::api`).

use keel_sdk::{Error, Request, Response, Result};
use keel_stock_kit::api::{self as kit, NewMove};
use keel_stock_kit::rules::moves::required;

use crate::books;
use crate::contract::{Expired, ItemLots, Lots};

/// `GET /items/{code}`, with its stock, value and lots.
pub(crate) fn get_item(request: &Request) -> Result<Response> {
    let stock = kit::item_stock(request)?;
    let lots = books::lots(&stock.item.code, None)?;
    Response::ok(&ItemLots { stock, lots })
}

/// `POST /receipts` with `unit_cost`, `lot` and (for goods that expire)
/// `expires`.
pub(crate) fn receipt(request: &Request) -> Result<Response> {
    let new: NewMove = request.json()?;
    let (cost, lot) = (required(&new.unit_cost, "unit_cost")?, required(&new.lot, "lot")?);
    Response::created(&books::receive(&new.request(), cost, lot, new.expires.as_deref())?)
}

/// `POST /issues`: first expiry first out.
pub(crate) fn issue(request: &Request) -> Result<Response> {
    let new: NewMove = request.json()?;
    if new.lot.is_some() {
        return Err(Error::bad_request(
            "issues take the lot that expires first; move a particular lot with POST /transfers",
        ));
    }
    Response::created(&books::issue(&new.request())?)
}

/// `POST /transfers` with `to`, and `lot` to move one lot.
pub(crate) fn transfer(request: &Request) -> Result<Response> {
    let new: NewMove = request.json()?;
    let to = required(&new.to, "to")?;
    Response::created(&books::transfer(&new.request(), to, new.lot.as_deref())?)
}

/// `POST /adjustments` with `lot`: `quantity` is signed, what the count
/// found more or less (or a write-off).
pub(crate) fn adjust(request: &Request) -> Result<Response> {
    let new: NewMove = request.json()?;
    Response::created(&books::adjust(&new.request(), required(&new.lot, "lot")?)?)
}

/// `GET /lots/{item}?location=`: first to expire first.
pub(crate) fn list_lots(request: &Request) -> Result<Response> {
    let item = kit::requested_item(request, "item")?;
    let lots = books::lots(&item.code, request.query("location"))?;
    Response::ok(&Lots { item: item.code, unit: item.unit, lots })
}

/// `GET /expired?on=YYYY-MM-DD`: lots past their expiry date on `on` that
/// still hold stock, in order of expiry, with their value.
pub(crate) fn expired(request: &Request) -> Result<Response> {
    let on = request.query("on").ok_or_else(|| Error::bad_request("on=YYYY-MM-DD is required"))?;
    let (lots, cursor) = books::expired(on, request.query("cursor"), request.page_limit()?)?;
    let page_value = lots.iter().map(|lot| lot.value).sum();
    Response::ok(&Expired { on: on.to_owned(), lots, page_value, cursor })
}
