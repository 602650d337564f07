//! Custom reports: a tenant's own report over a collection a plugin
//! declares reportable (`[[reportable]]` in its manifest), as columns,
//! filters, grouping, counts, sums and sorting. Pure: no I/O and no SDK;
//! the host feeds it the documents it may read and the gateway renders its
//! answer with `keel-export`.
//!
//! - `definition`: what a tenant saves ([`Definition`]), checked against
//!   the source's typed fields into a [`Plan`], every problem named.
//! - `cell`: a field's value read as its declared type, exact decimals
//!   and dates included, in the order people sort them.
//! - `relative`: dates named from the day a report runs (`today-7`,
//!   `month-start-1`), for reports sent on a timetable.
//! - `run`: a plan fed documents one at a time ([`Run`]), in bounded
//!   memory, answering a [`Table`].

mod cell;
mod definition;
mod relative;
mod run;

pub use definition::{Aggregate, AggregateOp, Definition, Filter, FilterOp, Plan, ROWS_MAX, Sort};
pub use run::{GROUPS_MAX, Run, RunError, TABLE_BYTES_MAX, Table};

#[cfg(test)]
mod tests;
