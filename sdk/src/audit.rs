//! Business records in the tenant's tamper-evident audit trail.
//!
//! The kernel already records every document a plugin writes, with the
//! document before and after. An [`Event`] adds what the change means to
//! an auditor, such as "journal entry 42 posted", in the same transaction:
//! it is kept exactly when the call's changes are.

use crate::__private::bindings::keel::kernel::audit as wit;
use crate::Error;

/// One business event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Event<'a> {
    /// What happened, such as `entry.posted` (`a-z`, `0-9`, `-`, `.`; at
    /// most 64 bytes). The trail shows it prefixed with the plugin's id.
    pub action: &'a str,
    /// The collection of the document it concerns, if any (declared in the manifest).
    pub collection: Option<&'a str>,
    /// The key of the document it concerns, if any.
    pub key: Option<&'a str>,
    /// Words for the auditor, at most 4 KiB.
    pub detail: &'a str,
}

/// Appends `event` to the tenant's audit trail. Fails in a read-only
/// (GET) operation, for a malformed event, or past 256 events in one call.
pub fn record(event: Event<'_>) -> Result<(), Error> {
    let event = wit::Event {
        action: event.action.to_owned(),
        collection: event.collection.map(str::to_owned),
        key: event.key.map(str::to_owned),
        detail: event.detail.to_owned(),
    };
    wit::append(&event).map_err(Error::from_wit)
}
