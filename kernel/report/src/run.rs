//! A plan run over documents fed one at a time: each document (or each
//! element of its `each` array) is a row; rows that pass every filter are
//! kept, or folded into their group's aggregates. Memory stays bounded
//! whatever the number of documents: detail rows are cut to the limit as
//! they come (sorted first, when the report sorts), and groups are
//! counted against [`GROUPS_MAX`].

use std::collections::BTreeMap;

use keel_manifest::{Column, ColumnType, Export};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::cell::Cell;
use crate::definition::{AggregateOp, FilterOp, Plan, Test};

/// Most groups a report may have.
pub const GROUPS_MAX: usize = 100_000;
/// Most bytes a run keeps for its answer (rows, or groups and their
/// aggregates), as counted while it runs: its values, and a little for
/// each row and value besides.
pub const TABLE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Why a run stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// More groups than [`GROUPS_MAX`].
    TooManyGroups,
    /// An answer of more than [`TABLE_BYTES_MAX`].
    TooLarge,
    /// A sum past what an exact decimal holds.
    Overflow(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooManyGroups => write!(
                f,
                "the report makes more than {GROUPS_MAX} groups; group by fewer or coarser fields, or filter"
            ),
            Self::Overflow(name) => write!(f, "the sum {name:?} is too large to keep exactly"),
            Self::TooLarge => write!(
                f,
                "the report's answer would hold more than {} MiB; show fewer or shorter columns, filter, group, or lower its limit",
                TABLE_BYTES_MAX / (1024 * 1024)
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// A report being run.
#[derive(Debug)]
pub struct Run {
    plan: Plan,
    scanned: u64,
    matched: u64,
    rows: Vec<Vec<Cell>>,
    groups: BTreeMap<Vec<Cell>, Vec<Acc>>,
    truncated: bool,
    /// What the rows or groups kept take, as [`TABLE_BYTES_MAX`] counts.
    bytes: usize,
}

/// A report's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    /// The answer's columns, typed, as an export renders them.
    pub columns: Vec<Column>,
    /// One object per row, by column name.
    pub rows: Vec<Value>,
    /// Documents read.
    pub scanned: u64,
    /// Rows that passed the filters.
    pub matched: u64,
    /// Whether rows past the limit were left out.
    pub truncated: bool,
}

impl Table {
    /// The answer as JSON: `{title, columns, rows, scanned, matched, truncated}`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.shown()).unwrap_or(Value::Null)
    }

    /// [`Table::to_json`] as bytes, written from the table without copying
    /// its rows first.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.shown()).unwrap_or_default()
    }

    fn shown(&self) -> Shown<'_> {
        let columns = self
            .columns
            .iter()
            .map(|c| ShownColumn { name: &c.name, kind: c.kind.as_str() })
            .collect();
        Shown {
            title: &self.title,
            columns,
            rows: &self.rows,
            scanned: self.scanned,
            matched: self.matched,
            truncated: self.truncated,
        }
    }

    /// How `keel-export` renders [`Table::to_json`] as CSV, XLSX or PDF.
    pub fn export(&self) -> Export {
        Export {
            title: Some(self.title.chars().take(100).collect()),
            rows: "/rows".to_owned(),
            cursor: None,
            columns: self.columns.clone(),
        }
    }
}

/// A table as its JSON answer shows it.
#[derive(serde::Serialize)]
struct Shown<'a> {
    title: &'a str,
    columns: Vec<ShownColumn<'a>>,
    rows: &'a [Value],
    scanned: u64,
    matched: u64,
    truncated: bool,
}

#[derive(serde::Serialize)]
struct ShownColumn<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl Run {
    /// A run of `plan` on `today`, the day its relative dates count from
    /// (in the time zone of whoever it is for).
    pub fn new(mut plan: Plan, today: &keel_values::Date) -> Self {
        for (_, test) in &mut plan.filters {
            if let Test::Relative(op, relative) = test {
                let date =
                    relative.on(today).map_or(Cell::Null, |d| Cell::Date(d.as_str().to_owned()));
                *test = Test::Compare(*op, date);
            }
        }
        Self {
            plan,
            scanned: 0,
            matched: 0,
            rows: Vec::new(),
            groups: BTreeMap::new(),
            truncated: false,
            bytes: 0,
        }
    }

    /// Documents fed so far.
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// Feeds one document.
    pub fn feed(&mut self, doc: &Value) -> Result<(), RunError> {
        self.scanned += 1;
        match &self.plan.each {
            None => self.row(doc, None),
            Some(each) => {
                let elements = doc.pointer(each).and_then(Value::as_array);
                for element in elements.into_iter().flatten() {
                    self.row(doc, Some(element))?;
                }
                Ok(())
            }
        }
    }

    fn row(&mut self, doc: &Value, element: Option<&Value>) -> Result<(), RunError> {
        let cells: Vec<Cell> = self
            .plan
            .fields
            .iter()
            .map(|(_, pointer, kind, of_each)| match (of_each, element) {
                (false, _) => Cell::at(*kind, doc, pointer),
                (true, Some(element)) => Cell::at(*kind, element, pointer),
                (true, None) => Cell::Null,
            })
            .collect();
        if !self.plan.filters.iter().all(|(index, test)| passes(&cells[*index], test)) {
            return Ok(());
        }
        self.matched += 1;
        if !self.plan.grouped {
            let row: Vec<Cell> = self.plan.shown.iter().map(|i| cells[*i].clone()).collect();
            self.bytes += size(&row);
            self.rows.push(row);
            // Keep at most twice the limit: cut back to the limit (the
            // first rows in the report's order) whenever it fills.
            let limit = self.plan.limit;
            if self.rows.len() >= limit.saturating_mul(2).max(1024) {
                sort(&mut self.rows, &self.plan.sort);
                self.truncated |= self.rows.len() > limit;
                self.rows.truncate(limit);
                self.bytes = self.rows.iter().map(|row| size(row)).sum();
            }
            return self.within_bounds();
        }
        let key: Vec<Cell> = self.plan.group_by.iter().map(|i| cells[*i].clone()).collect();
        if !self.groups.contains_key(&key) {
            if self.groups.len() >= GROUPS_MAX {
                return Err(RunError::TooManyGroups);
            }
            self.bytes += size(&key) + ACC_BYTES * self.plan.aggregates.len();
        }
        let accs = self.groups.entry(key).or_insert_with(|| new_accs(&self.plan));
        for (acc, (name, _, index)) in accs.iter_mut().zip(&self.plan.aggregates) {
            self.bytes += acc.add(index.map(|i| &cells[i]), name)?;
        }
        self.within_bounds()
    }

    fn within_bounds(&self) -> Result<(), RunError> {
        if self.bytes > TABLE_BYTES_MAX { Err(RunError::TooLarge) } else { Ok(()) }
    }

    /// The answer.
    pub fn finish(mut self) -> Table {
        let plan = &self.plan;
        let kind = |i: usize| plan.fields[i].2;
        let mut columns: Vec<Column> = plan
            .shown
            .iter()
            .map(|i| Column {
                name: plan.fields[*i].0.clone(),
                field: format!("/{}", plan.fields[*i].0),
                kind: kind(*i),
                places: None,
                total: !plan.grouped && kind(*i) == ColumnType::Decimal,
            })
            .collect();
        for (name, op, index) in &plan.aggregates {
            let of = index.map(kind).unwrap_or(ColumnType::Integer);
            let (kind, total) = match op {
                AggregateOp::Count => (ColumnType::Integer, true),
                AggregateOp::Sum => (of, true),
                AggregateOp::Avg => (ColumnType::Decimal, false),
                AggregateOp::Min | AggregateOp::Max => (of, false),
            };
            let field = format!("/{name}");
            columns.push(Column { name: name.clone(), field, kind, places: None, total });
        }

        let mut rows = std::mem::take(&mut self.rows);
        if plan.grouped {
            if plan.group_by.is_empty() && self.groups.is_empty() {
                let empty = new_accs(plan);
                self.groups.insert(Vec::new(), empty);
            }
            let shown: Vec<usize> = plan
                .shown
                .iter()
                .filter_map(|i| plan.group_by.iter().position(|g| g == i))
                .collect();
            rows = std::mem::take(&mut self.groups)
                .into_iter()
                .map(|(key, accs)| {
                    let mut row: Vec<Cell> = shown.iter().map(|i| key[*i].clone()).collect();
                    row.extend(accs.iter().map(Acc::value));
                    row
                })
                .collect();
        }
        sort(&mut rows, &plan.sort);
        self.truncated |= rows.len() > plan.limit;
        rows.truncate(plan.limit);
        let rows = rows
            .into_iter()
            .map(|row| {
                let object: Map<String, Value> = columns
                    .iter()
                    .zip(row)
                    .map(|(c, cell)| (c.name.clone(), cell.to_json()))
                    .collect();
                Value::Object(object)
            })
            .collect();
        Table {
            title: plan.title.clone(),
            columns,
            rows,
            scanned: self.scanned,
            matched: self.matched,
            truncated: self.truncated,
        }
    }
}

/// What one aggregate takes besides a value it keeps.
const ACC_BYTES: usize = 48;

/// What a row (or a group's key) takes, as [`TABLE_BYTES_MAX`] counts.
fn size(cells: &[Cell]) -> usize {
    24 + cells.iter().map(Cell::size).sum::<usize>()
}

/// A group's aggregates before its first row.
fn new_accs(plan: &Plan) -> Vec<Acc> {
    let kind = |index: &Option<usize>| index.map(|i| plan.fields[i].2);
    plan.aggregates.iter().map(|(_, op, index)| Acc::new(*op, kind(index))).collect()
}

/// Sorts rows by the keys given (stable: ties keep the order they came in).
fn sort(rows: &mut [Vec<Cell>], keys: &[(usize, bool)]) {
    if keys.is_empty() {
        return;
    }
    rows.sort_by(|a, b| {
        keys.iter()
            .map(|(i, descending)| {
                let order = a[*i].cmp(&b[*i]);
                if *descending { order.reverse() } else { order }
            })
            .find(|order| order.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

fn passes(cell: &Cell, test: &Test) -> bool {
    match test {
        Test::Empty(empty) => (*cell == Cell::Null) == *empty,
        _ if *cell == Cell::Null => matches!(test, Test::Compare(FilterOp::Ne, _)),
        Test::Compare(op, value) => {
            let order = cell.cmp(value);
            match op {
                FilterOp::Eq => order.is_eq(),
                FilterOp::Ne => order.is_ne(),
                FilterOp::Lt => order.is_lt(),
                FilterOp::Le => order.is_le(),
                FilterOp::Gt => order.is_gt(),
                FilterOp::Ge => order.is_ge(),
                FilterOp::In | FilterOp::Contains | FilterOp::Empty => false,
            }
        }
        Test::In(values) => values.contains(cell),
        // Made a comparison when the run started.
        Test::Relative(..) => false,
        Test::Contains(needle) => cell.contains(needle),
    }
}

/// One aggregate of one group, as it accumulates.
#[derive(Debug, Clone)]
enum Acc {
    Count(u64),
    /// The sum, and whether its field holds whole numbers.
    Sum(Decimal, bool),
    Min(Cell),
    Max(Cell),
    Avg(Decimal, u64),
}

impl Acc {
    /// An aggregate of a field of `kind` (a count of rows: none).
    fn new(op: AggregateOp, kind: Option<ColumnType>) -> Self {
        match op {
            AggregateOp::Count => Self::Count(0),
            AggregateOp::Sum => Self::Sum(Decimal::ZERO, kind == Some(ColumnType::Integer)),
            AggregateOp::Min => Self::Min(Cell::Null),
            AggregateOp::Max => Self::Max(Cell::Null),
            AggregateOp::Avg => Self::Avg(Decimal::ZERO, 0),
        }
    }

    /// Adds a row's value (`None`: a count of rows); the bytes it now
    /// keeps besides (a minimum or maximum's new value: counted in full,
    /// though the old one goes).
    fn add(&mut self, cell: Option<&Cell>, name: &str) -> Result<usize, RunError> {
        let Some(cell) = cell else {
            if let Self::Count(n) = self {
                *n += 1;
            }
            return Ok(0);
        };
        if *cell == Cell::Null {
            return Ok(0);
        }
        let overflow = || RunError::Overflow(name.to_owned());
        match self {
            Self::Count(n) => *n += 1,
            Self::Sum(sum, _) => {
                let number = cell.number().ok_or_else(overflow)?;
                *sum = sum.checked_add(number).ok_or_else(overflow)?;
            }
            Self::Min(min) if *min == Cell::Null || cell < min => {
                *min = cell.clone();
                return Ok(cell.size());
            }
            Self::Max(max) if cell > max => {
                *max = cell.clone();
                return Ok(cell.size());
            }
            Self::Avg(sum, n) => {
                *sum = sum.checked_add(cell.number().ok_or_else(overflow)?).ok_or_else(overflow)?;
                *n += 1;
            }
            Self::Min(_) | Self::Max(_) => {}
        }
        Ok(0)
    }

    fn value(&self) -> Cell {
        match self {
            Self::Count(n) => Cell::Integer(i64::try_from(*n).unwrap_or(i64::MAX)),
            Self::Sum(sum, true) => {
                i64::try_from(*sum).map(Cell::Integer).unwrap_or(Cell::Decimal(*sum))
            }
            Self::Sum(sum, false) => Cell::Decimal(*sum),
            Self::Min(cell) | Self::Max(cell) => cell.clone(),
            Self::Avg(_, 0) => Cell::Null,
            Self::Avg(sum, n) => match sum.checked_div(Decimal::from(*n)) {
                Some(mean) => Cell::Decimal(mean.round_dp(6).normalize()),
                None => Cell::Null,
            },
        }
    }
}
