//! `keel:erp/directory`, as the `hr` plugin provides it: who a person is
//! and where they sit, whom they report to and whether they work here on a
//! date, for other modules (approvals, say).

use keel_sdk::erp::{self, DirectoryProvider};
use keel_sdk::{Range, Result};

use keel_values::Date;

use crate::books::{self, DEPARTMENTS, EMPLOYEES};
use crate::people::Employee;

/// How many people `members` answers at most.
const MEMBERS_MAX: u32 = 1000;

fn person(employee: Employee) -> erp::Person {
    erp::Person {
        id: employee.id,
        name: employee.name,
        email: employee.email,
        org_unit: Some(employee.department),
        user: employee.user,
    }
}

impl DirectoryProvider for crate::Hr {
    fn find_person(id: String) -> Result<Option<erp::Person>> {
        Ok(EMPLOYEES.get(&id)?.map(person))
    }

    fn find_org_unit(id: String) -> Result<Option<erp::OrgUnit>> {
        Ok(DEPARTMENTS.get(&id)?.map(|department| erp::OrgUnit {
            id: department.id,
            name: department.name,
            parent: department.parent,
            manager: department.manager,
        }))
    }

    fn members(org_unit: String) -> Result<Vec<erp::Person>> {
        let found = EMPLOYEES.lookup(
            "by-department",
            &Range::exactly(org_unit.as_str()),
            None,
            MEMBERS_MAX,
        )?;
        if found.cursor.is_some() {
            return Err(keel_sdk::Error::LimitExceeded(format!(
                "unit {org_unit} has more than {MEMBERS_MAX} members, more than the directory \
                 answers at once"
            )));
        }
        Ok(found.items.into_iter().map(|(_, employee)| person(employee)).collect())
    }

    fn manager_chain(person: String) -> Result<Vec<erp::Person>> {
        books::manager_chain(&books::employee(&person)?)?
            .iter()
            .map(|manager| books::employee(manager).map(self::person))
            .collect()
    }

    fn active_on(person: String, date: String) -> Result<bool> {
        let date = Date::parse(&date)?;
        Ok(books::employee(&person)?.active_on(&date))
    }
}
