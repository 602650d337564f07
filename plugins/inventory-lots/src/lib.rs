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
//! - `books`: lots, moves and their value, posted to the ledger.
//! - `api`: handlers for moves, lots, valuation and expired stock.
//! - `provide`: `keel:erp/stock`, for other plugins.
#![deny(clippy::float_arithmetic)]

mod api;
mod books;
pub mod fefo;
mod provide;

use keel_sdk::{Error, Plugin, Request, Response, Result};
use keel_stock_kit::api as kit;

struct InventoryLots;

impl Plugin for InventoryLots {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        match operation {
            "items.create" => kit::create_item(&request),
            "items.list" => kit::list_items(&request),
            "items.get" => api::get_item(&request),
            "warehouses.create" => kit::create_warehouse(&request),
            "locations.create" => kit::create_location(&request),
            "locations.list" => kit::list_locations(&request),
            "moves.receipt" => api::receipt(&request),
            "moves.issue" => api::issue(&request),
            "moves.transfer" => api::transfer(&request),
            "moves.adjust" => api::adjust(&request),
            "moves.list" => kit::list_moves(&request),
            "lots.list" => api::list_lots(&request),
            "stock.on-hand" => kit::on_hand(&request, books::on_hand),
            "stock.valuation" => kit::valuation(&request),
            "stock.expired" => api::expired(&request),
            "settings.get" => kit::get_settings(),
            "settings.put" => kit::put_settings(&request),
            other => Err(Error::unknown_operation(other)),
        }
    }
}

keel_sdk::export_plugin!(InventoryLots);

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_is_valid_and_every_operation_is_dispatched() {
        let manifest = keel_manifest::Manifest::parse(include_str!("../keel.toml")).unwrap();
        assert_eq!(manifest.id.as_str(), "inventory-lots");
        let src = include_str!("lib.rs");
        for op in &manifest.operations {
            assert!(
                src.contains(&format!("\"{}\" =>", op.id)),
                "operation {} is not dispatched",
                op.id
            );
        }
    }
}
