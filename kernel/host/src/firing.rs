//! The clock thread, and the firing of due timers and schedules on a
//! worker of their tenant; the administrator's view of timers.
//!
//! What is stored, and the clock's view of due times, are in `timers.rs`;
//! this module runs them.

use std::sync::{Arc, Weak};
use std::time::Duration;

use keel_storage::{Txn, WriteTxn};
use keel_types::{PluginId, RequestId, TenantId, action};

use crate::bindings::Timestamp;
use crate::bindings::keel::kernel::timers::Fired;
use crate::call::{self, CallGuard, CallState, Finish};
use crate::error::{CallError, HostError};
use crate::executor::Answer;
use crate::host::{Host, Inner};
use crate::package::Plugin;
use crate::records::{audit, decode, encode, unix_ms};
use crate::timers::{
    BUSY_RETRY, Clock, DeadTimer, Due, FIRES_PER_PASS_MAX, IDLE_WAKE, STOP_GRACE, StoredTimer,
    dead_key, dead_prefix, due_key, due_prefix, first_due, move_due, parse_due, remove_fired,
    timer_key, timer_prefix,
};

/// How a call the clock ran ended (see [`Host::settle`]).
pub(crate) enum Ran {
    /// It committed.
    Done,
    /// The kernel was busy: try again soon, spending no attempt.
    Busy,
    /// It failed: an attempt spent.
    Failed(CallError),
}

/// Reports a tenant's firing ended when dropped, even if it panicked or
/// its job was dropped unrun; its next due time is read again.
struct Firing {
    clock: Arc<Clock>,
    tenant: TenantId,
}

impl Drop for Firing {
    fn drop(&mut self) {
        let mut state = self.clock.state();
        state.running.remove(&self.tenant);
        state.stale.insert(self.tenant.clone());
        drop(state);
        self.clock.woken.notify_all();
    }
}

impl Host {
    /// Starts the clock thread; it ends when the host is dropped or
    /// [`Host::stop_timers`] is called.
    pub fn start_timers(&self) -> Result<(), HostError> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let clock = Arc::clone(&self.inner.clock);
        let thread = std::thread::Builder::new()
            .name("keel-timers".to_owned())
            .spawn(move || {
                loop {
                    let Some(inner) = weak.upgrade() else { return };
                    let wait = Host { inner }.tick();
                    if !clock.sleep(wait) {
                        return;
                    }
                }
            })
            .map_err(|err| HostError::new("start the timer clock", err))?;
        *self.inner.clock.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
        Ok(())
    }

    /// Whether the timer clock runs: started, and neither stopped nor
    /// ended.
    pub fn clock_running(&self) -> bool {
        let clock = &self.inner.clock;
        let thread = clock.thread.lock().unwrap_or_else(|p| p.into_inner());
        thread.as_ref().is_some_and(|thread| !thread.is_finished()) && !clock.state().stop
    }

    /// Stops firing timers: those firing finish, the rest wait for the
    /// next start.
    pub fn stop_timers(&self) {
        let clock = &self.inner.clock;
        clock.state().stop = true;
        clock.woken.notify_all();
        let thread = clock.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
        let limit = self.inner.config.limits.call_deadline + STOP_GRACE;
        let started = std::time::Instant::now();
        let mut state = clock.state();
        while !state.running.is_empty() && started.elapsed() < limit {
            state = clock
                .woken
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Reads the next due time of the tenants that need it, starts firing
    /// for those due, and returns how long until the next is due.
    fn tick(&self) -> Duration {
        let clock = &self.inner.clock;
        let stale: Vec<TenantId> = {
            let enabled = self.inner.enabled.read().unwrap_or_else(|p| p.into_inner());
            let mut state = clock.state();
            let unknown: Vec<TenantId> =
                enabled.keys().filter(|t| !state.known.contains(*t)).cloned().collect();
            drop(enabled);
            state.known.extend(unknown.iter().cloned());
            state.stale.extend(unknown);
            state.stale.drain().collect()
        };
        let mut learnt = Vec::with_capacity(stale.len());
        for tenant in stale {
            match self.next_due(&tenant) {
                Ok(next) => learnt.push((tenant, next)),
                Err(err) => {
                    tracing::error!(%tenant, error = %err, "cannot read the next timer");
                    learnt.push((tenant, Some(now_ms(self) + 1000)));
                }
            }
        }
        let now = now_ms(self);
        let mut state = clock.state();
        for (tenant, next) in learnt {
            match next {
                Some(due) => drop(state.next.insert(tenant, due)),
                None => drop(state.next.remove(&tenant)),
            }
        }
        let mut wait = IDLE_WAKE;
        let mut starting = Vec::new();
        for (tenant, due) in &state.next {
            if state.running.contains(tenant) {
                continue;
            }
            if *due <= now {
                if !state.stop {
                    starting.push(tenant.clone());
                }
            } else {
                let until = Duration::from_millis((*due - now).unsigned_abs());
                wait = wait.min(until);
            }
        }
        for tenant in &starting {
            state.running.insert(tenant.clone());
            state.next.remove(tenant);
        }
        drop(state);
        for tenant in starting {
            let host = self.clone();
            let fired = Firing { clock: Arc::clone(clock), tenant: tenant.clone() };
            let started = clock.workers.submit(&tenant, move |_: Answer<()>| {
                host.fire_due(&fired.tenant);
                drop(fired);
            });
            if let Err(err) = started {
                tracing::error!(%tenant, error = %err, "cannot start firing timers");
            }
        }
        wait
    }

    /// `tenant`'s next due time, if it has a timer.
    fn next_due(&self, tenant: &TenantId) -> keel_storage::Result<Option<i64>> {
        let read = self.inner.storage.read()?;
        let first = read.catalog_page(&due_prefix(tenant), None, 1)?;
        Ok(first.first().and_then(|(key, _)| parse_due(tenant, key)).map(|(due, _)| due))
    }

    /// Fires `tenant`'s due timers, oldest first, a bounded number a pass.
    fn fire_due(&self, tenant: &TenantId) {
        for _ in 0..FIRES_PER_PASS_MAX {
            if self.inner.clock.stopped() {
                return;
            }
            match self.fire_next(tenant) {
                Ok(true) => {}
                Ok(false) => return,
                Err(err) => {
                    tracing::error!(%tenant, error = %err, "firing a timer failed");
                    std::thread::sleep(BUSY_RETRY.min(Duration::from_millis(200)));
                    return;
                }
            }
        }
    }

    /// Fires `tenant`'s earliest timer if it is due; whether one was.
    fn fire_next(&self, tenant: &TenantId) -> Result<bool, CallError> {
        let storage = CallError::Storage;
        let (index, timer) = {
            let read = self.inner.storage.read().map_err(storage)?;
            let Some((index, due, named)) = first_due(&read, tenant).map_err(storage)? else {
                return Ok(false);
            };
            if due > now_ms(self) {
                return Ok(false);
            }
            let record = match named {
                Due::Timer(record) => record,
                Due::Schedule { plugin, id } => {
                    drop(read);
                    return self.run_schedule(tenant, &index, &plugin, &id);
                }
                Due::Job(id) => {
                    drop(read);
                    return self.run_job_step(tenant, &index, &id);
                }
                Due::Report { report, name } => {
                    drop(read);
                    return self.send_scheduled_report(tenant, &index, &report, &name);
                }
            };
            let timer = match read.catalog_get(&record).map_err(storage)? {
                Some(bytes) => Some(decode::<StoredTimer>("timer", &bytes).map_err(storage)?),
                None => None,
            };
            (index, timer)
        };
        let Some(timer) = timer else {
            // An index entry whose timer is gone: drop it.
            let mut txn = self.tenant_txn(tenant).map_err(storage)?;
            txn.catalog_remove(&index).map_err(storage)?;
            let origin = keel_audit::Origin::kernel(self.now().seconds);
            let detail = format!("due-index entry {index} named no timer; dropped");
            audit(&mut txn, &origin, tenant, "kernel", action::TIMER_DROP, detail)
                .map_err(storage)?;
            txn.commit().map_err(storage)?;
            return Ok(true);
        };
        let plugin = PluginId::new(&timer.plugin).ok().and_then(|p| self.enabled(tenant, &p));
        let Some(plugin) = plugin else {
            self.drop_timer(tenant, &timer, "its plugin is not enabled").map_err(storage)?;
            return Ok(true);
        };
        let attempt = timer.attempts.saturating_add(1);
        match self.settle(tenant, self.run_timer(tenant, &plugin, &timer, attempt)) {
            Ran::Done => {}
            Ran::Busy => self.postpone(tenant, &timer, BUSY_RETRY).map_err(storage)?,
            Ran::Failed(err) => {
                self.timer_failed(tenant, &timer, attempt, &err).map_err(storage)?
            }
        }
        Ok(true)
    }

    /// Waits for a call the clock ran (a timer, a schedule, a job step),
    /// wakes the dispatcher and the clock for what it published or set, and
    /// says how it ended.
    pub(crate) fn settle<T>(&self, tenant: &TenantId, settled: call::Settled<T>) -> Ran {
        let (published, timed) = (settled.published(), settled.timed());
        match settled.wait() {
            Ok(_) => {
                if published {
                    self.inner.dispatcher.notify(tenant);
                }
                if timed {
                    self.inner.clock.notify(tenant);
                }
                Ran::Done
            }
            // The kernel or the tenant's share of memory was busy: not the
            // plugin's failure. A tenant over its storage quota is no
            // passing state, so that is a failure, and its attempts end.
            Err(
                CallError::Busy | CallError::GuestMemoryFull | CallError::TenantMemoryFull { .. },
            ) => Ran::Busy,
            Err(err) => Ran::Failed(err),
        }
    }

    /// A call state for a call the kernel makes on its own (a timer, a job
    /// step): a write turn of `tenant`'s lane within its storage quota,
    /// acting as `origin` (at the call's time, whatever `origin.at` says).
    /// Refused as a settled call if the turn or the quota fails.
    pub(crate) fn background_call(
        &self,
        tenant: &TenantId,
        plugin: &Arc<Plugin>,
        origin: keel_audit::Origin,
        request_id: RequestId,
    ) -> Result<CallState, Box<call::Settled<()>>> {
        let inner = &self.inner;
        let mut txn = self
            .tenant_txn(tenant)
            .map_err(|err| Box::new(call::Settled::refused(None, CallError::Storage(err))))?;
        if let Err(err) = self.limit_stored(&mut txn, tenant) {
            return Err(Box::new(call::Settled::refused(Some(Txn::Write(txn)), err)));
        }
        let mut state = CallState::new(Arc::clone(plugin), tenant.clone(), Txn::Write(txn), inner);
        state.caller = Some(origin.actor.clone());
        state.origin = keel_audit::Origin { at: state.now.seconds, ..origin };
        state.request_id = request_id;
        state.storage = Some(Arc::clone(&inner.storage));
        state.host = Some(self.clone());
        Ok(state)
    }

    pub(crate) fn tenant_txn(&self, tenant: &TenantId) -> keel_storage::Result<WriteTxn> {
        self.inner.storage.write(&[keel_storage::Lane::Tenant(tenant.clone())])
    }

    /// Runs `plugin`'s `on-timer` for `timer` in a write turn of the
    /// tenant's lane that also removes the timer.
    fn run_timer(
        &self,
        tenant: &TenantId,
        plugin: &Arc<Plugin>,
        timer: &StoredTimer,
        attempt: u32,
    ) -> call::Settled<()> {
        let inner = &self.inner;
        let origin = keel_audit::Origin {
            at: 0,
            actor: timer.actor.clone(),
            roles: Vec::new(),
            request_id: timer.request_id.clone(),
            source: None,
        };
        let request_id = RequestId::generated(
            timer.request_id.clone().unwrap_or_else(|| format!("timer-{}", timer.key)),
        );
        let state = match self.background_call(tenant, plugin, origin, request_id) {
            Ok(state) => state,
            Err(refused) => return *refused,
        };
        let fired = Fired {
            key: timer.key.clone(),
            at: Timestamp { seconds: timer.at_s, nanoseconds: timer.at_ns },
            payload: timer.payload.clone(),
            attempt,
        };
        call::run(
            &inner.engine,
            state,
            &CallGuard::default(),
            Finish::Commit,
            |store, instance| {
                let state = store.data_mut();
                let origin = state.origin.clone();
                let removed = call::writable(&mut state.txn)
                    .and_then(|txn| remove_fired(txn, &origin, tenant, timer, attempt));
                if let Err(err) = removed {
                    let message = err.to_string();
                    state.storage_fault = Some(call::storage_error(err));
                    return Err(wasmtime::Error::msg(message));
                }
                instance.call_on_timer(&mut *store, &fired)
            },
            |()| Ok(()),
        )
    }

    /// Puts `timer` off by `wait`, spending no attempt.
    fn postpone(
        &self,
        tenant: &TenantId,
        timer: &StoredTimer,
        wait: Duration,
    ) -> keel_storage::Result<()> {
        let mut txn = self.tenant_txn(tenant)?;
        let due = now_ms(self).saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
        // A timer set again or cancelled meanwhile is left as it is now.
        if move_due(&mut txn, tenant, timer, due, None)? {
            let origin = keel_audit::Origin::kernel(self.now().seconds);
            let detail = format!(
                "timer {} of {}: the kernel or the tenant was busy; trying again in {} ms",
                timer.key,
                timer.plugin,
                wait.as_millis()
            );
            audit(&mut txn, &origin, tenant, &timer.plugin, action::TIMER_RETRY, detail)?;
        }
        txn.commit()
    }

    /// Records a failed firing in a transaction of its own: a retry after
    /// the events' backoff, or once attempts run out a dead timer.
    fn timer_failed(
        &self,
        tenant: &TenantId,
        timer: &StoredTimer,
        attempt: u32,
        err: &CallError,
    ) -> keel_storage::Result<()> {
        let limits = &self.inner.config.limits;
        let now = self.now();
        let origin = keel_audit::Origin::kernel(now.seconds);
        let mut txn = self.tenant_txn(tenant)?;
        let what = format!("timer {} of {}", timer.key, timer.plugin);
        if attempt >= limits.event_attempts_max {
            let record = timer_key(tenant, &timer.plugin, &timer.key);
            if txn.catalog_get(&record)?.is_none() {
                return txn.commit();
            }
            txn.catalog_remove(&record)?;
            txn.catalog_remove(&due_key(tenant, timer.due_ms, &timer.plugin, &timer.key))?;
            let dead =
                StoredTimer { attempts: attempt, error: Some(err.to_string()), ..timer.clone() };
            txn.catalog_put(&dead_key(tenant, &timer.plugin, &timer.key), &encode(&dead)?)?;
            let detail = format!("{what}: dead after {attempt} attempts; the last failed: {err}");
            audit(&mut txn, &origin, tenant, &timer.plugin, action::TIMER_DEAD, detail)?;
            tracing::warn!(%tenant, plugin = %timer.plugin, key = %timer.key, error = %err, "a timer failed for good; kept as a dead timer");
        } else {
            let wait = self.backoff(attempt);
            let due =
                now_ms(self).saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
            if move_due(&mut txn, tenant, timer, due, Some((attempt, err.to_string())))? {
                let detail = format!(
                    "{what}: attempt {attempt} of {} failed, retrying in {} ms: {err}",
                    limits.event_attempts_max,
                    wait.as_millis()
                );
                audit(&mut txn, &origin, tenant, &timer.plugin, action::TIMER_RETRY, detail)?;
            }
            tracing::info!(%tenant, plugin = %timer.plugin, key = %timer.key, attempt, error = %err, "a timer failed; will retry");
        }
        txn.commit()
    }

    /// Removes a timer that cannot fire (its plugin is gone), audited.
    fn drop_timer(
        &self,
        tenant: &TenantId,
        timer: &StoredTimer,
        why: &str,
    ) -> keel_storage::Result<()> {
        let origin = keel_audit::Origin::kernel(self.now().seconds);
        let mut txn = self.tenant_txn(tenant)?;
        txn.catalog_remove(&timer_key(tenant, &timer.plugin, &timer.key))?;
        txn.catalog_remove(&due_key(tenant, timer.due_ms, &timer.plugin, &timer.key))?;
        let detail = format!("timer {} of {} dropped: {why}", timer.key, timer.plugin);
        audit(&mut txn, &origin, tenant, &timer.plugin, action::TIMER_DROP, detail)?;
        txn.commit()
    }

    /// `tenant`'s pending timers in key order (plugin, then key): at most
    /// `limit`, after the timer `after` (`<plugin>/<key>`) if given.
    pub fn timers(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> keel_storage::Result<Vec<StoredTimer>> {
        self.timer_page(&timer_prefix(tenant), after, limit)
    }

    /// `tenant`'s dead timers, in the same order.
    pub fn dead_timers(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> keel_storage::Result<Vec<DeadTimer>> {
        self.timer_page(&dead_prefix(tenant), after, limit)
    }

    fn timer_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> keel_storage::Result<Vec<StoredTimer>> {
        let read = self.inner.storage.read()?;
        let after = after.map(|a| format!("{prefix}{a}"));
        let page = read.catalog_page(prefix, after.as_deref(), limit)?;
        page.iter().map(|(_, bytes)| decode("timer", bytes)).collect()
    }

    /// Sets a dead timer going again, due now, as `origin` (an
    /// administrator); false if there is no such dead timer.
    pub fn retry_dead_timer(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        plugin: &str,
        key: &str,
    ) -> keel_storage::Result<bool> {
        let mut txn = self.tenant_txn(tenant)?;
        let dead = dead_key(tenant, plugin, key);
        let Some(bytes) = txn.catalog_get(&dead)? else { return Ok(false) };
        let timer: StoredTimer = decode("dead timer", &bytes)?;
        txn.catalog_remove(&dead)?;
        let due = now_ms(self);
        let again = StoredTimer { due_ms: due, attempts: 0, error: None, ..timer };
        let record = timer_key(tenant, plugin, key);
        // Set again since it died, the newer timer stands; the dead one goes.
        if txn.catalog_get(&record)?.is_none() {
            txn.catalog_put(&record, &encode(&again)?)?;
            txn.catalog_put(&due_key(tenant, due, plugin, key), b"")?;
        }
        let detail = format!("dead timer {key} of {plugin} set going again");
        audit(&mut txn, origin, tenant, plugin, action::TIMER_REPLAY, detail)?;
        txn.commit()?;
        self.inner.clock.notify(tenant);
        Ok(true)
    }
}

/// The kernel's time now, in Unix milliseconds.
pub(crate) fn now_ms(host: &Host) -> i64 {
    unix_ms(&host.now())
}
