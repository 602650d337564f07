//! `keel:kernel/records`: the plugin's documents, always within the
//! namespace of the call's tenant and the plugin itself.

use keel_storage::{DocChange, Error as StorageError, KeyRange as StorageRange};
use keel_types::action;
use keel_types::schema::{CollectionDef, check_name};

use crate::bindings::WitError;
use crate::bindings::keel::kernel::records::{Entry, Host, KeyRange, Page};
use crate::call::CallState;
use crate::package::Plugin;
use std::sync::Arc;

/// A host-call result: the outer error traps the guest (a kernel fault),
/// the inner one is returned to it.
type HostResult<T> = wasmtime::Result<Result<T, WitError>>;

/// A collection the plugin's manifest declares; holds the plugin, so the
/// declaration is borrowed, not copied, on every call.
struct Declared {
    plugin: Arc<Plugin>,
    at: usize,
}

impl std::ops::Deref for Declared {
    type Target = CollectionDef;

    fn deref(&self) -> &CollectionDef {
        &self.plugin.manifest().collections[self.at]
    }
}

impl CallState {
    /// The manifest's declaration of `collection`, or an error naming it.
    fn collection(&self, collection: &str) -> Result<Declared, WitError> {
        let at = self.plugin.manifest().collections.iter().position(|c| c.name == collection);
        at.map(|at| Declared { plugin: Arc::clone(&self.plugin), at }).ok_or_else(|| {
            WitError::Invalid(format!(
                "collection {collection:?} is not declared in the manifest of plugin {}",
                self.plugin.manifest().id
            ))
        })
    }

    /// Maps a storage result: guest-fixable errors go back to the guest;
    /// backend failures trap and are remembered, so the call fails as a
    /// storage error and its transaction is abandoned.
    pub(super) fn storage<T>(&mut self, result: keel_storage::Result<T>) -> HostResult<T> {
        let err = match result {
            Ok(value) => return Ok(Ok(value)),
            Err(err) => err,
        };
        let message = err.to_string();
        Ok(Err(match err {
            StorageError::Conflict { .. } => WitError::Conflict(message),
            StorageError::Invalid(_) => WitError::Invalid(message),
            StorageError::LimitExceeded(_) => WitError::LimitExceeded(message),
            StorageError::ReadOnly => WitError::Denied(message),
            err => {
                self.storage_fault = Some(crate::call::storage_error(err));
                return Err(wasmtime::Error::msg(message));
            }
        }))
    }
}

impl CallState {
    /// Writes a document change and its audit record in the call's
    /// transaction: both commit, or neither. `write` returns the document
    /// before and after, or `None` if it changed nothing.
    fn audited(
        &mut self,
        action: keel_types::Action,
        def: &CollectionDef,
        key: &str,
        write: impl FnOnce(
            &mut keel_storage::WriteTxn,
            &keel_storage::Namespace,
        ) -> keel_storage::Result<Option<DocChange>>,
    ) -> HostResult<bool> {
        let ns = &self.ns;
        let origin = &self.origin;
        let result = crate::call::writable(&mut self.txn).and_then(|txn| {
            let Some(change) = write(txn, ns)? else { return Ok(false) };
            let record = keel_audit::Record {
                plugin: Some(ns.plugin().to_string()),
                collection: Some(def.name.clone()),
                key: Some(key.to_owned()),
                // A sensitive document's value before is left out: it may
                // be one stored in plain text before its collection was
                // sealed. Verification needs only the value after.
                before: change.before.filter(|_| !def.sensitive),
                after: change.after,
                ..origin.record(action)
            };
            keel_audit::append(txn, &keel_audit::chain_of(Some(ns.tenant())), record)?;
            Ok(true)
        });
        self.storage(result)
    }
}

impl CallState {
    /// `value` as storage keeps it: sealed, in a sensitive collection
    /// (checked to be a JSON object first, as storage would).
    fn stored(&self, def: &CollectionDef, key: &str, value: String) -> Result<String, WitError> {
        if !def.sensitive {
            return Ok(value);
        }
        if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&value).is_err() {
            return Err(WitError::Invalid("document must be a JSON object".to_owned()));
        }
        let context = crate::sealing::context(&self.ns, &def.name, key);
        self.data_keys.seal(&context, &value).map_err(WitError::Invalid)
    }

    /// A stored document as the plugin reads it: opened, in a sensitive
    /// collection. One that cannot be opened fails the call.
    fn opened(
        &mut self,
        def: &CollectionDef,
        key: &str,
        stored: String,
    ) -> wasmtime::Result<String> {
        if !def.sensitive {
            return Ok(stored);
        }
        let context = crate::sealing::context(&self.ns, &def.name, key);
        self.data_keys.open(&context, &stored).map_err(|why| {
            self.storage_fault = Some(crate::error::CallError::Internal(why.clone()));
            wasmtime::Error::msg(why)
        })
    }

    /// The documents of `page` as the plugin reads them.
    fn opened_page(&mut self, def: &CollectionDef, mut page: Page) -> wasmtime::Result<Page> {
        for entry in &mut page.entries {
            entry.value = self.opened(def, &entry.key, std::mem::take(&mut entry.value))?;
        }
        Ok(page)
    }

    /// Remembers the documents of a sensitive collection that `page`
    /// returns (see [`CallState::note_read`]): all of them, or, if they do
    /// not all fit, none, and the page is refused.
    fn note_reads(&mut self, def: &CollectionDef, page: Page) -> Result<Page, WitError> {
        if def.sensitive {
            let reads = page.entries.iter().map(|entry| (def.name.clone(), entry.key.clone()));
            self.note_read(reads.collect())?;
        }
        Ok(page)
    }

    /// Remembers that the call read documents of a sensitive collection:
    /// each one is audited when the call ends, and those records count as
    /// writes, so a call may read at most `writes_per_call_max` of them,
    /// with the providers it calls. Past that the read is refused before
    /// the guest sees the documents.
    fn note_read(&mut self, reads: Vec<(String, String)>) -> Result<(), WitError> {
        let new: Vec<_> = reads.into_iter().filter(|r| !self.sensitive_reads.contains(r)).collect();
        let max = self.limits.writes_per_call_max;
        if self.n_reads().saturating_add(new.len()) > usize::try_from(max).unwrap_or(usize::MAX) {
            return Err(WitError::LimitExceeded(format!(
                "a call may read at most {max} documents of sensitive collections (each read is audited)"
            )));
        }
        self.sensitive_reads.extend(new);
        Ok(())
    }
}

fn range(range: KeyRange) -> StorageRange {
    StorageRange { prefix: range.prefix, start: range.start, end: range.end }
}

fn page(page: keel_storage::Page) -> Page {
    Page {
        entries: page.entries.into_iter().map(|e| Entry { key: e.key, value: e.value }).collect(),
        cursor: page.cursor,
    }
}

impl Host for CallState {
    fn get(&mut self, collection: String, key: String) -> HostResult<Option<String>> {
        let def = match self.collection(&collection) {
            Ok(def) => def,
            Err(err) => return Ok(Err(err)),
        };
        let result = self.txn().and_then(|txn| txn.get(&self.ns, &collection, &key));
        let found = match self.storage(result)? {
            Ok(Some(stored)) => Ok(Some(self.opened(&def, &key, stored)?)),
            other => other,
        };
        if def.sensitive
            && matches!(found, Ok(Some(_)))
            && let Err(err) = self.note_read(vec![(collection, key)])
        {
            return Ok(Err(err));
        }
        Ok(found)
    }

    fn insert(&mut self, collection: String, key: String, value: String) -> HostResult<()> {
        let def = match self.collection(&collection) {
            Ok(def) => def,
            Err(err) => return Ok(Err(err)),
        };
        let value = match self.stored(&def, &key, value) {
            Ok(value) => value,
            Err(err) => return Ok(Err(err)),
        };
        let done = self.audited(action::RECORD_INSERT, &def, &key, |txn, ns| {
            txn.insert(ns, &def, &key, &value).map(Some)
        })?;
        Ok(done.map(drop))
    }

    fn put(&mut self, collection: String, key: String, value: String) -> HostResult<()> {
        let def = match self.collection(&collection) {
            Ok(def) => def,
            Err(err) => return Ok(Err(err)),
        };
        let value = match self.stored(&def, &key, value) {
            Ok(value) => value,
            Err(err) => return Ok(Err(err)),
        };
        let done = self.audited(action::RECORD_PUT, &def, &key, |txn, ns| {
            txn.put(ns, &def, &key, &value).map(Some)
        })?;
        Ok(done.map(drop))
    }

    fn delete(&mut self, collection: String, key: String) -> HostResult<bool> {
        let def = match self.collection(&collection) {
            Ok(def) => def,
            Err(err) => return Ok(Err(err)),
        };
        self.audited(action::RECORD_DELETE, &def, &key, |txn, ns| txn.delete(ns, &def, &key))
    }

    fn scan(
        &mut self,
        collection: String,
        key_range: KeyRange,
        cursor: Option<String>,
        limit: u32,
    ) -> HostResult<Page> {
        let def = match self.collection(&collection) {
            Ok(def) => def,
            Err(err) => return Ok(Err(err)),
        };
        let result = self.txn().and_then(|txn| {
            txn.scan(&self.ns, &collection, &range(key_range), cursor.as_deref(), limit)
        });
        let found = match self.storage(result.map(page))? {
            Ok(page) => self.note_reads(&def, page),
            Err(err) => Err(err),
        };
        match found {
            Ok(page) => Ok(Ok(self.opened_page(&def, page)?)),
            Err(err) => Ok(Err(err)),
        }
    }

    fn lookup(
        &mut self,
        collection: String,
        index: String,
        key_range: KeyRange,
        cursor: Option<String>,
        limit: u32,
    ) -> HostResult<Page> {
        let def = match self.collection(&collection) {
            Ok(def) => def,
            Err(err) => return Ok(Err(err)),
        };
        if !def.indexes.iter().any(|i| i.name == index) {
            return Ok(Err(WitError::Invalid(format!(
                "index {index:?} is not declared on collection {collection:?}"
            ))));
        }
        let result = self.txn().and_then(|txn| {
            txn.lookup(&self.ns, &collection, &index, &range(key_range), cursor.as_deref(), limit)
        });
        let found = self.storage(result.map(page))?;
        Ok(found.and_then(|page| self.note_reads(&def, page)))
    }

    fn next_sequence(&mut self, name: String) -> HostResult<u64> {
        if let Err(err) = check_name("sequence name", &name) {
            return Ok(Err(WitError::Invalid(err.to_string())));
        }
        let result =
            crate::call::writable(&mut self.txn).and_then(|txn| txn.next_sequence(&self.ns, &name));
        self.storage(result)
    }
}
