//! Kernel records: how the kernel's own catalog records (outbox cursors,
//! dead letters, timers, schedules) are stored, read back and audited.
//! A leaf: the modules that keep such records share it.

use keel_storage::WriteTxn;
use keel_types::{TenantId, Timestamp};

/// A kernel record as stored: JSON.
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> keel_storage::Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|err| keel_storage::Error::Backend(err.to_string()))
}

/// A kernel record read back; `what` names it if it is unreadable.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> keel_storage::Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|err| keel_storage::Error::Backend(format!("stored {what} is unreadable: {err}")))
}

/// Appends a kernel record about `plugin` to `tenant`'s audit chain in `txn`.
pub(crate) fn audit(
    txn: &mut WriteTxn,
    origin: &keel_audit::Origin,
    tenant: &TenantId,
    plugin: &str,
    action: keel_types::Action,
    detail: String,
) -> keel_storage::Result<()> {
    let record = keel_audit::Record {
        plugin: Some(plugin.to_owned()),
        detail: Some(detail),
        ..origin.record(action)
    };
    keel_audit::append(txn, &keel_audit::chain_of(Some(tenant)), record).map(drop)
}

/// `at` in Unix milliseconds, the unit of the kernel's due times.
pub(crate) fn unix_ms(at: &Timestamp) -> i64 {
    at.seconds.saturating_mul(1000).saturating_add(i64::from(at.nanoseconds / 1_000_000))
}
