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
