//! The database handle and its read and write transactions.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use keel_types::schema::CollectionDef;
use keel_types::{Limits, TenantId};

use crate::docs::{self, KeyRange, Page};
use crate::error::{Error, Result};
use crate::keys::{Lane, Namespace, Table, catalog_key, log_key, sealed_name};
use crate::lane::{LaneCell, Tails};
use crate::overlay::{Key, Layers, Overlay, Snapshot, Version};
use crate::store::{Shared, View};
use crate::usage;

mod copy;
mod end;
mod reads;

pub use copy::Copied;
pub use end::{Savepoint, Ticket};
use reads::{Scope, catalog_scope, catalog_walk};

/// The kernel's database: redb, with a write-ahead log beside it.
pub struct Storage {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").finish_non_exhaustive()
    }
}

/// A consistent read snapshot of durable data; runs concurrently with writes.
pub struct ReadTxn {
    pub(crate) view: Arc<View>,
    snapshot: Snapshot,
    limits: Limits,
}

/// A writer's turn in one or more [`Lane`]s: one writer at a time per
/// lane, each turn atomic. Dropped without [`WriteTxn::commit`], it leaves
/// nothing behind.
///
/// A turn reads a snapshot with every earlier commit of its lanes in it,
/// durable or not, and keeps its writes to itself until it ends. Ending it
/// with [`WriteTxn::finish`] makes them the lanes' newest state and passes
/// the turn on before they are durable; its [`Ticket`] says when they are.
///
/// A transaction that changes documents or catalog records must also
/// append to a log (the audit trail), or [`WriteTxn::commit`] refuses it:
/// nothing writes around the trail. A document's audit record carries its
/// value whole; a catalog record or sequence counter changed is *sealed*
/// (see [`WriteTxn::take_unsealed`]) by a later entry of its lane's chain,
/// which carries its digest, or the commit is refused too.
pub struct WriteTxn {
    shared: Arc<Shared>,
    view: Arc<View>,
    snapshot: Snapshot,
    /// The lanes whose turn this is, by lane; empty once the turn ended.
    held: Vec<Held>,
    /// The keys written, in order, for the commit's write set.
    touched: Vec<Key>,
    limits: Limits,
    n_writes: u32,
    n_bytes_written: usize,
    /// A document or catalog record changed.
    changed: bool,
    /// Something was appended to a log.
    logged: bool,
    /// Catalog records and sequence counters written since the chain of
    /// their lane last sealed them; in the order written, repeats kept.
    unsealed: Vec<Key>,
    /// The most bytes a tenant lane of the turn may store once it
    /// commits, unless it stores no more than before.
    quota: Option<u64>,
}

/// One lane of a turn.
struct Held {
    cell: Arc<LaneCell>,
    /// The lane's tip with this turn's writes over it.
    working: Overlay,
    /// The last entry of each log the lane appended to, this turn's
    /// appends included.
    tails: Tails,
    /// The position this turn's commit takes in the lane.
    seq: u64,
    /// The lane's tip as the turn began.
    base: Overlay,
    /// The bytes the lane stored as the turn began, if measured.
    stored: Option<u64>,
    /// What the turn's writes changed the lane's stored bytes by.
    change: usage::Change,
}

/// What a key held before a write, as the turn saw it: the write's
/// caller mostly knows, having read it.
#[derive(Clone, Copy)]
enum Was {
    Absent,
    Bytes(usize),
    /// Not known: read it.
    Unread,
}

/// Either kind of transaction, for code that serves both reads and writes.
pub enum Txn {
    /// A read snapshot.
    Read(ReadTxn),
    /// A write transaction.
    Write(WriteTxn),
}

/// How many writers committed and how many log syncs carried them, since
/// the database opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Write transactions committed.
    pub commits: u64,
    /// Log syncs (each one `fdatasync`) that carried them.
    pub syncs: u64,
}

impl Storage {
    /// Opens (creating if needed) the database file at `path`, and its
    /// write-ahead log beside it (`keel.redb` logs to `keel.wal/`); commits
    /// the log holds beyond the database's last checkpoint are applied
    /// first.
    pub fn open(path: &Path, limits: Limits) -> Result<Self> {
        Ok(Self { shared: Arc::new(Shared::open(path, limits)?) })
    }

    /// Begins a read snapshot of durable data.
    pub fn read(&self) -> Result<ReadTxn> {
        let (view, snapshot) = self.shared.capture()?;
        Ok(ReadTxn { view, snapshot, limits: self.shared.limits.clone() })
    }

    /// The bytes `tenant` stores (see `usage.rs`): kept by its commits
    /// once measured, otherwise measured now, by a walk of everything it
    /// stores. The walk holds the tenant's turn only to begin: its writers
    /// go on meanwhile, and what they change is added to what it finds.
    /// The kernel measures every tenant so at start.
    pub fn stored_bytes(&self, tenant: &TenantId) -> Result<u64> {
        let lane = Lane::Tenant(tenant.clone());
        let cell = self.shared.lane(&lane)?;
        if let Some(stored) = cell.stored() {
            return Ok(stored);
        }
        let (read, at) = {
            let _turn = self.write(std::slice::from_ref(&lane))?;
            // Every commit of the lane durable, so the snapshot holds them
            // all, and none moves the sum of changes until the turn ends.
            cell.flush(&self.shared.core)?;
            (self.read()?, cell.net_change())
        };
        let measured = usage::measure(&read.layers(Scope::One(lane)), tenant)?;
        cell.set_measured(measured, at);
        Ok(cell.stored().unwrap_or(measured))
    }

    /// Begins a write turn in `lanes`, waiting while other writers have
    /// the turn in any of them. Writes outside these lanes are refused.
    pub fn write(&self, lanes: &[Lane]) -> Result<WriteTxn> {
        self.write_unless(lanes, &|| false)
    }

    /// As [`Storage::write`], but gives up waiting, with
    /// [`Error::GaveUp`], once `give_up` says so.
    pub fn write_unless(&self, lanes: &[Lane], give_up: &dyn Fn() -> bool) -> Result<WriteTxn> {
        let shared = &self.shared;
        shared.check()?;
        // Lanes are taken in one order, so two multi-lane turns never wait
        // for each other in a cycle: tenants first, the platform last, so
        // that a turn holds the platform lane, which all administration
        // shares, never while it waits for a tenant's turn or for redb to
        // catch up with a tenant.
        let mut lanes: Vec<&Lane> = lanes.iter().collect::<BTreeSet<_>>().into_iter().collect();
        lanes.sort_by_key(|lane| matches!(lane, Lane::Platform));
        let mut held: Vec<Held> = Vec::with_capacity(lanes.len());
        let release = |held: &[Held]| held.iter().for_each(|h| h.cell.release());
        for lane in lanes {
            let started = shared.lane(lane).and_then(|cell| {
                cell.acquire(&shared.core, give_up)?;
                match cell.begin(&shared.core) {
                    Ok(start) => Ok((cell, start)),
                    Err(err) => {
                        cell.release();
                        Err(err)
                    }
                }
            });
            match started {
                Ok((cell, start)) => held.push(Held {
                    cell,
                    base: start.working.clone(),
                    working: start.working,
                    tails: start.tails,
                    seq: start.seq,
                    stored: start.stored,
                    change: usage::Change::default(),
                }),
                Err(err) => {
                    release(&held);
                    return Err(err);
                }
            }
        }
        // After the tips: the snapshot then holds whatever they no longer do.
        let (view, snapshot) = match shared.capture() {
            Ok(captured) => captured,
            Err(err) => {
                release(&held);
                return Err(err);
            }
        };
        Ok(WriteTxn {
            shared: Arc::clone(shared),
            view,
            snapshot,
            held,
            touched: Vec::new(),
            limits: shared.limits.clone(),
            n_writes: 0,
            n_bytes_written: 0,
            changed: false,
            logged: false,
            unsealed: Vec::new(),
            quota: None,
        })
    }

    /// Writes `lane`'s queued commits to the log on this thread, if no
    /// syncer is writing them already: for a writer with nothing else to do
    /// next, which so spares the wake-up of a syncer.
    pub fn sync_lane(&self, lane: &Lane) {
        let core = &self.shared.core;
        if let Ok(cell) = core.lane(lane)
            && cell.write_queued(core)
        {
            core.schedule(cell);
        }
    }

    /// A handle that tells when the database file is closed: once this
    /// `Storage` and every transaction and ticket of it are gone, and the
    /// applier has checkpointed.
    pub fn closing(&self) -> Closing {
        Closing(self.shared.core.db.closed())
    }

    /// Commits and log syncs since the database opened: how well group
    /// commit is sharing syncs.
    pub fn commit_stats(&self) -> CommitStats {
        self.shared.stats()
    }

    /// Why writes are refused, once the log or the applier failed (reads go
    /// on; only a restart, which replays the log, takes writes again).
    pub fn failure(&self) -> Option<String> {
        self.shared.core.failure()
    }

    /// Makes the next log operation of `fault`'s kind fail. Fault tests only.
    #[cfg(feature = "faults")]
    pub fn inject(&self, fault: crate::Fault) {
        self.shared.core.wal.faults.inject(fault);
    }
}

impl ReadTxn {
    /// A snapshot remembers no tails.
    fn remembered_tail(&self, _chain: &str) -> Option<(u64, Arc<[u8]>)> {
        None
    }

    fn layers(&self, scope: Scope) -> Layers<'_> {
        let overlays = match scope {
            Scope::One(lane) => self.view.overlay(&lane).into_iter().collect(),
            Scope::All => {
                self.view.lanes.values().map(|v| &v.overlay).filter(|o| !o.is_empty()).collect()
            }
        };
        Layers { snapshot: &self.snapshot, overlays }
    }

    /// Lists kernel catalog records whose key starts with `prefix`.
    pub fn catalog_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        catalog_walk(&self.layers(catalog_scope(prefix)), prefix, None, usize::MAX)
    }
}

impl WriteTxn {
    /// The last entry of `chain`, if its lane remembers it.
    fn remembered_tail(&self, chain: &str) -> Option<(u64, Arc<[u8]>)> {
        let lane = Lane::of_chain(chain);
        let held = self.held.iter().find(|h| h.cell.lane == lane)?;
        held.tails.get(chain).cloned()
    }

    fn layers(&self, scope: Scope) -> Layers<'_> {
        let overlays = match scope {
            Scope::One(lane) => match self.held.iter().find(|h| h.cell.lane == lane) {
                Some(held) => vec![&held.working],
                None => self.view.overlay(&lane).into_iter().collect(),
            },
            Scope::All => {
                let held = self.held.iter().map(|h| &h.working);
                let others = self
                    .view
                    .lanes
                    .iter()
                    .filter(|(lane, _)| !self.held.iter().any(|h| h.cell.lane == **lane))
                    .map(|(_, v)| &v.overlay)
                    .filter(|o| !o.is_empty());
                held.chain(others).collect()
            }
        };
        Layers { snapshot: &self.snapshot, overlays }
    }

    /// Reads a tagged key as this turn sees it.
    fn read(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let lane =
            Lane::of_key(key).ok_or_else(|| Error::Backend("a key without a lane".to_owned()))?;
        self.layers(Scope::One(lane)).get(key)
    }

    /// Sets a tagged key (`None`: removes it) in this turn; `was` is what
    /// it held before, as the turn saw it.
    fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>, was: Was) -> Result<()> {
        self.set_shared(key, value.map(Arc::from), was).map(drop)
    }

    /// Sets a tagged key, and returns the lane's part of this turn. What
    /// the lane stores changes by the difference (`usage.rs`).
    fn set_shared(
        &mut self,
        key: Vec<u8>,
        value: Option<Arc<[u8]>>,
        was: Was,
    ) -> Result<&mut Held> {
        let was = match was {
            Was::Absent => None,
            Was::Bytes(n_bytes) => Some(n_bytes),
            Was::Unread => self.read(&key)?.map(|old| old.len()),
        };
        let lane =
            Lane::of_key(&key).ok_or_else(|| Error::Backend("a key without a lane".to_owned()))?;
        let Some(at) = self.held.iter().position(|h| h.cell.lane == lane) else {
            let held: Vec<String> = self.held.iter().map(|h| h.cell.lane.to_string()).collect();
            return Err(Error::Backend(format!(
                "a write to {lane} in a turn of {}; the kernel must take that lane first",
                held.join(", ")
            )));
        };
        let key = Key(Arc::from(key));
        let held = &mut self.held[at];
        held.change.count(&key.0, value.as_ref().map(|v| v.len()), was);
        held.working.insert(key.clone(), Version { seq: held.seq, value });
        self.touched.push(key);
        Ok(held)
    }

    /// Stores a new document; [`Error::Conflict`] if the key exists.
    /// Returns the document written, parsed, for the caller's audit record.
    pub fn insert(
        &mut self,
        ns: &Namespace,
        collection: &CollectionDef,
        key: &str,
        value: &str,
    ) -> Result<DocChange> {
        self.write_doc(ns, collection, key, value, false)
    }

    /// Stores a document, replacing any previous one. Returns it and the
    /// one it replaced, parsed, so that callers auditing the change read
    /// and parse neither again.
    pub fn put(
        &mut self,
        ns: &Namespace,
        collection: &CollectionDef,
        key: &str,
        value: &str,
    ) -> Result<DocChange> {
        self.write_doc(ns, collection, key, value, true)
    }

    /// Removes a document and its index entries; returns the document,
    /// parsed, if it existed.
    pub fn delete(
        &mut self,
        ns: &Namespace,
        collection: &CollectionDef,
        key: &str,
    ) -> Result<Option<DocChange>> {
        self.count_write()?;
        let full = docs::doc_key(ns, &collection.name, key);
        let Some(old) = self.read(&full)? else { return Ok(None) };
        let was = Was::Bytes(old.len());
        let old = docs::parse_stored(&old)?;
        let old_index = docs::stored_index_keys(ns, collection, key, &old);
        self.set(full, None, was)?;
        self.changed = true;
        self.reindex(old_index, Vec::new())?;
        Ok(Some(DocChange { before: Some(old), after: None }))
    }

    /// Returns the next number of a gapless sequence, starting at 1.
    pub fn next_sequence(&mut self, ns: &Namespace, name: &str) -> Result<u64> {
        self.count_write()?;
        let key = ns.child(Table::Sequences, name);
        let stored = self.read(&key)?;
        let was = stored.as_ref().map_or(Was::Absent, |bytes| Was::Bytes(bytes.len()));
        let last = match stored {
            Some(bytes) => u64::from_be_bytes(
                bytes
                    .try_into()
                    .map_err(|_| Error::Backend(format!("sequence {name:?} is malformed")))?,
            ),
            None => 0,
        };
        let next = last
            .checked_add(1)
            .ok_or_else(|| Error::LimitExceeded(format!("sequence {name:?} is exhausted")))?;
        self.set_sealed(key, Some(next.to_be_bytes().to_vec()), was)?;
        Ok(next)
    }

    /// Writes a kernel catalog record; its bytes count toward the turn's limit.
    pub fn catalog_put(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.count_bytes(value.len())?;
        self.set_sealed(catalog_key(key), Some(value.to_vec()), Was::Unread)?;
        self.changed = true;
        Ok(())
    }

    /// Removes a kernel catalog record; returns whether it existed.
    pub fn catalog_remove(&mut self, key: &str) -> Result<bool> {
        let full = catalog_key(key);
        let Some(old) = self.read(&full)? else { return Ok(false) };
        self.set_sealed(full, None, Was::Bytes(old.len()))?;
        self.changed = true;
        Ok(true)
    }

    /// Sets a tagged key that the audit chain seals by digest, if it is one.
    fn set_sealed(&mut self, key: Vec<u8>, value: Option<Vec<u8>>, was: Was) -> Result<()> {
        let sealed = sealed_name(&key).is_some();
        self.set(key, value, was)?;
        if sealed && let Some(key) = self.touched.last() {
            self.unsealed.push(key.clone());
        }
        Ok(())
    }

    /// Whether catalog records or sequence counters changed since the last
    /// entry of their lane's chain: the turn may not commit until one seals them.
    pub fn has_unsealed(&self) -> bool {
        !self.unsealed.is_empty()
    }

    /// What the next entry of `chain` must seal: each catalog record and
    /// sequence counter of the chain's lane written since its last entry,
    /// once, by its sealed name (`catalog:<key>`, `sequence:<plugin>/<name>`)
    /// in name order, with the value it now holds (`None`: removed). They
    /// count as sealed from now on; the audit trail's append calls this.
    pub fn take_unsealed(&mut self, chain: &str) -> Result<Vec<(String, Option<Vec<u8>>)>> {
        let lane = Lane::of_chain(chain);
        let (mine, others): (Vec<Key>, Vec<Key>) = std::mem::take(&mut self.unsealed)
            .into_iter()
            .partition(|key| Lane::of_key(&key.0).as_ref() == Some(&lane));
        self.unsealed = others;
        let mut sealed = Vec::with_capacity(mine.len());
        for key in mine.into_iter().collect::<BTreeSet<_>>() {
            let Some(name) = sealed_name(&key.0) else { continue };
            sealed.push((name, self.read(&key.0)?));
        }
        sealed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(sealed)
    }

    /// Appends `bytes` at `seq` of `chain`; fails if that position is taken,
    /// so an append-only log can never be rewritten through this API. The
    /// bytes count toward the turn's limit, as a document's would: a call
    /// pays for the audit records it causes.
    pub fn log_append(&mut self, chain: &str, seq: u64, bytes: &[u8]) -> Result<()> {
        self.count_bytes(bytes.len())?;
        let key = log_key(chain, seq);
        // Right after the remembered last entry, the position is free.
        let after_tail = self.remembered_tail(chain).is_some_and(|(last, _)| last + 1 == seq);
        if !after_tail && self.read(&key)?.is_some() {
            return Err(Error::Conflict {
                collection: format!("log {chain}"),
                key: seq.to_string(),
            });
        }
        let bytes: Arc<[u8]> = Arc::from(bytes);
        // The position is free: checked, or right after the last entry.
        let held = self.set_shared(key, Some(Arc::clone(&bytes)), Was::Absent)?;
        held.tails.insert(chain.to_owned(), (seq, bytes));
        self.logged = true;
        Ok(())
    }

    /// Writes a document; returns it and the one it replaced.
    fn write_doc(
        &mut self,
        ns: &Namespace,
        collection: &CollectionDef,
        key: &str,
        value: &str,
        replace: bool,
    ) -> Result<DocChange> {
        self.count_write()?;
        check_key(key, self.limits.key_bytes_max)?;
        self.count_bytes(value.len())?;
        let doc = docs::parse_document(value, self.limits.record_bytes_max)?;
        let new_index = docs::index_keys(ns, collection, key, &doc)?;
        let full = docs::doc_key(ns, &collection.name, key);
        let stored = self.read(&full)?;
        let was = stored.as_ref().map_or(Was::Absent, |bytes| Was::Bytes(bytes.len()));
        let old = match stored {
            Some(_) if !replace => {
                return Err(Error::Conflict {
                    collection: collection.name.clone(),
                    key: key.to_owned(),
                });
            }
            Some(old) => Some(docs::parse_stored(&old)?),
            None => None,
        };
        let old_index = old
            .as_ref()
            .map(|old| docs::stored_index_keys(ns, collection, key, old))
            .unwrap_or_default();
        self.set(full, Some(value.as_bytes().to_vec()), was)?;
        self.changed = true;
        self.reindex(old_index, new_index)?;
        Ok(DocChange { before: old, after: Some(doc) })
    }

    /// Replaces a document's index entries: removes `old`'s, inserts
    /// `new`'s, leaving entries common to both untouched.
    fn reindex(&mut self, old: Vec<Vec<u8>>, new: Vec<Vec<u8>>) -> Result<()> {
        let old: BTreeSet<Vec<u8>> = old.into_iter().collect();
        let new: BTreeSet<Vec<u8>> = new.into_iter().collect();
        // Index entries are keys alone; the new document's that the old
        // one did not have are not there yet.
        for entry in old.difference(&new) {
            // One a plugin's newer version added may never have been made.
            self.set(entry.clone(), None, Was::Unread)?;
        }
        for entry in new.difference(&old) {
            self.set(entry.clone(), Some(Vec::new()), Was::Absent)?;
        }
        Ok(())
    }

    /// Starts counting the records of another call in this turn, one of
    /// several a turn runs (the rows of an import): each may write as many
    /// records as one call, while the bytes they write count together.
    pub fn next_call(&mut self) {
        self.n_writes = 0;
    }

    fn count_bytes(&mut self, n_bytes: usize) -> Result<()> {
        self.n_bytes_written = self.n_bytes_written.saturating_add(n_bytes);
        if self.n_bytes_written > self.limits.bytes_written_per_call_max {
            return Err(Error::LimitExceeded(format!(
                "a call may write at most {} bytes",
                self.limits.bytes_written_per_call_max
            )));
        }
        Ok(())
    }

    fn count_write(&mut self) -> Result<()> {
        if self.n_writes >= self.limits.writes_per_call_max {
            return Err(Error::LimitExceeded(format!(
                "a call may write at most {} records",
                self.limits.writes_per_call_max
            )));
        }
        self.n_writes += 1;
        Ok(())
    }
}

/// Tells when a [`Storage`]'s database file is closed; see [`Storage::closing`].
#[derive(Debug, Clone)]
pub struct Closing(Arc<std::sync::atomic::AtomicBool>);

impl Closing {
    /// Whether the database file is closed: dropped whole, its lock on the
    /// file let go, so that it can be opened again at once.
    pub fn is_closed(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// A document as a write found it and left it, parsed: what the write's
/// audit record says.
#[derive(Debug, Clone, PartialEq)]
pub struct DocChange {
    /// Before the write; `None` for a new document.
    pub before: Option<serde_json::Value>,
    /// After it; `None` once removed.
    pub after: Option<serde_json::Value>,
}

impl Txn {
    /// Reads a document.
    pub fn get(&self, ns: &Namespace, collection: &str, key: &str) -> Result<Option<String>> {
        match self {
            Txn::Read(txn) => txn.get(ns, collection, key),
            Txn::Write(txn) => txn.get(ns, collection, key),
        }
    }

    /// Lists documents in key order.
    pub fn scan(
        &self,
        ns: &Namespace,
        collection: &str,
        range: &KeyRange,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page> {
        match self {
            Txn::Read(txn) => txn.scan(ns, collection, range, cursor, limit),
            Txn::Write(txn) => txn.scan(ns, collection, range, cursor, limit),
        }
    }

    /// Lists documents by index value.
    pub fn lookup(
        &self,
        ns: &Namespace,
        collection: &str,
        index: &str,
        range: &KeyRange,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page> {
        match self {
            Txn::Read(txn) => txn.lookup(ns, collection, index, range, cursor, limit),
            Txn::Write(txn) => txn.lookup(ns, collection, index, range, cursor, limit),
        }
    }

    /// The write transaction, or [`Error::ReadOnly`].
    pub fn writable(&mut self) -> Result<&mut WriteTxn> {
        match self {
            Txn::Read(_) => Err(Error::ReadOnly),
            Txn::Write(txn) => Ok(txn),
        }
    }
}

/// A page of at most `limit` entries (and the limits' bytes) of `range`,
/// after `cursor`.
fn window<'a>(
    limits: &Limits,
    range: &'a KeyRange,
    cursor: Option<&'a str>,
    limit: u32,
) -> Result<docs::Window<'a>> {
    if limit == 0 {
        return Err(Error::Invalid("page limit must be at least 1".to_owned()));
    }
    let entries = usize::try_from(limit.min(limits.page_entries_max)).unwrap_or(usize::MAX);
    Ok(docs::Window { range, cursor, limit: entries, bytes_max: limits.page_bytes_max })
}

fn check_key(key: &str, key_bytes_max: usize) -> Result<()> {
    if key.is_empty() || key.len() > key_bytes_max {
        return Err(Error::Invalid(format!(
            "key must be 1 to {key_bytes_max} bytes, got {}",
            key.len()
        )));
    }
    Ok(())
}

#[cfg(any(test, feature = "tamper"))]
impl WriteTxn {
    /// Overwrites (or with `None`, removes) a log entry. Tamper tests only.
    pub fn tamper_log(&mut self, chain: &str, seq: u64, bytes: Option<&[u8]>) -> Result<()> {
        let held = self.set_shared(log_key(chain, seq), bytes.map(Arc::from), Was::Unread)?;
        held.tails.remove(chain);
        Ok(())
    }

    /// Overwrites a document without touching its indexes or the audit
    /// trail. Tamper tests only.
    pub fn tamper_doc(
        &mut self,
        ns: &Namespace,
        collection: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let full = docs::doc_key(ns, collection, key);
        self.set(full, Some(value.as_bytes().to_vec()), Was::Unread)
    }

    /// Sets (or with `None`, removes) a raw key of the store, outside every
    /// rule: `table` is `docs`, `index`, `sequences` or `catalog`, and `key`
    /// the key without its tag. Tamper tests only.
    pub fn tamper_raw(&mut self, table: &str, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        let table = match table {
            "docs" => Table::Docs,
            "index" => Table::Index,
            "sequences" => Table::Sequences,
            "catalog" => Table::Catalog,
            other => return Err(Error::Invalid(format!("no table {other:?}"))),
        };
        let mut tagged = vec![table.tag()];
        tagged.extend_from_slice(key);
        self.set(tagged, value.map(<[u8]>::to_vec), Was::Unread)
    }
}
