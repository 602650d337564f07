//! Committed data survives a restart; the native code cache is reused.

use keel_tests::{Setup, TestKernel};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    k.post("/api/demo/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);
    let entry = json!({ "date": "2026-05-01", "memo": "Loan", "lines": [
        { "account": "1100", "debit": "25000.00" }, { "account": "2500", "credit": "25000.00" } ] });
    k.post("/api/demo/finance/entries", entry.clone()).await.expect(201);
    k.stop().await;

    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    let got = k.get("/api/demo/finance/entries/1").await;
    assert_eq!(got.expect(200)["memo"], "Loan");
    let tb = k.get("/api/demo/finance/reports/trial-balance").await;
    assert_eq!(tb.expect(200)["totals"][0]["credit"], "25000.00");
    let next = k.post("/api/demo/finance/entries", entry).await;
    assert_eq!(next.expect(201)["number"], 2, "the sequence continues after a restart");
    k.stop().await;
}

/// Every byte of every file under `dir`, with its path.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::disallowed_methods, reason = "an authenticator app reads the wall clock too")]
async fn second_factor_secrets_are_encrypted_at_rest_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    let alice = k.user_with_roles("alice", "demo", &["finance-viewer"]).await;
    let enrolment = k.send_as(Some(&alice), "POST", "/auth/totp/enrol", None).await;
    let secret = enrolment.expect(200)["secret"].as_str().unwrap().to_owned();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let code = |at: u64| keel_identity::totp_code(&secret, at).unwrap();
    let confirm = json!({ "code": code(now) });
    let confirmed = k.send_as(Some(&alice), "POST", "/auth/totp/confirm", Some(confirm)).await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.body);
    k.stop().await;

    // Neither the database, its log nor anything else in the data
    // directory holds the secret as written (base32, as apps take it).
    let data = dir.path().join("data");
    for (path, bytes) in files_under(&data) {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "{} holds the second-factor secret in plain text", path.display());
    }

    // The kernel's secrets key is kept, so the factor still works.
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    let login =
        json!({ "user": "alice", "password": "alice has a long password", "totp": code(now + 30) });
    let reply = k.send_as(None, "POST", "/auth/login", Some(login)).await;
    assert!(reply.expect(200)["token"].is_string());
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_secrets_key_stops_the_start_instead_of_locking_users_out() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    let alice = k.user_with_roles("alice", "demo", &["finance-viewer"]).await;
    k.send_as(Some(&alice), "POST", "/auth/totp/enrol", None).await.expect(200);
    k.stop().await;
    std::fs::remove_file(dir.path().join("data").join("secrets.key")).unwrap();
    let mut config = keel::Config::new(dir.path().join("data"));
    config.addr = ([127, 0, 0, 1], 0).into();
    let Err(err) = keel::start(config).await else { panic!("started without its secrets key") };
    assert!(format!("{err:#}").contains("secrets key"), "{err:#}");
    assert!(!dir.path().join("data").join("secrets.key").exists(), "no new key was made");
}
