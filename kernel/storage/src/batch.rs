//! Group commit: writers take turns in one shared redb transaction, which
//! commits durably once for all of them.
//!
//! redb has one write transaction at a time, and each durable commit costs
//! a page flush and an fsync. So a [`WriteTxn`](crate::WriteTxn) does not
//! own one: it holds the *shared* transaction for its turn
//! ([`Shared::acquire`]) and keeps an undo log of what it changed, so that a
//! writer that fails or is dropped is rolled back alone (`undo.rs`) while the
//! changes of the writers before it stay. A writer that finished
//! ([`Shared::release`]) has joined the open *batch*, and waits for the
//! batch's durable commit ([`Shared::wait`]): the first waiter leads. It
//! lets every writer already queued take its turn (up to [`BATCH_MAX`]),
//! then commits the batch with `Durability::Immediate` and wakes every
//! member. The more writers wait, the more each fsync carries; a lone
//! writer commits at once.
//!
//! Read snapshots see committed transactions only, and every commit is
//! durable, so a reader is never shown what a crash could take back. A
//! writer that read other writers' changes in the batch waits for that
//! batch too before it answers, even if it changed nothing itself.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use redb::Database;

use crate::error::{Error, Result, backend};

/// Most writers one batch carries: bounds how long the first of them waits.
const BATCH_MAX: u32 = 256;

/// The database and the shared write transaction.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) db: Database,
    state: Mutex<State>,
    /// Writers waiting for their turn.
    turn: Condvar,
    /// A leader waiting for the batch to close.
    closing: Condvar,
    /// Members waiting for their batch's commit.
    settled: Condvar,
}

#[derive(Default)]
struct State {
    /// The open batch's transaction, while no writer holds it.
    txn: Option<redb::WriteTransaction>,
    /// A writer holds the transaction, or is beginning one.
    held: bool,
    /// Writers waiting for their turn.
    waiting: u32,
    /// The open batch's number; batches commit in order, from 1.
    batch: u64,
    /// Writers whose changes the open batch holds.
    members: u32,
    /// Every batch up to this number is durable.
    durable: u64,
    lead: Lead,
    /// A commit or a rollback failed: every change since the last durable
    /// commit is lost, and redb refuses further writes, so we do too.
    failed: Option<String>,
    stats: CommitStats,
    /// The last entry of each log, while no writer holds the transaction.
    tails: Tails,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("held", &self.held)
            .field("batch", &self.batch)
            .field("members", &self.members)
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

/// Who is committing the open batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Lead {
    /// Nobody yet.
    #[default]
    None,
    /// A waiter is letting the queued writers in before it commits.
    Closing,
    /// A waiter took the batch's transaction and is committing it.
    Committing,
}

/// How many writers committed and how many durable commits carried them,
/// since the database opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Write transactions committed.
    pub commits: u64,
    /// Durable commits (each one fsync) that carried them.
    pub syncs: u64,
}

/// The last entry of each log that was appended to since the database
/// opened, as the shared transaction holds it: appenders read the tail
/// here instead of searching the log's B-tree. It passes from writer to
/// writer with the transaction, outlives commits (which change no log), and
/// is emptied whenever a writer's changes are undone.
#[derive(Debug, Default)]
pub(crate) struct Tails(HashMap<String, (u64, Vec<u8>)>);

impl Tails {
    pub(crate) fn get(&self, chain: &str) -> Option<(u64, Vec<u8>)> {
        self.0.get(chain).cloned()
    }

    pub(crate) fn remember(&mut self, chain: &str, seq: u64, bytes: &[u8]) {
        match self.0.get_mut(chain) {
            Some(tail) => {
                tail.0 = seq;
                tail.1.clear();
                tail.1.extend_from_slice(bytes);
            }
            None => drop(self.0.insert(chain.to_owned(), (seq, bytes.to_vec()))),
        }
    }

    pub(crate) fn forget(&mut self) {
        self.0.clear();
    }
}

/// A writer's turn with the shared transaction.
pub(crate) struct Turn {
    pub(crate) txn: redb::WriteTransaction,
    pub(crate) tails: Tails,
    /// The batch already held other writers' changes, not yet durable.
    pub(crate) observed: bool,
}

impl Shared {
    pub(crate) fn new(db: Database) -> Self {
        let state = State { batch: 1, ..State::default() };
        Self {
            db,
            state: Mutex::new(state),
            turn: Condvar::new(),
            closing: Condvar::new(),
            settled: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait_on<'a>(
        &self,
        condvar: &Condvar,
        state: MutexGuard<'a, State>,
    ) -> MutexGuard<'a, State> {
        condvar.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a writer that will ask for its turn soon: until it does (or
    /// gives up, [`Shared::withdraw`]), a leader keeps the batch open for it.
    pub(crate) fn announce(&self) {
        self.state().waiting += 1;
    }

    /// Takes back an announcement that will not be followed by a turn.
    pub(crate) fn withdraw(&self) {
        let mut state = self.state();
        state.waiting -= 1;
        self.wake_next(&state);
    }

    /// Waits for the turn of an announced writer and returns the shared
    /// transaction, beginning one if the last batch has gone to commit.
    pub(crate) fn acquire(&self) -> Result<Turn> {
        let mut state = self.state();
        while state.failed.is_none()
            && (state.held || (state.lead == Lead::Closing && state.members >= BATCH_MAX))
        {
            state = self.wait_on(&self.turn, state);
        }
        state.waiting -= 1;
        if let Some(err) = &state.failed {
            let err = failed(err);
            self.wake_next(&state);
            return Err(err);
        }
        state.held = true;
        let observed = state.members > 0;
        let txn = state.txn.take();
        let tails = std::mem::take(&mut state.tails);
        drop(state);
        let txn = match txn {
            Some(txn) => txn,
            // Waits while a leader commits the previous batch.
            None => match self.db.begin_write() {
                Ok(txn) => txn,
                Err(err) => {
                    let mut state = self.state();
                    state.held = false;
                    state.tails = tails;
                    self.wake_next(&state);
                    return Err(backend(err));
                }
            },
        };
        Ok(Turn { txn, tails, observed })
    }

    /// Ends a writer's turn; `joined` if the batch now holds its changes.
    /// Returns the batch, for [`Shared::wait`].
    pub(crate) fn release(&self, txn: redb::WriteTransaction, tails: Tails, joined: bool) -> u64 {
        let mut state = self.state();
        state.held = false;
        state.txn = Some(txn);
        state.tails = tails;
        if joined {
            state.members += 1;
            state.stats.commits += 1;
        }
        self.wake_next(&state);
        state.batch
    }

    /// Ends a writer's turn whose rollback failed: the transaction holds
    /// changes of a writer that gave up, so nothing in it may commit. The
    /// whole batch is lost and the database refuses writes from now on.
    pub(crate) fn poison(&self, txn: redb::WriteTransaction, why: &Error) {
        let mut state = self.state();
        drop(txn);
        state.held = false;
        state.failed = Some(format!("rolling back a failed write failed: {why}"));
        tracing::error!(error = %why, "rolling back a failed write failed; refusing writes");
        self.turn.notify_all();
        self.closing.notify_all();
        self.settled.notify_all();
    }

    /// Returns once `batch` is durable, leading its commit if nobody is.
    pub(crate) fn wait(&self, batch: u64) -> Result<()> {
        let mut state = self.state();
        loop {
            if state.durable >= batch {
                return Ok(());
            }
            if let Some(err) = &state.failed {
                return Err(failed(err));
            }
            if state.lead != Lead::None {
                state = self.wait_on(&self.settled, state);
                continue;
            }
            // Lead: let the writers already queued join, then commit.
            state.lead = Lead::Closing;
            while state.failed.is_none()
                && (state.held || (state.waiting > 0 && state.members < BATCH_MAX))
            {
                state = self.wait_on(&self.closing, state);
            }
            if state.failed.is_some() {
                state.lead = Lead::None;
                continue;
            }
            let Some(txn) = state.txn.take() else {
                // Unreachable: a batch that is not durable has members,
                // whose changes this transaction holds.
                state.lead = Lead::None;
                state.failed = Some(format!("batch {} has no transaction to commit", state.batch));
                self.settled.notify_all();
                continue;
            };
            let committing = state.batch;
            state.batch += 1;
            state.members = 0;
            state.lead = Lead::Committing;
            self.wake_next(&state);
            drop(state);
            // A commit that panicked must not leave every member waiting on
            // a leader that is gone: it fails like any failed commit.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| txn.commit()))
                .unwrap_or_else(|_| Err(redb::CommitError::Storage(panicked())));
            state = self.state();
            state.lead = Lead::None;
            match outcome {
                Ok(()) => {
                    state.durable = committing;
                    state.stats.syncs += 1;
                }
                Err(err) => {
                    tracing::error!(error = %err, "a durable commit failed; refusing writes");
                    state.failed = Some(format!("the durable commit failed: {err}"));
                    self.turn.notify_all();
                }
            }
            self.settled.notify_all();
        }
    }

    /// Hands the turn on: to the leader once nobody else wants it (or the
    /// batch is full), else to the next writer.
    fn wake_next(&self, state: &State) {
        if state.held {
            return;
        }
        let full = state.members >= BATCH_MAX;
        if state.lead == Lead::Closing && (state.waiting == 0 || full) {
            self.closing.notify_one();
        } else if state.waiting > 0 {
            self.turn.notify_one();
        }
    }

    pub(crate) fn stats(&self) -> CommitStats {
        self.state().stats
    }
}

fn failed(err: &str) -> Error {
    Error::Backend(format!("cannot make writes durable ({err}); restart the kernel"))
}

fn panicked() -> redb::StorageError {
    redb::StorageError::Io(std::io::Error::other("the commit panicked"))
}
