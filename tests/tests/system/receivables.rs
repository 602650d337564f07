//! Finance's receivables through the gateway: customers, payment terms,
//! and invoices and credit notes from draft to posted.

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const F: &str = "/api/demo/finance";

async fn books() -> TestKernel {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    k.post(&format!("{F}/customers"), json!({ "code": "ACME", "name": "Acme Ltd" }))
        .await
        .expect(201);
    k
}

fn invoice(kind: &str, lines: &[(&str, &str, &str)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(account, quantity, price)| {
            json!({ "account": account, "description": "consulting", "quantity": quantity, "unit_price": price })
        })
        .collect();
    json!({ "customer": "ACME", "kind": kind, "date": "2026-03-10", "reference": "PO-7", "lines": lines })
}

async fn balance(k: &TestKernel, account: &str) -> String {
    k.get(&format!("{F}/accounts/{account}/balance")).await.expect(200)["balance"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_posts_nothing_until_posted_and_is_never_edited_after() {
    let k = books().await;
    let draft =
        k.post(&format!("{F}/invoices"), invoice("invoice", &[("4000", "3", "19.995")])).await;
    let draft = draft.expect(201).clone();
    let id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!((draft["status"].as_str(), draft["total"].as_str()), (Some("draft"), Some("59.98")));
    assert_eq!(balance(&k, "1200").await, "0", "a draft posts nothing");
    // A draft is edited and re-priced, or deleted.
    let edited = invoice("invoice", &[("4000", "10", "100"), ("4100", "2", "50")]);
    let edited =
        k.send("PUT", &format!("{F}/invoices/{id}"), Some(edited)).await.expect(200).clone();
    assert_eq!(edited["total"], "1100.00");
    let posted = k.post(&format!("{F}/invoices/{id}/post"), json!({})).await.expect(200).clone();
    assert_eq!(
        (posted["status"].as_str(), posted["number"].as_str()),
        (Some("open"), Some("SAL/2026/0001"))
    );
    assert_eq!(
        posted["instalments"],
        json!([{ "due": "2026-04-09", "amount": "1100.00", "open": "1100.00" }])
    );
    assert_eq!(balance(&k, "1200").await, "1100.00");
    assert_eq!(balance(&k, "4000").await, "1000.00");
    assert_eq!(balance(&k, "4100").await, "100.00");
    let entry = posted["journal_entry"].as_u64().unwrap();
    let entry = k.get(&format!("{F}/entries/{entry}")).await.expect(200).clone();
    assert_eq!(
        (entry["journal"].as_str(), entry["reference"].as_str()),
        (Some("SAL"), Some(id.as_str()))
    );

    // Posted: never edited, deleted or posted again; nothing changes.
    let again = invoice("invoice", &[("4000", "1", "1")]);
    let detail = k
        .send("PUT", &format!("{F}/invoices/{id}"), Some(again))
        .await
        .expect_problem(422, "invalid");
    assert!(
        detail.contains("posted as SAL/2026/0001") && detail.contains("credit note"),
        "{detail}"
    );
    k.send("DELETE", &format!("{F}/invoices/{id}"), None).await.expect_problem(422, "invalid");
    // Nor is its entry reversed behind its back.
    let reversal = format!("{F}/entries/{}/reversal", posted["journal_entry"]);
    let detail = k.post(&reversal, json!({})).await.expect_problem(422, "invalid");
    assert!(detail.contains(&format!("posted by invoice {id}")), "{detail}");
    k.post(&format!("{F}/invoices/{id}/post"), json!({})).await.expect_problem(422, "invalid");
    assert_eq!(k.get(&format!("{F}/invoices/{id}")).await.expect(200)["total"], "1100.00");
    assert_eq!(balance(&k, "1200").await, "1100.00");

    // A credit note takes some back.
    let credit =
        k.post(&format!("{F}/invoices"), invoice("credit-note", &[("4000", "1", "100")])).await;
    let credit_id = credit.expect(201)["id"].as_str().unwrap().to_owned();
    let credited =
        k.post(&format!("{F}/invoices/{credit_id}/post"), json!({})).await.expect(200).clone();
    assert_eq!(credited["number"], "SAL/2026/0002");
    assert_eq!(balance(&k, "1200").await, "1000.00");
    assert_eq!(balance(&k, "4000").await, "900.00");

    // A deleted draft is gone.
    let other = k.post(&format!("{F}/invoices"), invoice("invoice", &[("4000", "1", "5")])).await;
    let other = other.expect(201)["id"].as_str().unwrap().to_owned();
    k.send("DELETE", &format!("{F}/invoices/{other}"), None).await.expect(204);
    k.get(&format!("{F}/invoices/{other}")).await.expect_problem(404, "not-found");
    let open = k.get(&format!("{F}/invoices?status=open")).await.expect(200).clone();
    assert_eq!(open["invoices"].as_array().unwrap().len(), 2);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_terms_split_an_invoice_into_instalments_to_the_cent() {
    let k = books().await;
    let thirds = json!({ "code": "THIRDS", "name": "Thirds", "lines": [
        { "percent": "33.33", "days": 0 }, { "percent": "33.33", "days": 30 }, { "days": 60 } ] });
    k.post(&format!("{F}/payment-terms"), thirds.clone()).await.expect(201);
    k.post(&format!("{F}/payment-terms"), thirds).await.expect_problem(409, "conflict");
    let bad = json!({ "code": "BAD", "name": "Bad", "lines": [{ "percent": "60", "days": 0 }] });
    let detail = k.post(&format!("{F}/payment-terms"), bad).await.expect_problem(422, "invalid");
    assert!(detail.contains("come to 60"), "{detail}");
    let mut body = invoice("invoice", &[("4000", "1", "100")]);
    body["terms"] = json!("THIRDS");
    let id =
        k.post(&format!("{F}/invoices"), body).await.expect(201)["id"].as_str().unwrap().to_owned();
    let posted = k.post(&format!("{F}/invoices/{id}/post"), json!({})).await.expect(200).clone();
    let due: Vec<(&str, &str)> = posted["instalments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["due"].as_str().unwrap(), i["amount"].as_str().unwrap()))
        .collect();
    assert_eq!(due, [("2026-03-10", "33.33"), ("2026-04-09", "33.33"), ("2026-05-09", "33.34")]);
    // Unknown customers, terms and accounts are refused before anything is kept.
    let mut unknown = invoice("invoice", &[("4000", "1", "100")]);
    unknown["customer"] = json!("NOBODY");
    k.post(&format!("{F}/invoices"), unknown).await.expect_problem(422, "invalid");
    let stray = json!({ "code": "X", "name": "X", "terms": "NET999" });
    k.post(&format!("{F}/customers"), stray).await.expect_problem(422, "invalid");
    let id = k.post(&format!("{F}/invoices"), invoice("invoice", &[("9999", "1", "100")])).await;
    let id = id.expect(201)["id"].as_str().unwrap().to_owned();
    let detail =
        k.post(&format!("{F}/invoices/{id}/post"), json!({})).await.expect_problem(422, "invalid");
    assert!(detail.contains("9999"), "{detail}");
    assert_eq!(k.get(&format!("{F}/invoices/{id}")).await.expect(200)["status"], "draft");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_settle_invoices_and_the_rest_is_aged() {
    let k = books().await;
    let posted = |body: Value| {
        let k = &k;
        async move {
            let id = k.post(&format!("{F}/invoices"), body).await.expect(201)["id"]
                .as_str()
                .unwrap()
                .to_owned();
            k.post(&format!("{F}/invoices/{id}/post"), json!({})).await.expect(200);
            id
        }
    };
    let first = posted(invoice("invoice", &[("4000", "1", "100.00")])).await;
    let second = posted(invoice("invoice", &[("4000", "1", "50.00")])).await;
    let credit = posted(invoice("credit-note", &[("4000", "1", "20.00")])).await;
    let receipt = |amount: &str, allocations: Value, write_off: Option<Value>| {
        let mut body = json!({ "customer": "ACME", "date": "2026-04-01", "amount": amount, "allocations": allocations });
        if let Some(w) = write_off {
            body["write_off"] = w;
        }
        body
    };
    // Over what is open: refused, and nothing changes.
    let over = receipt("150.00", json!([{ "invoice": first, "amount": "150.00" }]), None);
    let detail = k.post(&format!("{F}/receipts"), over).await.expect_problem(422, "invalid");
    assert!(detail.contains("has 100.00 open"), "{detail}");
    assert_eq!(balance(&k, "1100").await, "0");
    // A receipt is money into a bank, and a write-off a small difference.
    let mut into_receivables =
        receipt("100.00", json!([{ "invoice": first, "amount": "100.00" }]), None);
    into_receivables["account"] = json!("1200");
    let detail =
        k.post(&format!("{F}/receipts"), into_receivables).await.expect_problem(422, "invalid");
    assert!(detail.contains("bank or cash account"), "{detail}");
    let greedy = receipt(
        "0.01",
        json!([{ "invoice": first, "amount": "100.00" }]),
        Some(json!({ "account": "6900", "amount": "99.99" })),
    );
    let detail = k.post(&format!("{F}/receipts"), greedy).await.expect_problem(422, "invalid");
    assert!(detail.contains("more than a small difference"), "{detail}");
    // 99.98 settles the first invoice, 0.02 written off to bank fees.
    let short = receipt(
        "99.98",
        json!([{ "invoice": first, "amount": "100.00" }]),
        Some(json!({ "account": "6900", "amount": "0.02" })),
    );
    let paid = k.post(&format!("{F}/receipts"), short).await.expect(201).clone();
    assert_eq!(paid["journal_number"], "BNK/2026/0001");
    assert_eq!(k.get(&format!("{F}/invoices/{first}")).await.expect(200)["status"], "paid");
    assert_eq!(
        (balance(&k, "1100").await, balance(&k, "6900").await),
        ("99.98".into(), "0.02".into())
    );
    // Half of the second, net of the credit note.
    let netted = receipt(
        "5.00",
        json!([{ "invoice": second, "amount": "25.00" }, { "invoice": credit, "amount": "20.00" }]),
        None,
    );
    k.post(&format!("{F}/receipts"), netted).await.expect(201);
    let second_now = k.get(&format!("{F}/invoices/{second}")).await.expect(200).clone();
    assert_eq!(
        (second_now["status"].as_str(), second_now["open"].as_str()),
        (Some("open"), Some("25.00"))
    );
    assert_eq!(k.get(&format!("{F}/invoices/{credit}")).await.expect(200)["status"], "paid");
    assert_eq!(balance(&k, "1200").await, "25.00", "100 + 50 - 20 invoiced, 100 + 25 - 20 settled");

    // Aged on 30 June: the rest of the second invoice, due 9 April, is 82 days late.
    let aged =
        k.get(&format!("{F}/reports/aged-receivables?as_of=2026-06-30")).await.expect(200).clone();
    assert_eq!(
        aged["rows"],
        json!([{ "party": "ACME", "current": "0", "days_1_30": "0", "days_31_60": "0", "days_61_90": "25.00", "over_90": "0", "total": "25.00" }])
    );
    let early =
        k.get(&format!("{F}/reports/aged-receivables?as_of=2026-04-01")).await.expect(200).clone();
    assert_eq!(early["totals"]["current"], "25.00");
    // Payables age the same way.
    let bill = json!({ "supplier": "PAPERCO", "invoice": "P-1", "date": "2026-03-01", "due": "2026-03-31",
        "lines": [{ "account": "6300", "debit": "40.00" }] });
    k.post(&format!("{F}/payables"), bill).await.expect(201);
    let payables =
        k.get(&format!("{F}/reports/aged-payables?as_of=2026-05-15")).await.expect(200).clone();
    assert_eq!(payables["rows"][0]["party"], "PAPERCO");
    assert_eq!(payables["rows"][0]["days_31_60"], "40.00");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxed_invoices_post_their_tax_and_the_period_report_says_what_is_due() {
    let k = books().await;
    let reclaim =
        json!({ "code": "1450", "name": "VAT reclaimable", "type": "asset", "currency": "EUR" });
    k.post(&format!("{F}/accounts"), reclaim).await.expect(201);
    let rate = |code: &str, rate: &str, kind: &str, inclusive: bool, account: &str| json!({ "code": code, "name": code, "rate": rate, "kind": kind, "inclusive": inclusive, "account": account });
    k.post(&format!("{F}/tax-rates"), rate("VAT20", "20", "sales", false, "2100"))
        .await
        .expect(201);
    k.post(&format!("{F}/tax-rates"), rate("VAT20INC", "20", "sales", true, "2100"))
        .await
        .expect(201);
    k.post(&format!("{F}/tax-rates"), rate("VAT20P", "20", "purchase", false, "1450"))
        .await
        .expect(201);
    k.post(&format!("{F}/tax-rates"), rate("BAD", "120", "sales", false, "2100"))
        .await
        .expect_problem(422, "invalid");

    // Three lines at 0.33 each: VAT is 20% of 0.99 once, 0.20, not 0.07 three times.
    let mut body =
        invoice("invoice", &[("4000", "1", "0.33"), ("4000", "1", "0.33"), ("4000", "1", "0.33")]);
    for line in body["lines"].as_array_mut().unwrap() {
        line["tax"] = json!("VAT20");
    }
    let id =
        k.post(&format!("{F}/invoices"), body).await.expect(201)["id"].as_str().unwrap().to_owned();
    let posted = k.post(&format!("{F}/invoices/{id}/post"), json!({})).await.expect(200).clone();
    assert_eq!(
        (posted["net_total"].as_str(), posted["tax_total"].as_str(), posted["total"].as_str()),
        (Some("0.99"), Some("0.20"), Some("1.19"))
    );
    // Prices that include tax: 30.00 holds 5.00 of VAT, the net shared over the lines to the cent.
    let mut body = invoice(
        "invoice",
        &[("4000", "1", "10.00"), ("4000", "1", "10.00"), ("4100", "1", "10.00")],
    );
    for line in body["lines"].as_array_mut().unwrap() {
        line["tax"] = json!("VAT20INC");
    }
    let id =
        k.post(&format!("{F}/invoices"), body).await.expect(201)["id"].as_str().unwrap().to_owned();
    let posted = k.post(&format!("{F}/invoices/{id}/post"), json!({})).await.expect(200).clone();
    let nets: Vec<&str> =
        posted["lines"].as_array().unwrap().iter().map(|l| l["net"].as_str().unwrap()).collect();
    assert_eq!(nets, ["8.34", "8.33", "8.33"]);
    assert_eq!(
        (posted["tax_total"].as_str(), posted["total"].as_str()),
        (Some("5.00"), Some("30.00"))
    );
    assert_eq!(balance(&k, "2100").await, "5.20");
    assert_eq!(balance(&k, "4000").await, "17.66", "0.99 + 8.34 + 8.33");
    // A purchase rate on a sales invoice is refused.
    let mut wrong = invoice("invoice", &[("4000", "1", "10.00")]);
    wrong["lines"][0]["tax"] = json!("VAT20P");
    let detail = k.post(&format!("{F}/invoices"), wrong).await.expect_problem(422, "invalid");
    assert!(detail.contains("purchase rate"), "{detail}");

    // A supplier's bill with 8.00 of VAT to reclaim.
    let bill = json!({ "supplier": "PAPERCO", "invoice": "P-1", "date": "2026-03-20", "due": "2026-04-19",
        "lines": [{ "account": "6300", "debit": "40.00" }, { "account": "1450", "debit": "8.00" }] });
    k.post(&format!("{F}/payables"), bill).await.expect(201);
    let report =
        k.get(&format!("{F}/reports/tax?from=2026-03-01&to=2026-03-31")).await.expect(200).clone();
    assert_eq!(
        (report["collected"].as_str(), report["paid"].as_str(), report["due"].as_str()),
        (Some("5.20"), Some("8.00"), Some("-2.80"))
    );
    let april =
        k.get(&format!("{F}/reports/tax?from=2026-04-01&to=2026-04-30")).await.expect(200).clone();
    assert_eq!(april["due"], "0");
    k.stop().await;
}
