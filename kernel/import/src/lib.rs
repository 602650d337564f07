//! Imports: the CSV and XLSX files people bring from other systems, read
//! into the requests of an import a plugin declares in its manifest. Pure:
//! bytes in, requests and their problems out; the gateway reads the
//! request and the host runs the calls.
//!
//! - [`table`]: a file as headings and rows of cells, within bounds
//!   ([`ROWS_MAX`], [`COLUMNS_MAX`], [`CELLS_MAX`], what a workbook unpacks
//!   to).
//! - [`mapping`]: a source system's headings and its way of writing
//!   decimals and dates, saved per tenant.
//! - [`plan`]: the rows read as their fields' types into request bodies,
//!   each value that does not read named by row, column and value.

mod mapping;
mod plan;
mod table;

pub use mapping::{DateFormat, DecimalSeparator, Mapping};
pub use plan::{Call, ColumnUse, ERRORS_MAX, Plan, Problem, plan, plan_parts};
pub use table::{
    CELL_BYTES_MAX, CELLS_MAX, COLUMNS_MAX, Cell, Format, ROWS_MAX, ReadError, Row, Table, read,
};

#[cfg(test)]
mod tests;
