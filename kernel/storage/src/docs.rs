//! Documents, secondary indexes and pages of them, within a namespace.

use std::ops::ControlFlow;

use keel_types::schema::{CollectionDef, IndexDef};

use crate::error::{Error, Result};
use crate::keys::{Namespace, Table, decode_cursor, encode_cursor, join, prefix_end};
use crate::overlay::Layers;

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

/// The tagged key of a document.
pub(crate) fn doc_key(ns: &Namespace, collection: &str, key: &str) -> Vec<u8> {
    join(&ns.child(Table::Docs, collection), key.as_bytes())
}

/// Reads a document.
pub(crate) fn get(
    layers: &Layers<'_>,
    ns: &Namespace,
    collection: &str,
    key: &str,
) -> Result<Option<String>> {
    layers.get(&doc_key(ns, collection, key))?.map(|bytes| text(&bytes)).transpose()
}

/// Entries as (suffix after a prefix, value).
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Up to `limit` entries after the tagged prefix `base` within the window,
/// as (suffix, value), where `subject` extracts the part of a suffix the
/// range bounds; and a cursor if more follow.
fn range_entries(
    layers: &Layers<'_>,
    base: &[u8],
    window: &Window<'_>,
    subject: fn(&[u8]) -> &[u8],
) -> Result<(Entries, Option<String>)> {
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
    let upper = prefix_end(base);
    let body = &base[1..];
    let mut out: Entries = Vec::new();
    let mut more = None;
    layers.walk(&lower, upper.as_deref(), &mut |key, value| {
        let Some(suffix) = key.strip_prefix(body) else { return Ok(ControlFlow::Break(())) };
        if after.as_deref().is_some_and(|after| suffix <= after) {
            return Ok(ControlFlow::Continue(()));
        }
        let subject = subject(suffix);
        let past_prefix = range.prefix.as_ref().is_some_and(|p| !subject.starts_with(p.as_bytes()));
        let past_end = range.end.as_ref().is_some_and(|end| subject > end.as_bytes());
        if past_prefix || past_end {
            return Ok(ControlFlow::Break(()));
        }
        if out.len() == limit {
            more = out.last().map(|(last, _)| encode_cursor(last));
            return Ok(ControlFlow::Break(()));
        }
        out.push((suffix.to_vec(), value.to_vec()));
        Ok(ControlFlow::Continue(()))
    })?;
    Ok((out, more))
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
    layers: &Layers<'_>,
    ns: &Namespace,
    collection: &str,
    window: &Window<'_>,
) -> Result<Page> {
    let base = ns.child(Table::Docs, collection);
    let (entries, cursor) = range_entries(layers, &base, window, whole_key)?;
    let found = entries.into_iter().map(|(key, value)| Ok(Some((key.clone(), text(&key)?, value))));
    fill_page(found, cursor, window.bytes_max)
}

/// Lists documents by a secondary index, in index value order, then key.
pub(crate) fn lookup(
    layers: &Layers<'_>,
    ns: &Namespace,
    collection: &str,
    index_name: &str,
    window: &Window<'_>,
) -> Result<Page> {
    let base = ns.index(collection, index_name);
    let (entries, cursor) = range_entries(layers, &base, window, index_value)?;
    let doc_base = ns.child(Table::Docs, collection);
    let found = entries.into_iter().map(|(suffix, _)| {
        let Some(split) = suffix.iter().position(|b| *b == 0) else {
            return Err(Error::Backend("index entry without separator".to_owned()));
        };
        let key = &suffix[split + 1..];
        let Some(value) = layers.get(&join(&doc_base, key))? else {
            // Left by an index definition that changed between plugin
            // versions: skip it rather than fail every lookup through it.
            tracing::warn!(
                collection,
                index = index_name,
                "index entry points to no document; skipped"
            );
            return Ok(None);
        };
        Ok(Some((suffix.clone(), text(key)?, value)))
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

/// The tagged index entry keys a document contributes; a value that cannot
/// be indexed is an error.
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

/// A stored document, parsed.
pub(crate) fn parse_stored(stored: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(stored)
        .map_err(|err| Error::Backend(format!("stored document is not JSON: {err}")))
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
        out.extend(indexed_values(index, doc).map(|value| index_entry(&base, &value, key)));
    }
    out
}

/// The values under which `index` holds a stored document: those of its
/// field that can be indexed (under the length limit, with no NUL).
pub fn indexed_values(index: &IndexDef, doc: &serde_json::Value) -> impl Iterator<Item = String> {
    let values = index.field.values(doc).into_iter();
    values.filter(|v| !v.contains('\0') && v.len() <= INDEX_VALUE_BYTES_MAX)
}

fn index_entry(base: &[u8], value: &str, key: &str) -> Vec<u8> {
    let mut entry = join(base, value.as_bytes());
    entry.push(0);
    entry.extend_from_slice(key.as_bytes());
    entry
}
