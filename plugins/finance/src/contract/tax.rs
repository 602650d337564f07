//! The contract's tax: the list of rates, and the tax report of a range.

use keel_sdk::contract::JsonSchema;
use keel_values::Date;
use rust_decimal::Decimal;

use crate::ledger::tax::{TaxRate, TaxReport};

/// The tax rates.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct TaxRates {
    /// Each rate, by code.
    pub(crate) tax_rates: Vec<TaxRate>,
}

/// Tax collected, paid and due over a range of days.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct TaxReportAnswer {
    /// The first day included.
    pub(crate) from: Date,
    /// The last day included.
    pub(crate) to: Date,
    /// What was collected and paid, and the difference due.
    #[serde(flatten)]
    pub(crate) report: TaxReport,
    /// What moved on each tax account over the range, by code.
    pub(crate) accounts: Vec<TaxAccount>,
}

/// What moved on one tax account over a report's range.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct TaxAccount {
    /// The account code.
    pub(crate) account: String,
    /// The sum of its debits.
    pub(crate) debit: Decimal,
    /// The sum of its credits.
    pub(crate) credit: Decimal,
}
