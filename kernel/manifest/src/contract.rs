//! A package's contract: the JSON Schemas of its operations' request
//! bodies, queries and answers, generated from the plugin's Rust types
//! (`keel_sdk::contract`, through schemars) and embedded beside the
//! manifest as the `keel:contract` section.
//!
//! ```json
//! { "contract": 1,
//!   "operations": { "entries.post": { "request": {…}, "response": {…} } },
//!   "$defs": { "NewLine": {…} } }
//! ```
//!
//! The kernel reads it without running plugin code, refuses one that
//! names an operation the manifest lacks or uses a keyword it does not
//! check, publishes the schemas in the tenant's OpenAPI document and
//! checks each request against them before the plugin runs.

mod check;
mod schema;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

pub use check::Violation;
use check::{Check, VIOLATIONS_MAX};
use schema::{Compiler, Schema, escape, same_place_refs};

use crate::Manifest;

/// Largest contract accepted, in bytes.
pub const CONTRACT_BYTES_MAX: usize = 1024 * 1024;
/// The contract format this kernel reads.
pub const CONTRACT_VERSION: u64 = 1;
/// Most schemas (objects and booleans) in one contract, and how deep they nest.
const NODES_MAX: usize = 50_000;
const DEPTH_MAX: usize = 48;

/// Which part of an operation a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The JSON request body (of an operation that writes).
    Request,
    /// The query parameters, as an object of their values.
    Query,
    /// The JSON answer of a success.
    Response,
}

impl Part {
    const ALL: [Part; 3] = [Part::Request, Part::Query, Part::Response];

    fn key(self) -> &'static str {
        match self {
            Part::Request => "request",
            Part::Query => "query",
            Part::Response => "response",
        }
    }
}

/// Why a contract was refused.
#[derive(Debug, thiserror::Error)]
#[error("contract of plugin {plugin}: {at}: {reason}")]
pub struct ContractError {
    /// The plugin id.
    pub plugin: String,
    /// A JSON pointer into the contract (`""` for all of it).
    pub at: String,
    /// What is wrong there.
    pub reason: String,
}

/// An operation's schemas, compiled and as published.
#[derive(Debug, Clone, Default)]
struct Declared {
    parts: [Option<(Schema, Value)>; 3],
}

/// A validated contract.
#[derive(Debug, Clone, Default)]
pub struct Contract {
    operations: BTreeMap<String, Declared>,
    definitions: Vec<Schema>,
    published: Map<String, Value>,
}

impl Contract {
    /// Reads and checks `text` against the package's `manifest`.
    pub fn parse(text: &str, manifest: &Manifest) -> Result<Self, ContractError> {
        let plugin = manifest.id.to_string();
        let fail = |at: &str, reason: String| ContractError {
            plugin: plugin.clone(),
            at: at.to_owned(),
            reason,
        };
        if text.len() > CONTRACT_BYTES_MAX {
            return Err(fail("", format!("larger than {CONTRACT_BYTES_MAX} bytes")));
        }
        let document: Value =
            serde_json::from_str(text).map_err(|err| fail("", format!("not JSON: {err}")))?;
        let Value::Object(mut document) = document else {
            return Err(fail("", "the contract is a JSON object".to_owned()));
        };
        if let Some(key) =
            document.keys().find(|k| !["contract", "operations", "$defs"].contains(&k.as_str()))
        {
            return Err(fail(
                &format!("/{}", escape(key)),
                "is not a field of a contract".to_owned(),
            ));
        }
        let version = document.get("contract").and_then(Value::as_u64);
        if version != Some(CONTRACT_VERSION) {
            return Err(fail(
                "/contract",
                format!(
                    "this kernel reads contract version {CONTRACT_VERSION}; rebuild the plugin with a keel-sdk that writes it"
                ),
            ));
        }
        let definitions = match document.remove("$defs") {
            None => Map::new(),
            Some(Value::Object(definitions)) => definitions,
            Some(_) => return Err(fail("/$defs", "$defs is an object of schemas".to_owned())),
        };
        if let Some(name) = definitions.keys().find(|name| !definition_name(name)) {
            return Err(fail(
                &format!("/$defs/{}", escape(name)),
                "a definition's name is 1 to 128 of A-Z, a-z, 0-9, '.', '_' and '-' (it names an OpenAPI component)".to_owned(),
            ));
        }
        let names: HashMap<String, usize> =
            definitions.keys().enumerate().map(|(i, name)| (name.clone(), i)).collect();
        let mut compiler = Compiler {
            names: &names,
            nodes: 0,
            patterns: 0,
            nodes_max: NODES_MAX,
            depth_max: DEPTH_MAX,
        };
        let mut compiled = Vec::with_capacity(definitions.len());
        for (name, schema) in &definitions {
            let at = format!("/$defs/{}", escape(name));
            compiled.push(compiler.compile(schema, &at).map_err(|(at, why)| fail(&at, why))?);
        }
        refuse_cycles(&compiled, &definitions).map_err(|(at, why)| fail(&at, why))?;
        let Some(Value::Object(operations)) = document.remove("operations") else {
            return Err(fail("/operations", "operations is an object".to_owned()));
        };
        let mut declared = BTreeMap::new();
        for (id, parts) in operations {
            let at = format!("/operations/{}", escape(&id));
            let Some(operation) = manifest.operations.iter().find(|op| op.id == id) else {
                return Err(fail(&at, format!("the manifest declares no operation {id}")));
            };
            let Value::Object(mut parts) = parts else {
                return Err(fail(&at, "an operation's schemas are an object".to_owned()));
            };
            let mut entry = Declared::default();
            for (slot, part) in entry.parts.iter_mut().zip(Part::ALL) {
                let Some(schema) = parts.remove(part.key()) else { continue };
                let here = format!("{at}/{}", part.key());
                if part == Part::Request && !operation.method.writes() {
                    return Err(fail(&here, format!("{id} is a GET, which takes no body")));
                }
                let compiled =
                    compiler.compile(&schema, &here).map_err(|(at, why)| fail(&at, why))?;
                if part == Part::Query && !is_object_schema(resolve(&schema, &definitions)) {
                    return Err(fail(
                        &here,
                        "a query is described as an object of its parameters".to_owned(),
                    ));
                }
                *slot = Some((compiled, schema));
            }
            if let Some(key) = parts.keys().next() {
                return Err(fail(
                    &format!("{at}/{}", escape(key)),
                    "an operation's schemas are request, query and response".to_owned(),
                ));
            }
            declared.insert(id, entry);
        }
        Ok(Self { operations: declared, definitions: compiled, published: definitions })
    }

    /// For a plugin's own test: its contract (`keel.contract.json`) read
    /// against its manifest (`keel.toml`) as the kernel reads them, with
    /// every operation of the manifest typed.
    pub fn parse_complete(text: &str, manifest: &str) -> Result<Self, String> {
        let manifest = Manifest::parse(manifest).map_err(|err| format!("keel.toml: {err}"))?;
        let contract =
            Self::parse(text, &manifest).map_err(|err| format!("keel.contract.json: {err}"))?;
        let untyped: Vec<&str> = manifest
            .operations
            .iter()
            .map(|op| op.id.as_str())
            .filter(|id| !contract.describes(id))
            .collect();
        if !untyped.is_empty() {
            return Err(format!("operations the contract does not type: {}", untyped.join(", ")));
        }
        Ok(contract)
    }

    /// Whether the contract describes `operation` at all.
    pub fn describes(&self, operation: &str) -> bool {
        self.operations.contains_key(operation)
    }

    /// The published schema of one part of `operation`: its `$ref`s name
    /// `#/$defs/<name>`, the keys of [`definitions`](Self::definitions).
    pub fn schema(&self, operation: &str, part: Part) -> Option<&Value> {
        self.slot(operation, part).map(|(_, published)| published)
    }

    /// The shared definitions the schemas refer to.
    pub fn definitions(&self) -> &Map<String, Value> {
        &self.published
    }

    /// Checks a JSON request body of `operation`: every violation (up to
    /// 20), each with the JSON pointer of the value at fault. An
    /// operation the contract does not type accepts anything.
    pub fn check_request(&self, operation: &str, body: &Value) -> Result<(), Vec<Violation>> {
        self.check(operation, Part::Request, body)
    }

    /// Checks an operation's answer (for the plugin's own tests, and the
    /// kernel's checks of bundled plugins).
    pub fn check_response(&self, operation: &str, body: &Value) -> Result<(), Vec<Violation>> {
        self.check(operation, Part::Response, body)
    }

    /// The query parameters `operation` declares: each name, its schema
    /// (`$ref`s as in [`schema`](Self::schema)) and whether it is required.
    pub fn query_parameters(&self, operation: &str) -> Vec<(&str, &Value, bool)> {
        let Some((_, published)) = self.slot(operation, Part::Query) else { return Vec::new() };
        let object = resolve(published, &self.published);
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = object.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        properties
            .iter()
            .map(|(name, schema)| (name.as_str(), schema, required.contains(&name.as_str())))
            .collect()
    }

    /// Checks query parameters: each value read as the type its parameter
    /// declares (a number, a boolean, else text); parameters the schema
    /// does not name are left to the plugin (the kernel adds its own, such
    /// as `format`). Violations' pointers name the parameter: `/as_of`.
    pub fn check_query(
        &self,
        operation: &str,
        query: &[(String, String)],
    ) -> Result<(), Vec<Violation>> {
        let Some((Schema::Node(node), _)) = self.slot(operation, Part::Query) else {
            return Ok(());
        };
        // A query type named under `$defs`: its properties are there.
        let node = match node.reference.and_then(|i| self.definitions.get(i)) {
            Some(Schema::Node(named)) if node.properties.is_empty() => named,
            _ => node,
        };
        let mut object = Map::new();
        let mut twice = Vec::new();
        for (name, text) in query {
            let Some(schema) = node.properties.get(name) else { continue };
            if object.contains_key(name) {
                // A plugin reads the first; one checked value is one read.
                twice.push(Violation {
                    pointer: format!("/{}", escape(name)),
                    detail: "is given more than once".to_owned(),
                });
                continue;
            }
            let typed = serde_json::from_str::<Value>(text).ok().filter(|value| {
                matches!(value, Value::Number(_) | Value::Bool(_) | Value::Null)
                    && !admits_text(schema, &self.definitions)
            });
            object.insert(name.clone(), typed.unwrap_or_else(|| Value::String(text.clone())));
        }
        if !twice.is_empty() {
            return Err(twice);
        }
        self.check(operation, Part::Query, &Value::Object(object)).map_err(|mut violations| {
            for violation in &mut violations {
                if violation.detail == "is required" {
                    violation.detail = "is a required query parameter".to_owned();
                }
            }
            violations
        })
    }

    fn slot(&self, operation: &str, part: Part) -> Option<&(Schema, Value)> {
        let index = Part::ALL.iter().position(|p| *p == part)?;
        self.operations.get(operation)?.parts[index].as_ref()
    }

    fn check(&self, operation: &str, part: Part, value: &Value) -> Result<(), Vec<Violation>> {
        let Some((schema, _)) = self.slot(operation, part) else { return Ok(()) };
        let mut check = Check::new(&self.definitions);
        check.run(schema, value);
        let mut violations = check.violations;
        violations.truncate(VIOLATIONS_MAX);
        if violations.is_empty() { Ok(()) } else { Err(violations) }
    }
}

/// Whether `name` may name a definition, and so an OpenAPI component.
fn definition_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The definition a schema names, if it is only a `$ref`.
fn resolve<'a>(schema: &'a Value, definitions: &'a Map<String, Value>) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| definitions.get(name))
        .unwrap_or(schema)
}

/// A schema that can only be an object (what a query is).
fn is_object_schema(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(kind)) => kind == "object",
        _ => false,
    }
}

/// Whether a parameter's schema takes text as it is (a string, or no
/// stated type), so that `?code=10` stays the text "10"; through a
/// `$ref` and the branches of `anyOf` and `oneOf` (schemars' `Option` of
/// a named type).
fn admits_text(schema: &Schema, definitions: &[Schema]) -> bool {
    fn admits(schema: &Schema, definitions: &[Schema], depth: u8) -> bool {
        let Schema::Node(node) = schema else { return matches!(schema, Schema::Any) };
        if let Some(types) = node.types {
            return types.admit(&Value::String(String::new()));
        }
        if depth == 0 {
            return true;
        }
        if let Some(named) = node.reference.and_then(|i| definitions.get(i)) {
            return admits(named, definitions, depth - 1);
        }
        let mut branches = node.any_of.iter().chain(&node.one_of).peekable();
        branches.peek().is_none() || branches.any(|b| admits(b, definitions, depth - 1))
    }
    admits(schema, definitions, 8)
}

/// Refuses definitions that reach themselves through `$ref`s without
/// stepping into a property or an item (a check of them would never end).
fn refuse_cycles(compiled: &[Schema], names: &Map<String, Value>) -> Result<(), (String, String)> {
    let edges: Vec<Vec<usize>> = compiled
        .iter()
        .map(|schema| {
            let mut out = Vec::new();
            same_place_refs(schema, &mut out);
            out
        })
        .collect();
    // Depth-first search with colours: 0 unseen, 1 on the path, 2 done.
    let mut colour = vec![0u8; compiled.len()];
    for start in 0..compiled.len() {
        if colour[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        colour[start] = 1;
        while let Some((node, next)) = stack.pop() {
            if let Some(&to) = edges[node].get(next) {
                stack.push((node, next + 1));
                match colour[to] {
                    0 => {
                        colour[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => {
                        let name = names.keys().nth(to).map_or_else(String::new, |n| escape(n));
                        return Err((
                            format!("/$defs/{name}"),
                            "refers to itself without stepping into a field or an item".to_owned(),
                        ));
                    }
                    _ => {}
                }
            } else {
                colour[node] = 2;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
