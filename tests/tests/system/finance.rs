//! The finance plugin through the gateway.

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const F: &str = "/api/demo/finance";

async fn books() -> TestKernel {
    let kernel = TestKernel::start(Setup::new(&["finance"])).await;
    kernel
        .post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" }))
        .await
        .expect(201);
    kernel
}

fn entry(date: &str, memo: &str, lines: &[(&str, &str, &str)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(account, side, amount)| json!({ "account": account, *side: amount }))
        .collect();
    json!({ "date": date, "memo": memo, "lines": lines })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_maintains_balances_and_a_balanced_trial_balance() {
    let k = books().await;
    let posted = k
        .post(
            &format!("{F}/entries"),
            entry(
                "2026-01-10",
                "Owner investment",
                &[("1100", "debit", "10000.00"), ("3000", "credit", "10000.00")],
            ),
        )
        .await;
    let posted = posted.expect(201);
    assert_eq!(posted["number"], 1);
    assert_eq!(posted["currency"], "EUR");
    assert_eq!(posted["total"], "10000.00");
    k.post(
        &format!("{F}/entries"),
        entry("2026-02-05", "Rent", &[("6100", "debit", "1200.00"), ("1100", "credit", "1200.00")]),
    )
    .await
    .expect(201);
    k.post(
        &format!("{F}/entries"),
        entry(
            "2026-02-20",
            "Sale with VAT",
            &[
                ("1200", "debit", "1190.00"),
                ("4000", "credit", "1000.00"),
                ("2100", "credit", "190.00"),
            ],
        ),
    )
    .await
    .expect(201);

    let second = k.get(&format!("{F}/entries/2")).await;
    assert_eq!(second.expect(200)["memo"], "Rent");
    k.get(&format!("{F}/entries/99")).await.expect_problem(404, "not-found");
    k.get(&format!("{F}/entries/abc")).await.expect_problem(400, "bad-request");

    let bank = k.get(&format!("{F}/accounts/1100/balance")).await;
    assert_eq!(bank.expect(200)["balance"], "8800.00");
    let january = k.get(&format!("{F}/accounts/1100/balance?as_of=2026-01-31")).await;
    assert_eq!(january.expect(200)["balance"], "10000.00");
    let before = k.get(&format!("{F}/accounts/1100/balance?as_of=2025-12-31")).await;
    assert_eq!(before.expect(200)["balance"], "0");
    let revenue = k.get(&format!("{F}/accounts/4000/balance")).await;
    assert_eq!(revenue.body["balance"], "1000.00", "income is credit-normal");
    k.get(&format!("{F}/accounts/1100/balance?as_of=2026-02-30"))
        .await
        .expect_problem(422, "invalid-request");

    let tb = k.get(&format!("{F}/reports/trial-balance")).await;
    let tb = tb.expect(200);
    assert_eq!(
        tb["totals"],
        json!([{ "currency": "EUR", "debit": "11190.00", "credit": "11190.00", "balanced": true }])
    );
    let codes: Vec<&str> =
        tb["rows"].as_array().unwrap().iter().map(|r| r["account"].as_str().unwrap()).collect();
    assert_eq!(codes, ["1100", "1200", "2100", "3000", "4000", "6100"]);
    let jan_tb = k.get(&format!("{F}/reports/trial-balance?as_of=2026-01-31")).await;
    assert_eq!(jan_tb.expect(200)["totals"][0]["debit"], "10000.00");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_listed_by_date_and_by_account_with_pagination() {
    let k = books().await;
    for day in 1..=9 {
        let account = if day % 3 == 0 { "6300" } else { "6200" };
        let date = format!("2026-03-{day:02}");
        k.post(
            &format!("{F}/entries"),
            entry(&date, "bill", &[(account, "debit", "10.00"), ("1000", "credit", "10.00")]),
        )
        .await
        .expect(201);
    }
    let numbers = |reply: &Value| -> Vec<u64> {
        reply["entries"].as_array().unwrap().iter().map(|e| e["number"].as_u64().unwrap()).collect()
    };
    let range = k.get(&format!("{F}/entries?from=2026-03-03&to=2026-03-05")).await;
    assert_eq!(numbers(range.expect(200)), [3, 4, 5]);
    let supplies = k.get(&format!("{F}/entries?account=6300")).await;
    assert_eq!(numbers(supplies.expect(200)), [3, 6, 9]);
    let both = k.get(&format!("{F}/entries?account=6300&from=2026-03-04")).await;
    assert_eq!(numbers(both.expect(200)), [6, 9]);

    let first = k.get(&format!("{F}/entries?limit=4")).await;
    assert_eq!(numbers(first.expect(200)), [1, 2, 3, 4]);
    let cursor =
        first.body["cursor"].as_str().expect("a cursor when more entries follow").to_owned();
    let next = k.get(&format!("{F}/entries?limit=4&cursor={cursor}")).await;
    assert_eq!(numbers(next.expect(200)), [5, 6, 7, 8]);
    let cursor = next.body["cursor"].as_str().unwrap().to_owned();
    let last = k.get(&format!("{F}/entries?limit=4&cursor={cursor}")).await;
    assert_eq!(numbers(last.expect(200)), [9]);
    assert_eq!(last.body["cursor"], Value::Null);

    k.get(&format!("{F}/entries?limit=0")).await.expect_problem(400, "bad-request");
    let past = k.get(&format!("{F}/entries?limit=1001")).await;
    assert!(past.expect_problem(400, "bad-request").contains("limit must be 1 to 1000"));
    k.get(&format!("{F}/entries?limit=1000")).await.expect(200);
    k.get(&format!("{F}/entries?from=March")).await.expect_problem(422, "invalid-request");
    k.get(&format!("{F}/entries?cursor=nothex")).await.expect_problem(422, "invalid");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_entries_store_nothing_and_use_no_number() {
    let k = books().await;
    let too_many: Vec<Value> = (0..501)
        .map(|i| {
            if i == 0 {
                json!({ "account": "1000", "debit": "500" })
            } else {
                json!({ "account": "4000", "credit": "1" })
            }
        })
        .collect();
    let invalid = [
        (
            entry(
                "2026-01-01",
                "unbalanced",
                &[("1000", "debit", "100.00"), ("4000", "credit", "99.99")],
            ),
            "unbalanced",
        ),
        (json!({ "date": "2026-01-01", "lines": [] }), "at least two lines"),
        (
            entry("2026-01-01", "unknown", &[("1000", "debit", "1"), ("7777", "credit", "1")]),
            "does not exist",
        ),
        (
            entry("2026-01-01", "negative", &[("1000", "debit", "-5"), ("4000", "credit", "-5")]),
            "greater than zero",
        ),
        (
            entry(
                "2026-01-01",
                "malformed",
                &[("1000", "debit", "12,50"), ("4000", "credit", "12,50")],
            ),
            "debit \"12,50\" must be a decimal string",
        ),
        (
            json!({ "date": "2026-01-01", "lines": [{ "account": "1000", "debit": 5 }, { "account": "4000", "credit": 5 }] }),
            "/lines/0/debit: expected a string or null, found an integer",
        ),
        (json!({ "date": "2026-01-01", "lines": too_many }), "at most 500"),
        (
            entry("2026-02-30", "bad date", &[("1000", "debit", "1"), ("4000", "credit", "1")]),
            "/date: \"2026-02-30\" is not a calendar date",
        ),
    ];
    for (body, needle) in invalid {
        // What the contract's schema says is the kernel's to refuse, the
        // rules are the plugin's; both are 422, and nothing is stored.
        let code = if needle.starts_with('/') { "invalid-request" } else { "invalid" };
        let detail = k.post(&format!("{F}/entries"), body).await.expect_problem(422, code);
        assert!(detail.contains(needle), "{detail:?} should mention {needle:?}");
    }
    for bad in [
        json!({ "date": "2026-01-01" }),
        json!([1, 2]),
        json!({ "date": "2026-01-01", "lines": [], "extra": 1 }),
    ] {
        k.post(&format!("{F}/entries"), bad).await.expect_problem(422, "invalid-request");
    }
    let raw = k
        .request(reqwest::Method::POST, &format!("{F}/entries"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    keel_tests::Reply::from(raw).await.expect_problem(400, "bad-request");

    let listed = k.get(&format!("{F}/entries")).await;
    assert_eq!(listed.expect(200)["entries"], json!([]), "nothing was stored");
    let tb = k.get(&format!("{F}/reports/trial-balance")).await;
    assert_eq!(tb.expect(200)["rows"], json!([]), "no balance moved");
    let ok = k
        .post(
            &format!("{F}/entries"),
            entry("2026-01-01", "first real", &[("1000", "debit", "1"), ("4000", "credit", "1")]),
        )
        .await;
    assert_eq!(ok.expect(201)["number"], 1, "rejected entries used up no number");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_of_accounts() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let cash = json!({ "code": "1000", "name": "Cash", "type": "asset", "currency": "EUR" });
    k.post(&format!("{F}/accounts"), cash.clone()).await.expect(201);
    k.post(&format!("{F}/accounts"), cash).await.expect_problem(409, "conflict");
    let bad = json!({ "code": "1 0", "name": "Cash", "type": "asset", "currency": "EUR" });
    k.post(&format!("{F}/accounts"), bad).await.expect_problem(422, "invalid");
    let bad_type = json!({ "code": "1001", "name": "Cash", "type": "money", "currency": "EUR" });
    let detail =
        k.post(&format!("{F}/accounts"), bad_type).await.expect_problem(422, "invalid-request");
    assert!(detail.contains(r#"/type: "money" is not one of "asset", "liability""#), "{detail}");
    let got = k.get(&format!("{F}/accounts/1000")).await;
    assert_eq!(got.expect(200)["name"], "Cash");
    k.get(&format!("{F}/accounts/9999")).await.expect_problem(404, "not-found");

    let loaded =
        k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await;
    let loaded = loaded.expect(201);
    assert_eq!(loaded["skipped"], json!(["1000"]));
    assert_eq!(loaded["created"].as_array().unwrap().len(), 25);
    k.post(&format!("{F}/chart-templates/nope"), json!({ "currency": "EUR" }))
        .await
        .expect_problem(422, "invalid");
    let expenses = k.get(&format!("{F}/accounts?type=expense")).await;
    let expenses = expenses.expect(200)["accounts"].as_array().unwrap().clone();
    assert_eq!(expenses.len(), 8);
    assert!(expenses.iter().all(|a| a["type"] == "expense"));
    let page = k.get(&format!("{F}/accounts?limit=10")).await;
    assert_eq!(page.expect(200)["accounts"].as_array().unwrap().len(), 10);
    assert!(page.body["cursor"].is_string());
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_get_distinct_gapless_numbers() {
    let k = books().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let request = k
            .request(reqwest::Method::POST, &format!("{F}/entries"))
            .header("content-type", "application/json")
            .body(
                entry(
                    "2026-04-01",
                    &format!("sale {i}"),
                    &[("1000", "debit", "2.50"), ("4000", "credit", "2.50")],
                )
                .to_string(),
            );
        tasks.spawn(async move { keel_tests::Reply::from(request.send().await.unwrap()).await });
    }
    let mut numbers = Vec::new();
    while let Some(reply) = tasks.join_next().await {
        numbers.push(reply.unwrap().expect(201)["number"].as_u64().unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=24).collect::<Vec<u64>>());
    let cash = k.get(&format!("{F}/accounts/1000/balance")).await;
    assert_eq!(cash.expect(200)["balance"], "60.00");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supplier_invoices_are_open_items_until_paid() {
    let k = books().await;
    let invoice = json!({
        "supplier": "ACME", "invoice": "INV-77", "date": "2026-04-01", "due": "2026-05-01",
        "memo": "office chairs", "lines": [{ "account": "6300", "debit": "450.00" }],
    });
    let recorded = k.post(&format!("{F}/payables"), invoice.clone()).await;
    let recorded = recorded.expect(201).clone();
    assert_eq!(
        (recorded["number"].as_str(), recorded["open"].as_str()),
        (Some("AP-000001"), Some("450.00"))
    );
    assert_eq!(k.get(&format!("{F}/accounts/2000/balance")).await.expect(200)["balance"], "450.00");
    let again = k.post(&format!("{F}/payables"), invoice).await;
    assert!(again.expect_problem(409, "conflict").contains("already recorded as"));

    let pay = |amount: &str| json!({ "amount": amount, "date": "2026-04-20" });
    let payments = format!("{F}/payables/AP-000001/payments");
    k.post(&payments, pay("500.00")).await.expect_problem(422, "invalid");
    assert_eq!(k.post(&payments, pay("200.00")).await.expect(201)["open"], "250.00");
    let open = k.get(&format!("{F}/payables?status=open")).await;
    assert_eq!(open.expect(200)["open_total"], "250.00");
    let paid = k.post(&payments, pay("250.00")).await;
    assert_eq!(
        (paid.expect(201)["status"].as_str(), paid.expect(201)["open"].as_str()),
        (Some("paid"), Some("0.00"))
    );
    assert_eq!(
        k.get(&format!("{F}/payables?status=open")).await.expect(200)["payables"],
        json!([])
    );
    assert_eq!(k.get(&format!("{F}/accounts/2000/balance")).await.expect(200)["balance"], "0.00");
    assert_eq!(
        k.get(&format!("{F}/accounts/1100/balance")).await.expect(200)["balance"],
        "-450.00"
    );
}

/// Posts `body` to `path` as the administrator with an `Idempotency-Key`;
/// returns the reply and whether it said it was replayed.
async fn post_once(
    k: &TestKernel,
    key: &str,
    path: &str,
    body: &Value,
) -> (keel_tests::Reply, bool) {
    let request = k
        .request(reqwest::Method::POST, path)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_string());
    let response = request.send().await.unwrap();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    (keel_tests::Reply::from(response).await, replayed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_sent_again_with_its_idempotency_key_is_answered_without_posting_twice() {
    let k = books().await;
    let path = format!("{F}/entries");
    let loan =
        entry("2026-02-01", "Loan", &[("1100", "debit", "500.00"), ("2500", "credit", "500.00")]);

    let (first, replayed) = post_once(&k, "loan-0001", &path, &loan).await;
    assert!(!replayed);
    let first = first.expect(201).clone();
    // The client never heard back, and sends it again: the same answer, no second entry.
    let (again, replayed) = post_once(&k, "loan-0001", &path, &loan).await;
    assert!(replayed, "the answer says it is the kept one");
    assert_eq!(again.expect(201), &first);
    let journal = k.get(&format!("{F}/entries")).await;
    assert_eq!(journal.expect(200)["entries"].as_array().unwrap().len(), 1);

    // The same key for another request is a client bug: refused, nothing posted.
    let other =
        entry("2026-02-02", "Loan", &[("1100", "debit", "9.00"), ("2500", "credit", "9.00")]);
    let (reused, _) = post_once(&k, "loan-0001", &path, &other).await;
    reused.expect_problem(422, "idempotency-key-reused");
    // A failure keeps nothing: the corrected request may use the key.
    let unbalanced =
        entry("2026-02-02", "Bad", &[("1100", "debit", "9.00"), ("2500", "credit", "8.00")]);
    let (failed, _) = post_once(&k, "fix-0002", &path, &unbalanced).await;
    failed.expect_problem(422, "invalid");
    let (fixed, replayed) = post_once(&k, "fix-0002", &path, &other).await;
    assert!(!replayed);
    assert_eq!(fixed.expect(201)["number"], 2);
    // Keys are each caller's own.
    let clerk = k.user_with_roles("clerk", "demo", &["bookkeeper"]).await;
    let request = k
        .client()
        .post(format!("{}{path}", k.base()))
        .bearer_auth(&clerk)
        .header("idempotency-key", "loan-0001")
        .header("content-type", "application/json")
        .body(loan.to_string());
    let theirs = keel_tests::Reply::from(request.send().await.unwrap()).await;
    assert_eq!(theirs.expect(201)["number"], 3);
    // A malformed key is refused before anything runs.
    let (bad, _) = post_once(&k, "two words", &path, &loan).await;
    bad.expect_problem(400, "bad-request");

    let audit = k.get("/admin/tenants/demo/audit?action=idempotency.keep").await;
    assert_eq!(audit.expect(200)["entries"].as_array().unwrap().len(), 3);
    assert_eq!(k.get("/admin/tenants/demo/audit/verify").await.expect(200)["ok"], true);
    k.stop().await;
}
