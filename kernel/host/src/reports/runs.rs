//! Report runs that outgrow a request: a run that has read as many
//! documents as its caller may wait for goes on in the background, on a
//! thread of its own at the lowest CPU priority, from the same snapshot
//! (so its answer is one consistent view, however long it takes). Its
//! progress and answer are kept in memory for whoever started it: a run
//! is a read, so a restart loses nothing but the answer, and running it
//! again gives it anew.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use keel_report::Table;
use keel_types::TenantId;

use super::{Reading, ReportError, ReportSource};
use crate::host::Host;
use crate::runs::{Outcome, RUN_SECONDS_MAX, ReportRun, Slot};

/// Documents read between two updates of a run's progress.
const PROGRESS_EVERY: u64 = 5_000;

/// How a run began.
pub enum Started {
    /// It read everything while the caller waited.
    Answered(Table),
    /// It goes on in the background.
    Background(Arc<ReportRun>),
}

/// A report to run: who asks, for which report, over what.
pub struct RunRequest {
    pub origin: keel_audit::Origin,
    /// The principal running it.
    pub caller: String,
    /// The report's id (`preview` for one not saved).
    pub report: String,
    pub title: String,
    /// The source, as the definition names it.
    pub source_name: String,
    pub source: ReportSource,
    /// Set when whoever waits for the answer gives up: a read not yet
    /// gone on in the background stops at its next page.
    pub gone: Arc<AtomicBool>,
}

impl Host {
    /// Runs a report: answered here if it reads at most `inline_max`
    /// documents, else handed to a thread that reads the rest from the
    /// same snapshot. Busy (as a call would be) when the tenant or the
    /// kernel already runs as many as it may. Blocking.
    pub fn run_report(&self, request: RunRequest, inline_max: u64) -> Result<Started, ReportError> {
        let RunRequest { origin, caller, report, title, source_name, source, gone } = request;
        let tenant = source.tenant.clone();
        let mut reading = Reading::new(self, origin, source)?;
        let runs = &self.inner.reports;
        let stop = || runs.stopping.load(Ordering::Relaxed) || gone.load(Ordering::Relaxed);
        if reading.read_until(inline_max, &stop)? {
            return Ok(Started::Answered(reading.finish()?));
        }
        let now = self.now().seconds;
        let run = Arc::new(ReportRun {
            id: uuid::Uuid::now_v7().to_string(),
            report,
            title,
            source: source_name,
            caller,
            started: now,
            scanned: AtomicU64::new(reading.scanned()),
            cancelled: AtomicBool::new(false),
            outcome: Mutex::new(None),
        });
        let slot = runs.admit(&tenant, &run, now).map_err(ReportError::Busy)?;
        let (host, background) = (self.clone(), Arc::clone(&run));
        let spawned = std::thread::Builder::new()
            .name(format!("keel-report-{tenant}"))
            .spawn(move || host.read_in_background(reading, &background, slot));
        if let Err(err) = spawned {
            runs.forget(&tenant, &run.id);
            return Err(ReportError::Busy(format!("no thread for a report run: {err}")));
        }
        Ok(Started::Background(run))
    }

    /// The run `id` of `tenant`, if it is kept.
    pub fn report_run(&self, tenant: &TenantId, id: &str) -> Option<Arc<ReportRun>> {
        self.inner.reports.find(tenant, id, self.now().seconds)
    }

    /// Stops every background run at its next page (the kernel is stopping).
    pub fn stop_reports(&self) {
        self.inner.reports.stopping.store(true, Ordering::Relaxed);
    }

    /// Reads the rest of `reading` for `run`, holding `slot` until done.
    fn read_in_background(&self, mut reading: Reading, run: &ReportRun, slot: Slot) {
        // A long read takes CPU only where other work leaves it idle.
        crate::priority::allow_lowering();
        crate::priority::lower();
        let runs = &self.inner.reports;
        let started = std::time::Instant::now();
        let stop =
            || runs.stopping.load(Ordering::Relaxed) || run.cancelled.load(Ordering::Relaxed);
        let result = loop {
            if started.elapsed().as_secs() > RUN_SECONDS_MAX {
                break Err(ReportError::TooLong);
            }
            match reading.read_until(reading.scanned() + PROGRESS_EVERY, &stop) {
                Ok(done) => {
                    run.scanned.store(reading.scanned(), Ordering::Relaxed);
                    if done {
                        break Ok(());
                    }
                }
                Err(err) => break Err(err),
            }
        };
        // Either way `reading` goes here, its sensitive reads audited,
        // before anyone is told the run ended.
        let result = result.and_then(move |()| reading.finish().map(Arc::new));
        let result = result.map_err(|err| match err {
            ReportError::Call(err) => {
                tracing::error!(run = %run.id, error = %err, "a report run failed");
                "the kernel could not read the report's source; see its log".to_owned()
            }
            err => err.to_string(),
        });
        *run.outcome() = Some(Outcome { ended: self.now().seconds, result });
        drop(slot);
    }
}
