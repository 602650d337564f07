//! Plugin lifecycle per tenant: enable at a version (running `migrate` in
//! the same transaction that records it), upgrade, dry run, disable, and
//! restoring enablements after a restart. Whatever fails, nothing changes
//! and the version already serving keeps serving.

use keel_types::action;
use std::sync::Arc;

use keel_storage::{Txn, WriteTxn};
use keel_types::{PluginId, TenantId};

use crate::call::{self, CallGuard, CallState, Finish};
use crate::error::{CallError, EnableError};
use crate::host::{Host, Version};
use crate::package::Plugin;

/// What enabling did, or (in a dry run) would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnableReport {
    /// The plugin.
    pub plugin: PluginId,
    /// The version the tenant ran before, if any.
    pub from: Option<String>,
    /// The version it runs now (or would).
    pub to: String,
    /// Whether the plugin's `migrate` ran (and succeeded).
    pub migrated: bool,
    /// Whether this was a dry run that changed nothing.
    pub dry_run: bool,
}

/// The catalog record of one plugin for one tenant.
#[derive(serde::Serialize, serde::Deserialize)]
struct EnabledRecord {
    version: String,
    digest: String,
    /// Disabled plugins keep their record (and their data) but do not serve.
    #[serde(default)]
    disabled: bool,
}

pub(crate) fn key(tenant: &TenantId, plugin: &PluginId) -> String {
    format!("enabled/{tenant}/{plugin}")
}

/// The enablement record of `plugin` in `tenant`, read from `bytes`: an
/// unreadable one is corruption, never a plugin the tenant never ran.
fn record_of(
    tenant: &TenantId,
    plugin: &PluginId,
    bytes: &[u8],
) -> Result<EnabledRecord, EnableError> {
    serde_json::from_slice(bytes).map_err(|err| EnableError::Corrupt {
        plugin: plugin.to_string(),
        tenant: tenant.to_string(),
        reason: err.to_string(),
    })
}

/// The version an enablement record (see [`key`]) names; an unreadable
/// record is an error, never a plugin the tenant does not run.
pub(crate) fn version_of(record: &[u8]) -> Result<String, serde_json::Error> {
    serde_json::from_slice::<EnabledRecord>(record).map(|r| r.version)
}

impl Host {
    /// Enables the newest loaded version of `plugin` for `tenant`.
    pub fn enable(&self, tenant: &TenantId, plugin: &PluginId) -> Result<Arc<Plugin>, EnableError> {
        let origin = keel_audit::Origin::kernel(self.now().seconds);
        self.enable_version(&origin, tenant, plugin, None, false)?;
        self.enabled(tenant, plugin).ok_or_else(|| EnableError::UnknownPlugin(plugin.to_string()))
    }

    /// Enables the newest loaded version of each of `plugins` for
    /// `tenant`, providers before the plugins that require them.
    pub fn enable_all(&self, tenant: &TenantId, plugins: &[PluginId]) -> Result<(), EnableError> {
        let mut pending = plugins.to_vec();
        while let Some(first) = pending.first().cloned() {
            // The first plugin whose required interfaces are all provided
            // by now; if none is, the first one, to report what is missing.
            let ready = pending.iter().position(|id| {
                self.latest(id).is_some_and(|p| self.missing_providers(tenant, &p).is_empty())
            });
            let id = ready.map_or(first, |at| pending[at].clone());
            self.enable(tenant, &id)?;
            pending.retain(|p| p != &id);
        }
        Ok(())
    }

    /// Enables `version` (default: the newest loaded) of `plugin` for
    /// `tenant`. Moving to a newer version runs the new package's `migrate`
    /// from the old version in the transaction that records the change; a
    /// dry run does all of it and rolls back. Older versions are refused.
    ///
    /// Every domain interface the plugin requires must have a provider in
    /// the tenant ([`EnableError::MissingProvider`]); each interface it
    /// provides that the tenant has no provider of is now provided by it.
    pub fn enable_version(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        plugin: &PluginId,
        version: Option<&str>,
        dry_run: bool,
    ) -> Result<EnableReport, EnableError> {
        self.enable_checked(origin, tenant, plugin, version, dry_run, true)
    }

    /// [`Host::enable_version`]; `check_providers` is off only when
    /// restoring after a restart, where the order is the catalog's.
    fn enable_checked(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        plugin: &PluginId,
        version: Option<&str>,
        dry_run: bool,
        check_providers: bool,
    ) -> Result<EnableReport, EnableError> {
        let failed = |source: CallError| EnableError::Migrate {
            plugin: plugin.to_string(),
            source: Box::new(source),
        };
        let storage_err = EnableError::Storage;
        let found = self.tenant(tenant).map_err(|err| match err {
            CallError::Storage(err) => EnableError::Storage(err),
            other => failed(other),
        })?;
        if found.is_none() {
            return Err(EnableError::UnknownTenant(tenant.to_string()));
        }
        let package = match version {
            None => self.latest(plugin),
            Some(text) => Version::parse(text).and_then(|v| self.package(plugin, v)),
        };
        let package = package.ok_or_else(|| match version {
            Some(v) => EnableError::UnknownPlugin(format!("{plugin} {v}")),
            None => EnableError::UnknownPlugin(plugin.to_string()),
        })?;
        let to = package.manifest().version.clone();
        if let Some(interface) =
            self.missing_providers(tenant, &package).into_iter().next().filter(|_| check_providers)
        {
            return Err(EnableError::MissingProvider {
                plugin: plugin.to_string(),
                tenant: tenant.to_string(),
                interface,
            });
        }
        let mut txn = self
            .inner
            .storage
            .write(&[keel_storage::Lane::Tenant(tenant.clone())])
            .map_err(storage_err)?;
        let previous = match txn.catalog_get(&key(tenant, plugin)).map_err(storage_err)? {
            Some(bytes) => Some(record_of(tenant, plugin, &bytes)?),
            None => None,
        };
        let from = previous.as_ref().map(|p| p.version.clone());
        if let Some(enabled) = from.as_deref().filter(|v| Version::parse(v) > Version::parse(&to)) {
            return Err(EnableError::Downgrade {
                plugin: plugin.to_string(),
                tenant: tenant.to_string(),
                loaded: to,
                enabled: enabled.to_owned(),
            });
        }
        let migrate = from.as_deref() != Some(to.as_str());
        let unchanged = !migrate && previous.as_ref().is_some_and(|p| !p.disabled);
        let mut chosen = Vec::new();
        if unchanged {
            // Already serving this version (a restart restoring it): nothing to write.
            drop(txn);
        } else {
            self.record_enablement(
                &mut txn,
                origin,
                tenant,
                plugin,
                &package,
                from.as_deref(),
                dry_run,
            )
            .map_err(storage_err)?;
            chosen =
                self.choose_if_unchosen(&mut txn, origin, tenant, &package).map_err(storage_err)?;
            let now = self.now().seconds;
            crate::schedules::arm(&mut txn, origin, tenant, package.manifest(), now)
                .map_err(storage_err)?;
            let finish = if dry_run { Finish::Discard } else { Finish::Commit };
            if migrate {
                self.migrate(origin, &package, tenant, txn, from.clone(), finish)
                    .map_err(failed)?;
            } else if !dry_run {
                txn.commit().map_err(storage_err)?;
            }
        }
        if !dry_run {
            let mut enabled =
                self.inner.enabled.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            enabled.entry(tenant.clone()).or_default().insert(plugin.clone(), Arc::clone(&package));
            drop(enabled);
            for interface in &chosen {
                self.remember_choice(tenant, interface, plugin);
            }
            tracing::info!(%tenant, %plugin, from = ?from, to = %to, migrated = migrate, "plugin enabled");
            // A new subscriber's backlog, and what its migration published,
            // are delivered now rather than after the tenant's next retry;
            // timers its migration set are learnt now.
            self.inner.dispatcher.notify(tenant);
            self.inner.clock.notify(tenant);
        }
        Ok(EnableReport { plugin: plugin.clone(), from, to, migrated: migrate, dry_run })
    }

    /// Records a tenant's new version and its audit entry, in `txn`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the arguments are the enablement"
    )]
    fn record_enablement(
        &self,
        txn: &mut WriteTxn,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        plugin: &PluginId,
        package: &Plugin,
        from: Option<&str>,
        dry_run: bool,
    ) -> keel_storage::Result<()> {
        let to = package.manifest().version.clone();
        let record = EnabledRecord {
            version: to.clone(),
            digest: package.digest().to_owned(),
            disabled: false,
        };
        let record = serde_json::to_vec(&record)
            .map_err(|err| keel_storage::Error::Backend(err.to_string()))?;
        txn.catalog_put(&key(tenant, plugin), &record)?;
        let dry = if dry_run { " (dry run)" } else { "" };
        let detail = format!("from {} to {to}{dry}", from.unwrap_or("nothing"));
        let action = match from {
            Some(from) if from != to => action::PLUGIN_UPGRADE,
            _ => action::PLUGIN_ENABLE,
        };
        self.audit(txn, origin, tenant, plugin, action, detail)?;
        Ok(())
    }

    /// Stops `plugin` serving `tenant`; its data and version are kept for a
    /// later enable. Returns whether it was enabled.
    pub fn disable(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        plugin: &PluginId,
    ) -> Result<bool, EnableError> {
        let storage_err = EnableError::Storage;
        if let Some((interface, consumer)) = self.provider_in_use(tenant, plugin) {
            return Err(EnableError::InUse {
                plugin: plugin.to_string(),
                tenant: tenant.to_string(),
                interface,
                consumer: consumer.to_string(),
            });
        }
        let mut txn = self
            .inner
            .storage
            .write(&[keel_storage::Lane::Tenant(tenant.clone())])
            .map_err(storage_err)?;
        let Some(bytes) = txn.catalog_get(&key(tenant, plugin)).map_err(storage_err)? else {
            return Ok(false);
        };
        let mut record = record_of(tenant, plugin, &bytes)?;
        if record.disabled {
            return Ok(false);
        }
        record.disabled = true;
        let bytes = serde_json::to_vec(&record).map_err(|err| EnableError::Corrupt {
            plugin: plugin.to_string(),
            tenant: tenant.to_string(),
            reason: err.to_string(),
        })?;
        txn.catalog_put(&key(tenant, plugin), &bytes).map_err(storage_err)?;
        let detail = format!("version {} disabled; data kept", record.version);
        self.audit(&mut txn, origin, tenant, plugin, action::PLUGIN_DISABLE, detail)
            .map_err(storage_err)?;
        crate::schedules::disarm(&mut txn, origin, tenant, plugin.as_str()).map_err(storage_err)?;
        txn.commit().map_err(storage_err)?;
        let mut enabled =
            self.inner.enabled.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(plugins) = enabled.get_mut(tenant) {
            plugins.remove(plugin);
        }
        tracing::info!(%tenant, %plugin, "plugin disabled; data kept");
        self.inner.clock.notify(tenant);
        Ok(true)
    }

    /// After a restart, serves every enabled plugin again at its recorded
    /// version; if that version is no longer installed, upgrades to the
    /// newest one. Returns a message for each that could not be restored.
    pub fn restore(&self) -> Result<Vec<String>, CallError> {
        self.load_choices().map_err(CallError::Storage)?;
        let txn = self.inner.storage.read().map_err(CallError::Storage)?;
        let records = txn.catalog_scan("enabled/").map_err(CallError::Storage)?;
        drop(txn);
        let mut problems = Vec::new();
        for (key, bytes) in records {
            let mut parts = key.splitn(3, '/').skip(1);
            let (Some(tenant), Some(plugin)) = (parts.next(), parts.next()) else { continue };
            let (Ok(tenant), Ok(plugin)) = (TenantId::new(tenant), PluginId::new(plugin)) else {
                continue;
            };
            let record = match record_of(&tenant, &plugin, &bytes) {
                Ok(record) => record,
                Err(err) => {
                    problems.push(err.to_string());
                    continue;
                }
            };
            if record.disabled {
                continue;
            }
            let pinned = Version::parse(&record.version).and_then(|v| self.package(&plugin, v));
            let version = pinned.is_some().then_some(record.version.as_str());
            let origin = keel_audit::Origin::kernel(self.now().seconds);
            if let Err(err) = self.enable_checked(&origin, &tenant, &plugin, version, false, false)
            {
                problems.push(format!("{plugin} for tenant {tenant}: {err}"));
            }
        }
        Ok(problems)
    }

    /// Appends a lifecycle record to the tenant's chain, in `txn`.
    fn audit(
        &self,
        txn: &mut WriteTxn,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        plugin: &PluginId,
        action: keel_types::Action,
        detail: String,
    ) -> keel_storage::Result<u64> {
        let record = keel_audit::Record {
            plugin: Some(plugin.to_string()),
            detail: Some(detail),
            ..origin.record(action)
        };
        keel_audit::append(txn, &keel_audit::chain_of(Some(tenant)), record)
    }

    fn migrate(
        &self,
        origin: &keel_audit::Origin,
        plugin: &Arc<Plugin>,
        tenant: &TenantId,
        txn: WriteTxn,
        from: Option<String>,
        finish: Finish,
    ) -> Result<(), CallError> {
        let mut state =
            CallState::new(Arc::clone(plugin), tenant.clone(), Txn::Write(txn), &self.inner);
        state.origin = origin.clone();
        state.storage = Some(Arc::clone(&self.inner.storage));
        let guard = CallGuard::default();
        let migrate = |store: &mut wasmtime::Store<CallState>,
                       instance: &crate::bindings::Plugin| {
            instance.call_migrate(store, from.as_deref())
        };
        call::run(&self.inner.engine, state, &guard, finish, migrate, |()| Ok(())).wait()
    }
}
