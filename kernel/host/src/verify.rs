//! Verifying an audit chain against the store, on one snapshot: the chain
//! entry by entry as it is read, then every item its lane holds
//! (documents, index entries, sequence counters, catalog records) against
//! what the chain last said of it. Nothing is written around the chain
//! without being named.
//!
//! Memory is bounded by the number of items the chain speaks of (48 bytes
//! each), never by its length: entries are read a page at a time and only
//! a digest of each item's name and last value is kept.

use std::collections::HashMap;
use std::sync::Arc;

use keel_audit::{Broken, Sealed, Summary};
use keel_storage::{ReadTxn, Stored};
use keel_types::{PluginId, TenantId};
use sha2::{Digest, Sha256};

use crate::error::CallError;
use crate::host::{Host, Version};
use crate::package::Plugin;

/// Entries, and stored items, read at a time.
const PAGE: usize = 1_000;

/// Checks a catalog record against the records it indexes or that index
/// it (a token's digest and the token, see [`Stored::CatalogIndex`]): what
/// is wrong with it, if anything. Given every catalog record of the lane
/// that the chain's seals account for, and every one it cannot.
pub type CatalogIndexCheck = dyn Fn(&ReadTxn, &str, &[u8]) -> Option<String> + Sync;

/// A digest of an item's name, or of its value.
type Digest16 = [u8; 16];

/// What the chain last said of an item: the entry, and a digest of the
/// value it left (none: removed).
struct Said {
    seq: u64,
    value: Option<Digest16>,
    /// A catalog record (checked first, before what the catalog says how
    /// to check: the packages that declare collections and indexes).
    catalog: bool,
}

fn digest16(bytes: &[u8]) -> Digest16 {
    let full = Sha256::digest(bytes);
    let mut out = [0; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// The name verification gives a plugin document.
fn doc_name(plugin: &str, collection: &str, key: &str) -> String {
    format!("document {plugin}/{collection}/{key}")
}

/// A document's value as the chain and the store are compared: parsed and
/// written again, so that the same JSON reads the same either way.
fn doc_digest(value: &serde_json::Value) -> Digest16 {
    digest16(&serde_json::to_vec(value).unwrap_or_default())
}

fn stored_doc_digest(bytes: &[u8]) -> Digest16 {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => doc_digest(&value),
        // Unreadable: compared as it is, it differs from any audited value.
        Err(_) => digest16(bytes),
    }
}

/// The items a record speaks of, by name, with the digest of the value it
/// left each with.
fn spoken_of(record: &keel_audit::Record) -> Vec<(String, Option<Digest16>)> {
    let mut items = Vec::with_capacity(record.seals.len() + 1);
    if record.writes_document()
        && let (Some(plugin), Some(collection), Some(key)) =
            (&record.plugin, &record.collection, &record.key)
    {
        items.push((doc_name(plugin, collection, key), record.after.as_ref().map(doc_digest)));
    }
    for (name, digest) in &record.seals {
        // An intact chain holds the digests the kernel wrote: 64 hex digits.
        let value = digest.as_deref().map(|hex| {
            let mut out = [0; 16];
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = hex
                    .get(2 * i..2 * i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .unwrap_or(0);
            }
            out
        });
        items.push((name.clone(), value));
    }
    items
}

impl Host {
    /// Checks `tenant`'s chain (or the platform's) and its lane of the
    /// store on one snapshot. The chain must be whole and in order, and
    /// match `expected` heads (entry counts and head hashes recorded
    /// earlier: kept signed heads, or one kept elsewhere), so a chain cut
    /// short or rewritten is named. Then every item of the lane must hold
    /// what the chain last said of it: a document, catalog record or
    /// sequence written, changed or removed around the kernel is named, as
    /// is an index entry that its documents do not explain. `catalog_index`
    /// checks catalog records that index others.
    pub fn audit_verify(
        &self,
        tenant: Option<&TenantId>,
        expected: &[(u64, String)],
        catalog_index: &CatalogIndexCheck,
    ) -> Result<Result<Summary, Broken>, CallError> {
        let txn = self.inner.storage.read().map_err(storage_err)?;
        let chain = keel_audit::chain_of(tenant);
        let mut said = HashMap::new();
        let summary = match read_chain(&txn, &chain, expected, &mut said)? {
            Ok(summary) => summary,
            Err(broken) => return Ok(Err(broken)),
        };
        let mut reconcile = Reconcile {
            host: self,
            txn: &txn,
            tenant,
            said,
            plugins: HashMap::new(),
            indexes: HashMap::new(),
            needed: std::collections::HashSet::new(),
            catalog_index,
            catalog_done: false,
        };
        match reconcile.run(&chain)? {
            Some(broken) => Ok(Err(broken)),
            None => Ok(Ok(summary)),
        }
    }
}

/// Checks `chain` a page at a time against `expected` heads, noting in
/// `said` what each entry says of the items it wrote.
fn read_chain(
    txn: &ReadTxn,
    chain: &str,
    expected: &[(u64, String)],
    said: &mut HashMap<Digest16, Said>,
) -> Result<Result<Summary, Broken>, CallError> {
    let mut verifier = keel_audit::Verifier::default();
    let mut from = 0;
    loop {
        let page = txn.log_scan(chain, from, PAGE).map_err(storage_err)?;
        let Some((last, _)) = page.last() else { break };
        from = last + 1;
        for (position, bytes) in page {
            let sealed = match verifier.check(position, &bytes) {
                Ok(sealed) => sealed,
                Err(broken) => return Ok(Err(broken)),
            };
            if let Some(broken) = rewritten(expected, &sealed) {
                return Ok(Err(broken));
            }
            for (name, value) in spoken_of(&sealed.record) {
                let catalog = name.starts_with("catalog:");
                said.insert(digest16(name.as_bytes()), Said { seq: sealed.seq, value, catalog });
            }
        }
    }
    let summary = verifier.summary();
    if let Some((n, _)) = expected.iter().filter(|(n, _)| *n > summary.entries).max() {
        return Ok(Err(Broken {
            seq: summary.entries + 1,
            reason: format!(
                "the chain was truncated: {n} entries were recorded, {} remain",
                summary.entries
            ),
        }));
    }
    Ok(Ok(summary))
}

/// Whether `sealed` differs from a head recorded at its position.
fn rewritten(expected: &[(u64, String)], sealed: &Sealed) -> Option<Broken> {
    expected.iter().any(|(n, head)| *n == sealed.seq && *head != sealed.hash).then(|| Broken {
        seq: sealed.seq,
        reason: "entry does not match the recorded head: the chain was rewritten".to_owned(),
    })
}

/// The walk of a lane's items against what its chain said of them.
struct Reconcile<'a> {
    host: &'a Host,
    txn: &'a ReadTxn,
    tenant: Option<&'a TenantId>,
    /// What the chain said, by name digest; an item met is taken out.
    said: HashMap<Digest16, Said>,
    /// The package each plugin met runs (or last ran) in the tenant.
    plugins: HashMap<String, Option<Arc<Plugin>>>,
    /// Index entries by (plugin, collection, index): how many the
    /// documents need, and how many the store holds that they explain.
    indexes: HashMap<(String, String, String), (u64, u64)>,
    /// The index entries the documents met need and that were not met yet,
    /// by digest (documents come before index entries).
    needed: std::collections::HashSet<Digest16>,
    catalog_index: &'a CatalogIndexCheck,
    /// Every catalog record was met (they come first).
    catalog_done: bool,
}

/// Where no entry of the chain is at fault, only the store.
const NO_ENTRY: u64 = 0;

fn around(seq: u64, reason: String) -> Option<Broken> {
    Some(Broken { seq, reason })
}

impl Reconcile<'_> {
    fn run(&mut self, chain: &str) -> Result<Option<Broken>, CallError> {
        let lane = crate::lane(self.tenant);
        let mut after: Option<Vec<u8>> = None;
        loop {
            let (items, next) =
                self.txn.inventory(&lane, after.as_deref(), PAGE).map_err(storage_err)?;
            for item in items {
                let in_catalog = match &item {
                    Stored::Sealed { name, .. } => name.starts_with("catalog:"),
                    Stored::CatalogIndex { .. } => true,
                    _ => false,
                };
                if !in_catalog && !self.catalog_done {
                    self.catalog_done = true;
                    if let Some(broken) = self.missing(chain, true)? {
                        return Ok(Some(broken));
                    }
                }
                if let Some(broken) = self.item(item)? {
                    return Ok(Some(broken));
                }
            }
            match next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        for ((plugin, collection, index), (needed, held)) in &self.indexes {
            if needed != held {
                return Ok(around(
                    NO_ENTRY,
                    format!(
                        "index {index} of {plugin}/{collection} holds {held} entries where its documents need {needed}: changed around the kernel"
                    ),
                ));
            }
        }
        self.missing(chain, false)
    }

    /// Checks one stored item against what the chain said of it.
    fn item(&mut self, item: Stored) -> Result<Option<Broken>, CallError> {
        Ok(match item {
            Stored::Document { plugin, collection, key, value } => {
                self.count_index_needs(&plugin, &collection, &key, &value)?;
                self.held(&doc_name(&plugin, &collection, &key), stored_doc_digest(&value))
            }
            Stored::IndexEntry { plugin, collection, index, value, key } => {
                self.index_entry(&plugin, &collection, &index, &value, &key)?
            }
            Stored::Sealed { name, value } => self.held(&name, digest16(&value)).or_else(|| {
                let key = name.strip_prefix("catalog:")?;
                let why = (self.catalog_index)(self.txn, key, &value)?;
                around(NO_ENTRY, format!("{name} {why}: changed around the kernel"))
            }),
            Stored::CatalogIndex { key, value } => (self.catalog_index)(self.txn, &key, &value)
                .and_then(|why| {
                    around(
                        NO_ENTRY,
                        format!("catalog record {key} {why}: changed around the kernel"),
                    )
                }),
            Stored::Malformed { key } => around(
                NO_ENTRY,
                format!(
                    "the store holds a key no kernel write makes ({key:?}): written around the kernel"
                ),
            ),
        })
    }

    /// Compares an item the store holds with what the chain last said of it.
    fn held(&mut self, name: &str, value: Digest16) -> Option<Broken> {
        match self.said.remove(&digest16(name.as_bytes())) {
            None => around(
                NO_ENTRY,
                format!(
                    "{name} is in the store but no audit entry wrote it: written around the kernel"
                ),
            ),
            Some(Said { seq, value: None, .. }) => around(
                seq,
                format!(
                    "{name} was removed by this entry but is in the store: restored around the kernel"
                ),
            ),
            Some(Said { seq, value: Some(said), .. }) if said != value => around(
                seq,
                format!("{name} differs from its last audited value: changed around the kernel"),
            ),
            Some(_) => None,
        }
    }

    /// After the walk (or its catalog part, `catalog_only`): an item the
    /// chain left in place that the store no longer holds.
    fn missing(&self, chain: &str, catalog_only: bool) -> Result<Option<Broken>, CallError> {
        let mut missing = self.said.iter().filter(|(_, said)| said.value.is_some());
        let Some((name, said)) = missing.find(|(_, said)| said.catalog || !catalog_only) else {
            return Ok(None);
        };
        // Only the digest of the name was kept: the entry names it again.
        let entry = self.txn.log_scan(chain, said.seq, 1).map_err(storage_err)?;
        let record = entry.first().and_then(|(_, bytes)| keel_audit::decode(bytes).ok());
        let item = record
            .and_then(|sealed| {
                spoken_of(&sealed.record)
                    .into_iter()
                    .map(|(item, _)| item)
                    .find(|item| digest16(item.as_bytes()) == *name)
            })
            .unwrap_or_else(|| "an item".to_owned());
        Ok(around(
            said.seq,
            format!(
                "{item}, written by this entry, is missing from the store: removed around the kernel"
            ),
        ))
    }

    /// The collection `plugin` declares, in the version the tenant runs.
    fn collection(
        &mut self,
        plugin: &str,
        collection: &str,
    ) -> Result<Option<keel_types::schema::CollectionDef>, CallError> {
        if !self.plugins.contains_key(plugin) {
            let package = self.package(plugin)?;
            self.plugins.insert(plugin.to_owned(), package);
        }
        let package = self.plugins.get(plugin).and_then(Option::as_ref);
        Ok(package
            .and_then(|p| p.manifest().collections.iter().find(|c| c.name == collection))
            .cloned())
    }

    fn package(&self, plugin: &str) -> Result<Option<Arc<Plugin>>, CallError> {
        let (Some(tenant), Ok(id)) = (self.tenant, PluginId::new(plugin)) else { return Ok(None) };
        let record =
            self.txn.catalog_get(&crate::lifecycle::key(tenant, &id)).map_err(storage_err)?;
        let Some(record) = record else { return Ok(None) };
        // The catalog is verified before the documents, so a record that
        // reads here matched its audit entry: one the kernel cannot read
        // is the kernel's failure, not a plugin the tenant never ran.
        let version = crate::lifecycle::version_of(&record).map_err(|err| {
            CallError::Internal(format!(
                "the enablement record of {plugin} in {tenant} is unreadable: {err}"
            ))
        })?;
        Ok(Version::parse(&version).and_then(|v| self.host.package(&id, v)))
    }

    /// Notes the index entries a stored document needs.
    fn count_index_needs(
        &mut self,
        plugin: &str,
        collection: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), CallError> {
        let Some(def) = self.collection(plugin, collection)? else { return Ok(()) };
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(value) else { return Ok(()) };
        for index in &def.indexes {
            let mut n = 0;
            for value in keel_storage::indexed_values(index, &doc) {
                // Entries are unique by value: a value repeated is one.
                n += u64::from(self.needed.insert(entry_digest(
                    plugin,
                    collection,
                    &index.name,
                    &value,
                    key,
                )));
            }
            let counted = (plugin.to_owned(), collection.to_owned(), index.name.clone());
            self.indexes.entry(counted).or_default().0 += n;
        }
        Ok(())
    }

    /// Checks that an index entry is one its document needs, and counts it.
    fn index_entry(
        &mut self,
        plugin: &str,
        collection: &str,
        index: &str,
        value: &str,
        key: &str,
    ) -> Result<Option<Broken>, CallError> {
        let entry =
            format!("index {index} entry {value:?} of document {plugin}/{collection}/{key}");
        let def = self.collection(plugin, collection)?;
        let Some(index_def) = def.as_ref().and_then(|d| d.indexes.iter().find(|i| i.name == index))
        else {
            return Ok(around(
                NO_ENTRY,
                format!("{entry} belongs to no declared index: written around the kernel"),
            ));
        };
        if !self.needed.remove(&entry_digest(plugin, collection, &index_def.name, value, key)) {
            return Ok(around(
                NO_ENTRY,
                format!("{entry} does not match the document: written around the kernel"),
            ));
        }
        let counted = (plugin.to_owned(), collection.to_owned(), index.to_owned());
        self.indexes.entry(counted).or_default().1 += 1;
        Ok(None)
    }
}

/// The digest of an index entry: which document, and under which value.
fn entry_digest(plugin: &str, collection: &str, index: &str, value: &str, key: &str) -> Digest16 {
    digest16(format!("{plugin}\0{collection}\0{index}\0{value}\0{key}").as_bytes())
}

fn storage_err(err: keel_storage::Error) -> CallError {
    CallError::Storage(err)
}
