//! Signing in: sessions, uniform failures, throttled guessing that never
//! locks the owner out, second factors, and deleted users.

use keel_tests::{ADMIN_PASSWORD, Reply, Setup, TestKernel};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_and_uniform_failures() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let token = k.login("admin", ADMIN_PASSWORD).await;
    k.send_as(Some(&token), "GET", "/admin/tenants", None).await.expect(200);

    let wrong = k
        .send_as(
            None,
            "POST",
            "/auth/login",
            Some(json!({ "user": "admin", "password": "not the password" })),
        )
        .await;
    let wrong = wrong.expect_problem(401, "bad-credentials");
    let unknown = k
        .send_as(
            None,
            "POST",
            "/auth/login",
            Some(json!({ "user": "nobody", "password": "not the password" })),
        )
        .await;
    assert_eq!(
        unknown.expect_problem(401, "bad-credentials"),
        wrong,
        "unknown users and wrong passwords look alike"
    );
    k.send_as(None, "POST", "/auth/login", Some(json!({ "user": "admin" })))
        .await
        .expect_problem(400, "bad-request");

    assert_eq!(k.send_as(Some(&token), "POST", "/auth/logout", None).await.status, 204);
    k.send_as(Some(&token), "GET", "/admin/tenants", None)
        .await
        .expect_problem(401, "unauthenticated");
    k.send_as(Some(&token), "POST", "/auth/logout", None)
        .await
        .expect_problem(401, "unauthenticated");
    k.send_as(Some("keel_forged"), "GET", "/admin/tenants", None)
        .await
        .expect_problem(401, "unauthenticated");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_are_throttled() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let bad = json!({ "user": "admin", "password": "guessing wrong" });
    for _ in 0..3 {
        k.send_as(None, "POST", "/auth/login", Some(bad.clone()))
            .await
            .expect_problem(401, "bad-credentials");
    }
    let good = json!({ "user": "admin", "password": ADMIN_PASSWORD });
    k.send_as(None, "POST", "/auth/login", Some(good)).await.expect_problem(429, "throttled");
    k.stop().await;
}

/// Logs in as `user` through the trusted proxy for a client at `client`.
async fn login_from(k: &TestKernel, client: &str, user: &str, password: &str) -> Reply {
    let body = json!({ "user": user, "password": password });
    let request = k.client().post(format!("{}/auth/login", k.base()));
    let request = request.header("x-forwarded-for", client).json(&body);
    Reply::from(request.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_a_password_never_locks_its_owner_out() {
    // The kernel sits behind a reverse proxy on this machine.
    let setup = Setup { trusted_proxies: vec!["127.0.0.1".parse().unwrap()], ..Setup::new(&[]) };
    let k = TestKernel::start(setup).await;
    let attacker = "203.0.113.66";
    let mut guesses = Vec::new();
    for _ in 0..6 {
        guesses.push(login_from(&k, attacker, "admin", "guessing wrong").await);
    }
    // The administrator, elsewhere, signs in all the same...
    let admin = login_from(&k, "198.51.100.7", "admin", ADMIN_PASSWORD).await;
    assert!(admin.expect(200)["token"].as_str().is_some());
    // ...while the guesser, after three tries, must wait.
    let statuses: Vec<u16> = guesses.iter().map(|g| g.status).collect();
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
    let detail = guesses.pop().unwrap().expect_problem(429, "throttled");
    assert!(detail.contains("retry in 1 s"), "says how long: {detail}");
    // The audit trail names the real client of the failed attempts.
    let failed = k.get("/admin/audit?action=auth.login-failed").await;
    let failed = failed.expect(200);
    let sources: Vec<&str> = failed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["record"]["source"].as_str())
        .collect();
    assert!(!sources.is_empty() && sources.iter().all(|s| *s == attacker), "{failed}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::disallowed_methods, reason = "an authenticator app reads the wall clock too")]
async fn a_second_factor_is_required_once_enrolled() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let alice = k.user_with_roles("alice", "demo", &["finance-viewer"]).await;
    let enrolment = k.send_as(Some(&alice), "POST", "/auth/totp/enrol", None).await;
    let secret = enrolment.expect(200)["secret"].as_str().unwrap().to_owned();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let code = |at: u64| keel_identity::totp_code(&secret, at).unwrap();

    k.send_as(Some(&alice), "POST", "/auth/totp/confirm", Some(json!({ "code": "nope" })))
        .await
        .expect_problem(422, "invalid");
    assert_eq!(
        k.send_as(Some(&alice), "POST", "/auth/totp/confirm", Some(json!({ "code": code(now) })))
            .await
            .status,
        204
    );
    k.send_as(Some(&alice), "POST", "/auth/totp/enrol", None).await.expect_problem(409, "conflict");

    let password = "alice has a long password";
    let without = json!({ "user": "alice", "password": password });
    k.send_as(None, "POST", "/auth/login", Some(without))
        .await
        .expect_problem(401, "totp-required");
    let next = code(now + 30);
    let with = json!({ "user": "alice", "password": password, "totp": next });
    assert!(
        k.send_as(None, "POST", "/auth/login", Some(with.clone())).await.expect(200)["token"]
            .is_string()
    );
    k.send_as(None, "POST", "/auth/login", Some(with)).await.expect_problem(401, "bad-credentials");

    let token = k
        .post(
            "/admin/tenants/demo/tokens",
            json!({ "name": "t", "roles": ["finance-viewer"], "expires_in_days": 1 }),
        )
        .await;
    let secret_token = token.expect(201)["secret"].as_str().unwrap().to_owned();
    k.send_as(Some(&secret_token), "POST", "/auth/totp/enrol", None)
        .await
        .expect_problem(422, "invalid");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_users_sessions_never_return() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let old = k.user_with_roles("bob", "demo", &["finance-viewer"]).await;
    assert_eq!(k.send("DELETE", "/admin/users/bob", None).await.status, 204);
    let again = k.user_with_roles("bob", "demo", &["finance-viewer"]).await;
    k.send_as(Some(&old), "GET", "/api/demo/finance/accounts", None)
        .await
        .expect_problem(401, "unauthenticated");
    k.send_as(Some(&again), "GET", "/api/demo/finance/accounts", None).await.expect(200);
    k.stop().await;
}
