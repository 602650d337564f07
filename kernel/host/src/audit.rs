//! The audit trail as the host keeps it: searching a chain, and signing
//! its head (verifying it is `verify`'s).

use keel_types::TenantId;

use crate::error::CallError;
use crate::host::Host;

impl Host {
    /// Entries of `tenant`'s trail from `from` matching `filter` (see [`keel_audit::search`]).
    pub fn audit_search(
        &self,
        tenant: Option<&TenantId>,
        from: u64,
        filter: &keel_audit::Filter,
        limit: usize,
        scan_max: usize,
    ) -> Result<(Vec<keel_audit::Sealed>, Option<u64>), CallError> {
        let txn = self.inner.storage.read().map_err(CallError::Storage)?;
        let chain = keel_audit::chain_of(tenant);
        keel_audit::search(&txn, &chain, from, filter, limit, scan_max).map_err(CallError::Storage)
    }

    /// Signs `tenant`'s chain head (or the platform's) with `signer` and
    /// keeps it in the chain's heads log, if the chain grew since the last
    /// kept head. Only the entries since then are read: they must link on
    /// from it. Returns the new head, none if nothing changed, or where the
    /// chain is broken (then nothing is signed).
    pub fn sign_chain(
        &self,
        tenant: Option<&TenantId>,
        signer: &keel_audit::HeadSigner,
    ) -> Result<Result<Option<keel_audit::SignedHead>, keel_audit::Broken>, CallError> {
        let storage_err = CallError::Storage;
        let chain = keel_audit::chain_of(tenant);
        let txn = self.inner.storage.read().map_err(storage_err)?;
        let kept = keel_audit::kept_heads(&txn, &chain).map_err(storage_err)?;
        let last = kept.iter().filter_map(|(_, h)| h.as_ref()).map(|h| &h.statement);
        let last = last.max_by_key(|s| s.entries);
        let (n_signed, signed_head) =
            last.map_or((0, keel_audit::GENESIS_HASH), |s| (s.entries, s.head.as_str()));
        let tip = txn.log_last(&chain).map_err(storage_err)?.map_or(0, |(seq, _)| seq);
        if tip < n_signed {
            return Ok(Err(keel_audit::Broken {
                seq: tip + 1,
                reason: format!(
                    "the chain was truncated: a kept signed head covers {n_signed} entries, {tip} remain"
                ),
            }));
        }
        if tip == n_signed {
            return Ok(Ok(None));
        }
        // Checked a page at a time: memory stays bounded however far the
        // chain grew since.
        let mut verifier = keel_audit::Verifier::resume(n_signed + 1, signed_head);
        let mut from = n_signed + 1;
        loop {
            let page = txn.log_scan(&chain, from, 1_000).map_err(storage_err)?;
            let Some((last, _)) = page.last() else { break };
            from = last + 1;
            for (position, bytes) in page {
                if let Err(broken) = verifier.check(position, &bytes) {
                    return Ok(Err(broken));
                }
            }
        }
        let summary = verifier.summary();
        drop(txn);
        let statement = keel_audit::HeadStatement {
            chain,
            entries: summary.entries,
            head: summary.head,
            signed_at: self.now().seconds,
        };
        let signed = signer.sign(statement);
        let mut txn = self.inner.storage.write(&[crate::lane(tenant)]).map_err(storage_err)?;
        keel_audit::keep_head(&mut txn, &signed).map_err(storage_err)?;
        txn.commit().map_err(storage_err)?;
        Ok(Ok(Some(signed)))
    }

    /// The signed heads kept for `tenant`'s chain (or the platform's), in
    /// the order kept, with their positions (none: unreadable).
    pub fn kept_heads(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<(u64, Option<keel_audit::SignedHead>)>, CallError> {
        let txn = self.inner.storage.read().map_err(CallError::Storage)?;
        keel_audit::kept_heads(&txn, &keel_audit::chain_of(tenant)).map_err(CallError::Storage)
    }
}
