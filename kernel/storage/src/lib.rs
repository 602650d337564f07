//! Durable storage for the kernel and its plugins, on redb.
//!
//! This is the only crate that knows about redb: its API speaks in
//! namespaces, collections, keys, documents and transactions. Every plugin
//! document lives in a [`Namespace`] built by the kernel from the tenant and
//! plugin of the call, so a plugin can only ever name its own data.
//!
//! A call that may write holds one [`WriteTxn`]; [`WriteTxn::commit`] returns
//! only once the change is durable on disk, and concurrent commits share
//! their fsyncs (group commit, in `durable`). Reads use [`ReadTxn`]
//! snapshots of durable data and run concurrently with the single writer.

mod docs;
mod durable;
mod error;
mod keys;
mod txn;

pub use docs::{Entry, KeyRange, Page};
pub use durable::CommitStats;
pub use error::{Error, Result};
pub use keys::Namespace;
pub use txn::{ReadTxn, Storage, Txn, WriteTxn};

#[cfg(test)]
mod tests;
