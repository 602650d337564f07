//! A service desk's day, through HTTP, on a clock the test moves: an
//! incident raised and prioritised by the matrix, assigned, paused while
//! pending, breached on a business calendar (the kernel's timer, not
//! polling, publishes it), resolved, reopened and closed; a problem
//! grouping three incidents; a normal change through its advisory board,
//! with self-approval refused; the impact of a server outage.

use std::time::{Duration, Instant};

use keel_tests::{MovedClock, Setup, TestKernel};
use serde_json::{Value, json};

const HR: &str = "/api/demo/hr";
const DESK: &str = "/api/demo/itsm";
/// Monday 7 December 2026, 09:00 in Paris (08:00 UTC).
const MONDAY_9: i64 = 1_796_630_400;
const HOUR: i64 = 3600;

fn person(id: &str, user: &str, department: &str) -> Value {
    json!({
        "id": id,
        "name": format!("Person {id}"),
        "email": format!("{user}@example.com"),
        "department": department,
        "position": "Staff",
        "user": user,
        "hired": "2026-01-05",
        "personal": {
            "national_id": format!("NI-{id}"),
            "bank_account": "FR76 3000 6000 0112 3456 7890 189",
            "address": "1 rue de Rivoli, Paris",
            "date_of_birth": "1990-01-01",
        },
        "contract": { "base_pay": "3000.00", "currency": "EUR" },
    })
}

/// The events `topic` published so far, from the audit trail.
async fn published(k: &TestKernel, topic: &str) -> Vec<String> {
    let reply = k.get("/admin/tenants/demo/audit?limit=1000").await;
    let entries = reply.expect(200)["entries"].as_array().unwrap().clone();
    entries
        .iter()
        .filter(|e| e["record"]["action"] == "event.publish")
        .filter_map(|e| e["record"]["detail"].as_str())
        .filter(|d| d.contains(&format!(" {topic} ")))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_desks_day() {
    let clock = MovedClock::at(MONDAY_9);
    let mut setup = Setup::new(&["finance", "hr", "itsm"]);
    setup.clock = Some(clock.clone());
    let k = TestKernel::start(setup).await;
    let officer = k.user_with_roles("olga", "demo", &["hr-officer"]).await;
    let admin = k.user_with_roles("ada", "demo", &["itsm-admin"]).await;
    let amy = k.user_with_roles("amy", "demo", &["service-desk-agent"]).await;
    let rob = k.user_with_roles("rob", "demo", &["itsm-requester"]).await;
    let send = |token: &str, method: &'static str, path: String, body: Option<Value>| {
        let (k, token) = (&k, token.to_owned());
        async move { k.send_as(Some(&token), method, &path, body).await }
    };

    // The organisation, from HR: the desk is a unit, its agents its people.
    for department in [
        json!({"id": "CO", "name": "Company"}),
        json!({"id": "IT-OPS", "name": "Service desk", "parent": "CO"}),
    ] {
        send(&officer, "POST", format!("{HR}/departments"), Some(department)).await.expect(201);
    }
    for (id, user, unit) in [("E-AMY", "amy", "IT-OPS"), ("E-ROB", "rob", "CO")] {
        send(&officer, "POST", format!("{HR}/employees"), Some(person(id, user, unit)))
            .await
            .expect(201);
    }

    // Office hours in Paris, and two policies: priority 1 and the rest.
    let office = json!({
        "time_zone": "Europe/Paris",
        "week": {
            "monday": [{"from": "09:00", "to": "17:00"}],
            "tuesday": [{"from": "09:00", "to": "17:00"}],
            "wednesday": [{"from": "09:00", "to": "17:00"}],
            "thursday": [{"from": "09:00", "to": "17:00"}],
            "friday": [{"from": "09:00", "to": "17:00"}],
        },
        "holidays": ["2026-12-25"],
    });
    send(&admin, "PUT", format!("{DESK}/calendars/PARIS"), Some(office)).await.expect(200);
    let policy = |id: &str, priorities: Value, own: i64, resolve: i64| {
        json!({
            "id": id, "priorities": priorities, "own_minutes": own,
            "resolve_minutes": resolve, "calendar": "PARIS", "warn_percent": 75,
        })
    };
    for body in [policy("P1", json!([1]), 30, 240), policy("P9-ANY", json!([]), 120, 1440)] {
        let path = format!("{DESK}/sla-policies/{}", body["id"].as_str().unwrap());
        send(&admin, "PUT", path, Some(body)).await.expect(200);
    }
    let bad = json!({"id": "BAD", "own_minutes": 30, "resolve_minutes": 60, "calendar": "MARS"});
    let detail = send(&admin, "PUT", format!("{DESK}/sla-policies/BAD"), Some(bad))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("calendar MARS does not exist"), "{detail}");

    // The estate: mail runs on a server; the mail service depends on it.
    for (id, class, name) in [
        ("SRV-MAIL01", "server", "Mail server"),
        ("APP-EXCHANGE", "application", "Exchange"),
        ("SVC-MAIL", "service", "E-mail"),
        ("SVC-WEB", "service", "Intranet"),
    ] {
        let body = json!({"class": class, "name": name});
        send(&amy, "PUT", format!("{DESK}/cis/{id}"), Some(body)).await.expect(200);
    }
    for (from, kind, to) in
        [("APP-EXCHANGE", "runs-on", "SRV-MAIL01"), ("SVC-MAIL", "depends-on", "APP-EXCHANGE")]
    {
        let body = json!({"from": from, "kind": kind, "to": to});
        send(&amy, "POST", format!("{DESK}/ci-relations"), Some(body)).await.expect(201);
    }
    let wrong = json!({"from": "APP-EXCHANGE", "kind": "runs-on", "to": "SVC-WEB"});
    let detail = send(&amy, "POST", format!("{DESK}/ci-relations"), Some(wrong))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("cannot run on"), "{detail}");
    let impact = send(&amy, "GET", format!("{DESK}/cis/SRV-MAIL01/impact"), None).await;
    let impact = impact.expect(200)["impact"].clone();
    assert_eq!(impact["services"], json!(["SVC-MAIL"]), "{impact}");
    assert_eq!(impact["items"], json!([["APP-EXCHANGE", 1], ["SVC-MAIL", 2]]));

    // 09:00 Monday: Rob's mail is down. High impact, high urgency:
    // priority 1 from the ServiceNow matrix, under P1.
    let raised = json!({
        "kind": "incident", "title": "No mail since this morning", "impact": 1,
        "urgency": 1, "service": "SVC-MAIL", "items": ["SRV-MAIL01"],
    });
    let ticket = send(&rob, "POST", format!("{DESK}/tickets"), Some(raised)).await;
    let ticket = ticket.expect(201).clone();
    let id = ticket["id"].as_str().unwrap().to_owned();
    let path = |rest: &str| format!("{DESK}/tickets/{id}{rest}");
    assert_eq!(
        (ticket["priority"]["value"].as_u64(), ticket["state"].as_str()),
        (Some(1), Some("new"))
    );
    assert_eq!(ticket["sla"]["policy"], "P1", "{ticket}");
    let resolve_clock = |t: &Value| t["sla"]["clocks"][1].clone();
    assert_eq!(resolve_clock(&ticket)["due_local"], "2026-12-07T13:00:00+01:00[Europe/Paris]");

    // Rob cannot work it; Amy is assigned and starts at 09:10.
    send(&rob, "POST", path("/assignment"), Some(json!({"group": "IT-OPS"})))
        .await
        .expect_problem(403, "forbidden");
    let assignment = json!({"group": "IT-OPS", "agent": "E-AMY"});
    send(&amy, "POST", path("/assignment"), Some(assignment)).await.expect(200);
    clock.advance(600);
    let started = send(&amy, "POST", path("/start"), None).await.expect(200).clone();
    let own = &started["sla"]["clocks"][0];
    assert_eq!(
        (own["stage"].as_str(), own["elapsed_seconds"].as_i64()),
        (Some("stopped"), Some(600))
    );
    assert_eq!(own["breached"], false);

    // 10:00: waiting on Rob until 15:00. The clock stands still.
    clock.set(MONDAY_9 + HOUR);
    let pending = json!({"on": "requester"});
    send(&amy, "POST", path("/pending"), Some(pending)).await.expect(200);
    clock.set(MONDAY_9 + 6 * HOUR);
    let waited = send(&amy, "GET", path(""), None).await.expect(200).clone();
    assert_eq!(resolve_clock(&waited)["elapsed_seconds"], HOUR, "{waited}");
    assert_eq!(resolve_clock(&waited)["due_at"], Value::Null);
    let resumed = send(&amy, "POST", path("/resumption"), None).await.expect(200).clone();
    // Three hours left from 15:00: two today, one on Tuesday.
    assert_eq!(resolve_clock(&resumed)["due_local"], "2026-12-08T10:00:00+01:00[Europe/Paris]");
    let overdue = send(&amy, "GET", format!("{DESK}/overdue"), None).await.expect(200).clone();
    assert_eq!(overdue["tickets"], json!([]), "{overdue}");

    // Tuesday 10:00:05: past due. The ticket's timer warns and breaches.
    clock.set(MONDAY_9 + 25 * HOUR + 5);
    let started = Instant::now();
    while published(&k, "itsm.sla-breached").await.is_empty()
        && started.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let breaches = published(&k, "itsm.sla-breached").await;
    assert_eq!(breaches.len(), 1, "{breaches:?}");
    assert!(breaches[0].contains(&format!("(key {id}/resolve)")), "{breaches:?}");
    // Time to own was met at 09:10, before its warning: one warning.
    assert_eq!(published(&k, "itsm.sla-warning").await.len(), 1);
    let late = send(&amy, "GET", path(""), None).await.expect(200).clone();
    assert_eq!(resolve_clock(&late)["breached"], true, "{late}");
    let overdue = send(&amy, "GET", format!("{DESK}/overdue"), None).await.expect(200).clone();
    assert_eq!(overdue["tickets"][0]["id"], id.as_str(), "{overdue}");
    // The queue for a spreadsheet, as any list is.
    let csv = k.request(reqwest::Method::GET, &format!("{DESK}/overdue?format=csv"));
    let csv = csv.bearer_auth(&amy).send().await.unwrap().text().await.unwrap();
    assert!(csv.starts_with("Ticket,Title,Priority,State,Group,Agent,Overdue seconds\r\n"));
    assert!(
        csv.contains(&format!("{id},No mail since this morning,1,in-progress,IT-OPS,amy,5\r\n")),
        "{csv}"
    );

    // Resolved; Rob reopens it within the window; resolved again; closed.
    let solution = json!({"solution": "Cleared the mail queue on SRV-MAIL01"});
    send(&amy, "POST", path("/resolution"), Some(solution.clone())).await.expect(200);
    let overdue = send(&amy, "GET", format!("{DESK}/overdue"), None).await.expect(200).clone();
    assert_eq!(overdue["tickets"], json!([]), "a resolved ticket is not overdue");
    send(&rob, "POST", path("/reopening"), None).await.expect(200);
    send(&amy, "POST", path("/resolution"), Some(solution)).await.expect(200);
    let closed = send(&rob, "POST", path("/closure"), None).await.expect(200).clone();
    assert_eq!(closed["state"], "closed");
    assert_eq!(published(&k, "itsm.sla-breached").await.len(), 1, "breached once");

    // Two more mail incidents, raised by the desk for Rob; a problem
    // groups all three and records the known error.
    let mut incidents = vec![id.clone()];
    for title in ["Mail slow", "Mail bounced"] {
        let raised = json!({
            "kind": "incident", "title": title, "impact": 2, "urgency": 2,
            "service": "SVC-MAIL", "requester": "E-ROB",
        });
        let ticket = send(&amy, "POST", format!("{DESK}/tickets"), Some(raised)).await;
        let ticket = ticket.expect(201).clone();
        assert_eq!(ticket["requester"], "rob");
        assert_eq!(ticket["sla"]["policy"], "P9-ANY");
        incidents.push(ticket["id"].as_str().unwrap().to_owned());
    }
    let problem = json!({"title": "Mail queue fills up", "incidents": incidents});
    let problem = send(&amy, "POST", format!("{DESK}/problems"), Some(problem)).await;
    let problem_id = problem.expect(201)["id"].as_str().unwrap().to_owned();
    let known = json!({
        "step": "known-error", "root_cause": "Log rotation stopped on SRV-MAIL01",
        "workaround": "Clear the queue and restart the transport service",
    });
    send(&amy, "PATCH", format!("{DESK}/problems/{problem_id}"), Some(known)).await.expect(200);
    let problem = send(&amy, "GET", format!("{DESK}/problems/{problem_id}"), None).await;
    let problem = problem.expect(200).clone();
    assert_eq!(problem["incidents"].as_array().unwrap().len(), 3, "{problem}");
    assert_eq!(problem["problem"]["state"], "known-error");

    // Rob sees his own tickets and no one else's notes marked internal.
    let note = json!({"text": "Investigating the queue", "internal": true});
    send(&amy, "POST", path("/notes"), Some(note)).await.expect(201);
    send(&rob, "POST", path("/notes"), Some(json!({"text": "Thanks!"}))).await.expect(201);
    let notes = send(&rob, "GET", path("/notes"), None).await.expect(200).clone();
    assert_eq!(notes["notes"].as_array().unwrap().len(), 1, "{notes}");
    let mine = send(&rob, "GET", format!("{DESK}/tickets"), None).await.expect(200).clone();
    assert_eq!(mine["tickets"].as_array().unwrap().len(), 3);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_change_goes_through_its_board_and_no_one_approves_their_own() {
    let k = TestKernel::start(Setup::new(&["finance", "hr", "itsm"])).await;
    let amy = k.user_with_roles("amy", "demo", &["service-desk-agent", "cab-member"]).await;
    let carl = k.user_with_roles("carl", "demo", &["cab-member"]).await;
    let dana = k.user_with_roles("dana", "demo", &["cab-member"]).await;
    let cm = k.user_with_roles("cm", "demo", &["change-manager"]).await;
    let send = |token: &str, method: &'static str, path: String, body: Option<Value>| {
        let (k, token) = (&k, token.to_owned());
        async move { k.send_as(Some(&token), method, &path, body).await }
    };

    // A normal change states its risk and backout plan.
    let mut change = json!({
        "type": "normal", "title": "Upgrade Exchange to CU14",
        "board": {"approvers": ["amy", "carl", "dana"], "required": 2},
    });
    let detail = send(&amy, "POST", format!("{DESK}/changes"), Some(change.clone()))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("risk and its backout plan"), "{detail}");
    change["risk"] = json!("moderate");
    change["backout_plan"] = json!("Restore the VM snapshot taken before the upgrade");
    let created = send(&amy, "POST", format!("{DESK}/changes"), Some(change)).await;
    let id = created.expect(201)["id"].as_str().unwrap().to_owned();
    let step = |s: &str| format!("{DESK}/changes/{id}/steps/{s}");
    let decisions = format!("{DESK}/changes/{id}/decisions");

    // Not implemented before it is authorised.
    send(&cm, "POST", step("assessment"), None).await.expect(200);
    let detail =
        send(&cm, "POST", step("implementation"), None).await.expect_problem(422, "invalid");
    assert!(detail.contains("once it is authorised, not before"), "{detail}");
    send(&cm, "POST", step("board"), None).await.expect(200);

    // Amy asked for it: she may not approve it, though on its board.
    let approve = json!({"approve": true});
    let detail = send(&amy, "POST", decisions.clone(), Some(approve.clone()))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("amy asked for this change"), "{detail}");
    // Change managers do not decide; board members do.
    send(&cm, "POST", decisions.clone(), Some(approve.clone()))
        .await
        .expect_problem(403, "forbidden");
    send(&carl, "POST", decisions.clone(), Some(approve.clone())).await.expect(200);
    let authorised =
        send(&dana, "POST", decisions.clone(), Some(approve)).await.expect(200).clone();
    assert_eq!(authorised["authorised"], true, "{authorised}");

    let window = json!({"from": 1_900_000_000i64, "to": 1_900_003_600i64});
    send(&cm, "POST", step("schedule"), Some(window)).await.expect(200);
    for s in ["implementation", "review", "closure"] {
        send(&cm, "POST", step(s), None).await.expect(200);
    }
    let closed = send(&cm, "GET", format!("{DESK}/changes/{id}"), None).await.expect(200).clone();
    assert_eq!(closed["state"], "closed");
    let decided = k.audit_actions("demo", "itsm.change.").await;
    assert_eq!(decided, ["itsm.change.approved", "itsm.change.approved"]);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn laptops_received_through_procurement_become_configuration_items() {
    let k =
        TestKernel::start(Setup::new(&["finance", "inventory", "procurement", "hr", "itsm"])).await;
    let api = "/api/demo";
    k.post(&format!("{api}/finance/chart-templates/starter"), json!({ "currency": "EUR" }))
        .await
        .expect(201);
    k.post(&format!("{api}/inventory/warehouses"), json!({ "code": "HQ", "name": "Head office" }))
        .await
        .expect(201);
    let location = json!({ "code": "HQ-IT", "warehouse": "HQ", "name": "IT store" });
    k.post(&format!("{api}/inventory/locations"), location).await.expect(201);
    let item = json!({ "code": "LAPTOP-14", "name": "Laptop 14-inch", "unit": "each" });
    k.post(&format!("{api}/inventory/items"), item).await.expect(201);
    let supplier = json!({ "code": "DELTA", "name": "Delta Computers", "payment_terms_days": 30 });
    k.post(&format!("{api}/procurement/suppliers"), supplier).await.expect(201);

    // The desk keeps laptops as items of its own class.
    let class = json!({
        "name": "laptop",
        "attributes": {
            "item": {"type": "text", "required": true},
            "supplier": {"type": "text"},
            "received": {"type": "date"},
            "serial": {"type": "text"},
        },
    });
    k.send("PUT", &format!("{DESK}/ci-classes/laptop"), Some(class)).await.expect(200);
    let unknown = json!({"asset_items": {"LAPTOP-14": "tablet"}});
    let detail = k
        .send("PUT", &format!("{DESK}/settings"), Some(unknown))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("class tablet does not exist"), "{detail}");
    let assets = json!({"asset_items": {"LAPTOP-14": "laptop"}});
    k.send("PUT", &format!("{DESK}/settings"), Some(assets)).await.expect(200);

    // Two laptops and some cables are bought and received.
    let order = json!({
        "supplier": "DELTA", "date": "2026-12-01", "location": "HQ-IT",
        "lines": [{ "item": "LAPTOP-14", "quantity": "2", "unit_price": "400.00" }],
    });
    let created = k.post(&format!("{api}/procurement/orders"), order).await.expect(201).clone();
    let number = created["number"].as_str().unwrap().to_owned();
    let receipt = json!({
        "date": "2026-12-03",
        "lines": [{ "item": "LAPTOP-14", "quantity": "2" }],
    });
    let path = format!("{api}/procurement/orders/{number}/receipts");
    let receipt = k.post(&path, receipt).await.expect(201).clone();
    let gr = receipt["number"].as_str().unwrap().to_owned();

    // Delivered as an event: both units become items, once.
    let started = Instant::now();
    let items = loop {
        let listed = k.get(&format!("{DESK}/cis?class=laptop")).await.expect(200).clone();
        let items = listed["items"].as_array().unwrap().clone();
        if items.len() >= 2 || started.elapsed() > Duration::from_secs(10) {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [format!("AST-{gr}-1-1"), format!("AST-{gr}-1-2")], "{items:?}");
    assert_eq!(items[0]["attributes"]["supplier"], "DELTA");
    assert_eq!(items[0]["attributes"]["received"], "2026-12-03");
    assert_eq!(k.audit_actions("demo", "itsm.assets.").await, ["itsm.assets.registered"]);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sees_and_does_what_they_may_and_bad_input_changes_nothing() {
    let k = TestKernel::start(Setup::new(&["finance", "hr", "itsm"])).await;
    let minter = json!({ "permissions": ["keel.tokens.manage"] });
    k.send("PUT", "/admin/tenants/demo/roles/minter", Some(minter)).await.expect(200);
    let rob = k.user_with_roles("rob", "demo", &["itsm-requester"]).await;
    let rita = k.user_with_roles("rita", "demo", &["request-approver", "minter"]).await;
    let ada = k.user_with_roles("ada", "demo", &["request-approver"]).await;
    let amy = k.user_with_roles("amy", "demo", &["service-desk-agent"]).await;
    let send = |token: &str, method: &'static str, path: String, body: Option<Value>| {
        let (k, token) = (&k, token.to_owned());
        async move { k.send_as(Some(&token), method, &path, body).await }
    };
    let request = |title: &str| json!({"kind": "request", "title": title, "impact": 3, "urgency": 3, "needs_approval": true});

    // A request waits for an approval, never by whom it is for.
    let robs = send(&rob, "POST", format!("{DESK}/tickets"), Some(request("A monitor"))).await;
    let robs = robs.expect(201).clone();
    assert_eq!(robs["state"], "awaiting-approval");
    let robs = format!("{DESK}/tickets/{}", robs["id"].as_str().unwrap());
    let approve = json!({"approve": true});
    send(&rob, "POST", format!("{robs}/decision"), Some(approve.clone()))
        .await
        .expect_problem(403, "forbidden");
    let ritas = send(&rita, "POST", format!("{DESK}/tickets"), Some(request("A laptop"))).await;
    let ritas = format!("{DESK}/tickets/{}", ritas.expect(201)["id"].as_str().unwrap());
    let detail = send(&rita, "POST", format!("{ritas}/decision"), Some(approve.clone()))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("rita asked for this request"), "{detail}");
    // Nor through a token, which a plugin cannot tell from its maker.
    let script =
        json!({"name": "rita's script", "roles": ["request-approver"], "expires_in_days": 1});
    let token = send(&rita, "POST", "/admin/tenants/demo/tokens".to_owned(), Some(script)).await;
    let token = token.expect(201)["secret"].as_str().unwrap().to_owned();
    let detail = send(&token, "POST", format!("{robs}/decision"), Some(approve.clone()))
        .await
        .expect_problem(403, "denied");
    assert!(detail.contains("signed in"), "{detail}");
    // Ada approves requests: she reads Rob's, but does not act on it.
    let detail = send(&ada, "POST", format!("{robs}/cancellation"), None)
        .await
        .expect_problem(403, "denied");
    assert!(detail.contains("acted on by whom it is for, or by an agent"), "{detail}");
    send(&ada, "GET", format!("{robs}/notes"), None).await.expect_problem(403, "denied");
    let approved = send(&ada, "POST", format!("{robs}/decision"), Some(approve.clone())).await;
    assert_eq!(approved.expect(200)["state"], "new");
    // Raised through a token, who raised it would be hidden: refused.
    let detail = send(&token, "POST", format!("{DESK}/tickets"), Some(request("Hidden")))
        .await
        .expect_problem(403, "denied");
    assert!(detail.contains("signed in"), "{detail}");
    // Raised by an approver for someone else, it is not hers to approve.
    let for_rob = json!({
        "kind": "request", "title": "A chair", "impact": 3, "urgency": 3,
        "needs_approval": true, "requester": "E-ROB",
    });
    let both = k.user_with_roles("bo", "demo", &["service-desk-agent", "request-approver"]).await;
    k.post(&format!("{HR}/departments"), json!({"id": "CO", "name": "Company"})).await.expect(201);
    k.post(&format!("{HR}/employees"), person("E-ROB", "rob", "CO")).await.expect(201);
    let chair = send(&both, "POST", format!("{DESK}/tickets"), Some(for_rob)).await;
    let chair = format!("{DESK}/tickets/{}", chair.expect(201)["id"].as_str().unwrap());
    let detail = send(&both, "POST", format!("{chair}/decision"), Some(approve))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("bo raised this request for rob"), "{detail}");
    assert!(
        k.audit_actions("demo", "itsm.request.")
            .await
            .contains(&"itsm.request.approved".to_owned())
    );

    // A requester sees their own tickets only, and works none.
    send(&rob, "GET", ritas.clone(), None).await.expect_problem(404, "not-found");
    let mine = send(&rob, "GET", format!("{DESK}/tickets"), None).await.expect(200).clone();
    assert_eq!(mine["tickets"].as_array().unwrap().len(), 2, "{mine}");
    send(&rob, "GET", format!("{DESK}/overdue"), None).await.expect_problem(403, "forbidden");
    let internal = json!({"text": "psst", "internal": true});
    send(&rob, "POST", format!("{robs}/notes"), Some(internal)).await.expect_problem(403, "denied");
    let by_hand = json!({"value": 1, "reason": "the CEO's"});
    send(&rob, "PUT", format!("{robs}/priority"), Some(by_hand))
        .await
        .expect_problem(403, "forbidden");

    // A priority set by hand says why, and the trail keeps it.
    let silent = json!({"value": 6, "reason": " "});
    send(&amy, "PUT", format!("{robs}/priority"), Some(silent))
        .await
        .expect_problem(422, "invalid");
    let major = json!({"value": 6, "reason": "The whole floor is without screens"});
    let raised =
        send(&amy, "PUT", format!("{robs}/priority"), Some(major)).await.expect(200).clone();
    assert_eq!(raised["priority"]["value"], 6);
    assert_eq!(raised["priority"]["overridden"]["computed"], 5, "{raised}");
    assert_eq!(k.audit_actions("demo", "itsm.priority.").await, ["itsm.priority.overridden"]);

    // Bad input is refused, saying what is wrong, and changes nothing.
    let before = send(&amy, "GET", format!("{DESK}/tickets"), None).await.expect(200).clone();
    let incident = |impact: Value, title: &str| json!({"kind": "incident", "title": title, "impact": impact, "urgency": 1});
    // A body that does not fit the contract's shape is the kernel's to
    // refuse (`invalid-request`, naming the field); the desk's rules are
    // the plugin's (`invalid`).
    let shape = "invalid-request";
    for (body, code, expected) in [
        (incident(json!(4), "Out of range"), "invalid", "impact is 1 to 3"),
        (incident(json!(1), "   "), "invalid", "a title"),
        (incident(json!("high"), "Typed"), shape, "/impact: expected an integer, found a string"),
        (
            json!({"kind": "outage", "title": "x", "impact": 1, "urgency": 1}),
            shape,
            r#"/kind: "outage" is not one of "incident", "request""#,
        ),
        (
            json!({"kind": "incident", "title": "x", "impact": 1, "urgency": 1, "sneaky": 1}),
            shape,
            "/sneaky: is not a field of this object",
        ),
        (
            json!({"kind": "incident", "title": "x", "impact": 1, "urgency": 1, "service": "SVC-NONE"}),
            "invalid",
            "service SVC-NONE does not exist",
        ),
        (
            json!({"kind": "incident", "title": "x", "impact": 1, "urgency": 1, "needs_approval": true}),
            "invalid",
            "only a request",
        ),
        (
            json!({"kind": "incident", "title": "x", "impact": 1, "urgency": 1,
                   "description": "d".repeat(16_001)}),
            "invalid",
            "at most 16000 bytes",
        ),
    ] {
        let reply = send(&amy, "POST", format!("{DESK}/tickets"), Some(body.clone())).await;
        let detail = reply.expect_problem(422, code);
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    let after = send(&amy, "GET", format!("{DESK}/tickets"), None).await.expect(200).clone();
    assert_eq!(before, after, "nothing was raised");
    let calendar = json!({"time_zone": "Europe/Paris", "week": {"monday": [{"from": "17:00", "to": "09:00"}]}});
    let admin = k.admin_token().to_owned();
    let detail = send(&admin, "PUT", format!("{DESK}/calendars/BAD"), Some(calendar))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("ends before it starts"), "{detail}");
    let detail = send(&amy, "GET", format!("{DESK}/overdue?within_minutes=-5"), None)
        .await
        .expect_problem(422, "invalid-request");
    assert!(detail.contains("/within_minutes: must be at least 0"), "{detail}");
    k.send("PUT", &format!("{DESK}/cis/SRV-1"), Some(json!({"class": "server", "name": "One"})))
        .await
        .expect(200);
    let detail = send(&amy, "GET", format!("{DESK}/cis/SRV-1/impact?depth=99"), None)
        .await
        .expect_problem(422, "invalid-request");
    assert!(detail.contains("/depth: must be at most 10"), "{detail}");
    k.stop().await;
}

/// Reads ticket `path` as `token` until `until` holds of it, for at most
/// ten seconds.
async fn ticket_until(
    k: &TestKernel,
    token: &str,
    path: &str,
    until: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let ticket = k.send_as(Some(token), "GET", path, None).await.expect(200).clone();
        if until(&ticket) {
            return ticket;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never got there: {ticket}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_to_calendars_policies_and_tickets_keep_what_clocks_counted() {
    let clock = MovedClock::at(MONDAY_9);
    let mut setup = Setup::new(&["finance", "hr", "itsm"]);
    setup.clock = Some(clock.clone());
    let k = TestKernel::start(setup).await;
    let admin = k.user_with_roles("ada", "demo", &["itsm-admin"]).await;
    let amy = k.user_with_roles("amy", "demo", &["service-desk-agent"]).await;
    let rob = k.user_with_roles("rob", "demo", &["itsm-requester"]).await;
    let send = |token: &str, method: &'static str, path: String, body: Option<Value>| {
        let (k, token) = (&k, token.to_owned());
        async move { k.send_as(Some(&token), method, &path, body).await }
    };
    let week = |from: &str, to: &str, days: &[&str]| -> Value {
        let day = json!([{ "from": from, "to": to }]);
        let week: serde_json::Map<String, Value> =
            days.iter().map(|d| ((*d).to_owned(), day.clone())).collect();
        json!({ "time_zone": "Europe/Paris", "week": week })
    };
    let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday"];
    let office = week("09:00", "17:00", &weekdays);
    send(&admin, "PUT", format!("{DESK}/calendars/PARIS"), Some(office)).await.expect(200);
    let body = json!({"class": "service", "name": "E-mail"});
    send(&amy, "PUT", format!("{DESK}/cis/SVC-MAIL"), Some(body)).await.expect(200);
    for (id, service, resolve) in [("A-MAIL", json!("SVC-MAIL"), 600), ("Z-ANY", Value::Null, 1440)]
    {
        let policy = json!({
            "id": id, "service": service, "own_minutes": 60, "resolve_minutes": resolve,
            "calendar": "PARIS", "warn_percent": 90,
        });
        send(&admin, "PUT", format!("{DESK}/sla-policies/{id}"), Some(policy)).await.expect(200);
    }
    let raised = json!({"kind": "incident", "title": "Mail", "impact": 3, "urgency": 3});
    let ticket = send(&rob, "POST", format!("{DESK}/tickets"), Some(raised.clone())).await;
    let id = ticket.expect(201)["id"].as_str().unwrap().to_owned();
    let path = format!("{DESK}/tickets/{id}");
    let resolve = |t: &Value| t["sla"]["clocks"][1].clone();
    assert_eq!(ticket.body["sla"]["policy"], "Z-ANY");

    // 11:00: the desk corrects the ticket's service; it falls under the
    // mail policy, its clocks keeping the two hours they counted. Its
    // requester may not correct it.
    clock.set(MONDAY_9 + 2 * HOUR);
    let correction = json!({"service": "SVC-MAIL", "title": "Mail down"});
    send(&rob, "PATCH", path.clone(), Some(correction.clone()))
        .await
        .expect_problem(403, "forbidden");
    let corrected = send(&amy, "PATCH", path.clone(), Some(correction)).await.expect(200).clone();
    assert_eq!(
        (corrected["title"].as_str(), corrected["service"].as_str()),
        (Some("Mail down"), Some("SVC-MAIL"))
    );
    assert_eq!(corrected["sla"]["policy"], "A-MAIL", "{corrected}");
    assert_eq!(resolve(&corrected)["elapsed_seconds"], 2 * HOUR);
    // Eight business hours left from 11:00: six today, two on Tuesday.
    assert_eq!(resolve(&corrected)["due_local"], "2026-12-08T11:00:00+01:00[Europe/Paris]");
    let unknown = json!({"service": "SVC-NOPE"});
    send(&amy, "PATCH", path.clone(), Some(unknown)).await.expect_problem(422, "invalid");
    assert_eq!(k.audit_actions("demo", "itsm.ticket.corrected").await.len(), 1);

    // 18:00: the desk goes round the clock. The eight hours counted on
    // office hours stay counted; the last two run from now, so the
    // ticket's timer, set for its warning at 10:00 on Tuesday, moves to
    // 19:00 today, and it breaches at 20:00.
    clock.set(MONDAY_9 + 9 * HOUR);
    let all_week = [weekdays.as_slice(), &["saturday", "sunday"]].concat();
    let around = week("00:00", "24:00", &all_week);
    send(&admin, "PUT", format!("{DESK}/calendars/PARIS"), Some(around)).await.expect(200);
    let now = send(&amy, "GET", path.clone(), None).await.expect(200).clone();
    assert_eq!(resolve(&now)["elapsed_seconds"], 8 * HOUR, "{now}");
    assert_eq!(resolve(&now)["due_local"], "2026-12-07T20:00:00+01:00[Europe/Paris]");
    clock.set(MONDAY_9 + 11 * HOUR + 5);
    let late = ticket_until(&k, &amy, &path, |t| resolve(t)["breached"] == true).await;
    assert_eq!(resolve(&late)["elapsed_seconds"], 10 * HOUR + 5, "{late}");
    let key = format!("(key {id}/resolve)");
    assert!(published(&k, "itsm.sla-warning").await.iter().any(|d| d.contains(&key)));
    assert!(published(&k, "itsm.sla-breached").await.iter().any(|d| d.contains(&key)));
    let overdue = send(&amy, "GET", format!("{DESK}/overdue"), None).await.expect(200).clone();
    assert_eq!(overdue["tickets"][0]["id"], id.as_str(), "{overdue}");

    // A policy changed reaches the open tickets under it, however many:
    // a few at each firing of the sweep's timer, within what one call may
    // publish and set.
    let mut others = Vec::new();
    for _ in 0..150 {
        let other = send(&rob, "POST", format!("{DESK}/tickets"), Some(raised.clone())).await;
        assert_eq!(resolve(other.expect(201))["target_seconds"], 1440 * 60);
        others.push(format!("{DESK}/tickets/{}", other.body["id"].as_str().unwrap()));
    }
    let other_path = others.last().unwrap().clone();
    let tighter =
        json!({"id": "Z-ANY", "own_minutes": 60, "resolve_minutes": 240, "calendar": "PARIS"});
    send(&admin, "PUT", format!("{DESK}/sla-policies/Z-ANY"), Some(tighter)).await.expect(200);
    let retargeted =
        ticket_until(&k, &amy, &other_path, |t| resolve(t)["target_seconds"] == 240 * 60).await;
    assert_eq!(retargeted["sla"]["policy"], "Z-ANY");
    for path in &others {
        let other = send(&amy, "GET", path.clone(), None).await.expect(200).clone();
        assert_eq!(resolve(&other)["target_seconds"], 240 * 60, "{other}");
    }
    assert!(k.audit_actions("demo", "timer.dead").await.is_empty(), "the sweep never failed");
    // A ticket no longer open stays as it was.
    send(&rob, "POST", format!("{other_path}/cancellation"), None).await.expect(200);
    let correction = json!({"title": "Never mind"});
    send(&amy, "PATCH", other_path, Some(correction)).await.expect_problem(409, "conflict");
    k.stop().await;
}
