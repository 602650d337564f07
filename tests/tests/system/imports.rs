//! Imports: a legacy system's files brought in through the imports the
//! plugins declare, checked by a dry run that changes nothing, kept all
//! together or not at all, read with a saved mapping, and only for those
//! who hold the operation's permission.

use std::time::Duration;

use keel_tests::{Reply, Setup, TestKernel};
use rust_decimal::Decimal;
use serde_json::{Value, json};

const F: &str = "/api/demo/finance";
const IMPORTS: &str = "/api/demo/imports/finance";

/// The sample files the README imports.
const CHART: &str = include_str!("../../../examples/import/legacy-chart.csv");
const BALANCES: &str = include_str!("../../../examples/import/legacy-balances.csv");

async fn send_file(k: &TestKernel, path: &str, content_type: &str, file: Vec<u8>) -> Reply {
    let request = k.request(reqwest::Method::POST, path).header("content-type", content_type);
    Reply::from(request.body(file).send().await.unwrap()).await
}

async fn csv(k: &TestKernel, path: &str, file: &str) -> Reply {
    send_file(k, path, "text/csv", file.as_bytes().to_vec()).await
}

async fn account_codes(k: &TestKernel) -> Vec<String> {
    let accounts = k.get(&format!("{F}/accounts?limit=500")).await.expect(200)["accounts"].clone();
    accounts.as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap().to_owned()).collect()
}

fn errors(report: &Value) -> Vec<(Option<u64>, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64(), e["column"].as_str().unwrap_or("").to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_chart_and_its_opening_balances_import_and_the_trial_balance_matches_the_file() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    // The legacy system heads its columns its own way: saved once.
    let mapping =
        json!({ "columns": { "Account No": "code", "Account Name": "name", "Category": "type" } });
    let saved =
        k.send("PUT", &format!("{IMPORTS}/accounts/mappings/legacy-erp"), Some(mapping)).await;
    assert_eq!(saved.expect(200)["source"], "legacy-erp");
    let bad = json!({ "columns": { "Account No": "kode" } });
    let refused = k.send("PUT", &format!("{IMPORTS}/accounts/mappings/other"), Some(bad)).await;
    assert!(refused.expect_problem(422, "invalid").contains("no field"));

    // A file with mistakes: a dry run names each, by row, column and
    // value, and changes nothing.
    let broken = CHART
        .replace("1200,Accounts receivable,asset", "1200,Accounts receivable,assett")
        .replace("2100,VAT payable,liability", "2100,,liability");
    let path = format!("{IMPORTS}/accounts?mapping=legacy-erp&currency=EUR");
    let dry = csv(&k, &format!("{path}&dry_run=true"), &broken).await;
    let report = dry.expect(200).clone();
    assert_eq!((report["kept"].as_bool(), report["rows"].as_u64()), (Some(false), Some(11)));
    assert_eq!(errors(&report), [(Some(4), String::new()), (Some(7), "Account Name".to_owned())]);
    assert!(report["errors"][0]["message"].as_str().unwrap().contains("assett"), "{report}");
    assert_eq!(report["errors"][1]["field"], "name");
    assert_eq!(report["succeeded"], 9, "the other rows would import: {report}");
    assert_eq!(report["columns"][3], json!({ "heading": "Last Used", "field": null }));
    assert_eq!(account_codes(&k).await, Vec::<String>::new(), "a dry run changes nothing");
    let checked = k.audit_actions("demo", "import.check").await;
    assert_eq!(checked.len(), 1, "a dry run is audited, and only that it ran: {checked:?}");
    // For real, a file with mistakes is refused whole.
    let refused = csv(&k, &path, &broken).await;
    assert!(refused.expect_problem(422, "import-refused").contains("nothing was imported"));
    assert_eq!(refused.body["rows_with_errors"], 2);
    assert_eq!(account_codes(&k).await, Vec::<String>::new());

    // The clean file imports whole, each row through POST /accounts.
    let imported = csv(&k, &path, CHART).await;
    let report = imported.expect(201).clone();
    assert_eq!((report["kept"].as_bool(), report["succeeded"].as_u64()), (Some(true), Some(11)));
    assert_eq!(report["results"][0]["answer"]["currency"], "EUR");
    assert_eq!(account_codes(&k).await.len(), 11);
    // Sent again, every row is a duplicate: refused whole, nothing doubled.
    let again = csv(&k, &path, CHART).await;
    again.expect_problem(422, "import-refused");
    assert_eq!(again.body["rows_with_errors"], 11);

    // Opening balances: one balanced entry, read with the decimal comma
    // of the legacy system's export.
    let mapping = json!({ "columns": { "Account No": "account" }, "decimal_separator": "," });
    let put = format!("{IMPORTS}/opening-balances/mappings/legacy-erp");
    k.send("PUT", &put, Some(mapping)).await.expect(200);
    let path = format!(
        "{IMPORTS}/opening-balances?mapping=legacy-erp&date=2026-01-01&memo=Opening%20balances"
    );
    let unbalanced = BALANCES.replace("3100;;8.500,00", "3100;;8.400,00");
    let refused = csv(&k, &path, &unbalanced).await;
    refused.expect_problem(422, "import-refused");
    assert!(
        refused.body["errors"][0]["message"].as_str().unwrap().contains("balance"),
        "{}",
        refused.body
    );
    assert_eq!(refused.body["errors"][0]["rows"], json!([2, 3, 4, 5, 6, 7, 8, 9]));
    assert_eq!(refused.body["rows_with_errors"], 8);
    let entry = csv(&k, &path, BALANCES).await.expect(201).clone();
    assert_eq!(entry["results"][0]["rows"], json!([2, 3, 4, 5, 6, 7, 8, 9]));
    assert_eq!(entry["results"][0]["answer"]["total"], "24080.55");

    let tb =
        k.get(&format!("{F}/reports/trial-balance?as_of=2026-01-01")).await.expect(200).clone();
    assert_eq!(
        tb["totals"],
        json!([{ "currency": "EUR", "debit": "24080.55", "credit": "24080.55", "balanced": true }])
    );
    // Every account's balance is the file's line for it.
    for line in BALANCES.lines().skip(1) {
        let cells: Vec<&str> = line.split(';').collect();
        let row = tb["rows"].as_array().unwrap().iter().find(|r| r["account"] == cells[0]).unwrap();
        let file = |cell: &str| -> Decimal {
            if cell.is_empty() {
                Decimal::ZERO
            } else {
                cell.replace('.', "").replace(',', ".").parse().unwrap()
            }
        };
        let ours = |name: &str| -> Decimal { row[name].as_str().unwrap().parse().unwrap() };
        assert_eq!((ours("debit"), ours("credit")), (file(cells[1]), file(cells[2])), "{row}");
    }
    let actions = k.audit_actions("demo", "import.").await;
    assert_eq!(
        actions.iter().filter(|a| *a == "import.run").count(),
        2,
        "one record for each import kept: {actions:?}"
    );
    assert!(actions.iter().any(|a| a == "import.mapping-put"), "{actions:?}");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_chart_imports_into_another_tenant_and_only_for_who_may_create_accounts() {
    let mut setup = Setup::new(&["finance"]);
    setup.tenants = vec!["demo", "acme"];
    let k = TestKernel::start(setup).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    // The chart as a workbook, from one tenant into the other.
    let response =
        k.request(reqwest::Method::GET, &format!("{F}/accounts?format=xlsx")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let workbook = response.bytes().await.unwrap().to_vec();
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let into_acme = "/api/acme/imports/finance/accounts";
    let report = send_file(&k, &format!("{into_acme}?dry_run=true"), xlsx, workbook.clone()).await;
    assert_eq!(report.expect(200)["errors"], json!([]), "{}", report.body);
    send_file(&k, into_acme, xlsx, workbook).await.expect(201);
    let theirs =
        k.get("/api/acme/finance/accounts?limit=500").await.expect(200)["accounts"].clone();
    let ours = k.get(&format!("{F}/accounts?limit=500")).await.expect(200)["accounts"].clone();
    assert_eq!(theirs, ours);

    // A bookkeeper posts entries but does not keep the chart: the import
    // is not theirs, and not listed for them.
    let bookkeeper = k.user_with_roles("bo", "demo", &["bookkeeper"]).await;
    let listed = k.send_as(Some(&bookkeeper), "GET", "/api/demo/imports", None).await;
    let ids: Vec<&str> = listed.expect(200)["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["opening-balances"]);
    let request = k
        .client()
        .post(format!("{}{IMPORTS}/accounts?currency=EUR", k.base()))
        .header("authorization", format!("Bearer {bookkeeper}"))
        .header("content-type", "text/csv")
        .body("code,name,type\n9000,Suspense,asset\n");
    Reply::from(request.send().await.unwrap()).await.expect_problem(403, "forbidden");
    // Nor is a tenant they are not a member of there for them at all.
    let outside =
        k.send_as(Some(&bookkeeper), "GET", "/api/acme/imports/finance/accounts", None).await;
    outside.expect_problem(404, "not-found");
    // Files that are not tables are refused, saying why.
    let unreadable =
        send_file(&k, &format!("{IMPORTS}/accounts"), xlsx, b"not a workbook".to_vec()).await;
    assert!(unreadable.expect_problem(422, "unreadable-file").contains("XLSX"));
    let described = k.get(&format!("{IMPORTS}/accounts")).await.expect(200).clone();
    assert_eq!(described["template"], "code,name,type,currency");
    assert_eq!(described["fields"][1], json!({ "name": "name", "type": "text", "required": true }));
    let unknown = k.get(&format!("{IMPORTS}/nothing")).await;
    unknown.expect_problem(404, "not-found");
    let json =
        send_file(&k, &format!("{IMPORTS}/accounts"), "application/json", b"{}".to_vec()).await;
    assert!(json.expect_problem(415, "unsupported-media-type").contains("text/csv"));
    let headings_only =
        csv(&k, &format!("{IMPORTS}/accounts?currency=EUR"), "code,name,type\n").await;
    assert!(headings_only.expect_problem(422, "import-refused").contains("no rows"));
    // A hostile file: a cell too long to be an account's, and parameters
    // that every row's request would carry.
    let long = format!("code,name,type\n9000,{},asset\n", "n".repeat(200 * 1024));
    let refused = csv(&k, &format!("{IMPORTS}/accounts?currency=EUR"), &long).await;
    assert!(refused.expect_problem(422, "unreadable-file").contains("KiB"));
    let heavy = format!("{IMPORTS}/accounts?currency={}", "E".repeat(8 * 1024));
    csv(&k, &heavy, "code,name,type\n9000,Suspense,asset\n")
        .await
        .expect_problem(400, "bad-request");
    // Mappings: JSON that does not parse is a bad request.
    let put =
        k.request(reqwest::Method::PUT, &format!("{IMPORTS}/accounts/mappings/legacy")).body("{");
    Reply::from(put.send().await.unwrap()).await.expect_problem(400, "bad-request");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_personnel_file_hires_each_row_with_its_manager_and_keeps_personal_data_nested() {
    let k = TestKernel::start(Setup::new(&["finance", "hr", "directory-client"])).await;
    for department in [
        json!({"id": "CO", "name": "Company"}),
        json!({"id": "OPS", "name": "Operations", "parent": "CO"}),
    ] {
        k.post("/api/demo/hr/departments", department).await.expect(201);
    }
    // A payroll bureau's file: day-first dates, decimal commas, and the
    // manager of each row hired on an earlier one.
    let mapping = json!({
        "columns": {
            "Personnel No": "id", "Full name": "name", "Dept": "department", "Job": "position",
            "Reports to": "manager", "Start": "hired", "NI number": "national_id",
            "IBAN": "bank_account", "Home address": "address", "Born": "date_of_birth",
            "Monthly pay": "base_pay",
        },
        "decimal_separator": ",",
        "date_format": "DD/MM/YYYY",
    });
    k.send("PUT", "/api/demo/imports/hr/employees/mappings/bureau", Some(mapping))
        .await
        .expect(200);
    let file = "Personnel No;Full name;Dept;Job;Reports to;Start;NI number;IBAN;Home address;Born;Monthly pay\n\
        E1;Ada Byron;CO;Director;;01/02/2020;NI-1;FR7630006000011234567890189;1 Main St;10/12/1980;7.500,00\n\
        E2;Alan Turing;OPS;Analyst;E1;15/03/2021;NI-2;DE89370400440532013000;2 High St;23/06/1982;4.250,50\n";
    let path = "/api/demo/imports/hr/employees?mapping=bureau&currency=EUR";
    let report = csv(&k, path, file).await.expect(201).clone();
    assert_eq!(report["succeeded"], 2, "{report}");

    let alan = k.get("/api/demo/hr/employees/E2").await.expect(200)["employee"].clone();
    assert_eq!(
        (alan["manager"].as_str(), alan["department"].as_str()),
        (Some("E1"), Some("OPS")),
        "{alan}"
    );
    assert_eq!(alan["hired"], "2021-03-15");
    let personal = k.get("/api/demo/hr/employees/E2/personal").await.expect(200).clone();
    assert_eq!(
        (personal["national_id"].as_str(), personal["date_of_birth"].as_str()),
        (Some("NI-2"), Some("1982-06-23"))
    );
    let contracts = k.get("/api/demo/hr/employees/E2/contracts").await.expect(200).clone();
    let contract = &contracts["contracts"][0];
    assert_eq!(
        (contract["base_pay"].as_str(), contract["currency"].as_str()),
        (Some("4250.50"), Some("EUR")),
        "{contracts}"
    );

    // A manager the file has not hired yet is the plugin's error, on its row.
    let late = "Personnel No;Full name;Dept;Job;Reports to;Start;NI number;IBAN;Home address;Born;Monthly pay\n\
        E4;Grace Hopper;OPS;Analyst;E3;01/01/2022;NI-4;GB29NWBK60161331926819;4 Low St;09/12/1986;4.000,00\n\
        E3;Edsger Dijkstra;OPS;Lead;E1;01/01/2022;NI-3;NL91ABNA0417164300;3 Mid St;11/05/1980;5.000,00\n";
    let refused = csv(&k, path, late).await;
    refused.expect_problem(422, "import-refused");
    assert_eq!(refused.body["errors"][0]["row"], 2, "{}", refused.body);
    k.get("/api/demo/hr/employees/E3").await.expect_problem(404, "not-found");
    k.stop().await;
}

/// A chart of `n` accounts from code 5000, one row each.
fn chart(n: usize) -> String {
    let mut file = String::from("code,name,type\n");
    for i in 0..n {
        file.push_str(&format!("{},Account {i},asset\n", 5000 + i));
    }
    file
}

/// Starts a background import of `file` at `path`; the job's id.
async fn in_background(k: &TestKernel, path: &str, file: &str) -> String {
    let request = k.request(reqwest::Method::POST, path).header("content-type", "text/csv");
    let response = request.body(file.to_owned()).send().await.unwrap();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    let started = Reply::from(response).await;
    let job = started.expect(202).clone();
    assert_eq!((job["state"].as_str(), job["import"].as_str()), (Some("queued"), Some("accounts")));
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(location, Some(format!("/api/demo/jobs/{id}")), "followed there");
    id
}

async fn finished(k: &TestKernel, id: &str) -> Value {
    crate::jobs::until(k, "demo", id, Duration::from_secs(60), crate::jobs::ended).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_imports_in_the_background_part_by_part_and_a_failed_part_says_where_to_resume()
 {
    let mut setup = Setup::new(&["finance"]);
    (setup.import_inline_rows_max, setup.import_part_rows) = (20, 10);
    let k = TestKernel::start(setup).await;
    let path = format!("{IMPORTS}/accounts?currency=EUR");
    // 45 rows, more than run while the caller waits; row 33's type is wrong.
    let broken = chart(45).replace("5031,Account 31,asset", "5031,Account 31,assett");

    // A dry run checks every part, undoes each, and reports every row.
    let id = in_background(&k, &format!("{path}&dry_run=true"), &broken).await;
    let job = finished(&k, &id).await;
    assert_eq!((job["state"].as_str(), job["done"].as_u64()), (Some("succeeded"), Some(45)));
    let report = &job["result"];
    assert_eq!((report["dry_run"].as_bool(), report["kept"].as_bool()), (Some(true), Some(false)));
    assert_eq!((report["parts"].as_u64(), report["succeeded"].as_u64()), (Some(5), Some(44)));
    assert_eq!(report["errors"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["errors"][0]["row"], 33);
    assert!(report["errors"][0]["message"].as_str().unwrap().contains("assett"), "{report}");
    assert_eq!(account_codes(&k).await, Vec::<String>::new(), "a dry run changes nothing");

    // For real, the parts before the bad row's are kept, its own is not,
    // and the job says from which row to send the file again.
    let id = in_background(&k, &path, &broken).await;
    let job = finished(&k, &id).await;
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("rows 32–41") && error.contains("?from_row=32"), "{error}");
    assert_eq!(job["result"]["kept_through_row"], 31);
    assert_eq!(
        (job["done"].as_u64(), job["result"]["resume_from_row"].as_u64()),
        (Some(30), Some(32))
    );
    assert_eq!(job["result"]["errors"][0]["row"], 33);
    assert_eq!(account_codes(&k).await.len(), 30, "rows 2–31, three parts of ten");

    // The file, fixed, sent again from that row: the rest comes in, at
    // once now that it is small enough.
    let fixed = chart(45);
    let rest = csv(&k, &format!("{path}&from_row=32"), &fixed).await;
    assert_eq!(
        (rest.expect(201)["rows"].as_u64(), rest.body["succeeded"].as_u64()),
        (Some(15), Some(15))
    );
    assert_eq!(rest.body["results"][0]["rows"], json!([32]));
    let codes = account_codes(&k).await;
    let expected: Vec<String> = (0..45).map(|i| (5000 + i).to_string()).collect();
    assert_eq!(codes, expected, "every account once");
    let runs = k.audit_actions("demo", "import.run").await;
    assert_eq!(runs.len(), 3 + 1, "one record for each part kept, and the rest: {runs:?}");
    let ended =
        (k.audit_actions("demo", "job.finish").await, k.audit_actions("demo", "job.fail").await);
    assert_eq!((ended.0.len(), ended.1.len()), (1, 1), "the dry run finished, the real run failed");

    // A small file may ask for the background too; one that makes a
    // single call of the whole file may not be larger than runs at once.
    let id = in_background(&k, &format!("{path}&background=true&dry_run=true"), &chart(3)).await;
    assert_eq!(finished(&k, &id).await["result"]["parts"], 1);
    let mut balances = String::from("account,debit,credit\n");
    for _ in 0..21 {
        balances.push_str("5000,1.00,\n");
    }
    let one_call = format!("{IMPORTS}/opening-balances?date=2026-01-01");
    let refused = csv(&k, &one_call, &balances).await;
    assert!(refused.expect_problem(422, "import-too-large").contains("at most 20 rows"));
    let bad_row = csv(&k, &format!("{path}&from_row=1"), &fixed).await;
    assert!(bad_row.expect_problem(400, "bad-request").contains("from_row"));
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_import_goes_on_after_a_restart_from_the_part_it_had_reached() {
    let dir = tempfile::tempdir().unwrap();
    // Parts of 50 rows, each turn cut short after its first call as a
    // slow plugin's would be: every row its own commit, and the rest of
    // its part kept for the next turn.
    let setup = || {
        let mut setup = Setup::new(&["finance"]);
        (setup.import_inline_rows_max, setup.import_part_rows) = (20, 50);
        setup.import_part_turn = Duration::ZERO;
        setup
    };
    let k = TestKernel::start_in(dir.path(), setup()).await;
    let id = in_background(&k, &format!("{IMPORTS}/accounts?currency=EUR"), &chart(300)).await;
    let at = |done: u64| move |job: &Value| job["done"].as_u64() >= Some(done);
    let before = crate::jobs::until(&k, "demo", &id, Duration::from_secs(30), at(3)).await;
    k.stop().await;
    assert_eq!(before["state"], "running", "{before}");

    let k = TestKernel::start_in(dir.path(), setup()).await;
    let job = finished(&k, &id).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!((job["done"].as_u64(), job["steps"].as_u64()), (Some(300), Some(300)));
    assert_eq!(
        (job["result"]["parts"].as_u64(), job["result"]["parts_done"].as_u64()),
        (Some(6), Some(6))
    );
    assert_eq!(account_codes(&k).await.len(), 300, "no row imported twice, none lost");

    // One background import a tenant at a time; a cancelled one stops
    // between parts and makes way for the next.
    let check = format!("{IMPORTS}/accounts?currency=EUR&dry_run=true");
    let id = in_background(&k, &check, &chart(300)).await;
    let second = csv(&k, &check, &chart(300)).await;
    assert!(second.expect_problem(409, "conflict").contains(&id), "{}", second.body);
    let cancelled = k.post(&format!("/api/demo/jobs/{id}/cancel"), json!({})).await;
    assert_eq!(cancelled.expect(200)["state"], "cancelled");
    assert_eq!(cancelled.body["result"]["dry_run"], true, "{}", cancelled.body);
    let next = in_background(&k, &format!("{check}&background=true"), &chart(2)).await;
    assert_eq!(finished(&k, &next).await["state"], "succeeded");
    let job = k.get(&format!("/api/demo/jobs/{id}")).await.expect(200).clone();
    assert!(job["done"].as_u64() < Some(300), "no part ran after the cancel: {job}");
    k.stop().await;
}
