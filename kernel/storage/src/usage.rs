//! How many bytes a tenant's lane stores, and what a turn adds to it: what
//! a tenant's storage quota is checked against.
//!
//! A lane stores its keys and values: documents, index entries, sequence
//! counters, its catalog records and its audit chain. The count is the
//! length of each key (without its table's tag) and value, which follows
//! the data a tenant keeps, not redb's pages: it is measured once, by a
//! walk of the lane, the first time a turn needs it, and then kept by each
//! commit of the lane adding what it changed, which each write counts as
//! it goes from what its caller read of the key before (a [`Change`]).

use std::ops::ControlFlow;

use keel_types::TenantId;

use crate::error::Result;
use crate::inventory;
use crate::keys::{Lane, Table};
use crate::overlay::Layers;

/// The bytes `tenant`'s lane stores, as `layers` see them.
pub(crate) fn measure(layers: &Layers<'_>, tenant: &TenantId) -> Result<u64> {
    let lane = Lane::Tenant(tenant.clone());
    let mut ranges = inventory::ranges(&lane);
    // Its audit chain, and the heads of it the kernel keeps.
    for chain in [format!("tenant/{tenant}"), format!("heads/tenant/{tenant}")] {
        let mut prefix = vec![Table::Log.tag()];
        prefix.extend_from_slice(chain.as_bytes());
        prefix.push(0);
        let end = crate::keys::prefix_end(&prefix);
        ranges.push((prefix, end));
    }
    let mut total: u64 = 0;
    for (lower, upper) in ranges {
        layers.walk(&lower, upper.as_deref(), &mut |key, value| {
            // A catalog range of the platform's may hold another lane's keys.
            let mut tagged = Vec::with_capacity(key.len() + 1);
            tagged.push(lower[0]);
            tagged.extend_from_slice(key);
            if Lane::of_key(&tagged).as_ref() == Some(&lane) {
                total = total.saturating_add(size(key.len(), Some(value.len())));
            }
            Ok(ControlFlow::Continue(()))
        })?;
    }
    Ok(total)
}

/// What a turn's writes changed the bytes a lane stores by: each write
/// adds its key and value, and takes away what the key held before, so
/// that writing one key twice counts once. Appends to the lane's logs
/// (its audit chain) are apart: a change that removes data is not refused
/// for the audit records that say so.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Change {
    grown: u64,
    shrunk: u64,
    logged: u64,
}

impl Change {
    /// Counts a write of the tagged `key`: `value` bytes now, `was` before.
    pub(crate) fn count(&mut self, key: &[u8], value: Option<usize>, was: Option<usize>) {
        let key_bytes = key.len().saturating_sub(1);
        let (now, before) = (size(key_bytes, value), size(key_bytes, was));
        if Table::of(key) == Some(Table::Log) {
            self.logged = self.logged.saturating_add(now).saturating_sub(before);
        } else {
            self.grown = self.grown.saturating_add(now);
            self.shrunk = self.shrunk.saturating_add(before);
        }
    }

    /// The bytes the lane stores more (less, if negative) once it commits.
    pub(crate) fn net(&self) -> i64 {
        let more = self.grown.saturating_add(self.logged);
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        signed(more).saturating_sub(signed(self.shrunk))
    }

    /// Whether it adds at least as much data, outside the logs, as it removes.
    pub(crate) fn adds_data(&self) -> bool {
        self.grown >= self.shrunk
    }
}

/// The bytes one stored key takes: none once removed.
fn size(key: usize, value: Option<usize>) -> u64 {
    value.map_or(0, |value| (key + value) as u64)
}
