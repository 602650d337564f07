//! Keel's finance plugin: the general ledger, its journals and fiscal
//! periods, payables and receivables.
//!
//! - [`ledger`]: the business rules, pure and natively unit-tested.
//! - `books`: how accounts, entries and running totals are stored.
//! - `api`: one handler per manifest operation.
//! - `contract`: the types of what each operation reads and answers.
//! - `provide`: `keel:erp/ledger`, the ledger other plugins post to.
//! - `upgrade`: stored documents brought up from earlier versions.
#![deny(clippy::float_arithmetic)]

mod api;
mod books;
mod contract;
pub mod ledger;
mod provide;
mod upgrade;

use keel_sdk::{Operations, Plugin, Request, Response, Result};

/// Each manifest operation with its handler.
const OPERATIONS: Operations = Operations::new(&[
    ("accounts.create", api::accounts::create),
    ("accounts.list", api::accounts::list),
    ("accounts.get", api::accounts::get),
    ("accounts.balance", api::reports::balance),
    ("accounts.ledger", api::reports::account_ledger),
    ("chart.templates", |_| api::accounts::templates()),
    ("chart.load", api::accounts::load_template),
    ("entries.post", api::entries::post),
    ("entries.list", api::entries::list),
    ("entries.get", api::entries::get),
    ("entries.reverse", api::entries::reverse),
    ("journals.list", api::journals::list),
    ("journals.create", api::journals::create),
    ("fiscal-years.create", api::periods::create_year),
    ("fiscal-years.list", api::periods::list_years),
    ("fiscal-years.get", api::periods::get_year),
    ("fiscal-years.close", api::periods::close_year),
    ("fiscal-years.reopen", api::periods::reopen_year),
    ("fiscal-years.lock", api::periods::lock_year),
    ("periods.list", api::periods::list_periods),
    ("periods.close", api::periods::close_period),
    ("periods.reopen", api::periods::reopen_period),
    ("periods.lock", api::periods::lock_period),
    ("reports.trial-balance", api::reports::trial_balance),
    ("reports.profit-and-loss", api::reports::profit_and_loss),
    ("reports.balance-sheet", api::reports::balance_sheet),
    ("payables.create", api::payables::create),
    ("payables.list", api::payables::list),
    ("payables.get", api::payables::get),
    ("payables.pay", api::payables::pay),
    ("payment-terms.create", api::receivables::create_terms),
    ("payment-terms.list", api::receivables::list_terms),
    ("customers.create", api::receivables::create_customer),
    ("customers.list", api::receivables::list_customers),
    ("customers.get", api::receivables::get_customer),
    ("invoices.create", api::receivables::create_invoice),
    ("invoices.list", api::receivables::list_invoices),
    ("invoices.get", api::receivables::get_invoice),
    ("invoices.update", api::receivables::update_invoice),
    ("invoices.delete", api::receivables::delete_invoice),
    ("invoices.post", api::receivables::post_invoice),
    ("receipts.create", api::receivables::create_receipt),
    ("receipts.get", api::receivables::get_receipt),
    ("reports.aged-receivables", api::reports::aged_receivables),
    ("reports.aged-payables", api::reports::aged_payables),
    ("tax-rates.create", api::tax::create),
    ("tax-rates.list", api::tax::list),
    ("reports.tax", api::tax::report),
    ("bank-statements.import", api::bank::import),
    ("bank-statements.get", api::bank::get),
    ("bank-statements.match", api::bank::match_line),
    ("bank-statements.unmatch", api::bank::unmatch_line),
    ("bank-statements.post", api::bank::post_line),
    ("bank-statements.reconciliation", api::bank::reconciliation),
    ("settings.get", api::currencies::get_settings),
    ("settings.update", api::currencies::update_settings),
    ("exchange-rates.create", api::currencies::create_rate),
    ("exchange-rates.import", api::currencies::import_rates),
    ("exchange-rates.list", api::currencies::list_rates),
    ("revaluations.create", api::currencies::revalue),
    ("revaluations.list", api::currencies::list_revaluations),
    ("revaluations.get", api::currencies::get_revaluation),
]);

struct Finance;

impl Plugin for Finance {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        OPERATIONS.handle(operation, &request)
    }

    fn migrate(from_version: Option<&str>) -> Result<()> {
        upgrade::migrate(from_version)
    }
}

keel_sdk::export_plugin!(Finance, contract = "keel.contract.json");

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_is_valid() {
        let manifest = keel_manifest::Manifest::parse(include_str!("../keel.toml")).unwrap();
        assert_eq!(manifest.id.as_str(), "finance");
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
