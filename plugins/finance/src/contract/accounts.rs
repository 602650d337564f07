//! The contract's accounts, chart templates, entries and journals: their
//! queries, and the answers that wrap the ledger's records.

use keel_sdk::contract::JsonSchema;
use keel_values::Date;
use rust_decimal::Decimal;

use crate::ledger::account::{Account, AccountType};
use crate::ledger::entry::Entry;
use crate::ledger::general_ledger::LedgerRow;
use crate::ledger::journal::Journal;

/// `GET /accounts?type=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct AccountsQuery {
    /// Only accounts of this type.
    #[serde(rename = "type")]
    kind: Option<AccountType>,
}

/// `GET /entries?from=&to=&account=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct EntriesQuery {
    /// Entries dated on or after this day.
    from: Option<Date>,
    /// Entries dated on or before this day.
    to: Option<Date>,
    /// Only entries with a line on this account, by number.
    account: Option<String>,
}

/// `GET /accounts/{code}/ledger?from=&to=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct Dates {
    /// Entries dated on or after this day; from the first if none.
    from: Option<Date>,
    /// Entries dated on or before this day; to the last if none.
    to: Option<Date>,
}

/// A page of accounts.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct AccountPage {
    /// The accounts, by code.
    pub(crate) accounts: Vec<Account>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// A page of entries.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct EntryPage {
    /// The entries: by date when filtered by date only, else by number.
    pub(crate) entries: Vec<Entry>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// A page of an account's ledger: its entries in date order, each with
/// the running balance after it.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct LedgerPage {
    /// The account code.
    pub(crate) account: String,
    /// Its name.
    pub(crate) name: String,
    /// The currency it is kept in.
    pub(crate) currency: String,
    /// The first day asked for; null for none.
    pub(crate) from: Option<Date>,
    /// The last day asked for; null for none.
    pub(crate) to: Option<Date>,
    /// The balance before this page's first entry, on the account's
    /// normal side.
    pub(crate) opening_balance: Decimal,
    /// The entries with a line on the account, by date then number.
    pub(crate) rows: Vec<LedgerRow>,
    /// The balance after this page's last entry.
    pub(crate) closing_balance: Decimal,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// The chart templates there are.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct Templates {
    /// Their names, such as `starter`.
    pub(crate) templates: Vec<String>,
}

/// `POST /chart-templates/{template}`
#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoadTemplate {
    /// The currency the chart is kept in, such as `EUR`; it becomes the
    /// company's when none is set.
    pub(crate) currency: String,
}

/// What loading a chart template did.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct ChartLoaded {
    /// The codes of the accounts created.
    pub(crate) created: Vec<String>,
    /// The codes that already existed, left as they were.
    pub(crate) skipped: Vec<String>,
    /// The template loaded.
    pub(crate) template: String,
}

/// The journals: the built-in five, then the tenant's own by code.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct Journals {
    /// Each journal.
    pub(crate) journals: Vec<Journal>,
}
