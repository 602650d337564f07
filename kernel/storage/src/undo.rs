//! The undo log of one writer's turn in the shared transaction (see
//! `batch.rs`): each change records what it replaced, so a writer that
//! fails is rolled back alone, newest change first.

use crate::docs::{DOCS, INDEX, SEQUENCES};
use crate::error::{Result, backend};
use crate::txn::{CATALOG, LOG};

/// One change, and what to put back.
#[derive(Debug)]
pub(crate) enum Undo {
    /// A document written or deleted, and its value before.
    Doc { key: Vec<u8>, old: Option<Vec<u8>> },
    /// An index entry added (`existed: false`) or removed.
    Index { key: Vec<u8>, existed: bool },
    /// A sequence advanced from `old`.
    Sequence { key: Vec<u8>, old: Option<u64> },
    /// A catalog record written or removed, and its value before.
    Catalog { key: String, old: Option<Vec<u8>> },
    /// A log entry appended (`old: None`), or overwritten by a tamper test.
    Log { key: Vec<u8>, old: Option<Vec<u8>> },
}

/// Puts back what `log` replaced, newest first.
pub(crate) fn roll_back(txn: &redb::WriteTransaction, log: Vec<Undo>) -> Result<()> {
    let mut docs = txn.open_table(DOCS).map_err(backend)?;
    let mut index = txn.open_table(INDEX).map_err(backend)?;
    let mut sequences = txn.open_table(SEQUENCES).map_err(backend)?;
    let mut catalog = txn.open_table(CATALOG).map_err(backend)?;
    let mut logs = txn.open_table(LOG).map_err(backend)?;
    for undo in log.into_iter().rev() {
        match undo {
            Undo::Doc { key, old } => restore(&mut docs, key.as_slice(), old.as_deref())?,
            Undo::Index { key, existed } => {
                restore(&mut index, key.as_slice(), existed.then_some(()))?;
            }
            Undo::Sequence { key, old } => restore(&mut sequences, key.as_slice(), old)?,
            Undo::Catalog { key, old } => restore(&mut catalog, key.as_str(), old.as_deref())?,
            Undo::Log { key, old } => restore(&mut logs, key.as_slice(), old.as_deref())?,
        }
    }
    Ok(())
}

/// Sets `key` back to `old`, or removes it if it was absent.
fn restore<'k, 'v, K: redb::Key + 'static, V: redb::Value + 'static>(
    table: &mut redb::Table<'_, K, V>,
    key: impl std::borrow::Borrow<K::SelfType<'k>>,
    old: Option<impl std::borrow::Borrow<V::SelfType<'v>>>,
) -> Result<()> {
    match old {
        Some(old) => drop(table.insert(key, old).map_err(backend)?),
        None => drop(table.remove(key).map_err(backend)?),
    }
    Ok(())
}
