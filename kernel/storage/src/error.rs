//! The storage error type.

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `insert` found the key already present.
    #[error("{collection}/{key} already exists")]
    Conflict {
        /// The collection written to.
        collection: String,
        /// The existing key.
        key: String,
    },
    /// The input is malformed: a bad key, a document that is not a JSON object, a bad cursor.
    #[error("{0}")]
    Invalid(String),
    /// A storage limit was exceeded.
    #[error("{0}")]
    LimitExceeded(String),
    /// A commit would leave a tenant storing more than its quota; nothing
    /// was changed.
    #[error(
        "tenant {tenant} stores {stored} bytes and this change needs {needed} more, past its storage quota of {quota} bytes; delete data it no longer needs, or ask an administrator to raise the quota"
    )]
    QuotaExceeded {
        /// The tenant.
        tenant: String,
        /// The bytes it stores.
        stored: u64,
        /// The bytes the change adds.
        needed: u64,
        /// Its quota.
        quota: u64,
    },
    /// A write was attempted on a read-only transaction.
    #[error(
        "this call runs on a read snapshot and cannot write; use a non-GET operation to change data"
    )]
    ReadOnly,
    /// A transaction changed data without appending its audit record; it
    /// was rolled back. A kernel bug, never a client's fault.
    #[error("refused to commit a change without its audit record: {0}")]
    Unaudited(String),
    /// The writer gave up waiting for its turn (its caller stopped waiting).
    #[error("gave up waiting for the turn to write")]
    GaveUp,
    /// The database failed underneath; the transaction must be abandoned.
    #[error("storage failed: {0}")]
    Backend(String),
    /// A file of the store (its write-ahead log, a segment, the data
    /// directory) could not be read, written or synced, or a storage
    /// thread could not start; the transaction must be abandoned.
    #[error("storage failed: cannot {what}: {source}")]
    Io {
        /// What was being done, and to which file.
        what: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The database file failed underneath (redb), with its own error as
    /// the source; the transaction must be abandoned.
    #[error("the database failed: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A storage result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps any redb failure as [`Error::Database`], keeping it as the source.
pub(crate) fn backend(err: impl Into<redb::Error>) -> Error {
    Error::Database(Box::new(err.into()))
}
