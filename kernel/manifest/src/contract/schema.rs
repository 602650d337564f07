//! A JSON Schema (2020-12) compiled into the subset the kernel checks:
//! what `schemars` writes for Rust types. A keyword that constrains a
//! value and is not in the subset is refused when the contract is read,
//! so that nothing a plugin declares is silently left unchecked.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

/// Keywords that describe and never constrain: kept in the published
/// document, ignored by the check. (`$id`, `$schema`, `$anchor` and
/// nested `$defs` are refused: they would change what a published `$ref`
/// means to a client.)
const ANNOTATIONS: [&str; 10] = [
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "contentEncoding",
    "contentMediaType",
];

/// Longest pattern source accepted, in bytes; the compiled size a pattern
/// may take, and its matching cache (the `regex` crate matches in linear
/// time); and most patterns in one contract, so that what they take in
/// all is bounded too.
const PATTERN_BYTES_MAX: usize = 512;
const PATTERN_COMPILED_MAX: usize = 64 * 1024;
const PATTERN_CACHE_MAX: usize = 64 * 1024;
pub(crate) const PATTERNS_MAX: usize = 256;

/// A compiled schema.
#[derive(Debug, Clone)]
pub(crate) enum Schema {
    /// `true` or `{}`: anything.
    Any,
    /// `false`: nothing.
    Nothing,
    /// The constraints of an object schema.
    Node(Box<Node>),
}

/// The JSON types, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Types(u8);

impl Types {
    const NAMES: [&'static str; 7] =
        ["boolean", "object", "array", "number", "integer", "string", "null"];

    fn with(self, name: &str) -> Option<Self> {
        let bit = Self::NAMES.iter().position(|n| *n == name)?;
        Some(Self(self.0 | 1 << bit))
    }

    /// Whether `value` is one of the types (an integer is also a number).
    pub(crate) fn admit(self, value: &Value) -> bool {
        let has = |name: &str| {
            let bit = Self::NAMES.iter().position(|n| *n == name).unwrap_or(0);
            self.0 & (1 << bit) != 0
        };
        match value {
            Value::Null => has("null"),
            Value::Bool(_) => has("boolean"),
            Value::Object(_) => has("object"),
            Value::Array(_) => has("array"),
            Value::String(_) => has("string"),
            Value::Number(n) => {
                has("number") || (has("integer") && (n.is_i64() || n.is_u64() || whole(n)))
            }
        }
    }

    /// The types in words: "a string or null".
    pub(crate) fn describe(self) -> String {
        let names: Vec<String> = Self::NAMES
            .iter()
            .enumerate()
            .filter(|(bit, _)| self.0 & (1 << bit) != 0)
            .map(|(_, name)| article(name))
            .collect();
        names.join(" or ")
    }
}

fn whole(n: &serde_json::Number) -> bool {
    n.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

/// "an object", "a string", "null".
pub(crate) fn article(name: &str) -> String {
    match name {
        "null" => "null".to_owned(),
        "object" | "array" | "integer" => format!("an {name}"),
        _ => format!("a {name}"),
    }
}

/// The constraints one object schema puts on a value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    pub(crate) types: Option<Types>,
    pub(crate) reference: Option<usize>,
    pub(crate) enumeration: Option<Vec<Value>>,
    pub(crate) constant: Option<Value>,
    pub(crate) all_of: Vec<Schema>,
    pub(crate) any_of: Vec<Schema>,
    pub(crate) one_of: Vec<Schema>,
    pub(crate) not: Option<Schema>,
    // Objects.
    pub(crate) properties: BTreeMap<String, Schema>,
    pub(crate) required: Vec<String>,
    pub(crate) additional: Option<Schema>,
    pub(crate) min_properties: Option<u64>,
    pub(crate) max_properties: Option<u64>,
    // Arrays.
    pub(crate) prefix_items: Vec<Schema>,
    pub(crate) items: Option<Schema>,
    pub(crate) min_items: Option<u64>,
    pub(crate) max_items: Option<u64>,
    pub(crate) unique_items: bool,
    // Numbers.
    pub(crate) minimum: Option<f64>,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_minimum: Option<f64>,
    pub(crate) exclusive_maximum: Option<f64>,
    // Strings.
    pub(crate) min_length: Option<u64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) pattern: Option<regex::Regex>,
    pub(crate) format: Option<Format>,
}

/// The formats the kernel checks; others are descriptions only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `YYYY-MM-DD`, a real calendar date.
    Date,
}

/// Compiles schemas, resolving `#/$defs/<name>` against the contract's
/// definitions and counting what it builds.
pub(crate) struct Compiler<'a> {
    pub(crate) names: &'a HashMap<String, usize>,
    pub(crate) nodes: usize,
    pub(crate) patterns: usize,
    pub(crate) nodes_max: usize,
    pub(crate) depth_max: usize,
}

impl Compiler<'_> {
    /// Compiles `value`, found at `at` (a JSON pointer into the contract).
    pub(crate) fn compile(&mut self, value: &Value, at: &str) -> Result<Schema, (String, String)> {
        self.compile_at(value, at, 0)
    }

    fn compile_at(
        &mut self,
        value: &Value,
        at: &str,
        depth: usize,
    ) -> Result<Schema, (String, String)> {
        let fail = |why: String| Err((at.to_owned(), why));
        self.nodes += 1;
        if self.nodes > self.nodes_max {
            return fail(format!("the contract has more than {} schemas", self.nodes_max));
        }
        if depth > self.depth_max {
            return fail(format!("schemas nest deeper than {}", self.depth_max));
        }
        let object = match value {
            Value::Bool(true) => return Ok(Schema::Any),
            Value::Bool(false) => return Ok(Schema::Nothing),
            Value::Object(object) => object,
            _ => return fail("a schema is an object or a boolean".to_owned()),
        };
        let mut node = Node::default();
        let mut constrains = false;
        for (keyword, value) in object {
            let here = format!("{at}/{}", escape(keyword));
            let sub = |compiler: &mut Self, value: &Value, at: &str| {
                compiler.compile_at(value, at, depth + 1)
            };
            constrains |= !ANNOTATIONS.contains(&keyword.as_str()) && keyword != "format";
            match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) => {}
                "type" => node.types = Some(types(value).map_err(|why| (here.clone(), why))?),
                "$ref" => {
                    let name = value
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/$defs/"))
                        .ok_or_else(|| (here.clone(), "a $ref is \"#/$defs/<name>\"".to_owned()))?;
                    let index = self.names.get(&unescape(name)).ok_or_else(|| {
                        (here.clone(), format!("$ref names {name}, which $defs does not define"))
                    })?;
                    node.reference = Some(*index);
                }
                "enum" => {
                    let values = value
                        .as_array()
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| (here.clone(), "enum is a non-empty array".to_owned()))?;
                    node.enumeration = Some(values.clone());
                }
                "const" => node.constant = Some(value.clone()),
                "allOf" | "anyOf" | "oneOf" => {
                    let list = value.as_array().filter(|v| !v.is_empty()).ok_or_else(|| {
                        (here.clone(), format!("{keyword} is a non-empty array of schemas"))
                    })?;
                    let mut schemas = Vec::with_capacity(list.len());
                    for (i, schema) in list.iter().enumerate() {
                        schemas.push(sub(self, schema, &format!("{here}/{i}"))?);
                    }
                    match keyword.as_str() {
                        "allOf" => node.all_of = schemas,
                        "anyOf" => node.any_of = schemas,
                        _ => node.one_of = schemas,
                    }
                }
                "not" => node.not = Some(sub(self, value, &here)?),
                "properties" => {
                    let map = value
                        .as_object()
                        .ok_or_else(|| (here.clone(), "properties is an object".to_owned()))?;
                    for (name, schema) in map {
                        let at = format!("{here}/{}", escape(name));
                        node.properties.insert(name.clone(), sub(self, schema, &at)?);
                    }
                }
                "required" => {
                    node.required = value
                        .as_array()
                        .and_then(|names| {
                            names.iter().map(|n| n.as_str().map(str::to_owned)).collect()
                        })
                        .ok_or_else(|| {
                            (here.clone(), "required is an array of names".to_owned())
                        })?;
                }
                "additionalProperties" => node.additional = Some(sub(self, value, &here)?),
                "prefixItems" => {
                    let list = value
                        .as_array()
                        .ok_or_else(|| (here.clone(), "prefixItems is an array".to_owned()))?;
                    for (i, schema) in list.iter().enumerate() {
                        node.prefix_items.push(sub(self, schema, &format!("{here}/{i}"))?);
                    }
                }
                "items" => node.items = Some(sub(self, value, &here)?),
                "minProperties" => node.min_properties = Some(count(value, &here)?),
                "maxProperties" => node.max_properties = Some(count(value, &here)?),
                "minItems" => node.min_items = Some(count(value, &here)?),
                "maxItems" => node.max_items = Some(count(value, &here)?),
                "uniqueItems" => node.unique_items = value.as_bool().unwrap_or(false),
                "minLength" => node.min_length = Some(count(value, &here)?),
                "maxLength" => node.max_length = Some(count(value, &here)?),
                "minimum" => node.minimum = Some(number(value, &here)?),
                "maximum" => node.maximum = Some(number(value, &here)?),
                "exclusiveMinimum" => node.exclusive_minimum = Some(number(value, &here)?),
                "exclusiveMaximum" => node.exclusive_maximum = Some(number(value, &here)?),
                "pattern" => {
                    self.patterns += 1;
                    if self.patterns > PATTERNS_MAX {
                        return Err((
                            here,
                            format!("a contract has at most {PATTERNS_MAX} patterns"),
                        ));
                    }
                    node.pattern = Some(pattern(value).map_err(|why| (here.clone(), why))?);
                }
                "format" => {
                    node.format = (value.as_str() == Some("date")).then_some(Format::Date);
                }
                other => {
                    return Err((
                        here,
                        format!(
                            "keyword {other} is not one the kernel checks; describe the type with the keywords schemars writes (type, properties, required, items, enum, oneOf, $ref, …)"
                        ),
                    ));
                }
            }
        }
        Ok(if constrains || node.format.is_some() {
            Schema::Node(Box::new(node))
        } else {
            Schema::Any
        })
    }
}

fn types(value: &Value) -> Result<Types, String> {
    let names: Vec<&str> = match value {
        Value::String(name) => vec![name],
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let unknown = || format!("type is one of {} or a list of them", Types::NAMES.join(", "));
    if names.is_empty() || value.as_array().is_some_and(|all| all.len() != names.len()) {
        return Err(unknown());
    }
    names.into_iter().try_fold(Types::default(), |types, name| types.with(name).ok_or_else(unknown))
}

fn count(value: &Value, at: &str) -> Result<u64, (String, String)> {
    value.as_u64().ok_or_else(|| (at.to_owned(), "a count is a whole number, 0 or more".to_owned()))
}

fn number(value: &Value, at: &str) -> Result<f64, (String, String)> {
    value.as_f64().ok_or_else(|| (at.to_owned(), "a bound is a number".to_owned()))
}

fn pattern(value: &Value) -> Result<regex::Regex, String> {
    let source = value.as_str().ok_or("a pattern is a string")?;
    if source.len() > PATTERN_BYTES_MAX {
        return Err(format!("a pattern is at most {PATTERN_BYTES_MAX} bytes"));
    }
    regex::RegexBuilder::new(source)
        .size_limit(PATTERN_COMPILED_MAX)
        .dfa_size_limit(PATTERN_CACHE_MAX)
        .build()
        .map_err(|err| format!("the pattern does not compile: {err}"))
}

/// A JSON pointer token: `~` as `~0`, `/` as `~1`.
pub(crate) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The definitions a schema names through `$ref` without first stepping
/// into a property or an item: a cycle of these would check one value
/// forever, so the contract refuses it.
pub(crate) fn same_place_refs(schema: &Schema, out: &mut Vec<usize>) {
    let Schema::Node(node) = schema else { return };
    out.extend(node.reference);
    for sub in node.all_of.iter().chain(&node.any_of).chain(&node.one_of).chain(&node.not) {
        same_place_refs(sub, out);
    }
}
