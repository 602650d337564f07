//! One document per stock move, audited, and the reorder event a move
//! that takes an item below its reorder point publishes.

use keel_sdk::{Collection, Result, audit, events, next_sequence};
use rust_decimal::Decimal;

use crate::catalog::{self, Item};
use crate::rules::moves::crossed;

pub const MOVES: Collection<Move> = Collection::new("moves");

pub use crate::rules::moves::{Kind, LotMoved, Move, MoveRequest};

impl MoveRequest<'_> {
    /// The item and location (which must exist), and the positive quantity.
    pub fn check(&self) -> Result<(Item, Decimal)> {
        let quantity = self.positive_quantity()?;
        let item = catalog::item(self.item)?;
        catalog::location(self.location)?;
        Ok((item, quantity))
    }

    /// For an adjustment: the item and location (which must exist), and the
    /// signed quantity, which may not be zero.
    pub fn check_adjustment(&self) -> Result<(Item, Decimal)> {
        let delta = self.delta()?;
        let item = catalog::item(self.item)?;
        catalog::location(self.location)?;
        Ok((item, delta))
    }
}

/// Numbers and stores `moved`, and audits it as `move.recorded`.
pub fn record(mut moved: Move, unit: &str) -> Result<Move> {
    moved.number = next_sequence("moves")?;
    let key = format!("{:020}", moved.number);
    MOVES.insert(&key, &moved)?;
    let detail = moved.detail(unit);
    audit::record(audit::Event {
        action: "move.recorded",
        collection: Some("moves"),
        key: Some(&key),
        detail: &detail,
    })?;
    Ok(moved)
}

/// Publishes `topic` (`<plugin>.reorder-point-crossed`) if the item's
/// stock went from at or above its reorder point to below it. The payload
/// is what procurement turns into a requisition.
pub fn crossed_reorder_point(
    topic: &str,
    item: &Item,
    before: Decimal,
    after: Decimal,
    moved: &Move,
) -> Result<()> {
    let Some(point) = item.reorder_point else { return Ok(()) };
    if !crossed(Some(point), before, after) {
        return Ok(());
    }
    let payload = serde_json::json!({
        "item": item.code,
        "name": item.name,
        "unit": item.unit,
        "on_hand": after,
        "reorder_point": point,
        "reorder_quantity": item.reorder_quantity,
        "date": moved.date,
        "move": moved.number,
    });
    events::publish(topic, &format!("{}/{}", item.code, moved.number), &payload)
}
