//! The contract's currencies: exchange rates imported and listed, and the
//! revaluations' request and list.

use keel_sdk::contract::JsonSchema;
use keel_values::Date;

use crate::ledger::fx::{Rate, Revaluation};

/// `GET /exchange-rates?currency=&from=&to=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct RatesQuery {
    /// Only the rates of this currency, such as `USD`.
    currency: Option<String>,
    /// Rates from this day on; with `currency`.
    from: Option<Date>,
    /// Rates up to this day; with `currency`.
    to: Option<Date>,
}

/// What an import of exchange rates kept.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct RatesImported {
    /// How many rates.
    pub(crate) imported: usize,
    /// The rates, in the file's order.
    pub(crate) rates: Vec<Rate>,
}

/// A page of exchange rates.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct RatePage {
    /// The rates, by currency and date.
    pub(crate) rates: Vec<Rate>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// `POST /revaluations`
#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevaluationAt {
    /// The last day of a month.
    #[schemars(with = "keel_values::Date")]
    pub(crate) date: String,
}

/// A page of revaluations.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct RevaluationPage {
    /// The revaluations, by date.
    pub(crate) revaluations: Vec<Revaluation>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}
