//! `keel:kernel/context`: facts about the current call.

use crate::bindings::Timestamp;
use crate::bindings::keel::kernel::context::Host;
use crate::call::CallState;

impl Host for CallState {
    fn tenant(&mut self) -> wasmtime::Result<String> {
        Ok(self.ns.tenant().to_string())
    }

    fn caller(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.caller.clone())
    }

    fn request_id(&mut self) -> wasmtime::Result<String> {
        Ok(self.request_id.to_string())
    }

    fn now(&mut self) -> wasmtime::Result<Timestamp> {
        Ok(Timestamp { seconds: self.now.seconds, nanoseconds: self.now.nanoseconds })
    }

    fn has_permission(&mut self, permission: String) -> wasmtime::Result<bool> {
        let Some(check) = &self.permissions else { return Ok(false) };
        Ok(check.check(self.ns.tenant(), &permission))
    }
}
