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
    assert_eq!(actions, ["plugin.enable", "provider.choose", "plugin.disable"]);
    assert_eq!(trail[0]["record"]["actor"], "admin");
    let finance = keel_tests::bundled_version("finance");
    assert_eq!(trail[0]["record"]["detail"], format!("from nothing to {finance}"));

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

/// Applies `tamper` to a copy of `pristine`'s store, boots a kernel on the
/// copy, and returns what verify says (with `expected` entry count and head).
async fn verify_after(
    pristine: &std::path::Path,
    expected: Option<(u64, &str)>,
    tamper: impl FnOnce(&mut keel_storage::WriteTxn),
) -> Value {
    let case = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(case.path().join("data")).unwrap();
    std::fs::copy(pristine.join("data/keel.redb"), case.path().join("data/keel.redb")).unwrap();
    for key in ["data/audit-signing.key", "data/data.key"] {
        std::fs::copy(pristine.join(key), case.path().join(key)).unwrap();
    }
    {
        let storage = keel_storage::Storage::open(
            &case.path().join("data/keel.redb"),
            keel_types::Limits::default(),
        )
        .unwrap();
        let demo = keel_types::TenantId::new("demo").unwrap();
        let lanes = [keel_storage::Lane::Platform, keel_storage::Lane::Tenant(demo)];
        let mut txn = storage.write(&lanes).unwrap();
        tamper(&mut txn);
        txn.commit().unwrap();
    }
    let k = TestKernel::start_in(case.path(), Setup::new(&["finance"])).await;
    let query = expected.map_or_else(String::new, |(n, head)| format!("?entries={n}&head={head}"));
    let verdict =
        k.get(&format!("/admin/tenants/demo/audit/verify{query}")).await.expect(200).clone();
    k.stop().await;
    verdict
}

fn entry(txn: &keel_storage::WriteTxn, seq: u64) -> Vec<u8> {
    txn.log_scan("tenant/demo", seq, 1).unwrap().remove(0).1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_the_store_is_detected_and_named() {
    let pristine = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(pristine.path(), Setup::new(&["finance"])).await;
    for (code, kind) in [("1000", "asset"), ("4000", "income")] {
        let account = json!({ "code": code, "name": code, "type": kind, "currency": "EUR" });
        k.post("/api/demo/finance/accounts", account).await.expect(201);
    }
    let entry_json = json!({ "date": "2026-03-01", "lines": [{ "account": "1000", "debit": "10" }, { "account": "4000", "credit": "10" }] });
    k.post("/api/demo/finance/entries", entry_json).await.expect(201);
    let clean = k.get("/admin/tenants/demo/audit/verify").await.expect(200).clone();
    assert_eq!(clean["ok"], true);
    let n = clean["entries"].as_u64().unwrap();
    let head = clean["head"].as_str().unwrap().to_owned();
    assert!(n >= 10, "a chain worth tampering with: {n} entries");
    // The kernel keeps a signed head of its own, too.
    let kept = k.post("/admin/tenants/demo/audit/heads", json!(null)).await;
    assert_eq!(kept.expect(200)["statement"]["entries"], n);
    k.stop().await;
    let p = pristine.path();

    // 1 enables finance, 2 makes it the ledger's provider, 3 and 4 create
    // the accounts.
    let edited = verify_after(p, None, |txn| {
        let text = String::from_utf8(entry(txn, 4))
            .unwrap()
            .replace("\"name\":\"4000\"", "\"name\":\"Stolen\"");
        txn.tamper_log("tenant/demo", 4, Some(text.as_bytes())).unwrap();
    })
    .await;
    assert_eq!(
        (edited["ok"].as_bool(), edited["broken_at"].as_u64()),
        (Some(false), Some(4)),
        "{edited}"
    );
    assert!(edited["reason"].as_str().unwrap().contains("edited"), "{edited}");

    let deleted =
        verify_after(p, None, |txn| txn.tamper_log("tenant/demo", 4, None).unwrap()).await;
    assert_eq!(deleted["broken_at"], 4, "{deleted}");
    assert!(deleted["reason"].as_str().unwrap().contains("missing"), "{deleted}");

    let reordered = verify_after(p, None, |txn| {
        let (two, three) = (entry(txn, 2), entry(txn, 3));
        txn.tamper_log("tenant/demo", 2, Some(&three)).unwrap();
        txn.tamper_log("tenant/demo", 3, Some(&two)).unwrap();
    })
    .await;
    assert_eq!(reordered["broken_at"], 2, "{reordered}");

    let truncate = |txn: &mut keel_storage::WriteTxn| {
        txn.tamper_log("tenant/demo", n, None).unwrap();
        txn.tamper_log("tenant/demo", n - 1, None).unwrap();
    };
    let truncated = verify_after(p, Some((n, &head)), truncate).await;
    assert_eq!(truncated["ok"], false, "{truncated}");
    assert!(truncated["reason"].as_str().unwrap().contains("truncated"), "{truncated}");
    // Against the head the kernel kept, without one kept elsewhere.
    let truncated = verify_after(p, None, truncate).await;
    assert!(truncated["reason"].as_str().unwrap().contains("truncated"), "{truncated}");
    // Truncating the kept heads as well hides nothing from a head kept elsewhere…
    let both = |txn: &mut keel_storage::WriteTxn| {
        truncate(txn);
        txn.tamper_log("heads/tenant/demo", 1, None).unwrap();
    };
    let truncated = verify_after(p, Some((n, &head)), both).await;
    assert!(truncated["reason"].as_str().unwrap().contains("truncated"), "{truncated}");
    // …and a forged kept head is named.
    let forged = verify_after(p, None, |txn| {
        let bytes = txn.log_scan("heads/tenant/demo", 1, 1).unwrap().remove(0).1;
        let mut signed: Value = serde_json::from_slice(&bytes).unwrap();
        signed["statement"]["entries"] = json!(n - 2);
        txn.tamper_log("heads/tenant/demo", 1, Some(signed.to_string().as_bytes())).unwrap();
    })
    .await;
    assert!(forged["reason"].as_str().unwrap().contains("heads log was edited"), "{forged}");
    let garbled = verify_after(p, None, |txn| {
        txn.tamper_log("heads/tenant/demo", 1, Some(b"not a head")).unwrap();
    })
    .await;
    assert!(garbled["reason"].as_str().unwrap().contains("unreadable"), "{garbled}");

    let data = verify_after(p, None, |txn| {
        let ns = keel_storage::Namespace::new(
            keel_types::TenantId::new("demo").unwrap(),
            keel_types::PluginId::new("finance").unwrap(),
        );
        let forged = r#"{"code":"1000","name":"Cash","type":"asset","currency":"USD"}"#;
        txn.tamper_doc(&ns, "accounts", "1000", forged).unwrap();
    })
    .await;
    assert_eq!(data["ok"], false, "{data}");
    assert!(data["reason"].as_str().unwrap().contains("finance/accounts/1000"), "{data}");

    // A membership written straight into the store, granting access, is
    // named; so is a number of the gapless sequence wound back.
    let member = verify_after(p, None, |txn| {
        txn.tamper_raw("catalog", b"member/demo/mallory", Some(br#"{"roles":["admin"]}"#)).unwrap();
    })
    .await;
    assert_eq!(member["ok"], false, "{member}");
    assert!(member["reason"].as_str().unwrap().contains("catalog:member/demo/mallory"), "{member}");
    let rewound = verify_after(p, None, |txn| {
        let key = b"demo\0finance\0entries\0";
        txn.tamper_raw("sequences", key, Some(&0u64.to_be_bytes())).unwrap();
    })
    .await;
    assert!(rewound["reason"].as_str().unwrap().contains("sequence:finance/entries"), "{rewound}");

    let untouched = verify_after(p, Some((n, &head)), |_| {}).await;
    assert_eq!(untouched["ok"], true, "{untouched}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_taken_with_nothing_else_written_is_still_audited() {
    let k = TestKernel::start(Setup::new(&["tally"])).await;
    for n in 1..=2 {
        let taken = k.post("/api/demo/tally/take", json!({})).await;
        assert_eq!(taken.expect(200)["number"], n);
    }
    let trail = records(&k, "/admin/tenants/demo/audit", "sequence.next").await;
    assert_eq!(trail.len(), 2, "{trail:?}");
    assert_eq!(trail[0]["plugin"], "tally");
    assert_eq!(trail[1]["seals"]["sequence:tally/tickets"].as_str().map(str::len), Some(64));
    let verified = k.get("/admin/tenants/demo/audit/verify").await;
    assert_eq!(verified.expect(200)["ok"], true, "{}", verified.body);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trail_can_be_filtered_and_exported() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let alice = k.user_with_roles("alice", "demo", &["accountant"]).await;
    for code in ["1000", "1100"] {
        let account = json!({ "code": code, "name": code, "type": "asset", "currency": "EUR" });
        k.send_as(Some(&alice), "POST", "/api/demo/finance/accounts", Some(account))
            .await
            .expect(201);
    }
    let by_alice = k.get("/admin/tenants/demo/audit?actor=alice").await;
    let by_alice = by_alice.expect(200)["entries"].as_array().unwrap().clone();
    assert_eq!(by_alice.len(), 2);
    let one_key = k.get("/admin/tenants/demo/audit?collection=accounts&key=1100").await;
    assert_eq!(one_key.expect(200)["entries"].as_array().unwrap().len(), 1);
    let enables = k.get("/admin/tenants/demo/audit?action=plugin.enable").await;
    assert_eq!(enables.expect(200)["entries"][0]["record"]["plugin"], "finance");
    let future = k.get("/admin/tenants/demo/audit?since=4102444800").await;
    assert_eq!(future.expect(200)["entries"], json!([]));
    k.get("/admin/tenants/demo/audit?colour=red").await.expect_problem(400, "bad-request");

    let export = |format: &'static str| {
        let request = k.request(
            reqwest::Method::GET,
            &format!("/admin/tenants/demo/audit/export?format={format}&actor=alice"),
        );
        async move {
            let response = request.send().await.unwrap();
            let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
            (kind, response.text().await.unwrap())
        }
    };
    let (kind, jsonl) = export("jsonl").await;
    assert_eq!(kind, "application/jsonl");
    let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["record"]["key"], "1100");
    let (kind, csv) = export("csv").await;
    assert_eq!(kind, "text/csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("seq,at,actor,roles,source,request_id,action"), "{}", rows[0]);
    assert_eq!(rows.len(), 3, "a header and two rows");
    assert!(
        rows[1].contains(",alice,accountant,127.0.0.1,")
            && rows[1].contains("\"{\"\"code\"\":\"\"1000\"\""),
        "{}",
        rows[1]
    );
    k.get("/admin/tenants/demo/audit/export?format=xml").await.expect_problem(400, "bad-request");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_are_signed_by_the_kernel_and_prove_truncation_later() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    let account = json!({ "code": "1000", "name": "Cash", "type": "asset", "currency": "EUR" });
    k.post("/api/demo/finance/accounts", account).await.expect(201);
    let signed: keel_audit::SignedHead =
        serde_json::from_value(k.get("/admin/tenants/demo/audit/head").await.expect(200).clone())
            .unwrap();
    assert!(keel_audit::verify_signed_head(&signed), "a valid ed25519 signature");
    assert_eq!(signed.statement.chain, "tenant/demo");
    let mut forged = signed.clone();
    forged.statement.entries += 1;
    assert!(!keel_audit::verify_signed_head(&forged));
    k.stop().await;

    // After a restart the kernel signs with the same key, and the kept head still checks out.
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    let again: keel_audit::SignedHead =
        serde_json::from_value(k.get("/admin/tenants/demo/audit/head").await.expect(200).clone())
            .unwrap();
    assert_eq!(again.public_key, signed.public_key);
    let (n, head) = (signed.statement.entries, signed.statement.head);
    let verdict = k.get(&format!("/admin/tenants/demo/audit/verify?entries={n}&head={head}")).await;
    assert_eq!(verdict.expect(200)["ok"], true);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_and_failed_logins_are_audited_on_the_platform_chain() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let wrong = json!({ "user": "admin", "password": "not the password at all" });
    k.send_as(None, "POST", "/auth/login", Some(wrong))
        .await
        .expect_problem(401, "bad-credentials");
    let trail = k.get("/admin/audit?limit=1000").await.expect(200)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["record"].clone())
        .filter(|r| r["action"].as_str().unwrap().starts_with("auth."))
        .collect::<Vec<_>>();
    let actions: Vec<&str> = trail.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["auth.login", "auth.login-failed"],
        "the harness's own login, then the failure"
    );
    assert_eq!(trail[1]["actor"], "admin");
    assert_eq!(trail[1]["source"], "127.0.0.1");
    let failed = k.get("/admin/audit?action=auth.login-failed").await;
    assert_eq!(failed.expect(200)["entries"].as_array().unwrap().len(), 1);
    let verified = k.get("/admin/audit/verify").await;
    assert_eq!(verified.expect(200)["ok"], true, "{}", verified.body);
    assert_eq!(
        verified.body["entries"], 6,
        "start-up (the data key used, demo tenant, bootstrap admin and its role), the login, \
         the failure"
    );
    k.stop().await;
}

/// The records of `chain` (`/admin/audit` or a tenant's) with `action`.
async fn records(k: &TestKernel, chain: &str, action: &str) -> Vec<Value> {
    let reply = k.get(&format!("{chain}?action={action}&limit=1000")).await;
    let entries = reply.expect(200)["entries"].as_array().unwrap().clone();
    entries.into_iter().map(|e| e["record"].clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_change_is_audited_with_who_when_and_from_where() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    // Each change, with the request that made it.
    let mut made: Vec<(&str, &str, Option<String>)> = Vec::new();
    let platform = "/admin/audit";
    let acme = "/admin/tenants/acme/audit";
    let mut change = async |chain, action, method: &str, path: &str, body: Option<Value>| {
        let reply = k.send(method, path, body).await;
        assert!((200..300).contains(&reply.status), "{method} {path}: {}", reply.body);
        made.push((chain, action, reply.request_id.clone()));
        reply.body
    };
    let tenant = json!({ "id": "acme", "name": "Acme" });
    change(platform, "tenant.create", "POST", "/admin/tenants", Some(tenant)).await;
    let scratch = json!({ "id": "scratch", "name": "Scratch" });
    change(platform, "tenant.create", "POST", "/admin/tenants", Some(scratch)).await;
    let renamed = json!({ "name": "Scratch Ltd" });
    change(platform, "tenant.rename", "PATCH", "/admin/tenants/scratch", Some(renamed)).await;
    change(platform, "tenant.delete", "DELETE", "/admin/tenants/scratch", None).await;
    let dave = json!({ "id": "dave", "name": "Dave", "password": "correct horse battery" });
    change(platform, "user.create", "POST", "/admin/users", Some(dave)).await;
    let renamed = json!({ "name": "David", "password": "another long passphrase" });
    change(platform, "user.update", "PATCH", "/admin/users/dave", Some(renamed)).await;
    change(acme, "plugin.enable", "PUT", "/admin/tenants/acme/plugins/finance", None).await;
    let roles = json!({ "roles": ["finance-viewer"] });
    change(acme, "member.set", "PUT", "/admin/tenants/acme/members/dave", Some(roles)).await;
    let permissions = json!({ "permissions": ["finance.entries.read"] });
    change(acme, "role.put", "PUT", "/admin/tenants/acme/roles/reader", Some(permissions)).await;
    let rule = json!({ "permissions": ["finance.entries.post", "finance.accounts.write"] });
    change(acme, "sod.put", "PUT", "/admin/tenants/acme/sod/post-vs-accounts", Some(rule)).await;
    let token = json!({ "name": "bank feed", "roles": ["finance-viewer"], "expires_in_days": 30 });
    let created = change(acme, "token.create", "POST", "/admin/tenants/acme/tokens", Some(token));
    let created = created.await;
    let (id, secret) =
        (created["token"]["id"].as_str().unwrap(), created["secret"].as_str().unwrap());
    let revoke = format!("/admin/tenants/acme/tokens/{id}");
    change(acme, "token.revoke", "DELETE", &revoke, None).await;
    change(acme, "sod.delete", "DELETE", "/admin/tenants/acme/sod/post-vs-accounts", None).await;
    change(acme, "role.delete", "DELETE", "/admin/tenants/acme/roles/reader", None).await;
    change(acme, "plugin.disable", "DELETE", "/admin/tenants/acme/plugins/finance", None).await;
    change(platform, "totp.enrol", "POST", "/auth/totp/enrol", None).await;
    change(platform, "user.delete", "DELETE", "/admin/users/dave", None).await;
    let upload = k
        .request(reqwest::Method::POST, "/admin/packages")
        .header("content-type", "application/wasm")
        .body(keel_tests::plugin_bytes("notes-v1"));
    let installed = keel_tests::Reply::from(upload.send().await.unwrap()).await;
    installed.expect(201);
    made.push((platform, "package.install", installed.request_id.clone()));

    for (chain, action, request_id) in &made {
        let found = records(&k, chain, action).await;
        let record = found
            .iter()
            .find(|r| r["request_id"].as_str() == request_id.as_deref())
            .unwrap_or_else(|| panic!("no {action} record for request {request_id:?}: {found:?}"));
        assert_eq!(record["actor"], "admin", "{action}");
        assert_eq!(record["source"], "127.0.0.1", "{action}");
        assert!(record["at"].as_i64().unwrap() > 1_700_000_000, "{action}");
        let roles = record["roles"].as_array().unwrap();
        assert!(roles.contains(&json!("platform-admin")), "{action}: {roles:?}");
    }
    // What changed is recorded, and never a secret.
    let update = &records(&k, platform, "user.update").await[0];
    assert_eq!(
        (update["before"]["name"].as_str(), update["after"]["name"].as_str()),
        (Some("Dave"), Some("David"))
    );
    assert_eq!(update["detail"], "password changed; sessions ended");
    let member = &records(&k, acme, "member.set").await[0];
    assert_eq!(
        (member["key"].as_str(), member["after"]["roles"].clone()),
        (Some("dave"), json!(["finance-viewer"]))
    );
    let rename = &records(&k, platform, "tenant.rename").await[0];
    assert_eq!(rename["before"]["name"], "Scratch");
    let everything = format!(
        "{}{}",
        k.get("/admin/audit?limit=1000").await.body,
        k.get("/admin/tenants/acme/audit?limit=1000").await.body
    );
    for secret in [secret, "$argon2", "correct horse battery", "another long passphrase"] {
        assert!(!everything.contains(secret), "the trail holds a secret: {secret}");
    }
    // Deleting the user took their membership with it; the tenant's chain
    // and the platform's both still verify.
    for chain in [platform, acme] {
        assert_eq!(k.get(&format!("{chain}/verify")).await.expect(200)["ok"], true, "{chain}");
    }
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_add_business_records_that_commit_with_their_changes() {
    let k = TestKernel::start(Setup::new(&["finance", "rogue"])).await;
    k.post("/api/demo/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);
    let entry = json!({ "date": "2026-03-01", "lines": [
        { "account": "1000", "debit": "250.00" }, { "account": "4000", "credit": "250.00" } ] });
    let posted = k.post("/api/demo/finance/entries", entry).await;
    let request_id = posted.request_id.clone().unwrap();
    let number = posted.expect(201)["number"].as_u64().unwrap();
    let business = records(&k, "/admin/tenants/demo/audit", "finance.entry.posted").await;
    assert_eq!(business.len(), 1);
    let event = &business[0];
    assert_eq!(event["plugin"], "finance");
    assert_eq!(event["collection"], "entries");
    assert_eq!(event["actor"], "admin");
    assert_eq!(event["request_id"], request_id.as_str());
    let detail = event["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("journal entry {number} (GEN/2026/0001) posted: 2 lines, 250")),
        "{detail}"
    );
    // The raw document write of the same request sits beside it.
    let same_request =
        k.get(&format!("/admin/tenants/demo/audit?key={}", event["key"].as_str().unwrap())).await;
    let same_request = same_request.expect(200)["entries"].as_array().unwrap().clone();
    let actions: Vec<&str> =
        same_request.iter().map(|e| e["record"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["record.insert", "finance.entry.posted"]);

    // An event is kept exactly when the call's changes are.
    let before = entries(&k, "demo").await.len();
    let failing = json!({ "action": "x.done", "detail": "then fails", "fail": true });
    k.post("/api/demo/rogue/audit", failing).await.expect_problem(422, "invalid");
    for (bad, why) in [
        (json!({ "action": "Record.Put", "detail": "" }), "not a-z"),
        (json!({ "action": "", "detail": "" }), "empty"),
        (json!({ "action": "ok", "collection": "payroll", "detail": "" }), "undeclared collection"),
        (json!({ "action": "ok", "detail": "x".repeat(5000) }), "detail too long"),
    ] {
        let detail = k.post("/api/demo/rogue/audit", bad).await.expect_problem(422, "invalid");
        assert!(detail.contains("audit") || detail.contains("collection"), "{why}: {detail}");
    }
    k.get("/api/demo/rogue/audit").await.expect_problem(403, "denied");
    assert_eq!(entries(&k, "demo").await.len(), before, "refused and failed calls add nothing");
    let good =
        json!({ "action": "record.put", "collection": "notes", "key": "n1", "detail": "hi" });
    k.post("/api/demo/rogue/audit", good).await.expect(201);
    let trail = entries(&k, "demo").await;
    let last = &trail.last().unwrap()["record"];
    assert_eq!(
        last["action"], "rogue.record.put",
        "a plugin cannot pass its records off as the kernel's"
    );
    assert_eq!((last["collection"].as_str(), last["key"].as_str()), (Some("notes"), Some("n1")));
    assert_eq!(k.get("/admin/tenants/demo/audit/verify").await.expect(200)["ok"], true);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_sensitive_collections_are_audited_without_their_values() {
    let k = TestKernel::start(Setup::new(&["rogue"])).await;
    for (key, amount) in [("ann", "91000"), ("bob", "87000")] {
        let path = format!("/api/demo/rogue/salaries/{key}");
        k.send("PUT", &path, Some(json!({ "amount": amount }))).await.expect(200);
    }
    k.post("/api/demo/rogue/notes/n1/author", json!({})).await.expect(201);
    async fn reads(k: &TestKernel) -> Vec<Value> {
        records(k, "/admin/tenants/demo/audit", "record.read").await
    }
    assert!(reads(&k).await.is_empty(), "writes are not reads");

    let clerk = k.user_with_roles("clerk", "demo", &["rogue-runner"]).await;
    let one = k.send_as(Some(&clerk), "GET", "/api/demo/rogue/salaries/ann", None).await;
    assert_eq!(one.expect(200)["amount"], "91000");
    let found = reads(&k).await;
    assert_eq!(found.len(), 1);
    let read = &found[0];
    assert_eq!(
        (read["collection"].as_str(), read["key"].as_str()),
        (Some("salaries"), Some("ann"))
    );
    assert_eq!(read["actor"], "clerk");
    assert_eq!(read["roles"], json!(["rogue-runner"]));
    assert_eq!(read["request_id"], one.request_id.as_deref().unwrap());
    assert!(read.get("after").is_none() && !read.to_string().contains("91000"), "{read}");

    k.send_as(Some(&clerk), "GET", "/api/demo/rogue/salaries", None).await.expect(200);
    let keys: Vec<String> =
        reads(&k).await.iter().map(|r| r["key"].as_str().unwrap().to_owned()).collect();
    assert_eq!(keys, ["ann", "ann", "bob"], "a scan records each document it returned");
    // Reads of other collections, and reads that found nothing, record nothing.
    k.get("/api/demo/rogue/notes/n1").await.expect(200);
    k.get("/api/demo/rogue/salaries/nobody").await.expect_problem(404, "not-found");
    assert_eq!(reads(&k).await.len(), 3);
    // A failing call whose error quotes what it read is audited all the same.
    let leak = k.get("/api/demo/rogue/salaries/bob/leak").await.expect_problem(422, "invalid");
    assert!(leak.contains("87000"), "{leak}");
    assert_eq!(reads(&k).await.last().unwrap()["key"], "bob");
    assert_eq!(k.get("/admin/tenants/demo/audit/verify").await.expect(200)["ok"], true);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_may_read_only_as_many_sensitive_documents_as_it_may_write_records() {
    let mut setup = Setup::new(&["rogue"]);
    setup.writes_per_call_max = 50;
    let k = TestKernel::start(setup).await;
    for n in 0..60 {
        let path = format!("/api/demo/rogue/salaries/e{n:03}");
        k.send("PUT", &path, Some(json!({ "amount": "1000" }))).await.expect(200);
    }
    // Each document read is an audit record: 60 would pass the call's 50.
    // The page that does not fit is refused whole, unseen and unrecorded.
    let all = k.get("/api/demo/rogue/salaries?all").await;
    let detail = all.expect_problem(422, "limit-exceeded");
    assert!(detail.contains("sensitive"), "{detail}");
    let recorded = records(&k, "/admin/tenants/demo/audit", "record.read").await;
    assert!(recorded.is_empty(), "reads of a refused page: {}", recorded.len());
    // One document is fine.
    k.get("/api/demo/rogue/salaries/e001").await.expect(200);
    let recorded = records(&k, "/admin/tenants/demo/audit", "record.read").await;
    assert_eq!(recorded.len(), 1);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kernel_signs_and_keeps_heads_at_intervals() {
    let mut setup = Setup::new(&["finance"]);
    setup.audit_sign_interval = Some(std::time::Duration::from_millis(200));
    let k = TestKernel::start(setup).await;
    let account = json!({ "code": "1000", "name": "Cash", "type": "asset", "currency": "EUR" });
    k.post("/api/demo/finance/accounts", account).await.expect(201);
    let entries = k.get("/admin/tenants/demo/audit/verify").await.expect(200)["entries"].clone();
    let mut kept = Vec::new();
    for _ in 0..100 {
        kept = k.get("/admin/tenants/demo/audit/heads").await.expect(200)["heads"]
            .as_array()
            .unwrap()
            .clone();
        if kept.last().is_some_and(|h| h["statement"]["entries"] == entries) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let newest: keel_audit::SignedHead =
        serde_json::from_value(kept.last().expect("a head kept within 10 s").clone()).unwrap();
    assert_eq!(newest.statement.chain, "tenant/demo");
    assert_eq!(json!(newest.statement.entries), entries);
    assert!(keel_audit::verify_signed_head(&newest));
    // A chain that did not grow is not signed again. The platform's chain
    // grows (each sign-in is audited) and is signed first in each pass: a
    // second new platform head means the pass before it, demo included,
    // has ended.
    for _ in 0..2 {
        let signed = platform_heads(&k).await.len();
        k.login("admin", keel_tests::ADMIN_PASSWORD).await;
        let mut waited = 0;
        while platform_heads(&k).await.len() == signed {
            waited += 1;
            assert!(waited < 200, "no platform head kept within 10 s");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let again = k.get("/admin/tenants/demo/audit/heads").await.expect(200)["heads"].clone();
    assert_eq!(again.as_array().unwrap().len(), kept.len());
    assert_eq!(platform_heads(&k).await[0]["statement"]["chain"], "platform");
    k.stop().await;
}

/// The platform chain's kept heads.
async fn platform_heads(k: &TestKernel) -> Vec<Value> {
    k.get("/admin/audit/heads").await.expect(200)["heads"].as_array().unwrap().clone()
}
