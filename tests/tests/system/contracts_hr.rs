//! HR's typed contract: every operation's answers true to it, driven
//! through HTTP as an organisation meets them (people, leave, attendance,
//! a payroll run to its payment, a subject access request and an
//! erasure), and bodies and queries that do not fit refused by the
//! kernel before the plugin runs.

use std::time::Duration;

use keel_manifest::{Contract, Manifest};
use keel_tests::{MovedClock, Setup, TestKernel};
use serde_json::{Value, json};

const HR: &str = "/api/demo/hr";
const F: &str = "/api/demo/finance";

fn hire(id: &str, user: &str, manager: Option<&str>, pay: &str) -> Value {
    json!({
        "id": id,
        "name": format!("Employee {id}"),
        "email": format!("{user}@example.com"),
        "department": "OPS",
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
        "contract": { "base_pay": pay, "currency": "EUR", "salary_structure": "staff" },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hrs_answers_are_true_to_its_contract() {
    let manifest = Manifest::parse(include_str!("../../../plugins/hr/keel.toml")).unwrap();
    let contract =
        Contract::parse(include_str!("../../../plugins/hr/keel.contract.json"), &manifest).unwrap();
    // 10 December 2026, noon UTC: November is over, Christmas to come.
    let mut setup = Setup::new(&["finance", "hr"]);
    setup.clock = Some(MovedClock::at(1_796_904_000));
    let k = TestKernel::start(setup).await;
    let olga = k.user_with_roles("olga", "demo", &["hr-officer"]).await;
    let paula = k.user_with_roles("paula", "demo", &["payroll-officer"]).await;
    let anna = k.user_with_roles("anna", "demo", &["payroll-approver"]).await;
    let mike = k.user_with_roles("mike", "demo", &["manager"]).await;
    let erin = k.user_with_roles("erin", "demo", &["employee"]).await;
    let send = |token: &str, method: &'static str, path: String, body: Option<Value>| {
        let (k, token) = (&k, token.to_owned());
        async move { k.send_as(Some(&token), method, &path, body).await }
    };
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    for (code, name) in [("2310", "Income tax withheld"), ("2330", "Net pay payable")] {
        let account = json!({ "code": code, "name": name, "type": "liability", "currency": "EUR" });
        k.post(&format!("{F}/accounts"), account).await.expect(201);
    }
    let mut answered = Vec::new();
    let mut check = |operation: &str, body: &Value| {
        assert_eq!(contract.check_response(operation, body), Ok(()), "{operation}: {body}");
        answered.push(operation.to_owned());
    };

    // The organisation, its calendar, leave and pay.
    let department = json!({ "id": "OPS", "name": "Operations" });
    let created = send(&olga, "POST", format!("{HR}/departments"), Some(department)).await;
    check("departments.create", created.expect(201));
    check(
        "departments.list",
        send(&mike, "GET", format!("{HR}/departments"), None).await.expect(200),
    );
    let calendar = json!({ "weekly_off": ["saturday", "sunday"], "holidays": ["2026-12-25"] });
    let put = send(&olga, "PUT", format!("{HR}/calendars/default"), Some(calendar)).await;
    check("calendars.put", put.expect(200));
    let annual = json!({ "paid": true, "yearly_allowance": "25", "accrual": "monthly", "carry_forward_max": "5", "allow_negative": false });
    let put = send(&olga, "PUT", format!("{HR}/leave-types/annual"), Some(annual)).await;
    check("leave-types.put", put.expect(200));
    check(
        "leave-types.list",
        send(&erin, "GET", format!("{HR}/leave-types"), None).await.expect(200),
    );
    let structure = json!({ "name": "Staff", "components": [
        { "code": "basic", "kind": "earning", "percent": "100", "of": "base", "prorated": true, "expense_account": "6000" },
        { "code": "tax", "kind": "deduction", "formula": "round(basic * 0.2, 2)", "liability_account": "2310" },
        { "code": "taxable", "kind": "earning", "formula": "basic", "statistical": true },
    ]});
    let put = send(&paula, "PUT", format!("{HR}/salary-structures/staff"), Some(structure)).await;
    check("salary-structures.put", put.expect(200));
    let listed = send(&paula, "GET", format!("{HR}/salary-structures"), None).await;
    check("salary-structures.list", listed.expect(200));
    let settings = json!({ "payable_account": "2330", "bank_account": "1100" });
    let put = send(&paula, "PUT", format!("{HR}/payroll-settings"), Some(settings)).await;
    check("payroll-settings.put", put.expect(200));

    // People: Mike manages Erin, whose cost Operations bears.
    for body in [hire("E1", "mike", None, "4000.00"), hire("E2", "erin", Some("E1"), "3000.00")] {
        let hired = send(&olga, "POST", format!("{HR}/employees"), Some(body)).await;
        check("employees.hire", hired.expect(201));
    }
    let listed = send(&olga, "GET", format!("{HR}/employees?department=OPS&limit=1"), None).await;
    assert!(listed.expect(200)["cursor"].is_string(), "{}", listed.body);
    check("employees.list", listed.expect(200));
    check("employees.list", send(&olga, "GET", format!("{HR}/employees"), None).await.expect(200));
    let shown = send(&mike, "GET", format!("{HR}/employees/E2"), None).await;
    assert_eq!(shown.expect(200)["managers"], json!(["E1"]));
    check("employees.get", shown.expect(200));
    let personal = send(&olga, "GET", format!("{HR}/employees/E2/personal"), None).await;
    check("employees.personal", personal.expect(200));
    let rise = json!({ "from": "2026-09-01", "position": "Senior analyst", "base_pay": "3300.00", "currency": "EUR", "salary_structure": "staff",
        "cost_split": [{ "department": "OPS", "percent": "100" }] });
    let added = send(&olga, "POST", format!("{HR}/employees/E2/contracts"), Some(rise)).await;
    check("contracts.add", added.expect(201));
    let history = send(&olga, "GET", format!("{HR}/employees/E2/contracts"), None).await;
    assert_eq!(history.expect(200)["in_force"]["base_pay"], "3300.00");
    check("employees.contracts", history.expect(200));
    check("me", send(&erin, "GET", format!("{HR}/me"), None).await.expect(200));

    // Leave: allocated, asked for, decided above, seen.
    let allocation = json!({ "leave_type": "annual", "days": "10", "date": "2026-01-01" });
    let path = format!("{HR}/employees/E2/leave-allocations");
    check("leave.allocate", send(&olga, "POST", path, Some(allocation)).await.expect(201));
    let ask = json!({ "leave_type": "annual", "from": "2026-12-21", "to": "2026-12-24" });
    let asked = send(&erin, "POST", format!("{HR}/leave-requests"), Some(ask)).await;
    check("leave.ask", asked.expect(201));
    let id = asked.expect(201)["id"].as_str().unwrap().to_owned();
    let pending = send(&mike, "GET", format!("{HR}/leave-requests"), None).await;
    assert_eq!(pending.expect(200)["pending"].as_array().unwrap().len(), 1);
    check("leave.pending", pending.expect(200));
    let approve = Some(json!({ "approve": true }));
    let path = format!("{HR}/leave-requests/{id}/decision");
    check("leave.decide", send(&mike, "POST", path, approve.clone()).await.expect(200));
    let leave = send(&mike, "GET", format!("{HR}/employees/E2/leave"), None).await;
    assert_eq!(leave.expect(200)["balances"]["annual"]["balance"], "6");
    check("leave.of-employee", leave.expect(200));
    check("me.leave", send(&erin, "GET", format!("{HR}/me/leave"), None).await.expect(200));

    // Attendance: an absence in November, approved by Mike.
    let absent = json!({ "presence": "absent", "note": "sick" });
    let path = format!("{HR}/attendance/E2/2026-11-03");
    check("attendance.record", send(&erin, "PUT", path.clone(), Some(absent)).await.expect(200));
    let path = format!("{path}/decision");
    check("attendance.decide", send(&mike, "POST", path, approve.clone()).await.expect(200));
    let november = "from=2026-11-01&to=2026-11-30";
    let days = send(&mike, "GET", format!("{HR}/employees/E2/attendance?{november}"), None).await;
    check("attendance.of-employee", days.expect(200));
    let mine = send(&erin, "GET", format!("{HR}/me/attendance?{november}"), None).await;
    assert_eq!(mine.expect(200)["days"][0]["state"], "approved");
    check("me.attendance", mine.expect(200));

    // November's payroll: created, calculated as a job, approved by
    // someone else, posted and paid.
    let period = json!({ "from": "2026-11-01", "to": "2026-11-30" });
    let created = send(&paula, "POST", format!("{HR}/payroll-runs"), Some(period)).await;
    check("payroll-runs.create", created.expect(201));
    let run = format!("{HR}/payroll-runs/2026-11-01");
    // A job: the kernel answers with the job, which the contract leaves
    // to the kernel's own `Job`; its result is the plugin's.
    let started = send(&paula, "POST", format!("{run}/calculation"), None).await;
    check("payroll-runs.calculate", started.expect(202));
    let job = started.expect(202)["id"].as_str().unwrap().to_owned();
    let job = k.ended_job("demo", &job, Duration::from_secs(30)).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"], json!({ "run": "2026-11-01", "employees": 2, "warnings": 0 }));
    check(
        "payroll-runs.list",
        send(&paula, "GET", format!("{HR}/payroll-runs"), None).await.expect(200),
    );
    let calculated = send(&paula, "GET", run.clone(), None).await;
    assert_eq!(calculated.expect(200)["state"], "calculated");
    check("payroll-runs.get", calculated.expect(200));
    let approved = send(&anna, "POST", format!("{run}/approval"), None).await;
    check("payroll-runs.approve", approved.expect(200));
    let posted = send(&paula, "POST", format!("{run}/posting"), None).await;
    assert!(posted.expect(200)["entry"].is_u64(), "{}", posted.body);
    check("payroll-runs.post", posted.expect(200));
    let dated = Some(json!({ "date": "2026-11-30" }));
    let paid = send(&paula, "POST", format!("{run}/payment"), dated).await;
    assert_eq!(paid.expect(200)["state"], "paid");
    check("payroll-runs.pay", paid.expect(200));
    let slips = send(&paula, "GET", format!("{run}/payslips?limit=1"), None).await;
    check("payroll-runs.payslips", slips.expect(200));
    let slip = send(&paula, "GET", format!("{run}/payslips/E2"), None).await;
    let taxable = &slip.expect(200)["lines"][2];
    assert_eq!((&taxable["code"], &taxable["statistical"]), (&json!("taxable"), &json!(true)));
    check("payroll-runs.payslip", slip.expect(200));
    let mine = send(&erin, "GET", format!("{HR}/me/payslips"), None).await;
    assert_eq!(mine.expect(200)["payslips"].as_array().unwrap().len(), 1);
    check("me.payslips", mine.expect(200));

    // Erin cancels her leave, a month's accrual runs, and she leaves:
    // everything kept of her exported, then what the law allows erased.
    let path = format!("{HR}/leave-requests/{id}/cancellation");
    check("leave.cancel", send(&erin, "POST", path, None).await.expect(200));
    let accrual = send(&olga, "POST", format!("{HR}/leave-accruals"), None).await;
    check("leave.accrue", accrual.expect(202));
    let started = std::time::Instant::now();
    while k.audit_actions("demo", "hr.leave.accrued").await.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "the accrual did not finish");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let export = send(&olga, "POST", format!("{HR}/employees/E2/subject-access"), None).await;
    assert_eq!(export.expect(200)["payslips"].as_array().unwrap().len(), 1);
    check("employees.subject-access", export.expect(200));
    let left = Some(json!({ "left": "2026-11-30" }));
    let path = format!("{HR}/employees/E2/leaving");
    check("employees.leave", send(&olga, "POST", path, left).await.expect(200));
    let erased = send(&olga, "POST", format!("{HR}/employees/E2/erasure"), None).await;
    assert_eq!(erased.expect(200)["employee"].get("email"), None, "{}", erased.body);
    check("employees.erase", erased.expect(200));
    let export = send(&olga, "POST", format!("{HR}/employees/E2/subject-access"), None).await;
    assert_eq!(export.expect(200)["retained"]["national_id"], "NI-E2-7731");
    check("employees.subject-access", export.expect(200));

    answered.sort();
    answered.dedup();
    let mut typed: Vec<String> = manifest.operations.iter().map(|op| op.id.clone()).collect();
    typed.sort();
    assert_eq!(answered, typed, "every operation's answer was checked");

    // A body or query that does not fit is refused by the kernel, naming
    // each field at fault, and the plugin never sees it.
    let trail = k.get("/admin/tenants/demo/audit?limit=1000").await.expect(200).clone();
    let misfit = json!({ "left": "31/12/2026", "reason": "moving" });
    let reply = send(&olga, "POST", format!("{HR}/employees/E1/leaving"), Some(misfit)).await;
    reply.expect_problem(422, "invalid-request");
    let pointers = |body: &Value| {
        let mut pointers: Vec<String> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap().to_owned())
            .collect();
        pointers.sort();
        pointers
    };
    assert_eq!(pointers(&reply.body), ["/left", "/reason"], "{}", reply.body);
    let sick = json!({ "presence": "sick", "hours": true });
    let path = format!("{HR}/attendance/E1/2026-12-01");
    let reply = send(&mike, "PUT", path, Some(sick)).await;
    reply.expect_problem(422, "invalid-request");
    assert_eq!(pointers(&reply.body), ["/hours", "/presence"], "{}", reply.body);
    let reply = send(&mike, "GET", format!("{HR}/me/attendance?from=2026-12-01"), None).await;
    reply.expect_problem(422, "invalid-request");
    assert_eq!(
        reply.body["errors"][0],
        json!({ "pointer": "/to", "detail": "is a required query parameter" })
    );
    let shown = send(&olga, "GET", format!("{HR}/employees/E1"), None).await;
    assert_eq!(shown.expect(200)["active"], true, "Mike has not left");
    // The tenant's document publishes the query as parameters.
    let doc = k.get("/api/demo/openapi.json").await.expect(200).clone();
    let parameters = doc["paths"]["/hr/me/attendance"]["get"]["parameters"].as_array().unwrap();
    let to = parameters.iter().find(|p| p["name"] == "to").unwrap();
    assert_eq!((&to["in"], &to["required"]), (&json!("query"), &json!(true)), "{to}");
    assert_eq!(k.get("/admin/tenants/demo/audit?limit=1000").await.expect(200), &trail);
    k.stop().await;
}
