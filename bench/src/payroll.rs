//! The payroll scenario: a tenant `payroll` with finance and hr, 10,000
//! employees in 7 departments hired over HTTP, then one month's run
//! calculated as a background job, approved by a second user and posted to
//! the ledger as one entry. It measures calculating and posting, and checks
//! the ledger's payroll payable against the run's net pay.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::load::{self, Call, Connection, Plan};
use crate::tenants::{create_tenant, load_chart};
use crate::{Args, say};

const TENANT: &str = "payroll";
const EMPLOYEES: u64 = 10_000;
const DEPARTMENTS: u64 = 7;
/// The longest the scenario waits for the calculation.
const CALCULATE_WITHIN: Duration = Duration::from_secs(600);

#[derive(Debug, Serialize)]
pub(crate) struct Payroll {
    pub(crate) employees: u64,
    /// Hiring them, one call each, at the post scenario's concurrency.
    pub(crate) hire: load::Stats,
    /// From starting the calculation job to reading it succeeded.
    pub(crate) calculate_seconds: f64,
    pub(crate) steps: u64,
    /// Posting the approved run's one entry.
    pub(crate) post_ms: f64,
    /// The run's net pay, as the ledger's payroll payable holds it.
    pub(crate) net: String,
}

impl Payroll {
    pub(crate) fn seconds(&self) -> f64 {
        self.calculate_seconds + self.post_ms / 1000.0
    }
}

fn put(path: String, body: Value) -> Call {
    Call { method: Method::PUT, path, body: Some(body.to_string().into()) }
}

/// Base pay, a share of it as basic and allowances; tax over a threshold,
/// pension, and the employer's pension.
fn structure() -> Value {
    json!({
        "name": "Staff",
        "components": [
            {"code": "basic", "kind": "earning", "percent": "60", "of": "base", "prorated": true, "expense_account": "6000"},
            {"code": "housing", "kind": "earning", "formula": "round(basic * 0.4, 2)", "expense_account": "6000"},
            {"code": "transport", "kind": "earning", "fixed": "150", "prorated": true, "expense_account": "6000"},
            {"code": "special", "kind": "earning", "formula": "max(0, base - basic - housing - transport)", "expense_account": "6000"},
            {"code": "taxable", "kind": "earning", "formula": "basic + housing + special", "statistical": true},
            {"code": "tax", "kind": "deduction", "formula": "round(max(0, taxable - 1000) * 0.2, 2)", "liability_account": "2310"},
            {"code": "pension", "kind": "deduction", "percent": "8", "of": "basic", "liability_account": "2320"},
            {"code": "employer_pension", "kind": "contribution", "percent": "12", "of": "basic", "expense_account": "6010", "liability_account": "2320"},
        ],
    })
}

fn hire(n: u64) -> Call {
    let department = n % DEPARTMENTS + 1;
    let body = json!({
        "id": format!("E{n:05}"),
        "name": format!("Employee {n}"),
        "department": format!("D{department}"),
        "position": "Staff",
        "hired": "2026-01-05",
        "personal": {
            "national_id": format!("NI-{n:05}"),
            "bank_account": "FR7630006000011234567890189",
            "address": "1 rue de Rivoli, Paris",
            "date_of_birth": "1990-03-01",
        },
        "contract": {
            "base_pay": format!("{}.{:02}", 2000 + n % 3000, n % 100),
            "currency": "EUR",
            "salary_structure": "staff",
        },
    });
    Call::post(format!("/api/{TENANT}/hr/employees"), body.to_string())
}

pub(crate) async fn payroll(args: &Args, addr: SocketAddr, token: &str) -> anyhow::Result<Payroll> {
    say(&format!("==> payroll: {EMPLOYEES} employees in tenant {TENANT}, one month's run"));
    let mut admin = Connection::open(addr, Some(token)).await?;
    create_tenant(&mut admin, TENANT, &["finance", "hr"]).await?;
    load_chart(&mut admin, TENANT).await?;
    for (code, name, kind) in [
        ("2310", "Income tax withheld", "liability"),
        ("2320", "Pension payable", "liability"),
        ("2330", "Net pay payable", "liability"),
        ("6010", "Employer pension", "expense"),
    ] {
        let account = json!({"code": code, "name": name, "type": kind, "currency": "EUR"});
        let call = Call::post(format!("/api/{TENANT}/finance/accounts"), account.to_string());
        admin.expect(&call, StatusCode::CREATED).await?;
    }
    let hr = format!("/api/{TENANT}/hr");
    for n in 1..=DEPARTMENTS {
        let department = json!({"id": format!("D{n}"), "name": format!("Department {n}")});
        let call = Call::post(format!("{hr}/departments"), department.to_string());
        admin.expect(&call, StatusCode::CREATED).await?;
    }
    let calendar = json!({"weekly_off": ["saturday", "sunday"], "holidays": ["2026-11-11"]});
    admin.expect(&put(format!("{hr}/calendars/default"), calendar), StatusCode::OK).await?;
    admin
        .expect(&put(format!("{hr}/salary-structures/staff"), structure()), StatusCode::OK)
        .await?;
    let settings = json!({"payable_account": "2330", "bank_account": "1100"});
    admin.expect(&put(format!("{hr}/payroll-settings"), settings), StatusCode::OK).await?;

    let plan = Plan {
        concurrency: args.concurrency,
        requests: EMPLOYEES,
        duration: Duration::from_secs(600),
    };
    let hired = load::drive(addr, token, plan, StatusCode::CREATED, Arc::new(hire)).await?;
    if hired.requests != EMPLOYEES {
        bail!("hired {} employees of {EMPLOYEES} in 600 s", hired.requests);
    }
    say(&format!("    hired {EMPLOYEES} at {:.0} a second", hired.per_second));

    // A second person approves what the administrator calculated.
    let password = "the approver's long password";
    let user = json!({"id": "approver", "name": "Approver", "password": password});
    admin.expect(&Call::post("/admin/users", user.to_string()), StatusCode::CREATED).await?;
    let roles = json!({"roles": ["payroll-approver"]});
    admin
        .expect(&put(format!("/admin/tenants/{TENANT}/members/approver"), roles), StatusCode::OK)
        .await?;
    let mut anonymous = Connection::open(addr, None).await?;
    let login = json!({"user": "approver", "password": password}).to_string();
    let session = anonymous.expect_json(&Call::post("/auth/login", login), StatusCode::OK).await?;
    let approver_token = session["token"].as_str().context("the login answer has no token")?;
    let mut approver = Connection::open(addr, Some(approver_token)).await?;

    let run = json!({"from": "2026-11-01", "to": "2026-11-30"}).to_string();
    admin.expect(&Call::post(format!("{hr}/payroll-runs"), run), StatusCode::CREATED).await?;
    let path = format!("{hr}/payroll-runs/2026-11-01");
    let started = Instant::now();
    let calculate = Call::post(format!("{path}/calculation"), String::new());
    let job = admin.expect_json(&calculate, StatusCode::ACCEPTED).await?;
    let id = job["id"].as_str().context("a started job has an id")?.to_owned();
    let job = loop {
        let job = admin
            .expect_json(&Call::get(format!("/api/{TENANT}/jobs/{id}")), StatusCode::OK)
            .await?;
        match job["state"].as_str() {
            Some("succeeded") => break job,
            Some("queued" | "running") => {}
            _ => bail!("the payroll calculation ended as {job}"),
        }
        if started.elapsed() > CALCULATE_WITHIN {
            bail!("the payroll calculation did not end in {CALCULATE_WITHIN:?}: {job}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let calculate_seconds = started.elapsed().as_secs_f64();
    let steps = job["steps"].as_u64().unwrap_or_default();
    say(&format!("    calculated in {calculate_seconds:.1} s ({steps} steps)"));

    approver.expect(&Call::post(format!("{path}/approval"), String::new()), StatusCode::OK).await?;
    let posting = Instant::now();
    let posted = admin
        .expect_json(&Call::post(format!("{path}/posting"), String::new()), StatusCode::OK)
        .await?;
    let post_ms = posting.elapsed().as_secs_f64() * 1000.0;
    say(&format!("    posted entry {} in {post_ms:.1} ms", posted["entry"]));

    if posted["employees"].as_u64() != Some(EMPLOYEES) || posted["warnings"] != json!([]) {
        bail!(
            "the run paid {} employees of {EMPLOYEES}: {}",
            posted["employees"],
            posted["warnings"]
        );
    }
    let net = posted["net"].as_str().context("the run has its net pay")?.to_owned();
    let payable = admin
        .expect_json(
            &Call::get(format!("/api/{TENANT}/finance/accounts/2330/balance")),
            StatusCode::OK,
        )
        .await?;
    if payable["balance"].as_str() != Some(net.as_str()) {
        bail!("payroll payable holds {} and the run's net pay is {net}", payable["balance"]);
    }
    Ok(Payroll { employees: EMPLOYEES, hire: hired, calculate_seconds, steps, post_ms, net })
}
