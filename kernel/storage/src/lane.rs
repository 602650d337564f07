//! A lane: one writer at a time over a partition of the keys, and its own
//! stream of durable commits.
//!
//! Writers of one lane take turns ([`LaneCell::acquire`], first come first
//! served). A turn works on a copy of the lane's *tip*, the overlay of every
//! commit of the lane that redb does not hold yet, durable or not, so it
//! reads what the turns before it wrote. Ending a turn with changes makes
//! them the new tip and queues the commit ([`LaneCell::commit`]); the turn
//! passes on at once, before the commit is durable, and the lane asks the
//! syncers (`store.rs`) for a log write. A syncer writes every queued
//! commit of the lane as one log record and syncs it
//! ([`LaneCell::write_queued`]), publishes the tip as of that record to
//! readers, hands the commits to the applier, and tells whoever waits. So a
//! lane's commits share syncs with each other (group commit) and never
//! with another lane's, and one lane has one record in flight at a time.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::keys::Lane;
use crate::overlay::Overlay;
use crate::store::Core;
use crate::wal::Commit;

/// How often a writer waiting for its turn checks whether its caller gave
/// up; and how often waiting for durability checks anyway, should a wake-up
/// go astray.
const GIVE_UP_POLL: Duration = Duration::from_millis(50);

/// The most bytes of a lane's commits that redb may lag behind by: a lane
/// that writes faster than the applier keeps up waits at its next turn.
const UNAPPLIED_BYTES_MAX: usize = 256 * 1024 * 1024;
/// The most bytes of every lane's commits together that redb may lag
/// behind by before the lanes lagging most wait too: many lanes, each
/// within its own bound, must not hold memory without bound together.
pub(crate) const UNAPPLIED_TOTAL_BYTES_MAX: usize = 1024 * 1024 * 1024;
/// A lane lagging by less than this goes on past the total bound: a
/// tenant that writes little is not held up by those that write much,
/// until the total reaches twice the bound.
const UNAPPLIED_SHARE_BYTES: usize = 32 * 1024 * 1024;

/// Told once a commit is durable, or that it never will be.
pub(crate) type Then = Box<dyn FnOnce(Result<()>) + Send>;

/// The last entry of each log: `chain` -> (position, bytes).
pub(crate) type Tails = HashMap<String, (u64, Arc<[u8]>)>;

/// One lane's writers and commits.
pub(crate) struct LaneCell {
    pub(crate) lane: Lane,
    state: Mutex<LaneState>,
    /// Durability moved on, or the store failed.
    settled: Condvar,
    /// Redb caught up with the lane: for a turn waiting while it lags.
    caught_up: Condvar,
}

struct LaneState {
    /// A writer has the turn.
    held: bool,
    /// Writers waiting for the turn, first first.
    waiting: VecDeque<Arc<Waiter>>,
    /// Every commit of the lane redb may not hold yet, by key; and, until
    /// it is rebuilt, some that redb holds already.
    tip: Overlay,
    /// The last entry of each log the lane appended to: what an append
    /// needs, without searching the log.
    tails: Tails,
    /// The last commit's position (0: none yet).
    last: u64,
    /// Every commit up to this position is durable.
    durable: u64,
    /// Commits waiting to be written to the log.
    queued: Vec<Arc<Commit>>,
    /// The tip as of each queued or in-flight commit, for readers once durable.
    versions: VecDeque<(u64, Overlay)>,
    /// The lane is waiting for a syncer, or one is writing its commits.
    scheduled: bool,
    /// A group of its commits is being written.
    writing: bool,
    /// Who to tell when a position is durable.
    then: Vec<(u64, Then)>,
    /// The number of keys and bytes of each commit redb may not hold yet,
    /// oldest first.
    unapplied: VecDeque<(u64, usize, usize)>,
    unapplied_keys: usize,
    unapplied_bytes: usize,
    /// Redb holds every commit up to this position.
    applied: u64,
    /// What every commit of the lane since the cell was made changed the
    /// bytes it stores by, added up (`usage.rs`).
    net_change: i64,
    /// The bytes the lane stored when `net_change` was the second number,
    /// once measured: it stores the first plus what changed since.
    measured: Option<(u64, i64)>,
}

impl LaneState {
    fn stored(&self) -> Option<u64> {
        let (bytes, at) = self.measured?;
        Some(bytes.saturating_add_signed(self.net_change.saturating_sub(at)))
    }
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
    /// The logs' last entries.
    pub(crate) tails: Tails,
    /// The position its commit will have.
    pub(crate) seq: u64,
    /// The bytes the lane stores, if measured.
    pub(crate) stored: Option<u64>,
}

impl LaneCell {
    /// A lane whose commits up to `applied` are in redb.
    pub(crate) fn new(lane: Lane, applied: u64) -> Self {
        let state = LaneState {
            held: false,
            waiting: VecDeque::new(),
            tip: Overlay::new(),
            tails: Tails::new(),
            last: applied,
            durable: applied,
            queued: Vec::new(),
            versions: VecDeque::new(),
            scheduled: false,
            writing: false,
            then: Vec::new(),
            unapplied: VecDeque::new(),
            unapplied_keys: 0,
            unapplied_bytes: 0,
            applied,
            net_change: 0,
            measured: None,
        };
        Self { lane, state: Mutex::new(state), settled: Condvar::new(), caught_up: Condvar::new() }
    }

    fn state(&self) -> MutexGuard<'_, LaneState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for the turn, in arrival order. Gives up, holding nothing,
    /// once `give_up` says so or the store fails.
    pub(crate) fn acquire(&self, shared: &Core, give_up: &dyn Fn() -> bool) -> Result<()> {
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
            let stop = match shared.check() {
                Err(err) => Some(err),
                Ok(()) => give_up().then_some(Error::GaveUp),
            };
            if let Some(err) = stop {
                let mut state = self.state();
                if waiter.granted.load(Ordering::Acquire) {
                    // Granted meanwhile: pass it on.
                    self.pass_on(&mut state);
                } else {
                    state.waiting.retain(|w| !Arc::ptr_eq(w, &waiter));
                }
                return Err(err);
            }
        }
    }

    /// Ends a turn: the next waiter has it.
    /// How many writers wait for the turn, for tests to wait until they
    /// have queued.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.state().waiting.len()
    }

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
    /// lags too far behind the lane, or behind every lane together and
    /// this one has more than its share of it.
    pub(crate) fn begin(&self, shared: &Core) -> Result<Start> {
        let mut state = self.state();
        while lags(state.unapplied_bytes, shared.unapplied_bytes()) {
            shared.check()?;
            state = self
                .caught_up
                .wait_timeout(state, GIVE_UP_POLL)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        state.prune();
        Ok(Start {
            working: state.tip.clone(),
            tails: state.tails.clone(),
            seq: state.last + 1,
            stored: state.stored(),
        })
    }

    /// The bytes the lane stores as of its last commit, if measured: what
    /// readers see once that commit is durable, moments later.
    pub(crate) fn stored(&self) -> Option<u64> {
        self.state().stored()
    }

    /// Keeps the bytes the lane stores as a turn holding it measured them
    /// from where it began: no commit moved since.
    pub(crate) fn set_stored(&self, stored: u64) {
        let mut state = self.state();
        state.measured = Some((stored, state.net_change));
    }

    /// The sum of what the lane's commits changed its stored bytes by.
    pub(crate) fn net_change(&self) -> i64 {
        self.state().net_change
    }

    /// Keeps what a walk measured of the lane as its commits up to the
    /// `at` sum of changes left it.
    pub(crate) fn set_measured(&self, stored: u64, at: i64) {
        self.state().measured = Some((stored, at));
    }

    /// Adds what the commit of the turn that holds the lane changes its
    /// stored bytes by: before the turn passes on.
    pub(crate) fn add_change(&self, change: i64) {
        let mut state = self.state();
        state.net_change = state.net_change.saturating_add(change);
    }

    /// The last commit's position: what a turn read, if it read the tip.
    pub(crate) fn last(&self) -> u64 {
        self.state().last
    }

    /// Ends the turn keeping its changes: `working` becomes the tip and
    /// `commit` (at position `seq`, which [`LaneCell::begin`] gave) waits
    /// for a syncer. The turn passes on.
    pub(crate) fn commit(
        self: &Arc<Self>,
        shared: &Core,
        seq: u64,
        working: Overlay,
        tails: Tails,
        commit: Arc<Commit>,
    ) {
        let (keys, bytes) = (commit.writes.len(), commit.bytes());
        let mut state = self.state();
        debug_assert_eq!(seq, state.last + 1, "a lane's commits are numbered in turn");
        state.last = seq;
        state.versions.push_back((seq, working.clone()));
        state.tip = working;
        state.tails = tails;
        state.queued.push(commit);
        state.unapplied_later(shared, seq, keys, bytes);
        let schedule = !state.scheduled;
        state.scheduled = true;
        self.pass_on(&mut state);
        drop(state);
        if schedule {
            shared.schedule(Arc::clone(self));
        }
    }

    /// A syncer's work (or a writer's with nothing else to do): writes
    /// every queued commit as one log record and syncs it, shows readers
    /// the tip as of it, hands the commits to the applier, and tells
    /// whoever waits. Returns whether more commits queued meanwhile (the
    /// lane then stays scheduled, and the caller schedules it again).
    pub(crate) fn write_queued(&self, shared: &Core) -> bool {
        let group = {
            let mut state = self.state();
            if state.writing {
                // Whoever writes schedules the lane again if need be.
                return false;
            }
            if state.queued.is_empty() {
                state.scheduled = false;
                return false;
            }
            state.writing = true;
            std::mem::take(&mut state.queued)
        };
        if let Err(err) = shared.write_log(&group) {
            self.state().writing = false;
            self.fail(&err);
            return false;
        }
        let last = group.last().map_or(0, |commit| self.position(commit));
        let published = {
            let mut state = self.state();
            let mut published = None;
            while state.versions.front().is_some_and(|(s, _)| *s <= last) {
                published = state.versions.pop_front().map(|(_, tip)| tip);
            }
            published
        };
        // Readers first, then the applier: redb never holds what readers
        // are not shown.
        if let Some(tip) = published {
            shared.publish([(self.lane.clone(), tip, last)]);
        }
        shared.apply(group);
        let (told, more) = {
            let mut state = self.state();
            state.durable = state.durable.max(last);
            let durable = state.durable;
            let (told, waiting) = std::mem::take(&mut state.then)
                .into_iter()
                .partition::<Vec<_>, _>(|(seq, _)| *seq <= durable);
            state.then = waiting;
            state.writing = false;
            state.scheduled = !state.queued.is_empty();
            self.settled.notify_all();
            (told, state.scheduled)
        };
        for (_, then) in told {
            then(Ok(()));
        }
        more
    }

    /// Returns once every commit of the lane up to `seq` is durable.
    pub(crate) fn await_durable(&self, shared: &Core, seq: u64) -> Result<()> {
        let mut state = self.state();
        loop {
            shared.check()?;
            if state.durable >= seq {
                return Ok(());
            }
            state = self
                .settled
                .wait_timeout(state, GIVE_UP_POLL)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Calls `then` once every commit up to `seq` is durable (at once if
    /// they are), or with the error if they never will be.
    pub(crate) fn then_durable(&self, shared: &Core, seq: u64, then: Then) {
        let mut state = self.state();
        if let Err(err) = shared.check() {
            drop(state);
            return then(Err(err));
        }
        if state.durable >= seq {
            drop(state);
            return then(Ok(()));
        }
        state.then.push((seq, then));
    }

    /// Makes every commit of the lane durable; for a turn that commits
    /// together with other lanes, which holds this one.
    pub(crate) fn flush(&self, shared: &Core) -> Result<()> {
        let last = self.last();
        self.await_durable(shared, last)
    }

    /// Counts the `keys` and `bytes` a turn holding the lane commits at
    /// `seq` with other lanes: before the applier may have them.
    pub(crate) fn unapplied_later(&self, shared: &Core, seq: u64, keys: usize, bytes: usize) {
        self.state().unapplied_later(shared, seq, keys, bytes);
    }

    /// Ends a turn whose commit (at `seq`, with other lanes, counted with
    /// [`LaneCell::unapplied_later`]) is durable already: `working` becomes
    /// the tip, and the turn passes on.
    pub(crate) fn commit_durable(&self, seq: u64, working: Overlay, tails: Tails) {
        let mut state = self.state();
        state.last = seq;
        state.durable = seq;
        state.tip = working;
        state.tails = tails;
        self.pass_on(&mut state);
        self.settled.notify_all();
    }

    /// Redb now holds every commit up to `seq`: they stop counting against
    /// the lag, and the next turn may leave them out of the tip (an idle
    /// lane's tip goes at once, with the memory it holds).
    pub(crate) fn applied(&self, shared: &Core, seq: u64) {
        let mut state = self.state();
        state.applied = state.applied.max(seq);
        let mut freed = 0;
        while state.unapplied.front().is_some_and(|(s, _, _)| *s <= seq) {
            let Some((_, keys, bytes)) = state.unapplied.pop_front() else { break };
            state.unapplied_keys -= keys;
            state.unapplied_bytes -= bytes;
            freed += bytes;
        }
        shared.unapplied_done(freed);
        if !state.held && state.applied >= state.last && !state.tip.is_empty() {
            state.tip = Overlay::new();
        }
        if !lags(state.unapplied_bytes, shared.unapplied_bytes()) {
            self.caught_up.notify_all();
        }
    }

    /// The store failed: whoever waits is told.
    pub(crate) fn fail(&self, err: &Error) {
        let told = {
            let mut state = self.state();
            state.scheduled = false;
            self.settled.notify_all();
            self.caught_up.notify_all();
            std::mem::take(&mut state.then)
        };
        for (_, then) in told {
            then(Err(Error::Backend(err.to_string())));
        }
    }

    /// A commit's position in this lane.
    fn position(&self, commit: &Commit) -> u64 {
        commit.lanes.iter().find(|(lane, _)| *lane == self.lane).map_or(0, |(_, seq)| *seq)
    }
}

impl LaneState {
    /// Counts a commit redb does not hold yet.
    fn unapplied_later(&mut self, shared: &Core, seq: u64, keys: usize, bytes: usize) {
        self.unapplied.push_back((seq, keys, bytes));
        self.unapplied_keys += keys;
        self.unapplied_bytes += bytes;
        shared.unapplied_later(bytes);
    }

    /// Rebuilds the tip without what redb holds, once that is most of it:
    /// one pass over the tip, instead of a removal (which copies the nodes
    /// readers share) for every key applied. Only before a turn copies the
    /// tip, which then captures a redb snapshot holding everything left out.
    fn prune(&mut self) {
        if self.tip.len() <= 2 * self.unapplied_keys + 64 {
            return;
        }
        let applied = self.applied;
        self.tip = self
            .tip
            .iter()
            .filter(|(_, version)| version.seq > applied)
            .map(|(key, version)| (key.clone(), version.clone()))
            .collect();
    }
}

/// Whether a lane redb lags behind by `lane` bytes, while it lags behind
/// every lane together by `total`, waits before its next turn.
fn lags(lane: usize, total: usize) -> bool {
    lane > UNAPPLIED_BYTES_MAX
        || (total > UNAPPLIED_TOTAL_BYTES_MAX && lane > UNAPPLIED_SHARE_BYTES)
        || (total > 2 * UNAPPLIED_TOTAL_BYTES_MAX && lane > 0)
}
