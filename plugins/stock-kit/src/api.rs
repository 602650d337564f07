//! The HTTP handlers every stock provider has: the catalogue, locations,
//! moves and settings. A provider dispatches its manifest's operations to
//! these and adds its own for moves and valuation.

use keel_sdk::{Error, Range, Request, Response, Result};
use rust_decimal::Decimal;

use crate::catalog::{self, ITEMS, Item, LOCATIONS, Level, Location, VALUATIONS, Warehouse};
use crate::contract::{
    ItemPage, ItemStock, ItemValue, LevelValue, LocationPage, MovePage, OnHand, Valuation,
};
use crate::ledger;
use crate::moves::{MOVES, Move};
pub use crate::rules::catalog::NewItem;
pub use crate::rules::moves::{Malformed, NewMove};

impl From<Malformed> for Error {
    fn from(malformed: Malformed) -> Self {
        Error::bad_request(malformed.0)
    }
}

/// `POST /items`
pub fn create_item(request: &Request) -> Result<Response> {
    let item = request.json::<NewItem>()?.into_item()?;
    Response::created(&catalog::create_item(item)?)
}

/// `GET /items?cursor=&limit=`
pub fn list_items(request: &Request) -> Result<Response> {
    let page = ITEMS.scan(&Range::all(), request.query("cursor"), request.page_limit()?)?;
    let items = page.items.into_iter().map(|(_, item)| item).collect();
    Response::ok(&ItemPage { items, cursor: page.cursor })
}

/// `POST /warehouses`
pub fn create_warehouse(request: &Request) -> Result<Response> {
    let warehouse: Warehouse = request.json()?;
    Response::created(&catalog::create_warehouse(warehouse)?)
}

/// `POST /locations`
pub fn create_location(request: &Request) -> Result<Response> {
    let location: Location = request.json()?;
    Response::created(&catalog::create_location(location)?)
}

/// `GET /locations?cursor=&limit=`
pub fn list_locations(request: &Request) -> Result<Response> {
    let page = LOCATIONS.scan(&Range::all(), request.query("cursor"), request.page_limit()?)?;
    let locations = page.items.into_iter().map(|(_, l)| l).collect();
    Response::ok(&LocationPage { locations, cursor: page.cursor })
}

/// `GET /moves?item=&cursor=&limit=`: by number, or one item's by number.
pub fn list_moves(request: &Request) -> Result<Response> {
    let (cursor, limit) = (request.query("cursor"), request.page_limit()?);
    let page = match request.query("item") {
        Some(item) => MOVES.lookup("by-item", &Range::exactly(item), cursor, limit)?,
        None => MOVES.scan(&Range::all(), cursor, limit)?,
    };
    let moves: Vec<Move> = page.items.into_iter().map(|(_, m)| m).collect();
    Response::ok(&MovePage { moves, cursor: page.cursor })
}

/// The item the path parameter `param` names; 404 if there is none.
pub fn requested_item(request: &Request, param: &str) -> Result<Item> {
    let code = request.param(param)?;
    ITEMS.get(code)?.ok_or_else(|| Error::not_found(format!("item {code} does not exist")))
}

/// `GET /items/{code}`: the item with its stock, value and average cost.
pub fn get_item(request: &Request) -> Result<Response> {
    Response::ok(&item_stock(request)?)
}

/// The item the path parameter `code` names, with its stock, value and
/// average cost, for a provider whose item view adds to it.
pub fn item_stock(request: &Request) -> Result<ItemStock> {
    let item = requested_item(request, "code")?;
    let valued = VALUATIONS.get(&item.code)?.unwrap_or_default();
    Ok(ItemStock {
        on_hand: valued.quantity,
        value: valued.value,
        average_cost: valued.average_cost(),
        item,
    })
}

/// `GET /on-hand/{item}?location=`: the item's stock at each location
/// holding some (or at one), each level valued by `valued`.
pub fn on_hand(
    request: &Request,
    valued: impl FnOnce(&Item, Option<&str>) -> Result<Vec<(Level, Decimal)>>,
) -> Result<Response> {
    let item = requested_item(request, "item")?;
    let levels = valued(&item, request.query("location"))?;
    let total: Decimal = levels.iter().map(|(level, _)| level.quantity).sum();
    let locations = levels
        .into_iter()
        .map(|(level, value)| LevelValue {
            location: level.location,
            quantity: level.quantity,
            value,
        })
        .collect();
    Response::ok(&OnHand { item: item.code, unit: item.unit, total, locations })
}

/// `GET /valuation?cursor=&limit=`: every item's quantity, value and
/// average cost.
pub fn valuation(request: &Request) -> Result<Response> {
    let page = VALUATIONS.scan(&Range::all(), request.query("cursor"), request.page_limit()?)?;
    let mut total = Decimal::ZERO;
    let items = page
        .items
        .into_iter()
        .map(|(item, valued)| {
            total += valued.value;
            ItemValue {
                item,
                quantity: valued.quantity,
                value: valued.value,
                average_cost: valued.average_cost(),
            }
        })
        .collect();
    let currency = ledger::settings()?.currency;
    Response::ok(&Valuation { items, page_total: total, currency, cursor: page.cursor })
}

/// `GET /settings`
pub fn get_settings() -> Result<Response> {
    Response::ok(&ledger::settings()?)
}

/// `PUT /settings`
pub fn put_settings(request: &Request) -> Result<Response> {
    let settings: ledger::Settings = request.json()?;
    Response::ok(&ledger::save_settings(settings)?)
}
