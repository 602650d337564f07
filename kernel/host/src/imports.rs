//! Imports: the calls a file's rows make (planned by `keel-import` in the
//! gateway), run one after another in one write turn of the tenant's lane,
//! each in a fresh instance as any call, so that every rule, permission
//! and audit record of the operation applies. A call that fails has its
//! changes undone back to a savepoint and the next goes on, so a dry run
//! reports every row; the turn keeps its changes only for a real run in
//! which every call succeeded, with an `import.run` record, and otherwise
//! changes nothing. And the mappings of source systems' files a tenant
//! saves for each import (`import-mapping/<tenant>/<plugin>/<import>/<source>`).

use std::sync::Arc;

use keel_storage::{Lane, Txn, WriteTxn};
use keel_types::{TenantId, action};

use crate::call::{self, Invocation, PluginResponse};
use crate::error::CallError;
use crate::host::Host;
use crate::package::Plugin;
use crate::records::{audit, decode, encode};

/// An import to run: the calls of one file.
#[derive(Debug)]
pub struct ImportRun {
    /// The caller, the operation and the request every call shares; each
    /// call's body is one of `bodies`.
    pub invocation: Invocation,
    /// The import's id, for the audit trail.
    pub import: String,
    /// What was imported, for the audit trail: the file's name, size and
    /// digest, say.
    pub detail: String,
    /// Each call's request body, in order.
    pub bodies: Vec<Vec<u8>>,
    /// Whether to undo everything at the end, whatever happened.
    pub dry_run: bool,
}

/// How an import's calls went.
#[derive(Debug)]
pub struct ImportOutcome {
    /// Each call's answer or error, in order. Fewer than were sent when a
    /// call failed in a way that stops the import (a trap, a deadline, a
    /// limit of the kernel's): its error is the last.
    pub calls: Vec<Result<PluginResponse, CallError>>,
    /// Whether the changes were kept: a real run in which every call
    /// succeeded.
    pub kept: bool,
}

impl Host {
    /// Queues an import on its tenant's executor (see [`Host::submit`]);
    /// the answer comes once what it kept, or the audit records of what it
    /// read, are durable. The invocation's guard gives it up between calls
    /// or within one.
    pub fn submit_import(
        &self,
        plugin: &Arc<Plugin>,
        run: ImportRun,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<ImportOutcome, CallError>>, CallError> {
        let tenant = run.invocation.tenant.clone();
        let (host, plugin) = (self.clone(), Arc::clone(plugin));
        let span = tracing::info_span!(
            "import",
            plugin = %plugin.manifest().id,
            import = %run.import,
            tenant = %tenant,
            request_id = %run.invocation.request_id,
            rows = run.bodies.len(),
        );
        self.inner.executors.submit(&tenant.clone(), move |answer| {
            let settled = span.in_scope(|| host.run_import(&plugin, run));
            let (published, timed) = (settled.published(), settled.timed());
            let dispatcher = Arc::clone(&host.inner.dispatcher);
            let clock = Arc::clone(&host.inner.clock);
            settled.then(move |outcome| {
                let kept = outcome.as_ref().is_ok_and(|o: &ImportOutcome| o.kept);
                if published && kept {
                    dispatcher.notify(&tenant);
                }
                if timed && kept {
                    clock.notify(&tenant);
                }
                answer.send(outcome);
            });
        })
    }

    fn run_import(&self, plugin: &Arc<Plugin>, run: ImportRun) -> call::Settled<ImportOutcome> {
        let inner = &self.inner;
        let invocation = &run.invocation;
        let guard = invocation.guard.clone();
        let lane = [Lane::Tenant(invocation.tenant.clone())];
        let mut txn = match inner.storage.write_unless(&lane, &|| guard.is_abandoned()) {
            Ok(txn) => txn,
            Err(keel_storage::Error::GaveUp) => {
                return call::Settled::refused(None, CallError::Abandoned);
            }
            Err(err) => return call::Settled::refused(None, CallError::Storage(err)),
        };
        if let Err(err) = self.limit_stored(&mut txn, &invocation.tenant) {
            return call::Settled::refused(Some(Txn::Write(txn)), err);
        }
        let bodies = run.bodies.iter().map(Vec::as_slice);
        let (mut txn, ran) = match self.run_calls(plugin, invocation, bodies, txn, None) {
            Ok(ran) => ran,
            Err(stopped) => {
                let (txn, err) = *stopped;
                return call::Settled::refused(txn.map(Txn::Write), err);
            }
        };
        let Calls { calls, reads, published, timed, origin, .. } = ran;
        let origin = origin.unwrap_or_else(|| keel_audit::Origin::kernel(self.now().seconds));
        let all_ran = calls.len() == run.bodies.len() && calls.iter().all(Result::is_ok);
        let tenant = &invocation.tenant;
        let n_calls = match calls.len() {
            1 => "1 call".to_owned(),
            n => format!("{n} calls"),
        };
        if run.dry_run || !all_ran {
            // Nothing kept, but that it was tried is: a dry run reads
            // what the real one would.
            let failed = calls.iter().filter(|c| c.is_err()).count();
            let detail = format!(
                "import {}: {} with {n_calls} of {}, {failed} failed, nothing kept; {}",
                run.import,
                if run.dry_run { "a dry run" } else { "refused" },
                invocation.operation,
                run.detail
            );
            let mut records = reads;
            records.push(keel_audit::Record {
                plugin: Some(plugin.manifest().id.to_string()),
                detail: Some(detail),
                ..origin.record(action::IMPORT_CHECK)
            });
            let mut tickets = vec![txn.roll_back()];
            let outcome = call::audit_alone(&inner.storage, Some(tenant), records).map(|ticket| {
                tickets.push(ticket);
                ImportOutcome { calls, kept: false }
            });
            return call::Settled { outcome, tickets, published: false, timed: false };
        }
        let mut records = reads;
        if txn.has_unsealed() {
            records.push(keel_audit::Record {
                plugin: Some(plugin.manifest().id.to_string()),
                ..origin.record(action::SEQUENCE_NEXT)
            });
        }
        let detail =
            format!("import {}: {n_calls} of {}; {}", run.import, invocation.operation, run.detail);
        let kept = call::append_all(&mut txn, Some(tenant), records).and_then(|()| {
            audit(
                &mut txn,
                &origin,
                tenant,
                plugin.manifest().id.as_str(),
                action::IMPORT_RUN,
                detail,
            )
            .map_err(call::storage_error)
        });
        if let Err(err) = kept {
            return call::Settled::refused(Some(Txn::Write(txn)), err);
        }
        // From here the client is told what was kept, even past its
        // deadline: a client that gave up first is told nothing was.
        if !guard.begin_commit() {
            return call::Settled::refused(Some(Txn::Write(txn)), CallError::Abandoned);
        }
        match txn.finish() {
            Ok(ticket) => call::Settled {
                outcome: Ok(ImportOutcome { calls, kept: true }),
                tickets: vec![ticket],
                published,
                timed,
            },
            Err(err) => call::Settled {
                outcome: Err(call::storage_error(err)),
                tickets: Vec::new(),
                published: false,
                timed: false,
            },
        }
    }

    /// Runs a call of `invocation`'s operation with each of `bodies` in
    /// `txn`, one after another, each in a fresh instance behind a
    /// savepoint: a call that fails has its changes undone and the next
    /// goes on, but one that traps (the plugin's fault or the kernel's, not
    /// the row's) stops them, its error the last, and so does the time
    /// `stop_after`, once at least one call ran. The transaction comes
    /// back with what the calls that succeeded did, or with the error that
    /// stopped them before their end (none if it was lost).
    pub(crate) fn run_calls<'a>(
        &self,
        plugin: &Arc<Plugin>,
        invocation: &Invocation,
        bodies: impl ExactSizeIterator<Item = &'a [u8]>,
        mut txn: WriteTxn,
        stop_after: Option<std::time::Instant>,
    ) -> Result<(WriteTxn, Calls), Stopped> {
        let guard = invocation.guard.clone();
        let mut ran = Calls {
            calls: Vec::with_capacity(bodies.len()),
            reads: Vec::new(),
            published: false,
            timed: false,
            origin: None,
            cut: false,
        };
        // The run is one long call to the thread that runs it: past
        // `LONG_CALL` in all, its thread yields to its tenant's others.
        let long_after = std::time::Instant::now() + crate::priority::LONG_CALL;
        for body in bodies {
            if guard.is_abandoned() {
                return Err(Box::new((Some(txn), CallError::Abandoned)));
            }
            let now = std::time::Instant::now();
            if !ran.calls.is_empty() && stop_after.is_some_and(|stop| now >= stop) {
                ran.cut = true;
                break;
            }
            let mut one = invocation.clone();
            one.request.body = body.to_vec();
            // A row whose body does not fit the operation's schema fails
            // alone, before the plugin sees it.
            let request = &one.request;
            if let Err(err) = crate::contract::check(
                plugin.contract(),
                &one.operation,
                &request.query,
                &request.body,
            ) {
                ran.calls.push(Err(err));
                continue;
            }
            txn.next_call();
            let savepoint = txn.savepoint();
            let mut state = self.call_state(plugin, &one, Txn::Write(txn));
            state.guard = guard.clone();
            state.long_after = long_after;
            let mut store = call::store(&self.inner.engine, state);
            let request = one.wit_request();
            let outcome = plugin
                .pre
                .instantiate(&mut store)
                .and_then(|instance| instance.call_handle(&mut store, &one.operation, &request));
            let mut state = store.into_data();
            ran.reads.extend(state.read_records());
            ran.origin.get_or_insert_with(|| state.origin.clone());
            let Some(Txn::Write(back)) = state.txn.take() else {
                let lost = "an import call's transaction did not come back".to_owned();
                return Err(Box::new((None, CallError::Internal(lost))));
            };
            txn = back;
            let result = match outcome {
                Ok(Ok(response)) => {
                    let response = PluginResponse {
                        status: response.status,
                        body: response.body,
                        replayed: false,
                    };
                    self.check_response(plugin, &response).map(|()| response)
                }
                Ok(Err(err)) => Err(call::plugin_error(err)),
                Err(err) => {
                    // Not the row's data but the plugin or the kernel: stop.
                    let plugin_id = plugin.manifest().id.to_string();
                    let err = call::classify_trap(&plugin_id, &mut state, &err);
                    ran.calls.push(Err(err));
                    break;
                }
            };
            match &result {
                Ok(_) => {
                    ran.published |= state.n_events > 0;
                    ran.timed |= state.n_timers > 0;
                }
                Err(_) => {
                    if let Err(err) = txn.roll_back_to(savepoint) {
                        return Err(Box::new((Some(txn), call::storage_error(err))));
                    }
                }
            }
            ran.calls.push(result);
        }
        Ok((txn, ran))
    }

    /// The mappings `tenant` saved for `plugin`'s import `import`, by
    /// source system. Blocking.
    pub fn import_mappings(
        &self,
        tenant: &TenantId,
        plugin: &str,
        import: &str,
    ) -> keel_storage::Result<Vec<(String, serde_json::Value)>> {
        let read = self.inner.storage.read()?;
        let prefix = mapping_prefix(tenant, plugin, import);
        read.catalog_page(&prefix, None, MAPPINGS_MAX)?
            .into_iter()
            .map(|(key, bytes)| {
                let source = key.strip_prefix(&prefix).unwrap_or(&key).to_owned();
                Ok((source, decode("import mapping", &bytes)?))
            })
            .collect()
    }

    /// The mapping `tenant` saved for `source`, if any. Blocking.
    pub fn import_mapping(
        &self,
        tenant: &TenantId,
        plugin: &str,
        import: &str,
        source: &str,
    ) -> keel_storage::Result<Option<serde_json::Value>> {
        let read = self.inner.storage.read()?;
        let key = format!("{}{source}", mapping_prefix(tenant, plugin, import));
        read.catalog_get(&key)?.map(|bytes| decode("import mapping", &bytes)).transpose()
    }

    /// Saves (or replaces) the mapping of `source`'s files, checked by the
    /// caller, audited as `import.mapping-put`; false if the tenant
    /// already keeps [`MAPPINGS_MAX`] others. Blocking.
    pub fn put_import_mapping(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        target: (&str, &str, &str),
        mapping: &serde_json::Value,
    ) -> keel_storage::Result<bool> {
        let (plugin, import, source) = target;
        let mut txn = self.tenant_txn(tenant)?;
        let prefix = mapping_prefix(tenant, plugin, import);
        let key = format!("{prefix}{source}");
        if txn.catalog_get(&key)?.is_none()
            && txn.catalog_page(&prefix, None, MAPPINGS_MAX)?.len() >= MAPPINGS_MAX
        {
            return Ok(false);
        }
        txn.catalog_put(&key, &encode(mapping)?)?;
        let detail = format!("import {import}: mapping of source {source} saved");
        audit(&mut txn, origin, tenant, plugin, action::IMPORT_MAPPING_PUT, detail)?;
        txn.finish()?.wait()?;
        Ok(true)
    }

    /// Deletes `source`'s mapping, audited as `import.mapping-delete`;
    /// false if there was none. Blocking.
    pub fn delete_import_mapping(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        target: (&str, &str, &str),
    ) -> keel_storage::Result<bool> {
        let (plugin, import, source) = target;
        let mut txn = self.tenant_txn(tenant)?;
        let key = format!("{}{source}", mapping_prefix(tenant, plugin, import));
        if !txn.catalog_remove(&key)? {
            return Ok(false);
        }
        let detail = format!("import {import}: mapping of source {source} deleted");
        audit(&mut txn, origin, tenant, plugin, action::IMPORT_MAPPING_DELETE, detail)?;
        txn.finish()?.wait()?;
        Ok(true)
    }
}

/// Why [`Host::run_calls`] stopped before its calls' end, with its
/// transaction unless that was lost.
pub(crate) type Stopped = Box<(Option<WriteTxn>, CallError)>;

/// What [`Host::run_calls`] did.
pub(crate) struct Calls {
    /// Each call's answer or error, in order; fewer than were asked for
    /// when one trapped, its error the last.
    pub(crate) calls: Vec<Result<PluginResponse, CallError>>,
    /// The audit records of what the calls read that is sealed.
    pub(crate) reads: Vec<keel_audit::Record>,
    /// Whether the calls that succeeded published events or set timers.
    pub(crate) published: bool,
    pub(crate) timed: bool,
    /// Who the calls acted as, from the first; none if none ran.
    pub(crate) origin: Option<keel_audit::Origin>,
    /// Whether they stopped at the time they were given, the rest not run.
    pub(crate) cut: bool,
}

/// Most mappings one import keeps, of as many source systems.
pub const MAPPINGS_MAX: usize = 64;

fn mapping_prefix(tenant: &TenantId, plugin: &str, import: &str) -> String {
    format!("import-mapping/{tenant}/{plugin}/{import}/")
}
