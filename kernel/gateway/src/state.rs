//! What every handler shares: the platform, and the bounds on plugin calls
//! (and imports) in flight.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use keel_platform::Platform;
use keel_types::TenantId;
use tokio::sync::Semaphore;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) platform: Platform,
    /// Plugin calls in flight, bounded by the host's instance slots, so a
    /// burst queues here with a deadline instead of on the blocking pool.
    pub(crate) calls: Arc<Semaphore>,
    /// Each tenant's calls in flight, bounded below the instance slots, so
    /// that one tenant's burst (or its calls queued behind a slow one)
    /// never takes every slot.
    pub(crate) tenant_calls: Arc<Mutex<HashMap<TenantId, Arc<Semaphore>>>>,
    /// The tenants with an import running: one at a time each, since an
    /// import holds its tenant's writes while it runs.
    pub(crate) importing: Arc<Mutex<HashSet<TenantId>>>,
    /// The bearer token `/metrics` answers to, if the operator set one.
    pub(crate) metrics_token: Option<Arc<str>>,
}

impl AppState {
    /// The semaphore bounding `tenant`'s calls in flight.
    pub(crate) fn tenant_calls(&self, tenant: &TenantId) -> Arc<Semaphore> {
        let n_calls = usize::try_from(self.platform.host().limits().calls_per_tenant_max)
            .unwrap_or(usize::MAX);
        let mut calls = self.tenant_calls.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(calls.entry(tenant.clone()).or_insert_with(|| Arc::new(Semaphore::new(n_calls))))
    }
}
