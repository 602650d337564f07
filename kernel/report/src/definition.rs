//! A report definition as a tenant saves it, and its check against the
//! source it reads: every field named must be one the source offers, every
//! filter value must read as its field's type, sums need numbers, and the
//! definition must say one thing (rows, or groups with their aggregates).
//! A definition that passes becomes a [`Plan`], which is what runs.

use std::collections::HashSet;

use keel_manifest::{ColumnType, Reportable};
use serde_json::Value;

use crate::cell::Cell;
use crate::relative::Relative;

/// Most rows a report answers; a definition may ask for fewer.
pub const ROWS_MAX: usize = 100_000;
/// Most columns, filters, groupings, aggregates and sort keys.
const COLUMNS_MAX: usize = 64;
const FILTERS_MAX: usize = 32;
const GROUP_BY_MAX: usize = 8;
const AGGREGATES_MAX: usize = 16;
const SORT_MAX: usize = 8;
/// Most values an `in` filter lists.
const IN_VALUES_MAX: usize = 256;

/// A report as a tenant defines it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// What it is called: a spreadsheet's sheet, a PDF's title.
    pub title: String,
    /// The source it reads: `<plugin>/<reportable id>`.
    pub source: String,
    /// The fields it shows, in order. Grouped, they must be grouped by;
    /// absent, the grouped fields (or every field of the source).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Conditions every row must meet (all of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// Fields whose values make one row of the answer each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// Counts, sums, minimums, maximums and averages per group (or over
    /// every row, when nothing is grouped by).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregates: Vec<Aggregate>,
    /// The order of the answer, by its columns' names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<Sort>,
    /// Most rows answered; [`ROWS_MAX`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// A condition on a field.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub field: String,
    pub op: FilterOp,
    /// What the field is compared with: a value of its type; an array of
    /// them for `in`; text for `contains`; `true` or `false` for `empty`.
    /// A date may be relative to the day the report runs: `today`,
    /// `today-7`, `month-start`, `month-start-1`, `year-start`.
    pub value: Value,
}

/// How a filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// One of a list of values.
    In,
    /// Text containing the value, ignoring case.
    Contains,
    /// Missing (`true`) or present (`false`).
    Empty,
}

/// One aggregate column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    /// Its column's name in the answer.
    pub name: String,
    pub op: AggregateOp,
    /// The field it reads; `count` without one counts rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// What an aggregate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AggregateOp {
    /// Rows (or rows where the field has a value).
    Count,
    /// The exact sum of a number field.
    Sum,
    Min,
    Max,
    /// The mean of a number field, to 6 decimal places.
    Avg,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sort {
    /// A column of the answer.
    pub by: String,
    #[serde(default)]
    pub descending: bool,
}

/// A definition checked against its source: what runs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) title: String,
    /// The source's `each` pointer, if its rows are elements of an array.
    pub(crate) each: Option<String>,
    /// Every field the run reads, once: (name, pointer, type, of each).
    pub(crate) fields: Vec<(String, String, ColumnType, bool)>,
    /// Indexes into `fields`.
    pub(crate) shown: Vec<usize>,
    pub(crate) filters: Vec<(usize, Test)>,
    pub(crate) group_by: Vec<usize>,
    /// Grouped (or aggregated over everything).
    pub(crate) grouped: bool,
    pub(crate) aggregates: Vec<(String, AggregateOp, Option<usize>)>,
    /// Indexes into the answer's columns.
    pub(crate) sort: Vec<(usize, bool)>,
    pub(crate) limit: usize,
}

/// A filter, its value read as its field's type.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    Compare(FilterOp, Cell),
    /// A comparison with a date relative to the day the report runs,
    /// made a [`Test::Compare`] when the run starts.
    Relative(FilterOp, Relative),
    In(Vec<Cell>),
    Contains(String),
    Empty(bool),
}

impl Definition {
    /// The plugin and the source id the definition reads, if its source
    /// is written `<plugin>/<id>`.
    pub fn source_parts(&self) -> Option<(&str, &str)> {
        self.source.split_once('/')
    }

    /// Checks the definition against `source`, the reportable it names:
    /// every problem found, each saying what to change.
    pub fn plan(&self, source: &Reportable) -> Result<Plan, Vec<String>> {
        let mut problems = Vec::new();
        let mut fields: Vec<(String, String, ColumnType, bool)> = Vec::new();
        let mut field = |name: &str, problems: &mut Vec<String>, what: &str| -> Option<usize> {
            let Some(declared) = source.field(name) else {
                let offered: Vec<&str> = source.fields.iter().map(|f| f.name.as_str()).collect();
                problems.push(format!(
                    "{what} names field {name:?}, which source {} does not offer; it offers {}",
                    self.source,
                    offered.join(", ")
                ));
                return None;
            };
            Some(fields.iter().position(|(n, ..)| n == name).unwrap_or_else(|| {
                fields.push((
                    name.to_owned(),
                    declared.field.clone(),
                    declared.kind,
                    declared.of_each,
                ));
                fields.len() - 1
            }))
        };

        let limits = [
            ("columns", self.columns.len(), COLUMNS_MAX),
            ("filters", self.filters.len(), FILTERS_MAX),
            ("group_by", self.group_by.len(), GROUP_BY_MAX),
            ("aggregates", self.aggregates.len(), AGGREGATES_MAX),
            ("sort", self.sort.len(), SORT_MAX),
        ];
        for (what, n, max) in limits {
            if n > max {
                problems.push(format!("{what}: at most {max}, not {n}"));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let title = self.title.trim();
        if title.is_empty() || self.title.len() > 100 || self.title.chars().any(char::is_control) {
            problems.push("title: a report's title is 1 to 100 bytes".to_owned());
        }

        let group_by: Vec<usize> = self
            .group_by
            .iter()
            .filter_map(|name| field(name, &mut problems, "group_by"))
            .collect();
        if distinct(&self.group_by).is_err() {
            problems.push("group_by names a field twice".to_owned());
        }
        let grouped = !self.group_by.is_empty() || !self.aggregates.is_empty();
        let shown_names: Vec<String> = if !self.columns.is_empty() {
            self.columns.clone()
        } else if grouped {
            self.group_by.clone()
        } else {
            source.fields.iter().map(|f| f.name.clone()).collect()
        };
        let mut shown = Vec::new();
        for name in &shown_names {
            if grouped && !self.group_by.contains(name) {
                problems.push(format!(
                    "columns: {name:?} is not grouped by, so a grouped report cannot show it; add it to group_by or aggregate it"
                ));
            }
            shown.extend(field(name, &mut problems, "columns"));
        }
        if distinct(&shown_names).is_err() {
            problems.push("columns names a field twice".to_owned());
        }

        let mut filters = Vec::new();
        for (n, filter) in self.filters.iter().enumerate() {
            let what = format!("filters[{n}]");
            let Some(index) = field(&filter.field, &mut problems, &what) else { continue };
            match test(filter, source.field(&filter.field).map(|f| f.kind)) {
                Ok(test) => filters.push((index, test)),
                Err(why) => problems.push(format!("{what} ({}): {why}", filter.field)),
            }
        }

        let mut aggregates = Vec::new();
        for (n, aggregate) in self.aggregates.iter().enumerate() {
            let what = format!("aggregates[{n}]");
            let name = &aggregate.name;
            if !is_name(name) {
                problems.push(format!("{what}: a name is 1 to 64 of a-z, 0-9 and '_'"));
            }
            if shown_names.contains(name) {
                problems.push(format!("{what}: {name:?} is already a column's name"));
            }
            let index = match &aggregate.field {
                Some(f) => field(f, &mut problems, &what),
                None if aggregate.op == AggregateOp::Count => None,
                None => {
                    problems.push(format!("{what}: {:?} needs a field", aggregate.op));
                    continue;
                }
            };
            let numeric = aggregate
                .field
                .as_deref()
                .and_then(|f| source.field(f))
                .is_some_and(|f| f.kind.is_number());
            if matches!(aggregate.op, AggregateOp::Sum | AggregateOp::Avg) && !numeric {
                problems
                    .push(format!("{what}: {:?} needs an integer or decimal field", aggregate.op));
            }
            aggregates.push((name.clone(), aggregate.op, index));
        }
        let names: Vec<String> = self.aggregates.iter().map(|a| a.name.clone()).collect();
        if distinct(&names).is_err() {
            problems.push("aggregates: two have the same name".to_owned());
        }

        let columns: Vec<&String> = shown_names.iter().chain(&names).collect();
        let mut sort = Vec::new();
        for (n, key) in self.sort.iter().enumerate() {
            match columns.iter().position(|c| **c == key.by) {
                Some(index) => sort.push((index, key.descending)),
                None => problems.push(format!(
                    "sort[{n}]: {:?} is not a column of the report; sort by one of {}",
                    key.by,
                    columns.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                )),
            }
        }
        let limit = self.limit.unwrap_or(ROWS_MAX);
        if limit == 0 || limit > ROWS_MAX {
            problems.push(format!("limit: 1 to {ROWS_MAX} rows"));
        }
        if !problems.is_empty() {
            // A field named twice (grouped, and so shown) is one problem.
            let mut seen = HashSet::new();
            problems.retain(|p| {
                seen.insert(p.split_once(" names field ").map_or(p.clone(), |(_, f)| f.to_owned()))
            });
            return Err(problems);
        }
        Ok(Plan {
            title: title.to_owned(),
            each: source.each.clone(),
            fields,
            shown,
            filters,
            group_by,
            grouped,
            aggregates,
            sort,
            limit,
        })
    }
}

/// A filter's value read as its field's type.
fn test(filter: &Filter, kind: Option<ColumnType>) -> Result<Test, String> {
    let kind = kind.unwrap_or_default();
    let read = |value: &Value| {
        Cell::read(kind, value)
            .filter(|cell| *cell != Cell::Null)
            .ok_or_else(|| format!("{value} is not a value of a {} field", kind.as_str()))
    };
    Ok(match filter.op {
        FilterOp::In => {
            let Value::Array(values) = &filter.value else {
                return Err("`in` compares with an array of values".to_owned());
            };
            if values.len() > IN_VALUES_MAX {
                return Err(format!("`in` lists at most {IN_VALUES_MAX} values"));
            }
            Test::In(values.iter().map(read).collect::<Result<_, _>>()?)
        }
        FilterOp::Contains => match (&filter.value, kind) {
            (Value::String(text), ColumnType::Text) => Test::Contains(text.clone()),
            _ => return Err("`contains` looks for text in a text field".to_owned()),
        },
        FilterOp::Empty => match filter.value {
            Value::Bool(empty) => Test::Empty(empty),
            _ => return Err("`empty` takes true (missing) or false (present)".to_owned()),
        },
        op => match (kind, filter.value.as_str().and_then(Relative::parse)) {
            (ColumnType::Date, Some(relative)) => Test::Relative(op, relative),
            _ => Test::Compare(op, read(&filter.value)?),
        },
    })
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn distinct(names: &[String]) -> Result<(), ()> {
    let mut seen = HashSet::new();
    if names.iter().all(|name| seen.insert(name)) { Ok(()) } else { Err(()) }
}
