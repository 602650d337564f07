//! HR through HTTP, as an organisation meets it: departments, hiring with
//! personal data and a first contract, contracts added as a history, who
//! may see what (an HR officer everything; a manager their reports'
//! records, not their pay or personal data; an employee their own), every
//! read of personal data audited, and other modules asking the directory.

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const HR: &str = "/api/demo/hr";

fn hire_body(id: &str, user: &str, department: &str, manager: Option<&str>, pay: &str) -> Value {
    json!({
        "id": id,
        "name": format!("Employee {id}"),
        "email": format!("{user}@example.com"),
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
        "contract": { "base_pay": pay, "currency": "EUR" },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hr_officers_keep_people_and_each_sees_what_they_may() {
    let k = TestKernel::start(Setup::new(&["finance", "hr", "directory-client"])).await;
    let officer = k.user_with_roles("olga", "demo", &["hr-officer"]).await;
    let manager = k.user_with_roles("mike", "demo", &["manager"]).await;
    let erin = k.user_with_roles("erin", "demo", &["employee"]).await;
    let as_ = |token: &str| Some(token.to_owned());
    let send = |token: Option<String>, method: &'static str, path: String, body: Option<Value>| {
        let k = &k;
        async move { k.send_as(token.as_deref(), method, &path, body).await }
    };

    // The organisation: a tree, refused where it would be a circle.
    for department in [
        json!({"id": "CO", "name": "Company"}),
        json!({"id": "OPS", "name": "Operations", "parent": "CO"}),
    ] {
        send(as_(&officer), "POST", format!("{HR}/departments"), Some(department))
            .await
            .expect(201);
    }
    let circle = json!({"id": "CO", "name": "Company", "parent": "OPS"});
    let detail = send(as_(&officer), "POST", format!("{HR}/departments"), Some(circle))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("cannot be under itself"), "{detail}");
    let orphan = json!({"id": "FIN", "name": "Finance", "parent": "HQ"});
    let detail = send(as_(&officer), "POST", format!("{HR}/departments"), Some(orphan))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("HQ does not exist"), "{detail}");

    // Hiring: Mike manages Erin; Ed reports to nobody.
    for body in [
        hire_body("E1", "mike", "OPS", None, "4000.00"),
        hire_body("E2", "erin", "OPS", Some("E1"), "3000.00"),
        hire_body("E3", "ed", "CO", None, "3500.00"),
    ] {
        send(as_(&officer), "POST", format!("{HR}/employees"), Some(body)).await.expect(201);
    }
    let stranger = hire_body("E4", "erin", "OPS", Some("E9"), "1.00");
    let detail = send(as_(&officer), "POST", format!("{HR}/employees"), Some(stranger))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("manager E9 does not exist"), "{detail}");
    let twice = hire_body("E4", "erin", "OPS", None, "1.00");
    send(as_(&officer), "POST", format!("{HR}/employees"), Some(twice))
        .await
        .expect_problem(409, "conflict");
    // Nobody but HR hires.
    let by_manager = hire_body("E5", "max", "OPS", None, "1.00");
    send(as_(&manager), "POST", format!("{HR}/employees"), Some(by_manager))
        .await
        .expect_problem(403, "forbidden");

    // A contract is added from its date, never replaced.
    let rise = json!({"from": "2026-09-01", "position": "Senior analyst", "base_pay": "3300.00", "currency": "EUR"});
    send(as_(&officer), "POST", format!("{HR}/employees/E2/contracts"), Some(rise.clone()))
        .await
        .expect(201);
    let detail = send(as_(&officer), "POST", format!("{HR}/employees/E2/contracts"), Some(rise))
        .await
        .expect_problem(409, "conflict");
    assert!(detail.contains("never replaced"), "{detail}");
    let early =
        json!({"from": "2025-12-01", "position": "Intern", "base_pay": "1.00", "currency": "EUR"});
    send(as_(&officer), "POST", format!("{HR}/employees/E2/contracts"), Some(early))
        .await
        .expect_problem(422, "invalid");
    let history = send(as_(&officer), "GET", format!("{HR}/employees/E2/contracts"), None).await;
    let history = history.expect(200);
    let pays: Vec<&str> = history["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["base_pay"].as_str().unwrap())
        .collect();
    assert_eq!(pays, ["3000.00", "3300.00"]);

    // The officer sees anyone; the manager their report and nobody else,
    // and neither their pay nor their personal data; Erin herself.
    let shown = send(as_(&officer), "GET", format!("{HR}/employees/E2"), None).await;
    assert_eq!(shown.expect(200)["managers"], json!(["E1"]));
    assert_eq!(shown.expect(200)["active"], true);
    send(as_(&manager), "GET", format!("{HR}/employees/E2"), None).await.expect(200);
    let detail = send(as_(&manager), "GET", format!("{HR}/employees/E3"), None)
        .await
        .expect_problem(403, "denied");
    assert!(detail.contains("does not report to you"), "{detail}");
    // Nor can a manager tell who exists: an unknown id is refused alike.
    send(as_(&manager), "GET", format!("{HR}/employees/E99"), None)
        .await
        .expect_problem(403, "denied");
    send(as_(&officer), "GET", format!("{HR}/employees/E99"), None)
        .await
        .expect_problem(404, "not-found");
    for path in ["personal", "contracts"] {
        send(as_(&manager), "GET", format!("{HR}/employees/E2/{path}"), None)
            .await
            .expect_problem(403, "forbidden");
        send(as_(&erin), "GET", format!("{HR}/employees/E2/{path}"), None)
            .await
            .expect_problem(403, "forbidden");
    }
    // An employee reads their own record through /me, and nobody else's.
    send(as_(&erin), "GET", format!("{HR}/employees/E1"), None)
        .await
        .expect_problem(403, "forbidden");
    send(as_(&manager), "GET", format!("{HR}/employees/E1"), None).await.expect(200);
    send(as_(&erin), "GET", format!("{HR}/employees"), None).await.expect_problem(403, "forbidden");
    let me = send(as_(&erin), "GET", format!("{HR}/me"), None).await;
    let me = me.expect(200);
    assert_eq!(me["employee"]["id"], "E2");
    assert_eq!(me["personal"]["national_id"], "NI-E2-7731");
    assert_eq!(me["contracts"].as_array().unwrap().len(), 2);
    let personal = send(as_(&officer), "GET", format!("{HR}/employees/E3/personal"), None).await;
    assert_eq!(personal.expect(200)["bank_account"], "FR76 3000 6000 0112 3456 7890 189");

    // Every read of personal data or pay is in the audit trail.
    let reads = k.audit_actions("demo", "record.read").await;
    assert!(reads.len() >= 3, "{reads:?}");

    // A leaver is no longer active; other modules learn who people are
    // from the directory.
    let left = send(
        as_(&officer),
        "POST",
        format!("{HR}/employees/E3/leaving"),
        Some(json!({"left": "2026-03-31"})),
    )
    .await;
    assert_eq!(left.expect(200)["left"], "2026-03-31");
    let shown = send(as_(&officer), "GET", format!("{HR}/employees/E3"), None).await;
    assert_eq!(shown.expect(200)["active"], false);
    let person = k.get("/api/demo/directory-client/people/E2").await;
    assert_eq!(
        person.expect(200),
        &json!({"id": "E2", "name": "Employee E2", "email": "erin@example.com", "org_unit": "OPS", "user": "erin"})
    );
    assert_eq!(k.get("/api/demo/directory-client/people/E9").await.expect(200), &Value::Null);
    let unit = k.get("/api/demo/directory-client/units/OPS").await;
    assert_eq!(
        unit.expect(200),
        &json!({"id": "OPS", "name": "Operations", "parent": "CO", "manager": null})
    );
    let members = k.get("/api/demo/directory-client/units/OPS/members").await;
    let ids: Vec<&str> = members.expect(200)["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["E1", "E2"]);
    let managers = k.get("/api/demo/directory-client/people/E2/managers").await;
    assert_eq!(managers.expect(200)["managers"][0]["id"], "E1");
    assert_eq!(managers.expect(200)["managers"].as_array().unwrap().len(), 1);
    let top = k.get("/api/demo/directory-client/people/E1/managers").await;
    assert_eq!(top.expect(200), &json!({"managers": []}));
    k.get("/api/demo/directory-client/people/E9/managers").await.expect_problem(404, "not-found");
    for (date, active) in
        [("2026-01-04", false), ("2026-01-05", true), ("2026-03-31", true), ("2026-04-01", false)]
    {
        let asked =
            k.get(&format!("/api/demo/directory-client/people/E3/active?date={date}")).await;
        assert_eq!(asked.expect(200)["active"], active, "E3 on {date}");
    }
    k.get("/api/demo/directory-client/people/E3/active?date=April")
        .await
        .expect_problem(422, "invalid");
    k.stop().await;
}

/// An Operations department with the people `hires` hired into it, by
/// the HR officer whose session is `officer`.
async fn operations(k: &TestKernel, officer: &str, hires: impl IntoIterator<Item = Value>) {
    let (departments, employees) = (format!("{HR}/departments"), format!("{HR}/employees"));
    let department = json!({"id": "OPS", "name": "Operations"});
    k.send_as(Some(officer), "POST", &departments, Some(department)).await.expect(201);
    for body in hires {
        k.send_as(Some(officer), "POST", &employees, Some(body)).await.expect(201);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_is_asked_for_decided_above_and_kept_as_a_ledger() {
    let k = TestKernel::start(Setup::new(&["finance", "hr"])).await;
    let officer = k.user_with_roles("olga", "demo", &["hr-officer"]).await;
    let mike = k.user_with_roles("mike", "demo", &["manager"]).await;
    let max = k.user_with_roles("max", "demo", &["manager"]).await;
    let erin = k.user_with_roles("erin", "demo", &["employee"]).await;
    let send = |token: &str, method: &'static str, path: String, body: Option<Value>| {
        let (k, token) = (&k, token.to_owned());
        async move { k.send_as(Some(&token), method, &path, body).await }
    };
    let hires = [
        hire_body("E1", "mike", "OPS", None, "4000.00"),
        hire_body("E2", "erin", "OPS", Some("E1"), "3000.00"),
        hire_body("E4", "max", "OPS", None, "4000.00"),
    ];
    operations(&k, &officer, hires).await;
    let calendar = json!({"weekly_off": ["saturday", "sunday"], "holidays": ["2026-12-25"]});
    send(&officer, "PUT", format!("{HR}/calendars/default"), Some(calendar)).await.expect(200);
    let annual = json!({"paid": true, "yearly_allowance": "25", "accrual": "monthly", "carry_forward_max": "5", "allow_negative": false});
    send(&officer, "PUT", format!("{HR}/leave-types/annual"), Some(annual)).await.expect(200);
    let allocation = json!({"leave_type": "annual", "days": "10", "date": "2026-01-01"});
    send(&officer, "POST", format!("{HR}/employees/E2/leave-allocations"), Some(allocation))
        .await
        .expect(201);

    // Erin asks for the week of Christmas: four working days.
    let ask = json!({"leave_type": "annual", "from": "2026-12-21", "to": "2026-12-25"});
    let asked = send(&erin, "POST", format!("{HR}/leave-requests"), Some(ask)).await;
    let id = asked.expect(201)["id"].as_str().unwrap().to_owned();
    assert_eq!(asked.expect(201)["request"]["days"], "4");
    // More than her balance is refused.
    let greedy = json!({"leave_type": "annual", "from": "2026-11-30", "to": "2026-12-14"});
    let detail = send(&erin, "POST", format!("{HR}/leave-requests"), Some(greedy))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("takes 11 days of annual, and its balance is 10"), "{detail}");
    // Not for someone else, unless HR.
    let for_mike =
        json!({"employee": "E1", "leave_type": "annual", "from": "2026-12-21", "to": "2026-12-21"});
    send(&erin, "POST", format!("{HR}/leave-requests"), Some(for_mike))
        .await
        .expect_problem(403, "denied");

    // Her manager sees it waiting; another manager neither sees nor decides it.
    let pending = send(&mike, "GET", format!("{HR}/leave-requests"), None).await;
    assert_eq!(pending.expect(200)["pending"].as_array().unwrap().len(), 1);
    let others = send(&max, "GET", format!("{HR}/leave-requests"), None).await;
    assert_eq!(others.expect(200)["pending"], json!([]));
    let decision = format!("{HR}/leave-requests/{id}/decision");
    let detail = send(&max, "POST", decision.clone(), Some(json!({"approve": true})))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("neither E2's manager nor an HR officer"), "{detail}");
    send(&erin, "POST", decision.clone(), Some(json!({"approve": true})))
        .await
        .expect_problem(403, "forbidden");

    // A manager does not approve their own leave either.
    let own = json!({"leave_type": "annual", "from": "2026-12-21", "to": "2026-12-21"});
    let allocation = json!({"leave_type": "annual", "days": "5", "date": "2026-01-01"});
    send(&officer, "POST", format!("{HR}/employees/E1/leave-allocations"), Some(allocation))
        .await
        .expect(201);
    let mine = send(&mike, "POST", format!("{HR}/leave-requests"), Some(own)).await;
    let mine = mine.expect(201)["id"].as_str().unwrap().to_owned();
    let detail = send(
        &mike,
        "POST",
        format!("{HR}/leave-requests/{mine}/decision"),
        Some(json!({"approve": true})),
    )
    .await
    .expect_problem(422, "invalid");
    assert!(detail.contains("someone other than"), "{detail}");

    // An HR officer who is also an employee does not approve leave asked
    // for them by someone else (the administrator, here) either.
    // (No one hires themselves: the administrator hires her.)
    let olga = hire_body("E5", "olga", "OPS", None, "3800.00");
    let detail = send(&officer, "POST", format!("{HR}/employees"), Some(olga.clone()))
        .await
        .expect_problem(403, "denied");
    assert!(detail.contains("no one hires themselves"), "{detail}");
    k.post(&format!("{HR}/employees"), olga).await.expect(201);
    let allocation = json!({"leave_type": "annual", "days": "5", "date": "2026-01-01"});
    send(&officer, "POST", format!("{HR}/employees/E5/leave-allocations"), Some(allocation))
        .await
        .expect(201);
    let for_olga =
        json!({"employee": "E5", "leave_type": "annual", "from": "2026-12-22", "to": "2026-12-22"});
    let asked = k.post(&format!("{HR}/leave-requests"), for_olga).await;
    let for_olga = asked.expect(201)["id"].as_str().unwrap().to_owned();
    let detail = send(
        &officer,
        "POST",
        format!("{HR}/leave-requests/{for_olga}/decision"),
        Some(json!({"approve": true})),
    )
    .await
    .expect_problem(422, "invalid");
    assert!(detail.contains("someone other than"), "{detail}");

    // Approved, it takes four days from her ledger; cancelled, it gives them back.
    let approved = send(&mike, "POST", decision, Some(json!({"approve": true}))).await;
    assert_eq!(approved.expect(200)["request"]["state"], "approved");
    assert_eq!(approved.expect(200)["request"]["decided_by"], "mike");
    let leave = send(&mike, "GET", format!("{HR}/employees/E2/leave"), None).await;
    let annual = &leave.expect(200)["balances"]["annual"];
    assert_eq!(annual["balance"], "6");
    let kinds: Vec<&str> =
        annual["ledger"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["allocation", "taking"]);
    send(&max, "GET", format!("{HR}/employees/E2/leave"), None).await.expect_problem(403, "denied");
    // What is approved for later counts: the rest of the balance is 6, and
    // the same days are not asked for twice.
    let more = json!({"leave_type": "annual", "from": "2026-12-07", "to": "2026-12-15"});
    let detail = send(&erin, "POST", format!("{HR}/leave-requests"), Some(more))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("takes 7 days of annual, and its balance is 6"), "{detail}");
    let again = json!({"leave_type": "annual", "from": "2026-12-24", "to": "2026-12-24"});
    let detail = send(&erin, "POST", format!("{HR}/leave-requests"), Some(again))
        .await
        .expect_problem(409, "conflict");
    assert!(detail.contains("shares days"), "{detail}");
    let cancelled =
        send(&erin, "POST", format!("{HR}/leave-requests/{id}/cancellation"), None).await;
    assert_eq!(cancelled.expect(200)["request"]["state"], "cancelled");
    let mine = send(&erin, "GET", format!("{HR}/me/leave"), None).await;
    assert_eq!(mine.expect(200)["balances"]["annual"]["balance"], "10");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_exported_on_request_and_erased_once_someone_has_left() {
    let k = TestKernel::start(Setup::new(&["finance", "hr"])).await;
    let officer = k.user_with_roles("olga", "demo", &["hr-officer"]).await;
    let mike = k.user_with_roles("mike", "demo", &["manager"]).await;
    let erin = k.user_with_roles("erin", "demo", &["employee"]).await;
    let send = |token: &str, method: &'static str, path: String, body: Option<Value>| {
        let (k, token) = (&k, token.to_owned());
        async move { k.send_as(Some(&token), method, &path, body).await }
    };
    let hires = [
        hire_body("E1", "mike", "OPS", None, "4000.00"),
        hire_body("E2", "erin", "OPS", Some("E1"), "3000.00"),
    ];
    operations(&k, &officer, hires).await;
    let calendar = json!({"weekly_off": ["saturday", "sunday"], "holidays": []});
    send(&officer, "PUT", format!("{HR}/calendars/default"), Some(calendar)).await.expect(200);
    let sick = json!({"presence": "absent", "note": "migraine"});
    send(&erin, "PUT", format!("{HR}/attendance/E2/2026-11-03"), Some(sick)).await.expect(200);

    // A subject access request: everything kept, for HR only, audited.
    let path = format!("{HR}/employees/E2/subject-access");
    send(&mike, "POST", path.clone(), None).await.expect_problem(403, "forbidden");
    let export = send(&officer, "POST", path.clone(), None).await;
    let export = export.expect(200).clone();
    assert_eq!(export["personal"]["national_id"], "NI-E2-7731");
    assert_eq!(export["contracts"].as_array().unwrap().len(), 1);
    assert_eq!(export["attendance"][0]["note"], "migraine");
    assert_eq!(export["employee"]["email"], "erin@example.com");
    let exports = k.audit_actions("demo", "hr.subject-access.export").await;
    assert_eq!(exports.len(), 1);

    // Erasure: only once she has left.
    let erasure = format!("{HR}/employees/E2/erasure");
    let detail = send(&officer, "POST", erasure.clone(), None).await.expect_problem(422, "invalid");
    assert!(detail.contains("record their leaving first"), "{detail}");
    let left = json!({"left": "2026-11-30"});
    send(&officer, "POST", format!("{HR}/employees/E2/leaving"), Some(left)).await.expect(200);
    let erased = send(&officer, "POST", erasure.clone(), None).await;
    let erased = erased.expect(200).clone();
    assert_eq!(erased["employee"].get("email"), None, "{erased}");
    assert_eq!(erased["employee"]["name"], "Employee E2", "payroll and the ledger name her");
    send(&officer, "GET", format!("{HR}/employees/E2/personal"), None).await.expect(404);
    let after = send(&officer, "POST", path, None).await;
    let after = after.expect(200).clone();
    assert_eq!(after["personal"], Value::Null);
    assert_eq!(after["retained"]["national_id"], "NI-E2-7731", "kept for tax records");
    assert_eq!(after["contracts"].as_array().unwrap().len(), 1, "kept for payroll");
    assert_eq!(after["attendance"][0]["presence"], "absent");
    assert!(after["attendance"][0].get("note").is_none(), "{after}");
    let detail = send(&officer, "POST", erasure, None).await.expect_problem(422, "invalid");
    assert!(detail.contains("erased already"), "{detail}");
    assert_eq!(k.audit_actions("demo", "hr.erasure").await.len(), 1);
    // She no longer signs in as E2.
    send(&erin, "GET", format!("{HR}/me"), None).await.expect(404);
    k.stop().await;
}

/// Reads E1's annual ledger until it has `n` entries, for at most 20 s.
async fn annual_ledger(k: &TestKernel, n: usize) -> Value {
    let started = std::time::Instant::now();
    loop {
        let leave = k.get(&format!("{HR}/employees/E1/leave")).await.expect(200).clone();
        let ledger = leave["balances"]["annual"].clone();
        if ledger["ledger"].as_array().map_or(0, Vec::len) >= n {
            return ledger;
        }
        assert!(started.elapsed().as_secs() < 20, "{n} entries not reached: {leave}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_accrues_each_month_and_the_excess_expires_at_the_year_end() {
    // 10 December 2026, noon UTC.
    let clock = keel_tests::MovedClock::at(1_796_904_000);
    let mut setup = Setup::new(&["finance", "hr"]);
    setup.clock = Some(clock.clone());
    let k = TestKernel::start(setup).await;
    k.post(&format!("{HR}/departments"), json!({"id": "OPS", "name": "Operations"}))
        .await
        .expect(201);
    k.post(&format!("{HR}/employees"), hire_body("E1", "mike", "OPS", None, "4000.00"))
        .await
        .expect(201);
    let annual = json!({"paid": true, "yearly_allowance": "24", "accrual": "monthly", "carry_forward_max": "5", "allow_negative": false});
    k.send("PUT", &format!("{HR}/leave-types/annual"), Some(annual)).await.expect(200);

    // Hired on 5 January: twelve months of 2 days each by December.
    let started = k.post(&format!("{HR}/leave-accruals"), json!({})).await;
    assert_eq!(started.expect(202)["started"], true);
    let ledger = annual_ledger(&k, 12).await;
    assert_eq!(ledger["balance"], "24");
    // Run again, it adds nothing.
    k.post(&format!("{HR}/leave-accruals"), json!({})).await.expect(202);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(annual_ledger(&k, 12).await["ledger"].as_array().unwrap().len(), 12);

    // 2 January 2027: 19 of 2026's 24 days expire (5 carried), January's 2 accrue.
    clock.set(1_798_891_200);
    k.post(&format!("{HR}/leave-accruals"), json!({})).await.expect(202);
    let ledger = annual_ledger(&k, 14).await;
    assert_eq!(ledger["balance"], "7", "{ledger}");
    let kinds: Vec<&str> = ledger["ledger"].as_array().unwrap()[12..]
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["expiry", "accrual"]);
    assert_eq!(k.audit_actions("demo", "hr.leave.accrued").await.len(), 3);
    k.stop().await;
}
