//! Writes that redb does not hold yet, and reads that see them.
//!
//! A commit is durable once its write-ahead log record is synced (`wal.rs`);
//! redb receives it later, from the applier (`apply.rs`). Until then its
//! writes live in an [`Overlay`]: a persistent ordered map from tagged key
//! to the [`Version`] last written, cloned in O(1) and shared between a
//! lane's writers and its readers. A read consults the overlays that may
//! hold its key, newest first, then a redb snapshot ([`Snapshot`]); a
//! version without a value is a removal.

use std::borrow::Borrow;
use std::ops::{Bound, ControlFlow};
use std::sync::{Arc, OnceLock};

use redb::TableDefinition;

use crate::error::{Error, Result, backend};
use crate::keys::Table;

/// A tagged key (see `keys.rs`): its first byte names its table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key(pub(crate) Arc<[u8]>);

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

/// What a commit wrote to a key: a value, or `None` for a removal, and the
/// commit's position in its lane.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    pub(crate) seq: u64,
    pub(crate) value: Option<Arc<[u8]>>,
}

/// Pending writes by tagged key, the last version of each.
pub(crate) type Overlay = imbl::OrdMap<Key, Version>;

/// What a walk visitor says: go on, or stop here.
pub(crate) type Flow = ControlFlow<()>;

// redb's tables. Keys are the tagged keys without their tag byte.
pub(crate) const DOCS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("docs");
pub(crate) const INDEX: TableDefinition<'_, &[u8], ()> = TableDefinition::new("index");
pub(crate) const SEQUENCES: TableDefinition<'_, &[u8], u64> = TableDefinition::new("sequences");
pub(crate) const CATALOG: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("catalog");
pub(crate) const LOG: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("log");

/// A consistent redb snapshot, with its tables opened once, as first read.
pub(crate) struct Snapshot {
    txn: redb::ReadTransaction,
    docs: OnceLock<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
    index: OnceLock<redb::ReadOnlyTable<&'static [u8], ()>>,
    sequences: OnceLock<redb::ReadOnlyTable<&'static [u8], u64>>,
    catalog: OnceLock<redb::ReadOnlyTable<&'static str, &'static [u8]>>,
    log: OnceLock<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
}

/// The table `cell` holds, opened from `txn` the first time.
fn opened<'c, K: redb::Key + 'static, V: redb::Value + 'static>(
    cell: &'c OnceLock<redb::ReadOnlyTable<K, V>>,
    txn: &redb::ReadTransaction,
    definition: TableDefinition<'_, K, V>,
) -> Result<&'c redb::ReadOnlyTable<K, V>> {
    if let Some(table) = cell.get() {
        return Ok(table);
    }
    let _ = cell.set(txn.open_table(definition).map_err(backend)?);
    cell.get().ok_or_else(|| Error::Backend("a table could not be kept open".to_owned()))
}

/// Evaluates `$body` with `$table` bound to the opened redb table of
/// `$which`, one whose keys are `&[u8]`: every table but the catalog.
macro_rules! with_table {
    ($snapshot:expr, $which:expr, |$table:ident| $body:expr) => {
        match $which {
            Table::Docs => {
                let $table = opened(&$snapshot.docs, &$snapshot.txn, DOCS)?;
                $body
            }
            Table::Index => {
                let $table = opened(&$snapshot.index, &$snapshot.txn, INDEX)?;
                $body
            }
            Table::Sequences => {
                let $table = opened(&$snapshot.sequences, &$snapshot.txn, SEQUENCES)?;
                $body
            }
            Table::Log => {
                let $table = opened(&$snapshot.log, &$snapshot.txn, LOG)?;
                $body
            }
            Table::Catalog => {
                return Err(Error::Backend("the catalog has text keys".to_owned()));
            }
        }
    };
}

/// A stored value as bytes: a counter as 8 bytes big-endian, an index
/// entry as nothing.
trait StoredBytes {
    fn stored_bytes(&self) -> Vec<u8>;
}

impl StoredBytes for redb::AccessGuard<'_, &[u8]> {
    fn stored_bytes(&self) -> Vec<u8> {
        self.value().to_vec()
    }
}

impl StoredBytes for redb::AccessGuard<'_, ()> {
    fn stored_bytes(&self) -> Vec<u8> {
        Vec::new()
    }
}

impl StoredBytes for redb::AccessGuard<'_, u64> {
    fn stored_bytes(&self) -> Vec<u8> {
        self.value().to_be_bytes().to_vec()
    }
}

/// Visits stored entries (untagged key, value) in order.
type VisitStored<'v> = dyn FnMut(&[u8], Vec<u8>) -> Result<Flow> + 'v;
/// Visits entries (untagged key, value) in order.
pub(crate) type Visit<'v> = dyn FnMut(&[u8], &[u8]) -> Result<Flow> + 'v;

fn catalog_str(key: &[u8]) -> Result<&str> {
    std::str::from_utf8(key).map_err(|_| Error::Invalid("catalog keys are UTF-8 text".to_owned()))
}

impl Snapshot {
    pub(crate) fn new(txn: redb::ReadTransaction) -> Self {
        Self {
            txn,
            docs: OnceLock::new(),
            index: OnceLock::new(),
            sequences: OnceLock::new(),
            catalog: OnceLock::new(),
            log: OnceLock::new(),
        }
    }

    /// The value stored under a tagged key.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (table, body) = split(key)?;
        if table == Table::Catalog {
            let catalog = opened(&self.catalog, &self.txn, CATALOG)?;
            let found = catalog.get(catalog_str(body)?).map_err(backend)?;
            return Ok(found.map(|v| v.value().to_vec()));
        }
        with_table!(self, table, |t| {
            let found = t.get(body).map_err(backend)?;
            Ok(found.map(|v| v.stored_bytes()))
        })
    }

    /// Visits the stored entries of one table from the tagged key `lower`
    /// (inclusive) to `upper` (exclusive, same table), in key order, with
    /// their keys untagged.
    fn for_each(
        &self,
        lower: &[u8],
        upper: Option<&[u8]>,
        visit: &mut VisitStored<'_>,
    ) -> Result<Flow> {
        let (table, low) = split(lower)?;
        let high = upper.map(|upper| split(upper).map(|(_, body)| body)).transpose()?;
        if table == Table::Catalog {
            let catalog = opened(&self.catalog, &self.txn, CATALOG)?;
            let (low, high) = (catalog_str(low)?, high.map(catalog_str).transpose()?);
            let range = match high {
                Some(high) => catalog.range::<&str>(low..high),
                None => catalog.range::<&str>(low..),
            };
            for item in range.map_err(backend)? {
                let (key, value) = item.map_err(backend)?;
                if visit(key.value().as_bytes(), value.value().to_vec())?.is_break() {
                    return Ok(Flow::Break(()));
                }
            }
            return Ok(Flow::Continue(()));
        }
        with_table!(self, table, |t| {
            let range = match high {
                Some(high) => t.range::<&[u8]>(low..high),
                None => t.range::<&[u8]>(low..),
            };
            for item in range.map_err(backend)? {
                let (key, value) = item.map_err(backend)?;
                if visit(key.value(), value.stored_bytes())?.is_break() {
                    return Ok(Flow::Break(()));
                }
            }
            Ok(Flow::Continue(()))
        })
    }

    /// The stored entries from `lower` to `upper` (both tagged, exclusive
    /// upper), last first: for finding the end of a log.
    fn rev_for_each(&self, lower: &[u8], upper: &[u8], visit: &mut VisitStored<'_>) -> Result<()> {
        let (table, low) = split(lower)?;
        let (_, high) = split(upper)?;
        if table == Table::Catalog {
            return Err(Error::Backend("the catalog is not read backwards".to_owned()));
        }
        with_table!(self, table, |t| {
            for item in t.range::<&[u8]>(low..high).map_err(backend)?.rev() {
                let (key, value) = item.map_err(backend)?;
                if visit(key.value(), value.stored_bytes())?.is_break() {
                    break;
                }
            }
            Ok(())
        })
    }
}

fn split(key: &[u8]) -> Result<(Table, &[u8])> {
    let table = Table::of(key).ok_or_else(|| Error::Backend("key without a table".to_owned()))?;
    Ok((table, &key[1..]))
}

/// A snapshot seen through overlays: what one transaction reads.
pub(crate) struct Layers<'a> {
    pub(crate) snapshot: &'a Snapshot,
    /// The overlays that may hold the keys read; disjoint (each holds one
    /// lane's keys), so their order does not matter.
    pub(crate) overlays: Vec<&'a Overlay>,
}

impl Layers<'_> {
    /// The value of a tagged key.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        for overlay in &self.overlays {
            if let Some(version) = overlay.get(key) {
                return Ok(version.value.as_deref().map(<[u8]>::to_vec));
            }
        }
        self.snapshot.get(key)
    }

    /// Visits the entries from the tagged key `lower` (inclusive) to
    /// `upper` (exclusive; the end of the table if none), in key order,
    /// overlays over the snapshot, with their keys untagged.
    pub(crate) fn walk(
        &self,
        lower: &[u8],
        upper: Option<&[u8]>,
        visit: &mut Visit<'_>,
    ) -> Result<()> {
        let table_end = [lower.first().copied().unwrap_or(0).saturating_add(1)];
        let end = upper.unwrap_or(&table_end);
        let range = (Bound::Included(lower), Bound::Excluded(end));
        let pending = self
            .overlays
            .iter()
            .map(|overlay| {
                let entries: Pending<'_> = Box::new(overlay.range::<_, [u8]>(range));
                entries.peekable()
            })
            .collect();
        let mut merge = Merge { pending, visit };
        let flow =
            self.snapshot.for_each(lower, upper, &mut |key, value| merge.stored(key, &value))?;
        if flow.is_continue() {
            merge.rest()?;
        }
        Ok(())
    }

    /// The last entry from `lower` (inclusive) to `upper` (exclusive), both
    /// tagged: its untagged key and value.
    pub(crate) fn last(&self, lower: &[u8], upper: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let range = (Bound::Included(lower), Bound::Excluded(upper));
        let mut best: Option<(Vec<u8>, Vec<u8>)> = None;
        for overlay in &self.overlays {
            let last = overlay.range::<_, [u8]>(range).rev().find(|(_, v)| v.value.is_some());
            if let Some((key, Version { value: Some(value), .. })) = last
                && best.as_ref().is_none_or(|(k, _)| k.as_slice() < &key.0[1..])
            {
                best = Some((key.0[1..].to_vec(), value.to_vec()));
            }
        }
        let table = lower.first().copied().unwrap_or(0);
        let mut stored = None;
        self.snapshot.rev_for_each(lower, upper, &mut |key, value| {
            let mut tagged = Vec::with_capacity(key.len() + 1);
            tagged.push(table);
            tagged.extend_from_slice(key);
            // A key an overlay holds is the overlay's to answer for: with a
            // value, the overlay's last entry is at least this one; removed,
            // look further back.
            match self.overlays.iter().find_map(|o| o.get(tagged.as_slice())) {
                Some(Version { value: Some(_), .. }) => Ok(Flow::Break(())),
                Some(Version { value: None, .. }) => Ok(Flow::Continue(())),
                None => {
                    stored = Some((key.to_vec(), value));
                    Ok(Flow::Break(()))
                }
            }
        })?;
        Ok(match (best, stored) {
            (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
            (a, b) => a.or(b),
        })
    }
}

/// An overlay's entries in a range, in key order.
type Pending<'m> = Box<dyn Iterator<Item = (&'m Key, &'m Version)> + 'm>;

/// Merges overlays' pending entries into a walk of stored ones.
struct Merge<'m, 'v> {
    pending: Vec<std::iter::Peekable<Pending<'m>>>,
    visit: &'v mut Visit<'v>,
}

impl<'m> Merge<'m, '_> {
    /// Takes the smallest pending entry, if any is at most `at_most`.
    fn next_pending(&mut self, at_most: Option<&[u8]>) -> Option<(&'m Key, &'m Version)> {
        let (index, _) = self
            .pending
            .iter_mut()
            .enumerate()
            .filter_map(|(i, entries)| entries.peek().map(|(k, _)| (i, &k.0[1..])))
            .filter(|(_, key)| at_most.is_none_or(|at_most| *key <= at_most))
            .min_by(|a, b| a.1.cmp(b.1))?;
        self.pending[index].next()
    }

    fn emit(&mut self, key: &[u8], version: &Version) -> Result<Flow> {
        match &version.value {
            Some(value) => (self.visit)(key, value),
            None => Ok(Flow::Continue(())),
        }
    }

    /// A stored entry: pending entries up to it go first, and one with its
    /// key replaces it.
    fn stored(&mut self, key: &[u8], value: &[u8]) -> Result<Flow> {
        let mut shadowed = false;
        while let Some((pending, version)) = self.next_pending(Some(key)) {
            let pending = &pending.0[1..];
            shadowed |= pending == key;
            if self.emit(pending, version)?.is_break() {
                return Ok(Flow::Break(()));
            }
        }
        if shadowed { Ok(Flow::Continue(())) } else { (self.visit)(key, value) }
    }

    /// The pending entries after the last stored one.
    fn rest(&mut self) -> Result<()> {
        while let Some((key, version)) = self.next_pending(None) {
            if self.emit(&key.0[1..], version)?.is_break() {
                break;
            }
        }
        Ok(())
    }
}
