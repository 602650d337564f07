//! Finance's bank reconciliation through the gateway: a CSV statement
//! imported through a column mapping, matched, completed and reconciled.

use keel_tests::{Setup, TestKernel};
use serde_json::json;

const F: &str = "/api/demo/finance";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_is_matched_completed_and_reconciled() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let post = |date: &str, reference: &str, debit: &str, credit: &str, amount: &str| {
        json!({ "date": date, "memo": "test", "reference": reference, "journal": "BNK",
            "lines": [{ "account": debit, "debit": amount }, { "account": credit, "credit": amount }] })
    };
    let opening =
        k.post(&format!("{F}/entries"), post("2026-03-31", "", "1100", "3000", "1000.00")).await;
    let opening = opening.expect(201)["number"].as_u64().unwrap();
    let receipt = k
        .post(&format!("{F}/entries"), post("2026-04-02", "INV-7", "1100", "1200", "1190.00"))
        .await;
    let receipt = receipt.expect(201)["number"].as_u64().unwrap();
    let rent = k
        .post(&format!("{F}/entries"), post("2026-04-04", "LEASE", "6100", "1100", "700.00"))
        .await;
    let rent = rent.expect(201)["number"].as_u64().unwrap();
    // A cheque written on the 29th that the bank has not paid yet.
    k.post(&format!("{F}/entries"), post("2026-04-29", "CHQ-1", "6300", "1100", "45.00"))
        .await
        .expect(201);

    let csv = "Date,Text,Ref,Amount\r\n03/04/2026,\"Acme, Ltd\",INV-7,1190.00\r\n05/04/2026,Rent April,,-700.00\r\n30/04/2026,Account fee,,-2.50\r\n";
    let statement = |closing: &str| {
        json!({ "account": "1100", "csv": csv, "date_format": "DD/MM/YYYY",
            "mapping": { "date": "Date", "amount": "Amount", "reference": "Ref", "description": "Text" },
            "opening_balance": "1000.00", "closing_balance": closing })
    };
    let detail = k
        .post(&format!("{F}/bank-statements"), statement("1500.00"))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("not the closing balance 1500.00"), "{detail}");
    let imported =
        k.post(&format!("{F}/bank-statements"), statement("1487.50")).await.expect(201).clone();
    let again = k.post(&format!("{F}/bank-statements"), statement("1487.50")).await;
    let detail = again.expect_problem(409, "conflict");
    assert!(detail.contains("already covers 2026-04-03 to 2026-04-30"), "{detail}");
    let id = imported["id"].as_str().unwrap().to_owned();
    let statuses: Vec<(&str, Option<u64>)> = imported["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["status"].as_str().unwrap(), l["entry"].as_u64()))
        .collect();
    assert_eq!(
        statuses,
        [("matched", Some(receipt)), ("matched", Some(rent)), ("unmatched", None)]
    );
    assert_ne!(statuses[0].1, Some(opening), "the opening entry is not on the statement");

    // Not yet reconciled: the fee is missing from the ledger.
    let path = format!("{F}/bank-statements/{id}/reconciliation");
    let before = k.get(&path).await.expect(200).clone();
    assert_eq!(before["reconciled"], false);
    assert_eq!(before["unmatched_lines"], json!([3]));
    // The fee is posted from the statement to bank fees.
    let posted = k
        .post(&format!("{F}/bank-statements/{id}/lines/3/post"), json!({ "account": "6900" }))
        .await;
    assert_eq!(posted.expect(200)["status"], "posted");
    let after = k.get(&path).await.expect(200).clone();
    assert_eq!(after["ledger_balance"], "1442.50", "1,000 + 1,190 - 700 - 45 - 2.50");
    assert_eq!(after["outstanding_entries"][0]["amount"], "-45.00", "the unpaid cheque");
    assert_eq!(
        (after["reconciled_balance"].as_str(), after["statement_balance"].as_str()),
        (Some("1487.50"), Some("1487.50"))
    );
    assert_eq!(
        (after["difference"].as_str(), after["reconciled"].as_bool()),
        (Some("0.00"), Some(true))
    );

    // Matches by hand: undo one, a wrong amount is refused, redo it.
    let line = format!("{F}/bank-statements/{id}/lines/2/match");
    k.send("DELETE", &line, None).await.expect(200);
    let wrong = k.post(&line, json!({ "entry": receipt })).await.expect_problem(422, "invalid");
    assert!(wrong.contains("moved 1190.00"), "{wrong}");
    k.post(&line, json!({ "entry": rent })).await.expect(200);
    k.post(&line, json!({ "entry": rent })).await.expect_problem(409, "conflict");
    k.stop().await;
}
