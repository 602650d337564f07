//! Keel's procurement plugin: suppliers, requisitions, purchase orders,
//! goods receipts and supplier invoices.
//!
//! - [`rules`]: the business rules (the order's lifecycle, three-way match,
//!   what an invoice posts, settings), pure and natively unit-tested.
//! - `books`: how purchasing is stored and carried out, through the
//!   tenant's `keel:erp/stock` and `keel:erp/ledger` providers.
//! - `api`: one handler per manifest operation.
//! - `contract`: the types of what the operations read and answer.
//! - `deliver`: reorder events from either stock provider become draft
//!   requisitions.
#![deny(clippy::float_arithmetic)]

mod api;
mod books;
mod contract;
pub mod rules;

use keel_sdk::events::{self, Delivery};
use keel_sdk::{Error, Operations, Plugin, Request, Response, Result};

use crate::rules::order::ReorderCrossed;

/// Each manifest operation with its handler.
const OPERATIONS: Operations = Operations::new(&[
    ("suppliers.create", api::create_supplier),
    ("suppliers.list", api::list_suppliers),
    ("requisitions.create", api::create_requisition),
    ("requisitions.list", api::list_requisitions),
    ("orders.create", api::create_order),
    ("orders.list", api::list_orders),
    ("orders.get", api::get_order),
    ("orders.approve", api::approve),
    ("orders.receive", api::receive),
    ("orders.invoice", api::invoice),
    ("settings.get", |_| api::get_settings()),
    ("settings.put", api::put_settings),
]);

struct Procurement;

impl Plugin for Procurement {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        OPERATIONS.handle(operation, &request)
    }

    /// A stock provider's `reorder-point-crossed`: raise a draft
    /// requisition for the reorder quantity (or up to the reorder point
    /// when the item has none), once per event.
    fn deliver(delivery: Delivery) -> Result<()> {
        if !delivery.topic.ends_with(".reorder-point-crossed") {
            return Err(Error::invalid(format!("procurement does not handle {}", delivery.topic)));
        }
        let crossed: ReorderCrossed = events::payload(&delivery)?;
        let Some(quantity) = crossed.quantity()? else { return Ok(()) };
        books::reorder(&format!("{}/{}", delivery.publisher, delivery.key), &crossed.item, quantity)
    }
}

keel_sdk::export_plugin!(Procurement, contract = "keel.contract.json");

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_is_valid_and_every_operation_is_dispatched() {
        let manifest = keel_manifest::Manifest::parse(include_str!("../keel.toml")).unwrap();
        assert_eq!(manifest.id.as_str(), "procurement");
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
