//! The contract's fiscal years and periods: a year with its periods, the
//! lists, the periods' query, and what closing a year names.

use keel_sdk::contract::JsonSchema;

use crate::ledger::period::{FiscalYear, Period};

/// `GET /periods?year=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct PeriodsQuery {
    /// Only the periods of this fiscal year, by code.
    year: Option<String>,
}

/// A fiscal year with its periods.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct YearWithPeriods {
    /// The year.
    #[serde(flatten)]
    pub(crate) year: FiscalYear,
    /// Its months in order, then its adjustment period.
    pub(crate) periods: Vec<Period>,
}

/// The fiscal years.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct FiscalYears {
    /// Each year, by code.
    pub(crate) fiscal_years: Vec<FiscalYear>,
}

/// The periods.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct Periods {
    /// Each period (of the year asked for), by code.
    pub(crate) periods: Vec<Period>,
}

/// `POST /fiscal-years/{code}/close`
#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloseYear {
    /// The equity account that takes the year's profit or loss.
    pub(crate) retained_earnings: String,
}
