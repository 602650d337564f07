//! Collections a plugin opens to its tenants' custom reports: which
//! documents (or which element of an array in each, one row apiece), the
//! fields a report may use and their types, and the permission a person
//! must hold to read them. Only what is declared here is reachable: a
//! report names a source and its fields, never a collection or a path.

use std::collections::HashSet;

use crate::export::ColumnType;

/// Most reportable sources one plugin may declare.
pub(crate) const REPORTABLE_MAX: usize = 32;

/// Most fields one source may offer.
const FIELDS_MAX: usize = 64;

/// A source of rows for custom reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reportable {
    /// Its id, unique in the plugin: reports name it `<plugin>/<id>`.
    pub id: String,
    /// What its rows are, for people: "Journal entry lines".
    pub title: String,
    /// The collection whose documents it reads.
    pub collection: String,
    /// The permission a person needs to report on it (and to save a
    /// report that does): one the plugin declares.
    pub permission: String,
    /// A JSON pointer to an array in each document, such as `/lines`: each
    /// element is a row of its own, beside its document's fields. Absent,
    /// each document is one row.
    #[serde(default)]
    pub each: Option<String>,
    /// The fields a report may show, filter, group, sort and sum.
    pub fields: Vec<ReportField>,
}

/// A field of a reportable source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportField {
    /// Its name in report definitions: `a-z`, `0-9` and `_`.
    pub name: String,
    /// A JSON pointer to its value in the document, or in the element of
    /// `each` when `of_each`.
    pub field: String,
    /// What its values are: text unless given.
    #[serde(default, rename = "type")]
    pub kind: ColumnType,
    /// Whether `field` points into each element of the source's `each`
    /// array rather than into the document.
    #[serde(default)]
    pub of_each: bool,
    /// What it holds, for people building reports.
    #[serde(default)]
    pub description: String,
}

impl Reportable {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&ReportField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Checks the source on its own; the manifest checks its collection
    /// and permission.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let what = format!("reportable {:?}", self.id);
        if !is_name(&self.id, |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(format!("{what}: an id is 1 to 64 of a-z, 0-9 and '-'"));
        }
        let title = self.title.trim();
        if title.is_empty() || self.title.len() > 100 || self.title.chars().any(char::is_control) {
            return Err(format!("{what}: its title is 1 to 100 bytes"));
        }
        if let Some(each) = &self.each {
            pointer(&what, each)?;
        }
        if self.fields.is_empty() || self.fields.len() > FIELDS_MAX {
            return Err(format!("{what} offers 1 to {FIELDS_MAX} fields"));
        }
        let mut names = HashSet::new();
        for field in &self.fields {
            let name = &field.name;
            if !is_name(name, |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return Err(format!(
                    "{what}: field {name:?} needs a name of 1 to 64 of a-z, 0-9 and '_'"
                ));
            }
            if !names.insert(name.as_str()) {
                return Err(format!("{what}: field {name:?} is declared twice"));
            }
            pointer(&format!("{what} field {name:?}"), &field.field)?;
            if field.of_each && self.each.is_none() {
                return Err(format!(
                    "{what}: field {name:?} is `of_each`, but the source has no `each` array"
                ));
            }
            if field.description.len() > 1024 {
                return Err(format!("{what}: field {name:?} has a description over 1024 bytes"));
            }
        }
        Ok(())
    }
}

fn is_name(text: &str, allowed: impl Fn(u8) -> bool) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(allowed)
}

/// Checks that `value` is a JSON pointer to somewhere: starting with `/`.
fn pointer(what: &str, value: &str) -> Result<(), String> {
    if !value.starts_with('/') || value.len() > 200 {
        return Err(format!("{what}: {value:?} is not a JSON pointer such as /lines"));
    }
    Ok(())
}
