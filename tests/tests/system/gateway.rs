//! Routing, errors, limits and request ids at the HTTP boundary.

use keel_tests::{Reply, Setup, TestKernel};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_are_404_problems_and_wrong_methods_405() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let health = k.get("/healthz").await;
    assert_eq!(health.expect(200)["status"], "ok");
    for path in [
        "/nothing",
        "/api/nobody/finance/accounts",
        "/api/demo/payroll/accounts",
        "/api/demo/finance/ledgers",
        "/api/demo/finance/accounts/1000/balance/extra",
        "/api/demo/finance",
        "/api/Demo/finance/accounts",
    ] {
        k.get(path).await.expect_problem(404, "not-found");
    }
    let reply = k.send("DELETE", "/api/demo/finance/accounts", None).await;
    reply.expect_problem(405, "method-not-allowed");
    let raw =
        k.request(reqwest::Method::DELETE, "/api/demo/finance/accounts").send().await.unwrap();
    assert_eq!(raw.headers()["allow"], "GET, POST");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_echoed_or_generated() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let url = "/api/demo/finance/accounts";
    let mine = k
        .request(reqwest::Method::GET, url)
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "trace-42");
    let generated = Reply::from(k.request(reqwest::Method::GET, url).send().await.unwrap()).await;
    let id = generated.request_id.expect("a generated request id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let bad = k
        .request(reqwest::Method::GET, url)
        .header("x-request-id", "has spaces in it")
        .send()
        .await
        .unwrap();
    assert_ne!(bad.headers()["x-request-id"], "has spaces in it");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413_and_change_nothing() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let name = "x".repeat(1024 * 1024 + 64 * 1024);
    let huge = json!({ "code": "1000", "name": name, "type": "asset", "currency": "EUR" });
    k.post("/api/demo/finance/accounts", huge).await.expect_problem(413, "body-too-large");
    k.get("/api/demo/finance/accounts/1000").await.expect_problem(404, "not-found");
    k.stop().await;
}
