//! People and organisation's rules: departments as a tree, employees and
//! their reporting lines, personal data, and contracts with effective
//! dates (a history: a contract is added, never changed). Pure, with no
//! SDK and no I/O.

use keel_values::code::check_code;
use keel_values::decimal::{self, Sign};
use keel_values::{Date, RuleError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Deepest department tree, and longest reporting line, walked.
pub const DEPTH_MAX: usize = 64;
/// Longest name or free text, in bytes.
const TEXT_BYTES_MAX: usize = 200;

/// A department, team or other unit; `parent` above it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Department {
    /// Its code: 1 to 40 of A-Z, 0-9, `-`, `_` and `.`.
    pub id: String,
    /// Its name, 1 to 200 bytes.
    pub name: String,
    /// The department it is part of, by code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The employee who manages it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
}

/// An employee as the organisation sees them: no personal data, no pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Employee {
    /// Their employee number: 1 to 40 of A-Z, 0-9, `-`, `_` and `.`.
    pub id: String,
    /// Their name, 1 to 200 bytes.
    pub name: String,
    /// Their e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The department they work in, by code.
    pub department: String,
    /// Their job title.
    pub position: String,
    /// The employee they report to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// The Keel user they sign in as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Their first day.
    pub hired: Date,
    /// Their last day, once they leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<Date>,
    /// The holiday calendar their working days follow (`default` if none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// When what the law allows to erase of them was erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<Date>,
}

/// What is kept of someone's personal data once it is erased: their
/// national id, which tax and social-security records must keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retained {
    /// Their national id (social security or tax number).
    pub national_id: String,
    /// When the rest was erased.
    pub erased: Date,
}

/// What only HR and the employee see, kept in a sensitive collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Personal {
    /// Their national id (social security or tax number).
    pub national_id: String,
    /// Where their pay goes: an IBAN, 8 to 34 letters and digits (spaces
    /// allowed).
    pub bank_account: String,
    /// Their home address.
    pub address: String,
    pub date_of_birth: Date,
}

/// A contract from an effective date; a later one supersedes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// The employee's number.
    pub employee: String,
    /// Its effective date.
    pub from: Date,
    /// Its last day, if it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Date>,
    /// The job title it is for.
    pub position: String,
    /// Base pay for a full period, a decimal string.
    pub base_pay: String,
    /// The pay's currency: three upper-case letters (ISO 4217).
    pub currency: String,
    /// The salary structure payroll computes their pay with; none for
    /// someone payroll does not pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salary_structure: Option<String>,
    /// How their cost is shared between departments (percentages adding up
    /// to 100); all to their own department if empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cost_split: Vec<Share>,
}

/// A department's share of an employee's cost, in percent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Share {
    /// The department, by code.
    pub department: String,
    /// Its share, above zero and at most 100.
    #[schemars(with = "keel_values::decimal::Text")]
    pub percent: rust_decimal::Decimal,
}

/// Checks the id of a calendar or the code of a leave type, as clients
/// name them in paths: 1 to 32 of a-z, 0-9 and `-`.
pub fn check_id(what: &str, id: &str) -> Result<(), RuleError> {
    let well_formed = !id.is_empty()
        && id.len() <= 32
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !well_formed {
        return Err(RuleError::new(format!("{what} {id:?}: 1 to 32 of a-z, 0-9 and -")));
    }
    Ok(())
}

fn check_text(what: &str, text: &str) -> Result<(), RuleError> {
    if text.trim().is_empty() || text.len() > TEXT_BYTES_MAX {
        return Err(RuleError::new(format!("{what} is 1 to {TEXT_BYTES_MAX} bytes")));
    }
    Ok(())
}

impl Department {
    /// Checks its fields, and that putting it under its parent makes no
    /// circle: `parent_of` answers each department's parent, as stored.
    pub fn check(
        &self,
        parent_of: &dyn Fn(&str) -> Option<Option<String>>,
    ) -> Result<(), RuleError> {
        check_code("department", &self.id)?;
        check_text("a department's name", &self.name)?;
        let mut next = self.parent.clone();
        for _ in 0..DEPTH_MAX {
            let Some(parent) = next else { return Ok(()) };
            if parent == self.id {
                return Err(RuleError::new(format!(
                    "department {} cannot be under itself, however indirectly",
                    self.id
                )));
            }
            next = parent_of(&parent).ok_or_else(|| {
                RuleError::new(format!("parent department {parent} does not exist"))
            })?;
        }
        Err(RuleError::new(format!("departments nest at most {DEPTH_MAX} deep")))
    }
}

impl Employee {
    /// Checks its fields.
    pub fn check(&self) -> Result<(), RuleError> {
        check_code("employee", &self.id)?;
        check_text("a name", &self.name)?;
        check_text("a position", &self.position)?;
        if let Some(email) = &self.email {
            let (local, domain) = email.split_once('@').unwrap_or_default();
            if local.is_empty() || !domain.contains('.') || email.len() > TEXT_BYTES_MAX {
                return Err(RuleError::new(format!("{email:?} is not an e-mail address")));
            }
        }
        if self.manager.as_deref() == Some(self.id.as_str()) {
            return Err(RuleError::new("an employee does not report to themselves"));
        }
        if let Some(left) = &self.left
            && *left < self.hired
        {
            return Err(RuleError::new(format!(
                "{} left on {left}, before being hired on {}",
                self.id, self.hired
            )));
        }
        Ok(())
    }

    /// Whether they work here on `date`.
    pub fn active_on(&self, date: &Date) -> bool {
        self.hired <= *date && self.left.as_ref().is_none_or(|left| date <= left)
    }

    /// This record with what the law allows to erase erased on `today`:
    /// their e-mail address and the user they signed in as. Their name
    /// stays, as payroll and the ledger name them. Only someone who left
    /// before `today`, and once.
    pub fn erase(&self, today: &Date) -> Result<Employee, RuleError> {
        if self.erased.is_some() {
            return Err(RuleError::new(format!("{} was erased already", self.id)));
        }
        match &self.left {
            Some(left) if left < today => {}
            Some(left) => {
                return Err(RuleError::new(format!(
                    "{} leaves on {left}: their data is erased once they have left",
                    self.id
                )));
            }
            None => {
                return Err(RuleError::new(format!(
                    "{} works here: record their leaving first; their data is erased once they \
                     have left",
                    self.id
                )));
            }
        }
        Ok(Employee { email: None, user: None, erased: Some(today.clone()), ..self.clone() })
    }
}

/// Who `employee` reports to, nearest first: their manager, that
/// manager's, and so on; `manager_of` answers each employee's manager.
pub fn manager_chain(
    employee: &Employee,
    manager_of: &dyn Fn(&str) -> Option<Option<String>>,
) -> Result<Vec<String>, RuleError> {
    let mut chain: Vec<String> = Vec::new();
    let mut next = employee.manager.clone();
    while let Some(manager) = next {
        if manager == employee.id || chain.contains(&manager) {
            return Err(RuleError::new(format!(
                "the reporting line of {} is a circle",
                employee.id
            )));
        }
        if chain.len() == DEPTH_MAX {
            return Err(RuleError::new(format!("reporting lines are at most {DEPTH_MAX} long")));
        }
        next = manager_of(&manager)
            .ok_or_else(|| RuleError::new(format!("manager {manager} does not exist")))?;
        chain.push(manager);
    }
    Ok(chain)
}

impl Personal {
    /// Checks its fields: text within bounds, a plausible bank account
    /// (an IBAN's letters and digits), a date of birth before `today`.
    pub fn check(&self, today: &Date) -> Result<(), RuleError> {
        check_text("a national id", &self.national_id)?;
        check_text("an address", &self.address)?;
        let account: String = self.bank_account.chars().filter(|c| !c.is_whitespace()).collect();
        if !(8..=34).contains(&account.len()) || !account.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(RuleError::new("a bank account is 8 to 34 letters and digits (an IBAN)"));
        }
        if self.date_of_birth >= *today {
            return Err(RuleError::new("a date of birth is in the past"));
        }
        Ok(())
    }
}

impl Contract {
    /// The key it is kept under: its employee and effective date, so that
    /// a contract is added, never replaced.
    pub fn key(&self) -> String {
        format!("{}/{}", self.employee, self.from)
    }

    /// Checks its fields.
    pub fn check(&self) -> Result<(), RuleError> {
        check_text("a position", &self.position)?;
        decimal::amount(&self.base_pay, "base_pay", Sign::NonNegative)?;
        keel_values::code::check_currency(&self.currency)?;
        if let Some(to) = &self.to
            && *to < self.from
        {
            return Err(RuleError::new(format!(
                "a contract from {} ends on {to}, before it starts",
                self.from
            )));
        }
        Ok(())
    }
}

/// The contract in force on `date`: the one with the latest effective
/// date on or before it, unless that one ended before `date`.
pub fn in_force<'a>(contracts: &'a [Contract], date: &Date) -> Option<&'a Contract> {
    let latest = contracts.iter().filter(|c| c.from <= *date).max_by(|a, b| a.from.cmp(&b.from))?;
    latest.to.as_ref().is_none_or(|to| date <= to).then_some(latest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn department(id: &str, parent: Option<&str>) -> Department {
        Department {
            id: id.to_owned(),
            name: id.to_owned(),
            parent: parent.map(str::to_owned),
            manager: None,
        }
    }

    fn employee(id: &str, manager: Option<&str>) -> Employee {
        Employee {
            id: id.to_owned(),
            name: id.to_owned(),
            email: None,
            department: "OPS".to_owned(),
            position: "Clerk".to_owned(),
            manager: manager.map(str::to_owned),
            user: None,
            hired: date("2026-01-05"),
            left: None,
            calendar: None,
            erased: None,
        }
    }

    #[test]
    fn only_someone_who_has_left_is_erased_and_once() {
        let mut erin = Employee {
            email: Some("erin@example.com".to_owned()),
            user: Some("erin".to_owned()),
            ..employee("E7", None)
        };
        let today = date("2026-12-04");
        let err = erin.erase(&today).unwrap_err();
        assert!(err.to_string().contains("record their leaving first"), "{err}");
        erin.left = Some(date("2026-12-31"));
        assert!(erin.erase(&today).unwrap_err().to_string().contains("leaves on 2026-12-31"));
        erin.left = Some(date("2026-11-30"));
        let erased = erin.erase(&today).unwrap();
        assert_eq!((erased.email, erased.user), (None, None));
        assert_eq!((erased.name.as_str(), erased.erased), ("E7", Some(today.clone())));
        let again = Employee { erased: Some(today.clone()), ..erin };
        assert!(again.erase(&today).unwrap_err().to_string().contains("erased already"));
    }

    #[test]
    fn departments_form_a_tree() {
        let stored: BTreeMap<&str, Option<String>> = BTreeMap::from([
            ("CO", None),
            ("OPS", Some("CO".to_owned())),
            ("WH", Some("OPS".to_owned())),
        ]);
        let parent_of = |id: &str| stored.get(id).cloned();
        department("FIN", Some("CO")).check(&parent_of).unwrap();
        department("CO", None).check(&parent_of).unwrap();
        let err = department("CO", Some("WH")).check(&parent_of).unwrap_err();
        assert!(err.to_string().contains("cannot be under itself"), "{err}");
        let err = department("FIN", Some("HQ")).check(&parent_of).unwrap_err();
        assert!(err.to_string().contains("HQ does not exist"), "{err}");
        assert!(department("fin", None).check(&parent_of).is_err(), "codes are upper case");
    }

    #[test]
    fn a_reporting_line_is_walked_and_a_circle_refused() {
        let stored: BTreeMap<&str, Option<String>> = BTreeMap::from([
            ("E1", None),
            ("E2", Some("E1".to_owned())),
            ("E3", Some("E2".to_owned())),
            ("X1", Some("X2".to_owned())),
            ("X2", Some("X1".to_owned())),
        ]);
        let manager_of = |id: &str| stored.get(id).cloned();
        assert_eq!(
            manager_chain(&employee("E4", Some("E3")), &manager_of).unwrap(),
            ["E3", "E2", "E1"]
        );
        assert!(manager_chain(&employee("E1", None), &manager_of).unwrap().is_empty());
        let err = manager_chain(&employee("E9", Some("X1")), &manager_of).unwrap_err();
        assert!(err.to_string().contains("is a circle"), "{err}");
        let err = manager_chain(&employee("E9", Some("NOBODY")), &manager_of).unwrap_err();
        assert!(err.to_string().contains("NOBODY does not exist"), "{err}");
        assert!(employee("E1", Some("E1")).check().is_err());
    }

    #[test]
    fn an_employee_is_active_from_hiring_to_leaving() {
        let mut erin = employee("E7", None);
        assert!(!erin.active_on(&date("2026-01-04")));
        assert!(erin.active_on(&date("2026-01-05")));
        erin.left = Some(date("2026-06-30"));
        assert!(erin.active_on(&date("2026-06-30")));
        assert!(!erin.active_on(&date("2026-07-01")));
        erin.left = Some(date("2025-12-31"));
        assert!(erin.check().unwrap_err().to_string().contains("before being hired"));
    }

    #[test]
    fn the_contract_in_force_is_the_latest_begun_and_not_ended() {
        let contract = |from: &str, to: Option<&str>, pay: &str| Contract {
            employee: "E7".to_owned(),
            from: date(from),
            to: to.map(date),
            position: "Clerk".to_owned(),
            base_pay: pay.to_owned(),
            currency: "EUR".to_owned(),
            salary_structure: None,
            cost_split: Vec::new(),
        };
        let history = [
            contract("2026-01-05", None, "3000.00"),
            contract("2026-09-01", Some("2027-08-31"), "3300.00"),
        ];
        assert_eq!(in_force(&history, &date("2026-01-04")), None);
        assert_eq!(in_force(&history, &date("2026-08-31")).unwrap().base_pay, "3000.00");
        assert_eq!(in_force(&history, &date("2026-09-01")).unwrap().base_pay, "3300.00");
        assert_eq!(in_force(&history, &date("2027-09-01")), None, "ended");
        assert_eq!(history[1].key(), "E7/2026-09-01");
        assert!(contract("2026-01-01", Some("2025-12-31"), "1").check().is_err());
        assert!(contract("2026-01-01", None, "-1").check().is_err());
        assert!(contract("2026-01-01", None, "abc").check().is_err());
    }

    #[test]
    fn personal_data_is_checked() {
        let personal = Personal {
            national_id: "1 85 05 78 006 084 36".to_owned(),
            bank_account: "FR76 3000 6000 0112 3456 7890 189".to_owned(),
            address: "12 rue de la Paix, Paris".to_owned(),
            date_of_birth: date("1985-05-17"),
        };
        personal.check(&date("2026-12-07")).unwrap();
        let bad_account = Personal { bank_account: "123".to_owned(), ..personal.clone() };
        assert!(bad_account.check(&date("2026-12-07")).is_err());
        let unborn = Personal { date_of_birth: date("2027-01-01"), ..personal };
        assert!(unborn.check(&date("2026-12-07")).is_err());
    }
}
