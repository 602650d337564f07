//! How a writer's turn ends: committed (durable once its log record is
//! synced, which its lane's writers share), rolled back to a savepoint, or
//! dropped; and the ticket that says when what it wrote is durable.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::keys::{Lane, sealed_name};
use crate::lane::{LaneCell, Tails, Then};
use crate::overlay::{Key, Layers, Overlay};
use crate::store::{Core, Shared};
use crate::usage;
use crate::wal::Commit;

use super::{Held, WriteTxn};

impl WriteTxn {
    /// Ends this writer's turn keeping its changes, and returns once they
    /// are durable: after the sync of the log record that carries them,
    /// which the lane's concurrent writers share. Refused, and rolled back,
    /// if it changed documents or catalog records without appending to a
    /// log: [`Error::Unaudited`].
    pub fn commit(self) -> Result<()> {
        self.finish()?.wait()
    }

    /// Ends this writer's turn keeping its changes, without waiting for
    /// them to be durable: the next writer may go on at once. Answer the
    /// caller only after [`Ticket::wait`]. Refused like [`WriteTxn::commit`].
    pub fn finish(mut self) -> Result<Ticket> {
        if self.changed && !self.logged {
            return Err(Error::Unaudited("no log entry records it".to_owned()));
        }
        if let Some(key) = self.unsealed.first() {
            let name = sealed_name(&key.0).unwrap_or_default();
            return Err(Error::Unaudited(format!(
                "{name} changed after the last entry of its lane's audit chain"
            )));
        }
        let writes = self.write_set();
        if writes.is_empty() {
            return Ok(self.end_unchanged());
        }
        let changes = self.stored_changes()?;
        let shared = Arc::clone(&self.shared);
        let mut held = std::mem::take(&mut self.held);
        if held.len() == 1 {
            let Held { cell, working, tails, seq, .. } = held.remove(0);
            cell.add_change(changes[0]);
            let lanes = vec![(cell.lane.clone(), seq)];
            let commit = Arc::new(Commit { order: shared.next_order(), lanes, writes });
            cell.commit(&shared.core, seq, working, tails, commit);
            return Ok(Ticket { core: Some(Arc::clone(&shared.core)), waits: vec![(cell, seq)] });
        }
        commit_together(&shared, held, writes, changes)?;
        Ok(Ticket::durable())
    }

    /// Refuses, when the turn ends, a commit that leaves a tenant lane of
    /// the turn storing more than `bytes`: [`Error::QuotaExceeded`]. A
    /// change that removes more data than it adds commits all the same,
    /// though its audit records make the lane store a little more, so that
    /// a tenant over its quota can still delete.
    pub fn limit_stored(&mut self, bytes: u64) {
        self.quota = Some(bytes);
    }

    /// What the turn changes the bytes each held lane stores by; refuses
    /// the commit past the turn's quota. A lane not measured yet is
    /// measured here if the quota needs it.
    fn stored_changes(&self) -> Result<Vec<i64>> {
        let mut changes = Vec::with_capacity(self.held.len());
        for held in &self.held {
            let change = held.change;
            changes.push(change.net());
            let (Lane::Tenant(tenant), Some(quota)) = (&held.cell.lane, self.quota) else {
                continue;
            };
            if !change.adds_data() || change.net() <= 0 {
                continue;
            }
            let stored = match held.stored {
                Some(stored) => stored,
                None => {
                    let before = Layers { snapshot: &self.snapshot, overlays: vec![&held.base] };
                    let stored = usage::measure(&before, tenant)?;
                    // As of the turn's start, which no other turn moves
                    // while this one holds the lane.
                    held.cell.set_stored(stored);
                    stored
                }
            };
            let needed = change.net().unsigned_abs();
            if stored.saturating_add(needed) > quota {
                let tenant = tenant.to_string();
                return Err(Error::QuotaExceeded { tenant, stored, needed, quota });
            }
        }
        Ok(changes)
    }

    /// The keys this turn wrote, each once, with what they now hold.
    fn write_set(&mut self) -> Vec<(Key, Option<Arc<[u8]>>)> {
        let mut keys = std::mem::take(&mut self.touched);
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .filter_map(|key| {
                let written = |h: &Held| h.working.get(&key).filter(|v| v.seq == h.seq).cloned();
                let value = self.held.iter().find_map(written)?.value;
                Some((key, value))
            })
            .collect()
    }

    /// A point in this turn to roll back to with
    /// [`WriteTxn::roll_back_to`]: what a nested call (a domain interface's
    /// provider) changed is undone alone if it fails.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint {
            workings: self
                .held
                .iter()
                .map(|h| (h.working.clone(), h.tails.clone(), h.change))
                .collect(),
            touched: self.touched.len(),
            changed: self.changed,
            logged: self.logged,
            unsealed: self.unsealed.clone(),
        }
    }

    /// Undoes every change made since `savepoint`; the changes before it stay.
    pub fn roll_back_to(&mut self, savepoint: Savepoint) -> Result<()> {
        if savepoint.workings.len() != self.held.len() {
            return Err(Error::Backend("a savepoint of another turn".to_owned()));
        }
        for (held, (working, tails, change)) in self.held.iter_mut().zip(savepoint.workings) {
            held.working = working;
            held.tails = tails;
            held.change = change;
        }
        self.touched.truncate(savepoint.touched);
        self.changed = savepoint.changed;
        self.logged = savepoint.logged;
        self.unsealed = savepoint.unsealed;
        Ok(())
    }

    /// Ends this writer's turn undoing its changes, without waiting: as
    /// dropping it does, but the wait for the earlier commits of its lanes
    /// that it may have read is left to the returned ticket.
    pub fn roll_back(mut self) -> Ticket {
        self.end_unchanged()
    }

    /// Ends the turn with nothing to commit. What it read of its lanes'
    /// earlier commits must be durable before its caller answers.
    fn end_unchanged(&mut self) -> Ticket {
        let held = std::mem::take(&mut self.held);
        let waits = held
            .into_iter()
            .map(|h| {
                h.cell.release();
                (h.cell, h.seq - 1)
            })
            .collect();
        Ticket { core: Some(Arc::clone(&self.shared.core)), waits }
    }
}

/// Commits a turn of several lanes: rare (kernel changes that span the
/// platform and a tenant), so it is made durable alone while the turn
/// still holds its lanes, after everything they committed before.
pub(super) fn commit_together(
    shared: &Arc<Shared>,
    held: Vec<Held>,
    writes: Vec<(Key, Option<Arc<[u8]>>)>,
    changes: Vec<i64>,
) -> Result<()> {
    let release = |held: &[Held]| held.iter().for_each(|h| h.cell.release());
    for h in &held {
        if let Err(err) = h.cell.flush(&shared.core) {
            release(&held);
            return Err(err);
        }
    }
    let lanes = held.iter().map(|h| (h.cell.lane.clone(), h.seq)).collect();
    let commit = Arc::new(Commit { order: shared.next_order(), lanes, writes });
    if let Err(err) = shared.core.write_log(std::slice::from_ref(&commit)) {
        release(&held);
        return Err(err);
    }
    shared.core.publish(held.iter().map(|h| (h.cell.lane.clone(), h.working.clone(), h.seq)));
    // Counted before the applier may have them, so that it never uncounts
    // what was not counted yet.
    for h in &held {
        let lane = Some(h.cell.lane.clone());
        let (keys, bytes) = commit
            .writes
            .iter()
            .filter(|(key, _)| Lane::of_key(&key.0) == lane)
            .fold((0, 0), |(keys, bytes), (key, value)| {
                (keys + 1, bytes + key.0.len() + value.as_ref().map_or(0, |v| v.len()))
            });
        h.cell.unapplied_later(&shared.core, h.seq, keys, bytes);
    }
    shared.core.apply(vec![Arc::clone(&commit)]);
    for (h, change) in held.into_iter().zip(changes) {
        h.cell.add_change(change);
        h.cell.commit_durable(h.seq, h.working, h.tails);
    }
    Ok(())
}

/// A point in a writer's turn; see [`WriteTxn::savepoint`].
pub struct Savepoint {
    workings: Vec<(Overlay, Tails, usage::Change)>,
    touched: usize,
    changed: bool,
    logged: bool,
    unsealed: Vec<Key>,
}

impl Drop for WriteTxn {
    /// Ends a turn that did not commit: its changes are gone, and the
    /// lanes pass on. It does not wait: a writer that read its lanes'
    /// earlier commits and answers without committing ends with
    /// [`WriteTxn::roll_back`] and waits for the ticket.
    fn drop(&mut self) {
        for held in std::mem::take(&mut self.held) {
            held.cell.release();
        }
    }
}

/// A writer whose turn ended: [`Ticket::wait`] returns once what it wrote,
/// and what it read of its lanes' earlier commits, is durable.
#[must_use = "a write may be acknowledged only once its ticket says it is durable"]
pub struct Ticket {
    core: Option<Arc<Core>>,
    waits: Vec<(Arc<LaneCell>, u64)>,
}

impl Ticket {
    /// A ticket with nothing to wait for.
    pub fn durable() -> Self {
        Self { core: None, waits: Vec::new() }
    }

    /// Returns once the commits it waits for are durable.
    pub fn wait(self) -> Result<()> {
        let Some(core) = &self.core else { return Ok(()) };
        for (cell, seq) in &self.waits {
            cell.await_durable(core, *seq)?;
        }
        Ok(())
    }

    /// Calls `then` once the commits it waits for are durable (at once if
    /// they are), or with the error if they never will be; from the thread
    /// that made them durable, so `then` must be quick.
    pub fn then(self, then: impl FnOnce(Result<()>) + Send + 'static) {
        match self.core {
            Some(core) => chain(core, self.waits.into_iter(), Box::new(then)),
            None => then(Ok(())),
        }
    }
}

/// Calls `then` once every one of `waits` is durable, one after another.
fn chain(core: Arc<Core>, mut waits: std::vec::IntoIter<(Arc<LaneCell>, u64)>, then: Then) {
    let Some((cell, seq)) = waits.next() else { return then(Ok(())) };
    let next = Arc::clone(&core);
    cell.then_durable(
        &core,
        seq,
        Box::new(move |durable| match durable {
            Ok(()) => chain(next, waits, then),
            Err(err) => then(Err(err)),
        }),
    );
}
