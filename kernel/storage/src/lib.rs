//! Durable storage for the kernel and its plugins, on redb.
//!
//! This is the only crate that knows about redb: its API speaks in
//! namespaces, collections, keys, documents and transactions. Every plugin
//! document lives in a [`Namespace`] built by the kernel from the tenant and
//! plugin of the call, so a plugin can only ever name its own data.
//!
//! A call that may write holds one [`WriteTxn`]: writers take turns, each
//! atomic, in a transaction that commits durably for a whole batch of them
//! (group commit, in `batch`), and [`WriteTxn::commit`] returns only once
//! the batch is durable on disk. Reads use [`ReadTxn`] snapshots of durable
//! data and run concurrently with the writers.

mod batch;
mod docs;
mod error;
mod keys;
mod txn;
mod undo;

pub use batch::CommitStats;
pub use docs::{Entry, KeyRange, Page};
pub use error::{Error, Result};
pub use keys::Namespace;
pub use txn::{Announced, Closing, ReadTxn, Savepoint, Storage, Ticket, Txn, WriteTxn};

#[cfg(test)]
mod tests;
