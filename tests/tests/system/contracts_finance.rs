//! The ledger's contract in use: every operation of finance driven over
//! HTTP through one year of books, each answer checked against the schema
//! its contract declares; and the bodies and queries the contract types
//! refused by the kernel before the plugin runs.

use std::collections::BTreeSet;

use keel_manifest::{Contract, Manifest};
use keel_tests::{Reply, Setup, TestKernel};
use serde_json::{Value, json};

const F: &str = "/api/demo/finance";

/// The operations answered so far, each answer checked against the
/// contract.
struct Checked {
    contract: Contract,
    answered: BTreeSet<String>,
}

impl Checked {
    fn new() -> Self {
        let manifest = Manifest::parse(include_str!("../../../plugins/finance/keel.toml")).unwrap();
        let text = include_str!("../../../plugins/finance/keel.contract.json");
        Self { contract: Contract::parse(text, &manifest).unwrap(), answered: BTreeSet::new() }
    }

    /// Checks `body`, the answer of `operation`; returns it.
    #[track_caller]
    fn check(&mut self, operation: &str, body: &Value) -> Value {
        assert_eq!(self.contract.check_response(operation, body), Ok(()), "{operation}: {body}");
        self.answered.insert(operation.to_owned());
        body.clone()
    }
}

fn entry(date: &str, debit: &str, credit: &str, amount: &str) -> Value {
    json!({ "date": date, "memo": "test", "lines": [
        { "account": debit, "debit": amount }, { "account": credit, "credit": amount } ] })
}

/// Sends a CSV file as the body of `path`.
async fn csv(k: &TestKernel, path: &str, text: &str) -> Reply {
    let request = k.request(reqwest::Method::POST, &format!("{F}{path}"));
    let request = request.header("content-type", "text/csv").body(text.to_owned());
    Reply::from(request.send().await.unwrap()).await
}

/// The chart, the settings, fiscal years, journals and entries: what the
/// other parts post on.
async fn chart_and_entries(k: &TestKernel, c: &mut Checked) {
    c.check("chart.templates", k.get(&format!("{F}/chart-templates")).await.expect(200));
    let loaded =
        k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await;
    c.check("chart.load", loaded.expect(201));
    let usd_bank =
        json!({ "code": "1110", "name": "Bank USD", "type": "asset", "currency": "USD" });
    c.check("accounts.create", k.post(&format!("{F}/accounts"), usd_bank).await.expect(201));
    c.check("accounts.get", k.get(&format!("{F}/accounts/1110")).await.expect(200));
    c.check("accounts.list", k.get(&format!("{F}/accounts?type=asset")).await.expect(200));
    c.check("settings.get", k.get(&format!("{F}/settings")).await.expect(200));
    let change = json!({ "exchange_gain_account": "4950", "exchange_loss_account": "6950" });
    let changed = k.send("PUT", &format!("{F}/settings"), Some(change)).await;
    c.check("settings.update", changed.expect(200));
    for (code, start, end) in
        [("2025", "2025-01-01", "2025-12-31"), ("2026", "2026-01-01", "2026-12-31")]
    {
        let year = json!({ "code": code, "start": start, "end": end });
        c.check(
            "fiscal-years.create",
            k.post(&format!("{F}/fiscal-years"), year).await.expect(201),
        );
    }
    c.check("journals.list", k.get(&format!("{F}/journals")).await.expect(200));
    let journal = json!({ "code": "BNK2", "name": "Second bank", "kind": "bank" });
    c.check("journals.create", k.post(&format!("{F}/journals"), journal).await.expect(201));
    for (date, debit, credit, amount) in [
        ("2025-12-15", "1100", "4900", "100.00"),
        ("2026-03-02", "1100", "3000", "5000.00"),
        ("2026-03-05", "6100", "1100", "1200.00"),
    ] {
        let posted = k.post(&format!("{F}/entries"), entry(date, debit, credit, amount)).await;
        c.check("entries.post", posted.expect(201));
    }
    let mistake = entry("2026-03-06", "6300", "1100", "80.00");
    let mistake =
        c.check("entries.post", k.post(&format!("{F}/entries"), mistake).await.expect(201));
    let reversal = format!("{F}/entries/{}/reversal", mistake["number"]);
    let reversed = k.post(&reversal, json!({ "memo": "Typo" })).await;
    c.check("entries.reverse", reversed.expect(201));
    let capital = json!({ "date": "2026-03-02", "currency": "USD", "rate": "0.90", "lines": [
        { "account": "1110", "debit": "2000.00" }, { "account": "3000", "credit": "2000.00" } ] });
    c.check("entries.post", k.post(&format!("{F}/entries"), capital).await.expect(201));
    c.check("entries.get", k.get(&format!("{F}/entries/2")).await.expect(200));
    c.check("entries.list", k.get(&format!("{F}/entries?account=1100")).await.expect(200));
    let dated = k.get(&format!("{F}/entries?from=2026-03-01&to=2026-03-31&limit=2")).await;
    c.check("entries.list", dated.expect(200));
    let foreign = k.get(&format!("{F}/accounts/1110/balance?as_of=2026-03-31")).await;
    assert_eq!(c.check("accounts.balance", foreign.expect(200))["foreign"]["balance"], "2000.00");
    let ledger = format!("{F}/accounts/1100/ledger?from=2026-01-01&to=2026-12-31&limit=2");
    let first = c.check("accounts.ledger", k.get(&ledger).await.expect(200));
    let cursor = first["cursor"].as_str().expect("a second page");
    let next = k.get(&format!("{ledger}&cursor={cursor}")).await;
    c.check("accounts.ledger", next.expect(200));
}

/// Exchange rates, given one by one and imported from CSV.
async fn rates(k: &TestKernel, c: &mut Checked) {
    let rate = json!({ "currency": "USD", "date": "2026-03-01", "rate": "0.92" });
    c.check(
        "exchange-rates.create",
        k.post(&format!("{F}/exchange-rates"), rate).await.expect(201),
    );
    let imported = csv(k, "/exchange-rates/import", "currency,date,rate\nUSD,2026-03-31,0.95\n");
    c.check("exchange-rates.import", imported.await.expect(201));
    let listed = k.get(&format!("{F}/exchange-rates?currency=USD&from=2026-03-01")).await;
    c.check("exchange-rates.list", listed.expect(200));
}

/// Payment terms, customers, tax rates, invoices from draft to posted, a
/// receipt, and the reports of what is owed and taxed.
async fn receivables(k: &TestKernel, c: &mut Checked) {
    let terms = json!({ "code": "THIRDS", "name": "Thirds", "lines": [
        { "percent": "33.33", "days": 0 }, { "percent": "33.33", "days": 30 }, { "days": 60 } ] });
    let terms = k.post(&format!("{F}/payment-terms"), terms).await;
    c.check("payment-terms.create", terms.expect(201));
    c.check("payment-terms.list", k.get(&format!("{F}/payment-terms")).await.expect(200));
    let customer = json!({ "code": "ACME", "name": "Acme Ltd", "terms": "THIRDS" });
    c.check("customers.create", k.post(&format!("{F}/customers"), customer).await.expect(201));
    c.check("customers.get", k.get(&format!("{F}/customers/ACME")).await.expect(200));
    c.check("customers.list", k.get(&format!("{F}/customers?limit=1")).await.expect(200));
    let vat = json!({ "code": "VAT20", "name": "VAT 20%", "rate": "20", "kind": "sales", "account": "2100" });
    c.check("tax-rates.create", k.post(&format!("{F}/tax-rates"), vat).await.expect(201));
    c.check("tax-rates.list", k.get(&format!("{F}/tax-rates")).await.expect(200));

    let invoice = |quantity: &str| {
        json!({ "customer": "ACME", "date": "2026-03-10", "reference": "PO-7", "lines": [
            { "account": "4000", "description": "Chairs", "quantity": quantity, "unit_price": "100", "tax": "VAT20" } ] })
    };
    let draft = k.post(&format!("{F}/invoices"), invoice("1")).await;
    let id = c.check("invoices.create", draft.expect(201))["id"].as_str().unwrap().to_owned();
    let edited = k.send("PUT", &format!("{F}/invoices/{id}"), Some(invoice("2"))).await;
    assert_eq!(c.check("invoices.update", edited.expect(200))["total"], "240.00");
    let posted = k.post(&format!("{F}/invoices/{id}/post"), json!({})).await;
    c.check("invoices.post", posted.expect(200));
    c.check("invoices.get", k.get(&format!("{F}/invoices/{id}")).await.expect(200));
    let in_usd = json!({ "customer": "ACME", "date": "2026-03-10", "currency": "USD", "terms": "NET30",
        "lines": [{ "account": "4000", "quantity": "1", "unit_price": "500" }] });
    let in_usd =
        c.check("invoices.create", k.post(&format!("{F}/invoices"), in_usd).await.expect(201));
    let usd_id = in_usd["id"].as_str().unwrap();
    let posted = k.post(&format!("{F}/invoices/{usd_id}/post"), json!({})).await;
    c.check("invoices.post", posted.expect(200));
    let doomed = k.post(&format!("{F}/invoices"), invoice("3")).await;
    let doomed = c.check("invoices.create", doomed.expect(201))["id"].as_str().unwrap().to_owned();
    let deleted = k.send("DELETE", &format!("{F}/invoices/{doomed}"), None).await;
    c.check("invoices.delete", deleted.expect(204));
    c.check("invoices.list", k.get(&format!("{F}/invoices?status=open")).await.expect(200));
    c.check("invoices.list", k.get(&format!("{F}/invoices?customer=ACME")).await.expect(200));

    let receipt = json!({ "customer": "ACME", "date": "2026-03-20", "amount": "100.00",
        "allocations": [{ "invoice": id, "amount": "100.00" }] });
    let receipt =
        c.check("receipts.create", k.post(&format!("{F}/receipts"), receipt).await.expect(201));
    let receipt = format!("{F}/receipts/{}", receipt["id"].as_str().unwrap());
    c.check("receipts.get", k.get(&receipt).await.expect(200));
    let aged = k.get(&format!("{F}/reports/aged-receivables?as_of=2026-05-15")).await;
    assert_eq!(c.check("reports.aged-receivables", aged.expect(200))["party"], "customer");
    let tax = k.get(&format!("{F}/reports/tax?from=2026-03-01&to=2026-03-31")).await;
    assert_eq!(c.check("reports.tax", tax.expect(200))["collected"], "40.00");
}

/// A supplier invoice, paid in part, and the aged payables.
async fn payables(k: &TestKernel, c: &mut Checked) {
    let invoice = json!({ "supplier": "SUPPLY", "invoice": "INV-77", "date": "2026-04-01", "due": "2026-05-01",
        "memo": "office chairs", "lines": [{ "account": "6300", "debit": "450.00" }] });
    c.check("payables.create", k.post(&format!("{F}/payables"), invoice).await.expect(201));
    let payment = json!({ "amount": "200.00", "date": "2026-04-20" });
    let paid = k.post(&format!("{F}/payables/AP-000001/payments"), payment).await;
    c.check("payables.pay", paid.expect(201));
    c.check("payables.get", k.get(&format!("{F}/payables/AP-000001")).await.expect(200));
    c.check("payables.list", k.get(&format!("{F}/payables?status=open")).await.expect(200));
    let aged = k.get(&format!("{F}/reports/aged-payables")).await;
    assert_eq!(c.check("reports.aged-payables", aged.expect(200))["party"], "supplier");
}

/// March's bank statement: imported and matched, a match undone and made
/// by hand, the fee posted from it, and the reconciliation.
async fn bank(k: &TestKernel, c: &mut Checked) {
    let statement = json!({ "account": "1100", "opening_balance": "100.00", "closing_balance": "3897.50",
        "csv": "Date,Amount\n2026-03-02,5000.00\n2026-03-05,-1200.00\n2026-03-31,-2.50\n",
        "mapping": { "date": "Date", "amount": "Amount" } });
    let imported = k.post(&format!("{F}/bank-statements"), statement).await;
    let imported = c.check("bank-statements.import", imported.expect(201));
    let id = imported["id"].as_str().unwrap();
    let rent = imported["lines"][1]["entry"].as_u64().expect("the rent is matched on import");
    c.check("bank-statements.get", k.get(&format!("{F}/bank-statements/{id}")).await.expect(200));
    let line = format!("{F}/bank-statements/{id}/lines/2/match");
    c.check("bank-statements.unmatch", k.send("DELETE", &line, None).await.expect(200));
    let matched = k.post(&line, json!({ "entry": rent })).await;
    c.check("bank-statements.match", matched.expect(200));
    let fee = format!("{F}/bank-statements/{id}/lines/3/post");
    let posted = k.post(&fee, json!({ "account": "6900", "memo": "Account fee" })).await;
    assert_eq!(c.check("bank-statements.post", posted.expect(200))["status"], "posted");
    let reconciled = k.get(&format!("{F}/bank-statements/{id}/reconciliation")).await;
    c.check("bank-statements.reconciliation", reconciled.expect(200));
}

/// The month-end revaluation of the open USD invoice, and its list.
async fn revaluations(k: &TestKernel, c: &mut Checked) {
    let revalued = k.post(&format!("{F}/revaluations"), json!({ "date": "2026-03-31" })).await;
    let revalued = c.check("revaluations.create", revalued.expect(201));
    // The USD invoice still open, and the account kept in USD.
    assert_eq!(revalued["items"].as_array().map(Vec::len), Some(2), "{revalued}");
    c.check("revaluations.list", k.get(&format!("{F}/revaluations")).await.expect(200));
    let one = k.get(&format!("{F}/revaluations/2026-03-31")).await;
    c.check("revaluations.get", one.expect(200));
}

/// The statements and the trial balance, then periods and years closed,
/// reopened and locked.
async fn reports_and_year_end(k: &TestKernel, c: &mut Checked) {
    let tb = c.check(
        "reports.trial-balance",
        k.get(&format!("{F}/reports/trial-balance")).await.expect(200),
    );
    assert_eq!(tb["totals"][0]["balanced"], true, "{tb}");
    let pnl = "from=2026-01-01&to=2026-12-31&compare_from=2025-01-01&compare_to=2025-12-31";
    let pnl = k.get(&format!("{F}/reports/profit-and-loss?{pnl}&currency=EUR")).await;
    c.check("reports.profit-and-loss", pnl.expect(200));
    let sheet = k
        .get(&format!("{F}/reports/balance-sheet?as_of=2026-12-31&compare_as_of=2025-12-31"))
        .await;
    assert_eq!(c.check("reports.balance-sheet", sheet.expect(200))["balanced"], true);

    c.check("periods.list", k.get(&format!("{F}/periods?year=2026")).await.expect(200));
    let period = |action: &str| format!("{F}/periods/2026-01/{action}");
    // Closing and reopening take a body only to name one journal.
    c.check("periods.close", k.send("POST", &period("close"), None).await.expect(200));
    c.check("periods.reopen", k.post(&period("reopen"), json!({})).await.expect(200));
    let for_sales = k.post(&period("close"), json!({ "journal": "SAL" })).await;
    assert_eq!(c.check("periods.close", for_sales.expect(200))["closed_journals"], json!(["SAL"]));
    c.check("periods.close", k.send("POST", &period("close"), None).await.expect(200));
    c.check("periods.lock", k.send("POST", &period("lock"), None).await.expect(200));

    let year = |action: &str| format!("{F}/fiscal-years/2025/{action}");
    let retained = json!({ "retained_earnings": "3100" });
    let closed =
        c.check("fiscal-years.close", k.post(&year("close"), retained.clone()).await.expect(200));
    assert_eq!(closed["closing_entries"].as_array().map(Vec::len), Some(1), "{closed}");
    c.check("fiscal-years.reopen", k.send("POST", &year("reopen"), None).await.expect(200));
    c.check("fiscal-years.close", k.post(&year("close"), retained).await.expect(200));
    c.check("fiscal-years.lock", k.send("POST", &year("lock"), None).await.expect(200));
    c.check("fiscal-years.get", k.get(&format!("{F}/fiscal-years/2025")).await.expect(200));
    c.check("fiscal-years.list", k.get(&format!("{F}/fiscal-years")).await.expect(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledgers_answers_are_true_to_its_contract() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    let mut c = Checked::new();
    chart_and_entries(&k, &mut c).await;
    rates(&k, &mut c).await;
    receivables(&k, &mut c).await;
    payables(&k, &mut c).await;
    bank(&k, &mut c).await;
    revaluations(&k, &mut c).await;
    reports_and_year_end(&k, &mut c).await;
    let manifest = Manifest::parse(include_str!("../../../plugins/finance/keel.toml")).unwrap();
    let every: BTreeSet<String> = manifest.operations.iter().map(|op| op.id.clone()).collect();
    assert!(every.iter().all(|id| c.contract.describes(id)), "every operation is typed");
    assert_eq!(c.answered, every, "every operation's answer was checked");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledgers_bodies_and_queries_are_checked_before_it_runs() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let refused = |reply: Reply, pointer: &str| {
        reply.expect_problem(422, "invalid-request");
        assert_eq!(reply.body["errors"][0]["pointer"], pointer, "{}", reply.body);
    };
    let customer = json!({ "code": "ACME", "name": "Acme Ltd", "colour": "red" });
    refused(k.post(&format!("{F}/customers"), customer).await, "/colour");
    let receipt =
        json!({ "customer": "ACME", "date": "2026-03-20", "amount": 100, "allocations": [] });
    refused(k.post(&format!("{F}/receipts"), receipt).await, "/amount");
    let year = json!({ "code": "2026", "start": "2026-01-01", "end": "2026-12-32" });
    refused(k.post(&format!("{F}/fiscal-years"), year).await, "/end");
    let rate = json!({ "code": "VAT20", "name": "VAT", "rate": "20", "kind": "import", "account": "2100" });
    refused(k.post(&format!("{F}/tax-rates"), rate).await, "/kind");
    refused(k.get(&format!("{F}/invoices?status=lost")).await, "/status");
    refused(k.get(&format!("{F}/reports/tax?to=2026-03-31")).await, "/from");
    refused(k.get(&format!("{F}/reports/aged-payables?as_of=soon")).await, "/as_of");
    // Nothing reached the plugin: no customer was kept.
    let customers = k.get(&format!("{F}/customers")).await.expect(200).clone();
    assert_eq!(customers["customers"], json!([]));
    k.stop().await;
}
