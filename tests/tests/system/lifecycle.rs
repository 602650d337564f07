//! Installing packages and moving tenants between versions, safely.

use keel_tests::{Reply, Setup, TestKernel, plugin_bytes};
use serde_json::json;

async fn upload(k: &TestKernel, bytes: Vec<u8>) -> Reply {
    let request = k
        .request(reqwest::Method::POST, "/admin/packages")
        .header("content-type", "application/wasm")
        .body(bytes);
    Reply::from(request.send().await.unwrap()).await
}

async fn enable(k: &TestKernel, body: Option<serde_json::Value>) -> Reply {
    k.send("PUT", "/admin/tenants/demo/plugins/notes", body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_upgrade_roll_back_disable_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    let installed = upload(&k, plugin_bytes("notes-v1")).await;
    let installed = installed.expect(201);
    assert_eq!(
        (installed["id"].as_str(), installed["version"].as_str()),
        (Some("notes"), Some("0.1.0"))
    );
    assert_eq!(installed["digest"].as_str().unwrap().len(), 64);
    upload(&k, plugin_bytes("notes-v1")).await.expect(200);
    let listed = k.get("/admin/packages").await;
    let ids: Vec<String> = listed.expect(200)["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {}", p["id"], p["version"]))
        .collect();
    assert!(ids.contains(&"\"notes\" \"0.1.0\"".to_owned()), "{ids:?}");
    let inspected = k.get("/admin/packages/notes/0.1.0").await;
    let inspected = inspected.expect(200);
    assert_eq!(inspected["operations"].as_array().unwrap().len(), 2);
    assert_eq!(inspected["roles"][0]["id"], "note-taker");
    let imports = inspected["imports"].to_string();
    assert!(imports.contains("keel:kernel/records@0.6.0"), "{imports}");
    assert!(inspected["exports"].to_string().contains("handle"));
    k.get("/admin/packages/notes/9.9.9").await.expect_problem(404, "not-found");

    let report = enable(&k, None).await;
    assert_eq!(
        report.expect(200)["report"],
        json!({ "plugin": "notes", "from": null, "to": "0.1.0", "migrated": true, "dry_run": false })
    );
    k.post("/api/demo/notes/notes/first", json!({ "text": "hello keel world" })).await.expect(201);

    upload(&k, plugin_bytes("notes-v2")).await.expect(201);
    let dry = enable(&k, Some(json!({ "version": "0.2.0", "dry_run": true }))).await;
    assert_eq!(dry.expect(200)["report"]["dry_run"], true);
    let note = k.get("/api/demo/notes/notes/first").await;
    assert_eq!(
        note.expect(200),
        &json!({ "text": "hello keel world" }),
        "a dry run changes nothing"
    );

    let upgraded = enable(&k, Some(json!({ "version": "0.2.0" }))).await;
    assert_eq!(upgraded.expect(200)["report"]["from"], "0.1.0");
    let note = k.get("/api/demo/notes/notes/first").await;
    assert_eq!(
        note.expect(200),
        &json!({ "text": "hello keel world", "words": 3, "schema": 2 }),
        "migrated by 0.2.0"
    );

    upload(&k, plugin_bytes("notes-v3")).await.expect(201);
    let failed = enable(&k, Some(json!({ "version": "0.3.0" }))).await;
    let detail = failed.expect_problem(422, "invalid");
    assert!(detail.contains("cannot migrate"), "{detail}");
    let note = k.get("/api/demo/notes/notes/first").await;
    assert_eq!(
        note.expect(200)["schema"],
        2,
        "the failed migration rolled back and 0.2.0 still serves"
    );

    enable(&k, Some(json!({ "version": "0.1.0" }))).await.expect_problem(409, "conflict");
    enable(&k, Some(json!({ "version": "0.2.0", "extra": 1 })))
        .await
        .expect_problem(400, "bad-request");

    assert_eq!(k.send("DELETE", "/admin/tenants/demo/plugins/notes", None).await.status, 204);
    k.get("/api/demo/notes/notes/first").await.expect_problem(404, "not-found");
    k.send("DELETE", "/admin/tenants/demo/plugins/notes", None)
        .await
        .expect_problem(404, "not-found");
    let again = enable(&k, Some(json!({ "version": "0.2.0" }))).await;
    assert_eq!(again.expect(200)["report"]["migrated"], false);
    let note = k.get("/api/demo/notes/notes/first").await;
    assert_eq!(note.expect(200)["words"], 3, "disabling kept the data");
    k.stop().await;

    // Installed packages and the tenant's pinned version survive a restart.
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    let note = k.get("/api/demo/notes/notes/first").await;
    assert_eq!(note.expect(200)["schema"], 2);
    let listed = k.get("/admin/packages").await;
    assert_eq!(
        listed.expect(200)["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["id"] == "notes")
            .count(),
        3
    );
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_packages_are_refused_with_a_reason() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let cases: [(&[u8], &str); 3] = [
        (b"definitely not wasm", "not WebAssembly"),
        (b"\0asm\x01\0\0\0", "core module"),
        (b"\0asm\x0d\0\x01\0", "keel:manifest"),
    ];
    for (bytes, needle) in cases {
        let detail = upload(&k, bytes.to_vec()).await.expect_problem(422, "invalid");
        assert!(detail.contains(needle), "{needle}: {detail}");
    }
    let detail = upload(&k, plugin_bytes("wrong-world")).await.expect_problem(422, "invalid");
    assert!(detail.contains("does not match the keel:kernel/plugin"), "{detail}");
    upload(&k, Vec::new()).await.expect_problem(400, "bad-request");
    let listed = k.get("/admin/packages").await;
    assert_eq!(
        listed.expect(200)["packages"].as_array().unwrap().len(),
        1,
        "only finance is installed"
    );

    let alice = k.user_with_roles("alice", "demo", &["admin"]).await;
    let request = k
        .client()
        .post(format!("{}/admin/packages", k.base()))
        .bearer_auth(&alice)
        .body(plugin_bytes("notes-v1"));
    Reply::from(request.send().await.unwrap()).await.expect_problem(403, "forbidden");
    // Refused from its headers, before its body is read: a client waiting
    // for `100 Continue` with a larger package than any allowed hears 403.
    let addr = k.base().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /admin/packages HTTP/1.1\r\nHost: keel\r\nAuthorization: Bearer {alice}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        64 * 1024 * 1024
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::io::AsyncReadExt::read(&mut stream, &mut answer);
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), read).await;
    let answer = String::from_utf8_lossy(&answer[..n.expect("answered").unwrap()]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let anonymous = k.client().get(format!("{}/admin/packages", k.base()));
    Reply::from(anonymous.send().await.unwrap()).await.expect_problem(401, "unauthenticated");
    k.stop().await;
}

/// What the `note-taker` role grants in `tenant`.
async fn note_taker(k: &TestKernel, tenant: &str) -> serde_json::Value {
    let path = format!("/admin/tenants/{tenant}/roles/note-taker");
    k.get(&path).await.expect(200)["permissions"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_plugin_roles_are_those_of_the_version_it_runs() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    upload(&k, plugin_bytes("notes-v1")).await.expect(201);
    upload(&k, plugin_bytes("notes-v2")).await.expect(201);
    k.post("/admin/tenants", json!({ "id": "acme", "name": "Acme" })).await.expect(201);
    let v1 = Some(json!({ "version": "0.1.0" }));
    enable(&k, v1.clone()).await.expect(200);
    k.send("PUT", "/admin/tenants/acme/plugins/notes", v1).await.expect(200);
    k.user_with_roles("nina", "demo", &["note-taker"]).await;

    // Upgrading demo would give nina what a rule says no one may hold
    // together: refused, and demo still runs 0.1.0.
    let rule = json!({ "permissions": ["notes.write", "notes.purge"] });
    k.send("PUT", "/admin/tenants/demo/sod/write-or-purge", Some(rule)).await.expect(200);
    let v2 = Some(json!({ "version": "0.2.0" }));
    let detail = enable(&k, v2.clone()).await.expect_problem(409, "conflict");
    assert!(detail.contains("write-or-purge") && detail.contains("nina"), "{detail}");
    assert_eq!(note_taker(&k, "demo").await, json!(["notes.write"]));

    // Without the rule demo upgrades, and only demo's role grows: acme,
    // still on 0.1.0, grants what 0.1.0 declares.
    k.send("DELETE", "/admin/tenants/demo/sod/write-or-purge", None).await;
    enable(&k, v2).await.expect(200);
    assert_eq!(note_taker(&k, "demo").await, json!(["notes.purge", "notes.write"]));
    assert_eq!(note_taker(&k, "acme").await, json!(["notes.write"]));
    // Disabled, the plugin's roles grant nothing there.
    assert_eq!(k.send("DELETE", "/admin/tenants/demo/plugins/notes", None).await.status, 204);
    let members = k.get("/admin/tenants/demo/members/nina").await;
    assert_eq!(members.expect(200)["roles"], json!(["note-taker"]));
    assert_eq!(note_taker(&k, "acme").await, json!(["notes.write"]));
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_installed_package_is_set_aside_and_the_kernel_starts() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    let installed = upload(&k, plugin_bytes("notes-v1")).await;
    let digest = installed.expect(201)["digest"].as_str().unwrap().to_owned();
    enable(&k, None).await.expect(200);
    k.stop().await;

    // Torn, as a crash in the middle of writing it would have left it.
    let path = dir.path().join(format!("data/packages/{digest}.wasm"));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();

    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    k.get("/healthz").await.expect(200);
    k.get("/api/demo/finance/accounts").await.expect(200);
    assert!(!path.exists(), "set aside");
    assert!(path.with_extension("wasm.corrupt").exists());
    k.get("/api/demo/notes/notes/first").await.expect_problem(404, "not-found");
    // Installed again, it serves the tenant that runs it.
    upload(&k, plugin_bytes("notes-v1")).await.expect(201);
    enable(&k, None).await.expect(200);
    k.post("/api/demo/notes/notes/first", json!({ "text": "back again" })).await.expect(201);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_enablement_record_is_reported_never_read_as_never_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    upload(&k, plugin_bytes("notes-v1")).await.expect(201);
    enable(&k, None).await.expect(200);
    // The record of which version the tenant runs is damaged around the
    // kernel, as a bad disk or a hand with the data directory could.
    let storage = std::sync::Arc::clone(k.host().storage());
    let demo = keel_types::TenantId::new("demo").unwrap();
    let mut txn = storage.write(&[keel_storage::Lane::Tenant(demo)]).unwrap();
    txn.tamper_raw("catalog", b"enabled/demo/notes", Some(b"{\"version\":")).unwrap();
    txn.commit().unwrap();
    drop(storage);
    let before = enables(&k).await;
    // Enabling again must not take the tenant for one that never ran the
    // plugin and migrate its data from nothing.
    let refused = enable(&k, None).await.expect_problem(500, "internal");
    assert!(refused.contains("kernel log"), "{refused}");
    assert_eq!(enables(&k).await, before, "nothing enabled, nothing migrated");
    // Verification names the damaged record rather than checking the
    // plugin's documents as if the tenant did not run it.
    let verified = k.get("/admin/tenants/demo/audit/verify").await.expect(200).clone();
    assert_eq!(verified["ok"], false, "{verified}");
    let reason = verified["reason"].as_str().unwrap();
    assert!(
        reason.contains("enabled/demo/notes") && reason.contains("around the kernel"),
        "{reason}"
    );
    // A restart keeps serving everything else and leaves the plugin off.
    k.stop().await;
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    k.get("/api/demo/finance/accounts").await.expect(200);
    assert_eq!(k.get("/api/demo/notes/notes/a").await.status, 404);
    k.stop().await;
}

/// How many `plugin.enable` entries the demo tenant's trail holds.
async fn enables(k: &TestKernel) -> usize {
    let entries = k.get("/admin/tenants/demo/audit?action=plugin.enable").await;
    entries.expect(200)["entries"].as_array().unwrap().len()
}
