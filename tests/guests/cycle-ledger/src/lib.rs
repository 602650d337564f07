//! A ledger provider whose `balance` of account `N` recurses `N` frames
//! deep, then asks the directory (cycle-directory, which does the same and
//! asks the ledger again) for a person named `N`: calls nest until the
//! kernel stops them. `GET` and `POST /deep?frames=N` start the chain.

use keel_sdk::erp::{self, LedgerProvider};
use keel_sdk::{Error, Plugin, Request, Response, Result};
use serde_json::json;

struct Cycle;

/// Uses `frames` frames of stack, then runs `then`.
fn deep<T>(frames: u64, then: &mut dyn FnMut() -> T) -> T {
    let pad = std::hint::black_box([frames; 64]);
    if frames == 0 {
        return then();
    }
    let out = deep(frames - 1, then);
    std::hint::black_box(pad[(frames % 64) as usize]);
    out
}

impl Plugin for Cycle {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        match operation {
            "deep-read" | "deep-write" => {
                let frames = request.query("frames").unwrap_or("1000").to_owned();
                let n: u64 = frames.parse().map_err(|_| Error::invalid("frames is a number"))?;
                let outcome = deep(n, &mut || erp::directory::find_person(&frames));
                match outcome {
                    Ok(person) => Response::ok(&json!({ "found": person.is_some() })),
                    Err(err) => Response::ok(&json!({ "stopped": err.to_string() })),
                }
            }
            other => Err(Error::unknown_operation(other)),
        }
    }
}

/// What this test ledger answers for what it does not keep.
const NOT_KEPT: &str = "this test ledger keeps no currencies, periods, invoices or statements";

impl LedgerProvider for Cycle {
    fn post(_entry: erp::JournalEntry) -> Result<u64> {
        Err(Error::invalid("this ledger only recurses"))
    }

    fn record_payable(_payable: erp::Payable) -> Result<String> {
        Err(Error::invalid("this ledger only recurses"))
    }

    fn balance(account: String, _as_of: Option<String>) -> Result<erp::AccountBalance> {
        let n: u64 = account.parse().map_err(|_| Error::invalid("the account is a number"))?;
        deep(n, &mut || erp::directory::find_person(&account))?;
        Err(Error::invalid("the directory answered"))
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

keel_sdk::export_plugin!(Cycle);
keel_sdk::export_ledger!(Cycle);
