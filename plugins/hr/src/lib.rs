//! Keel's HR domain. This far, its pure cores: [`payroll`] (formulas,
//! structures, payslips, the run's journal) and [`leave`] (calendars,
//! balances as ledgers, requests). The `hr` plugin's adapter (employees,
//! contracts, attendance, payroll runs as jobs, `keel:erp/directory`) is
//! built on them next.
#![deny(clippy::float_arithmetic)]

pub mod leave;
pub mod payroll;
