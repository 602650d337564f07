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
