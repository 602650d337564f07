//! The typed contract of the operations every stock provider shares, and
//! the answers their handlers give. A provider adds its own moves (whose
//! bodies differ: one tracks lots, one refuses them) and its item view.

use keel_sdk::contract::{Contract, JsonSchema, Schemas};
use keel_values::Date;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::catalog::{Item, Location, Warehouse};
use crate::ledger::Settings;
use crate::moves::Move;
use crate::rules::catalog::NewItem;

/// The shared operations with their schemas; a provider goes on with
/// `.operation(…)` for its own.
pub fn shared() -> Contract {
    Contract::new()
        .operation("items.create", Schemas::new().request::<NewItem>().response::<Item>())
        .operation("items.list", Schemas::new().response::<ItemPage>())
        .operation(
            "warehouses.create",
            Schemas::new().request::<Warehouse>().response::<Warehouse>(),
        )
        .operation("locations.create", Schemas::new().request::<Location>().response::<Location>())
        .operation("locations.list", Schemas::new().response::<LocationPage>())
        .operation("moves.list", Schemas::new().query::<MovesQuery>().response::<MovePage>())
        .operation("stock.on-hand", Schemas::new().query::<AtLocation>().response::<OnHand>())
        .operation("stock.valuation", Schemas::new().response::<Valuation>())
        .operation("settings.get", Schemas::new().response::<Settings>())
        .operation("settings.put", Schemas::new().request::<Settings>().response::<Settings>())
}

/// `GET /moves?item=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub struct MovesQuery {
    /// Only this item's moves, by its code.
    item: Option<String>,
}

/// `?location=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub struct AtLocation {
    /// Only at this location, by its code; every location holding some
    /// without it.
    location: Option<String>,
}

/// A page of items.
#[derive(Serialize, JsonSchema)]
pub struct ItemPage {
    /// The items, by code.
    pub items: Vec<Item>,
    /// Where the next page starts; null on the last.
    pub cursor: Option<String>,
}

/// A page of locations.
#[derive(Serialize, JsonSchema)]
pub struct LocationPage {
    /// The locations, by code.
    pub locations: Vec<Location>,
    /// Where the next page starts; null on the last.
    pub cursor: Option<String>,
}

/// A page of moves.
#[derive(Serialize, JsonSchema)]
pub struct MovePage {
    /// The moves, by number.
    pub moves: Vec<Move>,
    /// Where the next page starts; null on the last.
    pub cursor: Option<String>,
}

/// An item with its stock over all locations and what it is worth.
#[derive(Serialize, JsonSchema)]
pub struct ItemStock {
    pub item: Item,
    /// Units on hand, over all locations.
    pub on_hand: Decimal,
    /// What they are worth.
    pub value: Decimal,
    /// The value of one unit; zero with nothing on hand.
    pub average_cost: Decimal,
}

/// An item's stock at each location holding some (or at one).
#[derive(Serialize, JsonSchema)]
pub struct OnHand {
    /// The item's code.
    pub item: String,
    pub unit: String,
    /// Units over the locations listed.
    pub total: Decimal,
    pub locations: Vec<LevelValue>,
}

/// An item's stock at one location, valued.
#[derive(Serialize, JsonSchema)]
pub struct LevelValue {
    /// The location's code.
    pub location: String,
    pub quantity: Decimal,
    /// What the units there are worth.
    pub value: Decimal,
}

/// A page of every item's stock and value.
#[derive(Serialize, JsonSchema)]
pub struct Valuation {
    pub items: Vec<ItemValue>,
    /// The value of this page's items.
    pub page_total: Decimal,
    /// The currency values are in.
    pub currency: String,
    /// Where the next page starts; null on the last.
    pub cursor: Option<String>,
}

/// One item's quantity and value over all locations.
#[derive(Serialize, JsonSchema)]
pub struct ItemValue {
    /// The item's code.
    pub item: String,
    pub quantity: Decimal,
    pub value: Decimal,
    /// The value of one unit; zero with nothing on hand.
    pub average_cost: Decimal,
}

/// What every move's body names; each provider's moves add to it
/// (`#[serde(flatten)]`). The handlers read the body as
/// [`NewMove`](crate::api::NewMove), which takes every field of every
/// kind of move; the contract says which each kind of move takes.
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handlers read NewMove")]
pub struct MoveBody {
    /// The item's code.
    item: String,
    /// Where the goods arrive or leave from, by code.
    location: String,
    /// Units, a decimal string; more than zero, except that an
    /// adjustment's sign says which way the count went.
    quantity: String,
    /// The day of the move.
    date: Date,
    /// The document it follows (a delivery note, a count sheet).
    #[serde(default)]
    reference: String,
}
