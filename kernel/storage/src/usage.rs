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
    let mut chain = vec![Table::Log.tag()];
    chain.extend_from_slice(format!("tenant/{tenant}").as_bytes());
    chain.push(0);
    let end = crate::keys::prefix_end(&chain);
    ranges.push((chain, end));
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
/// that writing one key twice counts once.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Change {
    pub(crate) grown: u64,
    pub(crate) shrunk: u64,
}

/// The bytes one stored key takes: none once removed.
pub(crate) fn size(key: usize, value: Option<usize>) -> u64 {
    value.map_or(0, |value| (key + value) as u64)
}
