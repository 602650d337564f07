//! Durable storage for the kernel and its plugins, on redb.
//!
//! This is the only crate that knows about redb: its API speaks in
//! namespaces, collections, keys, documents, lanes and transactions. Every
//! plugin document lives in a [`Namespace`] built by the kernel from the
//! tenant and plugin of the call, so a plugin can only ever name its own
//! data.
//!
//! Writes take turns per [`Lane`] (each tenant is one, the platform
//! another), so writers of different tenants never wait for each other.
//! A commit is durable once its record in the write-ahead log is synced;
//! the lane's concurrent writers share that sync (group commit), and redb
//! receives the commit later, in the background. Reads use [`ReadTxn`]
//! snapshots of durable data and run concurrently with the writers.
//!
//! - `keys`: the byte layout of keys, and the lane each belongs to;
//! - `lane`: a lane's turns, its tip of pending commits, and group commit;
//! - `wal`: the write-ahead log's segments and records, and what recovery reads;
//! - `overlay`: the pending writes readers see, over a redb snapshot;
//! - `apply`: the applier thread, checkpoints, and recovery;
//! - `store`: what all transactions of a database share;
//! - `docs`: documents, indexes and pages;
//! - `inventory`: everything a lane holds, walked for audit verification;
//! - `usage`: the bytes a tenant's lane stores, for its quota;
//! - `txn`: [`Storage`], [`ReadTxn`], [`WriteTxn`] and [`Ticket`]; a
//!   snapshot's copy into a database file of its own, for backups.

mod apply;
mod docs;
mod error;
#[cfg(feature = "faults")]
mod faults;
mod inventory;
mod keys;
mod lane;
mod overlay;
mod store;
mod txn;
mod usage;
mod wal;

pub use docs::{Entry, KeyRange, Page, indexed_values};
pub use error::{Error, Result};
#[cfg(feature = "faults")]
pub use faults::{Fault, Faults};
pub use inventory::Stored;
pub use keys::{Lane, Namespace};
pub use txn::{
    Closing, CommitStats, Copied, DocChange, ReadTxn, Savepoint, Storage, Ticket, Txn, WriteTxn,
};

#[cfg(test)]
mod tests;
