//! Keeps each `ticker.tick` event it receives under its id, counting any
//! delivery of an id it already has as a duplicate. A payload with
//! `"fail_until": n` fails attempts before the n-th; `"fail": true` fails
//! every attempt until `POST /heal`; `"loop": true` never returns (the
//! kernel stops it at its deadline). `POST /take` takes the next number of
//! a sequence, and writes nothing else.

use keel_sdk::events::{self, Delivery};
use keel_sdk::{Collection, Error, Plugin, Range, Request, Response, Result, next_sequence};
use serde_json::{Value, json};

const SEEN: Collection<Value> = Collection::new("seen");
const STATE: Collection<Value> = Collection::new("state");

struct Tally;

impl Plugin for Tally {
    fn handle(operation: &str, _request: Request) -> Result<Response> {
        match operation {
            "seen" => {
                let seen: Vec<Value> =
                    SEEN.scan_all(&Range::all())?.into_iter().map(|(_, event)| event).collect();
                let duplicates = STATE.get("duplicates")?.map_or(json!(0), |d| d["n"].clone());
                Response::ok(&json!({ "seen": seen, "duplicates": duplicates }))
            }
            "take" => Response::ok(&json!({ "number": next_sequence("tickets")? })),
            "heal" => {
                STATE.put("healed", &json!({ "healed": true }))?;
                Response::ok(&json!({ "healed": true }))
            }
            other => Err(Error::unknown_operation(other)),
        }
    }

    fn deliver(delivery: Delivery) -> Result<()> {
        let payload: Value = events::payload(&delivery)?;
        let attempt = u64::from(delivery.attempt);
        if payload["loop"] == json!(true) {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        if payload["fail_until"].as_u64().is_some_and(|n| attempt < n) {
            return Err(Error::invalid(format!("failing attempt {attempt} on purpose")));
        }
        if payload["fail"] == json!(true) && STATE.get("healed")?.is_none() {
            return Err(Error::invalid("failing until healed"));
        }
        let key = format!("{:020}", delivery.id);
        if SEEN.get(&key)?.is_some() {
            let duplicates = STATE.get("duplicates")?.and_then(|d| d["n"].as_u64()).unwrap_or(0);
            return STATE.put("duplicates", &json!({ "n": duplicates + 1 }));
        }
        SEEN.insert(
            &key,
            &json!({
                "id": delivery.id,
                "key": delivery.key,
                "publisher": delivery.publisher,
                "attempt": delivery.attempt,
                "payload": payload,
            }),
        )
    }
}

keel_sdk::export_plugin!(Tally);
