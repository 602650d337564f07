//! The business rules of stock: pure, with no SDK imports and no I/O, so
//! they are unit-tested natively. Dates, codes and the rule error are the
//! shared ones of `keel-values`.
//!
//! - [`accounts`]: the accounts stock is valued in, checked, and which
//!   each move debits and credits.
//! - [`catalog`]: items, warehouses, locations and levels, and their rules.
//! - [`moves`]: what a move request asks, the move it becomes, its audit
//!   detail, and when it crosses a reorder point.
//! - [`quantity`]: decimal strings in, normalised decimals out.
//! - [`valuation`]: a quantity and what it is worth, averaged as it moves.

pub mod accounts;
pub mod catalog;
pub mod moves;
pub mod quantity;
pub mod valuation;

pub use keel_values::RuleError;
