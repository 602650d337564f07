//! Schedules: a manifest's timetable runs an operation for each tenant that
//! has the plugin enabled, at its slots in its time zone; slots missed
//! while the kernel was down run once; a failing run is retried, then
//! recorded, and the schedule goes on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_tests::{MovedClock, Setup, TestKernel};
use serde_json::{Value, json};

const ALARM: &str = "/api/demo/alarm";
/// Sunday 2030-03-17T17:46:40Z; Paris is on UTC+1 until 31 March.
const START: i64 = 1_900_000_000;
/// Two in the morning in Paris on Monday 18 March 2030: 01:00 UTC.
const FIRST_SLOT: i64 = 1_900_026_000;
const DAY: i64 = 86_400;

fn setup(clock: &Arc<MovedClock>) -> Setup {
    let mut setup = Setup::new(&["alarm"]);
    setup.clock = Some(clock.clone());
    setup
}

async fn nights(k: &TestKernel) -> serde_json::Map<String, Value> {
    k.get(&format!("{ALARM}/nights")).await.expect(200).as_object().unwrap().clone()
}

async fn nightly(k: &TestKernel) -> Value {
    let page = k.get("/admin/tenants/demo/schedules").await.expect(200).clone();
    let schedules = page["schedules"].as_array().unwrap();
    assert_eq!(schedules.len(), 1, "{page}");
    schedules[0].clone()
}

/// Waits up to 5 s for `done` to hold of the schedule.
async fn until(k: &TestKernel, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let schedule = nightly(k).await;
        if done(&schedule) {
            return schedule;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "not in 5 s: {schedule}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_runs_at_its_slots_in_its_time_zone_and_missed_slots_run_once() {
    let clock = MovedClock::at(START);
    let data = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(data.path(), setup(&clock)).await;
    let schedule = nightly(&k).await;
    assert_eq!(schedule["plugin"], "alarm");
    assert_eq!(schedule["id"], "nightly");
    assert_eq!(schedule["next_run"], FIRST_SLOT, "{schedule}");
    assert_eq!(schedule["next_run_local"], "2030-03-18T02:00:00+01:00[Europe/Paris]");
    assert!(!schedule["description"].as_str().unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(nights(&k).await.is_empty(), "not before its slot");

    clock.set(FIRST_SLOT);
    let ran = until(&k, |s| s["last_run"]["ok"] == true).await;
    assert_eq!(ran["next_run"], FIRST_SLOT + DAY, "{ran}");
    let night = nights(&k).await[&FIRST_SLOT.to_string()].clone();
    assert_eq!(night["schedule"], "nightly");
    assert_eq!(night["caller"], "schedule:alarm/nightly");
    assert_eq!(
        (night["may_use"].as_bool(), night["may_administer"].as_bool()),
        (Some(true), Some(false)),
        "the run holds its operation's permission and no other: {night}"
    );
    k.stop().await;

    // Down for three nights: the first slot missed runs once on start, and
    // the schedule goes on from the slot after now.
    clock.set(FIRST_SLOT + 3 * DAY + 3600);
    let k = TestKernel::start_in(data.path(), setup(&clock)).await;
    let caught_up = until(&k, |s| s["next_run"] == FIRST_SLOT + 4 * DAY).await;
    assert_eq!(caught_up["last_run"]["slot"], FIRST_SLOT + DAY, "{caught_up}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let slots: Vec<String> = nights(&k).await.keys().cloned().collect();
    assert_eq!(slots, [FIRST_SLOT.to_string(), (FIRST_SLOT + DAY).to_string()], "once, not thrice");

    let actions = k.audit_actions("demo", "schedule.").await;
    assert_eq!(actions, ["schedule.arm", "schedule.run", "schedule.run"]);
    assert_eq!(k.get("/admin/tenants/demo/audit/verify").await.expect(200)["ok"], true);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_run_is_retried_then_recorded_and_the_schedule_goes_on() {
    let clock = MovedClock::at(START);
    let k = TestKernel::start(setup(&clock)).await;
    k.send("PUT", &format!("{ALARM}/nightly/fails"), Some(json!({ "fails": true })))
        .await
        .expect(200);
    clock.set(FIRST_SLOT);
    // Retries wait for the backoff on the kernel's clock: move it along.
    let started = Instant::now();
    let failed = loop {
        let schedule = nightly(&k).await;
        if schedule["last_run"]["ok"] == false {
            break schedule;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never failed: {schedule}");
        clock.advance(1);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed["last_run"]["attempts"], 3, "{failed}");
    assert!(failed["last_run"]["error"].as_str().unwrap().contains("fails on purpose"), "{failed}");
    assert_eq!(failed["next_run"], FIRST_SLOT + DAY, "the next night is armed");
    assert!(nights(&k).await.is_empty());

    // Mended, and run now by an administrator: it runs for the next slot.
    k.send("PUT", &format!("{ALARM}/nightly/fails"), Some(json!({ "fails": false })))
        .await
        .expect(200);
    k.post("/admin/tenants/demo/schedules/alarm/nightly/run", json!(null)).await.expect(202);
    k.post("/admin/tenants/demo/schedules/alarm/missing/run", json!(null))
        .await
        .expect_problem(404, "not-found");
    let ran = until(&k, |s| s["last_run"]["ok"] == true).await;
    assert_eq!(ran["last_run"]["slot"], FIRST_SLOT + DAY, "{ran}");
    assert_eq!(ran["next_run"], FIRST_SLOT + 2 * DAY);

    // Disabled, it has no schedule; enabled again, it is armed afresh.
    assert_eq!(k.send("DELETE", "/admin/tenants/demo/plugins/alarm", None).await.status, 204);
    let page = k.get("/admin/tenants/demo/schedules").await.expect(200).clone();
    assert_eq!(page["schedules"], json!([]));
    k.send("PUT", "/admin/tenants/demo/plugins/alarm", None).await.expect(200);
    assert_eq!(nightly(&k).await["next_run"], FIRST_SLOT + DAY);
    k.stop().await;
}
