//! `keel:erp/ledger@0.3.0`: the general ledger provided to other plugins.
//! Each function keeps the same rules as the HTTP operation beside it.

use keel_sdk::erp::{self, LedgerProvider};
use keel_sdk::{Error, Result};
use keel_values::Date;

use crate::Finance;
use std::collections::BTreeMap;

use crate::api::{accounts, entries, payables, receivables, reports};
use crate::books::{self, ACCOUNTS};
use crate::ledger::account::{AccountType, NewAccount};
use crate::ledger::entry::{NewEntry, NewLine};
use crate::ledger::journal;
use crate::ledger::payable::NewPayable;
use crate::ledger::receivable::{Kind, NewInvoice, NewInvoiceLine, Status};

/// The interface's lines as the HTTP operations take them.
fn new_lines(lines: Vec<erp::Line>) -> Vec<NewLine> {
    let amount = |text: Option<String>| text.map(serde_json::Value::String);
    lines
        .into_iter()
        .map(|line| NewLine {
            account: line.account,
            debit: amount(line.debit),
            credit: amount(line.credit),
            cost_centre: line.cost_centre,
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
            currency: entry.currency,
            rate: entry.rate,
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
            currency: payable.currency,
            rate: payable.rate,
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
            None => {
                accounts::check_new(&wanted)?;
                ACCOUNTS.insert(&wanted.code, &wanted)
            }
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

    fn company_currency() -> Result<String> {
        books::company_currency()
    }

    fn check_period(date: String, journal: Option<String>) -> Result<Option<String>> {
        let date = Date::parse(&date).map_err(|err| Error::invalid(format!("date: {err}")))?;
        let journal = journal.unwrap_or_else(|| journal::GENERAL.to_owned());
        if books::journal(&journal)?.is_none() {
            return Err(Error::invalid(format!("journal {journal} does not exist")));
        }
        let Some(period) = books::period_on(&date, None)? else {
            return Ok(None);
        };
        period.check_posting(&journal)?;
        Ok(Some(period.code))
    }

    fn create_invoice(invoice: erp::CustomerInvoice) -> Result<erp::InvoiceSummary> {
        let new = NewInvoice {
            customer: invoice.customer,
            kind: match invoice.kind {
                erp::InvoiceKind::Invoice => Kind::Invoice,
                erp::InvoiceKind::CreditNote => Kind::CreditNote,
            },
            date: invoice.date,
            terms: invoice.terms,
            memo: invoice.memo,
            reference: invoice.reference,
            currency: invoice.currency,
            rate: invoice.rate,
            lines: invoice
                .lines
                .into_iter()
                .map(|line| NewInvoiceLine {
                    account: line.account,
                    description: line.description,
                    quantity: line.quantity,
                    unit_price: line.unit_price,
                    tax: line.tax,
                })
                .collect(),
        };
        let mut kept = receivables::draft_invoice(new)?;
        if invoice.post {
            kept = receivables::post_draft(&kept.id)?;
        }
        let status = match kept.status {
            Status::Draft => "draft",
            Status::Open => "open",
            Status::Paid => "paid",
        };
        Ok(erp::InvoiceSummary {
            number: (!kept.number.is_empty()).then_some(kept.number),
            status: status.to_owned(),
            currency: kept.currency,
            total: kept.total.to_string(),
            open: kept.open.to_string(),
            id: kept.id,
        })
    }

    fn statement(from: String, to: String) -> Result<erp::StatementFigures> {
        let date = |what: &str, text: &str| {
            Date::parse(text).map_err(|err| Error::invalid(format!("{what}: {err}")))
        };
        let (from, to) = (date("from", &from)?, date("to", &to)?);
        if from > to {
            return Err(Error::invalid(format!("from {from} is after to {to}")));
        }
        let accounts = books::all_accounts()?;
        let kinds: BTreeMap<String, AccountType> =
            accounts.iter().map(|a| (a.code.clone(), a.kind)).collect();
        let pnl = reports::profit_and_loss_of(accounts.clone(), (&from, &to), None)?;
        let sheet = reports::balance_sheet_of(accounts, Some(&to), None)?;
        let sections =
            [&pnl.income, &pnl.expense, &sheet.assets, &sheet.liabilities, &sheet.equity];
        let mut figures: Vec<erp::AccountFigure> = sections
            .iter()
            .flat_map(|section| &section.lines)
            .filter_map(|line| {
                let kind = kinds.get(&line.account)?;
                Some(erp::AccountFigure {
                    account: line.account.clone(),
                    name: line.name.clone(),
                    type_: wit_type(*kind),
                    amount: line.amount.to_string(),
                })
            })
            .collect();
        figures.sort_by(|a, b| a.account.cmp(&b.account));
        Ok(erp::StatementFigures {
            currency: books::company_currency()?,
            income: pnl.income.total.to_string(),
            expense: pnl.expense.total.to_string(),
            net_profit: pnl.net_profit.to_string(),
            assets: sheet.assets.total.to_string(),
            liabilities: sheet.liabilities.total.to_string(),
            equity: sheet.equity.total.to_string(),
            accounts: figures,
        })
    }
}

fn wit_type(kind: AccountType) -> erp::AccountType {
    match kind {
        AccountType::Asset => erp::AccountType::Asset,
        AccountType::Liability => erp::AccountType::Liability,
        AccountType::Equity => erp::AccountType::Equity,
        AccountType::Income => erp::AccountType::Income,
        AccountType::Expense => erp::AccountType::Expense,
    }
}

keel_sdk::export_ledger!(Finance);
