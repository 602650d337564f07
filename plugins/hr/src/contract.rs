//! The typed contract of HR's operations: what each reads and answers.
//! The kernel publishes it in the tenant's OpenAPI document and checks
//! each request body and query against it before the plugin runs.
//!
//! The schemas are the handlers' own types: the bodies they read and the
//! answers they serialise. Two operations read an optional body (the
//! `date` of a posting or a payment), which is left out, as the kernel
//! would then require one; and a run's calculation is a background job,
//! which the kernel answers with the job.

use keel_sdk::contract::{Contract, JsonSchema, Schemas};
use keel_values::Date;

use crate::absence::{
    Allocation, Ask, Decision, LeaveOf, LeaveTypes, NumberedRequest, PendingPage,
};
use crate::accrual::AccrualStarted;
use crate::api::{
    Contracts, Departments, EmployeePage, EmployeeView, Hire, Leaving, Me, NewContract,
};
use crate::attendance::{Attendance, Recorded};
use crate::leave::attendance::Day;
use crate::leave::balance::{LeaveType, LedgerEntry};
use crate::leave::calendar::Calendar;
use crate::pay::{
    CodedStructure, NewRun, PayslipDoc, PayslipPage, Payslips, RunDoc, RunPage, Settings,
    Structures,
};
use crate::payroll::document::StructureDoc;
use crate::people::{Contract as EmploymentContract, Department, Employee, Personal};
use crate::privacy::{Erased, SubjectAccess};

/// The file beside `keel.toml` that the package embeds.
#[cfg(test)]
pub(crate) const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keel.contract.json");

/// Every operation, with its schemas.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the native test writes keel.contract.json from it")
)]
pub(crate) fn contract() -> Contract {
    let run = || Schemas::new().response::<RunDoc>();
    Contract::new()
        .operation(
            "departments.create",
            Schemas::new().request::<Department>().response::<Department>(),
        )
        .operation("departments.list", Schemas::new().response::<Departments>())
        .operation("employees.hire", Schemas::new().request::<Hire>().response::<Employee>())
        .operation(
            "employees.list",
            Schemas::new().query::<EmployeesQuery>().response::<EmployeePage>(),
        )
        .operation("employees.get", Schemas::new().response::<EmployeeView>())
        .operation("employees.personal", Schemas::new().response::<Personal>())
        .operation("employees.contracts", Schemas::new().response::<Contracts>())
        .operation(
            "contracts.add",
            Schemas::new().request::<NewContract>().response::<EmploymentContract>(),
        )
        .operation("employees.leave", Schemas::new().request::<Leaving>().response::<Employee>())
        .operation("me", Schemas::new().response::<Me>())
        .operation("calendars.put", Schemas::new().request::<Calendar>().response::<Calendar>())
        .operation("leave-types.put", Schemas::new().request::<LeaveType>().response::<LeaveType>())
        .operation("leave-types.list", Schemas::new().response::<LeaveTypes>())
        .operation(
            "leave.allocate",
            Schemas::new().request::<Allocation>().response::<LedgerEntry>(),
        )
        .operation("leave.ask", Schemas::new().request::<Ask>().response::<NumberedRequest>())
        .operation("leave.pending", Schemas::new().response::<PendingPage>())
        .operation(
            "leave.decide",
            Schemas::new().request::<Decision>().response::<NumberedRequest>(),
        )
        .operation("leave.cancel", Schemas::new().response::<NumberedRequest>())
        .operation("leave.of-employee", Schemas::new().response::<LeaveOf>())
        .operation("me.leave", Schemas::new().response::<LeaveOf>())
        .operation("leave.accrue", Schemas::new().response::<AccrualStarted>())
        .operation("attendance.record", Schemas::new().request::<Recorded>().response::<Day>())
        .operation("attendance.decide", Schemas::new().request::<Decision>().response::<Day>())
        .operation(
            "attendance.of-employee",
            Schemas::new().query::<DaysQuery>().response::<Attendance>(),
        )
        .operation("me.attendance", Schemas::new().query::<DaysQuery>().response::<Attendance>())
        .operation(
            "salary-structures.put",
            Schemas::new().request::<StructureDoc>().response::<CodedStructure>(),
        )
        .operation("salary-structures.list", Schemas::new().response::<Structures>())
        .operation(
            "payroll-settings.put",
            Schemas::new().request::<Settings>().response::<Settings>(),
        )
        .operation("payroll-runs.create", Schemas::new().request::<NewRun>().response::<RunDoc>())
        .operation("payroll-runs.list", Schemas::new().response::<RunPage>())
        .operation("payroll-runs.get", run())
        // A background job: the kernel answers 202 with the job (its
        // `Job` component), and the job's result tells the run, the
        // employees paid and the warnings.
        .operation("payroll-runs.calculate", Schemas::new())
        .operation("payroll-runs.approve", run())
        .operation("payroll-runs.post", run())
        .operation("payroll-runs.pay", run())
        .operation("payroll-runs.payslips", Schemas::new().response::<PayslipPage>())
        .operation("payroll-runs.payslip", Schemas::new().response::<PayslipDoc>())
        .operation("me.payslips", Schemas::new().response::<Payslips>())
        .operation("employees.subject-access", Schemas::new().response::<SubjectAccess>())
        .operation("employees.erase", Schemas::new().response::<Erased>())
}

/// `GET /employees?department=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct EmployeesQuery {
    /// Only the employees of this department, by code.
    department: Option<String>,
}

/// `GET /employees/{id}/attendance?from=&to=` and `GET /me/attendance`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct DaysQuery {
    /// The first day listed.
    from: Date,
    /// The last day listed, on or after `from`: 366 days at most.
    to: Date,
}
