//! The chart of accounts.

use keel_sdk::{Error, Range, Request, Response, Result};

use crate::api::currencies;
use crate::books::{self, ACCOUNTS};
use crate::contract::accounts::{AccountPage, ChartLoaded, LoadTemplate, Templates};
use crate::ledger::account::{self, Account, AccountType, NewAccount, TEMPLATES};

/// `POST /accounts`: in the company's currency, or (an asset or a
/// liability) kept in another.
pub(crate) fn create(request: &Request) -> Result<Response> {
    let account = request.json::<NewAccount>()?.validate()?;
    if ACCOUNTS.get(&account.code)?.is_some() {
        return Err(Error::conflict(format!("account {} already exists", account.code)));
    }
    check_new(&account)?;
    ACCOUNTS.insert(&account.code, &account)?;
    Response::created(&account)
}

/// Checks a new account's currency, for `POST /accounts` and for other
/// plugins through `keel:erp/ledger`. Until the company's currency is set
/// (by loading a chart or with `PUT /settings`), the chart keeps one
/// currency and that is the company's.
pub(crate) fn check_new(account: &Account) -> Result<()> {
    let company = books::company_currency().unwrap_or_else(|_| account.currency.clone());
    if account.currency != company && !currencies::currency_is_set()? {
        return Err(Error::invalid(format!(
            "the books are kept in {company}, the chart's currency; fix it with PUT /settings {{\"currency\": \"{company}\"}} before adding an account kept in {}",
            account.currency
        )));
    }
    Ok(account.check_currency(&company)?)
}

/// `GET /accounts?type=&cursor=&limit=`
pub(crate) fn list(request: &Request) -> Result<Response> {
    let limit = request.page_limit()?;
    let cursor = request.query("cursor");
    let page = match request.query("type") {
        Some(kind) => {
            let kind = AccountType::parse(kind).map_err(|err| Error::bad_request(err.0))?;
            ACCOUNTS.lookup("by-type", &Range::exactly(kind.as_str()), cursor, limit)?
        }
        None => ACCOUNTS.scan(&Range::all(), cursor, limit)?,
    };
    let accounts = page.items.into_iter().map(|(_, account)| account).collect();
    Response::ok(&AccountPage { accounts, cursor: page.cursor })
}

/// `GET /accounts/{code}`
pub(crate) fn get(request: &Request) -> Result<Response> {
    let code = request.param("code")?;
    match ACCOUNTS.get(code)? {
        Some(account) => Response::ok(&account),
        None => Err(Error::not_found(format!("account {code} does not exist"))),
    }
}

/// `GET /chart-templates`
pub(crate) fn templates() -> Result<Response> {
    let templates = TEMPLATES.iter().map(|name| (*name).to_owned()).collect();
    Response::ok(&Templates { templates })
}

/// `POST /chart-templates/{template}` with `{"currency": "EUR"}`: creates
/// the template's accounts, skipping codes that already exist.
pub(crate) fn load_template(request: &Request) -> Result<Response> {
    let name = request.param("template")?;
    let body: LoadTemplate = request.json()?;
    let accounts = account::template(name, &body.currency)?;
    currencies::settle_currency(&body.currency)?;
    let company = books::company_currency()?;
    if body.currency != company {
        return Err(Error::invalid(format!(
            "the books are kept in {company}; load the chart in {company} and add accounts kept in {} one by one",
            body.currency
        )));
    }
    let (mut created, mut skipped) = (Vec::new(), Vec::new());
    for account in accounts {
        if ACCOUNTS.get(&account.code)?.is_some() {
            skipped.push(account.code);
        } else {
            ACCOUNTS.insert(&account.code, &account)?;
            created.push(account.code);
        }
    }
    Response::created(&ChartLoaded { created, skipped, template: name.to_owned() })
}
