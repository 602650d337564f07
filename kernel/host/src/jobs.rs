//! Background jobs: an operation the manifest declares with `job = true`
//! is not run when it is called. The kernel keeps a job, answers 202 with
//! its id, and runs it in steps (`jobs/step.rs`), each a call of the
//! plugin's `run-step` in a write turn of the tenant's lane that also
//! records the job's progress.
//!
//! Kernel catalog records, in the tenant's lane:
//! - `job/<tenant>/<id>`: the job, kept once it ends; ids are UUIDv7, so
//!   a tenant's jobs list oldest first;
//! - `job-open/<tenant>/<id>`: the jobs not ended, each holding its
//!   caller, at most [`OPEN_JOBS_MAX`] a tenant and
//!   [`OPEN_JOBS_PER_CALLER_MAX`] a caller;
//! - while it runs, its next step's entry in the timers' due index
//!   (`timers.rs`), so the clock runs its steps on the tenant's timer
//!   worker: a tenant's jobs and timers take turns there, and never hold
//!   up another tenant's.

mod import;
mod step;

pub use import::{IMPORT_ERRORS_LISTED, IMPORT_PARTS_MAX, ImportJob, ImportPart};

use std::sync::Arc;

use keel_storage::WriteTxn;
use keel_types::{TenantId, action};

use crate::call::{Callers, Invocation, PluginResponse};
use crate::error::{CallError, PluginErrorKind};
use crate::firing::now_ms;
use crate::host::Host;
use crate::package::Plugin;
use crate::records::{audit, decode, encode};
use crate::timers::job_due_key;

/// Most jobs a tenant may have queued or running at once.
pub const OPEN_JOBS_MAX: usize = 256;
/// Most of those one caller may have started, so one user cannot take
/// every slot of their tenant.
pub const OPEN_JOBS_PER_CALLER_MAX: usize = 32;
/// Longest cursor a step may return, in bytes.
pub const CURSOR_BYTES_MAX: usize = 4 * 1024;
/// Longest result a finished job keeps, in bytes.
pub const RESULT_BYTES_MAX: usize = 64 * 1024;
/// Most steps one job may take: a plugin whose steps never say the job is
/// finished fails it there rather than run for ever.
pub const JOB_STEPS_MAX: u64 = 1_000_000;
/// Longest request body a job keeps for its steps, in bytes.
pub const REQUEST_BYTES_MAX: usize = 64 * 1024;
/// How long an ended job is kept, for whoever follows it, before pruning.
pub const ENDED_JOB_KEEP: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);
/// Jobs read, and at most removed, per audited write when pruning.
const PRUNE_BATCH: usize = 500;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its first step.
    Queued,
    /// At least one step done, more to do.
    Running,
    /// Its last step said it was finished.
    Succeeded,
    /// A step failed for good, or the job could no longer run.
    Failed,
    /// Cancelled between steps.
    Cancelled,
}

impl JobState {
    /// Its name, as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the job has ended, one way or another.
    pub fn ended(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// A job, as whoever may read it sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Job {
    /// Its id, a UUIDv7.
    pub id: String,
    /// The plugin whose operation it runs.
    pub plugin: String,
    /// The operation.
    pub operation: String,
    /// The import it runs, for a file imported in the background (whose
    /// calls are of `operation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<String>,
    /// Where it is.
    pub state: JobState,
    /// Units done so far, as its last step said.
    pub done: u64,
    /// Units in all, when known.
    pub total: Option<u64>,
    /// Steps committed.
    pub steps: u64,
    /// Failed attempts at its next step.
    pub attempts: u32,
    /// Why its last attempt failed, or why it ended if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What its last step returned as the job's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// Who started it; its steps run as them.
    pub caller: String,
    /// When it was started, ran its first step, and ended (Unix seconds).
    pub created: i64,
    /// When its first step ran.
    pub started: Option<i64>,
    /// When it ended.
    pub ended: Option<i64>,
}

/// A job as the kernel keeps it: what it shows, and what its steps need.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredJob {
    #[serde(flatten)]
    pub(crate) job: Job,
    /// Where its next step starts, as its last step said.
    pub(crate) cursor: Option<String>,
    /// The request that started it.
    pub(crate) request: StoredRequest,
    /// The roles its caller held then, for the audit trail.
    pub(crate) roles: Vec<String>,
    /// The request id of the call that started it.
    pub(crate) request_id: String,
    /// When its next step is due (Unix ms), while it has one.
    pub(crate) due_ms: i64,
    /// For a background import, where it stands (beside the job's own
    /// `import`, its id).
    #[serde(default, rename = "import_state", skip_serializing_if = "Option::is_none")]
    pub(crate) import: Option<import::ImportState>,
}

impl StoredJob {
    /// Job `id` of `plugin`'s, started by `invocation` of `caller`'s at
    /// `at` (Unix seconds, ms), queued to run at once with `body` kept for
    /// its steps.
    fn queued(
        invocation: &Invocation,
        (id, plugin): (&str, &str),
        caller: &str,
        at: (i64, i64),
        body: String,
    ) -> Self {
        let request = &invocation.request;
        Self {
            job: Job {
                id: id.to_owned(),
                plugin: plugin.to_owned(),
                operation: invocation.operation.clone(),
                import: None,
                state: JobState::Queued,
                done: 0,
                total: None,
                steps: 0,
                attempts: 0,
                error: None,
                result: None,
                caller: caller.to_owned(),
                created: at.0,
                started: None,
                ended: None,
            },
            cursor: None,
            request: StoredRequest {
                method: request.method.clone(),
                path: request.path.clone(),
                params: request.params.clone(),
                query: request.query.clone(),
                body,
            },
            roles: invocation.roles.clone(),
            request_id: invocation.request_id.to_string(),
            due_ms: at.1,
            import: None,
        }
    }
}

/// Who started a job with `invocation`, at `now`, as the audit trail
/// names them.
fn started_by(invocation: &Invocation, caller: String, now: i64) -> keel_audit::Origin {
    keel_audit::Origin {
        at: now,
        actor: caller,
        roles: invocation.roles.clone(),
        request_id: Some(invocation.request_id.to_string()).filter(|id| !id.is_empty()),
        source: invocation.source.clone(),
    }
}

/// The request that started a job, kept for its steps (and dropped when
/// it ends).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) query: Vec<(String, String)>,
    /// The body, UTF-8 (JSON).
    pub(crate) body: String,
}

/// What cancelling a job did.
#[derive(Debug)]
pub enum Cancelled {
    /// It was cancelled; its steps stop.
    Now(Job),
    /// It had already ended.
    AlreadyEnded(Job),
}

pub(crate) fn job_key(tenant: &TenantId, id: &str) -> String {
    format!("job/{tenant}/{id}")
}

fn job_prefix(tenant: &TenantId) -> String {
    format!("job/{tenant}/")
}

pub(crate) fn open_key(tenant: &TenantId, id: &str) -> String {
    format!("job-open/{tenant}/{id}")
}

fn open_prefix(tenant: &TenantId) -> String {
    format!("job-open/{tenant}/")
}

/// Whether `id` could name a job: a UUID, so it never reaches another key.
fn well_formed(id: &str) -> bool {
    uuid::Uuid::try_parse(id).is_ok_and(|uuid| uuid.hyphenated().to_string() == id)
}

/// Reads job `id` of `tenant` through `get` (a transaction's
/// `catalog_get`), if there is one.
pub(crate) fn read_job(
    get: impl FnOnce(&str) -> keel_storage::Result<Option<Vec<u8>>>,
    tenant: &TenantId,
    id: &str,
) -> keel_storage::Result<Option<StoredJob>> {
    if !well_formed(id) {
        return Ok(None);
    }
    match get(&job_key(tenant, id))? {
        Some(bytes) => decode("job", &bytes).map(Some),
        None => Ok(None),
    }
}

/// Writes `job` in `txn`, with its open entry and its next step's due
/// entry as its state says; `was` is how it was stored before, if it was.
pub(crate) fn put_job(
    txn: &mut WriteTxn,
    tenant: &TenantId,
    job: &StoredJob,
    was: Option<&StoredJob>,
) -> keel_storage::Result<()> {
    let id = job.job.id.as_str();
    if let Some(was) = was.filter(|was| !was.job.state.ended()) {
        txn.catalog_remove(&job_due_key(tenant, was.due_ms, id))?;
    }
    if job.job.state.ended() {
        // What only its steps needed goes with them.
        let kept = StoredJob { cursor: None, request: StoredRequest::default(), ..job.clone() };
        txn.catalog_put(&job_key(tenant, id), &encode(&kept)?)?;
        txn.catalog_remove(&open_key(tenant, id))?;
        if job.import.is_some() {
            import::remove_parts(txn, tenant, id)?;
        }
    } else {
        txn.catalog_put(&job_key(tenant, id), &encode(job)?)?;
        txn.catalog_put(&open_key(tenant, id), job.job.caller.as_bytes())?;
        txn.catalog_put(&job_due_key(tenant, job.due_ms, id), b"")?;
    }
    Ok(())
}

/// Refuses a new job of `caller`'s unless `tenant` and `caller` have a
/// slot left for it (see [`OPEN_JOBS_MAX`]).
fn open_slot(txn: &WriteTxn, tenant: &TenantId, caller: &str) -> Result<(), CallError> {
    let open =
        txn.catalog_page(&open_prefix(tenant), None, OPEN_JOBS_MAX).map_err(CallError::Storage)?;
    if open.len() >= OPEN_JOBS_MAX {
        return Err(CallError::Limit(format!(
            "tenant {tenant} has {OPEN_JOBS_MAX} jobs queued or running, the most it may; wait for one to end or cancel one"
        )));
    }
    let mine = open.iter().filter(|(_, started_by)| started_by == caller.as_bytes()).count();
    if mine >= OPEN_JOBS_PER_CALLER_MAX {
        return Err(CallError::Limit(format!(
            "{caller} has {OPEN_JOBS_PER_CALLER_MAX} jobs queued or running in tenant {tenant}, the most one caller may; wait for one to end or cancel one"
        )));
    }
    Ok(())
}

/// A refusal of a job's request, as a plugin's own would read.
fn refused(kind: PluginErrorKind, message: String) -> CallError {
    CallError::Plugin { kind, message }
}

impl Host {
    /// Lets job steps ask about the caller who started their job.
    pub fn set_callers(&self, callers: Arc<dyn Callers>) {
        let mut slot = self.inner.callers.write().unwrap_or_else(|p| p.into_inner());
        *slot = Some(callers);
    }

    /// Starts a job for `invocation`, a call of `plugin`'s job operation
    /// that the caller may make, and answers 202 with the job. Blocking.
    /// An idempotency key sent again answers with the job it started.
    pub fn start_job(
        &self,
        plugin: &Arc<Plugin>,
        invocation: Invocation,
    ) -> Result<PluginResponse, CallError> {
        let manifest = plugin.manifest();
        let tenant = &invocation.tenant;
        let storage = CallError::Storage;
        if !manifest.operation(&invocation.operation).is_some_and(|op| op.job) {
            return Err(CallError::Internal(format!(
                "operation {} of {} is not a job",
                invocation.operation, manifest.id
            )));
        }
        let Some(caller) = invocation.caller.clone() else {
            return Err(refused(PluginErrorKind::Denied, "a job runs as its caller".to_owned()));
        };
        if invocation.request.body.len() > REQUEST_BYTES_MAX {
            return Err(CallError::Limit(format!(
                "a job's request body holds at most {REQUEST_BYTES_MAX} bytes; this one has {}",
                invocation.request.body.len()
            )));
        }
        let body = String::from_utf8(invocation.request.body.clone()).map_err(|_| {
            refused(PluginErrorKind::BadRequest, "a job's request body must be UTF-8 JSON".into())
        })?;
        let mut txn = self.tenant_txn(tenant).map_err(storage)?;
        self.limit_stored(&mut txn, tenant)?;
        let claim = invocation.idempotency.as_ref().map(|key| {
            crate::idempotency::Claim::new(
                tenant,
                &caller,
                key,
                manifest.id.as_str(),
                &invocation.operation,
                &invocation.request,
            )
        });
        let now = self.now().seconds;
        if let Some(claim) = &claim
            && let Some(kept) = claim.kept(&txn, now, &self.data_keys())?
        {
            txn.commit().map_err(storage)?;
            return Ok(kept);
        }
        open_slot(&txn, tenant, &caller)?;
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        let at = (now, now_ms(self));
        let job = StoredJob::queued(&invocation, (&id, manifest.id.as_str()), &caller, at, body);
        let origin = started_by(&invocation, caller, now);
        let response = PluginResponse {
            status: 202,
            body: serde_json::to_vec(&job.job)
                .map_err(|err| CallError::Internal(err.to_string()))?,
            replayed: false,
        };
        put_job(&mut txn, tenant, &job, None).map_err(storage)?;
        if let Some(claim) = &claim {
            claim.keep(&mut txn, &origin, tenant, &response, &self.data_keys()).map_err(storage)?;
        }
        let detail = format!("job {id} started: {} of {}", invocation.operation, manifest.id);
        audit(&mut txn, &origin, tenant, manifest.id.as_str(), action::JOB_START, detail)
            .map_err(storage)?;
        txn.commit().map_err(crate::call::storage_error)?;
        self.inner.clock.notify(tenant);
        Ok(response)
    }

    /// `tenant`'s job `id`, if there is one.
    pub fn job(&self, tenant: &TenantId, id: &str) -> keel_storage::Result<Option<Job>> {
        let read = self.inner.storage.read()?;
        Ok(read_job(|k| read.catalog_get(k), tenant, id)?.map(|stored| stored.job))
    }

    /// `tenant`'s jobs, oldest first: at most `limit`, after the job
    /// `after` if given; only those not ended if `open`.
    pub fn jobs(
        &self,
        tenant: &TenantId,
        open: bool,
        after: Option<&str>,
        limit: usize,
    ) -> keel_storage::Result<Vec<Job>> {
        let read = self.inner.storage.read()?;
        if open {
            let prefix = open_prefix(tenant);
            let after = after.map(|a| format!("{prefix}{a}"));
            let page = read.catalog_page(&prefix, after.as_deref(), limit)?;
            let ids = page.iter().filter_map(|(key, _)| key.strip_prefix(&prefix));
            return ids
                .filter_map(|id| read_job(|k| read.catalog_get(k), tenant, id).transpose())
                .map(|job| job.map(|stored| stored.job))
                .collect();
        }
        let prefix = job_prefix(tenant);
        let after = after.map(|a| format!("{prefix}{a}"));
        let page = read.catalog_page(&prefix, after.as_deref(), limit)?;
        page.iter().map(|(_, bytes)| decode::<StoredJob>("job", bytes).map(|s| s.job)).collect()
    }

    /// Cancels `tenant`'s job `id` as `origin`: a step running now
    /// finishes (or not) on its own, and no step runs after it. None if
    /// there is no such job.
    pub fn cancel_job(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        id: &str,
    ) -> keel_storage::Result<Option<Cancelled>> {
        let mut txn = self.tenant_txn(tenant)?;
        let Some(stored) = read_job(|k| txn.catalog_get(k), tenant, id)? else {
            txn.commit()?;
            return Ok(None);
        };
        if stored.job.state.ended() {
            txn.commit()?;
            return Ok(Some(Cancelled::AlreadyEnded(stored.job)));
        }
        let mut cancelled = StoredJob {
            job: Job { state: JobState::Cancelled, ended: Some(origin.at), ..stored.job.clone() },
            ..stored.clone()
        };
        if let Some(import) = &stored.import {
            cancelled.job.result = Some(import.report(&cancelled.job));
        }
        put_job(&mut txn, tenant, &cancelled, Some(&stored))?;
        let detail = format!(
            "job {id} ({} of {}) cancelled after {} steps, {} done",
            stored.job.operation, stored.job.plugin, stored.job.steps, stored.job.done
        );
        audit(&mut txn, origin, tenant, &stored.job.plugin, action::JOB_CANCEL, detail)?;
        txn.commit()?;
        Ok(Some(Cancelled::Now(cancelled.job)))
    }
}

impl Host {
    /// Removes the jobs that ended more than [`ENDED_JOB_KEEP`] ago, in
    /// every tenant, a batch per audited write (`job.prune`); returns how
    /// many. A tenant whose pruning fails is logged and the others are
    /// pruned all the same. Blocking.
    pub fn prune_jobs(&self) -> Result<usize, String> {
        let keep = i64::try_from(ENDED_JOB_KEEP.as_secs()).unwrap_or(i64::MAX);
        let before = self.now().seconds.saturating_sub(keep);
        let tenants = self.tenants().map_err(|err| err.to_string())?;
        crate::tenants::each_tenant(&tenants, "ended jobs", |tenant| self.prune(tenant, before))
    }

    /// Removes `tenant`'s jobs that ended before `before` (Unix seconds).
    fn prune(&self, tenant: &TenantId, before: i64) -> keel_storage::Result<usize> {
        let prefix = job_prefix(tenant);
        let stale = |bytes: &[u8]| {
            decode::<StoredJob>("job", bytes)
                .is_ok_and(|job| job.job.state.ended() && job.job.ended.is_some_and(|e| e < before))
        };
        let (mut after, mut n_removed) = (None::<String>, 0);
        loop {
            let read = self.inner.storage.read()?;
            let page = read.catalog_page(&prefix, after.as_deref(), PRUNE_BATCH)?;
            drop(read);
            let Some((last, _)) = page.last() else { return Ok(n_removed) };
            after = Some(last.clone());
            let old: Vec<String> =
                page.into_iter().filter(|(_, bytes)| stale(bytes)).map(|(key, _)| key).collect();
            if old.is_empty() {
                continue;
            }
            let mut txn = self.tenant_txn(tenant)?;
            let mut removed = 0;
            for key in old {
                if txn.catalog_get(&key)?.is_some_and(|bytes| stale(&bytes)) {
                    txn.catalog_remove(&key)?;
                    removed += 1;
                }
            }
            if removed == 0 {
                txn.commit()?;
                continue;
            }
            let origin = keel_audit::Origin::kernel(self.now().seconds);
            let detail = format!("{removed} jobs that ended before {before} removed");
            audit(&mut txn, &origin, tenant, "kernel", action::JOB_PRUNE, detail)?;
            txn.commit()?;
            n_removed += removed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hyphenated_uuid_names_a_job() {
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        assert!(well_formed(&id));
        assert!(!well_formed(&id.to_uppercase()), "one spelling per job");
        assert!(!well_formed(&id.replace('-', "")));
        assert!(!well_formed("../timer/acme"));
        assert!(!well_formed(&format!("{id}/x")));
    }

    #[test]
    fn an_ended_job_keeps_no_open_or_due_entry() {
        for state in [JobState::Succeeded, JobState::Failed, JobState::Cancelled] {
            assert!(state.ended());
        }
        assert!(!JobState::Queued.ended() && !JobState::Running.ended());
        let text = serde_json::to_string(&JobState::Cancelled).unwrap();
        assert_eq!(text, "\"cancelled\"");
    }
}
