//! The values every Keel module shares, written once with one set of
//! bounds: pure, with no SDK and no I/O, so that the pure cores of plugins
//! use them and they are unit- and property-tested natively.
//!
//! - [`RuleError`]: a broken business rule, which a plugin answers as 422.
//! - [`date`]: calendar dates as `YYYY-MM-DD`, days between them, months.
//! - [`decimal`]: exact amounts of money and quantities, from the decimal
//!   strings clients send.
//! - [`code`]: codes of records, ledger accounts and currencies.
//! - [`page`]: the paging rule of every list (`?limit=`, `?cursor=`).
//! - [`zone`]: IANA time zones: an instant on a place's wall clock, and
//!   back.
#![deny(clippy::float_arithmetic)]

pub mod code;
pub mod date;
pub mod decimal;
mod error;
pub mod page;
pub mod zone;

pub use date::{Date, Weekday};
pub use decimal::Sign;
pub use error::RuleError;
pub use zone::Zone;
