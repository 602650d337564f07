//! A field's value in one row, read as the type its source declares:
//! text, a whole number, an exact decimal or a date. Values of one field
//! compare in the order people expect (numbers by size, dates by time),
//! with a missing value first.

use std::cmp::Ordering;

use keel_manifest::ColumnType;
use rust_decimal::Decimal;
use serde_json::Value;

/// One value of a typed field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Cell {
    /// Missing, null, or not readable as the field's type.
    Null,
    Text(String),
    Integer(i64),
    Decimal(Decimal),
    /// `YYYY-MM-DD`, which sorts as text in the order of time.
    Date(String),
}

impl Cell {
    /// `value` (from a document, or from a definition's filter) read as
    /// `kind`; `None` if it does not read so.
    pub(crate) fn read(kind: ColumnType, value: &Value) -> Option<Self> {
        let text = match value {
            Value::Null => return Some(Self::Null),
            Value::String(text) => text.as_str(),
            Value::Number(_) | Value::Bool(_) => &value.to_string(),
            Value::Array(_) | Value::Object(_) => return None,
        };
        match kind {
            ColumnType::Text => Some(Self::Text(text.to_owned())),
            ColumnType::Integer => text.trim().parse().ok().map(Self::Integer),
            ColumnType::Decimal => decimal(text).map(Self::Decimal),
            ColumnType::Date => keel_values::Date::parse(text.trim())
                .ok()
                .map(|d| Self::Date(d.as_str().to_owned())),
        }
    }

    /// The value at `pointer` in `doc`: missing and unreadable values are
    /// [`Cell::Null`], so one odd document never stops a report.
    pub(crate) fn at(kind: ColumnType, doc: &Value, pointer: &str) -> Self {
        doc.pointer(pointer).and_then(|value| Self::read(kind, value)).unwrap_or(Self::Null)
    }

    /// The value as a number, for sums.
    pub(crate) fn number(&self) -> Option<Decimal> {
        match self {
            Self::Integer(n) => Some(Decimal::from(*n)),
            Self::Decimal(d) => Some(*d),
            _ => None,
        }
    }

    /// As the report's JSON answer shows it: decimals as exact strings.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Text(text) | Self::Date(text) => Value::String(text.clone()),
            Self::Integer(n) => Value::from(*n),
            Self::Decimal(d) => Value::String(d.normalize().to_string()),
        }
    }

    /// Roughly what it takes in memory, in bytes.
    pub(crate) fn size(&self) -> usize {
        match self {
            Self::Text(text) | Self::Date(text) => 32 + text.len(),
            _ => 32,
        }
    }

    /// Whether the text contains `needle`, ignoring case.
    pub(crate) fn contains(&self, needle: &str) -> bool {
        match self {
            Self::Text(text) => text.to_lowercase().contains(&needle.to_lowercase()),
            _ => false,
        }
    }
}

impl PartialOrd for Cell {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cell {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Null, Self::Null) => Ordering::Equal,
            (Self::Null, _) => Ordering::Less,
            (_, Self::Null) => Ordering::Greater,
            (Self::Text(a), Self::Text(b)) | (Self::Date(a), Self::Date(b)) => a.cmp(b),
            (a, b) => match (a.number(), b.number()) {
                (Some(a), Some(b)) => a.cmp(&b),
                // Values of one field share a type; across types, by kind.
                _ => rank(a).cmp(&rank(b)),
            },
        }
    }
}

fn rank(cell: &Cell) -> u8 {
    match cell {
        Cell::Null => 0,
        Cell::Integer(_) | Cell::Decimal(_) => 1,
        Cell::Date(_) => 2,
        Cell::Text(_) => 3,
    }
}

/// An exact decimal as a plugin writes it: `"1234.50"`, `-3`, `1e2` is not.
fn decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    if text.is_empty() || text.contains(['e', 'E']) {
        return None;
    }
    Decimal::from_str_exact(text).ok()
}
