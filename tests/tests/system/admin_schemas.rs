//! The admin document describes every success answer: each operation's
//! 2xx JSON answer has a schema, and real answers hold to it, field by
//! field, with nothing the schema leaves out.

use std::time::{Duration, Instant};

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_success_answer_has_a_schema() {
    let k = TestKernel::start(Setup::new(&[])).await;
    let doc = k.send_as(None, "GET", "/admin/openapi.json", None).await.expect(200).clone();
    let mut untyped = Vec::new();
    let mut n_typed = 0;
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}: no success");
            for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('2')) {
                let name = format!("{method} {path} {status}");
                let content = response.get("content").and_then(Value::as_object);
                let typed = match (status.as_str(), content) {
                    // No body, and none declared.
                    ("204", None) => true,
                    ("204", Some(_)) => panic!("{name}: a 204 declares a body"),
                    (_, Some(content)) if !content.is_empty() => {
                        content.iter().all(|(kind, media)| described(kind, &media["schema"]))
                    }
                    _ => false,
                };
                if typed {
                    n_typed += 1;
                } else {
                    untyped.push(name);
                }
            }
        }
    }
    assert_eq!(untyped, Vec::<String>::new(), "success answers without a schema");
    assert!(n_typed >= 60, "only {n_typed} success answers are described");
    // The export is text, declared as such.
    let export = &doc["paths"]["/admin/tenants/{tenant}/audit/export"]["get"]["responses"]["200"];
    let kinds: Vec<&String> = export["content"].as_object().unwrap().keys().collect();
    assert_eq!(kinds, ["application/jsonl", "text/csv"]);
    k.stop().await;
}

/// Whether a media type's schema says something: JSON answers need a
/// reference or a schema that is not `{}`; text ones need one at all.
fn described(kind: &str, schema: &Value) -> bool {
    match schema.as_object() {
        Some(schema) => kind != "application/json" || !schema.is_empty(),
        None => false,
    }
}

/// Calls admin routes and holds each answer to the schema its operation
/// publishes for the status it answered with.
struct Checker<'k> {
    k: &'k TestKernel,
    doc: Value,
    checked: Vec<String>,
}

impl Checker<'_> {
    /// `method template` (with a query, if any) with `args` in its `{…}`
    /// segments, in order; answers the body, once it conforms.
    async fn call(
        &mut self,
        method: &str,
        template: &str,
        args: &[&str],
        body: Option<Value>,
    ) -> Value {
        let (template, query) = template.split_once('?').unwrap_or((template, ""));
        let mut path = template.to_owned();
        for arg in args {
            let start = path.find('{').expect("as many segments as args");
            let end = start + path[start..].find('}').unwrap();
            path.replace_range(start..=end, arg);
        }
        if !query.is_empty() {
            path = format!("{path}?{query}");
        }
        let reply = self.k.send(method, &path, body).await;
        assert!(
            (200..300).contains(&reply.status),
            "{method} {path}: {} {}",
            reply.status,
            reply.body
        );
        let operation = &self.doc["paths"][template][method.to_ascii_lowercase()];
        let response = &operation["responses"][reply.status.to_string()];
        assert!(response.is_object(), "{method} {template} does not declare {}", reply.status);
        assert_eq!(reply.content_type.as_deref(), Some("application/json"), "{method} {path}");
        let schema = &response["content"]["application/json"]["schema"];
        let mut errors = Vec::new();
        conform(&self.doc, schema, &reply.body, "", &mut errors);
        assert!(
            errors.is_empty(),
            "{method} {path} breaks its schema: {errors:#?}\n{}",
            reply.body
        );
        self.checked.push(format!("{method} {template}"));
        reply.body
    }
}

/// Checks `value` against `schema` (the subset of JSON Schema the admin
/// document uses), adding what breaks it, by JSON pointer, to `errors`. An
/// object schema with `properties` and no `additionalProperties` admits no
/// other field: what a route answers is all described.
fn conform(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.strip_prefix("#/components/schemas/").expect("a component");
        let target = &doc["components"]["schemas"][name];
        assert!(target.is_object(), "{reference} is not in the document");
        return conform(doc, target, value, at, errors);
    }
    let fits = |schema: &Value| {
        let mut found = Vec::new();
        conform(doc, schema, value, at, &mut found);
        found
    };
    if let Some(variants) = schema["oneOf"].as_array() {
        let found: Vec<Vec<String>> = variants.iter().map(fits).collect();
        let n_fitting = found.iter().filter(|f| f.is_empty()).count();
        if n_fitting != 1 {
            errors.push(format!("{at}: fits {n_fitting} of oneOf: {found:?}"));
        }
    }
    if let Some(variants) = schema["anyOf"].as_array()
        && variants.iter().all(|v| !fits(v).is_empty())
    {
        errors.push(format!("{at}: fits none of anyOf"));
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        conform(doc, part, value, at, errors);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| is_a(value, t)) {
        errors.push(format!("{at}: {value} is not {types:?}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(minimum), Some(n)) = (schema["minimum"].as_f64(), value.as_f64())
        && n < minimum
    {
        errors.push(format!("{at}: {n} is under {minimum}"));
    }
    if let Some(items) = value.as_array()
        && schema.get("items").is_some()
    {
        for (i, item) in items.iter().enumerate() {
            conform(doc, &schema["items"], item, &format!("{at}/{i}"), errors);
        }
    }
    let Some(object) = value.as_object() else { return };
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap();
        if !object.contains_key(name) {
            errors.push(format!("{at}/{name}: required, missing"));
        }
    }
    let properties = schema["properties"].as_object();
    let others = schema.get("additionalProperties");
    for (name, field) in object {
        let at = format!("{at}/{name}");
        match (properties.and_then(|p| p.get(name)), others) {
            (Some(declared), _) => conform(doc, declared, field, &at, errors),
            (None, Some(Value::Bool(true))) => {}
            (None, Some(others)) if others.is_object() => conform(doc, others, field, &at, errors),
            (None, _) if properties.is_some() => errors.push(format!("{at}: not in the schema")),
            (None, _) => {}
        }
    }
}

fn is_a(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("a type the check does not know: {other}"),
    }
}

#[test]
fn the_check_finds_what_breaks_a_schema() {
    let doc = json!({ "components": { "schemas": { "Page": {
        "type": "object",
        "properties": {
            "items": { "type": "array", "items": { "type": "integer", "minimum": 0 } },
            "cursor": { "type": ["string", "null"] },
        },
        "required": ["items", "cursor"],
    } } } });
    let page = json!({ "$ref": "#/components/schemas/Page" });
    let errors = |value: Value| {
        let mut errors = Vec::new();
        conform(&doc, &page, &value, "", &mut errors);
        errors
    };
    assert_eq!(errors(json!({ "items": [1, 2], "cursor": null })), Vec::<String>::new());
    assert_eq!(errors(json!({ "items": [1], "cursor": "1" })), Vec::<String>::new());
    assert_eq!(errors(json!({ "items": [] })), ["/cursor: required, missing"]);
    assert_eq!(errors(json!({ "items": [-1], "cursor": null })), ["/items/0: -1 is under 0"]);
    assert_eq!(errors(json!({ "items": ["a"], "cursor": 1 })).len(), 2);
    assert_eq!(
        errors(json!({ "items": [], "cursor": null, "more": true })),
        ["/more: not in the schema"]
    );
    let either = json!({ "oneOf": [
        { "type": "object", "properties": { "ok": { "type": "boolean" } }, "required": ["ok"] },
        { "type": "object", "properties": { "no": { "type": "boolean" } }, "required": ["no"] },
    ] });
    let mut found = Vec::new();
    conform(&doc, &either, &json!({ "ok": true }), "", &mut found);
    assert_eq!(found, Vec::<String>::new());
    conform(&doc, &either, &json!({ "neither": true }), "", &mut found);
    assert_eq!(found.len(), 1, "{found:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_answers_hold_to_their_published_schemas() {
    let k = TestKernel::start(Setup::new(&["finance", "ticker", "tally"])).await;
    let doc = k.send_as(None, "GET", "/admin/openapi.json", None).await.expect(200).clone();
    let mut c = Checker { k: &k, doc, checked: Vec::new() };

    // Tenants.
    c.call("POST", "/admin/tenants", &[], Some(json!({ "id": "acme", "name": "Acme" }))).await;
    let tenants = c.call("GET", "/admin/tenants", &[], None).await;
    assert_eq!(tenants["tenants"].as_array().unwrap().len(), 2, "{tenants}");
    c.call("GET", "/admin/tenants?limit=1", &[], None).await;
    let quota = json!({ "storage_bytes": 1 << 30 });
    c.call("PUT", "/admin/tenants/{tenant}/storage-quota", &["acme"], Some(quota)).await;
    let acme = c.call("GET", "/admin/tenants/{tenant}", &["acme"], None).await;
    assert_eq!(acme["storage_quota_bytes"], 1 << 30);
    c.call("PATCH", "/admin/tenants/{tenant}", &["acme"], Some(json!({ "name": "Acme Ltd" })))
        .await;
    let demo = c.call("GET", "/admin/tenants/{tenant}", &["demo"], None).await;
    assert_eq!(demo["storage_quota_bytes"], Value::Null, "null where the default holds");

    // Users, members, roles and rules.
    let bob = json!({ "id": "bob", "name": "Bob", "password": "bob has a long password" });
    c.call("POST", "/admin/users", &[], Some(bob)).await;
    c.call("GET", "/admin/users", &[], None).await;
    c.call("GET", "/admin/users/{user}", &["bob"], None).await;
    let roles = json!({ "roles": ["bookkeeper"] });
    c.call("PUT", "/admin/tenants/{tenant}/members/{user}", &["demo", "bob"], Some(roles)).await;
    let members = c.call("GET", "/admin/tenants/{tenant}/members", &["demo"], None).await;
    assert!(!members["grantable_roles"].as_array().unwrap().is_empty(), "{members}");
    c.call("GET", "/admin/tenants/{tenant}/members/{user}", &["demo", "bob"], None).await;
    let permissions = json!({ "permissions": ["finance.reports.read"] });
    c.call("PUT", "/admin/tenants/{tenant}/roles/{role}", &["demo", "reader"], Some(permissions))
        .await;
    c.call("GET", "/admin/tenants/{tenant}/roles", &["demo"], None).await;
    c.call("GET", "/admin/tenants/{tenant}/roles/{role}", &["demo", "reader"], None).await;
    let rule = json!({ "permissions": ["finance.accounts.manage", "finance.journal.post"] });
    c.call("PUT", "/admin/tenants/{tenant}/sod/{rule}", &["demo", "chart-or-post"], Some(rule))
        .await;
    c.call("GET", "/admin/tenants/{tenant}/sod", &["demo"], None).await;

    // Tokens.
    let token = json!({ "name": "feed", "roles": ["bookkeeper"], "expires_in_days": 30 });
    let made = c.call("POST", "/admin/tenants/{tenant}/tokens", &["demo"], Some(token)).await;
    let id = made["token"]["id"].as_str().unwrap().to_owned();
    c.call("GET", "/admin/tenants/{tenant}/tokens", &["demo"], None).await;
    c.call("GET", "/admin/tenants/{tenant}/tokens/{id}", &["demo", &id], None).await;

    // Packages, plugins and providers.
    let packages = c.call("GET", "/admin/packages", &[], None).await;
    let finance = packages["packages"].as_array().unwrap().iter().find(|p| p["id"] == "finance");
    let version = finance.expect("finance is installed")["version"].as_str().unwrap().to_owned();
    let package =
        c.call("GET", "/admin/packages/{plugin}/{version}", &["finance", &version], None).await;
    assert!(!package["operations"].as_array().unwrap().is_empty());
    let dry_run = json!({ "dry_run": true });
    c.call("PUT", "/admin/tenants/{tenant}/plugins/{plugin}", &["acme", "ticker"], Some(dry_run))
        .await;
    let providers = c.call("GET", "/admin/tenants/{tenant}/providers", &["demo"], None).await;
    assert!(!providers["providers"].as_array().unwrap().is_empty(), "{providers}");

    // Dead letters: a delivery that fails every attempt.
    k.post("/api/demo/ticker/ticks", json!({ "key": "broken", "fail": true })).await.expect(201);
    let started = Instant::now();
    let letters = loop {
        let letters = c.call("GET", "/admin/tenants/{tenant}/dead-letters", &["demo"], None).await;
        if !letters["dead_letters"].as_array().unwrap().is_empty() {
            break letters;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no dead letter: {letters}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let letter = letters["dead_letters"][0]["id"].as_str().unwrap().to_owned();
    c.call("GET", "/admin/tenants/{tenant}/dead-letters/{letter}", &["demo", &letter], None).await;
    k.post("/api/demo/tally/heal", json!(null)).await.expect(200);
    let replay = "/admin/tenants/{tenant}/dead-letters/{letter}/replay";
    c.call("POST", replay, &["demo", &letter], None).await;

    // The audit trail: entries, verdicts and signed heads.
    let entries = c.call("GET", "/admin/tenants/{tenant}/audit?limit=1000", &["demo"], None).await;
    let entries = entries["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["record"].get("after").is_some()), "documents written");
    c.call("GET", "/admin/tenants/{tenant}/audit?limit=1", &["demo"], None).await;
    c.call("GET", "/admin/audit", &[], None).await;
    let verdict = c.call("GET", "/admin/tenants/{tenant}/audit/verify", &["demo"], None).await;
    assert_eq!(verdict["ok"], true);
    c.call("GET", "/admin/audit/verify", &[], None).await;
    c.call("GET", "/admin/tenants/{tenant}/audit/head", &["demo"], None).await;
    c.call("POST", "/admin/tenants/{tenant}/audit/heads", &["demo"], None).await;
    let heads = c.call("GET", "/admin/tenants/{tenant}/audit/heads", &["demo"], None).await;
    assert_eq!(heads["heads"].as_array().unwrap().len(), 1);
    c.call("GET", "/admin/audit/heads", &[], None).await;

    // Backups: one made, listed, and none under way.
    let made = c.call("POST", "/admin/backups", &[], Some(json!({ "compiled_code": true }))).await;
    assert!(made["files"]["keel.redb"]["sha256"].is_string(), "{made}");
    c.call("GET", "/admin/backups", &[], None).await;
    let progress = c.call("GET", "/admin/backups/progress", &[], None).await;
    assert_eq!(progress, json!({ "progress": null }));

    // Signing in.
    let login = json!({ "user": "bob", "password": "bob has a long password" });
    c.call("POST", "/auth/login", &[], Some(login)).await;

    assert!(c.checked.len() >= 40, "{:?}", c.checked);
    k.stop().await;
}
