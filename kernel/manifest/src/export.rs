//! How the kernel renders an operation's JSON answer as CSV, declared in
//! the manifest: where the rows are, and which columns to take from each.
//! The plugin answers JSON as always; a client asks for CSV with
//! `?format=csv` or `Accept: text/csv`.

/// Most columns one export may have.
const COLUMNS_MAX: usize = 64;

/// An operation's CSV export.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// A JSON pointer (RFC 6901) to the array of rows in the answer, such
    /// as `/rows`.
    pub rows: String,
    /// The columns, in order.
    pub columns: Vec<Column>,
}

/// One column of an export.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Its heading.
    pub name: String,
    /// A JSON pointer to its value within each row, such as `/account`.
    pub field: String,
}

impl Export {
    /// Checks pointers and columns: 1 to 64 columns with headings.
    pub(crate) fn validate(&self) -> Result<(), String> {
        pointer("rows", &self.rows)?;
        if self.columns.is_empty() || self.columns.len() > COLUMNS_MAX {
            return Err(format!("an export has 1 to {COLUMNS_MAX} columns"));
        }
        for column in &self.columns {
            let name = column.name.trim();
            if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
                return Err(format!(
                    "export column {:?} needs a heading of 1 to 100 bytes",
                    column.name
                ));
            }
            pointer(&format!("column {name}"), &column.field)?;
        }
        Ok(())
    }
}

/// Checks that `value` is a JSON pointer: empty, or starting with `/`.
fn pointer(what: &str, value: &str) -> Result<(), String> {
    if (!value.is_empty() && !value.starts_with('/')) || value.len() > 200 {
        return Err(format!("export {what}: {value:?} is not a JSON pointer such as /rows"));
    }
    Ok(())
}
