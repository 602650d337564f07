//! The audit trail as the host keeps it: searching and verifying a chain
//! (with the plugin documents it describes), and signing its head.

use keel_types::{PluginId, TenantId};

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
        let txn = self.inner.storage.read().map_err(|err| CallError::Storage(err.to_string()))?;
        let chain = keel_audit::chain_of(tenant);
        keel_audit::search(&txn, &chain, from, filter, limit, scan_max)
            .map_err(|err| CallError::Storage(err.to_string()))
    }

    /// Checks `tenant`'s whole chain on one snapshot, then that every
    /// audited document still holds its last audited value: a change made
    /// around the kernel (straight into the store) is named too.
    /// Given `expected` heads (entry counts and head hashes recorded
    /// earlier: kept signed heads, or one exported and kept elsewhere), a
    /// chain cut short or rewritten since is named.
    pub fn audit_verify(
        &self,
        tenant: Option<&TenantId>,
        expected: &[(u64, String)],
    ) -> Result<Result<keel_audit::Summary, keel_audit::Broken>, CallError> {
        let storage_err = |err: keel_storage::Error| CallError::Storage(err.to_string());
        let txn = self.inner.storage.read().map_err(storage_err)?;
        let chain = keel_audit::chain_of(tenant);
        let entries = keel_audit::read_from(&txn, &chain, 0).map_err(storage_err)?;
        let summary = match keel_audit::verify(entries.iter().cloned()) {
            Ok(summary) => summary,
            Err(broken) => return Ok(Err(broken)),
        };
        for (n, head) in expected {
            let n = *n;
            let at_n =
                usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| entries.get(i));
            let hash_at_n =
                at_n.and_then(|(_, bytes)| keel_audit::decode(bytes).ok()).map(|s| s.hash);
            match hash_at_n {
                None if n > summary.entries => {
                    return Ok(Err(keel_audit::Broken {
                        seq: summary.entries + 1,
                        reason: format!(
                            "the chain was truncated: {n} entries were recorded, {} remain",
                            summary.entries
                        ),
                    }));
                }
                Some(hash) if hash != *head => {
                    return Ok(Err(keel_audit::Broken {
                        seq: n,
                        reason: "entry does not match the recorded head: the chain was rewritten"
                            .to_owned(),
                    }));
                }
                _ => {}
            }
        }
        // The platform chain records no documents.
        let Some(tenant) = tenant else { return Ok(Ok(summary)) };
        // The last audited value of each document, by (plugin, collection, key).
        let mut last: std::collections::BTreeMap<
            (String, String, String),
            (u64, Option<serde_json::Value>),
        > = std::collections::BTreeMap::new();
        for (_, bytes) in &entries {
            let Ok(sealed) = keel_audit::decode(bytes) else { continue };
            let record = sealed.record;
            if !record.writes_document() {
                continue;
            }
            if let (Some(plugin), Some(collection), Some(key)) =
                (record.plugin, record.collection, record.key)
            {
                last.insert((plugin, collection, key), (sealed.seq, record.after));
            }
        }
        for ((plugin, collection, key), (seq, audited)) in last {
            let Ok(plugin_id) = PluginId::new(plugin.as_str()) else { continue };
            let ns = keel_storage::Namespace::new(tenant.clone(), plugin_id);
            let stored = txn.get(&ns, &collection, &key).map_err(storage_err)?;
            let stored: Option<serde_json::Value> =
                stored.as_deref().and_then(|text| serde_json::from_str(text).ok());
            if stored != audited {
                return Ok(Err(keel_audit::Broken {
                    seq,
                    reason: format!(
                        "document {plugin}/{collection}/{key} differs from its last audited value: changed around the kernel"
                    ),
                }));
            }
        }
        Ok(Ok(summary))
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
        let storage_err = |err: keel_storage::Error| CallError::Storage(err.to_string());
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
        let entries = keel_audit::read_from(&txn, &chain, n_signed + 1).map_err(storage_err)?;
        let summary = match keel_audit::verify_from(n_signed + 1, signed_head, entries) {
            Ok(summary) => summary,
            Err(broken) => return Ok(Err(broken)),
        };
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
        let txn = self.inner.storage.read().map_err(|err| CallError::Storage(err.to_string()))?;
        keel_audit::kept_heads(&txn, &keel_audit::chain_of(tenant))
            .map_err(|err| CallError::Storage(err.to_string()))
    }
}
