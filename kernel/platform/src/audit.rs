//! The audit trail as administrators and auditors meet it: search, verify
//! (against the signed heads the kernel kept, and any kept elsewhere), and
//! signed heads, kept at intervals and on demand.

use keel_audit::{Broken, SignedHead, Summary};
use keel_types::TenantId;

use crate::{Platform, PlatformError, internal};

type Verdict = Result<Summary, Broken>;

/// Sessions removed by one write of [`Platform::prune`].
const PRUNE_BATCH: usize = 500;

/// What [`Platform::prune`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Expired sessions.
    pub sessions: usize,
    /// Delivered events past their retention.
    pub events: usize,
    /// Answers kept for idempotency keys, after a day.
    pub idempotency: usize,
    /// Jobs ended more than 30 days ago.
    pub jobs: usize,
}

impl Platform {
    /// Entries of `tenant`'s trail from `from` matching `filter`.
    pub fn audit_search(
        &self,
        tenant: &TenantId,
        from: u64,
        filter: &keel_audit::Filter,
        limit: usize,
        scan_max: usize,
    ) -> Result<(Vec<keel_audit::Sealed>, Option<u64>), PlatformError> {
        self.tenant(tenant)?;
        self.inner.host.audit_search(Some(tenant), from, filter, limit, scan_max).map_err(internal)
    }

    /// Checks `tenant`'s whole audit chain, against every signed head the
    /// kernel kept and against an entry count and head recorded elsewhere
    /// when given.
    pub fn audit_verify(
        &self,
        tenant: &TenantId,
        expected: Option<(u64, &str)>,
    ) -> Result<Verdict, PlatformError> {
        self.tenant(tenant)?;
        self.verify_chain(Some(tenant), expected)
    }

    /// Entries of the platform's own chain matching `filter`.
    pub fn platform_audit_search(
        &self,
        from: u64,
        filter: &keel_audit::Filter,
        limit: usize,
        scan_max: usize,
    ) -> Result<(Vec<keel_audit::Sealed>, Option<u64>), PlatformError> {
        self.inner.host.audit_search(None, from, filter, limit, scan_max).map_err(internal)
    }

    /// Checks the platform's own chain, against its kept signed heads.
    pub fn platform_audit_verify(&self) -> Result<Verdict, PlatformError> {
        self.verify_chain(None, None)
    }

    fn verify_chain(
        &self,
        tenant: Option<&TenantId>,
        expected: Option<(u64, &str)>,
    ) -> Result<Verdict, PlatformError> {
        let kept = self.inner.host.kept_heads(tenant).map_err(internal)?;
        let key = self.inner.signer.public_key();
        let mut heads = Vec::with_capacity(kept.len() + 1);
        for (expected_position, (position, signed)) in (1..).zip(kept) {
            let edited = |seq: u64, what: &str| {
                Ok(Err(Broken {
                    seq,
                    reason: format!("kept signed head {position} {what}: the heads log was edited"),
                }))
            };
            if position != expected_position {
                return edited(0, &format!("follows a gap (head {expected_position} is missing)"));
            }
            let Some(signed) = signed else { return edited(0, "is unreadable") };
            if signed.public_key != key || !keel_audit::verify_signed_head(&signed) {
                return edited(
                    signed.statement.entries,
                    "does not carry this kernel's signature (or the signing key was replaced)",
                );
            }
            heads.push((signed.statement.entries, signed.statement.head));
        }
        heads.extend(expected.map(|(n, head)| (n, head.to_owned())));
        let chain = keel_audit::chain_of(tenant);
        let _only = OneVerification::of(&self.inner.verifying, chain).ok_or_else(|| {
            PlatformError::Conflict(
                "this audit chain is being verified already; retry once that verification ends"
                    .to_owned(),
            )
        })?;
        let catalog_index = keel_identity::check_catalog_index;
        self.inner.host.audit_verify(tenant, &heads, &catalog_index).map_err(internal)
    }

    /// Signs `tenant`'s current chain head with the kernel's key, without
    /// keeping it; refused while the chain does not verify.
    pub fn audit_head(&self, tenant: &TenantId) -> Result<SignedHead, PlatformError> {
        let summary = self.audit_verify(tenant, None)?.map_err(broken)?;
        let statement = keel_audit::HeadStatement {
            chain: keel_audit::chain_of(Some(tenant)),
            entries: summary.entries,
            head: summary.head,
            signed_at: self.inner.host.now().seconds,
        };
        Ok(self.inner.signer.sign(statement))
    }

    /// Signs and keeps `tenant`'s chain head now if the chain grew since the
    /// last kept head; returns the newest kept head.
    pub fn keep_head(&self, tenant: &TenantId) -> Result<SignedHead, PlatformError> {
        self.tenant(tenant)?;
        // One signer at a time keeps the heads log in order.
        let _signing = self.inner.signing.lock().unwrap_or_else(|p| p.into_inner());
        let signed = self.inner.host.sign_chain(Some(tenant), &self.inner.signer);
        if let Some(signed) = signed.map_err(internal)?.map_err(broken)? {
            return Ok(signed);
        }
        let kept = self.kept_heads(Some(tenant))?;
        kept.into_iter().max_by_key(|h| h.statement.entries).ok_or_else(|| {
            PlatformError::NotFound(format!("the audit chain of {tenant} has no entries yet"))
        })
    }

    /// The signed heads kept for `tenant`'s chain (or the platform's), oldest first.
    pub fn kept_heads(&self, tenant: Option<&TenantId>) -> Result<Vec<SignedHead>, PlatformError> {
        if let Some(tenant) = tenant {
            self.tenant(tenant)?;
        }
        let kept = self.inner.host.kept_heads(tenant).map_err(internal)?;
        Ok(kept.into_iter().filter_map(|(_, head)| head).collect())
    }

    /// Signs and keeps the head of every chain (the platform's and each
    /// tenant's) that grew since its last kept head; run at intervals.
    /// Returns how many were signed. A broken chain is logged, not signed.
    pub fn sign_heads(&self) -> Result<usize, PlatformError> {
        let tenants = self.tenants()?;
        let _signing = self.inner.signing.lock().unwrap_or_else(|p| p.into_inner());
        let chains = std::iter::once(None).chain(tenants.iter().map(|t| Some(&t.id)));
        let mut n_signed = 0;
        for tenant in chains {
            match self.inner.host.sign_chain(tenant, &self.inner.signer).map_err(internal)? {
                Ok(Some(signed)) => {
                    n_signed += 1;
                    tracing::info!(chain = %signed.statement.chain, entries = signed.statement.entries, "audit head signed");
                }
                Ok(None) => {}
                Err(broken) => {
                    let chain = keel_audit::chain_of(tenant);
                    tracing::error!(%chain, %broken, "audit chain broken; head not signed");
                }
            }
        }
        Ok(n_signed)
    }

    /// Removes what has outlived its use, so that disk use stays bounded:
    /// expired sessions, events that every subscriber has and that are
    /// older than the limits' `event_retention`, and answers kept for
    /// idempotency keys for over a day. Each removal is audited.
    /// Blocking: the kernel runs it on the blocking pool every few minutes.
    /// What fails is logged and the rest is pruned all the same: one
    /// tenant's failure leaves the others' data bounded.
    pub fn prune(&self) -> Pruned {
        let counted = |what: &str, pruned: Result<usize, String>| {
            pruned.unwrap_or_else(|err| {
                tracing::error!(error = %err, "pruning {what} failed; the rest is pruned all the same");
                0
            })
        };
        let sessions = self.identity().prune_sessions(PRUNE_BATCH).map_err(|e| e.to_string());
        let sessions = counted("sessions", sessions);
        let retention = self.inner.host.limits().event_retention;
        let events = counted("events", self.inner.host.prune_events(retention));
        let idempotency = counted("idempotency keys", self.inner.host.prune_idempotency());
        let jobs = counted("ended jobs", self.inner.host.prune_jobs());
        Pruned { sessions, events, idempotency, jobs }
    }
}

/// The claim of one verification on its chain: a chain is verified by one
/// caller at a time, so that parallel requests cannot multiply the memory
/// and reads a verification takes.
struct OneVerification<'a> {
    running: &'a std::sync::Mutex<std::collections::HashSet<String>>,
    chain: String,
}

impl<'a> OneVerification<'a> {
    /// Claims `chain`; none while another verification of it runs.
    fn of(
        running: &'a std::sync::Mutex<std::collections::HashSet<String>>,
        chain: String,
    ) -> Option<Self> {
        let claimed = running.lock().unwrap_or_else(|p| p.into_inner()).insert(chain.clone());
        // Built only once claimed: dropping an unclaimed one would free
        // another caller's claim.
        claimed.then(|| Self { running, chain })
    }
}

impl Drop for OneVerification<'_> {
    fn drop(&mut self) {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.chain);
    }
}

fn broken(broken: Broken) -> PlatformError {
    PlatformError::Conflict(format!("will not sign a broken chain: {broken}"))
}

#[cfg(test)]
mod tests {
    use super::OneVerification;

    #[test]
    fn a_chain_is_verified_by_one_caller_at_a_time() {
        let running = std::sync::Mutex::default();
        let first = OneVerification::of(&running, "tenant/demo".to_owned());
        assert!(first.is_some());
        assert!(OneVerification::of(&running, "tenant/demo".to_owned()).is_none(), "busy");
        assert!(OneVerification::of(&running, "tenant/acme".to_owned()).is_some(), "another chain");
        drop(first);
        assert!(OneVerification::of(&running, "tenant/demo".to_owned()).is_some(), "free again");
    }
}
