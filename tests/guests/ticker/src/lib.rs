//! Publishes `ticker.tick` events: `{"key": ..., and anything else}` as
//! the payload, under the body's `key`.

use keel_sdk::{Error, Plugin, Request, Response, Result, events};
use serde_json::{Value, json};

struct Ticker;

fn tick(request: &Request) -> Result<Value> {
    let body: Value = request.json()?;
    let key = body["key"].as_str().ok_or_else(|| Error::bad_request("key is required"))?;
    events::publish("ticker.tick", key, &body)?;
    Ok(body)
}

impl Plugin for Ticker {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        match operation {
            "tick" => Response::created(&tick(&request)?),
            "tick-then-fail" => {
                tick(&request)?;
                Err(Error::invalid("failing after publishing"))
            }
            "burst" => {
                let body: Value = request.json()?;
                let count = body["count"].as_u64().unwrap_or(0);
                for n in 1..=count {
                    events::publish("ticker.tick", &format!("t{n:02}"), &json!({ "n": n }))?;
                }
                Response::created(&json!({ "published": count }))
            }
            "tick-in-a-read" => {
                events::publish("ticker.tick", "read", &json!({}))?;
                Response::ok(&json!({}))
            }
            other => Err(Error::unknown_operation(other)),
        }
    }
}

keel_sdk::export_plugin!(Ticker);
