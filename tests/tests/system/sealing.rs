//! Personal data encrypted at rest, tried as an operator would: HR keeps
//! an employee's national id, bank account and salary; a copy of the data
//! directory without the data key (the database file, its log, the audit
//! trail in it, answers kept for idempotency keys) holds none of them in
//! plain text. The data key is rotated and every sealed document is sealed
//! anew in the background, the audit trail still verifying; a kernel
//! started without the key refuses to start rather than lose the data.

use std::time::{Duration, Instant};

use keel_tests::{Setup, TestKernel, files_holding};
use serde_json::json;

const HR: &str = "/api/demo/hr";
const NATIONAL_ID: &str = "NI-SEAL-424242";
const BANK_ACCOUNT: &str = "GB82WEST12345698765432";
const SALARY: &str = "98765.43";
const RISE: &str = "99999.17";

fn setup() -> Setup {
    Setup::new(&["finance", "hr"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_and_pay_are_sealed_at_rest_and_the_key_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), setup()).await;
    k.post(&format!("{HR}/departments"), json!({"id": "OPS", "name": "Operations"}))
        .await
        .expect(201);
    let hire = json!({
        "id": "E1", "name": "Erin", "department": "OPS", "position": "Analyst", "hired": "2026-01-05",
        "personal": {"national_id": NATIONAL_ID, "bank_account": BANK_ACCOUNT, "address": "1 Main St", "date_of_birth": "1985-05-17"},
        "contract": {"base_pay": SALARY, "currency": "EUR"},
    });
    k.post(&format!("{HR}/employees"), hire).await.expect(201);
    // A contract added with an idempotency key: the answer kept for a
    // retry holds the salary too.
    let rise =
        json!({"from": "2026-06-01", "position": "Lead", "base_pay": RISE, "currency": "EUR"});
    let added = k
        .request(reqwest::Method::POST, &format!("{HR}/employees/E1/contracts"))
        .header("idempotency-key", "rise-of-erin")
        .json(&rise)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let personal = k.get(&format!("{HR}/employees/E1/personal")).await;
    assert_eq!(personal.expect(200)["national_id"], NATIONAL_ID, "HR reads it as it was given");

    // The audit trail keeps the document as stored: sealed.
    let audit = k.get("/admin/tenants/demo/audit?collection=personal&action=record.insert").await;
    let after = audit.expect(200)["entries"][0]["record"]["after"].clone();
    assert!(after["keel:sealed"].is_string(), "{after}");
    k.stop().await;

    let data = dir.path().join("data");
    for secret in [NATIONAL_ID, BANK_ACCOUNT, SALARY, RISE] {
        assert_eq!(files_holding(&data, secret), Vec::<String>::new(), "{secret} in plain text");
    }

    // Rotated: the next start seals everything anew with the new key, in
    // the background, and the trail still verifies.
    let (new, ring) = keel::rotate_data_key(&data.join("data.key")).unwrap();
    assert_eq!((ring.len(), ring[0].as_str()), (2, new.as_str()));
    let k = TestKernel::start_in(dir.path(), setup()).await;
    let started = Instant::now();
    while k.host().resealing().state != "done" {
        assert!(started.elapsed() < Duration::from_secs(30), "{:?}", k.host().resealing());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resealing = k.host().resealing();
    assert_eq!(
        (resealing.key.as_deref(), resealing.resealed),
        (Some(new.as_str()), 3),
        "{resealing:?}"
    );
    let personal = k.get(&format!("{HR}/employees/E1/personal")).await;
    assert_eq!(personal.expect(200)["bank_account"], BANK_ACCOUNT);
    let verified = k.get("/admin/tenants/demo/audit/verify").await;
    assert_eq!(verified.expect(200)["ok"], true, "{:?}", verified.body);
    let resealed = k.get("/admin/tenants/demo/audit?action=record.reseal").await;
    let resealed = resealed.expect(200)["entries"].as_array().unwrap().clone();
    assert_eq!(resealed.len(), 3, "each document sealed anew is audited");
    assert!(resealed.iter().all(|e| e["record"].get("before").is_none()), "no value before");
    k.stop().await;

    // Without the key file the kernel refuses to start, naming the key.
    std::fs::rename(data.join("data.key"), dir.path().join("kept-elsewhere.key")).unwrap();
    let refused = TestKernel::try_start_in(dir.path(), setup()).await.err().expect("refused");
    assert!(refused.contains("sealed with data key") && refused.contains(&new), "{refused}");
    assert!(!data.join("data.key").exists(), "no new key is written over the data");
}
