//! HTTP handlers, one per manifest operation.

use keel_sdk::{Error, Range, Request, Response, Result};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use crate::books::{
    self, ITEMS, Item, LOCATIONS, Location, MOVES, MoveRequest, VALUATIONS, Warehouse,
};
use crate::stock::quantity;

/// Default and largest page sizes for list operations.
const PAGE_DEFAULT: u32 = 50;
const PAGE_MAX: u32 = 500;

fn page_limit(request: &Request) -> Result<u32> {
    let limit = request.query_as::<u32>("limit")?.unwrap_or(PAGE_DEFAULT);
    if limit == 0 || limit > PAGE_MAX {
        return Err(Error::bad_request(format!("limit must be 1 to {PAGE_MAX}")));
    }
    Ok(limit)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    code: String,
    name: String,
    unit: String,
    #[serde(default)]
    reorder_point: Option<String>,
    #[serde(default)]
    reorder_quantity: Option<String>,
}

/// `POST /items`
pub(crate) fn create_item(request: &Request) -> Result<Response> {
    let new: NewItem = request.json()?;
    let amount = |text: Option<String>, what| {
        text.map(|t| quantity::non_negative(&t, what)).transpose().map_err(Error::from)
    };
    let item = Item {
        reorder_point: amount(new.reorder_point, "reorder point")?,
        reorder_quantity: amount(new.reorder_quantity, "reorder quantity")?,
        code: new.code,
        name: new.name.trim().to_owned(),
        unit: new.unit.trim().to_owned(),
    };
    Response::created(&books::create_item(item)?)
}

/// `GET /items?cursor=&limit=`
pub(crate) fn list_items(request: &Request) -> Result<Response> {
    let page = ITEMS.scan(&Range::all(), request.query("cursor"), page_limit(request)?)?;
    let items: Vec<Item> = page.items.into_iter().map(|(_, item)| item).collect();
    Response::ok(&json!({ "items": items, "cursor": page.cursor }))
}

/// `GET /items/{code}`, with its stock and value.
pub(crate) fn get_item(request: &Request) -> Result<Response> {
    let code = request.param("code")?;
    let item =
        ITEMS.get(code)?.ok_or_else(|| Error::not_found(format!("item {code} does not exist")))?;
    let valued = VALUATIONS.get(code)?.unwrap_or_default();
    Response::ok(&json!({
        "item": item,
        "on_hand": valued.quantity,
        "value": valued.value,
        "average_cost": valued.average_cost(),
    }))
}

/// `POST /warehouses`
pub(crate) fn create_warehouse(request: &Request) -> Result<Response> {
    let warehouse: Warehouse = request.json()?;
    Response::created(&books::create_warehouse(warehouse)?)
}

/// `POST /locations`
pub(crate) fn create_location(request: &Request) -> Result<Response> {
    let location: Location = request.json()?;
    Response::created(&books::create_location(location)?)
}

/// `GET /locations`
pub(crate) fn list_locations(request: &Request) -> Result<Response> {
    let page = LOCATIONS.scan(&Range::all(), request.query("cursor"), page_limit(request)?)?;
    let locations: Vec<Location> = page.items.into_iter().map(|(_, l)| l).collect();
    Response::ok(&json!({ "locations": locations, "cursor": page.cursor }))
}

/// A move as a client submits it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMove {
    item: String,
    location: String,
    quantity: String,
    date: String,
    #[serde(default)]
    reference: String,
    /// Receipts only.
    #[serde(default)]
    unit_cost: Option<String>,
    /// Transfers only.
    #[serde(default)]
    to: Option<String>,
}

impl NewMove {
    fn request(&self) -> MoveRequest<'_> {
        MoveRequest {
            item: &self.item,
            location: &self.location,
            quantity: &self.quantity,
            date: &self.date,
            reference: &self.reference,
        }
    }
}

/// `POST /receipts` with `unit_cost`.
pub(crate) fn receipt(request: &Request) -> Result<Response> {
    let new: NewMove = request.json()?;
    let cost =
        new.unit_cost.as_deref().ok_or_else(|| Error::bad_request("unit_cost is required"))?;
    Response::created(&books::receive(&new.request(), cost)?)
}

/// `POST /issues`
pub(crate) fn issue(request: &Request) -> Result<Response> {
    let new: NewMove = request.json()?;
    Response::created(&books::issue(&new.request())?)
}

/// `POST /transfers` with `to`.
pub(crate) fn transfer(request: &Request) -> Result<Response> {
    let new: NewMove = request.json()?;
    let to = new.to.as_deref().ok_or_else(|| Error::bad_request("to is required"))?;
    Response::created(&books::transfer(&new.request(), to)?)
}

/// `POST /adjustments`: `quantity` is signed, what the count found more or less.
pub(crate) fn adjust(request: &Request) -> Result<Response> {
    let new: NewMove = request.json()?;
    Response::created(&books::adjust(&new.request())?)
}

/// `GET /moves?item=&cursor=&limit=`: by number, or one item's by number.
pub(crate) fn list_moves(request: &Request) -> Result<Response> {
    let (cursor, limit) = (request.query("cursor"), page_limit(request)?);
    let page = match request.query("item") {
        Some(item) => MOVES.lookup("by-item", &Range::exactly(item), cursor, limit)?,
        None => MOVES.scan(&Range::all(), cursor, limit)?,
    };
    let moves: Vec<books::Move> = page.items.into_iter().map(|(_, m)| m).collect();
    Response::ok(&json!({ "moves": moves, "cursor": page.cursor }))
}

/// `GET /on-hand/{item}?location=`
pub(crate) fn on_hand(request: &Request) -> Result<Response> {
    let item = books::item(request.param("item")?).map_err(|_| {
        Error::not_found(format!(
            "item {} does not exist",
            request.param("item").unwrap_or_default()
        ))
    })?;
    let levels = books::on_hand(&item.code, request.query("location"))?;
    let total: Decimal = levels.iter().map(|(_, q, _)| *q).sum();
    let levels: Vec<_> = levels
        .into_iter()
        .map(|(location, quantity, value)| json!({ "location": location, "quantity": quantity, "value": value }))
        .collect();
    Response::ok(
        &json!({ "item": item.code, "unit": item.unit, "total": total, "locations": levels }),
    )
}

/// `GET /valuation`: every item's quantity, value and average cost.
pub(crate) fn valuation(request: &Request) -> Result<Response> {
    let page = VALUATIONS.scan(&Range::all(), request.query("cursor"), page_limit(request)?)?;
    let mut total = Decimal::ZERO;
    let rows: Vec<_> = page
        .items
        .into_iter()
        .map(|(item, valued)| {
            total += valued.value;
            json!({ "item": item, "quantity": valued.quantity, "value": valued.value, "average_cost": valued.average_cost() })
        })
        .collect();
    let currency = books::settings()?.currency;
    Response::ok(
        &json!({ "items": rows, "page_total": total, "currency": currency, "cursor": page.cursor }),
    )
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
