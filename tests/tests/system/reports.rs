//! Custom reports through HTTP, as a tenant meets them: a definition over
//! a source a plugin declares reportable, checked when saved, versioned
//! and audited; run as whoever runs it, so nobody reads through a report
//! what they could not read directly; sensitive sources audited on read;
//! answered as JSON or a file, and in the background when large.

use std::time::{Duration, Instant};

use keel_tests::{Reply, Setup, TestKernel};
use serde_json::{Value, json};

const F: &str = "/api/demo/finance";
const HR: &str = "/api/demo/hr";
const REPORTS: &str = "/api/demo/reports";

fn entry(date: &str, memo: &str, lines: &[(&str, &str, &str)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(account, side, amount)| json!({ "account": account, *side: amount }))
        .collect();
    json!({ "date": date, "memo": memo, "lines": lines })
}

async fn books(setup: Setup) -> TestKernel {
    let k = TestKernel::start(setup).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let entries = [
        entry(
            "2026-01-10",
            "Owner investment",
            &[("1100", "debit", "10000.00"), ("3000", "credit", "10000.00")],
        ),
        entry("2026-02-05", "Rent", &[("6100", "debit", "1200.10"), ("1100", "credit", "1200.10")]),
        entry(
            "2026-02-20",
            "Sale",
            &[
                ("1200", "debit", "1190.00"),
                ("4000", "credit", "1000.00"),
                ("2100", "credit", "190.00"),
            ],
        ),
        entry("2026-03-05", "Rent", &[("6100", "debit", "1200.10"), ("1100", "credit", "1200.10")]),
    ];
    for posted in entries {
        k.post(&format!("{F}/entries"), posted).await.expect(201);
    }
    k
}

fn by_account() -> Value {
    json!({
        "title": "Movements by account",
        "source": "finance/entry-lines",
        "group_by": ["account"],
        "aggregates": [
            { "name": "lines", "op": "count" },
            { "name": "debits", "op": "sum", "field": "debit" },
            { "name": "credits", "op": "sum", "field": "credit" },
        ],
        "sort": [{ "by": "account" }],
    })
}

async fn text(k: &TestKernel, token: &str, path: &str) -> (u16, String, String) {
    let response =
        k.client().get(format!("{}{path}", k.base())).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_report_groups_the_ledger_exactly_and_exports_it() {
    let k = books(Setup::new(&["finance"])).await;
    let sources = k.get(&format!("{REPORTS}/sources")).await.expect(200).clone();
    let lines = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "finance/entry-lines");
    assert_eq!(
        lines.unwrap()["fields"][0],
        json!({ "name": "number", "type": "integer", "description": "The entry's gapless number" })
    );

    // A definition with mistakes is refused whole, naming each.
    let mut bad = by_account();
    bad["aggregates"][1]["field"] = json!("memo");
    bad["sort"][0]["by"] = json!("colour");
    let refused = k.send("PUT", &format!("{REPORTS}/movements"), Some(bad)).await;
    let detail = refused.expect_problem(422, "invalid-report");
    assert!(
        detail.contains("2 problems")
            && detail.contains("aggregates[1]")
            && detail.contains("\"colour\""),
        "{detail}"
    );
    k.get(&format!("{REPORTS}/movements")).await.expect_problem(404, "not-found");
    let unknown = json!({ "title": "X", "source": "finance/payroll" });
    let refused = k.send("PUT", &format!("{REPORTS}/movements"), Some(unknown)).await;
    assert!(refused.expect_problem(422, "invalid").contains("reports/sources"));
    let reserved = k.send("PUT", &format!("{REPORTS}/sources"), Some(by_account())).await;
    assert_eq!(reserved.status, 405, "the sources route is not a report: {}", reserved.body);

    let saved = k.send("PUT", &format!("{REPORTS}/movements"), Some(by_account())).await;
    assert_eq!(saved.expect(201)["version"], 1);
    let ran = k.get(&format!("{REPORTS}/movements/run")).await.expect(200).clone();
    assert_eq!(
        ran["rows"],
        json!([
            { "account": "1100", "lines": 3, "debits": "10000", "credits": "2400.2" },
            { "account": "1200", "lines": 1, "debits": "1190", "credits": "0" },
            { "account": "2100", "lines": 1, "debits": "0", "credits": "190" },
            { "account": "3000", "lines": 1, "debits": "0", "credits": "10000" },
            { "account": "4000", "lines": 1, "debits": "0", "credits": "1000" },
            { "account": "6100", "lines": 2, "debits": "2400.2", "credits": "0" },
        ]),
        "{ran}"
    );
    assert_eq!((ran["scanned"].as_u64(), ran["truncated"].as_bool()), (Some(4), Some(false)));

    // As a file: CSV with the exact sums, a workbook with real numbers and
    // a totals row.
    let (status, kind, csv) =
        text(&k, k.admin_token(), &format!("{REPORTS}/movements/run?format=csv")).await;
    assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
    assert_eq!(csv.lines().next(), Some("account,lines,debits,credits"));
    assert!(csv.contains("\r\n1100,3,10000,2400.2\r\n"), "{csv}");
    {
        use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
        let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        let response = k
            .request(reqwest::Method::GET, &format!("{REPORTS}/movements/run"))
            .header("accept", xlsx)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-type"], xlsx);
        let bytes = response.bytes().await.unwrap().to_vec();
        let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("Movements by account").unwrap();
        assert_eq!(sheet.get_value((1, 2)), Some(&Data::Float(10000.0)));
        assert_eq!(sheet.get_value((7, 2)), Some(&Data::Float(13590.2)), "the debits' total");
    }

    // A second version narrows it; both are kept, and both saves audited
    // with the definition.
    let mut since = by_account();
    since["filters"] = json!([{ "field": "date", "op": "ge", "value": "2026-02-01" }]);
    let saved = k.send("PUT", &format!("{REPORTS}/movements"), Some(since)).await;
    assert_eq!(saved.expect(200)["version"], 2);
    let versions = k.get(&format!("{REPORTS}/movements/versions")).await.expect(200).clone();
    assert_eq!(versions["versions"].as_array().unwrap().len(), 2);
    assert_eq!(versions["versions"][0]["definition"]["filters"], Value::Null);
    let ran = k.get(&format!("{REPORTS}/movements/run")).await.expect(200).clone();
    assert_eq!(
        ran["rows"][0],
        json!({ "account": "1100", "lines": 2, "debits": "0", "credits": "2400.2" })
    );
    assert_eq!(k.audit_actions("demo", "report.").await, ["report.save", "report.save"]);

    // A preview runs a definition without keeping it.
    let preview = json!({ "title": "Rent", "source": "finance/entry-lines", "columns": ["number", "debit"], "filters": [{ "field": "memo", "op": "eq", "value": "Rent" }, { "field": "debit", "op": "empty", "value": false }, { "field": "date", "op": "le", "value": "today" }] });
    let shown = k.post(&format!("{REPORTS}/preview"), preview).await.expect(200).clone();
    assert_eq!(
        shown["rows"],
        json!([{ "number": 2, "debit": "1200.1" }, { "number": 4, "debit": "1200.1" }])
    );
    let listed = k.get(REPORTS).await.expect(200).clone();
    assert_eq!(listed["reports"].as_array().unwrap().len(), 1);

    k.send("DELETE", &format!("{REPORTS}/movements"), None).await.expect(204);
    k.get(&format!("{REPORTS}/movements/run")).await.expect_problem(404, "not-found");
    assert_eq!(
        k.audit_actions("demo", "report.").await,
        ["report.save", "report.save", "report.delete"]
    );
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_shows_only_what_its_reader_may_read_and_sensitive_reads_are_audited() {
    let k = books(Setup::new(&["finance", "hr"])).await;
    k.post(&format!("{HR}/departments"), json!({ "id": "OPS", "name": "Operations" }))
        .await
        .expect(201);
    for (id, pay) in [("E1", "4000.00"), ("E2", "5250.50")] {
        let hire = json!({
            "id": id, "name": format!("Employee {id}"), "department": "OPS", "position": "Analyst",
            "hired": "2026-01-05",
            "personal": { "national_id": format!("NI-{id}"), "bank_account": "FR76 3000", "address": "Paris", "date_of_birth": "1985-05-17" },
            "contract": { "base_pay": pay, "currency": "EUR" },
        });
        k.post(&format!("{HR}/employees"), hire).await.expect(201);
    }
    let payroll = json!({
        "title": "Pay by position",
        "source": "hr/contracts",
        "group_by": ["position", "currency"],
        "aggregates": [{ "name": "people", "op": "count" }, { "name": "pay", "op": "sum", "field": "base_pay" }],
    });
    k.send("PUT", &format!("{REPORTS}/pay"), Some(payroll.clone())).await.expect(201);
    k.send("PUT", &format!("{REPORTS}/movements"), Some(by_account())).await.expect(201);

    // Sealed at rest, read for the report, and each contract read audited.
    let reads_before = k.audit_actions("demo", "record.read").await.len();
    let ran = k.get(&format!("{REPORTS}/pay/run")).await.expect(200).clone();
    assert_eq!(
        ran["rows"],
        json!([{ "position": "Analyst", "currency": "EUR", "people": 2, "pay": "9250.5" }])
    );
    assert_eq!(k.audit_actions("demo", "record.read").await.len(), reads_before + 2);

    // A designer of reports who reads the ledger but not pay: may save
    // ledger reports, not pay ones, and cannot run the one saved by HR.
    let role = json!({ "permissions": ["keel.reports.manage", "finance.reports.read"] });
    k.send("PUT", "/admin/tenants/demo/roles/report-designer", Some(role)).await.expect(200);
    let designer = k.user_with_roles("desi", "demo", &["report-designer"]).await;
    let d = Some(designer.as_str());
    let refused = k.send_as(d, "PUT", &format!("{REPORTS}/pay-copy"), Some(payroll.clone())).await;
    assert!(refused.expect_problem(403, "forbidden").contains("hr.pay.read"));
    k.send_as(d, "PUT", &format!("{REPORTS}/ledger"), Some(by_account())).await.expect(201);
    k.send_as(d, "GET", &format!("{REPORTS}/pay/run"), None).await.expect_problem(403, "forbidden");
    let preview = k
        .send_as(Some(&designer), "POST", &format!("{REPORTS}/preview"), Some(payroll.clone()))
        .await;
    preview.expect_problem(403, "forbidden");
    k.send_as(d, "GET", &format!("{REPORTS}/movements/run"), None).await.expect(200);
    let listed = k.send_as(d, "GET", REPORTS, None).await.expect(200).clone();
    let runnable: Vec<(&str, bool)> = listed["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["runnable"].as_bool().unwrap()))
        .collect();
    assert_eq!(runnable, [("ledger", true), ("movements", true)], "pay is not theirs to see");
    // Nor its definition, nor to replace or delete it.
    k.send_as(d, "GET", &format!("{REPORTS}/pay"), None).await.expect_problem(403, "forbidden");
    let over = k.send_as(d, "PUT", &format!("{REPORTS}/pay"), Some(by_account())).await;
    over.expect_problem(403, "forbidden");
    let deleted = k.send_as(d, "DELETE", &format!("{REPORTS}/pay"), None).await;
    deleted.expect_problem(403, "forbidden");
    k.get(&format!("{REPORTS}/pay")).await.expect(200);
    // A report that once read pay shows them only its versions since.
    k.send("PUT", &format!("{REPORTS}/mixed"), Some(payroll.clone())).await.expect(201);
    k.send("PUT", &format!("{REPORTS}/mixed"), Some(by_account())).await.expect(200);
    let versions = k.send_as(d, "GET", &format!("{REPORTS}/mixed/versions"), None).await;
    let versions = versions.expect(200)["versions"].clone();
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");
    assert_eq!(versions[0]["version"], 2);
    let sources =
        k.send_as(d, "GET", &format!("{REPORTS}/sources"), None).await.expect(200).clone();
    assert!(
        sources["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["source"].as_str().unwrap().starts_with("finance/")),
        "{sources}"
    );

    // A payroll officer reads pay, but may not define reports.
    let officer = k.user_with_roles("pam", "demo", &["payroll-officer"]).await;
    k.send_as(Some(&officer), "GET", &format!("{REPORTS}/pay/run"), None).await.expect(200);
    let refused = k.send_as(Some(&officer), "PUT", &format!("{REPORTS}/pay"), Some(payroll)).await;
    assert!(refused.expect_problem(403, "forbidden").contains("keel.reports.manage"));
    // Someone outside the tenant finds nothing there.
    k.post("/admin/tenants", json!({ "id": "other", "name": "Other" })).await.expect(201);
    let outsider = k.user_with_roles("olga", "other", &[]).await;
    let nothing = k.send_as(Some(&outsider), "GET", &format!("{REPORTS}/pay/run"), None).await;
    nothing.expect_problem(404, "not-found");
    k.stop().await;
}

async fn followed(k: &TestKernel, location: &str) -> Value {
    let started = Instant::now();
    loop {
        let run = k.get(location).await.expect(200).clone();
        if run["state"] != "running" {
            return run;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the run did not end: {run}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_reads_more_than_a_request_waits_for_goes_on_in_the_background() {
    let mut setup = Setup::new(&["finance"]);
    setup.report_inline_documents_max = 2;
    let k = books(setup).await;
    k.send("PUT", &format!("{REPORTS}/movements"), Some(by_account())).await.expect(201);
    let started =
        k.request(reqwest::Method::GET, &format!("{REPORTS}/movements/run")).send().await.unwrap();
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let run = Reply::from(started).await.body;
    assert!(location.ends_with(run["id"].as_str().unwrap()), "{location} {run}");
    assert_eq!(run["report"], "movements");

    // Someone else in the tenant does not see it.
    let viewer = k.user_with_roles("vic", "demo", &["finance-viewer"]).await;
    k.send_as(Some(&viewer), "GET", &location, None).await.expect_problem(404, "not-found");

    let ended = followed(&k, &location).await;
    assert_eq!(
        (ended["state"].as_str(), ended["scanned"].as_u64()),
        (Some("succeeded"), Some(4)),
        "{ended}"
    );
    let result = ended["result"].as_str().unwrap().to_owned();
    let answer = k.get(&result).await.expect(200).clone();
    assert_eq!(
        answer["rows"][0],
        json!({ "account": "1100", "lines": 3, "debits": "10000", "credits": "2400.2" })
    );
    let (status, _, csv) = text(&k, k.admin_token(), &format!("{result}?format=csv")).await;
    assert_eq!(status, 200);
    assert!(csv.contains("\r\n6100,2,2400.2,0\r\n"), "{csv}");
    k.send_as(Some(&viewer), "GET", &result, None).await.expect_problem(404, "not-found");
    k.stop().await;
}
