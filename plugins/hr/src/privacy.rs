//! Personal data on request: everything HR keeps of one employee, for a
//! subject access request; and the erasure of what the law allows to
//! erase once they have left, keeping what payroll and the ledger must
//! (their name, national id, contracts, payslips, leave and days worked).
//! Both are business events in the audit trail, and every sensitive
//! document they read is audited as such.

use keel_sdk::audit::{self, Event};
use keel_sdk::contract::JsonSchema;
use keel_sdk::{Collection, Error, Range, Request, Response, Result};
use keel_values::Date;
use serde::Serialize;

use crate::absence::{self, LeaveOf};
use crate::attendance::ATTENDANCE;
use crate::books::{self, EMPLOYEES, PERSONAL};
use crate::leave::attendance::Day;
use crate::pay::{self, PAYSLIPS, PayslipDoc};
use crate::payroll::run::RunState;
use crate::people::{Contract, Employee, Personal, Retained};

/// What is kept of personal data once erased, by employee.
const RETAINED: Collection<Retained> = Collection::new("retained");

/// Everything HR keeps of one employee.
#[derive(Serialize, JsonSchema)]
pub(crate) struct SubjectAccess {
    pub(crate) employee: Employee,
    /// Their personal data; null once erased.
    pub(crate) personal: Option<Personal>,
    /// What is kept of it once erased; null before.
    pub(crate) retained: Option<Retained>,
    /// Their contracts, oldest first.
    pub(crate) contracts: Vec<Contract>,
    pub(crate) leave: LeaveOf,
    /// Every day recorded, oldest first.
    pub(crate) attendance: Vec<Day>,
    /// Their payslips, oldest first.
    pub(crate) payslips: Vec<PayslipDoc>,
    /// When this was exported.
    pub(crate) exported_on: Date,
}

/// An erasure: the record as it is now, and what was erased and kept.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Erased {
    /// The employee's record, with no e-mail address or user.
    pub(crate) employee: Employee,
    /// What was erased.
    pub(crate) erased: Vec<&'static str>,
    /// What is kept, as payroll, tax and the ledger must keep it.
    pub(crate) kept: Vec<&'static str>,
}

/// `POST /employees/{id}/subject-access`: everything kept of the employee.
pub(crate) fn subject_access(request: &Request) -> Result<Response> {
    let employee = books::employee(request.param("id")?)?;
    let id = employee.id.clone();
    let personal = PERSONAL.get(&id)?;
    let retained = RETAINED.get(&id)?;
    let contracts = books::contracts(&id)?;
    let leave = absence::leave_of(&employee)?;
    let attendance: Vec<Day> = ATTENDANCE
        .scan_all(&Range::prefix(format!("{id}/")))?
        .into_iter()
        .map(|(_, day)| day)
        .collect();
    let mut payslips = Vec::new();
    for run in pay::runs()? {
        if let Some(slip) = PAYSLIPS.get(&format!("{}/{id}", run.id))? {
            payslips.push(slip);
        }
    }
    let detail = format!(
        "everything kept of {id} exported for a subject access request: the employee record, \
         personal data, {} contracts, leave, {} days of attendance, {} payslips",
        contracts.len(),
        attendance.len(),
        payslips.len()
    );
    let event = Event {
        action: "subject-access.export",
        collection: Some("employees"),
        key: Some(&id),
        detail: &detail,
    };
    audit::record(event)?;
    Response::ok(&SubjectAccess {
        employee,
        personal,
        retained,
        contracts,
        leave,
        attendance,
        payslips,
        exported_on: books::today()?,
    })
}

/// `POST /employees/{id}/erasure`: once they have left and every run that
/// may pay them is paid, their e-mail address, sign-in user, address, date
/// of birth, bank account and attendance notes are erased; their name,
/// national id, contracts, payslips, leave and days worked are kept, as
/// payroll, tax and the ledger must keep them.
pub(crate) fn erase(request: &Request) -> Result<Response> {
    let employee = books::employee(request.param("id")?)?;
    let today = books::today()?;
    let erased = employee.erase(&today)?;
    let left = employee.left.clone().unwrap_or_else(|| today.clone());
    if let Some(run) =
        pay::runs()?.into_iter().find(|run| run.run.from <= left && run.run.state != RunState::Paid)
    {
        return Err(Error::conflict(format!(
            "payroll run {} may pay {} and is not paid yet (it needs their bank account): erase \
             once it is paid",
            run.id, employee.id
        )));
    }
    let id = employee.id.clone();
    if let Some(personal) = PERSONAL.get(&id)? {
        RETAINED
            .put(&id, &Retained { national_id: personal.national_id, erased: today.clone() })?;
        PERSONAL.delete(&id)?;
    }
    let mut notes = 0;
    for (key, day) in ATTENDANCE.scan_all(&Range::prefix(format!("{id}/")))? {
        if day.note.is_some() {
            ATTENDANCE.put(&key, &Day { note: None, ..day })?;
            notes += 1;
        }
    }
    EMPLOYEES.put(&id, &erased)?;
    let erased_what = [
        "e-mail address",
        "sign-in user",
        "address",
        "date of birth",
        "bank account",
        "attendance notes",
    ];
    let kept = ["name", "national id", "contracts", "payslips", "leave", "days worked"];
    let detail = format!(
        "personal data of {id} erased ({}; {notes} attendance notes); kept as payroll, tax and \
         the ledger must: {}",
        erased_what.join(", "),
        kept.join(", ")
    );
    let event =
        Event { action: "erasure", collection: Some("employees"), key: Some(&id), detail: &detail };
    audit::record(event)?;
    Response::ok(&Erased { employee: erased, erased: erased_what.to_vec(), kept: kept.to_vec() })
}
