//! Which enabled plugin provides each domain interface (`keel:erp`) to
//! each tenant.
//!
//! A tenant's choice is a catalog record, `provider/<tenant>/<interface>`,
//! kept in memory as well. Enabling the first plugin that provides an
//! interface chooses it; an administrator switches with
//! [`Host::choose_provider`] (the sector swap: `inventory-lots` instead of
//! `inventory`). A consumer can only be enabled once each interface it
//! requires has a provider, and a provider that consumers use cannot be
//! disabled until another is chosen.

use keel_types::action;
use std::sync::Arc;

use keel_manifest::DOMAIN_INTERFACES;
use keel_storage::WriteTxn;
use keel_types::{PluginId, TenantId};

use crate::error::ChooseError;
use crate::host::Host;
use crate::package::Plugin;

/// A tenant's provider of one interface, and the enabled plugins that could be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderChoice {
    /// The interface, such as `keel:erp/stock@0.3.0`.
    pub interface: String,
    /// The plugin that provides it, if any is chosen and enabled.
    pub provider: Option<PluginId>,
    /// The enabled plugins that provide it.
    pub candidates: Vec<PluginId>,
    /// The enabled plugins that require it.
    pub consumers: Vec<PluginId>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ChoiceRecord {
    plugin: String,
}

fn key(tenant: &TenantId, interface: &str) -> String {
    format!("provider/{tenant}/{interface}")
}

impl Host {
    /// The plugin that provides the domain `interface` to `tenant`: the
    /// one chosen, while it is enabled.
    pub fn provider(&self, tenant: &TenantId, interface: &str) -> Option<Arc<Plugin>> {
        let chosen = self.chosen(tenant, interface)?;
        self.enabled(tenant, &chosen).filter(|plugin| plugin.manifest().provides(interface))
    }

    /// Every domain interface with `tenant`'s provider, candidates and consumers.
    pub fn providers(&self, tenant: &TenantId) -> Vec<ProviderChoice> {
        let enabled = self.enabled_plugins(tenant);
        DOMAIN_INTERFACES
            .iter()
            .map(|interface| {
                let ids = |keep: &dyn Fn(&Plugin) -> bool| {
                    let mut ids: Vec<PluginId> = enabled
                        .iter()
                        .filter(|p| keep(p))
                        .map(|p| p.manifest().id.clone())
                        .collect();
                    ids.sort();
                    ids
                };
                ProviderChoice {
                    interface: (*interface).to_owned(),
                    provider: self.provider(tenant, interface).map(|p| p.manifest().id.clone()),
                    candidates: ids(&|p| p.manifest().provides(interface)),
                    consumers: ids(&|p| p.manifest().requires(interface)),
                }
            })
            .collect()
    }

    /// Makes `plugin`, enabled for `tenant`, its provider of `interface`,
    /// audited as `provider.choose`.
    pub fn choose_provider(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        interface: &str,
        plugin: &PluginId,
    ) -> Result<(), ChooseError> {
        if !DOMAIN_INTERFACES.contains(&interface) {
            return Err(ChooseError::UnknownInterface(interface.to_owned()));
        }
        let Some(package) = self.enabled(tenant, plugin) else {
            return Err(ChooseError::NotEnabled {
                plugin: plugin.to_string(),
                tenant: tenant.to_string(),
            });
        };
        if !package.manifest().provides(interface) {
            return Err(ChooseError::DoesNotProvide {
                plugin: plugin.to_string(),
                interface: interface.to_owned(),
            });
        }
        let storage = ChooseError::Storage;
        let mut txn = self
            .inner
            .storage
            .write(&[keel_storage::Lane::Tenant(tenant.clone())])
            .map_err(storage)?;
        self.record_choice(&mut txn, origin, tenant, interface, plugin).map_err(storage)?;
        txn.commit().map_err(storage)?;
        self.remember_choice(tenant, interface, plugin);
        Ok(())
    }

    /// The interfaces `package` requires that `tenant` has no provider of.
    pub(crate) fn missing_providers(&self, tenant: &TenantId, package: &Plugin) -> Vec<String> {
        let requires = package.manifest().requires.iter();
        requires.filter(|i| self.provider(tenant, i).is_none()).cloned().collect()
    }

    /// What stops `plugin` being disabled for `tenant`: an interface it
    /// provides there and an enabled plugin that requires it.
    pub fn provider_in_use(
        &self,
        tenant: &TenantId,
        plugin: &PluginId,
    ) -> Option<(String, PluginId)> {
        let enabled = self.enabled_plugins(tenant);
        DOMAIN_INTERFACES.iter().find_map(|interface| {
            let provider = self.provider(tenant, interface)?;
            if &provider.manifest().id != plugin {
                return None;
            }
            let consumer = enabled.iter().find(|p| p.manifest().requires(interface))?;
            Some(((*interface).to_owned(), consumer.manifest().id.clone()))
        })
    }

    /// Chooses `package` for each interface it provides that `tenant` has
    /// no provider of, in `txn`; returns the choices to remember once
    /// `txn` commits.
    pub(crate) fn choose_if_unchosen(
        &self,
        txn: &mut WriteTxn,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        package: &Plugin,
    ) -> keel_storage::Result<Vec<String>> {
        let mut chosen = Vec::new();
        for interface in &package.manifest().provides {
            if self.provider(tenant, interface).is_none() {
                self.record_choice(txn, origin, tenant, interface, &package.manifest().id)?;
                chosen.push(interface.clone());
            }
        }
        Ok(chosen)
    }

    /// Loads every stored choice (at start, before plugins are restored).
    pub(crate) fn load_choices(&self) -> keel_storage::Result<()> {
        let records = self.inner.storage.read()?.catalog_scan("provider/")?;
        for (key, bytes) in records {
            let mut parts = key.splitn(3, '/').skip(1);
            let (Some(tenant), Some(interface)) = (parts.next(), parts.next()) else { continue };
            let Ok(record) = serde_json::from_slice::<ChoiceRecord>(&bytes) else { continue };
            if let (Ok(tenant), Ok(plugin)) = (TenantId::new(tenant), PluginId::new(record.plugin))
            {
                self.remember_choice(&tenant, interface, &plugin);
            }
        }
        Ok(())
    }

    pub(crate) fn remember_choice(&self, tenant: &TenantId, interface: &str, plugin: &PluginId) {
        let mut choices = self.inner.providers.write().unwrap_or_else(|p| p.into_inner());
        choices.entry(tenant.clone()).or_default().insert(interface.to_owned(), plugin.clone());
    }

    fn chosen(&self, tenant: &TenantId, interface: &str) -> Option<PluginId> {
        let choices = self.inner.providers.read().unwrap_or_else(|p| p.into_inner());
        choices.get(tenant)?.get(interface).cloned()
    }

    fn record_choice(
        &self,
        txn: &mut WriteTxn,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        interface: &str,
        plugin: &PluginId,
    ) -> keel_storage::Result<()> {
        let before = self.chosen(tenant, interface);
        let record = serde_json::to_vec(&ChoiceRecord { plugin: plugin.to_string() })
            .map_err(|err| keel_storage::Error::Backend(err.to_string()))?;
        txn.catalog_put(&key(tenant, interface), &record)?;
        let was = before.map_or_else(|| "none".to_owned(), |p| p.to_string());
        let record = keel_audit::Record {
            plugin: Some(plugin.to_string()),
            detail: Some(format!("{plugin} provides {interface} (was {was})")),
            ..origin.record(action::PROVIDER_CHOOSE)
        };
        keel_audit::append(txn, &keel_audit::chain_of(Some(tenant)), record).map(drop)
    }
}
