//! Tax rates, and the tax report of a period: the rules are in
//! `ledger::tax`.

use std::collections::BTreeMap;

use keel_sdk::{Collection, Error, Range, Request, Response, Result, audit};

use crate::books::{self, ACCOUNTS};
use crate::contract::tax::{TaxAccount, TaxRates, TaxReportAnswer};
use crate::ledger::tax::{self, Kind, NewTaxRate, TaxRate};

/// Tax rates, by code.
const TAX_RATES: Collection<TaxRate> = Collection::new("tax-rates");

/// `POST /tax-rates`: `{"code":"VAT20","name":"VAT 20%","rate":"20","kind":"sales","inclusive":false,"account":"2100"}`.
pub(crate) fn create(request: &Request) -> Result<Response> {
    let rate = request.json::<NewTaxRate>()?.check()?;
    if ACCOUNTS.get(&rate.account)?.is_none() {
        return Err(Error::invalid(format!("account {} does not exist", rate.account)));
    }
    if TAX_RATES.get(&rate.code)?.is_some() {
        return Err(Error::conflict(format!("tax rate {} already exists", rate.code)));
    }
    TAX_RATES.insert(&rate.code, &rate)?;
    let detail = format!(
        "tax rate {} ({}%, {:?}) posting to {}",
        rate.code, rate.rate, rate.kind, rate.account
    );
    audit::record(audit::Event {
        action: "tax-rate.created",
        collection: Some("tax-rates"),
        key: Some(&rate.code),
        detail: &detail,
    })?;
    Response::created(&rate)
}

/// `GET /tax-rates`
pub(crate) fn list(_: &Request) -> Result<Response> {
    let tax_rates = TAX_RATES.scan_all(&Range::all())?.into_iter().map(|(_, r)| r).collect();
    Response::ok(&TaxRates { tax_rates })
}

/// The rates named by `codes` that exist, by code.
pub(crate) fn rates(codes: &[String]) -> Result<BTreeMap<String, TaxRate>> {
    let mut rates = BTreeMap::new();
    for code in codes {
        if let Some(rate) = TAX_RATES.get(code)? {
            rates.insert(code.clone(), rate);
        }
    }
    Ok(rates)
}

/// `GET /reports/tax?from=&to=`: tax collected on sales, paid on
/// purchases, and the difference due, from the movement of each rate's
/// account over the range.
pub(crate) fn report(request: &Request) -> Result<Response> {
    let (from, to) = super::reports::range(request, "from", "to")?
        .ok_or_else(|| Error::bad_request("from=YYYY-MM-DD and to=YYYY-MM-DD are required"))?;
    let all: Vec<TaxRate> =
        TAX_RATES.scan_all(&Range::all())?.into_iter().map(|(_, r)| r).collect();
    // Each tax account once, with what its rates use it for.
    let mut accounts: BTreeMap<String, tax::Use> = BTreeMap::new();
    for rate in &all {
        let used = match rate.kind {
            Kind::Sales => tax::Use::Sales,
            Kind::Purchase => tax::Use::Purchase,
        };
        accounts
            .entry(rate.account.clone())
            .and_modify(|known| {
                if *known != used {
                    *known = tax::Use::Both;
                }
            })
            .or_insert(used);
    }
    let mut moved = Vec::new();
    let mut lines = Vec::new();
    for (account, used) in accounts {
        let moved_there = books::moved_between(&account, &from, &to)?;
        let (debit, credit) = (moved_there.debit, moved_there.credit);
        moved.push((used, debit, credit));
        lines.push(TaxAccount { account, debit, credit });
    }
    let report = tax::report(&moved)?;
    Response::ok(&TaxReportAnswer { from, to, report, accounts: lines })
}
