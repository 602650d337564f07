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

/// A CAMT.053 statement of March: the customer's payment, a fee, and a
/// pending credit the bank has not booked.
const CAMT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-03-31T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>S-03</Id>
      <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-01</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1235.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-31</Dt></Dt></Bal>
      <Ntry><Amt Ccy="EUR">240.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-03-13</Dt></BookgDt><AcctSvcrRef>B-1</AcctSvcrRef>
        <NtryDtls><TxDtls><Refs><EndToEndId>INV-9</EndToEndId></Refs><RmtInf><Ustrd>Invoice INV-9</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
      <Ntry><Amt Ccy="EUR">4.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-03-31</Dt></BookgDt><AcctSvcrRef>FEE-03</AcctSvcrRef><AddtlNtryInf>Account fee</AddtlNtryInf></Ntry>
      <Ntry><Amt Ccy="EUR">99.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
        <BookgDt><Dt>2026-03-31</Dt></BookgDt></Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camt053_statement_is_imported_with_its_balances_and_reconciled() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let post = |date: &str, reference: &str, debit: &str, credit: &str, amount: &str| {
        json!({ "date": date, "reference": reference, "journal": "BNK",
            "lines": [{ "account": debit, "debit": amount }, { "account": credit, "credit": amount }] })
    };
    k.post(&format!("{F}/entries"), post("2026-02-28", "", "1100", "3000", "1000.00"))
        .await
        .expect(201);
    let path = format!("{F}/entries");
    let paid = k.post(&path, post("2026-03-12", "INV-9", "1100", "1200", "240.00")).await;
    let paid = paid.expect(201)["number"].as_u64().unwrap();

    // A USD file is not this EUR account's statement.
    let usd = CAMT.replace("Ccy=\"EUR\"", "Ccy=\"USD\"").replace(">EUR<", ">USD<");
    let detail = k
        .post(&format!("{F}/bank-statements"), json!({ "account": "1100", "camt053": usd }))
        .await
        .expect_problem(422, "invalid");
    assert!(detail.contains("statement is in USD but account 1100 is kept in EUR"), "{detail}");
    let imported = k
        .post(&format!("{F}/bank-statements"), json!({ "account": "1100", "camt053": CAMT }))
        .await
        .expect(201)
        .clone();
    assert_eq!(
        (imported["opening_balance"].as_str(), imported["closing_balance"].as_str()),
        (Some("1000.00"), Some("1235.50"))
    );
    let lines = imported["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "the pending credit is not booked: {imported}");
    assert_eq!(
        (lines[0]["status"].as_str(), lines[0]["entry"].as_u64()),
        (Some("matched"), Some(paid))
    );
    assert_eq!(lines[1]["description"], "Account fee");
    let id = imported["id"].as_str().unwrap();
    k.post(&format!("{F}/bank-statements/{id}/lines/2/post"), json!({ "account": "6900" }))
        .await
        .expect(200);
    let reconciled = k.get(&format!("{F}/bank-statements/{id}/reconciliation")).await;
    let reconciled = reconciled.expect(200).clone();
    assert_eq!(
        (reconciled["reconciled"].as_bool(), reconciled["ledger_balance"].as_str()),
        (Some(true), Some("1235.50"))
    );
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_currency_account_reconciles_in_its_own_currency() {
    let k = TestKernel::start(Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let account = json!({ "code": "1110", "name": "Bank USD", "type": "asset", "currency": "USD" });
    k.post(&format!("{F}/accounts"), account).await.expect(201);
    for (date, rate) in [("2026-04-01", "0.90"), ("2026-04-15", "0.95")] {
        let rate = json!({ "currency": "USD", "date": date, "rate": rate });
        k.post(&format!("{F}/exchange-rates"), rate).await.expect(201);
    }
    // USD 1,000.00 paid in on 2 April (900.00 at 0.90).
    let paid = json!({ "date": "2026-04-02", "reference": "CAP-1", "currency": "USD", "lines": [
        { "account": "1110", "debit": "1000.00" }, { "account": "3000", "credit": "1000.00" } ] });
    let paid = k.post(&format!("{F}/entries"), paid).await.expect(201)["number"].as_u64().unwrap();
    let csv = "Date,Ref,Amount\n2026-04-02,CAP-1,1000.00\n2026-04-20,,-10.00\n";
    let statement = json!({ "account": "1110", "csv": csv,
        "mapping": { "date": "Date", "amount": "Amount", "reference": "Ref" },
        "opening_balance": "0.00", "closing_balance": "990.00" });
    let imported = k.post(&format!("{F}/bank-statements"), statement).await.expect(201).clone();
    assert_eq!(imported["lines"][0]["entry"].as_u64(), Some(paid), "matched by its USD amount");
    let id = imported["id"].as_str().unwrap();
    // The USD 10.00 fee posts at 20 April's rate, 0.95: 9.50.
    let path = format!("{F}/bank-statements/{id}/lines/2/post");
    let fee = k.post(&path, json!({ "account": "6900" })).await;
    let fee = fee.expect(200)["entry"].as_u64().unwrap();
    let fee = k.get(&format!("{F}/entries/{fee}")).await.expect(200).clone();
    assert_eq!((fee["currency"].as_str(), fee["total"].as_str()), (Some("USD"), Some("9.50")));
    let reconciled = k.get(&format!("{F}/bank-statements/{id}/reconciliation")).await;
    let reconciled = reconciled.expect(200).clone();
    assert_eq!(
        (reconciled["ledger_balance"].as_str(), reconciled["reconciled"].as_bool()),
        (Some("990.00"), Some(true)),
        "{reconciled}"
    );
    k.stop().await;
}
