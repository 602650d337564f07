//! The contract's bank reconciliation: matching and posting a statement
//! line, and the reconciliation of a statement against the ledger.

use keel_sdk::contract::JsonSchema;
use keel_values::Date;
use rust_decimal::Decimal;

/// `POST /bank-statements/{id}/lines/{line}/match`
#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatchLine {
    /// The number of the entry that moved the bank account by the line's
    /// amount.
    pub(crate) entry: u64,
}

/// `POST /bank-statements/{id}/lines/{line}/post`
#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostLine {
    /// The account the line is posted against, not the bank's own.
    pub(crate) account: String,
    /// What the entry says; the line's description, statement and number
    /// if none.
    #[serde(default)]
    pub(crate) memo: Option<String>,
}

/// A statement's closing balance against the ledger's: the ledger's
/// balance at the statement's last date, less its movements no line
/// matched, plus the lines not in the ledger, comes to the statement's
/// balance when everything is explained.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct Reconciliation {
    /// The statement, `BS-000001`.
    pub(crate) statement: String,
    /// The bank account.
    pub(crate) account: String,
    /// The statement's last date.
    pub(crate) to: Date,
    /// The account's balance at the end of `to`, in the currency it is
    /// kept in.
    pub(crate) ledger_balance: Decimal,
    /// The account's movements that no statement line matched.
    pub(crate) outstanding_entries: Vec<Outstanding>,
    /// What they come to.
    pub(crate) outstanding_total: Decimal,
    /// The positions of the statement's lines neither matched nor posted.
    pub(crate) unmatched_lines: Vec<u32>,
    /// What they come to.
    pub(crate) unmatched_total: Decimal,
    /// What the lines matched to entries dated after the statement come
    /// to.
    pub(crate) matched_after_statement: Decimal,
    /// The ledger's balance with all of that explained.
    pub(crate) reconciled_balance: Decimal,
    /// The statement's closing balance.
    pub(crate) statement_balance: Decimal,
    /// The statement's balance less the reconciled one.
    pub(crate) difference: Decimal,
    /// Whether every line is matched or posted and nothing is left over.
    pub(crate) reconciled: bool,
}

/// A movement of the bank account that no statement line matched.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct Outstanding {
    /// The entry's number.
    pub(crate) entry: u64,
    /// Its date.
    pub(crate) date: Date,
    /// What it moved on the account, debits positive.
    pub(crate) amount: Decimal,
}
