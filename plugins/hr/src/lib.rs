//! Keel's HR plugin: departments, employees and their reporting lines,
//! personal data and contracts, leave and attendance, and payroll runs that
//! post to the ledger through `keel:erp/ledger`; it provides
//! `keel:erp/directory`.
//!
//! - Pure cores, natively unit- and property-tested: [`people`]
//!   (departments, employees, personal data, contracts), [`payroll`]
//!   (formulas, structures, payslips, the run's journal) and [`leave`]
//!   (calendars, balances as ledgers, requests, attendance).
//! - `books`: how people are stored, and the writes that keep them
//!   consistent.
//! - `api`: one handler per people operation, with who may see what.
//! - `absence`: leave as served: calendars, types, balances, requests
//!   decided by someone above the employee or HR; `accrual`, each
//!   month's accrual and each year's expiry, run by a schedule.
//! - `attendance`: a record a day, decided above the employee.
//! - `pay`: salary structures, payroll settings, runs approved by someone
//!   who did not calculate them, posted and paid through the ledger, and
//!   payslips; `calculation`, the job that calculates a run.
//! - `privacy`: subject access exports and erasure of what the law allows.
//! - `directory`: `keel:erp/directory` for other modules.
//! - `contract`: the types of what the operations read and answer.
#![deny(clippy::float_arithmetic)]

mod absence;
mod accrual;
mod api;
mod attendance;
mod books;
mod calculation;
mod contract;
mod directory;
pub mod leave;
mod pay;
pub mod payroll;
pub mod people;
mod privacy;

use keel_sdk::jobs::{Progress, Step};
use keel_sdk::timers::Fired;
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
    ("attendance.record", attendance::record),
    ("attendance.decide", attendance::decide),
    ("attendance.of-employee", attendance::of_employee),
    ("me.attendance", attendance::mine),
    ("salary-structures.put", pay::put_structure),
    ("salary-structures.list", pay::list_structures),
    ("payroll-settings.put", pay::put_settings),
    ("payroll-runs.create", pay::create_run),
    ("payroll-runs.list", pay::list_runs),
    ("payroll-runs.get", pay::get_run),
    ("payroll-runs.approve", pay::approve),
    ("payroll-runs.post", pay::post),
    ("payroll-runs.pay", pay::pay),
    ("payroll-runs.payslips", pay::payslips),
    ("payroll-runs.payslip", pay::payslip),
    ("me.payslips", pay::my_payslips),
    ("employees.subject-access", privacy::subject_access),
    ("employees.erase", privacy::erase),
    ("leave.accrue", accrual::start),
]);

struct Hr;

impl Plugin for Hr {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        OPERATIONS.handle(operation, &request)
    }

    fn on_timer(timer: Fired) -> Result<()> {
        match timer.key.as_str() {
            accrual::TIMER => accrual::batch(&timer),
            other => Err(keel_sdk::Error::internal(format!("hr set no timer {other}"))),
        }
    }

    fn run_step(step: Step) -> Result<Progress> {
        match step.operation.as_str() {
            "payroll-runs.calculate" => calculation::step(&step),
            other => Err(keel_sdk::Error::unknown_operation(other)),
        }
    }
}

keel_sdk::export_plugin!(Hr, contract = "keel.contract.json");
keel_sdk::export_directory!(Hr);

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_is_valid_and_every_operation_is_dispatched() {
        let manifest = keel_manifest::Manifest::parse(include_str!("../keel.toml")).unwrap();
        assert_eq!(manifest.id.as_str(), "hr");
        let mut declared: Vec<&str> = manifest.operations.iter().map(|op| op.id.as_str()).collect();
        let mut dispatched: Vec<&str> = super::OPERATIONS.ids().collect();
        dispatched.push("payroll-runs.calculate");
        declared.sort_unstable();
        dispatched.sort_unstable();
        assert_eq!(dispatched, declared, "each operation of the manifest has one handler");
    }

    #[test]
    fn contract_is_current_and_the_kernel_accepts_it() {
        crate::contract::contract().keep(crate::contract::FILE);
        let text = std::fs::read_to_string(crate::contract::FILE).unwrap();
        keel_manifest::Contract::parse_complete(&text, include_str!("../keel.toml")).unwrap();
    }
}
