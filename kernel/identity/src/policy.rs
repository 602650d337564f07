//! A tenant's own policy: roles it defines, and segregation-of-duties
//! rules its members and tokens are held to.

use keel_types::TenantId;

use crate::{Identity, IdentityError, from_json, storage, to_json};

/// A role a tenant defined for itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TenantRole {
    /// The tenant.
    pub tenant: TenantId,
    /// The role's id.
    pub id: String,
    /// The permission patterns it grants.
    pub permissions: Vec<String>,
}

/// Permissions that no one principal may hold together in a tenant, such
/// as raising and approving purchase orders.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SodRule {
    /// The tenant.
    pub tenant: TenantId,
    /// The rule's name.
    pub name: String,
    /// The permissions that exclude each other.
    pub permissions: Vec<String>,
}

fn scan<T: serde::de::DeserializeOwned>(
    identity: &Identity,
    kind: &str,
    tenant: Option<&TenantId>,
) -> Result<Vec<T>, IdentityError> {
    let prefix = tenant.map_or_else(|| format!("{kind}/"), |t| format!("{kind}/{t}/"));
    let txn = identity.storage.read().map_err(storage)?;
    let records = txn.catalog_scan(&prefix).map_err(storage)?;
    records.iter().map(|(_, bytes)| from_json(bytes)).collect()
}

impl Identity {
    /// Stores (or replaces) a tenant's role.
    pub fn put_role(&self, role: &TenantRole) -> Result<(), IdentityError> {
        let mut txn = self.storage.write().map_err(storage)?;
        txn.catalog_put(&format!("role/{}/{}", role.tenant, role.id), &to_json(role)?)
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    /// The roles tenants defined (of one tenant, or all).
    pub fn roles(&self, tenant: Option<&TenantId>) -> Result<Vec<TenantRole>, IdentityError> {
        scan(self, "role", tenant)
    }

    /// Deletes a tenant's role record; returns whether it existed.
    pub fn delete_role(&self, tenant: &TenantId, id: &str) -> Result<bool, IdentityError> {
        let mut txn = self.storage.write().map_err(storage)?;
        let removed = txn.catalog_remove(&format!("role/{tenant}/{id}")).map_err(storage)?;
        txn.commit().map_err(storage)?;
        Ok(removed)
    }

    /// Deletes a segregation-of-duties rule; returns whether it existed.
    pub fn delete_sod_rule(&self, tenant: &TenantId, name: &str) -> Result<bool, IdentityError> {
        let mut txn = self.storage.write().map_err(storage)?;
        let removed = txn.catalog_remove(&format!("sod/{tenant}/{name}")).map_err(storage)?;
        txn.commit().map_err(storage)?;
        Ok(removed)
    }

    /// Stores (or replaces) a segregation-of-duties rule.
    pub fn put_sod_rule(&self, rule: &SodRule) -> Result<(), IdentityError> {
        let mut txn = self.storage.write().map_err(storage)?;
        txn.catalog_put(&format!("sod/{}/{}", rule.tenant, rule.name), &to_json(rule)?)
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    /// The segregation-of-duties rules (of one tenant, or all).
    pub fn sod_rules(&self, tenant: Option<&TenantId>) -> Result<Vec<SodRule>, IdentityError> {
        scan(self, "sod", tenant)
    }
}
