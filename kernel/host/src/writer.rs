//! The writer: one thread runs every plugin call that may write, one after
//! another. Calls that may write take turns anyway (storage has one writer
//! at a time); running them on one thread spares a thread switch at every
//! turn, and keeps the storage pages and the engine's state in one core's
//! cache. A call's turn ends before its writes are durable: the thread
//! that asked waits for that (`Settled::wait`), and the next call runs
//! meanwhile, so concurrent calls share one durable commit.

use std::sync::mpsc;

use crate::error::{CallError, HostError};

type Job = Box<dyn FnOnce() + Send>;

/// The queue of the writer thread; the thread ends when it is dropped.
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub(crate) fn start() -> Result<Self, HostError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("keel-writer".to_owned())
            .spawn(move || {
                for job in queue {
                    // A job that panics fails its own call (its answer is
                    // never sent) and must not take the writer with it.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .map_err(|err| HostError(format!("cannot start the writer thread: {err}")))?;
        Ok(Self { jobs })
    }

    /// Runs `job` on the writer thread after the jobs queued before it,
    /// and returns its result. Blocking.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CallError> {
        let (answer, answered) = mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = answer.send(job());
        });
        self.jobs
            .send(job)
            .map_err(|_| CallError::Storage("the writer thread has stopped".to_owned()))?;
        answered
            .recv()
            .map_err(|_| CallError::Storage("the call failed on the writer thread".to_owned()))
    }
}
