//! Outbound webhooks: each event of a subscribed topic posted, signed, in
//! order, to an endpoint that fails and recovers; dead letters replayed;
//! endpoints on this machine or private networks refused unless allowed;
//! secrets shown once and never stored in clear.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const TICKS: &str = "/api/demo/ticker/ticks";
const WEBHOOKS: &str = "/admin/tenants/demo/webhooks";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
    /// What it answered.
    ok: bool,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a delivery's body is JSON")
    }
}

/// A webhook receiver on loopback that answers 500 while `down`.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
}

impl Receiver {
    async fn start() -> (Self, SocketAddr) {
        let receiver = Self::default();
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let state = state.clone();
                async move {
                    let ok = !state.down.load(Ordering::SeqCst);
                    let got = Received { headers, body: body.to_vec(), ok };
                    state.got.lock().unwrap().push(got);
                    if ok { StatusCode::NO_CONTENT } else { StatusCode::INTERNAL_SERVER_ERROR }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, addr)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn delivered(&self) -> Vec<Received> {
        self.got().into_iter().filter(|r| r.ok).collect()
    }

    /// Waits (10 s at most) until `done` holds of what it got.
    async fn until(&self, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.got();
            if done(&got) || started.elapsed() > Duration::from_secs(10) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn keys(received: &[Received]) -> Vec<String> {
    received.iter().map(|r| r.json()["key"].as_str().unwrap().to_owned()).collect()
}

fn now_s() -> i64 {
    #[expect(clippy::disallowed_methods, reason = "the receiver checks against its own clock")]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn verify(secret: &str, received: &Received) -> Result<(), String> {
    let header = received.header("keel-signature");
    keel_webhooks::verify(secret, header, &received.body, now_s(), keel_webhooks::TOLERANCE_S)
}

/// Prunes delivered events at once; returns how many went.
async fn prune(k: &TestKernel) -> usize {
    let host = k.host().clone();
    tokio::task::spawn_blocking(move || host.prune_events(Duration::ZERO)).await.unwrap().unwrap()
}

fn allowing_loopback(plugins: &[&'static str]) -> Setup {
    let mut setup = Setup::new(plugins);
    setup.webhook_allow_hosts = vec!["127.0.0.1".to_owned()];
    setup
}

/// Subscribes the receiver at `addr` to ticks; returns the webhook and its secret.
async fn subscribe(k: &TestKernel, addr: SocketAddr) -> (Value, String) {
    let body = json!({ "url": format!("http://{addr}/hook"), "topics": ["ticker.tick"], "description": "ticks" });
    let created = k.post(WEBHOOKS, body).await;
    let created = created.expect(201);
    let secret = created["secret"].as_str().unwrap().to_owned();
    (created["webhook"].clone(), secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_gets_each_event_signed_and_in_order_through_an_outage() {
    let mut setup = allowing_loopback(&["ticker"]);
    setup.event_attempts_max = 1_000;
    let k = TestKernel::start(setup).await;
    // Published before the webhook: not delivered to it.
    k.post(TICKS, json!({ "key": "before" })).await.expect(201);
    let (receiver, addr) = Receiver::start().await;
    let (webhook, secret) = subscribe(&k, addr).await;
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
    assert_eq!((webhook["id"].as_u64(), webhook["active"].as_bool()), (Some(1), Some(true)));

    // The receiver is down: the first event is tried again and again, and
    // the second waits behind it.
    receiver.down.store(true, Ordering::SeqCst);
    k.post(TICKS, json!({ "key": "tick-1", "n": 1 })).await.expect(201);
    k.post(TICKS, json!({ "key": "tick-2", "n": 2 })).await.expect(201);
    let failed = receiver.until(|got| got.len() >= 3).await;
    assert!(failed.len() >= 3, "retried while down: {failed:?}");
    // Pruning keeps what the webhook has yet to receive (only the event
    // from before it subscribed goes).
    assert_eq!(prune(&k).await, 1);
    assert_eq!(keys(&failed).iter().collect::<std::collections::HashSet<_>>().len(), 1, "in order");
    let shown = k.get(&format!("{WEBHOOKS}/1")).await;
    let failing = &shown.expect(200)["delivery"][0]["failing"];
    assert!(failing["error"].as_str().unwrap().contains("500"), "{shown:?}", shown = shown.body);

    // It recovers: everything arrives once, in order, with the same event
    // id on every attempt, signed with the secret.
    receiver.down.store(false, Ordering::SeqCst);
    k.post(TICKS, json!({ "key": "tick-3", "n": 3 })).await.expect(201);
    receiver.until(|got| got.iter().filter(|r| r.ok).count() >= 3).await;
    let delivered = receiver.delivered();
    assert_eq!(keys(&delivered), ["tick-1", "tick-2", "tick-3"]);
    let first = &delivered[0];
    assert!(first.header("keel-delivery-attempt").parse::<u32>().unwrap() > 1);
    let attempts_of_first: Vec<Received> =
        receiver.got().into_iter().filter(|r| r.json()["key"] == "tick-1").collect();
    assert!(
        attempts_of_first
            .iter()
            .all(|r| r.header("keel-event-id") == first.header("keel-event-id"))
    );
    assert!(attempts_of_first.iter().all(|r| r.body == first.body), "the body never changes");
    for received in &delivered {
        verify(&secret, received).unwrap();
        let body = received.json();
        assert_eq!(received.header("keel-event-id"), body["id"].as_str().unwrap());
        assert_eq!(received.header("idempotency-key"), body["id"].as_str().unwrap());
        assert_eq!(received.header("content-type"), "application/json");
        assert_eq!(received.header("keel-topic"), "ticker.tick");
        assert_eq!(
            (body["tenant"].as_str(), body["publisher"].as_str()),
            (Some("demo"), Some("ticker"))
        );
    }
    assert_eq!(delivered[2].json()["data"]["n"], 3);
    assert_eq!(delivered[0].json()["id"], "demo:2", "event 1 was published before");
    // A body signed with another secret, or changed, does not verify.
    assert!(verify("whsec_another", first).is_err());
    let mut changed = first.clone();
    changed.body = changed.body.iter().map(|b| if *b == b'1' { b'9' } else { *b }).collect();
    assert!(verify(&secret, &changed).is_err());

    // The receiver has the last one a moment before the kernel records it
    // as delivered (it posts, then commits its cursor).
    let started = Instant::now();
    let delivery = loop {
        let shown = k.get(&format!("{WEBHOOKS}/1")).await;
        let delivery = shown.expect(200)["delivery"][0].clone();
        if delivery["delivered_through"] == 4 || started.elapsed() > Duration::from_secs(10) {
            break delivery;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((delivery["delivered_through"].as_u64(), delivery.get("failing")), (Some(4), None));
    assert_eq!(prune(&k).await, 3, "delivered, they go");
    let actions = k.audit_actions("demo", "").await;
    for action in ["webhook.create", "event.retry", "event.deliver"] {
        assert!(actions.iter().any(|a| a == action), "{action} missing from {actions:?}");
    }
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_dead_letter_is_replayed_and_a_paused_webhook_waits() {
    let k = TestKernel::start(allowing_loopback(&["ticker"])).await;
    let (receiver, addr) = Receiver::start().await;
    let (_, secret) = subscribe(&k, addr).await;

    // Three attempts (the test kernel's limit), then a dead letter.
    receiver.down.store(true, Ordering::SeqCst);
    k.post(TICKS, json!({ "key": "lost" })).await.expect(201);
    receiver.until(|got| got.len() >= 3).await;
    let letter = "/admin/tenants/demo/dead-letters/1-webhook.1";
    let started = Instant::now();
    while k.get(letter).await.status != 200 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = k.get(letter).await;
    let dead = dead.expect(200);
    assert_eq!(
        (dead["subscriber"].as_str(), dead["attempts"].as_u64()),
        (Some("webhook.1"), Some(3))
    );
    assert!(dead["error"].as_str().unwrap().contains("500 Internal Server Error"), "{dead}");

    // Replaying posts outside: those who manage plugins but not webhooks may not.
    let role = json!({ "permissions": ["keel.plugins.manage"] });
    k.send("PUT", "/admin/tenants/demo/roles/plugin-admin", Some(role)).await.expect(200);
    let plugin_admin = k.user_with_roles("pat", "demo", &["plugin-admin"]).await;
    let replay = format!("{letter}/replay");
    let refused = k.send_as(Some(&plugin_admin), "POST", &replay, None).await;
    assert!(refused.expect_problem(403, "forbidden").contains("keel.webhooks.manage"));

    // Replayed while the receiver is still down: it stays, with one more attempt.
    k.post(&format!("{letter}/replay"), json!(null)).await.expect_problem(422, "invalid");
    assert_eq!(k.get(letter).await.expect(200)["attempts"], 4);
    receiver.down.store(false, Ordering::SeqCst);
    k.post(&format!("{letter}/replay"), json!(null)).await.expect(200);
    k.get(letter).await.expect_problem(404, "not-found");
    assert_eq!(keys(&receiver.delivered()), ["lost"]);
    assert_eq!(receiver.delivered()[0].header("keel-delivery-attempt"), "5");

    // Paused, its events wait; resumed, they arrive.
    let one = format!("{WEBHOOKS}/1");
    let paused = k.send("PATCH", &one, Some(json!({ "active": false }))).await;
    assert_eq!(paused.expect(200)["active"], false);
    k.post(TICKS, json!({ "key": "while-paused" })).await.expect(201);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(keys(&receiver.delivered()), ["lost"]);
    k.send("PATCH", &one, Some(json!({ "active": true }))).await.expect(200);
    receiver.until(|got| got.iter().filter(|r| r.ok).count() >= 2).await;
    assert_eq!(keys(&receiver.delivered()), ["lost", "while-paused"]);

    // A new secret signs what follows; the old one no longer verifies.
    let rotated = k.post(&format!("{one}/rotate-secret"), json!(null)).await;
    let new_secret = rotated.expect(200)["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    k.post(TICKS, json!({ "key": "rotated" })).await.expect(201);
    let got = receiver.until(|got| got.iter().filter(|r| r.ok).count() >= 3).await;
    let last = got.iter().rfind(|r| r.ok).unwrap();
    verify(&new_secret, last).unwrap();
    assert!(verify(&secret, last).is_err());

    // Deleted, it receives nothing more, and is gone.
    k.send("DELETE", &one, None).await.expect(204);
    k.post(TICKS, json!({ "key": "after-delete" })).await.expect(201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(keys(&receiver.delivered()), ["lost", "while-paused", "rotated"]);
    k.get(&one).await.expect_problem(404, "not-found");
    let actions = k.audit_actions("demo", "webhook.").await;
    assert_eq!(
        actions,
        [
            "webhook.create",
            "webhook.update",
            "webhook.update",
            "webhook.rotate-secret",
            "webhook.delete"
        ]
    );
    let replays = k.audit_actions("demo", "event.replay").await;
    assert_eq!(replays, ["event.replay-failed", "event.replay"]);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_on_this_machine_or_private_networks_are_refused_unless_allowed() {
    let k = TestKernel::start(Setup::new(&["ticker"])).await;
    let (receiver, addr) = Receiver::start().await;
    for url in [
        format!("http://{addr}/hook"),
        format!("http://localhost:{}/hook", addr.port()),
        "http://[::1]/hook".to_owned(),
        "http://10.0.0.8/hook".to_owned(),
        "http://192.168.1.20/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00:ec2::254]/".to_owned(),
        "http://[::ffff:127.0.0.1]/".to_owned(),
        "http://2130706433/".to_owned(),
    ] {
        let body = json!({ "url": url, "topics": ["ticker.tick"] });
        let detail = k.post(WEBHOOKS, body).await.expect_problem(422, "invalid");
        assert!(detail.contains("--webhook-allow-host"), "{url}: {detail}");
    }
    for (body, expected) in [
        (json!({ "url": "ftp://example.com/", "topics": ["ticker.tick"] }), "only http and https"),
        (json!({ "url": "https://u:p@example.com/", "topics": ["ticker.tick"] }), "no credentials"),
        (json!({ "url": "https://example.com/", "topics": [] }), "1 to 64 topics"),
        (json!({ "url": "https://example.com/", "topics": ["Tick"] }), "topics[0]"),
        (json!({ "url": "https://example.com/", "topics": ["a.b", "a.b"] }), "listed twice"),
    ] {
        let detail = k.post(WEBHOOKS, body.clone()).await.expect_problem(422, "invalid");
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    assert_eq!(k.get(WEBHOOKS).await.expect(200)["webhooks"], json!([]));
    assert_eq!(k.audit_actions("demo", "webhook.").await, Vec::<String>::new());

    // Only those who may manage webhooks see or change them.
    let clerk = k.user_with_roles("clerk", "demo", &["auditor"]).await;
    let listed = k.send_as(Some(&clerk), "GET", WEBHOOKS, None).await;
    listed.expect_problem(403, "forbidden");
    let body = json!({ "url": "https://example.com/", "topics": ["ticker.tick"] });
    k.send_as(Some(&clerk), "POST", WEBHOOKS, Some(body)).await.expect_problem(403, "forbidden");
    k.send_as(None, "GET", WEBHOOKS, None).await.expect_problem(401, "unauthenticated");
    drop(receiver);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_secret_is_shown_once_and_never_stored_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), allowing_loopback(&["ticker"])).await;
    let (receiver, addr) = Receiver::start().await;
    let (_, secret) = subscribe(&k, addr).await;
    for path in [WEBHOOKS.to_owned(), format!("{WEBHOOKS}/1")] {
        let shown = k.get(&path).await;
        assert!(!shown.expect(200).to_string().contains(&secret), "{path} shows the secret");
    }
    k.stop().await;

    // Neither the database, its log nor anything else in the data
    // directory holds the secret (the key that seals it lives beside it
    // by default; --secrets-key keeps it elsewhere).
    let mut stack = vec![dir.path().to_path_buf()];
    let mut n_files = 0;
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{} holds the secret in clear", path.display());
            n_files += 1;
        }
    }
    assert!(n_files > 3, "the data directory was searched");

    // Restarted, the sealed secret still signs deliveries.
    let k = TestKernel::start_in(dir.path(), allowing_loopback(&["ticker"])).await;
    k.post(TICKS, json!({ "key": "after-restart" })).await.expect(201);
    let got = receiver.until(|got| got.iter().any(|r| r.ok)).await;
    let delivered: Vec<&Received> = got.iter().filter(|r| r.ok).collect();
    assert_eq!(delivered.len(), 1, "{got:?}");
    verify(&secret, delivered[0]).unwrap();
    k.stop().await;
}
