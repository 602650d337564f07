//! Payroll through HTTP, as an organisation meets it: a salary structure,
//! employees hired under it, unpaid leave and an absence approved by a
//! manager, a run calculated as a background job by one person and
//! approved by another, posted to the ledger as one entry split by
//! department and paid; the ledger's balances checked against figures
//! worked out here by hand; a backdated rise paid as arrears in the next
//! run; and a manager denied pay.

use std::time::Duration;

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const HR: &str = "/api/demo/hr";
const FINANCE: &str = "/api/demo/finance";

fn hire(id: &str, user: &str, department: &str, manager: Option<&str>, contract: Value) -> Value {
    json!({
        "id": id,
        "name": format!("Employee {id}"),
        "department": department,
        "position": "Analyst",
        "manager": manager,
        "user": user,
        "hired": "2026-01-05",
        "personal": {
            "national_id": format!("NI-{id}-7731"),
            "bank_account": "FR76 3000 6000 0112 3456 7890 189",
            "address": "12 rue de la Paix, Paris",
            "date_of_birth": "1985-05-17",
        },
        "contract": contract,
    })
}

/// Basic pay is the base prorated by payment days; tax 20% of it and the
/// employee's pension 5% are deducted; the employer adds 10% for pension.
fn staff_structure() -> Value {
    json!({
        "name": "Staff",
        "components": [
            {"code": "basic", "kind": "earning", "percent": "100", "of": "base", "prorated": true, "expense_account": "6000"},
            {"code": "tax", "kind": "deduction", "formula": "round(basic * 0.2, 2)", "liability_account": "2310"},
            {"code": "pension", "kind": "deduction", "percent": "5", "of": "basic", "liability_account": "2320"},
            {"code": "employer_pension", "kind": "contribution", "percent": "10", "of": "basic", "expense_account": "6010", "liability_account": "2320"},
        ],
    })
}

async fn balance(k: &TestKernel, account: &str) -> String {
    let reply = k.get(&format!("{FINANCE}/accounts/{account}/balance")).await;
    reply.expect(200)["balance"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payroll_run_is_calculated_approved_by_another_posted_and_paid() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance", "hr"])).await;
    let olga = k.user_with_roles("olga", "demo", &["hr-officer"]).await;
    let paula = k.user_with_roles("paula", "demo", &["payroll-officer", "payroll-approver"]).await;
    let anna = k.user_with_roles("anna", "demo", &["payroll-approver"]).await;
    let mike = k.user_with_roles("mike", "demo", &["manager"]).await;
    let erin = k.user_with_roles("erin", "demo", &["employee"]).await;
    let send = |token: &str, method: &'static str, path: String, body: Option<Value>| {
        let (k, token) = (&k, token.to_owned());
        async move { k.send_as(Some(&token), method, &path, body).await }
    };

    // The books: the starter chart, and payroll's own accounts.
    k.post(&format!("{FINANCE}/chart-templates/starter"), json!({"currency": "EUR"}))
        .await
        .expect(201);
    for (code, name, kind) in [
        ("2310", "Income tax withheld", "liability"),
        ("2320", "Pension payable", "liability"),
        ("2330", "Net pay payable", "liability"),
        ("6010", "Employer pension", "expense"),
    ] {
        let account = json!({"code": code, "name": name, "type": kind, "currency": "EUR"});
        k.post(&format!("{FINANCE}/accounts"), account).await.expect(201);
    }

    // The organisation: two departments, a calendar with November's
    // holiday, unpaid leave, a structure, payroll's accounts.
    for department in
        [json!({"id": "ENG", "name": "Engineering"}), json!({"id": "OPS", "name": "Operations"})]
    {
        send(&olga, "POST", format!("{HR}/departments"), Some(department)).await.expect(201);
    }
    let calendar =
        json!({"weekly_off": ["saturday", "sunday"], "holidays": ["2026-11-11", "2026-12-25"]});
    send(&olga, "PUT", format!("{HR}/calendars/default"), Some(calendar)).await.expect(200);
    let unpaid = json!({"paid": false, "yearly_allowance": "0", "accrual": "yearly", "carry_forward_max": "0", "allow_negative": true});
    send(&olga, "PUT", format!("{HR}/leave-types/unpaid"), Some(unpaid)).await.expect(200);
    let circle = json!({"name": "Bad", "components": [
        {"code": "basic", "kind": "earning", "formula": "bonus + 1", "expense_account": "6000"},
        {"code": "bonus", "kind": "earning", "formula": "basic * 0.1", "expense_account": "6000"},
    ]});
    let detail = send(&paula, "PUT", format!("{HR}/salary-structures/bad"), Some(circle))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("circle"), "{detail}");
    send(&paula, "PUT", format!("{HR}/salary-structures/staff"), Some(staff_structure()))
        .await
        .expect(200);
    let settings = json!({"payable_account": "2330", "bank_account": "1100"});
    send(&paula, "PUT", format!("{HR}/payroll-settings"), Some(settings)).await.expect(200);
    let unknown = json!({"payable_account": "2999", "bank_account": "1100"});
    let detail = send(&paula, "PUT", format!("{HR}/payroll-settings"), Some(unknown))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("2999"), "{detail}");

    // Mike (Engineering) and Erin (Operations, her cost shared 60/40 with
    // Engineering) are paid under it; Ed's contract names no structure.
    let contract = |pay: &str, split: Value| json!({"base_pay": pay, "currency": "EUR", "salary_structure": "staff", "cost_split": split});
    let erin_split =
        json!([{"department": "OPS", "percent": "60"}, {"department": "ENG", "percent": "40"}]);
    for body in [
        hire("E1", "mike", "ENG", None, contract("4000.00", json!([]))),
        hire("E2", "erin", "OPS", Some("E1"), contract("3000.00", erin_split)),
        hire("E3", "ed", "OPS", None, json!({"base_pay": "2500.00", "currency": "EUR"})),
    ] {
        send(&olga, "POST", format!("{HR}/employees"), Some(body)).await.expect(201);
    }
    let nowhere = hire(
        "E4",
        "nobody",
        "OPS",
        None,
        contract("1.00", json!([{"department": "OPS", "percent": "50"}])),
    );
    let detail = send(&olga, "POST", format!("{HR}/employees"), Some(nowhere))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("add up to 100"), "{detail}");

    // November: 20 working days (21 weekdays, the 11th a holiday). Erin
    // takes two days unpaid and is absent a day, both approved by Mike;
    // a half day she records is not decided yet, so it is not counted.
    let ask = json!({"leave_type": "unpaid", "from": "2026-11-16", "to": "2026-11-17"});
    let asked = send(&erin, "POST", format!("{HR}/leave-requests"), Some(ask)).await;
    let leave = asked.expect(201)["id"].as_str().unwrap().to_owned();
    send(
        &mike,
        "POST",
        format!("{HR}/leave-requests/{leave}/decision"),
        Some(json!({"approve": true})),
    )
    .await
    .expect(200);
    let absent = json!({"presence": "absent", "note": "sick"});
    send(&erin, "PUT", format!("{HR}/attendance/E2/2026-11-03"), Some(absent)).await.expect(200);
    send(
        &erin,
        "PUT",
        format!("{HR}/attendance/E2/2026-11-04"),
        Some(json!({"presence": "half-day"})),
    )
    .await
    .expect(200);
    let detail = send(
        &erin,
        "POST",
        format!("{HR}/attendance/E2/2026-11-03/decision"),
        Some(json!({"approve": true})),
    )
    .await
    .expect_problem(403, "forbidden");
    assert!(detail.contains("hr.leave.decide"), "{detail}");
    send(
        &mike,
        "POST",
        format!("{HR}/attendance/E2/2026-11-03/decision"),
        Some(json!({"approve": true})),
    )
    .await
    .expect(200);
    let days = send(
        &mike,
        "GET",
        format!("{HR}/employees/E2/attendance?from=2026-11-01&to=2026-11-30"),
        None,
    )
    .await;
    let states: Vec<&str> = days.expect(200)["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["approved", "submitted"]);

    // The run: calculated by Paula as a background job.
    let run = json!({"from": "2026-11-01", "to": "2026-11-30"});
    let created = send(&paula, "POST", format!("{HR}/payroll-runs"), Some(run)).await;
    assert_eq!(created.expect(201)["state"], "draft");
    let overlapping = json!({"from": "2026-11-15", "to": "2026-12-14"});
    send(&paula, "POST", format!("{HR}/payroll-runs"), Some(overlapping))
        .await
        .expect_problem(409, "conflict");
    let run = format!("{HR}/payroll-runs/2026-11-01");
    let gap = json!({"from": "2026-12-05", "to": "2026-12-31"});
    let detail = send(&paula, "POST", format!("{HR}/payroll-runs"), Some(gap))
        .await
        .expect_problem(409, "conflict");
    assert!(detail.contains("the next run starts on 2026-12-01"), "{detail}");
    let started = send(&paula, "POST", format!("{run}/calculation"), None).await;
    let job = started.expect(202)["id"].as_str().unwrap().to_owned();
    let job = k.ended_job("demo", &job, Duration::from_secs(30)).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["employees"], 2, "{job}");

    // Worked by hand. Mike: 4000.00 basic, 800.00 tax, 200.00 pension,
    // net 3000.00, employer 400.00. Erin: 17 of 20 days paid, so basic
    // 3000.00 × 17 / 20 = 2550.00, tax 510.00, pension 127.50, net
    // 1912.50, employer 255.00.
    let calculated = send(&paula, "GET", run.clone(), None).await;
    let calculated = calculated.expect(200).clone();
    assert_eq!(calculated["state"], "calculated");
    assert_eq!(calculated["calculated_by"], "paula");
    let totals: Vec<&str> = ["gross", "deductions", "net", "contributions"]
        .iter()
        .map(|t| calculated[t].as_str().unwrap())
        .collect();
    assert_eq!(totals, ["6550.00", "1637.50", "4912.50", "655.00"]);
    let warnings = calculated["warnings"].to_string();
    assert!(
        warnings.contains("E3: not paid: the contract from 2026-01-05 names no salary structure"),
        "{warnings}"
    );
    assert!(
        warnings.contains("E2: 1 days of attendance in the period await a decision"),
        "{warnings}"
    );
    let slip = send(&paula, "GET", format!("{run}/payslips/E2"), None).await;
    let slip = slip.expect(200).clone();
    assert_eq!(
        (slip["working_days"].as_str(), slip["payment_days"].as_str()),
        (Some("20"), Some("17"))
    );
    assert_eq!(slip["net"], "1912.50");

    // Approval: not by whom calculated it, not by HR or a manager.
    let approval = format!("{run}/approval");
    let detail = send(&paula, "POST", approval.clone(), None).await.expect_problem(422, "invalid");
    assert!(detail.contains("paula calculated this run"), "{detail}");
    send(&olga, "POST", approval.clone(), None).await.expect_problem(403, "forbidden");
    send(&mike, "POST", approval.clone(), None).await.expect_problem(403, "forbidden");
    send(&paula, "POST", format!("{run}/posting"), None).await.expect_problem(422, "invalid");
    let approved = send(&anna, "POST", approval, None).await;
    assert_eq!(approved.expect(200)["approved_by"], "anna");

    // A manager sees neither the run nor anyone's pay.
    for path in [
        run.clone(),
        format!("{run}/payslips"),
        format!("{run}/payslips/E2"),
        format!("{HR}/employees/E2/contracts"),
    ] {
        send(&mike, "GET", path, None).await.expect_problem(403, "forbidden");
    }
    let mine = send(&erin, "GET", format!("{HR}/me/payslips"), None).await;
    assert_eq!(mine.expect(200)["payslips"], json!([]), "not before it is posted");

    // Posted as one entry: expenses by department, deductions owed.
    let posted = send(&paula, "POST", format!("{run}/posting"), None).await;
    let number = posted.expect(200)["entry"].as_u64().unwrap();
    let entry = k.get(&format!("{FINANCE}/entries/{number}")).await;
    let lines: Vec<(String, String, String, String)> = entry.expect(200)["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let text = |f: &str| l[f].as_str().unwrap_or("").to_owned();
            (text("account"), text("cost_centre"), text("debit"), text("credit"))
        })
        .collect();
    let line = |account: &str, centre: &str, debit: &str, credit: &str| {
        (account.to_owned(), centre.to_owned(), debit.to_owned(), credit.to_owned())
    };
    // Basic: Mike's 4000.00 and 40% of Erin's 2550.00 (1020.00) to
    // Engineering, 60% (1530.00) to Operations; the employer's pension the
    // same way (400.00 + 102.00, and 153.00).
    assert_eq!(
        lines,
        [
            line("6000", "ENG", "5020.00", ""),
            line("6000", "OPS", "1530.00", ""),
            line("6010", "ENG", "502.00", ""),
            line("6010", "OPS", "153.00", ""),
            line("2310", "", "", "1310.00"),
            line("2320", "", "", "982.50"),
            line("2330", "", "", "4912.50"),
        ]
    );
    assert_eq!(balance(&k, "6000").await, "6550.00");
    assert_eq!(balance(&k, "2320").await, "982.50");
    assert_eq!(balance(&k, "2330").await, "4912.50");
    let mine = send(&erin, "GET", format!("{HR}/me/payslips"), None).await;
    let mine = mine.expect(200)["payslips"].as_array().unwrap().clone();
    assert_eq!((mine.len(), mine[0]["net"].as_str()), (1, Some("1912.50")));

    // Paid: payroll payable cleared against the bank.
    let paid =
        send(&paula, "POST", format!("{run}/payment"), Some(json!({"date": "2026-11-30"}))).await;
    assert_eq!(paid.expect(200)["state"], "paid");
    assert_eq!(balance(&k, "2330").await, "0.00");
    assert_eq!(balance(&k, "1100").await, "-4912.50");
    let again =
        send(&paula, "PUT", format!("{HR}/salary-structures/staff"), Some(staff_structure())).await;
    assert!(again.expect_problem(409, "conflict").contains("used by payroll run 2026-11-01"));

    // No one gives themselves a rise, not even HR.
    let olga_hired =
        hire("E5", "olga", "OPS", None, json!({"base_pay": "3800.00", "currency": "EUR"}));
    k.post(&format!("{HR}/employees"), olga_hired).await.expect(201);
    let own_rise = json!({"from": "2026-12-01", "position": "Head of HR", "base_pay": "9000.00", "currency": "EUR"});
    send(&olga, "POST", format!("{HR}/employees/E5/contracts"), Some(own_rise))
        .await
        .expect_problem(403, "denied");

    // HR corrects Erin's approved absence of the 3rd: she was there. The
    // absence stands until Mike approves the correction; then December
    // pays November's day back (3000.00 / 20 = 150.00 basic, 30.00 tax,
    // 7.50 pension, 112.50 net).
    let present = json!({"presence": "present", "note": "was at the client's"});
    let corrected =
        send(&olga, "PUT", format!("{HR}/attendance/E2/2026-11-03"), Some(present)).await;
    assert_eq!(corrected.expect(200)["approved"], "absent", "the approval before stands");
    send(
        &mike,
        "POST",
        format!("{HR}/attendance/E2/2026-11-03/decision"),
        Some(json!({"approve": true})),
    )
    .await
    .expect(200);

    // A rise for Mike backdated to November: December pays November's
    // difference as arrears (basic 400.00, tax 80.00, pension 20.00, so
    // 300.00 net), and November's payslip stands.
    let rise = json!({"from": "2026-11-01", "position": "Lead", "base_pay": "4400.00", "currency": "EUR", "salary_structure": "staff"});
    send(&olga, "POST", format!("{HR}/employees/E1/contracts"), Some(rise)).await.expect(201);
    let december = json!({"from": "2026-12-01", "to": "2026-12-31"});
    send(&paula, "POST", format!("{HR}/payroll-runs"), Some(december)).await.expect(201);
    let run = format!("{HR}/payroll-runs/2026-12-01");
    let started = send(&paula, "POST", format!("{run}/calculation"), None).await;
    let job = started.expect(202)["id"].as_str().unwrap().to_owned();
    assert_eq!(k.ended_job("demo", &job, Duration::from_secs(30)).await["state"], "succeeded");
    let slip = send(&paula, "GET", format!("{run}/payslips/E1"), None).await;
    let slip = slip.expect(200).clone();
    assert_eq!(slip["arrears"][0]["run"], "2026-11-01", "{slip}");
    let owed: Vec<(&str, &str)> = slip["arrears"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["code"].as_str().unwrap(), l["amount"].as_str().unwrap()))
        .collect();
    assert_eq!(
        owed,
        [
            ("basic", "400.00"),
            ("tax", "80.00"),
            ("pension", "20.00"),
            ("employer_pension", "40.00")
        ]
    );
    // December itself: 4400.00 basic, net 3300.00; with arrears 3600.00.
    assert_eq!(slip["net"], "3600.00");
    assert_eq!(slip["year_to_date"]["basic"], "8800.00", "4000.00 + 4400.00 + 400.00");
    let november =
        send(&paula, "GET", format!("{HR}/payroll-runs/2026-11-01/payslips/E1"), None).await;
    assert_eq!(november.expect(200)["net"], "3000.00");
    let erin_december = send(&paula, "GET", format!("{run}/payslips/E2"), None).await;
    let erin_december = erin_december.expect(200).clone();
    assert_eq!(
        erin_december["arrears"][0]["lines"][0],
        json!({"code": "basic", "kind": "earning", "amount": "150.00"})
    );
    // December: 22 working days (the 25th a holiday), all paid: 3000.00
    // basic, 2250.00 net; with November's day, 2362.50.
    assert_eq!(erin_december["net"], "2362.50", "{erin_december}");
    send(&anna, "POST", format!("{run}/approval"), None).await.expect(200);
    send(&paula, "POST", format!("{run}/posting"), None).await.expect(200);
    // Basic over both runs: 6550.00, then 4400.00 + 400.00 + 3000.00 +
    // 150.00.
    assert_eq!(balance(&k, "6000").await, "14500.00");

    // Payslips are a sensitive collection: Erin reading hers is audited.
    let reads =
        k.get("/admin/tenants/demo/audit?action=record.read&collection=payslips&actor=erin").await;
    let keys: Vec<&str> = reads.expect(200)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["record"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["2026-11-01/E2"]);
    k.stop().await;

    // The data directory without its keys holds no one's pay: Erin's net
    // pay of each month and her national id are only in sealed documents.
    for secret in ["1912.50", "2362.50", "NI-E2-7731"] {
        let found = keel_tests::files_holding(&dir.path().join("data"), secret);
        assert_eq!(found, Vec::<String>::new(), "{secret} in plain text");
    }
}

/// API tokens act for whoever created them, but a plugin sees only the
/// token: payroll's segregation of duties (calculated by one person,
/// approved by another) is kept by refusing tokens on both sides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_token_neither_calculates_nor_approves_a_payroll_run() {
    let k = TestKernel::start(Setup::new(&["finance", "hr"])).await;
    let minter = json!({ "permissions": ["keel.tokens.manage"] });
    k.send("PUT", "/admin/tenants/demo/roles/minter", Some(minter)).await.expect(200);
    let paula = k
        .user_with_roles("paula", "demo", &["payroll-officer", "payroll-approver", "minter"])
        .await;
    let script = json!({ "name": "paula's script", "roles": ["payroll-officer", "payroll-approver"], "expires_in_days": 1 });
    let created = k.send_as(Some(&paula), "POST", "/admin/tenants/demo/tokens", Some(script)).await;
    let token = created.expect(201)["secret"].as_str().unwrap().to_owned();
    k.post(&format!("{FINANCE}/chart-templates/starter"), json!({"currency": "EUR"}))
        .await
        .expect(201);
    let account =
        json!({"code": "2330", "name": "Net pay payable", "type": "liability", "currency": "EUR"});
    k.post(&format!("{FINANCE}/accounts"), account).await.expect(201);
    let structure = json!({"name": "Flat", "components": [
        {"code": "basic", "kind": "earning", "percent": "100", "of": "base", "expense_account": "6000"},
    ]});
    k.send("PUT", &format!("{HR}/salary-structures/flat"), Some(structure)).await.expect(200);
    let settings = json!({"payable_account": "2330", "bank_account": "1100"});
    k.send("PUT", &format!("{HR}/payroll-settings"), Some(settings)).await.expect(200);
    let calendar = json!({"weekly_off": ["saturday", "sunday"], "holidays": []});
    k.send("PUT", &format!("{HR}/calendars/default"), Some(calendar)).await.expect(200);
    k.post(&format!("{HR}/departments"), json!({"id": "OPS", "name": "Operations"}))
        .await
        .expect(201);
    let contract = json!({"base_pay": "3000.00", "currency": "EUR", "salary_structure": "flat"});
    k.post(&format!("{HR}/employees"), hire("E1", "erin", "OPS", None, contract)).await.expect(201);
    k.post(&format!("{HR}/payroll-runs"), json!({"from": "2026-11-01", "to": "2026-11-30"}))
        .await
        .expect(201);
    let run = format!("{HR}/payroll-runs/2026-11-01");

    // Calculated through paula's token: refused, so that paula cannot
    // then approve it herself as someone else.
    let started = k.send_as(Some(&token), "POST", &format!("{run}/calculation"), None).await;
    let job = started.expect(202)["id"].as_str().unwrap().to_owned();
    let job = k.ended_job("demo", &job, Duration::from_secs(30)).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap_or_default().contains("signed in"), "{job}");

    // Calculated by paula herself: her token does not approve it either.
    let started = k.send_as(Some(&paula), "POST", &format!("{run}/calculation"), None).await;
    let job = started.expect(202)["id"].as_str().unwrap().to_owned();
    assert_eq!(k.ended_job("demo", &job, Duration::from_secs(30)).await["state"], "succeeded");
    let refused = k.send_as(Some(&token), "POST", &format!("{run}/approval"), None).await;
    assert!(refused.expect_problem(403, "denied").contains("signed in"));
    k.stop().await;
}
