//! The inventory plugin: stock moves valued at moving average and posted
//! to the ledger through `keel:erp/ledger`.

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const I: &str = "/api/demo/inventory";

async fn stores() -> TestKernel {
    let k = TestKernel::start(Setup::new(&["finance", "inventory"])).await;
    k.post("/api/demo/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);
    k.post(&format!("{I}/warehouses"), json!({ "code": "MAIN", "name": "Main store" }))
        .await
        .expect(201);
    for bin in ["MAIN-A", "MAIN-B"] {
        let location = json!({ "code": bin, "warehouse": "MAIN", "name": bin });
        k.post(&format!("{I}/locations"), location).await.expect(201);
    }
    let item = json!({
        "code": "PARA-500", "name": "Paracetamol 500 mg", "unit": "box",
        "reorder_point": "10", "reorder_quantity": "50",
    });
    k.post(&format!("{I}/items"), item).await.expect(201);
    k
}

fn moved(item: &str, location: &str, quantity: &str) -> Value {
    json!({ "item": item, "location": location, "quantity": quantity, "date": "2026-03-02", "reference": "test" })
}

async fn balance(k: &TestKernel, account: &str) -> String {
    let reply = k.get(&format!("/api/demo/finance/accounts/{account}/balance")).await;
    reply.expect(200)["balance"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_are_valued_at_moving_average_and_posted_to_the_ledger() {
    let k = stores().await;
    let mut receipt = moved("PARA-500", "MAIN-A", "20");
    receipt["unit_cost"] = json!("2.00");
    let first = k.post(&format!("{I}/receipts"), receipt.clone()).await;
    let first = first.expect(201).clone();
    assert_eq!(
        (first["value"].as_str(), first["journal_entry"].as_u64()),
        (Some("40.00"), Some(1))
    );
    receipt["quantity"] = json!("30");
    receipt["unit_cost"] = json!("3.00");
    k.post(&format!("{I}/receipts"), receipt).await.expect(201);
    assert_eq!(balance(&k, "1300").await, "130.00");
    assert_eq!(balance(&k, "2150").await, "130.00", "goods received, not yet invoiced");

    // A transfer moves quantity, not value.
    let mut transfer = moved("PARA-500", "MAIN-A", "10");
    transfer["to"] = json!("MAIN-B");
    let transferred = k.post(&format!("{I}/transfers"), transfer).await;
    assert!(transferred.expect(201).get("journal_entry").is_none());

    // More than is on hand at the location: refused, nothing changes.
    let refused = k.post(&format!("{I}/issues"), moved("PARA-500", "MAIN-A", "45")).await;
    assert!(refused.expect_problem(422, "invalid").contains("only 40 box"));
    let issued = k.post(&format!("{I}/issues"), moved("PARA-500", "MAIN-A", "40")).await;
    assert_eq!(issued.expect(201)["value"], "104.00", "40 of 50 boxes worth 130.00");
    assert_eq!(balance(&k, "5000").await, "104.00");
    assert_eq!(balance(&k, "1300").await, "26.00");

    let on_hand = k.get(&format!("{I}/on-hand/PARA-500")).await;
    let on_hand = on_hand.expect(200);
    assert_eq!(on_hand["total"], "10");
    assert_eq!(
        on_hand["locations"],
        json!([{ "location": "MAIN-B", "quantity": "10", "value": "26.00" }]),
        "locations with nothing left are not listed"
    );

    // Counting found one box fewer: below the reorder point now.
    let adjusted = k.post(&format!("{I}/adjustments"), moved("PARA-500", "MAIN-B", "-1")).await;
    assert_eq!(adjusted.expect(201)["value"], "2.60");
    assert_eq!(balance(&k, "5900").await, "2.60");
    let item = k.get(&format!("{I}/items/PARA-500")).await;
    assert_eq!(
        (item.expect(200)["on_hand"].as_str(), item.expect(200)["value"].as_str()),
        (Some("9"), Some("23.40"))
    );
    assert_eq!(balance(&k, "1300").await, "23.40", "the ledger agrees with the stock's value");

    let trail = k.get("/admin/tenants/demo/audit?limit=1000").await;
    let published: Vec<String> = trail.expect(200)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record"]["action"] == "event.publish")
        .map(|e| e["record"]["detail"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(published.len(), 1, "{published:?}");
    assert!(
        published[0].contains("inventory.reorder-point-crossed (key PARA-500/"),
        "{published:?}"
    );

    let trial = k.get("/api/demo/finance/reports/trial-balance").await;
    let totals = &trial.expect(200)["totals"][0];
    assert_eq!(
        (totals["debit"].as_str(), totals["balanced"].as_bool()),
        (Some("130.00"), Some(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lots_are_issued_first_expiry_first_and_expired_stock_is_reported() {
    const L: &str = "/api/demo/inventory-lots";
    let k = TestKernel::start(Setup::new(&["finance", "inventory-lots"])).await;
    k.post("/api/demo/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);
    k.post(&format!("{L}/warehouses"), json!({ "code": "MAIN", "name": "Main" })).await.expect(201);
    for bin in ["MAIN-A", "QUARANTINE"] {
        let location = json!({ "code": bin, "warehouse": "MAIN", "name": bin });
        k.post(&format!("{L}/locations"), location).await.expect(201);
    }
    let item = json!({ "code": "INSULIN", "name": "Insulin pen", "unit": "pen" });
    k.post(&format!("{L}/items"), item).await.expect(201);
    let receive = async |lot: &str, expires: &str, quantity: &str, cost: &str| {
        let mut body = moved("INSULIN", "MAIN-A", quantity);
        body["date"] = json!("2026-01-10");
        body["lot"] = json!(lot);
        body["expires"] = json!(expires);
        body["unit_cost"] = json!(cost);
        k.post(&format!("{L}/receipts"), body).await
    };
    receive("A1", "2026-02-28", "5", "10.00").await.expect(201);
    receive("B2", "2026-06-30", "10", "11.00").await.expect(201);
    receive("C3", "2026-04-30", "10", "12.00").await.expect(201);
    let late = receive("D4", "2026-01-09", "1", "1.00").await;
    assert!(late.expect_problem(422, "invalid").contains("expired on 2026-01-09"));
    let changed = receive("B2", "2026-07-31", "1", "11.00").await;
    assert!(
        changed.expect_problem(422, "invalid").contains("expires on 2026-06-30, not 2026-07-31")
    );
    // A receipt names its lot and cost, checked against the contract
    // before the plugin runs.
    let no_lot = k.post(&format!("{L}/receipts"), moved("INSULIN", "MAIN-A", "1")).await;
    no_lot.expect_problem(422, "invalid-request");
    let missing: Vec<&str> = no_lot.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["/unit_cost", "/lot"]);
    let mut by_lot = moved("INSULIN", "MAIN-A", "1");
    by_lot["lot"] = json!("B2");
    let refused = k.post(&format!("{L}/issues"), by_lot).await;
    refused.expect_problem(422, "invalid-request");
    assert_eq!(refused.body["errors"][0]["pointer"], "/lot");

    // On 2 March, A1 has expired: 12 pens come from C3 (April) then B2.
    let issue = moved("INSULIN", "MAIN-A", "12");
    let issued = k.post(&format!("{L}/issues"), issue).await;
    let issued = issued.expect(201).clone();
    assert_eq!(issued["value"], "142.00", "10 x 12.00 + 2 x 11.00");
    let lots: Vec<&str> =
        issued["lots"].as_array().unwrap().iter().map(|l| l["lot"].as_str().unwrap()).collect();
    assert_eq!(lots, ["C3", "B2"]);
    let short = k.post(&format!("{L}/issues"), moved("INSULIN", "MAIN-A", "9")).await;
    let detail = short.expect_problem(422, "invalid");
    assert!(detail.contains("only 8 usable on 2026-03-02 (5 more in expired lots)"), "{detail}");

    // The expired-stock report, then the lot to quarantine and written off.
    let expired = k.get(&format!("{L}/expired?on=2026-03-02")).await;
    let expired = expired.expect(200).clone();
    assert_eq!(expired["lots"].as_array().unwrap().len(), 1);
    assert_eq!(
        (expired["lots"][0]["lot"].as_str(), expired["page_value"].as_str()),
        (Some("A1"), Some("50.00"))
    );
    let mut quarantine = moved("INSULIN", "MAIN-A", "5");
    quarantine["to"] = json!("QUARANTINE");
    quarantine["lot"] = json!("A1");
    k.post(&format!("{L}/transfers"), quarantine).await.expect(201);
    let mut write_off = moved("INSULIN", "QUARANTINE", "-5");
    write_off["lot"] = json!("A1");
    assert_eq!(k.post(&format!("{L}/adjustments"), write_off).await.expect(201)["value"], "50.00");
    let expired = k.get(&format!("{L}/expired?on=2026-03-02")).await;
    assert_eq!(expired.expect(200)["lots"], json!([]));

    // What is left, the ledger and the stock agree: 8 x 11.00.
    let on_hand = k.get(&format!("{L}/on-hand/INSULIN")).await;
    assert_eq!(
        on_hand.expect(200)["locations"],
        json!([{ "location": "MAIN-A", "quantity": "8", "value": "88.00" }])
    );
    assert_eq!(balance(&k, "1300").await, "88.00");
    assert_eq!(balance(&k, "5000").await, "142.00");
    assert_eq!(balance(&k, "5900").await, "50.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_refuses_lots_it_does_not_track() {
    let k = stores().await;
    let mut receipt = moved("PARA-500", "MAIN-A", "1");
    receipt["unit_cost"] = json!("1.00");
    receipt["lot"] = json!("L1");
    let refused = k.post(&format!("{I}/receipts"), receipt).await;
    refused.expect_problem(422, "invalid-request");
    assert_eq!(refused.body["errors"][0]["pointer"], "/lot");
    let detail = refused.body["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.starts_with("is not a field of this object"), "{detail}");
    // The published schema says why, for whoever generates a client.
    let doc = k.get("/api/demo/openapi.json").await.expect(200).clone();
    let receipt = &doc["components"]["schemas"]["inventory.Receipt"];
    assert!(receipt["description"].as_str().unwrap().contains("inventory-lots"), "{receipt}");
    assert_eq!(receipt["additionalProperties"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stock_accounts_are_refused_when_saved_not_at_the_next_move() {
    let k = stores().await;
    let good = k.get(&format!("{I}/settings")).await.expect(200).clone();
    for (field, bad) in [
        ("inventory_account", json!("13 00")),
        ("received_account", json!("")),
        ("currency", json!("euro")),
    ] {
        let mut settings = good.clone();
        settings[field] = bad;
        let refused = k.send("PUT", &format!("{I}/settings"), Some(settings)).await;
        let detail = refused.expect_problem(422, "invalid");
        assert!(detail.contains(field), "{detail}");
    }
    assert_eq!(k.get(&format!("{I}/settings")).await.expect(200), &good, "nothing saved");
    k.stop().await;
}
