//! The company's currency and settings, exchange rates, and period-end
//! revaluations: the rules are in `ledger::fx` and `ledger::settings`.

use std::collections::BTreeMap;

use keel_sdk::{Collection, Error, Range, Request, Response, Result, audit};
use keel_values::Date;
use rust_decimal::Decimal;

use crate::api::entries;
use crate::books::{self, ACCOUNTS, RATES, SETTINGS, SETTINGS_KEY};
use crate::contract::currencies::{RatePage, RatesImported, RevaluationAt, RevaluationPage};
use crate::ledger::account::AccountType;
use crate::ledger::entry::CheckedEntry;
use crate::ledger::fx::{self, Exposure, NewRate, Rate, Revaluation};
use crate::ledger::journal;
use crate::ledger::settings::{Settings, SettingsChange};

/// Revaluations, by date.
const REVALUATIONS: Collection<Revaluation> = Collection::new("revaluations");

/// `GET /settings`
pub(crate) fn get_settings(_: &Request) -> Result<Response> {
    Response::ok(&books::settings()?)
}

/// `PUT /settings`: the company's currency (only while the chart is empty)
/// and the exchange gain and loss accounts, which must exist as income and
/// expense accounts.
pub(crate) fn update_settings(request: &Request) -> Result<Response> {
    let change: SettingsChange = request.json()?;
    let current = match SETTINGS.get(SETTINGS_KEY)? {
        Some(settings) => settings,
        None => Settings::new(books::company_currency().or_else(|_| {
            change.currency.clone().ok_or_else(|| {
                Error::invalid("name the company's currency: {\"currency\": \"EUR\"}")
            })
        })?),
    };
    let charted = !ACCOUNTS.scan(&Range::all(), None, 1)?.items.is_empty();
    let next = change.apply(current, charted)?;
    for (code, kind) in [
        (&next.exchange_gain_account, AccountType::Income),
        (&next.exchange_loss_account, AccountType::Expense),
    ] {
        if let Some(account) = ACCOUNTS.get(code)?
            && account.kind != kind
        {
            return Err(Error::invalid(format!(
                "exchange differences go to an {} account; {code} is {}",
                kind.as_str(),
                account.kind.as_str()
            )));
        }
    }
    SETTINGS.put(SETTINGS_KEY, &next)?;
    let detail = format!(
        "ledger settings: currency {}, exchange gains to {}, losses to {}",
        next.currency, next.exchange_gain_account, next.exchange_loss_account
    );
    audit::record(audit::Event {
        action: "settings.updated",
        collection: Some("settings"),
        key: Some(SETTINGS_KEY),
        detail: &detail,
    })?;
    Response::ok(&next)
}

/// Fixes the company's currency at `currency` if it is not set: loading a
/// chart sets it to the chart's, unless accounts in another came first.
pub(crate) fn settle_currency(currency: &str) -> Result<()> {
    if !currency_is_set()? {
        let company = books::company_currency().unwrap_or_else(|_| currency.to_owned());
        SETTINGS.put(SETTINGS_KEY, &Settings::new(company))?;
    }
    Ok(())
}

/// Whether the settings fix the company's currency.
pub(crate) fn currency_is_set() -> Result<bool> {
    Ok(SETTINGS.get(SETTINGS_KEY)?.is_some())
}

/// `POST /exchange-rates`: `{"currency":"USD","date":"2026-03-01","rate":"0.92"}`,
/// company-currency units for one unit of `currency`; a rate entered again
/// for the same day replaces it.
pub(crate) fn create_rate(request: &Request) -> Result<Response> {
    let rate = request.json::<NewRate>()?.check(&books::company_currency()?)?;
    store_rates(std::slice::from_ref(&rate))?;
    Response::created(&rate)
}

/// `POST /exchange-rates/import`: a CSV file of rates, with a header naming
/// `currency`, `date` and `rate`, sent as the body or as `{"csv": "..."}`.
/// All are kept or none.
pub(crate) fn import_rates(request: &Request) -> Result<Response> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wrapped {
        csv: String,
    }
    let body = request.body();
    let text = if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        request.json::<Wrapped>()?.csv
    } else {
        String::from_utf8(body.to_vec())
            .map_err(|_| Error::invalid("the CSV file is not UTF-8 text"))?
    };
    let rates = fx::parse_csv(&text, &books::company_currency()?)?;
    store_rates(&rates)?;
    Response::created(&RatesImported { imported: rates.len(), rates })
}

fn store_rates(rates: &[Rate]) -> Result<()> {
    for rate in rates {
        RATES.put(&format!("{}/{}", rate.currency, rate.date), rate)?;
    }
    let detail = match rates {
        [one] => format!("exchange rate {} on {}: {}", one.currency, one.date, one.rate),
        many => format!("{} exchange rates imported", many.len()),
    };
    audit::record(audit::Event {
        action: "exchange-rates.set",
        collection: Some("exchange-rates"),
        key: rates.first().map(|r| r.currency.as_str()),
        detail: &detail,
    })
}

/// `GET /exchange-rates?currency=&from=&to=&cursor=&limit=`, by currency
/// and date.
pub(crate) fn list_rates(request: &Request) -> Result<Response> {
    let (from, to) = (super::date_param(request, "from")?, super::date_param(request, "to")?);
    let range = match request.query("currency") {
        Some(currency) => Range {
            prefix: Some(format!("{currency}/")),
            start: from.map(|d| format!("{currency}/{d}")),
            end: to.map(|d| format!("{currency}/{d}")),
        },
        None if from.is_some() || to.is_some() => {
            return Err(Error::bad_request("from and to go with currency"));
        }
        None => Range::all(),
    };
    let page = RATES.scan(&range, request.query("cursor"), request.page_limit()?)?;
    let rates = page.items.into_iter().map(|(_, r)| r).collect();
    Response::ok(&RatePage { rates, cursor: page.cursor })
}

/// `POST /revaluations` with `{"date": "2026-03-31"}`, the last day of a
/// month: restates the foreign invoices and payables open then, and the
/// accounts kept in a foreign currency, at that day's rates; posts the
/// differences to the exchange gain or loss account on that day and
/// reverses them the next.
pub(crate) fn revalue(request: &Request) -> Result<Response> {
    let date = Date::parse(&request.json::<RevaluationAt>()?.date)?;
    let next_day = date.add_days(1)?;
    if next_day.as_str()[..7] == date.as_str()[..7] {
        return Err(Error::invalid(format!(
            "a revaluation is at a period's end, the last day of a month; {date} is not"
        )));
    }
    if let Some(done) = REVALUATIONS.get(date.as_str())? {
        let by: Vec<String> = done.journal_entries.iter().map(u64::to_string).collect();
        return Err(Error::conflict(format!(
            "{date} is revalued already{}",
            if by.is_empty() { String::new() } else { format!(", by entries {}", by.join(", ")) }
        )));
    }
    let settings = books::settings()?;
    let exposures = exposures(&settings.currency, &date)?;
    let mut rates = BTreeMap::new();
    for exposure in &exposures {
        if !rates.contains_key(&exposure.currency) {
            rates.insert(exposure.currency.clone(), books::rate_on(&exposure.currency, &date)?);
        }
    }
    let accounts = settings.difference_accounts();
    let mut revaluation = Revaluation {
        date,
        rates,
        items: Vec::new(),
        net: Decimal::ZERO,
        journal_entries: Vec::new(),
        reversal_entries: Vec::new(),
    };
    // One entry per currency: an entry has one foreign currency.
    let currencies: Vec<String> = revaluation.rates.keys().cloned().collect();
    for currency in currencies {
        let of_currency: Vec<Exposure> =
            exposures.iter().filter(|e| e.currency == currency).cloned().collect();
        let (items, lines) = fx::revalue(&of_currency, &revaluation.rates, &accounts)?;
        revaluation.net += items.iter().map(|i| i.difference).sum::<Decimal>();
        revaluation.items.extend(items);
        if lines.is_empty() {
            continue;
        }
        check_difference_accounts(&accounts)?;
        let source = format!("revaluation {}", revaluation.date);
        let total = lines.iter().filter_map(|l| l.debit).sum();
        let entry = entries::post_checked(CheckedEntry {
            date: revaluation.date.clone(),
            memo: format!("Revaluation of {currency} items at {}", revaluation.date),
            reference: source.clone(),
            journal: journal::GENERAL.to_owned(),
            period: None,
            reverses: None,
            source: Some(source.clone()),
            lines,
            total,
        })?;
        let memo = format!("Reversal of the {currency} revaluation at {}", revaluation.date);
        let reversal =
            entries::reverse_entry(&entry, Some(next_day.as_str()), Some(memo), Some(source))?;
        revaluation.journal_entries.push(entry.number);
        revaluation.reversal_entries.push(reversal.number);
    }
    REVALUATIONS.insert(revaluation.date.as_str(), &revaluation)?;
    let detail = format!(
        "revaluation at {}: {} items, net difference {} {}",
        revaluation.date,
        revaluation.items.len(),
        revaluation.net,
        settings.currency
    );
    audit::record(audit::Event {
        action: "revaluation.posted",
        collection: Some("revaluations"),
        key: Some(revaluation.date.as_str()),
        detail: &detail,
    })?;
    Response::created(&revaluation)
}

/// `GET /revaluations`
pub(crate) fn list_revaluations(request: &Request) -> Result<Response> {
    let page = REVALUATIONS.scan(&Range::all(), request.query("cursor"), request.page_limit()?)?;
    let revaluations = page.items.into_iter().map(|(_, r)| r).collect();
    Response::ok(&RevaluationPage { revaluations, cursor: page.cursor })
}

/// `GET /revaluations/{date}`
pub(crate) fn get_revaluation(request: &Request) -> Result<Response> {
    let date = request.param("date")?;
    match REVALUATIONS.get(date)? {
        Some(revaluation) => Response::ok(&revaluation),
        None => Err(Error::not_found(format!("there is no revaluation at {date}"))),
    }
}

/// The exchange gain and loss accounts exist, as income and expense.
pub(crate) fn check_difference_accounts(accounts: &fx::DifferenceAccounts) -> Result<()> {
    for (code, kind) in
        [(&accounts.gain, AccountType::Income), (&accounts.loss, AccountType::Expense)]
    {
        match ACCOUNTS.get(code)? {
            Some(account) if account.kind == kind => {}
            _ => {
                return Err(Error::invalid(format!(
                    "exchange differences post to {code}, which is not an {} account of the chart; create it or choose another with PUT /settings",
                    kind.as_str()
                )));
            }
        }
    }
    Ok(())
}

/// What is open in a foreign currency at the end of `date`: invoices and
/// payables dated by then and still open, and accounts kept in a foreign
/// currency.
fn exposures(company: &str, date: &Date) -> Result<Vec<Exposure>> {
    let mut exposures = super::receivables::foreign_exposures(company, date)?;
    exposures.extend(super::payables::foreign_exposures(company, date)?);
    for account in books::all_accounts()? {
        if account.currency == company {
            continue;
        }
        let foreign = books::foreign_totals(&account.code, &account.currency, Some(date))?;
        let carrying = books::totals(&account.code, Some(date))?;
        if foreign.is_empty() && carrying.is_empty() {
            continue;
        }
        exposures.push(Exposure {
            what: format!("account {}", account.code),
            account: account.code,
            foreign_account: true,
            currency: account.currency,
            foreign: foreign.debit - foreign.credit,
            carrying: carrying.debit - carrying.credit,
        });
    }
    Ok(exposures)
}
