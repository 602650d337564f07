//! Upgrading a tenant's stored ledger from an earlier finance version,
//! in the kernel's migration transaction.

use keel_sdk::{Error, Range, Result};

use crate::api::payables::PAYABLES;
use crate::api::receivables::INVOICES;
use crate::books::{self, SETTINGS, SETTINGS_KEY};
use crate::ledger::settings::{self, Settings};

/// Brings documents stored by `from` (none on first enable) up to this
/// version. Before 0.4.0 the ledger kept no company currency: it is the
/// chart's, invoices are in it, and open items are carried at what is
/// open. A chart that mixed currencies cannot be read that way and is
/// refused, leaving the tenant on its version.
pub(crate) fn migrate(from: Option<&str>) -> Result<()> {
    let Some(from) = from else { return Ok(()) };
    if !settings::before_currencies(from) {
        return Ok(());
    }
    let accounts = books::all_accounts()?;
    if accounts.is_empty() {
        return Ok(());
    }
    let company = books::company_currency()?;
    let others: Vec<String> = accounts
        .iter()
        .filter(|a| a.currency != company)
        .map(|a| format!("{} in {}", a.code, a.currency))
        .collect();
    if !others.is_empty() {
        return Err(Error::invalid(format!(
            "this ledger keeps accounts in {company} and in other currencies ({}); from finance 0.4.0 the books are kept in one company currency with foreign amounts line by line, and the old lines do not say which currency they were in. Move those balances to accounts in {company} under finance {from}, then upgrade",
            others.join(", ")
        )));
    }
    if SETTINGS.get(SETTINGS_KEY)?.is_none() {
        SETTINGS.put(SETTINGS_KEY, &Settings::new(company.clone()))?;
    }
    for (key, mut invoice) in INVOICES.scan_all(&Range::all())? {
        let before = invoice.clone();
        invoice.upgrade(&company);
        if invoice != before {
            INVOICES.put(&key, &invoice)?;
        }
    }
    for (key, mut payable) in PAYABLES.scan_all(&Range::all())? {
        let before = payable.clone();
        payable.upgrade();
        if payable != before {
            PAYABLES.put(&key, &payable)?;
        }
    }
    Ok(())
}
