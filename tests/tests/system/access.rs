//! Authentication and authorization at every route: deny by default.

use keel_manifest::{Manifest, Method};
use keel_tests::{Reply, Setup, TestKernel};
use serde_json::{Value, json};

fn finance_manifest() -> Manifest {
    Manifest::parse(include_str!("../../../plugins/finance/keel.toml")).unwrap()
}

/// A concrete path for an operation's pattern.
fn sample_path(pattern: &str) -> String {
    pattern.replace("{code}", "1000").replace("{number}", "1").replace("{template}", "starter")
}

fn sample_body(method: Method) -> Option<Value> {
    (method != Method::Get).then(|| json!({}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_plugin_operation_needs_a_session_and_its_permission() {
    let mut setup = Setup::new(&["finance"]);
    setup.tenants = vec!["demo", "acme"];
    let k = TestKernel::start(setup).await;
    let stranger = k.user_with_roles("stranger", "acme", &["accountant"]).await;
    let nobody = k.user_with_roles("nobody", "demo", &[]).await;
    let viewer = k.user_with_roles("viewer", "demo", &["finance-viewer"]).await;
    let accountant = k.user_with_roles("alice", "demo", &["accountant"]).await;
    let auditor = k.user_with_roles("audrey", "demo", &["auditor"]).await;

    let manifest = finance_manifest();
    assert!(manifest.operations.len() >= 10);
    let role = manifest.roles.iter().find(|r| r.id == "accountant").expect("an accountant role");
    let accountant_grants = role.permissions.clone();
    assert!(
        !accountant_grants.contains(&"finance.periods.reopen".to_owned()),
        "reopening is the controller's"
    );
    for op in &manifest.operations {
        let path = format!("/api/demo/finance{}", sample_path(&op.path.to_string()));
        let method = op.method.as_str();
        let denied = |reply: keel_tests::Reply, who: &str, status: u16| {
            assert_eq!(reply.status, status, "{who} {method} {path}: {}", reply.body);
        };
        denied(k.send_as(None, method, &path, sample_body(op.method)).await, "anonymous", 401);
        denied(
            k.send_as(Some("keel_0000"), method, &path, sample_body(op.method)).await,
            "forged token",
            401,
        );
        denied(
            k.send_as(Some(&nobody), method, &path, sample_body(op.method)).await,
            "member without roles",
            404,
        );
        denied(
            k.send_as(Some(&stranger), method, &path, sample_body(op.method)).await,
            "accountant of another tenant",
            404,
        );

        let allowed = |reply: &keel_tests::Reply| reply.status != 401 && reply.status != 403;
        let reply = k.send_as(Some(&accountant), method, &path, sample_body(op.method)).await;
        assert_eq!(
            allowed(&reply),
            accountant_grants.contains(&op.permission),
            "accountant {method} {path}: {}",
            reply.body
        );
        let reply = k.send_as(Some(&viewer), method, &path, sample_body(op.method)).await;
        assert_eq!(
            allowed(&reply),
            op.permission == "finance.reports.read",
            "viewer {method} {path}: {}",
            reply.body
        );
        let reply = k.send_as(Some(&auditor), method, &path, sample_body(op.method)).await;
        assert_eq!(
            allowed(&reply),
            op.permission.ends_with(".read"),
            "auditor {method} {path}: {}",
            reply.body
        );
    }
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_need_their_permission() {
    let mut setup = Setup::new(&["finance"]);
    setup.tenants = vec!["demo", "acme"];
    let k = TestKernel::start(setup).await;
    let accountant = k.user_with_roles("alice", "demo", &["accountant"]).await;
    let tenant_admin = k.user_with_roles("tina", "demo", &["admin"]).await;
    let routes: [(&str, &str, Option<Value>); 7] = [
        ("GET", "/admin/tenants", None),
        ("POST", "/admin/tenants", Some(json!({ "id": "newco", "name": "New Co" }))),
        ("GET", "/admin/users", None),
        (
            "POST",
            "/admin/users",
            Some(json!({ "id": "newbie", "name": "Newbie", "password": "a long enough password" })),
        ),
        ("GET", "/admin/tenants/demo/members", None),
        ("PUT", "/admin/tenants/demo/members/alice", Some(json!({ "roles": ["accountant"] }))),
        ("PUT", "/admin/tenants/demo/plugins/finance", None),
    ];
    for (method, path, body) in &routes {
        let anonymous = k.send_as(None, method, path, body.clone()).await;
        assert_eq!(anonymous.status, 401, "anonymous {method} {path}");
        let reply = k.send_as(Some(&accountant), method, path, body.clone()).await;
        assert_eq!(reply.status, 403, "accountant {method} {path}: {}", reply.body);
    }
    // A tenant administrator manages its own tenant, and nothing else.
    for (method, path, body) in &routes[4..] {
        let reply = k.send_as(Some(&tenant_admin), method, path, body.clone()).await;
        assert_eq!(reply.status, 200, "tenant admin {method} {path}: {}", reply.body);
        let elsewhere = path.replace("/demo/", "/acme/");
        let reply = k.send_as(Some(&tenant_admin), method, &elsewhere, body.clone()).await;
        assert_eq!(reply.status, 403, "tenant admin {method} {elsewhere}: {}", reply.body);
    }
    for (method, path, body) in &routes[..4] {
        let reply = k.send_as(Some(&tenant_admin), method, path, body.clone()).await;
        assert_eq!(reply.status, 403, "tenant admin {method} {path}: {}", reply.body);
    }
    // The platform administrator may do all of it.
    for (method, path, body) in &routes {
        let reply = k.send(method, path, body.clone()).await;
        assert!(
            reply.status == 200 || reply.status == 201,
            "admin {method} {path}: {}",
            reply.body
        );
    }
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_admin_input_is_refused_and_changes_nothing() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post("/admin/tenants", json!({ "id": "Bad Id", "name": "x" }))
        .await
        .expect_problem(422, "invalid");
    k.post("/admin/tenants", json!({ "id": "demo", "name": "again" }))
        .await
        .expect_problem(409, "conflict");
    k.post("/admin/tenants", json!({ "id": "newco", "name": "x", "admin": true }))
        .await
        .expect_problem(400, "bad-request");
    k.post("/admin/users", json!({ "id": "weak", "name": "Weak", "password": "short" }))
        .await
        .expect_problem(422, "invalid");
    let tenants = k.get("/admin/tenants").await;
    assert_eq!(tenants.expect(200)["tenants"].as_array().unwrap().len(), 1, "no tenant was added");

    k.user_with_roles("alice", "demo", &["finance-viewer"]).await;
    let put = |roles: Value| {
        k.send("PUT", "/admin/tenants/demo/members/alice", Some(json!({ "roles": roles })))
    };
    let detail = put(json!(["accountant", "wizard"])).await.expect_problem(422, "invalid");
    assert!(detail.contains("wizard"), "{detail}");
    put(json!("accountant")).await.expect_problem(400, "bad-request");
    k.send("PUT", "/admin/tenants/nowhere/members/alice", Some(json!({ "roles": [] })))
        .await
        .expect_problem(404, "not-found");
    let members = k.get("/admin/tenants/demo/members").await;
    assert_eq!(
        members.expect(200)["members"],
        json!([{ "tenant": "demo", "user": "alice", "roles": ["finance-viewer"] }])
    );
    k.send("PUT", "/admin/tenants/demo/plugins/payroll", None)
        .await
        .expect_problem(404, "not-found");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_see_who_is_calling() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post("/api/demo/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);
    let alice = k.user_with_roles("alice", "demo", &["accountant"]).await;
    let entry = json!({ "date": "2026-06-01", "lines": [{ "account": "1000", "debit": "5" }, { "account": "4000", "credit": "5" }] });
    let posted = k.send_as(Some(&alice), "POST", "/api/demo/finance/entries", Some(entry)).await;
    assert_eq!(posted.expect(201)["posted_by"], "alice");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_act_in_one_tenant_with_their_roles_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::new(&["finance"]);
    setup.tenants = vec!["demo", "acme"];
    let k = TestKernel::start_in(dir.path(), setup.clone()).await;
    k.post("/api/demo/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);
    let created = k
        .post(
            "/admin/tenants/demo/tokens",
            json!({ "name": "bank feed", "roles": ["bookkeeper"], "expires_in_days": 30 }),
        )
        .await;
    let created = created.expect(201).clone();
    let (id, secret) = (
        created["token"]["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    );

    let entry = json!({ "date": "2026-07-01", "lines": [{ "account": "1100", "debit": "9" }, { "account": "4000", "credit": "9" }] });
    let posted = k.send_as(Some(&secret), "POST", "/api/demo/finance/entries", Some(entry)).await;
    assert_eq!(posted.expect(201)["posted_by"], format!("token:{id}"));
    k.send_as(Some(&secret), "GET", "/api/demo/finance/reports/trial-balance", None)
        .await
        .expect(200);
    let account = json!({ "code": "7000", "name": "X", "type": "expense", "currency": "EUR" });
    k.send_as(Some(&secret), "POST", "/api/demo/finance/accounts", Some(account))
        .await
        .expect_problem(403, "forbidden");
    k.send_as(Some(&secret), "GET", "/api/acme/finance/accounts", None)
        .await
        .expect_problem(404, "not-found");
    k.send_as(Some(&secret), "GET", "/admin/tenants", None).await.expect_problem(403, "forbidden");
    k.send_as(Some(&secret), "POST", "/auth/logout", None)
        .await
        .expect_problem(401, "unauthenticated");

    let listed = k.get("/admin/tenants/demo/tokens").await;
    let listed = listed.expect(200)["tokens"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(!listed[0].to_string().contains(&secret), "secrets are never listed");
    k.get("/admin/tenants/acme/tokens").await.expect(200);
    let bad_role = json!({ "name": "x", "roles": ["wizard"], "expires_in_days": 30 });
    k.post("/admin/tenants/demo/tokens", bad_role).await.expect_problem(422, "invalid");
    let bad_days = json!({ "name": "x", "roles": ["bookkeeper"], "expires_in_days": 0 });
    k.post("/admin/tenants/demo/tokens", bad_days).await.expect_problem(422, "invalid");
    k.stop().await;

    let k = TestKernel::start_in(dir.path(), setup).await;
    k.send_as(Some(&secret), "GET", "/api/demo/finance/reports/trial-balance", None)
        .await
        .expect(200);
    assert_eq!(
        k.send("DELETE", &format!("/admin/tenants/demo/tokens/{id}"), None).await.status,
        204
    );
    k.send_as(Some(&secret), "GET", "/api/demo/finance/reports/trial-balance", None)
        .await
        .expect_problem(401, "unauthenticated");
    k.send("DELETE", &format!("/admin/tenants/demo/tokens/{id}"), None)
        .await
        .expect_problem(404, "not-found");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_describe_the_admin_api_and_each_tenants_operations() {
    let mut setup = Setup::new(&["finance"]);
    setup.tenants = vec!["demo", "acme"];
    let k = TestKernel::start(setup).await;
    let admin = k.send_as(None, "GET", "/admin/openapi.json", None).await;
    let admin = admin.expect(200);
    assert_eq!(admin["openapi"], "3.1.0");
    for (path, method) in [
        ("/auth/login", "post"),
        ("/admin/tenants", "post"),
        ("/admin/users", "get"),
        ("/admin/tenants/{tenant}/members/{user}", "put"),
        ("/admin/tenants/{tenant}/tokens/{id}", "delete"),
        ("/admin/packages", "post"),
        ("/admin/tenants/{tenant}/plugins/{plugin}", "put"),
    ] {
        assert!(admin["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    assert_eq!(admin["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

    let alice = k.user_with_roles("alice", "demo", &["finance-viewer"]).await;
    let doc = k.send_as(Some(&alice), "GET", "/api/demo/openapi.json", None).await;
    let doc = doc.expect(200).clone();
    assert_eq!(doc["openapi"], "3.1.0");
    let manifest = finance_manifest();
    for op in &manifest.operations {
        let path = format!("/finance{}", op.path);
        let documented = &doc["paths"][&path][op.method.as_str().to_ascii_lowercase()];
        assert_eq!(documented["x-keel-permission"], op.permission.as_str(), "{path}");
        let typed = documented["responses"].get("200").is_some();
        let content = &documented["responses"][if typed { "200" } else { "2XX" }]["content"];
        let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        for kind in ["text/csv", xlsx] {
            let exported = op.export.is_some();
            assert_eq!(
                content[kind].is_object(),
                exported,
                "{path}: {kind} documented where exported"
            );
        }
    }
    assert_eq!(doc["paths"]["/finance/entries/{number}"]["get"]["parameters"][0]["name"], "number");
    // Every list, the plugins' and the kernel's, pages by one rule, declared.
    let paged = |parameters: &serde_json::Value| {
        let limit = parameters.as_array().unwrap().iter().find(|p| p["name"] == "limit").cloned();
        limit.map(|limit| limit["schema"].clone())
    };
    let rule = json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 });
    for path in ["/finance/accounts", "/finance/entries"] {
        assert_eq!(paged(&doc["paths"][path]["get"]["parameters"]), Some(rule.clone()), "{path}");
    }
    assert_eq!(paged(&doc["paths"]["/finance/entries/{number}"]["get"]["parameters"]), None);
    for path in ["/admin/tenants", "/admin/tenants/{tenant}/audit"] {
        assert_eq!(paged(&admin["paths"][path]["get"]["parameters"]), Some(rule.clone()), "{path}");
    }
    // Every admin operation's failures are problem documents, as described.
    let problem = json!({ "$ref": "#/components/schemas/Problem" });
    assert_eq!(admin["components"]["schemas"]["Problem"]["required"][3], "detail");
    for (path, operations) in admin["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                if status == "default" || status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/problem+json"]["schema"];
                    assert_eq!(schema, &problem, "{method} {path} {status}");
                }
            }
            assert!(responses.contains_key("default"), "{method} {path}");
            let parameters = operation.get("parameters");
            assert!(parameters.is_none_or(Value::is_array), "{method} {path}: {parameters:?}");
        }
    }
    k.send_as(Some(&alice), "GET", "/api/acme/openapi.json", None)
        .await
        .expect_problem(403, "forbidden");
    k.send_as(None, "GET", "/api/demo/openapi.json", None)
        .await
        .expect_problem(401, "unauthenticated");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_can_ask_whether_their_caller_holds_a_permission() {
    let k = TestKernel::start(Setup::new(&["finance", "rogue"])).await;
    let alice = k.user_with_roles("alice", "demo", &["rogue-runner", "finance-viewer"]).await;
    let can = |token: Option<String>, permission: &'static str| {
        let k = &k;
        async move {
            let reply = k
                .send_as(
                    token.as_deref(),
                    "GET",
                    &format!("/api/demo/rogue/can/{permission}"),
                    None,
                )
                .await;
            reply.expect(200)["granted"].as_bool().unwrap()
        }
    };
    assert!(can(Some(alice.clone()), "finance.reports.read").await);
    assert!(!can(Some(alice.clone()), "finance.journal.post").await);
    assert!(!can(Some(alice.clone()), "Not%20A%20Permission").await);
    assert!(
        can(Some(k.admin_token().to_owned()), "finance.journal.post").await,
        "the platform admin holds everything"
    );
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segregation_of_duties_and_tenant_roles() {
    let k = TestKernel::start(Setup::new(&["finance", "rogue"])).await;
    let t = "/admin/tenants/demo";
    // A tenant's own role; malformed rules and taken names are refused.
    let chart = json!({ "permissions": ["finance.accounts.manage", "finance.reports.read"] });
    k.send("PUT", &format!("{t}/roles/chart-keeper"), Some(chart)).await.expect(200);
    let bad = json!({ "permissions": ["Finance Accounts"] });
    k.send("PUT", &format!("{t}/roles/broken"), Some(bad)).await.expect_problem(422, "invalid");
    let taken = json!({ "permissions": ["finance.reports.read"] });
    k.send("PUT", &format!("{t}/roles/accountant"), Some(taken))
        .await
        .expect_problem(409, "conflict");
    let roles = k.get(&format!("{t}/roles")).await;
    let roles = roles.expect(200)["roles"].as_array().unwrap().clone();
    let chart_keeper = roles.iter().find(|r| r["id"] == "chart-keeper").expect("listed");
    assert_eq!(chart_keeper["origin"], "tenant");
    assert_eq!(roles.iter().find(|r| r["id"] == "accountant").unwrap()["origin"], "plugin");

    // Whoever maintains the chart may not also post entries.
    let alice = k.user_with_roles("alice", "demo", &["accountant"]).await;
    let rule = json!({ "permissions": ["finance.accounts.manage", "finance.journal.post"] });
    let detail = k
        .send("PUT", &format!("{t}/sod/chart-or-post"), Some(rule.clone()))
        .await
        .expect_problem(409, "conflict");
    assert!(detail.contains("alice"), "an existing accountant holds both: {detail}");
    k.send("PUT", &format!("{t}/members/alice"), Some(json!({ "roles": ["bookkeeper"] })))
        .await
        .expect(200);
    k.send("PUT", &format!("{t}/sod/chart-or-post"), Some(rule)).await.expect(200);
    let both = json!({ "roles": ["bookkeeper", "chart-keeper"] });
    let detail = k
        .send("PUT", &format!("{t}/members/alice"), Some(both))
        .await
        .expect_problem(409, "conflict");
    assert!(detail.contains("chart-or-post"), "{detail}");
    let members = k.get(&format!("{t}/members")).await;
    assert!(
        members.expect(200).to_string().contains("bookkeeper"),
        "the refused change changed nothing"
    );
    let token = json!({ "name": "x", "roles": ["accountant"], "expires_in_days": 1 });
    k.post(&format!("{t}/tokens"), token).await.expect_problem(409, "conflict");
    k.send(
        "PUT",
        &format!("{t}/roles/chart-keeper"),
        Some(json!({ "permissions": ["finance.*"] })),
    )
    .await
    .expect(200);
    drop(alice);

    // The author of a document may not approve it; someone else may.
    let author = k.user_with_roles("ann", "demo", &["rogue-runner"]).await;
    let approver = k.user_with_roles("ben", "demo", &["rogue-runner"]).await;
    k.send_as(Some(&author), "POST", "/api/demo/rogue/notes/po-1/author", Some(json!({})))
        .await
        .expect(201);
    let detail = k
        .send_as(Some(&author), "POST", "/api/demo/rogue/notes/po-1/approve", Some(json!({})))
        .await
        .expect_problem(403, "segregation-of-duties");
    assert!(detail.contains("ann created notes/po-1"), "{detail}");
    let approved = k
        .send_as(Some(&approver), "POST", "/api/demo/rogue/notes/po-1/approve", Some(json!({})))
        .await;
    assert_eq!(approved.expect(200)["approved_by"], "ben");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_acts_for_the_person_who_created_it() {
    let k = TestKernel::start(Setup::new(&["rogue"])).await;
    let t = "/admin/tenants/demo";
    let minter = json!({ "permissions": ["keel.tokens.manage"] });
    k.send("PUT", &format!("{t}/roles/minter"), Some(minter)).await.expect(200);
    let ann = k.user_with_roles("ann", "demo", &["rogue-runner", "minter"]).await;
    let ben = k.user_with_roles("ben", "demo", &["rogue-runner"]).await;
    let script = json!({ "name": "ann's script", "roles": ["rogue-runner"], "expires_in_days": 1 });
    let created = k.send_as(Some(&ann), "POST", &format!("{t}/tokens"), Some(script)).await;
    let created = created.expect(201);
    assert_eq!(created["token"]["created_by"], "ann");
    let (token, id) =
        (created["secret"].as_str().unwrap(), created["token"]["id"].as_str().unwrap());
    let note = |key: &str, step: &str| format!("/api/demo/rogue/notes/{key}/{step}");

    // Written by ann's token, approved by ann herself: the same person.
    k.send_as(Some(token), "POST", &note("po-7", "author"), Some(json!({}))).await.expect(201);
    let refused = k.send_as(Some(&ann), "POST", &note("po-7", "approve"), Some(json!({}))).await;
    let detail = refused.expect_problem(403, "segregation-of-duties");
    assert!(detail.contains("po-7"), "{detail}");
    // Written by ann, approved by her token: the same person again.
    k.send_as(Some(&ann), "POST", &note("po-8", "author"), Some(json!({}))).await.expect(201);
    let refused = k.send_as(Some(token), "POST", &note("po-8", "approve"), Some(json!({}))).await;
    refused.expect_problem(403, "segregation-of-duties");
    // A revoked token was still ann's.
    let revoked = k.send_as(Some(&ann), "DELETE", &format!("{t}/tokens/{id}"), None).await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let refused = k.send_as(Some(&ann), "POST", &note("po-7", "approve"), Some(json!({}))).await;
    refused.expect_problem(403, "segregation-of-duties");
    // Someone else may approve what ann's token wrote.
    let approved = k.send_as(Some(&ben), "POST", &note("po-7", "approve"), Some(json!({}))).await;
    assert_eq!(approved.expect(200)["approved_by"], "ben");
    // Who wrote a document that does not exist cannot be told: refused.
    let missing = k.send_as(Some(&ben), "POST", &note("po-9", "approve"), Some(json!({}))).await;
    let detail = missing.expect_problem(403, "segregation-of-duties");
    assert!(detail.contains("does not exist"), "{detail}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_records_can_be_read_updated_deleted_and_paged() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    for id in ["a-co", "b-co", "c-co"] {
        k.post("/admin/tenants", json!({ "id": id, "name": id })).await.expect(201);
    }
    let first = k.get("/admin/tenants?limit=2").await;
    let first = first.expect(200).clone();
    assert_eq!(first["tenants"].as_array().unwrap().len(), 2);
    let cursor = first["cursor"].as_str().expect("more follow").to_owned();
    let rest = k.get(&format!("/admin/tenants?limit=2&cursor={cursor}")).await;
    let ids: Vec<&str> = rest.expect(200)["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c-co", "demo"]);
    assert_eq!(rest.body["cursor"], Value::Null);
    k.get("/admin/tenants?limit=0").await.expect_problem(400, "bad-request");
    k.get("/admin/tenants?page=2").await.expect_problem(400, "bad-request");

    let renamed = k.send("PATCH", "/admin/tenants/a-co", Some(json!({ "name": "Alpha Co" }))).await;
    assert_eq!(renamed.expect(200)["name"], "Alpha Co");
    assert_eq!(k.get("/admin/tenants/a-co").await.expect(200)["name"], "Alpha Co");
    assert_eq!(k.send("DELETE", "/admin/tenants/a-co", None).await.status, 204);
    k.get("/admin/tenants/a-co").await.expect_problem(404, "not-found");
    k.send("DELETE", "/admin/tenants/demo", None).await.expect_problem(409, "conflict");

    let alice = k.user_with_roles("alice", "demo", &["finance-viewer"]).await;
    assert_eq!(k.get("/admin/users/alice").await.expect(200)["name"], "alice");
    let member = k.get("/admin/tenants/demo/members/alice").await;
    assert_eq!(member.expect(200)["roles"], json!(["finance-viewer"]));
    k.send("PATCH", "/admin/users/alice", Some(json!({ "name": "Alice B." }))).await.expect(200);
    k.send_as(Some(&alice), "GET", "/api/demo/finance/accounts", None).await.expect(200);
    k.send("PATCH", "/admin/users/alice", Some(json!({ "password": "a whole new password" })))
        .await
        .expect(200);
    k.send_as(Some(&alice), "GET", "/api/demo/finance/accounts", None)
        .await
        .expect_problem(401, "unauthenticated");
    let alice = k.login("alice", "a whole new password").await;
    k.send_as(Some(&alice), "GET", "/api/demo/finance/accounts", None).await.expect(200);
    assert_eq!(k.send("DELETE", "/admin/tenants/demo/members/alice", None).await.status, 204);
    k.send_as(Some(&alice), "GET", "/api/demo/finance/accounts", None)
        .await
        .expect_problem(404, "not-found");
    assert_eq!(k.send("DELETE", "/admin/users/alice", None).await.status, 204);
    k.send_as(Some(&alice), "GET", "/api/demo/finance/accounts", None)
        .await
        .expect_problem(401, "unauthenticated");
    k.get("/admin/users/alice").await.expect_problem(404, "not-found");
    k.send("DELETE", "/admin/users/admin", None).await.expect_problem(409, "conflict");

    let token = k
        .post(
            "/admin/tenants/demo/tokens",
            json!({ "name": "feed", "roles": ["finance-viewer"], "expires_in_days": 7 }),
        )
        .await;
    let id = token.expect(201)["token"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        k.get(&format!("/admin/tenants/demo/tokens/{id}")).await.expect(200)["name"],
        "feed"
    );
    k.get("/admin/tenants/demo/tokens/nope").await.expect_problem(404, "not-found");
    k.stop().await;
}

/// Fills a documented admin path with sample values.
fn sample_admin_path(path: &str, tenant: &str) -> String {
    path.replace("{tenant}", tenant)
        .replace("{user}", "alice")
        .replace("{plugin}", "finance")
        .replace("{version}", &keel_tests::bundled_version("finance"))
        .replace("{id}", "nope")
        .replace("{role}", "clerk")
        .replace("{rule}", "rule")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_admin_route_denies_by_default_and_across_tenants() {
    let mut setup = Setup::new(&["finance"]);
    setup.tenants = vec!["demo", "acme"];
    let k = TestKernel::start(setup).await;
    let accountant = k.user_with_roles("alice", "demo", &["accountant"]).await;
    let acme_admin = k.user_with_roles("ada", "acme", &["admin"]).await;
    let doc = k.send_as(None, "GET", "/admin/openapi.json", None).await.expect(200).clone();
    let mut n_checked = 0;
    for (path, methods) in doc["paths"].as_object().unwrap() {
        if path.starts_with("/auth/") {
            continue;
        }
        for method in methods.as_object().unwrap().keys() {
            let method = method.to_ascii_uppercase();
            let demo_path = sample_admin_path(path, "demo");
            let body = (method != "GET" && method != "DELETE").then(|| json!({}));
            let anonymous = k.send_as(None, &method, &demo_path, body.clone()).await;
            assert_eq!(anonymous.status, 401, "anonymous {method} {demo_path}: {}", anonymous.body);
            let reply = k.send_as(Some(&accountant), &method, &demo_path, body.clone()).await;
            assert_eq!(reply.status, 403, "accountant {method} {demo_path}: {}", reply.body);
            let reply = k.send_as(Some(&acme_admin), &method, &demo_path, body.clone()).await;
            assert_eq!(reply.status, 403, "acme's admin {method} {demo_path}: {}", reply.body);
            n_checked += 1;
        }
    }
    assert!(n_checked >= 25, "only {n_checked} admin routes are documented");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_admin_bodies_are_refused() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let huge = json!({ "id": "big", "name": "x".repeat(1024 * 1024 + 64 * 1024) });
    k.post("/admin/tenants", huge).await.expect_problem(413, "body-too-large");
    k.get("/admin/tenants/big").await.expect_problem(404, "not-found");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_one_grants_more_than_they_hold() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let t = "/admin/tenants/demo";
    let roles = json!({ "permissions": ["keel.members.manage", "keel.members.read", "finance.reports.read"] });
    k.send("PUT", &format!("{t}/roles/member-admin"), Some(roles)).await.expect(200);
    k.send(
        "PUT",
        &format!("{t}/roles/role-admin"),
        Some(json!({ "permissions": ["keel.roles.manage"] })),
    )
    .await
    .expect(200);
    let minter = json!({ "permissions": ["keel.tokens.manage", "finance.reports.read"] });
    k.send("PUT", &format!("{t}/roles/minter"), Some(minter)).await.expect(200);
    let manager = k.user_with_roles("mona", "demo", &["member-admin"]).await;
    k.user_with_roles("bob", "demo", &[]).await;

    let grant = |roles: Value| {
        k.send_as(
            Some(&manager),
            "PUT",
            "/admin/tenants/demo/members/bob",
            Some(json!({ "roles": roles })),
        )
    };
    grant(json!(["finance-viewer"])).await.expect(200);
    grant(json!(["accountant"])).await.expect_problem(403, "forbidden");
    grant(json!(["admin"])).await.expect_problem(403, "forbidden");
    let itself = k
        .send_as(
            Some(&manager),
            "PUT",
            "/admin/tenants/demo/members/mona",
            Some(json!({ "roles": ["admin"] })),
        )
        .await;
    itself.expect_problem(403, "forbidden");

    let role_admin = k.user_with_roles("rita", "demo", &["role-admin"]).await;
    let widen = json!({ "permissions": ["*"] });
    k.send_as(Some(&role_admin), "PUT", &format!("{t}/roles/role-admin"), Some(widen))
        .await
        .expect_problem(403, "forbidden");

    let token = k
        .post(
            &format!("{t}/tokens"),
            json!({ "name": "minter", "roles": ["minter"], "expires_in_days": 1 }),
        )
        .await;
    let secret = token.expect(201)["secret"].as_str().unwrap().to_owned();
    let child = json!({ "name": "child", "roles": ["finance-viewer"], "expires_in_days": 366 });
    k.send_as(Some(&secret), "POST", &format!("{t}/tokens"), Some(child))
        .await
        .expect_problem(403, "forbidden");
    k.stop().await;
}

/// `as_` sets `user`'s roles in the demo tenant.
async fn set_roles(k: &TestKernel, as_: &str, user: &str, roles: Value) -> Reply {
    let path = format!("/admin/tenants/demo/members/{user}");
    k.send_as(Some(as_), "PUT", &path, Some(json!({ "roles": roles }))).await
}

/// `user`'s roles in the demo tenant, as the administrator sees them.
async fn roles_of(k: &TestKernel, user: &str) -> Value {
    k.get(&format!("/admin/tenants/demo/members/{user}")).await.expect(200)["roles"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_one_takes_away_more_than_they_hold() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let t = "/admin/tenants/demo";
    let roles = json!({ "permissions": ["keel.members.manage", "keel.members.read", "finance.reports.read"] });
    k.send("PUT", &format!("{t}/roles/member-admin"), Some(roles)).await.expect(200);
    let manager = k.user_with_roles("mona", "demo", &["member-admin"]).await;
    k.user_with_roles("tess", "demo", &["admin"]).await;
    k.user_with_roles("bob", "demo", &["finance-viewer", "accountant"]).await;

    // The tenant's administrator cannot be demoted by someone who is less.
    set_roles(&k, &manager, "tess", json!([])).await.expect_problem(403, "forbidden");
    k.send_as(Some(&manager), "DELETE", &format!("{t}/members/tess"), None)
        .await
        .expect_problem(403, "forbidden");
    // Nor can a role the manager could not grant be taken away, even
    // while keeping one it could.
    let kept = set_roles(&k, &manager, "bob", json!(["finance-viewer"])).await;
    kept.expect_problem(403, "forbidden");
    assert_eq!(roles_of(&k, "tess").await, json!(["admin"]), "refused changes changed nothing");
    assert_eq!(roles_of(&k, "bob").await, json!(["accountant", "finance-viewer"]));
    // What the manager holds, it may take away, from anyone; roles it
    // leaves as they are need not be its to grant.
    let fewer = set_roles(&k, &manager, "bob", json!(["accountant"])).await;
    assert_eq!(fewer.expect(200)["roles"], json!(["accountant"]));
    set_roles(&k, &manager, "bob", json!(["accountant", "finance-viewer"])).await.expect(200);

    // Whether a platform user exists is not a tenant's business: naming
    // one who does not and one who is not a member answer alike.
    k.user_with_roles("carl", "demo", &[]).await;
    for user in ["carl", "nobody-here"] {
        let path = format!("{t}/members/{user}");
        let removed = k.send_as(Some(&manager), "DELETE", &path, None).await;
        assert_eq!(removed.status, 204, "{user}: {}", removed.body);
        let added = set_roles(&k, &manager, user, json!(["finance-viewer"])).await;
        assert_eq!(added.expect(200)["roles"], json!(["finance-viewer"]), "{user}");
        let member = k.send_as(Some(&manager), "GET", &path, None).await;
        assert_eq!(member.expect(200)["roles"], json!(["finance-viewer"]), "{user}");
    }
    // A user created later under that id is a member from the start.
    let password = "a long password of nobody's";
    let user = json!({ "id": "nobody-here", "name": "Nobody", "password": password });
    k.post("/admin/users", user).await.expect(201);
    let later = k.login("nobody-here", password).await;
    k.send_as(Some(&later), "GET", "/api/demo/finance/accounts", None).await.expect(200);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_users_tokens_stop_working_with_them() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let minter = json!({ "permissions": ["keel.tokens.manage", "finance.reports.read"] });
    k.send("PUT", "/admin/tenants/demo/roles/minter", Some(minter)).await.expect(200);
    let ann = k.user_with_roles("ann", "demo", &["minter"]).await;
    let script = json!({ "name": "export", "roles": ["finance-viewer"], "expires_in_days": 30 });
    let created = k.send_as(Some(&ann), "POST", "/admin/tenants/demo/tokens", Some(script)).await;
    let secret = created.expect(201)["secret"].as_str().unwrap().to_owned();
    let admins = json!({ "name": "admin's", "roles": ["finance-viewer"], "expires_in_days": 30 });
    let kept = k.post("/admin/tenants/demo/tokens", admins).await;
    let kept = kept.expect(201)["secret"].as_str().unwrap().to_owned();
    k.send_as(Some(&secret), "GET", "/api/demo/finance/accounts", None).await.expect(200);

    assert_eq!(k.send("DELETE", "/admin/users/ann", None).await.status, 204);
    k.send_as(Some(&secret), "GET", "/api/demo/finance/accounts", None)
        .await
        .expect_problem(401, "unauthenticated");
    let tokens = k.get("/admin/tenants/demo/tokens").await;
    let names: Vec<Value> = tokens.expect(200)["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("admin's")], "only ann's token went with her");
    k.send_as(Some(&kept), "GET", "/api/demo/finance/accounts", None).await.expect(200);
    k.stop().await;
}
