//! Balances and the trial balance, from running totals.

use keel_sdk::{Error, Request, Response, Result};

use crate::books::{self, ACCOUNTS};
use crate::ledger::balance;

/// `GET /accounts/{code}/balance?as_of=YYYY-MM-DD`
pub(crate) fn balance(request: &Request) -> Result<Response> {
    let code = request.param("code")?;
    let as_of = super::date_param(request, "as_of")?;
    let Some(account) = ACCOUNTS.get(code)? else {
        return Err(Error::not_found(format!("account {code} does not exist")));
    };
    let totals = books::totals(code, as_of.as_ref())?;
    let side = account.kind.normal_side();
    Response::ok(&serde_json::json!({
        "account": account.code,
        "name": account.name,
        "type": account.kind,
        "currency": account.currency,
        "as_of": as_of,
        "debit": totals.debit,
        "credit": totals.credit,
        "normal_side": side,
        "balance": totals.balance(side),
    }))
}

/// `GET /reports/trial-balance?as_of=YYYY-MM-DD`
pub(crate) fn trial_balance(request: &Request) -> Result<Response> {
    let as_of = super::date_param(request, "as_of")?;
    let mut rows = Vec::new();
    for account in books::all_accounts()? {
        let totals = books::totals(&account.code, as_of.as_ref())?;
        rows.push((account, totals));
    }
    let report = balance::trial_balance(rows)?;
    Response::ok(
        &serde_json::json!({ "as_of": as_of, "rows": report.rows, "totals": report.totals }),
    )
}
