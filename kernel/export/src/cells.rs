//! A row's value for a column, read as the column's declared type. A value
//! that does not read as its type (a plugin's slip) is kept as text rather
//! than lost or failing the whole export.

use keel_manifest::{Column, ColumnType};
use rust_decimal::Decimal;
use serde_json::Value;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Empty,
    Text(String),
    /// An exact number: a decimal or whole-number column's.
    Number(Decimal),
    /// A calendar date.
    Date {
        year: u16,
        month: u8,
        day: u8,
    },
}

/// The cell of `column` in `row`.
pub(crate) fn cell(column: &Column, row: &Value) -> Cell {
    let text = match row.pointer(&column.field) {
        None | Some(Value::Null) => return Cell::Empty,
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    match column.kind {
        ColumnType::Text => Cell::Text(text),
        ColumnType::Integer | ColumnType::Decimal => match text.trim().parse::<Decimal>() {
            Ok(number) => Cell::Number(number),
            Err(_) => Cell::Text(text),
        },
        ColumnType::Date => date(&text).unwrap_or(Cell::Text(text)),
    }
}

/// `YYYY-MM-DD` as a date.
fn date(text: &str) -> Option<Cell> {
    let mut parts = text.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    Some(Cell::Date {
        year: year.parse().ok()?,
        month: month.parse().ok()?,
        day: day.parse().ok()?,
    })
}
