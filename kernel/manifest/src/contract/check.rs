//! Checking a value against a compiled schema, with bounded work: each
//! value visited against each schema is a step, a request has a budget of
//! steps, and the check nests only so deep, whatever the schema says.

use serde_json::Value;

use super::schema::{Format, Node, Schema, article, escape};

/// Steps one check may take.
const STEPS_MAX: u32 = 200_000;
/// How deep a check may nest (values within values, schemas within schemas).
const NESTING_MAX: u32 = 256;
/// Longest text matched against a pattern, in bytes.
const PATTERN_TEXT_MAX: usize = 64 * 1024;
/// Violations reported at most.
pub(crate) const VIOLATIONS_MAX: usize = 20;

/// One place where a value breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The JSON pointer of the value at fault (`""` for the whole value).
    pub pointer: String,
    /// What is wrong with it.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() { "the body" } else { &self.pointer };
        write!(f, "{pointer}: {}", self.detail)
    }
}

/// A check in progress.
pub(crate) struct Check<'a> {
    definitions: &'a [Schema],
    steps: u32,
    exhausted: bool,
    pub(crate) violations: Vec<Violation>,
}

impl<'a> Check<'a> {
    pub(crate) fn new(definitions: &'a [Schema]) -> Self {
        Self { definitions, steps: 0, exhausted: false, violations: Vec::new() }
    }

    /// Checks `value` against `schema`, recording violations.
    pub(crate) fn run(&mut self, schema: &Schema, value: &Value) {
        let mut pointer = String::new();
        self.check(schema, value, &mut pointer, 0, true);
        if self.exhausted {
            self.violations.truncate(VIOLATIONS_MAX - 1);
            self.violations.push(Violation {
                pointer: String::new(),
                detail: "the body is too large or too deeply nested to check against its schema"
                    .to_owned(),
            });
        }
    }

    /// Whether `value` satisfies `schema`; violations are recorded only
    /// when `report` is set (a branch of `anyOf` tried quietly does not).
    fn check(
        &mut self,
        schema: &Schema,
        value: &Value,
        pointer: &mut String,
        nesting: u32,
        report: bool,
    ) -> bool {
        self.steps += 1;
        if self.steps > STEPS_MAX || nesting > NESTING_MAX {
            self.exhausted = true;
        }
        if self.exhausted {
            return false;
        }
        match schema {
            Schema::Any => true,
            Schema::Nothing => {
                self.violate(report, pointer, || "no value is allowed here".to_owned())
            }
            Schema::Node(node) => self.check_node(node, value, pointer, nesting, report),
        }
    }

    /// Records a violation, its message made only when it is kept.
    fn violate(&mut self, report: bool, pointer: &str, detail: impl FnOnce() -> String) -> bool {
        if report && self.violations.len() < VIOLATIONS_MAX {
            self.violations.push(Violation { pointer: pointer.to_owned(), detail: detail() });
        }
        false
    }

    /// Counts `n` more steps of work against the budget.
    fn charge(&mut self, n: usize) -> bool {
        self.steps = self.steps.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        if self.steps > STEPS_MAX {
            self.exhausted = true;
        }
        !self.exhausted
    }

    fn check_node(
        &mut self,
        node: &Node,
        value: &Value,
        pointer: &mut String,
        nesting: u32,
        report: bool,
    ) -> bool {
        if let Some(types) = node.types
            && !types.admit(value)
        {
            let found = article(kind(value));
            return self.violate(report, pointer, || {
                format!("expected {}, found {found}", types.describe())
            });
        }
        let mut valid = true;
        if let Some(index) = node.reference {
            let definitions = self.definitions;
            if let Some(target) = definitions.get(index) {
                valid &= self.check(target, value, pointer, nesting + 1, report);
            }
        }
        if let Some(allowed) = &node.enumeration
            && self.charge(allowed.len())
            && !allowed.contains(value)
        {
            valid &= self.violate(report, pointer, || not_one_of(value, allowed.iter()));
        }
        if let Some(constant) = &node.constant
            && constant != value
        {
            valid &= self.violate(report, pointer, || {
                format!("{} is not {}", shown(value), shown(constant))
            });
        }
        for schema in &node.all_of {
            valid &= self.check(schema, value, pointer, nesting + 1, report);
        }
        if !node.any_of.is_empty() || !node.one_of.is_empty() {
            valid &= self.check_branches(node, value, pointer, nesting, report);
        }
        if let Some(not) = &node.not
            && self.check(not, value, pointer, nesting + 1, false)
        {
            valid &=
                self.violate(report, pointer, || "matches a shape that is not allowed".to_owned());
        }
        valid &= match value {
            Value::Object(object) => self.check_object(node, object, pointer, nesting, report),
            Value::Array(items) => self.check_array(node, items, pointer, nesting, report),
            Value::Number(n) => self.check_number(node, n, pointer, report),
            Value::String(text) => self.check_string(node, text, pointer, report),
            Value::Null | Value::Bool(_) => true,
        };
        valid
    }

    /// `anyOf` and `oneOf`, each branch checked once: when none fits and
    /// only one admits the value's type, that branch's violations are the
    /// ones worth reporting.
    fn check_branches(
        &mut self,
        node: &Node,
        value: &Value,
        pointer: &mut String,
        nesting: u32,
        report: bool,
    ) -> bool {
        let mut valid = true;
        for (branches, exactly_one) in [(&node.any_of, false), (&node.one_of, true)] {
            if branches.is_empty() {
                continue;
            }
            // Each branch runs once; the violations of the first whose type
            // fits are set aside, and only reported if it is the only one.
            let (mut fits, mut typed) = (0, 0);
            let mut first_typed = Vec::new();
            for branch in branches {
                let is_typed = admits_type(branch, value);
                let keep = report && is_typed && typed == 0;
                let outer = std::mem::take(&mut self.violations);
                let fit = self.check(branch, value, pointer, nesting + 1, keep);
                let found = std::mem::replace(&mut self.violations, outer);
                fits += usize::from(fit);
                if is_typed {
                    typed += 1;
                    if keep {
                        first_typed = found;
                    }
                }
            }
            if fits == 0 {
                if let Some(allowed) = constants(branches) {
                    // An enum of documented variants: one constant each.
                    valid &=
                        self.violate(report, pointer, || not_one_of(value, allowed.into_iter()));
                } else if typed == 1 {
                    let room = VIOLATIONS_MAX.saturating_sub(self.violations.len());
                    self.violations.extend(first_typed.into_iter().take(room));
                    valid = false;
                } else {
                    valid &= self.violate(report, pointer, || {
                        format!("matches none of the {} shapes allowed here", branches.len())
                    });
                }
            } else if exactly_one && fits > 1 {
                valid &= self.violate(report, pointer, || {
                    format!("matches {fits} of the shapes allowed here, where exactly one must")
                });
            }
        }
        valid
    }

    fn check_object(
        &mut self,
        node: &Node,
        object: &serde_json::Map<String, Value>,
        pointer: &mut String,
        nesting: u32,
        report: bool,
    ) -> bool {
        let mut valid = true;
        if !self.charge(node.required.len() + object.len()) {
            return false;
        }
        for name in &node.required {
            if !object.contains_key(name) {
                let at = format!("{pointer}/{}", token(name));
                valid &= self.violate(report, &at, || "is required".to_owned());
            }
        }
        for (name, field) in object {
            let declared = node.properties.get(name);
            let schema = match (declared, &node.additional) {
                (Some(schema), _) => schema,
                (None, Some(additional)) => additional,
                (None, None) => continue,
            };
            let len = pointer.len();
            pointer.push('/');
            pointer.push_str(&token(name));
            valid &= match schema {
                Schema::Nothing if declared.is_none() => self.violate(report, pointer, || {
                    if node.properties.is_empty() {
                        return "is not a field of this object".to_owned();
                    }
                    let names: Vec<&str> =
                        node.properties.keys().take(20).map(String::as_str).collect();
                    let more = if node.properties.len() > 20 { ", …" } else { "" };
                    format!(
                        "is not a field of this object (its fields: {}{more})",
                        names.join(", ")
                    )
                }),
                schema => self.check(schema, field, pointer, nesting + 1, report),
            };
            pointer.truncate(len);
        }
        let n = object.len() as u64;
        if let Some(min) = node.min_properties.filter(|min| n < *min) {
            valid &= self.violate(report, pointer, || format!("must have at least {min} fields"));
        }
        if let Some(max) = node.max_properties.filter(|max| n > *max) {
            valid &= self.violate(report, pointer, || format!("may have at most {max} fields"));
        }
        valid
    }

    fn check_array(
        &mut self,
        node: &Node,
        items: &[Value],
        pointer: &mut String,
        nesting: u32,
        report: bool,
    ) -> bool {
        let mut valid = true;
        for (i, item) in items.iter().enumerate() {
            let schema = node.prefix_items.get(i).or(node.items.as_ref());
            let Some(schema) = schema else { continue };
            let len = pointer.len();
            pointer.push('/');
            pointer.push_str(&i.to_string());
            valid &= self.check(schema, item, pointer, nesting + 1, report);
            pointer.truncate(len);
            if self.exhausted {
                break;
            }
        }
        let n = items.len() as u64;
        if let Some(min) = node.min_items.filter(|min| n < *min) {
            valid &= self.violate(report, pointer, || format!("must have at least {min} items"));
        }
        if let Some(max) = node.max_items.filter(|max| n > *max) {
            valid &= self.violate(report, pointer, || format!("may have at most {max} items"));
        }
        if node.unique_items && self.charge(items.len()) {
            // Each item's JSON text, hashed: linear in the array's size.
            let mut seen = std::collections::HashSet::with_capacity(items.len());
            for item in items {
                if !seen.insert(item.to_string()) {
                    valid &= self.violate(report, pointer, || "items must be different".to_owned());
                    break;
                }
            }
        }
        valid
    }

    fn check_number(
        &mut self,
        node: &Node,
        n: &serde_json::Number,
        pointer: &str,
        report: bool,
    ) -> bool {
        let Some(x) = n.as_f64() else { return true };
        let mut valid = true;
        if let Some(min) = node.minimum.filter(|min| x < *min) {
            valid &= self.violate(report, pointer, || format!("must be at least {min}"));
        }
        if let Some(max) = node.maximum.filter(|max| x > *max) {
            valid &= self.violate(report, pointer, || format!("must be at most {max}"));
        }
        if let Some(min) = node.exclusive_minimum.filter(|min| x <= *min) {
            valid &= self.violate(report, pointer, || format!("must be more than {min}"));
        }
        if let Some(max) = node.exclusive_maximum.filter(|max| x >= *max) {
            valid &= self.violate(report, pointer, || format!("must be less than {max}"));
        }
        valid
    }

    fn check_string(&mut self, node: &Node, text: &str, pointer: &str, report: bool) -> bool {
        let mut valid = true;
        let chars = || text.chars().count() as u64;
        if let Some(min) = node.min_length.filter(|min| chars() < *min) {
            valid &= self.violate(report, pointer, || format!("must be at least {min} characters"));
        }
        if let Some(max) = node.max_length.filter(|max| chars() > *max) {
            valid &= self.violate(report, pointer, || format!("may be at most {max} characters"));
        }
        if let Some(pattern) = &node.pattern {
            if text.len() > PATTERN_TEXT_MAX {
                return self.violate(report, pointer, || {
                    format!("is longer than the {PATTERN_TEXT_MAX} bytes checked against a pattern")
                });
            }
            if !self.charge(text.len() / 16) {
                return false;
            }
            if !pattern.is_match(text) {
                valid &= self.violate(report, pointer, || {
                    format!("{} does not match the pattern {}", shown_text(text), pattern.as_str())
                });
            }
        }
        if node.format == Some(Format::Date) && keel_values::Date::parse(text).is_err() {
            let detail = format!("{} is not a calendar date (YYYY-MM-DD)", shown_text(text));
            valid &= self.violate(report, pointer, || detail);
        }
        valid
    }
}

/// A JSON pointer token for `name`, cut to 64 characters: a client's own
/// key, echoed in a message, stays short.
fn token(name: &str) -> String {
    const CHARS_MAX: usize = 64;
    let escaped = escape(name);
    if escaped.chars().count() <= CHARS_MAX {
        return escaped;
    }
    let mut cut: String = escaped.chars().take(CHARS_MAX).collect();
    cut.push('…');
    cut
}

/// The values a list of branches allows, when each is a constant (or an
/// enum) and nothing else.
fn constants(branches: &[Schema]) -> Option<Vec<&Value>> {
    let mut allowed = Vec::new();
    for branch in branches {
        let Schema::Node(node) = branch else { return None };
        match (&node.constant, &node.enumeration) {
            (Some(constant), _) => allowed.push(constant),
            (None, Some(values)) => allowed.extend(values),
            (None, None) => return None,
        }
    }
    Some(allowed)
}

/// `"assett" is not one of "asset", "liability", …`.
fn not_one_of<'a>(value: &Value, allowed: impl ExactSizeIterator<Item = &'a Value>) -> String {
    let count = allowed.len();
    let list: Vec<String> = allowed.take(12).map(shown).collect();
    let more = if count > 12 { ", …" } else { "" };
    format!("{} is not one of {}{more}", shown(value), list.join(", "))
}

/// A value as JSON, cut short: what the client sent, in a message.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => shown_text(text),
        Value::Object(_) => "an object".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        other => other.to_string(),
    }
}

fn shown_text(text: &str) -> String {
    const CHARS_MAX: usize = 40;
    if text.chars().count() <= CHARS_MAX {
        return Value::String(text.to_owned()).to_string();
    }
    let cut: String = text.chars().take(CHARS_MAX).collect();
    format!("{}…", Value::String(cut))
}

/// Whether a branch's own `type` (if it states one) admits the value.
fn admits_type(schema: &Schema, value: &Value) -> bool {
    match schema {
        Schema::Any => true,
        Schema::Nothing => false,
        Schema::Node(node) => node.types.is_none_or(|types| types.admit(value)),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
    }
}
