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
