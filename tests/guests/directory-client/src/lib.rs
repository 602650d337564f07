//! Asks the tenant's `keel:erp/directory` provider who a person is, what
//! a unit is, who belongs to it, whom a person reports to and whether they
//! work here on a date, and answers what it said (`null` for none).

use keel_sdk::erp::{OrgUnit, Person, directory};
use keel_sdk::{Error, Plugin, Request, Response, Result};
use serde_json::{Value, json};

struct Client;

fn person(person: &Person) -> Value {
    json!({
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "org_unit": person.org_unit,
        "user": person.user,
    })
}

fn unit(unit: &OrgUnit) -> Value {
    json!({ "id": unit.id, "name": unit.name, "parent": unit.parent, "manager": unit.manager })
}

impl Plugin for Client {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        let id = request.param("id")?;
        match operation {
            "person" => Response::ok(&directory::find_person(id)?.as_ref().map(person)),
            "unit" => Response::ok(&directory::find_org_unit(id)?.as_ref().map(unit)),
            "members" => {
                let members: Vec<Value> = directory::members(id)?.iter().map(person).collect();
                Response::ok(&json!({ "members": members }))
            }
            "managers" => {
                let chain: Vec<Value> = directory::manager_chain(id)?.iter().map(person).collect();
                Response::ok(&json!({ "managers": chain }))
            }
            "active" => {
                let date = request.query("date").unwrap_or_default();
                Response::ok(&json!({ "active": directory::active_on(id, date)? }))
            }
            other => Err(Error::unknown_operation(other)),
        }
    }
}

keel_sdk::export_plugin!(Client);
