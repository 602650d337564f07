//! One document per stock move, audited, and the reorder event a move
//! that takes an item below its reorder point publishes.

use keel_sdk::{Collection, Error, Result, audit, events, next_sequence};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::{self, Item};
use keel_values::Date;

use crate::rules::quantity;

pub const MOVES: Collection<Move> = Collection::new("moves");

/// What kind of move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Receipt,
    Issue,
    Transfer,
    Adjustment,
}

/// How much of one lot a move took or brought, for providers that track
/// lots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotMoved {
    pub lot: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    pub quantity: Decimal,
    pub value: Decimal,
}

/// One stock move, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// Given by [`record`].
    pub number: u64,
    pub kind: Kind,
    pub item: String,
    /// Where the goods arrive, or leave from (a transfer's source).
    pub location: String,
    /// A transfer's destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Positive; an adjustment's sign says which way it went.
    pub quantity: Decimal,
    /// What the move added to (or took out of) the value of stock.
    pub value: Decimal,
    pub date: String,
    pub reference: String,
    /// The journal entry that valued it, if it changed the value of stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_entry: Option<u64>,
    /// The lots it moved, for providers that track them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lots: Vec<LotMoved>,
}

/// What every move names.
pub struct MoveRequest<'a> {
    pub item: &'a str,
    pub location: &'a str,
    pub quantity: &'a str,
    pub date: &'a str,
    pub reference: &'a str,
}

impl MoveRequest<'_> {
    /// The item and location (which must exist), and the positive quantity.
    pub fn check(&self) -> Result<(Item, Decimal)> {
        Date::parse(self.date)?;
        let quantity = quantity::positive(self.quantity, "quantity")?;
        let item = catalog::item(self.item)?;
        catalog::location(self.location)?;
        Ok((item, quantity))
    }

    /// For an adjustment: the item and location (which must exist), and the
    /// signed quantity, which may not be zero.
    pub fn check_adjustment(&self) -> Result<(Item, Decimal)> {
        Date::parse(self.date)?;
        let delta = quantity::parse(self.quantity, "quantity")?;
        if delta.is_zero() {
            return Err(Error::invalid("an adjustment changes the quantity: it cannot be zero"));
        }
        let item = catalog::item(self.item)?;
        catalog::location(self.location)?;
        Ok((item, delta))
    }

    /// A move of `kind` from this request, to be completed and recorded.
    pub fn moved(&self, kind: Kind, quantity: Decimal, value: Decimal) -> Move {
        Move {
            number: 0,
            kind,
            item: self.item.to_owned(),
            location: self.location.to_owned(),
            to: None,
            quantity,
            value,
            date: self.date.to_owned(),
            reference: self.reference.to_owned(),
            journal_entry: None,
            lots: Vec::new(),
        }
    }
}

/// Numbers and stores `moved`, and audits it as `move.recorded`.
pub fn record(mut moved: Move, unit: &str) -> Result<Move> {
    moved.number = next_sequence("moves")?;
    let key = format!("{:020}", moved.number);
    MOVES.insert(&key, &moved)?;
    let lots: Vec<String> =
        moved.lots.iter().map(|l| format!("{} {}", l.quantity, l.lot)).collect();
    let detail = format!(
        "{:?} {}: {} {unit} of {} at {}, worth {}{}{}",
        moved.kind,
        moved.number,
        moved.quantity,
        moved.item,
        moved.location,
        moved.value,
        moved.journal_entry.map(|n| format!(", journal entry {n}")).unwrap_or_default(),
        if lots.is_empty() { String::new() } else { format!(", lots {}", lots.join(", ")) },
    );
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
    if before < point || after >= point {
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
