//! Routing, errors, limits and request ids at the HTTP boundary.

use std::time::Duration;

use keel_tests::{Reply, Setup, TestKernel};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_are_404_problems_and_wrong_methods_405() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let health = k.get("/healthz").await;
    assert_eq!(health.expect(200)["status"], "ok");
    assert_eq!(k.get("/readyz").await.expect(200)["status"], "ready");
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
    let addr = k.base().trim_start_matches("http://").parse().unwrap();
    stall_after_addr(addr, bytes).await
}

/// Opens a connection to `addr` and sends `bytes`, then nothing more.
async fn stall_after_addr(addr: std::net::SocketAddr, bytes: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
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

/// A self-signed certificate for `localhost` and 127.0.0.1, as PEM
/// certificate and key, and the certificate as a client would trust it.
fn certificate() -> (String, String, rustls::pki_types::CertificateDer<'static>) {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(names).unwrap();
    (cert.pem(), key_pair.serialize_pem(), cert.der().clone())
}

/// Asks `addr` for `/healthz` over TLS, trusting only `trusted`; the
/// answer, or why the connection failed.
async fn https_health(
    addr: std::net::SocketAddr,
    trusted: &rustls::pki_types::CertificateDer<'static>,
) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
    let request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    tls.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await.map_err(|e| e.to_string())?;
    Ok(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_served_with_a_certificate_that_a_hangup_renews() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (cert, key, first) = certificate();
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let mut config = keel::Config::new(dir.path().join("data"));
    config.addr = ([127, 0, 0, 1], 0).into();
    config.admin_password = Some(keel_tests::ADMIN_PASSWORD.to_owned());
    config.tls = Some(keel::TlsFiles { cert: cert_path.clone(), key: key_path.clone() });
    let kernel = keel::start(config).await.expect("kernel starts with TLS");
    let addr = kernel.addr();

    // A client that verifies the certificate is served.
    let answer = https_health(addr, &first).await.expect("a verified TLS connection");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#"{"status":"ok"}"#), "{answer}");
    // Plain HTTP on the TLS port gets no answer.
    let mut plain = stall_after_addr(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let plain = read_until_closed(&mut plain, Duration::from_secs(20)).await.unwrap_or_default();
    assert!(!plain.contains("200 OK"), "{plain}");

    // A renewed certificate is served after SIGHUP, without a restart.
    let (cert, key, renewed) = certificate();
    assert!(https_health(addr, &renewed).await.is_err(), "not yet the renewed one");
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let hangup = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(hangup.success());
    let mut served = Err(String::new());
    for _ in 0..100 {
        served = https_health(addr, &renewed).await;
        if served.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served.expect("the renewed certificate is served").starts_with("HTTP/1.1 200"));
    assert!(https_health(addr, &first).await.is_err(), "the old one is no longer served");
    kernel.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_certificate_stops_the_start_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (cert, _, _) = certificate();
    let (_, other_key, _) = certificate();
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, other_key).unwrap();
    let mut config = keel::Config::new(dir.path().join("data"));
    config.addr = ([127, 0, 0, 1], 0).into();
    config.admin_password = Some(keel_tests::ADMIN_PASSWORD.to_owned());
    config.tls = Some(keel::TlsFiles { cert: cert_path, key: key_path.clone() });
    let Err(err) = keel::start(config.clone()).await else {
        panic!("started with a key that does not fit")
    };
    let err = format!("{err:#}");
    assert!(err.contains("does not fit"), "{err}");
    std::fs::write(&key_path, "not a key").unwrap();
    // A failed start leaves its storage open until the process ends.
    config.data_dir = dir.path().join("data-2");
    let Err(err) = keel::start(config).await else { panic!("started without a key") };
    let err = format!("{err:#}");
    assert!(err.contains("key.pem"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_answers_is_cut_off() {
    let http =
        keel::HttpLimits { header_read_timeout: Duration::from_secs(1), ..Default::default() };
    let k = TestKernel::start(Setup { http, ..Setup::new(&["finance"]) }).await;
    let size = k.get("/admin/openapi.json").await.body.to_string().len();
    // Asks for many large answers at once and reads none of them.
    let n_asked = 2000;
    let ask = "GET /admin/openapi.json HTTP/1.1\r\nHost: keel\r\n\r\n".repeat(n_asked);
    let mut greedy = stall_after(&k, &ask).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    k.get("/healthz").await.expect(200);
    // By now the kernel has given up on it: what it sent before is all
    // there is, far from every answer asked for.
    let mut got = Vec::new();
    let read = tokio::io::AsyncReadExt::read_to_end(&mut greedy, &mut got);
    let ended = tokio::time::timeout(Duration::from_secs(20), read).await;
    assert!(ended.is_ok(), "the connection was closed");
    let n_answered = got.windows(12).filter(|w| w == b"HTTP/1.1 200").count();
    assert!(n_answered < n_asked / 2, "{n_answered} of {n_asked} answers of {size} bytes");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_kernel_is_not_ready_while_it_still_answers() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let unauthenticated = k.client().get(format!("{}/readyz", k.base())).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 200, "for load balancers, with no token");
    // Stopping starts with the background workers: from then on a load
    // balancer takes the kernel out, while its requests are still served.
    let host = k.host().clone();
    tokio::task::spawn_blocking(move || host.stop_events()).await.unwrap();
    let draining = k.get("/readyz").await;
    assert!(draining.expect_problem(503, "not-ready").contains("event dispatcher"));
    assert_eq!(k.get("/healthz").await.expect(200)["status"], "ok", "alive all the same");
    k.get("/api/demo/finance/accounts").await.expect(200);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_lets_calls_in_flight_finish_and_keeps_their_writes() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["rogue"])).await;
    let held = k
        .request(reqwest::Method::POST, "/api/demo/rogue/hold?ms=1500")
        .header("idempotency-key", "held-through-the-stop")
        .send();
    let in_flight = tokio::spawn(held);
    // The call is running when the kernel is told to stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (base, client) = (k.base().to_owned(), k.client().clone());
    let stopping = tokio::spawn(k.stop());
    let answer = in_flight.await.unwrap().expect("the call in flight is answered");
    assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
    stopping.await.unwrap();
    // Stopped: nothing listens any more.
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
    // Its answer was kept with its write, durable across the restart.
    let k = TestKernel::start_in(dir.path(), Setup::new(&["rogue"])).await;
    let again = k
        .request(reqwest::Method::POST, "/api/demo/rogue/hold?ms=1500")
        .header("idempotency-key", "held-through-the-stop")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    k.stop().await;
}
