//! What a plugin declares about its stored data: collections and their
//! secondary indexes. The storage layer maintains indexes from these.

use crate::id::{IdError, check_id};

/// A collection of documents, declared in a plugin's manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionDef {
    /// The collection's name, unique within the plugin.
    pub name: String,
    /// Secondary indexes maintained on every write.
    #[serde(default)]
    pub indexes: Vec<IndexDef>,
    /// Personal data (payroll, health data): each document is sealed at
    /// rest under the kernel's data key, and reads are audited too (each
    /// document a call reads gets a `record.read` entry, without its value).
    /// It may have no index.
    #[serde(default)]
    pub sensitive: bool,
}

/// A secondary index: the values found at `field` in each document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexDef {
    /// The index's name, unique within the collection.
    pub name: String,
    /// Where the indexed values are, such as `date` or `lines[].account`.
    pub field: FieldPath,
}

/// A path into a JSON document: dot-separated object keys, where a key
/// followed by `[]` steps into every element of an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    key: String,
    each: bool,
}

impl FieldPath {
    /// Parses `a.b[].c`.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let invalid = |reason| IdError { kind: "field path", value: text.to_owned(), reason };
        if text.is_empty() || text.len() > 200 {
            return Err(invalid("must be 1 to 200 bytes"));
        }
        let mut steps = Vec::new();
        for part in text.split('.') {
            let (key, each) = match part.strip_suffix("[]") {
                Some(key) => (key, true),
                None => (part, false),
            };
            let valid = !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                return Err(invalid(
                    "each step must be a key of a-z, 0-9, '_' or '-', optionally with []",
                ));
            }
            steps.push(Step { key: key.to_owned(), each });
        }
        Ok(Self { text: text.to_owned(), steps })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Collects the scalar values at this path in `doc`, as index text.
    /// Strings are taken as they are; numbers and booleans in their JSON form;
    /// missing fields, nulls, objects and arrays contribute nothing.
    pub fn values(&self, doc: &serde_json::Value) -> Vec<String> {
        let mut current = vec![doc];
        for step in &self.steps {
            let mut next = Vec::new();
            for value in current {
                match (value.get(&step.key), step.each) {
                    (Some(serde_json::Value::Array(items)), true) => next.extend(items),
                    (Some(found), false) => next.push(found),
                    _ => {}
                }
            }
            current = next;
        }
        current
            .into_iter()
            .filter_map(|value| match value {
                serde_json::Value::String(text) => Some(text.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
            .collect()
    }
}

impl<'de> serde::Deserialize<'de> for FieldPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Checks a collection, index or sequence name (same rule as ids).
pub fn check_name(kind: &'static str, name: &str) -> Result<(), IdError> {
    check_id(kind, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_paths_reach_into_arrays() {
        let doc = json!({
            "date": "2026-01-31",
            "number": 7,
            "lines": [{"account": "1000"}, {"account": "4000"}, {"other": 1}],
        });
        let values = |p: &str| FieldPath::parse(p).unwrap().values(&doc);
        assert_eq!(values("date"), ["2026-01-31"]);
        assert_eq!(values("number"), ["7"]);
        assert_eq!(values("lines[].account"), ["1000", "4000"]);
        assert!(values("missing").is_empty());
        assert!(values("lines").is_empty(), "arrays are not scalars");
    }

    #[test]
    fn malformed_field_paths_are_rejected() {
        for bad in ["", ".", "a..b", "a[]x", "a b", "[]"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad:?}");
        }
    }
}
