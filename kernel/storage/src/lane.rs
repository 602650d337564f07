//! A lane: one writer at a time over a partition of the keys, and its own
//! stream of durable commits.
//!
//! Writers of one lane take turns ([`LaneCell::acquire`], first come first
//! served). A turn works on a copy of the lane's *tip*, the overlay of every
//! commit of the lane that redb does not hold yet, durable or not, so it
//! reads what the turns before it wrote. Ending a turn with changes makes
//! them the new tip and queues the commit ([`LaneCell::commit`]); the turn
//! passes on at once, before the commit is durable. Whoever then waits for
//! durability ([`LaneCell::await_durable`]) leads if nobody is: it writes
//! every queued commit of the lane as one log record, syncs it, publishes
//! the tip as of that record to readers, and hands the commits to the
//! applier. So a lane's commits share syncs with each other (group commit)
//! and never with another lane's.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::keys::Lane;
use crate::overlay::{Key, Overlay};
use crate::store::Shared;
use crate::wal::Commit;

/// How often a writer waiting for its turn checks whether its caller gave up.
const GIVE_UP_POLL: Duration = Duration::from_millis(5);

/// The most bytes of a lane's commits that redb may lag behind by: a lane
/// that writes faster than the applier keeps up waits at its next turn.
const UNAPPLIED_BYTES_MAX: usize = 256 * 1024 * 1024;

/// One lane's writers and commits.
pub(crate) struct LaneCell {
    pub(crate) lane: Lane,
    state: Mutex<LaneState>,
    /// Durability moved on, a commit was applied, or the store failed.
    settled: Condvar,
}

struct LaneState {
    /// A writer has the turn.
    held: bool,
    /// Writers waiting for the turn, first first.
    waiting: VecDeque<Arc<Waiter>>,
    /// Every commit of the lane redb may not hold yet, by key.
    tip: Overlay,
    /// The last commit's position (0: none yet).
    last: u64,
    /// Every commit up to this position is durable.
    durable: u64,
    /// Commits waiting to be written to the log.
    queued: Vec<Arc<Commit>>,
    /// The tip as of each queued or in-flight commit, for readers once durable.
    versions: VecDeque<(u64, Overlay)>,
    /// A leader is writing queued commits.
    writing: bool,
    /// The keys and bytes of commits redb may not hold yet, oldest first.
    unapplied: VecDeque<(u64, Vec<Key>, usize)>,
    unapplied_bytes: usize,
}

/// A writer waiting for its turn.
struct Waiter {
    thread: Thread,
    granted: AtomicBool,
}

/// What a turn starts from.
pub(crate) struct Start {
    /// The tip, to read and write.
    pub(crate) working: Overlay,
    /// The position its commit will have.
    pub(crate) seq: u64,
}

impl LaneCell {
    /// A lane whose commits up to `applied` are in redb.
    pub(crate) fn new(lane: Lane, applied: u64) -> Self {
        let state = LaneState {
            held: false,
            waiting: VecDeque::new(),
            tip: Overlay::new(),
            last: applied,
            durable: applied,
            queued: Vec::new(),
            versions: VecDeque::new(),
            writing: false,
            unapplied: VecDeque::new(),
            unapplied_bytes: 0,
        };
        Self { lane, state: Mutex::new(state), settled: Condvar::new() }
    }

    fn state(&self) -> MutexGuard<'_, LaneState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for the turn, in arrival order. Gives up, holding nothing,
    /// once `give_up` says so.
    pub(crate) fn acquire(&self, give_up: &dyn Fn() -> bool) -> Result<()> {
        let waiter = {
            let mut state = self.state();
            if !state.held && state.waiting.is_empty() {
                state.held = true;
                return Ok(());
            }
            let waiter = Arc::new(Waiter {
                thread: std::thread::current(),
                granted: AtomicBool::new(false),
            });
            state.waiting.push_back(Arc::clone(&waiter));
            waiter
        };
        loop {
            std::thread::park_timeout(GIVE_UP_POLL);
            if waiter.granted.load(Ordering::Acquire) {
                return Ok(());
            }
            if give_up() {
                let mut state = self.state();
                if waiter.granted.load(Ordering::Acquire) {
                    // Granted meanwhile: pass it on.
                    self.pass_on(&mut state);
                } else {
                    state.waiting.retain(|w| !Arc::ptr_eq(w, &waiter));
                }
                return Err(Error::GaveUp);
            }
        }
    }

    /// Ends a turn: the next waiter has it.
    pub(crate) fn release(&self) {
        let mut state = self.state();
        self.pass_on(&mut state);
    }

    fn pass_on(&self, state: &mut LaneState) {
        match state.waiting.pop_front() {
            Some(next) => {
                next.granted.store(true, Ordering::Release);
                next.thread.unpark();
            }
            None => state.held = false,
        }
    }

    /// What a turn that holds the lane starts from. Waits first while redb
    /// lags too far behind the lane.
    pub(crate) fn begin(&self, shared: &Shared) -> Result<Start> {
        let mut state = self.state();
        while state.unapplied_bytes > UNAPPLIED_BYTES_MAX {
            shared.check()?;
            state = self
                .settled
                .wait_timeout(state, GIVE_UP_POLL)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        Ok(Start { working: state.tip.clone(), seq: state.last + 1 })
    }

    /// The last commit's position: what a turn read, if it read the tip.
    pub(crate) fn last(&self) -> u64 {
        self.state().last
    }

    /// Ends the turn keeping its changes: `working` becomes the tip and
    /// `commit` (at position `seq`, which [`LaneCell::begin`] gave) waits
    /// to be written. The turn passes on.
    pub(crate) fn commit(&self, seq: u64, working: Overlay, commit: Arc<Commit>, keys: Vec<Key>) {
        let bytes = commit.bytes();
        let mut state = self.state();
        debug_assert_eq!(seq, state.last + 1, "a lane's commits are numbered in turn");
        state.last = seq;
        state.versions.push_back((seq, working.clone()));
        state.tip = working;
        state.queued.push(commit);
        state.unapplied.push_back((seq, keys, bytes));
        state.unapplied_bytes += bytes;
        self.pass_on(&mut state);
    }

    /// Returns once every commit of the lane up to `seq` is durable,
    /// leading the write of the queued ones if nobody is.
    pub(crate) fn await_durable(&self, shared: &Shared, seq: u64) -> Result<()> {
        let mut state = self.state();
        loop {
            shared.check()?;
            if state.durable >= seq {
                return Ok(());
            }
            if state.writing || state.queued.is_empty() {
                state = self
                    .settled
                    .wait_timeout(state, GIVE_UP_POLL)
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .0;
                continue;
            }
            // Lead: one record for every queued commit. Until the group is
            // published and handed to the applier nobody else leads, so
            // the applier receives the lane's commits in order.
            state.writing = true;
            let group = std::mem::take(&mut state.queued);
            drop(state);
            let written = shared.write_log(&group);
            state = self.state();
            if let Err(err) = written {
                state.writing = false;
                self.settled.notify_all();
                return Err(err);
            }
            let last = group.last().map_or(state.durable, |c| self.position(c));
            let mut published = None;
            while state.versions.front().is_some_and(|(s, _)| *s <= last) {
                published = state.versions.pop_front().map(|(_, tip)| tip);
            }
            drop(state);
            if let Some(tip) = published {
                shared.publish(&self.lane, tip, last);
            }
            shared.apply(group);
            state = self.state();
            state.writing = false;
            state.durable = state.durable.max(last);
            self.settled.notify_all();
        }
    }

    /// Makes every commit of the lane durable; for a turn that commits
    /// together with other lanes, which holds this one.
    pub(crate) fn flush(&self, shared: &Shared) -> Result<()> {
        let last = self.last();
        self.await_durable(shared, last)
    }

    /// Ends a turn whose commit (at `seq`, with other lanes) is durable
    /// already: `working` becomes the tip, and the turn passes on.
    pub(crate) fn commit_durable(&self, seq: u64, working: Overlay, keys: Vec<Key>, bytes: usize) {
        let mut state = self.state();
        state.last = seq;
        state.durable = seq;
        state.tip = working;
        state.unapplied.push_back((seq, keys, bytes));
        state.unapplied_bytes += bytes;
        self.pass_on(&mut state);
        self.settled.notify_all();
    }

    /// Redb now holds every commit up to `seq`: they leave the tip (unless
    /// a later commit wrote the same key) and stop counting against the lag.
    pub(crate) fn applied(&self, seq: u64) {
        let mut state = self.state();
        while state.unapplied.front().is_some_and(|(s, _, _)| *s <= seq) {
            let Some((_, keys, bytes)) = state.unapplied.pop_front() else { break };
            state.unapplied_bytes -= bytes;
            for key in keys {
                if state.tip.get(&key).is_some_and(|version| version.seq <= seq) {
                    state.tip.remove(&key);
                }
            }
        }
        self.settled.notify_all();
    }

    /// Wakes everyone waiting: the store failed.
    pub(crate) fn wake_all(&self) {
        let _state = self.state();
        self.settled.notify_all();
    }

    /// A commit's position in this lane.
    fn position(&self, commit: &Commit) -> u64 {
        commit.lanes.iter().find(|(lane, _)| *lane == self.lane).map_or(0, |(_, seq)| *seq)
    }
}
