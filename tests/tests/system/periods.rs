//! Finance's fiscal years, periods, journals, reversals and year end,
//! through the gateway.

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const F: &str = "/api/demo/finance";

async fn books() -> TestKernel {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    k
}

async fn year(k: &TestKernel, code: &str) {
    let start = format!("{code}-01-01");
    let end = format!("{code}-12-31");
    let body = json!({ "code": code, "start": start, "end": end });
    k.post(&format!("{F}/fiscal-years"), body).await.expect(201);
}

fn entry(date: &str, journal: &str, debit: &str, credit: &str, amount: &str) -> Value {
    json!({ "date": date, "memo": format!("{debit} from {credit}"), "journal": journal, "lines": [
        { "account": debit, "debit": amount }, { "account": credit, "credit": amount } ] })
}

async fn post(k: &TestKernel, entry: Value) -> Value {
    k.post(&format!("{F}/entries"), entry).await.expect(201).clone()
}

async fn balance(k: &TestKernel, account: &str, as_of: &str) -> String {
    let path = format!("{F}/accounts/{account}/balance?as_of={as_of}");
    k.get(&path).await.expect(200)["balance"].as_str().unwrap().to_owned()
}

async fn entry_count(k: &TestKernel) -> usize {
    k.get(&format!("{F}/entries?limit=500")).await.expect(200)["entries"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_period_refuses_entries_until_reopened_and_a_locked_one_for_good() {
    let k = books().await;
    year(&k, "2026").await;
    let march = post(&k, entry("2026-03-10", "GEN", "1100", "3000", "500.00")).await;
    assert_eq!(
        (march["period"].as_str(), march["journal_number"].as_str()),
        (Some("2026-03"), Some("GEN/2026/0001"))
    );
    let periods = k.get(&format!("{F}/periods?year=2026")).await.expect(200)["periods"].clone();
    assert_eq!(periods.as_array().unwrap().len(), 13, "twelve months and the adjustment period");

    // An accountant closes March; only a controller reopens it.
    let accountant = k.user_with_roles("anna", "demo", &["accountant"]).await;
    let closed =
        k.send_as(Some(&accountant), "POST", &format!("{F}/periods/2026-03/close"), None).await;
    assert_eq!(closed.expect(200)["state"], "closed");
    let before = (entry_count(&k).await, balance(&k, "1100", "2026-12-31").await);
    let refused =
        k.post(&format!("{F}/entries"), entry("2026-03-31", "GEN", "1100", "3000", "1.00")).await;
    let detail = refused.expect_problem(422, "invalid");
    assert!(detail.contains("period 2026-03 (2026-03-01 to 2026-03-31) is closed"), "{detail}");
    assert_eq!(
        (entry_count(&k).await, balance(&k, "1100", "2026-12-31").await),
        before,
        "nothing changed"
    );
    let reopen = format!("{F}/periods/2026-03/reopen");
    k.send_as(Some(&accountant), "POST", &reopen, None).await.expect_problem(403, "forbidden");
    let controller = k.user_with_roles("carl", "demo", &["finance-controller"]).await;
    k.send_as(Some(&controller), "POST", &reopen, None).await.expect(200);
    post(&k, entry("2026-03-31", "GEN", "1100", "3000", "1.00")).await;

    // One journal at a time: sales closed, the general journal goes on.
    k.post(&format!("{F}/periods/2026-04/close"), json!({ "journal": "SAL" })).await.expect(200);
    post(&k, entry("2026-04-02", "GEN", "1100", "3000", "2.00")).await;
    let sale = entry("2026-04-02", "SAL", "1200", "4000", "2.00");
    let detail = k.post(&format!("{F}/entries"), sale).await.expect_problem(422, "invalid");
    assert!(detail.contains("closed for journal SAL"), "{detail}");

    // Locked: closed for good.
    let lock = format!("{F}/periods/2026-03/lock");
    let detail = k.post(&lock, json!({})).await.expect_problem(422, "invalid");
    assert!(detail.contains("close it before locking"), "{detail}");
    k.post(&format!("{F}/periods/2026-03/close"), json!({})).await.expect(200);
    assert_eq!(k.post(&lock, json!({})).await.expect(200)["state"], "locked");
    k.post(&reopen, json!({})).await.expect_problem(422, "invalid");
    let detail = k
        .post(&format!("{F}/entries"), entry("2026-03-05", "GEN", "1100", "3000", "1.00"))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("locked"), "{detail}");

    // With fiscal years, a date outside them has no period.
    let detail = k
        .post(&format!("{F}/entries"), entry("2027-01-05", "GEN", "1100", "3000", "1.00"))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("no fiscal year holds 2027-01-05"), "{detail}");
    // Naming the adjustment period does not open a closed month: it takes
    // entries on the year's last day only.
    let mut through_adjustment = entry("2026-03-15", "GEN", "1100", "3000", "1.00");
    through_adjustment["period"] = json!("2026-ADJ");
    let detail =
        k.post(&format!("{F}/entries"), through_adjustment).await.expect_problem(422, "invalid");
    assert!(detail.contains("dated on the year's last day, 2026-12-31"), "{detail}");
    // Locking is the controller's, and the adjustment period goes with its year.
    let lock_april = format!("{F}/periods/2026-04/lock");
    k.send_as(Some(&accountant), "POST", &lock_april, None).await.expect_problem(403, "forbidden");
    let detail = k
        .post(&format!("{F}/periods/2026-ADJ/lock"), json!({}))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("locked with its year"), "{detail}");
    let trail =
        k.get("/admin/tenants/demo/audit?action=finance.period.locked").await.expect(200).clone();
    assert_eq!(trail["entries"].as_array().unwrap().len(), 1, "{trail}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_journal_numbers_its_entries_per_fiscal_year() {
    let k = books().await;
    let journals = k.get(&format!("{F}/journals")).await.expect(200)["journals"].clone();
    let codes: Vec<&str> =
        journals.as_array().unwrap().iter().map(|j| j["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["GEN", "SAL", "PUR", "BNK", "CSH"]);
    let bank2 = json!({ "code": "BNK2", "name": "Savings bank", "kind": "bank" });
    k.post(&format!("{F}/journals"), bank2.clone()).await.expect(201);
    k.post(&format!("{F}/journals"), bank2).await.expect_problem(409, "conflict");
    year(&k, "2026").await;
    year(&k, "2027").await;
    let numbers = [
        ("2026-05-01", "SAL", "SAL/2026/0001"),
        ("2026-05-02", "SAL", "SAL/2026/0002"),
        ("2026-05-02", "BNK2", "BNK2/2026/0001"),
        ("2026-05-03", "GEN", "GEN/2026/0001"),
        ("2027-01-04", "SAL", "SAL/2027/0001"),
    ];
    for (date, journal, expected) in numbers {
        let posted = post(&k, entry(date, journal, "1200", "4000", "10.00")).await;
        assert_eq!(posted["journal_number"], expected);
    }
    let unknown = entry("2026-05-01", "XYZ", "1200", "4000", "10.00");
    let detail = k.post(&format!("{F}/entries"), unknown).await.expect_problem(422, "invalid");
    assert!(detail.contains("journal XYZ does not exist"), "{detail}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reversal_undoes_an_entry_once_in_the_first_open_period() {
    let k = books().await;
    year(&k, "2026").await;
    let original = post(&k, entry("2026-02-14", "SAL", "1200", "4000", "119.00")).await;
    let n = original["number"].as_u64().unwrap();
    k.post(&format!("{F}/periods/2026-02/close"), json!({})).await.expect(200);
    let reversal =
        k.post(&format!("{F}/entries/{n}/reversal"), json!({})).await.expect(201).clone();
    assert_eq!(reversal["date"], "2026-03-01", "February is closed: the first open day after it");
    assert_eq!(
        (reversal["reverses"].as_u64(), reversal["journal"].as_str()),
        (Some(n), Some("SAL"))
    );
    assert_eq!(reversal["lines"][0], json!({ "account": "1200", "credit": "119.00" }));
    assert_eq!(reversal["lines"][1], json!({ "account": "4000", "debit": "119.00" }));
    let linked = k.get(&format!("{F}/entries/{n}")).await.expect(200).clone();
    assert_eq!(linked["reversed_by"], reversal["number"]);
    assert_eq!(balance(&k, "1200", "2026-12-31").await, "0.00");
    assert_eq!(balance(&k, "4000", "2026-12-31").await, "0.00");
    let again = k.post(&format!("{F}/entries/{n}/reversal"), json!({})).await;
    let detail = again.expect_problem(422, "invalid");
    assert!(detail.contains("reversed already"), "{detail}");
    // A date the user chooses, in a closed period, is refused like any entry.
    let other = post(&k, entry("2026-03-02", "GEN", "1100", "3000", "5.00")).await;
    let m = other["number"].as_u64().unwrap();
    let into_closed = json!({ "date": "2026-02-20" });
    k.post(&format!("{F}/entries/{m}/reversal"), into_closed).await.expect_problem(422, "invalid");
    assert!(k.get(&format!("{F}/entries/{m}")).await.expect(200)["reversed_by"].is_null());
    k.post(&format!("{F}/entries/999/reversal"), json!({})).await.expect_problem(404, "not-found");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_year_end_closes_income_and_expense_into_retained_earnings() {
    let k = books().await;
    year(&k, "2026").await;
    year(&k, "2027").await;
    post(&k, entry("2026-01-02", "GEN", "1100", "3000", "10000.00")).await;
    post(&k, entry("2026-06-30", "SAL", "1200", "4000", "8000.00")).await;
    post(&k, entry("2026-07-31", "GEN", "6100", "1100", "1500.00")).await;
    post(&k, entry("2026-09-30", "GEN", "6000", "1100", "2500.00")).await;
    let profit = 8000 - 1500 - 2500;

    let close = |code: &str| format!("{F}/fiscal-years/{code}/close");
    let retained = json!({ "retained_earnings": "3100" });
    let detail = k.post(&close("2027"), retained.clone()).await.expect_problem(422, "invalid");
    assert!(detail.contains("fiscal year 2026 is still open"), "{detail}");
    let not_equity = json!({ "retained_earnings": "1100" });
    k.post(&close("2026"), not_equity).await.expect_problem(422, "invalid");
    let closed = k.post(&close("2026"), retained.clone()).await.expect(200).clone();
    assert_eq!(closed["state"], "closed");
    assert!(closed["periods"].as_array().unwrap().iter().all(|p| p["state"] == "closed"));
    let number = closed["closing_entries"][0].as_u64().unwrap();
    let closing = k.get(&format!("{F}/entries/{number}")).await.expect(200).clone();
    assert_eq!(
        (closing["date"].as_str(), closing["period"].as_str()),
        (Some("2026-12-31"), Some("2026-ADJ"))
    );

    // Income and expense are zero at the year end; the profit is retained.
    for account in ["4000", "6000", "6100"] {
        assert_eq!(balance(&k, account, "2026-12-31").await, "0.00", "account {account}");
    }
    assert_eq!(balance(&k, "3100", "2026-12-31").await, format!("{profit}.00"));
    // What stays on the balance sheet opens 2027.
    let opening =
        k.get(&format!("{F}/reports/trial-balance?as_of=2027-01-01")).await.expect(200).clone();
    let rows: Vec<(String, String, String)> = opening["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap().into(),
                r["debit"].as_str().unwrap().into(),
                r["credit"].as_str().unwrap().into(),
            )
        })
        .collect();
    let row = |account: &str| rows.iter().find(|r| r.0 == account).cloned();
    assert_eq!(row("1100").map(|r| r.1), Some("6000.00".into()), "bank 10,000 - 1,500 - 2,500");
    assert_eq!(row("1200").map(|r| r.1), Some("8000.00".into()));
    assert_eq!(row("3000").map(|r| r.2), Some("10000.00".into()));
    assert_eq!(row("3100").map(|r| r.2), Some(format!("{profit}.00")));
    let zero = |amount: &str| amount.bytes().all(|b| b == b'0' || b == b'.');
    assert!(row("4000").is_none_or(|r| zero(&r.1) && zero(&r.2)), "{rows:?}");
    // The closed year takes no more entries.
    let late = entry("2026-12-15", "GEN", "6100", "1100", "1.00");
    k.post(&format!("{F}/entries"), late.clone()).await.expect_problem(422, "invalid");
    k.post(&format!("{F}/periods/2026-12/reopen"), json!({})).await.expect_problem(422, "invalid");

    // Reopening undoes the year end: the closing entry is reversed.
    k.post(&close("2027"), retained.clone()).await.expect(200);
    let reopen = |code: &str| format!("{F}/fiscal-years/{code}/reopen");
    let detail = k.post(&reopen("2026"), json!({})).await.expect_problem(422, "invalid");
    assert!(detail.contains("2027 after it is closed"), "{detail}");
    k.post(&reopen("2027"), json!({})).await.expect(200);
    let reopened = k.post(&reopen("2026"), json!({})).await.expect(200).clone();
    assert_eq!(reopened["state"], "open");
    assert_eq!(balance(&k, "4000", "2026-12-31").await, "8000.00");
    assert_eq!(balance(&k, "3100", "2026-12-31").await, "0.00");
    let closing = k.get(&format!("{F}/entries/{number}")).await.expect(200).clone();
    let reversal = closing["reversed_by"].as_u64().expect("the closing entry was reversed");
    let reversal = k.get(&format!("{F}/entries/{reversal}")).await.expect(200).clone();
    assert_eq!(reversal["period"], "2026-ADJ");
    // Its months stay closed until reopened one by one.
    k.post(&format!("{F}/entries"), late.clone()).await.expect_problem(422, "invalid");
    k.post(&format!("{F}/periods/2026-12/reopen"), json!({})).await.expect(200);
    k.post(&format!("{F}/entries"), late).await.expect(201);
    // Closed again, then locked: for good.
    k.post(&close("2026"), retained).await.expect(200);
    assert_eq!(balance(&k, "3100", "2026-12-31").await, format!("{}.00", profit - 1));
    let locked =
        k.post(&format!("{F}/fiscal-years/2026/lock"), json!({})).await.expect(200).clone();
    assert!(locked["periods"].as_array().unwrap().iter().all(|p| p["state"] == "locked"));
    let detail = k.post(&reopen("2026"), json!({})).await.expect_problem(422, "invalid");
    assert!(detail.contains("locked for good"), "{detail}");
    // No year goes in before a closed one, to change what it was closed on.
    let earlier = json!({ "code": "2025", "start": "2025-01-01", "end": "2025-12-31" });
    let detail = k.post(&format!("{F}/fiscal-years"), earlier).await.expect_problem(422, "invalid");
    assert!(detail.contains("before a closed one"), "{detail}");
    // The year end's entries are the year's own to undo.
    let detail = k
        .post(&format!("{F}/entries/{number}/reversal"), json!({}))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("posted by the year-end closing of fiscal year 2026"), "{detail}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_show_the_same_year_before_and_after_its_end() {
    let k = books().await;
    year(&k, "2026").await;
    year(&k, "2027").await;
    post(&k, entry("2026-01-02", "GEN", "1100", "3000", "10000.00")).await;
    post(&k, entry("2026-06-30", "SAL", "1200", "4000", "8000.00")).await;
    post(&k, entry("2026-07-31", "GEN", "6100", "1100", "1500.00")).await;
    post(&k, entry("2027-02-01", "SAL", "1200", "4000", "300.00")).await;
    let pl_2026 = format!("{F}/reports/profit-and-loss?from=2026-01-01&to=2026-12-31");
    let sheet = format!("{F}/reports/balance-sheet?as_of=2026-12-31");
    let before_pl = k.get(&pl_2026).await.expect(200).clone();
    let before_sheet = k.get(&sheet).await.expect(200).clone();
    assert_eq!(
        (before_pl["income"]["total"].as_str(), before_pl["expense"]["total"].as_str()),
        (Some("8000.00"), Some("1500.00"))
    );
    assert_eq!(before_pl["net_profit"], "6500.00");
    assert_eq!(before_sheet["assets"]["total"], "16500.00", "bank 8,500 and receivables 8,000");
    assert_eq!(before_sheet["unclosed_earnings"], "6500.00");
    assert_eq!(before_sheet["liabilities_and_equity"], "16500.00");
    assert_eq!(before_sheet["balanced"], true);

    k.post(&format!("{F}/fiscal-years/2026/close"), json!({ "retained_earnings": "3100" }))
        .await
        .expect(200);
    let after_pl = k.get(&pl_2026).await.expect(200).clone();
    assert_eq!(
        after_pl["net_profit"], before_pl["net_profit"],
        "the closing entry is not a loss of the year"
    );
    assert_eq!(after_pl["income"]["lines"], before_pl["income"]["lines"]);
    let after_sheet = k.get(&sheet).await.expect(200).clone();
    assert_eq!(after_sheet["unclosed_earnings"], "0", "no income or expense left open");
    assert_eq!(after_sheet["equity"]["total"], "16500.00", "capital 10,000 and retained 6,500");
    assert_eq!(after_sheet["balanced"], true);

    // 2027 against 2026, side by side.
    let compared = k
        .get(&format!("{F}/reports/profit-and-loss?from=2027-01-01&to=2027-12-31&compare_from=2026-01-01&compare_to=2026-12-31"))
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (compared["net_profit"].as_str(), compared["compare_net_profit"].as_str()),
        (Some("300.00"), Some("6500.00"))
    );
    let sales = &compared["income"]["lines"][0];
    assert_eq!(
        (sales["amount"].as_str(), sales["compare"].as_str()),
        (Some("300.00"), Some("8000.00"))
    );
    let both = k
        .get(&format!("{F}/reports/balance-sheet?as_of=2027-12-31&compare_as_of=2026-12-31"))
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (both["assets"]["total"].as_str(), both["assets"]["compare"].as_str()),
        (Some("16800.00"), Some("16500.00"))
    );
    assert_eq!(both["balanced"], true);
    let without_end = k.get(&format!("{F}/reports/profit-and-loss?from=2026-01-01")).await;
    without_end.expect_problem(422, "invalid-request");
    assert_eq!(without_end.body["errors"][0]["pointer"], "/to");
    k.get(&format!("{F}/reports/profit-and-loss?from=2026-12-31&to=2026-01-01"))
        .await
        .expect_problem(400, "bad-request");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_ledger_runs_its_balance_in_date_order_page_by_page() {
    let k = books().await;
    post(&k, entry("2026-01-10", "GEN", "1100", "3000", "1000.00")).await;
    post(&k, entry("2026-01-20", "GEN", "6100", "1100", "300.00")).await;
    post(&k, entry("2026-01-15", "GEN", "1100", "4000", "50.00")).await; // back-dated
    post(&k, entry("2026-01-15", "GEN", "6300", "2000", "9.00")).await; // not the bank
    post(&k, entry("2026-01-15", "GEN", "6200", "1100", "20.00")).await;
    post(&k, entry("2026-02-01", "GEN", "1100", "4000", "5.00")).await;
    let ledger = |query: &str| format!("{F}/accounts/1100/ledger?{query}");
    let all = k.get(&ledger("limit=10")).await.expect(200).clone();
    let seen: Vec<(&str, &str)> = all["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["date"].as_str().unwrap(), r["balance"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("2026-01-10", "1000.00"),
            ("2026-01-15", "1050.00"),
            ("2026-01-15", "1030.00"),
            ("2026-01-20", "730.00"),
            ("2026-02-01", "735.00")
        ]
    );
    assert!(all["cursor"].is_null());
    // Two at a time, the pages chain on: each opens where the last closed.
    let mut cursor: Option<String> = None;
    let mut closings = Vec::new();
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".to_owned(),
        };
        let page = k.get(&ledger(&query)).await.expect(200).clone();
        if let Some(last) = closings.last() {
            assert_eq!(&page["opening_balance"], last, "{page}");
        }
        closings.push(page["closing_balance"].clone());
        match page["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(closings.last().unwrap(), "735.00");
    // A range opens on the balance before it.
    let january = k.get(&ledger("from=2026-01-16&to=2026-01-31")).await.expect(200).clone();
    assert_eq!(
        (january["opening_balance"].as_str(), january["closing_balance"].as_str()),
        (Some("1030.00"), Some("730.00"))
    );
    k.get(&ledger("cursor=nonsense")).await.expect_problem(400, "bad-request");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_come_as_csv_by_the_columns_their_operations_declare() {
    let k = books().await;
    post(&k, entry("2026-01-10", "GEN", "1100", "3000", "1000.00")).await;
    post(&k, entry("2026-01-20", "GEN", "6100", "1100", "300.00")).await;
    let text_of = |path: String| {
        let request = k.request(reqwest::Method::GET, &path);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let text = text_of(format!("{F}/reports/trial-balance?format=csv")).await;
    assert_eq!(
        text,
        "Account,Name,Type,Currency,Debit,Credit\r\n1100,Bank,asset,EUR,700.00,0\r\n3000,Owner's capital,equity,EUR,0,1000.00\r\n6100,Rent,expense,EUR,300.00,0\r\n"
    );
    // The same by the Accept header, with the headers a download needs.
    let asked = k
        .request(
            reqwest::Method::GET,
            &format!("{F}/reports/profit-and-loss?from=2026-01-01&to=2026-01-31"),
        )
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(asked.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        asked.headers()["content-disposition"],
        "attachment; filename=\"reports.profit-and-loss.csv\""
    );
    let text = asked.text().await.unwrap();
    assert_eq!(text, "Section,Account,Name,Amount,Comparative\r\nexpense,6100,Rent,300.00,\r\n");
    let text = text_of(format!("{F}/accounts/1100/ledger?format=csv")).await;
    assert!(text.starts_with("Date,Entry,Journal number,Memo,Reference,Debit,Credit,Balance\r\n2026-01-10,1,GEN/2026/0001,"), "{text}");
    // No export declared, or a format there is none of: 406, and JSON stays the default.
    k.get(&format!("{F}/accounts/1100?format=csv")).await.expect_problem(406, "not-acceptable");
    k.get(&format!("{F}/reports/trial-balance?format=xml"))
        .await
        .expect_problem(406, "not-acceptable");
    assert!(k.get(&format!("{F}/reports/trial-balance")).await.expect(200)["rows"].is_array());
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_come_as_spreadsheets_with_real_numbers_dates_and_totals() {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let k = books().await;
    post(&k, entry("2026-01-10", "GEN", "1100", "3000", "1000.00")).await;
    post(&k, entry("2026-01-20", "GEN", "6100", "1100", "300.25")).await;
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let workbook = |path: String, accept: Option<&'static str>| {
        let mut request = k.request(reqwest::Method::GET, &path);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-type"], xlsx);
            let disposition =
                response.headers()["content-disposition"].to_str().unwrap().to_owned();
            let bytes = response.bytes().await.unwrap().to_vec();
            let book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
            (book, disposition)
        }
    };

    // The trial balance: amounts as numbers, codes as text, and totals
    // that are the exact sums.
    let (mut book, disposition) =
        workbook(format!("{F}/reports/trial-balance?format=xlsx"), None).await;
    assert_eq!(disposition, "attachment; filename=\"reports.trial-balance.xlsx\"");
    let sheet = book.worksheet_range(&book.sheet_names()[0]).unwrap();
    let at = |row: u32, col: u32| sheet.get_value((row, col)).cloned().unwrap_or(Data::Empty);
    assert_eq!(at(0, 4), Data::String("Debit".into()));
    assert_eq!(at(1, 0), Data::String("1100".into()));
    assert_eq!(at(1, 4), Data::Float(699.75));
    assert_eq!(at(3, 4), Data::Float(300.25));
    assert_eq!(at(4, 0), Data::String("Total".into()));
    assert_eq!((at(4, 4), at(4, 5)), (Data::Float(1000.0), Data::Float(1000.0)));

    // The ledger, asked for by the Accept header: dates as dates.
    let (mut book, _) = workbook(format!("{F}/accounts/1100/ledger"), Some(xlsx)).await;
    let sheet = book.worksheet_range(&book.sheet_names()[0]).unwrap();
    match sheet.get_value((1, 0)) {
        // 2026-01-10 is day 46,032 of a spreadsheet's calendar.
        Some(Data::DateTime(date)) => assert_eq!(date.as_f64(), 46_032.0),
        other => panic!("a date, not {other:?}"),
    }
    k.get(&format!("{F}/accounts/1100?format=xlsx")).await.expect_problem(406, "not-acceptable");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_come_as_pages_for_printing() {
    let k = books().await;
    post(&k, entry("2026-01-10", "GEN", "1100", "3000", "1000.00")).await;
    post(&k, entry("2026-01-20", "GEN", "6100", "1100", "300.25")).await;
    let response = k
        .request(reqwest::Method::GET, &format!("{F}/reports/trial-balance?as_of=2026-01-31"))
        .header("accept", "application/pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let bytes = response.bytes().await.unwrap();
    // As a person reads it: pdftotext (poppler-utils, which .ci/run installs).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trial-balance.pdf");
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", file.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext is installed (Debian's poppler-utils)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for shown in ["Tenant demo", "Parameters: as_of=2026-01-31", "Debit", "Credit", "page 1 of 1"] {
        assert!(text.contains(shown), "{shown:?} in {text}");
    }
    let row = |account: &str| {
        text.lines().find(|l| l.trim_start().starts_with(account)).unwrap_or_default().to_owned()
    };
    assert!(row("1100").contains("699.75"), "{text}");
    assert!(row("6100").contains("300.25"), "{text}");
    let total = row("Total");
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["Total", "1,000.00", "1,000.00"],
        "{text}"
    );
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_every_page_of_an_operation_that_pages() {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let k = books().await;
    for day in 1..=30 {
        post(&k, entry(&format!("2026-01-{day:02}"), "GEN", "1100", "3000", "10.01")).await;
    }
    // Seven lines a page: the JSON answer is the first page only.
    let ledger = format!("{F}/accounts/1100/ledger?from=2026-01-01&to=2026-01-31&limit=7");
    let first = k.get(&ledger).await.expect(200).clone();
    assert_eq!(first["rows"].as_array().unwrap().len(), 7);
    assert!(first["cursor"].is_string());
    // The CSV streams every page, the header once.
    let csv = k.request(reqwest::Method::GET, &format!("{ledger}&format=csv"));
    let response = csv.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 31, "a header and 30 rows: {text}");
    assert!(lines[0].starts_with("Date,Entry,"));
    assert!(lines[30].starts_with("2026-01-30,30,"), "{}", lines[30]);
    assert!(lines[30].ends_with(",300.30"), "the running balance: {}", lines[30]);
    // A workbook gathers them all too, with the total of all.
    let xlsx = k.request(reqwest::Method::GET, &format!("{ledger}&format=xlsx"));
    let bytes = xlsx.send().await.unwrap().bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range(&book.sheet_names()[0]).unwrap();
    assert_eq!(sheet.height(), 32, "a header, 30 rows and the totals");
    assert_eq!(sheet.get_value((31, 5)), Some(&Data::Float(300.3)));
    k.stop().await;
}
