//! How people and organisation are stored: the collections, and the
//! writes that keep them consistent (a department's parent exists, a
//! manager exists and the reporting line has no circle, a contract is
//! added, never replaced).

use keel_sdk::{Collection, Error, Range, Result, context};
use keel_values::Date;

use crate::leave::request::Decider;
use crate::people::{self, Contract, Department, Employee, Personal};

pub(crate) const DEPARTMENTS: Collection<Department> = Collection::new("departments");
pub(crate) const EMPLOYEES: Collection<Employee> = Collection::new("employees");
pub(crate) const PERSONAL: Collection<Personal> = Collection::new("personal");
pub(crate) const CONTRACTS: Collection<Contract> = Collection::new("contracts");

/// The person making the call, for a step that segregation of duties
/// governs (`what`): a user signed in, not an API token. A token acts for
/// whoever created it, but a plugin sees only the token, so it could not
/// tell that the same person took both sides.
pub(crate) fn signed_in(what: &str) -> Result<String> {
    match context::caller() {
        Some(caller) if !caller.starts_with("token:") => Ok(caller),
        _ => Err(Error::denied(format!(
            "{what} is done by someone signed in, not through an API token: segregation of \
             duties must tell who it is"
        ))),
    }
}

/// Who is deciding on `employee`'s leave or attendance (`what`): the user
/// signed in, the employee they are, and whether they may decide (someone
/// above the employee who works here, or HR).
pub(crate) struct Deciding {
    user: String,
    me: Option<Employee>,
    may_decide: bool,
}

impl Deciding {
    pub(crate) fn of(employee: &Employee, what: &str) -> Result<Self> {
        let user = signed_in(what)?;
        let me = caller_employee()?;
        let above = match &me {
            Some(me) => is_above(me, employee)?,
            None => false,
        };
        Ok(Self { user, me, may_decide: above || context::has_permission("hr.people.manage") })
    }

    /// As the pure rules take it.
    pub(crate) fn decider(&self) -> Decider<'_> {
        Decider {
            user: &self.user,
            employee: self.me.as_ref().map(|me| me.id.as_str()),
            may_decide: self.may_decide,
        }
    }
}

/// Today, in the tenant's calendar as the kernel keeps it.
pub(crate) fn today() -> Result<Date> {
    Ok(Date::parse(&context::today())?)
}

pub(crate) fn create_department(department: Department) -> Result<Department> {
    let parent_of = |id: &str| DEPARTMENTS.get(id).ok().flatten().map(|d| d.parent);
    department.check(&parent_of)?;
    if let Some(manager) = &department.manager {
        employee(manager)?;
    }
    DEPARTMENTS.insert(&department.id, &department)?;
    Ok(department)
}

pub(crate) fn employee(id: &str) -> Result<Employee> {
    EMPLOYEES.get(id)?.ok_or_else(|| Error::not_found(format!("employee {id} does not exist")))
}

/// Whether `me`, working here today, is above `employee` in their
/// reporting line: a manager who has left keeps no say.
pub(crate) fn is_above(me: &Employee, employee: &Employee) -> Result<bool> {
    Ok(me.active_on(&today()?) && manager_chain(employee)?.contains(&me.id))
}

/// Whether the caller may see `employee`'s record and leave: HR
/// (`hr.people.read`), someone working here above them in the reporting
/// line, or they themselves.
pub(crate) fn may_see(employee: &Employee) -> Result<bool> {
    if context::has_permission("hr.people.read") {
        return Ok(true);
    }
    let Some(me) = caller_employee()? else { return Ok(false) };
    Ok(me.id == employee.id || is_above(&me, employee)?)
}

/// The employee `id`, for a caller who may see only some: one who does
/// not exist is refused as one they may not see (not 404), so that ids
/// cannot be probed. HR (`hr.people.read`) gets 404.
pub(crate) fn visible_employee(id: &str) -> Result<Employee> {
    match EMPLOYEES.get(id)? {
        Some(employee) => Ok(employee),
        None if context::has_permission("hr.people.read") => {
            Err(Error::not_found(format!("employee {id} does not exist")))
        }
        None => Err(Error::denied(format!("{id} does not report to you"))),
    }
}

/// Who `employee` reports to, nearest first.
pub(crate) fn manager_chain(employee: &Employee) -> Result<Vec<String>> {
    let manager_of = |id: &str| EMPLOYEES.get(id).ok().flatten().map(|e| e.manager);
    Ok(people::manager_chain(employee, &manager_of)?)
}

/// Hires `employee`, with their personal data and first contract, in one
/// call (so in one transaction).
pub(crate) fn hire(employee: Employee, personal: Personal, contract: Contract) -> Result<Employee> {
    employee.check()?;
    if let Some(calendar) = &employee.calendar {
        people::check_id("calendar", calendar)?;
    }
    personal.check(&today()?)?;
    if DEPARTMENTS.get(&employee.department)?.is_none() {
        return Err(Error::invalid(format!("department {} does not exist", employee.department)));
    }
    if let Some(manager) = &employee.manager {
        self::employee(manager)
            .map_err(|_| Error::invalid(format!("manager {manager} does not exist")))?;
    }
    if let Some(user) = &employee.user
        && !EMPLOYEES.lookup_all("by-user", &Range::exactly(user.as_str()))?.is_empty()
    {
        return Err(Error::conflict(format!("user {user} is another employee already")));
    }
    if contract.employee != employee.id {
        return Err(Error::invalid("the first contract is the new employee's"));
    }
    contract.check()?;
    EMPLOYEES.insert(&employee.id, &employee)?;
    manager_chain(&employee)?;
    PERSONAL.insert(&employee.id, &personal)?;
    CONTRACTS.insert(&contract.key(), &contract)?;
    Ok(employee)
}

/// Adds a contract to `employee`'s history; one from the same date is a
/// conflict (a contract is never replaced).
pub(crate) fn add_contract(contract: Contract) -> Result<Contract> {
    let employee = employee(&contract.employee)?;
    contract.check()?;
    if contract.from < employee.hired {
        return Err(Error::invalid(format!(
            "a contract of {} starts on or after their hiring, {}",
            employee.id, employee.hired
        )));
    }
    if let Some(left) = employee.left.as_ref().filter(|left| contract.from > **left) {
        return Err(Error::invalid(format!("{} left on {left}", employee.id)));
    }
    CONTRACTS.insert(&contract.key(), &contract).map_err(|err| match err {
        Error::Conflict(_) => Error::conflict(format!(
            "{} has a contract from {} already; contracts are added, never replaced",
            contract.employee, contract.from
        )),
        other => other,
    })?;
    Ok(contract)
}

pub(crate) fn contracts(employee: &str) -> Result<Vec<Contract>> {
    let history = CONTRACTS.scan_all(&Range::prefix(format!("{employee}/")))?;
    Ok(history.into_iter().map(|(_, c)| c).collect())
}

/// Records that `id` leaves on `left`.
pub(crate) fn leave(id: &str, left: Date) -> Result<Employee> {
    let mut employee = employee(id)?;
    if employee.left.is_some() {
        return Err(Error::conflict(format!("{id} has left already")));
    }
    employee.left = Some(left);
    employee.check()?;
    EMPLOYEES.put(id, &employee)?;
    Ok(employee)
}

/// The employee the caller signs in as, if any.
pub(crate) fn caller_employee() -> Result<Option<Employee>> {
    let Some(user) = context::caller() else { return Ok(None) };
    let found = EMPLOYEES.lookup_all("by-user", &Range::exactly(user))?;
    Ok(found.into_iter().next().map(|(_, employee)| employee))
}
