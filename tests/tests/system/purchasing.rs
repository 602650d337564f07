//! Purchase to pay across four sandboxed plugins: procurement orders,
//! receives through `keel:erp/stock` and posts matched invoices through
//! `keel:erp/ledger`, for a tenant on `inventory` and one on the
//! `inventory-lots` variant, with the same requests.

use std::time::Duration;

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

/// One tenant's people: each holds one duty.
struct Staff {
    buyer: String,
    manager: String,
    clerk: String,
    payer: String,
}

/// Creates `tenant` with finance, `stock` and procurement, a chart, a
/// store with one item, a supplier, and a person for each duty.
async fn tenant(k: &TestKernel, tenant: &str, stock: &str) -> Staff {
    k.post("/admin/tenants", json!({ "id": tenant, "name": tenant })).await.expect(201);
    let refused =
        k.send("PUT", &format!("/admin/tenants/{tenant}/plugins/procurement"), None).await;
    assert!(refused.expect_problem(409, "conflict").contains("requires keel:erp/"));
    for plugin in ["finance", stock, "procurement"] {
        k.send("PUT", &format!("/admin/tenants/{tenant}/plugins/{plugin}"), None).await.expect(200);
    }
    let api = format!("/api/{tenant}");
    k.post(&format!("{api}/finance/chart-templates/starter"), json!({ "currency": "EUR" }))
        .await
        .expect(201);
    k.post(&format!("{api}/{stock}/warehouses"), json!({ "code": "MAIN", "name": "Main store" }))
        .await
        .expect(201);
    let location = json!({ "code": "MAIN-A", "warehouse": "MAIN", "name": "Aisle A" });
    k.post(&format!("{api}/{stock}/locations"), location).await.expect(201);
    let item = json!({
        "code": "PARA-500", "name": "Paracetamol 500 mg", "unit": "box",
        "reorder_point": "10", "reorder_quantity": "50",
    });
    k.post(&format!("{api}/{stock}/items"), item).await.expect(201);
    let supplier = json!({ "code": "ACME", "name": "Acme Pharma", "payment_terms_days": 30 });
    k.post(&format!("{api}/procurement/suppliers"), supplier).await.expect(201);
    Staff {
        buyer: k.user_with_roles("bea", tenant, &["buyer"]).await,
        manager: k.user_with_roles("max", tenant, &["purchasing-manager"]).await,
        clerk: k.user_with_roles("cleo", tenant, &["receiving-clerk"]).await,
        payer: k.user_with_roles("pia", tenant, &["payables-clerk"]).await,
    }
}

async fn balance(k: &TestKernel, tenant: &str, account: &str) -> String {
    let reply = k.get(&format!("/api/{tenant}/finance/accounts/{account}/balance")).await;
    reply.expect(200)["balance"].as_str().unwrap().to_owned()
}

fn receipt(quantity: &str, lot: &str, expires: &str) -> Value {
    json!({
        "date": "2026-03-05",
        "lines": [{ "item": "PARA-500", "quantity": quantity, "lot": { "code": lot, "expires": expires } }],
    })
}

fn invoice(number: &str, quantity: &str, price: &str) -> Value {
    json!({
        "invoice": number,
        "date": "2026-03-10",
        "lines": [{ "item": "PARA-500", "quantity": quantity, "unit_price": price }],
    })
}

/// Order, approve, receive, invoice, match and post on `stock`; then the
/// ledger, the stock and the audit trail agree.
async fn purchase_to_pay(k: &TestKernel, t: &str, stock: &str) {
    let staff = tenant(k, t, stock).await;
    let procurement = format!("/api/{t}/procurement");
    let order = json!({
        "supplier": "ACME", "date": "2026-03-02", "location": "MAIN-A",
        "lines": [{ "item": "PARA-500", "quantity": "100", "unit_price": "12.00" }],
    });
    let created =
        k.send_as(Some(&staff.buyer), "POST", &format!("{procurement}/orders"), Some(order)).await;
    let created = created.expect(201).clone();
    assert_eq!(
        (created["number"].as_str(), created["total"].as_str()),
        (Some("PO-000001"), Some("1200.00"))
    );
    assert_eq!(created["status"], "awaiting-approval", "1,200.00 is above the 1,000 threshold");
    let po = format!("{procurement}/orders/PO-000001");

    // Nothing is received before approval, and nobody approves their own order.
    let early = k
        .send_as(
            Some(&staff.clerk),
            "POST",
            &format!("{po}/receipts"),
            Some(receipt("10", "L1", "2027-06-30")),
        )
        .await;
    assert!(early.expect_problem(409, "conflict").contains("awaiting approval"));
    let own = k.send_as(Some(&staff.buyer), "POST", &format!("{po}/approval"), None).await;
    own.expect_problem(403, "forbidden");
    let approved = k.send_as(Some(&staff.manager), "POST", &format!("{po}/approval"), None).await;
    assert_eq!(
        (approved.expect(200)["status"].as_str(), approved.expect(200)["approved_by"].as_str()),
        (Some("approved"), Some("max"))
    );

    // Received in two lots; one box too many is refused and changes nothing.
    let first = k
        .send_as(
            Some(&staff.clerk),
            "POST",
            &format!("{po}/receipts"),
            Some(receipt("60", "L1", "2027-06-30")),
        )
        .await;
    assert_eq!(first.expect(201)["lines"][0]["value"], "720.00");
    let over = k
        .send_as(
            Some(&staff.clerk),
            "POST",
            &format!("{po}/receipts"),
            Some(receipt("41", "L2", "2027-01-31")),
        )
        .await;
    let detail = over.expect_problem(422, "invalid");
    assert!(detail.contains("over-receipt of PARA-500: ordered 100, received 60"), "{detail}");
    k.send_as(
        Some(&staff.clerk),
        "POST",
        &format!("{po}/receipts"),
        Some(receipt("40", "L2", "2027-01-31")),
    )
    .await
    .expect(201);
    assert_eq!(balance(k, t, "1300").await, "1200.00");
    assert_eq!(balance(k, t, "2150").await, "1200.00", "received, not yet invoiced");

    // Settings out of range are refused.
    let settings = json!({
        "approval_threshold": "1000", "price_tolerance_percent": "101", "currency": "EUR",
        "received_account": "2150", "variance_account": "5100",
    });
    let refused = k.send("PUT", &format!("{procurement}/settings"), Some(settings)).await;
    assert!(refused.expect_problem(422, "invalid").contains("price_tolerance_percent"));

    // Three-way match: price beyond 2%, or more than was received, is refused.
    let invoices = format!("{po}/invoices");
    let dear = k
        .send_as(Some(&staff.payer), "POST", &invoices, Some(invoice("INV-77", "100", "12.50")))
        .await;
    assert!(dear.expect_problem(422, "invalid").contains("price mismatch on PARA-500"));
    let more = k
        .send_as(Some(&staff.payer), "POST", &invoices, Some(invoice("INV-77", "101", "12.10")))
        .await;
    assert!(more.expect_problem(422, "invalid").contains("quantity mismatch on PARA-500"));
    let matched = k
        .send_as(Some(&staff.payer), "POST", &invoices, Some(invoice("INV-77", "60", "12.10")))
        .await;
    let matched = matched.expect(201).clone();
    assert_eq!(
        (matched["amount"].as_str(), matched["variance"].as_str(), matched["due"].as_str()),
        (Some("726.00"), Some("6.00"), Some("2026-04-09"))
    );
    assert_eq!(matched["payable"], "AP-000001");

    // The same supplier invoice twice: finance refuses, and procurement's
    // whole call rolls back with it.
    let again = k
        .send_as(Some(&staff.payer), "POST", &invoices, Some(invoice("INV-77", "40", "12.00")))
        .await;
    assert!(again.expect_problem(409, "conflict").contains("INV-77"));
    let order = k.get(&po).await.expect(200).clone();
    assert_eq!(order["order"]["lines"][0]["invoiced"], "60");
    k.send_as(Some(&staff.payer), "POST", &invoices, Some(invoice("INV-78", "40", "12.00")))
        .await
        .expect(201);
    let order = k.get(&po).await.expect(200).clone();
    assert_eq!(order["order"]["status"], "closed");
    assert_eq!(order["order"]["lines"][0]["invoiced"], "100");
    assert_eq!(order["invoices"].as_array().unwrap().len(), 2);
    assert_eq!(order["receipts"].as_array().unwrap().len(), 2);

    // The ledger, the stock and the payables agree.
    assert_eq!(balance(k, t, "2150").await, "0.00", "the invoice cleared what was received");
    assert_eq!(balance(k, t, "5100").await, "6.00", "price variance");
    assert_eq!(balance(k, t, "2000").await, "1206.00", "owed to Acme");
    let trial = k.get(&format!("/api/{t}/finance/reports/trial-balance")).await;
    let totals = &trial.expect(200)["totals"][0];
    assert_eq!(
        (totals["debit"].as_str(), totals["balanced"].as_bool()),
        (Some("1206.00"), Some(true))
    );
    let valuation = k.get(&format!("/api/{t}/{stock}/valuation")).await;
    assert_eq!(valuation.expect(200)["page_total"], "1200.00");
    let on_hand = k.get(&format!("/api/{t}/{stock}/on-hand/PARA-500")).await;
    assert_eq!(
        on_hand.expect(200)["locations"],
        json!([{ "location": "MAIN-A", "quantity": "100", "value": "1200.00" }])
    );
    let payables = k.get(&format!("/api/{t}/finance/payables?status=open")).await;
    let open = &payables.expect(200)["payables"][0];
    assert_eq!(
        (open["supplier"].as_str(), open["invoice"].as_str()),
        (Some("ACME"), Some("INV-77"))
    );

    // Every step is on the tenant's trail, by whom it was done.
    let trail = k.get(&format!("/admin/tenants/{t}/audit?limit=1000")).await;
    let steps: Vec<(String, String)> = trail.expect(200)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["record"])
        .filter(|r| {
            r["action"].as_str().is_some_and(|a| {
                ["procurement.order.", "procurement.goods.", "procurement.invoice."]
                    .iter()
                    .any(|p| a.starts_with(p))
            })
        })
        .map(|r| {
            let action = r["action"].as_str().unwrap().trim_start_matches("procurement.");
            (action.to_owned(), r["actor"].to_string())
        })
        .collect();
    let actions: Vec<&str> = steps.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "order.created",
            "order.approved",
            "goods.received",
            "goods.received",
            "invoice.matched",
            "invoice.matched"
        ]
    );
    for ((_, actor), who) in steps.iter().zip(["bea", "max", "cleo", "cleo", "pia", "pia"]) {
        assert!(actor.contains(who), "{actor} is not {who}");
    }
    let calls: Vec<String> = trail.expect(200)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["record"])
        .filter(|r| r["action"] == "interface.call" && r["plugin"] == "procurement")
        .map(|r| r["detail"].as_str().unwrap().to_owned())
        .collect();
    for call in [
        format!("keel:erp/stock@0.3.0 receive, provided by {stock} 0.1.0"),
        format!(
            "keel:erp/ledger@0.3.0 record-payable, provided by finance {}",
            keel_tests::bundled_version("finance")
        ),
    ] {
        assert!(calls.contains(&call), "{call} is not in {calls:?}");
    }

    // Issuing below the reorder point raises a draft requisition, delivered by event.
    let issue =
        json!({ "item": "PARA-500", "location": "MAIN-A", "quantity": "95", "date": "2026-03-20" });
    let issued = k.post(&format!("/api/{t}/{stock}/issues"), issue).await;
    let issued = issued.expect(201).clone();
    let mut requisitions = Value::Null;
    for _ in 0..100 {
        requisitions = k.get(&format!("{procurement}/requisitions?status=draft")).await.expect(200)
            ["requisitions"]
            .clone();
        if requisitions.as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        (requisitions[0]["item"].as_str(), requisitions[0]["quantity"].as_str()),
        (Some("PARA-500"), Some("50"))
    );
    if stock == "inventory-lots" {
        // First expiry first out: all of L2 (January), then L1.
        let lots: Vec<(String, String)> = issued["lots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (l["lot"].as_str().unwrap().to_owned(), l["quantity"].as_str().unwrap().to_owned())
            })
            .collect();
        assert_eq!(lots, [("L2".to_owned(), "40".to_owned()), ("L1".to_owned(), "55".to_owned())]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchase_to_pay_runs_the_same_on_either_stock_provider() {
    let mut setup = Setup::new(&["finance", "inventory", "inventory-lots", "procurement"]);
    setup.tenants = Vec::new();
    let k = TestKernel::start(setup).await;
    purchase_to_pay(&k, "north", "inventory").await;
    purchase_to_pay(&k, "south", "inventory-lots").await;

    // The lot-tracking tenant refuses a receipt without a lot, through procurement too.
    let buyer = k.login("bea", "bea has a long password").await;
    let clerk = k.login("cleo", "cleo has a long password").await;
    let order = json!({
        "supplier": "ACME", "date": "2026-03-21", "location": "MAIN-A",
        "lines": [{ "item": "PARA-500", "quantity": "5", "unit_price": "12.00" }],
    });
    let created =
        k.send_as(Some(&buyer), "POST", "/api/south/procurement/orders", Some(order)).await;
    assert_eq!(created.expect(201)["status"], "approved", "60.00 needs no approver");
    let no_lot =
        json!({ "date": "2026-03-22", "lines": [{ "item": "PARA-500", "quantity": "5" }] });
    let refused = k
        .send_as(
            Some(&clerk),
            "POST",
            "/api/south/procurement/orders/PO-000002/receipts",
            Some(no_lot),
        )
        .await;
    assert!(refused.expect_problem(422, "invalid").contains("needs the lot of each receipt"));
}
