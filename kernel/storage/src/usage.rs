//! How many bytes a tenant's lane stores, and what a turn adds to it: what
//! a tenant's storage quota is checked against.
//!
//! A lane stores its keys and values: documents, index entries, sequence
//! counters, its catalog records and its audit chain. The count is the
//! length of each key (without its table's tag) and value, which follows
//! the data a tenant keeps, not redb's pages: it is measured once, by a
//! walk of the lane, the first time a turn needs it, and then kept by each
//! commit of the lane adding what it changed.

use std::ops::ControlFlow;

use keel_types::TenantId;

use crate::error::Result;
use crate::inventory;
use crate::keys::{Lane, Table};
use crate::overlay::{Key, Layers};

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

/// What writing `writes` changes the bytes stored by `lane` by, from what
/// `before` (the lane as the turn began) holds: added, removed.
pub(crate) fn change(
    before: &Layers<'_>,
    lane: &Lane,
    writes: &[(Key, Option<std::sync::Arc<[u8]>>)],
) -> Result<(u64, u64)> {
    let (mut added, mut removed) = (0u64, 0u64);
    for (key, value) in writes {
        if Lane::of_key(&key.0).as_ref() != Some(lane) {
            continue;
        }
        let untagged = key.0.len().saturating_sub(1);
        let old = before.get(&key.0)?.map(|old| old.len());
        added = added.saturating_add(size(untagged, value.as_ref().map(|v| v.len())));
        removed = removed.saturating_add(size(untagged, old));
    }
    Ok((added, removed))
}

/// The bytes one stored key takes: none once removed.
fn size(key: usize, value: Option<usize>) -> u64 {
    value.map_or(0, |value| (key + value) as u64)
}
