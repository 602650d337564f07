//! Durable events: published with the change they report, delivered at
//! least once and in order, retried, dead-lettered and replayed.

use std::time::{Duration, Instant};

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const TICKS: &str = "/api/demo/ticker/ticks";

/// What the subscriber has, once `done` says it is complete (or after 10 s).
async fn seen_when(k: &TestKernel, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let seen = k.get("/api/demo/tally/seen").await.expect(200).clone();
        if done(&seen) || started.elapsed() > Duration::from_secs(10) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn keys(seen: &Value) -> Vec<&str> {
    seen["seen"].as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect()
}

async fn audit_actions(k: &TestKernel) -> Vec<String> {
    k.audit_actions("demo", "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_delivered_once_in_order_only_when_their_change_commits() {
    let k = TestKernel::start(Setup::new(&["ticker", "tally"])).await;
    for n in 1..=5 {
        k.post(TICKS, json!({ "key": format!("tick-{n}"), "n": n })).await.expect(201);
    }
    // The same key again publishes nothing.
    k.post(TICKS, json!({ "key": "tick-1", "n": 99 })).await.expect(201);
    // A call that fails after publishing publishes nothing; a read cannot publish.
    k.post(&format!("{TICKS}/failing"), json!({ "key": "never" }))
        .await
        .expect_problem(422, "invalid");
    k.get(&format!("{TICKS}/reading")).await.expect_problem(403, "denied");
    k.post(TICKS, json!({ "key": "tick-6", "n": 6 })).await.expect(201);

    let seen = seen_when(&k, |s| s["seen"].as_array().unwrap().len() >= 6).await;
    assert_eq!(keys(&seen), ["tick-1", "tick-2", "tick-3", "tick-4", "tick-5", "tick-6"]);
    assert_eq!(seen["seen"][0]["payload"]["n"], 1, "the first publication of a key wins");
    assert_eq!(seen["seen"][0]["publisher"], "ticker");
    assert_eq!(seen["seen"][0]["attempt"], 1);
    assert_eq!(seen["duplicates"], 0);
    let ids: Vec<u64> =
        seen["seen"].as_array().unwrap().iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6], "the failed call's event was never numbered");

    let actions = audit_actions(&k).await;
    let count = |action: &str| actions.iter().filter(|a| *a == action).count();
    assert_eq!((count("event.publish"), count("event.deliver")), (6, 6), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_to_a_tenant_at_its_storage_quota_wait_and_are_not_dead_lettered() {
    let mut setup = Setup::new(&["ticker", "tally"]);
    setup.event_attempts_max = 8;
    // A full tenant's deliveries wait 30 s unless its quota changes.
    setup.event_retry_max = Duration::from_secs(60);
    let k = TestKernel::start(setup).await;
    // Fails five attempts (about half a second), then would keep it...
    k.post(TICKS, json!({ "key": "late", "fail_until": 6 })).await.expect(201);
    // ...but meanwhile the tenant reaches its quota.
    let demo = k.get("/admin/tenants/demo").await;
    let stored = demo.expect(200)["storage"]["stored_bytes"].as_u64().unwrap();
    let quota = "/admin/tenants/demo/storage-quota";
    k.send("PUT", quota, Some(json!({ "storage_bytes": stored }))).await.expect(200);
    // Refused many times over, it is neither kept nor dead-lettered.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(keys(&k.get("/api/demo/tally/seen").await.expect(200).clone()), Vec::<&str>::new());
    let letters = k.get("/admin/tenants/demo/dead-letters").await;
    assert_eq!(letters.expect(200)["dead_letters"], json!([]), "no attempt spent on the quota");
    // Room again, and it is delivered at once, on the sixth attempt.
    k.send("DELETE", quota, None).await.expect(200);
    let seen = seen_when(&k, |s| keys(s).contains(&"late")).await;
    assert_eq!(seen["seen"][0]["attempt"], 6, "{seen}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_delivery_is_retried_then_dead_lettered_and_replayed() {
    let k = TestKernel::start(Setup::new(&["ticker", "tally"])).await;
    // Fails twice, succeeds on the third of three attempts.
    k.post(TICKS, json!({ "key": "flaky", "fail_until": 3 })).await.expect(201);
    let seen = seen_when(&k, |s| keys(s).contains(&"flaky")).await;
    assert_eq!(seen["seen"][0]["attempt"], 3, "{seen}");

    // Fails every time: a dead letter after three attempts, and the topic
    // moves on to the next event.
    k.post(TICKS, json!({ "key": "broken", "fail": true })).await.expect(201);
    k.post(TICKS, json!({ "key": "after" })).await.expect(201);
    let seen = seen_when(&k, |s| keys(s).contains(&"after")).await;
    assert_eq!(keys(&seen), ["flaky", "after"]);

    let letters = k.get("/admin/tenants/demo/dead-letters").await;
    let letters = letters.expect(200)["dead_letters"].as_array().unwrap().clone();
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(
        (letter["id"].as_str(), letter["subscriber"].as_str()),
        (Some("2-tally"), Some("tally"))
    );
    assert_eq!(
        (letter["topic"].as_str(), letter["key"].as_str()),
        (Some("ticker.tick"), Some("broken"))
    );
    assert_eq!(letter["attempts"], 3);
    assert!(letter["error"].as_str().unwrap().contains("failing until healed"), "{letter}");
    let one = k.get("/admin/tenants/demo/dead-letters/2-tally").await;
    assert_eq!(one.expect(200), letter);
    k.get("/admin/tenants/demo/dead-letters/9-tally").await.expect_problem(404, "not-found");
    // Pruning takes the delivered events, never one a dead letter replays.
    assert_eq!(prune(&k, Duration::ZERO).await, 2, "flaky and after go; broken stays");

    // Replaying while the subscriber still fails keeps the letter, with the new error.
    let replay = "/admin/tenants/demo/dead-letters/2-tally/replay";
    k.post(replay, json!(null)).await.expect_problem(422, "invalid");
    let kept = k.get("/admin/tenants/demo/dead-letters/2-tally").await;
    assert_eq!(kept.expect(200)["attempts"], 4);

    // Healed, the replay delivers it and the letter is gone.
    k.post("/api/demo/tally/heal", json!(null)).await.expect(200);
    k.post(replay, json!(null)).await.expect(200);
    let seen = k.get("/api/demo/tally/seen").await;
    assert_eq!(keys(seen.expect(200)), ["flaky", "broken", "after"]);
    assert_eq!(seen.expect(200)["seen"][1]["attempt"], 5);
    k.get("/admin/tenants/demo/dead-letters/2-tally").await.expect_problem(404, "not-found");
    let letters = k.get("/admin/tenants/demo/dead-letters").await;
    assert_eq!(letters.expect(200)["dead_letters"], json!([]));

    let actions = audit_actions(&k).await;
    for action in ["event.retry", "event.dead-letter", "event.replay-failed", "event.replay"] {
        assert!(actions.iter().any(|a| a == action), "{action} missing from {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_delivery_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["ticker", "tally"])).await;
    // Forty events in one call; a stop once five are delivered, while the
    // dispatcher is still at work (it had delivered 5 to 9 in trial runs).
    k.post(&format!("{TICKS}/burst"), json!({ "count": 40 })).await.expect(201);
    let before = seen_when(&k, |s| s["seen"].as_array().unwrap().len() >= 5).await;
    let before = before["seen"].as_array().unwrap().len();
    k.stop().await;
    let k = TestKernel::start_in(dir.path(), Setup::new(&["ticker", "tally"])).await;
    let seen = seen_when(&k, |s| s["seen"].as_array().unwrap().len() >= 40).await;
    let expected: Vec<String> = (1..=40).map(|n| format!("t{n:02}")).collect();
    assert_eq!(keys(&seen), expected, "{before} had been delivered before the restart");
    assert_eq!(seen["duplicates"], 0);
}

/// A clock a test moves by hand.
#[derive(Debug)]
struct Moved(std::sync::atomic::AtomicI64);

impl keel_types::Clock for Moved {
    fn now(&self) -> keel_types::Timestamp {
        let seconds = self.0.load(std::sync::atomic::Ordering::SeqCst);
        keel_types::Timestamp { seconds, nanoseconds: 0 }
    }
}

async fn prune(k: &TestKernel, retention: Duration) -> usize {
    let host = k.host().clone();
    tokio::task::spawn_blocking(move || host.prune_events(retention)).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_events_are_pruned_once_older_than_the_retention() {
    let clock = std::sync::Arc::new(Moved(1_900_000_000.into()));
    let mut setup = Setup::new(&["ticker", "tally"]);
    setup.clock = Some(clock.clone());
    let k = TestKernel::start(setup).await;
    let week = Duration::from_secs(7 * 24 * 3600);
    for n in 1..=3 {
        k.post(TICKS, json!({ "key": format!("tick-{n}"), "n": n })).await.expect(201);
    }
    seen_when(&k, |s| s["seen"].as_array().unwrap().len() >= 3).await;
    assert_eq!(prune(&k, week).await, 0, "delivered, but not a week old");

    clock.0.fetch_add(8 * 24 * 3600, std::sync::atomic::Ordering::SeqCst);
    k.post(TICKS, json!({ "key": "tick-4", "n": 4 })).await.expect(201);
    seen_when(&k, |s| s["seen"].as_array().unwrap().len() >= 4).await;
    assert_eq!(prune(&k, week).await, 3, "the three old ones go; the new one stays");
    assert_eq!(prune(&k, week).await, 0);
    let actions = audit_actions(&k).await;
    assert_eq!(actions.iter().filter(|a| *a == "event.prune").count(), 1, "{actions:?}");
    assert_eq!(k.get("/admin/tenants/demo/audit/verify").await.expect(200)["ok"], true);

    // The kept event still deduplicates its key; delivery goes on.
    k.post(TICKS, json!({ "key": "tick-4", "n": 40 })).await.expect(201);
    k.post(TICKS, json!({ "key": "tick-5", "n": 5 })).await.expect(201);
    let seen = seen_when(&k, |s| s["seen"].as_array().unwrap().len() >= 5).await;
    assert_eq!(keys(&seen), ["tick-1", "tick-2", "tick-3", "tick-4", "tick-5"]);
    assert_eq!(seen["duplicates"], 0);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_a_subscriber_has_not_had_are_kept_however_old() {
    // The clock stands still, so a failed delivery's retry never comes due.
    let clock = std::sync::Arc::new(Moved(1_900_000_000.into()));
    let mut setup = Setup::new(&["ticker", "tally"]);
    setup.clock = Some(clock);
    let k = TestKernel::start(setup).await;
    k.post(TICKS, json!({ "key": "fine", "n": 1 })).await.expect(201);
    seen_when(&k, |s| !s["seen"].as_array().unwrap().is_empty()).await;
    k.post(TICKS, json!({ "key": "broken", "fail": true })).await.expect(201);
    let started = Instant::now();
    while !audit_actions(&k).await.iter().any(|a| a == "event.retry") {
        assert!(started.elapsed() < Duration::from_secs(10), "the delivery never failed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(prune(&k, Duration::ZERO).await, 1, "only the delivered event goes");
    assert_eq!(prune(&k, Duration::ZERO).await, 0, "the one still owed stays");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_kept_for_idempotency_keys_are_pruned_after_a_day() {
    let clock = std::sync::Arc::new(Moved(1_900_000_000.into()));
    let mut setup = Setup::new(&["ticker"]);
    setup.clock = Some(clock.clone());
    let k = TestKernel::start(setup).await;
    let send = || {
        k.request(reqwest::Method::POST, TICKS)
            .header("idempotency-key", "tick-batch-1")
            .header("content-type", "application/json")
            .body(json!({ "key": "t1", "n": 1 }).to_string())
            .send()
    };
    let replayed = |r: &reqwest::Response| r.headers().contains_key("idempotent-replayed");
    assert!(!replayed(&send().await.unwrap()));
    assert!(replayed(&send().await.unwrap()));
    let host = k.host().clone();
    let prune = move || host.prune_idempotency().unwrap();
    let pruned = tokio::task::spawn_blocking(prune.clone()).await.unwrap();
    assert_eq!(pruned, 0, "kept for a day");

    clock.0.fetch_add(25 * 3600, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(tokio::task::spawn_blocking(prune).await.unwrap(), 1, "the stale answer goes");
    assert!(!replayed(&send().await.unwrap()), "a day on, the key is not remembered");
    let actions = audit_actions(&k).await;
    assert!(actions.iter().any(|a| a == "idempotency.prune"), "{actions:?}");
    assert_eq!(k.get("/admin/tenants/demo/audit/verify").await.expect(200)["ok"], true);
    k.stop().await;
}
