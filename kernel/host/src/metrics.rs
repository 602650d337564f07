//! What the host counts for `/metrics`: plugin calls by plugin, tenant and
//! outcome, with their duration, and event deliveries' lag and dead
//! letters. The gateway renders them; this module only records.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use keel_types::TenantId;

use crate::error::CallError;

/// Tenants named in labels; calls of any later tenant count as `other`,
/// so that a kernel of many tenants cannot grow its metrics without bound.
pub(crate) const TENANT_LABELS_MAX: usize = 100;

static TENANTS: LazyLock<Mutex<HashSet<TenantId>>> = LazyLock::new(Mutex::default);

/// The label of `tenant`: its id, for the first [`TENANT_LABELS_MAX`]
/// tenants the process sees, or `other`.
fn tenant_label(tenant: &TenantId) -> String {
    let mut named = TENANTS.lock().unwrap_or_else(|p| p.into_inner());
    if named.contains(tenant) {
        return tenant.to_string();
    }
    if named.len() < TENANT_LABELS_MAX {
        named.insert(tenant.clone());
        return tenant.to_string();
    }
    "other".to_owned()
}

/// How a call ended, as a label: `ok`, `error` (the plugin answered an
/// error), `trap`, `deadline`, `memory`, `busy` (no room to run it), or
/// `refused` (the kernel refused its answer or its writes).
pub(crate) fn outcome<T>(ended: &Result<T, (CallError, bool)>) -> &'static str {
    match ended {
        Ok(_) => "ok",
        Err((err, _)) => match err {
            CallError::Plugin { .. } | CallError::NotByCreator { .. } => "error",
            CallError::Trap { .. } => "trap",
            CallError::Deadline { .. } => "deadline",
            CallError::MemoryLimit { .. }
            | CallError::GuestMemoryFull
            | CallError::TenantMemoryFull { .. } => "memory",
            CallError::Busy => "busy",
            _ => "refused",
        },
    }
}

/// One plugin call ran: its guest took `took`.
pub(crate) fn call(plugin: &str, tenant: &TenantId, outcome: &'static str, took: Duration) {
    metrics::histogram!(
        "keel_plugin_call_duration_seconds",
        "plugin" => plugin.to_owned(),
        "tenant" => tenant_label(tenant),
        "outcome" => outcome,
    )
    .record(took.as_secs_f64());
}

/// An event reached a subscriber (`plugin` or `webhook`) `lag` after it
/// was published.
pub(crate) fn delivered(kind: &'static str, lag: Duration) {
    metrics::histogram!("keel_event_delivery_lag_seconds", "subscriber" => kind)
        .record(lag.as_secs_f64());
}

/// A delivery to a subscriber (`plugin` or `webhook`) failed for good.
pub(crate) fn dead_letter(kind: &'static str) {
    metrics::counter!("keel_event_dead_letters_total", "subscriber" => kind).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_labels_are_bounded() {
        let labels: HashSet<String> = (0..TENANT_LABELS_MAX * 2)
            .map(|n| tenant_label(&TenantId::new(format!("t{n}")).unwrap()))
            .collect();
        assert!(labels.len() <= TENANT_LABELS_MAX + 1, "{} labels", labels.len());
        assert!(labels.contains("other"));
        assert!(labels.contains("t0"), "the first tenants keep their names");
    }
}
