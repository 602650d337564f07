//! How the kernel renders an operation's JSON answer as CSV or XLSX,
//! declared in the manifest: where the rows are, and which columns to take
//! from each, with their types, decimal places and totals. The plugin
//! answers JSON as always; a client asks for another format with
//! `?format=csv|xlsx` or an `Accept` header (`keel-export` renders it).

/// Most columns one export may have.
const COLUMNS_MAX: usize = 64;

/// Most decimal places a column shows.
const PLACES_MAX: u8 = 6;

/// An operation's export.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// What the export is called (a spreadsheet's sheet and title); the
    /// operation's id when absent.
    #[serde(default)]
    pub title: Option<String>,
    /// A JSON pointer (RFC 6901) to the array of rows in the answer, such
    /// as `/rows`.
    pub rows: String,
    /// A JSON pointer to the answer's next-page cursor, for an operation
    /// that pages (`?cursor=`, `?limit=`): the kernel follows it, so that
    /// an export holds every page, not only the first.
    #[serde(default)]
    pub cursor: Option<String>,
    /// The columns, in order.
    pub columns: Vec<Column>,
}

/// One column of an export.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Its heading.
    pub name: String,
    /// A JSON pointer to its value within each row, such as `/account`.
    pub field: String,
    /// What its values are: text unless given.
    #[serde(default, rename = "type")]
    pub kind: ColumnType,
    /// Decimal places a `decimal` column shows (the values stay exact).
    #[serde(default)]
    pub places: Option<u8>,
    /// Whether a spreadsheet ends with its total (`integer` and `decimal`
    /// columns).
    #[serde(default)]
    pub total: bool,
}

/// What a column's values are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    #[default]
    Text,
    /// Whole numbers.
    Integer,
    /// Exact decimals, written as strings (`"1234.50"`) or numbers.
    Decimal,
    /// Calendar dates, `YYYY-MM-DD`.
    Date,
}

impl ColumnType {
    /// Its name, as manifests write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Decimal => "decimal",
            ColumnType::Date => "date",
        }
    }

    /// Whether its values add up.
    pub fn is_number(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Decimal)
    }
}

impl Export {
    /// Checks pointers and columns: 1 to 64 columns with headings.
    pub(crate) fn validate(&self) -> Result<(), String> {
        pointer("rows", &self.rows)?;
        if let Some(cursor) = &self.cursor {
            pointer("cursor", cursor)?;
        }
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
            if column.places.is_some() && column.kind != ColumnType::Decimal {
                return Err(format!("export column {name:?}: only a decimal column has places"));
            }
            if column.places.is_some_and(|p| p > PLACES_MAX) {
                return Err(format!(
                    "export column {name:?}: a decimal column shows 0 to {PLACES_MAX} places"
                ));
            }
            if column.total && !column.kind.is_number() {
                return Err(format!(
                    "export column {name:?}: only an integer or decimal column has a total"
                ));
            }
        }
        if let Some(title) = &self.title
            && (title.trim().is_empty() || title.len() > 100 || title.chars().any(char::is_control))
        {
            return Err(format!("export title {title:?} is 1 to 100 bytes"));
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
