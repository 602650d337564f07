//! Report runs gone on in the background, as the kernel keeps them: each
//! one's progress and, once it ends, its answer or why there is none, per
//! tenant and within the kernel's bounds on how many run at once. A leaf:
//! the host keeps one [`Runs`]; `reports/runs.rs` starts and feeds them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use keel_report::Table;
use keel_types::TenantId;

/// Report runs a tenant keeps, running or answered (each answer at most
/// `keel_report::TABLE_BYTES_MAX`).
const RUNS_PER_TENANT_MAX: usize = 4;
/// Report runs of one tenant in the background at once.
const RUNNING_PER_TENANT_MAX: usize = 1;
/// Long reads of the whole kernel at once: runs in the background and
/// scheduled reports together.
const RUNNING_MAX: usize = 4;
/// How long an ended run's answer is kept.
const RUN_KEEP_SECONDS: i64 = 3600;
/// How long a long read may take before it is given up.
pub(crate) const RUN_SECONDS_MAX: u64 = 600;

/// The background runs of every tenant.
#[derive(Default)]
pub(crate) struct Runs {
    by_tenant: Mutex<HashMap<TenantId, Vec<Arc<ReportRun>>>>,
    running: Arc<AtomicUsize>,
    pub(crate) stopping: AtomicBool,
    /// Scheduled reports sent whose record could not be written yet, by
    /// due-index entry and attempt: what the record will say.
    unrecorded: Mutex<HashMap<String, String>>,
}

/// One of the kernel's places for a long read, given back when dropped
/// (a read that panics included).
#[derive(Debug)]
pub(crate) struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One report run in the background.
#[derive(Debug)]
pub struct ReportRun {
    /// A UUIDv7.
    pub id: String,
    /// The report run (its id), or `preview` for a definition not saved.
    pub report: String,
    pub title: String,
    /// The source it reads, `<plugin>/<id>`: whoever fetches its answer
    /// must still be allowed to read it.
    pub source: String,
    /// Who started it: only they see it.
    pub caller: String,
    /// When it started, Unix seconds.
    pub started: i64,
    pub(crate) scanned: AtomicU64,
    pub(crate) cancelled: AtomicBool,
    pub(crate) outcome: Mutex<Option<Outcome>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) ended: i64,
    pub(crate) result: Result<Arc<Table>, String>,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

impl ReportRun {
    /// Documents read so far.
    pub fn scanned(&self) -> u64 {
        self.scanned.load(Ordering::Relaxed)
    }

    pub fn state(&self) -> RunState {
        match &*self.outcome() {
            None => RunState::Running,
            Some(Outcome { result: Ok(_), .. }) => RunState::Succeeded,
            Some(_) if self.cancelled.load(Ordering::Relaxed) => RunState::Cancelled,
            Some(_) => RunState::Failed,
        }
    }

    /// When it ended, Unix seconds.
    pub fn ended(&self) -> Option<i64> {
        self.outcome().as_ref().map(|o| o.ended)
    }

    /// Its answer, or why there is none, once it ended.
    pub fn result(&self) -> Option<Result<Arc<Table>, String>> {
        self.outcome().as_ref().map(|o| o.result.clone())
    }

    /// Asks it to stop at its next page.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub(crate) fn outcome(&self) -> std::sync::MutexGuard<'_, Option<Outcome>> {
        self.outcome.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Runs {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Vec<Arc<ReportRun>>>> {
        self.by_tenant.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One of the kernel's places for a long read, if one is free.
    pub(crate) fn slot(&self) -> Option<Slot> {
        let taken = self.running.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < RUNNING_MAX).then_some(n + 1)
        });
        taken.ok().map(|_| Slot(Arc::clone(&self.running)))
    }

    /// The run `id` of `tenant`, unless its answer's keep is over.
    pub(crate) fn find(&self, tenant: &TenantId, id: &str, now: i64) -> Option<Arc<ReportRun>> {
        let mut by_tenant = self.lock();
        let kept = by_tenant.get_mut(tenant)?;
        kept.retain(|r| r.ended().is_none_or(|ended| now - ended < RUN_KEEP_SECONDS));
        kept.iter().find(|run| run.id == id).cloned()
    }

    /// Keeps `run` as one of `tenant`'s running runs, if there is room:
    /// ended runs past their keep go first, then the oldest ended one.
    pub(crate) fn admit(
        &self,
        tenant: &TenantId,
        run: &Arc<ReportRun>,
        now: i64,
    ) -> Result<Slot, String> {
        let mut by_tenant = self.lock();
        let kept = by_tenant.entry(tenant.clone()).or_default();
        kept.retain(|r| r.ended().is_none_or(|ended| now - ended < RUN_KEEP_SECONDS));
        let running = kept.iter().filter(|r| r.ended().is_none()).count();
        if running >= RUNNING_PER_TENANT_MAX {
            return Err(format!(
                "tenant {tenant} already runs {RUNNING_PER_TENANT_MAX} large reports; wait for one to end or cancel it"
            ));
        }
        let Some(slot) = self.slot() else {
            return Err(format!(
                "the kernel already runs {RUNNING_MAX} large reports; try again shortly"
            ));
        };
        if kept.len() >= RUNS_PER_TENANT_MAX
            && let Some(oldest) = kept.iter().position(|r| r.ended().is_some())
        {
            kept.remove(oldest);
        }
        kept.push(Arc::clone(run));
        Ok(slot)
    }

    /// Remembers that a scheduled send went out but was not recorded.
    pub(crate) fn keep_unrecorded(&self, key: String, summary: String) {
        let mut unrecorded = self.unrecorded.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded by the schedules whose records fail at once; a kernel
        // whose storage refuses writes has no more to remember.
        if unrecorded.len() < 4096 {
            unrecorded.insert(key, summary);
        }
    }

    /// What a send that went out but was not recorded said, if one did.
    pub(crate) fn take_unrecorded(&self, key: &str) -> Option<String> {
        self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).remove(key)
    }

    pub(crate) fn forget(&self, tenant: &TenantId, id: &str) {
        if let Some(kept) = self.lock().get_mut(tenant) {
            kept.retain(|run| run.id != id);
        }
    }
}
