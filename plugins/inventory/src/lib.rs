//! Keel's inventory plugin: items, locations, stock moves and their value.
//!
//!
//! The catalogue, locations, moves, ledger accounts and their rules are
//! `keel_stock_kit`'s, shared with the `inventory-lots` variant; what is
//! this plugin's own is moving-average valuation.
//!
//! - `books`: moves valued at moving average and posted to the ledger.
//! - `api`: handlers for moves and valuation.
//! - `provide`: `keel:erp/stock`, for other plugins.
#![deny(clippy::float_arithmetic)]

mod api;
mod books;
mod provide;

use keel_sdk::{Error, Plugin, Request, Response, Result};
use keel_stock_kit::api as kit;

struct Inventory;

impl Plugin for Inventory {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        match operation {
            "items.create" => kit::create_item(&request),
            "items.list" => kit::list_items(&request),
            "items.get" => kit::get_item(&request, |_| Ok(Vec::new())),
            "warehouses.create" => kit::create_warehouse(&request),
            "locations.create" => kit::create_location(&request),
            "locations.list" => kit::list_locations(&request),
            "moves.receipt" => api::receipt(&request),
            "moves.issue" => api::issue(&request),
            "moves.transfer" => api::transfer(&request),
            "moves.adjust" => api::adjust(&request),
            "moves.list" => kit::list_moves(&request),
            "stock.on-hand" => kit::on_hand(&request, |item, at| books::on_hand(&item.code, at)),
            "stock.valuation" => kit::valuation(&request),
            "settings.get" => kit::get_settings(),
            "settings.put" => kit::put_settings(&request),
            other => Err(Error::unknown_operation(other)),
        }
    }
}

keel_sdk::export_plugin!(Inventory);

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_is_valid_and_every_operation_is_dispatched() {
        let manifest = keel_manifest::Manifest::parse(include_str!("../keel.toml")).unwrap();
        assert_eq!(manifest.id.as_str(), "inventory");
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
