//! The typed contract of the lot-tracking provider's operations: the
//! kit's shared ones, its moves (which name lots), its lots and expired
//! stock.

use keel_sdk::contract::{Contract, JsonSchema, Schemas};
use keel_stock_kit::contract::{AtLocation, ItemStock, MoveBody, shared};
use keel_stock_kit::moves::Move;
use keel_values::Date;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::lot::Lot;

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
        .operation("items.get", Schemas::new().response::<ItemLots>())
        .operation("moves.receipt", Schemas::new().request::<Receipt>().response::<Move>())
        .operation("moves.issue", Schemas::new().request::<Issue>().response::<Move>())
        .operation("moves.transfer", Schemas::new().request::<Transfer>().response::<Move>())
        .operation("moves.adjust", Schemas::new().request::<Adjustment>().response::<Move>())
        .operation("lots.list", Schemas::new().query::<AtLocation>().response::<Lots>())
        .operation("stock.expired", Schemas::new().query::<ExpiredQuery>().response::<Expired>())
}

/// Goods received into a lot at a location, valued at their unit cost.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "described for the contract; the handler reads NewMove")]
pub(crate) struct Receipt {
    #[serde(flatten)]
    move_: MoveBody,
    /// What one unit cost, a decimal string, zero or more.
    unit_cost: String,
    /// The lot's code, new or one this item was received in before.
    lot: String,
    /// The lot's last day of use, for goods that expire; a lot keeps the
    /// date it was first received with.
    #[serde(default)]
    expires: Option<Date>,
}

/// Goods issued from a location, first expiry first out, never from an
/// expired lot. Issues do not name a lot: move one with a transfer.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "described for the contract; the handler reads NewMove")]
pub(crate) struct Issue {
    #[serde(flatten)]
    move_: MoveBody,
}

/// Goods moved from `location` to another location, first expiry first
/// out, or from one lot.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "described for the contract; the handler reads NewMove")]
pub(crate) struct Transfer {
    #[serde(flatten)]
    move_: MoveBody,
    /// The location they go to, by code.
    to: String,
    /// Only this lot.
    #[serde(default)]
    lot: Option<String>,
}

/// One lot corrected to what a count found (or written off): `quantity`
/// is signed, units more (or fewer, if negative) than the books said.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "described for the contract; the handler reads NewMove")]
pub(crate) struct Adjustment {
    #[serde(flatten)]
    move_: MoveBody,
    /// The lot counted.
    lot: String,
}

/// `GET /expired?on=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct ExpiredQuery {
    /// Lots whose last day of use was before this day.
    on: Date,
}

/// An item with its stock, value and lots, first to expire first.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ItemLots {
    #[serde(flatten)]
    pub(crate) stock: ItemStock,
    pub(crate) lots: Vec<Lot>,
}

/// An item's lots, first to expire first.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Lots {
    /// The item's code.
    pub(crate) item: String,
    pub(crate) unit: String,
    pub(crate) lots: Vec<Lot>,
}

/// A page of the lots expired on a day that still hold stock.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Expired {
    /// The day asked about.
    #[schemars(with = "Date")]
    pub(crate) on: String,
    /// In order of expiry.
    pub(crate) lots: Vec<Lot>,
    /// What this page's lots cost.
    pub(crate) page_value: Decimal,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}
