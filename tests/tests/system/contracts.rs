//! Typed contracts: a plugin's schemas published in the tenant's OpenAPI
//! document, requests checked against them before the plugin runs, and
//! the plugin's answers true to them (the ledger's in `contracts_finance`).

use keel_manifest::{Contract, Manifest};
use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const F: &str = "/api/demo/finance";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_document_publishes_each_typed_operations_schemas() {
    let k = TestKernel::start(Setup::new(&["finance", "hello"])).await;
    let doc = k.get("/api/demo/openapi.json").await.expect(200).clone();
    let post = &doc["paths"]["/finance/entries"]["post"];
    assert_eq!(post["requestBody"]["required"], true);
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"],
        json!({ "$ref": "#/components/schemas/finance.NewEntry" })
    );
    for status in ["200", "201"] {
        assert_eq!(
            post["responses"][status]["content"]["application/json"]["schema"],
            json!({ "$ref": "#/components/schemas/finance.Entry" }),
            "{status}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    let new_entry = &schemas["finance.NewEntry"];
    assert_eq!(new_entry["required"], json!(["date", "lines"]));
    assert_eq!(new_entry["additionalProperties"], false);
    assert_eq!(new_entry["properties"]["date"]["format"], "date");
    assert_eq!(
        new_entry["properties"]["lines"]["items"]["$ref"],
        "#/components/schemas/finance.NewLine"
    );
    // Every reference in the document resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas[name].is_object(), "{name} is defined");
    }
    // A typed query is declared parameter by parameter.
    let trial_balance = &doc["paths"]["/finance/reports/trial-balance"]["get"];
    let as_of =
        trial_balance["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "as_of");
    let as_of = as_of.expect("as_of is declared");
    assert_eq!(as_of["in"], "query");
    assert_eq!(as_of["required"], false);
    assert_eq!(
        trial_balance["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/finance.TrialBalanceAnswer"
    );
    // An exported list keeps its export formats beside its typed answer.
    let accounts = &doc["paths"]["/finance/accounts"]["get"]["responses"]["200"]["content"];
    assert!(
        accounts["text/csv"].is_object()
            && accounts["application/json"]["schema"]["$ref"].is_string()
    );
    // Inspecting a package says which operations are typed: every one of
    // the ledger's, none of the example plugin's, which has no contract.
    let mut typed = Vec::new();
    for plugin in ["finance", "hello"] {
        let version = doc["info"]["version"]
            .as_str()
            .unwrap()
            .split(", ")
            .find_map(|p| p.strip_prefix(&format!("{plugin} ")))
            .unwrap()
            .to_owned();
        let inspected =
            k.get(&format!("/admin/packages/{plugin}/{version}")).await.expect(200).clone();
        for operation in inspected["operations"].as_array().unwrap() {
            typed.push((plugin, operation["typed"].clone()));
        }
    }
    assert!(typed.iter().all(|(plugin, t)| *t == json!(*plugin == "finance")), "{typed:?}");
    // Operations without a contract stay as they were.
    let untyped = &doc["paths"]["/hello/greetings/{name}"]["post"];
    assert_eq!(untyped["responses"]["2XX"]["content"]["application/json"]["schema"], json!({}));
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_does_not_fit_is_refused_naming_each_field_and_changes_nothing() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let trail = k.get("/admin/tenants/demo/audit?limit=1000").await.expect(200).clone();

    let bad = json!({
        "date": "2026-02-30",
        "colour": "red",
        "lines": [{ "account": "1100", "debit": 5000 }, { "credit": "5000.00" }],
    });
    let reply = k.post(&format!("{F}/entries"), bad).await;
    let detail = reply.expect_problem(422, "invalid-request");
    assert!(detail.starts_with("the body of entries.post does not fit its schema: "), "{detail}");
    let errors: Vec<(String, String)> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (e["pointer"].as_str().unwrap().to_owned(), e["detail"].as_str().unwrap().to_owned())
        })
        .collect();
    let at = |pointer: &str| errors.iter().find(|(p, _)| p == pointer).map(|(_, d)| d.as_str());
    assert_eq!(
        at("/date"),
        Some(r#""2026-02-30" is not a calendar date (YYYY-MM-DD)"#),
        "{errors:?}"
    );
    assert!(at("/colour").unwrap().starts_with("is not a field of this object"), "{errors:?}");
    assert_eq!(
        at("/lines/0/debit"),
        Some("expected a string or null, found an integer"),
        "{errors:?}"
    );
    assert_eq!(at("/lines/1/account"), Some("is required"), "{errors:?}");
    assert_eq!(errors.len(), 4, "{errors:?}");

    // No body at all, a body that is not JSON, a wrong type at the top.
    k.send("POST", &format!("{F}/entries"), None).await.expect_problem(422, "invalid-request");
    let reply = k.post(&format!("{F}/accounts"), json!(["1000"])).await;
    reply.expect_problem(422, "invalid-request");
    assert_eq!(
        reply.body["errors"][0],
        json!({ "pointer": "", "detail": "expected an object, found an array" })
    );
    let reply = k
        .post(
            &format!("{F}/accounts"),
            json!({ "code": "1999", "name": "X", "type": "assets", "currency": "EUR" }),
        )
        .await;
    reply.expect_problem(422, "invalid-request");
    assert_eq!(reply.body["errors"][0]["pointer"], "/type");

    // A typed query parameter is checked too.
    let reply = k.get(&format!("{F}/reports/trial-balance?as_of=yesterday")).await;
    reply.expect_problem(422, "invalid-request");
    assert_eq!(reply.body["errors"][0]["pointer"], "/as_of");

    // Nothing was written, and the plugin never ran: the trail is as it was.
    let entries = k.get(&format!("{F}/entries")).await.expect(200).clone();
    assert_eq!(entries["entries"], json!([]));
    assert_eq!(k.get("/admin/tenants/demo/audit?limit=1000").await.expect(200), &trail);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchasings_answers_are_true_to_its_contract() {
    let manifest = Manifest::parse(include_str!("../../../plugins/procurement/keel.toml")).unwrap();
    let text = include_str!("../../../plugins/procurement/keel.contract.json");
    let contract = Contract::parse(text, &manifest).unwrap();
    let k = TestKernel::start(Setup::new(&["finance", "inventory", "procurement"])).await;
    let (p, stock) = ("/api/demo/procurement", "/api/demo/inventory");
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    k.post(&format!("{stock}/warehouses"), json!({ "code": "MAIN", "name": "Main store" }))
        .await
        .expect(201);
    let location = json!({ "code": "MAIN-A", "warehouse": "MAIN", "name": "Aisle A" });
    k.post(&format!("{stock}/locations"), location).await.expect(201);
    let item = json!({ "code": "PARA-500", "name": "Paracetamol 500 mg", "unit": "box" });
    k.post(&format!("{stock}/items"), item).await.expect(201);
    let mut answered = Vec::new();
    let mut check = |operation: &str, body: &Value| {
        assert_eq!(contract.check_response(operation, body), Ok(()), "{operation}: {body}");
        answered.push(operation.to_owned());
    };
    let supplier = json!({ "code": "ACME", "name": "Acme Pharma" });
    check("suppliers.create", k.post(&format!("{p}/suppliers"), supplier).await.expect(201));
    check("suppliers.list", k.get(&format!("{p}/suppliers")).await.expect(200));
    let wanted = json!({ "item": "PARA-500", "quantity": "100" });
    let requisition = k.post(&format!("{p}/requisitions"), wanted).await.expect(201).clone();
    check("requisitions.create", &requisition);
    check("requisitions.list", k.get(&format!("{p}/requisitions?status=draft")).await.expect(200));
    let order = json!({ "supplier": "ACME", "date": "2026-03-02", "location": "MAIN-A", "requisitions": [requisition["number"].clone()],
        "lines": [{ "item": "PARA-500", "quantity": "100", "unit_price": "12.00" }] });
    let order = k.post(&format!("{p}/orders"), order).await.expect(201).clone();
    check("orders.create", &order);
    assert_eq!(order["status"], "awaiting-approval");
    let number = order["number"].as_str().unwrap().to_owned();
    let manager = k.user_with_roles("max", "demo", &["purchasing-manager"]).await;
    let approved =
        k.send_as(Some(&manager), "POST", &format!("{p}/orders/{number}/approval"), None).await;
    check("orders.approve", approved.expect(200));
    let receipt =
        json!({ "date": "2026-03-05", "lines": [{ "item": "PARA-500", "quantity": "100" }] });
    check(
        "orders.receive",
        k.post(&format!("{p}/orders/{number}/receipts"), receipt).await.expect(201),
    );
    let invoice = json!({ "invoice": "INV-1", "date": "2026-03-10",
        "lines": [{ "item": "PARA-500", "quantity": "100", "unit_price": "12.00" }] });
    check(
        "orders.invoice",
        k.post(&format!("{p}/orders/{number}/invoices"), invoice).await.expect(201),
    );
    check("orders.get", k.get(&format!("{p}/orders/{number}")).await.expect(200));
    check("orders.list", k.get(&format!("{p}/orders?status=closed")).await.expect(200));
    let settings = k.get(&format!("{p}/settings")).await.expect(200).clone();
    check("settings.get", &settings);
    let mut changed = settings.clone();
    changed["approval_threshold"] = json!("2000");
    changed.as_object_mut().unwrap().remove("ensured");
    let put = k.send("PUT", &format!("{p}/settings"), Some(changed.clone())).await;
    check("settings.put", put.expect(200));
    // A decimal is text, as the plugin reads it: a JSON number is the
    // kernel's to refuse, naming the field.
    changed["approval_threshold"] = json!(2000);
    let reply = k.send("PUT", &format!("{p}/settings"), Some(changed)).await;
    reply.expect_problem(422, "invalid-request");
    assert_eq!(reply.body["errors"][0]["pointer"], "/approval_threshold");
    // An unknown status is named, not an empty list.
    let reply = k.get(&format!("{p}/orders?status=lost")).await;
    reply.expect_problem(422, "invalid-request");
    assert_eq!(reply.body["errors"][0]["pointer"], "/status");
    answered.sort();
    answered.dedup();
    let mut typed: Vec<String> = manifest.operations.iter().map(|op| op.id.clone()).collect();
    typed.sort();
    assert_eq!(answered, typed, "every operation's answer was checked");
    k.stop().await;
}

/// Drives every operation of a stock provider, checking each answer
/// against its contract; `lots` for the provider that tracks them.
async fn stock_answers_are_true_to_the_contract(plugin: &'static str, lots: bool) {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |file: &str| std::fs::read_to_string(format!("{root}/../plugins/{plugin}/{file}"));
    let manifest = Manifest::parse(&read("keel.toml").unwrap()).unwrap();
    let contract = Contract::parse(&read("keel.contract.json").unwrap(), &manifest).unwrap();
    let k = TestKernel::start(Setup::new(&["finance", plugin])).await;
    let s = format!("/api/demo/{plugin}");
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let mut answered = Vec::new();
    let mut check = |operation: &str, body: &Value| {
        assert_eq!(contract.check_response(operation, body), Ok(()), "{operation}: {body}");
        answered.push(operation.to_owned());
    };
    let warehouse = json!({ "code": "MAIN", "name": "Main store" });
    check("warehouses.create", k.post(&format!("{s}/warehouses"), warehouse).await.expect(201));
    for code in ["MAIN-A", "MAIN-B"] {
        let location = json!({ "code": code, "warehouse": "MAIN", "name": code });
        check("locations.create", k.post(&format!("{s}/locations"), location).await.expect(201));
    }
    check("locations.list", k.get(&format!("{s}/locations?limit=1")).await.expect(200));
    let item = json!({ "code": "PEN", "name": "Insulin pen", "unit": "pen", "reorder_point": "5", "reorder_quantity": "20" });
    check("items.create", k.post(&format!("{s}/items"), item).await.expect(201));
    check("items.list", k.get(&format!("{s}/items")).await.expect(200));
    let moved = |quantity: &str, more: Value| {
        let mut body = json!({ "item": "PEN", "location": "MAIN-A", "quantity": quantity, "date": "2026-03-02" });
        body.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        body
    };
    let lot = |code: &str| if lots { json!({ "lot": code }) } else { json!({}) };
    let mut receipt = moved("10", json!({ "unit_cost": "4.50", "reference": "DN-1" }));
    if lots {
        receipt["lot"] = json!("A1");
        receipt["expires"] = json!("2026-12-31");
    }
    check("moves.receipt", k.post(&format!("{s}/receipts"), receipt).await.expect(201));
    check("moves.issue", k.post(&format!("{s}/issues"), moved("2", json!({}))).await.expect(201));
    let mut transfer = moved("3", json!({ "to": "MAIN-B" }));
    transfer.as_object_mut().unwrap().extend(lot("A1").as_object().unwrap().clone());
    check("moves.transfer", k.post(&format!("{s}/transfers"), transfer).await.expect(201));
    let adjustment = moved("-1", lot("A1"));
    check("moves.adjust", k.post(&format!("{s}/adjustments"), adjustment).await.expect(201));
    check("moves.list", k.get(&format!("{s}/moves?item=PEN")).await.expect(200));
    check("moves.list", k.get(&format!("{s}/moves?limit=2")).await.expect(200));
    check("items.get", k.get(&format!("{s}/items/PEN")).await.expect(200));
    check("stock.on-hand", k.get(&format!("{s}/on-hand/PEN")).await.expect(200));
    check("stock.on-hand", k.get(&format!("{s}/on-hand/PEN?location=MAIN-B")).await.expect(200));
    let valuation = k.get(&format!("{s}/valuation")).await.expect(200).clone();
    check("stock.valuation", &valuation);
    assert_eq!(valuation["page_total"], "31.50", "7 pens at 4.50: {valuation}");
    if lots {
        check("lots.list", k.get(&format!("{s}/lots/PEN?location=MAIN-A")).await.expect(200));
        check("stock.expired", k.get(&format!("{s}/expired?on=2027-01-01")).await.expect(200));
        let reply = k.get(&format!("{s}/expired")).await;
        reply.expect_problem(422, "invalid-request");
        assert_eq!(reply.body["errors"][0]["pointer"], "/on");
    }
    let settings = k.get(&format!("{s}/settings")).await.expect(200).clone();
    check("settings.get", &settings);
    check(
        "settings.put",
        k.send("PUT", &format!("{s}/settings"), Some(settings)).await.expect(200),
    );
    answered.sort();
    answered.dedup();
    let mut typed: Vec<String> = manifest.operations.iter().map(|op| op.id.clone()).collect();
    typed.sort();
    assert_eq!(answered, typed, "every operation's answer was checked");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventorys_answers_are_true_to_its_contract() {
    stock_answers_are_true_to_the_contract("inventory", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lot_trackings_answers_are_true_to_its_contract() {
    stock_answers_are_true_to_the_contract("inventory-lots", true).await;
}
