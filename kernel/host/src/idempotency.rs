//! Idempotency keys. A client that sends `Idempotency-Key` with an
//! operation that writes may send the same request again after an
//! ambiguous failure (a timeout, a dropped connection) and be sure it runs
//! once: the first success keeps its answer in the call's own transaction,
//! so the answer exists exactly when the call's writes do, and a retry gets
//! that answer back without running the plugin. The same key with another
//! request is refused. Keys belong to the caller in the tenant; answers
//! are kept for [`KEEP`] and then pruned.
//!
//! Catalog record `idempotency/<tenant>/<sha256 of caller and key>`.

use std::time::Duration;

use keel_storage::WriteTxn;
use keel_types::{TenantId, action};
use sha2::{Digest, Sha256};

use crate::call::{PluginRequest, PluginResponse};
use crate::error::CallError;

/// How long a kept answer is replayed.
pub(crate) const KEEP: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest key accepted, in bytes.
pub(crate) const KEY_BYTES_MAX: usize = 255;
/// Answers removed in one write when pruning.
const PRUNE_BATCH: usize = 500;

/// A client's idempotency key: 1 to [`KEY_BYTES_MAX`] visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a key as a client sent it.
    pub fn new(text: &str) -> Result<Self, String> {
        if text.is_empty() || text.len() > KEY_BYTES_MAX {
            return Err(format!("an idempotency key is 1 to {KEY_BYTES_MAX} characters"));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("an idempotency key is visible ASCII, without spaces".to_owned());
        }
        Ok(Self(text.to_owned()))
    }

    /// The key as the client sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A kept answer.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    /// What the request was: the same key with another request is refused.
    fingerprint: String,
    status: u16,
    /// The JSON body (empty for none), sealed with the data key.
    body: String,
    /// When it was kept, Unix seconds.
    at: i64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn catalog_key(tenant: &TenantId, caller: &str, key: &IdempotencyKey) -> String {
    let mut digest = Sha256::new();
    digest.update(caller.as_bytes());
    digest.update([0]);
    digest.update(key.as_str().as_bytes());
    format!("idempotency/{tenant}/{}", hex(&digest.finalize()))
}

/// What a request is, for telling a retry from another request.
fn fingerprint(plugin: &str, operation: &str, request: &PluginRequest) -> String {
    let mut digest = Sha256::new();
    for part in [plugin, operation, &request.method, &request.path] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part.as_bytes());
    }
    for (name, value) in &request.query {
        digest.update((name.len() as u64).to_be_bytes());
        digest.update(name.as_bytes());
        digest.update((value.len() as u64).to_be_bytes());
        digest.update(value.as_bytes());
    }
    digest.update((request.body.len() as u64).to_be_bytes());
    digest.update(&request.body);
    hex(&digest.finalize())
}

/// One call's idempotency: where its answer is kept, and what it asked.
pub(crate) struct Claim {
    key: String,
    fingerprint: String,
    client_key: String,
}

impl Claim {
    pub(crate) fn new(
        tenant: &TenantId,
        caller: &str,
        key: &IdempotencyKey,
        plugin: &str,
        operation: &str,
        request: &PluginRequest,
    ) -> Self {
        Self {
            key: catalog_key(tenant, caller, key),
            fingerprint: fingerprint(plugin, operation, request),
            client_key: key.as_str().to_owned(),
        }
    }

    /// The answer kept for this key, if one is (and still fresh at `now`);
    /// an error if the key was used for another request.
    pub(crate) fn kept(
        &self,
        txn: &WriteTxn,
        now: i64,
        keys: &crate::DataKeys,
    ) -> Result<Option<PluginResponse>, CallError> {
        let storage = CallError::Storage;
        let Some(bytes) = txn.catalog_get(&self.key).map_err(storage)? else { return Ok(None) };
        let kept: Kept = serde_json::from_slice(&bytes)
            .map_err(|err| CallError::Internal(format!("a kept answer is unreadable: {err}")))?;
        if kept.at.saturating_add(keep_seconds()) < now {
            return Ok(None);
        }
        if kept.fingerprint != self.fingerprint {
            return Err(CallError::IdempotencyKeyReused { key: self.client_key.clone() });
        }
        let body = keys.open(&self.key, &kept.body).map_err(CallError::Internal)?;
        Ok(Some(PluginResponse { status: kept.status, body: body.into_bytes(), replayed: true }))
    }

    /// Keeps `response` in the call's transaction, audited; its body
    /// sealed with the data key, as it may hold what a sensitive
    /// collection does.
    pub(crate) fn keep(
        &self,
        txn: &mut WriteTxn,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        response: &PluginResponse,
        keys: &crate::DataKeys,
    ) -> keel_storage::Result<()> {
        let body = keys
            .seal(&self.key, &String::from_utf8_lossy(&response.body))
            .map_err(keel_storage::Error::Backend)?;
        let kept = Kept {
            fingerprint: self.fingerprint.clone(),
            status: response.status,
            body,
            at: origin.at,
        };
        let bytes = serde_json::to_vec(&kept)
            .map_err(|err| keel_storage::Error::Backend(err.to_string()))?;
        txn.catalog_put(&self.key, &bytes)?;
        let record = keel_audit::Record {
            detail: Some(format!(
                "answer {} kept for idempotency key {}",
                response.status, self.client_key
            )),
            ..origin.record(action::IDEMPOTENCY_KEEP)
        };
        keel_audit::append(txn, &keel_audit::chain_of(Some(tenant)), record).map(drop)
    }
}

fn keep_seconds() -> i64 {
    i64::try_from(KEEP.as_secs()).unwrap_or(i64::MAX)
}

impl crate::Host {
    /// Removes the answers kept longer than a day for idempotency keys, in
    /// every tenant, a batch per audited write (`idempotency.prune`);
    /// returns how many. A tenant whose pruning fails is logged and the
    /// others are pruned all the same. Blocking.
    pub fn prune_idempotency(&self) -> Result<usize, String> {
        let now = self.now().seconds;
        let tenants = self.tenants().map_err(|err| err.to_string())?;
        crate::tenants::each_tenant(&tenants, "idempotency keys", |tenant| {
            prune(self.storage(), tenant, now)
        })
    }
}

/// Removes `tenant`'s answers kept longer than [`KEEP`] at `now`, a batch
/// per audited write; returns how many.
fn prune(
    storage: &keel_storage::Storage,
    tenant: &TenantId,
    now: i64,
) -> keel_storage::Result<usize> {
    let prefix = format!("idempotency/{tenant}/");
    let (mut after, mut n_removed) = (None::<String>, 0);
    loop {
        let page = storage.read()?.catalog_page(&prefix, after.as_deref(), PRUNE_BATCH)?;
        let Some((last, _)) = page.last() else { return Ok(n_removed) };
        after = Some(last.clone());
        let stale = |bytes: &[u8]| {
            serde_json::from_slice::<Kept>(bytes)
                .is_ok_and(|kept| kept.at.saturating_add(keep_seconds()) < now)
        };
        let old: Vec<String> =
            page.into_iter().filter(|(_, bytes)| stale(bytes)).map(|(key, _)| key).collect();
        if old.is_empty() {
            continue;
        }
        let mut txn = storage.write(&[keel_storage::Lane::Tenant(tenant.clone())])?;
        let mut removed = 0;
        for key in old {
            if txn.catalog_get(&key)?.is_some_and(|bytes| stale(&bytes)) {
                txn.catalog_remove(&key)?;
                removed += 1;
            }
        }
        if removed == 0 {
            continue;
        }
        let record = keel_audit::Record {
            detail: Some(format!("{removed} kept answers of idempotency keys removed")),
            ..keel_audit::Origin::kernel(now).record(action::IDEMPOTENCY_PRUNE)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(Some(tenant)), record)?;
        txn.commit()?;
        n_removed += removed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::new("order-2026-0001").is_ok());
        assert!(IdempotencyKey::new(&"k".repeat(KEY_BYTES_MAX)).is_ok());
        for bad in ["", "with space", "tab\there", "é", &"k".repeat(KEY_BYTES_MAX + 1)] {
            assert!(IdempotencyKey::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_retry_matches_and_another_request_does_not() {
        let request = |body: &str| PluginRequest {
            method: "POST".to_owned(),
            path: "/entries".to_owned(),
            params: Vec::new(),
            query: Vec::new(),
            body: body.as_bytes().to_vec(),
        };
        let a = fingerprint("finance", "post-entry", &request("{}"));
        assert_eq!(a, fingerprint("finance", "post-entry", &request("{}")));
        assert_ne!(a, fingerprint("finance", "post-entry", &request("{ }")));
        assert_ne!(a, fingerprint("finance", "other", &request("{}")));
        assert_ne!(a, fingerprint("financ", "epost-entry", &request("{}")), "parts are framed");
    }
}
