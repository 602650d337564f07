//! Tenants as the kernel keeps them: created, renamed and deleted on the
//! platform's lane, each with its storage quota and what it stores.

use keel_storage::{Lane, WriteTxn};
use keel_types::{TenantId, action};

use crate::error::CallError;
use crate::host::Host;

/// A tenant as the kernel knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantInfo {
    /// Its id, also its URL segment.
    pub id: TenantId,
    /// Its display name.
    pub name: String,
    /// The most bytes it may store, if set for it; otherwise the kernel's
    /// default ([`Limits::tenant_storage_bytes_max`]) holds.
    pub storage_quota_bytes: Option<u64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TenantRecord {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    storage_quota_bytes: Option<u64>,
}

impl TenantRecord {
    fn info(self, id: TenantId) -> TenantInfo {
        TenantInfo { id, name: self.name, storage_quota_bytes: self.storage_quota_bytes }
    }
}

impl Host {
    /// Creates a tenant; returns false if it already existed.
    pub fn create_tenant(
        &self,
        origin: &keel_audit::Origin,
        id: &TenantId,
        name: &str,
    ) -> Result<bool, CallError> {
        let storage_err = CallError::Storage;
        let mut txn = self.inner.storage.write(&[Lane::Platform]).map_err(storage_err)?;
        let key = format!("tenant/{id}");
        if txn.catalog_get(&key).map_err(storage_err)?.is_some() {
            return Ok(false);
        }
        let record =
            serde_json::to_vec(&TenantRecord { name: name.to_owned(), storage_quota_bytes: None })
                .map_err(|err| CallError::Internal(format!("a tenant record: {err}")))?;
        txn.catalog_put(&key, &record).map_err(storage_err)?;
        let record = tenant_record(origin, action::TENANT_CREATE, id, None, Some(name));
        keel_audit::append(&mut txn, &keel_audit::chain_of(None), record).map_err(storage_err)?;
        txn.commit().map_err(storage_err)?;
        tracing::info!(tenant = %id, "tenant created");
        Ok(true)
    }

    /// Renames a tenant; returns false if it does not exist.
    pub fn rename_tenant(
        &self,
        origin: &keel_audit::Origin,
        id: &TenantId,
        name: &str,
    ) -> Result<bool, CallError> {
        let storage_err = CallError::Storage;
        let mut txn = self.inner.storage.write(&[Lane::Platform]).map_err(storage_err)?;
        let key = format!("tenant/{id}");
        let Some(before) = txn.catalog_get(&key).map_err(storage_err)? else { return Ok(false) };
        let before: TenantRecord = serde_json::from_slice(&before)
            .map_err(|err| CallError::Internal(format!("a tenant record: {err}")))?;
        let old_name = before.name.clone();
        let renamed = TenantRecord { name: name.to_owned(), ..before };
        let record = serde_json::to_vec(&renamed)
            .map_err(|err| CallError::Internal(format!("a tenant record: {err}")))?;
        txn.catalog_put(&key, &record).map_err(storage_err)?;
        let record = tenant_record(origin, action::TENANT_RENAME, id, Some(&old_name), Some(name));
        keel_audit::append(&mut txn, &keel_audit::chain_of(None), record).map_err(storage_err)?;
        txn.commit().map_err(storage_err)?;
        Ok(true)
    }

    /// Sets the most bytes a tenant may store (`None`: the kernel's
    /// default); returns the tenant, or none if it does not exist. Lowering
    /// it below what the tenant stores refuses only its growth: nothing is
    /// deleted.
    pub fn set_tenant_quota(
        &self,
        origin: &keel_audit::Origin,
        id: &TenantId,
        quota: Option<u64>,
    ) -> Result<Option<TenantInfo>, CallError> {
        let storage_err = CallError::Storage;
        let mut txn = self.inner.storage.write(&[Lane::Platform]).map_err(storage_err)?;
        let key = format!("tenant/{id}");
        let Some(before) = txn.catalog_get(&key).map_err(storage_err)? else { return Ok(None) };
        let before: TenantRecord = serde_json::from_slice(&before)
            .map_err(|err| CallError::Internal(format!("a tenant record: {err}")))?;
        let was = before.storage_quota_bytes;
        let after = TenantRecord { storage_quota_bytes: quota, ..before };
        let bytes = serde_json::to_vec(&after)
            .map_err(|err| CallError::Internal(format!("a tenant record: {err}")))?;
        txn.catalog_put(&key, &bytes).map_err(storage_err)?;
        let quota_json = |q: Option<u64>| serde_json::json!({ "id": id, "storage_quota_bytes": q });
        let record = keel_audit::Record {
            collection: Some("tenants".to_owned()),
            key: Some(id.to_string()),
            before: Some(quota_json(was)),
            after: Some(quota_json(quota)),
            ..origin.record(action::TENANT_QUOTA)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(None), record).map_err(storage_err)?;
        txn.commit().map_err(storage_err)?;
        tracing::info!(tenant = %id, quota = ?quota, "tenant storage quota set");
        // Deliveries that waited for room are tried again now.
        self.inner.dispatcher.notify(id);
        Ok(Some(after.info(id.clone())))
    }

    /// The bytes `tenant` stores, as its quota counts them. Blocking: the
    /// first count after a start walks everything the tenant stores.
    pub fn stored_bytes(&self, tenant: &TenantId) -> Result<u64, CallError> {
        self.inner.storage.stored_bytes(tenant).map_err(CallError::Storage)
    }

    /// Measures what every tenant stores, which their storage quotas need,
    /// logging how long it took. A failure is logged: the tenant's next
    /// write that its quota holds to measures it then. Blocking.
    pub fn measure_storage(&self) {
        let started = std::time::Instant::now();
        let tenants = match self.tenants() {
            Ok(tenants) => tenants,
            Err(err) => {
                tracing::error!(error = %err, "cannot list the tenants to measure their storage");
                return;
            }
        };
        let mut total: u64 = 0;
        for tenant in &tenants {
            match self.stored_bytes(&tenant.id) {
                Ok(bytes) => total = total.saturating_add(bytes),
                Err(err) => tracing::error!(
                    tenant = %tenant.id,
                    error = %err,
                    "measuring what a tenant stores failed; its next write measures it"
                ),
            }
        }
        let ms = started.elapsed().as_millis();
        tracing::info!(tenants = tenants.len(), bytes = total, ms, "tenant storage measured");
    }

    /// The most bytes `tenant` may store, as `txn` sees its record.
    fn storage_quota(&self, txn: &WriteTxn, tenant: &TenantId) -> Result<u64, CallError> {
        let storage_err = CallError::Storage;
        let own = match txn.catalog_get(&format!("tenant/{tenant}")).map_err(storage_err)? {
            Some(bytes) => {
                serde_json::from_slice::<TenantRecord>(&bytes)
                    .map_err(|err| CallError::Internal(format!("tenant record {tenant}: {err}")))?
                    .storage_quota_bytes
            }
            None => None,
        };
        Ok(own.unwrap_or(self.inner.config.limits.tenant_storage_bytes_max))
    }

    /// Holds a plugin's write turn in `tenant` to the tenant's storage quota.
    pub(crate) fn limit_stored(
        &self,
        txn: &mut WriteTxn,
        tenant: &TenantId,
    ) -> Result<(), CallError> {
        let quota = self.storage_quota(txn, tenant)?;
        txn.limit_stored(quota);
        Ok(())
    }

    /// Whether any plugin, enabled or disabled, has ever been set up for
    /// `tenant` (and may hold its data).
    pub fn tenant_has_plugins(&self, id: &TenantId) -> Result<bool, CallError> {
        let txn = self.inner.storage.read().map_err(CallError::Storage)?;
        let records = txn.catalog_scan(&format!("enabled/{id}/")).map_err(CallError::Storage)?;
        Ok(!records.is_empty())
    }

    /// Deletes a tenant record; returns false if it did not exist. The
    /// caller makes sure no plugin data remains.
    pub fn delete_tenant(
        &self,
        origin: &keel_audit::Origin,
        id: &TenantId,
    ) -> Result<bool, CallError> {
        let storage_err = CallError::Storage;
        let mut txn = self.inner.storage.write(&[Lane::Platform]).map_err(storage_err)?;
        let key = format!("tenant/{id}");
        let Some(before) = txn.catalog_get(&key).map_err(storage_err)? else { return Ok(false) };
        let before: TenantRecord = serde_json::from_slice(&before)
            .map_err(|err| CallError::Internal(format!("a tenant record: {err}")))?;
        txn.catalog_remove(&key).map_err(storage_err)?;
        let record = tenant_record(origin, action::TENANT_DELETE, id, Some(&before.name), None);
        keel_audit::append(&mut txn, &keel_audit::chain_of(None), record).map_err(storage_err)?;
        txn.commit().map_err(storage_err)?;
        Ok(true)
    }

    /// The tenant `id`, if it exists.
    pub fn tenant(&self, id: &TenantId) -> Result<Option<TenantInfo>, CallError> {
        let storage_err = CallError::Storage;
        let txn = self.inner.storage.read().map_err(storage_err)?;
        let Some(bytes) = txn.catalog_get(&format!("tenant/{id}")).map_err(storage_err)? else {
            return Ok(None);
        };
        let record: TenantRecord = serde_json::from_slice(&bytes)
            .map_err(|err| CallError::Internal(format!("a tenant record: {err}")))?;
        Ok(Some(record.info(id.clone())))
    }

    /// Every tenant, by id.
    pub fn tenants(&self) -> Result<Vec<TenantInfo>, CallError> {
        let storage_err = CallError::Storage;
        let txn = self.inner.storage.read().map_err(storage_err)?;
        let mut tenants = Vec::new();
        for (key, bytes) in txn.catalog_scan("tenant/").map_err(storage_err)? {
            let Ok(id) = TenantId::new(&key["tenant/".len()..]) else { continue };
            let record: TenantRecord = serde_json::from_slice(&bytes)
                .map_err(|err| CallError::Internal(format!("a tenant record: {err}")))?;
            tenants.push(record.info(id));
        }
        Ok(tenants)
    }
}

/// Runs `prune` for each tenant and adds up what it removed. A tenant that
/// fails is logged and skipped, so that it never leaves the others' data
/// unbounded.
pub(crate) fn each_tenant(
    tenants: &[TenantInfo],
    what: &str,
    mut prune: impl FnMut(&TenantId) -> keel_storage::Result<usize>,
) -> Result<usize, String> {
    let mut n_removed = 0;
    for tenant in tenants {
        match prune(&tenant.id) {
            Ok(n) => n_removed += n,
            Err(err) => tracing::error!(
                tenant = %tenant.id,
                error = %err,
                "pruning the {what} of a tenant failed; the other tenants are pruned all the same"
            ),
        }
    }
    Ok(n_removed)
}

/// The platform-chain record of a change to tenant `id`'s name.
fn tenant_record(
    origin: &keel_audit::Origin,
    action: keel_types::Action,
    id: &TenantId,
    before: Option<&str>,
    after: Option<&str>,
) -> keel_audit::Record {
    let name = |name: Option<&str>| name.map(|n| serde_json::json!({ "id": id, "name": n }));
    keel_audit::Record {
        collection: Some("tenants".to_owned()),
        key: Some(id.to_string()),
        before: name(before),
        after: name(after),
        ..origin.record(action)
    }
}
