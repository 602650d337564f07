//! Running a job's next step: a call of the plugin's `run-step` in a
//! write turn of the tenant's lane that also records the job's progress,
//! so a step's changes and the job's cursor commit together or not at all.

use std::sync::Arc;
use std::time::Duration;

use keel_storage::WriteTxn;
use keel_types::{PluginId, RequestId, TenantId, action};

use super::{
    CURSOR_BYTES_MAX, JOB_STEPS_MAX, Job, JobState, RESULT_BYTES_MAX, StoredJob, put_job, read_job,
};
use crate::bindings::keel::kernel::jobs::{Progress, Step};
use crate::bindings::{WitError, WitRequest};
use crate::call::{self, CallGuard, CallState, Finish, PermissionCheck};
use crate::error::{CallError, PluginErrorKind};
use crate::firing::{Ran, now_ms};
use crate::host::Host;
use crate::package::Plugin;
use crate::records::audit;
use crate::timers::{BUSY_RETRY, job_due_key};

impl Host {
    /// Runs the next step of `tenant`'s job `id`, found due at `index`;
    /// false if there was nothing to run.
    pub(crate) fn run_job_step(
        &self,
        tenant: &TenantId,
        index: &str,
        id: &str,
    ) -> Result<bool, CallError> {
        let storage = CallError::Storage;
        let stored = {
            let read = self.inner.storage.read().map_err(storage)?;
            read_job(|k| read.catalog_get(k), tenant, id).map_err(storage)?
        };
        let Some(job) = stored
            .filter(|job| !job.job.state.ended() && job_due_key(tenant, job.due_ms, id) == index)
        else {
            // An index entry its job no longer names: drop it.
            let mut txn = self.tenant_txn(tenant).map_err(storage)?;
            txn.catalog_remove(index).map_err(storage)?;
            let origin = keel_audit::Origin::kernel(self.now().seconds);
            let detail = format!("due-index entry {index} named no running job; dropped");
            audit(&mut txn, &origin, tenant, "kernel", action::TIMER_DROP, detail)
                .map_err(storage)?;
            txn.commit().map_err(storage)?;
            return Ok(true);
        };
        let plugin = PluginId::new(&job.job.plugin).ok().and_then(|p| self.enabled(tenant, &p));
        // A background import calls an operation that is not a job itself,
        // of the version its parts were planned for.
        let operation = plugin.as_ref().and_then(|p| {
            let manifest = p.manifest();
            let op = manifest.operation(&job.job.operation)?;
            let runs = match &job.import {
                Some(import) => import.runs_on(manifest, op),
                None => op.job,
            };
            runs.then(|| op.clone())
        });
        let (Some(plugin), Some(operation)) = (plugin, operation) else {
            let why = match &job.import {
                Some(_) => format!(
                    "plugin {} was disabled or upgraded while the import ran, so the rest of the file was not imported",
                    job.job.plugin
                ),
                None => format!(
                    "plugin {} is no longer enabled, or its operation {} is no longer a job",
                    job.job.plugin, job.job.operation
                ),
            };
            self.end_job(tenant, &job, &why).map_err(storage)?;
            return Ok(true);
        };
        let callers = self.inner.callers.read().unwrap_or_else(|p| p.into_inner()).clone();
        let permissions = callers.and_then(|callers| callers.permissions_of(&job.job.caller));
        let Some(permissions) = permissions else {
            // No one to ask about callers yet (starting) or any more
            // (stopping): the step waits rather than fail its job.
            self.postpone_job(tenant, &job, BUSY_RETRY).map_err(storage)?;
            return Ok(true);
        };
        if !permissions.check(tenant, &operation.permission) {
            let why = format!(
                "{} no longer holds {}, which {} needs",
                job.job.caller, operation.permission, operation.id
            );
            self.end_job(tenant, &job, &why).map_err(storage)?;
            return Ok(true);
        }
        let attempt = job.job.attempts.saturating_add(1);
        let span = tracing::info_span!("job", %tenant, plugin = %job.job.plugin, job = id, step = job.job.steps + 1, attempt);
        let settled = span.in_scope(|| match &job.import {
            Some(import) => {
                self.import_step(tenant, &plugin, (&job, import), &operation, permissions)
            }
            None => self.step(tenant, &plugin, &job, attempt, permissions),
        });
        match self.settle(tenant, settled) {
            Ran::Done => {}
            Ran::Busy => self.postpone_job(tenant, &job, BUSY_RETRY).map_err(storage)?,
            Ran::Failed(err) => self.step_failed(tenant, &job, attempt, &err).map_err(storage)?,
        }
        Ok(true)
    }

    /// Runs `plugin`'s `run-step` for `job` as its caller, in a write turn
    /// of the tenant's lane that also records the job's progress.
    fn step(
        &self,
        tenant: &TenantId,
        plugin: &Arc<Plugin>,
        job: &StoredJob,
        attempt: u32,
        permissions: Arc<dyn PermissionCheck>,
    ) -> call::Settled<()> {
        let origin = keel_audit::Origin {
            at: 0,
            actor: job.job.caller.clone(),
            roles: job.roles.clone(),
            request_id: Some(job.request_id.clone()).filter(|id| !id.is_empty()),
            source: None,
        };
        let request_id = RequestId::generated(job.request_id.clone());
        let mut state = match self.background_call(tenant, plugin, origin, request_id) {
            Ok(state) => state,
            Err(refused) => return *refused,
        };
        state.permissions = Some(permissions);
        let request = &job.request;
        let step = Step {
            job: job.job.id.clone(),
            operation: job.job.operation.clone(),
            request: WitRequest {
                method: request.method.clone(),
                path: request.path.clone(),
                params: request.params.clone(),
                query: request.query.clone(),
                body: request.body.clone().into_bytes(),
            },
            cursor: job.cursor.clone(),
            done: job.job.done,
            attempt,
        };
        let now = (state.now.seconds, now_ms(self));
        call::run(
            &self.inner.engine,
            state,
            &CallGuard::default(),
            Finish::Commit,
            |store, instance| {
                let fault = |state: &mut CallState, err: keel_storage::Error| {
                    let message = err.to_string();
                    state.storage_fault = Some(call::storage_error(err));
                    wasmtime::Error::msg(message)
                };
                // Cancelled (or changed) since it was read: this step does not run.
                let state = store.data_mut();
                let unchanged = call::writable(&mut state.txn).and_then(|txn| {
                    let current = read_job(|k| txn.catalog_get(k), tenant, &job.job.id)?;
                    if current.as_ref() == Some(job) {
                        return Ok(());
                    }
                    Err(keel_storage::Error::Invalid(format!(
                        "job {} was cancelled or changed while its step waited",
                        job.job.id
                    )))
                });
                if let Err(err) = unchanged {
                    return Err(fault(state, err));
                }
                let progress = match instance.call_run_step(&mut *store, &step)? {
                    Ok(progress) => progress,
                    Err(err) => return Ok(Err(err)),
                };
                let next = match advanced(job, progress, now) {
                    Ok(next) => next,
                    Err(reason) => return Ok(Err(WitError::Internal(reason))),
                };
                let state = store.data_mut();
                let origin = state.origin.clone();
                let recorded = call::writable(&mut state.txn)
                    .and_then(|txn| record_step(txn, &origin, tenant, job, &next));
                match recorded {
                    Ok(()) => Ok(Ok(())),
                    Err(err) => Err(fault(state, err)),
                }
            },
            |()| Ok(()),
        )
    }

    /// Records a step that did not commit, in a transaction of its own: an
    /// error the request caused, or the last attempt, fails the job; any
    /// other is tried again after the events' backoff.
    fn step_failed(
        &self,
        tenant: &TenantId,
        job: &StoredJob,
        attempt: u32,
        err: &CallError,
    ) -> keel_storage::Result<()> {
        let limits = &self.inner.config.limits;
        let shown = shown(err, job);
        if caused_by_request(err) || attempt >= limits.event_attempts_max {
            let why =
                format!("step {} failed after {attempt} attempts: {shown}", job.job.steps + 1);
            return self.end_job(tenant, job, &why);
        }
        let mut txn = self.tenant_txn(tenant)?;
        let Some(current) = read_job(|k| txn.catalog_get(k), tenant, &job.job.id)? else {
            return txn.commit();
        };
        if current != *job {
            return txn.commit();
        }
        let wait = self.backoff(attempt);
        let retried = StoredJob {
            job: Job { attempts: attempt, error: Some(shown.clone()), ..job.job.clone() },
            due_ms: after(now_ms(self), wait),
            ..job.clone()
        };
        put_job(&mut txn, tenant, &retried, Some(job))?;
        let origin = keel_audit::Origin::kernel(self.now().seconds);
        let detail = format!(
            "job {}: attempt {attempt} of {} at step {} failed, retrying in {} ms: {shown}",
            job.job.id,
            limits.event_attempts_max,
            job.job.steps + 1,
            wait.as_millis()
        );
        audit(&mut txn, &origin, tenant, &job.job.plugin, action::JOB_RETRY, detail)?;
        tracing::info!(%tenant, job = %job.job.id, attempt, error = %err, "a job step failed; will retry");
        txn.commit()
    }

    /// Puts `job`'s next step off by `wait`, spending no attempt.
    fn postpone_job(
        &self,
        tenant: &TenantId,
        job: &StoredJob,
        wait: Duration,
    ) -> keel_storage::Result<()> {
        let mut txn = self.tenant_txn(tenant)?;
        let current = read_job(|k| txn.catalog_get(k), tenant, &job.job.id)?;
        if current.as_ref() == Some(job) {
            let moved = StoredJob { due_ms: after(now_ms(self), wait), ..job.clone() };
            put_job(&mut txn, tenant, &moved, Some(job))?;
            let origin = keel_audit::Origin::kernel(self.now().seconds);
            let detail = format!(
                "job {}: the kernel or the tenant was busy; its next step runs in {} ms",
                job.job.id,
                wait.as_millis()
            );
            audit(&mut txn, &origin, tenant, &job.job.plugin, action::JOB_RETRY, detail)?;
        }
        txn.commit()
    }

    /// Fails `job` for `why`, unless it changed since it was read.
    fn end_job(&self, tenant: &TenantId, job: &StoredJob, why: &str) -> keel_storage::Result<()> {
        let mut txn = self.tenant_txn(tenant)?;
        let current = read_job(|k| txn.catalog_get(k), tenant, &job.job.id)?;
        if current.as_ref() == Some(job) {
            let now = self.now().seconds;
            // An import says what it kept, and from where to go on.
            let why = &match &job.import {
                Some(import) => format!("{why}.{}", import.then()),
                None => why.to_owned(),
            };
            let mut failed = StoredJob {
                job: Job {
                    state: JobState::Failed,
                    error: Some(why.clone()),
                    ended: Some(now),
                    ..job.job.clone()
                },
                ..job.clone()
            };
            if let Some(import) = &job.import {
                failed.job.result = Some(import.report(&failed.job));
            }
            put_job(&mut txn, tenant, &failed, Some(job))?;
            let origin = keel_audit::Origin::kernel(now);
            let detail = format!(
                "job {} ({} of {}) failed after {} steps, {} done: {why}",
                job.job.id, job.job.operation, job.job.plugin, job.job.steps, job.job.done
            );
            audit(&mut txn, &origin, tenant, &job.job.plugin, action::JOB_FAIL, detail)?;
            tracing::warn!(%tenant, job = %job.job.id, why, "a job failed");
        }
        txn.commit()
    }
}

/// The job after a step returned `progress`, at `now` (Unix seconds, ms);
/// why not if the step's answer breaks the kernel's bounds.
fn advanced(job: &StoredJob, progress: Progress, now: (i64, i64)) -> Result<StoredJob, String> {
    if let Some(cursor) = &progress.cursor
        && cursor.len() > CURSOR_BYTES_MAX
    {
        return Err(format!(
            "a step's cursor holds at most {CURSOR_BYTES_MAX} bytes; this one has {}",
            cursor.len()
        ));
    }
    if progress.total.is_some_and(|total| progress.done > total) {
        return Err(format!(
            "a step said {} done of {}: done may not pass the total",
            progress.done,
            progress.total.unwrap_or_default()
        ));
    }
    let finished = progress.cursor.is_none();
    if !finished && job.job.steps.saturating_add(1) >= JOB_STEPS_MAX {
        return Err(format!(
            "a job may take at most {JOB_STEPS_MAX} steps, and this one's steps never said it was finished"
        ));
    }
    let result = match progress.outcome.filter(|_| finished) {
        Some(text) if text.len() > RESULT_BYTES_MAX => {
            return Err(format!(
                "a job's result holds at most {RESULT_BYTES_MAX} bytes; this one has {}",
                text.len()
            ));
        }
        Some(text) => Some(
            serde_json::from_str(&text)
                .map_err(|err| format!("a job's result is not JSON: {err}"))?,
        ),
        None => None,
    };
    let (seconds, ms) = now;
    Ok(StoredJob {
        job: Job {
            state: if finished { JobState::Succeeded } else { JobState::Running },
            done: progress.done,
            total: progress.total,
            steps: job.job.steps.saturating_add(1),
            attempts: 0,
            error: None,
            result,
            started: job.job.started.or(Some(seconds)),
            ended: finished.then_some(seconds),
            ..job.job.clone()
        },
        cursor: progress.cursor,
        due_ms: ms,
        ..job.clone()
    })
}

/// In the step's transaction, after the plugin's writes: the job as the
/// step left it, and its audit record.
fn record_step(
    txn: &mut WriteTxn,
    origin: &keel_audit::Origin,
    tenant: &TenantId,
    was: &StoredJob,
    job: &StoredJob,
) -> keel_storage::Result<()> {
    put_job(txn, tenant, job, Some(was))?;
    let progress = match job.job.total {
        Some(total) => format!("{} of {total} done", job.job.done),
        None => format!("{} done", job.job.done),
    };
    let (action, detail) = if job.job.state.ended() {
        let what = format!("job {} finished after {} steps, {progress}", job.job.id, job.job.steps);
        (action::JOB_FINISH, what)
    } else {
        (action::JOB_STEP, format!("job {} step {}: {progress}", job.job.id, job.job.steps))
    };
    audit(txn, origin, tenant, &job.job.plugin, action, detail)
}

/// What a job shows of why a step failed to whoever may read it: the
/// plugin's own words, but of a failure inside the kernel only that it
/// happened, as an HTTP answer would; the log has the detail.
fn shown(err: &CallError, job: &StoredJob) -> String {
    match err {
        CallError::Storage(_) | CallError::Internal(_) => {
            tracing::error!(job = %job.job.id, error = %err, "a job step failed inside the kernel");
            "the kernel failed; its log has the cause".to_owned()
        }
        other => other.to_string(),
    }
}

/// Whether a step failed because of what its request asked, so that
/// running it again would fail the same way.
fn caused_by_request(err: &CallError) -> bool {
    matches!(
        err,
        CallError::Plugin {
            kind: PluginErrorKind::BadRequest
                | PluginErrorKind::Invalid
                | PluginErrorKind::NotFound
                | PluginErrorKind::Conflict
                | PluginErrorKind::Denied
                | PluginErrorKind::LimitExceeded,
            ..
        }
    )
}

/// `wait` after `now_ms`, in Unix ms.
fn after(now_ms: i64, wait: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::StoredRequest;

    fn queued() -> StoredJob {
        StoredJob {
            job: Job {
                id: "0190c0de-0000-7000-8000-000000000001".to_owned(),
                plugin: "hr".to_owned(),
                operation: "payroll.run".to_owned(),
                import: None,
                state: JobState::Queued,
                done: 0,
                total: None,
                steps: 0,
                attempts: 2,
                error: Some("trapped".to_owned()),
                result: None,
                caller: "alice".to_owned(),
                created: 10,
                started: None,
                ended: None,
            },
            cursor: None,
            request: StoredRequest {
                method: "POST".to_owned(),
                path: "/payroll/runs".to_owned(),
                params: Vec::new(),
                query: Vec::new(),
                body: "{}".to_owned(),
            },
            roles: Vec::new(),
            request_id: "r1".to_owned(),
            due_ms: 0,
            import: None,
        }
    }

    fn progress(done: u64, total: Option<u64>, cursor: Option<&str>) -> Progress {
        Progress { done, total, cursor: cursor.map(str::to_owned), outcome: None }
    }

    #[test]
    fn a_step_moves_the_job_on_and_clears_its_failed_attempts() {
        let next =
            advanced(&queued(), progress(100, Some(1000), Some("100")), (20, 20_000)).unwrap();
        assert_eq!(next.job.state, JobState::Running);
        assert_eq!((next.job.done, next.job.total, next.job.steps), (100, Some(1000), 1));
        assert_eq!((next.job.attempts, next.job.error.as_deref()), (0, None));
        assert_eq!((next.job.started, next.job.ended), (Some(20), None));
        assert_eq!((next.cursor.as_deref(), next.due_ms), (Some("100"), 20_000));
    }

    #[test]
    fn a_step_with_no_cursor_finishes_the_job_with_its_result() {
        let mut last = progress(1000, Some(1000), None);
        last.outcome = Some(r#"{"employees":1000}"#.to_owned());
        let done = advanced(&queued(), last, (30, 30_000)).unwrap();
        assert_eq!(done.job.state, JobState::Succeeded);
        assert_eq!(done.job.ended, Some(30));
        assert_eq!(done.job.result, Some(serde_json::json!({ "employees": 1000 })));
    }

    #[test]
    fn a_step_that_breaks_the_bounds_is_refused() {
        let long = "x".repeat(CURSOR_BYTES_MAX + 1);
        let err = advanced(&queued(), progress(1, None, Some(&long)), (0, 0)).unwrap_err();
        assert!(err.contains("cursor holds at most"), "{err}");
        let err = advanced(&queued(), progress(11, Some(10), Some("1")), (0, 0)).unwrap_err();
        assert!(err.contains("may not pass the total"), "{err}");
        let endless =
            StoredJob { job: Job { steps: JOB_STEPS_MAX - 1, ..queued().job }, ..queued() };
        let err = advanced(&endless, progress(1, None, Some("1")), (0, 0)).unwrap_err();
        assert!(err.contains("at most 1000000 steps"), "{err}");
        assert!(advanced(&endless, progress(1, Some(1), None), (0, 0)).is_ok(), "a last step is");
        let mut bad = progress(1, Some(1), None);
        bad.outcome = Some("not json".to_owned());
        assert!(advanced(&queued(), bad, (0, 0)).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn only_an_error_the_request_caused_fails_a_job_at_once() {
        let plugin = |kind| CallError::Plugin { kind, message: String::new() };
        assert!(caused_by_request(&plugin(PluginErrorKind::Invalid)));
        assert!(caused_by_request(&plugin(PluginErrorKind::Denied)));
        assert!(!caused_by_request(&plugin(PluginErrorKind::Internal)));
        assert!(!caused_by_request(&CallError::Internal("storage".to_owned())));
        let trap = CallError::Trap { plugin: "hr".to_owned(), reason: "unreachable".to_owned() };
        assert!(!caused_by_request(&trap));
    }
}
