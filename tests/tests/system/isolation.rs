//! One tenant's misbehaving module never holds up another tenant: its
//! looping writes, its looping subscriber, and its calls the gateway gave
//! up on stay in its own lane. A failed log sync is never acknowledged,
//! and a restart keeps everything that was.

use std::time::{Duration, Instant};

use keel_tests::{Reply, Setup, TestKernel};
use serde_json::{Value, json};

#[cfg(target_os = "linux")]
use crate::threads;

const EVIL: &str = "/api/evil/rogue";
const DEMO: &str = "/api/demo/finance";

async fn kernel(plugins: &[&'static str], deadline: Duration) -> TestKernel {
    let mut setup = Setup::new(plugins);
    setup.tenants = vec!["evil", "demo"];
    setup.call_deadline = deadline;
    TestKernel::start(setup).await
}

/// Starts `n` looping write calls of the rogue plugin in tenant `evil`.
fn loops(k: &TestKernel, n: usize) -> Vec<tokio::task::JoinHandle<Reply>> {
    (0..n)
        .map(|_| {
            let request = k.request(reqwest::Method::POST, &format!("{EVIL}/loop"));
            tokio::spawn(async move { Reply::from(request.send().await.unwrap()).await })
        })
        .collect()
}

fn entry(n: u32) -> Value {
    json!({ "date": "2026-03-01", "memo": format!("entry {n}"), "lines": [
        { "account": "1100", "debit": "10.00" }, { "account": "4000", "credit": "10.00" } ] })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_whose_writes_loop_never_holds_up_another_tenants_writes() {
    let k = kernel(&["finance", "rogue"], Duration::from_millis(1500)).await;
    k.post(&format!("{DEMO}/chart-templates/starter"), json!({ "currency": "EUR" }))
        .await
        .expect(201);
    // Three write calls that loop until their deadline, one after another
    // in their tenant's lane: 4.5 s in all.
    let looping = loops(&k, 3);
    crate::threads::busy("keel-exec-evil").await;
    assert!(looping.iter().all(|call| !call.is_finished()), "the loops should be running");
    for n in 1..=10 {
        let posted = k.post(&format!("{DEMO}/entries"), entry(n)).await;
        assert_eq!(posted.expect(201)["number"], n, "posts go on, numbered");
    }
    assert!(
        looping.iter().all(|call| !call.is_finished()),
        "another tenant's ten posts were durable before the first loop reached its deadline"
    );
    for call in looping {
        let reply = call.await.unwrap();
        assert!(matches!(reply.status, 503 | 504), "a loop fails alone: {}", reply.status);
    }
    let tb = k.get(&format!("{DEMO}/reports/trial-balance")).await;
    assert_eq!(tb.expect(200)["totals"][0]["debit"], "100.00");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_gateway_gave_up_on_stops_and_frees_its_tenant() {
    // The gateway gives a call its deadline plus 2 s of grace, queueing
    // included. Eight loops of 400 ms, one after another, need 3.2 s: the
    // last ones are given up on while queued or running, and must not run
    // on after their client was answered.
    let k = kernel(&["rogue"], Duration::from_millis(400)).await;
    let replies: Vec<Reply> =
        futures_join(loops(&k, 8)).await.into_iter().map(|r| r.unwrap()).collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(statuses.contains(&503), "some calls were given up on: {statuses:?}");
    assert!(statuses.iter().all(|s| matches!(s, 503 | 504)), "{statuses:?}");
    // Nothing they held is still held: the tenant's next write runs at
    // once, not after a given-up loop's deadline.
    let started = Instant::now();
    k.post(&format!("{EVIL}/notes/after/author"), json!({})).await.expect(201);
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "the next write waited {:?}, as if a call given up on still ran",
        started.elapsed()
    );
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_loops_never_holds_up_another_tenants_events() {
    let mut setup = Setup::new(&["ticker", "tally"]);
    setup.tenants = vec!["evil", "good"];
    setup.call_deadline = Duration::from_secs(2);
    let k = TestKernel::start(setup).await;
    // Evil's subscriber loops on its event until the deadline, attempt
    // after attempt.
    k.post("/api/evil/ticker/ticks", json!({ "key": "spin", "loop": true })).await.expect(201);
    crate::threads::busy("keel-deliver-evil").await;
    k.post("/api/good/ticker/ticks", json!({ "key": "calm", "n": 1 })).await.expect(201);
    let started = Instant::now();
    let seen = loop {
        let seen = k.get("/api/good/tally/seen").await.expect(200).clone();
        if !seen["seen"].as_array().unwrap().is_empty()
            || started.elapsed() > Duration::from_secs(10)
        {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(seen["seen"][0]["key"], "calm", "good's event was delivered");
    // ... while evil's first attempt was still looping: no retry yet.
    let trail = k.get("/admin/tenants/evil/audit?action=event.retry").await.expect(200).clone();
    assert_eq!(trail["entries"].as_array().unwrap().len(), 0, "{trail}");
    // Writes of the good tenant go on too.
    k.post("/api/good/ticker/ticks", json!({ "key": "calm-2", "n": 2 })).await.expect(201);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_log_sync_is_never_acknowledged_and_a_restart_keeps_what_was() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    k.post(&format!("{DEMO}/chart-templates/starter"), json!({ "currency": "EUR" }))
        .await
        .expect(201);
    for n in 1..=3 {
        k.post(&format!("{DEMO}/entries"), entry(n)).await.expect(201);
    }
    let package = k
        .request(reqwest::Method::POST, "/admin/packages")
        .header("content-type", "application/wasm")
        .body(keel_tests::plugin_bytes("notes-v1"));
    keel_tests::Reply::from(package.send().await.unwrap()).await.expect(201);
    k.host().storage().inject(keel_storage::Fault::LogSync);
    let failed = k.post(&format!("{DEMO}/entries"), entry(4)).await;
    assert_eq!(failed.status, 500, "a write whose sync failed is not acknowledged");
    // From then on the kernel refuses writes rather than risk them; reads go on.
    assert_eq!(k.post(&format!("{DEMO}/entries"), entry(5)).await.status, 500);
    k.get(&format!("{DEMO}/entries/3")).await.expect(200);
    // An administrator's change fails as the kernel's fault, not as theirs.
    let enable = k.send("PUT", "/admin/tenants/demo/plugins/notes", None).await;
    enable.expect_problem(500, "internal");
    // And says so where an orchestrator looks, so that it restarts it.
    k.get("/healthz").await.expect_problem(503, "storage-failed");
    k.stop().await;

    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    for n in 1..=3 {
        let got = k.get(&format!("{DEMO}/entries/{n}")).await;
        assert_eq!(
            got.expect(200)["memo"],
            format!("entry {n}"),
            "acknowledged entry {n} survived"
        );
    }
    // The unacknowledged entry may or may not have reached the disk; the
    // numbers stay gapless either way, and the books balance.
    let next = k.post(&format!("{DEMO}/entries"), entry(6)).await;
    let number = next.expect(201)["number"].as_u64().unwrap();
    assert!(matches!(number, 4 | 5), "numbers continue without a gap: {number}");
    for n in 1..number {
        k.get(&format!("{DEMO}/entries/{n}")).await.expect(200);
    }
    let tb = k.get(&format!("{DEMO}/reports/trial-balance")).await.expect(200).clone();
    assert_eq!(tb["totals"][0]["balanced"], true, "{tb}");
    let verdict = k.get("/admin/tenants/demo/audit/verify").await.expect(200).clone();
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(k.get("/healthz").await.expect(200)["status"], "ok", "healthy after the restart");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_admin_change_waiting_for_a_busy_tenant_never_stops_the_server() {
    // One async worker, as on a one-core machine: an admin change waiting
    // on it for its tenant's write turn would stop every connection.
    let k = kernel(&["rogue"], Duration::from_secs(3)).await;
    let user = json!({ "id": "carol", "name": "Carol", "password": "a long enough password" });
    k.post("/admin/users", user).await.expect(201);
    let looping = loops(&k, 1);
    crate::threads::busy("keel-exec-evil").await;
    let change = {
        let request = k
            .request(reqwest::Method::PUT, "/admin/tenants/evil/members/carol")
            .json(&json!({ "roles": ["auditor"] }));
        tokio::spawn(async move { Reply::from(request.send().await.unwrap()).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A worker blocked by the change stalls this sleep too (its timer), until
    // the loop's deadline lets the change through.
    assert!(
        !looping[0].is_finished() && !change.is_finished(),
        "the server stalled while the change waited for evil's turn, until the loop ended"
    );
    // The loop holds evil's lane for 2.6 s more; the server answers meanwhile.
    let answered = Duration::from_millis(1500);
    let health = tokio::time::timeout(answered, k.get("/healthz")).await;
    assert_eq!(health.expect("/healthz answers while the change waits").status, 200);
    let read = tokio::time::timeout(answered, k.get("/api/demo/rogue/notes/none")).await;
    let read = read.expect("another tenant's reads answer while the change waits");
    assert!(read.status < 500, "{}", read.status);
    assert!(!looping[0].is_finished(), "all of it while the loop still ran");
    change.await.unwrap().expect(200);
    for call in looping {
        assert!(matches!(call.await.unwrap().status, 503 | 504));
    }
    k.stop().await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_nobody_subscribes_to_leaves_the_dispatcher_idle() {
    // The ticker plugin publishes; nothing in this tenant subscribes.
    let mut setup = Setup::new(&["ticker"]);
    setup.tenants = vec!["quiet"];
    let k = TestKernel::start(setup).await;
    k.post("/api/quiet/ticker/ticks", json!({ "key": "unheard", "n": 1 })).await.expect(201);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = threads::named("keel-events");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = threads::named("keel-events");
    let busiest = after
        .iter()
        .filter_map(|(tid, t)| before.get(tid).map(|b| t.cpu_ticks - b.cpu_ticks))
        .max()
        .unwrap_or(0);
    // Ticks of 10 ms: a dispatcher spinning on the tenant would use most of the second.
    assert!(busiest < 20, "a dispatcher thread used {busiest} ticks of CPU in 1 s while idle");
    k.stop().await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_calls_after_a_long_one_run_at_normal_priority() {
    // A long call lowers its executor thread's priority; the calls after it
    // run on a fresh thread, which must not inherit the lowered priority.
    // (A tenant of its own: thread names carry it, and other tests loop.)
    let mut setup = Setup::new(&["rogue"]);
    setup.tenants = vec!["nicer"];
    setup.call_deadline = Duration::from_millis(300);
    let k = TestKernel::start(setup).await;
    let looped = k.post("/api/nicer/rogue/loop", json!({})).await;
    assert!(matches!(looped.status, 503 | 504), "{}", looped.status);
    k.post("/api/nicer/rogue/notes/after/author", json!({})).await.expect(201);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let executors = threads::named("keel-exec-nicer");
    assert!(!executors.is_empty(), "the tenant's executor thread serves it still");
    for (tid, thread) in executors {
        assert_eq!(
            thread.nice, 0,
            "executor thread {tid} runs the next calls at nice {}",
            thread.nice
        );
    }
    k.stop().await;
}

/// Waits for every task, in order.
async fn futures_join<T>(
    tasks: Vec<tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_at_its_storage_quota_is_refused_growth_and_the_others_go_on() {
    let k = kernel(&["finance", "rogue"], Duration::from_secs(5)).await;
    let storage = |reply: &Reply| reply.expect(200)["storage"].clone();
    let before = storage(&k.get("/admin/tenants/evil").await);
    assert_eq!(before["quota_is_default"], true, "{before}");
    assert_eq!(before["quota_bytes"], 10u64 * 1024 * 1024 * 1024);
    let stored = before["stored_bytes"].as_u64().expect("a byte count");

    // Only the platform administrator sets a quota: not the tenant's own.
    let tenant_admin = k.user_with_roles("tina", "evil", &["admin"]).await;
    let quota = json!({ "storage_bytes": stored + 1_000_000 });
    let path = "/admin/tenants/evil/storage-quota";
    let reply = k.send_as(Some(&tenant_admin), "PUT", path, Some(quota.clone())).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    let set = k.send("PUT", path, Some(quota)).await;
    assert_eq!(set.expect(200)["storage"]["quota_bytes"], stored + 1_000_000);
    k.send("PUT", path, Some(json!({ "storage_bytes": -1 })))
        .await
        .expect_problem(400, "bad-request");

    // 300 kB of notes, and their audit records: within the quota.
    let heavy = |records: usize| format!("{EVIL}/heavy?records={records}&bytes=100000");
    k.post(&heavy(3), json!({})).await.expect(200);
    let filled = storage(&k.get("/admin/tenants/evil").await)["stored_bytes"].as_u64().unwrap();
    assert!(filled > stored + 600_000, "{filled} bytes stored after 600 kB written");

    // 600 kB more would pass it: refused whole, with nothing kept.
    let refused = k.post(&heavy(6), json!({})).await;
    let detail = refused.expect_problem(507, "storage-quota-exceeded");
    assert!(detail.contains("tenant evil") && detail.contains("quota"), "{detail}");
    let after = storage(&k.get("/admin/tenants/evil").await)["stored_bytes"].as_u64().unwrap();
    assert_eq!(after, filled, "a refused call stores nothing");

    // At its quota, it may still delete (its audit trail grows by the
    // records that say so), and then write again what fits.
    k.send("PUT", path, Some(json!({ "storage_bytes": filled }))).await.expect(200);
    k.post(&heavy(1), json!({})).await.expect_problem(507, "storage-quota-exceeded");
    let forget = k.send("DELETE", &format!("{EVIL}/notes/heavy-000002"), None).await;
    assert_eq!(forget.status, 204, "{}", forget.body);
    let quota = json!({ "storage_bytes": stored + 1_000_000 });
    k.send("PUT", path, Some(quota)).await.expect(200);

    // Its reads go on, and so does every other tenant's work.
    k.get("/api/evil/finance/accounts").await.expect(200);
    let cash = json!({ "code": "1100", "name": "Bank", "type": "asset", "currency": "EUR" });
    k.post(&format!("{DEMO}/accounts"), cash).await.expect(201);
    k.post("/api/demo/rogue/heavy?records=6&bytes=100000", json!({})).await.expect(200);

    // Raised, the same call goes through; back to the default, the quota says so.
    let raised = json!({ "storage_bytes": stored + 10_000_000 });
    k.send("PUT", path, Some(raised)).await.expect(200);
    k.post(&heavy(6), json!({})).await.expect(200);
    let reset = k.send("DELETE", path, None).await;
    assert_eq!(reset.expect(200)["storage"]["quota_is_default"], true);

    // Each change of quota is in the platform's audit trail.
    let trail = k.get("/admin/audit?action=tenant.quota").await;
    let entries = trail.expect(200)["entries"].as_array().unwrap().len();
    assert_eq!(entries, 5, "each set, and the reset: {}", trail.body);
    k.stop().await;
}
