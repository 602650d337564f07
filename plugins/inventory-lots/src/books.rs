//! How stock is moved lot by lot: each lot's quantity and value at each
//! location, beside the kit's quantity per item and location and the value
//! per item. Issues take the first lot to expire first and never an
//! expired one; every move that changes the value of stock posts a journal
//! entry through `keel:erp/ledger`, in the same transaction.

use keel_sdk::{Collection, Error, Range, Result};
use keel_stock_kit::catalog::{self, Item, Level};
use keel_stock_kit::ledger::{ValueChange, ledger_settings, post};
use keel_stock_kit::moves::{self, Kind, Move, MoveRequest};
use keel_stock_kit::rules::quantity;
use keel_values::Date;
use rust_decimal::Decimal;

use crate::fefo;
use crate::lot::{Lot, LotCode};
use crate::shelf::{self, Shelf};
use keel_stock_kit::catalog::VALUATIONS;

/// Stock per lot and location, keyed `item/location/expiry/lot`.
pub(crate) const LOTS: Collection<Lot> = Collection::new("lots");
/// Each lot's expiry date, keyed `item/lot`.
const LOT_CODES: Collection<LotCode> = Collection::new("lot-codes");

/// The topic of [`moves::crossed_reorder_point`].
const REORDER_TOPIC: &str = "inventory-lots.reorder-point-crossed";

/// Stores `lot`, or forgets it once it is empty.
fn save(lot: &Lot) -> Result<()> {
    if lot.quantity.is_zero() {
        LOTS.delete(&lot.key()).map(drop)
    } else {
        LOTS.put(&lot.key(), lot)
    }
}

/// The item's lots at `location` (or everywhere), first to expire first.
pub(crate) fn lots(item: &str, location: Option<&str>) -> Result<Vec<Lot>> {
    let prefix = Range::prefix(Lot::prefix(item, location));
    Ok(LOTS.scan_all(&prefix)?.into_iter().map(|(_, lot)| lot).collect())
}

/// The quantity and value per item, changed by `quantity` and `value`;
/// returns the quantity before and after.
fn revalue(item: &str, quantity: Decimal, value: Decimal) -> Result<(Decimal, Decimal)> {
    let mut valued = VALUATIONS.get(item)?.unwrap_or_default();
    let before = valued.quantity;
    valued.add(quantity, value)?;
    VALUATIONS.put(item, &valued)?;
    Ok((before, valued.quantity))
}

/// The item's shelf at `location`.
fn shelf(item: &Item, location: &str) -> Result<Shelf> {
    Ok(Shelf::new(&item.code, location, lots(&item.code, Some(location))?))
}

/// Saves every lot `shelf` changed.
fn save_changed(shelf: &Shelf) -> Result<()> {
    shelf.changed().try_for_each(save)
}

/// The lot's registered expiry: a new lot is registered with `expires`; a
/// known one must come with the same date.
fn register(item: &str, lot: &str, expires: Option<&str>) -> Result<()> {
    let key = LotCode::key(item, lot);
    match LOT_CODES.get(&key)? {
        None => LOT_CODES.insert(&key, &LotCode { expires: expires.map(str::to_owned) }),
        Some(known) => Ok(known.check_same(item, lot, expires)?),
    }
}

/// Receives goods into `lot` at `unit_cost` each; the value is posted as
/// inventory against goods received not invoiced. An expired lot is
/// refused.
pub(crate) fn receive(
    request: &MoveRequest<'_>,
    unit_cost: &str,
    lot: &str,
    expires: Option<&str>,
) -> Result<Move> {
    let (item, quantity) = request.check()?;
    shelf::check_receipt(lot, expires, request.date)?;
    let unit_cost = quantity::unit_cost(unit_cost)?;
    register(&item.code, lot, expires)?;
    let held = LOTS.get(&Lot::empty(&item.code, request.location, lot, expires).key())?;
    let mut shelf = Shelf::new(&item.code, request.location, held.into_iter().collect());
    let part = shelf.receive(lot, expires, quantity, unit_cost)?;
    let value = part.value;
    catalog::add_level(&item, request.location, quantity)?;
    let settings = ledger_settings()?;
    let mut moved = request.moved(Kind::Receipt, quantity, value);
    moved.journal_entry = post(request, &settings, ValueChange::Receipt, value, "receipt")?;
    moved.lots.push(part);
    save_changed(&shelf)?;
    revalue(&item.code, quantity, value)?;
    moves::record(moved, &item.unit)
}

/// Issues goods, first expiry first out, never from an expired lot; the
/// lots' cost is posted as cost of goods against inventory. Publishes a
/// reorder event if this takes the item below its reorder point.
pub(crate) fn issue(request: &MoveRequest<'_>) -> Result<Move> {
    let (item, quantity) = request.check()?;
    catalog::add_level(&item, request.location, -quantity)?;
    let mut shelf = shelf(&item, request.location)?;
    let taken = shelf
        .take_first_expiring(quantity, request.date)
        .map_err(|err| Error::invalid(format!("{} at {}: {err}", item.code, request.location)))?;
    let settings = ledger_settings()?;
    let mut moved = request.moved(Kind::Issue, quantity, taken.value);
    moved.journal_entry = post(request, &settings, ValueChange::Issue, taken.value, "issue")?;
    moved.lots = taken.lots;
    save_changed(&shelf)?;
    let (before, after) = revalue(&item.code, -quantity, -taken.value)?;
    let moved = moves::record(moved, &item.unit)?;
    moves::crossed_reorder_point(REORDER_TOPIC, &item, before, after, &moved)?;
    Ok(moved)
}

/// Moves goods from `request.location` to `to`, lot by lot: the named
/// `lot` (expired or not, such as to quarantine), or the unexpired lots
/// first expiry first. Their value is unchanged.
pub(crate) fn transfer(request: &MoveRequest<'_>, to: &str, lot: Option<&str>) -> Result<Move> {
    let (item, quantity) = request.check()?;
    catalog::shift(&item, request.location, to, quantity)?;
    let mut shelf = shelf(&item, request.location)?;
    let taken = match lot {
        Some(code) => shelf.take_lot(code, quantity)?,
        None => shelf.take_first_expiring(quantity, request.date)?,
    };
    save_changed(&shelf)?;
    let mut there = Vec::new();
    for part in &taken.lots {
        let key = Lot::empty(&item.code, to, &part.lot, part.expires.as_deref()).key();
        there.extend(LOTS.get(&key)?);
    }
    let mut arrived = Shelf::new(&item.code, to, there);
    arrived.arrive(&taken)?;
    save_changed(&arrived)?;
    let mut moved = request.moved(Kind::Transfer, quantity, taken.value);
    moved.to = Some(to.to_owned());
    moved.lots = taken.lots;
    moves::record(moved, &item.unit)
}

/// Corrects one lot to what was counted, or writes it off: `delta` units
/// more (at the lot's cost) or fewer, against the adjustment account.
pub(crate) fn adjust(request: &MoveRequest<'_>, lot: &str) -> Result<Move> {
    let (item, delta) = request.check_adjustment()?;
    let mut shelf = shelf(&item, request.location)?;
    let settings = ledger_settings()?;
    let (part, kind) = shelf.adjust(lot, delta)?;
    let value = part.value;
    let signed = if kind == ValueChange::Found { value } else { -value };
    catalog::add_level(&item, request.location, delta)?;
    let mut moved = request.moved(Kind::Adjustment, delta.abs(), value);
    moved.journal_entry = post(request, &settings, kind, value, "adjustment")?;
    moved.lots.push(part);
    save_changed(&shelf)?;
    let (before, after) = revalue(&item.code, delta, signed)?;
    let moved = moves::record(moved, &item.unit)?;
    moves::crossed_reorder_point(REORDER_TOPIC, &item, before, after, &moved)?;
    Ok(moved)
}

/// The item's stock at each location holding some (or at `at` only), with
/// the value of its lots there.
pub(crate) fn on_hand(item: &Item, at: Option<&str>) -> Result<Vec<(Level, Decimal)>> {
    let lots = lots(&item.code, at)?;
    Ok(catalog::levels(&item.code, at)?
        .into_iter()
        .map(|level| {
            let value = shelf::value_at(&lots, &level.location);
            (level, value)
        })
        .collect())
}

/// Lots expired on `on` (their last day was before it) that still hold
/// stock, a page at a time in order of expiry.
pub(crate) fn expired(
    on: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<(Vec<Lot>, Option<String>)> {
    Date::parse(on)?;
    let range = Range::between(None, Some(on.to_owned()));
    let page = LOTS.lookup("by-expiry", &range, cursor, limit)?;
    let lots = page
        .items
        .into_iter()
        .map(|(_, lot)| lot)
        .filter(|lot| fefo::expired(lot.expires.as_deref(), on))
        .collect();
    Ok((lots, page.cursor))
}
