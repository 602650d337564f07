//! `keel:erp/ledger@0.1.0`: the general ledger provided to other plugins.
//! Each function keeps the same rules as the HTTP operation beside it.

use keel_sdk::erp::{self, LedgerProvider};
use keel_sdk::{Error, Result};
use keel_values::Date;

use crate::Finance;
use crate::api::{entries, payables};
use crate::books::{self, ACCOUNTS};
use crate::ledger::account::{AccountType, NewAccount};
use crate::ledger::entry::{NewEntry, NewLine};
use crate::ledger::payable::NewPayable;

/// The interface's lines as the HTTP operations take them.
fn new_lines(lines: Vec<erp::Line>) -> Vec<NewLine> {
    let amount = |text: Option<String>| text.map(serde_json::Value::String);
    lines
        .into_iter()
        .map(|line| NewLine {
            account: line.account,
            debit: amount(line.debit),
            credit: amount(line.credit),
        })
        .collect()
}

impl LedgerProvider for Finance {
    fn post(entry: erp::JournalEntry) -> Result<u64> {
        let new = NewEntry {
            date: entry.date,
            memo: entry.memo,
            reference: entry.reference,
            journal: None,
            period: None,
            currency: None,
            rate: None,
            lines: new_lines(entry.lines),
        };
        let source = "another module, through keel:erp/ledger".to_owned();
        Ok(entries::post_entry_for(new, source)?.number)
    }

    fn record_payable(payable: erp::Payable) -> Result<String> {
        let new = NewPayable {
            supplier: payable.supplier,
            invoice: payable.invoice,
            date: payable.date,
            due: payable.due,
            memo: payable.memo,
            reference: payable.reference,
            currency: None,
            rate: None,
            lines: new_lines(payable.lines),
        };
        Ok(payables::record(new)?.number)
    }

    fn balance(account: String, as_of: Option<String>) -> Result<erp::AccountBalance> {
        let as_of = as_of
            .map(|text| Date::parse(&text).map_err(|err| Error::invalid(format!("as-of: {err}"))))
            .transpose()?;
        let Some(found) = ACCOUNTS.get(&account)? else {
            return Err(Error::not_found(format!("account {account} does not exist")));
        };
        let totals = books::totals(&found.code, as_of.as_ref())?;
        Ok(erp::AccountBalance {
            balance: totals.balance(found.kind.normal_side()).to_string(),
            debit: totals.debit.to_string(),
            credit: totals.credit.to_string(),
            account: found.code,
            currency: books::company_currency()?,
        })
    }

    fn ensure_account(account: erp::Account) -> Result<()> {
        let kind = match account.type_ {
            erp::AccountType::Asset => AccountType::Asset,
            erp::AccountType::Liability => AccountType::Liability,
            erp::AccountType::Equity => AccountType::Equity,
            erp::AccountType::Income => AccountType::Income,
            erp::AccountType::Expense => AccountType::Expense,
        };
        let wanted = NewAccount {
            code: account.code,
            name: account.name,
            kind: kind.as_str().to_owned(),
            currency: account.currency,
        }
        .validate()?;
        match ACCOUNTS.get(&wanted.code)? {
            None => ACCOUNTS.insert(&wanted.code, &wanted),
            Some(existing)
                if existing.kind == wanted.kind && existing.currency == wanted.currency =>
            {
                Ok(())
            }
            Some(existing) => Err(Error::conflict(format!(
                "account {} exists as {} in {}, not {} in {}",
                existing.code,
                existing.kind.as_str(),
                existing.currency,
                wanted.kind.as_str(),
                wanted.currency
            ))),
        }
    }
}

keel_sdk::export_ledger!(Finance);
