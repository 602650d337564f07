//! Notes 0.3.0: a broken release whose `migrate` rewrites data and then
//! fails, to prove the upgrade rolls back and 0.2.0 keeps serving.

use keel_sdk::{Collection, Error, Plugin, Request, Response, Result};
use serde_json::{Value, json};

const NOTES: Collection<Value> = Collection::new("notes");

struct Notes;

impl Plugin for Notes {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        let id = request.param("id")?;
        match operation {
            "create" | "get" => Response::ok(&json!({ "id": id, "version": 3 })),
            other => Err(Error::unknown_operation(other)),
        }
    }

    fn migrate(_from_version: Option<&str>) -> Result<()> {
        NOTES.put("first", &json!({ "text": "clobbered by a broken migration" }))?;
        Err(Error::invalid("notes 0.3.0 cannot migrate this data"))
    }
}

keel_sdk::export_plugin!(Notes);
