//! A plugin's contract: the JSON Schemas of its operations' request
//! bodies, queries and answers, generated from the Rust types it reads
//! and writes (with [schemars](https://docs.rs/schemars)).
//!
//! The kernel publishes them in each tenant's OpenAPI document, so that
//! clients can be generated, and checks every request body (and typed
//! query) before the plugin runs: a body that does not fit is answered
//! 422, naming the JSON pointer of each field at fault, and the plugin
//! never sees it.
//!
//! The contract travels in the package beside the manifest, as a file
//! kept next to `keel.toml` (by convention `keel.contract.json`) and
//! embedded by [`export_plugin!`](crate::export_plugin). A native test
//! keeps the file true to the types: [`Contract::keep`] writes it anew
//! when the types changed, and fails so that the change is seen,
//! rebuilt and committed.
//!
//! ```no_run
//! use keel_sdk::contract::{Contract, JsonSchema, Schemas};
//!
//! /// A note to write.
//! #[derive(serde::Deserialize, JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct NewNote {
//!     /// What it says.
//!     text: String,
//! }
//!
//! /// A note as kept.
//! #[derive(serde::Serialize, JsonSchema)]
//! struct Note {
//!     id: String,
//!     text: String,
//! }
//!
//! fn contract() -> Contract {
//!     Contract::new().operation("notes.create", Schemas::new().request::<NewNote>().response::<Note>())
//! }
//!
//! #[test]
//! fn contract_is_current() {
//!     contract().keep(concat!(env!("CARGO_MANIFEST_DIR"), "/keel.contract.json"));
//! }
//! ```

use std::collections::BTreeMap;

pub use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value};

/// The contract format the SDK writes (the kernel reads the same).
const VERSION: u64 = 1;

type SchemaOf = fn(&mut SchemaGenerator) -> schemars::Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<T>()
}

/// The schemas of one operation: each part it declares.
#[derive(Clone, Copy, Default)]
pub struct Schemas {
    request: Option<SchemaOf>,
    query: Option<SchemaOf>,
    response: Option<SchemaOf>,
}

impl Schemas {
    /// No part declared yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The JSON body the operation reads (an operation that writes).
    #[must_use]
    pub fn request<T: JsonSchema>(mut self) -> Self {
        self.request = Some(schema_of::<T>);
        self
    }

    /// The query parameters it reads, as a struct of their values
    /// (`Option` for those a client may leave out).
    #[must_use]
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(schema_of::<T>);
        self
    }

    /// The JSON answer of a success.
    #[must_use]
    pub fn response<T: JsonSchema>(mut self) -> Self {
        self.response = Some(schema_of::<T>);
        self
    }
}

/// A plugin's operations and their schemas.
#[derive(Default)]
pub struct Contract {
    operations: BTreeMap<String, Schemas>,
}

impl Contract {
    /// A contract of no operations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares the schemas of the manifest operation `id`.
    #[must_use]
    pub fn operation(mut self, id: &str, schemas: Schemas) -> Self {
        self.operations.insert(id.to_owned(), schemas);
        self
    }

    /// The operation ids it declares.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.operations.keys().map(String::as_str)
    }

    /// The contract as the kernel reads it: JSON Schema 2020-12, every
    /// named type once under `$defs`.
    pub fn to_json(&self) -> Value {
        let mut generator = SchemaSettings::draft2020_12().into_generator();
        let mut operations = Map::new();
        for (id, schemas) in &self.operations {
            let mut parts = Map::new();
            for (key, part) in [
                ("request", schemas.request),
                ("query", schemas.query),
                ("response", schemas.response),
            ] {
                if let Some(schema_of) = part {
                    parts.insert(key.to_owned(), schema_of(&mut generator).to_value());
                }
            }
            operations.insert(id.clone(), Value::Object(parts));
        }
        let definitions = generator.take_definitions(true);
        serde_json::json!({ "contract": VERSION, "operations": operations, "$defs": definitions })
    }

    /// Keeps the file at `path` true to the types: when it differs (or is
    /// missing), writes it anew and panics, so that a test run shows the
    /// change; rebuild the plugin and commit the file.
    ///
    /// # Panics
    ///
    /// When the file was out of date or cannot be written.
    pub fn keep(&self, path: &str) {
        let mut text = serde_json::to_string_pretty(&self.to_json())
            .unwrap_or_else(|err| panic!("the contract cannot be written as JSON: {err}"));
        text.push('\n');
        if std::fs::read_to_string(path).ok().as_deref() == Some(text.as_str()) {
            return;
        }
        std::fs::write(path, &text).unwrap_or_else(|err| panic!("cannot write {path}: {err}"));
        panic!(
            "{path} was out of date with the plugin's types and has been written anew: rebuild the plugin (cargo xtask build-plugins) and commit the file"
        );
    }
}
