//! Sets timers and notes when they ring.
//!
//! `POST /alarms` with `{"key", "in": seconds from now, "fail": n}` sets
//! timer `key`; when it fires, the handler fails its first `n` attempts,
//! then notes the firing in `rang` under `<key>/<attempt>`, and with
//! `"again": seconds` sets the same key once more.
//!
//! Its schedule `nightly` calls `POST /nightly`, which notes the run in
//! `nights` under its slot with who called and what they may do (`GET
//! /nights` lists them), and fails while
//! `PUT /nightly/fails` with `{"fails": true}` says so.
//!
//! `POST /counts` is a job: `{"to": n, "per_step": k}` counts to `n`, `k`
//! units a step, inserting each unit under `<job>/<unit>` in `counted` (an
//! insert, so a unit counted twice would fail the job); `GET
//! /counts/{job}` says how many there are. `"spin": i` spins `i` rounds a
//! step; `"fail_step": s, "fail_times": t` fails the first `t` attempts
//! at step `s`; `"invalid_step": s` refuses step `s` as invalid.

use keel_sdk::jobs::{Progress, Step};
use keel_sdk::timers::{self, Fired};
use keel_sdk::{Collection, Error, Plugin, Range, Request, Response, Result, context};
use serde_json::{Value, json};

const RANG: Collection<Value> = Collection::new("rang");
const NIGHTS: Collection<Value> = Collection::new("nights");
const SETTINGS: Collection<Value> = Collection::new("settings");
const COUNTED: Collection<Value> = Collection::new("counted");

fn count(step: &Step) -> Result<Progress> {
    let body: Value = step.request.json()?;
    let to = body["to"].as_u64().ok_or_else(|| Error::invalid("to is required"))?;
    let per_step = body["per_step"].as_u64().unwrap_or(10).max(1);
    let number = step.done / per_step + 1;
    if body["invalid_step"].as_u64() == Some(number) {
        return Err(Error::invalid(format!("step {number} is refused on purpose")));
    }
    let fail_times = body["fail_times"].as_u64().unwrap_or(0);
    if body["fail_step"].as_u64() == Some(number) && u64::from(step.attempt) <= fail_times {
        return Err(Error::internal(format!("step {number} attempt {} fails", step.attempt)));
    }
    let mut spun = 0u64;
    for round in 0..body["spin"].as_u64().unwrap_or(0) {
        spun = std::hint::black_box(spun.wrapping_mul(31).wrapping_add(round));
    }
    let after: u64 = step.cursor_as()?.unwrap_or(0);
    let upto = (after + per_step).min(to);
    for unit in after + 1..=upto {
        let note = json!({ "step": number, "attempt": step.attempt, "spun": spun });
        COUNTED.insert(&format!("{}/{unit:08}", step.job), &note)?;
    }
    if upto == to {
        let result = json!({
            "counted": to,
            "caller": context::caller(),
            "may_administer": context::has_permission("alarm.admin"),
        });
        return Progress::finished(upto, &result);
    }
    Progress::next(upto, Some(to), &upto)
}

fn nightly(request: &Request) -> Result<Value> {
    let body: Value = request.json()?;
    let fails = SETTINGS.get("nightly")?.is_some_and(|s| s["fails"] == true);
    if fails {
        return Err(Error::internal("the nightly run fails on purpose"));
    }
    let slot = body["slot"].as_i64().ok_or_else(|| Error::bad_request("slot is required"))?;
    let note = json!({
        "schedule": body["schedule"],
        "slot": slot,
        "ran_at": context::now_seconds(),
        "caller": context::caller(),
        "may_use": context::has_permission("alarm.use"),
        "may_administer": context::has_permission("alarm.admin"),
    });
    NIGHTS.put(&slot.to_string(), &note)?;
    Ok(note)
}

struct Alarm;

fn set(request: &Request) -> Result<Value> {
    let body: Value = request.json()?;
    let key = body["key"].as_str().ok_or_else(|| Error::bad_request("key is required"))?;
    let at = context::now_seconds() + body["in"].as_i64().unwrap_or(0);
    timers::set(key, at, &body)?;
    Ok(json!({ "key": key, "at": at }))
}

impl Plugin for Alarm {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        match operation {
            "set" => Response::created(&set(&request)?),
            "set-many" => {
                let body: Value = request.json()?;
                let prefix = body["prefix"]
                    .as_str()
                    .ok_or_else(|| Error::bad_request("prefix is required"))?;
                let at = body["at"].as_i64().ok_or_else(|| Error::bad_request("at is required"))?;
                let n = body["n"].as_u64().unwrap_or(1);
                for i in 0..n {
                    timers::set(&format!("{prefix}/{i}"), at, &json!({}))?;
                }
                Response::created(&json!({ "set": n, "at": at }))
            }
            "set-then-fail" => {
                set(&request)?;
                Err(Error::invalid("failing after setting a timer"))
            }
            "set-in-a-read" => {
                timers::set("read", context::now_seconds(), &json!({}))?;
                Response::ok(&json!({}))
            }
            "nightly" => Response::ok(&nightly(&request)?),
            "nights" => {
                let nights: serde_json::Map<String, Value> =
                    NIGHTS.scan_all(&Range::all())?.into_iter().collect();
                Response::ok(&Value::Object(nights))
            }
            "nightly-fails" => {
                let body: Value = request.json()?;
                SETTINGS.put("nightly", &json!({ "fails": body["fails"] == true }))?;
                Response::ok(&body)
            }
            "counted" => {
                let job = request.param("job")?;
                let units = COUNTED.scan_all(&Range::prefix(format!("{job}/")))?.len();
                Response::ok(&json!({ "units": units }))
            }
            "cancel" => {
                let cancelled = timers::cancel(request.param("key")?)?;
                Response::ok(&json!({ "cancelled": cancelled }))
            }
            "rang" => {
                let rang: serde_json::Map<String, Value> =
                    RANG.scan_all(&Range::all())?.into_iter().collect();
                Response::ok(&Value::Object(rang))
            }
            other => Err(Error::unknown_operation(other)),
        }
    }

    fn on_timer(timer: Fired) -> Result<()> {
        let body: Value = timers::payload(&timer)?;
        let fail = body["fail"].as_u64().unwrap_or(0);
        if u64::from(timer.attempt) <= fail {
            return Err(Error::internal(format!("attempt {} fails on purpose", timer.attempt)));
        }
        let note = json!({
            "at": timer.at.seconds,
            "rang_at": context::now_seconds(),
            "attempt": timer.attempt,
        });
        RANG.put(&format!("{}/{}", timer.key, timer.attempt), &note)?;
        if let Some(again) = body["again"].as_i64() {
            let next = json!({ "key": timer.key, "in": again, "again": again });
            timers::set(&timer.key, context::now_seconds() + again, &next)?;
        }
        Ok(())
    }

    fn run_step(step: Step) -> Result<Progress> {
        match step.operation.as_str() {
            "count" => count(&step),
            other => Err(Error::unknown_operation(other)),
        }
    }
}

keel_sdk::export_plugin!(Alarm);
