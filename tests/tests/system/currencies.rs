//! Finance in foreign currencies through the gateway: exchange rates,
//! entries, invoices, receipts and payables in USD on books kept in EUR,
//! realised differences, and the month-end revaluation.

use keel_tests::{Reply, Setup, TestKernel};
use serde_json::{Value, json};

const F: &str = "/api/demo/finance";

async fn books() -> TestKernel {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let usd_bank =
        json!({ "code": "1110", "name": "Bank USD", "type": "asset", "currency": "USD" });
    k.post(&format!("{F}/accounts"), usd_bank).await.expect(201);
    k.post(&format!("{F}/customers"), json!({ "code": "ACME", "name": "Acme Inc" }))
        .await
        .expect(201);
    k
}

/// Imports rates as a CSV file, sent as the body.
async fn import_rates(k: &TestKernel, csv: &str) -> Reply {
    let request = k.request(reqwest::Method::POST, &format!("{F}/exchange-rates/import"));
    Reply::from(
        request.header("content-type", "text/csv").body(csv.to_owned()).send().await.unwrap(),
    )
    .await
}

async fn balance(k: &TestKernel, account: &str, as_of: Option<&str>) -> Value {
    let query = as_of.map(|d| format!("?as_of={d}")).unwrap_or_default();
    k.get(&format!("{F}/accounts/{account}/balance{query}")).await.expect(200).clone()
}

async fn amount(k: &TestKernel, account: &str, as_of: Option<&str>) -> String {
    balance(k, account, as_of).await["balance"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_company_currency_and_accounts_kept_in_another() {
    let k = books().await;
    let settings = k.get(&format!("{F}/settings")).await.expect(200).clone();
    assert_eq!(
        settings,
        json!({ "currency": "EUR", "exchange_gain_account": "4950", "exchange_loss_account": "6950" })
    );
    // Results are the company's; only assets and liabilities are kept in
    // another currency.
    let sales_usd =
        json!({ "code": "4010", "name": "Sales USD", "type": "income", "currency": "USD" });
    let detail = k.post(&format!("{F}/accounts"), sales_usd).await.expect_problem(422, "invalid");
    assert!(detail.contains("only assets and liabilities"), "{detail}");
    // Exchange differences go to an income and an expense account.
    let wrong = json!({ "exchange_gain_account": "1100" });
    let detail =
        k.send("PUT", &format!("{F}/settings"), Some(wrong)).await.expect_problem(422, "invalid");
    assert!(detail.contains("an income account; 1100 is asset"), "{detail}");
    // The currency is fixed once the chart has accounts.
    let entry = json!({ "date": "2026-03-02", "lines": [
        { "account": "1100", "debit": "10.00" }, { "account": "3000", "credit": "10.00" } ] });
    k.post(&format!("{F}/entries"), entry).await.expect(201);
    let usd = json!({ "currency": "USD" });
    let detail =
        k.send("PUT", &format!("{F}/settings"), Some(usd)).await.expect_problem(422, "invalid");
    assert!(detail.contains("cannot change"), "{detail}");
    // A rate of the company's own currency is refused.
    let eur = json!({ "currency": "EUR", "date": "2026-03-01", "rate": "1" });
    k.post(&format!("{F}/exchange-rates"), eur).await.expect_problem(422, "invalid");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_items_post_at_their_rates_settle_with_realised_differences_and_revalue() {
    let k = books().await;
    // Rates: EUR for one USD.
    let imported = import_rates(
        &k,
        "currency,date,rate\nUSD,2026-03-01,0.90\nUSD,2026-03-20,0.95\nUSD,2026-03-31,0.93\n",
    )
    .await;
    assert_eq!(imported.expect(201)["imported"], 3);
    let bad = import_rates(&k, "currency,date,rate\nUSD,2026-04-01,0.9\nUSD,2026-04-02,-1\n").await;
    assert!(bad.expect_problem(422, "invalid").contains("row 3"));
    let listed = k.get(&format!("{F}/exchange-rates?currency=USD&from=2026-03-02")).await;
    assert_eq!(listed.expect(200)["rates"].as_array().unwrap().len(), 2, "none of April's kept");

    // A date with no rate in the month before it is refused, and posts
    // nothing.
    let early = json!({ "date": "2026-02-27", "currency": "USD", "lines": [
        { "account": "1110", "debit": "100.00" }, { "account": "3000", "credit": "100.00" } ] });
    let detail = k.post(&format!("{F}/entries"), early).await.expect_problem(422, "invalid");
    assert!(detail.contains("no USD exchange rate on 2026-02-27"), "{detail}");
    assert_eq!(amount(&k, "3000", None).await, "0");

    // The owner pays in USD 2,000.00 at 0.90: 1,800.00.
    let capital = json!({ "date": "2026-03-02", "memo": "Capital", "currency": "USD", "lines": [
        { "account": "1110", "debit": "2000.00" }, { "account": "3000", "credit": "2000.00" } ] });
    let posted = k.post(&format!("{F}/entries"), capital).await.expect(201).clone();
    assert_eq!(
        (posted["currency"].as_str(), posted["total"].as_str()),
        (Some("USD"), Some("1800.00"))
    );
    assert_eq!(
        posted["lines"][0],
        json!({ "account": "1110", "debit": "1800.00",
                "foreign": { "currency": "USD", "amount": "2000.00", "rate": "0.90" } })
    );
    let bank = balance(&k, "1110", None).await;
    assert_eq!(
        (bank["currency"].as_str(), bank["balance"].as_str()),
        (Some("EUR"), Some("1800.00"))
    );
    assert_eq!(bank["foreign"]["balance"], "2000.00");
    // An account kept in USD takes no EUR line.
    let eur_line = json!({ "date": "2026-03-02", "lines": [
        { "account": "1110", "debit": "1.00" }, { "account": "3000", "credit": "1.00" } ] });
    let detail = k.post(&format!("{F}/entries"), eur_line).await.expect_problem(422, "invalid");
    assert!(detail.contains("account 1110 is kept in USD"), "{detail}");

    // An invoice of USD 1,000.00 on 5 March posts at 0.90.
    let invoice = json!({ "customer": "ACME", "date": "2026-03-05", "currency": "USD",
        "lines": [{ "account": "4000", "quantity": "4", "unit_price": "250" }] });
    let draft = k.post(&format!("{F}/invoices"), invoice).await.expect(201).clone();
    let id = draft["id"].as_str().unwrap().to_owned();
    let invoice = k.post(&format!("{F}/invoices/{id}/post"), json!({})).await.expect(200).clone();
    assert_eq!(
        (invoice["currency"].as_str(), invoice["rate"].as_str(), invoice["total"].as_str()),
        (Some("USD"), Some("0.90"), Some("1000.00"))
    );
    assert_eq!(invoice["carried"], "900.00");
    assert_eq!(amount(&k, "1200", None).await, "900.00");
    assert_eq!(amount(&k, "4000", None).await, "900.00");

    // USD 600.00 received on 20 March at 0.95 into the USD bank: 570.00
    // received against 540.00 carried (600 at 0.90), 30.00 gained.
    let receipt = json!({ "customer": "ACME", "date": "2026-03-20", "amount": "600.00",
        "account": "1110", "allocations": [{ "invoice": id, "amount": "600.00" }] });
    let receipt = k.post(&format!("{F}/receipts"), receipt).await.expect(201).clone();
    assert_eq!(
        (receipt["rate"].as_str(), receipt["exchange_difference"].as_str()),
        (Some("0.95"), Some("30.00"))
    );
    assert_eq!(amount(&k, "4950", None).await, "30.00");
    assert_eq!(amount(&k, "1200", None).await, "360.00");
    let invoice = k.get(&format!("{F}/invoices/{id}")).await.expect(200).clone();
    assert_eq!(
        (invoice["open"].as_str(), invoice["carried"].as_str()),
        (Some("400.00"), Some("360.00"))
    );

    // Month end at 0.93: the invoice's USD 400 are 372.00 (12.00 more than
    // carried), and the bank's USD 2,600 are 2,418.00 (48.00 more than
    // 1,800.00 + 570.00).
    let detail = k
        .post(&format!("{F}/revaluations"), json!({ "date": "2026-03-30" }))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("last day of a month"), "{detail}");
    let revalued = k
        .post(&format!("{F}/revaluations"), json!({ "date": "2026-03-31" }))
        .await
        .expect(201)
        .clone();
    assert_eq!(revalued["net"], "60.00");
    let differences: Vec<(&str, &str)> = revalued["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["account"].as_str().unwrap(), i["difference"].as_str().unwrap()))
        .collect();
    assert_eq!(differences, [("1200", "12.00"), ("1110", "48.00")]);
    assert_eq!(amount(&k, "1110", Some("2026-03-31")).await, "2418.00");
    assert_eq!(amount(&k, "1200", Some("2026-03-31")).await, "372.00");
    assert_eq!(amount(&k, "4950", Some("2026-03-31")).await, "90.00");
    // ...and undone on 1 April, so items settle at the rates they were
    // booked at.
    let reversal = revalued["reversal_entries"][0].as_u64().unwrap();
    let reversal = k.get(&format!("{F}/entries/{reversal}")).await.expect(200).clone();
    assert_eq!(reversal["date"], "2026-04-01");
    assert_eq!(amount(&k, "1110", Some("2026-04-01")).await, "2370.00");
    k.post(&format!("{F}/revaluations"), json!({ "date": "2026-03-31" }))
        .await
        .expect_problem(409, "conflict");
    let csv = k.request(reqwest::Method::GET, &format!("{F}/revaluations/2026-03-31?format=csv"));
    let csv = csv.send().await.unwrap().text().await.unwrap();
    assert!(
        csv.starts_with("Item,Account,Currency,Open,Carrying,Rate,Revalued,Difference"),
        "{csv}"
    );

    // The rest, USD 400.00, at an agreed 0.92 into the EUR bank: 368.00
    // against the 360.00 still carried, 8.00 gained; the invoice is paid.
    let rest = json!({ "customer": "ACME", "date": "2026-04-10", "amount": "400.00", "rate": "0.92",
        "allocations": [{ "invoice": id, "amount": "400.00" }] });
    let rest = k.post(&format!("{F}/receipts"), rest).await.expect(201).clone();
    assert_eq!(rest["exchange_difference"], "8.00");
    let invoice = k.get(&format!("{F}/invoices/{id}")).await.expect(200).clone();
    assert_eq!(
        (invoice["status"].as_str(), invoice["carried"].as_str()),
        (Some("paid"), Some("0.00"))
    );
    assert_eq!(amount(&k, "1200", None).await, "0.00");
    assert_eq!(amount(&k, "1100", None).await, "368.00");

    // A supplier's USD 100.00 invoice on 2 April takes 31 March's 0.93
    // (93.00); paid on 10 April at 0.95: 95.00, 2.00 lost.
    let payable = json!({ "supplier": "SHIPCO", "invoice": "S-1", "date": "2026-04-02",
        "due": "2026-05-02", "currency": "USD", "lines": [{ "account": "6300", "debit": "100.00" }] });
    let payable = k.post(&format!("{F}/payables"), payable).await.expect(201).clone();
    assert_eq!(
        (payable["rate"].as_str(), payable["carried"].as_str()),
        (Some("0.93"), Some("93.00"))
    );
    let number = payable["number"].as_str().unwrap();
    let paid = json!({ "amount": "100.00", "date": "2026-04-10", "rate": "0.95" });
    let paid = k.post(&format!("{F}/payables/{number}/payments"), paid).await.expect(201).clone();
    assert_eq!(paid["payments"][0]["exchange_difference"], "-2.00");
    assert_eq!(amount(&k, "6950", None).await, "2.00");
    assert_eq!(amount(&k, "2000", None).await, "0.00");

    // Gains 30 + 60 - 60 + 8 = 38.00, losses 2.00; every figure in EUR, and
    // the books balance.
    assert_eq!(amount(&k, "4950", None).await, "38.00");
    let pnl = k.get(&format!("{F}/reports/profit-and-loss?from=2026-03-01&to=2026-04-30")).await;
    let pnl = pnl.expect(200).clone();
    assert_eq!(pnl["currency"], "EUR");
    // Sales 900.00 + gains 38.00 - supplies 93.00 - losses 2.00.
    assert_eq!(pnl["net_profit"], "843.00", "{pnl}");
    let tb = k.get(&format!("{F}/reports/trial-balance")).await.expect(200).clone();
    assert_eq!(tb["totals"][0]["balanced"], true, "{tb}");
    k.get(&format!("{F}/reports/balance-sheet?currency=USD")).await.expect_problem(422, "invalid");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revaluation_restates_what_was_open_at_its_date_one_entry_per_currency() {
    let k = books().await;
    let pounds = json!({ "code": "1120", "name": "Bank GBP", "type": "asset", "currency": "GBP" });
    k.post(&format!("{F}/accounts"), pounds).await.expect(201);
    let rates = "currency,date,rate\nUSD,2026-03-01,0.90\nGBP,2026-03-01,1.10\nUSD,2026-03-31,0.93\nGBP,2026-03-31,1.20\nUSD,2026-04-10,0.95\n";
    import_rates(&k, rates).await.expect(201);
    for (account, currency) in [("1110", "USD"), ("1120", "GBP")] {
        let capital = json!({ "date": "2026-03-02", "currency": currency, "lines": [
            { "account": account, "debit": "1000.00" }, { "account": "3000", "credit": "1000.00" } ] });
        k.post(&format!("{F}/entries"), capital).await.expect(201);
    }
    // USD 1,000.00 invoiced on 5 March (900.00), paid in full on 10 April.
    let invoice = json!({ "customer": "ACME", "date": "2026-03-05", "currency": "USD",
        "lines": [{ "account": "4000", "quantity": "1", "unit_price": "1000.00" }] });
    let id = k.post(&format!("{F}/invoices"), invoice).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    k.post(&format!("{F}/invoices/{id}/post"), json!({})).await.expect(200);
    let paid = json!({ "customer": "ACME", "date": "2026-04-10", "amount": "1000.00",
        "allocations": [{ "invoice": id, "amount": "1000.00" }] });
    k.post(&format!("{F}/receipts"), paid).await.expect(201);

    // March's end, revalued after April's receipt: the invoice was open on
    // 31 March (930.00 against 900.00), the dollars are worth 930.00
    // (against 900.00), the pounds 1,200.00 (against 1,100.00).
    let revalued = k
        .post(&format!("{F}/revaluations"), json!({ "date": "2026-03-31" }))
        .await
        .expect(201)
        .clone();
    let differences: Vec<(&str, &str)> = revalued["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["what"].as_str().unwrap(), i["difference"].as_str().unwrap()))
        .collect();
    assert_eq!(
        differences,
        [
            ("account 1120", "100.00"),
            ("invoice CI-000001 (SAL/2026/0001)", "30.00"),
            ("account 1110", "30.00")
        ]
    );
    assert_eq!(revalued["net"], "160.00");
    let entries = revalued["journal_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "one entry per currency: {revalued}");
    for number in entries {
        let entry = k.get(&format!("{F}/entries/{number}")).await.expect(200).clone();
        let currencies: Vec<&str> = entry["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l["foreign"]["currency"].as_str())
            .collect();
        assert!(currencies.windows(2).all(|w| w[0] == w[1]), "{entry}");
    }
    assert_eq!(amount(&k, "4950", Some("2026-03-31")).await, "160.00");
    assert_eq!(amount(&k, "1120", Some("2026-03-31")).await, "1200.00");
    k.stop().await;
}
