//! Timers: a plugin sets one in its call's transaction, and the kernel
//! calls it back at its time, in a transaction of its own; retried when it
//! fails, then dead, and kept across restarts.

use std::time::{Duration, Instant};

use keel_tests::{MovedClock, Setup, TestKernel};
use serde_json::{Value, json};

const ALARM: &str = "/api/demo/alarm";

async fn rang(k: &TestKernel) -> serde_json::Map<String, Value> {
    k.get(&format!("{ALARM}/rang")).await.expect(200).as_object().unwrap().clone()
}

/// Waits up to `within` for the alarm to have rung `key` (any attempt);
/// returns the note and how long the wait took.
async fn until_rung(k: &TestKernel, key: &str, within: Duration) -> Option<(Value, Duration)> {
    let started = Instant::now();
    while started.elapsed() < within {
        let notes = rang(k).await;
        if let Some((_, note)) = notes.iter().find(|(k, _)| k.starts_with(&format!("{key}/"))) {
            return Some((note.clone(), started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_fires_at_its_time_once_and_is_gone() {
    let k = TestKernel::start(Setup::new(&["alarm"])).await;
    let set = k.post(&format!("{ALARM}/alarms"), json!({ "key": "wake/1", "in": 2 })).await;
    let at = set.expect(201)["at"].as_i64().unwrap();
    let pending = k.get("/admin/tenants/demo/timers").await.expect(200).clone();
    assert_eq!(pending["timers"][0]["key"], "wake/1", "{pending}");
    assert_eq!(pending["timers"][0]["plugin"], "alarm");
    assert!(rang(&k).await.is_empty(), "not before its time");

    let (note, _) = until_rung(&k, "wake/1", Duration::from_secs(5)).await.expect("it rang");
    let rang_at = note["rang_at"].as_i64().unwrap();
    assert_eq!((note["at"].as_i64(), note["attempt"].as_u64()), (Some(at), Some(1)));
    assert!(rang_at >= at && rang_at <= at + 1, "within a second of its time: {note}");
    let pending = k.get("/admin/tenants/demo/timers").await.expect(200).clone();
    assert_eq!(pending["timers"], json!([]), "a fired timer is gone");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rang(&k).await.len(), 1, "it fired once");

    // Set, fired and removed, each on the tenant's trail.
    let actions = k.audit_actions("demo", "timer.").await;
    assert_eq!(actions, ["timer.set", "timer.fire"]);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_set_again_replaces_its_timer_and_a_cancelled_one_never_fires() {
    let k = TestKernel::start(Setup::new(&["alarm"])).await;
    k.post(&format!("{ALARM}/alarms"), json!({ "key": "moved", "in": 1 })).await.expect(201);
    k.post(&format!("{ALARM}/alarms"), json!({ "key": "moved", "in": 2 })).await.expect(201);
    k.post(&format!("{ALARM}/alarms"), json!({ "key": "gone", "in": 1 })).await.expect(201);
    let cancelled = k.send("DELETE", &format!("{ALARM}/alarms/gone"), None).await;
    assert_eq!(cancelled.expect(200)["cancelled"], true);
    let again = k.send("DELETE", &format!("{ALARM}/alarms/gone"), None).await;
    assert_eq!(again.expect(200)["cancelled"], false);
    // A call that fails sets nothing; a read may set nothing.
    k.post(&format!("{ALARM}/alarms/failing"), json!({ "key": "failed", "in": 0 }))
        .await
        .expect_problem(422, "invalid");
    k.get(&format!("{ALARM}/alarms/in-a-read")).await.expect_problem(403, "denied");
    // A malformed key is refused.
    let detail = k
        .post(&format!("{ALARM}/alarms"), json!({ "key": "", "in": 1 }))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("timer key"), "{detail}");

    let pending = k.get("/admin/tenants/demo/timers").await.expect(200).clone();
    let keys: Vec<&str> =
        pending["timers"].as_array().unwrap().iter().map(|t| t["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["moved"]);
    let (note, _) = until_rung(&k, "moved", Duration::from_secs(5)).await.expect("it rang");
    let at = note["at"].as_i64().unwrap();
    assert!(note["rang_at"].as_i64().unwrap() >= at, "{note}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let notes = rang(&k).await;
    let keys: Vec<&String> = notes.keys().collect();
    assert_eq!(keys, ["moved/1"], "once, at its new time; the others never");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_is_retried_then_dead_and_can_be_set_going_again() {
    let k = TestKernel::start(Setup::new(&["alarm"])).await;
    // Fails its first attempt, rings on the second.
    k.post(&format!("{ALARM}/alarms"), json!({ "key": "flaky", "in": 0, "fail": 1 }))
        .await
        .expect(201);
    let (note, _) = until_rung(&k, "flaky", Duration::from_secs(5)).await.expect("it rang");
    assert_eq!(note["attempt"], 2);
    // Fails every attempt (three in tests): a dead timer, with its error.
    k.post(&format!("{ALARM}/alarms"), json!({ "key": "broken", "in": 0, "fail": 3 }))
        .await
        .expect(201);
    let started = Instant::now();
    let dead = loop {
        let dead = k.get("/admin/tenants/demo/dead-timers").await.expect(200).clone();
        if !dead["timers"].as_array().unwrap().is_empty() || started.elapsed().as_secs() > 5 {
            break dead;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let timer = &dead["timers"][0];
    assert_eq!((timer["key"].as_str(), timer["attempts"].as_u64()), (Some("broken"), Some(3)));
    assert!(timer["error"].as_str().unwrap().contains("attempt 3 fails on purpose"), "{timer}");
    assert_eq!(k.get("/admin/tenants/demo/timers").await.expect(200)["timers"], json!([]));
    // Set going again, with attempts counted afresh: it fails once more
    // (attempt 1 of 3), then...
    let retried = k.post("/admin/tenants/demo/dead-timers/alarm/broken", json!(null)).await;
    retried.expect(200);
    k.post("/admin/tenants/demo/dead-timers/alarm/broken", json!(null))
        .await
        .expect_problem(404, "not-found");
    let trail = k.get("/admin/tenants/demo/audit?action=timer.replay").await.expect(200).clone();
    assert_eq!(trail["entries"].as_array().unwrap().len(), 1);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_survive_a_restart_and_a_handler_may_set_its_timer_again() {
    let data = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(data.path(), Setup::new(&["alarm"])).await;
    k.post(&format!("{ALARM}/alarms"), json!({ "key": "later", "in": 2 })).await.expect(201);
    k.post(&format!("{ALARM}/alarms"), json!({ "key": "tick", "in": 0, "again": 1 }))
        .await
        .expect(201);
    until_rung(&k, "tick", Duration::from_secs(5)).await.expect("the first tick");
    k.stop().await;

    // Stopped before `later` was due; it rings after the restart.
    let k = TestKernel::start_in(data.path(), Setup::new(&["alarm"])).await;
    let (note, _) = until_rung(&k, "later", Duration::from_secs(6)).await.expect("it rang");
    assert_eq!(note["attempt"], 1);
    // The handler set `tick` again each time it rang: it is still pending.
    let pending = k.get("/admin/tenants/demo/timers").await.expect(200).clone();
    let keys: Vec<&str> =
        pending["timers"].as_array().unwrap().iter().map(|t| t["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["tick"], "{pending}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_that_jumps_fires_what_came_due_and_one_set_back_waits() {
    let start = 1_900_000_000;
    let clock = MovedClock::at(start);
    let mut setup = Setup::new(&["alarm"]);
    setup.clock = Some(clock.clone());
    let k = TestKernel::start(setup).await;
    k.post(&format!("{ALARM}/alarms"), json!({ "key": "hour", "in": 3600 })).await.expect(201);
    k.post(&format!("{ALARM}/alarms"), json!({ "key": "day", "in": 86_400 })).await.expect(201);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(rang(&k).await.is_empty(), "nothing is due yet");

    // Forward two hours at once (a suspended laptop, an NTP step): the
    // hour's timer rings within the clock's idle wake, the day's does not.
    clock.advance(7200);
    let (note, waited) = until_rung(&k, "hour", Duration::from_secs(3)).await.expect("it rang");
    assert!(waited < Duration::from_millis(2500), "noticed within the idle wake: {waited:?}");
    assert_eq!(note["at"], start + 3600);
    assert_eq!(note["rang_at"], start + 7200, "late, by the time the clock jumped");

    // Back to before the day's timer was set: it waits for its own time.
    clock.set(start - 600);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rang(&k).await.len(), 1, "a clock set back fires nothing early");
    clock.set(start + 86_400);
    until_rung(&k, "day", Duration::from_secs(3)).await.expect("it rang at its time");
    assert_eq!(k.audit_actions("demo", "timer.fire").await.len(), 2, "each once");
    k.stop().await;
}
