//! Keel's inventory plugin: items, locations, stock moves and their value.
//!
//!
//! The catalogue, locations, moves, ledger accounts and their rules are
//! `keel_stock_kit`'s, shared with the `inventory-lots` variant; what is
//! this plugin's own is moving-average valuation.
//!
//! - `books`: moves valued at moving average and posted to the ledger.
//! - `api`: handlers for moves and valuation.
//! - `contract`: the types of what the operations read and answer.
//! - `provide`: `keel:erp/stock`, for other plugins.
#![deny(clippy::float_arithmetic)]

mod api;
mod books;
mod contract;
mod provide;

use keel_sdk::{Operations, Plugin, Request, Response, Result};
use keel_stock_kit::api as kit;

/// Each manifest operation with its handler.
const OPERATIONS: Operations = Operations::new(&[
    ("items.create", kit::create_item),
    ("items.list", kit::list_items),
    ("items.get", kit::get_item),
    ("warehouses.create", kit::create_warehouse),
    ("locations.create", kit::create_location),
    ("locations.list", kit::list_locations),
    ("moves.receipt", api::receipt),
    ("moves.issue", api::issue),
    ("moves.transfer", api::transfer),
    ("moves.adjust", api::adjust),
    ("moves.list", kit::list_moves),
    ("stock.on-hand", |request| kit::on_hand(request, |item, at| books::on_hand(&item.code, at))),
    ("stock.valuation", kit::valuation),
    ("settings.get", |_| kit::get_settings()),
    ("settings.put", kit::put_settings),
]);

struct Inventory;

impl Plugin for Inventory {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        OPERATIONS.handle(operation, &request)
    }
}

keel_sdk::export_plugin!(Inventory, contract = "keel.contract.json");

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_is_valid_and_every_operation_is_dispatched() {
        let manifest = keel_manifest::Manifest::parse(include_str!("../keel.toml")).unwrap();
        assert_eq!(manifest.id.as_str(), "inventory");
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
