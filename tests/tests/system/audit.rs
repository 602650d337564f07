//! The audit trail: every change, in the transaction that made it.

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

async fn entries(k: &TestKernel, tenant: &str) -> Vec<Value> {
    let reply = k.get(&format!("/admin/tenants/{tenant}/audit?limit=1000")).await;
    reply.expect(200)["entries"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_plugin_write_is_audited_in_its_transaction_and_the_chain_verifies() {
    let k = TestKernel::start(Setup::new(&["finance", "rogue"])).await;
    let before = entries(&k, "demo").await.len();
    let account = json!({ "code": "1000", "name": "Cash", "type": "asset", "currency": "EUR" });
    let created = k.post("/api/demo/finance/accounts", account).await;
    let request_id = created.request_id.clone().unwrap();
    created.expect(201);
    let trail = entries(&k, "demo").await;
    assert_eq!(trail.len(), before + 1, "one document written, one record");
    let last = &trail[trail.len() - 1]["record"];
    assert_eq!(last["action"], "record.insert");
    assert_eq!(
        (last["plugin"].as_str(), last["collection"].as_str(), last["key"].as_str()),
        (Some("finance"), Some("accounts"), Some("1000"))
    );
    assert_eq!(last["after"]["name"], "Cash");
    assert_eq!(last["actor"], "admin");
    assert_eq!(last["request_id"], request_id.as_str());

    // A rejected entry, a failed plugin call and a trap change nothing and record nothing.
    let unbalanced = json!({ "date": "2026-01-01", "lines": [{ "account": "1000", "debit": "2" }, { "account": "1000", "credit": "1" }] });
    k.post("/api/demo/finance/entries", unbalanced).await.expect_problem(422, "invalid");
    k.post("/api/demo/rogue/notes/a/fail", json!({})).await.expect_problem(422, "invalid");
    k.post("/api/demo/rogue/notes/b/trap", json!({})).await.expect_problem(500, "plugin-trapped");
    k.get("/api/demo/finance/accounts").await.expect(200);
    assert_eq!(
        entries(&k, "demo").await.len(),
        before + 1,
        "aborted calls and reads leave no record"
    );

    // A put records the document before and after.
    k.post("/api/demo/rogue/notes/c/author", json!({})).await.expect(201);
    k.post("/api/demo/rogue/notes/c/approve", json!({}))
        .await
        .expect_problem(403, "segregation-of-duties");
    let carol = k.user_with_roles("carol", "demo", &["rogue-runner"]).await;
    k.send_as(Some(&carol), "POST", "/api/demo/rogue/notes/c/approve", Some(json!({})))
        .await
        .expect(200);
    let trail = entries(&k, "demo").await;
    let approval = &trail[trail.len() - 1]["record"];
    assert_eq!(approval["before"], json!({ "created_by": "admin" }));
    assert_eq!(approval["after"], json!({ "created_by": "admin", "approved_by": "carol" }));
    assert_eq!(approval["actor"], "carol");

    let verified = k.get("/admin/tenants/demo/audit/verify").await;
    let verified = verified.expect(200);
    assert_eq!(verified["ok"], true);
    assert_eq!(verified["entries"], trail.len());
    assert_eq!(verified["head"], trail[trail.len() - 1]["hash"]);
    let page = k.get("/admin/tenants/demo/audit?from=2&limit=2").await;
    let page = page.expect(200).clone();
    assert_eq!(page["entries"][0]["seq"], 2);
    assert_eq!(page["next"], 4);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_lifecycle_is_audited_and_auditors_may_read_the_trail() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post("/admin/tenants", json!({ "id": "acme", "name": "Acme" })).await.expect(201);
    k.send("PUT", "/admin/tenants/acme/plugins/finance", None).await.expect(200);
    k.send("DELETE", "/admin/tenants/acme/plugins/finance", None).await;
    let trail = entries(&k, "acme").await;
    let actions: Vec<&str> =
        trail.iter().map(|e| e["record"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["plugin.enable", "plugin.disable"]);
    assert_eq!(trail[0]["record"]["actor"], "admin");
    assert_eq!(trail[0]["record"]["detail"], "from nothing to 0.1.0");

    let auditor = k.user_with_roles("audrey", "demo", &["auditor"]).await;
    k.send_as(Some(&auditor), "GET", "/admin/tenants/demo/audit/verify", None).await.expect(200);
    let accountant = k.user_with_roles("alice", "demo", &["accountant"]).await;
    k.send_as(Some(&accountant), "GET", "/admin/tenants/demo/audit", None)
        .await
        .expect_problem(403, "forbidden");
    k.send_as(Some(&auditor), "GET", "/admin/tenants/acme/audit", None)
        .await
        .expect_problem(403, "forbidden");
    k.stop().await;
}
