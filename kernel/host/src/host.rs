//! The host: engine, loaded packages, tenants and their enabled plugins.

use keel_types::action;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use keel_manifest::Method;
use keel_storage::{Lane, Storage, Txn};
use keel_types::{Clock, Limits, PluginId, TenantId};
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::call::{self, CallState, Invocation, PluginResponse};
use crate::error::{CallError, HostError, LoadError};
use crate::package::{self, Plugin};

/// How the host is set up.
#[derive(Clone)]
pub struct HostConfig {
    /// Limits on calls and data.
    pub limits: Limits,
    /// Where compiled native code is cached, by package digest.
    pub cache_dir: PathBuf,
    /// Where installed packages are kept, by digest; none keeps them in memory only.
    pub packages_dir: Option<PathBuf>,
    /// Where backups are made (`POST /admin/backups`); none makes none.
    pub backups_dir: Option<PathBuf>,
    /// The kernel's clock, as plugins see it.
    pub clock: Arc<dyn Clock>,
    /// The keys documents of sensitive collections are sealed with.
    pub data_keys: Arc<crate::DataKeys>,
}

/// The plugin host. Cheap to clone; all clones share one engine and registry.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    linker: Linker<CallState>,
    pub(crate) storage: Arc<Storage>,
    pub(crate) config: HostConfig,
    /// Loaded packages by plugin id, then by version.
    packages: RwLock<HashMap<PluginId, BTreeMap<Version, Arc<Plugin>>>>,
    /// Which package each tenant has enabled, by plugin id.
    pub(crate) enabled: RwLock<HashMap<TenantId, HashMap<PluginId, Arc<Plugin>>>>,
    /// Which plugin each tenant chose to provide each domain interface.
    pub(crate) providers: RwLock<HashMap<TenantId, HashMap<String, PluginId>>>,
    /// Runs each tenant's write calls, one after another.
    pub(crate) executors: crate::executor::Executors,
    /// Wakes the thread that delivers events.
    pub(crate) dispatcher: Arc<crate::events::Dispatcher>,
    /// Wakes the thread that fires timers.
    pub(crate) clock: Arc<crate::timers::Clock>,
    /// Answers job steps' questions about their callers.
    pub(crate) callers: RwLock<Option<Arc<dyn crate::call::Callers>>>,
    /// Delivers webhooks; none delivers none.
    pub(crate) outbound: RwLock<Option<Arc<dyn crate::events::Outbound>>>,
    /// The kernel's key files, by the names a data directory gives them,
    /// for a backup that holds them sealed (`Host::set_key_file`).
    pub(crate) key_files: RwLock<Vec<(String, Vec<u8>)>>,
    /// How far the backup being made is (`Host::backup_progress`).
    pub(crate) backup_progress: std::sync::Mutex<Option<crate::progress::Progress>>,
    /// Each tenant's webhooks, as the dispatcher delivers to them.
    pub(crate) webhooks: RwLock<HashMap<TenantId, Vec<Arc<crate::events::StoredWebhook>>>>,
    /// The guest memory all calls running at once may use.
    pub(crate) guest_memory: Arc<crate::memory::Budget>,
    /// Each tenant's share of it.
    pub(crate) tenant_memory: crate::memory::TenantBudgets,
    /// The data keys as they are now (a rotation replaces them).
    pub(crate) data_keys: RwLock<Arc<crate::DataKeys>>,
    /// How the resealing after the last start or rotation is going.
    pub(crate) resealing: std::sync::Mutex<crate::sealing::Resealing>,
    /// Set when the kernel stops: resealing stops after its batch.
    pub(crate) reseal_stopping: std::sync::atomic::AtomicBool,
    /// Report runs gone on in the background.
    pub(crate) reports: crate::runs::Runs,
    /// Sends mail; none sends none.
    pub(crate) mailer: RwLock<Option<Arc<dyn crate::mail::Mailer>>>,
}

/// A semantic version, ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(u64, u64, u64);

impl Version {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
        let version = Version(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }
}

impl Host {
    /// Starts the engine and its epoch ticker over `storage`.
    pub fn new(storage: Arc<Storage>, config: HostConfig) -> Result<Self, HostError> {
        let engine = crate::engine::new_engine(&config.limits)?;
        crate::engine::start_epoch_ticker(&engine, config.limits.epoch_tick)?;
        let linker = crate::capabilities::linker(&engine)?;
        let executors = crate::executor::Executors::new(&storage, "keel-exec");
        let storage_for_events = Arc::clone(&storage);
        let guest_memory = crate::memory::Budget::new(config.limits.guest_memory_total_bytes);
        let tenant_memory =
            crate::memory::TenantBudgets::new(config.limits.guest_memory_tenant_bytes);
        let data_keys = RwLock::new(Arc::clone(&config.data_keys));
        let inner = Inner {
            engine,
            linker,
            storage,
            config,
            data_keys,
            resealing: std::sync::Mutex::default(),
            reseal_stopping: std::sync::atomic::AtomicBool::new(false),
            reports: crate::runs::Runs::default(),
            mailer: RwLock::default(),
            guest_memory,
            tenant_memory,
            packages: RwLock::default(),
            enabled: RwLock::default(),
            providers: RwLock::default(),
            executors,
            dispatcher: Arc::new(crate::events::Dispatcher::new(&storage_for_events)),
            clock: Arc::new(crate::timers::Clock::new(&storage_for_events)),
            callers: RwLock::default(),
            outbound: RwLock::default(),
            key_files: RwLock::default(),
            backup_progress: std::sync::Mutex::default(),
            webhooks: RwLock::default(),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Gives the host what sends its mail (scheduled reports).
    pub fn set_mailer(&self, mailer: Arc<dyn crate::mail::Mailer>) {
        *self.inner.mailer.write().unwrap_or_else(|p| p.into_inner()) = Some(mailer);
    }

    pub(crate) fn mailer(&self) -> Option<Arc<dyn crate::mail::Mailer>> {
        self.inner.mailer.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The storage the host runs on, for in-process inspection (tests).
    pub fn storage(&self) -> &Arc<Storage> {
        &self.inner.storage
    }

    /// The kernel's current time.
    pub fn now(&self) -> keel_types::Timestamp {
        self.inner.config.clock.now()
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
        let version = Version::parse(&manifest.version).ok_or_else(|| {
            keel_manifest::ManifestError::Syntax(format!(
                "version {:?} is not MAJOR.MINOR.PATCH",
                manifest.version
            ))
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

    /// Validates and loads a package, and keeps it in the packages
    /// directory (named by digest) so it loads again at every start.
    /// Returns the plugin and whether it was new.
    pub fn install(
        &self,
        origin: &keel_audit::Origin,
        wasm: &[u8],
    ) -> Result<(Arc<Plugin>, bool), LoadError> {
        let digest = package::digest(wasm);
        let known = self.plugins().iter().any(|p| p.digest() == digest);
        let plugin = self.load(wasm)?;
        if let Some(dir) = &self.inner.config.packages_dir {
            let path = dir.join(format!("{digest}.wasm"));
            if !path.exists() {
                // Durable before it is named, and named durably: a crash
                // leaves the whole package or none, never a torn one.
                let write = || -> std::io::Result<()> {
                    use std::io::Write as _;
                    std::fs::create_dir_all(dir)?;
                    let tmp = dir.join(format!("{digest}.{}.tmp", std::process::id()));
                    let mut file = std::fs::File::create(&tmp)?;
                    file.write_all(wasm)?;
                    file.sync_all()?;
                    std::fs::rename(&tmp, &path)?;
                    std::fs::File::open(dir)?.sync_all()
                };
                write().map_err(|source| LoadError::Keep { path: path.clone(), source })?;
            }
        }
        let manifest = plugin.manifest();
        let record = keel_audit::Record {
            plugin: Some(manifest.id.to_string()),
            detail: Some(format!(
                "version {}, digest {digest}{}",
                manifest.version,
                if known { ", already installed" } else { "" }
            )),
            ..origin.record(action::PACKAGE_INSTALL)
        };
        let audited = crate::call::audit_alone(&self.inner.storage, None, vec![record]);
        if let Err(err) = audited.and_then(|ticket| ticket.wait().map_err(CallError::Storage)) {
            // Unaudited, the install did not happen.
            if !known {
                self.unload(&plugin);
                if let Some(dir) = &self.inner.config.packages_dir {
                    let _ = std::fs::remove_file(dir.join(format!("{digest}.wasm")));
                }
            }
            return Err(LoadError::Unaudited(Box::new(err)));
        }
        Ok((plugin, !known))
    }

    /// Forgets a loaded package that no tenant can have enabled yet.
    fn unload(&self, plugin: &Plugin) {
        let manifest = plugin.manifest();
        let Some(version) = Version::parse(&manifest.version) else { return };
        let mut packages =
            self.inner.packages.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(versions) = packages.get_mut(&manifest.id) {
            versions.remove(&version);
        }
    }

    /// The loaded package of `id` at `version`.
    pub fn package_version(&self, id: &PluginId, version: &str) -> Option<Arc<Plugin>> {
        self.package(id, Version::parse(version)?)
    }

    pub(crate) fn package(&self, id: &PluginId, version: Version) -> Option<Arc<Plugin>> {
        let packages = self.inner.packages.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        packages.get(id)?.get(&version).cloned()
    }

    /// The newest installed version of a package.
    pub fn latest(&self, id: &PluginId) -> Option<Arc<Plugin>> {
        let packages = self.inner.packages.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        packages.get(id)?.values().next_back().cloned()
    }

    /// Every loaded package, by id then version.
    pub fn plugins(&self) -> Vec<Arc<Plugin>> {
        let packages = self.inner.packages.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ids: Vec<&PluginId> = packages.keys().collect();
        ids.sort();
        ids.into_iter().flat_map(|id| packages[id].values().cloned()).collect()
    }

    /// Reads one document of `plugin`'s data in `tenant` directly, as a
    /// handler compiled into the kernel would: for the benchmark's native
    /// baseline only. Plugin data is otherwise reached through its plugin.
    pub fn read_document(
        &self,
        tenant: &TenantId,
        plugin: &PluginId,
        collection: &str,
        key: &str,
    ) -> Result<Option<String>, CallError> {
        let storage_err = CallError::Storage;
        let ns = keel_storage::Namespace::new(tenant.clone(), plugin.clone());
        let txn = self.inner.storage.read().map_err(storage_err)?;
        txn.get(&ns, collection, key).map_err(storage_err)
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

    /// Instantiates `plugin` for `tenant` in a fresh store, with the
    /// limits, clock and WASI context every call gets, and drops it: a
    /// call's fixed cost, which the micro-benchmarks price.
    pub fn instantiate(&self, plugin: &Arc<Plugin>, tenant: &TenantId) -> Result<(), CallError> {
        let inner = &self.inner;
        let txn = inner.storage.read().map_err(CallError::Storage)?;
        let state = CallState::new(Arc::clone(plugin), tenant.clone(), Txn::Read(txn), inner);
        let guard = call::CallGuard::default();
        call::run(
            &inner.engine,
            state,
            &guard,
            call::Finish::Discard,
            |_, _| Ok(Ok(())),
            |()| Ok(()),
        )
        .wait()
    }

    /// Runs one operation of an enabled plugin. Blocking: call it from a
    /// thread that may block (the gateway uses `spawn_blocking` for reads,
    /// and [`Host::submit`] for writes).
    ///
    /// GET operations run on a read snapshot, on this thread. Others run
    /// as [`Host::submit`] says, and this thread waits for the answer.
    pub fn call(
        &self,
        plugin: &Arc<Plugin>,
        invocation: Invocation,
    ) -> Result<PluginResponse, CallError> {
        if invocation.method == Method::Get {
            let span = call_span(plugin, &invocation);
            let settled = span.in_scope(|| self.run_call(plugin, invocation));
            return settled.wait();
        }
        self.submit(plugin, invocation)?.blocking()
    }

    /// Queues an operation that may write on its tenant's executor (see
    /// `executor.rs`), where it runs in a turn of the tenant's storage
    /// lane, which writers of other tenants never hold. The answer comes
    /// once the call's writes are durable, while the calls queued behind it
    /// run. A caller that gives up abandons the call (`Invocation::guard`):
    /// still queued, it never runs; running, it stops at the next epoch tick.
    pub fn submit(
        &self,
        plugin: &Arc<Plugin>,
        invocation: Invocation,
    ) -> Result<Answered, CallError> {
        let span = call_span(plugin, &invocation);
        let tenant = invocation.tenant.clone();
        let (host, plugin) = (self.clone(), Arc::clone(plugin));
        let answered = self.inner.executors.submit(&tenant.clone(), move |answer| {
            let settled = span.in_scope(|| host.run_call(&plugin, invocation));
            let (published, timed) = (settled.published(), settled.timed());
            let dispatcher = Arc::clone(&host.inner.dispatcher);
            let clock = Arc::clone(&host.inner.clock);
            settled.then(move |outcome| {
                if published && outcome.is_ok() {
                    dispatcher.notify(&tenant);
                }
                if timed && outcome.is_ok() {
                    clock.notify(&tenant);
                }
                answer.send(outcome);
            });
        })?;
        Ok(Answered(answered))
    }

    /// Runs a call on a read snapshot, or in a write turn of its tenant's lane.
    fn run_call(
        &self,
        plugin: &Arc<Plugin>,
        invocation: Invocation,
    ) -> call::Settled<PluginResponse> {
        self.run_call_with(plugin, invocation, None)
    }

    /// [`Host::run_call`], writing `prelude` into a write call's
    /// transaction before the plugin runs: it commits with the call's
    /// writes, or not at all.
    pub(crate) fn run_call_with(
        &self,
        plugin: &Arc<Plugin>,
        invocation: Invocation,
        prelude: Option<&Prelude<'_>>,
    ) -> call::Settled<PluginResponse> {
        let inner = &self.inner;
        let guard = &invocation.guard;
        // A request that does not fit the operation's contract is refused
        // before any turn is taken or any instance made (and not checked
        // at all for a caller who has given up).
        if guard.is_abandoned() {
            return call::Settled::refused(None, CallError::Abandoned);
        }
        let request = &invocation.request;
        let operation = invocation.operation.as_str();
        if let Err(err) =
            crate::contract::check(plugin.contract(), operation, &request.query, &request.body)
        {
            return call::Settled::refused(None, err);
        }
        let txn = match invocation.method {
            Method::Get => inner.storage.read().map(Txn::Read),
            _ => {
                let lane = [Lane::Tenant(invocation.tenant.clone())];
                inner.storage.write_unless(&lane, &|| guard.is_abandoned()).map(Txn::Write)
            }
        };
        let txn = match txn {
            Ok(txn) => txn,
            // The caller gave up while this call waited for its turn.
            Err(keel_storage::Error::GaveUp) => {
                return call::Settled::refused(None, CallError::Abandoned);
            }
            Err(err) => return call::Settled::refused(None, CallError::Storage(err)),
        };
        let mut txn = txn;
        if let Txn::Write(write) = &mut txn
            && let Err(err) = self.limit_stored(write, &invocation.tenant)
        {
            return call::Settled::refused(Some(txn), err);
        }
        if guard.is_abandoned() {
            return call::Settled::refused(Some(txn), CallError::Abandoned);
        }
        if let Err(err) = check_not_by_creator(plugin, &invocation, &txn) {
            return call::Settled::refused(Some(txn), err);
        }
        let claim = match (&invocation.idempotency, &invocation.caller, &txn) {
            (Some(key), Some(caller), Txn::Write(write)) => {
                let claim = crate::idempotency::Claim::new(
                    &invocation.tenant,
                    caller,
                    key,
                    plugin.manifest().id.as_str(),
                    &invocation.operation,
                    &invocation.request,
                );
                match claim.kept(write, self.now().seconds, &self.data_keys()) {
                    Ok(Some(kept)) => return call::Settled::replayed(txn, kept),
                    Ok(None) => Some(claim),
                    Err(err) => return call::Settled::refused(Some(txn), err),
                }
            }
            _ => None,
        };
        let state = self.call_state(plugin, &invocation, txn);
        let request = invocation.wit_request();
        call::run(
            &inner.engine,
            state,
            &invocation.guard,
            call::Finish::Commit,
            |store, instance| {
                if let Some(prelude) = prelude {
                    let state = store.data_mut();
                    if let Err(err) = call::writable(&mut state.txn).and_then(prelude) {
                        let message = err.to_string();
                        state.storage_fault = Some(call::storage_error(err));
                        return Err(wasmtime::Error::msg(message));
                    }
                }
                let outcome = instance.call_handle(&mut *store, &invocation.operation, &request)?;
                let response = match outcome {
                    Ok(response) => response,
                    Err(err) => return Ok(Err(err)),
                };
                let response = PluginResponse {
                    status: response.status,
                    body: response.body,
                    replayed: false,
                };
                if let Some(claim) = &claim {
                    // Kept with the call's writes: both commit, or neither.
                    let state = store.data_mut();
                    let (origin, tenant) = (state.origin.clone(), state.ns.tenant().clone());
                    let keys = Arc::clone(&state.data_keys);
                    let kept = call::writable(&mut state.txn)
                        .and_then(|txn| claim.keep(txn, &origin, &tenant, &response, &keys));
                    if let Err(err) = kept {
                        let message = err.to_string();
                        state.storage_fault = Some(call::storage_error(err));
                        return Err(wasmtime::Error::msg(message));
                    }
                }
                Ok(Ok(response))
            },
            |response| self.check_response(plugin, response),
        )
    }

    /// A call's state for `invocation`: its caller, as the audit trail
    /// names them, and what it may ask.
    pub(crate) fn call_state(
        &self,
        plugin: &Arc<Plugin>,
        invocation: &Invocation,
        txn: Txn,
    ) -> CallState {
        let inner = &self.inner;
        let mut state = CallState::new(Arc::clone(plugin), invocation.tenant.clone(), txn, inner);
        state.origin = keel_audit::Origin {
            at: state.now.seconds,
            actor: invocation.caller.clone().unwrap_or_else(|| "kernel".to_owned()),
            roles: invocation.roles.clone(),
            request_id: Some(invocation.request_id.to_string()).filter(|id| !id.is_empty()),
            source: invocation.source.clone(),
        };
        state.caller = invocation.caller.clone();
        state.request_id = invocation.request_id.clone();
        state.storage = Some(Arc::clone(&inner.storage));
        state.permissions = invocation.permissions.clone();
        state.host = Some(self.clone());
        state
    }

    pub(crate) fn check_response(
        &self,
        plugin: &Plugin,
        response: &PluginResponse,
    ) -> Result<(), CallError> {
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

/// Writes that a kernel-made call commits with the plugin's (see
/// [`Host::run_call_with`]).
pub(crate) type Prelude<'a> = dyn Fn(&mut keel_storage::WriteTxn) -> keel_storage::Result<()> + 'a;

/// The answer to a call [`Host::submit`] queued: await it, or wait with
/// [`Answered::blocking`].
pub struct Answered(tokio::sync::oneshot::Receiver<Result<PluginResponse, CallError>>);

impl Answered {
    /// Waits for the answer, blocking this thread.
    pub fn blocking(self) -> Result<PluginResponse, CallError> {
        self.0.blocking_recv().unwrap_or_else(|_| Err(unanswered()))
    }
}

impl std::future::Future for Answered {
    type Output = Result<PluginResponse, CallError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|answer| answer.unwrap_or_else(|_| Err(unanswered())))
    }
}

fn unanswered() -> CallError {
    CallError::Internal("the call failed on its executor without an answer".to_owned())
}

/// The span of one plugin call.
fn call_span(plugin: &Plugin, invocation: &Invocation) -> tracing::Span {
    tracing::info_span!(
        "plugin_call",
        plugin = %plugin.manifest().id,
        operation = %invocation.operation,
        tenant = %invocation.tenant,
        request_id = %invocation.request_id,
    )
}

/// Enforces an operation's `not_by_creator` rule against the target
/// document, read in the call's own transaction.
fn check_not_by_creator(
    plugin: &Plugin,
    invocation: &Invocation,
    txn: &Txn,
) -> Result<(), CallError> {
    let manifest = plugin.manifest();
    let Some(op) = manifest.operations.iter().find(|o| o.id == invocation.operation) else {
        return Ok(());
    };
    let (Some(rule), Some(caller)) = (&op.not_by_creator, &invocation.caller) else {
        return Ok(());
    };
    let param = invocation.request.params.iter().find(|(name, _)| *name == rule.param);
    let key = param.map_or("", |(_, key)| key.as_str());
    let refuse = |why: String| CallError::CreatorUnknown {
        caller: caller.clone(),
        operation: op.id.clone(),
        target: format!("{}/{key}", rule.collection),
        why,
    };
    if param.is_none() {
        return Err(refuse(format!("the request has no {} parameter", rule.param)));
    }
    let ns = keel_storage::Namespace::new(invocation.tenant.clone(), manifest.id.clone());
    let text = txn.get(&ns, &rule.collection, key).map_err(CallError::Storage)?;
    let Some(text) = text else { return Err(refuse("it does not exist".to_owned())) };
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| CallError::Internal(format!("a document that storage returned: {err}")))?;
    let creators = rule.field.values(&doc);
    if creators.is_empty() {
        return Err(refuse(format!("it names no creator in {}", rule.field.as_str())));
    }
    for creator in creators {
        let same = if creator == *caller {
            Some(true)
        } else {
            let people = invocation.permissions.as_ref();
            people.map_or(Some(false), |people| people.same_person(&invocation.tenant, &creator))
        };
        match same {
            Some(false) => {}
            Some(true) => {
                return Err(CallError::NotByCreator {
                    caller: caller.clone(),
                    operation: op.id.clone(),
                    collection: rule.collection.clone(),
                    key: key.to_owned(),
                });
            }
            None => return Err(refuse(format!("who {creator} acts for cannot be read"))),
        }
    }
    Ok(())
}
