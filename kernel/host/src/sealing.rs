//! Sensitive collections are encrypted at rest. The host seals each
//! document of a collection its manifest marks `sensitive` before storage
//! sees it, so neither the database file, its write-ahead log, the audit
//! trail (which keeps documents as stored) nor a backup holds it in plain
//! text; and opens it again when the plugin reads it.
//!
//! A sealed document is `{"keel:sealed": "<key id>.<sealed>"}`: sealed with
//! ChaCha20-Poly1305 (keel-identity's [`SecretsKey`]) under a data key,
//! bound to its tenant, plugin, collection and key so that it cannot be
//! moved to another. The data keys are a ring held outside the database,
//! the current one first: documents are sealed with it and opened with
//! whichever sealed them, so a rotated key's documents stay readable while
//! [`crate::Host::reseal`] seals them anew. A document stored before its
//! collection was sealed is read as it is, and resealed too.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use keel_identity::SecretsKey;
use keel_storage::{KeyRange, Namespace};
use keel_types::action;
use keel_types::schema::CollectionDef;
use sha2::{Digest, Sha256};

use crate::error::CallError;

/// The one field of a sealed document.
const FIELD: &str = "keel:sealed";

/// The data keys, the current one first.
pub struct DataKeys {
    keys: Vec<(String, SecretsKey)>,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeys").field("ids", &self.ids()).finish()
    }
}

/// A data key's id: the first 8 hex digits of its SHA-256, which names it
/// without revealing it.
pub fn key_id(key: &[u8; 32]) -> String {
    Sha256::digest(key).iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Where a document lives, as its seal is bound to it.
pub(crate) fn context(ns: &Namespace, collection: &str, key: &str) -> String {
    format!("{}/{}/{collection}/{key}", ns.tenant(), ns.plugin())
}

impl DataKeys {
    /// The ring of `keys`, the current one first; at least one.
    pub fn new(keys: &[[u8; 32]]) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("a data key ring holds at least one key".to_owned());
        }
        Ok(Self { keys: keys.iter().map(|key| (key_id(key), SecretsKey::new(key))).collect() })
    }

    /// The id of the key documents are sealed with.
    pub fn current(&self) -> &str {
        &self.keys[0].0
    }

    /// Every key's id, the current one first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// `document` (a JSON object) sealed for `context`, as the document
    /// storage keeps.
    pub(crate) fn seal(&self, context: &str, document: &str) -> Result<String, String> {
        let (id, key) = &self.keys[0];
        let sealed = key
            .seal(context, document.as_bytes())
            .map_err(|err| format!("sealing {context}: {err}"))?;
        Ok(serde_json::json!({ FIELD: format!("{id}.{sealed}") }).to_string())
    }

    /// The document `stored` holds for `context`: opened if sealed, as it
    /// is if it was stored before its collection was sealed.
    pub(crate) fn open(&self, context: &str, stored: &str) -> Result<String, String> {
        let Some(sealed) = sealed_value(stored) else { return Ok(stored.to_owned()) };
        let (id, sealed) = sealed
            .split_once('.')
            .ok_or_else(|| format!("the sealed document {context} is malformed"))?;
        let (_, key) = self.keys.iter().find(|(held, _)| held == id).ok_or_else(|| {
            format!(
                "the document {context} is sealed with data key {id}, which this kernel does not \
                 hold (it holds {}): start it with the key file or KEEL_DATA_KEY that holds {id}",
                self.ids().join(", ")
            )
        })?;
        let bytes = key.open(context, sealed).map_err(|err| err.to_string())?;
        String::from_utf8(bytes).map_err(|_| format!("the sealed document {context} is not text"))
    }

    /// Whether `stored` is sealed with the current key.
    pub(crate) fn is_current(&self, stored: &str) -> bool {
        sealed_value(stored).is_some_and(|sealed| {
            sealed.split_once('.').is_some_and(|(id, _)| id == self.current())
        })
    }
}

/// The sealed text of a sealed document; none for a plain one.
fn sealed_value(stored: &str) -> Option<String> {
    if !stored.trim_start().starts_with("{\"keel:sealed\"") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(stored).ok()?;
    let object = value.as_object().filter(|o| o.len() == 1)?;
    object.get(FIELD)?.as_str().map(str::to_owned)
}

/// How resealing goes: after a start or a rotation, every document of a
/// sensitive collection not sealed with the current key is sealed anew.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Resealing {
    /// `idle` (none since the start), `running`, `done` or `failed`.
    pub state: &'static str,
    /// The key documents are sealed anew with.
    pub key: Option<String>,
    /// Documents of sensitive collections looked at so far.
    pub checked: u64,
    /// Of those, documents sealed anew.
    pub resealed: u64,
    /// Documents that could not be sealed anew (each is left as it was,
    /// and tried again at the next start).
    pub failed: u64,
    /// Why the first of them, or the whole, failed.
    pub error: Option<String>,
}

/// Documents looked at, and sealed anew, in one write.
const RESEAL_BATCH: u32 = 200;
/// Catalog record of the ids of the data keys documents were ever sealed
/// with here.
const USED_KEYS: &str = "data-keys/used";

fn used_keys(bytes: Option<Vec<u8>>) -> Result<Vec<String>, CallError> {
    let Some(bytes) = bytes else { return Ok(Vec::new()) };
    serde_json::from_slice(&bytes)
        .map_err(|err| CallError::Internal(format!("the used data keys are unreadable: {err}")))
}

impl crate::Host {
    /// The data keys as they are now.
    pub fn data_keys(&self) -> Arc<DataKeys> {
        Arc::clone(&self.inner.data_keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Seals with `keys` from now on (a rotation); documents sealed with
    /// another key of the ring stay readable until [`Host::reseal`] seals
    /// them anew.
    ///
    /// [`Host::reseal`]: crate::Host::reseal
    pub fn set_data_keys(&self, keys: Arc<DataKeys>) {
        *self.inner.data_keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = keys;
    }

    /// How the resealing after the last start or rotation goes.
    pub fn resealing(&self) -> Resealing {
        let resealing = self.inner.resealing.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Resealing {
            state: if resealing.state.is_empty() { "idle" } else { resealing.state },
            ..resealing
        }
    }

    fn progress(&self, change: impl FnOnce(&mut Resealing)) {
        change(&mut self.inner.resealing.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Seals anew, with the current key, every document of a sensitive
    /// collection of every tenant that is not sealed with it (documents
    /// stored before their collection was sealed included): a batch per
    /// write of the tenant's lane (one document per write where a batch is
    /// too large), each document audited as `record.reseal`. A document
    /// that cannot be sealed anew is counted and left as it is. Blocking,
    /// until done or [`Host::stop_resealing`]; [`Host::resealing`] tells
    /// how it goes.
    ///
    /// [`Host::resealing`]: crate::Host::resealing
    /// [`Host::stop_resealing`]: crate::Host::stop_resealing
    pub fn reseal(&self) -> Result<u64, CallError> {
        let keys = self.data_keys();
        self.progress(|r| {
            *r = Resealing {
                state: "running",
                key: Some(keys.current().to_owned()),
                ..Resealing::default()
            };
        });
        let outcome = self.reseal_all(&keys);
        let stopped = self.inner.reseal_stopping.load(Ordering::Relaxed);
        self.progress(|r| match &outcome {
            Ok(_) if stopped => r.state = "stopped",
            Ok(_) => r.state = "done",
            Err(err) => {
                r.state = "failed";
                r.error = Some(err.to_string());
            }
        });
        outcome
    }

    /// Asks a running [`Host::reseal`] to stop after its current batch (the
    /// kernel is stopping; the next start goes on).
    ///
    /// [`Host::reseal`]: crate::Host::reseal
    pub fn stop_resealing(&self) {
        self.inner.reseal_stopping.store(true, Ordering::Relaxed);
    }

    /// The keys documents were ever sealed with here (as the catalog
    /// record `data-keys/used` keeps them) that the ring lacks: a kernel
    /// started without its key file would meet them. Checked before any
    /// plugin runs.
    pub fn missing_data_keys(&self) -> Result<Vec<String>, CallError> {
        let txn = self.inner.storage.read().map_err(CallError::Storage)?;
        let used = used_keys(txn.catalog_get(USED_KEYS).map_err(CallError::Storage)?)?;
        let keys = self.data_keys();
        let held = keys.ids();
        Ok(used.into_iter().filter(|id| !held.contains(&id.as_str())).collect())
    }

    /// Records that documents are sealed with the current key from now on
    /// (audited as `data-key.use` the first time a key is used), before
    /// any plugin runs, so that a later start without it is refused.
    pub fn record_data_key_use(&self, origin: &keel_audit::Origin) -> Result<(), CallError> {
        let storage = CallError::Storage;
        let current = self.data_keys().current().to_owned();
        let mut txn = self.inner.storage.write(&[keel_storage::Lane::Platform]).map_err(storage)?;
        let mut used = used_keys(txn.catalog_get(USED_KEYS).map_err(storage)?)?;
        if used.contains(&current) {
            return Ok(());
        }
        used.push(current.clone());
        let bytes = serde_json::to_vec(&used)
            .map_err(|err| CallError::Internal(format!("the used data keys: {err}")))?;
        txn.catalog_put(USED_KEYS, &bytes).map_err(storage)?;
        let record = keel_audit::Record {
            detail: Some(format!(
                "documents of sensitive collections are sealed with data key {current}"
            )),
            ..origin.record(action::DATA_KEY_USE)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(None), record).map_err(storage)?;
        txn.commit().map_err(storage)
    }

    fn reseal_all(&self, keys: &DataKeys) -> Result<u64, CallError> {
        let mut resealed = 0;
        for tenant in self.tenants()? {
            for plugin in self.enabled_plugins(&tenant.id) {
                let ns = Namespace::new(tenant.id.clone(), plugin.manifest().id.clone());
                for def in plugin.manifest().collections.iter().filter(|c| c.sensitive) {
                    resealed += self.reseal_collection(&ns, def, keys)?;
                }
            }
        }
        Ok(resealed)
    }

    fn reseal_collection(
        &self,
        ns: &Namespace,
        def: &CollectionDef,
        keys: &DataKeys,
    ) -> Result<u64, CallError> {
        let storage = &self.inner.storage;
        let (mut cursor, mut resealed) = (None::<String>, 0);
        loop {
            if self.inner.reseal_stopping.load(Ordering::Relaxed) {
                return Ok(resealed);
            }
            let page = storage.read().and_then(|txn| {
                txn.scan(ns, &def.name, &KeyRange::default(), cursor.as_deref(), RESEAL_BATCH)
            });
            let page = page.map_err(CallError::Storage)?;
            let stale: Vec<&str> = page
                .entries
                .iter()
                .filter(|entry| !keys.is_current(&entry.value))
                .map(|entry| entry.key.as_str())
                .collect();
            let n = match self.reseal_batch(ns, def, keys, &stale) {
                Ok(n) => n,
                // Too much for one write, say: one document a write.
                Err(_) if stale.len() > 1 => {
                    let mut n = 0;
                    for key in &stale {
                        match self.reseal_batch(ns, def, keys, &[key]) {
                            Ok(one) => n += one,
                            Err(err) => self.reseal_failed(ns, def, key, &err.to_string()),
                        }
                    }
                    n
                }
                Err(err) => {
                    stale.iter().for_each(|key| self.reseal_failed(ns, def, key, &err.to_string()));
                    0
                }
            };
            resealed += n;
            self.progress(|r| {
                r.checked += page.entries.len() as u64;
                r.resealed += n;
            });
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(resealed),
            }
        }
    }

    fn reseal_failed(&self, ns: &Namespace, def: &CollectionDef, key: &str, why: &str) {
        let document = context(ns, &def.name, key);
        tracing::warn!(%document, error = why, "a sensitive document could not be sealed anew");
        self.progress(|r| {
            r.failed += 1;
            r.error.get_or_insert_with(|| format!("{document}: {why}"));
        });
    }

    /// Seals `keys` anew in one write of their tenant's lane, looking at
    /// each again there (a plugin may have written it since); one that
    /// cannot be opened is counted and left as it is.
    fn reseal_batch(
        &self,
        ns: &Namespace,
        def: &CollectionDef,
        keys: &DataKeys,
        stale: &[&str],
    ) -> Result<u64, CallError> {
        let lane = keel_storage::Lane::Tenant(ns.tenant().clone());
        let mut txn = self.inner.storage.write(&[lane]).map_err(CallError::Storage)?;
        let origin = keel_audit::Origin::kernel(self.now().seconds);
        let chain = keel_audit::chain_of(Some(ns.tenant()));
        if stale.is_empty() {
            return Ok(0);
        }
        let mut resealed = 0;
        for key in stale {
            let stored = txn.get(ns, &def.name, key).map_err(CallError::Storage)?;
            let Some(stored) = stored.filter(|stored| !keys.is_current(stored)) else { continue };
            let context = context(ns, &def.name, key);
            let sealed = keys.open(&context, &stored).and_then(|doc| keys.seal(&context, &doc));
            let sealed = match sealed {
                Ok(sealed) => sealed,
                Err(why) => {
                    self.reseal_failed(ns, def, key, &why);
                    continue;
                }
            };
            let change = txn.put(ns, def, key, &sealed).map_err(CallError::Storage)?;
            let record = keel_audit::Record {
                plugin: Some(ns.plugin().to_string()),
                collection: Some(def.name.clone()),
                key: Some((*key).to_owned()),
                // Not the value before: it may be the plain text this
                // sealing replaces.
                before: None,
                after: change.after,
                ..origin.record(action::RECORD_RESEAL)
            };
            keel_audit::append(&mut txn, &chain, record).map_err(CallError::Storage)?;
            resealed += 1;
        }
        txn.commit().map_err(CallError::Storage)?;
        Ok(resealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_sealed_for_its_place_and_opened_with_the_key_that_sealed_it() {
        let old = DataKeys::new(&[[1; 32]]).unwrap();
        let document = r#"{"national_id":"NI-4242","bank_account":"GB29NWBK60161331926819"}"#;
        let sealed = old.seal("acme/hr/personal/E1", document).unwrap();
        assert!(!sealed.contains("NI-4242") && !sealed.contains("GB29"), "{sealed}");
        assert!(sealed.starts_with(&format!("{{\"keel:sealed\":\"{}.", old.current())));
        assert_eq!(old.open("acme/hr/personal/E1", &sealed).unwrap(), document);
        assert!(old.open("acme/hr/personal/E2", &sealed).is_err(), "bound to its place");
        assert!(old.is_current(&sealed));

        // Rotated: the new key seals, the old one still opens.
        let ring = DataKeys::new(&[[2; 32], [1; 32]]).unwrap();
        assert_eq!(ring.open("acme/hr/personal/E1", &sealed).unwrap(), document);
        assert!(!ring.is_current(&sealed));
        let resealed = ring.seal("acme/hr/personal/E1", document).unwrap();
        assert!(ring.is_current(&resealed));

        // Without the key that sealed it, it says which key is missing.
        let other = DataKeys::new(&[[3; 32]]).unwrap();
        let err = other.open("acme/hr/personal/E1", &sealed).unwrap_err();
        assert!(err.contains(&format!("sealed with data key {}", old.current())), "{err}");

        // A document stored before sealing is read as it is.
        assert_eq!(ring.open("acme/hr/personal/E1", document).unwrap(), document);
        assert!(!ring.is_current(document));
        assert!(DataKeys::new(&[]).is_err());
    }
}
