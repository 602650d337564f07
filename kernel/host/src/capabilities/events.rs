//! `keel:kernel/events`: publishing into the tenant's outbox, in the
//! call's transaction (delivery is `events.rs` in the crate root).

use crate::bindings::WitError;
use crate::bindings::keel::kernel::events::{Event, Host};
use crate::call::{self, CallState};
use crate::events;

impl Host for CallState {
    fn publish(&mut self, event: Event) -> wasmtime::Result<Result<(), WitError>> {
        if let Err(err) = events::check(self.plugin.manifest(), &self.limits, &event) {
            return Ok(Err(err));
        }
        if self.n_events >= self.limits.events_per_call_max {
            return Ok(Err(WitError::LimitExceeded(format!(
                "a call may publish at most {} events",
                self.limits.events_per_call_max
            ))));
        }
        let publisher = self.plugin.manifest().id.to_string();
        let (origin, tenant, now) = (self.origin.clone(), self.ns.tenant().clone(), self.now);
        let result = call::writable(&mut self.txn)
            .and_then(|txn| events::publish(txn, &origin, &tenant, &publisher, &event, now));
        let published = self.storage(result)?;
        if let Ok(true) = published {
            self.n_events += 1;
        }
        Ok(published.map(drop))
    }
}
