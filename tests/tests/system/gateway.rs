//! Routing, errors, limits and request ids at the HTTP boundary.

use std::time::Duration;

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

/// The benchmark's native baseline route is absent unless asked for, and
/// when present it answers what the plugin answers, behind the same gate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_bench_route_is_off_by_default_and_gated_like_the_plugin() {
    let native = "/bench/native/demo/finance/entries/1";
    let off = TestKernel::start(Setup::new(&["finance"])).await;
    off.get(native).await.expect_problem(404, "not-found");
    off.stop().await;

    let k =
        TestKernel::start(Setup { bench_routes: true, ..Setup::new(&["finance", "hello"]) }).await;
    k.post("/api/demo/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);
    let entry = json!({ "date": "2026-11-10", "memo": "Rent", "lines": [
        { "account": "6100", "debit": "800.00" }, { "account": "1100", "credit": "800.00" }]});
    k.post("/api/demo/finance/entries", entry).await.expect(201);
    let through_wasm = k.get("/api/demo/finance/entries/1").await;
    assert_eq!(k.get(native).await.expect(200), through_wasm.expect(200));

    k.send_as(None, "GET", native, None).await.expect_problem(401, "unauthenticated");
    // Not a member: the same 404 as a tenant that does not exist.
    k.post(
        "/admin/users",
        json!({ "id": "nora", "name": "Nora", "password": "nora has a long password" }),
    )
    .await
    .expect(201);
    let nora = k.login("nora", "nora has a long password").await;
    k.send_as(Some(&nora), "GET", native, None).await.expect_problem(404, "not-found");
    // A member without finance.reports.read: 403, as on the plugin route.
    k.send(
        "PUT",
        "/admin/tenants/demo/roles/greeter",
        Some(json!({ "permissions": ["hello.greet"] })),
    )
    .await
    .expect(200);
    let greeter = k.user_with_roles("gary", "demo", &["greeter"]).await;
    k.send_as(Some(&greeter), "GET", native, None).await.expect_problem(403, "forbidden");
    k.send_as(Some(&greeter), "GET", "/api/demo/finance/entries/1", None)
        .await
        .expect_problem(403, "forbidden");
    let clerk = k.user_with_roles("carl", "demo", &["bookkeeper"]).await;
    k.send_as(Some(&clerk), "GET", native, None).await.expect(200);
    k.send_as(Some(&clerk), "GET", "/bench/native/demo/finance/entries/99", None)
        .await
        .expect_problem(404, "not-found");
    k.send_as(Some(&clerk), "GET", "/bench/native/demo/finance/entries/x", None)
        .await
        .expect_problem(400, "bad-request");
    k.stop().await;
}

/// Opens a connection to the kernel and sends `bytes`, then nothing more.
async fn stall_after(k: &TestKernel, bytes: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let addr = k.base().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    stream.write_all(bytes.as_bytes()).await.expect("sends");
    stream
}

/// What the server sends before it closes `stream`; none if it keeps it
/// open past `wait`.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, wait: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    match tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_everyone_else_is_served() {
    let http = keel::HttpLimits {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        connections_max: 8,
    };
    let k = TestKernel::start(Setup { http, ..Setup::new(&["finance"]) }).await;
    // More slow clients than the kernel serves at once: some send part of
    // their headers, some nothing at all, one its headers and part of a body.
    let mut slow = Vec::new();
    for n in 0..12 {
        let partial =
            if n % 2 == 0 { "GET /healthz HTTP/1.1\r\nHost: keel\r\nX-Slow: " } else { "" };
        slow.push(stall_after(&k, partial).await);
    }
    let login = "POST /auth/login HTTP/1.1\r\nHost: keel\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user\":";
    let mut slow_body = stall_after(&k, login).await;

    // Everyone else is served meanwhile, once the slow ones are cut off.
    let health = tokio::time::timeout(Duration::from_secs(20), k.get("/healthz")).await;
    assert_eq!(
        health.expect("healthz answers while slow clients wait").expect(200)["status"],
        "ok"
    );
    for (n, stream) in slow.iter_mut().enumerate() {
        let closed = read_until_closed(stream, Duration::from_secs(20)).await;
        assert!(closed.is_some(), "slow client {n} is disconnected");
    }
    let answer = read_until_closed(&mut slow_body, Duration::from_secs(20)).await;
    let answer = answer.expect("a slow body is answered and the connection closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body-timeout"), "{answer}");
    k.get("/healthz").await.expect(200);
    k.stop().await;
}
