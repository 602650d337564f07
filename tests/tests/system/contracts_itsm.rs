//! ITSM's typed contract: every operation's answers true to it, and a
//! body that does not fit refused before the desk sees it.

use keel_manifest::{Contract, Manifest};
use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const HR: &str = "/api/demo/hr";
const DESK: &str = "/api/demo/itsm";

fn itsm_contract() -> (Manifest, Contract) {
    let manifest = Manifest::parse(include_str!("../../../plugins/itsm/keel.toml")).unwrap();
    let text = include_str!("../../../plugins/itsm/keel.contract.json");
    let contract = Contract::parse(text, &manifest).unwrap();
    (manifest, contract)
}

fn person(id: &str, user: &str, department: &str) -> Value {
    json!({
        "id": id, "name": format!("Person {id}"), "email": format!("{user}@example.com"),
        "department": department, "position": "Staff", "user": user, "hired": "2026-01-05",
        "personal": {
            "national_id": format!("NI-{id}"), "bank_account": "FR76 3000 6000 0112 3456 7890 189",
            "address": "1 rue de Rivoli, Paris", "date_of_birth": "1990-01-01",
        },
        "contract": { "base_pay": "3000.00", "currency": "EUR" },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_desks_answers_are_true_to_its_contract() {
    let (manifest, contract) = itsm_contract();
    let k = TestKernel::start(Setup::new(&["finance", "hr", "itsm"])).await;
    let officer = k.user_with_roles("olga", "demo", &["hr-officer"]).await;
    let ada = k.user_with_roles("ada", "demo", &["itsm-admin", "request-approver"]).await;
    let amy = k.user_with_roles("amy", "demo", &["service-desk-agent", "change-manager"]).await;
    let rob = k.user_with_roles("rob", "demo", &["itsm-requester"]).await;
    let carl = k.user_with_roles("carl", "demo", &["cab-member"]).await;
    let send = |token: &str, method: &'static str, path: String, body: Option<Value>| {
        let (k, token) = (&k, token.to_owned());
        async move { k.send_as(Some(&token), method, &path, body).await }
    };
    let mut answered = Vec::new();
    let mut check = |operation: &str, body: &Value| {
        assert_eq!(contract.check_response(operation, body), Ok(()), "{operation}: {body}");
        answered.push(operation.to_owned());
    };

    for department in [
        json!({"id": "CO", "name": "Company"}),
        json!({"id": "IT-OPS", "name": "Service desk", "parent": "CO"}),
    ] {
        send(&officer, "POST", format!("{HR}/departments"), Some(department)).await.expect(201);
    }
    for (id, user, unit) in [("E-AMY", "amy", "IT-OPS"), ("E-ROB", "rob", "CO")] {
        let body = Some(person(id, user, unit));
        send(&officer, "POST", format!("{HR}/employees"), body).await.expect(201);
    }

    // The desk: settings, a calendar, a policy.
    check("settings.get", send(&ada, "GET", format!("{DESK}/settings"), None).await.expect(200));
    let settings = json!({"preset": "glpi", "reopen_window_hours": 48});
    let put = send(&ada, "PUT", format!("{DESK}/settings"), Some(settings)).await;
    check("settings.put", put.expect(200));
    let office = json!({"time_zone": "Europe/Paris", "holidays": ["2026-12-25"],
        "week": {"monday": [{"from": "09:00", "to": "17:00"}], "friday": [{"from": "09:00", "to": "12:00"}]}});
    let put = send(&ada, "PUT", format!("{DESK}/calendars/PARIS"), Some(office)).await;
    check("calendars.put", put.expect(200));
    check("calendars.list", send(&ada, "GET", format!("{DESK}/calendars"), None).await.expect(200));
    let policy =
        json!({"id": "ALL", "own_minutes": 60, "resolve_minutes": 480, "calendar": "PARIS"});
    let put = send(&ada, "PUT", format!("{DESK}/sla-policies/ALL"), Some(policy)).await;
    check("policies.put", put.expect(200));
    let list = send(&ada, "GET", format!("{DESK}/sla-policies"), None).await;
    check("policies.list", list.expect(200));

    // The estate.
    let class =
        json!({"name": "printer", "attributes": {"model": {"type": "text", "required": true}}});
    let put = send(&amy, "PUT", format!("{DESK}/ci-classes/printer"), Some(class)).await;
    check("classes.put", put.expect(200));
    for (id, body) in [
        ("SRV-1", json!({"class": "server", "name": "Print server"})),
        ("SVC-PRINT", json!({"class": "service", "name": "Printing"})),
        ("PRN-1", json!({"class": "printer", "name": "Floor 2", "attributes": {"model": "LJ-4"}})),
    ] {
        check(
            "cis.put",
            send(&amy, "PUT", format!("{DESK}/cis/{id}"), Some(body)).await.expect(200),
        );
    }
    let relation = json!({"from": "SVC-PRINT", "kind": "depends-on", "to": "SRV-1"});
    let put = send(&amy, "POST", format!("{DESK}/ci-relations"), Some(relation)).await;
    check("relations.put", put.expect(201));
    check("cis.get", send(&amy, "GET", format!("{DESK}/cis/SRV-1"), None).await.expect(200));
    check(
        "cis.list",
        send(&amy, "GET", format!("{DESK}/cis?class=server"), None).await.expect(200),
    );
    let impact = send(&amy, "GET", format!("{DESK}/cis/SRV-1/impact?depth=2&size=10"), None).await;
    check("cis.impact", impact.expect(200));

    // An incident through its life, with its clocks.
    let raised = json!({"kind": "incident", "title": "Printer jams", "impact": 2, "urgency": 2,
        "service": "SVC-PRINT", "items": ["PRN-1"], "attachments": [{"name": "photo", "reference": "https://files/1"}]});
    let ticket =
        send(&rob, "POST", format!("{DESK}/tickets"), Some(raised)).await.expect(201).clone();
    check("tickets.raise", &ticket);
    assert!(ticket["sla"]["clocks"].is_array(), "{ticket}");
    // As the desk answered it before its answers were typed: the fields
    // it kept (null where unset), not its notes counter, clocks or queue key.
    let mut fields: Vec<&str> = ticket.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "attachments",
            "change",
            "description",
            "id",
            "impact",
            "items",
            "kind",
            "links",
            "opened_at",
            "priority",
            "problem",
            "raised_by",
            "requester",
            "service",
            "sla",
            "state",
            "title",
            "updated_at",
            "urgency",
        ]
    );
    assert_eq!((&ticket["problem"], &ticket["raised_by"]), (&Value::Null, &Value::Null));
    let id = ticket["id"].as_str().unwrap().to_owned();
    let path = |tail: &str| format!("{DESK}/tickets/{id}{tail}");
    let assignment = json!({"group": "IT-OPS", "agent": "E-AMY"});
    check(
        "tickets.assign",
        send(&amy, "POST", path("/assignment"), Some(assignment)).await.expect(200),
    );
    check("tickets.start", send(&amy, "POST", path("/start"), None).await.expect(200));
    let pending = json!({"on": "vendor"});
    check("tickets.pend", send(&amy, "POST", path("/pending"), Some(pending)).await.expect(200));
    check("tickets.resume", send(&amy, "POST", path("/resumption"), None).await.expect(200));
    let by_hand = json!({"value": 1, "reason": "The board meets at noon"});
    check(
        "tickets.priority",
        send(&amy, "PUT", path("/priority"), Some(by_hand)).await.expect(200),
    );
    let correction = json!({"title": "Printer on floor 2 jams", "service": null});
    check("tickets.update", send(&amy, "PATCH", path(""), Some(correction)).await.expect(200));
    let note = json!({"text": "Ordered a roller", "internal": true});
    check("tickets.note", send(&amy, "POST", path("/notes"), Some(note)).await.expect(201));
    check("tickets.notes", send(&amy, "GET", path("/notes"), None).await.expect(200));
    let solution = json!({"solution": "Replaced the roller"});
    check(
        "tickets.resolve",
        send(&amy, "POST", path("/resolution"), Some(solution.clone())).await.expect(200),
    );
    check("tickets.reopen", send(&rob, "POST", path("/reopening"), None).await.expect(200));
    send(&amy, "POST", path("/resolution"), Some(solution)).await.expect(200);
    check("tickets.close", send(&rob, "POST", path("/closure"), None).await.expect(200));
    check("tickets.get", send(&rob, "GET", path(""), None).await.expect(200));

    // A request that waits for an approval, another cancelled, linked.
    let request = json!({"kind": "request", "title": "A monitor", "impact": 3, "urgency": 3, "needs_approval": true});
    let asked = send(&rob, "POST", format!("{DESK}/tickets"), Some(request.clone())).await;
    let asked = asked.expect(201)["id"].as_str().unwrap().to_owned();
    let decision = json!({"approve": true, "reason": "Budgeted"});
    let decided =
        send(&ada, "POST", format!("{DESK}/tickets/{asked}/decision"), Some(decision)).await;
    check("tickets.decide", decided.expect(200));
    let other = send(&rob, "POST", format!("{DESK}/tickets"), Some(request)).await;
    let other = other.expect(201)["id"].as_str().unwrap().to_owned();
    let cancelled = send(&rob, "POST", format!("{DESK}/tickets/{other}/cancellation"), None).await;
    check("tickets.cancel", cancelled.expect(200));
    let link = json!({"kind": "duplicate-of", "ticket": asked});
    let linked = send(&amy, "POST", format!("{DESK}/tickets/{other}/links"), Some(link)).await;
    check("tickets.link", linked.expect(200));
    check(
        "tickets.list",
        send(&amy, "GET", format!("{DESK}/tickets?state=closed"), None).await.expect(200),
    );
    check("tickets.list", send(&rob, "GET", format!("{DESK}/tickets"), None).await.expect(200));
    let overdue = send(&amy, "GET", format!("{DESK}/overdue?within_minutes=500000"), None).await;
    let overdue = overdue.expect(200).clone();
    check("tickets.overdue", &overdue);
    assert!(!overdue["tickets"].as_array().unwrap().is_empty(), "the queue shows rows: {overdue}");

    // A problem grouping the incident.
    let problem = json!({"title": "Rollers wear out", "incidents": [id]});
    let opened =
        send(&amy, "POST", format!("{DESK}/problems"), Some(problem)).await.expect(201).clone();
    check("problems.open", &opened);
    let problem = format!("{DESK}/problems/{}", opened["id"].as_str().unwrap());
    let third = json!({"kind": "incident", "title": "Jams again", "impact": 3, "urgency": 3});
    let third = send(&rob, "POST", format!("{DESK}/tickets"), Some(third)).await;
    let third = third.expect(201)["id"].as_str().unwrap().to_owned();
    let linked =
        send(&amy, "POST", format!("{problem}/incidents"), Some(json!({"incident": third}))).await;
    check("problems.link", linked.expect(200));
    let known =
        json!({"step": "known-error", "root_cause": "Cheap rollers", "workaround": "Feed by hand"});
    check("problems.update", send(&amy, "PATCH", problem.clone(), Some(known)).await.expect(200));
    check("problems.get", send(&amy, "GET", problem, None).await.expect(200));

    // A normal change through its board.
    let change = json!({"type": "normal", "title": "Replace the printer", "risk": "low",
        "backout_plan": "Keep the old one", "board": {"approvers": ["carl"], "required": 1}, "items": ["PRN-1"]});
    let created =
        send(&amy, "POST", format!("{DESK}/changes"), Some(change)).await.expect(201).clone();
    check("changes.request", &created);
    let change = format!("{DESK}/changes/{}", created["id"].as_str().unwrap());
    for step in ["assessment", "board"] {
        let stepped = send(&amy, "POST", format!("{change}/steps/{step}"), None).await;
        check("changes.step", stepped.expect(200));
    }
    let decided =
        send(&carl, "POST", format!("{change}/decisions"), Some(json!({"approve": true}))).await;
    check("changes.decide", decided.expect(200));
    let window = json!({"from": 1_900_000_000i64, "to": 1_900_003_600i64});
    let scheduled = send(&amy, "POST", format!("{change}/steps/schedule"), Some(window)).await;
    check("changes.step", scheduled.expect(200));
    check("changes.get", send(&amy, "GET", change, None).await.expect(200));
    let list = send(&amy, "GET", format!("{DESK}/changes?state=scheduled"), None).await;
    check("changes.list", list.expect(200));

    answered.sort();
    answered.dedup();
    let mut typed: Vec<String> = manifest.operations.iter().map(|op| op.id.clone()).collect();
    typed.sort();
    assert_eq!(answered, typed, "every operation's answer was checked");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_fit_the_desks_contract_is_refused_before_the_desk_sees_it() {
    let k = TestKernel::start(Setup::new(&["finance", "hr", "itsm"])).await;
    let amy = k.user_with_roles("amy", "demo", &["service-desk-agent"]).await;
    let send = |method: &'static str, path: String, body: Option<Value>| {
        let (k, token) = (&k, amy.clone());
        async move { k.send_as(Some(&token), method, &path, body).await }
    };
    let pointers = |reply: &Value| -> Vec<String> {
        reply["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap().to_owned())
            .collect()
    };
    // A problem's step is one of three shapes; a change's type one of three.
    let reply = send("POST", format!("{DESK}/problems"), Some(json!({"title": "x"}))).await;
    let id = reply.expect(201)["id"].as_str().unwrap().to_owned();
    let reply =
        send("PATCH", format!("{DESK}/problems/{id}"), Some(json!({"step": "known-error"}))).await;
    reply.expect_problem(422, "invalid-request");
    let reply =
        send("POST", format!("{DESK}/changes"), Some(json!({"type": "urgent", "title": "x"})))
            .await;
    reply.expect_problem(422, "invalid-request");
    assert_eq!(pointers(&reply.body), ["/type"]);
    // A calendar's weekdays are named; an unknown one is refused.
    let calendar = json!({"time_zone": "UTC", "week": {"moonday": []}});
    let admin = k.admin_token().to_owned();
    let reply =
        k.send_as(Some(&admin), "PUT", &format!("{DESK}/calendars/X"), Some(calendar)).await;
    reply.expect_problem(422, "invalid-request");
    assert_eq!(pointers(&reply.body), ["/week/moonday"]);
    // An unknown state to list by is named, not an empty list.
    let reply = send("GET", format!("{DESK}/tickets?state=lost"), None).await;
    reply.expect_problem(422, "invalid-request");
    assert_eq!(pointers(&reply.body), ["/state"]);
    k.stop().await;
}
