//! Background imports: a file too large to import while its caller waits,
//! or one asked for in the background, is kept as a job whose parts are
//! catalog records (`import-part/<tenant>/<job>/<n>`), each the calls of
//! at most [`keel_types::Limits::import_part_rows`] rows. The clock runs
//! one part a step on the tenant's timer worker, with the calls' loop of
//! `imports.rs`:
//! - a part whose calls all succeed is kept, with its `import.run` record,
//!   the job's progress and the part's removal, in one commit;
//! - a part with a failed call keeps nothing of itself and fails the job
//!   with its rows' errors: the parts before it stay kept, and the job says
//!   from which row to send the file again;
//! - a dry run undoes every part and goes on to the end, gathering every
//!   row's errors.
//!
//! So an import goes on after a restart from the part it had reached, and
//! its parts go when it ends, however it ends.

use std::sync::Arc;

use keel_manifest::Operation;
use keel_storage::{Txn, WriteTxn};
use keel_types::{RequestId, TenantId, action};
use serde_json::{Value, json};

use super::{Job, JobState, StoredJob, open_prefix, open_slot, put_job, read_job, started_by};
use crate::call::{self, CallGuard, Invocation, PermissionCheck, PluginRequest};
use crate::error::{CallError, PluginErrorKind};
use crate::firing::now_ms;
use crate::host::Host;
use crate::imports::Calls;
use crate::package::Plugin;
use crate::records::{audit, decode, encode};

/// Most errors a background import lists; the rest are counted.
pub const IMPORT_ERRORS_LISTED: usize = 100;

/// Most characters of an error's message a background import keeps.
const MESSAGE_CHARS_MAX: usize = 300;

/// Most parts one import may be cut into.
pub const IMPORT_PARTS_MAX: usize = 100_000;

/// The calls of some of a file's rows, run together.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImportPart {
    /// The rows each call comes from, as the file numbers them.
    pub rows: Vec<Vec<usize>>,
    /// Each call's request body.
    pub bodies: Vec<Value>,
}

/// A file to import in the background.
#[derive(Debug)]
pub struct ImportJob {
    /// The caller, the operation and the request every call shares.
    pub invocation: Invocation,
    /// The import's id.
    pub import: String,
    /// What was imported, for the audit trail.
    pub detail: String,
    /// The file's calls, part after part.
    pub parts: Vec<ImportPart>,
    /// Whether to undo every part, and only report.
    pub dry_run: bool,
    /// The first row of the file asked for, if not the first.
    pub from_row: Option<usize>,
    /// The problems found reading the file, already in the report.
    pub errors: Vec<Value>,
    /// How many more were found and not listed.
    pub errors_not_listed: u64,
}

/// Where a background import stands, kept with its job.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ImportState {
    import: String,
    detail: String,
    dry_run: bool,
    /// The plugin's version when the job started: its parts were planned
    /// for that version's import, and run only on it.
    version: String,
    /// The first row of the file the job was asked to import from, if
    /// not the first.
    from_row: Option<usize>,
    /// Its parts in all, and the next to run.
    parts: u64,
    next: u64,
    /// Calls run and succeeded so far.
    calls: u64,
    succeeded: u64,
    /// The last row of the parts kept, if any was.
    kept_through: Option<usize>,
    /// The errors found so far: the first [`IMPORT_ERRORS_LISTED`], and
    /// how many more.
    errors: Vec<Value>,
    errors_not_listed: u64,
}

impl ImportState {
    fn push_error(&mut self, error: Value) {
        if self.errors.len() < IMPORT_ERRORS_LISTED {
            self.errors.push(error);
        } else {
            self.errors_not_listed += 1;
        }
    }

    /// The row to send the file again from, once the job stopped short:
    /// the one after the last kept, or where the job itself started.
    fn resume_from(&self) -> Option<usize> {
        self.kept_through.map(|row| row + 1).or(self.from_row)
    }

    /// What to do now that a real run stopped short.
    pub(super) fn then(&self) -> String {
        let again = match self.resume_from() {
            Some(row) => format!("send the file again with ?from_row={row}"),
            None => "send the file again".to_owned(),
        };
        match self.kept_through {
            Some(row) => format!(" The rows through {row} were imported and stay: {again}"),
            None => format!(" Nothing was imported: {again}"),
        }
    }

    /// Whether the job's parts may run on `manifest`'s `operation`: the
    /// same version of the plugin, still declaring the import over it.
    pub(super) fn runs_on(
        &self,
        manifest: &keel_manifest::Manifest,
        operation: &Operation,
    ) -> bool {
        manifest.version == self.version
            && !operation.job
            && manifest.import(&self.import).is_some_and(|import| import.operation == operation.id)
    }

    /// What the job's result says once it has ended.
    pub(super) fn report(&self, job: &Job) -> Value {
        let stopped_short = !self.dry_run && job.state != JobState::Succeeded;
        json!({
            "resume_from_row": if stopped_short { self.resume_from() } else { None },
            "import": self.import,
            "dry_run": self.dry_run,
            "kept": !self.dry_run && self.kept_through.is_some(),
            "rows": job.total,
            "rows_done": job.done,
            "kept_through_row": self.kept_through,
            "parts": self.parts,
            "parts_done": self.next,
            "calls": self.calls,
            "succeeded": self.succeeded,
            "errors": self.errors,
            "errors_not_listed": self.errors_not_listed,
        })
    }
}

fn part_prefix(tenant: &TenantId, id: &str) -> String {
    format!("import-part/{tenant}/{id}/")
}

fn part_key(tenant: &TenantId, id: &str, n: u64) -> String {
    format!("{}{n:06}", part_prefix(tenant, id))
}

/// Removes whatever parts job `id` still keeps.
pub(crate) fn remove_parts(
    txn: &mut WriteTxn,
    tenant: &TenantId,
    id: &str,
) -> keel_storage::Result<()> {
    let prefix = part_prefix(tenant, id);
    loop {
        let page = txn.catalog_page(&prefix, None, 256)?;
        if page.is_empty() {
            return Ok(());
        }
        for (key, _) in page {
            txn.catalog_remove(&key)?;
        }
    }
}

/// The message a row's failed call is reported with: the plugin's own
/// words, but of a failure inside the kernel only that it happened.
fn row_message(err: &CallError) -> String {
    let text = match err {
        CallError::Plugin { message, .. } => message.clone(),
        CallError::Storage(_) | CallError::Internal(_) => {
            tracing::error!(error = %err, "an import's call failed inside the kernel");
            "the kernel failed; its log has the cause".to_owned()
        }
        other => other.to_string(),
    };
    match text.char_indices().nth(MESSAGE_CHARS_MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

impl Host {
    /// Keeps `run`'s parts as a job of its caller's, which the clock runs
    /// a part at a time, and answers with the job. One background import a
    /// tenant at a time. Blocking.
    pub fn start_import_job(&self, plugin: &Arc<Plugin>, run: ImportJob) -> Result<Job, CallError> {
        let storage = CallError::Storage;
        let invocation = &run.invocation;
        let tenant = &invocation.tenant;
        let manifest = plugin.manifest();
        let Some(caller) = invocation.caller.clone() else {
            return Err(CallError::Plugin {
                kind: PluginErrorKind::Denied,
                message: "an import runs as its caller".to_owned(),
            });
        };
        if run.parts.len() > IMPORT_PARTS_MAX {
            return Err(CallError::Limit(format!(
                "an import is cut into at most {IMPORT_PARTS_MAX} parts; this one needs {}",
                run.parts.len()
            )));
        }
        let mut txn = self.tenant_txn(tenant).map_err(storage)?;
        self.limit_stored(&mut txn, tenant)?;
        open_slot(&txn, tenant, &caller)?;
        if let Some(running) = self.running_import(&txn, tenant).map_err(storage)? {
            return Err(CallError::Plugin {
                kind: PluginErrorKind::Conflict,
                message: format!(
                    "import job {running} is running in tenant {tenant}; wait for it to end (GET /api/{tenant}/jobs/{running}) or cancel it"
                ),
            });
        }
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        let now = self.now().seconds;
        let rows: usize = run.parts.iter().flat_map(|part| &part.rows).map(Vec::len).sum();
        for (n, part) in (0u64..).zip(&run.parts) {
            let bytes = encode(part).map_err(storage)?;
            txn.catalog_put(&part_key(tenant, &id, n), &bytes).map_err(call::storage_error)?;
        }
        let at = (now, now_ms(self));
        let mut job =
            StoredJob::queued(invocation, (&id, manifest.id.as_str()), &caller, at, String::new());
        job.job.import = Some(run.import.clone());
        job.job.total = Some(rows as u64);
        let mut state = ImportState {
            import: run.import.clone(),
            detail: run.detail.clone(),
            dry_run: run.dry_run,
            version: manifest.version.clone(),
            from_row: run.from_row,
            parts: run.parts.len() as u64,
            next: 0,
            calls: 0,
            succeeded: 0,
            kept_through: None,
            errors: Vec::new(),
            errors_not_listed: run.errors_not_listed,
        };
        for error in run.errors {
            state.push_error(error);
        }
        job.import = Some(state);
        let origin = started_by(invocation, caller, now);
        put_job(&mut txn, tenant, &job, None).map_err(storage)?;
        let detail = format!(
            "job {id} started: import {}{} of {}, {rows} rows in {} parts; {}",
            run.import,
            if run.dry_run { " (a dry run)" } else { "" },
            manifest.id,
            run.parts.len(),
            run.detail
        );
        audit(&mut txn, &origin, tenant, manifest.id.as_str(), action::JOB_START, detail)
            .map_err(storage)?;
        txn.commit().map_err(call::storage_error)?;
        self.inner.clock.notify(tenant);
        Ok(job.job)
    }

    /// The import job running in `tenant`, if one is.
    fn running_import(
        &self,
        txn: &WriteTxn,
        tenant: &TenantId,
    ) -> keel_storage::Result<Option<String>> {
        let prefix = open_prefix(tenant);
        for (key, _) in txn.catalog_page(&prefix, None, super::OPEN_JOBS_MAX)? {
            let id = key.strip_prefix(&prefix).unwrap_or(&key);
            let job = read_job(|k| txn.catalog_get(k), tenant, id)?;
            if job.is_some_and(|job| job.import.is_some()) {
                return Ok(Some(id.to_owned()));
            }
        }
        Ok(None)
    }

    /// Runs `job`'s next part, or as much of it as starts within
    /// [`keel_types::Limits::import_part_turn`],
    /// as its caller, and records how it went, in one write turn of the
    /// tenant's lane. A call that traps stops the turn; it is its row's
    /// error unless the kernel or the tenant was only busy, when the turn
    /// is tried again.
    pub(super) fn import_step(
        &self,
        tenant: &TenantId,
        plugin: &Arc<Plugin>,
        (job, state): (&StoredJob, &ImportState),
        operation: &Operation,
        permissions: Arc<dyn PermissionCheck>,
    ) -> call::Settled<()> {
        let request = &job.request;
        let invocation = Invocation {
            tenant: tenant.clone(),
            caller: Some(job.job.caller.clone()),
            request_id: RequestId::generated(job.request_id.clone()),
            roles: job.roles.clone(),
            source: None,
            operation: operation.id.clone(),
            method: operation.method,
            request: PluginRequest {
                method: request.method.clone(),
                path: request.path.clone(),
                params: request.params.clone(),
                query: request.query.clone(),
                body: Vec::new(),
            },
            guard: CallGuard::default(),
            permissions: Some(permissions),
            idempotency: None,
        };
        let mut txn = match self.tenant_txn(tenant) {
            Ok(txn) => txn,
            Err(err) => return call::Settled::refused(None, CallError::Storage(err)),
        };
        if let Err(err) = self.limit_stored(&mut txn, tenant) {
            return call::Settled::refused(Some(Txn::Write(txn)), err);
        }
        let id = job.job.id.as_str();
        let read = (|| {
            let current = read_job(|k| txn.catalog_get(k), tenant, id)?;
            let part = txn.catalog_get(&part_key(tenant, id, state.next))?;
            Ok::<_, keel_storage::Error>((current, part))
        })();
        let part = match read {
            // Cancelled (or changed) since it was read: this part does not run.
            Ok((current, _)) if current.as_ref() != Some(job) => {
                return call::Settled::refused(Some(Txn::Write(txn)), CallError::Busy);
            }
            Ok((_, Some(bytes))) => decode::<ImportPart>("import part", &bytes),
            Ok((_, None)) => Err(keel_storage::Error::Invalid(format!(
                "part {} of import job {id} is missing",
                state.next + 1
            ))),
            Err(err) => Err(err),
        };
        let part = match part {
            Ok(part) => part,
            Err(err) => {
                return call::Settled::refused(Some(Txn::Write(txn)), CallError::Storage(err));
            }
        };
        let start = txn.savepoint();
        let bodies: Vec<Vec<u8>> = part.bodies.iter().map(|b| b.to_string().into_bytes()).collect();
        let until = Some(std::time::Instant::now() + self.inner.config.limits.import_part_turn);
        let ran = self.run_calls(plugin, &invocation, bodies.iter().map(Vec::as_slice), txn, until);
        let (mut txn, ran) = match ran {
            Ok(ran) => ran,
            Err(stopped) => {
                let (txn, err) = *stopped;
                return call::Settled::refused(txn.map(Txn::Write), err);
            }
        };
        let Calls { calls, reads, published, timed, origin, cut } = ran;
        let n_ran = calls.len();
        // A call stopped for a passing reason (the kernel or the tenant
        // busy): the turn is tried again, spending no attempt. Any other
        // trap is its row's error, as a plugin's refusal is.
        if !cut
            && n_ran < part.bodies.len()
            && let Some(Err(err)) = calls.last()
            && passing(err)
        {
            let err = calls.into_iter().last().and_then(Result::err).unwrap_or(CallError::Busy);
            return call::Settled::refused(Some(Txn::Write(txn)), err);
        }
        // What this turn ran of the part, and what is left of it for the next.
        let ran_rows = &part.rows[..n_ran];
        let rest =
            ImportPart { rows: part.rows[n_ran..].to_vec(), bodies: part.bodies[n_ran..].to_vec() };
        let mut next = state.clone();
        if rest.bodies.is_empty() {
            next.next += 1;
        }
        next.calls += n_ran as u64;
        for (rows, outcome) in ran_rows.iter().zip(&calls) {
            match outcome {
                Ok(_) => next.succeeded += 1,
                Err(err) => {
                    let mut error = json!({ "message": row_message(err) });
                    match rows.as_slice() {
                        [row] => error["row"] = json!(row),
                        rows => error["rows"] = json!(rows),
                    }
                    next.push_error(error);
                }
            }
        }
        let failed = calls.iter().filter(|c| c.is_err()).count();
        let keep = !state.dry_run && failed == 0;
        let first = ran_rows.first().and_then(|rows| rows.first()).copied();
        let last = ran_rows.last().and_then(|rows| rows.last()).copied();
        let through = match (first, last) {
            (Some(first), Some(last)) => format!("rows {first}–{last}"),
            _ => "no rows".to_owned(),
        };
        let which = format!("part {} of {}", state.next + 1, state.parts);
        if !keep && let Err(err) = txn.roll_back_to(start) {
            return call::Settled::refused(Some(Txn::Write(txn)), call::storage_error(err));
        }
        if keep {
            next.kept_through = last.or(next.kept_through);
        }
        let n_rows = ran_rows.iter().map(Vec::len).sum::<usize>() as u64;
        let now = (self.now().seconds, now_ms(self));
        let refused = !state.dry_run && failed > 0;
        let ended = next.next >= next.parts || refused;
        let mut after = StoredJob {
            job: Job {
                state: if ended { JobState::Succeeded } else { JobState::Running },
                // Rows checked by a dry run; rows kept by a real one.
                done: job.job.done.saturating_add(if refused { 0 } else { n_rows }),
                steps: job.job.steps.saturating_add(1),
                attempts: 0,
                error: None,
                started: job.job.started.or(Some(now.0)),
                ended: ended.then_some(now.0),
                ..job.job.clone()
            },
            due_ms: now.1,
            ..job.clone()
        };
        if refused {
            after.job.state = JobState::Failed;
            after.job.error = Some(format!(
                "{failed} of the calls of {through} ({which}) failed, so none of those rows was imported; the result names them.{}",
                next.then()
            ));
        }
        if ended {
            after.job.result = Some(next.report(&after.job));
        }
        after.import = Some(next.clone());
        let origin = origin.unwrap_or_else(|| keel_audit::Origin::kernel(now.0));
        let mut records = reads;
        if keep && txn.has_unsealed() {
            records.push(keel_audit::Record {
                plugin: Some(plugin.manifest().id.to_string()),
                ..origin.record(action::SEQUENCE_NEXT)
            });
        }
        let (action, detail) = match keep {
            true => (
                action::IMPORT_RUN,
                format!(
                    "import {} (job {id}) {which}, {through}: {n_ran} calls of {}; {}",
                    state.import, operation.id, state.detail
                ),
            ),
            false => (
                action::IMPORT_CHECK,
                format!(
                    "import {} (job {id}) {which}, {through}: {} with {n_ran} calls of {}, {failed} failed, nothing of them kept; {}",
                    state.import,
                    if state.dry_run { "a dry run" } else { "refused" },
                    operation.id,
                    state.detail
                ),
            ),
        };
        let plugin_id = plugin.manifest().id.as_str();
        let recorded = (|| {
            let key = part_key(tenant, id, state.next);
            if rest.bodies.is_empty() || ended {
                txn.catalog_remove(&key)?;
            } else {
                txn.catalog_put(&key, &encode(&rest)?)?;
            }
            put_job(&mut txn, tenant, &after, Some(job))?;
            call::append_all(&mut txn, Some(tenant), records).map_err(|err| match err {
                CallError::Storage(err) => err,
                other => keel_storage::Error::Invalid(other.to_string()),
            })?;
            audit(&mut txn, &origin, tenant, plugin_id, action, detail)?;
            if !ended {
                return Ok(());
            }
            let (action, detail) = match &after.job.error {
                Some(why) => {
                    (action::JOB_FAIL, format!("job {id} (import {}) failed: {why}", state.import))
                }
                None => (
                    action::JOB_FINISH,
                    format!(
                        "job {id} (import {}) finished after {} steps, {} rows done",
                        state.import, after.job.steps, after.job.done
                    ),
                ),
            };
            audit(&mut txn, &origin, tenant, plugin_id, action, detail)
        })();
        if let Err(err) = recorded {
            return call::Settled::refused(Some(Txn::Write(txn)), call::storage_error(err));
        }
        if let Some(why) = &after.job.error {
            tracing::warn!(%tenant, job = %id, why, "a background import failed");
        }
        match txn.finish() {
            Ok(ticket) => call::Settled {
                outcome: Ok(()),
                tickets: vec![ticket],
                published: keep && published,
                timed: keep && timed,
            },
            Err(err) => call::Settled::refused(None, call::storage_error(err)),
        }
    }
}

/// Whether a call failed for a passing reason, not its row's: the kernel
/// or the tenant had no room for it just then.
fn passing(err: &CallError) -> bool {
    matches!(
        err,
        CallError::Busy
            | CallError::Abandoned
            | CallError::GuestMemoryFull
            | CallError::TenantMemoryFull { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_key_sorts_parts_in_order_and_stays_under_its_job() {
        let tenant = TenantId::new("acme").unwrap();
        let id = "0190c0de-0000-7000-8000-000000000001";
        assert!(part_key(&tenant, id, 9) < part_key(&tenant, id, 10));
        assert!(part_key(&tenant, id, 0).starts_with(&part_prefix(&tenant, id)));
    }

    #[test]
    fn errors_past_the_listed_are_counted_and_long_messages_cut() {
        let mut state = ImportState {
            import: "accounts".to_owned(),
            detail: String::new(),
            dry_run: true,
            version: "0.1.0".to_owned(),
            from_row: None,
            parts: 1,
            next: 0,
            calls: 0,
            succeeded: 0,
            kept_through: None,
            errors: Vec::new(),
            errors_not_listed: 0,
        };
        for row in 0..IMPORT_ERRORS_LISTED + 7 {
            state.push_error(json!({ "row": row }));
        }
        assert_eq!((state.errors.len(), state.errors_not_listed), (IMPORT_ERRORS_LISTED, 7));
        let long = CallError::Plugin { kind: PluginErrorKind::Invalid, message: "é".repeat(1000) };
        let said = row_message(&long);
        assert!(said.ends_with('…') && said.chars().count() == MESSAGE_CHARS_MAX + 1, "{said}");
    }
}
