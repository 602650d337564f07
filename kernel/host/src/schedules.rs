//! Schedules: the operations a manifest asks the kernel to call on a
//! timetable (`keel_manifest::Schedule`), for each tenant that has the
//! plugin enabled.
//!
//! Kernel catalog records, in the tenant's lane:
//! - `schedule/<tenant>/<plugin>/<id>`: the schedule as armed, the slot it
//!   runs for next, and its last run;
//! - an entry in the timers' due index (`timers.rs`), so the clock that
//!   fires timers runs schedules too, and an idle one costs nothing.
//!
//! Enabling or upgrading a plugin arms its schedules (a changed pattern or
//! time zone takes its next slot afresh); disabling it removes them. A run
//! is one call of the operation, as `schedule:<plugin>/<id>` holding only
//! the operation's permission, in a write transaction that also moves the
//! schedule to its first slot after now: slots missed while the kernel was
//! down run once, not once each, and a run that did not commit runs again.
//! A run that fails is retried with the events' backoff; once attempts run
//! out its slot is recorded as failed and the schedule goes on to the next.

use std::sync::Arc;

use keel_manifest::{Manifest, Schedule};
use keel_storage::WriteTxn;
use keel_types::{PluginId, RequestId, TenantId, action};

use crate::call::{CallGuard, Invocation, PermissionCheck, PluginRequest};
use crate::error::CallError;
use crate::firing::{Ran, now_ms};
use crate::host::Host;
use crate::records::{audit, decode, encode};
use crate::timers::{BUSY_RETRY, schedule_due_key};

/// A schedule as the kernel keeps it for a tenant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredSchedule {
    /// The plugin that declares it.
    pub plugin: String,
    /// Its id among the plugin's schedules.
    pub id: String,
    /// Its cron pattern, time zone and operation, as armed.
    pub cron: String,
    pub time_zone: String,
    pub operation: String,
    /// The slot it runs for next, Unix seconds.
    pub slot: i64,
    /// When it is next tried, Unix milliseconds: its slot, or a retry's.
    pub due_ms: i64,
    /// Failed attempts at this slot, and why the last failed.
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How its last run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<LastRun>,
}

/// How a schedule's last run ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LastRun {
    /// The slot it ran for, Unix seconds.
    pub slot: i64,
    /// When it ended, Unix seconds.
    pub ended: i64,
    /// Whether it succeeded; if not, the last attempt's error.
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Attempts it took.
    pub attempts: u32,
}

impl StoredSchedule {
    /// The schedule it was armed from, to find its slots.
    fn schedule(&self) -> Schedule {
        Schedule {
            id: self.id.clone(),
            cron: self.cron.clone(),
            time_zone: self.time_zone.clone(),
            operation: self.operation.clone(),
            summary: String::new(),
        }
    }

    /// The schedule after a run for its slot ended as `last`: due at
    /// `slot`, with no failed attempts.
    fn moved_to(&self, slot: i64, last: LastRun) -> Self {
        Self {
            slot,
            due_ms: slot.saturating_mul(1000),
            attempts: 0,
            error: None,
            last: Some(last),
            ..self.clone()
        }
    }

    /// Its cron pattern in words.
    pub fn describe(&self) -> String {
        self.schedule().describe()
    }

    /// `seconds` (Unix) on its wall clock.
    pub fn local_time(&self, seconds: i64) -> String {
        self.schedule().local_time(seconds)
    }
}

fn schedule_key(tenant: &TenantId, plugin: &str, id: &str) -> String {
    format!("schedule/{tenant}/{plugin}/{id}")
}

fn schedule_prefix(tenant: &TenantId) -> String {
    format!("schedule/{tenant}/")
}

fn due_key_of(tenant: &TenantId, schedule: &StoredSchedule) -> String {
    schedule_due_key(tenant, schedule.due_ms, &schedule.plugin, &schedule.id)
}

fn put(
    txn: &mut WriteTxn,
    tenant: &TenantId,
    schedule: &StoredSchedule,
) -> keel_storage::Result<()> {
    txn.catalog_put(&schedule_key(tenant, &schedule.plugin, &schedule.id), &encode(schedule)?)?;
    txn.catalog_put(&due_key_of(tenant, schedule), b"")
}

fn remove(
    txn: &mut WriteTxn,
    tenant: &TenantId,
    schedule: &StoredSchedule,
) -> keel_storage::Result<()> {
    txn.catalog_remove(&schedule_key(tenant, &schedule.plugin, &schedule.id))?;
    txn.catalog_remove(&due_key_of(tenant, schedule)).map(drop)
}

/// `plugin`'s schedules armed for `tenant`, as `txn` sees them.
fn armed(
    txn: &WriteTxn,
    tenant: &TenantId,
    plugin: &str,
) -> keel_storage::Result<Vec<StoredSchedule>> {
    let prefix = format!("{}{plugin}/", schedule_prefix(tenant));
    let page = txn.catalog_page(&prefix, None, usize::MAX)?;
    page.iter().map(|(_, bytes)| decode("schedule", bytes)).collect()
}

/// The schedule `key` names now, if it is still `expected`.
fn unchanged(
    txn: &WriteTxn,
    tenant: &TenantId,
    expected: &StoredSchedule,
) -> keel_storage::Result<bool> {
    let key = schedule_key(tenant, &expected.plugin, &expected.id);
    Ok(match txn.catalog_get(&key)? {
        Some(bytes) => decode::<StoredSchedule>("schedule", &bytes)? == *expected,
        None => false,
    })
}

/// In `txn`, arms `manifest`'s schedules for `tenant` as of `now`: each new
/// one, or one whose pattern, time zone or operation changed, from its
/// next slot; one the manifest no longer declares is removed. Each change
/// is audited.
pub(crate) fn arm(
    txn: &mut WriteTxn,
    origin: &keel_audit::Origin,
    tenant: &TenantId,
    manifest: &Manifest,
    now: i64,
) -> keel_storage::Result<()> {
    let plugin = manifest.id.as_str();
    let armed = armed(txn, tenant, plugin)?;
    for old in &armed {
        if !manifest.schedules.iter().any(|s| s.id == old.id) {
            remove(txn, tenant, old)?;
            let detail = format!("schedule {} removed: the manifest no longer declares it", old.id);
            audit(txn, origin, tenant, plugin, action::SCHEDULE_REMOVE, detail)?;
        }
    }
    for schedule in &manifest.schedules {
        let old = armed.iter().find(|s| s.id == schedule.id);
        let same = |old: &&StoredSchedule| {
            old.cron == schedule.cron
                && old.time_zone == schedule.time_zone
                && old.operation == schedule.operation
        };
        if old.is_some_and(|o| same(&o)) {
            continue;
        }
        // Validated with the manifest: it matches some date to come.
        let Some(slot) = schedule.next_after(now) else { continue };
        if let Some(old) = old {
            remove(txn, tenant, old)?;
        }
        let stored = StoredSchedule {
            plugin: plugin.to_owned(),
            id: schedule.id.clone(),
            cron: schedule.cron.clone(),
            time_zone: schedule.time_zone.clone(),
            operation: schedule.operation.clone(),
            slot,
            due_ms: slot.saturating_mul(1000),
            attempts: 0,
            error: None,
            last: old.and_then(|o| o.last.clone()),
        };
        put(txn, tenant, &stored)?;
        let detail = format!(
            "schedule {} ({} in {}: {}) calls {}; first run at {}",
            schedule.id,
            schedule.cron,
            schedule.time_zone,
            schedule.describe(),
            schedule.operation,
            schedule.local_time(slot)
        );
        audit(txn, origin, tenant, plugin, action::SCHEDULE_ARM, detail)?;
    }
    Ok(())
}

/// In `txn`, removes `plugin`'s schedules for `tenant` (it is disabled).
pub(crate) fn disarm(
    txn: &mut WriteTxn,
    origin: &keel_audit::Origin,
    tenant: &TenantId,
    plugin: &str,
) -> keel_storage::Result<()> {
    for old in armed(txn, tenant, plugin)? {
        remove(txn, tenant, &old)?;
        let detail = format!("schedule {} removed: the plugin is disabled", old.id);
        audit(txn, origin, tenant, plugin, action::SCHEDULE_REMOVE, detail)?;
    }
    Ok(())
}

/// A scheduled call's caller: the schedule, holding the permission its
/// operation requires and no other, and nobody's person.
#[derive(Debug)]
struct ScheduleCaller {
    permission: String,
}

impl PermissionCheck for ScheduleCaller {
    fn check(&self, _tenant: &TenantId, permission: &str) -> bool {
        permission == self.permission
    }

    fn same_person(&self, _tenant: &TenantId, _principal: &str) -> Option<bool> {
        Some(false)
    }
}

impl Host {
    /// Runs `plugin`'s schedule `id` for `tenant`, found due at `index`;
    /// false if there was nothing to run.
    pub(crate) fn run_schedule(
        &self,
        tenant: &TenantId,
        index: &str,
        plugin: &str,
        id: &str,
    ) -> Result<bool, CallError> {
        let storage = CallError::Storage;
        let stored = {
            let read = self.inner.storage.read().map_err(storage)?;
            match read.catalog_get(&schedule_key(tenant, plugin, id)).map_err(storage)? {
                Some(bytes) => Some(decode::<StoredSchedule>("schedule", &bytes).map_err(storage)?),
                None => None,
            }
        };
        let Some(stored) = stored.filter(|s| due_key_of(tenant, s) == index) else {
            // An index entry its schedule no longer names: drop it.
            let mut txn = self.tenant_txn(tenant).map_err(storage)?;
            txn.catalog_remove(index).map_err(storage)?;
            let origin = keel_audit::Origin::kernel(self.now().seconds);
            let detail = format!("due-index entry {index} named no armed schedule; dropped");
            audit(&mut txn, &origin, tenant, plugin, action::SCHEDULE_REMOVE, detail)
                .map_err(storage)?;
            txn.commit().map_err(storage)?;
            return Ok(true);
        };
        let package = PluginId::new(plugin).ok().and_then(|p| self.enabled(tenant, &p));
        let operation = package.as_ref().and_then(|p| {
            let manifest = p.manifest();
            let declared = manifest.schedules.iter().any(|s| s.id == stored.id);
            manifest.operation(&stored.operation).filter(|_| declared).cloned()
        });
        let (Some(package), Some(operation)) = (package, operation) else {
            // Disabling or upgrading rearms schedules; this one outlived that.
            let mut txn = self.tenant_txn(tenant).map_err(storage)?;
            if unchanged(&txn, tenant, &stored).map_err(storage)? {
                remove(&mut txn, tenant, &stored).map_err(storage)?;
                let origin = keel_audit::Origin::kernel(self.now().seconds);
                let detail = format!("schedule {id} removed: its plugin or operation is gone");
                audit(&mut txn, &origin, tenant, plugin, action::SCHEDULE_REMOVE, detail)
                    .map_err(storage)?;
            }
            txn.commit().map_err(storage)?;
            return Ok(true);
        };
        let attempt = stored.attempts.saturating_add(1);
        let now = self.now().seconds;
        let next = stored.schedule().next_after(now.max(stored.slot));
        let origin = keel_audit::Origin {
            request_id: Some(format!("schedule-{plugin}-{id}-{}", stored.slot)),
            actor: format!("schedule:{plugin}/{id}"),
            ..keel_audit::Origin::kernel(now)
        };
        let advance = |txn: &mut WriteTxn| -> keel_storage::Result<()> {
            if !unchanged(txn, tenant, &stored)? {
                return Err(keel_storage::Error::Invalid(format!(
                    "schedule {id} was rearmed while it ran"
                )));
            }
            remove(txn, tenant, &stored)?;
            let last =
                LastRun { slot: stored.slot, ended: now, ok: true, error: None, attempts: attempt };
            let next_at = match next {
                Some(slot) => {
                    put(txn, tenant, &stored.moved_to(slot, last))?;
                    stored.schedule().local_time(slot)
                }
                None => "never: its pattern matches no later date".to_owned(),
            };
            let detail = format!(
                "schedule {id} ran {} for {}, attempt {attempt}; next run {next_at}",
                stored.operation,
                stored.schedule().local_time(stored.slot)
            );
            audit(txn, &origin, tenant, plugin, action::SCHEDULE_RUN, detail)
        };
        let body = serde_json::json!({ "schedule": id, "slot": stored.slot });
        let invocation = Invocation {
            tenant: tenant.clone(),
            caller: Some(origin.actor.clone()),
            request_id: RequestId::generated(origin.request_id.clone().unwrap_or_default()),
            roles: Vec::new(),
            source: None,
            operation: operation.id.clone(),
            method: operation.method,
            request: PluginRequest {
                method: operation.method.as_str().to_owned(),
                path: operation.path.to_string(),
                params: Vec::new(),
                query: Vec::new(),
                body: body.to_string().into_bytes(),
            },
            guard: CallGuard::default(),
            permissions: Some(Arc::new(ScheduleCaller {
                permission: operation.permission.clone(),
            })),
            idempotency: None,
        };
        let span =
            tracing::info_span!("schedule", %tenant, plugin, schedule = id, slot = stored.slot);
        let settled = span.in_scope(|| self.run_call_with(&package, invocation, Some(&advance)));
        match self.settle(tenant, settled) {
            Ran::Done => {}
            Ran::Busy => self.schedule_failed(tenant, &stored, None).map_err(storage)?,
            Ran::Failed(err) => {
                self.schedule_failed(tenant, &stored, Some((attempt, &err))).map_err(storage)?
            }
        }
        Ok(true)
    }

    /// Records a run that did not commit, in a transaction of its own:
    /// without `failed` (the kernel was busy) it is tried again soon with
    /// no attempt spent; else after the events' backoff, and once attempts
    /// run out its slot is recorded as failed and the next is armed.
    fn schedule_failed(
        &self,
        tenant: &TenantId,
        stored: &StoredSchedule,
        failed: Option<(u32, &CallError)>,
    ) -> keel_storage::Result<()> {
        let now = self.now().seconds;
        let origin = keel_audit::Origin::kernel(now);
        let mut txn = self.tenant_txn(tenant)?;
        if !unchanged(&txn, tenant, stored)? {
            return txn.commit();
        }
        let (plugin, id) = (stored.plugin.as_str(), stored.id.as_str());
        let limits = &self.inner.config.limits;
        remove(&mut txn, tenant, stored)?;
        let wait_ms = |wait: std::time::Duration| {
            now_ms(self).saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
        };
        let (moved, action, detail) = match failed {
            None => {
                let detail = format!(
                    "schedule {id}: the kernel or the tenant was busy at the run for {}; trying again in {} ms",
                    stored.schedule().local_time(stored.slot),
                    BUSY_RETRY.as_millis()
                );
                let moved = StoredSchedule { due_ms: wait_ms(BUSY_RETRY), ..stored.clone() };
                (moved, action::SCHEDULE_RETRY, detail)
            }
            Some((attempt, err)) if attempt < limits.event_attempts_max => {
                let wait = self.backoff(attempt);
                let detail = format!(
                    "schedule {id}: attempt {attempt} of {} at the run for {} failed, retrying in {} ms: {err}",
                    limits.event_attempts_max,
                    stored.schedule().local_time(stored.slot),
                    wait.as_millis()
                );
                tracing::info!(%tenant, plugin, schedule = id, attempt, error = %err, "a scheduled run failed; will retry");
                let moved = StoredSchedule {
                    due_ms: wait_ms(wait),
                    attempts: attempt,
                    error: Some(err.to_string()),
                    ..stored.clone()
                };
                (moved, action::SCHEDULE_RETRY, detail)
            }
            Some((attempt, err)) => {
                let last = LastRun {
                    slot: stored.slot,
                    ended: now,
                    ok: false,
                    error: Some(err.to_string()),
                    attempts: attempt,
                };
                let next = stored.schedule().next_after(now.max(stored.slot));
                let detail = format!(
                    "schedule {id}: the run for {} failed after {attempt} attempts: {err}; next run {}",
                    stored.schedule().local_time(stored.slot),
                    next.map_or_else(|| "never".to_owned(), |s| stored.schedule().local_time(s))
                );
                tracing::warn!(%tenant, plugin, schedule = id, error = %err, "a scheduled run failed for good; the schedule goes on to its next slot");
                let Some(slot) = next else {
                    audit(&mut txn, &origin, tenant, plugin, action::SCHEDULE_FAIL, detail)?;
                    return txn.commit();
                };
                (stored.moved_to(slot, last), action::SCHEDULE_FAIL, detail)
            }
        };
        put(&mut txn, tenant, &moved)?;
        // The audit record is the transaction's last write: it seals the rest.
        audit(&mut txn, &origin, tenant, plugin, action, detail)?;
        txn.commit()
    }

    /// `tenant`'s schedules by plugin and id: at most `limit`, after
    /// `<plugin>/<id>` if given.
    pub fn schedules(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> keel_storage::Result<Vec<StoredSchedule>> {
        let read = self.inner.storage.read()?;
        let prefix = schedule_prefix(tenant);
        let after = after.map(|a| format!("{prefix}{a}"));
        let page = read.catalog_page(&prefix, after.as_deref(), limit)?;
        page.iter().map(|(_, bytes)| decode("schedule", bytes)).collect()
    }

    /// Makes `plugin`'s schedule `id` due now, as `origin` (an
    /// administrator): it runs for its next slot at once, and then goes on
    /// from the slot after now. False if there is no such schedule.
    pub fn run_schedule_now(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        plugin: &str,
        id: &str,
    ) -> keel_storage::Result<bool> {
        let mut txn = self.tenant_txn(tenant)?;
        let Some(bytes) = txn.catalog_get(&schedule_key(tenant, plugin, id))? else {
            return Ok(false);
        };
        let stored: StoredSchedule = decode("schedule", &bytes)?;
        remove(&mut txn, tenant, &stored)?;
        let due = StoredSchedule { due_ms: now_ms(self), attempts: 0, error: None, ..stored };
        put(&mut txn, tenant, &due)?;
        let detail = format!("schedule {id} set to run now");
        audit(&mut txn, origin, tenant, plugin, action::SCHEDULE_NOW, detail)?;
        txn.commit()?;
        self.inner.clock.notify(tenant);
        Ok(true)
    }
}
