//! The business rules of purchasing: pure, with no SDK imports and no I/O,
//! so they are unit-tested natively. Dates, amounts, quantities, codes and
//! the rule error are the shared ones of `keel-values`.
//!
//! - [`documents`]: suppliers, requisitions, orders, receipts and invoices
//!   as stored, and the checks a new supplier meets.
//! - [`order`]: an order's lines and its lifecycle, from approval to
//!   closing, and requisitions.
//! - [`matching`]: the three-way match of an order line, its receipts and
//!   its invoices.
//! - [`posting`]: what a matched invoice posts to the ledger.
//! - [`settings`]: the thresholds, tolerance and accounts a tenant sets.

pub mod documents;
pub mod matching;
pub mod order;
pub mod posting;
pub mod settings;

pub use keel_values::RuleError;
