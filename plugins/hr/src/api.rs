//! HTTP handlers, one per manifest operation. Who may see what is decided
//! here on top of each operation's permission: an HR officer
//! (`hr.people.read`) sees every record; a manager, the records of those
//! who report to them, directly or not; everyone, their own (`/me`).

use keel_sdk::contract::JsonSchema;
use keel_sdk::{Error, Range, Request, Response, Result, context};
use keel_values::Date;
use serde::{Deserialize, Serialize};

use crate::books::{self, DEPARTMENTS, EMPLOYEES, PERSONAL};
use crate::pay;
use crate::people::{Contract, Department, Employee, Personal, Share, in_force};

/// `POST /departments`
pub(crate) fn create_department(request: &Request) -> Result<Response> {
    let department: Department = request.json()?;
    Response::created(&books::create_department(department)?)
}

/// Every department.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Departments {
    /// By code.
    pub(crate) departments: Vec<Department>,
}

/// `GET /departments`
pub(crate) fn list_departments(_request: &Request) -> Result<Response> {
    let departments: Vec<Department> =
        DEPARTMENTS.scan_all(&Range::all())?.into_iter().map(|(_, d)| d).collect();
    Response::ok(&Departments { departments })
}

/// A new employee's first contract.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FirstContract {
    /// Its effective date; the hiring date when absent.
    #[serde(default)]
    from: Option<Date>,
    /// Its last day, if it ends.
    #[serde(default)]
    to: Option<Date>,
    /// The job title it is for; the employee's position when absent.
    #[serde(default)]
    position: Option<String>,
    /// Base pay for a full period, a decimal string, zero or more.
    base_pay: String,
    /// The pay's currency: three upper-case letters (ISO 4217).
    currency: String,
    /// The salary structure payroll computes their pay with, by code.
    #[serde(default)]
    salary_structure: Option<String>,
    /// How their cost is shared between departments (percentages adding up
    /// to 100); all to their own department if empty.
    #[serde(default)]
    cost_split: Vec<Share>,
}

/// An employee to hire, with their personal data and first contract.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Hire {
    #[serde(flatten)]
    employee: Employee,
    /// Their personal data.
    personal: Personal,
    /// Their first contract.
    contract: FirstContract,
}

/// `POST /employees`: the employee, their personal data and first
/// contract (from the hiring date unless it says otherwise).
pub(crate) fn hire(request: &Request) -> Result<Response> {
    let hire: Hire = request.json()?;
    let first = hire.contract;
    let contract = Contract {
        employee: hire.employee.id.clone(),
        from: first.from.unwrap_or_else(|| hire.employee.hired.clone()),
        to: first.to,
        position: first.position.unwrap_or_else(|| hire.employee.position.clone()),
        base_pay: first.base_pay,
        currency: first.currency,
        salary_structure: first.salary_structure,
        cost_split: first.cost_split,
    };
    if hire.employee.user.is_some() && hire.employee.user == context::caller() {
        return Err(Error::denied("no one hires themselves; another HR officer does"));
    }
    pay::check_terms(contract.salary_structure.as_deref(), &contract.cost_split)?;
    let from = contract.from.clone();
    let employee = books::hire(hire.employee, hire.personal, contract)?;
    pay::note_change(&employee.id, &from)?;
    Response::created(&employee)
}

/// `GET /employees?department=&cursor=&limit=`
pub(crate) fn list_employees(request: &Request) -> Result<Response> {
    let (cursor, limit) = (request.query("cursor"), request.page_limit()?);
    let page = match request.query("department") {
        Some(department) => {
            EMPLOYEES.lookup("by-department", &Range::exactly(department), cursor, limit)?
        }
        None => EMPLOYEES.scan(&Range::all(), cursor, limit)?,
    };
    let employees: Vec<Employee> = page.items.into_iter().map(|(_, e)| e).collect();
    Response::ok(&EmployeePage { employees, cursor: page.cursor })
}

/// A page of employees.
#[derive(Serialize, JsonSchema)]
pub(crate) struct EmployeePage {
    /// By employee number.
    pub(crate) employees: Vec<Employee>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// An employee with their reporting line.
#[derive(Serialize, JsonSchema)]
pub(crate) struct EmployeeView {
    pub(crate) employee: Employee,
    /// Whom they report to, nearest first: their manager, that manager's,
    /// and so on.
    pub(crate) managers: Vec<String>,
    /// Whether they work here today.
    pub(crate) active: bool,
}

/// `GET /employees/{id}`: with their reporting line and whether they work
/// here today. HR officers see anyone; managers, those who report to
/// them; anyone, themselves.
pub(crate) fn get_employee(request: &Request) -> Result<Response> {
    let employee = books::visible_employee(request.param("id")?)?;
    if !books::may_see(&employee)? {
        return Err(Error::denied(format!(
            "{} does not report to you; only HR officers see everyone's records",
            employee.id
        )));
    }
    let chain = books::manager_chain(&employee)?;
    let active = employee.active_on(&books::today()?);
    Response::ok(&EmployeeView { employee, managers: chain, active })
}

/// `GET /employees/{id}/personal`: audited, as every read of it.
pub(crate) fn personal(request: &Request) -> Result<Response> {
    let id = request.param("id")?;
    books::employee(id)?;
    let personal =
        PERSONAL.get(id)?.ok_or_else(|| Error::not_found(format!("{id} has no personal data")))?;
    Response::ok(&personal)
}

/// `GET /employees/{id}/contracts`: the history, and the one in force today.
pub(crate) fn contracts(request: &Request) -> Result<Response> {
    let id = request.param("id")?;
    books::employee(id)?;
    let history = books::contracts(id)?;
    let current = in_force(&history, &books::today()?).cloned();
    Response::ok(&Contracts { contracts: history, in_force: current })
}

/// An employee's contracts.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Contracts {
    /// The history, oldest first.
    pub(crate) contracts: Vec<Contract>,
    /// The one in force today; null if none is.
    pub(crate) in_force: Option<Contract>,
}

/// A contract to add to an employee's history.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewContract {
    /// Its effective date: on or after the hiring, and none of theirs
    /// starts on it yet.
    from: Date,
    /// Its last day, if it ends.
    #[serde(default)]
    to: Option<Date>,
    /// The job title it is for.
    position: String,
    /// Base pay for a full period, a decimal string, zero or more.
    base_pay: String,
    /// The pay's currency: three upper-case letters (ISO 4217).
    currency: String,
    /// The salary structure payroll computes their pay with, by code.
    #[serde(default)]
    salary_structure: Option<String>,
    /// How their cost is shared between departments (percentages adding up
    /// to 100); all to their own department if empty.
    #[serde(default)]
    cost_split: Vec<Share>,
}

/// `POST /employees/{id}/contracts`: a new contract from its effective date.
pub(crate) fn add_contract(request: &Request) -> Result<Response> {
    let new: NewContract = request.json()?;
    let contract = Contract {
        employee: request.param("id")?.to_owned(),
        from: new.from,
        to: new.to,
        position: new.position,
        base_pay: new.base_pay,
        currency: new.currency,
        salary_structure: new.salary_structure,
        cost_split: new.cost_split,
    };
    if books::caller_employee()?.is_some_and(|me| me.id == contract.employee) {
        return Err(Error::denied(
            "no one gives themselves a contract (or a rise); another HR officer does",
        ));
    }
    pay::check_terms(contract.salary_structure.as_deref(), &contract.cost_split)?;
    let contract = books::add_contract(contract)?;
    pay::note_change(&contract.employee, &contract.from)?;
    Response::created(&contract)
}

/// When an employee leaves.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Leaving {
    /// Their last day.
    left: Date,
}

/// `POST /employees/{id}/leaving`
pub(crate) fn leave(request: &Request) -> Result<Response> {
    let leaving: Leaving = request.json()?;
    let employee = books::leave(request.param("id")?, leaving.left)?;
    if let Some(left) = &employee.left {
        pay::note_change(&employee.id, left)?;
    }
    Response::ok(&employee)
}

/// `GET /me`: the caller's own record, personal data and contracts.
pub(crate) fn me(_request: &Request) -> Result<Response> {
    let Some(employee) = books::caller_employee()? else {
        return Err(Error::not_found("you are not an employee of this organisation"));
    };
    let personal = PERSONAL.get(&employee.id)?;
    let history = books::contracts(&employee.id)?;
    let current = in_force(&history, &books::today()?).cloned();
    let managers = books::manager_chain(&employee)?;
    Response::ok(&Me { employee, managers, personal, contracts: history, in_force: current })
}

/// The caller's own record.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Me {
    pub(crate) employee: Employee,
    /// Whom they report to, nearest first.
    pub(crate) managers: Vec<String>,
    /// Their personal data; null if none is kept.
    pub(crate) personal: Option<Personal>,
    /// Their contracts, oldest first.
    pub(crate) contracts: Vec<Contract>,
    /// The one in force today; null if none is.
    pub(crate) in_force: Option<Contract>,
}

#[cfg(test)]
mod tests {
    use super::Hire;

    const HIRE: &str = r#"{"id":"E1","name":"Ann","department":"OPS","position":"Clerk","hired":"2026-01-05",
        "personal":{"national_id":"X1","bank_account":"FR7630006000011234567890189","address":"Paris","date_of_birth":"1990-01-01"},
        "contract":{"base_pay":"3000.00","currency":"EUR"}"#;

    #[test]
    fn a_hire_reads_the_employee_beside_their_personal_data_and_contract() {
        let hire: Hire = serde_json::from_str(&format!("{HIRE}}}")).unwrap();
        assert_eq!((hire.employee.id.as_str(), hire.contract.base_pay.as_str()), ("E1", "3000.00"));
        for unknown in [r#","salary":"9000""#, r#","personal_notes":"x""#] {
            let body = format!("{HIRE}{unknown}}}");
            assert!(serde_json::from_str::<Hire>(&body).is_err(), "{body}");
        }
    }
}
