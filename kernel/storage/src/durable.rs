//! Group commit: concurrent write transactions share one fsync.
//!
//! Each [`WriteTxn`](crate::WriteTxn) commits on its own (its changes are
//! atomic, and a failing transaction takes none of its neighbours down), but
//! without syncing: redb's `Durability::None`. The committer then waits until
//! a durable commit covers it. One waiter at a time leads: it makes an empty
//! `Durability::Immediate` commit, which persists every commit before it, and
//! wakes everyone it covered. While it syncs, the next transactions queue on
//! redb's write lock and then commit together behind the next leader, so the
//! more writers wait, the more each fsync carries.
//!
//! Nothing is shown before it is durable either: a read snapshot that
//! includes commits not yet synced waits for them, so no client reads a
//! change that a crash could still take back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use redb::{Database, ReadableDatabase};

use crate::error::{Error, Result, backend};

/// The database and the bookkeeping of which commits are durable.
#[derive(Debug)]
pub(crate) struct Durable {
    pub(crate) db: Database,
    /// Commits made so far, counted in commit order. The lock is held
    /// across a commit and its counting, and across the start of a read
    /// snapshot and the reading of the count, so a snapshot's count names
    /// exactly the commits it sees.
    committed: Mutex<u64>,
    state: Mutex<Synced>,
    synced: Condvar,
    n_syncs: AtomicU64,
}

#[derive(Debug, Default)]
struct Synced {
    /// Every commit up to this count is durable.
    durable: u64,
    /// A leader is syncing now.
    syncing: bool,
    /// A sync failed: redb refuses further writes, and so do we.
    failed: Option<String>,
}

/// How many commits and how many fsyncs a database has made since it opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// Write transactions committed.
    pub commits: u64,
    /// Durable syncs that made them so.
    pub syncs: u64,
}

impl Durable {
    pub(crate) fn new(db: Database) -> Self {
        Self {
            db,
            committed: Mutex::new(0),
            state: Mutex::new(Synced::default()),
            synced: Condvar::new(),
            n_syncs: AtomicU64::new(0),
        }
    }

    fn committed(&self) -> MutexGuard<'_, u64> {
        self.committed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn state(&self) -> MutexGuard<'_, Synced> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Commits `txn` without syncing and returns its ticket: the count
    /// that [`Durable::wait`] must see durable.
    pub(crate) fn commit(&self, mut txn: redb::WriteTransaction) -> Result<u64> {
        txn.set_durability(redb::Durability::None).map_err(backend)?;
        let mut committed = self.committed();
        txn.commit().map_err(backend)?;
        *committed += 1;
        Ok(*committed)
    }

    /// Begins a read snapshot that shows only durable commits.
    pub(crate) fn begin_read(&self) -> Result<redb::ReadTransaction> {
        let (txn, seen) = {
            let committed = self.committed();
            (self.db.begin_read().map_err(backend)?, *committed)
        };
        self.wait(seen)?;
        Ok(txn)
    }

    /// Returns once every commit up to `ticket` is durable, leading a sync
    /// if none is under way.
    pub(crate) fn wait(&self, ticket: u64) -> Result<()> {
        let mut state = self.state();
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if let Some(err) = &state.failed {
                return Err(Error::Backend(format!(
                    "cannot make commits durable ({err}); restart the kernel"
                )));
            }
            if state.syncing {
                state = self.synced.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            state.syncing = true;
            drop(state);
            // A sync that panicked must not leave every waiter waiting
            // on a leader that is gone: it fails like any failed sync.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.sync()))
                .unwrap_or_else(|_| Err(Error::Backend("the sync panicked".to_owned())));
            state = self.state();
            state.syncing = false;
            match outcome {
                Ok(covered) => state.durable = state.durable.max(covered),
                Err(err) => state.failed = Some(err.to_string()),
            }
            self.synced.notify_all();
        }
    }

    /// An empty durable commit: persists every commit before it. Returns
    /// the count of commits it covered.
    fn sync(&self) -> Result<u64> {
        let txn = self.db.begin_write().map_err(backend)?;
        // Holding the write lock, no commit is in progress: the count is
        // exactly the commits this sync persists.
        let covered = *self.committed();
        txn.commit().map_err(backend)?;
        self.n_syncs.fetch_add(1, Ordering::Relaxed);
        Ok(covered)
    }

    pub(crate) fn stats(&self) -> CommitStats {
        CommitStats { commits: *self.committed(), syncs: self.n_syncs.load(Ordering::Relaxed) }
    }
}
