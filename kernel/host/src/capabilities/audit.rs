//! `keel:kernel/audit`: business records a plugin adds to its tenant's
//! trail, in the call's transaction.

use keel_types::schema::check_name;

use crate::bindings::WitError;
use crate::bindings::keel::kernel::audit::{Event, Host};
use crate::call::CallState;

/// Events one call may append.
const EVENTS_PER_CALL_MAX: u32 = 256;
/// Longest action name, in bytes.
const ACTION_BYTES_MAX: usize = 64;
/// Longest detail, in bytes.
const DETAIL_BYTES_MAX: usize = 4096;

/// Checks an action name: `a-z`, `0-9`, `-` and `.`, not starting or
/// ending with a dot.
fn check_action(action: &str) -> Result<(), String> {
    let well_formed = !action.is_empty()
        && action.len() <= ACTION_BYTES_MAX
        && action
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !action.starts_with('.')
        && !action.ends_with('.')
        && !action.contains("..");
    if well_formed {
        return Ok(());
    }
    Err(format!(
        "audit action {action:?} must be 1 to {ACTION_BYTES_MAX} bytes of a-z, 0-9, '-' and '.'"
    ))
}

impl CallState {
    fn check_event(&self, event: &Event) -> Result<(), WitError> {
        check_action(&event.action).map_err(WitError::Invalid)?;
        if event.detail.len() > DETAIL_BYTES_MAX {
            return Err(WitError::Invalid(format!(
                "audit detail is {} bytes; at most {DETAIL_BYTES_MAX}",
                event.detail.len()
            )));
        }
        if let Some(collection) = &event.collection {
            check_name("collection", collection).map_err(|e| WitError::Invalid(e.to_string()))?;
            if self.plugin.manifest().collection(collection).is_none() {
                return Err(WitError::Invalid(format!(
                    "collection {collection:?} is not declared in the manifest of plugin {}",
                    self.plugin.manifest().id
                )));
            }
        }
        if event.key.as_ref().is_some_and(|key| key.len() > self.limits.key_bytes_max) {
            return Err(WitError::Invalid(format!(
                "audit key is longer than {} bytes",
                self.limits.key_bytes_max
            )));
        }
        if self.n_audit_events >= EVENTS_PER_CALL_MAX {
            return Err(WitError::LimitExceeded(format!(
                "a call may append at most {EVENTS_PER_CALL_MAX} audit events"
            )));
        }
        Ok(())
    }
}

impl Host for CallState {
    fn append(&mut self, event: Event) -> wasmtime::Result<Result<(), WitError>> {
        if let Err(err) = self.check_event(&event) {
            return Ok(Err(err));
        }
        let plugin = self.plugin.manifest().id.to_string();
        let record = keel_audit::Record {
            collection: event.collection,
            key: event.key,
            detail: Some(event.detail),
            ..self.origin.plugin_record(&plugin, &event.action)
        };
        let chain = keel_audit::chain_of(Some(self.ns.tenant()));
        let result = crate::call::writable(&mut self.txn)
            .and_then(|txn| keel_audit::append(txn, &chain, record));
        let appended = self.storage(result)?;
        if appended.is_ok() {
            self.n_audit_events += 1;
        }
        Ok(appended.map(drop))
    }
}

#[cfg(test)]
mod tests {
    use super::check_action;

    #[test]
    fn actions_are_short_dotted_names() {
        for good in ["entry.posted", "posted", "po-approved.v2"] {
            assert!(check_action(good).is_ok(), "{good}");
        }
        for bad in ["", ".x", "x.", "a..b", "Entry", "a b", "a/b", &"a".repeat(65)] {
            assert!(check_action(bad).is_err(), "{bad:?}");
        }
    }
}
