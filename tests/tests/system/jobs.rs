//! Background jobs: an operation declared a job answers 202 at once, and
//! the kernel runs it in steps, each committed with the job's progress;
//! retried, failed, cancelled, resumed after a restart, read by whoever may
//! call its operation, and never in another tenant's way.

use std::time::{Duration, Instant};

use keel_tests::{MovedClock, Setup, TestKernel};
use serde_json::{Value, json};

const COUNTS: &str = "/api/demo/alarm/counts";

/// Starts a count job in `tenant` as `token` (the admin if none); its id.
async fn start(k: &TestKernel, token: Option<&str>, tenant: &str, body: Value) -> String {
    let token = token.unwrap_or(k.admin_token());
    let path = format!("/api/{tenant}/alarm/counts");
    let started = k.send_as(Some(token), "POST", &path, Some(body)).await;
    let job = started.expect(202);
    assert_eq!(job["state"], "queued", "{job}");
    job["id"].as_str().expect("a job id").to_owned()
}

/// Reads job `id` of `tenant` until `until` holds of it, for at most `within`.
pub(crate) async fn until(
    k: &TestKernel,
    tenant: &str,
    id: &str,
    within: Duration,
    until: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let job = k.get(&format!("/api/{tenant}/jobs/{id}")).await.expect(200).clone();
        if until(&job) {
            return job;
        }
        assert!(started.elapsed() < within, "job {id} did not get there in {within:?}: {job}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub(crate) fn ended(job: &Value) -> bool {
    ["succeeded", "failed", "cancelled"].contains(&job["state"].as_str().unwrap_or_default())
}

async fn units(k: &TestKernel, tenant: &str, id: &str) -> u64 {
    let counted = k.get(&format!("/api/{tenant}/alarm/counts/{id}")).await;
    counted.expect(200)["units"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_answers_202_at_once_then_runs_its_steps_to_the_end() {
    let k = TestKernel::start(Setup::new(&["alarm"])).await;
    let request = || {
        k.request(reqwest::Method::POST, COUNTS)
            .header("content-type", "application/json")
            .header("idempotency-key", "count-95")
            .body(json!({ "to": 95, "per_step": 10 }).to_string())
    };
    let started = request().send().await.unwrap();
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = started.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/demo/jobs/{id}"));
    assert_eq!((job["plugin"].as_str(), job["operation"].as_str()), (Some("alarm"), Some("count")));

    let job = until(&k, "demo", &id, Duration::from_secs(10), ended).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!((job["done"].as_u64(), job["total"].as_u64()), (Some(95), Some(95)));
    assert_eq!(job["steps"], 10, "ten units a step, the last five");
    assert_eq!(job["result"]["counted"], 95);
    assert_eq!(job["result"]["caller"], "admin", "its steps run as its caller: {job}");
    assert!(job["started"].as_i64() >= job["created"].as_i64());
    assert!(job["ended"].as_i64() >= job["started"].as_i64());
    assert_eq!(units(&k, "demo", &id).await, 95, "each unit counted once");

    // Sent again with its idempotency key: the same job, not a second one.
    let again = request().send().await.unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], id.as_str());

    let listed = k.get("/admin/tenants/demo/jobs").await.expect(200).clone();
    assert_eq!(listed["jobs"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["jobs"][0]["state"], "succeeded");
    let open = k.get("/admin/tenants/demo/jobs?open=true").await.expect(200).clone();
    assert_eq!(open["jobs"], json!([]), "an ended job is not open");
    assert_eq!(k.get(&format!("/admin/tenants/demo/jobs/{id}")).await.expect(200)["steps"], 10);

    let mut actions = k.audit_actions("demo", "job.").await;
    actions.dedup();
    assert_eq!(actions, ["job.start", "job.step", "job.finish"]);
    assert_eq!(k.audit_actions("demo", "job.step").await.len(), 9);
    // A job keeps its request for its steps: a bounded one.
    let big = json!({ "to": 1, "padding": "x".repeat(70 * 1024) });
    k.post(COUNTS, big).await.expect_problem(422, "limit-exceeded");
    k.get("/api/demo/jobs/0190c0de-0000-7000-8000-000000000001").await.expect(404);
    k.get("/api/demo/jobs/..%2Ftimer").await.expect(404);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_is_retried_then_fails_the_job_and_a_refused_one_fails_it_at_once() {
    let k = TestKernel::start(Setup::new(&["alarm"])).await;
    let flaky = start(&k, None, "demo", json!({ "to": 30, "fail_step": 2, "fail_times": 2 })).await;
    let broken =
        start(&k, None, "demo", json!({ "to": 30, "fail_step": 2, "fail_times": 9 })).await;
    let refused = start(&k, None, "demo", json!({ "to": 30, "invalid_step": 3 })).await;

    let job = until(&k, "demo", &flaky, Duration::from_secs(10), ended).await;
    assert_eq!(job["state"], "succeeded", "two failed attempts, then the third passes: {job}");
    assert_eq!(units(&k, "demo", &flaky).await, 30);

    let job = until(&k, "demo", &broken, Duration::from_secs(10), ended).await;
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("step 2 failed after 3 attempts"), "{error}");
    assert!(error.contains("attempt 3 fails"), "the step's own error: {error}");
    assert_eq!((job["done"].as_u64(), job["steps"].as_u64()), (Some(10), Some(1)));
    assert_eq!(units(&k, "demo", &broken).await, 10, "the first step's units stay, once");

    let job = until(&k, "demo", &refused, Duration::from_secs(10), ended).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("step 3 failed after 1 attempts"), "{job}");
    assert_eq!(units(&k, "demo", &refused).await, 20);

    assert_eq!(k.audit_actions("demo", "job.retry").await.len(), 4, "two for each failing job");
    assert_eq!(k.audit_actions("demo", "job.fail").await.len(), 2);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_cancelled_between_steps() {
    let k = TestKernel::start(Setup::new(&["alarm"])).await;
    let id =
        start(&k, None, "demo", json!({ "to": 100_000, "per_step": 1, "spin": 200_000 })).await;
    until(&k, "demo", &id, Duration::from_secs(10), |job| job["done"].as_u64() >= Some(3)).await;
    let cancelled = k.post(&format!("/api/demo/jobs/{id}/cancel"), json!({})).await;
    assert_eq!(cancelled.expect(200)["state"], "cancelled");
    let at_cancel = units(&k, "demo", &id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let job = k.get(&format!("/api/demo/jobs/{id}")).await.expect(200).clone();
    assert_eq!(job["state"], "cancelled");
    assert!(job["ended"].is_i64());
    let after = units(&k, "demo", &id).await;
    assert!(after <= at_cancel + 1, "at most the step running then: {at_cancel} then {after}");
    assert_eq!(after, job["done"].as_u64().unwrap(), "units and progress commit together");
    let again = k.post(&format!("/api/demo/jobs/{id}/cancel"), json!({})).await;
    again.expect_problem(409, "conflict");
    assert_eq!(k.audit_actions("demo", "job.cancel").await.len(), 1);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoever_may_call_the_operation_may_read_its_job_and_its_steps_run_as_the_caller() {
    let mut setup = Setup::new(&["alarm"]);
    setup.tenants = vec!["demo", "other"];
    let k = TestKernel::start(setup).await;
    let bob = k.user_with_roles("bob", "demo", &["alarm-user"]).await;
    let carol = k.user_with_roles("carol", "demo", &["alarm-user"]).await;
    let eve = k.user_with_roles("eve", "demo", &[]).await;
    let outsider = k.user_with_roles("outsider", "other", &["alarm-user"]).await;

    let id = start(&k, Some(&bob), "demo", json!({ "to": 20 })).await;
    let job = until(&k, "demo", &id, Duration::from_secs(10), ended).await;
    assert_eq!(job["caller"], "bob");
    assert_eq!(job["result"]["caller"], "bob", "{job}");
    assert_eq!(job["result"]["may_administer"], false, "only what bob holds: {job}");
    let path = format!("/api/demo/jobs/{id}");
    assert_eq!(k.send_as(Some(&carol), "GET", &path, None).await.expect(200)["id"], id.as_str());
    k.send_as(Some(&eve), "GET", &path, None).await.expect_problem(404, "not-found");
    k.send_as(Some(&outsider), "GET", &path, None).await.expect_problem(404, "not-found");
    let member = k.user_with_roles("member", "demo", &["auditor"]).await;
    k.send_as(Some(&member), "GET", &path, None).await.expect_problem(403, "forbidden");
    let cancel = format!("{path}/cancel");
    k.send_as(Some(&member), "POST", &cancel, Some(json!({})))
        .await
        .expect_problem(403, "forbidden");
    // Holding no role there, eve cannot even see that the plugin exists.
    k.send_as(Some(&eve), "POST", COUNTS, Some(json!({ "to": 1 })))
        .await
        .expect_problem(404, "not-found");
    k.send_as(Some(&bob), "GET", "/admin/tenants/demo/jobs", None)
        .await
        .expect_problem(403, "forbidden");

    // A caller who loses the permission: the job's next step does not run.
    let long = json!({ "to": 100_000, "per_step": 1, "spin": 200_000 });
    let id = start(&k, Some(&bob), "demo", long).await;
    until(&k, "demo", &id, Duration::from_secs(10), |job| job["done"].as_u64() >= Some(2)).await;
    k.send("PUT", "/admin/tenants/demo/members/bob", Some(json!({ "roles": [] })))
        .await
        .expect(200);
    let job = until(&k, "demo", &id, Duration::from_secs(10), ended).await;
    assert_eq!(job["state"], "failed");
    assert!(job["error"].as_str().unwrap().contains("bob no longer holds alarm.use"), "{job}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_goes_on_after_a_restart_from_its_last_committed_step() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["alarm"])).await;
    let id = start(&k, None, "demo", json!({ "to": 400, "per_step": 1, "spin": 100_000 })).await;
    let before =
        until(&k, "demo", &id, Duration::from_secs(10), |job| job["done"].as_u64() >= Some(5))
            .await;
    k.stop().await;
    assert_eq!(before["state"], "running");

    let k = TestKernel::start_in(dir.path(), Setup::new(&["alarm"])).await;
    let job = until(&k, "demo", &id, Duration::from_secs(60), ended).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["steps"], 400);
    assert_eq!(units(&k, "demo", &id).await, 400, "no unit counted twice, none lost");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_jobs_do_not_starve_another_tenants_requests_or_jobs() {
    let mut setup = Setup::new(&["alarm"]);
    setup.tenants = vec!["demo", "other"];
    let k = TestKernel::start(setup).await;
    // Three long jobs in demo, each step a few ms of work.
    let busy = json!({ "to": 100_000, "per_step": 1, "spin": 2_000_000 });
    let mut hogs = Vec::new();
    for _ in 0..3 {
        hogs.push(start(&k, None, "demo", busy.clone()).await);
    }
    until(&k, "demo", &hogs[0], Duration::from_secs(10), |job| job["done"].as_u64() >= Some(2))
        .await;

    // Meanwhile another tenant's job runs from start to end, and its
    // requests and demo's own are answered.
    let quick = start(&k, None, "other", json!({ "to": 50, "per_step": 5 })).await;
    let job = until(&k, "other", &quick, Duration::from_secs(20), ended).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(units(&k, "other", &quick).await, 50);
    k.post("/api/other/alarm/alarms", json!({ "key": "k", "in": 3600 })).await.expect(201);
    k.post("/api/demo/alarm/alarms", json!({ "key": "k", "in": 3600 })).await.expect(201);
    for hog in &hogs {
        let job = k.get(&format!("/api/demo/jobs/{hog}")).await.expect(200).clone();
        assert!(!ended(&job), "demo's jobs are still at it: {job}");
        k.post(&format!("/api/demo/jobs/{hog}/cancel"), json!({})).await.expect(200);
    }
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_job_is_kept_thirty_days_then_pruned() {
    let clock = MovedClock::at(1_900_000_000);
    let mut setup = Setup::new(&["alarm"]);
    setup.clock = Some(clock.clone());
    let k = TestKernel::start(setup).await;
    let old = start_and_finish(&k).await;
    clock.advance(10 * 86_400);
    let recent = start_and_finish(&k).await;
    let running =
        start(&k, None, "demo", json!({ "to": 100_000, "per_step": 1, "spin": 200_000 })).await;

    clock.advance(21 * 86_400);
    assert_eq!(k.host().prune_jobs().unwrap(), 1, "the one that ended 31 days ago");
    k.get(&format!("/api/demo/jobs/{old}")).await.expect(404);
    k.get(&format!("/api/demo/jobs/{recent}")).await.expect(200);
    assert!(!ended(k.get(&format!("/api/demo/jobs/{running}")).await.expect(200)));
    assert_eq!(k.audit_actions("demo", "job.prune").await, ["job.prune"]);
    k.post(&format!("/api/demo/jobs/{running}/cancel"), json!({})).await.expect(200);
    k.stop().await;
}

async fn start_and_finish(k: &TestKernel) -> String {
    let id = start(k, None, "demo", json!({ "to": 3 })).await;
    let job = until(k, "demo", &id, Duration::from_secs(10), ended).await;
    assert_eq!(job["state"], "succeeded");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_caller_may_not_take_every_job_slot_of_a_tenant() {
    let k = TestKernel::start(Setup::new(&["alarm"])).await;
    let bob = k.user_with_roles("bob", "demo", &["alarm-user"]).await;
    let carol = k.user_with_roles("carol", "demo", &["alarm-user"]).await;
    let long = json!({ "to": 100_000, "per_step": 1, "spin": 200_000 });
    let mut started = Vec::new();
    for _ in 0..keel_host::OPEN_JOBS_PER_CALLER_MAX {
        started.push(start(&k, Some(&bob), "demo", long.clone()).await);
    }
    let refused = k.send_as(Some(&bob), "POST", COUNTS, Some(long.clone())).await;
    let detail = refused.expect_problem(422, "limit-exceeded");
    assert!(detail.contains("bob has 32 jobs queued or running"), "{detail}");
    started.push(start(&k, Some(&carol), "demo", long.clone()).await);

    // One ended frees its slot.
    k.post(&format!("/api/demo/jobs/{}/cancel", started[0]), json!({})).await.expect(200);
    started.push(start(&k, Some(&bob), "demo", long).await);
    for id in &started[1..] {
        k.post(&format!("/api/demo/jobs/{id}/cancel"), json!({})).await.expect(200);
    }
    let open = k.get("/admin/tenants/demo/jobs?open=true").await.expect(200).clone();
    assert_eq!(open["jobs"], json!([]), "{open}");
    k.stop().await;
}
