//! Documents, secondary indexes and sequences within a namespace.

use std::collections::BTreeSet;

use keel_types::schema::CollectionDef;
use redb::{ReadableTable, Table, TableDefinition};

use crate::error::{Error, Result, backend};
use crate::keys::{Namespace, decode_cursor, encode_cursor, join};
use crate::undo::Undo;

/// Documents: `namespace collection \0 key` -> JSON text.
pub(crate) const DOCS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("docs");
/// Index entries: `namespace collection \0 index \0 value \0 key` -> ().
pub(crate) const INDEX: TableDefinition<'_, &[u8], ()> = TableDefinition::new("index");
/// Gapless sequences: `namespace name \0` -> last number handed out.
pub(crate) const SEQUENCES: TableDefinition<'_, &[u8], u64> = TableDefinition::new("sequences");

/// Longest indexed value, in bytes.
const INDEX_VALUE_BYTES_MAX: usize = 1024;
/// Most index entries one document may contribute, over all its indexes.
const INDEX_ENTRIES_PER_DOC_MAX: usize = 1024;

/// A document and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key within its collection.
    pub key: String,
    /// The document, JSON object text.
    pub value: String,
}

/// Bounds on keys (scan) or index values (lookup), all inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRange {
    /// Only subjects starting with this.
    pub prefix: Option<String>,
    /// Only subjects `>=` this.
    pub start: Option<String>,
    /// Only subjects `<=` this.
    pub end: Option<String>,
}

/// One page of results and where to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The entries in order.
    pub entries: Vec<Entry>,
    /// Opaque position after the last entry, if more may follow.
    pub cursor: Option<String>,
}

/// Which part of an ordered scan one call returns.
pub(crate) struct Window<'a> {
    pub(crate) range: &'a KeyRange,
    pub(crate) cursor: Option<&'a str>,
    pub(crate) limit: usize,
    /// A page ends early once its documents reach this many bytes.
    pub(crate) bytes_max: usize,
}

/// Reads a document.
pub(crate) fn get(
    docs: &impl ReadableTable<&'static [u8], &'static [u8]>,
    ns: &Namespace,
    collection: &str,
    key: &str,
) -> Result<Option<String>> {
    let full = join(&ns.child(collection), key.as_bytes());
    let found = docs.get(full.as_slice()).map_err(backend)?;
    found.map(|guard| text(guard.value())).transpose()
}

/// Collects up to `limit` suffixes after `base` within `range`, where
/// `subject` extracts the part of a suffix that `range` bounds. Returns the
/// suffixes and a cursor if more follow.
fn range_suffixes<V: redb::Value + 'static>(
    table: &impl ReadableTable<&'static [u8], V>,
    base: &[u8],
    window: &Window<'_>,
    subject: fn(&[u8]) -> &[u8],
) -> Result<(Vec<Vec<u8>>, Option<String>)> {
    let Window { range, cursor, limit, .. } = *window;
    let after = match cursor {
        Some(text) => Some(
            decode_cursor(text)
                .ok_or_else(|| Error::Invalid(format!("malformed cursor {text:?}")))?,
        ),
        None => None,
    };
    let from = [range.prefix.as_deref(), range.start.as_deref()].into_iter().flatten().max();
    let mut lower = join(base, from.unwrap_or_default().as_bytes());
    if let Some(after) = &after {
        lower = lower.max(join(base, after));
    }
    let mut out = Vec::new();
    for item in table.range(lower.as_slice()..).map_err(backend)? {
        let (key, _) = item.map_err(backend)?;
        let Some(suffix) = key.value().strip_prefix(base) else { break };
        if after.as_deref().is_some_and(|after| suffix <= after) {
            continue;
        }
        let subject = subject(suffix);
        let past_prefix = range.prefix.as_ref().is_some_and(|p| !subject.starts_with(p.as_bytes()));
        let past_end = range.end.as_ref().is_some_and(|end| subject > end.as_bytes());
        if past_prefix || past_end {
            break;
        }
        if out.len() == limit {
            let cursor = out.last().map(|last: &Vec<u8>| encode_cursor(last));
            return Ok((out, cursor));
        }
        out.push(suffix.to_vec());
    }
    Ok((out, None))
}

fn whole_key(suffix: &[u8]) -> &[u8] {
    suffix
}

/// The indexed value of an index entry suffix `value \0 key`.
fn index_value(suffix: &[u8]) -> &[u8] {
    suffix.split(|b| *b == 0).next().unwrap_or(suffix)
}

/// Lists documents of a collection in key order.
pub(crate) fn scan(
    docs: &impl ReadableTable<&'static [u8], &'static [u8]>,
    ns: &Namespace,
    collection: &str,
    window: &Window<'_>,
) -> Result<Page> {
    let base = ns.child(collection);
    let (keys, cursor) = range_suffixes(docs, &base, window, whole_key)?;
    let found = keys.iter().map(|key| {
        let value = docs.get(join(&base, key).as_slice()).map_err(backend)?;
        let value =
            value.ok_or_else(|| Error::Backend("document vanished during scan".to_owned()))?;
        Ok(Some((key.clone(), text(key)?, value.value().to_vec())))
    });
    fill_page(found, cursor, window.bytes_max)
}

/// Lists documents by a secondary index, in index value order, then key.
pub(crate) fn lookup(
    docs: &impl ReadableTable<&'static [u8], &'static [u8]>,
    index: &impl ReadableTable<&'static [u8], ()>,
    ns: &Namespace,
    collection: &str,
    index_name: &str,
    window: &Window<'_>,
) -> Result<Page> {
    let base = ns.index(collection, index_name);
    let (suffixes, cursor) = range_suffixes(index, &base, window, index_value)?;
    let doc_base = ns.child(collection);
    let found = suffixes.iter().map(|suffix| {
        let Some(split) = suffix.iter().position(|b| *b == 0) else {
            return Err(Error::Backend("index entry without separator".to_owned()));
        };
        let key = &suffix[split + 1..];
        let Some(value) = docs.get(join(&doc_base, key).as_slice()).map_err(backend)? else {
            // Left by an index definition that changed between plugin
            // versions: skip it rather than fail every lookup through it.
            tracing::warn!(
                collection,
                index = index_name,
                "index entry points to no document; skipped"
            );
            return Ok(None);
        };
        Ok(Some((suffix.clone(), text(key)?, value.value().to_vec())))
    });
    fill_page(found, cursor, window.bytes_max)
}

/// Collects `(position, key, document)` items into a page, ending it early
/// (with a cursor after the last item taken) once `bytes_max` is reached.
fn fill_page(
    found: impl Iterator<Item = Result<Option<(Vec<u8>, String, Vec<u8>)>>>,
    cursor: Option<String>,
    bytes_max: usize,
) -> Result<Page> {
    let mut entries = Vec::new();
    let mut n_bytes = 0usize;
    let mut found = found.peekable();
    while let Some(item) = found.next() {
        let Some((position, key, value)) = item? else { continue };
        n_bytes = n_bytes.saturating_add(value.len());
        entries.push(Entry { key, value: text(&value)? });
        if n_bytes >= bytes_max && found.peek().is_some() {
            return Ok(Page { entries, cursor: Some(encode_cursor(&position)) });
        }
    }
    Ok(Page { entries, cursor })
}

pub(crate) fn text(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Error::Backend("stored text is not UTF-8".to_owned()))
}

/// Parses a document for storage: a JSON object within the size limit.
pub(crate) fn parse_document(value: &str, record_bytes_max: usize) -> Result<serde_json::Value> {
    if value.len() > record_bytes_max {
        return Err(Error::LimitExceeded(format!(
            "document is {} bytes; the limit is {record_bytes_max}",
            value.len()
        )));
    }
    let doc: serde_json::Value = serde_json::from_str(value)
        .map_err(|err| Error::Invalid(format!("document is not valid JSON: {err}")))?;
    if !doc.is_object() {
        return Err(Error::Invalid("document must be a JSON object".to_owned()));
    }
    Ok(doc)
}

/// The index entry keys a document contributes; a value that cannot be
/// indexed is an error.
pub(crate) fn index_keys(
    ns: &Namespace,
    collection: &CollectionDef,
    key: &str,
    doc: &serde_json::Value,
) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for index in &collection.indexes {
        let base = ns.index(&collection.name, &index.name);
        for value in index.field.values(doc) {
            if value.contains('\0') || value.len() > INDEX_VALUE_BYTES_MAX {
                return Err(Error::Invalid(format!(
                    "value of indexed field {:?} must be under {INDEX_VALUE_BYTES_MAX} bytes with no NUL",
                    index.field.as_str()
                )));
            }
            out.push(index_entry(&base, &value, key));
            if out.len() > INDEX_ENTRIES_PER_DOC_MAX {
                return Err(Error::LimitExceeded(format!(
                    "a document may contribute at most {INDEX_ENTRIES_PER_DOC_MAX} index entries"
                )));
            }
        }
    }
    Ok(out)
}

/// The index entries a stored document may have: like [`index_keys`], but
/// values that could never have been indexed are skipped, never an error.
pub(crate) fn stored_index_keys(
    ns: &Namespace,
    collection: &CollectionDef,
    key: &str,
    doc: &serde_json::Value,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for index in &collection.indexes {
        let base = ns.index(&collection.name, &index.name);
        let values = index.field.values(doc).into_iter();
        let values = values.filter(|v| !v.contains('\0') && v.len() <= INDEX_VALUE_BYTES_MAX);
        out.extend(values.map(|value| index_entry(&base, &value, key)));
    }
    out
}

fn index_entry(base: &[u8], value: &str, key: &str) -> Vec<u8> {
    let mut entry = join(base, value.as_bytes());
    entry.push(0);
    entry.extend_from_slice(key.as_bytes());
    entry
}

/// Replaces a document's index entries: removes `old`'s, inserts `new`'s,
/// leaving entries common to both untouched.
pub(crate) fn reindex(
    index: &mut Table<'_, &'static [u8], ()>,
    old: Vec<Vec<u8>>,
    new: Vec<Vec<u8>>,
    undo: &mut Vec<Undo>,
) -> Result<()> {
    let old: BTreeSet<Vec<u8>> = old.into_iter().collect();
    let new: BTreeSet<Vec<u8>> = new.into_iter().collect();
    for entry in old.difference(&new) {
        let existed = index.remove(entry.as_slice()).map_err(backend)?.is_some();
        undo.push(Undo::Index { key: entry.clone(), existed });
    }
    for entry in new.difference(&old) {
        let existed = index.insert(entry.as_slice(), ()).map_err(backend)?.is_some();
        undo.push(Undo::Index { key: entry.clone(), existed });
    }
    Ok(())
}
