//! Personal data on request: everything HR keeps of one employee, for a
//! subject access request; and the erasure of what the law allows to
//! erase once they have left, keeping what payroll and the ledger must
//! (their name, national id, contracts, payslips, leave and days worked).
//! Both are business events in the audit trail, and every sensitive
//! document they read is audited as such.

use keel_sdk::audit::{self, Event};
use keel_sdk::{Collection, Error, Range, Request, Response, Result};
use serde_json::json;

use crate::absence;
use crate::attendance::ATTENDANCE;
use crate::books::{self, EMPLOYEES, PERSONAL};
use crate::pay::{self, PAYSLIPS};
use crate::payroll::run::RunState;
use crate::people::Retained;

/// What is kept of personal data once erased, by employee.
const RETAINED: Collection<Retained> = Collection::new("retained");

/// `POST /employees/{id}/subject-access`: everything kept of the employee.
pub(crate) fn subject_access(request: &Request) -> Result<Response> {
    let employee = books::employee(request.param("id")?)?;
    let id = employee.id.clone();
    let personal = PERSONAL.get(&id)?;
    let retained = RETAINED.get(&id)?;
    let contracts = books::contracts(&id)?;
    let leave = absence::leave_of(&employee)?;
    let attendance: Vec<_> = ATTENDANCE
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
    Response::ok(&json!({
        "employee": employee,
        "personal": personal,
        "retained": retained,
        "contracts": contracts,
        "leave": leave,
        "attendance": attendance,
        "payslips": payslips,
        "exported_on": books::today()?,
    }))
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
            ATTENDANCE.put(&key, &crate::leave::attendance::Day { note: None, ..day })?;
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
    Response::ok(&json!({ "employee": erased, "erased": erased_what, "kept": kept }))
}
