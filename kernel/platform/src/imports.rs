//! The mappings of source systems' files a tenant keeps for its imports:
//! each change audited in the tenant's chain, the host's blocking work off
//! the async workers. Whoever may run an import may keep its mappings;
//! the gateway checks that before it asks.

use keel_types::TenantId;

use crate::error::internal;
use crate::{Actor, Platform, PlatformError};

/// An import of a plugin, and a source system: what a mapping is for.
#[derive(Debug, Clone, Copy)]
pub struct MappingOf<'a> {
    pub plugin: &'a str,
    pub import: &'a str,
    pub source: &'a str,
}

impl Platform {
    /// The mappings `tenant` keeps for `plugin`'s import, by source system.
    pub async fn import_mappings(
        &self,
        tenant: &TenantId,
        plugin: &str,
        import: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, PlatformError> {
        self.tenant(tenant)?;
        let (t, p, i) = (tenant.clone(), plugin.to_owned(), import.to_owned());
        self.host_write(move |host| host.import_mappings(&t, &p, &i)).await?.map_err(internal)
    }

    /// The mapping `tenant` keeps for `of.source`; not found if none.
    pub async fn import_mapping(
        &self,
        tenant: &TenantId,
        of: MappingOf<'_>,
    ) -> Result<serde_json::Value, PlatformError> {
        self.tenant(tenant)?;
        let t = tenant.clone();
        let (p, i, s) = (of.plugin.to_owned(), of.import.to_owned(), of.source.to_owned());
        let found = self
            .host_write(move |host| host.import_mapping(&t, &p, &i, &s))
            .await?
            .map_err(internal)?;
        found.ok_or_else(|| not_found(tenant, of))
    }

    /// Saves a mapping, already checked against its import; conflict when
    /// the import keeps as many as it may.
    pub async fn put_import_mapping(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        of: MappingOf<'_>,
        mapping: serde_json::Value,
    ) -> Result<(), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let t = tenant.clone();
        let (p, i, s) = (of.plugin.to_owned(), of.import.to_owned(), of.source.to_owned());
        let saved = self
            .host_write(move |host| host.put_import_mapping(&origin, &t, (&p, &i, &s), &mapping))
            .await?
            .map_err(internal)?;
        if !saved {
            return Err(PlatformError::Conflict(format!(
                "import {} keeps at most {} mappings; delete one first",
                of.import,
                keel_host::MAPPINGS_MAX
            )));
        }
        Ok(())
    }

    /// Deletes a mapping; not found if there was none.
    pub async fn delete_import_mapping(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        of: MappingOf<'_>,
    ) -> Result<(), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let t = tenant.clone();
        let (p, i, s) = (of.plugin.to_owned(), of.import.to_owned(), of.source.to_owned());
        let deleted = self
            .host_write(move |host| host.delete_import_mapping(&origin, &t, (&p, &i, &s)))
            .await?
            .map_err(internal)?;
        if !deleted {
            return Err(not_found(tenant, of));
        }
        Ok(())
    }
}

fn not_found(tenant: &TenantId, of: MappingOf<'_>) -> PlatformError {
    PlatformError::NotFound(format!(
        "tenant {tenant} keeps no mapping {:?} for import {}/{}; save one with PUT /api/{tenant}/imports/{}/{}/mappings/{}",
        of.source, of.plugin, of.import, of.plugin, of.import, of.source
    ))
}
