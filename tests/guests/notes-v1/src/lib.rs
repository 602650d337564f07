//! Notes 0.1.0: stores notes as `{"text": ...}`.

use keel_sdk::{Collection, Error, Plugin, Request, Response, Result};
use serde_json::{Value, json};

const NOTES: Collection<Value> = Collection::new("notes");

struct Notes;

impl Plugin for Notes {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        let id = request.param("id")?;
        match operation {
            "create" => {
                let body: Value = request.json()?;
                let text =
                    body["text"].as_str().ok_or_else(|| Error::invalid("text is required"))?;
                NOTES.insert(id, &json!({ "text": text }))?;
                Response::created(&json!({ "id": id, "text": text }))
            }
            "get" => NOTES
                .get(id)?
                .map_or_else(|| Err(Error::not_found("no such note")), |n| Response::ok(&n)),
            other => Err(Error::unknown_operation(other)),
        }
    }
}

keel_sdk::export_plugin!(Notes);
