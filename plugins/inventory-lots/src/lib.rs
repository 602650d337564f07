//! Keel's lot-tracking stock provider, the sector variant of `inventory`:
//! every unit is in a lot that may expire, issues take the first lot to
//! expire and never an expired one, and each lot is valued at its cost. A
//! tenant chooses it as its `keel:erp/stock` provider in place of
//! `inventory`; its consumers (procurement) do not change.
//!
//! The catalogue, locations, moves, ledger accounts and their rules are
//! `keel_stock_kit`'s, shared with `inventory`.
//!
//! - [`fefo`]: first expiry first out, pure and natively unit-tested.
//! - `lot` and `shelf`: a lot's stock and expiry, and how a move changes
//!   one item's lots at one location; pure, natively unit-tested.
//! - `books`: lots, moves and their value, posted to the ledger.
//! - `api`: handlers for moves, lots, valuation and expired stock.
//! - `contract`: the types of what the operations read and answer.
//! - `provide`: `keel:erp/stock`, for other plugins.
#![deny(clippy::float_arithmetic)]

mod api;
mod books;
mod contract;
pub mod fefo;
mod lot;
mod provide;
mod shelf;

use keel_sdk::{Operations, Plugin, Request, Response, Result};
use keel_stock_kit::api as kit;

/// Each manifest operation with its handler.
const OPERATIONS: Operations = Operations::new(&[
    ("items.create", kit::create_item),
    ("items.list", kit::list_items),
    ("items.get", api::get_item),
    ("warehouses.create", kit::create_warehouse),
    ("locations.create", kit::create_location),
    ("locations.list", kit::list_locations),
    ("moves.receipt", api::receipt),
    ("moves.issue", api::issue),
    ("moves.transfer", api::transfer),
    ("moves.adjust", api::adjust),
    ("moves.list", kit::list_moves),
    ("lots.list", api::list_lots),
    ("stock.on-hand", |request| kit::on_hand(request, books::on_hand)),
    ("stock.valuation", kit::valuation),
    ("stock.expired", api::expired),
    ("settings.get", |_| kit::get_settings()),
    ("settings.put", kit::put_settings),
]);

struct InventoryLots;

impl Plugin for InventoryLots {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        OPERATIONS.handle(operation, &request)
    }
}

keel_sdk::export_plugin!(InventoryLots, contract = "keel.contract.json");

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_is_valid_and_every_operation_is_dispatched() {
        let manifest = keel_manifest::Manifest::parse(include_str!("../keel.toml")).unwrap();
        assert_eq!(manifest.id.as_str(), "inventory-lots");
        let mut declared: Vec<&str> = manifest.operations.iter().map(|op| op.id.as_str()).collect();
        let mut dispatched: Vec<&str> = super::OPERATIONS.ids().collect();
        declared.sort_unstable();
        dispatched.sort_unstable();
        assert_eq!(dispatched, declared, "each operation of the manifest has one handler");
    }

    #[test]
    fn contract_is_current_and_the_kernel_accepts_it() {
        crate::contract::contract().keep(crate::contract::FILE);
        let text = std::fs::read_to_string(crate::contract::FILE).unwrap();
        keel_manifest::Contract::parse_complete(&text, include_str!("../keel.toml")).unwrap();
    }
}
