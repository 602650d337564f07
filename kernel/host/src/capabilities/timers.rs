//! `keel:kernel/timers`: setting and cancelling the calling plugin's
//! timers, in the call's transaction (firing is `timers.rs` in the crate
//! root).

use crate::bindings::WitError;
use crate::bindings::keel::kernel::timers::{Host, Timer};
use crate::call::{self, CallState};
use crate::timers;

impl Host for CallState {
    fn set(&mut self, timer: Timer) -> wasmtime::Result<Result<(), WitError>> {
        if let Err(err) = timers::check(&self.limits, &timer) {
            return Ok(Err(err));
        }
        if self.n_timers >= self.limits.events_per_call_max {
            return Ok(Err(WitError::LimitExceeded(format!(
                "a call may set or cancel at most {} timers",
                self.limits.events_per_call_max
            ))));
        }
        let plugin = self.plugin.manifest().id.to_string();
        let (origin, tenant) = (self.origin.clone(), self.ns.tenant().clone());
        let result = call::writable(&mut self.txn)
            .and_then(|txn| timers::set(txn, &origin, &tenant, &plugin, &timer));
        let set = self.storage(result)?;
        if set.is_ok() {
            self.n_timers += 1;
        }
        Ok(set)
    }

    fn cancel(&mut self, key: String) -> wasmtime::Result<Result<bool, WitError>> {
        let plugin = self.plugin.manifest().id.to_string();
        let (origin, tenant) = (self.origin.clone(), self.ns.tenant().clone());
        let result = call::writable(&mut self.txn)
            .and_then(|txn| timers::cancel(txn, &origin, &tenant, &plugin, &key));
        let cancelled = self.storage(result)?;
        if let Ok(true) = cancelled {
            self.n_timers += 1;
        }
        Ok(cancelled)
    }
}
