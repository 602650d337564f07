//! The write-ahead log: what makes a commit durable.
//!
//! A commit is acknowledged once its record is on disk here; redb receives
//! it later (`apply.rs`) and is made durable at checkpoints, after which the
//! log's older segments are recycled. The log is a directory of segment
//! files (`<id>.wal`, zero-filled when created, so that a sync writes data
//! and no file metadata), written through a few *streams*: each stream
//! appends to a segment of its own, one record at a time, and syncs it with
//! `fdatasync`. Lanes (see `lane.rs`) write their groups of commits through
//! whichever stream is free, so one lane's large record never holds up
//! another lane's sync.
//!
//! A record is a header (magic, payload length, segment id, CRC-32 of the
//! rest) and a payload: a group of [`Commit`]s. A torn record fails its
//! check and ends its segment; a record left over from a segment's earlier
//! life names another segment id and is ignored. Every commit names the
//! lanes it belongs to with its position in each, so recovery keeps, per
//! lane, the unbroken run after what redb already holds.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::keys::Lane;
use crate::overlay::Key;

/// "KWAL", little-endian.
const MAGIC: u32 = 0x4C41_574B;
const HEADER_BYTES: usize = 24;
/// Zeros written at a time when a segment is created.
const ZERO_CHUNK: usize = 1 << 20;

/// One writer's changes, as the log and the applier carry them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commit {
    /// Its position among all commits: orders commits of different lanes
    /// consistently with every lane's own order.
    pub(crate) order: u64,
    /// Each lane it changed, with its position in that lane (from 1).
    pub(crate) lanes: Vec<(Lane, u64)>,
    /// Tagged keys and what they now hold (`None`: removed), in key order;
    /// shared with the overlays that hold them until redb does.
    pub(crate) writes: Vec<(Key, Option<Arc<[u8]>>)>,
}

impl Commit {
    /// Bytes of keys and values: what it costs to hold it in memory.
    pub(crate) fn bytes(&self) -> usize {
        self.writes.iter().map(|(k, v)| k.0.len() + v.as_ref().map_or(0, |v| v.len())).sum()
    }
}

/// How the log is laid out on disk.
#[derive(Debug, Clone)]
pub(crate) struct WalConfig {
    /// The directory of segment files.
    pub(crate) dir: PathBuf,
    /// Bytes per segment (a record larger than that gets a segment of its own size).
    pub(crate) segment_bytes: u64,
    /// Streams that may sync at the same time.
    pub(crate) streams: usize,
}

/// A segment a stream appends to.
struct Stream {
    file: File,
    segment: u64,
    offset: u64,
    capacity: u64,
}

/// What the log knows of a segment that is not being written.
#[derive(Debug, Default)]
struct Retired {
    /// The last position of each lane it holds.
    lanes: HashMap<Lane, u64>,
}

/// The log: its streams and segments.
pub(crate) struct Wal {
    config: WalConfig,
    /// Streams not writing now; `None` until a stream first writes.
    idle: Mutex<Vec<Option<Stream>>>,
    freed: Condvar,
    next_segment: AtomicU64,
    /// Spares made by this process, to name them apart.
    spares_made: AtomicU64,
    segments: Mutex<Segments>,
    /// Injected failures, for the fault tests.
    #[cfg(feature = "faults")]
    pub(crate) faults: crate::Faults,
}

#[derive(Default)]
struct Segments {
    /// Segments being written, by id, with the last position of each lane
    /// they hold so far.
    open: HashMap<u64, HashMap<Lane, u64>>,
    /// Full segments, by id.
    retired: BTreeMap<u64, Retired>,
    /// Files ready to become a new segment.
    spares: Vec<PathBuf>,
    /// Bytes written since the last checkpoint.
    written: u64,
    /// A stream moved to a new segment since spares were last made.
    rotated: bool,
}

impl Wal {
    /// The log in `config.dir`, whose segments up to `last_segment` exist
    /// already (recovery found them; they become spares once applied).
    pub(crate) fn open(config: WalConfig, last_segment: u64) -> Result<Self> {
        std::fs::create_dir_all(&config.dir).map_err(|err| io("create", &config.dir, err))?;
        let idle = (0..config.streams.max(1)).map(|_| None).collect();
        Ok(Self {
            config,
            idle: Mutex::new(idle),
            freed: Condvar::new(),
            next_segment: AtomicU64::new(last_segment + 1),
            spares_made: AtomicU64::new(0),
            segments: Mutex::default(),
            #[cfg(feature = "faults")]
            faults: crate::Faults::default(),
        })
    }

    fn segments(&self) -> MutexGuard<'_, Segments> {
        self.segments.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes `group` (commits in order) as one record and syncs it; durable
    /// when this returns `Ok`. Waits while every stream is busy.
    pub(crate) fn write(&self, group: &[Arc<Commit>]) -> Result<()> {
        let payload = encode(group);
        let mut stream = self.take_stream();
        let outcome = self.append(&mut stream, &payload, group);
        self.give_back(stream);
        outcome
    }

    fn take_stream(&self) -> Option<Stream> {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            // Prefer a stream that has a segment already.
            let at = idle.iter().position(Option::is_some).or((!idle.is_empty()).then_some(0));
            if let Some(at) = at {
                return idle.swap_remove(at);
            }
            idle = self.freed.wait(idle).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn give_back(&self, stream: Option<Stream>) {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(stream);
        self.freed.notify_one();
    }

    fn append(
        &self,
        stream: &mut Option<Stream>,
        payload: &[u8],
        group: &[Arc<Commit>],
    ) -> Result<()> {
        let needed = (HEADER_BYTES + payload.len()) as u64;
        let fits = stream.as_ref().is_some_and(|s| s.offset + needed <= s.capacity);
        if !fits {
            let next = self.new_segment(needed)?;
            if let Some(full) = stream.replace(next) {
                self.retire(full.segment);
            }
        }
        let Some(current) = stream.as_mut() else {
            return Err(Error::Backend("no log segment to write to".to_owned()));
        };
        let record = frame(current.segment, payload);
        #[cfg(feature = "faults")]
        self.faults.check(crate::Fault::LogWrite)?;
        current
            .file
            .write_all_at(&record, current.offset)
            .map_err(|source| Error::Io { what: "write the write-ahead log".into(), source })?;
        #[cfg(feature = "faults")]
        self.faults.check(crate::Fault::LogSync)?;
        let syncing = std::time::Instant::now();
        current
            .file
            .sync_data()
            .map_err(|source| Error::Io { what: "sync the write-ahead log".into(), source })?;
        metrics::histogram!("keel_storage_log_sync_seconds")
            .record(syncing.elapsed().as_secs_f64());
        current.offset += record.len() as u64;
        let mut segments = self.segments();
        segments.written += record.len() as u64;
        let lanes = segments.open.entry(current.segment).or_default();
        for commit in group {
            for (lane, seq) in &commit.lanes {
                let last = lanes.entry(lane.clone()).or_default();
                *last = (*last).max(*seq);
            }
        }
        Ok(())
    }

    /// Moves a full segment from the open to the retired ones.
    fn retire(&self, segment: u64) {
        let mut segments = self.segments();
        let lanes = segments.open.remove(&segment).unwrap_or_default();
        segments.retired.insert(segment, Retired { lanes });
        segments.rotated = true;
    }

    /// A new segment with room for `needed` bytes: a spare renamed, or a
    /// file created and zero-filled.
    fn new_segment(&self, needed: u64) -> Result<Stream> {
        let id = self.next_segment.fetch_add(1, Ordering::Relaxed);
        let path = self.path(id);
        let capacity = self.config.segment_bytes.max(needed);
        let spare = (capacity == self.config.segment_bytes).then(|| self.segments().spares.pop());
        let file = match spare.flatten() {
            Some(spare) => {
                std::fs::rename(&spare, &path).map_err(|err| io("rename", &spare, err))?;
                sync_dir(&self.config.dir)?;
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(|err| io("open", &path, err))?
            }
            None => create_zeroed(&path, capacity, &self.config.dir)?,
        };
        self.segments().open.insert(id, HashMap::new());
        Ok(Stream { file, segment: id, offset: 0, capacity })
    }

    /// Bytes written since the last call to [`Wal::retire_applied`].
    pub(crate) fn written(&self) -> u64 {
        self.segments().written
    }

    /// After a checkpoint made everything up to `applied` (per lane)
    /// durable in redb: retired segments holding nothing newer become
    /// spares (or are removed, beyond one per stream).
    pub(crate) fn retire_applied(&self, applied: &HashMap<Lane, u64>) {
        let mut segments = self.segments();
        segments.written = 0;
        let done: Vec<u64> = segments
            .retired
            .iter()
            .filter(|(_, r)| {
                r.lanes.iter().all(|(lane, seq)| applied.get(lane).is_some_and(|a| a >= seq))
            })
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            segments.retired.remove(&id);
            let path = self.path(id);
            if segments.spares.len() < self.config.streams {
                segments.spares.push(path);
            } else if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %err, "cannot remove a log segment");
            }
        }
    }

    /// Makes a spare segment ready if streams have been moving to new
    /// segments and none is ready: off the path of any commit.
    pub(crate) fn prepare_spare(&self) -> Result<()> {
        {
            let mut segments = self.segments();
            if !segments.rotated || !segments.spares.is_empty() {
                return Ok(());
            }
            segments.rotated = false;
        }
        let n = self.spares_made.fetch_add(1, Ordering::Relaxed);
        let path = self.config.dir.join(format!("spare-{}-{n}.wal", std::process::id()));
        drop(create_zeroed(&path, self.config.segment_bytes, &self.config.dir)?);
        self.segments().spares.push(path);
        Ok(())
    }

    /// Segments found at start, applied by recovery: spares from now on.
    pub(crate) fn adopt_spares(&self, paths: Vec<PathBuf>) {
        let mut segments = self.segments();
        for path in paths {
            if segments.spares.len() < self.config.streams {
                segments.spares.push(path);
            } else if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %err, "cannot remove a log segment");
            }
        }
    }

    fn path(&self, segment: u64) -> PathBuf {
        segment_path(&self.config.dir, segment)
    }
}

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:016x}.wal"))
}

fn io(what: &str, path: &Path, source: std::io::Error) -> Error {
    Error::Io { what: format!("{what} {}", path.display()), source }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|err| io("sync", dir, err))
}

/// Creates `path` as `bytes` zeros, durably.
fn create_zeroed(path: &Path, bytes: u64, dir: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|err| io("create", path, err))?;
    let zeros = vec![0u8; ZERO_CHUNK];
    let mut at = 0;
    while at < bytes {
        let n = usize::try_from((bytes - at).min(ZERO_CHUNK as u64)).unwrap_or(ZERO_CHUNK);
        file.write_all_at(&zeros[..n], at).map_err(|err| io("fill", path, err))?;
        at += n as u64;
    }
    file.sync_all().map_err(|err| io("sync", path, err))?;
    sync_dir(dir)?;
    Ok(file)
}

/// A record: header and payload.
fn frame(segment: u64, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut record = Vec::with_capacity(HEADER_BYTES + payload.len());
    record.extend_from_slice(&MAGIC.to_le_bytes());
    record.extend_from_slice(&len.to_le_bytes());
    record.extend_from_slice(&segment.to_le_bytes());
    record.extend_from_slice(&checksum(segment, len, payload).to_le_bytes());
    record.extend_from_slice(&0u32.to_le_bytes());
    record.extend_from_slice(payload);
    record
}

fn checksum(segment: u64, len: u32, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&segment.to_le_bytes());
    hasher.update(&len.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

fn encode(group: &[Arc<Commit>]) -> Vec<u8> {
    let size: usize = group.iter().map(|c| 64 + c.bytes() + 16 * c.writes.len()).sum();
    let mut out = Vec::with_capacity(size);
    put_u32(&mut out, group.len());
    for commit in group {
        out.extend_from_slice(&commit.order.to_le_bytes());
        put_u32(&mut out, commit.lanes.len());
        for (lane, seq) in &commit.lanes {
            put_bytes(&mut out, lane.name().as_bytes());
            out.extend_from_slice(&seq.to_le_bytes());
        }
        put_u32(&mut out, commit.writes.len());
        for (key, value) in &commit.writes {
            put_bytes(&mut out, &key.0);
            match value {
                Some(value) => {
                    out.push(1);
                    put_bytes(&mut out, value);
                }
                None => out.push(0),
            }
        }
    }
    out
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reads what [`encode`] wrote; `None` if it is malformed.
fn decode(payload: &[u8]) -> Option<Vec<Commit>> {
    let mut input = Input(payload);
    let n_commits = input.u32()?;
    let mut commits = Vec::new();
    for _ in 0..n_commits {
        let order = input.u64()?;
        let n_lanes = input.u32()?;
        let mut lanes = Vec::new();
        for _ in 0..n_lanes {
            let name = std::str::from_utf8(input.bytes()?).ok()?;
            lanes.push((Lane::parse(name)?, input.u64()?));
        }
        let n_writes = input.u32()?;
        let mut writes = Vec::new();
        for _ in 0..n_writes {
            let key = Key(Arc::from(input.bytes()?));
            let value = match input.byte()? {
                0 => None,
                1 => Some(Arc::from(input.bytes()?)),
                _ => return None,
            };
            writes.push((key, value));
        }
        commits.push(Commit { order, lanes, writes });
    }
    input.0.is_empty().then_some(commits)
}

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u32()?).ok()?;
        self.take(n)
    }
}

/// What recovery finds in the log directory.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Every whole commit, in no particular order.
    pub(crate) commits: Vec<Commit>,
    /// The segment files read.
    pub(crate) segments: Vec<PathBuf>,
    /// The highest segment id seen, spares included: a new segment takes
    /// a higher one, so that no old record in a reused file is taken for
    /// one of its own.
    pub(crate) last_segment: u64,
}

/// Reads every segment in `dir`: each up to its first record that does
/// not check out.
pub(crate) fn scan(dir: &Path) -> Result<Found> {
    let mut found = Found::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(err) => return Err(io("read", dir, err)),
    };
    for entry in entries {
        let path = entry.map_err(|err| io("read", dir, err))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(stem) = name.strip_suffix(".wal") else { continue };
        let Ok(segment) = u64::from_str_radix(stem, 16) else {
            // A spare: made when the kernel stopped, or a segment recovery
            // applied, whose id is still used up (its old records, named
            // by it, stay in the file until it is overwritten).
            if let Some(id) =
                stem.strip_prefix("spare-").and_then(|id| u64::from_str_radix(id, 16).ok())
            {
                found.last_segment = found.last_segment.max(id);
            }
            found.segments.push(path);
            continue;
        };
        found.last_segment = found.last_segment.max(segment);
        let bytes = std::fs::read(&path).map_err(|err| io("read", &path, err))?;
        found.commits.extend(records(&bytes, segment));
        found.segments.push(path);
    }
    Ok(found)
}

/// The commits of a segment's records, up to the first that does not check out.
fn records(mut bytes: &[u8], segment: u64) -> Vec<Commit> {
    let mut commits = Vec::new();
    while let Some((header, rest)) = bytes.split_at_checked(HEADER_BYTES) {
        let word =
            |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap_or_default());
        let len = word(4);
        let named = u64::from_le_bytes(header[8..16].try_into().unwrap_or_default());
        if word(0) != MAGIC || named != segment {
            break;
        }
        let Some((payload, rest)) = rest.split_at_checked(len as usize) else { break };
        if word(16) != checksum(segment, len, payload) {
            break;
        }
        match decode(payload) {
            Some(group) => commits.extend(group),
            None => break,
        }
        bytes = rest;
    }
    commits
}

/// The commits recovery applies: for each lane, the unbroken run after the
/// position redb holds (`applied`); a commit of several lanes only if it is
/// in every one's run. In log order.
pub(crate) fn replayable(mut commits: Vec<Commit>, applied: &HashMap<Lane, u64>) -> Vec<Commit> {
    commits.sort_by_key(|c| c.order);
    commits.dedup_by_key(|c| c.order);
    commits.retain(|c| {
        c.lanes.iter().any(|(lane, seq)| applied.get(lane).copied().unwrap_or(0) < *seq)
    });
    loop {
        // Each lane's run: consecutive positions from its applied one.
        let mut next: HashMap<&Lane, u64> = HashMap::new();
        let mut ends: HashMap<Lane, u64> = HashMap::new();
        let mut by_lane: BTreeMap<(&Lane, u64), usize> = BTreeMap::new();
        for (i, commit) in commits.iter().enumerate() {
            for (lane, seq) in &commit.lanes {
                by_lane.insert((lane, *seq), i);
            }
        }
        for (lane, seq) in by_lane.keys() {
            let expected = next.entry(lane).or_insert(applied.get(*lane).copied().unwrap_or(0) + 1);
            if *seq == *expected {
                *expected += 1;
                ends.insert((*lane).clone(), *seq);
            }
        }
        let before = commits.len();
        commits.retain(|c| {
            c.lanes.iter().all(|(lane, seq)| ends.get(lane).is_some_and(|end| seq <= end))
        });
        if commits.len() == before {
            return commits;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_types::TenantId;

    fn tenant(id: &str) -> Lane {
        Lane::Tenant(TenantId::new(id).unwrap())
    }

    fn write(key: &[u8], value: Option<&[u8]>) -> (Key, Option<Arc<[u8]>>) {
        (Key(Arc::from(key)), value.map(Arc::from))
    }

    fn commit(order: u64, lanes: &[(Lane, u64)]) -> Commit {
        Commit {
            order,
            lanes: lanes.to_vec(),
            writes: vec![write(&[4, b'k'], Some(&[order as u8]))],
        }
    }

    #[test]
    fn records_round_trip_and_a_torn_or_stale_one_ends_the_segment() {
        let group = vec![
            Arc::new(commit(1, &[(tenant("a"), 1)])),
            Arc::new(Commit {
                order: 2,
                lanes: vec![(Lane::Platform, 4), (tenant("a"), 2)],
                writes: vec![write(&[1, 2], None), write(&[4, 9], Some(b"x"))],
            }),
        ];
        let first = frame(7, &encode(&group));
        let second = frame(7, &encode(&[Arc::new(commit(3, &[(tenant("a"), 3)]))]));
        let mut segment = [first.clone(), second.clone()].concat();
        let owned: Vec<Commit> = group.iter().map(|c| (**c).clone()).collect();
        assert_eq!(records(&segment, 7)[..2], owned[..]);
        assert_eq!(records(&segment, 7).len(), 3);

        // A torn second record: only the first group survives.
        segment.truncate(first.len() + second.len() - 1);
        assert_eq!(records(&segment, 7), owned);
        // A flipped bit fails the checksum.
        let mut flipped = first.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(records(&flipped, 7).is_empty());
        // A record from the segment's earlier life is not this segment's.
        assert!(records(&first, 8).is_empty());
        assert!(records(&[0u8; 64], 7).is_empty());
    }

    #[test]
    fn recovery_replays_each_lane_up_to_its_first_gap() {
        let (a, b) = (tenant("a"), tenant("b"));
        let applied = HashMap::from([(a.clone(), 1)]);
        let commits = vec![
            commit(10, &[(a.clone(), 1)]), // applied already
            commit(11, &[(a.clone(), 2)]),
            commit(12, &[(b.clone(), 1)]),
            commit(14, &[(a.clone(), 4)]), // after a gap: a's 3 is missing
            commit(15, &[(b.clone(), 2)]),
        ];
        let orders: Vec<u64> = replayable(commits, &applied).iter().map(|c| c.order).collect();
        assert_eq!(orders, [11, 12, 15]);
    }

    #[test]
    fn a_commit_of_two_lanes_replays_only_if_both_runs_reach_it() {
        let (p, a) = (Lane::Platform, tenant("a"));
        let applied = HashMap::new();
        // a's 1 is lost, so the shared commit (a 2, platform 1) cannot be
        // replayed, nor anything after it on the platform.
        let commits = vec![
            commit(2, &[(p.clone(), 1), (a.clone(), 2)]),
            commit(3, &[(p.clone(), 2)]),
            commit(4, &[(tenant("b"), 1)]),
        ];
        let orders: Vec<u64> = replayable(commits, &applied).iter().map(|c| c.order).collect();
        assert_eq!(orders, [4]);
    }
}
