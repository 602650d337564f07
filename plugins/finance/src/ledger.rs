//! The general ledger's business rules: pure, with no SDK imports and no
//! I/O, so they are unit-tested natively.

pub mod account;
pub mod amount;
pub mod balance;
pub mod date;
pub mod entry;

/// A broken business rule, reported to the client as 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

impl RuleError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
