//! `/metrics`: what an operator's Prometheus scrapes, and who may.

use std::time::{Duration, Instant};

use keel_tests::{Setup, TestKernel};
use serde_json::json;

const TOKEN: &str = "scrape-secret-0123456789";

/// The sum of the samples of `name` whose labels include every one of
/// `labels`, as Prometheus would read them from `text`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            let wanted = metric == name
                && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

async fn scrape(k: &TestKernel, token: Option<&str>) -> reqwest::Response {
    let mut request = k.client().get(format!("{}/metrics", k.base()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn scraped(k: &TestKernel) -> String {
    let response = scrape(k, Some(TOKEN)).await;
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_only_their_token_and_count_what_the_kernel_did() {
    let mut setup = Setup::new(&["rogue", "ticker", "tally"]);
    setup.metrics_token = Some(TOKEN.to_owned());
    let k = TestKernel::start(setup).await;

    // Neither anonymous callers nor users' sessions read the metrics.
    for token in [None, Some("wrong"), Some(k.admin_token())] {
        let refused = scrape(&k, token).await;
        assert_eq!(refused.status(), 401, "{token:?}");
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
    }

    // Writes, a plugin's error, a trap, a delivery and a dead letter.
    k.post("/api/demo/ticker/ticks", json!({ "key": "one" })).await.expect(201);
    k.post("/api/demo/ticker/ticks", json!({ "key": "broken", "fail": true })).await.expect(201);
    k.post("/api/demo/rogue/notes/n1/fail", json!(null)).await;
    k.post("/api/demo/rogue/trap", json!(null)).await.expect_problem(500, "plugin-trapped");
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = scraped(&k).await;
        if sample(&text, "keel_event_dead_letters_total", &[("subscriber", "plugin")]) >= 1.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "no dead letter counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let requests = "keel_http_request_duration_seconds_count";
    let posted =
        [("route", "/api/{tenant}/{plugin}/{*path}"), ("method", "POST"), ("status", "201")];
    assert!(sample(&text, requests, &posted) >= 2.0, "{text}");
    let refused = [("route", "/metrics"), ("status", "401")];
    assert!(sample(&text, requests, &refused) >= 3.0, "{text}");
    assert!(!text.contains("n1"), "paths never become labels");

    let calls = "keel_plugin_call_duration_seconds_count";
    for (plugin, outcome) in [("ticker", "ok"), ("rogue", "error"), ("rogue", "trap")] {
        let labels = [("plugin", plugin), ("tenant", "demo"), ("outcome", outcome)];
        assert!(sample(&text, calls, &labels) >= 1.0, "{plugin} {outcome}:\n{text}");
    }
    assert!(sample(&text, "keel_storage_log_sync_seconds_count", &[]) >= 2.0, "{text}");
    assert!(sample(&text, "keel_storage_commit_batch_commits_sum", &[]) >= 2.0, "{text}");
    let lag = [("subscriber", "plugin")];
    assert!(sample(&text, "keel_event_delivery_lag_seconds_count", &lag) >= 1.0, "{text}");
    let hits = [("cache", "hit")];
    assert!(sample(&text, "keel_authz_decisions_total", &hits) >= 1.0, "{text}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_the_api_unless_asked_for_and_may_have_a_listener_of_their_own() {
    let mut setup = Setup::new(&["ticker"]);
    setup.metrics_listener = true;
    let k = TestKernel::start(setup).await;
    // No token set: the API's listener does not serve them at all.
    let off = scrape(&k, None).await;
    assert_eq!(off.status(), 404);
    assert!(off.text().await.unwrap().contains("KEEL_METRICS_TOKEN"));

    let base = k.metrics_base().expect("a metrics listener");
    k.post("/api/demo/ticker/ticks", json!({ "key": "one" })).await.expect(201);
    let open = k.client().get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(open.status(), 200);
    let text = open.text().await.unwrap();
    assert!(sample(&text, "keel_plugin_call_duration_seconds_count", &[]) >= 1.0, "{text}");
    // That listener serves nothing else.
    let api = k.client().get(format!("{base}/api/demo/ticker/ticks")).send().await.unwrap();
    assert_eq!(api.status(), 404);
    k.stop().await;
}
