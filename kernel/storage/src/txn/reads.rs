//! The reads both kinds of transaction offer, over their layers: a read
//! transaction's snapshot, or a writer's turn with its own writes.

use std::ops::ControlFlow;

use crate::docs::{self, KeyRange, Page};
use crate::error::{Error, Result};
use crate::keys::{Lane, Namespace, Table, catalog_key, log_key, log_seq, prefix_end};
use crate::overlay::Layers;

use super::{ReadTxn, WriteTxn, window};

/// The lanes a read may meet: one, or (for a catalog prefix that spans
/// tenants) every lane.
pub(super) enum Scope {
    One(Lane),
    All,
}

/// The reads both transaction kinds offer: a write transaction sees its
/// own writes and every earlier commit of its lanes.
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
                docs::get(&self.layers(Scope::One(ns.lane())), ns, collection, key)
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
                let window = window(&self.limits, range, cursor, limit)?;
                docs::scan(&self.layers(Scope::One(ns.lane())), ns, collection, &window)
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
                let window = window(&self.limits, range, cursor, limit)?;
                docs::lookup(&self.layers(Scope::One(ns.lane())), ns, collection, index, &window)
            }

            /// The last number a gapless sequence gave (0: none yet),
            /// without taking one.
            pub fn sequence(&self, ns: &Namespace, name: &str) -> Result<u64> {
                let key = ns.child(Table::Sequences, name);
                match self.layers(Scope::One(ns.lane())).get(&key)? {
                    Some(bytes) => {
                        Ok(u64::from_be_bytes(bytes.try_into().map_err(|_| {
                            Error::Backend(format!("sequence {name:?} is malformed"))
                        })?))
                    }
                    None => Ok(0),
                }
            }

            /// Reads a kernel catalog record.
            pub fn catalog_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
                self.layers(Scope::One(Lane::of_catalog(key))).get(&catalog_key(key))
            }

            /// Up to `limit` kernel catalog records whose key starts with
            /// `prefix`, in key order, after the key `after` if given.
            pub fn catalog_page(
                &self,
                prefix: &str,
                after: Option<&str>,
                limit: usize,
            ) -> Result<Vec<(String, Vec<u8>)>> {
                let layers = self.layers(catalog_scope(prefix));
                catalog_walk(&layers, prefix, after, limit)
            }

            /// Up to `limit` of the items `lane` holds outside its logs
            /// (documents, index entries, sequences, catalog records), in
            /// key order, after the opaque position `after`; and the
            /// position to go on from, if more may follow.
            pub fn inventory(
                &self,
                lane: &Lane,
                after: Option<&[u8]>,
                limit: usize,
            ) -> Result<(Vec<crate::Stored>, Option<Vec<u8>>)> {
                crate::inventory::walk(&self.layers(Scope::One(lane.clone())), lane, after, limit)
            }

            /// The last entry of `chain` as `(seq, bytes)`, if any.
            pub fn log_last(&self, chain: &str) -> Result<Option<(u64, Vec<u8>)>> {
                if let Some((seq, bytes)) = self.remembered_tail(chain) {
                    return Ok(Some((seq, bytes.to_vec())));
                }
                let lower = log_key(chain, 0);
                let upper = chain_end(&lower);
                let layers = self.layers(Scope::One(Lane::of_chain(chain)));
                match layers.last(&lower, &upper)? {
                    Some((key, value)) => Ok(Some((seq_of(&key)?, value))),
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
                let lower = log_key(chain, from_seq);
                let upper = chain_end(&lower);
                let layers = self.layers(Scope::One(Lane::of_chain(chain)));
                let mut out = Vec::new();
                if limit == 0 {
                    return Ok(out);
                }
                layers.walk(&lower, Some(&upper), &mut |key, value| {
                    out.push((seq_of(key)?, value.to_vec()));
                    Ok(if out.len() >= limit {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    })
                })?;
                Ok(out)
            }
        }
    };
}

reads!(ReadTxn);
reads!(WriteTxn);

/// The tagged key after every entry of the log whose entry `first` is.
fn chain_end(first: &[u8]) -> Vec<u8> {
    let prefix = &first[..first.len() - 8];
    prefix_end(prefix).unwrap_or_else(|| vec![Table::Log.tag() + 1])
}

fn seq_of(key: &[u8]) -> Result<u64> {
    log_seq(key).ok_or_else(|| Error::Backend("malformed log key".to_owned()))
}

/// The lanes a catalog prefix may span: one when its kind and scope say
/// which, else every lane.
pub(super) fn catalog_scope(prefix: &str) -> Scope {
    match prefix.split_once('/') {
        Some((_, rest)) if rest.contains('/') => Scope::One(Lane::of_catalog(prefix)),
        Some((kind, _)) if Lane::of_catalog(&format!("{kind}/x/")) == Lane::Platform => {
            Scope::One(Lane::Platform)
        }
        _ => Scope::All,
    }
}

/// Catalog records under `prefix`, after `after`, at most `limit`.
pub(super) fn catalog_walk(
    layers: &Layers<'_>,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Vec<u8>)>> {
    let start = catalog_key(prefix);
    let upper = prefix_end(&start).unwrap_or_else(|| vec![Table::Catalog.tag() + 1]);
    let after = after.filter(|after| *after >= prefix);
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    layers.walk(&start, Some(&upper), &mut |key, value| {
        let key = std::str::from_utf8(key)
            .map_err(|_| Error::Backend("a catalog key is not UTF-8".to_owned()))?;
        if after.is_some_and(|after| key <= after) {
            return Ok(ControlFlow::Continue(()));
        }
        out.push((key.to_owned(), value.to_vec()));
        Ok(if out.len() >= limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    Ok(out)
}
