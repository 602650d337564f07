//! Keel's inventory plugin: items, locations, stock moves and their value.
//!
//! - [`stock`]: the business rules (quantities, moving-average valuation),
//!   pure and natively unit-tested.
//! - `books`: how stock is stored, moved, and posted to the ledger.
//! - `api`: one handler per manifest operation.
//! - `provide`: `keel:erp/stock`, for other plugins.
#![deny(clippy::float_arithmetic)]

mod api;
mod books;
mod provide;
pub mod stock;

use keel_sdk::{Error, Plugin, Request, Response, Result};

struct Inventory;

impl Plugin for Inventory {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        match operation {
            "items.create" => api::create_item(&request),
            "items.list" => api::list_items(&request),
            "items.get" => api::get_item(&request),
            "warehouses.create" => api::create_warehouse(&request),
            "locations.create" => api::create_location(&request),
            "locations.list" => api::list_locations(&request),
            "moves.receipt" => api::receipt(&request),
            "moves.issue" => api::issue(&request),
            "moves.transfer" => api::transfer(&request),
            "moves.adjust" => api::adjust(&request),
            "moves.list" => api::list_moves(&request),
            "stock.on-hand" => api::on_hand(&request),
            "stock.valuation" => api::valuation(&request),
            "settings.get" => api::get_settings(),
            "settings.put" => api::put_settings(&request),
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
