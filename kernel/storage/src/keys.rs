//! Byte layout of storage keys, and the lane each key belongs to.
//!
//! Segments are ids with no NUL byte, so NUL separators make every prefix
//! unambiguous. Every key built here starts with one byte naming its
//! [`Table`]: the overlays of pending writes and the write-ahead log hold
//! keys of every table in one ordered space, and redb is given the key
//! without that byte.

use std::fmt;

use keel_types::{PluginId, TenantId};

/// One plugin's data within one tenant. Built only by the kernel, from the
/// call's tenant and the plugin's manifest id; never from guest input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    tenant: TenantId,
    plugin: PluginId,
    prefix: Vec<u8>,
}

impl Namespace {
    /// The namespace of `plugin` within `tenant`.
    pub fn new(tenant: TenantId, plugin: PluginId) -> Self {
        let mut prefix = Vec::with_capacity(tenant.as_str().len() + plugin.as_str().len() + 2);
        prefix.extend_from_slice(tenant.as_str().as_bytes());
        prefix.push(0);
        prefix.extend_from_slice(plugin.as_str().as_bytes());
        prefix.push(0);
        Self { tenant, plugin, prefix }
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The plugin.
    pub fn plugin(&self) -> &PluginId {
        &self.plugin
    }

    /// `table | tenant \0 plugin \0 name \0`: the prefix of a collection's
    /// documents (in [`Table::Docs`]), or a sequence (in [`Table::Sequences`]).
    pub(crate) fn child(&self, table: Table, name: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(1 + self.prefix.len() + name.len() + 1);
        key.push(table.tag());
        key.extend_from_slice(&self.prefix);
        key.extend_from_slice(name.as_bytes());
        key.push(0);
        key
    }

    /// `index | tenant \0 plugin \0 collection \0 index \0`: the prefix of an index.
    pub(crate) fn index(&self, collection: &str, index: &str) -> Vec<u8> {
        let mut key = self.child(Table::Index, collection);
        key.extend_from_slice(index.as_bytes());
        key.push(0);
        key
    }

    /// The lane its writes take.
    pub(crate) fn lane(&self) -> Lane {
        Lane::Tenant(self.tenant.clone())
    }
}

/// The tables of the store. Their tag is the first byte of every key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Table {
    /// Documents: `namespace collection \0 key` -> JSON text.
    Docs,
    /// Index entries: `namespace collection \0 index \0 value \0 key` -> nothing.
    Index,
    /// Gapless sequences: `namespace name \0` -> the last number, 8 bytes big-endian.
    Sequences,
    /// The kernel's own records: a UTF-8 key -> bytes.
    Catalog,
    /// Append-only logs (the audit chains): `chain \0 seq (8 bytes big-endian)` -> bytes.
    Log,
}

impl Table {
    pub(crate) const ALL: [Table; 5] =
        [Table::Docs, Table::Index, Table::Sequences, Table::Catalog, Table::Log];

    pub(crate) fn tag(self) -> u8 {
        match self {
            Table::Docs => 1,
            Table::Index => 2,
            Table::Sequences => 3,
            Table::Catalog => 4,
            Table::Log => 5,
        }
    }

    pub(crate) fn from_tag(tag: u8) -> Option<Self> {
        Table::ALL.into_iter().find(|table| table.tag() == tag)
    }

    /// The table a tagged key belongs to.
    pub(crate) fn of(key: &[u8]) -> Option<Self> {
        key.first().copied().and_then(Table::from_tag)
    }
}

/// Whose writes a write turn may make, and so which writers it waits for:
/// writes in different lanes never wait for each other. Every tenant is a
/// lane of its own; the platform (users, sessions, tenants, installed
/// packages and their audit chain) is another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// The kernel's platform-wide records.
    Platform,
    /// One tenant: its plugins' documents, its audit chain, and the kernel
    /// records about it (enabled plugins, members, roles, events…).
    Tenant(TenantId),
}

/// The name of the platform lane in the log and the lane table; no
/// tenant id can spell it.
const PLATFORM: &str = "~platform";

/// Catalog key kinds (`kind/<tenant>/…`) whose records belong to a tenant.
/// Every other kind, and a second segment that is not a tenant id (such as
/// `member/~platform/…`), is the platform's.
const TENANT_KINDS: [&str; 25] = [
    "apitoken",
    "apitoken-owner",
    "cursor",
    "dead",
    "enabled",
    "event",
    "event-key",
    "idempotency",
    "import-mapping",
    "import-part",
    "job",
    "job-open",
    "member",
    "provider",
    "report",
    "report-schedule",
    "report-version",
    "retry",
    "role",
    "schedule",
    "sod",
    "timer",
    "timer-dead",
    "timer-due",
    "webhook",
];

/// Catalog key kinds whose records index other records, as index entries
/// index documents: `apitoken-digest/<digest>` names the token record it
/// finds. The audit chain does not seal them; verification checks each
/// against the record it points to.
const INDEX_KINDS: [&str; 1] = ["apitoken-digest"];

/// The name under which the audit chain seals the value of a kernel-held
/// key: `catalog:<key>` for a catalog record, `sequence:<plugin>/<name>`
/// for a sequence counter. None for documents and their index entries
/// (their audit records carry them whole), logs, and catalog kinds that
/// index other records.
pub(crate) fn sealed_name(key: &[u8]) -> Option<String> {
    let body = key.get(1..)?;
    match Table::of(key)? {
        Table::Catalog => {
            let key = std::str::from_utf8(body).ok()?;
            let kind = key.split('/').next().unwrap_or(key);
            (!INDEX_KINDS.contains(&kind)).then(|| format!("catalog:{key}"))
        }
        Table::Sequences => {
            let mut parts = body.split(|b| *b == 0);
            let (_tenant, plugin, name) = (parts.next()?, parts.next()?, parts.next()?);
            let (plugin, name) =
                (std::str::from_utf8(plugin).ok()?, std::str::from_utf8(name).ok()?);
            Some(format!("sequence:{plugin}/{name}"))
        }
        Table::Docs | Table::Index | Table::Log => None,
    }
}

/// The catalog prefixes (`kind/<tenant>/`) of a tenant lane's records.
pub(crate) fn tenant_catalog_prefixes(tenant: &TenantId) -> impl Iterator<Item = String> + '_ {
    TENANT_KINDS.iter().map(move |kind| format!("{kind}/{tenant}/"))
}

impl Lane {
    /// The lane's name in the write-ahead log.
    pub(crate) fn name(&self) -> &str {
        match self {
            Lane::Platform => PLATFORM,
            Lane::Tenant(tenant) => tenant.as_str(),
        }
    }

    /// The lane named `name`, as [`Lane::name`] spells it.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        if name == PLATFORM {
            return Some(Lane::Platform);
        }
        TenantId::new(name).ok().map(Lane::Tenant)
    }

    /// The lane of a kernel catalog record.
    pub(crate) fn of_catalog(key: &str) -> Lane {
        let mut segments = key.splitn(3, '/');
        let (Some(kind), Some(scope)) = (segments.next(), segments.next()) else {
            return Lane::Platform;
        };
        match TenantId::new(scope) {
            Ok(tenant) if TENANT_KINDS.contains(&kind) => Lane::Tenant(tenant),
            _ => Lane::Platform,
        }
    }

    /// The lane of a log (audit chain): `tenant/<id>` and its kept heads
    /// `heads/tenant/<id>` are the tenant's; every other log the platform's.
    pub(crate) fn of_chain(chain: &str) -> Lane {
        let chain = chain.strip_prefix("heads/").unwrap_or(chain);
        match chain.strip_prefix("tenant/").map(TenantId::new) {
            Some(Ok(tenant)) => Lane::Tenant(tenant),
            _ => Lane::Platform,
        }
    }

    /// The lane of a tagged key, if its table says which.
    pub(crate) fn of_key(key: &[u8]) -> Option<Lane> {
        let body = key.get(1..)?;
        match Table::of(key)? {
            Table::Docs | Table::Index | Table::Sequences => {
                let tenant = body.split(|b| *b == 0).next()?;
                TenantId::new(std::str::from_utf8(tenant).ok()?).ok().map(Lane::Tenant)
            }
            Table::Catalog => Some(Lane::of_catalog(std::str::from_utf8(body).ok()?)),
            Table::Log => {
                let end = body.len().checked_sub(9)?;
                Some(Lane::of_chain(std::str::from_utf8(body.get(..end)?).ok()?))
            }
        }
    }
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lane::Platform => f.write_str("the platform"),
            Lane::Tenant(tenant) => write!(f, "tenant {tenant}"),
        }
    }
}

/// `base ++ suffix` as a new key.
pub(crate) fn join(base: &[u8], suffix: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(base.len() + suffix.len());
    key.extend_from_slice(base);
    key.extend_from_slice(suffix);
    key
}

/// The tagged key of a catalog record.
pub(crate) fn catalog_key(key: &str) -> Vec<u8> {
    join(&[Table::Catalog.tag()], key.as_bytes())
}

/// The tagged key of entry `seq` of log `chain`.
pub(crate) fn log_key(chain: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + chain.len() + 9);
    key.push(Table::Log.tag());
    key.extend_from_slice(chain.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The position of a log entry from its key.
pub(crate) fn log_seq(key: &[u8]) -> Option<u64> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// The key after every key that starts with `prefix`, if there is one.
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Encodes a position for a client to pass back: lower-case hex.
pub(crate) fn encode_cursor(suffix: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(suffix.len() * 2);
    for byte in suffix {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Decodes a cursor produced by [`encode_cursor`].
pub(crate) fn decode_cursor(cursor: &str) -> Option<Vec<u8>> {
    if !cursor.len().is_multiple_of(2) || cursor.len() > 4096 {
        return None;
    }
    (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> Lane {
        Lane::Tenant(TenantId::new(id).unwrap())
    }

    #[test]
    fn every_key_names_its_lane() {
        let ns = Namespace::new(TenantId::new("acme").unwrap(), PluginId::new("finance").unwrap());
        assert_eq!(
            Lane::of_key(&join(&ns.child(Table::Docs, "entries"), b"7")),
            Some(tenant("acme"))
        );
        assert_eq!(Lane::of_key(&ns.index("entries", "by-date")), Some(tenant("acme")));
        assert_eq!(Lane::of_key(&ns.child(Table::Sequences, "entries")), Some(tenant("acme")));
        assert_eq!(Lane::of_key(&log_key("tenant/acme", 3)), Some(tenant("acme")));
        assert_eq!(Lane::of_key(&log_key("heads/tenant/acme", 3)), Some(tenant("acme")));
        assert_eq!(Lane::of_key(&log_key("platform", 3)), Some(Lane::Platform));
        assert_eq!(Lane::of_key(&catalog_key("enabled/acme/finance")), Some(tenant("acme")));
        assert_eq!(Lane::of_key(&catalog_key("member/acme/alice")), Some(tenant("acme")));
        assert_eq!(Lane::of_key(&catalog_key("member/~platform/alice")), Some(Lane::Platform));
        assert_eq!(Lane::of_key(&catalog_key("user/acme")), Some(Lane::Platform));
        assert_eq!(Lane::of_key(&catalog_key("tenant/acme")), Some(Lane::Platform));
        assert_eq!(Lane::of_key(&catalog_key("apitoken-digest/abc")), Some(Lane::Platform));
        assert_eq!(Lane::of_key(&[9, 1, 2]), None);
    }

    #[test]
    fn sealed_names_say_what_the_chain_seals() {
        let ns = Namespace::new(TenantId::new("acme").unwrap(), PluginId::new("finance").unwrap());
        let sealed = |key: &[u8]| sealed_name(key);
        assert_eq!(
            sealed(&catalog_key("member/acme/alice")).as_deref(),
            Some("catalog:member/acme/alice")
        );
        assert_eq!(
            sealed(&ns.child(Table::Sequences, "entries")).as_deref(),
            Some("sequence:finance/entries")
        );
        assert_eq!(sealed(&catalog_key("apitoken-digest/abc")), None, "an index of tokens");
        assert_eq!(sealed(&join(&ns.child(Table::Docs, "entries"), b"7")), None);
        assert_eq!(sealed(&log_key("tenant/acme", 1)), None);
    }

    #[test]
    fn lane_names_round_trip_and_the_platform_is_no_tenant() {
        for lane in [Lane::Platform, tenant("t1")] {
            assert_eq!(Lane::parse(lane.name()), Some(lane.clone()));
        }
        assert!(TenantId::new(PLATFORM).is_err());
        assert!(Lane::Platform < tenant("a"), "the platform lane is taken first");
    }

    #[test]
    fn prefix_ends_bound_every_key_with_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 255]), Some(vec![2]));
        assert_eq!(prefix_end(&[255, 255]), None);
    }
}
