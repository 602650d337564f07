//! What every identity change shares: the lane it writes in, its audit
//! record, and its JSON.

use keel_audit::Origin;
use keel_storage::Lane;
use keel_types::TenantId;

use crate::IdentityError;

/// The lane of a tenant's records, or of the platform's.
pub(crate) fn lane(tenant: Option<&TenantId>) -> Lane {
    tenant.map_or(Lane::Platform, |t| Lane::Tenant(t.clone()))
}

/// Appends `record` to the chain of `tenant` (or the platform's) in `txn`.
pub(crate) fn audit(
    txn: &mut keel_storage::WriteTxn,
    tenant: Option<&TenantId>,
    record: keel_audit::Record,
) -> Result<(), IdentityError> {
    keel_audit::append(txn, &keel_audit::chain_of(tenant), record).map(drop).map_err(storage)
}

/// What an admin change did to one kernel record, as the trail shows it:
/// never with a secret (hashes, digests and TOTP seeds stay out).
#[derive(Default)]
pub(crate) struct Change {
    collection: &'static str,
    key: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    pub(crate) detail: Option<String>,
}

impl Change {
    pub(crate) fn new(collection: &'static str, key: &str) -> Self {
        Self { collection, key: key.to_owned(), ..Self::default() }
    }

    pub(crate) fn before(mut self, value: &impl serde::Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub(crate) fn after(mut self, value: &impl serde::Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }

    pub(crate) fn record(self, origin: &Origin, action: keel_types::Action) -> keel_audit::Record {
        keel_audit::Record {
            collection: Some(self.collection.to_owned()),
            key: Some(self.key),
            before: self.before,
            after: self.after,
            detail: self.detail,
            ..origin.record(action)
        }
    }
}

pub(crate) fn storage(err: keel_storage::Error) -> IdentityError {
    IdentityError::Storage(err)
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, IdentityError> {
    serde_json::to_vec(value)
        .map_err(|err| IdentityError::Corrupt(format!("cannot write an identity record: {err}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, IdentityError> {
    serde_json::from_slice(bytes)
        .map_err(|err| IdentityError::Corrupt(format!("corrupt identity record: {err}")))
}
