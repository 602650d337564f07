//! Durable events: the outbox a plugin publishes into inside its call's
//! transaction, and the dispatcher that delivers each event to the
//! tenant's subscribers, one write transaction per delivery.
//!
//! Kernel catalog records, per tenant:
//! - `event/<tenant>/<topic>/<id>`: the event (ids zero-padded, so key
//!   order is id order); kept after delivery until [`Host::prune_events`]
//!   removes it, once every subscriber has it and it is older than the
//!   retention;
//! - `event-key/<tenant>/<topic>/<key>`: the id published under a key, so
//!   publishing a key again publishes nothing (while the event is kept);
//! - `cursor/<tenant>/<plugin>/<topic>`: the last id delivered to a
//!   subscriber, advanced in the delivery's own transaction, so a delivery
//!   that committed is never repeated and one that did not is retried;
//! - `retry/<tenant>/<plugin>/<topic>`: the event that keeps failing, the
//!   attempts so far, and when to try again;
//! - `dead/<tenant>/<id>/<plugin>`: a dead letter, once attempts run out.
//!
//! Ids come from a sequence in the tenant's kernel namespace. A subscriber
//! sees a topic's events in id order; a failing one holds back the later
//! events of its topic (for that subscriber only) until it succeeds or
//! becomes a dead letter.

use keel_types::action;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use keel_storage::{Namespace, ReadTxn, Txn, WriteTxn};
use keel_types::{PluginId, RequestId, TenantId};

use crate::bindings::keel::kernel::events::Delivery;
use crate::bindings::{Timestamp, WitError};
use crate::call::{self, CallGuard, CallState, Finish};
use crate::error::{CallError, HostError};
use crate::executor::{Answer, Executors};
use crate::host::{Host, Inner};
use crate::package::Plugin;
use crate::records::{audit, decode, encode, unix_ms};

mod dead;
mod outbound;
mod prune;
mod webhooks;

pub use dead::DeadLetter;
pub(crate) use webhooks::StoredWebhook;
pub use webhooks::{
    Failing, NewWebhook, Outbound, Post, WEBHOOK_DESCRIPTION_BYTES_MAX, WEBHOOK_TOPICS_MAX,
    WEBHOOK_URL_BYTES_MAX, WEBHOOKS_MAX, Webhook, WebhookChange, WebhookError, WebhookTopic,
};

/// How often the dispatcher looks at every tenant with subscribers, whether
/// it published or not (after a restart, events may wait from before).
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How soon deliveries that could not run are tried again.
const IDLE_RETRY: Duration = Duration::from_secs(1);
/// How soon deliveries to a tenant at its storage quota are tried again
/// (or sooner, if attempts are never that far apart). Until data is
/// removed each would fail; a change of quota wakes them at once.
const FULL_RETRY: Duration = Duration::from_secs(30);
/// Deliveries to one subscriber of one topic per pass, so that one busy
/// topic does not hold up the others.
const DELIVERIES_PER_PASS_MAX: usize = 100;
/// How much longer than a call's deadline stopping waits for deliveries.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Longest publisher key, in bytes.
pub(crate) const KEY_BYTES_MAX: usize = 256;

/// An event as the outbox keeps it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredEvent {
    pub(crate) id: u64,
    pub(crate) topic: String,
    pub(crate) key: String,
    pub(crate) payload: String,
    pub(crate) publisher: String,
    pub(crate) published_s: i64,
    pub(crate) published_ns: u32,
    /// Who made the change it reports, and in which request.
    pub(crate) actor: String,
    #[serde(default)]
    pub(crate) request_id: Option<String>,
}

impl StoredEvent {
    /// How long ago, at `now`, it was published (none if the clock went
    /// back).
    pub(crate) fn age(&self, now: keel_types::Timestamp) -> Duration {
        let ns = |s: i64, n: u32| i128::from(s) * 1_000_000_000 + i128::from(n);
        let age = ns(now.seconds, now.nanoseconds) - ns(self.published_s, self.published_ns);
        Duration::from_nanos(u64::try_from(age).unwrap_or(0))
    }
}

/// Who consumes a tenant's events: its plugins that subscribe, and its
/// webhooks that are not paused.
#[derive(Default)]
struct Consumers {
    plugins: Vec<Arc<Plugin>>,
    webhooks: Vec<Arc<StoredWebhook>>,
}

/// A delivery that keeps failing.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Retry {
    event: u64,
    attempts: u32,
    /// Unix milliseconds.
    next_at_ms: i64,
    error: String,
}

fn event_prefix(tenant: &TenantId, topic: &str) -> String {
    format!("event/{tenant}/{topic}/")
}

fn event_key(tenant: &TenantId, topic: &str, id: u64) -> String {
    format!("event/{tenant}/{topic}/{id:020}")
}

fn publisher_key(tenant: &TenantId, topic: &str, key: &str) -> String {
    format!("event-key/{tenant}/{topic}/{key}")
}

fn cursor_key(tenant: &TenantId, plugin: &str, topic: &str) -> String {
    format!("cursor/{tenant}/{plugin}/{topic}")
}

fn retry_key(tenant: &TenantId, plugin: &str, topic: &str) -> String {
    format!("retry/{tenant}/{plugin}/{topic}")
}

fn dead_prefix(tenant: &TenantId) -> String {
    format!("dead/{tenant}/")
}

fn dead_key(tenant: &TenantId, event: u64, plugin: &str) -> String {
    format!("dead/{tenant}/{event:020}/{plugin}")
}

fn kernel_ns(tenant: &TenantId) -> Result<Namespace, keel_storage::Error> {
    let kernel = PluginId::new("kernel")
        .map_err(|err| keel_storage::Error::Backend(format!("the kernel's namespace: {err}")))?;
    Ok(Namespace::new(tenant.clone(), kernel))
}

/// Puts `event` in `tenant`'s outbox in `txn`, audited as `event.publish`;
/// returns false, publishing nothing, if its topic's key was published
/// before. The caller has checked the event.
pub(crate) fn publish(
    txn: &mut WriteTxn,
    origin: &keel_audit::Origin,
    tenant: &TenantId,
    publisher: &str,
    event: &crate::bindings::keel::kernel::events::Event,
    now: keel_types::Timestamp,
) -> keel_storage::Result<bool> {
    let by_key = publisher_key(tenant, &event.topic, &event.key);
    if txn.catalog_get(&by_key)?.is_some() {
        return Ok(false);
    }
    let id = txn.next_sequence(&kernel_ns(tenant)?, "events")?;
    let stored = StoredEvent {
        id,
        topic: event.topic.clone(),
        key: event.key.clone(),
        payload: event.payload.clone(),
        publisher: publisher.to_owned(),
        published_s: now.seconds,
        published_ns: now.nanoseconds,
        actor: origin.actor.clone(),
        request_id: origin.request_id.clone(),
    };
    txn.catalog_put(&event_key(tenant, &event.topic, id), &encode(&stored)?)?;
    txn.catalog_put(&by_key, id.to_string().as_bytes())?;
    let detail = format!("event {id} {} (key {})", event.topic, event.key);
    audit(txn, origin, tenant, publisher, action::EVENT_PUBLISH, detail)?;
    Ok(true)
}

/// Decides which tenants' events to deliver, and has each tenant's
/// delivered by worker threads of its own (see `executor.rs`): a
/// subscriber that loops or fails holds up only its own tenant's events.
/// A tenant's webhooks have a worker apart from its plugins', so that a
/// slow endpoint never holds up the plugins' deliveries, nor they it.
pub(crate) struct Dispatcher {
    state: Mutex<Dispatch>,
    woken: Condvar,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    workers: Executors,
    webhook_workers: Executors,
}

/// Whose deliveries a worker runs: a tenant's plugins' or its webhooks'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Plugins,
    Webhooks,
}

/// One worker's deliveries: a tenant's of one kind.
type Key = (TenantId, Kind);

#[derive(Debug, Default)]
struct Dispatch {
    /// Deliveries whose tenant published since they last started.
    pending: HashSet<Key>,
    /// Deliveries whose next is a retry, and when it is due.
    due: HashMap<Key, Instant>,
    /// Deliveries running.
    running: HashSet<Key>,
    stop: bool,
}

impl Dispatcher {
    pub(crate) fn new(storage: &Arc<keel_storage::Storage>) -> Self {
        Self {
            state: Mutex::default(),
            woken: Condvar::new(),
            thread: Mutex::default(),
            workers: Executors::new(storage, "keel-deliver"),
            webhook_workers: Executors::new(storage, "keel-webhook"),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Dispatch> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks for `tenant`'s deliveries soon: it published and committed.
    pub(crate) fn notify(&self, tenant: &TenantId) {
        let mut state = self.state();
        state.pending.insert((tenant.clone(), Kind::Plugins));
        state.pending.insert((tenant.clone(), Kind::Webhooks));
        drop(state);
        self.woken.notify_all();
    }

    /// Sleeps until notified, stopped, or `wait` passes; false once stopped.
    /// Tenants pending while their deliveries run are taken up when they end.
    fn sleep(&self, wait: Duration) -> bool {
        let mut state = self.state();
        let ready = state.pending.iter().any(|key| !state.running.contains(key));
        if !ready && !state.stop {
            state = self.woken.wait_timeout(state, wait).unwrap_or_else(|p| p.into_inner()).0;
        }
        !state.stop
    }

    /// A tenant's deliveries ended; `due` says when to run them again
    /// (zero: at once, there is more to deliver).
    fn finished(&self, key: &Key, due: Option<Duration>) {
        let mut state = self.state();
        state.running.remove(key);
        match due {
            Some(Duration::ZERO) => drop(state.pending.insert(key.clone())),
            Some(due) => drop(state.due.insert(key.clone(), Instant::now() + due)),
            None => {}
        }
        self.woken.notify_all();
    }

    fn stopped(&self) -> bool {
        self.state().stop
    }
}

/// Reports a tenant's deliveries ended when dropped: after they ran, or
/// when they panicked or their job was dropped unrun (then they are tried
/// again after [`IDLE_RETRY`]). Otherwise the tenant would stay running,
/// and never be delivered to again.
struct Finished {
    dispatcher: Arc<Dispatcher>,
    key: Key,
    /// When to run the tenant's deliveries again.
    due: Option<Duration>,
}

impl Finished {
    /// The deliveries ran: run them again after `due`, if given.
    fn after(mut self, due: Option<Duration>) {
        self.due = due;
    }
}

impl Drop for Finished {
    fn drop(&mut self) {
        self.dispatcher.finished(&self.key, self.due);
    }
}

impl Host {
    /// Starts the thread that decides which tenants' events to deliver.
    /// It holds the host only while it works, and ends when the host is
    /// dropped or [`Host::stop_events`] is called.
    pub fn start_events(&self) -> Result<(), HostError> {
        self.load_webhooks().map_err(|err| HostError::new("read the tenants' webhooks", err))?;
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let dispatcher = Arc::clone(&self.inner.dispatcher);
        let thread = std::thread::Builder::new()
            .name("keel-events".to_owned())
            .spawn(move || {
                let mut swept: Option<Instant> = None;
                loop {
                    let Some(inner) = weak.upgrade() else { return };
                    let sweep = swept.is_none_or(|at| at.elapsed() >= SWEEP_EVERY);
                    if sweep {
                        swept = Some(Instant::now());
                    }
                    let wait = Host { inner }.dispatch(sweep);
                    if !dispatcher.sleep(wait) {
                        return;
                    }
                }
            })
            .map_err(|err| HostError::new("start the event dispatcher", err))?;
        *self.inner.dispatcher.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
        Ok(())
    }

    /// Whether the event dispatcher runs: started, and neither stopped
    /// nor ended.
    pub fn dispatching(&self) -> bool {
        let dispatcher = &self.inner.dispatcher;
        let thread = dispatcher.thread.lock().unwrap_or_else(|p| p.into_inner());
        thread.as_ref().is_some_and(|thread| !thread.is_finished()) && !dispatcher.state().stop
    }

    /// Stops delivering events: the deliveries running finish, the rest
    /// wait for the next start.
    pub fn stop_events(&self) {
        let dispatcher = &self.inner.dispatcher;
        dispatcher.state().stop = true;
        dispatcher.woken.notify_all();
        let thread = dispatcher.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
        // A delivery runs to its deadline at most; the wait is bounded all
        // the same, so that stopping never hangs on a stuck thread.
        let limit = self.inner.config.limits.call_deadline + STOP_GRACE;
        let started = Instant::now();
        let mut state = dispatcher.state();
        while !state.running.is_empty() {
            if started.elapsed() >= limit {
                let running = state.running.iter().map(|(t, _)| t.to_string()).collect::<Vec<_>>();
                tracing::warn!(tenants = ?running, waited = ?limit, "event deliveries still running; stopping without them");
                return;
            }
            state = dispatcher
                .woken
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Starts the deliveries of every tenant that published, has a retry
    /// due, or (on a sweep) has subscribers at all, unless they run
    /// already; returns how long until the next retry is due.
    fn dispatch(&self, sweep: bool) -> Duration {
        let keys: Vec<(Key, Consumers)> = {
            let enabled = self.inner.enabled.read().unwrap_or_else(|p| p.into_inner());
            let webhooks = self.inner.webhooks.read().unwrap_or_else(|p| p.into_inner());
            let mut keys = Vec::new();
            for (tenant, plugins) in enabled.iter() {
                let subscribers = plugins.values().filter(|p| !p.manifest().subscribes.is_empty());
                let plugins: Vec<Arc<Plugin>> = subscribers.cloned().collect();
                if !plugins.is_empty() {
                    let consumers = Consumers { plugins, webhooks: Vec::new() };
                    keys.push(((tenant.clone(), Kind::Plugins), consumers));
                }
            }
            for (tenant, hooks) in webhooks.iter() {
                let active: Vec<Arc<StoredWebhook>> =
                    hooks.iter().filter(|h| h.webhook.active).cloned().collect();
                if !active.is_empty() {
                    let consumers = Consumers { plugins: Vec::new(), webhooks: active };
                    keys.push(((tenant.clone(), Kind::Webhooks), consumers));
                }
            }
            keys
        };
        let dispatcher = &self.inner.dispatcher;
        let mut state = dispatcher.state();
        // Deliveries with nobody to deliver to have nothing to do; left
        // pending, they would wake the dispatcher again at once.
        let subscribed: HashSet<&Key> = keys.iter().map(|(key, _)| key).collect();
        state.pending.retain(|key| subscribed.contains(key));
        state.due.retain(|key, _| subscribed.contains(key));
        let now = Instant::now();
        let mut wait = SWEEP_EVERY;
        let mut starting = Vec::new();
        for (key, consumers) in keys {
            let due = state.due.get(&key).copied();
            // A sweep looks only at deliveries with no retry set: one
            // waiting for room would be refused again.
            let wanted = state.pending.contains(&key) || due.map_or(sweep, |d| d <= now);
            if let Some(due) = due.filter(|d| *d > now) {
                wait = wait.min(due - now);
            }
            if !wanted || state.running.contains(&key) || state.stop {
                continue;
            }
            state.pending.remove(&key);
            state.due.remove(&key);
            state.running.insert(key.clone());
            starting.push((key, consumers));
        }
        // Submitting drops a job it cannot start, and a dropped job reports
        // its deliveries finished, which takes the state's lock.
        drop(state);
        for (key, consumers) in starting {
            let host = self.clone();
            let tenant = key.0.clone();
            let workers = match key.1 {
                Kind::Plugins => &dispatcher.workers,
                Kind::Webhooks => &dispatcher.webhook_workers,
            };
            let finished =
                Finished { dispatcher: Arc::clone(dispatcher), key, due: Some(IDLE_RETRY) };
            let started = workers.submit(&tenant, move |_: Answer<()>| {
                let due = host.deliver_all(&finished.key.0, &consumers);
                finished.after(due);
            });
            if let Err(err) = started {
                tracing::error!(%tenant, error = %err, "cannot start delivering events");
            }
        }
        wait
    }

    /// Delivers what waits for every subscriber (plugin or webhook) of
    /// every topic in `tenant`; returns how long until a failed delivery
    /// may be tried again (zero: more is waiting), if one did.
    fn deliver_all(&self, tenant: &TenantId, consumers: &Consumers) -> Option<Duration> {
        let mut wait: Option<Duration> = None;
        if let Some(outbound) = self.outbound() {
            for hook in &consumers.webhooks {
                for topic in &hook.webhook.topics {
                    match self.drain_webhook(tenant, &outbound, hook, topic) {
                        Ok(Some(due)) => wait = Some(wait.map_or(due, |w| w.min(due))),
                        Ok(None) => {}
                        Err(err) => {
                            tracing::error!(%tenant, webhook = hook.webhook.id, %topic, error = %err, "delivering events to a webhook failed");
                            wait = Some(wait.map_or(IDLE_RETRY, |w| w.min(IDLE_RETRY)));
                        }
                    }
                }
            }
        }
        for plugin in &consumers.plugins {
            for topic in &plugin.manifest().subscribes {
                match self.drain(tenant, plugin, topic) {
                    Ok(Some(due)) => wait = Some(wait.map_or(due, |w| w.min(due))),
                    Ok(None) => {}
                    Err(err) => {
                        tracing::error!(%tenant, plugin = %plugin.manifest().id, %topic, error = %err, "delivering events failed");
                        wait = Some(wait.map_or(IDLE_RETRY, |w| w.min(IDLE_RETRY)));
                    }
                }
            }
        }
        wait
    }

    /// Delivers the waiting events of `topic` to `plugin`, in order;
    /// returns how long until a failed one may be tried again, if one did.
    fn drain(
        &self,
        tenant: &TenantId,
        plugin: &Arc<Plugin>,
        topic: &str,
    ) -> Result<Option<Duration>, CallError> {
        let storage = CallError::Storage;
        let subscriber = plugin.manifest().id.to_string();
        for _ in 0..DELIVERIES_PER_PASS_MAX {
            if self.inner.dispatcher.stopped() {
                return Ok(Some(Duration::ZERO));
            }
            let read = self.inner.storage.read().map_err(storage)?;
            let Some((event, retry)) =
                next_event(&read, tenant, &subscriber, topic).map_err(storage)?
            else {
                return Ok(None);
            };
            drop(read);
            let attempt = match self.attempt_due(retry.as_ref(), &event) {
                Ok(attempt) => attempt,
                Err(wait) => return Ok(Some(wait)),
            };
            let outcome = self.deliver(tenant, plugin, &event, attempt, None);
            if outcome.is_ok() {
                crate::metrics::delivered("plugin", event.age(self.now()));
            }
            // The kernel or the tenant was busy, or the tenant is full: not
            // the subscriber's failure, so no attempt is spent.
            match outcome {
                Err(
                    CallError::Busy
                    | CallError::GuestMemoryFull
                    | CallError::TenantMemoryFull { .. },
                ) => {
                    return Ok(Some(IDLE_RETRY));
                }
                Err(CallError::QuotaExceeded(_)) => {
                    return Ok(Some(FULL_RETRY.min(self.inner.config.limits.event_retry_max)));
                }
                _ => {}
            }
            if let Err(err) = outcome {
                let dead =
                    self.failed(tenant, &subscriber, &event, attempt, &err).map_err(storage)?;
                if !dead {
                    return Ok(Some(self.backoff(attempt)));
                }
            }
        }
        Ok(Some(Duration::ZERO))
    }

    /// The wait after the `attempt`th failure (of a delivery or a timer).
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let limits = &self.inner.config.limits;
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        limits.event_retry_base.saturating_mul(factor).min(limits.event_retry_max)
    }

    /// Delivers `event` to `plugin` in a write turn of the tenant's lane
    /// that also records it as delivered: the subscriber's cursor moves on
    /// (or, for a replay by `admin`, the dead letter goes).
    fn deliver(
        &self,
        tenant: &TenantId,
        plugin: &Arc<Plugin>,
        event: &StoredEvent,
        attempt: u32,
        admin: Option<keel_audit::Origin>,
    ) -> Result<(), CallError> {
        let settled = self.run_delivery(tenant, plugin, event, attempt, admin);
        let (published, timed) = (settled.published(), settled.timed());
        settled.wait()?;
        if published {
            // The subscriber published in turn: another pass soon.
            self.inner.dispatcher.notify(tenant);
        }
        if timed {
            self.inner.clock.notify(tenant);
        }
        Ok(())
    }

    /// Runs one delivery in a write turn of the tenant's lane.
    fn run_delivery(
        &self,
        tenant: &TenantId,
        plugin: &Arc<Plugin>,
        event: &StoredEvent,
        attempt: u32,
        admin: Option<keel_audit::Origin>,
    ) -> call::Settled<()> {
        let inner = &self.inner;
        let mut txn = match inner.storage.write(&[keel_storage::Lane::Tenant(tenant.clone())]) {
            Ok(txn) => txn,
            Err(err) => return call::Settled::refused(None, CallError::Storage(err)),
        };
        if let Err(err) = self.limit_stored(&mut txn, tenant) {
            return call::Settled::refused(Some(Txn::Write(txn)), err);
        }
        let mut state = CallState::new(Arc::clone(plugin), tenant.clone(), Txn::Write(txn), inner);
        let replay = admin.is_some();
        state.origin = admin.unwrap_or_else(|| keel_audit::Origin {
            at: state.now.seconds,
            actor: event.actor.clone(),
            roles: Vec::new(),
            request_id: event.request_id.clone(),
            source: None,
        });
        state.caller = Some(state.origin.actor.clone());
        state.request_id = RequestId::generated(
            event.request_id.clone().unwrap_or_else(|| format!("event-{}", event.id)),
        );
        state.storage = Some(Arc::clone(&inner.storage));
        state.host = Some(self.clone());
        let delivery = Delivery {
            id: event.id,
            topic: event.topic.clone(),
            key: event.key.clone(),
            payload: event.payload.clone(),
            publisher: event.publisher.clone(),
            published_at: Timestamp { seconds: event.published_s, nanoseconds: event.published_ns },
            attempt,
        };
        let subscriber = plugin.manifest().id.to_string();
        call::run(
            &inner.engine,
            state,
            &CallGuard::default(),
            Finish::Commit,
            |store, instance| {
                let state = store.data_mut();
                let origin = state.origin.clone();
                let marked = call::writable(&mut state.txn).and_then(|txn| {
                    mark_delivered(txn, &origin, tenant, &subscriber, event, attempt, replay)
                });
                if let Err(err) = marked {
                    let message = err.to_string();
                    state.storage_fault = Some(call::storage_error(err));
                    return Err(wasmtime::Error::msg(message));
                }
                instance.call_deliver(&mut *store, &delivery)
            },
            |()| Ok(()),
        )
    }

    /// Records a failed delivery in a transaction of its own: a retry,
    /// or once attempts run out a dead letter (and the subscriber's cursor
    /// moves past the event). Returns whether it became a dead letter.
    fn failed(
        &self,
        tenant: &TenantId,
        subscriber: &str,
        event: &StoredEvent,
        attempt: u32,
        err: &dyn std::fmt::Display,
    ) -> keel_storage::Result<bool> {
        let limits = &self.inner.config.limits;
        let now = self.now();
        let origin = keel_audit::Origin::kernel(now.seconds);
        let mut txn = self.inner.storage.write(&[keel_storage::Lane::Tenant(tenant.clone())])?;
        // A webhook deleted, or that lost the topic, while it was posted:
        // nothing to retry, and a cursor or retry written now would stay.
        if let Some(record) = webhooks::record_key(tenant, subscriber)
            && !webhooks::receives(txn.catalog_get(&record)?, &event.topic)?
        {
            return Ok(false);
        }
        let dead = attempt >= limits.event_attempts_max;
        let what = format!("event {} {} to {subscriber}", event.id, event.topic);
        if dead {
            let letter = DeadLetter {
                id: format!("{}-{subscriber}", event.id),
                event: event.id,
                topic: event.topic.clone(),
                key: event.key.clone(),
                payload: event.payload.clone(),
                publisher: event.publisher.clone(),
                subscriber: subscriber.to_owned(),
                attempts: attempt,
                error: err.to_string(),
                dead_at: now.seconds,
            };
            txn.catalog_put(&dead_key(tenant, event.id, subscriber), &encode(&letter)?)?;
            txn.catalog_put(
                &cursor_key(tenant, subscriber, &event.topic),
                event.id.to_string().as_bytes(),
            )?;
            txn.catalog_remove(&retry_key(tenant, subscriber, &event.topic))?;
            let detail =
                format!("{what}: a dead letter after {attempt} attempts; the last failed: {err}");
            audit(&mut txn, &origin, tenant, subscriber, action::EVENT_DEAD_LETTER, detail)?;
            tracing::warn!(%tenant, %subscriber, event = event.id, topic = %event.topic, error = %err, "event delivery failed for good; kept as a dead letter");
        } else {
            let wait = self.backoff(attempt);
            let retry = Retry {
                event: event.id,
                attempts: attempt,
                next_at_ms: unix_ms(&now)
                    .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)),
                error: err.to_string(),
            };
            txn.catalog_put(&retry_key(tenant, subscriber, &event.topic), &encode(&retry)?)?;
            let detail = format!(
                "{what}: attempt {attempt} of {} failed, retrying in {} ms: {err}",
                limits.event_attempts_max,
                wait.as_millis()
            );
            audit(&mut txn, &origin, tenant, subscriber, action::EVENT_RETRY, detail)?;
            tracing::info!(%tenant, %subscriber, event = event.id, topic = %event.topic, attempt, error = %err, "event delivery failed; will retry");
        }
        txn.commit()?;
        if dead {
            let webhook = webhooks::record_key(tenant, subscriber).is_some();
            crate::metrics::dead_letter(if webhook { "webhook" } else { "plugin" });
        }
        Ok(dead)
    }
}

/// The last event id of `topic` delivered to `subscriber` (0: none yet).
fn cursor(
    read: &ReadTxn,
    tenant: &TenantId,
    subscriber: &str,
    topic: &str,
) -> keel_storage::Result<u64> {
    let Some(bytes) = read.catalog_get(&cursor_key(tenant, subscriber, topic))? else {
        return Ok(0);
    };
    parse_cursor(&bytes)
}

/// A stored cursor's event id.
fn parse_cursor(bytes: &[u8]) -> keel_storage::Result<u64> {
    String::from_utf8_lossy(bytes)
        .parse::<u64>()
        .map_err(|err| keel_storage::Error::Backend(format!("stored cursor is unreadable: {err}")))
}

/// The subscriber's next event of `topic`, with the retry state of its
/// topic, if any.
fn next_event(
    read: &ReadTxn,
    tenant: &TenantId,
    subscriber: &str,
    topic: &str,
) -> keel_storage::Result<Option<(StoredEvent, Option<Retry>)>> {
    let cursor = cursor(read, tenant, subscriber, topic)?;
    let after = (cursor > 0).then(|| event_key(tenant, topic, cursor));
    let Some((_, bytes)) =
        read.catalog_page(&event_prefix(tenant, topic), after.as_deref(), 1)?.pop()
    else {
        return Ok(None);
    };
    let event: StoredEvent = decode("event", &bytes)?;
    let retry = read
        .catalog_get(&retry_key(tenant, subscriber, topic))?
        .map(|bytes| decode::<Retry>("retry", &bytes))
        .transpose()?;
    Ok(Some((event, retry)))
}

/// In a delivery's transaction: the subscriber has `event` (its cursor
/// moves on and its retry state goes; for a replay, the dead letter goes),
/// audited as `event.deliver` or `event.replay`.
fn mark_delivered(
    txn: &mut WriteTxn,
    origin: &keel_audit::Origin,
    tenant: &TenantId,
    subscriber: &str,
    event: &StoredEvent,
    attempt: u32,
    replay: bool,
) -> keel_storage::Result<()> {
    let what = format!("event {} {} to {subscriber}, attempt {attempt}", event.id, event.topic);
    if replay {
        txn.catalog_remove(&dead_key(tenant, event.id, subscriber))?;
        audit(txn, origin, tenant, subscriber, action::EVENT_REPLAY, what)
    } else {
        txn.catalog_put(
            &cursor_key(tenant, subscriber, &event.topic),
            event.id.to_string().as_bytes(),
        )?;
        txn.catalog_remove(&retry_key(tenant, subscriber, &event.topic))?;
        audit(txn, origin, tenant, subscriber, action::EVENT_DELIVER, what)
    }
}

/// Checks an event before it is published: the manifest lists its topic,
/// its key and payload are well formed.
pub(crate) fn check(
    manifest: &keel_manifest::Manifest,
    limits: &keel_types::Limits,
    event: &crate::bindings::keel::kernel::events::Event,
) -> Result<(), WitError> {
    if !manifest.publishes(&event.topic) {
        return Err(WitError::Denied(format!(
            "plugin {} does not list topic {:?} under `publishes` in its manifest",
            manifest.id, event.topic
        )));
    }
    if event.key.is_empty() || event.key.len() > KEY_BYTES_MAX {
        return Err(WitError::Invalid(format!("an event key is 1 to {KEY_BYTES_MAX} bytes")));
    }
    if event.payload.len() > limits.event_payload_bytes_max {
        return Err(WitError::LimitExceeded(format!(
            "an event payload is at most {} bytes",
            limits.event_payload_bytes_max
        )));
    }
    match serde_json::from_str::<serde_json::Value>(&event.payload) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(WitError::Invalid("an event payload is a JSON object".to_owned())),
    }
}

#[cfg(test)]
mod tests;
