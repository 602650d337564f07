//! A copy of the whole database as of one read snapshot, for backups:
//! every lane's durable commits, whether redb holds them yet or only the
//! write-ahead log, written into a new redb file that opens as a database
//! of its own (with an empty log).

use std::path::Path;

use redb::{Database, Durability, TableDefinition};

use super::{ReadTxn, Scope};
use crate::apply::META;
use crate::error::{Error, Result};
use crate::keys::Table;
use crate::overlay::{CATALOG, DOCS, INDEX, LOG, SEQUENCES};

/// Entries written per redb transaction of a copy.
const BATCH_ENTRIES: usize = 10_000;
/// Bytes of entries written per redb transaction of a copy.
const BATCH_BYTES: usize = 16 << 20;

/// What a copy holds, table by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Plugin documents.
    pub documents: u64,
    /// Index entries of plugin documents.
    pub index_entries: u64,
    /// Gapless sequence counters.
    pub sequences: u64,
    /// The kernel's catalog records.
    pub catalog_records: u64,
    /// Audit chain entries.
    pub log_entries: u64,
}

impl Copied {
    fn count(&mut self, table: Table) {
        let counter = match table {
            Table::Docs => &mut self.documents,
            Table::Index => &mut self.index_entries,
            Table::Sequences => &mut self.sequences,
            Table::Catalog => &mut self.catalog_records,
            Table::Log => &mut self.log_entries,
        };
        *counter += 1;
    }
}

impl ReadTxn {
    /// What [`ReadTxn::copy_to`] would copy of this snapshot, counted.
    pub fn tally(&self) -> Result<Copied> {
        let layers = self.layers(Scope::All);
        let mut counted = Copied::default();
        for table in Table::ALL {
            layers.walk(&[table.tag()], None, &mut |_, _| {
                counted.count(table);
                Ok(std::ops::ControlFlow::Continue(()))
            })?;
        }
        Ok(counted)
    }

    /// Writes everything this snapshot holds into a new database file at
    /// `file` (refused if it exists), synced before this returns. What
    /// commits after the snapshot is not in it; nothing waits for the copy.
    /// `copying` is told what is copied so far after each batch.
    pub fn copy_to(&self, file: &Path, copying: &mut dyn FnMut(&Copied)) -> Result<Copied> {
        if file.exists() {
            return Err(Error::Invalid(format!(
                "{} exists; a copy goes to a new file",
                file.display()
            )));
        }
        let db = Database::create(file).map_err(|err| {
            Error::Backend(format!("cannot create the copy {}: {err}", file.display()))
        })?;
        let layers = self.layers(Scope::All);
        let mut copied = Copied::default();
        for table in Table::ALL {
            let mut batch: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            let mut bytes = 0;
            let mut failed = None;
            layers.walk(&[table.tag()], None, &mut |key, value| {
                bytes += key.len() + value.len();
                batch.push((key.to_vec(), value.to_vec()));
                copied.count(table);
                if batch.len() >= BATCH_ENTRIES || bytes >= BATCH_BYTES {
                    if let Err(err) = write(&db, table, &batch) {
                        failed = Some(err);
                        return Ok(std::ops::ControlFlow::Break(()));
                    }
                    copying(&copied);
                    batch.clear();
                    bytes = 0;
                }
                Ok(std::ops::ControlFlow::Continue(()))
            })?;
            if let Some(err) = failed {
                return Err(err);
            }
            write(&db, table, &batch)?;
            copying(&copied);
        }
        // Every lane's commits are in the copy and its log starts empty:
        // a lane this kernel wrote goes on from the position the snapshot
        // shows, any other from 0, which an empty log allows (positions
        // only order a log's records; sequences and chains are data).
        let mut txn = db.begin_write().map_err(backend)?;
        txn.set_durability(Durability::Immediate).map_err(backend)?;
        {
            // Every table exists, empty or not, as the kernel expects.
            txn.open_table(DOCS).map_err(backend)?;
            txn.open_table(LOG).map_err(backend)?;
            txn.open_table(INDEX).map_err(backend)?;
            txn.open_table(SEQUENCES).map_err(backend)?;
            txn.open_table(CATALOG).map_err(backend)?;
            let mut meta = txn.open_table(META).map_err(backend)?;
            for (lane, view) in &self.view.lanes {
                let at = view.durable.max(view.applied);
                meta.insert(format!("lane/{}", lane.name()).as_str(), at).map_err(backend)?;
            }
        }
        txn.commit().map_err(backend)?;
        Ok(copied)
    }
}

/// Writes `batch` (untagged keys of `table`) into `db`, unsynced: the
/// copy's last transaction syncs them all.
fn write(db: &Database, table: Table, batch: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut txn = db.begin_write().map_err(backend)?;
    txn.set_durability(Durability::None).map_err(backend)?;
    match table {
        Table::Docs => put(&txn, DOCS, batch)?,
        Table::Log => put(&txn, LOG, batch)?,
        Table::Index => {
            let mut index = txn.open_table(INDEX).map_err(backend)?;
            for (key, _) in batch {
                index.insert(key.as_slice(), ()).map_err(backend)?;
            }
        }
        Table::Sequences => {
            let mut sequences = txn.open_table(SEQUENCES).map_err(backend)?;
            for (key, value) in batch {
                let bytes: [u8; 8] = value
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::Backend("a sequence value is not 8 bytes".to_owned()))?;
                sequences.insert(key.as_slice(), u64::from_be_bytes(bytes)).map_err(backend)?;
            }
        }
        Table::Catalog => {
            let mut catalog = txn.open_table(CATALOG).map_err(backend)?;
            for (key, value) in batch {
                let key = std::str::from_utf8(key)
                    .map_err(|_| Error::Backend("a catalog key is not UTF-8".to_owned()))?;
                catalog.insert(key, value.as_slice()).map_err(backend)?;
            }
        }
    }
    txn.commit().map_err(backend)
}

fn put(
    txn: &redb::WriteTransaction,
    definition: TableDefinition<'_, &[u8], &[u8]>,
    batch: &[(Vec<u8>, Vec<u8>)],
) -> Result<()> {
    let mut table = txn.open_table(definition).map_err(backend)?;
    for (key, value) in batch {
        table.insert(key.as_slice(), value.as_slice()).map_err(backend)?;
    }
    Ok(())
}

fn backend(err: impl std::fmt::Display) -> Error {
    Error::Backend(format!("copying the database: {err}"))
}
