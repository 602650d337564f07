//! One tenant's misbehaving module never holds up another tenant: its
//! looping writes, its looping subscriber, and its calls the gateway gave
//! up on stay in its own lane. A failed log sync is never acknowledged,
//! and a restart keeps everything that was.

use std::time::{Duration, Instant};

use keel_tests::{Reply, Setup, TestKernel};
use serde_json::{Value, json};

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
    tokio::time::sleep(Duration::from_millis(200)).await;
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
    tokio::time::sleep(Duration::from_millis(100)).await;
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
    k.host().storage().inject(keel_storage::Fault::LogSync);
    let failed = k.post(&format!("{DEMO}/entries"), entry(4)).await;
    assert_eq!(failed.status, 500, "a write whose sync failed is not acknowledged");
    // From then on the kernel refuses writes rather than risk them; reads go on.
    assert_eq!(k.post(&format!("{DEMO}/entries"), entry(5)).await.status, 500);
    k.get(&format!("{DEMO}/entries/3")).await.expect(200);
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
