//! Sealing records into a chain, and checking a chain.

use keel_storage::{ReadTxn, WriteTxn};
use keel_types::TenantId;
use sha2::{Digest, Sha256};

/// What happened: one audited change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// When, Unix seconds from the kernel clock.
    pub at: i64,
    /// Who: a user, `token:<id>`, or `kernel` for the kernel itself.
    pub actor: String,
    /// The roles the actor held where it acted (tenant roles, then platform ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The client's address, if the change came over the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The request that caused it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What kind of change, such as `record.put` or `plugin.enable`.
    pub action: String,
    /// The plugin whose data or state changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The collection of a changed document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// The key of a changed document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The document before the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    /// The document after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    /// Anything else worth keeping, such as versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The kernel records and sequence counters that changed in this
    /// chain's lane since its previous entry, in the same transaction: by
    /// name (`catalog:<key>`, `sequence:<plugin>/<name>`), each with the
    /// SHA-256 of the value it now holds, or none once removed. Filled in by
    /// [`append`]; verification holds the store to them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub seals: std::collections::BTreeMap<String, Option<String>>,
}

impl Record {
    /// Whether this records a plugin document write (`record.insert`,
    /// `record.put`, `record.delete`, and `record.reseal`, a sensitive
    /// document sealed anew), whose `after` is the document's value.
    pub fn writes_document(&self) -> bool {
        use keel_types::action::{RECORD_DELETE, RECORD_INSERT, RECORD_PUT, RECORD_RESEAL};
        let writes = [RECORD_INSERT, RECORD_PUT, RECORD_DELETE, RECORD_RESEAL];
        writes.iter().any(|a| a.as_str() == self.action)
    }
}

/// Who makes a change, when and from where: what every record of one
/// request shares. Fields absent from older records serialise to nothing,
/// so adding them changed no existing hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// When, Unix seconds from the kernel clock.
    pub at: i64,
    /// A user, `token:<id>`, or `kernel`.
    pub actor: String,
    /// The roles the actor held where it acted.
    pub roles: Vec<String>,
    /// The request, if any.
    pub request_id: Option<String>,
    /// The client's address, if any.
    pub source: Option<String>,
}

impl Origin {
    /// The kernel itself acting at `at` (start-up, bootstrap).
    pub fn kernel(at: i64) -> Self {
        Self { at, actor: "kernel".to_owned(), ..Self::default() }
    }

    /// A record of the kernel's `action` by this origin; the caller fills
    /// in what changed.
    pub fn record(&self, action: keel_types::Action) -> Record {
        self.record_named(action.as_str().to_owned())
    }

    /// A plugin's business record, `<plugin>.<action>`, by this origin (no
    /// plugin id is the first part of a kernel action).
    pub fn plugin_record(&self, plugin: &str, action: &str) -> Record {
        Record {
            plugin: Some(plugin.to_owned()),
            ..self.record_named(format!("{plugin}.{action}"))
        }
    }

    fn record_named(&self, action: String) -> Record {
        Record {
            at: self.at,
            actor: self.actor.clone(),
            roles: self.roles.clone(),
            source: self.source.clone(),
            request_id: self.request_id.clone(),
            action,
            plugin: None,
            collection: None,
            key: None,
            before: None,
            after: None,
            detail: None,
            seals: std::collections::BTreeMap::new(),
        }
    }
}

/// A record in its chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sealed {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// The previous entry's hash (64 zeros for the first).
    pub prev: String,
    /// SHA-256 of `seq`, `prev` and the record.
    pub hash: String,
    /// The record.
    pub record: Record,
}

/// Which records a query wants; unset fields match everything, and the
/// time bounds are inclusive Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Filter {
    /// Only this actor.
    #[serde(default)]
    pub actor: Option<String>,
    /// Only this plugin.
    #[serde(default)]
    pub plugin: Option<String>,
    /// Only this collection.
    #[serde(default)]
    pub collection: Option<String>,
    /// Only this document key.
    #[serde(default)]
    pub key: Option<String>,
    /// Only this action, such as `record.put`.
    #[serde(default)]
    pub action: Option<String>,
    /// Only at or after this time.
    #[serde(default)]
    pub since: Option<i64>,
    /// Only at or before this time.
    #[serde(default)]
    pub until: Option<i64>,
}

impl Filter {
    /// Whether `record` is wanted.
    pub fn matches(&self, record: &Record) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        same(&self.actor, Some(&record.actor))
            && same(&self.plugin, record.plugin.as_deref())
            && same(&self.collection, record.collection.as_deref())
            && same(&self.key, record.key.as_deref())
            && same(&self.action, Some(&record.action))
            && self.since.is_none_or(|t| record.at >= t)
            && self.until.is_none_or(|t| record.at <= t)
    }
}

/// Entries of `chain` from `from_seq` that match `filter`: at most `limit`
/// of them, reading at most `scan_max` entries. Returns the matches and the
/// position to continue from, if the chain may hold more.
pub fn search(
    txn: &ReadTxn,
    chain: &str,
    from_seq: u64,
    filter: &Filter,
    limit: usize,
    scan_max: usize,
) -> keel_storage::Result<(Vec<Sealed>, Option<u64>)> {
    const PAGE: usize = 1000;
    let mut found = Vec::new();
    let mut next = from_seq;
    let mut n_scanned = 0;
    while found.len() < limit && n_scanned < scan_max {
        let batch = page(txn, chain, next, PAGE.min(scan_max - n_scanned))?;
        let Some(last) = batch.last().map(|e| e.seq) else { return Ok((found, None)) };
        n_scanned += batch.len();
        for sealed in batch {
            next = sealed.seq + 1;
            if filter.matches(&sealed.record) {
                found.push(sealed);
                if found.len() == limit {
                    break;
                }
            }
        }
        debug_assert!(found.len() == limit || next == last + 1, "a whole page was read");
    }
    let more = txn.log_scan(chain, next, 1)?.first().map(|(seq, _)| *seq);
    Ok((found, more.map(|_| next)))
}

/// A chain that checked out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Entries checked.
    pub entries: u64,
    /// The hash of the last entry: keep it elsewhere to detect truncation later.
    pub head: String,
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {reason}")]
pub struct Broken {
    /// The first entry that does not check out.
    pub seq: u64,
    /// What is wrong with it.
    pub reason: String,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash before the first entry of every chain.
pub const GENESIS_HASH: &str = GENESIS;

/// The chain of a tenant, or of the platform.
pub fn chain_of(tenant: Option<&TenantId>) -> String {
    tenant.map_or_else(|| "platform".to_owned(), |t| format!("tenant/{t}"))
}

#[cfg(test)]
fn hash(seq: u64, prev: &str, record: &Record) -> String {
    // Field order is fixed by the struct and JSON objects inside are
    // ordered maps, so the encoding is canonical.
    hash_encoded(seq, prev, &serde_json::to_vec(record).unwrap_or_default())
}

/// [`hash`] of a record already encoded as JSON.
fn hash_encoded(seq: u64, prev: &str, record: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(seq.to_be_bytes());
    hasher.update(prev.as_bytes());
    hasher.update(record);
    hex(&hasher.finalize())
}

/// The digest a record's [`Record::seals`] holds for a stored value:
/// SHA-256, lower-case hex.
pub fn value_digest(value: &[u8]) -> String {
    hex(&Sha256::digest(value))
}

fn hex(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    hex
}

/// Appends `record` to `chain` inside `txn`: it commits or aborts with the
/// change it describes. It seals, by digest, every catalog record and
/// sequence counter the transaction changed in the chain's lane since the
/// lane's last entry (see [`Record::seals`]).
pub fn append(txn: &mut WriteTxn, chain: &str, mut record: Record) -> keel_storage::Result<u64> {
    /// The part of the last entry an append needs; the record is skipped.
    #[derive(serde::Deserialize)]
    struct Tail {
        seq: u64,
        hash: String,
    }
    let corrupt = |err: serde_json::Error| {
        keel_storage::Error::Backend(format!("audit chain {chain}: last entry unreadable: {err}"))
    };
    let (seq, prev) = match txn.log_last(chain)? {
        Some((_, bytes)) => {
            let tail = match framed_tail(&bytes) {
                Some((seq, hash)) => Tail { seq, hash: hash.to_owned() },
                None => serde_json::from_slice(&bytes).map_err(corrupt)?,
            };
            if tail.hash.len() != 64
                || !tail.hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(keel_storage::Error::Backend(format!(
                    "audit chain {chain}: last entry has a malformed hash"
                )));
            }
            (tail.seq + 1, tail.hash)
        }
        None => (1, GENESIS.to_owned()),
    };
    for (name, value) in txn.take_unsealed(chain)? {
        record.seals.insert(name, value.as_deref().map(value_digest));
    }
    // The record is encoded once: hashed, then framed as a `Sealed`
    // exactly as serde would write it (fields in declaration order).
    let body =
        serde_json::to_vec(&record).map_err(|err| keel_storage::Error::Backend(err.to_string()))?;
    let hash = hash_encoded(seq, &prev, &body);
    txn.log_append(chain, seq, &framed(seq, &prev, &hash, &body))?;
    Ok(seq)
}

/// An entry as stored: a `Sealed` exactly as serde writes it (fields in
/// declaration order), around a record already encoded.
fn framed(seq: u64, prev: &str, hash: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(body.len() + 180);
    for part in [r#"{"seq":"#, &seq.to_string(), r#","prev":""#, prev, r#"","hash":""#, hash] {
        bytes.extend_from_slice(part.as_bytes());
    }
    bytes.extend_from_slice(br#"","record":"#);
    bytes.extend_from_slice(body);
    bytes.push(b'}');
    bytes
}

/// The position and hash of an entry framed as [`append`] frames it
/// (`{"seq":N,"prev":"…","hash":"…","record":…`), read without parsing the
/// record after them; `None` for any other shape.
fn framed_tail(bytes: &[u8]) -> Option<(u64, &str)> {
    let rest = bytes.strip_prefix(br#"{"seq":"#)?;
    let n_digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let (digits, rest) = rest.split_at(n_digits);
    let seq = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let rest = rest.strip_prefix(br#","prev":""#)?.get(64..)?;
    let rest = rest.strip_prefix(br#"","hash":""#)?;
    let (hash, rest) = rest.split_at_checked(64)?;
    rest.starts_with(br#"","record":"#).then_some(())?;
    Some((seq, std::str::from_utf8(hash).ok()?))
}

/// Decodes a stored entry.
pub fn decode(bytes: &[u8]) -> Result<Sealed, Broken> {
    serde_json::from_slice(bytes)
        .map_err(|err| Broken { seq: 0, reason: format!("entry is not readable: {err}") })
}

/// Up to `limit` entries of `chain` from `from_seq` on.
pub fn page(
    txn: &ReadTxn,
    chain: &str,
    from_seq: u64,
    limit: usize,
) -> keel_storage::Result<Vec<Sealed>> {
    let entries = txn.log_scan(chain, from_seq, limit)?;
    entries
        .iter()
        .map(|(_, bytes)| decode(bytes).map_err(|err| keel_storage::Error::Backend(err.reason)))
        .collect()
}

/// Checks a whole chain, given as `(stored position, bytes)` in order:
/// positions run 1, 2, 3…, each entry links to the previous hash, and each
/// hash matches its content.
pub fn verify(entries: impl IntoIterator<Item = (u64, Vec<u8>)>) -> Result<Summary, Broken> {
    verify_from(1, GENESIS, entries)
}

/// Checks the part of a chain from `first_seq` on, given the hash of the
/// entry before it (`prev`): for extending a head checked earlier without
/// reading the chain from its start.
pub fn verify_from(
    first_seq: u64,
    prev: &str,
    entries: impl IntoIterator<Item = (u64, Vec<u8>)>,
) -> Result<Summary, Broken> {
    let mut verifier = Verifier::resume(first_seq, prev);
    for (position, bytes) in entries {
        verifier.check(position, &bytes)?;
    }
    Ok(verifier.summary())
}

/// Checks a chain one entry at a time, as it is read: [`verify`] in
/// memory bounded by one entry, whatever the chain's length.
#[derive(Debug, Clone)]
pub struct Verifier {
    expected_seq: u64,
    prev: String,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::resume(1, GENESIS)
    }
}

impl Verifier {
    /// A verifier of the part of a chain from `first_seq` on, given the
    /// hash of the entry before it (`prev`).
    pub fn resume(first_seq: u64, prev: &str) -> Self {
        Self { expected_seq: first_seq, prev: prev.to_owned() }
    }

    /// Checks the next stored entry, at `position`, and returns it decoded:
    /// it must be the next position, link to the entry before, and match
    /// its hash.
    pub fn check(&mut self, position: u64, bytes: &[u8]) -> Result<Sealed, Broken> {
        let expected_seq = self.expected_seq;
        let broken = |reason: String| Broken { seq: position, reason };
        if position != expected_seq {
            return Err(Broken {
                seq: expected_seq,
                reason: format!(
                    "entry {expected_seq} is missing (the next stored entry is {position})"
                ),
            });
        }
        let sealed = decode(bytes).map_err(|err| broken(err.reason))?;
        if sealed.seq != position {
            return Err(broken(format!(
                "entry claims position {} but is stored at {position}: moved",
                sealed.seq
            )));
        }
        if sealed.prev != self.prev {
            return Err(broken(
                "does not link to the previous entry: reordered or one before it replaced"
                    .to_owned(),
            ));
        }
        let body = serde_json::to_vec(&sealed.record).unwrap_or_default();
        if hash_encoded(sealed.seq, &sealed.prev, &body) != sealed.hash {
            return Err(broken("content does not match its hash: edited".to_owned()));
        }
        // The same content spelt otherwise (an escape written another way)
        // is an edit too: an entry is the bytes the kernel wrote.
        if bytes != framed(sealed.seq, &sealed.prev, &sealed.hash, &body) {
            return Err(broken("is not stored as the kernel wrote it: edited".to_owned()));
        }
        self.prev.clone_from(&sealed.hash);
        self.expected_seq += 1;
        Ok(sealed)
    }

    /// The entries checked so far, and the last one's hash.
    pub fn summary(&self) -> Summary {
        Summary { entries: self.expected_seq - 1, head: self.prev.clone() }
    }
}

/// The log that keeps `chain`'s signed heads, oldest first.
pub fn heads_log(chain: &str) -> String {
    format!("heads/{chain}")
}

/// Keeps `signed` in its chain's heads log, inside `txn`.
pub fn keep_head(txn: &mut WriteTxn, signed: &crate::SignedHead) -> keel_storage::Result<()> {
    let log = heads_log(&signed.statement.chain);
    let seq = txn.log_last(&log)?.map_or(1, |(seq, _)| seq + 1);
    let bytes =
        serde_json::to_vec(signed).map_err(|err| keel_storage::Error::Backend(err.to_string()))?;
    txn.log_append(&log, seq, &bytes)
}

/// The signed heads kept for `chain` in the order kept, each with its
/// position in the heads log; none where an entry is unreadable, or not
/// byte for byte as the kernel wrote it (verify names it, and a gap in the
/// positions).
pub fn kept_heads(
    txn: &ReadTxn,
    chain: &str,
) -> keel_storage::Result<Vec<(u64, Option<crate::SignedHead>)>> {
    let entries = read_from(txn, &heads_log(chain), 0)?;
    let as_written = |bytes: &[u8]| {
        let head: crate::SignedHead = serde_json::from_slice(bytes).ok()?;
        (serde_json::to_vec(&head).ok()? == bytes).then_some(head)
    };
    Ok(entries.into_iter().map(|(seq, bytes)| (seq, as_written(&bytes))).collect())
}

/// Every stored entry of `log` from position `from` on, as
/// `(position, bytes)`, read in bounded pages.
pub fn read_from(txn: &ReadTxn, log: &str, from: u64) -> keel_storage::Result<Vec<(u64, Vec<u8>)>> {
    const PAGE: usize = 10_000;
    let mut entries = Vec::new();
    let mut from = from;
    loop {
        let page = txn.log_scan(log, from, PAGE)?;
        let Some((last, _)) = page.last() else { return Ok(entries) };
        from = last + 1;
        entries.extend(page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u32) -> Record {
        Record {
            at: 1_800_000_000,
            actor: "alice".to_owned(),
            roles: Vec::new(),
            source: None,
            request_id: None,
            action: "record.put".to_owned(),
            plugin: Some("finance".to_owned()),
            collection: Some("accounts".to_owned()),
            key: Some(n.to_string()),
            before: None,
            after: Some(serde_json::json!({ "n": n })),
            detail: None,
            seals: std::collections::BTreeMap::new(),
        }
    }

    /// A chain of `n` entries built through the real append path.
    fn chain(n: u32) -> Vec<(u64, Vec<u8>)> {
        let dir = tempfile::tempdir().unwrap();
        let storage =
            keel_storage::Storage::open(&dir.path().join("a.redb"), keel_types::Limits::default())
                .unwrap();
        let tenant = keel_types::TenantId::new("t").unwrap();
        let mut txn = storage.write(&[keel_storage::Lane::Tenant(tenant)]).unwrap();
        for i in 1..=n {
            append(&mut txn, "tenant/t", record(i)).unwrap();
        }
        txn.commit().unwrap();
        storage.read().unwrap().log_scan("tenant/t", 0, 1000).unwrap()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let entries = chain(5);
        let summary = verify(entries.clone()).unwrap();
        assert_eq!(summary.entries, 5);
        assert_eq!(summary.head, decode(&entries[4].1).unwrap().hash);
        assert_eq!(verify(Vec::new()).unwrap().entries, 0);
    }

    #[test]
    fn an_edited_entry_is_named() {
        let mut entries = chain(5);
        let text = String::from_utf8(entries[2].1.clone()).unwrap().replace("\"n\":3", "\"n\":4");
        entries[2].1 = text.into_bytes();
        assert_eq!(verify(entries).unwrap_err().seq, 3);
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let mut entries = chain(5);
        entries.remove(1);
        let broken = verify(entries).unwrap_err();
        assert_eq!(broken.seq, 2);
        assert!(broken.reason.contains("missing"));
    }

    #[test]
    fn the_same_content_spelt_otherwise_is_an_edit() {
        let mut entries = chain(3);
        let mut sealed = decode(&entries[1].1).unwrap();
        sealed.record.detail = Some("a unit separator: \u{1f}".to_owned());
        let body = serde_json::to_vec(&sealed.record).unwrap();
        sealed.hash = hash_encoded(sealed.seq, &sealed.prev, &body);
        // Relinked so that only the spelling is at fault.
        let mut third = decode(&entries[2].1).unwrap();
        third.prev.clone_from(&sealed.hash);
        let third_body = serde_json::to_vec(&third.record).unwrap();
        third.hash = hash_encoded(third.seq, &third.prev, &third_body);
        entries[1].1 = framed(sealed.seq, &sealed.prev, &sealed.hash, &body);
        entries[2].1 = framed(third.seq, &third.prev, &third.hash, &third_body);
        assert!(verify(entries.clone()).is_ok(), "as the kernel writes it");
        let text = String::from_utf8(entries[1].1.clone()).unwrap();
        assert!(text.contains("\\u001f"), "{text}");
        entries[1].1 = text.replace("\\u001f", "\\u001F").into_bytes();
        assert_eq!(decode(&entries[1].1).unwrap().record, sealed.record, "reads the same");
        let broken = verify(entries).unwrap_err();
        assert_eq!(broken.seq, 2);
        assert!(broken.reason.contains("as the kernel wrote it"), "{broken}");
    }

    #[test]
    fn reordered_entries_are_named() {
        let mut entries = chain(5);
        let (a, b) = (entries[1].1.clone(), entries[2].1.clone());
        entries[1].1 = b;
        entries[2].1 = a;
        assert_eq!(verify(entries).unwrap_err().seq, 2);
    }

    #[test]
    fn a_rewritten_chain_tail_is_named_where_it_diverges() {
        let mut entries = chain(3);
        // Replace entry 2 with a freshly sealed one: its own hash is fine,
        // but entry 3 no longer links to it.
        let mut forged = decode(&entries[1].1).unwrap();
        forged.record.after = Some(serde_json::json!({ "n": 99 }));
        forged.hash = hash(forged.seq, &forged.prev, &forged.record);
        entries[1].1 = serde_json::to_vec(&forged).unwrap();
        assert_eq!(verify(entries).unwrap_err().seq, 3);
    }

    #[test]
    fn fields_added_later_leave_older_records_hashing_as_before() {
        // A record as the first release wrote it, before `roles` and `source`.
        let old_layout = r#"{"at":1800000000,"actor":"alice","action":"record.put","plugin":"finance","collection":"accounts","key":"1","after":{"n":1}}"#;
        let mut hasher = Sha256::new();
        hasher.update(1u64.to_be_bytes());
        hasher.update(GENESIS.as_bytes());
        hasher.update(old_layout.as_bytes());
        let old_hash: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hash(1, GENESIS, &record(1)), old_hash);
        let mut with = record(1);
        with.roles = vec!["admin".to_owned()];
        with.source = Some("10.0.0.1".to_owned());
        assert_ne!(hash(1, GENESIS, &with), hash(1, GENESIS, &record(1)));
    }

    #[test]
    fn appended_entries_decode_as_sealed_records() {
        let entries = chain(3);
        for (position, bytes) in &entries {
            let sealed = decode(bytes).unwrap();
            assert_eq!(sealed.seq, *position);
            assert_eq!(sealed.record, record(u32::try_from(*position).unwrap()));
            // Re-encoding through serde gives the stored bytes exactly.
            assert_eq!(&serde_json::to_vec(&sealed).unwrap(), bytes);
        }
    }

    #[test]
    fn the_tail_is_read_from_the_frame_as_serde_reads_it() {
        for (_, bytes) in chain(3) {
            let sealed = decode(&bytes).unwrap();
            assert_eq!(framed_tail(&bytes), Some((sealed.seq, sealed.hash.as_str())));
        }
        assert_eq!(framed_tail(br#"{"prev":"x","seq":1}"#), None, "another shape: serde reads it");
        assert_eq!(framed_tail(br#"{"seq":1,"prev":"short","hash":"x","record":{}}"#), None);
    }

    #[test]
    fn positions_cannot_be_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let storage =
            keel_storage::Storage::open(&dir.path().join("a.redb"), keel_types::Limits::default())
                .unwrap();
        let mut txn = storage.write(&[keel_storage::Lane::Platform]).unwrap();
        txn.log_append("c", 1, b"x").unwrap();
        assert!(txn.log_append("c", 1, b"y").is_err());
        assert_eq!(txn.log_scan("c", 1, 10).unwrap(), [(1, b"x".to_vec())], "refused, and kept");
    }
}
