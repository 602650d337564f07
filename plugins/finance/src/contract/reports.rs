//! The contract's reports: an account's balance, the trial balance, the
//! financial statements and the aged balances, with their queries.

use keel_sdk::contract::JsonSchema;
use keel_values::Date;
use rust_decimal::Decimal;

use crate::ledger::account::{AccountType, Side};
use crate::ledger::aging::{AgedRow, Buckets};
use crate::ledger::balance::{CurrencyTotals, TrialBalanceRow};
use crate::ledger::statement::{BalanceSheet, FlatRow, ProfitAndLoss};

/// `?as_of=`: a report as of the end of a date; today's books without it.
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct AsOf {
    /// The last day included.
    as_of: Option<Date>,
}

/// `?from=&to=`: a report over a range of days, both required.
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct Between {
    /// The first day included.
    from: Date,
    /// The last day included, not before `from`.
    to: Date,
}

/// `GET /reports/profit-and-loss?from=&to=&compare_from=&compare_to=&currency=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct ProfitAndLossQuery {
    /// The first day included.
    from: Date,
    /// The last day included, not before `from`.
    to: Date,
    /// The first day of a comparative range; with `compare_to`.
    compare_from: Option<Date>,
    /// The last day of the comparative range; with `compare_from`.
    compare_to: Option<Date>,
    /// The company's currency, which statements are in; any other is
    /// refused.
    currency: Option<String>,
}

/// `GET /reports/balance-sheet?as_of=&compare_as_of=&currency=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct BalanceSheetQuery {
    /// The last day included; today's books if none.
    as_of: Option<Date>,
    /// The last day of a comparative column.
    compare_as_of: Option<Date>,
    /// The company's currency, which statements are in; any other is
    /// refused.
    currency: Option<String>,
}

/// An account's balance as of a date.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct AccountBalance {
    /// The account code.
    pub(crate) account: String,
    /// Its name.
    pub(crate) name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub(crate) kind: AccountType,
    /// The company's currency, which the amounts are in.
    pub(crate) currency: String,
    /// The last day included; null for everything posted.
    pub(crate) as_of: Option<Date>,
    /// The sum of its debits.
    pub(crate) debit: Decimal,
    /// The sum of its credits.
    pub(crate) credit: Decimal,
    /// The side its balance normally falls on.
    pub(crate) normal_side: Side,
    /// The balance on its normal side (negative on the other).
    pub(crate) balance: Decimal,
    /// For an account kept in a foreign currency: the same in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) foreign: Option<ForeignBalance>,
}

/// An account's totals in the foreign currency it is kept in.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct ForeignBalance {
    /// The currency, such as `USD`.
    pub(crate) currency: String,
    /// The sum of its debits in it.
    pub(crate) debit: Decimal,
    /// The sum of its credits in it.
    pub(crate) credit: Decimal,
    /// The balance on the account's normal side.
    pub(crate) balance: Decimal,
}

/// The trial balance.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct TrialBalanceAnswer {
    /// The last day included; null for everything posted.
    pub(crate) as_of: Option<Date>,
    /// The accounts with any activity, by code.
    pub(crate) rows: Vec<TrialBalanceRow>,
    /// The column totals of each currency.
    pub(crate) totals: Vec<CurrencyTotals>,
}

/// The profit and loss account over a range, by section and as one list.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct ProfitAndLossAnswer {
    /// Income, expense and the net profit.
    #[serde(flatten)]
    pub(crate) report: ProfitAndLoss,
    /// The same lines in one list, income then expense: what an export
    /// shows.
    pub(crate) rows: Vec<FlatRow>,
    /// The first day included.
    pub(crate) from: Date,
    /// The last day included.
    pub(crate) to: Date,
    /// The company's currency, which the amounts are in.
    pub(crate) currency: String,
    /// The first day of the comparative range, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compare_from: Option<Date>,
    /// The last day of the comparative range, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compare_to: Option<Date>,
}

/// The balance sheet at a date, by section and as one list.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct BalanceSheetAnswer {
    /// Assets, liabilities and equity, and whether they balance.
    #[serde(flatten)]
    pub(crate) report: BalanceSheet,
    /// The same lines in one list, assets, liabilities then equity: what
    /// an export shows.
    pub(crate) rows: Vec<FlatRow>,
    /// The last day included; null for everything posted.
    pub(crate) as_of: Option<Date>,
    /// The company's currency, which the amounts are in.
    pub(crate) currency: String,
    /// The last day of the comparative column, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compare_as_of: Option<Date>,
}

/// Whose balances an aged report shows.
#[derive(Clone, Copy, serde::Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Party {
    /// What customers owe.
    Customer,
    /// What suppliers are owed.
    Supplier,
}

/// What each customer owes, or each supplier is owed, by how long past
/// due.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct AgedAnswer {
    /// The day it is aged at: today if none was asked for.
    pub(crate) as_of: Date,
    /// Whether the rows are customers or suppliers.
    pub(crate) party: Party,
    /// Each party with anything open, by code.
    pub(crate) rows: Vec<AgedRow>,
    /// The buckets' totals over every party.
    pub(crate) totals: Buckets,
}
