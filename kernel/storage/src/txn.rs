//! The database handle and its read and write transactions.

use std::path::Path;

use keel_types::Limits;
use keel_types::schema::CollectionDef;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::batch::{CommitStats, Shared, Tails};
use crate::docs::{self, DOCS, INDEX, KeyRange, Page, SEQUENCES, Window};
use crate::error::{Error, Result, backend};
use crate::keys::{Namespace, join};
use crate::undo::{self, Undo};

/// Append-only logs (the audit chains): `chain \0 seq (u64 big-endian)` -> bytes.
pub(crate) const LOG: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("log");

/// The kernel's own records (tenants, enabled plugins): key -> JSON text.
pub(crate) const CATALOG: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("catalog");

/// The kernel's database: one redb file.
#[derive(Debug)]
pub struct Storage {
    shared: Arc<Shared>,
    limits: Limits,
}

/// A consistent read snapshot; runs concurrently with writes.
pub struct ReadTxn {
    txn: redb::ReadTransaction,
    limits: Limits,
}

/// A writer's turn with the database: one at a time, each atomic. Dropped
/// without [`WriteTxn::commit`], it rolls back and leaves nothing behind.
///
/// Writers take turns in one shared redb transaction that commits durably
/// for a whole batch of them (group commit, `batch.rs`); each keeps an undo
/// log so that it rolls back alone.
///
/// A transaction that changes documents or catalog records must also
/// append to a log (the audit trail), or [`WriteTxn::commit`] refuses it:
/// nothing writes around the trail. Sequence counters are exempt; the
/// document that uses a number is audited.
pub struct WriteTxn {
    /// The shared transaction, until the turn ends.
    txn: Option<redb::WriteTransaction>,
    /// The logs' last entries in it, passed on with it.
    tails: Tails,
    shared: Arc<Shared>,
    /// The batch held other writers' changes when this turn began.
    observed: bool,
    /// What this turn changed, to put back if it fails.
    undo: Vec<Undo>,
    limits: Limits,
    n_writes: u32,
    n_bytes_written: usize,
    /// A document or catalog record changed.
    changed: bool,
    /// Something was appended to a log.
    logged: bool,
    /// Rolling back to a savepoint failed: the turn can only be abandoned,
    /// and the shared transaction with it.
    broken: Option<Error>,
}

/// Either kind of transaction, for code that serves both reads and writes.
#[expect(clippy::large_enum_variant, reason = "one per plugin call, created once and never copied")]
pub enum Txn {
    /// A read snapshot.
    Read(ReadTxn),
    /// A write transaction.
    Write(WriteTxn),
}

impl Storage {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path, limits: Limits) -> Result<Self> {
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
        txn.commit().map_err(backend)?;
        Ok(Self { shared: Arc::new(Shared::new(db)), limits })
    }

    /// Begins a read snapshot of durable data (every commit is durable).
    pub fn read(&self) -> Result<ReadTxn> {
        let txn = self.shared.db.begin_read().map_err(backend)?;
        Ok(ReadTxn { txn, limits: self.limits.clone() })
    }

    /// Begins a write turn, waiting while another writer has its turn.
    pub fn write(&self) -> Result<WriteTxn> {
        self.announce().write()
    }

    /// Announces a writer that will begin its turn soon, with
    /// [`Announced::write`]: a batch waiting to commit stays open for it,
    /// as it does for writers already waiting for their turn. For writers
    /// queued outside storage, such as calls queued for a writer thread.
    pub fn announce(&self) -> Announced {
        self.shared.announce();
        Announced { shared: Some(Arc::clone(&self.shared)), limits: self.limits.clone() }
    }

    /// A handle that tells when the database file is closed: once this
    /// `Storage` and every transaction and ticket of it are gone.
    pub fn closing(&self) -> Closing {
        Closing(Arc::downgrade(&self.shared))
    }

    /// Commits and durable syncs since the database opened: how well
    /// group commit is sharing fsyncs.
    pub fn commit_stats(&self) -> CommitStats {
        self.shared.stats()
    }
}

/// The reads both transaction kinds offer: a write transaction sees its
/// own writes.
macro_rules! reads {
    ($txn:ty) => {
        impl $txn {
            /// Reads a document.
            pub fn get(
                &self,
                ns: &Namespace,
                collection: &str,
                key: &str,
            ) -> Result<Option<String>> {
                docs::get(&self.redb().open_table(DOCS).map_err(backend)?, ns, collection, key)
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
                let table = self.redb().open_table(DOCS).map_err(backend)?;
                let window = Window {
                    range,
                    cursor,
                    limit: page_size(&self.limits, limit)?,
                    bytes_max: self.limits.page_bytes_max,
                };
                docs::scan(&table, ns, collection, &window)
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
                let docs = self.redb().open_table(DOCS).map_err(backend)?;
                let index_table = self.redb().open_table(INDEX).map_err(backend)?;
                let window = Window {
                    range,
                    cursor,
                    limit: page_size(&self.limits, limit)?,
                    bytes_max: self.limits.page_bytes_max,
                };
                docs::lookup(&docs, &index_table, ns, collection, index, &window)
            }

            /// Reads a kernel catalog record.
            pub fn catalog_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
                let table = self.redb().open_table(CATALOG).map_err(backend)?;
                Ok(table.get(key).map_err(backend)?.map(|v| v.value().to_vec()))
            }

            /// Up to `limit` kernel catalog records whose key starts with
            /// `prefix`, in key order, after the key `after` if given.
            pub fn catalog_page(
                &self,
                prefix: &str,
                after: Option<&str>,
                limit: usize,
            ) -> Result<Vec<(String, Vec<u8>)>> {
                use std::ops::Bound;
                let table = self.redb().open_table(CATALOG).map_err(backend)?;
                let start = match after {
                    Some(after) if after >= prefix => Bound::Excluded(after),
                    _ => Bound::Included(prefix),
                };
                let mut out = Vec::new();
                for item in table.range::<&str>((start, Bound::Unbounded)).map_err(backend)? {
                    let (key, value) = item.map_err(backend)?;
                    if out.len() >= limit || !key.value().starts_with(prefix) {
                        break;
                    }
                    out.push((key.value().to_owned(), value.value().to_vec()));
                }
                Ok(out)
            }
        }
    };
}

reads!(ReadTxn);
reads!(WriteTxn);

/// Reads of the append-only logs, for both transaction kinds.
macro_rules! log_reads {
    ($txn:ty) => {
        impl $txn {
            /// The last entry of `chain` as `(seq, bytes)`, if any.
            pub fn log_last(&self, chain: &str) -> Result<Option<(u64, Vec<u8>)>> {
                if let Some(tail) = self.remembered_tail(chain) {
                    return Ok(Some(tail));
                }
                let table = self.redb().open_table(LOG).map_err(backend)?;
                let (start, end) = (log_key(chain, 0), log_key(chain, u64::MAX));
                let last =
                    table.range(start.as_slice()..=end.as_slice()).map_err(backend)?.next_back();
                match last {
                    Some(item) => {
                        let (key, value) = item.map_err(backend)?;
                        Ok(Some((log_seq(key.value())?, value.value().to_vec())))
                    }
                    None => Ok(None),
                }
            }

            /// Up to `limit` entries of `chain` from `from_seq` on, in order.
            pub fn log_scan(
                &self,
                chain: &str,
                from_seq: u64,
                limit: usize,
            ) -> Result<Vec<(u64, Vec<u8>)>> {
                let table = self.redb().open_table(LOG).map_err(backend)?;
                let (start, end) = (log_key(chain, from_seq), log_key(chain, u64::MAX));
                let mut out = Vec::new();
                for item in table.range(start.as_slice()..=end.as_slice()).map_err(backend)? {
                    if out.len() >= limit {
                        break;
                    }
                    let (key, value) = item.map_err(backend)?;
                    out.push((log_seq(key.value())?, value.value().to_vec()));
                }
                Ok(out)
            }
        }
    };
}

log_reads!(ReadTxn);
log_reads!(WriteTxn);

fn log_key(chain: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(chain.len() + 9);
    key.extend_from_slice(chain.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn log_seq(key: &[u8]) -> Result<u64> {
    let tail = key.len().checked_sub(8).and_then(|at| key.get(at..)).unwrap_or_default();
    let bytes: [u8; 8] =
        tail.try_into().map_err(|_| Error::Backend("malformed log key".to_owned()))?;
    Ok(u64::from_be_bytes(bytes))
}

impl ReadTxn {
    fn redb(&self) -> &redb::ReadTransaction {
        &self.txn
    }

    /// A snapshot remembers no tails.
    fn remembered_tail(&self, _chain: &str) -> Option<(u64, Vec<u8>)> {
        None
    }

    /// Lists kernel catalog records whose key starts with `prefix`.
    pub fn catalog_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let table = self.redb().open_table(CATALOG).map_err(backend)?;
        let mut out = Vec::new();
        for item in table.range(prefix..).map_err(backend)? {
            let (key, value) = item.map_err(backend)?;
            if !key.value().starts_with(prefix) {
                break;
            }
            out.push((key.value().to_owned(), value.value().to_vec()));
        }
        Ok(out)
    }
}

impl WriteTxn {
    /// Stores a new document; [`Error::Conflict`] if the key exists.
    pub fn insert(
        &mut self,
        ns: &Namespace,
        collection: &CollectionDef,
        key: &str,
        value: &str,
    ) -> Result<()> {
        self.write_doc(ns, collection, key, value, false).map(drop)
    }

    /// Stores a document, replacing any previous one; returns the one it
    /// replaced, so that callers auditing the change need not read it first.
    pub fn put(
        &mut self,
        ns: &Namespace,
        collection: &CollectionDef,
        key: &str,
        value: &str,
    ) -> Result<Option<String>> {
        self.write_doc(ns, collection, key, value, true)
    }

    /// Removes a document and its index entries; returns the document, if
    /// it existed.
    pub fn delete(
        &mut self,
        ns: &Namespace,
        collection: &CollectionDef,
        key: &str,
    ) -> Result<Option<String>> {
        self.count_write()?;
        let full = join(&ns.child(&collection.name), key.as_bytes());
        let mut docs = held(&self.txn).open_table(DOCS).map_err(backend)?;
        let old = docs.remove(full.as_slice()).map_err(backend)?.map(|v| v.value().to_vec());
        let Some(old) = old else { return Ok(None) };
        self.changed = true;
        let old_index = old_index_keys(ns, collection, key, &old)?;
        let removed = docs::text(&old)?;
        self.undo.push(Undo::Doc { key: full, old: Some(old) });
        drop(docs);
        self.reindex(old_index, Vec::new())?;
        Ok(Some(removed))
    }

    /// Returns the next number of a gapless sequence, starting at 1.
    pub fn next_sequence(&mut self, ns: &Namespace, name: &str) -> Result<u64> {
        self.count_write()?;
        let key = ns.child(name);
        let mut table = held(&self.txn).open_table(SEQUENCES).map_err(backend)?;
        let last = table.get(key.as_slice()).map_err(backend)?.map(|v| v.value());
        let next = last
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| Error::LimitExceeded(format!("sequence {name:?} is exhausted")))?;
        table.insert(key.as_slice(), next).map_err(backend)?;
        self.undo.push(Undo::Sequence { key, old: last });
        Ok(next)
    }

    /// Writes a kernel catalog record.
    pub fn catalog_put(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.changed = true;
        let mut table = held(&self.txn).open_table(CATALOG).map_err(backend)?;
        let old = table.insert(key, value).map_err(backend)?.map(|v| v.value().to_vec());
        self.undo.push(Undo::Catalog { key: key.to_owned(), old });
        Ok(())
    }

    /// Removes a kernel catalog record; returns whether it existed.
    pub fn catalog_remove(&mut self, key: &str) -> Result<bool> {
        self.changed = true;
        let mut table = held(&self.txn).open_table(CATALOG).map_err(backend)?;
        let old = table.remove(key).map_err(backend)?.map(|v| v.value().to_vec());
        let existed = old.is_some();
        self.undo.push(Undo::Catalog { key: key.to_owned(), old });
        Ok(existed)
    }

    /// Appends `bytes` at `seq` of `chain`; fails if that position is taken,
    /// so an append-only log can never be rewritten through this API.
    pub fn log_append(&mut self, chain: &str, seq: u64, bytes: &[u8]) -> Result<()> {
        let key = log_key(chain, seq);
        let mut table = held(&self.txn).open_table(LOG).map_err(backend)?;
        // One lookup, not two: an append that finds the position taken
        // (never expected, as appenders read the tail first) puts the
        // entry back before refusing.
        let taken =
            table.insert(key.as_slice(), bytes).map_err(backend)?.map(|v| v.value().to_vec());
        if let Some(old) = taken {
            table.insert(key.as_slice(), old.as_slice()).map_err(backend)?;
            return Err(Error::Conflict {
                collection: format!("log {chain}"),
                key: seq.to_string(),
            });
        }
        self.undo.push(Undo::Log { key, old: None });
        self.tails.remember(chain, seq, bytes);
        self.logged = true;
        Ok(())
    }

    /// Ends this writer's turn keeping its changes, and returns once they
    /// are durable: after the commit of its batch, whose fsync concurrent
    /// writers share (see `batch.rs`). Refused, and rolled back, if it
    /// changed documents or catalog records without appending to a log:
    /// [`Error::Unaudited`].
    pub fn commit(self) -> Result<()> {
        self.finish()?.wait()
    }

    /// Ends this writer's turn keeping its changes, without waiting for
    /// them to be durable: the next writer may go on at once. Answer the
    /// caller only after [`Ticket::wait`]. Refused like [`WriteTxn::commit`].
    pub fn finish(mut self) -> Result<Ticket> {
        if let Some(err) = self.broken.take() {
            let _ = self.end_undone();
            return Err(err);
        }
        if self.changed && !self.logged {
            return Err(Error::Unaudited);
        }
        let Some(txn) = self.txn.take() else { return Ok(Ticket::durable()) };
        let joined = !self.undo.is_empty();
        self.undo = Vec::new();
        let batch = self.shared.release(txn, std::mem::take(&mut self.tails), joined);
        Ok(self.ticket(joined, batch))
    }

    /// A point in this turn to roll back to with
    /// [`WriteTxn::roll_back_to`]: what a nested call (a domain interface's
    /// provider) changed is undone alone if it fails.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint(self.undo.len())
    }

    /// Undoes every change made since `savepoint`, newest first; the
    /// changes before it stay.
    pub fn roll_back_to(&mut self, savepoint: Savepoint) -> Result<()> {
        if savepoint.0 >= self.undo.len() {
            return Ok(());
        }
        let undone = self.undo.split_off(savepoint.0);
        if undone.iter().any(|change| matches!(change, Undo::Log { .. })) {
            self.tails.forget();
        }
        if let Err(err) = undo::roll_back(held(&self.txn), undone) {
            self.broken = Some(Error::Backend(err.to_string()));
            return Err(err);
        }
        self.changed =
            self.undo.iter().any(|c| matches!(c, Undo::Doc { .. } | Undo::Catalog { .. }));
        self.logged = self.undo.iter().any(|c| matches!(c, Undo::Log { .. }));
        Ok(())
    }

    /// Ends this writer's turn undoing its changes, without waiting: as
    /// dropping it does, but the wait for the other writers' changes it
    /// may have read is left to the returned ticket.
    pub fn roll_back(mut self) -> Ticket {
        self.end_undone()
    }

    fn end_undone(&mut self) -> Ticket {
        let Some(txn) = self.txn.take() else { return Ticket::durable() };
        let undo = std::mem::take(&mut self.undo);
        if undo.iter().any(|change| matches!(change, Undo::Log { .. })) {
            self.tails.forget();
        }
        if let Some(err) = self.broken.take() {
            self.shared.poison(txn, &err);
            return Ticket::durable();
        }
        match undo::roll_back(&txn, undo) {
            Ok(()) => {
                let batch = self.shared.release(txn, std::mem::take(&mut self.tails), false);
                self.ticket(false, batch)
            }
            Err(err) => {
                self.shared.poison(txn, &err);
                Ticket::durable()
            }
        }
    }

    /// What a writer that ended its turn waits for: its batch, if it
    /// joined it or read other writers' changes in it.
    fn ticket(&self, joined: bool, batch: u64) -> Ticket {
        let wait = joined || self.observed;
        Ticket { batch: wait.then(|| (Arc::clone(&self.shared), batch)) }
    }

    /// Writes a document; returns the one it replaced.
    fn write_doc(
        &mut self,
        ns: &Namespace,
        collection: &CollectionDef,
        key: &str,
        value: &str,
        replace: bool,
    ) -> Result<Option<String>> {
        self.count_write()?;
        check_key(key, self.limits.key_bytes_max)?;
        self.count_bytes(value.len())?;
        let doc = docs::parse_document(value, self.limits.record_bytes_max)?;
        let new_index = docs::index_keys(ns, collection, key, &doc)?;
        let full = join(&ns.child(&collection.name), key.as_bytes());
        let mut docs = held(&self.txn).open_table(DOCS).map_err(backend)?;
        let old = docs.get(full.as_slice()).map_err(backend)?.map(|v| v.value().to_vec());
        let (old_index, replaced) = match &old {
            Some(_) if !replace => {
                return Err(Error::Conflict {
                    collection: collection.name.clone(),
                    key: key.to_owned(),
                });
            }
            Some(old) => (old_index_keys(ns, collection, key, old)?, Some(docs::text(old)?)),
            None => (Vec::new(), None),
        };
        self.changed = true;
        docs.insert(full.as_slice(), value.as_bytes()).map_err(backend)?;
        self.undo.push(Undo::Doc { key: full, old });
        drop(docs);
        self.reindex(old_index, new_index)?;
        Ok(replaced)
    }

    /// Replaces a document's index entries, if its collection has any.
    fn reindex(&mut self, old: Vec<Vec<u8>>, new: Vec<Vec<u8>>) -> Result<()> {
        if old.is_empty() && new.is_empty() {
            return Ok(());
        }
        let mut index = held(&self.txn).open_table(INDEX).map_err(backend)?;
        docs::reindex(&mut index, old, new, &mut self.undo)
    }

    /// The shared transaction, for reads.
    fn redb(&self) -> &redb::WriteTransaction {
        held(&self.txn)
    }

    /// The last entry of `chain`, if appended to since the database opened.
    fn remembered_tail(&self, chain: &str) -> Option<(u64, Vec<u8>)> {
        self.tails.get(chain)
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
pub struct Closing(std::sync::Weak<Shared>);

impl Closing {
    /// Whether the database file is closed.
    pub fn is_closed(&self) -> bool {
        self.0.strong_count() == 0
    }
}

/// A point in a writer's turn; see [`WriteTxn::savepoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Savepoint(usize);

/// A writer that will begin its turn soon; see [`Storage::announce`].
/// Dropped unused, it takes the announcement back.
pub struct Announced {
    shared: Option<Arc<Shared>>,
    limits: Limits,
}

impl Announced {
    /// Begins the announced writer's turn, waiting while another writer
    /// has its turn.
    pub fn write(mut self) -> Result<WriteTxn> {
        let Some(shared) = self.shared.take() else {
            return Err(Error::Backend("announcement already used".to_owned()));
        };
        let turn = shared.acquire()?;
        Ok(WriteTxn {
            txn: Some(turn.txn),
            tails: turn.tails,
            shared,
            observed: turn.observed,
            undo: Vec::new(),
            limits: self.limits.clone(),
            n_writes: 0,
            n_bytes_written: 0,
            changed: false,
            logged: false,
            broken: None,
        })
    }
}

impl Drop for Announced {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.withdraw();
        }
    }
}

impl Drop for WriteTxn {
    /// Ends a turn that did not commit: its changes are undone, newest
    /// first, and the writers before it in the batch keep theirs. It does
    /// not wait for the batch: a writer that read other writers' changes
    /// and answers without committing ends with [`WriteTxn::roll_back`]
    /// and waits for the ticket.
    fn drop(&mut self) {
        let _ = self.end_undone();
    }
}

/// A writer whose turn ended: [`Ticket::wait`] returns once what it wrote,
/// and what it read of other writers' changes, is durable.
#[must_use = "a write may be acknowledged only once its ticket's wait returns"]
pub struct Ticket {
    batch: Option<(Arc<Shared>, u64)>,
}

impl Ticket {
    /// A ticket with nothing to wait for.
    pub fn durable() -> Self {
        Self { batch: None }
    }

    /// Returns once the batch is durable, leading its commit if nobody is.
    pub fn wait(self) -> Result<()> {
        match self.batch {
            Some((shared, batch)) => shared.wait(batch),
            None => Ok(()),
        }
    }
}

/// The shared transaction of a turn that has not ended; only `commit` and
/// `drop`, which end the turn, take it.
fn held(txn: &Option<redb::WriteTransaction>) -> &redb::WriteTransaction {
    txn.as_ref().expect("a WriteTxn holds its transaction until its turn ends")
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

fn page_size(limits: &Limits, limit: u32) -> Result<usize> {
    if limit == 0 {
        return Err(Error::Invalid("page limit must be at least 1".to_owned()));
    }
    Ok(usize::try_from(limit.min(limits.page_entries_max)).unwrap_or(usize::MAX))
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

/// The index entries of a stored document; it is parsed only if its
/// collection has indexes.
fn old_index_keys(
    ns: &Namespace,
    collection: &CollectionDef,
    key: &str,
    stored: &[u8],
) -> Result<Vec<Vec<u8>>> {
    if collection.indexes.is_empty() {
        return Ok(Vec::new());
    }
    let doc: serde_json::Value = serde_json::from_slice(stored)
        .map_err(|err| Error::Backend(format!("stored document is not JSON: {err}")))?;
    Ok(docs::stored_index_keys(ns, collection, key, &doc))
}

#[cfg(feature = "tamper")]
impl WriteTxn {
    /// Overwrites (or with `None`, removes) a log entry. Tamper tests only.
    pub fn tamper_log(&mut self, chain: &str, seq: u64, bytes: Option<&[u8]>) -> Result<()> {
        let key = log_key(chain, seq);
        let mut table = held(&self.txn).open_table(LOG).map_err(backend)?;
        let old = match bytes {
            Some(bytes) => table.insert(key.as_slice(), bytes).map_err(backend)?,
            None => table.remove(key.as_slice()).map_err(backend)?,
        };
        let old = old.map(|v| v.value().to_vec());
        self.undo.push(Undo::Log { key, old });
        self.tails.forget();
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
        let full = join(&ns.child(collection), key.as_bytes());
        let mut docs = held(&self.txn).open_table(DOCS).map_err(backend)?;
        let old = docs.insert(full.as_slice(), value.as_bytes()).map_err(backend)?;
        let old = old.map(|v| v.value().to_vec());
        self.undo.push(Undo::Doc { key: full, old });
        Ok(())
    }
}
