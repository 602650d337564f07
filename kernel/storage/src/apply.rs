//! The applier: copies durable commits into redb, and checkpoints.
//!
//! One thread takes the commits the lanes made durable, in the order they
//! were, and writes them into redb in batches with `Durability::None`: no
//! sync, as the log has them already. Every second (or after 64 MiB of log)
//! a batch commits with `Durability::Immediate`, a checkpoint, recording in
//! the `meta` table each lane's last applied position; the log segments it
//! covers are then recycled. Nobody waits for the applier: readers see
//! durable commits through the overlays until redb holds them.
//!
//! On open, [`recover`] applies what the log holds beyond the last
//! checkpoint (a crash loses redb's non-durable commits, never the log's).

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::{Error, Result, backend};
use crate::keys::{Lane, Table};
use crate::overlay::{CATALOG, DOCS, INDEX, LOG, SEQUENCES};
use crate::store::Core;
use crate::wal::{self, Commit};

/// Applied positions: `lane/<name>` -> the lane's last commit in redb, and
/// `order` -> the last commit order applied.
pub(crate) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// How often redb is made durable while commits arrive.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// The least time between two batches: nobody waits for the applier, so
/// it lets commits gather and pays redb's commit once for all of them.
const APPLY_EVERY: Duration = Duration::from_millis(25);
/// Log bytes after which a checkpoint comes early.
const CHECKPOINT_BYTES: u64 = 64 * 1024 * 1024;

/// The commits waiting for the applier.
#[derive(Default)]
pub(crate) struct Queue {
    state: Mutex<QueueState>,
    wake: Condvar,
}

#[derive(Default)]
struct QueueState {
    commits: VecDeque<Arc<Commit>>,
    stop: bool,
}

impl Queue {
    fn state(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands durable commits over, in order.
    pub(crate) fn push(&self, commits: impl IntoIterator<Item = Arc<Commit>>) {
        self.state().commits.extend(commits);
        self.wake.notify_one();
    }

    /// Asks the applier to apply what is queued, checkpoint and stop.
    pub(crate) fn stop(&self) {
        self.state().stop = true;
        self.wake.notify_one();
    }

    /// Waits for commits, a stop, or `timeout`, then until `not_before`
    /// (unless stopping); returns the commits and whether to stop.
    fn take(&self, timeout: Duration, not_before: Instant) -> (Vec<Arc<Commit>>, bool) {
        let mut state = self.state();
        if state.commits.is_empty() && !state.stop {
            state = self.wake.wait_timeout(state, timeout).unwrap_or_else(|p| p.into_inner()).0;
        }
        while !state.stop {
            let now = Instant::now();
            if now >= not_before {
                break;
            }
            state = self
                .wake
                .wait_timeout(state, not_before - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        (state.commits.drain(..).collect(), state.stop)
    }
}

/// The applier thread's loop; returns once stopped and checkpointed.
pub(crate) fn run(core: &Core) {
    let queue = core.queue();
    let mut applied: HashMap<Lane, u64> = read_applied(&core.db).unwrap_or_default();
    let mut last_checkpoint = Instant::now();
    let mut last_batch = Instant::now();
    let mut dirty = false;
    loop {
        let (commits, stop) = queue.take(CHECKPOINT_EVERY, last_batch + APPLY_EVERY);
        last_batch = Instant::now();
        if core.frozen() {
            if stop {
                return;
            }
            continue;
        }
        dirty |= !commits.is_empty();
        let due = stop
            || (dirty
                && (last_checkpoint.elapsed() >= CHECKPOINT_EVERY
                    || core.wal.written() >= CHECKPOINT_BYTES));
        if (!commits.is_empty() || due) && core.failure().is_none() {
            let durability = if due { redb::Durability::Immediate } else { redb::Durability::None };
            match write(&core.db, &commits, durability) {
                Ok(moved) => {
                    for (lane, seq) in &moved {
                        applied.insert(lane.clone(), *seq);
                    }
                    core.applied(&moved);
                    if due {
                        core.wal.retire_applied(&applied);
                        last_checkpoint = Instant::now();
                        dirty = false;
                        if let Err(err) = core.wal.prepare_spare() {
                            tracing::warn!(error = %err, "cannot prepare a log segment");
                        }
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "applying durable commits to the database failed; refusing writes");
                    core.fail(format!("applying commits to the database failed: {err}"));
                }
            }
        }
        if stop {
            return;
        }
    }
}

/// Writes `commits` into redb in one transaction with `durability`, and
/// the lanes' new applied positions; returns them.
fn write(
    db: &Database,
    commits: &[Arc<Commit>],
    durability: redb::Durability,
) -> Result<Vec<(Lane, u64)>> {
    let mut txn = db.begin_write().map_err(backend)?;
    txn.set_durability(durability).map_err(backend)?;
    let moved = apply_all(&txn, commits.iter().map(Arc::as_ref))?;
    txn.commit().map_err(backend)?;
    Ok(moved)
}

/// Applies commits in order inside `txn`, and records where each lane is.
/// Only the last write of each key counts, so a batch writes each key once,
/// in key order: documents rewritten by many commits of a batch (running
/// totals) cost one insert.
fn apply_all<'c>(
    txn: &redb::WriteTransaction,
    commits: impl Iterator<Item = &'c Commit>,
) -> Result<Vec<(Lane, u64)>> {
    let mut moved: HashMap<Lane, u64> = HashMap::new();
    let mut order = 0;
    let mut last: std::collections::BTreeMap<&[u8], Option<&[u8]>> =
        std::collections::BTreeMap::new();
    for commit in commits {
        for (key, value) in &commit.writes {
            last.insert(&key.0, value.as_deref());
        }
        for (lane, seq) in &commit.lanes {
            moved.insert(lane.clone(), *seq);
        }
        order = order.max(commit.order);
    }
    let mut docs = txn.open_table(DOCS).map_err(backend)?;
    let mut index = txn.open_table(INDEX).map_err(backend)?;
    let mut sequences = txn.open_table(SEQUENCES).map_err(backend)?;
    let mut catalog = txn.open_table(CATALOG).map_err(backend)?;
    let mut log = txn.open_table(LOG).map_err(backend)?;
    let mut meta = txn.open_table(META).map_err(backend)?;
    for (key, value) in last {
        let (Some(table), Some(body)) = (Table::of(key), key.get(1..)) else {
            return Err(Error::Backend("a commit holds a key without a table".to_owned()));
        };
        match table {
            Table::Docs => match value {
                Some(v) => drop(docs.insert(body, v).map_err(backend)?),
                None => drop(docs.remove(body).map_err(backend)?),
            },
            Table::Log => match value {
                Some(v) => drop(log.insert(body, v).map_err(backend)?),
                None => drop(log.remove(body).map_err(backend)?),
            },
            Table::Index => match value {
                Some(_) => drop(index.insert(body, ()).map_err(backend)?),
                None => drop(index.remove(body).map_err(backend)?),
            },
            Table::Sequences => match value {
                Some(v) => drop(sequences.insert(body, counter(v)?).map_err(backend)?),
                None => drop(sequences.remove(body).map_err(backend)?),
            },
            Table::Catalog => {
                let body = std::str::from_utf8(body)
                    .map_err(|_| Error::Backend("a catalog key is not UTF-8".to_owned()))?;
                match value {
                    Some(v) => drop(catalog.insert(body, v).map_err(backend)?),
                    None => drop(catalog.remove(body).map_err(backend)?),
                }
            }
        }
    }
    for (lane, seq) in &moved {
        meta.insert(lane_key(lane).as_str(), *seq).map_err(backend)?;
    }
    if order > 0 {
        let before = meta.get("order").map_err(backend)?.map_or(0, |v| v.value());
        meta.insert("order", order.max(before)).map_err(backend)?;
    }
    Ok(moved.into_iter().collect())
}

fn counter(value: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| Error::Backend("a sequence value is not 8 bytes".to_owned()))?;
    Ok(u64::from_be_bytes(bytes))
}

fn lane_key(lane: &Lane) -> String {
    format!("lane/{}", lane.name())
}

/// Every lane's last applied position, as redb holds it.
pub(crate) fn read_applied(db: &Database) -> Result<HashMap<Lane, u64>> {
    let txn = db.begin_read().map_err(backend)?;
    let meta = txn.open_table(META).map_err(backend)?;
    let mut applied = HashMap::new();
    for item in meta.range("lane/".."lane0").map_err(backend)? {
        let (key, seq) = item.map_err(backend)?;
        if let Some(lane) = key.value().strip_prefix("lane/").and_then(Lane::parse) {
            applied.insert(lane, seq.value());
        }
    }
    Ok(applied)
}

/// A lane's last applied position (0 if it never committed).
pub(crate) fn applied_of(db: &Database, lane: &Lane) -> Result<u64> {
    let txn = db.begin_read().map_err(backend)?;
    let meta = txn.open_table(META).map_err(backend)?;
    Ok(meta.get(lane_key(lane).as_str()).map_err(backend)?.map_or(0, |v| v.value()))
}

/// What [`recover`] leaves for the log to start from.
pub(crate) struct Recovered {
    /// The last commit order applied.
    pub(crate) order: u64,
    /// The highest segment id the log used.
    pub(crate) last_segment: u64,
    /// Old segment files, applied: spares for new segments.
    pub(crate) spares: Vec<PathBuf>,
}

/// Applies the log's commits beyond redb's checkpoint, durably, then turns
/// every old segment into a spare, so that nothing it held (a commit after
/// a gap included) is read again.
pub(crate) fn recover(db: &Database, dir: &Path) -> Result<Recovered> {
    let found = wal::scan(dir)?;
    let applied = read_applied(db)?;
    let commits = wal::replayable(found.commits, &applied);
    let replayed = commits.len();
    if replayed > 0 {
        let txn = db.begin_write().map_err(backend)?;
        apply_all(&txn, commits.iter())?;
        txn.commit().map_err(backend)?;
        tracing::info!(commits = replayed, "recovered durable commits from the write-ahead log");
    }
    let mut spares = Vec::new();
    for path in found.segments {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("spare-") {
            spares.push(path);
            continue;
        }
        let spare = dir.join(format!("spare-{name}"));
        std::fs::rename(&path, &spare)
            .map_err(|source| Error::Io { what: format!("recycle {}", path.display()), source })?;
        spares.push(spare);
    }
    // A segment renamed onto a spare of its name replaced it.
    spares.sort();
    spares.dedup();
    if !spares.is_empty() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| Error::Io { what: format!("sync {}", dir.display()), source })?;
    }
    let txn = db.begin_read().map_err(backend)?;
    let meta = txn.open_table(META).map_err(backend)?;
    let order = meta.get("order").map_err(backend)?.map_or(0, |v| v.value());
    Ok(Recovered { order, last_segment: found.last_segment, spares })
}
