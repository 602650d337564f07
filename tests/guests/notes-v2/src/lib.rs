//! Notes 0.2.0: notes gain a word count; `migrate` adds it to every note
//! stored by 0.1.0, in the upgrade's one transaction.

use keel_sdk::{Collection, Error, Plugin, Range, Request, Response, Result};
use serde_json::{Value, json};

const NOTES: Collection<Value> = Collection::new("notes");

fn note(text: &str) -> Value {
    json!({ "text": text, "words": text.split_whitespace().count(), "schema": 2 })
}

struct Notes;

impl Plugin for Notes {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        let id = request.param("id")?;
        match operation {
            "create" => {
                let body: Value = request.json()?;
                let text =
                    body["text"].as_str().ok_or_else(|| Error::invalid("text is required"))?;
                NOTES.insert(id, &note(text))?;
                Response::created(&note(text))
            }
            "get" => NOTES
                .get(id)?
                .map_or_else(|| Err(Error::not_found("no such note")), |n| Response::ok(&n)),
            other => Err(Error::unknown_operation(other)),
        }
    }

    fn migrate(from_version: Option<&str>) -> Result<()> {
        if from_version != Some("0.1.0") {
            return Ok(());
        }
        let mut cursor = None;
        loop {
            let page = NOTES.scan(&Range::all(), cursor.as_deref(), 500)?;
            for (key, old) in page.items {
                NOTES.put(&key, &note(old["text"].as_str().unwrap_or_default()))?;
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }
}

keel_sdk::export_plugin!(Notes);
