//! Imports a plugin declares: how the rows of a CSV or XLSX file become
//! calls of one of its own operations, so that every business rule,
//! permission and audit record of that operation applies to imported data
//! as to typed-in data. The kernel reads the file (`keel-import`), maps
//! its columns to the declared fields and runs the calls (`keel-host`).

use std::collections::HashSet;

use crate::export::ColumnType;

/// Most imports one plugin may declare.
pub(crate) const IMPORTS_MAX: usize = 32;

/// Most fields one import may have.
const FIELDS_MAX: usize = 64;

/// One import: a file's rows become calls of `operation`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Import {
    /// Its id, unique in the plugin, also its URL segment
    /// (`/api/{tenant}/imports/{plugin}/{id}`).
    pub id: String,
    /// What it brings in, for people: "Chart of accounts".
    pub title: String,
    /// The operation each row (or, with `into`, the whole file) calls: one
    /// that may write, with no path parameters and not a job.
    pub operation: String,
    /// A JSON pointer into the operation's request where the rows go as an
    /// array, such as `/lines`: the whole file is then one call (opening
    /// balances as one balanced entry). Absent, each row is a call of its
    /// own, its fields the request.
    #[serde(default)]
    pub into: Option<String>,
    /// Values the person importing gives once for the whole file (query
    /// parameters of the import), put into every request: the date of the
    /// opening balances, say. Without `into`, a param that fills the same
    /// place as a field is the file's default for it: a row's own value
    /// wins.
    #[serde(default)]
    pub params: Vec<Field>,
    /// The fields each row gives, in the order a template lists them.
    pub fields: Vec<Field>,
}

/// A value an import reads from a file's column or from a parameter.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Its name: the column heading a file uses unless a mapping says
    /// otherwise, and the request field it fills.
    pub name: String,
    /// A JSON pointer to where the value goes in the request (or in the
    /// row's element of `into`); `/{name}` when absent, so `/personal/address`
    /// fills a nested object.
    #[serde(default)]
    pub field: Option<String>,
    /// What its values are: text unless given. Integers become JSON
    /// numbers; decimals stay exact, written as strings; dates are
    /// `YYYY-MM-DD`.
    #[serde(default, rename = "type")]
    pub kind: ColumnType,
    /// Whether every row (or the import, for a parameter) must give it.
    #[serde(default)]
    pub required: bool,
    /// What it holds, for people reading the import's description.
    #[serde(default)]
    pub description: String,
}

impl Field {
    /// The JSON pointer the value goes to.
    pub fn pointer(&self) -> String {
        self.field.clone().unwrap_or_else(|| format!("/{}", self.name))
    }
}

impl Import {
    /// The field named `name` (ignoring case).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Checks the import on its own; the manifest checks its operation.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let what = format!("import {:?}", self.id);
        keel_types::schema::check_name("import id", &self.id).map_err(|err| err.to_string())?;
        if self.title.trim().is_empty() || self.title.len() > 100 {
            return Err(format!("{what} needs a title of 1 to 100 bytes"));
        }
        if let Some(into) = &self.into {
            pointer(&what, "into", into)?;
            if into.is_empty() {
                return Err(format!(
                    "{what}: `into` names the array the rows go in, such as /lines"
                ));
            }
        }
        if self.fields.is_empty() || self.fields.len() > FIELDS_MAX {
            return Err(format!("{what} has 1 to {FIELDS_MAX} fields"));
        }
        if self.params.len() > FIELDS_MAX {
            return Err(format!("{what} has at most {FIELDS_MAX} params"));
        }
        // Names and places are each list's own: a param that fills a
        // row's field is the file's default for it (see `params`).
        let mut names = HashSet::new();
        let mut pointers = HashSet::new();
        let params = self.params.iter().map(|f| ("param", f));
        for (list, field) in params.chain(self.fields.iter().map(|f| ("field", f))) {
            let name = &field.name;
            let well_formed = !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !well_formed {
                return Err(format!(
                    "{what}: field {name:?} is 1 to 64 of a-z, A-Z, 0-9, '_' and '-'"
                ));
            }
            if !names.insert((list, name.to_ascii_lowercase())) {
                return Err(format!("{what}: field {name:?} is declared twice"));
            }
            if list == "param" && RESERVED_PARAMS.contains(&name.as_str()) {
                return Err(format!(
                    "{what}: param {name:?} is reserved: the kernel reads ?{name}= itself (reserved: {})",
                    RESERVED_PARAMS.join(", ")
                ));
            }
            let at = field.pointer();
            pointer(&what, &format!("field {name}"), &at)?;
            if at.is_empty() {
                return Err(format!("{what}: field {name:?} needs a place in the request"));
            }
            if field.description.len() > 200 {
                return Err(format!("{what}: field {name:?} has a description over 200 bytes"));
            }
            if !pointers.insert((list, at.clone())) {
                return Err(format!("{what}: two fields fill {at}"));
            }
        }
        if let Some(into) = &self.into
            && self.params.iter().any(|p| pointer_overlaps(&p.pointer(), into))
        {
            return Err(format!("{what}: a param fills {into}, where the rows go"));
        }
        Ok(())
    }
}

/// The query parameters the kernel reads of an import itself, which no
/// param of an import may be named.
pub(crate) const RESERVED_PARAMS: [&str; 5] =
    ["dry_run", "mapping", "sheet", "background", "from_row"];

/// Whether one pointer is the other or lies inside it.
fn pointer_overlaps(a: &str, b: &str) -> bool {
    let inside = |long: &str, short: &str| {
        long == short || long.strip_prefix(short).is_some_and(|rest| rest.starts_with('/'))
    };
    inside(a, b) || inside(b, a)
}

/// Checks that `value` is a JSON pointer: empty, or `/` and segments.
fn pointer(what: &str, name: &str, value: &str) -> Result<(), String> {
    if (!value.is_empty() && !value.starts_with('/')) || value.len() > 200 || value.contains("//") {
        return Err(format!("{what} {name}: {value:?} is not a JSON pointer such as /code"));
    }
    Ok(())
}
