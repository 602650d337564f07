//! The executors: one thread per tenant with write calls to run, which
//! runs them one after another.
//!
//! A tenant's write calls take turns in its storage lane anyway; running
//! them on one thread means each turn starts the moment the last one ends,
//! with no wake-up of another thread in between (on a busy virtual machine
//! a wake-up costs more than a short call). The thread that asked waits
//! for its answer, then for durability, while the next call runs. Tenants
//! never share an executor, so one tenant's slow or looping calls hold up
//! only its own. A thread with nothing to do for a while ends.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use keel_types::TenantId;

use crate::call::CallGuard;
use crate::error::{CallError, HostError};

/// How long an executor waits for work before its thread ends.
const IDLE: Duration = Duration::from_secs(5);
/// How often a caller waiting for its answer checks whether it gave up.
const GIVE_UP_POLL: Duration = Duration::from_millis(20);
/// An executor runs Wasm, whose stack is bounded separately; this leaves
/// room for the host's frames beneath it.
const STACK_BYTES: usize = 8 * 1024 * 1024;

type Job = Box<dyn FnOnce() + Send>;

/// Where a job's result goes.
pub(crate) struct Answer<T>(mpsc::SyncSender<T>);

impl<T> Answer<T> {
    /// Sends the result to the caller; nobody may be waiting any more.
    pub(crate) fn send(self, value: T) {
        let _ = self.0.send(value);
    }
}

/// The executors of every tenant with write calls in flight.
#[derive(Default)]
pub(crate) struct Executors {
    lanes: Mutex<HashMap<TenantId, Arc<Executor>>>,
}

/// One tenant's queue of calls, and whether a thread serves it.
#[derive(Default)]
struct Executor {
    state: Mutex<Queue>,
    work: Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<(u64, Job)>,
    next_id: u64,
    /// A thread serves the queue.
    serving: bool,
}

impl Executor {
    fn state(&self) -> MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Executors {
    /// Runs `job` on `tenant`'s executor after the calls queued before it,
    /// and returns what it sends to its [`Answer`], whenever it does (the
    /// job may hand the answer on, to be sent once its writes are durable).
    /// Blocking. A caller that gives up (`guard`) while its call is still
    /// queued takes it out and gets [`CallError::Abandoned`]; once running,
    /// the call itself stops.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        tenant: &TenantId,
        guard: &CallGuard,
        job: impl FnOnce(Answer<T>) + Send + 'static,
    ) -> Result<T, CallError> {
        let executor = {
            let mut lanes = self.lanes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(lanes.entry(tenant.clone()).or_default())
        };
        let (answer, answered) = mpsc::sync_channel(1);
        let id = {
            let mut queue = executor.state();
            let id = queue.next_id;
            queue.next_id += 1;
            queue.jobs.push_back((id, Box::new(move || job(Answer(answer)))));
            if !queue.serving {
                queue.serving = true;
                drop(queue);
                if let Err(err) = self.serve(tenant, &executor) {
                    let mut queue = executor.state();
                    queue.serving = false;
                    queue.jobs.retain(|(queued, _)| *queued != id);
                    return Err(CallError::Storage(err.0));
                }
            } else {
                executor.work.notify_one();
            }
            id
        };
        loop {
            match answered.recv_timeout(GIVE_UP_POLL) {
                Ok(value) => return Ok(value),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(CallError::Storage("the call failed on its executor".to_owned()));
                }
                Err(RecvTimeoutError::Timeout) if guard.is_abandoned() => {
                    let mut queue = executor.state();
                    let queued = queue.jobs.len();
                    queue.jobs.retain(|(waiting, _)| *waiting != id);
                    if queue.jobs.len() < queued {
                        return Err(CallError::Abandoned);
                    }
                    // Running already: it stops at its next epoch tick.
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// Starts a thread serving `executor`'s queue until it stays empty.
    fn serve(&self, tenant: &TenantId, executor: &Arc<Executor>) -> Result<(), HostError> {
        let executor = Arc::clone(executor);
        std::thread::Builder::new()
            .name(format!("keel-exec-{tenant}"))
            .stack_size(STACK_BYTES)
            .spawn(move || {
                let mut queue = executor.state();
                loop {
                    if let Some((_, job)) = queue.jobs.pop_front() {
                        drop(queue);
                        // A job that panics fails its own call (its answer
                        // is never sent) and must not end the executor.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        queue = executor.state();
                        continue;
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
            })
            .map(drop)
            .map_err(|err| HostError(format!("cannot start an executor thread: {err}")))
    }
}
