//! A tenant's own policy: roles it defines, and segregation-of-duties
//! rules its members and tokens are held to.

use keel_types::TenantId;
use keel_types::action;

use keel_audit::Origin;

use crate::{Change, Identity, IdentityError, audit, from_json, storage, to_json};

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

/// Where a policy record lives: its audit collection, catalog key and name.
type Place<'a> = (&'static str, &'a str, &'a str);

/// Stores `value` at `place` with its audit record.
fn put<T: serde::Serialize + serde::de::DeserializeOwned>(
    identity: &Identity,
    origin: &Origin,
    (collection, key, name): Place<'_>,
    tenant: &TenantId,
    value: &T,
    action: keel_types::Action,
) -> Result<(), IdentityError> {
    let mut txn = identity.storage.write(&[crate::lane(Some(tenant))]).map_err(storage)?;
    let before = txn.catalog_get(key).map_err(storage)?.map(|b| from_json::<T>(&b)).transpose()?;
    txn.catalog_put(key, &to_json(value)?).map_err(storage)?;
    let mut change = Change::new(collection, name).after(value);
    if let Some(before) = &before {
        change = change.before(before);
    }
    audit(&mut txn, Some(tenant), change.record(origin, action))?;
    txn.commit().map_err(storage)
}

/// Removes the record at `place` with its audit record; whether it existed.
fn remove<T: serde::Serialize + serde::de::DeserializeOwned>(
    identity: &Identity,
    origin: &Origin,
    (collection, key, name): Place<'_>,
    tenant: &TenantId,
    action: keel_types::Action,
) -> Result<bool, IdentityError> {
    let mut txn = identity.storage.write(&[crate::lane(Some(tenant))]).map_err(storage)?;
    let Some(bytes) = txn.catalog_get(key).map_err(storage)? else { return Ok(false) };
    let before: T = from_json(&bytes)?;
    txn.catalog_remove(key).map_err(storage)?;
    let change = Change::new(collection, name).before(&before);
    audit(&mut txn, Some(tenant), change.record(origin, action))?;
    txn.commit().map_err(storage)?;
    Ok(true)
}

impl Identity {
    /// Stores (or replaces) a tenant's role.
    pub fn put_role(&self, origin: &Origin, role: &TenantRole) -> Result<(), IdentityError> {
        let key = format!("role/{}/{}", role.tenant, role.id);
        put(self, origin, ("roles", &key, &role.id), &role.tenant, role, action::ROLE_PUT)
    }

    /// The roles tenants defined (of one tenant, or all).
    pub fn roles(&self, tenant: Option<&TenantId>) -> Result<Vec<TenantRole>, IdentityError> {
        scan(self, "role", tenant)
    }

    /// Deletes a tenant's role record; returns whether it existed.
    pub fn delete_role(
        &self,
        origin: &Origin,
        tenant: &TenantId,
        id: &str,
    ) -> Result<bool, IdentityError> {
        let key = format!("role/{tenant}/{id}");
        remove::<TenantRole>(self, origin, ("roles", &key, id), tenant, action::ROLE_DELETE)
    }

    /// Deletes a segregation-of-duties rule; returns whether it existed.
    pub fn delete_sod_rule(
        &self,
        origin: &Origin,
        tenant: &TenantId,
        name: &str,
    ) -> Result<bool, IdentityError> {
        let key = format!("sod/{tenant}/{name}");
        remove::<SodRule>(self, origin, ("sod-rules", &key, name), tenant, action::SOD_DELETE)
    }

    /// Stores (or replaces) a segregation-of-duties rule.
    pub fn put_sod_rule(&self, origin: &Origin, rule: &SodRule) -> Result<(), IdentityError> {
        let key = format!("sod/{}/{}", rule.tenant, rule.name);
        put(self, origin, ("sod-rules", &key, &rule.name), &rule.tenant, rule, action::SOD_PUT)
    }

    /// The segregation-of-duties rules (of one tenant, or all).
    pub fn sod_rules(&self, tenant: Option<&TenantId>) -> Result<Vec<SodRule>, IdentityError> {
        scan(self, "sod", tenant)
    }
}
