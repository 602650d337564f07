//! One plugin call: a fresh `Store`, one storage transaction, and the
//! mapping of every way a call can end.

use keel_types::action;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use keel_manifest::Method;
use keel_storage::{Namespace, Ticket, Txn};
use keel_types::{Limits, RequestId, TenantId, Timestamp};
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{WitError, WitRequest};
use crate::error::{CallError, PluginErrorKind};
use crate::package::Plugin;

/// The clocks a guest reads through WASI: the kernel's time when its call
/// started, advanced by the time the call has run, so that a guest sees
/// the clock the kernel chose (a test's, or a simulation's) and nothing of
/// the host's uptime.
struct CallClock {
    started_at: keel_types::Timestamp,
    started: std::time::Instant,
}

impl CallClock {
    fn started(at: keel_types::Timestamp) -> Self {
        Self { started_at: at, started: std::time::Instant::now() }
    }
}

impl wasmtime_wasi::HostWallClock for CallClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(1)
    }

    fn now(&self) -> std::time::Duration {
        let seconds = u64::try_from(self.started_at.seconds).unwrap_or(0);
        let at = std::time::Duration::new(seconds, self.started_at.nanoseconds);
        at.saturating_add(self.started.elapsed())
    }
}

impl wasmtime_wasi::HostMonotonicClock for CallClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// What the gateway asks a plugin to do.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The tenant the call runs for.
    pub tenant: TenantId,
    /// The authenticated caller, if any.
    pub caller: Option<String>,
    /// The request id.
    pub request_id: RequestId,
    /// The roles the caller holds in the tenant, for the audit trail.
    pub roles: Vec<String>,
    /// The client's address, for the audit trail.
    pub source: Option<String>,
    /// The manifest operation id.
    pub operation: String,
    /// The operation's method: GET runs on a snapshot, others in a write transaction.
    pub method: Method,
    /// The request as the plugin sees it.
    pub request: PluginRequest,
    /// Lets the caller give up on the call; an abandoned call never commits.
    pub guard: CallGuard,
    /// Answers the plugin's `has-permission` questions about the caller.
    pub permissions: Option<Arc<dyn PermissionCheck>>,
    /// The client's idempotency key, for an operation that may write: a
    /// request sent again with it gets the first success's answer.
    pub idempotency: Option<crate::IdempotencyKey>,
}

/// Whether the caller of a call holds a permission in its tenant, and who
/// it is. Set by the layer that knows identities and authorization; the
/// host only relays the questions.
pub trait PermissionCheck: Send + Sync + std::fmt::Debug {
    /// Whether the call's caller holds `permission` in `tenant`.
    fn check(&self, tenant: &TenantId, permission: &str) -> bool;

    /// Whether `principal` (as a document recorded it) is the caller's own
    /// person in `tenant`: the same user, or a token that user created.
    /// None when that cannot be read, which segregation of duties refuses.
    fn same_person(&self, tenant: &TenantId, principal: &str) -> Option<bool>;
}

/// Answers a job step's questions about the caller who started its job,
/// who may hold less by then. Set by the layer that knows identities.
pub trait Callers: Send + Sync {
    /// What a step may ask about `caller`'s permissions, as they are now;
    /// none while that cannot be answered (the kernel is stopping).
    fn permissions_of(&self, caller: &str) -> Option<Arc<dyn PermissionCheck>>;
}

/// Decides, between a caller that may give up and the worker running the
/// call, whether the call may still commit: whoever moves first wins.
#[derive(Debug, Clone, Default)]
pub struct CallGuard(Arc<AtomicU8>);

const RUNNING: u8 = 0;
const ABANDONED: u8 = 1;
const COMMITTING: u8 = 2;

impl CallGuard {
    /// Gives up on the call. Returns true if it will now never commit;
    /// false if it is already committing (wait for its result instead).
    pub fn abandon(&self) -> bool {
        self.0.compare_exchange(RUNNING, ABANDONED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    pub(crate) fn is_abandoned(&self) -> bool {
        self.0.load(Ordering::Acquire) == ABANDONED
    }

    pub(crate) fn begin_commit(&self) -> bool {
        self.0.compare_exchange(RUNNING, COMMITTING, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

/// The request passed to the plugin's `handle`.
#[derive(Debug, Clone, Default)]
pub struct PluginRequest {
    /// HTTP method.
    pub method: String,
    /// Path below the plugin prefix.
    pub path: String,
    /// Decoded path parameters.
    pub params: Vec<(String, String)>,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// A plugin's successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginResponse {
    /// 2xx status.
    pub status: u16,
    /// JSON body, possibly empty.
    pub body: Vec<u8>,
    /// The answer kept for the request's idempotency key, given again
    /// without running the plugin.
    pub replayed: bool,
}

/// The data of one call's `Store`.
pub(crate) struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) plugin: Arc<Plugin>,
    pub(crate) ns: Namespace,
    /// The call's transaction; lent to a domain interface's provider while
    /// one runs (the caller is suspended in the host then).
    pub(crate) txn: Option<Txn>,
    pub(crate) caller: Option<String>,
    pub(crate) request_id: RequestId,
    /// Who the audit records of this call name: the caller, or the
    /// administrator whose upgrade runs a migration.
    pub(crate) origin: keel_audit::Origin,
    pub(crate) now: Timestamp,
    pub(crate) limits: Limits,
    pub(crate) permissions: Option<Arc<dyn PermissionCheck>>,
    pub(crate) n_log_lines: u32,
    pub(crate) n_audit_events: u32,
    /// Documents of sensitive collections this call read, as
    /// (collection, key): audited when the call succeeds.
    pub(crate) sensitive_reads: std::collections::BTreeSet<(String, String)>,
    /// Where the audit records of a read-only call's sensitive reads go.
    pub(crate) storage: Option<Arc<keel_storage::Storage>>,
    /// The guest memory this store holds, of its call's budget and the kernel's.
    pub(crate) memory: crate::memory::MemoryUse,
    /// Set when a budget refused the guest memory.
    memory_refused: Option<crate::memory::Refused>,
    /// The growth last allowed, given back if it then fails.
    memory_growing: usize,
    /// Set when storage failed, or refused past a limit, underneath a
    /// host call (which then trapped): what the call fails with.
    pub(crate) storage_fault: Option<CallError>,
    /// The host, for calls to domain interfaces' providers; none where
    /// they are not available (migrations).
    pub(crate) host: Option<crate::Host>,
    /// The keys sensitive documents are sealed with, as they were when the
    /// call began.
    pub(crate) data_keys: Arc<crate::DataKeys>,
    /// How many provider calls this call is nested in.
    pub(crate) depth: u8,
    /// Set when a provider this call used failed so that the call must
    /// fail: the provider, and why.
    pub(crate) provider_failure: Option<CallError>,
    /// The `record.read` audit records of providers this call used.
    pub(crate) provider_reads: Vec<keel_audit::Record>,
    /// For a provider: the `record.read` records its callers already
    /// hold, which count toward the same limit as its own.
    pub(crate) reads_outside: usize,
    /// Events this call (and the providers it called) published.
    pub(crate) n_events: u32,
    /// Timers this call set or cancelled.
    pub(crate) n_timers: u32,
    /// Tells whether the caller gave up; the guest is stopped at the next
    /// epoch tick once it has.
    pub(crate) guard: CallGuard,
    /// When the call runs out of time: its own deadline, which the
    /// providers it calls share.
    pub(crate) deadline: Instant,
    /// When its thread lowers its priority (see `priority.rs`).
    pub(crate) long_after: Instant,
    /// Set when the guest was stopped because its caller gave up.
    abandoned: bool,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl ResourceLimiter for CallState {
    /// Counts every memory the store creates or grows, before it is
    /// mapped; a refusal traps the guest.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let by = desired.saturating_sub(current);
        match self.memory.grow(by) {
            Ok(()) => {
                self.memory_growing = by;
                Ok(true)
            }
            Err(refused) => {
                self.memory_refused = Some(refused);
                Err(wasmtime::Error::msg("memory limit exceeded"))
            }
        }
    }

    /// A growth allowed above failed all the same (past the memory's own
    /// maximum, say): what was counted for it is given back.
    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory.shrink(std::mem::take(&mut self.memory_growing));
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl CallState {
    /// The `record.read` audit records of the sensitive documents read,
    /// by this call and by the providers it called.
    pub(crate) fn read_records(&self) -> Vec<keel_audit::Record> {
        let plugin = self.plugin.manifest().id.to_string();
        let own = self.sensitive_reads.iter().map(|(collection, key)| keel_audit::Record {
            plugin: Some(plugin.clone()),
            collection: Some(collection.clone()),
            key: Some(key.clone()),
            ..self.origin.record(action::RECORD_READ)
        });
        own.chain(self.provider_reads.iter().cloned()).collect()
    }

    /// How many `record.read` records the call chain holds so far.
    pub(crate) fn n_reads(&self) -> usize {
        self.reads_outside + self.sensitive_reads.len() + self.provider_reads.len()
    }

    /// The call's transaction.
    pub(crate) fn txn(&self) -> keel_storage::Result<&Txn> {
        self.txn.as_ref().ok_or_else(lent)
    }

    /// A call's state under the host's limits and clock, with a memory
    /// budget of its own.
    pub(crate) fn new(
        plugin: Arc<Plugin>,
        tenant: TenantId,
        txn: Txn,
        inner: &crate::host::Inner,
    ) -> Self {
        let config = &inner.config;
        let (limits, now) = (config.limits.clone(), config.clock.now());
        let tenant_memory = inner.tenant_memory.of(&tenant);
        let memory = crate::memory::MemoryUse::new(
            limits.memory_bytes_max,
            &tenant_memory,
            &inner.guest_memory,
        );
        let ns = Namespace::new(tenant, plugin.manifest().id.clone());
        let data_keys =
            Arc::clone(&inner.data_keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()));
        Self {
            data_keys,
            // No preopens, no environment, no network, no inherited stdio,
            // and the kernel's clock: the wall clock starts at the call's
            // time, the monotonic one at zero.
            wasi: WasiCtx::builder()
                .wall_clock(CallClock::started(now))
                .monotonic_clock(CallClock::started(now))
                .build(),
            table: ResourceTable::new(),
            plugin,
            ns,
            txn: Some(txn),
            caller: None,
            request_id: RequestId::generated(String::new()),
            origin: keel_audit::Origin::kernel(now.seconds),
            now,
            limits,
            permissions: None,
            n_log_lines: 0,
            n_audit_events: 0,
            sensitive_reads: std::collections::BTreeSet::new(),
            storage: None,
            memory,
            memory_refused: None,
            memory_growing: 0,
            storage_fault: None,
            host: None,
            depth: 0,
            provider_failure: None,
            provider_reads: Vec::new(),
            reads_outside: 0,
            n_events: 0,
            n_timers: 0,
            guard: CallGuard::default(),
            deadline: Instant::now() + config.limits.call_deadline,
            long_after: Instant::now() + crate::priority::LONG_CALL,
            abandoned: false,
        }
    }
}

/// A call's transaction (a [`CallState`]'s `txn`), to write.
pub(crate) fn writable(txn: &mut Option<Txn>) -> keel_storage::Result<&mut keel_storage::WriteTxn> {
    txn.as_mut().ok_or_else(lent)?.writable()
}

fn lent() -> keel_storage::Error {
    keel_storage::Error::Backend("the call's transaction is lent to a provider".to_owned())
}

/// A store for one call in `state`, with its memory limiter. At every
/// epoch tick the guest is stopped if its caller gave up or its deadline
/// passed, so a call nobody waits for any more frees its instance and its
/// turn within a tick; a call that has run long has its thread's priority
/// lowered.
pub(crate) fn store(engine: &wasmtime::Engine, state: CallState) -> Store<CallState> {
    let mut store = Store::new(engine, state);
    store.limiter(|state| state);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut store| {
        let state = store.data_mut();
        if state.guard.is_abandoned() {
            state.abandoned = true;
            return Ok(UpdateDeadline::Interrupt);
        }
        let now = Instant::now();
        if now >= state.deadline {
            return Ok(UpdateDeadline::Interrupt);
        }
        if now >= state.long_after {
            crate::priority::lower();
        }
        Ok(UpdateDeadline::Continue(1))
    });
    store
}

/// What to do with a successful call's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    /// Commit it durably.
    Commit,
    /// Roll it back: a dry run.
    Discard,
}

/// How the guest part of a call ended, before committing.
pub(crate) type GuestOutcome<T> = wasmtime::Result<Result<T, WitError>>;

/// How a call ended, and what must be durable before anyone is told:
/// [`Settled::wait`] gives the outcome once it is.
#[must_use = "a call's outcome may be told only once `wait` returns"]
pub(crate) struct Settled<T> {
    /// What the caller is told once `tickets` are durable.
    pub(crate) outcome: Result<T, CallError>,
    /// The call's own transaction, then its sensitive reads' audit records.
    pub(crate) tickets: Vec<Ticket>,
    /// The call committed events for the dispatcher.
    pub(crate) published: bool,
    /// The call committed timers for the clock.
    pub(crate) timed: bool,
}

impl<T> Settled<T> {
    fn now(outcome: Result<T, CallError>) -> Self {
        Self { outcome, tickets: Vec::new(), published: false, timed: false }
    }

    /// Whether the call, once durable, published events.
    pub(crate) fn published(&self) -> bool {
        self.published
    }

    /// Whether the call, once durable, set or cancelled timers.
    pub(crate) fn timed(&self) -> bool {
        self.timed
    }

    /// A call refused before its guest ran; its turn, if it had one, ends
    /// changing nothing.
    pub(crate) fn refused(txn: Option<Txn>, err: CallError) -> Self {
        let tickets = match txn {
            Some(Txn::Write(txn)) => vec![txn.roll_back()],
            _ => Vec::new(),
        };
        Self { outcome: Err(err), tickets, published: false, timed: false }
    }

    /// An answer given without running the plugin (a kept answer), once
    /// every change of the turn's lanes it saw is durable.
    pub(crate) fn replayed(txn: Txn, value: T) -> Self {
        let tickets = match txn {
            Txn::Write(txn) => vec![txn.roll_back()],
            Txn::Read(_) => Vec::new(),
        };
        Self { outcome: Ok(value), tickets, published: false, timed: false }
    }

    /// Calls `then` with the outcome once every write it made and every
    /// earlier change of its lanes it saw is durable: from the thread that
    /// made them durable, so `then` must be quick.
    pub(crate) fn then(self, then: impl FnOnce(Result<T, CallError>) + Send + 'static)
    where
        T: Send + 'static,
    {
        settle(self.tickets.into_iter(), self.outcome, Box::new(then));
    }

    /// The outcome, once every write it made and every other writer's
    /// change it saw is durable.
    pub(crate) fn wait(self) -> Result<T, CallError> {
        for ticket in self.tickets {
            if let Err(err) = ticket.wait() {
                // Whatever it was going to say, the call is not durable.
                return Err(storage_error(err));
            }
        }
        self.outcome
    }
}

/// Runs `body` against a fresh instance in `state`'s store. If the guest
/// succeeded, its result passes `check`, and the caller has not given up,
/// ends the transaction's turn keeping its writes (when the call may write)
/// and settles with the result. The turn ends before the result is durable,
/// so the next writer can go on; see [`Settled::wait`].
pub(crate) fn run<T>(
    engine: &wasmtime::Engine,
    state: CallState,
    guard: &CallGuard,
    finish: Finish,
    body: impl FnOnce(&mut Store<CallState>, &crate::bindings::Plugin) -> GuestOutcome<T>,
    check: impl FnOnce(&T) -> Result<(), CallError>,
) -> Settled<T> {
    let plugin = Arc::clone(&state.plugin);
    let mut state = state;
    state.guard = guard.clone();
    let mut store = store(engine, state);
    let started = std::time::Instant::now();

    let outcome = match plugin.pre.instantiate(&mut store) {
        Ok(instance) => body(&mut store, &instance),
        Err(err) => Err(err),
    };
    let mut state = store.into_data();
    let plugin_id = plugin.manifest().id.to_string();
    let reads = state.read_records();
    let ended = match outcome {
        Ok(Ok(value)) => match check(&value) {
            Ok(()) if guard.begin_commit() => Ok(value),
            Ok(()) => Err((CallError::Abandoned, false)),
            Err(err) => Err((err, false)),
        },
        // The error's words reach the client and may quote what the
        // plugin read: its sensitive reads are audited all the same,
        // after the call's own changes are undone.
        Ok(Err(err)) => Err((plugin_error(err), true)),
        Err(err) => Err((classify_trap(&plugin_id, &mut state, &err), false)),
    };
    let outcome = crate::metrics::outcome(&ended);
    crate::metrics::call(&plugin_id, state.ns.tenant(), outcome, started.elapsed());
    let (ns, storage, published, timed) =
        (state.ns, state.storage, state.n_events > 0, state.n_timers > 0);
    let origin = state.origin;
    let Some(txn) = state.txn else {
        return Settled::now(Err(CallError::Internal(lent().to_string())));
    };
    match (ended, txn) {
        (Ok(value), Txn::Write(mut txn)) if finish == Finish::Commit => {
            let mut records = reads.clone();
            // Numbers taken with no record since: the trail still says so.
            if txn.has_unsealed() {
                records.push(keel_audit::Record {
                    plugin: Some(ns.plugin().to_string()),
                    ..origin.record(keel_types::action::SEQUENCE_NEXT)
                });
            }
            // Refused at the end (past a limit or the tenant's quota), the
            // call's changes are undone, and its sensitive reads audited alone.
            let refused = |err: CallError, tickets: Vec<Ticket>| {
                let mut tickets = tickets;
                match audit_reads(storage.as_deref(), &ns, reads) {
                    Ok(ticket) => tickets.push(ticket),
                    Err(audit) => {
                        return Settled {
                            outcome: Err(audit),
                            tickets,
                            published: false,
                            timed: false,
                        };
                    }
                }
                Settled { outcome: Err(err), tickets, published: false, timed: false }
            };
            if let Err(err) = append_all(&mut txn, Some(ns.tenant()), records) {
                return refused(err, vec![txn.roll_back()]);
            }
            match txn.finish() {
                Ok(ticket) => {
                    Settled { outcome: Ok(value), tickets: vec![ticket], published, timed }
                }
                Err(err) => refused(storage_error(err), Vec::new()),
            }
        }
        // A dry run.
        (Ok(value), Txn::Write(txn)) => Settled {
            outcome: Ok(value),
            tickets: vec![txn.roll_back()],
            published: false,
            timed: false,
        },
        // A read is answered only once its audit records are durable.
        (Ok(value), Txn::Read(_)) => match audit_reads(storage.as_deref(), &ns, reads) {
            Ok(ticket) => Settled {
                outcome: Ok(value),
                tickets: vec![ticket],
                published: false,
                timed: false,
            },
            Err(err) => Settled::now(Err(err)),
        },
        (Err((err, audit)), txn) => {
            let mut tickets = Vec::new();
            if let Txn::Write(txn) = txn {
                tickets.push(txn.roll_back());
            }
            if audit {
                match audit_reads(storage.as_deref(), &ns, reads) {
                    Ok(ticket) => tickets.push(ticket),
                    Err(audit) => {
                        return Settled {
                            outcome: Err(audit),
                            tickets,
                            published: false,
                            timed: false,
                        };
                    }
                }
            }
            Settled { outcome: Err(err), tickets, published: false, timed: false }
        }
    }
}

/// Calls `then` with `outcome` once every ticket says its writes are durable.
fn settle<T: Send + 'static>(
    mut tickets: std::vec::IntoIter<Ticket>,
    outcome: Result<T, CallError>,
    then: Box<dyn FnOnce(Result<T, CallError>) + Send>,
) {
    match tickets.next() {
        None => then(outcome),
        Some(ticket) => ticket.then(move |durable| match durable {
            Ok(()) => settle(tickets, outcome, then),
            // Whatever it was going to say, the call is not durable.
            Err(err) => then(Err(storage_error(err))),
        }),
    }
}

pub(crate) fn storage_error(err: keel_storage::Error) -> CallError {
    match err {
        keel_storage::Error::LimitExceeded(why) => CallError::Limit(why),
        err @ keel_storage::Error::QuotaExceeded { .. } => {
            CallError::QuotaExceeded(err.to_string())
        }
        err => CallError::Storage(err),
    }
}

/// Appends `records` to the chain of `tenant` (or the platform's) in `txn`.
pub(crate) fn append_all(
    txn: &mut keel_storage::WriteTxn,
    tenant: Option<&TenantId>,
    records: Vec<keel_audit::Record>,
) -> Result<(), CallError> {
    let chain = keel_audit::chain_of(tenant);
    records
        .into_iter()
        .try_for_each(|record| keel_audit::append(txn, &chain, record).map(drop))
        .map_err(storage_error)
}

/// Appends `records` (if any) to the chain of `tenant` (or the
/// platform's) in a turn of their own: for events that change nothing
/// else stored. Durable once the ticket's wait returns.
pub(crate) fn audit_alone(
    storage: &keel_storage::Storage,
    tenant: Option<&TenantId>,
    records: Vec<keel_audit::Record>,
) -> Result<Ticket, CallError> {
    if records.is_empty() {
        return Ok(Ticket::durable());
    }
    let mut txn = storage.write(&[crate::lane(tenant)]).map_err(storage_error)?;
    append_all(&mut txn, tenant, records)?;
    txn.finish().map_err(storage_error)
}

/// Audits a call's sensitive reads once its own transaction is settled.
fn audit_reads(
    storage: Option<&keel_storage::Storage>,
    ns: &Namespace,
    reads: Vec<keel_audit::Record>,
) -> Result<Ticket, CallError> {
    match storage {
        Some(storage) => audit_alone(storage, Some(ns.tenant()), reads),
        None if reads.is_empty() => Ok(Ticket::durable()),
        None => {
            Err(CallError::Internal("sensitive reads cannot be audited in this call".to_owned()))
        }
    }
}

pub(crate) fn classify_trap(
    plugin: &str,
    state: &mut CallState,
    err: &wasmtime::Error,
) -> CallError {
    let plugin = plugin.to_owned();
    if let Some(failure) = state.provider_failure.take() {
        return failure;
    }
    if state.abandoned {
        return CallError::Abandoned;
    }
    if let Some(fault) = state.storage_fault.take() {
        return fault;
    }
    match state.memory_refused {
        Some(crate::memory::Refused::Call) => {
            return CallError::MemoryLimit { plugin, limit_bytes: state.memory.call_max() };
        }
        Some(crate::memory::Refused::Tenant) => {
            let tenant = state.ns.tenant().to_string();
            return CallError::TenantMemoryFull { tenant, share_bytes: state.memory.tenant_max() };
        }
        Some(crate::memory::Refused::Kernel) => return CallError::GuestMemoryFull,
        None => {}
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => {
            CallError::Deadline { plugin, deadline_ms: state.limits.call_deadline.as_millis() }
        }
        Some(Trap::AllocationTooLarge) => {
            CallError::MemoryLimit { plugin, limit_bytes: state.limits.memory_bytes_max }
        }
        _ if err.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() => CallError::Busy,
        _ => CallError::Trap { plugin, reason: trap_reason(err) },
    }
}

/// The trap's message without the guest backtrace, which is for logs only.
fn trap_reason(err: &wasmtime::Error) -> String {
    match err.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => err.root_cause().to_string(),
    }
}

/// The most bytes of a plugin's error message passed on: it reaches the
/// client's problem body and the kernel's log.
const ERROR_MESSAGE_BYTES_MAX: usize = 2 * 1024;

/// A plugin's error message as it is passed on: at most
/// [`ERROR_MESSAGE_BYTES_MAX`] bytes (saying so when cut), control
/// characters replaced, so that it cannot grow once escaped or forge log
/// lines; the rest of the guest's copy is freed at once.
fn bounded_message(mut message: String) -> String {
    let long = message.len() > ERROR_MESSAGE_BYTES_MAX;
    if long {
        let mut end = ERROR_MESSAGE_BYTES_MAX;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.shrink_to_fit();
    }
    if message.contains(char::is_control) {
        message = message
            .chars()
            .map(|c| match c {
                c if c.is_whitespace() && c.is_control() => ' ',
                c if c.is_control() => char::REPLACEMENT_CHARACTER,
                c => c,
            })
            .collect();
    }
    if long {
        message.push_str(" (truncated)");
    }
    message
}

pub(crate) fn plugin_error(err: WitError) -> CallError {
    let (kind, message) = match err {
        WitError::BadRequest(m) => (PluginErrorKind::BadRequest, m),
        WitError::Invalid(m) => (PluginErrorKind::Invalid, m),
        WitError::NotFound(m) => (PluginErrorKind::NotFound, m),
        WitError::Conflict(m) => (PluginErrorKind::Conflict, m),
        WitError::Denied(m) => (PluginErrorKind::Denied, m),
        WitError::LimitExceeded(m) => (PluginErrorKind::LimitExceeded, m),
        WitError::Internal(m) => (PluginErrorKind::Internal, m),
    };
    CallError::Plugin { kind, message: bounded_message(message) }
}

impl Invocation {
    pub(crate) fn wit_request(&self) -> WitRequest {
        WitRequest {
            method: self.request.method.clone(),
            path: self.request.path.clone(),
            params: self.request.params.clone(),
            query: self.request.query.clone(),
            body: self.request.body.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CallGuard, ERROR_MESSAGE_BYTES_MAX, bounded_message};

    #[test]
    fn an_error_message_is_cut_on_a_character_and_its_control_characters_replaced() {
        assert_eq!(bounded_message("no such account 1100".to_owned()), "no such account 1100");
        assert_eq!(bounded_message("line\nforged\u{1b}[31m".to_owned()), "line forged\u{fffd}[31m");
        // Three-byte characters straddling the bound.
        let cut = bounded_message("€".repeat(ERROR_MESSAGE_BYTES_MAX));
        assert!(cut.ends_with("€ (truncated)"), "{}", &cut[cut.len() - 20..]);
        assert!(cut.len() <= ERROR_MESSAGE_BYTES_MAX + " (truncated)".len());
    }

    #[test]
    fn a_call_either_commits_or_is_abandoned_never_both() {
        let abandoned = CallGuard::default();
        assert!(abandoned.abandon());
        assert!(abandoned.is_abandoned());
        assert!(!abandoned.begin_commit(), "an abandoned call must not commit");

        let committing = CallGuard::default();
        assert!(committing.begin_commit());
        assert!(!committing.abandon(), "a committing call cannot be abandoned; wait for it");
        assert!(!committing.is_abandoned());
    }
}
