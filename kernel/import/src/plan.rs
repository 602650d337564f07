//! From a table to the requests an import sends: each row's cells read
//! as their fields' types and put where the fields go, every value that
//! does not read named by row, column and value.

use keel_manifest::{ColumnType, Field, Import};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::mapping::{DateFormat, DecimalSeparator, Mapping};
use crate::table::{Cell, Table, column_letter};

/// What an import of a table would send, and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The requests, in file order.
    pub calls: Vec<Call>,
    /// Every value that does not read, every required field no column or
    /// parameter gives, up to [`ERRORS_MAX`]. A real import runs only when
    /// there are none.
    pub errors: Vec<Problem>,
    /// How many problems past [`ERRORS_MAX`] were found and not listed.
    pub errors_not_listed: usize,
    /// Each column of the file and the field it fills, if any.
    pub columns: Vec<ColumnUse>,
}

/// One request of the import's operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The rows it comes from: one, or every row with `into`.
    pub rows: Vec<usize>,
    pub body: Value,
}

/// Something wrong with the file, a row or a value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The row (the heading is row 1); none for the file as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// The column's heading, or the parameter's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The field it fills.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value as the file holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub message: String,
}

/// A column of the file and the field it fills; none if it is left out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ColumnUse {
    pub heading: String,
    pub field: Option<String>,
}

/// Most problems a plan lists; a file with more is summed up by their count.
pub const ERRORS_MAX: usize = 1_000;

/// Most characters of a value a problem repeats.
const VALUE_SHOWN_MAX: usize = 60;

/// The problems found so far: the first [`ERRORS_MAX`], and a count of
/// the rest.
#[derive(Default)]
struct Found {
    listed: Vec<Problem>,
    more: usize,
}

impl Found {
    fn push(&mut self, problem: Problem) {
        if self.listed.len() < ERRORS_MAX {
            self.listed.push(problem);
        } else {
            self.more += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    fn into_plan(self, calls: Vec<Call>, columns: Vec<ColumnUse>) -> Plan {
        Plan { calls, errors: self.listed, errors_not_listed: self.more, columns }
    }
}

/// A value as a problem repeats it: cut short past [`VALUE_SHOWN_MAX`]
/// characters.
fn shown(text: &str) -> String {
    match text.char_indices().nth(VALUE_SHOWN_MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Plans the import of `table` as `mapping` reads it, with `params` the
/// person importing gave (query parameters: only the import's own are
/// read).
pub fn plan(
    table: &Table,
    import: &Import,
    mapping: &Mapping,
    params: &[(String, String)],
) -> Plan {
    let mut errors = Found::default();
    let columns: Vec<ColumnUse> = table
        .headings
        .iter()
        .map(|heading| ColumnUse {
            heading: heading.clone(),
            field: mapping.field_of(import, heading).map(|f| f.name.clone()),
        })
        .collect();
    // Fields the file's params give a default for, without `into`.
    let defaulted: Vec<String> = match import.into {
        Some(_) => Vec::new(),
        None => import
            .params
            .iter()
            .filter(|p| params.iter().any(|(n, v)| n == &p.name && !v.trim().is_empty()))
            .map(Field::pointer)
            .collect(),
    };
    let has_default = |field: &Field| defaulted.contains(&field.pointer());
    for field in import.fields.iter().filter(|f| f.required && !has_default(f)) {
        if !columns.iter().any(|c| c.field.as_deref() == Some(&field.name)) {
            errors.push(Problem {
                row: None,
                column: None,
                field: Some(field.name.clone()),
                value: None,
                message: format!(
                    "no column gives the required field {}: head a column {0:?}, or map one to it",
                    field.name
                ),
            });
        }
    }
    let mut common = Value::Object(Map::new());
    for param in &import.params {
        let given = params.iter().find(|(name, _)| name == &param.name).map(|(_, v)| v.as_str());
        let problem = |value: Option<&str>, message: String| Problem {
            row: None,
            column: Some(param.name.clone()),
            field: Some(param.name.clone()),
            value: value.map(shown),
            message,
        };
        match given.filter(|v| !v.trim().is_empty()) {
            None if param.required => errors.push(problem(
                None,
                format!("the import needs ?{}= ({})", param.name, type_name(param.kind)),
            )),
            None => {}
            Some(text) => match read_value(param.kind, &Cell::Text(text.to_owned()), mapping) {
                Ok(value) => put(&mut common, &param.pointer(), value),
                Err(message) => errors.push(problem(Some(text), message)),
            },
        }
    }
    if !errors.is_empty() {
        return errors.into_plan(Vec::new(), columns);
    }
    let mut calls = Vec::new();
    let mut lines = Vec::new();
    for row in &table.rows {
        let mut body =
            if import.into.is_some() { Value::Object(Map::new()) } else { common.clone() };
        let mut fine = true;
        for (index, cell) in row.cells.iter().enumerate() {
            let heading = table.headings.get(index).map_or("", String::as_str);
            let Some(field) = columns.get(index).and_then(|c| c.field.as_deref()) else {
                if !cell.is_blank() && heading.is_empty() {
                    errors.push(Problem {
                        row: Some(row.number),
                        column: Some(column_letter(index)),
                        field: None,
                        value: Some(shown(cell.shown())),
                        message: "a value in a column with no heading".to_owned(),
                    });
                    fine = false;
                }
                continue;
            };
            let Some(field) = import.field(field) else { continue };
            if cell.is_blank() {
                continue;
            }
            match read_value(field.kind, cell, mapping) {
                Ok(value) => put(&mut body, &field.pointer(), value),
                Err(message) => {
                    errors.push(cell_problem(row.number, heading, field, cell, message));
                    fine = false;
                }
            }
        }
        for field in import.fields.iter().filter(|f| f.required && !has_default(f)) {
            let given = columns.iter().enumerate().any(|(index, c)| {
                c.field.as_deref() == Some(&field.name)
                    && row.cells.get(index).is_some_and(|cell| !cell.is_blank())
            });
            if !given {
                let heading = columns
                    .iter()
                    .find(|c| c.field.as_deref() == Some(&field.name))
                    .map_or(field.name.as_str(), |c| c.heading.as_str());
                let message = format!("{} is required", field.name);
                errors.push(cell_problem(row.number, heading, field, &Cell::Empty, message));
                fine = false;
            }
        }
        if fine {
            if import.into.is_some() {
                lines.push((row.number, body));
            } else {
                calls.push(Call { rows: vec![row.number], body });
            }
        }
    }
    if let Some(into) = &import.into
        && errors.is_empty()
    {
        let (rows, bodies): (Vec<usize>, Vec<Value>) = lines.into_iter().unzip();
        let mut body = common;
        put(&mut body, into, Value::Array(bodies));
        calls.push(Call { rows, body });
    }
    errors.into_plan(calls, columns)
}

/// Plans `table` as [`plan`] does, a part of at most `part_rows` rows at a
/// time, for an import that runs in parts: each part's calls go to `each`
/// as soon as they are planned, so that only one part's requests are held
/// at once. The plan returned has the problems and columns of the whole
/// file, and no calls. With `into`, each part makes one call of its rows.
pub fn plan_parts(
    table: &Table,
    import: &Import,
    mapping: &Mapping,
    params: &[(String, String)],
    part_rows: usize,
    mut each: impl FnMut(Vec<Call>),
) -> Plan {
    if table.rows.is_empty() {
        let whole = plan(table, import, mapping, params);
        each(whole.calls);
        return Plan { calls: Vec::new(), ..whole };
    }
    let mut errors = Found::default();
    let mut columns = Vec::new();
    for (index, rows) in table.rows.chunks(part_rows.max(1)).enumerate() {
        let part = Table { headings: table.headings.clone(), rows: rows.to_vec() };
        let planned = plan(&part, import, mapping, params);
        // What is wrong with the file as a whole, every part finds again.
        let first = index == 0;
        for problem in planned.errors.into_iter().filter(|p| first || p.row.is_some()) {
            errors.push(problem);
        }
        errors.more += planned.errors_not_listed;
        if first {
            columns = planned.columns;
        }
        each(planned.calls);
    }
    errors.into_plan(Vec::new(), columns)
}

fn cell_problem(row: usize, heading: &str, field: &Field, cell: &Cell, message: String) -> Problem {
    Problem {
        row: Some(row),
        column: Some(heading.to_owned()),
        field: Some(field.name.clone()),
        value: Some(shown(cell.shown())),
        message,
    }
}

fn type_name(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Text => "text",
        ColumnType::Integer => "a whole number",
        ColumnType::Decimal => "a decimal number",
        ColumnType::Date => "a date",
    }
}

/// A cell read as `kind`: text as a JSON string (trimmed), integers as
/// numbers, decimals as exact strings, dates as `YYYY-MM-DD`.
pub(crate) fn read_value(
    kind: ColumnType,
    cell: &Cell,
    mapping: &Mapping,
) -> Result<Value, String> {
    if let Cell::Error(err) = cell {
        return Err(format!("the cell holds the spreadsheet error {err}"));
    }
    let text = cell.shown().trim();
    let quoted = format!("{:?}", shown(text));
    match kind {
        ColumnType::Text => Ok(Value::String(text.to_owned())),
        ColumnType::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("{quoted} is not a whole number")),
        ColumnType::Decimal => decimal(text, mapping.decimal_separator)
            .map(|d| Value::String(d.to_string()))
            .ok_or_else(|| {
                let (point, thousands) = mapping.decimal_separator.chars();
                format!(
                    "{quoted} is not a decimal number written with {point:?} before the fraction \
                     (and {thousands:?} or spaces between thousands, if any)"
                )
            }),
        ColumnType::Date => match cell {
            Cell::Date(date) => Ok(Value::String(date.clone())),
            _ => date(text, mapping.date_format).map(Value::String).ok_or_else(|| {
                format!("{quoted} is not a date written {}", mapping.date_format.as_str())
            }),
        },
    }
}

/// Reads a decimal as a source system writes it: a sign or accountants'
/// brackets for negatives, thousands grouped by the other separator or a
/// space, and `separator` before the fraction. Groups of thousands must be
/// whole, so that `1,5` in a file that writes `1.5` is refused, never read
/// as fifteen.
pub(crate) fn decimal(text: &str, separator: DecimalSeparator) -> Option<Decimal> {
    let (point, thousands) = separator.chars();
    let (negative, text) = match text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        Some(inner) => (true, inner.trim()),
        None => (false, text),
    };
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) if !negative => ("-", rest),
        Some(_) => return None,
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = match digits.split_once(point) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let groups: Vec<&str> = whole.split([thousands, ' ', '\u{a0}', '\u{202f}']).collect();
    let grouped = groups.len() > 1;
    let groups_whole = groups.iter().enumerate().all(|(i, g)| {
        let digits = !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
        digits && (!grouped || if i == 0 { g.len() <= 3 } else { g.len() == 3 })
    });
    let fraction_digits =
        fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if !groups_whole || !fraction_digits {
        return None;
    }
    let mut plain = String::from(if negative { "-" } else { sign });
    plain.extend(groups);
    if let Some(fraction) = fraction {
        plain.push('.');
        plain.push_str(fraction);
    }
    Decimal::from_str_exact(&plain).ok()
}

/// Reads a date written as `format` into `YYYY-MM-DD`, checking the
/// calendar has it.
pub(crate) fn date(text: &str, format: DateFormat) -> Option<String> {
    let parts = |separator: char| -> Option<(String, String, String)> {
        let mut parts = text.split(separator);
        let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
        parts.next().is_none().then(|| (a.to_owned(), b.to_owned(), c.to_owned()))
    };
    let (year, month, day) = match format {
        DateFormat::Iso => parts('-')?,
        DateFormat::DayMonthSlash => parts('/').map(|(d, m, y)| (y, m, d))?,
        DateFormat::MonthDaySlash => parts('/').map(|(m, d, y)| (y, m, d))?,
        DateFormat::DayMonthDot => parts('.').map(|(d, m, y)| (y, m, d))?,
    };
    let all_digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !all_digits(&year, 4..=4) || !all_digits(&month, 1..=2) || !all_digits(&day, 1..=2) {
        return None;
    }
    let iso = format!("{year}-{month:0>2}-{day:0>2}");
    keel_values::date::Date::parse(&iso).ok().map(|d| d.as_str().to_owned())
}

/// Puts `value` at `pointer` in `target`, making the objects on the way.
pub(crate) fn put(target: &mut Value, pointer: &str, value: Value) {
    let segments: Vec<String> =
        pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
    let Some((last, path)) = segments.split_last() else {
        *target = value;
        return;
    };
    let mut at = target;
    for segment in path {
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        let Value::Object(map) = at else { return };
        at = map.entry(segment.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    if !at.is_object() {
        *at = Value::Object(Map::new());
    }
    if let Value::Object(map) = at {
        map.insert(last.clone(), value);
    }
}
