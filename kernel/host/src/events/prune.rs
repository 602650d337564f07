//! Pruning the outbox: an event every subscriber has (or may still ask
//! for, through a cursor or a dead letter) goes once it is older than the
//! retention, with its publisher key.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use keel_storage::ReadTxn;
use keel_types::{TenantId, action};

use super::{StoredEvent, cursor, dead_prefix, decode, parse_cursor, publisher_key};
use crate::host::Host;

/// Events removed in one write, so that the tenant's calls wait for one
/// small write at most.
const PRUNE_BATCH: usize = 500;

impl Host {
    /// Removes the events that every subscriber of their topic has (or
    /// gave up on, as a dead letter keeps its own copy) and that were
    /// published at least `retention` ago, in every tenant; with each goes
    /// its publisher key, so that key may be published again. Each batch
    /// is one write, audited as `event.prune`. Returns how many were
    /// removed; a tenant whose pruning fails is logged and the others are
    /// pruned all the same. Blocking.
    pub fn prune_events(&self, retention: Duration) -> Result<usize, String> {
        let now = self.now();
        let cutoff =
            now.seconds.saturating_sub(i64::try_from(retention.as_secs()).unwrap_or(i64::MAX));
        let tenants = self.tenants().map_err(|err| err.to_string())?;
        crate::tenants::each_tenant(&tenants, "events", |tenant| {
            self.prune_tenant_events(tenant, cutoff, now)
        })
    }

    fn prune_tenant_events(
        &self,
        tenant: &TenantId,
        cutoff: i64,
        now: keel_types::Timestamp,
    ) -> keel_storage::Result<usize> {
        let subscribers: HashMap<String, Vec<String>> = {
            let enabled = self.inner.enabled.read().unwrap_or_else(|p| p.into_inner());
            let mut by_topic: HashMap<String, Vec<String>> = HashMap::new();
            for plugin in enabled.get(tenant).into_iter().flat_map(|plugins| plugins.values()) {
                for topic in &plugin.manifest().subscribes {
                    let subscriber = plugin.manifest().id.to_string();
                    by_topic.entry(topic.clone()).or_default().push(subscriber);
                }
            }
            by_topic
        };
        let (stored_cursors, dead) = {
            let read = self.inner.storage.read()?;
            (stored_cursors(&read, tenant)?, dead_letter_events(&read, tenant)?)
        };
        let prefix = format!("event/{tenant}/");
        let mut delivered: HashMap<String, u64> = HashMap::new();
        let (mut after, mut batch, mut n_removed) = (None::<String>, Vec::new(), 0);
        loop {
            let read = self.inner.storage.read()?;
            let page = read.catalog_page(&prefix, after.as_deref(), PRUNE_BATCH)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, bytes) in page {
                let event: StoredEvent = decode("event", &bytes)?;
                // A dead letter is replayed from the outbox: keep its event.
                if event.published_s > cutoff || dead.contains(&event.id) {
                    continue;
                }
                let upto = match delivered.get(&event.topic) {
                    Some(upto) => *upto,
                    None => {
                        let subscribers =
                            subscribers.get(&event.topic).map_or(&[][..], Vec::as_slice);
                        let upto = delivered_to_all(&read, tenant, &event.topic, subscribers)?
                            .min(stored_cursors.get(&event.topic).copied().unwrap_or(u64::MAX));
                        *delivered.entry(event.topic.clone()).or_insert(upto)
                    }
                };
                if event.id <= upto {
                    batch.push((key, event));
                }
            }
            drop(read);
            if batch.len() >= PRUNE_BATCH {
                n_removed += self.remove_events(tenant, std::mem::take(&mut batch), now)?;
            }
        }
        if !batch.is_empty() {
            n_removed += self.remove_events(tenant, batch, now)?;
        }
        Ok(n_removed)
    }

    /// Removes `events` (still there) of `tenant` in one audited write.
    fn remove_events(
        &self,
        tenant: &TenantId,
        events: Vec<(String, StoredEvent)>,
        now: keel_types::Timestamp,
    ) -> keel_storage::Result<usize> {
        let mut txn = self.inner.storage.write(&[keel_storage::Lane::Tenant(tenant.clone())])?;
        let mut removed: Vec<u64> = Vec::with_capacity(events.len());
        for (key, event) in events {
            if !txn.catalog_remove(&key)? {
                continue;
            }
            let by_key = publisher_key(tenant, &event.topic, &event.key);
            if txn.catalog_get(&by_key)?.is_some_and(|id| id == event.id.to_string().as_bytes()) {
                txn.catalog_remove(&by_key)?;
            }
            removed.push(event.id);
        }
        let (Some(first), Some(last)) = (removed.iter().min(), removed.iter().max()) else {
            return Ok(0);
        };
        let detail = format!("{} delivered events removed (ids {first} to {last})", removed.len());
        let record = keel_audit::Record {
            detail: Some(detail),
            ..keel_audit::Origin::kernel(now.seconds).record(action::EVENT_PRUNE)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(Some(tenant)), record)?;
        txn.commit()?;
        Ok(removed.len())
    }
}

/// For each topic of `tenant`, the least cursor stored for it: of every
/// subscriber that ever had one of its events, enabled or not (a disabled
/// plugin keeps its cursor, and wants what follows it when enabled again).
fn stored_cursors(read: &ReadTxn, tenant: &TenantId) -> keel_storage::Result<HashMap<String, u64>> {
    let mut least: HashMap<String, u64> = HashMap::new();
    // `cursor/<tenant>/<plugin>/<topic>`: plugin ids have no `/`.
    each_record(read, &format!("cursor/{tenant}/"), |rest, bytes| {
        let Some((_, topic)) = rest.split_once('/') else { return Ok(()) };
        let id = parse_cursor(bytes)?;
        let entry = least.entry(topic.to_owned()).or_insert(id);
        *entry = (*entry).min(id);
        Ok(())
    })?;
    Ok(least)
}

/// The ids of `tenant`'s events that have a dead letter.
fn dead_letter_events(read: &ReadTxn, tenant: &TenantId) -> keel_storage::Result<HashSet<u64>> {
    let mut ids = HashSet::new();
    // `dead/<tenant>/<event id>/<subscriber>`.
    each_record(read, &dead_prefix(tenant), |rest, _| {
        ids.extend(rest.split('/').next().and_then(|id| id.parse::<u64>().ok()));
        Ok(())
    })?;
    Ok(ids)
}

/// Visits every catalog record under `prefix` in `read`, a page at a
/// time, with its key past the prefix.
fn each_record(
    read: &ReadTxn,
    prefix: &str,
    mut visit: impl FnMut(&str, &[u8]) -> keel_storage::Result<()>,
) -> keel_storage::Result<()> {
    let mut after: Option<String> = None;
    loop {
        let page = read.catalog_page(prefix, after.as_deref(), PRUNE_BATCH)?;
        let Some((last, _)) = page.last() else { return Ok(()) };
        after = Some(last.clone());
        for (key, bytes) in &page {
            if let Some(rest) = key.strip_prefix(prefix) {
                visit(rest, bytes)?;
            }
        }
    }
}

/// The last event id of `topic` that each of `subscribers` has: the least
/// of their cursors (all of them, when none subscribes).
fn delivered_to_all(
    read: &ReadTxn,
    tenant: &TenantId,
    topic: &str,
    subscribers: &[String],
) -> keel_storage::Result<u64> {
    let mut upto = u64::MAX;
    for subscriber in subscribers {
        upto = upto.min(cursor(read, tenant, subscriber, topic)?);
    }
    Ok(upto)
}
