//! Byte layout of storage keys. Segments are ids with no NUL byte, so NUL
//! separators make every prefix unambiguous.

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

    /// `tenant \0 plugin \0 name \0`: the prefix of a collection's documents,
    /// or of a sequence.
    pub(crate) fn child(&self, name: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.prefix.len() + name.len() + 1);
        key.extend_from_slice(&self.prefix);
        key.extend_from_slice(name.as_bytes());
        key.push(0);
        key
    }

    /// `tenant \0 plugin \0 collection \0 index \0`: the prefix of an index.
    pub(crate) fn index(&self, collection: &str, index: &str) -> Vec<u8> {
        let mut key = self.child(collection);
        key.extend_from_slice(index.as_bytes());
        key.push(0);
        key
    }
}

/// `base ++ suffix` as a new key.
pub(crate) fn join(base: &[u8], suffix: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(base.len() + suffix.len());
    key.extend_from_slice(base);
    key.extend_from_slice(suffix);
    key
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
