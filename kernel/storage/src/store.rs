//! What every transaction of one database shares: redb, the log, the
//! lanes, the view readers start from, and the threads that make commits
//! durable (the syncers) and apply them to redb (the applier).

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;

use keel_types::Limits;
use redb::{Database, ReadableDatabase};

use crate::apply::{self, Queue};
use crate::error::{Error, Result, backend};
use crate::keys::Lane;
use crate::lane::LaneCell;
use crate::overlay::{CATALOG, DOCS, INDEX, LOG, Overlay, SEQUENCES, Snapshot};
use crate::wal::{Commit, Wal, WalConfig};

/// Bytes per log segment.
const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
/// Log streams (and syncers) that may sync at once, at most.
const STREAMS_MAX: usize = 8;

/// What readers see of the commits redb does not hold yet: each lane's
/// durable overlay.
#[derive(Clone, Default)]
pub(crate) struct View {
    pub(crate) lanes: imbl::HashMap<Lane, LaneView>,
}

/// One lane in a [`View`].
#[derive(Clone, Default)]
pub(crate) struct LaneView {
    /// The lane's tip as of its last durable commit.
    pub(crate) overlay: Overlay,
    /// That commit's position.
    pub(crate) durable: u64,
    /// The lane's last commit redb holds.
    pub(crate) applied: u64,
}

impl View {
    /// The overlay readers of `lane` consult, if any.
    pub(crate) fn overlay(&self, lane: &Lane) -> Option<&Overlay> {
        self.lanes.get(lane).map(|v| &v.overlay).filter(|o| !o.is_empty())
    }
}

/// The state the transactions, the syncers and the applier share.
pub(crate) struct Core {
    pub(crate) db: Arc<Db>,
    pub(crate) wal: Wal,
    view: RwLock<Arc<View>>,
    /// Every lane a writer has used since the database opened.
    lanes: RwLock<HashMap<Lane, Arc<LaneCell>>>,
    /// Lanes with commits to write.
    ready: Mutex<Ready>,
    ready_cv: Condvar,
    /// Durable commits for the applier.
    queue: Queue,
    /// Why the store refuses writes, once the log or the applier failed.
    failed: Mutex<Option<String>>,
    commits: AtomicU64,
    syncs: AtomicU64,
    /// Bytes of every lane's commits redb does not hold yet.
    unapplied: AtomicUsize,
    /// Tests only: the applier takes nothing, and closing applies nothing,
    /// as if the process died before redb had the commits.
    #[cfg(test)]
    frozen: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Ready {
    lanes: VecDeque<Arc<LaneCell>>,
    stop: bool,
}

impl Core {
    /// Tests only: see `frozen`.
    #[cfg(test)]
    pub(crate) fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Whether redb must receive nothing more (tests only).
    pub(crate) fn frozen(&self) -> bool {
        #[cfg(test)]
        return self.frozen.load(Ordering::SeqCst);
        #[cfg(not(test))]
        false
    }

    /// Why writes are refused, if they are.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Fails if writes are refused.
    pub(crate) fn check(&self) -> Result<()> {
        match self.failure() {
            Some(why) => Err(Error::Backend(format!(
                "cannot make writes durable ({why}); restart the kernel"
            ))),
            None => Ok(()),
        }
    }

    /// Refuses writes from now on: what was not durable is lost, and only
    /// a restart (which replays the log) can tell what is.
    pub(crate) fn fail(&self, why: String) {
        {
            let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            if failed.is_none() {
                *failed = Some(why);
            }
        }
        let Err(err) = self.check() else { return };
        let lanes: Vec<Arc<LaneCell>> =
            self.lanes.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for cell in lanes {
            cell.fail(&err);
        }
    }

    /// The lane's writers and commits.
    pub(crate) fn lane(&self, lane: &Lane) -> Result<Arc<LaneCell>> {
        if let Some(cell) = self.lanes.read().unwrap_or_else(|p| p.into_inner()).get(lane) {
            return Ok(Arc::clone(cell));
        }
        let mut lanes = self.lanes.write().unwrap_or_else(|p| p.into_inner());
        if let Some(cell) = lanes.get(lane) {
            return Ok(Arc::clone(cell));
        }
        let applied = apply::applied_of(&self.db, lane)?;
        let cell = Arc::new(LaneCell::new(lane.clone(), applied));
        lanes.insert(lane.clone(), Arc::clone(&cell));
        Ok(cell)
    }

    fn lanes(&self) -> Vec<Arc<LaneCell>> {
        self.lanes.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// What a reader starts from: the view and a redb snapshot taken
    /// together, so that the snapshot holds everything the view's overlays
    /// no longer do, and nothing newer than they hold.
    pub(crate) fn capture(&self) -> Result<(Arc<View>, Snapshot)> {
        let view = self.view.read().unwrap_or_else(|p| p.into_inner());
        let snapshot = self.db.begin_read().map_err(backend)?;
        Ok((Arc::clone(&view), Snapshot::new(snapshot)))
    }

    /// Asks a syncer to write the lane's queued commits.
    pub(crate) fn schedule(&self, cell: Arc<LaneCell>) {
        self.ready().lanes.push_back(cell);
        self.ready_cv.notify_one();
    }

    fn ready(&self) -> MutexGuard<'_, Ready> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a group of commits to the log and syncs it; a failure
    /// refuses every later write.
    pub(crate) fn write_log(&self, group: &[Arc<Commit>]) -> Result<()> {
        self.check()?;
        match self.wal.write(group) {
            Ok(()) => {
                // How many commits each sync carries: group commit at work.
                metrics::histogram!("keel_storage_commit_batch_commits").record(group.len() as f64);
                self.commits.fetch_add(group.len() as u64, Ordering::Relaxed);
                self.syncs.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(err) => {
                tracing::error!(error = %err, "writing the log failed; refusing writes");
                self.fail(err.to_string());
                Err(err)
            }
        }
    }

    /// Shows readers each lane as of its tip at its durable commit, all
    /// at once: a reader sees a commit of several lanes whole or not at all.
    pub(crate) fn publish(&self, tips: impl IntoIterator<Item = (Lane, Overlay, u64)>) {
        let mut view = self.view.write().unwrap_or_else(|p| p.into_inner());
        let mut next = View::clone(&view);
        for (lane, tip, durable) in tips {
            let mut entry = next.lanes.get(&lane).cloned().unwrap_or_default();
            entry.overlay = tip;
            entry.durable = durable;
            next.lanes.insert(lane, entry);
        }
        *view = Arc::new(next);
    }

    /// Bytes of every lane's commits that redb does not hold yet.
    pub(crate) fn unapplied_bytes(&self) -> usize {
        self.unapplied.load(Ordering::Relaxed)
    }

    /// Counts `bytes` committed that redb does not hold yet.
    pub(crate) fn unapplied_later(&self, bytes: usize) {
        self.unapplied.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Redb now holds `bytes` more of the commits counted.
    pub(crate) fn unapplied_done(&self, bytes: usize) {
        self.unapplied.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Hands durable commits to the applier.
    pub(crate) fn apply(&self, group: Vec<Arc<Commit>>) {
        self.queue.push(group);
    }

    /// The applier's queue.
    pub(crate) fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Redb now holds these lanes' commits up to these positions.
    pub(crate) fn applied(&self, moved: &[(Lane, u64)]) {
        {
            let mut view = self.view.write().unwrap_or_else(|p| p.into_inner());
            let mut next = View::clone(&view);
            for (lane, seq) in moved {
                let mut entry = next.lanes.get(lane).cloned().unwrap_or_default();
                entry.applied = entry.applied.max(*seq);
                if entry.applied >= entry.durable {
                    // Redb holds all the overlay has.
                    entry.overlay = Overlay::new();
                }
                next.lanes.insert(lane.clone(), entry);
            }
            *view = Arc::new(next);
        }
        let lanes = self.lanes.read().unwrap_or_else(|p| p.into_inner());
        for (lane, seq) in moved {
            if let Some(cell) = lanes.get(lane) {
                cell.applied(self, *seq);
            }
        }
    }

    /// A syncer's loop: writes the queued commits of each ready lane, until
    /// stopped with none ready.
    fn sync(&self) {
        loop {
            let cell = {
                let mut ready = self.ready();
                loop {
                    if let Some(cell) = ready.lanes.pop_front() {
                        break cell;
                    }
                    if ready.stop {
                        return;
                    }
                    ready = self.ready_cv.wait(ready).unwrap_or_else(|p| p.into_inner());
                }
            };
            if cell.write_queued(self) {
                self.schedule(cell);
            }
        }
    }
}

/// The database, shared by [`crate::Storage`] and its transactions.
pub(crate) struct Shared {
    pub(crate) core: Arc<Core>,
    threads: Mutex<Threads>,
    order: AtomicU64,
    pub(crate) limits: Limits,
}

#[derive(Default)]
struct Threads {
    syncers: Vec<JoinHandle<()>>,
    applier: Option<JoinHandle<()>>,
}

impl Shared {
    /// Opens redb at `path` and the log beside it (`keel.redb` logs to
    /// `keel.wal/`), replaying what the log holds beyond redb's last
    /// checkpoint.
    pub(crate) fn open(path: &Path, limits: Limits) -> Result<Self> {
        let db = Database::create(path).map_err(|err| match err {
            redb::DatabaseError::DatabaseAlreadyOpen => Error::Backend(format!(
                "{} is already open, probably by another keel process using the same data directory",
                path.display()
            )),
            other => Error::Backend(format!("cannot open {}: {other}", path.display())),
        })?;
        // Create every table up front so read snapshots never meet a missing one.
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(DOCS).map_err(backend)?;
        txn.open_table(INDEX).map_err(backend)?;
        txn.open_table(SEQUENCES).map_err(backend)?;
        txn.open_table(CATALOG).map_err(backend)?;
        txn.open_table(LOG).map_err(backend)?;
        txn.open_table(apply::META).map_err(backend)?;
        txn.commit().map_err(backend)?;

        let dir = path.with_extension("wal");
        let recovered = apply::recover(&db, &dir)?;
        let streams =
            std::thread::available_parallelism().map_or(2, usize::from).clamp(2, STREAMS_MAX);
        let config = WalConfig { dir, segment_bytes: SEGMENT_BYTES, streams };
        let wal = Wal::open(config, recovered.last_segment)?;
        wal.adopt_spares(recovered.spares);
        let core = Arc::new(Core {
            db: Arc::new(Db { database: Some(db), closed: Arc::default() }),
            wal,
            view: RwLock::default(),
            lanes: RwLock::default(),
            ready: Mutex::default(),
            ready_cv: Condvar::new(),
            queue: Queue::default(),
            failed: Mutex::default(),
            commits: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            unapplied: AtomicUsize::new(0),
            #[cfg(test)]
            frozen: std::sync::atomic::AtomicBool::new(false),
        });
        let shared = Self {
            core: Arc::clone(&core),
            threads: Mutex::default(),
            order: AtomicU64::new(recovered.order + 1),
            limits,
        };
        let spawn = |name: String, work: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name)
                .spawn(work)
                .map_err(|source| Error::Io { what: "start a storage thread".into(), source })
        };
        let mut threads = Threads::default();
        for n in 0..streams {
            let core = Arc::clone(&core);
            threads.syncers.push(spawn(format!("keel-sync-{n}"), Box::new(move || core.sync()))?);
        }
        threads.applier =
            Some(spawn("keel-applier".to_owned(), Box::new(move || apply::run(&core)))?);
        *shared.threads.lock().unwrap_or_else(|p| p.into_inner()) = threads;
        Ok(shared)
    }

    /// Fails if writes are refused.
    pub(crate) fn check(&self) -> Result<()> {
        self.core.check()
    }

    /// The lane's writers and commits.
    pub(crate) fn lane(&self, lane: &Lane) -> Result<Arc<LaneCell>> {
        self.core.lane(lane)
    }

    /// See [`Core::capture`].
    pub(crate) fn capture(&self) -> Result<(Arc<View>, Snapshot)> {
        self.core.capture()
    }

    /// The next commit order.
    pub(crate) fn next_order(&self) -> u64 {
        self.order.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn stats(&self) -> crate::CommitStats {
        crate::CommitStats {
            commits: self.core.commits.load(Ordering::Relaxed),
            syncs: self.core.syncs.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Shared {
    /// Makes what every lane committed durable, stops the syncers, lets
    /// the applier apply it all and checkpoint, and waits for it.
    fn drop(&mut self) {
        for cell in self.core.lanes().into_iter().filter(|_| !self.core.frozen()) {
            if let Err(err) = cell.flush(&self.core) {
                tracing::error!(lane = %cell.lane, error = %err, "commits could not be made durable at close");
            }
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        self.core.ready().stop = true;
        self.core.ready_cv.notify_all();
        for syncer in threads.syncers {
            if syncer.join().is_err() {
                tracing::error!("a syncer thread panicked");
            }
        }
        self.core.queue.stop();
        if let Some(applier) = threads.applier
            && applier.join().is_err()
        {
            tracing::error!("the applier thread panicked");
        }
    }
}

/// The redb database, which says when its file is closed: once it is
/// dropped whole (its last commit synced and its lock on the file let go),
/// not as soon as the last handle lets go of it, while it is still being
/// dropped.
pub(crate) struct Db {
    /// Always some, but while it is dropped.
    database: Option<Database>,
    closed: Arc<std::sync::atomic::AtomicBool>,
}

impl Db {
    /// A flag that turns true once the file is closed.
    pub(crate) fn closed(&self) -> Arc<std::sync::atomic::AtomicBool> {
        Arc::clone(&self.closed)
    }
}

impl std::ops::Deref for Db {
    type Target = Database;

    fn deref(&self) -> &Database {
        match &self.database {
            Some(database) => database,
            None => unreachable!("the database is taken only as it is dropped"),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        drop(self.database.take());
        self.closed.store(true, std::sync::atomic::Ordering::Release);
    }
}
