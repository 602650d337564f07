//! How a source system's files read: which of its column headings fills
//! which field of an import, and how it writes decimals and dates. A
//! tenant saves one mapping per source system and import, and names it
//! when it imports.

use std::collections::BTreeMap;

use keel_manifest::Import;

/// Most columns one mapping may name.
const COLUMNS_MAX: usize = 256;

/// A source system's way of writing an import's file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// A file's column heading, and the field it fills. A heading not
    /// named here fills the field of the same name (ignoring case), if
    /// there is one; otherwise its column is left out.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// What separates a decimal's whole part from its fraction.
    #[serde(default)]
    pub decimal_separator: DecimalSeparator,
    /// How dates written as text read.
    #[serde(default)]
    pub date_format: DateFormat,
}

/// The decimal separator: `.` (`1,234.50`) or `,` (`1.234,50`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DecimalSeparator {
    #[default]
    #[serde(rename = ".")]
    Point,
    #[serde(rename = ",")]
    Comma,
}

impl DecimalSeparator {
    /// The separator and the thousands separator that goes with it.
    pub(crate) fn chars(self) -> (char, char) {
        match self {
            DecimalSeparator::Point => ('.', ','),
            DecimalSeparator::Comma => (',', '.'),
        }
    }
}

/// How dates written as text read; cells a spreadsheet holds as dates
/// need none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DateFormat {
    #[default]
    #[serde(rename = "YYYY-MM-DD")]
    Iso,
    #[serde(rename = "DD/MM/YYYY")]
    DayMonthSlash,
    #[serde(rename = "MM/DD/YYYY")]
    MonthDaySlash,
    #[serde(rename = "DD.MM.YYYY")]
    DayMonthDot,
}

impl DateFormat {
    /// The format as a person writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            DateFormat::Iso => "YYYY-MM-DD",
            DateFormat::DayMonthSlash => "DD/MM/YYYY",
            DateFormat::MonthDaySlash => "MM/DD/YYYY",
            DateFormat::DayMonthDot => "DD.MM.YYYY",
        }
    }
}

impl Mapping {
    /// Checks that every heading it names fills a field of `import`, and
    /// no field twice.
    pub fn validate(&self, import: &Import) -> Result<(), String> {
        if self.columns.len() > COLUMNS_MAX {
            return Err(format!("a mapping names at most {COLUMNS_MAX} columns"));
        }
        let mut filled = std::collections::HashMap::new();
        for (heading, name) in &self.columns {
            if heading.trim().is_empty() || heading.len() > 200 {
                return Err(format!("column heading {heading:?} is 1 to 200 bytes"));
            }
            let Some(field) = import.field(name) else {
                let known: Vec<&str> = import.fields.iter().map(|f| f.name.as_str()).collect();
                return Err(format!(
                    "column {heading:?} maps to {name:?}, which import {} has no field of; its fields are {}",
                    import.id,
                    known.join(", ")
                ));
            };
            if let Some(other) = filled.insert(field.name.as_str(), heading) {
                return Err(format!(
                    "columns {other:?} and {heading:?} both map to field {}",
                    field.name
                ));
            }
        }
        Ok(())
    }

    /// The field a column headed `heading` fills, if any.
    pub(crate) fn field_of<'a>(
        &self,
        import: &'a Import,
        heading: &str,
    ) -> Option<&'a keel_manifest::Field> {
        let heading = heading.trim();
        if heading.is_empty() {
            return None;
        }
        let named = self.columns.iter().find(|(h, _)| h.trim().eq_ignore_ascii_case(heading));
        match named {
            Some((_, name)) => import.field(name),
            // A heading a mapping names nowhere, but another column is
            // mapped to its field, is left out rather than filling it twice.
            None => import.field(heading).filter(|field| {
                !self.columns.values().any(|name| name.eq_ignore_ascii_case(&field.name))
            }),
        }
    }
}
