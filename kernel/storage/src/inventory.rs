//! Everything a lane holds outside its logs, walked in key order: what
//! audit verification reconciles with the chain.

use std::ops::ControlFlow;

use crate::error::Result;
use crate::keys::{Lane, Table, catalog_key, prefix_end, sealed_name, tenant_catalog_prefixes};
use crate::overlay::Layers;

/// One stored item of a lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A plugin document, as stored.
    Document {
        /// The plugin whose namespace holds it.
        plugin: String,
        /// Its collection.
        collection: String,
        /// Its key.
        key: String,
        /// Its stored bytes.
        value: Vec<u8>,
    },
    /// An index entry of a plugin document.
    IndexEntry {
        /// The plugin whose namespace holds it.
        plugin: String,
        /// The collection indexed.
        collection: String,
        /// The index.
        index: String,
        /// The indexed value.
        value: String,
        /// The key of the document it points to.
        key: String,
    },
    /// A catalog record or sequence counter, which the audit chain seals,
    /// by the name the chain knows it by (see [`crate::WriteTxn::take_unsealed`]).
    Sealed {
        /// `catalog:<key>` or `sequence:<plugin>/<name>`.
        name: String,
        /// The stored bytes.
        value: Vec<u8>,
    },
    /// A catalog record that indexes other records (such as a token's
    /// digest naming the token): checked against what it points to.
    CatalogIndex {
        /// The catalog key.
        key: String,
        /// The stored bytes.
        value: Vec<u8>,
    },
    /// A key no kernel write makes: not UTF-8, or missing its parts.
    Malformed {
        /// The key, lossily decoded, without its table's tag.
        key: String,
    },
}

/// Up to `limit` items of `lane` after the opaque position `after`, and
/// the position to go on from if more may follow. Catalog records come
/// first, then documents, index entries and sequences.
pub(crate) fn walk(
    layers: &Layers<'_>,
    lane: &Lane,
    after: Option<&[u8]>,
    limit: usize,
) -> Result<(Vec<Stored>, Option<Vec<u8>>)> {
    // A position is the range's number, then the last key walked in it.
    let after = after.and_then(|after| Some((usize::from(*after.first()?), &after[1..])));
    let mut items = Vec::new();
    let mut last: Option<Vec<u8>> = None;
    for (at, (lower, upper)) in ranges(lane).into_iter().enumerate() {
        if items.len() >= limit {
            break;
        }
        let lower = match after {
            Some((range, _)) if range > at => continue,
            Some((range, key)) if range == at => {
                let mut next = key.to_vec();
                next.push(0);
                next.max(lower)
            }
            _ => lower,
        };
        let tag = lower[0];
        let at = u8::try_from(at).unwrap_or(u8::MAX);
        layers.walk(&lower, upper.as_deref(), &mut |key, value| {
            let mut position = Vec::with_capacity(key.len() + 2);
            position.extend_from_slice(&[at, tag]);
            position.extend_from_slice(key);
            if let Some(item) = item(lane, &position[1..], value) {
                items.push(item);
            }
            last = Some(position);
            Ok(if items.len() >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        })?;
    }
    let more = items.len() >= limit;
    Ok((items, last.filter(|_| more)))
}

/// The key ranges, tagged, lower inclusive and upper exclusive (none: to
/// the end of the table), that hold `lane`'s catalog records, then its
/// documents, index entries and sequences.
pub(crate) fn ranges(lane: &Lane) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    // Within one table: a walk's bounds never cross tables.
    let span = |lower: Vec<u8>| {
        let upper = prefix_end(&lower).filter(|upper| upper[0] == lower[0]);
        (lower, upper)
    };
    match lane {
        Lane::Tenant(tenant) => {
            let in_table = |table: Table| {
                let mut prefix = vec![table.tag()];
                prefix.extend_from_slice(tenant.as_str().as_bytes());
                prefix.push(0);
                span(prefix)
            };
            let mut ranges: Vec<_> =
                tenant_catalog_prefixes(tenant).map(|p| span(catalog_key(&p))).collect();
            ranges.sort();
            ranges.extend([Table::Docs, Table::Index, Table::Sequences].into_iter().map(in_table));
            ranges
        }
        // The platform's records are spread over the catalog; the walk
        // skips the tenants'.
        Lane::Platform => vec![(vec![Table::Catalog.tag()], None)],
    }
}

/// What a stored key of `lane` is, or none if it belongs to another lane.
fn item(lane: &Lane, tagged: &[u8], value: &[u8]) -> Option<Stored> {
    // Another lane's record, such as a tenant's under the platform's walk
    // of the catalog. A key with no lane at all is named as malformed.
    if Lane::of_key(tagged).is_some_and(|owner| owner != *lane) {
        return None;
    }
    let malformed =
        || Stored::Malformed { key: String::from_utf8_lossy(&tagged[1..]).into_owned() };
    let text = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(str::to_owned);
    let mut parts = tagged[1..].split(|b| *b == 0);
    let _tenant = parts.next();
    Some(match Table::of(tagged) {
        Some(Table::Docs) => {
            let (Some(plugin), Some(collection)) =
                (parts.next().and_then(text), parts.next().and_then(text))
            else {
                return Some(malformed());
            };
            let Some(key) = parts.map(text).collect::<Option<Vec<_>>>().map(|k| k.join("\0"))
            else {
                return Some(malformed());
            };
            Stored::Document { plugin, collection, key, value: value.to_vec() }
        }
        Some(Table::Index) => {
            let fields: Option<Vec<String>> = parts.map(text).collect();
            match fields.as_deref() {
                Some([plugin, collection, index, value, key]) => Stored::IndexEntry {
                    plugin: plugin.clone(),
                    collection: collection.clone(),
                    index: index.clone(),
                    value: value.clone(),
                    key: key.clone(),
                },
                _ => malformed(),
            }
        }
        Some(Table::Sequences | Table::Catalog) => match sealed_name(tagged) {
            Some(name) => Stored::Sealed { name, value: value.to_vec() },
            None => match text(&tagged[1..]) {
                Some(key) if Table::of(tagged) == Some(Table::Catalog) => {
                    Stored::CatalogIndex { key, value: value.to_vec() }
                }
                _ => malformed(),
            },
        },
        Some(Table::Log) | None => malformed(),
    })
}
