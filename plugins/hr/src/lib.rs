//! Keel's HR domain. This far, the pure core of payroll ([`payroll`]): the
//! `hr` plugin's adapter (employees, leave, attendance, payroll runs as
//! jobs, `keel:erp/directory`) is built on it next.
#![deny(clippy::float_arithmetic)]

pub mod payroll;
