//! The host: engine, loaded packages, tenants and their enabled plugins.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use keel_manifest::Method;
use keel_storage::{Storage, Txn};
use keel_types::{Clock, Limits, PluginId, TenantId};
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::call::{self, CallState, Invocation, PluginResponse};
use crate::error::{CallError, EnableError, HostError, LoadError};
use crate::package::{self, Plugin};

/// How the host is set up.
#[derive(Clone)]
pub struct HostConfig {
    /// Limits on calls and data.
    pub limits: Limits,
    /// Where compiled native code is cached, by package digest.
    pub cache_dir: PathBuf,
    /// The kernel's clock, as plugins see it.
    pub clock: Arc<dyn Clock>,
}

/// A tenant as the kernel knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantInfo {
    /// Its id, also its URL segment.
    pub id: TenantId,
    /// Its display name.
    pub name: String,
}

/// The plugin host. Cheap to clone; all clones share one engine and registry.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<CallState>,
    storage: Arc<Storage>,
    config: HostConfig,
    /// Loaded packages by plugin id, then by version.
    packages: RwLock<HashMap<PluginId, BTreeMap<Version, Arc<Plugin>>>>,
    /// Which package each tenant has enabled, by plugin id.
    enabled: RwLock<HashMap<TenantId, HashMap<PluginId, Arc<Plugin>>>>,
}

/// A semantic version, ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Version(u64, u64, u64);

impl Version {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
        let version = Version(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TenantRecord {
    name: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct EnabledRecord {
    version: String,
    digest: String,
}

impl Host {
    /// Starts the engine and its epoch ticker over `storage`.
    pub fn new(storage: Arc<Storage>, config: HostConfig) -> Result<Self, HostError> {
        let engine = crate::engine::new_engine(&config.limits)?;
        crate::engine::start_epoch_ticker(&engine, config.limits.epoch_tick)?;
        let linker = crate::capabilities::linker(&engine)?;
        let inner = Inner {
            engine,
            linker,
            storage,
            config,
            packages: RwLock::default(),
            enabled: RwLock::default(),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The limits this host enforces.
    pub fn limits(&self) -> &Limits {
        &self.inner.config.limits
    }

    /// Validates, compiles (or loads cached code for) and registers a package.
    /// Loading the same bytes twice is harmless.
    pub fn load(&self, wasm: &[u8]) -> Result<Arc<Plugin>, LoadError> {
        let inner = &self.inner;
        let manifest = package::manifest_of(wasm)?;
        let version = Version::parse(&manifest.version).ok_or_else(|| LoadError::Duplicate {
            id: manifest.id.to_string(),
            version: manifest.version.clone(),
        })?;
        if let Some(existing) = self.package(&manifest.id, version) {
            if existing.digest() == package::digest(wasm) {
                return Ok(existing);
            }
            return Err(LoadError::Duplicate {
                id: manifest.id.to_string(),
                version: manifest.version,
            });
        }
        let plugin = package::load(&inner.engine, &inner.linker, &inner.config.cache_dir, wasm)?;
        let mut packages = inner.packages.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        packages
            .entry(plugin.manifest().id.clone())
            .or_default()
            .insert(version, Arc::clone(&plugin));
        tracing::info!(plugin = %plugin.manifest().id, version = %plugin.manifest().version, digest = %plugin.digest(), "plugin loaded");
        Ok(plugin)
    }

    fn package(&self, id: &PluginId, version: Version) -> Option<Arc<Plugin>> {
        let packages = self.inner.packages.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        packages.get(id)?.get(&version).cloned()
    }

    fn latest(&self, id: &PluginId) -> Option<Arc<Plugin>> {
        let packages = self.inner.packages.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        packages.get(id)?.values().next_back().cloned()
    }

    /// Every loaded package, by id then version.
    pub fn plugins(&self) -> Vec<Arc<Plugin>> {
        let packages = self.inner.packages.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        packages.values().flat_map(|versions| versions.values().cloned()).collect()
    }

    /// Creates a tenant; returns false if it already existed.
    pub fn create_tenant(&self, id: &TenantId, name: &str) -> Result<bool, CallError> {
        let storage_err = |err: keel_storage::Error| CallError::Storage(err.to_string());
        let mut txn = self.inner.storage.write().map_err(storage_err)?;
        let key = format!("tenant/{id}");
        if txn.catalog_get(&key).map_err(storage_err)?.is_some() {
            return Ok(false);
        }
        let record = serde_json::to_vec(&TenantRecord { name: name.to_owned() })
            .map_err(|err| CallError::Storage(err.to_string()))?;
        txn.catalog_put(&key, &record).map_err(storage_err)?;
        txn.commit().map_err(storage_err)?;
        tracing::info!(tenant = %id, "tenant created");
        Ok(true)
    }

    /// The tenant `id`, if it exists.
    pub fn tenant(&self, id: &TenantId) -> Result<Option<TenantInfo>, CallError> {
        let storage_err = |err: keel_storage::Error| CallError::Storage(err.to_string());
        let txn = self.inner.storage.read().map_err(storage_err)?;
        let Some(bytes) = txn.catalog_get(&format!("tenant/{id}")).map_err(storage_err)? else {
            return Ok(None);
        };
        let record: TenantRecord =
            serde_json::from_slice(&bytes).map_err(|err| CallError::Storage(err.to_string()))?;
        Ok(Some(TenantInfo { id: id.clone(), name: record.name }))
    }

    /// Every tenant, by id.
    pub fn tenants(&self) -> Result<Vec<TenantInfo>, CallError> {
        let storage_err = |err: keel_storage::Error| CallError::Storage(err.to_string());
        let txn = self.inner.storage.read().map_err(storage_err)?;
        let mut tenants = Vec::new();
        for (key, bytes) in txn.catalog_scan("tenant/").map_err(storage_err)? {
            let Ok(id) = TenantId::new(&key["tenant/".len()..]) else { continue };
            let record: TenantRecord = serde_json::from_slice(&bytes)
                .map_err(|err| CallError::Storage(err.to_string()))?;
            tenants.push(TenantInfo { id, name: record.name });
        }
        Ok(tenants)
    }

    /// The packages `tenant` has enabled, by plugin id.
    pub fn enabled_plugins(&self, tenant: &TenantId) -> Vec<Arc<Plugin>> {
        let enabled = self.inner.enabled.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut plugins: Vec<Arc<Plugin>> =
            enabled.get(tenant).map(|m| m.values().cloned().collect()).unwrap_or_default();
        plugins.sort_by(|a, b| a.manifest().id.cmp(&b.manifest().id));
        plugins
    }

    /// The package `tenant` has enabled for `plugin`, if any.
    pub fn enabled(&self, tenant: &TenantId, plugin: &PluginId) -> Option<Arc<Plugin>> {
        let enabled = self.inner.enabled.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        enabled.get(tenant)?.get(plugin).cloned()
    }

    /// Enables the newest loaded version of `plugin` for `tenant`. The
    /// plugin's `migrate` runs in the same write transaction that records the
    /// enablement (from the previously enabled version, or none); if it
    /// fails, nothing changes and the previous version keeps serving.
    pub fn enable(&self, tenant: &TenantId, plugin: &PluginId) -> Result<Arc<Plugin>, EnableError> {
        let storage_err = |err: keel_storage::Error| EnableError::Migrate {
            plugin: plugin.to_string(),
            source: CallError::Storage(err.to_string()),
        };
        if self
            .tenant(tenant)
            .map_err(|source| EnableError::Migrate { plugin: plugin.to_string(), source })?
            .is_none()
        {
            return Err(EnableError::UnknownTenant(tenant.to_string()));
        }
        let package =
            self.latest(plugin).ok_or_else(|| EnableError::UnknownPlugin(plugin.to_string()))?;
        let mut txn = self.inner.storage.write().map_err(storage_err)?;
        let key = format!("enabled/{tenant}/{plugin}");
        let previous: Option<EnabledRecord> = match txn.catalog_get(&key).map_err(storage_err)? {
            Some(bytes) => serde_json::from_slice(&bytes).ok(),
            None => None,
        };
        let record = EnabledRecord {
            version: package.manifest().version.clone(),
            digest: package.digest().to_owned(),
        };
        let record = serde_json::to_vec(&record)
            .map_err(|err| storage_err(keel_storage::Error::Invalid(err.to_string())))?;
        let from_version = previous.as_ref().map(|p| p.version.clone());
        let loaded = Version::parse(&package.manifest().version);
        if let Some(enabled) = from_version.as_deref().filter(|v| Version::parse(v) > loaded) {
            return Err(EnableError::Downgrade {
                plugin: plugin.to_string(),
                tenant: tenant.to_string(),
                loaded: package.manifest().version.clone(),
                enabled: enabled.to_owned(),
            });
        }
        if from_version.as_deref() == Some(package.manifest().version.as_str()) {
            drop(txn);
        } else {
            txn.catalog_put(&key, &record).map_err(storage_err)?;
            self.migrate(&package, tenant, txn, from_version.clone())
                .map_err(|source| EnableError::Migrate { plugin: plugin.to_string(), source })?;
            tracing::info!(%tenant, %plugin, from = ?from_version, to = %package.manifest().version, "plugin enabled");
        }
        let mut enabled =
            self.inner.enabled.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        enabled.entry(tenant.clone()).or_default().insert(plugin.clone(), Arc::clone(&package));
        Ok(package)
    }

    /// Re-enables, after a restart, every plugin the catalog records as
    /// enabled, upgrading to a newer loaded version where there is one.
    /// Returns a message for each enablement that could not be restored.
    pub fn restore(&self) -> Result<Vec<String>, CallError> {
        let txn = self.inner.storage.read().map_err(|err| CallError::Storage(err.to_string()))?;
        let records =
            txn.catalog_scan("enabled/").map_err(|err| CallError::Storage(err.to_string()))?;
        drop(txn);
        let mut problems = Vec::new();
        for (key, _) in records {
            let mut parts = key.splitn(3, '/').skip(1);
            let (Some(tenant), Some(plugin)) = (parts.next(), parts.next()) else { continue };
            let (Ok(tenant), Ok(plugin)) = (TenantId::new(tenant), PluginId::new(plugin)) else {
                continue;
            };
            if let Err(err) = self.enable(&tenant, &plugin) {
                problems.push(format!("{plugin} for tenant {tenant}: {err}"));
            }
        }
        Ok(problems)
    }

    fn migrate(
        &self,
        plugin: &Arc<Plugin>,
        tenant: &TenantId,
        txn: keel_storage::WriteTxn,
        from: Option<String>,
    ) -> Result<(), CallError> {
        let config = &self.inner.config;
        let state = CallState::new(
            Arc::clone(plugin),
            tenant.clone(),
            Txn::Write(txn),
            config.limits.clone(),
            config.clock.now(),
        );
        let guard = call::CallGuard::default();
        let migrate = |store: &mut wasmtime::Store<CallState>,
                       instance: &crate::bindings::Plugin| {
            instance.call_migrate(store, from.as_deref())
        };
        call::run(&self.inner.engine, state, &guard, migrate, |()| Ok(()))
    }

    /// Runs one operation of an enabled plugin. Blocking: call it from a
    /// thread that may block (the gateway uses `spawn_blocking`).
    pub fn call(
        &self,
        plugin: &Arc<Plugin>,
        invocation: Invocation,
    ) -> Result<PluginResponse, CallError> {
        let span = tracing::info_span!(
            "plugin_call",
            plugin = %plugin.manifest().id,
            operation = %invocation.operation,
            tenant = %invocation.tenant,
            request_id = %invocation.request_id,
        );
        let _entered = span.enter();
        let inner = &self.inner;
        let storage_err = |err: keel_storage::Error| CallError::Storage(err.to_string());
        let txn = match invocation.method {
            Method::Get => Txn::Read(inner.storage.read().map_err(storage_err)?),
            _ => Txn::Write(inner.storage.write().map_err(storage_err)?),
        };
        if invocation.guard.is_abandoned() {
            // The caller gave up while this call waited for the write lock.
            return Err(CallError::Abandoned);
        }
        let mut state = CallState::new(
            Arc::clone(plugin),
            invocation.tenant.clone(),
            txn,
            inner.config.limits.clone(),
            inner.config.clock.now(),
        );
        state.caller = invocation.caller.clone();
        state.request_id = invocation.request_id.clone();
        let request = invocation.wit_request();
        call::run(
            &inner.engine,
            state,
            &invocation.guard,
            |store, instance| {
                let outcome = instance.call_handle(&mut *store, &invocation.operation, &request)?;
                Ok(outcome.map(|response| PluginResponse {
                    status: response.status,
                    body: response.body,
                }))
            },
            |response| self.check_response(plugin, response),
        )
    }

    fn check_response(&self, plugin: &Plugin, response: &PluginResponse) -> Result<(), CallError> {
        let bad = |reason: String| CallError::BadResponse {
            plugin: plugin.manifest().id.to_string(),
            reason,
        };
        if !(200..=299).contains(&response.status) {
            return Err(bad(format!(
                "status {} is not a success status; failures must be returned as errors",
                response.status
            )));
        }
        if response.body.len() > self.inner.config.limits.response_body_bytes_max {
            return Err(bad(format!("body of {} bytes is over the limit", response.body.len())));
        }
        if !response.body.is_empty()
            && serde_json::from_slice::<serde::de::IgnoredAny>(&response.body).is_err()
        {
            return Err(bad("body is not JSON".to_owned()));
        }
        Ok(())
    }
}
