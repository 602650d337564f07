//! A consumer of `keel:erp/ledger`: each operation posts an entry through
//! the tenant's ledger provider, then keeps a note of what happened in its
//! own `posted` collection.

use keel_sdk::erp::{self, JournalEntry, Line};
use keel_sdk::{Collection, Error, Plugin, Range, Request, Response, Result};
use serde::Deserialize;
use serde_json::{Value, json};

const POSTED: Collection<Value> = Collection::new("posted");

#[derive(Deserialize)]
struct Body {
    date: String,
    memo: String,
    lines: Vec<BodyLine>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    rate: Option<String>,
}

#[derive(Deserialize)]
struct BodyLine {
    account: String,
    debit: Option<String>,
    credit: Option<String>,
    #[serde(default)]
    cost_centre: Option<String>,
}

fn entry(body: Body) -> JournalEntry {
    JournalEntry {
        date: body.date,
        memo: body.memo,
        reference: "ledger-client".to_owned(),
        lines: body
            .lines
            .into_iter()
            .map(|l| Line {
                account: l.account,
                debit: l.debit,
                credit: l.credit,
                cost_centre: l.cost_centre,
            })
            .collect(),
        currency: body.currency,
        rate: body.rate,
    }
}

/// Posts the request's entry and notes the result under `key`.
fn post_and_note(request: &Request, key: &str) -> Result<Value> {
    let number = erp::ledger::post(&entry(request.json()?))?;
    let note = json!({ "number": number });
    POSTED.put(key, &note)?;
    Ok(note)
}

struct LedgerClient;

impl Plugin for LedgerClient {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        match operation {
            "post" => Response::created(&post_and_note(&request, "last")?),
            "post-holding" => {
                // Fills `mib` MiB of its own memory, then posts while holding it.
                let mib: usize = request.query("mib").and_then(|m| m.parse().ok()).unwrap_or(0);
                let held = std::hint::black_box(vec![7u8; mib << 20]);
                let mut note = post_and_note(&request, "last")?;
                note["held"] = json!(held.len() >> 20);
                Response::created(&note)
            }
            "post-after-publishing" => {
                // Publishes `events` events, then posts: the provider's
                // events come out of the same budget.
                let n: u32 = request.query("events").and_then(|n| n.parse().ok()).unwrap_or(0);
                let batch = request.query("batch").unwrap_or_default();
                for at in 0..n {
                    let key = format!("{batch}-{at}");
                    keel_sdk::events::publish("ledger-client.noted", &key, &json!({}))?;
                }
                Response::created(&post_and_note(&request, "last")?)
            }
            "post-then-fail" => {
                post_and_note(&request, "failed")?;
                Err(Error::invalid("the consumer failed after the provider posted"))
            }
            "post-ignoring-refusal" => {
                let outcome = match erp::ledger::post(&entry(request.json()?)) {
                    Ok(number) => json!({ "number": number }),
                    Err(err) => json!({ "refused": err.to_string() }),
                };
                POSTED.put("ignored", &outcome)?;
                Response::created(&outcome)
            }
            "post-in-a-read" => {
                let line = |debit: Option<&str>, credit: Option<&str>, account: &str| BodyLine {
                    account: account.to_owned(),
                    debit: debit.map(str::to_owned),
                    credit: credit.map(str::to_owned),
                    cost_centre: None,
                };
                let body = Body {
                    date: "2026-01-01".to_owned(),
                    memo: "in a read".to_owned(),
                    lines: vec![line(Some("1.00"), None, "1100"), line(None, Some("1.00"), "3000")],
                    currency: None,
                    rate: None,
                };
                erp::ledger::post(&entry(body))?;
                Response::ok(&json!({}))
            }
            "balance" => {
                let balance = erp::ledger::balance(request.param("code")?, request.query("as_of"))?;
                Response::ok(&json!({
                    "account": balance.account,
                    "currency": balance.currency,
                    "debit": balance.debit,
                    "credit": balance.credit,
                    "balance": balance.balance,
                }))
            }
            "period" => {
                let period =
                    erp::ledger::check_period(request.param("date")?, request.query("journal"))?;
                Response::ok(
                    &json!({ "period": period, "currency": erp::ledger::company_currency()? }),
                )
            }
            "invoice" => {
                #[derive(Deserialize)]
                struct Billed {
                    customer: String,
                    date: String,
                    currency: Option<String>,
                    amount: String,
                    post: bool,
                }
                let billed: Billed = request.json()?;
                let invoice = erp::ledger::create_invoice(&erp::CustomerInvoice {
                    customer: billed.customer,
                    kind: erp::InvoiceKind::Invoice,
                    date: billed.date,
                    terms: None,
                    memo: "billed by ledger-client".to_owned(),
                    reference: "LC-1".to_owned(),
                    currency: billed.currency,
                    rate: None,
                    lines: vec![erp::InvoiceLine {
                        account: "4000".to_owned(),
                        description: "services".to_owned(),
                        quantity: "1".to_owned(),
                        unit_price: billed.amount,
                        tax: None,
                    }],
                    post: billed.post,
                })?;
                Response::created(&json!({
                    "id": invoice.id,
                    "number": invoice.number,
                    "status": invoice.status,
                    "currency": invoice.currency,
                    "total": invoice.total,
                    "open": invoice.open,
                }))
            }
            "statement" => {
                let from = request.query("from").unwrap_or_default();
                let figures =
                    erp::ledger::statement(from, request.query("to").unwrap_or_default())?;
                let accounts: Vec<Value> = figures
                    .accounts
                    .iter()
                    .map(|a| json!({ "account": a.account, "amount": a.amount }))
                    .collect();
                Response::ok(&json!({
                    "currency": figures.currency,
                    "income": figures.income,
                    "expense": figures.expense,
                    "net_profit": figures.net_profit,
                    "assets": figures.assets,
                    "liabilities": figures.liabilities,
                    "equity": figures.equity,
                    "accounts": accounts,
                }))
            }
            "notes" => {
                let page = POSTED.scan(&Range::all(), None, 100)?;
                let notes: serde_json::Map<String, Value> = page.items.into_iter().collect();
                Response::ok(&Value::Object(notes))
            }
            other => Err(Error::unknown_operation(other)),
        }
    }
}

keel_sdk::export_plugin!(LedgerClient);
