//! The ledger accounts stock is valued in, and posting moves to them
//! through the tenant's `keel:erp/ledger` provider.

use crate::moves::MoveRequest;
pub use crate::rules::accounts::{Settings, ValueChange};
use keel_sdk::erp::{self, AccountType, JournalEntry, Line};
use keel_sdk::{Collection, Result};
use rust_decimal::Decimal;

const SETTINGS: Collection<Settings> = Collection::new("settings");

/// The settings, defaults until an administrator saves some.
pub fn settings() -> Result<Settings> {
    Ok(SETTINGS.get("ledger")?.unwrap_or_default())
}

/// Saves `settings`; the accounts are made sure of on the next move.
pub fn save_settings(mut settings: Settings) -> Result<Settings> {
    settings.check()?;
    settings.ensured = false;
    SETTINGS.put("ledger", &settings)?;
    Ok(settings)
}

/// The settings, with their accounts made sure of in the ledger (once).
pub fn ledger_settings() -> Result<Settings> {
    let mut settings = settings()?;
    if settings.ensured {
        return Ok(settings);
    }
    let accounts = [
        (&settings.inventory_account, "Inventory", AccountType::Asset),
        (&settings.received_account, "Goods received not invoiced", AccountType::Liability),
        (&settings.issued_account, "Cost of goods sold", AccountType::Expense),
        (&settings.adjustment_account, "Stock adjustments", AccountType::Expense),
    ];
    for (code, name, type_) in accounts {
        erp::ledger::ensure_account(&erp::Account {
            code: code.clone(),
            name: name.to_owned(),
            type_,
            currency: settings.currency.clone(),
        })?;
    }
    settings.ensured = true;
    SETTINGS.put("ledger", &settings)?;
    Ok(settings)
}

/// Posts `value` of a move of `kind` through the ledger (see
/// [`Settings::accounts`]), if it is not zero; returns the journal entry's
/// number.
pub fn post(
    request: &MoveRequest<'_>,
    settings: &Settings,
    kind: ValueChange,
    value: Decimal,
    what: &str,
) -> Result<Option<u64>> {
    let (debit, credit) = settings.accounts(kind);
    if value.is_zero() {
        return Ok(None);
    }
    let amount = value.to_string();
    erp::ledger::post(&JournalEntry {
        date: request.date.to_owned(),
        memo: format!("Stock {what}: {} {}", request.quantity, request.item),
        reference: request.reference.to_owned(),
        lines: vec![
            Line {
                account: debit.to_owned(),
                debit: Some(amount.clone()),
                credit: None,
                cost_centre: None,
            },
            Line {
                account: credit.to_owned(),
                debit: None,
                credit: Some(amount),
                cost_centre: None,
            },
        ],
        currency: None,
        rate: None,
    })
    .map(Some)
}
