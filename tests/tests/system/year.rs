//! A small company's whole year over HTTP: opening capital, sales with VAT
//! in euros and dollars, receipts, a purchase through procurement and
//! stock, a bank statement reconciled, a reversal, month closes, the tax
//! report, a revaluation and the year end into retained earnings, with
//! next year's opening balances. Every figure is checked against books the
//! test keeps itself, in cents, from the business facts alone.

use std::collections::BTreeMap;

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const F: &str = "/api/demo/finance";

/// The books as the test expects them: each account's balance in cents,
/// debits positive.
#[derive(Default)]
struct Books(BTreeMap<&'static str, i64>);

impl Books {
    /// Books one entry: `(account, cents)`, debits positive; they balance.
    fn post(&mut self, lines: &[(&'static str, i64)]) {
        assert_eq!(lines.iter().map(|(_, c)| c).sum::<i64>(), 0, "the test's own entry balances");
        for (account, cents) in lines {
            *self.0.entry(account).or_default() += cents;
        }
    }

    fn of(&self, account: &str) -> i64 {
        self.0.get(account).copied().unwrap_or_default()
    }
}

/// `text` (a decimal string) in cents.
fn cents(text: &str) -> i64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = format!("{fraction:0<2}");
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    let whole: i64 = whole.trim_start_matches('-').parse().unwrap();
    sign * (whole * 100 + fraction[..2].parse::<i64>().unwrap())
}

/// `usd` cents at `rate` hundredths of a euro per dollar, exactly.
fn at(usd: i64, rate: i64) -> i64 {
    assert_eq!(usd * rate % 100, 0, "the test picks amounts that convert exactly");
    usd * rate / 100
}

/// The ledger's trial balance at `as_of`, each account's net in cents.
async fn trial_balance(k: &TestKernel, as_of: &str) -> BTreeMap<String, i64> {
    let tb = k.get(&format!("{F}/reports/trial-balance?as_of={as_of}")).await.expect(200).clone();
    assert_eq!(tb["totals"][0]["balanced"], true, "{tb}");
    tb["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let net = cents(r["debit"].as_str().unwrap()) - cents(r["credit"].as_str().unwrap());
            (r["account"].as_str().unwrap().to_owned(), net)
        })
        .filter(|(_, net)| *net != 0)
        .collect()
}

/// Checks every account of the ledger against the test's books.
async fn agree(k: &TestKernel, books: &Books, as_of: &str) {
    let expected: BTreeMap<String, i64> =
        books.0.iter().filter(|(_, c)| **c != 0).map(|(a, c)| ((*a).to_owned(), *c)).collect();
    assert_eq!(trial_balance(k, as_of).await, expected, "the ledger at {as_of}");
}

async fn post(k: &TestKernel, path: &str, body: Value) -> Value {
    k.post(&format!("{F}{path}"), body).await.expect(201).clone()
}

fn entry(date: &str, memo: &str, lines: &[(&str, &str, &str)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(account, side, amount)| json!({ "account": account, (*side): amount }))
        .collect();
    json!({ "date": date, "memo": memo, "lines": lines })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_company_runs_a_year_and_closes_it() {
    let k = TestKernel::start(Setup::new(&["finance", "inventory", "procurement"])).await;
    let mut books = Books::default();

    // Set up: the chart in EUR, a purchase VAT account, the years, VAT
    // rates, customers, and the store and supplier procurement needs.
    post(&k, "/chart-templates/starter", json!({ "currency": "EUR" })).await;
    let vat_in =
        json!({ "code": "1450", "name": "VAT receivable", "type": "asset", "currency": "EUR" });
    post(&k, "/accounts", vat_in).await;
    for year in ["2026", "2027"] {
        let body = json!({ "code": year, "start": format!("{year}-01-01"), "end": format!("{year}-12-31") });
        post(&k, "/fiscal-years", body).await;
    }
    post(&k, "/tax-rates", json!({ "code": "VAT20", "name": "VAT 20%", "rate": "20", "kind": "sales", "account": "2100" })).await;
    post(&k, "/tax-rates", json!({ "code": "VAT20-IN", "name": "Input VAT 20%", "rate": "20", "kind": "purchase", "account": "1450" })).await;
    post(&k, "/customers", json!({ "code": "LOCAL", "name": "Local Shop" })).await;
    post(&k, "/customers", json!({ "code": "YANK", "name": "Yankee Imports" })).await;
    let rates = "currency,date,rate\nUSD,2026-03-01,0.90\nUSD,2026-04-10,0.95\nUSD,2026-11-15,0.92\nUSD,2026-12-31,0.95\n";
    let request = k.request(reqwest::Method::POST, &format!("{F}/exchange-rates/import"));
    assert_eq!(request.body(rates).send().await.unwrap().status(), 201);
    k.post("/api/demo/inventory/warehouses", json!({ "code": "MAIN", "name": "Main" }))
        .await
        .expect(201);
    k.post(
        "/api/demo/inventory/locations",
        json!({ "code": "MAIN-A", "warehouse": "MAIN", "name": "A" }),
    )
    .await
    .expect(201);
    let item = json!({ "code": "BEANS", "name": "Coffee beans", "unit": "kg", "reorder_point": "0", "reorder_quantity": "0" });
    k.post("/api/demo/inventory/items", item).await.expect(201);
    let supplier = json!({ "code": "FARM", "name": "Finca", "payment_terms_days": 30 });
    k.post("/api/demo/procurement/suppliers", supplier).await.expect(201);
    let buyer = k.user_with_roles("bea", "demo", &["buyer"]).await;
    let manager = k.user_with_roles("max", "demo", &["purchasing-manager"]).await;
    let clerk = k.user_with_roles("cleo", "demo", &["receiving-clerk"]).await;
    let payer = k.user_with_roles("pia", "demo", &["payables-clerk"]).await;

    // 2 January: the owner pays in 20,000.00.
    post(
        &k,
        "/entries",
        entry(
            "2026-01-02",
            "Capital",
            &[("1100", "debit", "20000.00"), ("3000", "credit", "20000.00")],
        ),
    )
    .await;
    books.post(&[("1100", 2_000_000), ("3000", -2_000_000)]);

    // Rent for the first quarter, 500.00.
    for date in ["2026-03-31"] {
        post(
            &k,
            "/entries",
            entry(date, "Rent", &[("6100", "debit", "500.00"), ("1100", "credit", "500.00")]),
        )
        .await;
        books.post(&[("6100", 50_000), ("1100", -50_000)]);
    }

    // 10 February: 10 × 150.00 to the local shop, with 20% VAT.
    let invoice = json!({ "customer": "LOCAL", "date": "2026-02-10",
        "lines": [{ "account": "4000", "quantity": "10", "unit_price": "150.00", "tax": "VAT20" }] });
    let local = post(&k, "/invoices", invoice).await["id"].as_str().unwrap().to_owned();
    let local = k.post(&format!("{F}/invoices/{local}/post"), json!({})).await.expect(200).clone();
    assert_eq!(local["total"], "1800.00");
    books.post(&[("1200", 180_000), ("4000", -150_000), ("2100", -30_000)]);
    // Paid on 1 March.
    let paid = json!({ "customer": "LOCAL", "date": "2026-03-01", "amount": "1800.00",
        "allocations": [{ "invoice": local["id"], "amount": "1800.00" }] });
    post(&k, "/receipts", paid).await;
    books.post(&[("1100", 180_000), ("1200", -180_000)]);

    // 5 March: USD 2,000.00 + 20% to the importer, at 0.90.
    let invoice = json!({ "customer": "YANK", "date": "2026-03-05", "currency": "USD",
        "lines": [{ "account": "4000", "quantity": "1", "unit_price": "2000.00", "tax": "VAT20" }] });
    let yank = post(&k, "/invoices", invoice).await["id"].as_str().unwrap().to_owned();
    let yank = k.post(&format!("{F}/invoices/{yank}/post"), json!({})).await.expect(200).clone();
    assert_eq!((yank["total"].as_str(), yank["currency"].as_str()), (Some("2400.00"), Some("USD")));
    books.post(&[("1200", at(240_000, 90)), ("4000", -at(200_000, 90)), ("2100", -at(40_000, 90))]);

    // The first quarter's bank statement: the capital, the local shop's
    // payment, the rent, and a fee the books lack.
    let csv = "Date,Ref,Amount\n2026-01-02,CAP,20000.00\n2026-03-01,CI-000001,1800.00\n2026-03-31,,-500.00\n2026-03-31,FEE,-5.00\n";
    let statement = json!({ "account": "1100", "csv": csv, "mapping": { "date": "Date", "amount": "Amount", "reference": "Ref" },
        "opening_balance": "0.00", "closing_balance": "21295.00" });
    let statement = post(&k, "/bank-statements", statement).await;
    let id = statement["id"].as_str().unwrap();
    let unmatched: Vec<u64> = statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "unmatched")
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(unmatched, [4], "all but the fee matched: {statement}");
    k.post(&format!("{F}/bank-statements/{id}/lines/4/post"), json!({ "account": "6900" }))
        .await
        .expect(200);
    books.post(&[("6900", 500), ("1100", -500)]);
    let reconciled =
        k.get(&format!("{F}/bank-statements/{id}/reconciliation")).await.expect(200).clone();
    assert_eq!(
        (reconciled["reconciled"].as_bool(), reconciled["ledger_balance"].as_str()),
        (Some(true), Some("21295.00"))
    );
    agree(&k, &books, "2026-03-31").await;

    // The first quarter closes; a late bill dated in it is refused and
    // changes nothing.
    for month in ["2026-01", "2026-02", "2026-03"] {
        k.post(&format!("{F}/periods/{month}/close"), json!({})).await.expect(200);
    }
    let late =
        entry("2026-02-20", "Late", &[("6200", "debit", "10.00"), ("1100", "credit", "10.00")]);
    let detail = k.post(&format!("{F}/entries"), late).await.expect_problem(422, "invalid");
    assert!(detail.contains("period 2026-02"), "{detail}");
    agree(&k, &books, "2026-03-31").await;

    // 10 April: the importer pays USD 2,400.00 at 0.95: 2,280.00 for
    // 2,160.00 carried, 120.00 gained.
    let paid = json!({ "customer": "YANK", "date": "2026-04-10", "amount": "2400.00",
        "allocations": [{ "invoice": yank["id"], "amount": "2400.00" }] });
    let paid = post(&k, "/receipts", paid).await;
    assert_eq!(paid["exchange_difference"], "120.00");
    books.post(&[
        ("1100", at(240_000, 95)),
        ("1200", -at(240_000, 90)),
        ("4950", -(at(240_000, 95) - at(240_000, 90))),
    ]);

    // April: 100 kg of beans at 12.00 through procurement: ordered,
    // approved, received into stock, invoiced and matched; paid in May.
    let order = json!({ "supplier": "FARM", "date": "2026-04-01", "location": "MAIN-A",
        "lines": [{ "item": "BEANS", "quantity": "100", "unit_price": "12.00" }] });
    let order = k.send_as(Some(&buyer), "POST", "/api/demo/procurement/orders", Some(order)).await;
    let po =
        format!("/api/demo/procurement/orders/{}", order.expect(201)["number"].as_str().unwrap());
    k.send_as(Some(&manager), "POST", &format!("{po}/approval"), None).await.expect(200);
    let received =
        json!({ "date": "2026-04-02", "lines": [{ "item": "BEANS", "quantity": "100" }] });
    k.send_as(Some(&clerk), "POST", &format!("{po}/receipts"), Some(received)).await.expect(201);
    books.post(&[("1300", 120_000), ("2150", -120_000)]);
    let billed = json!({ "invoice": "F-101", "date": "2026-04-05", "lines": [{ "item": "BEANS", "quantity": "100", "unit_price": "12.00" }] });
    let billed = k.send_as(Some(&payer), "POST", &format!("{po}/invoices"), Some(billed)).await;
    let payable = billed.expect(201)["payable"].as_str().unwrap().to_owned();
    books.post(&[("2150", 120_000), ("2000", -120_000)]);
    post(
        &k,
        &format!("/payables/{payable}/payments"),
        json!({ "amount": "1200.00", "date": "2026-05-05" }),
    )
    .await;
    books.post(&[("2000", 120_000), ("1100", -120_000)]);

    // 10 June: office supplies, 500.00 and 100.00 input VAT; paid at once.
    let office = json!({ "supplier": "OFFICE", "invoice": "O-1", "date": "2026-06-10", "due": "2026-06-30",
        "lines": [{ "account": "6300", "debit": "500.00" }, { "account": "1450", "debit": "100.00" }] });
    let office = post(&k, "/payables", office).await["number"].as_str().unwrap().to_owned();
    books.post(&[("6300", 50_000), ("1450", 10_000), ("2000", -60_000)]);
    post(
        &k,
        &format!("/payables/{office}/payments"),
        json!({ "amount": "600.00", "date": "2026-06-30" }),
    )
    .await;
    books.post(&[("2000", 60_000), ("1100", -60_000)]);

    // 15 July: an entry posted by mistake, then reversed: nothing remains.
    let mistake = post(
        &k,
        "/entries",
        entry(
            "2026-07-15",
            "Mistake",
            &[("6200", "debit", "300.00"), ("1100", "credit", "300.00")],
        ),
    )
    .await;
    let reversal = post(&k, &format!("/entries/{}/reversal", mistake["number"]), json!({})).await;
    assert_eq!(
        (reversal["reverses"].clone(), reversal["date"].as_str()),
        (mistake["number"].clone(), Some("2026-07-15"))
    );

    // Rent for the other quarters.
    for date in ["2026-06-30", "2026-09-30", "2026-12-31"] {
        let rent =
            entry(date, "Rent", &[("6100", "debit", "500.00"), ("1100", "credit", "500.00")]);
        post(&k, "/entries", rent).await;
        books.post(&[("6100", 50_000), ("1100", -50_000)]);
    }

    // 20 November: USD 1,000.00 + 20% to the importer at 0.92, still open
    // at the year's end.
    let invoice = json!({ "customer": "YANK", "date": "2026-11-20", "currency": "USD",
        "lines": [{ "account": "4000", "quantity": "1", "unit_price": "1000.00", "tax": "VAT20" }] });
    let open = post(&k, "/invoices", invoice).await["id"].as_str().unwrap().to_owned();
    k.post(&format!("{F}/invoices/{open}/post"), json!({})).await.expect(200);
    books.post(&[("1200", at(120_000, 92)), ("4000", -at(100_000, 92)), ("2100", -at(20_000, 92))]);
    agree(&k, &books, "2026-12-31").await;

    // The year's VAT: collected on both currencies' sales, paid on
    // supplies.
    let tax =
        k.get(&format!("{F}/reports/tax?from=2026-01-01&to=2026-12-31")).await.expect(200).clone();
    let collected = 30_000 + at(40_000, 90) + at(20_000, 92);
    assert_eq!(
        (
            cents(tax["collected"].as_str().unwrap()),
            cents(tax["paid"].as_str().unwrap()),
            cents(tax["due"].as_str().unwrap())
        ),
        (collected, 10_000, collected - 10_000),
        "{tax}"
    );

    // 31 December: the open USD 1,200.00 are worth 0.95 now: 36.00 more
    // than carried, reversed on 1 January.
    let revalued = post(&k, "/revaluations", json!({ "date": "2026-12-31" })).await;
    let difference = at(120_000, 95) - at(120_000, 92);
    assert_eq!(cents(revalued["net"].as_str().unwrap()), difference);
    books.post(&[("1200", difference), ("4950", -difference)]);
    agree(&k, &books, "2026-12-31").await;

    // The year's profit, from the test's own books.
    let income = -(books.of("4000") + books.of("4950"));
    let expense = books.of("6100") + books.of("6300") + books.of("6900") + books.of("6200");
    let pnl = k
        .get(&format!("{F}/reports/profit-and-loss?from=2026-01-01&to=2026-12-31"))
        .await
        .expect(200)
        .clone();
    assert_eq!(cents(pnl["net_profit"].as_str().unwrap()), income - expense, "{pnl}");
    let sheet =
        k.get(&format!("{F}/reports/balance-sheet?as_of=2026-12-31")).await.expect(200).clone();
    assert_eq!(sheet["balanced"], true);
    assert_eq!(cents(sheet["unclosed_earnings"].as_str().unwrap()), income - expense);

    // The year end: income and expense into retained earnings.
    let closed = k
        .post(&format!("{F}/fiscal-years/2026/close"), json!({ "retained_earnings": "3100" }))
        .await;
    assert_eq!(closed.expect(200)["state"], "closed");
    let mut closing: Vec<(&'static str, i64)> = Vec::new();
    for account in ["4000", "4950", "6100", "6200", "6300", "6900"] {
        closing.push((account, -books.of(account)));
    }
    closing.push(("3100", -(income - expense)));
    books.post(&closing);
    agree(&k, &books, "2026-12-31").await;
    // Its profit still reads as it was.
    let pnl = k
        .get(&format!("{F}/reports/profit-and-loss?from=2026-01-01&to=2026-12-31"))
        .await
        .expect(200)
        .clone();
    assert_eq!(cents(pnl["net_profit"].as_str().unwrap()), income - expense);

    // Next year opens on the balances carried forward, with the
    // revaluation undone on 1 January.
    books.post(&[("1200", -difference), ("4950", difference)]);
    agree(&k, &books, "2027-01-01").await;
    let opening =
        k.get(&format!("{F}/reports/balance-sheet?as_of=2027-01-01")).await.expect(200).clone();
    assert_eq!(
        cents(opening["assets"]["total"].as_str().unwrap()),
        books.of("1100") + books.of("1200") + books.of("1300") + books.of("1450")
    );
    assert_eq!(
        opening["equity"]["lines"],
        json!([
            { "account": "3000", "amount": "20000.00", "name": "Owner's capital" },
            { "account": "3100", "amount": format!("{}.{:02}", (income - expense) / 100, (income - expense) % 100), "name": "Retained earnings" },
        ])
    );
    // Nothing can be posted into the closed year any more.
    let late =
        entry("2026-12-15", "Late", &[("6200", "debit", "10.00"), ("1100", "credit", "10.00")]);
    k.post(&format!("{F}/entries"), late).await.expect_problem(422, "invalid");
    agree(&k, &books, "2027-12-31").await;
    k.stop().await;
}
