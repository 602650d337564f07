//! Schema-only mirrors of what `keel-audit` writes: audit entries and
//! signed heads are answered exactly as the chain holds them (their bytes
//! are what is hashed and signed), so the gateway cannot answer a type of
//! its own for them. These describe them in the admin document, and the
//! tests below hold each mirror to the fields its original serialises.

#![allow(dead_code, reason = "schemas only: never built, only described")]

use std::collections::BTreeMap;

/// An entry of an audit chain (`keel_audit::Sealed`).
#[derive(utoipa::ToSchema)]
pub(crate) struct AuditEntry {
    /// Position in the chain, from 1.
    seq: u64,
    /// The previous entry's hash (64 zeros for the first).
    prev: String,
    /// SHA-256 of `seq`, `prev` and the record, hex.
    hash: String,
    record: AuditRecord,
}

/// One audited change (`keel_audit::Record`); a field with nothing to say
/// is left out.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct AuditRecord {
    /// When, Unix seconds from the kernel clock.
    at: i64,
    /// Who: a user, `token:<id>`, or `kernel` for the kernel itself.
    actor: String,
    /// The roles the actor held where it acted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: Vec<String>,
    /// The client's address, if the change came over the network.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    source: Option<String>,
    /// The request that caused it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    request_id: Option<String>,
    /// What kind of change, such as `record.put` or `plugin.enable`.
    action: String,
    /// The plugin whose data or state changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    plugin: Option<String>,
    /// The collection of a changed document.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    collection: Option<String>,
    /// The key of a changed document.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    key: Option<String>,
    /// The document before the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<serde_json::Value>,
    /// The document after the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<serde_json::Value>,
    /// Anything else worth keeping, such as versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    detail: Option<String>,
    /// The kernel records and sequence counters this entry seals: by name,
    /// the SHA-256 of the value each now holds, or null once removed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    seals: BTreeMap<String, Option<String>>,
}

/// A signed chain head (`keel_audit::SignedHead`).
#[derive(utoipa::ToSchema)]
pub(crate) struct SignedHeadBody {
    statement: HeadStatementBody,
    /// ed25519 signature of the statement's JSON, hex.
    signature: String,
    /// The kernel's public key, hex.
    public_key: String,
}

/// What a signed head asserts (`keel_audit::HeadStatement`).
#[derive(utoipa::ToSchema)]
pub(crate) struct HeadStatementBody {
    /// The chain, such as `tenant/acme`.
    chain: String,
    /// Its number of entries.
    entries: u64,
    /// The hash of its last entry.
    head: String,
    /// When it was signed, Unix seconds.
    signed_at: i64,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use utoipa::PartialSchema;

    use super::*;

    /// A schema's property names, and its required ones.
    fn described<T: PartialSchema>() -> (Vec<String>, Vec<String>) {
        let schema = serde_json::to_value(T::schema()).unwrap();
        let mut properties: Vec<String> =
            schema["properties"].as_object().unwrap().keys().cloned().collect();
        let mut required: Vec<String> = schema["required"]
            .as_array()
            .map(|r| r.iter().map(|n| n.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        properties.sort();
        required.sort();
        (properties, required)
    }

    fn keys(value: &impl serde::Serialize) -> Vec<String> {
        let value = serde_json::to_value(value).unwrap();
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    fn record(full: bool) -> keel_audit::Record {
        let mut record = keel_audit::Origin::kernel(1).record(keel_types::action::RECORD_PUT);
        if full {
            record.roles = vec!["admin".to_owned()];
            record.source = Some("127.0.0.1".to_owned());
            record.request_id = Some("r".to_owned());
            record.plugin = Some("finance".to_owned());
            record.collection = Some("accounts".to_owned());
            record.key = Some("1000".to_owned());
            record.before = Some(json!({ "n": 1 }));
            record.after = Some(json!({ "n": 2 }));
            record.detail = Some("d".to_owned());
            record.seals.insert("catalog:x".to_owned(), None);
        }
        record
    }

    #[test]
    fn the_audit_record_mirror_describes_every_field_the_chain_writes() {
        let (properties, required) = described::<AuditRecord>();
        assert_eq!(properties, keys(&record(true)), "every field is described");
        assert_eq!(required, keys(&record(false)), "only those always written are required");
        let schema = serde_json::to_value(AuditRecord::schema()).unwrap();
        for name in ["source", "request_id", "plugin", "collection", "key", "detail"] {
            assert_eq!(
                schema["properties"][name]["type"], "string",
                "{name}: left out, never null"
            );
        }
        assert_eq!(schema["properties"]["after"].get("type"), None, "any JSON value");
    }

    #[test]
    fn the_entry_and_head_mirrors_describe_every_field_written() {
        let sealed = keel_audit::Sealed {
            seq: 1,
            prev: "0".repeat(64),
            hash: "a".repeat(64),
            record: record(false),
        };
        assert_eq!(described::<AuditEntry>(), (keys(&sealed), keys(&sealed)));
        let statement = keel_audit::HeadStatement {
            chain: "tenant/demo".to_owned(),
            entries: 1,
            head: "a".repeat(64),
            signed_at: 1,
        };
        let signed = keel_audit::HeadSigner::from_seed(&[3; 32]).sign(statement.clone());
        assert_eq!(described::<HeadStatementBody>(), (keys(&statement), keys(&statement)));
        assert_eq!(described::<SignedHeadBody>(), (keys(&signed), keys(&signed)));
        let value: Value = serde_json::to_value(&signed).unwrap();
        assert!(value["statement"].is_object());
    }
}
