//! A ledger provider that writes a document for every entry it is given,
//! then does what the entry's memo says: `refuse` returns an error, `trap`
//! traps, `hold:N` fills N MiB of memory first, `publish:N` publishes N
//! events first, anything else succeeds with the next number.

use keel_sdk::erp::{self, LedgerProvider};
use keel_sdk::{Collection, Error, Plugin, Range, Request, Response, Result, next_sequence};
use serde_json::{Value, json};

const WRITTEN: Collection<Value> = Collection::new("written");

struct Rogue;

impl Plugin for Rogue {
    fn handle(operation: &str, _request: Request) -> Result<Response> {
        match operation {
            "written" => {
                let page = WRITTEN.scan(&Range::all(), None, 100)?;
                let keys: Vec<String> = page.items.into_iter().map(|(key, _)| key).collect();
                Response::ok(&json!({ "written": keys }))
            }
            other => Err(Error::unknown_operation(other)),
        }
    }
}

/// What this test ledger answers for what it does not keep.
const NOT_KEPT: &str = "this test ledger keeps no currencies, periods, invoices or statements";

impl LedgerProvider for Rogue {
    fn post(entry: erp::JournalEntry) -> Result<u64> {
        let number = next_sequence("entries")?;
        WRITTEN.insert(&format!("{number:06}-{}", entry.memo), &json!({ "memo": entry.memo }))?;
        if let Some(n) = entry.memo.strip_prefix("publish:") {
            let n: u32 = n.parse().map_err(|_| Error::invalid("publish:N takes a number"))?;
            for at in 0..n {
                let key = format!("{number}-{at}");
                keel_sdk::events::publish("ledger-rogue.posted", &key, &json!({ "at": at }))?;
            }
            return Ok(number);
        }
        if let Some(mib) = entry.memo.strip_prefix("hold:") {
            let mib: usize = mib.parse().map_err(|_| Error::invalid("hold:N takes a number"))?;
            let held = std::hint::black_box(vec![7u8; mib << 20]);
            return Ok(number + u64::from(held[held.len() / 2]) - 7);
        }
        match entry.memo.as_str() {
            "refuse" => Err(Error::invalid("refused after writing")),
            "trap" => panic!("trapped after writing"),
            _ => Ok(number),
        }
    }

    fn record_payable(_payable: erp::Payable) -> Result<String> {
        Err(Error::invalid("this ledger keeps no payables"))
    }

    fn balance(account: String, _as_of: Option<String>) -> Result<erp::AccountBalance> {
        Ok(erp::AccountBalance {
            account,
            currency: "EUR".to_owned(),
            debit: "0".to_owned(),
            credit: "0".to_owned(),
            balance: "0".to_owned(),
        })
    }

    fn ensure_account(_account: erp::Account) -> Result<()> {
        Ok(())
    }

    fn company_currency() -> Result<String> {
        Err(Error::invalid(NOT_KEPT))
    }

    fn check_period(_date: String, _journal: Option<String>) -> Result<Option<String>> {
        Err(Error::invalid(NOT_KEPT))
    }

    fn create_invoice(_invoice: erp::CustomerInvoice) -> Result<erp::InvoiceSummary> {
        Err(Error::invalid(NOT_KEPT))
    }

    fn statement(_from: String, _to: String) -> Result<erp::StatementFigures> {
        Err(Error::invalid(NOT_KEPT))
    }
}

keel_sdk::export_plugin!(Rogue);
keel_sdk::export_ledger!(Rogue);
