//! Guest memory, counted three times: against the call it serves (the call
//! and the providers it calls share [`Limits::memory_bytes_max`], however
//! many memories their instances have), against its tenant (the tenant's
//! calls running at once share [`Limits::guest_memory_tenant_bytes`], so
//! that one tenant cannot take all of the kernel's) and against the kernel
//! (all calls running at once share [`Limits::guest_memory_total_bytes`]).
//! Memory is counted when a store asks for it, before wasmtime maps it,
//! and given back when the store is dropped.
//!
//! [`Limits::memory_bytes_max`]: keel_types::Limits::memory_bytes_max
//! [`Limits::guest_memory_tenant_bytes`]: keel_types::Limits::guest_memory_tenant_bytes
//! [`Limits::guest_memory_total_bytes`]: keel_types::Limits::guest_memory_total_bytes

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use keel_types::TenantId;

/// Bytes that may be in use at once, and those in use.
#[derive(Debug)]
pub(crate) struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self { used: AtomicUsize::new(0), max })
    }

    /// Takes `n` bytes, unless that would pass the budget.
    fn take(&self, n: usize) -> bool {
        let max = self.max;
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= max)
            })
            .is_ok()
    }

    fn give_back(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes in use now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// The most that may be in use.
    pub(crate) fn max(&self) -> usize {
        self.max
    }
}

/// Which budget refused memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The call's own: the plugin (or a provider it called) asked too much.
    Call,
    /// The tenant's: its other calls use its share; try again later.
    Tenant,
    /// The kernel's: too much is in use by all calls; try again later.
    Kernel,
}

/// What one store holds of its call's budget, its tenant's and the kernel's.
#[derive(Debug)]
pub(crate) struct MemoryUse {
    call: Arc<Budget>,
    tenant: Arc<Budget>,
    kernel: Arc<Budget>,
    held: usize,
}

impl MemoryUse {
    /// The first store of a call: a budget of its own, of `call_max` bytes.
    pub(crate) fn new(call_max: usize, tenant: &Arc<Budget>, kernel: &Arc<Budget>) -> Self {
        Self {
            call: Budget::new(call_max),
            tenant: Arc::clone(tenant),
            kernel: Arc::clone(kernel),
            held: 0,
        }
    }

    /// The store of a provider this call calls: the same budgets.
    pub(crate) fn for_provider(&self) -> Self {
        Self {
            call: Arc::clone(&self.call),
            tenant: Arc::clone(&self.tenant),
            kernel: Arc::clone(&self.kernel),
            held: 0,
        }
    }

    /// Grows what this store holds by `n` bytes, or says which budget refused.
    pub(crate) fn grow(&mut self, n: usize) -> Result<(), Refused> {
        if !self.call.take(n) {
            return Err(Refused::Call);
        }
        if !self.tenant.take(n) {
            self.call.give_back(n);
            return Err(Refused::Tenant);
        }
        if !self.kernel.take(n) {
            self.tenant.give_back(n);
            self.call.give_back(n);
            return Err(Refused::Kernel);
        }
        self.held += n;
        Ok(())
    }

    /// Gives back `n` bytes this store was granted but did not get (the
    /// growth failed after it was allowed).
    pub(crate) fn shrink(&mut self, n: usize) {
        let n = n.min(self.held);
        self.give_back(n);
        self.held -= n;
    }

    fn give_back(&self, n: usize) {
        self.call.give_back(n);
        self.tenant.give_back(n);
        self.kernel.give_back(n);
    }

    /// The call's limit, in bytes.
    pub(crate) fn call_max(&self) -> usize {
        self.call.max()
    }

    /// The tenant's share, in bytes.
    pub(crate) fn tenant_max(&self) -> usize {
        self.tenant.max()
    }
}

impl Drop for MemoryUse {
    fn drop(&mut self) {
        self.give_back(self.held);
    }
}

/// Each tenant's share of guest memory, made at its first call.
#[derive(Debug)]
pub(crate) struct TenantBudgets {
    max: usize,
    budgets: Mutex<HashMap<TenantId, Arc<Budget>>>,
}

impl TenantBudgets {
    pub(crate) fn new(max: usize) -> Self {
        Self { max, budgets: Mutex::new(HashMap::new()) }
    }

    /// `tenant`'s share.
    pub(crate) fn of(&self, tenant: &TenantId) -> Arc<Budget> {
        let mut budgets = self.budgets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(budgets.entry(tenant.clone()).or_insert_with(|| Budget::new(self.max)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_and_its_providers_share_a_budget_and_every_call_shares_the_kernels() {
        // A tenant share as large as the kernel's, to see the kernel's refuse.
        let (kernel, tenant) = (Budget::new(100), Budget::new(1000));
        let mut call = MemoryUse::new(60, &tenant, &kernel);
        call.grow(40).unwrap();
        let mut provider = call.for_provider();
        assert_eq!(provider.grow(30), Err(Refused::Call), "40 + 30 is past the call's 60");
        provider.grow(20).unwrap();
        let mut other = MemoryUse::new(60, &tenant, &kernel);
        assert_eq!(other.grow(50), Err(Refused::Kernel), "60 in use + 50 is past 100");
        assert_eq!(kernel.used(), 60, "a refused request holds nothing");
        other.grow(40).unwrap();
        drop(provider);
        drop(call);
        assert_eq!(kernel.used(), 40, "dropped stores give their memory back");
        other.grow(60 - 40).unwrap();
        assert_eq!(other.grow(1), Err(Refused::Call));
        other.shrink(10);
        assert_eq!(kernel.used(), 50, "a failed growth gives its bytes back");
        other.grow(10).unwrap();
        drop(other);
        assert_eq!(kernel.used(), 0);
    }

    #[test]
    fn a_tenants_calls_share_its_part_and_leave_the_rest_to_the_others() {
        let kernel = Budget::new(100);
        let tenants = TenantBudgets::new(50);
        let (evil, demo) = (TenantId::new("evil").unwrap(), TenantId::new("demo").unwrap());
        let mut first = MemoryUse::new(40, &tenants.of(&evil), &kernel);
        first.grow(30).unwrap();
        let mut second = MemoryUse::new(40, &tenants.of(&evil), &kernel);
        assert_eq!(second.grow(30), Err(Refused::Tenant), "30 + 30 is past evil's 50");
        assert_eq!(kernel.used(), 30, "a refused request holds nothing");
        second.grow(20).unwrap();
        let mut other = MemoryUse::new(40, &tenants.of(&demo), &kernel);
        other.grow(40).unwrap();
        drop(first);
        second.grow(20).unwrap();
        assert_eq!(kernel.used(), 80, "evil's 40 and demo's 40");
        drop((second, other));
        assert_eq!(kernel.used(), 0);
        assert_eq!(tenants.of(&evil).used(), 0, "dropped stores give their tenant's share back");
    }
}
