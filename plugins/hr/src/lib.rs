//! Keel's HR plugin: departments, employees and their reporting lines,
//! personal data and contracts; it provides `keel:erp/directory`.
//!
//! - Pure cores, natively unit- and property-tested: [`people`]
//!   (departments, employees, personal data, contracts), [`payroll`]
//!   (formulas, structures, payslips, the run's journal) and [`leave`]
//!   (calendars, balances as ledgers, requests). Payroll runs are not yet
//!   served.
//! - `books`: how people are stored, and the writes that keep them
//!   consistent.
//! - `api`: one handler per people operation, with who may see what.
//! - `absence`: leave as served: calendars, types, balances, requests
//!   decided by someone above the employee or HR.
//! - `directory`: `keel:erp/directory` for other modules.
#![deny(clippy::float_arithmetic)]

mod absence;
mod api;
mod books;
mod directory;
pub mod leave;
pub mod payroll;
pub mod people;

use keel_sdk::{Operations, Plugin, Request, Response, Result};

/// Each manifest operation with its handler.
const OPERATIONS: Operations = Operations::new(&[
    ("departments.create", api::create_department),
    ("departments.list", api::list_departments),
    ("employees.hire", api::hire),
    ("employees.list", api::list_employees),
    ("employees.get", api::get_employee),
    ("employees.personal", api::personal),
    ("employees.contracts", api::contracts),
    ("contracts.add", api::add_contract),
    ("employees.leave", api::leave),
    ("me", api::me),
    ("calendars.put", absence::put_calendar),
    ("leave-types.put", absence::put_leave_type),
    ("leave-types.list", absence::list_leave_types),
    ("leave.allocate", absence::allocate),
    ("leave.ask", absence::ask),
    ("leave.pending", absence::pending),
    ("leave.decide", absence::decide),
    ("leave.cancel", absence::cancel),
    ("leave.of-employee", absence::employee_leave),
    ("me.leave", absence::my_leave),
]);

struct Hr;

impl Plugin for Hr {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        OPERATIONS.handle(operation, &request)
    }
}

keel_sdk::export_plugin!(Hr);
keel_sdk::export_directory!(Hr);

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_is_valid_and_every_operation_is_dispatched() {
        let manifest = keel_manifest::Manifest::parse(include_str!("../keel.toml")).unwrap();
        assert_eq!(manifest.id.as_str(), "hr");
        let mut declared: Vec<&str> = manifest.operations.iter().map(|op| op.id.as_str()).collect();
        let mut dispatched: Vec<&str> = super::OPERATIONS.ids().collect();
        declared.sort_unstable();
        dispatched.sort_unstable();
        assert_eq!(dispatched, declared, "each operation of the manifest has one handler");
    }
}
