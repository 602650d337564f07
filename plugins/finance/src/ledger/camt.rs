//! Bank statements in ISO 20022 CAMT.053 ("bank to customer statement"),
//! the XML most European banks send: one statement of one account, its
//! opening and closing booked balances, and its booked entries. Any version
//! of the schema is read by element name (`camt.053.001.02` to `.13`).

use keel_values::Date;
use keel_values::decimal::{self, Sign};
use roxmltree::{Document, Node, ParsingOptions};
use rust_decimal::Decimal;

use super::RuleError;

/// Most XML nodes a file may have: about 50 per entry for the most lines
/// a statement may have, and its header.
const NODES_MAX: u32 = 400_000;
/// Longest reference or description kept.
const TEXT_CHARS_MAX: usize = 200;

/// What a CAMT.053 statement says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Camt {
    /// The account's currency.
    pub currency: String,
    pub opening: Decimal,
    pub closing: Decimal,
    /// Its booked entries, in the file's order.
    pub lines: Vec<CamtLine>,
}

/// One booked entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CamtLine {
    /// Its booking date.
    pub date: Date,
    /// Credits positive, debits negative.
    pub amount: Decimal,
    /// The end-to-end reference the payer gave, else the bank's own.
    pub reference: String,
    /// The remittance information, else the entry's additional information.
    pub description: String,
}

/// Reads a CAMT.053 document holding one statement. Entries that are not
/// booked (pending, information only) are left out.
pub fn read(xml: &str) -> Result<Camt, RuleError> {
    let options = ParsingOptions { allow_dtd: false, nodes_limit: NODES_MAX, ..Default::default() };
    let document = Document::parse_with_options(xml, options).map_err(|err| {
        RuleError::new(format!("the CAMT.053 file is not well-formed XML: {err}"))
    })?;
    let root = document.root_element();
    let Some(report) = child(root, "BkToCstmrStmt") else {
        return Err(RuleError::new(format!(
            "the file is not a CAMT.053 statement: its root holds no BkToCstmrStmt (it is <{}>)",
            root.tag_name().name()
        )));
    };
    let statements: Vec<Node<'_, '_>> = children(report, "Stmt").collect();
    let [statement] = statements.as_slice() else {
        return Err(RuleError::new(format!(
            "a CAMT.053 file is imported one statement at a time; this one has {}",
            statements.len()
        )));
    };
    let currency = path(*statement, &["Acct", "Ccy"]).and_then(text).map(str::to_owned);
    let mut currencies = currency.into_iter().collect::<Vec<_>>();
    let mut opening = None;
    let mut closing = None;
    for balance in children(*statement, "Bal") {
        if let Some(ccy) = child(balance, "Amt").and_then(|a| a.attribute("Ccy")) {
            currencies.push(ccy.to_owned());
        }
        let code = path(balance, &["Tp", "CdOrPrtry", "Cd"]).and_then(text).unwrap_or_default();
        let amount = || signed(balance, &format!("{code} balance"));
        match code {
            // The opening booked balance, or the closing one of the
            // statement before.
            "OPBD" => opening = Some(amount()?),
            "PRCD" if opening.is_none() => opening = Some(amount()?),
            "CLBD" => closing = Some(amount()?),
            _ => {}
        }
    }
    let (Some(opening), Some(closing)) = (opening, closing) else {
        return Err(RuleError::new(
            "the statement has no opening (OPBD or PRCD) or no closing (CLBD) booked balance",
        ));
    };
    let mut lines = Vec::new();
    for (i, entry) in children(*statement, "Ntry").enumerate() {
        let n = i + 1;
        let status = child(entry, "Sts")
            .map(|sts| child(sts, "Cd").and_then(text).or_else(|| text(sts)).unwrap_or_default())
            .unwrap_or("BOOK");
        if status != "BOOK" {
            continue;
        }
        if let Some(ccy) = child(entry, "Amt").and_then(|a| a.attribute("Ccy")) {
            currencies.push(ccy.to_owned());
        }
        let date = ["BookgDt", "ValDt"]
            .iter()
            .find_map(|at| child(entry, at))
            .and_then(|d| child(d, "Dt").and_then(text).or_else(|| child(d, "DtTm").and_then(text)))
            .ok_or_else(|| RuleError::new(format!("entry {n} has no booking date")))?;
        let date = Date::parse(date.get(..10).unwrap_or(date))
            .map_err(|err| err.within(&format!("entry {n}")))?;
        let details = path(entry, &["NtryDtls", "TxDtls"]);
        let end_to_end = details
            .and_then(|d| path(d, &["Refs", "EndToEndId"]))
            .and_then(text)
            .filter(|r| *r != "NOTPROVIDED");
        let reference =
            end_to_end.or_else(|| child(entry, "AcctSvcrRef").and_then(text)).unwrap_or_default();
        let remittance: Vec<&str> = details
            .and_then(|d| child(d, "RmtInf"))
            .map(|r| children(r, "Ustrd").filter_map(text).collect())
            .unwrap_or_default();
        let description = if remittance.is_empty() {
            child(entry, "AddtlNtryInf").and_then(text).unwrap_or_default().to_owned()
        } else {
            remittance.join(" ")
        };
        lines.push(CamtLine {
            date,
            amount: signed(entry, &format!("entry {n}"))?,
            reference: reference.chars().take(TEXT_CHARS_MAX).collect(),
            description: description.chars().take(TEXT_CHARS_MAX).collect(),
        });
    }
    currencies.sort_unstable();
    currencies.dedup();
    let currency = match currencies.as_slice() {
        [one] => one.clone(),
        [] => return Err(RuleError::new("the statement names no currency")),
        several => {
            return Err(RuleError::new(format!(
                "the statement mixes currencies ({}); a bank account's statement has one",
                several.join(", ")
            )));
        }
    };
    Ok(Camt { currency, opening, closing, lines })
}

/// The amount of a balance or an entry: `Amt`, negative when `CdtDbtInd`
/// says `DBIT`.
fn signed(node: Node<'_, '_>, what: &str) -> Result<Decimal, RuleError> {
    let amount = child(node, "Amt")
        .and_then(text)
        .ok_or_else(|| RuleError::new(format!("{what} has no amount")))?;
    let amount = decimal::amount(amount, &format!("{what} amount"), Sign::NonNegative)?;
    match child(node, "CdtDbtInd").and_then(text) {
        Some("CRDT") => Ok(amount),
        Some("DBIT") => Ok(-amount),
        other => Err(RuleError::new(format!(
            "{what} is neither a credit nor a debit (CdtDbtInd {:?})",
            other.unwrap_or_default()
        ))),
    }
}

fn children<'a, 'input>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn path<'a, 'input>(node: Node<'a, 'input>, names: &[&str]) -> Option<Node<'a, 'input>> {
    names.iter().try_fold(node, |at, name| child(at, name))
}

fn text<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    node.text().map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    /// A statement as banks send it (version 2 of the schema), with a
    /// pending entry that is not booked yet.
    pub(crate) const STATEMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-03-31T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-2026-03</Id>
      <Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-01</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1745.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-31</Dt></Dt></Bal>
      <Ntry>
        <Amt Ccy="EUR">750.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-03-12</Dt></BookgDt><ValDt><Dt>2026-03-12</Dt></ValDt>
        <AcctSvcrRef>BANK-0001</AcctSvcrRef>
        <NtryDtls><TxDtls><Refs><EndToEndId>CI-000001</EndToEndId></Refs>
          <RmtInf><Ustrd>Invoice CI-000001</Ustrd><Ustrd>thank you</Ustrd></RmtInf></TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">4.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2026-03-31T23:59:00</DtTm></BookgDt>
        <AcctSvcrRef>FEE-03</AcctSvcrRef>
        <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs></TxDtls></NtryDtls>
        <AddtlNtryInf>Account fee March</AddtlNtryInf>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">99.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>
        <BookgDt><Dt>2026-03-31</Dt></BookgDt>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>"#;

    #[test]
    fn a_statement_is_read_with_its_balances_and_booked_entries() {
        let camt = read(STATEMENT).unwrap();
        assert_eq!(
            (camt.currency.as_str(), camt.opening, camt.closing),
            ("EUR", d("1000.00"), d("1745.50"))
        );
        assert_eq!(
            camt.lines,
            [
                CamtLine {
                    date: Date::parse("2026-03-12").unwrap(),
                    amount: d("750.00"),
                    reference: "CI-000001".into(),
                    description: "Invoice CI-000001 thank you".into(),
                },
                CamtLine {
                    date: Date::parse("2026-03-31").unwrap(),
                    amount: d("-4.50"),
                    reference: "FEE-03".into(),
                    description: "Account fee March".into(),
                },
            ]
        );
    }

    #[test]
    fn what_is_not_a_readable_statement_is_refused_with_reasons() {
        let cases = [
            ("<Document><Stmt/></Document>", "no BkToCstmrStmt"),
            ("not xml", "not well-formed"),
            (
                "<!DOCTYPE d [<!ENTITY a \"aaaa\">]><Document><BkToCstmrStmt/></Document>",
                "not well-formed",
            ),
            ("<Document><BkToCstmrStmt/></Document>", "has 0"),
            ("<Document><BkToCstmrStmt><Stmt/><Stmt/></BkToCstmrStmt></Document>", "has 2"),
            ("<Document><BkToCstmrStmt><Stmt/></BkToCstmrStmt></Document>", "booked balance"),
        ];
        for (xml, needle) in cases {
            let err = read(xml).unwrap_err().0;
            assert!(err.contains(needle), "{xml}: {err}");
        }
        let unsigned = STATEMENT.replacen("<CdtDbtInd>DBIT</CdtDbtInd>", "", 1);
        assert!(read(&unsigned).unwrap_err().0.contains("entry 2 is neither a credit nor a debit"));
        let mixed = STATEMENT.replacen("<Amt Ccy=\"EUR\">750.00", "<Amt Ccy=\"USD\">750.00", 1);
        assert!(read(&mixed).unwrap_err().0.contains("mixes currencies (EUR, USD)"));
        let balance = STATEMENT.replacen("<Amt Ccy=\"EUR\">1000.00", "<Amt Ccy=\"GBP\">1000.00", 1);
        assert!(read(&balance).unwrap_err().0.contains("mixes currencies (EUR, GBP)"));
        let bad_date =
            STATEMENT.replacen("2026-03-12</Dt></BookgDt>", "2026-02-30</Dt></BookgDt>", 1);
        assert!(read(&bad_date).unwrap_err().0.starts_with("entry 1:"));
    }
}
