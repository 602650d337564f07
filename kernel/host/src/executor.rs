//! The executors: one thread per tenant with write calls to run, which
//! runs them one after another.
//!
//! A tenant's write calls take turns in its storage lane anyway; running
//! them on one thread means each turn starts the moment the last one ends,
//! with no wake-up of another thread in between (on a busy virtual machine
//! a wake-up costs more than a short call). The caller is answered, through
//! a oneshot channel, once the call's commit is durable, while the next
//! call runs. With no call left to run, the executor writes its tenant's
//! queued commits to the log itself rather than wake a syncer. Tenants
//! never share an executor, so one tenant's slow or looping calls hold up
//! only its own. A thread with nothing to do for a while ends.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak, mpsc};
use std::time::Duration;

use keel_storage::{Lane, Storage};
use keel_types::TenantId;
use tokio::sync::oneshot;

use crate::error::{CallError, HostError};

/// How long an executor waits for work before its thread ends.
const IDLE: Duration = Duration::from_secs(5);
/// The native stack a thread that runs plugin calls needs: each call, and
/// each provider call nested in it (at most four deep), may use the Wasm
/// stack bound (512 KiB) of it, with the host's frames between them.
pub const CALL_STACK_BYTES: usize = 8 * 1024 * 1024;
const STACK_BYTES: usize = CALL_STACK_BYTES;

type Job = Box<dyn FnOnce() + Send>;

/// Where a job's result goes.
pub(crate) struct Answer<T>(oneshot::Sender<T>);

impl<T> Answer<T> {
    /// Sends the result to the caller; nobody may be waiting any more.
    pub(crate) fn send(self, value: T) {
        let _ = self.0.send(value);
    }
}

/// The executors of every tenant with write calls in flight. Their
/// threads end when this is dropped, and never keep storage open.
pub(crate) struct Executors {
    storage: Weak<Storage>,
    /// What its threads are called, before the tenant.
    name: &'static str,
    lanes: Mutex<HashMap<TenantId, Arc<Executor>>>,
    /// Where a thread that lowered its priority sends its queue, for a
    /// thread at normal priority to serve: a thread started from the
    /// lowered one would inherit its priority. Started with the first call.
    spawner: Mutex<Option<mpsc::Sender<Server>>>,
}

/// One tenant's queue of calls, and whether a thread serves it.
#[derive(Default)]
struct Executor {
    state: Mutex<Queue>,
    work: Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// A thread serves the queue.
    serving: bool,
    /// The host is gone: the thread ends once the queue is empty.
    closed: bool,
}

impl Executor {
    fn state(&self) -> MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Executors {
    pub(crate) fn new(storage: &Arc<Storage>, name: &'static str) -> Self {
        Self {
            storage: Arc::downgrade(storage),
            name,
            lanes: Mutex::default(),
            spawner: Mutex::default(),
        }
    }

    /// Queues `job` on `tenant`'s executor, after the calls queued before
    /// it; the receiver gets what the job sends to its [`Answer`],
    /// whenever it does (it may hand the answer on, to be sent once its
    /// writes are durable). A job whose answer is dropped unsent closes
    /// the receiver.
    pub(crate) fn submit<T: Send + 'static>(
        &self,
        tenant: &TenantId,
        job: impl FnOnce(Answer<T>) + Send + 'static,
    ) -> Result<oneshot::Receiver<T>, CallError> {
        let executor = {
            let mut lanes = self.lanes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(lanes.entry(tenant.clone()).or_default())
        };
        let (answer, answered) = oneshot::channel();
        let mut queue = executor.state();
        queue.jobs.push_back(Box::new(move || job(Answer(answer))));
        if queue.serving {
            executor.work.notify_one();
            return Ok(answered);
        }
        queue.serving = true;
        drop(queue);
        if let Err(err) = self.serve(tenant, &executor) {
            let mut queue = executor.state();
            queue.serving = false;
            let jobs = std::mem::take(&mut queue.jobs);
            drop(queue);
            drop(jobs);
            return Err(CallError::Internal(err.to_string()));
        }
        Ok(answered)
    }

    /// Starts a thread serving `executor`'s queue until it stays empty.
    fn serve(&self, tenant: &TenantId, executor: &Arc<Executor>) -> Result<(), HostError> {
        let server = Server {
            name: format!("{}-{tenant}", self.name),
            executor: Arc::clone(executor),
            storage: Weak::clone(&self.storage),
            lane: Lane::Tenant(tenant.clone()),
            spawner: self.spawner()?,
        };
        server.start()
    }

    /// The spawner's channel, starting it if need be. Called by those who
    /// submit calls, never by an executor thread, so it runs at normal
    /// priority; it ends once every server and these executors are gone.
    fn spawner(&self) -> Result<mpsc::Sender<Server>, HostError> {
        let mut spawner = self.spawner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(sender) = spawner.as_ref() {
            return Ok(sender.clone());
        }
        let (sender, servers) = mpsc::channel::<Server>();
        std::thread::Builder::new()
            .name(format!("{}-spawn", self.name))
            .spawn(move || {
                for server in servers {
                    server.start_or_fail();
                }
            })
            .map_err(|err| HostError::new("start the executors' spawner thread", err))?;
        *spawner = Some(sender.clone());
        Ok(sender)
    }
}

/// What a thread serving one tenant's queue needs.
struct Server {
    name: String,
    executor: Arc<Executor>,
    storage: Weak<Storage>,
    lane: Lane,
    spawner: mpsc::Sender<Server>,
}

impl Server {
    fn start(self) -> Result<(), HostError> {
        std::thread::Builder::new()
            .name(self.name.clone())
            .stack_size(STACK_BYTES)
            .spawn(move || self.serve())
            .map(drop)
            .map_err(|err| HostError::new("start an executor thread", err))
    }

    /// Runs queued calls until the queue stays empty for [`IDLE`], the host
    /// goes, or a call ran long enough to lower this thread's priority: a
    /// fresh thread then serves the rest (see `priority.rs`).
    fn serve(self) {
        crate::priority::allow_lowering();
        let executor = &self.executor;
        let mut queue = executor.state();
        loop {
            if let Some(job) = queue.jobs.pop_front() {
                drop(queue);
                // A job that panics fails its own call (its answer is
                // dropped) and must not end the executor.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                // Lowered, this thread leaves even its tenant's commits to
                // be synced to others (the syncers take them up).
                if crate::priority::lowered() {
                    return self.hand_over();
                }
                queue = executor.state();
                if queue.jobs.is_empty() {
                    drop(queue);
                    if let Some(storage) = self.storage.upgrade() {
                        storage.sync_lane(&self.lane);
                    }
                    queue = executor.state();
                }
                continue;
            }
            if queue.closed {
                queue.serving = false;
                return;
            }
            let (next, waited) = executor
                .work
                .wait_timeout(queue, IDLE)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue = next;
            if waited.timed_out() && queue.jobs.is_empty() {
                queue.serving = false;
                return;
            }
        }
    }

    /// Ends this thread, leaving the queue to a fresh one that the spawner
    /// starts at normal priority.
    fn hand_over(self) {
        let next = Server {
            name: self.name.clone(),
            executor: Arc::clone(&self.executor),
            storage: Weak::clone(&self.storage),
            lane: self.lane.clone(),
            spawner: self.spawner.clone(),
        };
        if let Err(mpsc::SendError(next)) = self.spawner.send(next) {
            // The spawner is gone with the host: start the thread from
            // here; its calls run lowered, but they run.
            next.start_or_fail();
        }
    }

    /// Starts the thread, or fails the calls queued for it.
    fn start_or_fail(self) {
        let executor = Arc::clone(&self.executor);
        if let Err(err) = self.start() {
            tracing::error!(error = %err, "cannot start an executor thread; its calls fail");
            let mut queue = executor.state();
            queue.serving = false;
            let jobs = std::mem::take(&mut queue.jobs);
            drop(queue);
            // Dropped jobs close their callers' receivers, and may take
            // locks of their own.
            drop(jobs);
        }
    }
}

impl Drop for Executors {
    fn drop(&mut self) {
        let lanes = self.lanes.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        for executor in lanes.values() {
            executor.state().closed = true;
            executor.work.notify_all();
        }
    }
}
