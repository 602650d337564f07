//! Timers: a plugin sets one in its call's transaction, and the kernel
//! calls the plugin's `on-timer` export at its time, in a write transaction
//! of its own that also removes it.
//!
//! Kernel catalog records, in the tenant's lane:
//! - `timer/<tenant>/<plugin>/<key>`: the timer;
//! - `timer-due/<tenant>/<due ms, 20 digits>/<plugin>/<key>`: the same
//!   timer by due time, so a tenant's next timer is one short read and
//!   timers not due cost nothing;
//! - `timer-dead/<tenant>/<plugin>/<key>`: a timer whose attempts ran out.
//!
//! The clock thread keeps each tenant's next due time in memory, learnt on
//! start and again after a call that set timers commits, and sleeps until
//! the earliest. Due timers run on a worker of their tenant (see
//! `executor.rs`), so a handler that loops holds up only its own tenant's
//! timers. A handler that fails is retried with the events' backoff and
//! attempts; then its timer becomes a dead timer.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use keel_storage::{ReadTxn, WriteTxn};
use keel_types::{TenantId, action};

use crate::bindings::keel::kernel::timers::Timer;
use crate::bindings::{Timestamp, WitError};
use crate::executor::Executors;
use crate::records::{audit, decode, encode};

/// Longest timer key, in bytes.
pub(crate) const KEY_BYTES_MAX: usize = 256;
/// The longest the clock sleeps: it then looks at the in-memory due times
/// again (no storage read), so a clock that jumps forward is noticed within
/// this.
pub(crate) const IDLE_WAKE: Duration = Duration::from_secs(1);
/// How soon a tenant's timers that could not run are tried again.
pub(crate) const BUSY_RETRY: Duration = Duration::from_secs(1);
/// Timers one pass fires for a tenant before letting the clock look again.
pub(crate) const FIRES_PER_PASS_MAX: usize = 100;
/// How much longer than a call's deadline stopping waits for timers.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(5);

/// A timer as the kernel keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredTimer {
    /// The plugin that set it.
    pub plugin: String,
    /// Its key among the plugin's timers.
    pub key: String,
    /// When it was set for: Unix seconds and nanoseconds.
    pub at_s: i64,
    pub at_ns: u32,
    /// When it is next due, Unix milliseconds: its time, or a retry's.
    pub due_ms: i64,
    /// Its payload, JSON text.
    pub payload: String,
    /// Attempts so far, and why the last failed.
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Who set it, and in which request.
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

pub(crate) fn timer_key(tenant: &TenantId, plugin: &str, key: &str) -> String {
    format!("timer/{tenant}/{plugin}/{key}")
}

pub(crate) fn timer_prefix(tenant: &TenantId) -> String {
    format!("timer/{tenant}/")
}

pub(crate) fn due_prefix(tenant: &TenantId) -> String {
    format!("timer-due/{tenant}/")
}

pub(crate) fn due_key(tenant: &TenantId, due_ms: i64, plugin: &str, key: &str) -> String {
    format!("timer-due/{tenant}/{:020}/{plugin}/{key}", due_ms.max(0))
}

pub(crate) fn dead_prefix(tenant: &TenantId) -> String {
    format!("timer-dead/{tenant}/")
}

pub(crate) fn dead_key(tenant: &TenantId, plugin: &str, key: &str) -> String {
    format!("timer-dead/{tenant}/{plugin}/{key}")
}

/// The segment that takes a plugin id's place in the due-index key of a
/// schedule (see `schedules.rs`); no plugin id holds `@`.
const SCHEDULE_SEGMENT: &str = "@schedule";

/// The due-index key of `plugin`'s schedule `id`.
pub(crate) fn schedule_due_key(tenant: &TenantId, due_ms: i64, plugin: &str, id: &str) -> String {
    format!("timer-due/{tenant}/{:020}/{SCHEDULE_SEGMENT}/{plugin}/{id}", due_ms.max(0))
}

/// The segment that takes a plugin id's place in the due-index key of a
/// job's next step (see `jobs.rs`).
const JOB_SEGMENT: &str = "@job";

/// The due-index key of job `id`'s next step.
pub(crate) fn job_due_key(tenant: &TenantId, due_ms: i64, id: &str) -> String {
    format!("timer-due/{tenant}/{:020}/{JOB_SEGMENT}/{id}", due_ms.max(0))
}

/// The segment that takes a plugin id's place in the due-index key of a
/// report schedule (see `reports/schedules.rs`).
const REPORT_SEGMENT: &str = "@report";

/// The due-index key of report `report`'s schedule `name`.
pub(crate) fn report_due_key(tenant: &TenantId, due_ms: i64, report: &str, name: &str) -> String {
    format!("timer-due/{tenant}/{:020}/{REPORT_SEGMENT}/{report}/{name}", due_ms.max(0))
}

/// What a due-index entry names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// A timer, by its record's key.
    Timer(String),
    /// A plugin's schedule.
    Schedule { plugin: String, id: String },
    /// A job's next step.
    Job(String),
    /// A tenant's schedule of one of its reports.
    Report { report: String, name: String },
}

/// The due time and what a due-index key names.
pub(crate) fn parse_due(tenant: &TenantId, due: &str) -> Option<(i64, Due)> {
    let rest = due.strip_prefix(&due_prefix(tenant))?;
    let (ms, named) = rest.split_once('/')?;
    let ms = ms.parse().ok()?;
    if let Some(scheduled) = named.strip_prefix(SCHEDULE_SEGMENT).and_then(|s| s.strip_prefix('/'))
    {
        let (plugin, id) = scheduled.split_once('/')?;
        return Some((ms, Due::Schedule { plugin: plugin.to_owned(), id: id.to_owned() }));
    }
    if let Some(job) = named.strip_prefix(JOB_SEGMENT).and_then(|s| s.strip_prefix('/')) {
        return Some((ms, Due::Job(job.to_owned())));
    }
    if let Some(scheduled) = named.strip_prefix(REPORT_SEGMENT).and_then(|s| s.strip_prefix('/')) {
        let (report, name) = scheduled.split_once('/')?;
        return Some((ms, Due::Report { report: report.to_owned(), name: name.to_owned() }));
    }
    let (plugin, key) = named.split_once('/')?;
    Some((ms, Due::Timer(timer_key(tenant, plugin, key))))
}

pub(crate) fn ms_of(at: &Timestamp) -> i64 {
    at.seconds.saturating_mul(1000).saturating_add(i64::from(at.nanoseconds / 1_000_000))
}

/// Checks a timer before it is set: its key and payload are well formed.
pub(crate) fn check(limits: &keel_types::Limits, timer: &Timer) -> Result<(), WitError> {
    if timer.key.is_empty()
        || timer.key.len() > KEY_BYTES_MAX
        || timer.key.chars().any(char::is_control)
    {
        return Err(WitError::Invalid(format!(
            "a timer key is 1 to {KEY_BYTES_MAX} bytes with no control characters"
        )));
    }
    if timer.at.nanoseconds >= 1_000_000_000 {
        return Err(WitError::Invalid("a timer's nanoseconds are below 1,000,000,000".to_owned()));
    }
    if timer.payload.len() > limits.event_payload_bytes_max {
        return Err(WitError::LimitExceeded(format!(
            "a timer payload is at most {} bytes",
            limits.event_payload_bytes_max
        )));
    }
    match serde_json::from_str::<serde_json::Value>(&timer.payload) {
        Ok(_) => Ok(()),
        Err(_) => Err(WitError::Invalid("a timer payload is JSON text".to_owned())),
    }
}

/// Sets `timer` for `plugin` in `txn`, replacing the one set under its key,
/// audited as `timer.set`. The caller has checked it.
pub(crate) fn set(
    txn: &mut WriteTxn,
    origin: &keel_audit::Origin,
    tenant: &TenantId,
    plugin: &str,
    timer: &Timer,
) -> keel_storage::Result<()> {
    let record = timer_key(tenant, plugin, &timer.key);
    if let Some(bytes) = txn.catalog_get(&record)? {
        let old: StoredTimer = decode("timer", &bytes)?;
        txn.catalog_remove(&due_key(tenant, old.due_ms, plugin, &timer.key))?;
    }
    let stored = StoredTimer {
        plugin: plugin.to_owned(),
        key: timer.key.clone(),
        at_s: timer.at.seconds,
        at_ns: timer.at.nanoseconds,
        due_ms: ms_of(&timer.at),
        payload: timer.payload.clone(),
        attempts: 0,
        error: None,
        actor: origin.actor.clone(),
        request_id: origin.request_id.clone(),
    };
    txn.catalog_put(&record, &encode(&stored)?)?;
    txn.catalog_put(&due_key(tenant, stored.due_ms, plugin, &timer.key), b"")?;
    let detail = format!("timer {} set for {}", timer.key, timer.at.seconds);
    audit(txn, origin, tenant, plugin, action::TIMER_SET, detail)
}

/// Cancels `plugin`'s timer `key` in `txn`; whether there was one.
pub(crate) fn cancel(
    txn: &mut WriteTxn,
    origin: &keel_audit::Origin,
    tenant: &TenantId,
    plugin: &str,
    key: &str,
) -> keel_storage::Result<bool> {
    let record = timer_key(tenant, plugin, key);
    let Some(bytes) = txn.catalog_get(&record)? else { return Ok(false) };
    let old: StoredTimer = decode("timer", &bytes)?;
    txn.catalog_remove(&record)?;
    txn.catalog_remove(&due_key(tenant, old.due_ms, plugin, key))?;
    audit(txn, origin, tenant, plugin, action::TIMER_CANCEL, format!("timer {key} cancelled"))?;
    Ok(true)
}

/// The clock: which tenants have timers due when, and the thread and
/// workers that fire them.
pub(crate) struct Clock {
    pub(crate) state: Mutex<Wheel>,
    pub(crate) woken: Condvar,
    pub(crate) thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    pub(crate) workers: Executors,
}

#[derive(Debug, Default)]
pub(crate) struct Wheel {
    /// Each tenant's next due time, Unix milliseconds, as last read.
    pub(crate) next: HashMap<TenantId, i64>,
    /// Tenants whose next due time must be read again.
    pub(crate) stale: HashSet<TenantId>,
    /// Tenants whose timers are firing.
    pub(crate) running: HashSet<TenantId>,
    /// Tenants whose next due time was read at least once: any other
    /// tenant with plugins enabled (after a start, or a new tenant) is read.
    pub(crate) known: HashSet<TenantId>,
    pub(crate) stop: bool,
}

impl Clock {
    pub(crate) fn new(storage: &Arc<keel_storage::Storage>) -> Self {
        Self {
            state: Mutex::default(),
            woken: Condvar::new(),
            thread: Mutex::default(),
            workers: Executors::new(storage, "keel-timer"),
        }
    }

    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, Wheel> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `tenant`'s timers changed and are committed: read its next due
    /// time again.
    pub(crate) fn notify(&self, tenant: &TenantId) {
        self.state().stale.insert(tenant.clone());
        self.woken.notify_all();
    }

    /// Sleeps until notified, stopped, or `wait` passes; false once stopped.
    pub(crate) fn sleep(&self, wait: Duration) -> bool {
        let mut state = self.state();
        if state.stale.is_empty() && !state.stop {
            state = self.woken.wait_timeout(state, wait).unwrap_or_else(|p| p.into_inner()).0;
        }
        !state.stop
    }

    pub(crate) fn stopped(&self) -> bool {
        self.state().stop
    }
}

/// A timer whose attempts ran out, as the admin API lists it.
pub type DeadTimer = StoredTimer;

/// The earliest entry of `tenant`'s due index and the timer record it
/// names.
pub(crate) fn first_due(
    read: &ReadTxn,
    tenant: &TenantId,
) -> keel_storage::Result<Option<(String, i64, Due)>> {
    let first = read.catalog_page(&due_prefix(tenant), None, 1)?;
    Ok(first.into_iter().next().and_then(|(index, _)| {
        let (due, named) = parse_due(tenant, &index)?;
        Some((index, due, named))
    }))
}

/// In the firing's transaction: the timer goes, unless it was set again
/// since it was read (then the newer one stays and this one does not fire).
pub(crate) fn remove_fired(
    txn: &mut WriteTxn,
    origin: &keel_audit::Origin,
    tenant: &TenantId,
    timer: &StoredTimer,
    attempt: u32,
) -> keel_storage::Result<()> {
    let record = timer_key(tenant, &timer.plugin, &timer.key);
    match txn.catalog_get(&record)? {
        Some(bytes) if decode::<StoredTimer>("timer", &bytes)? == *timer => {}
        _ => {
            return Err(keel_storage::Error::Invalid(format!(
                "timer {} was set again or cancelled while it fired",
                timer.key
            )));
        }
    }
    txn.catalog_remove(&record)?;
    txn.catalog_remove(&due_key(tenant, timer.due_ms, &timer.plugin, &timer.key))?;
    let detail = format!("timer {} fired, attempt {attempt}", timer.key);
    audit(txn, origin, tenant, &timer.plugin, action::TIMER_FIRE, detail)
}

/// Moves `timer` to `due`, noting a failed attempt if given; false if the
/// timer changed since it was read (then it is left alone).
pub(crate) fn move_due(
    txn: &mut WriteTxn,
    tenant: &TenantId,
    timer: &StoredTimer,
    due: i64,
    failed: Option<(u32, String)>,
) -> keel_storage::Result<bool> {
    let record = timer_key(tenant, &timer.plugin, &timer.key);
    match txn.catalog_get(&record)? {
        Some(bytes) if decode::<StoredTimer>("timer", &bytes)? == *timer => {}
        _ => return Ok(false),
    }
    txn.catalog_remove(&due_key(tenant, timer.due_ms, &timer.plugin, &timer.key))?;
    let mut moved = StoredTimer { due_ms: due, ..timer.clone() };
    if let Some((attempts, error)) = failed {
        (moved.attempts, moved.error) = (attempts, Some(error));
    }
    txn.catalog_put(&record, &encode(&moved)?)?;
    txn.catalog_put(&due_key(tenant, due, &timer.plugin, &timer.key), b"")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_key_sorts_by_time_and_names_its_timer() {
        let tenant = TenantId::new("acme").unwrap();
        let early = due_key(&tenant, 999, "itsm", "sla/INC-1");
        let late = due_key(&tenant, 1_000, "crm", "a");
        assert!(early < late, "zero-padded: key order is due order");
        assert_eq!(
            parse_due(&tenant, &early),
            Some((999, Due::Timer("timer/acme/itsm/sla/INC-1".to_owned()))),
            "a key may hold slashes"
        );
        assert_eq!(parse_due(&tenant, "timer-due/other/1/a/b"), None);
        let nightly = schedule_due_key(&tenant, 5, "inventory", "reorder");
        assert_eq!(
            parse_due(&tenant, &nightly),
            Some((5, Due::Schedule { plugin: "inventory".to_owned(), id: "reorder".to_owned() })),
            "a schedule's entry names no plugin's timer"
        );
        let step = job_due_key(&tenant, 7, "0190c0de-0000-7000-8000-000000000001");
        assert_eq!(
            parse_due(&tenant, &step),
            Some((7, Due::Job("0190c0de-0000-7000-8000-000000000001".to_owned()))),
        );
        let weekly = report_due_key(&tenant, 9, "movements", "monday-cfo");
        assert_eq!(
            parse_due(&tenant, &weekly),
            Some((
                9,
                Due::Report { report: "movements".to_owned(), name: "monday-cfo".to_owned() }
            )),
        );
    }
}
