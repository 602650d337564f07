//! Domain interfaces (`keel:erp`): one plugin calling another through the
//! kernel, inside the caller's transaction.

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const CLIENT: &str = "/api/demo/ledger-client";

fn entry(memo: &str, amount: &str) -> Value {
    json!({
        "date": "2026-03-01",
        "memo": memo,
        "lines": [
            { "account": "1100", "debit": amount, "cost_centre": "ENG" },
            { "account": "3000", "credit": amount },
        ],
    })
}

async fn audit(k: &TestKernel, tenant: &str) -> Vec<Value> {
    let reply = k.get(&format!("/admin/tenants/{tenant}/audit?limit=1000")).await;
    reply.expect(200)["entries"].as_array().unwrap().clone()
}

async fn journal(k: &TestKernel) -> Vec<Value> {
    k.get("/api/demo/finance/entries").await.expect(200)["entries"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_posts_through_the_ledger_provider_in_its_own_transaction() {
    let k = TestKernel::start(Setup::new(&["finance", "ledger-client"])).await;
    k.post("/api/demo/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);

    // Posted by the provider, in the provider's own books.
    let posted = k.post(&format!("{CLIENT}/post"), entry("through the client", "250.00")).await;
    let request_id = posted.request_id.clone().unwrap();
    assert_eq!(posted.expect(201)["number"], 1);
    let journal = journal(&k).await;
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0]["memo"], "through the client");
    assert_eq!(journal[0]["reference"], "ledger-client");
    let lines = &journal[0]["lines"];
    assert_eq!(lines[0]["cost_centre"], "ENG", "the ledger keeps a line's cost centre: {lines}");
    assert!(lines[1].get("cost_centre").is_none(), "{lines}");
    let balance = k.get(&format!("{CLIENT}/balance/1100")).await;
    assert_eq!(balance.expect(200)["balance"], "250.00", "read through the provider in a GET");

    // One request: the provider's writes, the mediated call, the consumer's write.
    let trail = audit(&k, "demo").await;
    let call: Vec<(String, String)> = trail
        .iter()
        .filter(|e| e["record"]["request_id"].as_str() == Some(&request_id))
        .map(|e| {
            let record = &e["record"];
            let plugin = record["plugin"].as_str().unwrap_or_default();
            (
                format!("{plugin} {}", record["action"].as_str().unwrap()),
                record["actor"].to_string(),
            )
        })
        .collect();
    let actions: Vec<&str> = call.iter().map(|(action, _)| action.as_str()).collect();
    assert!(actions.contains(&"finance record.insert"), "{actions:?}");
    assert!(actions.contains(&"finance finance.entry.posted"), "{actions:?}");
    assert!(actions.contains(&"ledger-client interface.call"), "{actions:?}");
    assert_eq!(actions.last(), Some(&"ledger-client record.put"), "{actions:?}");
    assert!(call.iter().all(|(_, actor)| actor == "\"admin\""), "{call:?}");
    let mediated = trail.iter().find(|e| e["record"]["action"] == "interface.call").unwrap();
    let finance = keel_tests::bundled_version("finance");
    assert_eq!(
        mediated["record"]["detail"],
        format!("keel:erp/ledger@0.3.0 post, provided by finance {finance}")
    );

    // The consumer fails after the provider posted: neither is kept, and
    // the journal number is not used up.
    k.post(&format!("{CLIENT}/post-then-fail"), entry("kept by nobody", "10.00"))
        .await
        .expect_problem(422, "invalid");
    assert_eq!(self::journal(&k).await.len(), 1);
    let notes = k.get(&format!("{CLIENT}/notes")).await;
    assert!(notes.expect(200).get("failed").is_none());

    // The provider refuses (an unbalanced entry): the consumer sees why.
    let unbalanced = json!({
        "date": "2026-03-02", "memo": "unbalanced",
        "lines": [{ "account": "1100", "debit": "5.00" }, { "account": "3000", "credit": "4.00" }],
    });
    let refused = k.post(&format!("{CLIENT}/post"), unbalanced).await;
    assert!(refused.expect_problem(422, "invalid").contains("balance"));
    let mut badly_kept = entry("a cost centre that is no code", "1.00");
    badly_kept["lines"][0]["cost_centre"] = json!("eng ops");
    let refused = k.post(&format!("{CLIENT}/post"), badly_kept).await;
    let detail = refused.expect_problem(422, "invalid");
    assert!(detail.contains("line 1: cost centre code \"eng ops\""), "{detail}");
    assert_eq!(
        k.post(&format!("{CLIENT}/post"), entry("second", "1.00")).await.expect(201)["number"],
        2
    );

    // A read-only call cannot write through a provider either.
    k.get(&format!("{CLIENT}/post-in-a-read")).await.expect_problem(403, "denied");
    assert_eq!(self::journal(&k).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_refuses_is_undone_alone_and_one_that_traps_fails_the_whole_call() {
    let mut setup = Setup::new(&["ledger-rogue", "ledger-client"]);
    setup.tenants = vec!["demo"];
    let k = TestKernel::start(setup).await;
    let written = async |k: &TestKernel| {
        k.get("/api/demo/ledger-rogue/written").await.expect(200)["written"].clone()
    };

    k.post(&format!("{CLIENT}/post"), entry("fine", "1.00")).await.expect(201);
    assert_eq!(written(&k).await, json!(["000001-fine"]));

    // Refused after writing: its write is undone, the consumer's stays.
    let ignored = k.post(&format!("{CLIENT}/post-ignoring-refusal"), entry("refuse", "1.00")).await;
    assert!(ignored.expect(201)["refused"].as_str().unwrap().contains("refused after writing"));
    assert_eq!(written(&k).await, json!(["000001-fine"]), "the provider's write undone");
    let notes = k.get(&format!("{CLIENT}/notes")).await;
    let kept = notes.expect(200)["ignored"].clone();
    assert!(kept["refused"].is_string(), "the consumer's write kept: {kept}");

    // Refused, and the consumer returns the error: nothing is kept.
    k.post(&format!("{CLIENT}/post"), entry("refuse", "1.00")).await.expect_problem(422, "invalid");

    // A trap in the provider fails the consumer's whole call, even one
    // that would have carried on past an error.
    let trapped = k.post(&format!("{CLIENT}/post-ignoring-refusal"), entry("trap", "1.00")).await;
    let detail = trapped.expect_problem(500, "plugin-trapped");
    assert!(detail.contains("ledger-rogue"), "{detail}");
    assert_eq!(written(&k).await, json!(["000001-fine"]));
    let notes = k.get(&format!("{CLIENT}/notes")).await;
    assert_eq!(notes.expect(200)["ignored"], kept, "the consumer's write undone with the call");

    // The sequence number the refused and trapped calls took was given back.
    k.post(&format!("{CLIENT}/post"), entry("again", "1.00")).await.expect(201);
    assert_eq!(written(&k).await, json!(["000001-fine", "000002-again"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_spends_its_callers_event_budget_not_a_fresh_one() {
    let k = TestKernel::start(Setup::new(&["ledger-rogue", "ledger-client"])).await;
    let max = keel_types::Limits::default().events_per_call_max;
    let post = async |events: u32, provider_events: u32| {
        // A new batch of keys each time: a key published again is no new event.
        let batch = format!("{events}-{provider_events}");
        let path = format!("{CLIENT}/post-after-publishing?events={events}&batch={batch}");
        k.post(&path, entry(&format!("publish:{provider_events}"), "1.00")).await
    };
    // Each alone may publish the whole budget; together they may not.
    post(max, 0).await.expect(201);
    post(0, max).await.expect(201);
    let detail = post(max / 2, max / 2 + 1).await.expect_problem(422, "limit-exceeded");
    assert!(detail.contains(&format!("{max} events")), "{detail}");
    let written = k.get("/api/demo/ledger-rogue/written").await;
    assert_eq!(written.expect(200)["written"].as_array().unwrap().len(), 2, "nothing kept");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_chooses_its_provider_and_the_choice_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::new(&["finance", "ledger-client", "ledger-rogue"]);
    setup.tenants = Vec::new();
    let k = TestKernel::start_in(dir.path(), setup).await;
    k.post("/admin/tenants", json!({ "id": "acme", "name": "Acme" })).await.expect(201);
    let enable = async |k: &TestKernel, plugin: &str| {
        k.send("PUT", &format!("/admin/tenants/acme/plugins/{plugin}"), None).await
    };
    let ledger = async |k: &TestKernel| {
        let reply = k.get("/admin/tenants/acme/providers").await;
        let providers = reply.expect(200)["providers"].as_array().unwrap().clone();
        providers.into_iter().find(|p| p["interface"] == "keel:erp/ledger@0.3.0").unwrap()
    };
    let client = "/api/acme/ledger-client";

    // A consumer needs a provider first.
    let refused = enable(&k, "ledger-client").await;
    let detail = refused.expect_problem(409, "conflict");
    assert!(detail.contains("requires keel:erp/ledger@0.3.0"), "{detail}");

    // The first provider enabled is chosen; a second one is only a candidate.
    enable(&k, "ledger-rogue").await.expect(200);
    enable(&k, "ledger-client").await.expect(200);
    enable(&k, "finance").await.expect(200);
    k.post("/api/acme/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);
    assert_eq!(
        ledger(&k).await,
        json!({
            "interface": "keel:erp/ledger@0.3.0",
            "provider": "ledger-rogue",
            "candidates": ["finance", "ledger-rogue"],
            "consumers": ["ledger-client"],
        })
    );
    k.post(&format!("{client}/post"), entry("to the rogue", "1.00")).await.expect(201);
    let written = k.get("/api/acme/ledger-rogue/written").await;
    assert_eq!(written.expect(200)["written"], json!(["000001-to the rogue"]));

    // The swap: the same consumer now posts to finance.
    let chosen = k
        .send(
            "PUT",
            "/admin/tenants/acme/providers",
            Some(json!({ "interface": "keel:erp/ledger@0.3.0", "plugin": "finance" })),
        )
        .await;
    assert_eq!(chosen.expect(200)["provider"], "finance");
    k.post(&format!("{client}/post"), entry("to finance", "2.00")).await.expect(201);
    let entries = k.get("/api/acme/finance/entries").await;
    assert_eq!(entries.expect(200)["entries"][0]["memo"], "to finance");

    // Bad choices change nothing.
    let choose = async |k: &TestKernel, interface: &str, plugin: &str| {
        let body = json!({ "interface": interface, "plugin": plugin });
        k.send("PUT", "/admin/tenants/acme/providers", Some(body)).await
    };
    choose(&k, "keel:erp/ledger@9.0.0", "finance").await.expect_problem(422, "invalid");
    choose(&k, "keel:erp/ledger@0.3.0", "ledger-client").await.expect_problem(422, "invalid");
    choose(&k, "keel:erp/stock@0.3.0", "finance").await.expect_problem(422, "invalid");
    k.send("DELETE", "/admin/tenants/acme/plugins/ledger-rogue", None).await.expect(204);
    choose(&k, "keel:erp/ledger@0.3.0", "ledger-rogue").await.expect_problem(409, "conflict");

    // A provider in use cannot be disabled.
    let in_use = k.send("DELETE", "/admin/tenants/acme/plugins/finance", None).await;
    assert!(in_use.expect_problem(409, "conflict").contains("provides keel:erp/ledger@0.3.0"));

    // Every choice is on the tenant's trail.
    let details: Vec<String> = audit(&k, "acme")
        .await
        .iter()
        .filter(|e| e["record"]["action"] == "provider.choose")
        .map(|e| e["record"]["detail"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        details,
        [
            "ledger-rogue provides keel:erp/ledger@0.3.0 (was none)",
            "finance provides keel:erp/ledger@0.3.0 (was ledger-rogue)",
        ]
    );

    k.stop().await;
    let mut setup = Setup::new(&["finance", "ledger-client", "ledger-rogue"]);
    setup.tenants = Vec::new();
    let k = TestKernel::start_in(dir.path(), setup).await;
    assert_eq!(ledger(&k).await["provider"], "finance");
    assert_eq!(
        k.post(&format!("{client}/post"), entry("after restart", "3.00")).await.expect(201)["number"],
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_and_the_providers_it_calls_share_one_memory_limit() {
    let mut setup = Setup::new(&["ledger-rogue", "ledger-client"]);
    setup.memory_bytes_max = 64 * 1024 * 1024;
    let k = TestKernel::start(setup).await;
    let holding = |mib: u32| format!("{CLIENT}/post-holding?mib={mib}");

    // 20 MiB in the consumer and 20 in the provider fit in 64 together.
    let fits = k.post(&holding(20), entry("hold:20", "1.00")).await;
    assert_eq!(fits.expect(201)["held"], 20);
    // 40 and 40 would each fit alone, but not together.
    let detail = k
        .post(&holding(40), entry("hold:40", "1.00"))
        .await
        .expect_problem(500, "plugin-memory-limit");
    assert!(detail.contains("ledger-rogue"), "the provider that asked is named: {detail}");
    // Nothing of the failed call stays, and the next call has the whole limit again.
    let written = k.get("/api/demo/ledger-rogue/written").await;
    assert_eq!(written.expect(200)["written"].as_array().unwrap().len(), 1);
    k.post(&holding(20), entry("hold:20", "1.00")).await.expect(201);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_posts_in_a_currency_checks_periods_bills_customers_and_reads_statements() {
    let k = TestKernel::start(Setup::new(&["finance", "ledger-client"])).await;
    const F: &str = "/api/demo/finance";
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    k.post(
        &format!("{F}/exchange-rates"),
        json!({ "currency": "USD", "date": "2026-03-01", "rate": "0.80" }),
    )
    .await
    .expect(201);
    k.post(&format!("{F}/customers"), json!({ "code": "ACME", "name": "Acme" })).await.expect(201);

    // Without fiscal years the ledger keeps no periods; with them, a
    // closed month is refused by name.
    let open = k.get(&format!("{CLIENT}/period/2026-03-10")).await.expect(200).clone();
    assert_eq!(open, json!({ "period": null, "currency": "EUR" }));
    k.post(
        &format!("{F}/fiscal-years"),
        json!({ "code": "2026", "start": "2026-01-01", "end": "2026-12-31" }),
    )
    .await
    .expect(201);
    let open = k.get(&format!("{CLIENT}/period/2026-03-10")).await.expect(200).clone();
    assert_eq!(open["period"], "2026-03");
    k.post(&format!("{F}/periods/2026-02/close"), json!({})).await.expect(200);
    let closed = k.get(&format!("{CLIENT}/period/2026-02-10")).await;
    assert!(closed.expect_problem(422, "invalid").contains("2026-02"));

    // An entry in USD, converted by the ledger at its rate.
    let mut usd = entry("in dollars", "100.00");
    usd["currency"] = json!("USD");
    usd["date"] = json!("2026-03-01");
    let posted = k.post(&format!("{CLIENT}/post"), usd).await.expect(201)["number"].clone();
    let posted = k.get(&format!("{F}/entries/{posted}")).await.expect(200).clone();
    assert_eq!(
        (posted["currency"].as_str(), posted["total"].as_str()),
        (Some("USD"), Some("80.00"))
    );

    // An invoice billed by another module, in USD and posted at once; a
    // draft left for review.
    let billed = json!({ "customer": "ACME", "date": "2026-03-05", "currency": "USD", "amount": "50.00", "post": true });
    let billed = k.post(&format!("{CLIENT}/invoice"), billed).await.expect(201).clone();
    assert_eq!(
        (billed["status"].as_str(), billed["number"].as_str(), billed["open"].as_str()),
        (Some("open"), Some("SAL/2026/0001"), Some("50.00"))
    );
    let draft = json!({ "customer": "ACME", "date": "2026-03-05", "currency": null, "amount": "10.00", "post": false });
    let draft = k.post(&format!("{CLIENT}/invoice"), draft).await.expect(201).clone();
    assert_eq!((draft["status"].as_str(), draft["number"].as_str()), (Some("draft"), None));
    let nobody = json!({ "customer": "NOBODY", "date": "2026-03-05", "currency": null, "amount": "1", "post": true });
    k.post(&format!("{CLIENT}/invoice"), nobody).await.expect_problem(422, "invalid");

    // The statements' figures: sales of USD 50 at 0.80 = 40.00.
    let figures = k.get(&format!("{CLIENT}/statement?from=2026-03-01&to=2026-03-31")).await;
    let figures = figures.expect(200).clone();
    assert_eq!(
        (figures["income"].as_str(), figures["net_profit"].as_str(), figures["assets"].as_str()),
        (Some("40.00"), Some("40.00"), Some("120.00")),
        "{figures}"
    );
    assert_eq!(figures["equity"], "120.00", "capital 80.00 and the profit not closed");
    assert!(
        figures["accounts"]
            .as_array()
            .unwrap()
            .contains(&json!({ "account": "1200", "amount": "40.00" }))
    );
    k.stop().await;
}
