//! The general ledger's business rules: pure, with no SDK imports and no
//! I/O, so they are unit-tested natively.

pub mod account;
pub mod aging;
pub mod amount;
pub mod balance;
pub mod bank;
pub mod camt;
pub mod closing;
pub mod entry;
pub mod fx;
pub mod general_ledger;
pub mod journal;
pub mod payable;
pub mod period;
pub mod receipt;
pub mod receivable;
pub mod settings;
pub mod statement;
pub mod tax;
pub mod terms;

pub use keel_values::RuleError;
