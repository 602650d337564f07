//! Hostile plugins fail their own call and nothing else.

use std::time::{Duration, Instant};

use keel_tests::{Setup, TestKernel};
use serde_json::json;

const R: &str = "/api/demo/rogue";
const F: &str = "/api/demo/finance";

async fn kernel(deadline: Duration) -> TestKernel {
    let mut setup = Setup::new(&["finance", "rogue"]);
    setup.call_deadline = deadline;
    setup.memory_bytes_max = 32 * 1024 * 1024;
    let k = TestKernel::start(setup).await;
    let cash = json!({ "code": "1100", "name": "Bank", "type": "asset", "currency": "EUR" });
    k.post(&format!("{F}/accounts"), cash).await.expect(201);
    k
}

async fn finance_still_serves(k: &TestKernel) {
    let reply = k.get(&format!("{F}/accounts/1100")).await;
    assert_eq!(reply.expect(200)["name"], "Bank");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_fails_only_its_call() {
    let k = kernel(Duration::from_secs(5)).await;
    let detail =
        k.post(&format!("{R}/trap"), json!({})).await.expect_problem(500, "plugin-trapped");
    assert!(detail.contains("rogue"), "{detail}");
    let detail =
        k.post(&format!("{R}/recurse"), json!({})).await.expect_problem(500, "plugin-trapped");
    assert!(detail.contains("rogue"), "{detail}");
    finance_still_serves(&k).await;
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_is_stopped_at_its_deadline_while_other_requests_succeed() {
    let deadline = Duration::from_millis(1500);
    let k = kernel(deadline).await;
    let looping = {
        let request = k.request(reqwest::Method::POST, &format!("{R}/loop"));
        tokio::spawn(async move {
            let started = Instant::now();
            let reply = keel_tests::Reply::from(request.send().await.unwrap()).await;
            (reply, started.elapsed())
        })
    };
    // While the loop spins, other calls (of this and other plugins) are served.
    crate::threads::busy("keel-exec-demo").await;
    assert!(!looping.is_finished(), "the loop should still be running");
    for _ in 0..5 {
        finance_still_serves(&k).await;
        k.get(&format!("{R}/notes/none")).await.expect_problem(404, "not-found");
    }
    assert!(!looping.is_finished(), "the other requests finished while the loop ran");
    let (reply, elapsed) = looping.await.unwrap();
    reply.expect_problem(504, "plugin-deadline");
    assert!(elapsed >= deadline, "stopped early: {elapsed:?}");
    // Deadline plus an epoch tick, with generous slack for a loaded 2-core CI machine.
    assert!(elapsed < deadline + Duration::from_secs(3), "stopped late: {elapsed:?}");
    finance_still_serves(&k).await;
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_fails_its_call_and_the_plugin_keeps_working() {
    let k = kernel(Duration::from_secs(5)).await;
    let detail =
        k.post(&format!("{R}/alloc"), json!({})).await.expect_problem(500, "plugin-memory-limit");
    assert!(detail.contains(&(32 * 1024 * 1024).to_string()), "{detail}");
    k.get(&format!("{R}/notes/none")).await.expect_problem(404, "not-found");
    finance_still_serves(&k).await;
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_cannot_reach_another_plugins_or_tenants_data() {
    let mut setup = Setup::new(&["finance", "rogue"]);
    setup.tenants = vec!["demo", "acme"];
    let k = TestKernel::start(setup).await;
    let bank = json!({ "code": "1100", "name": "Bank", "type": "asset", "currency": "EUR" });
    k.post(&format!("{F}/accounts"), bank).await.expect(201);

    let report = k.get(&format!("{R}/escape/1100")).await;
    let report = report.expect(200).as_object().unwrap().clone();
    assert_eq!(report["own accounts collection"], "absent", "rogue's accounts are its own");
    assert_eq!(report["own accounts scanned"], json!({ "Ok": 0 }));
    for label in ["undeclared collection", "path traversal", "NUL separator", "other plugin prefix"]
    {
        let error = report[label]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{label} should fail: {}", report[label]));
        assert!(error.contains("not declared"), "{label}: {error}");
    }
    assert!(
        !serde_json::to_string(&report).unwrap().contains("Bank"),
        "finance's data leaked: {report:?}"
    );

    // Tenant `acme` has finance too, and sees none of `demo`'s books.
    k.get("/api/acme/finance/accounts/1100").await.expect_problem(404, "not-found");
    let accounts = k.get("/api/acme/finance/accounts").await;
    assert_eq!(accounts.expect(200)["accounts"], json!([]));
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_calls_leave_nothing_behind() {
    let k = kernel(Duration::from_secs(5)).await;
    k.post(&format!("{R}/notes/a/fail"), json!({})).await.expect_problem(422, "invalid");
    k.get(&format!("{R}/notes/a")).await.expect_problem(404, "not-found");
    k.post(&format!("{R}/notes/b/trap"), json!({})).await.expect_problem(500, "plugin-trapped");
    k.get(&format!("{R}/notes/b")).await.expect_problem(404, "not-found");
    let detail = k.get(&format!("{R}/notes/c/write")).await.expect_problem(403, "denied");
    assert!(detail.contains("read snapshot"), "{detail}");
    k.get(&format!("{R}/notes/c")).await.expect_problem(404, "not-found");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_see_an_empty_sandbox_and_cannot_fake_failures() {
    let k = kernel(Duration::from_secs(5)).await;
    let sandbox = k.get(&format!("{R}/sandbox")).await;
    let mut sandbox = sandbox.expect(200).clone();
    let (wall, kernel) = (sandbox["wall_clock_s"].take(), sandbox["kernel_clock_s"].take());
    assert_eq!(
        sandbox,
        json!({ "env_vars": 0, "read_etc_passwd": false, "read_dir_root": false, "args": 0, "wall_clock_s": null, "kernel_clock_s": null })
    );
    assert!(wall.as_i64().unwrap() - kernel.as_i64().unwrap() <= 1, "{wall} {kernel}");
    k.get(&format!("{R}/bad-status")).await.expect_problem(502, "plugin-bad-response");
    // A bad answer from a write is refused before commit: its writes are gone too.
    k.post(&format!("{R}/notes/d/bad-status"), json!({}))
        .await
        .expect_problem(502, "plugin-bad-response");
    k.get(&format!("{R}/notes/d")).await.expect_problem(404, "not-found");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_cannot_block_in_the_host() {
    let k = kernel(Duration::from_secs(30)).await;
    let started = Instant::now();
    let detail =
        k.post(&format!("{R}/sleep"), json!({})).await.expect_problem(500, "plugin-trapped");
    assert!(detail.contains("may not block"), "{detail}");
    assert!(started.elapsed() < Duration::from_secs(10), "sleeping was refused, not waited out");
    finance_still_serves(&k).await;
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_error_message_is_bounded_before_it_reaches_the_client_or_the_log() {
    let k = kernel(Duration::from_secs(5)).await;
    for control in [false, true] {
        // Most of the 32 MiB this kernel allows a plugin.
        let huge = json!({ "bytes": 20 * 1024 * 1024, "control": control });
        let reply = k.post(&format!("{R}/long-error"), huge).await;
        let detail = reply.expect_problem(422, "invalid");
        assert!(detail.len() < 8 * 1024, "a detail of {} bytes", detail.len());
        assert!(detail.contains("truncated"), "says it was cut: {detail}");
        assert!(!detail.contains('\u{1}'), "control characters are not passed on");
    }
    // A short message reaches the client whole.
    let reply = k.post(&format!("{R}/long-error"), json!({ "bytes": 10 })).await;
    assert!(reply.expect_problem(422, "invalid").contains("xxxxxxxxxx"));
    finance_still_serves(&k).await;
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_undoes_its_deletes_even_of_a_corrupt_document() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["rogue"])).await;
    for key in ["good", "bad"] {
        k.post(&format!("{R}/notes/{key}/author"), json!({})).await.expect(201);
    }
    k.stop().await;
    {
        let storage = keel_storage::Storage::open(
            &dir.path().join("data/keel.redb"),
            keel_types::Limits::default(),
        )
        .unwrap();
        let demo = keel_types::TenantId::new("demo").unwrap();
        let mut txn = storage.write(&[keel_storage::Lane::Tenant(demo.clone())]).unwrap();
        let ns = keel_storage::Namespace::new(demo, keel_types::PluginId::new("rogue").unwrap());
        txn.tamper_doc(&ns, "notes", "bad", "{garbled").unwrap();
        txn.commit().unwrap();
    }
    let k = TestKernel::start_in(dir.path(), Setup::new(&["rogue"])).await;
    // The good note is deleted, then the call fails; deleting the bad one
    // (it does not parse) fails the call as a kernel fault.
    let failed = k.post(&format!("{R}/notes/good/delete-fail"), json!({})).await;
    let detail = failed.expect_problem(422, "invalid");
    assert!(detail.contains("failing after a delete (true)"), "{detail}");
    let failed = k.post(&format!("{R}/notes/bad/delete-fail"), json!({})).await;
    failed.expect_problem(500, "internal");
    let (demo, rogue) =
        (keel_types::TenantId::new("demo").unwrap(), keel_types::PluginId::new("rogue").unwrap());
    let read = |key: &str| k.host().read_document(&demo, &rogue, "notes", key).unwrap();
    assert!(read("good").is_some_and(|doc| doc.contains("created_by")), "the delete was undone");
    assert_eq!(read("bad").as_deref(), Some("{garbled"), "the corrupt document is untouched");
    let trail = k.get("/admin/tenants/demo/audit?action=record.delete").await;
    assert_eq!(trail.expect(200)["entries"], json!([]), "no delete was recorded");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_that_call_each_other_deeply_are_stopped_without_harm() {
    let mut setup = Setup::new(&["finance", "cycle-directory", "cycle-ledger"]);
    setup.tenants = Vec::new();
    let k = TestKernel::start(setup).await;
    k.post("/admin/tenants", json!({ "id": "demo", "name": "Demo" })).await.expect(201);
    // The ledger from finance lets the directory in; the directory lets the
    // cycle's ledger in; then the cycle's ledger becomes the provider.
    for plugin in ["finance", "cycle-directory", "cycle-ledger"] {
        k.send("PUT", &format!("/admin/tenants/demo/plugins/{plugin}"), None).await.expect(200);
    }
    let body = json!({ "interface": "keel:erp/ledger@0.3.0", "plugin": "cycle-ledger" });
    k.send("PUT", "/admin/tenants/demo/providers", Some(body)).await.expect(200);
    let runner = k.user_with_roles("rae", "demo", &["cycle-runner"]).await;

    // Each level recurses before it calls the next (1,000 frames use most
    // of a guest's shadow stack), as deep as the kernel allows: on a read
    // and on a write.
    for method in ["GET", "POST"] {
        let path = "/api/demo/cycle-ledger/deep?frames=1000";
        let answer = k.send_as(Some(&runner), method, path, Some(json!({}))).await;
        let stopped = answer.expect(200)["stopped"].as_str().unwrap_or_default().to_owned();
        assert!(stopped.contains("nest at most"), "{method}: {stopped}");
    }
    // And the kernel goes on serving.
    k.get("/healthz").await.expect(200);
    k.get("/api/demo/finance/accounts").await.expect(200);
    k.stop().await;
}

/// A clock stopped at one instant, as a simulation might set it.
#[derive(Debug)]
struct Stopped(i64);

impl keel_types::Clock for Stopped {
    fn now(&self) -> keel_types::Timestamp {
        keel_types::Timestamp { seconds: self.0, nanoseconds: 0 }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_reading_the_system_time_reads_the_kernels_clock() {
    // 2031-01-01T00:00:00Z.
    let at = 1_924_992_000;
    let mut setup = Setup::new(&["rogue"]);
    setup.clock = Some(std::sync::Arc::new(Stopped(at)));
    let k = TestKernel::start(setup).await;
    let sandbox = k.get(&format!("{R}/sandbox")).await;
    let sandbox = sandbox.expect(200);
    assert_eq!(sandbox["kernel_clock_s"], at);
    let wall = sandbox["wall_clock_s"].as_i64().unwrap();
    assert!((at..=at + 5).contains(&wall), "WASI's wall clock reads {wall}, not the kernel's {at}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_memory_is_bounded_for_the_whole_kernel_and_freed_when_calls_end() {
    let mut setup = Setup::new(&["finance", "rogue"]);
    setup.memory_bytes_max = 64 * 1024 * 1024;
    setup.guest_memory_total_bytes = 100 * 1024 * 1024;
    setup.tenants = vec!["demo", "acme", "globex"];
    let k = TestKernel::start(setup).await;
    let path = |tenant: &str| format!("/api/{tenant}/rogue/hold?mib=40&ms=1500");
    let paths = [path("demo"), path("acme"), path("globex")];
    let hold = |at: usize| k.post(&paths[at], json!({}));

    // Each call fits its own limit; three at once (in three tenants, so
    // that they run together) do not fit the kernel's.
    let (a, b, c) = tokio::join!(hold(0), hold(1), hold(2));
    let replies = [a, b, c];
    let held = replies.iter().filter(|reply| reply.status == 200).count();
    let refused: Vec<_> = replies.iter().filter(|reply| reply.status != 200).collect();
    assert!(held >= 1, "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert!(!refused.is_empty(), "three calls of 40 MiB ran in 100 MiB");
    for reply in refused {
        let detail = reply.clone().expect_problem(503, "busy");
        assert!(detail.contains("memory"), "{detail}");
    }
    // What they held is given back: each of them now runs alone.
    for _ in 0..3 {
        k.post(&format!("{R}/hold?mib=40&ms=0"), json!({})).await.expect(200);
    }
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_calls_cannot_take_the_guest_memory_the_others_need() {
    let mut setup = Setup::new(&["rogue"]);
    setup.memory_bytes_max = 64 * 1024 * 1024;
    setup.guest_memory_total_bytes = 300 * 1024 * 1024;
    setup.guest_memory_tenant_bytes = 100 * 1024 * 1024;
    setup.tenants = vec!["evil", "demo"];
    let k = TestKernel::start(setup).await;
    // Reads run at once, however many one tenant sends: three of 40 MiB
    // fit the kernel's 300 MiB but not evil's share of 100.
    let hold = || k.get("/api/evil/rogue/hold?mib=40&ms=1500");
    let other = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        k.get("/api/demo/rogue/hold?mib=60&ms=0").await
    };
    let (a, b, c, other) = tokio::join!(hold(), hold(), hold(), other);
    let replies = [a, b, c];
    let bodies: Vec<_> = replies.iter().map(|r| &r.body).collect();
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 2, "{bodies:?}");
    let refused = replies.iter().find(|r| r.status != 200).unwrap().clone();
    let detail = refused.expect_problem(503, "busy");
    assert!(detail.contains("tenant evil") && detail.contains("memory"), "{detail}");
    // Another tenant's call meanwhile has the memory it needs.
    assert_eq!(other.expect(200)["held_mib"], 60);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_records_count_toward_a_calls_byte_limit() {
    let k = TestKernel::start(Setup::new(&["rogue"])).await;
    // 200 notes of 200 kB: 40 MB of documents, under the 64 MiB a call may
    // write, but the audit record of each carries it again.
    let heavy = k.post(&format!("{R}/heavy?records=200&bytes=200000"), json!({})).await;
    let detail = heavy.expect_problem(422, "limit-exceeded");
    assert!(detail.contains("bytes"), "{detail}");
    // Nothing of it was kept; half as much is fine.
    let reply = k.post(&format!("{R}/heavy?records=100&bytes=200000"), json!({})).await;
    assert_eq!(reply.expect(200)["written"], 100);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_is_cut_to_size_and_the_call_goes_on() {
    let k = kernel(Duration::from_secs(5)).await;
    let flood = k.post(&format!("{R}/log-flood"), json!({})).await;
    assert_eq!(flood.expect(200)["emitted"], 300);
    k.get(&format!("{R}/notes/none")).await.expect_problem(404, "not-found");
    finance_still_serves(&k).await;
    k.stop().await;
}
