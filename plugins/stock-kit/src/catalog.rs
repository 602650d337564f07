//! Items, warehouses and locations, and how much of each item is at each
//! location.

use crate::rules::catalog::check_transfer;
use crate::rules::valuation::Valued;
use keel_sdk::{Collection, Error, Range, Result};
use rust_decimal::Decimal;

pub const ITEMS: Collection<Item> = Collection::new("items");
pub const WAREHOUSES: Collection<Warehouse> = Collection::new("warehouses");
pub const LOCATIONS: Collection<Location> = Collection::new("locations");
/// Quantity and value per item, over all locations.
pub const VALUATIONS: Collection<Valued> = Collection::new("valuations");
/// Quantity per `item/location`.
const LEVELS: Collection<Level> = Collection::new("levels");

pub use crate::rules::catalog::{Item, Level, Location, Warehouse};

/// The item with `code`, or a 422 naming it.
pub fn item(code: &str) -> Result<Item> {
    ITEMS.get(code)?.ok_or_else(|| Error::invalid(format!("item {code} does not exist")))
}

/// The location with `code`, or a 422 naming it.
pub fn location(code: &str) -> Result<Location> {
    LOCATIONS.get(code)?.ok_or_else(|| Error::invalid(format!("location {code} does not exist")))
}

fn level_key(item: &str, location: &str) -> String {
    format!("{item}/{location}")
}

/// The item's level at `location`; zero if it never had any there.
pub fn level(item: &str, location: &str) -> Result<Level> {
    Ok(LEVELS.get(&level_key(item, location))?.unwrap_or_else(|| Level {
        item: item.to_owned(),
        location: location.to_owned(),
        quantity: Decimal::ZERO,
    }))
}

fn put_level(level: &Level) -> Result<()> {
    LEVELS.put(&level_key(&level.item, &level.location), level)
}

/// The item's level at `at`, or at every location holding some.
pub fn levels(item: &str, at: Option<&str>) -> Result<Vec<Level>> {
    if let Some(at) = at {
        return Ok(vec![level(item, at)?]);
    }
    let levels = LEVELS.scan_all(&Range::prefix(format!("{item}/")))?.into_iter();
    Ok(levels.map(|(_, level)| level).filter(|level| !level.quantity.is_zero()).collect())
}

/// Adds `delta` (negative to take out) to `item`'s level at `location`;
/// refuses to take out more than is there.
pub fn add_level(item: &Item, location: &str, delta: Decimal) -> Result<()> {
    let mut level = level(&item.code, location)?;
    level.add(delta, &item.unit)?;
    put_level(&level)
}

/// Moves `quantity` of `item` from `from` to `to`, an existing, different
/// location; refuses to move more than is at `from`.
pub fn shift(item: &Item, from: &str, to: &str, quantity: Decimal) -> Result<()> {
    location(to)?;
    check_transfer(from, to)?;
    add_level(item, from, -quantity)?;
    add_level(item, to, quantity)
}

/// Creates an item; 409 if its code exists.
pub fn create_item(item: Item) -> Result<Item> {
    item.check()?;
    if ITEMS.get(&item.code)?.is_some() {
        return Err(Error::conflict(format!("item {} already exists", item.code)));
    }
    ITEMS.insert(&item.code, &item)?;
    Ok(item)
}

/// Creates a warehouse; 409 if its code exists.
pub fn create_warehouse(warehouse: Warehouse) -> Result<Warehouse> {
    warehouse.check()?;
    if WAREHOUSES.get(&warehouse.code)?.is_some() {
        return Err(Error::conflict(format!("warehouse {} already exists", warehouse.code)));
    }
    WAREHOUSES.insert(&warehouse.code, &warehouse)?;
    Ok(warehouse)
}

/// Creates a location in an existing warehouse; 409 if its code exists.
pub fn create_location(location: Location) -> Result<Location> {
    location.check()?;
    if WAREHOUSES.get(&location.warehouse)?.is_none() {
        return Err(Error::invalid(format!("warehouse {} does not exist", location.warehouse)));
    }
    if LOCATIONS.get(&location.code)?.is_some() {
        return Err(Error::conflict(format!("location {} already exists", location.code)));
    }
    LOCATIONS.insert(&location.code, &location)?;
    Ok(location)
}
