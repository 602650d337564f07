//! The typed contract of inventory's operations: the kit's shared ones,
//! and the moves of a provider that does not track lots (a body naming a
//! lot is refused before the plugin runs; `inventory-lots` tracks them).

use keel_sdk::contract::{Contract, JsonSchema, Schemas};
use keel_stock_kit::contract::{ItemStock, MoveBody, shared};
use keel_stock_kit::moves::Move;

/// The file beside `keel.toml` that the package embeds.
#[cfg(test)]
pub(crate) const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keel.contract.json");

/// Every operation, with its schemas.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the native test writes keel.contract.json from it")
)]
pub(crate) fn contract() -> Contract {
    shared()
        .operation("items.get", Schemas::new().response::<ItemStock>())
        .operation("moves.receipt", Schemas::new().request::<Receipt>().response::<Move>())
        .operation("moves.issue", Schemas::new().request::<Issue>().response::<Move>())
        .operation("moves.transfer", Schemas::new().request::<Transfer>().response::<Move>())
        .operation("moves.adjust", Schemas::new().request::<Adjustment>().response::<Move>())
}

/// Goods received at a location, valued at their unit cost. Inventory
/// does not track lots: choose inventory-lots as the stock provider for
/// lots and expiry dates.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "described for the contract; the handler reads NewMove")]
pub(crate) struct Receipt {
    #[serde(flatten)]
    move_: MoveBody,
    /// What one unit cost, a decimal string, zero or more.
    unit_cost: String,
}

/// Goods issued from a location at their average cost.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "described for the contract; the handler reads NewMove")]
pub(crate) struct Issue {
    #[serde(flatten)]
    move_: MoveBody,
}

/// Goods moved from `location` to another location.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "described for the contract; the handler reads NewMove")]
pub(crate) struct Transfer {
    #[serde(flatten)]
    move_: MoveBody,
    /// The location they go to, by code.
    to: String,
}

/// Stock corrected to what a count found: `quantity` is signed, units
/// more (or fewer, if negative) than the books said.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "described for the contract; the handler reads NewMove")]
pub(crate) struct Adjustment {
    #[serde(flatten)]
    move_: MoveBody,
}
