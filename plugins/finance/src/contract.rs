//! The typed contract of the ledger's operations: what each reads and
//! answers, as Rust types the handlers use and schemars describes. The
//! kernel publishes it in the tenant's OpenAPI document and checks each
//! request body and query against it before the plugin runs.

use keel_sdk::contract::{Contract, JsonSchema, Schemas};
use keel_values::Date;
use rust_decimal::Decimal;

use crate::ledger::account::{Account, AccountType, NewAccount, Side};
use crate::ledger::balance::{CurrencyTotals, TrialBalanceRow};
use crate::ledger::entry::{Entry, NewEntry};
use crate::ledger::journal::{Journal, NewJournal};
use crate::ledger::payable::{NewPayable, Payable, Status};

/// The file beside `keel.toml` that the package embeds.
#[cfg(test)]
pub(crate) const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keel.contract.json");

/// The operations the contract types, with their schemas.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the native test writes keel.contract.json from it")
)]
pub(crate) fn contract() -> Contract {
    Contract::new()
        .operation("accounts.create", Schemas::new().request::<NewAccount>().response::<Account>())
        .operation(
            "accounts.list",
            Schemas::new().query::<AccountsQuery>().response::<AccountPage>(),
        )
        .operation("accounts.get", Schemas::new().response::<Account>())
        .operation("accounts.balance", Schemas::new().query::<AsOf>().response::<AccountBalance>())
        .operation("chart.templates", Schemas::new().response::<Templates>())
        .operation("chart.load", Schemas::new().request::<LoadTemplate>().response::<ChartLoaded>())
        .operation("entries.post", Schemas::new().request::<NewEntry>().response::<Entry>())
        .operation("entries.list", Schemas::new().query::<EntriesQuery>().response::<EntryPage>())
        .operation("entries.get", Schemas::new().response::<Entry>())
        .operation(
            "reports.trial-balance",
            Schemas::new().query::<AsOf>().response::<TrialBalanceAnswer>(),
        )
        .operation("journals.list", Schemas::new().response::<Journals>())
        .operation("journals.create", Schemas::new().request::<NewJournal>().response::<Journal>())
        .operation("payables.create", Schemas::new().request::<NewPayable>().response::<Payable>())
        .operation(
            "payables.list",
            Schemas::new().query::<PayablesQuery>().response::<PayablePage>(),
        )
        .operation("payables.get", Schemas::new().response::<Payable>())
        .operation("payables.pay", Schemas::new().request::<NewPayment>().response::<Payable>())
}

/// `?as_of=`: a report as of the end of a date; today's books without it.
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct AsOf {
    /// The last day included.
    as_of: Option<Date>,
}

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

/// `GET /payables?status=&supplier=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct PayablesQuery {
    /// Only those open, or only those paid.
    status: Option<Status>,
    /// Only those of this supplier, by code.
    supplier: Option<String>,
}

/// The journals: the built-in five, then the tenant's own by code.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct Journals {
    /// Each journal.
    pub(crate) journals: Vec<Journal>,
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
