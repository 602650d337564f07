//! How stock is moved and valued at moving average: the quantity and value
//! per item beside the kit's quantity per item and location. Every move
//! that changes the value of stock posts a journal entry through
//! `keel:erp/ledger`, in the same transaction.

use keel_sdk::Result;
use keel_stock_kit::catalog::{self, Level};
use keel_stock_kit::ledger::{ValueChange, ledger_settings, post};
use keel_stock_kit::moves::{self, Kind, Move, MoveRequest};
use keel_stock_kit::rules::quantity;
use rust_decimal::Decimal;

use keel_stock_kit::catalog::VALUATIONS;

/// The topic of [`moves::crossed_reorder_point`].
const REORDER_TOPIC: &str = "inventory.reorder-point-crossed";

/// Receives goods at `unit_cost` each: stock and its value grow, and the
/// value is posted as inventory against goods received not invoiced.
pub(crate) fn receive(request: &MoveRequest<'_>, unit_cost: &str) -> Result<Move> {
    let (item, quantity) = request.check()?;
    let unit_cost = quantity::unit_cost(unit_cost)?;
    let mut valued = VALUATIONS.get(&item.code)?.unwrap_or_default();
    let value = valued.receive(quantity, unit_cost)?;
    catalog::add_level(&item, request.location, quantity)?;
    let settings = ledger_settings()?;
    let mut moved = request.moved(Kind::Receipt, quantity, value);
    moved.journal_entry = post(request, &settings, ValueChange::Receipt, value, "receipt")?;
    VALUATIONS.put(&item.code, &valued)?;
    moves::record(moved, &item.unit)
}

/// Issues goods: stock and its value shrink at the average cost, posted
/// as cost of goods against inventory. Publishes a reorder event if this
/// takes the item below its reorder point.
pub(crate) fn issue(request: &MoveRequest<'_>) -> Result<Move> {
    let (item, quantity) = request.check()?;
    catalog::add_level(&item, request.location, -quantity)?;
    let mut valued = VALUATIONS.get(&item.code)?.unwrap_or_default();
    let before = valued.quantity;
    let value = valued.issue(quantity)?;
    let settings = ledger_settings()?;
    let mut moved = request.moved(Kind::Issue, quantity, value);
    moved.journal_entry = post(request, &settings, ValueChange::Issue, value, "issue")?;
    VALUATIONS.put(&item.code, &valued)?;
    let moved = moves::record(moved, &item.unit)?;
    moves::crossed_reorder_point(REORDER_TOPIC, &item, before, valued.quantity, &moved)?;
    Ok(moved)
}

/// Moves goods from `request.location` to `to`; their value is unchanged.
pub(crate) fn transfer(request: &MoveRequest<'_>, to: &str) -> Result<Move> {
    let (item, quantity) = request.check()?;
    catalog::shift(&item, request.location, to, quantity)?;
    let value = VALUATIONS.get(&item.code)?.unwrap_or_default().value_of(quantity)?;
    let mut moved = request.moved(Kind::Transfer, quantity, value);
    moved.to = Some(to.to_owned());
    moves::record(moved, &item.unit)
}

/// Corrects stock to what was counted: `delta` units more (or fewer, if
/// negative), valued at the average cost against the adjustment account.
pub(crate) fn adjust(request: &MoveRequest<'_>) -> Result<Move> {
    let (item, delta) = request.check_adjustment()?;
    catalog::add_level(&item, request.location, delta)?;
    let mut valued = VALUATIONS.get(&item.code)?.unwrap_or_default();
    let before = valued.quantity;
    let settings = ledger_settings()?;
    let (value, kind) = valued.adjust(delta)?;
    let mut moved = request.moved(Kind::Adjustment, delta.abs(), value);
    moved.journal_entry = post(request, &settings, kind, value, "adjustment")?;
    VALUATIONS.put(&item.code, &valued)?;
    let moved = moves::record(moved, &item.unit)?;
    moves::crossed_reorder_point(REORDER_TOPIC, &item, before, valued.quantity, &moved)?;
    Ok(moved)
}

/// The item's stock at each location holding some (or at `at` only), with
/// its value at the average cost.
pub(crate) fn on_hand(item: &str, at: Option<&str>) -> Result<Vec<(Level, Decimal)>> {
    let valued = VALUATIONS.get(item)?.unwrap_or_default();
    catalog::levels(item, at)?
        .into_iter()
        .map(|level| {
            let value = valued.value_of(level.quantity)?;
            Ok((level, value))
        })
        .collect()
}
