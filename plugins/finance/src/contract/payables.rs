//! The contract's payables: their list's query and page, and a payment as
//! a client submits it.

use keel_sdk::contract::JsonSchema;
use rust_decimal::Decimal;

use crate::ledger::payable::{Payable, Status};

/// `GET /payables?status=&supplier=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct PayablesQuery {
    /// Only those open, or only those paid.
    status: Option<Status>,
    /// Only those of this supplier, by code.
    supplier: Option<String>,
}

/// A page of supplier invoices, and what they leave open.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct PayablePage {
    /// The payables, by number (or by status, when filtered by it).
    pub(crate) payables: Vec<Payable>,
    /// What this page's payables leave open, in their own currencies.
    pub(crate) open_total: Decimal,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// A payment of a payable, as a client submits it.
#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPayment {
    /// How much, as a decimal string; no more than is open.
    #[schemars(with = "String")]
    pub(crate) amount: serde_json::Value,
    /// When it was paid.
    #[schemars(with = "keel_values::Date")]
    pub(crate) date: String,
    /// The account it comes out of; the bank, 1100, if none.
    #[serde(default)]
    pub(crate) account: Option<String>,
    /// The rate paid at, if the payable is foreign; the date's if none.
    #[serde(default)]
    pub(crate) rate: Option<String>,
}
