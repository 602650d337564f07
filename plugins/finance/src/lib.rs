//! Keel's finance plugin: the general ledger.
//!
//! - [`ledger`]: the business rules, pure and natively unit-tested.
//! - `books`: how accounts, entries and running totals are stored.
//! - `api`: one handler per manifest operation.
//! - `provide`: `keel:erp/ledger`, the ledger other plugins post to.
#![deny(clippy::float_arithmetic)]

mod api;
mod books;
pub mod ledger;
mod provide;

use keel_sdk::{Error, Plugin, Request, Response, Result};

struct Finance;

impl Plugin for Finance {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        match operation {
            "accounts.create" => api::accounts::create(&request),
            "accounts.list" => api::accounts::list(&request),
            "accounts.get" => api::accounts::get(&request),
            "accounts.balance" => api::reports::balance(&request),
            "chart.templates" => api::accounts::templates(),
            "chart.load" => api::accounts::load_template(&request),
            "entries.post" => api::entries::post(&request),
            "entries.list" => api::entries::list(&request),
            "entries.get" => api::entries::get(&request),
            "reports.trial-balance" => api::reports::trial_balance(&request),
            "payables.create" => api::payables::create(&request),
            "payables.list" => api::payables::list(&request),
            "payables.get" => api::payables::get(&request),
            "payables.pay" => api::payables::pay(&request),
            other => Err(Error::unknown_operation(other)),
        }
    }
}

keel_sdk::export_plugin!(Finance);

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_is_valid() {
        let manifest = keel_manifest::Manifest::parse(include_str!("../keel.toml")).unwrap();
        assert_eq!(manifest.id.as_str(), "finance");
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
