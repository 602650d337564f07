//! What Keel's stock providers share, so that a sector variant such as
//! `inventory-lots` changes how stock is valued and picked, not how items,
//! locations and moves work. A library linked into each provider's
//! component; no plugin depends on another.
//!
//! - [`rules`]: quantities, valuation, dates and codes, pure and natively
//!   unit-tested.
//! - [`catalog`]: items, warehouses and locations, and the quantity per item
//!   and location.
//! - [`ledger`]: the accounts stock is valued in, and posting to them
//!   through `keel:erp/ledger`.
//! - [`moves`]: one document per move, audited, and the reorder event.
//! - [`api`]: the HTTP handlers every provider has.
//! - [`contract`]: their typed contract and answers, which a provider
//!   completes with its own moves.
//! - [`provide`]: the parts of `keel:erp/stock` every provider shares.
//!
//! A provider's manifest declares the collections used here: `items`,
//! `warehouses`, `locations`, `levels`, `moves` (indexed `by-item`) and
//! `settings`.
#![deny(clippy::float_arithmetic)]

pub mod api;
pub mod catalog;
pub mod contract;
pub mod ledger;
pub mod moves;
pub mod provide;
pub mod rules;
