//! The typed contract of the ledger's operations: what each reads and
//! answers, as Rust types the handlers use and schemars describes. The
//! kernel publishes it in the tenant's OpenAPI document and checks each
//! request body and query against it before the plugin runs.
//!
//! The types of the ledger's records are its rules' own (`ledger::…`);
//! the queries, the bodies only a handler reads and the answers that wrap
//! records are here, one module per part of the ledger. Three operations
//! declare no request body though they read one: a reversal's and a
//! period's close or reopen may be sent without any (the kernel would
//! refuse an empty body against a schema), and an exchange rate import
//! takes its CSV file as the body itself; their handlers check what comes.

pub(crate) mod accounts;
pub(crate) mod bank;
pub(crate) mod currencies;
pub(crate) mod payables;
pub(crate) mod periods;
pub(crate) mod receivables;
pub(crate) mod reports;
pub(crate) mod tax;

use keel_sdk::contract::{Contract, Schemas};

use crate::ledger::account::{Account, NewAccount};
use crate::ledger::bank::{NewStatement, Statement, StatementLine};
use crate::ledger::entry::{Entry, NewEntry};
use crate::ledger::fx::{NewRate, Rate, Revaluation};
use crate::ledger::journal::{Journal, NewJournal};
use crate::ledger::payable::{NewPayable, Payable};
use crate::ledger::period::{NewYear, Period};
use crate::ledger::receipt::{NewReceipt, Receipt};
use crate::ledger::receivable::{Customer, Invoice, NewCustomer, NewInvoice};
use crate::ledger::settings::{Settings, SettingsChange};
use crate::ledger::tax::{NewTaxRate, TaxRate};
use crate::ledger::terms::{NewTerms, PaymentTerms};

/// The file beside `keel.toml` that the package embeds.
#[cfg(test)]
pub(crate) const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keel.contract.json");

/// Every operation, with its schemas.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the native test writes keel.contract.json from it")
)]
pub(crate) fn contract() -> Contract {
    [ledger_operations, book_operations, sales_operations, bank_operations]
        .into_iter()
        .fold(Contract::new(), |contract, operations| operations(contract))
}

/// Accounts, entries, journals and the reports.
fn ledger_operations(contract: Contract) -> Contract {
    use accounts::{
        AccountPage, AccountsQuery, ChartLoaded, Dates, EntriesQuery, EntryPage, Journals,
        LedgerPage, LoadTemplate, Templates,
    };
    use reports::{
        AccountBalance, AgedAnswer, AsOf, BalanceSheetAnswer, BalanceSheetQuery,
        ProfitAndLossAnswer, ProfitAndLossQuery, TrialBalanceAnswer,
    };
    contract
        .operation("accounts.create", Schemas::new().request::<NewAccount>().response::<Account>())
        .operation(
            "accounts.list",
            Schemas::new().query::<AccountsQuery>().response::<AccountPage>(),
        )
        .operation("accounts.get", Schemas::new().response::<Account>())
        .operation("accounts.balance", Schemas::new().query::<AsOf>().response::<AccountBalance>())
        .operation("accounts.ledger", Schemas::new().query::<Dates>().response::<LedgerPage>())
        .operation("chart.templates", Schemas::new().response::<Templates>())
        .operation("chart.load", Schemas::new().request::<LoadTemplate>().response::<ChartLoaded>())
        .operation("entries.post", Schemas::new().request::<NewEntry>().response::<Entry>())
        .operation("entries.list", Schemas::new().query::<EntriesQuery>().response::<EntryPage>())
        .operation("entries.get", Schemas::new().response::<Entry>())
        .operation("entries.reverse", Schemas::new().response::<Entry>())
        .operation("journals.list", Schemas::new().response::<Journals>())
        .operation("journals.create", Schemas::new().request::<NewJournal>().response::<Journal>())
        .operation(
            "reports.trial-balance",
            Schemas::new().query::<AsOf>().response::<TrialBalanceAnswer>(),
        )
        .operation(
            "reports.profit-and-loss",
            Schemas::new().query::<ProfitAndLossQuery>().response::<ProfitAndLossAnswer>(),
        )
        .operation(
            "reports.balance-sheet",
            Schemas::new().query::<BalanceSheetQuery>().response::<BalanceSheetAnswer>(),
        )
        .operation(
            "reports.aged-receivables",
            Schemas::new().query::<AsOf>().response::<AgedAnswer>(),
        )
        .operation("reports.aged-payables", Schemas::new().query::<AsOf>().response::<AgedAnswer>())
}

/// Fiscal years and periods, and payables.
fn book_operations(contract: Contract) -> Contract {
    use payables::{NewPayment, PayablePage, PayablesQuery};
    use periods::{CloseYear, FiscalYears, Periods, PeriodsQuery, YearWithPeriods};
    contract
        .operation(
            "fiscal-years.create",
            Schemas::new().request::<NewYear>().response::<YearWithPeriods>(),
        )
        .operation("fiscal-years.list", Schemas::new().response::<FiscalYears>())
        .operation("fiscal-years.get", Schemas::new().response::<YearWithPeriods>())
        .operation(
            "fiscal-years.close",
            Schemas::new().request::<CloseYear>().response::<YearWithPeriods>(),
        )
        .operation("fiscal-years.reopen", Schemas::new().response::<YearWithPeriods>())
        .operation("fiscal-years.lock", Schemas::new().response::<YearWithPeriods>())
        .operation("periods.list", Schemas::new().query::<PeriodsQuery>().response::<Periods>())
        .operation("periods.close", Schemas::new().response::<Period>())
        .operation("periods.reopen", Schemas::new().response::<Period>())
        .operation("periods.lock", Schemas::new().response::<Period>())
        .operation("payables.create", Schemas::new().request::<NewPayable>().response::<Payable>())
        .operation(
            "payables.list",
            Schemas::new().query::<PayablesQuery>().response::<PayablePage>(),
        )
        .operation("payables.get", Schemas::new().response::<Payable>())
        .operation("payables.pay", Schemas::new().request::<NewPayment>().response::<Payable>())
}

/// Payment terms, customers, invoices, receipts and tax.
fn sales_operations(contract: Contract) -> Contract {
    use receivables::{CustomerPage, InvoicePage, InvoicesQuery, PaymentTermsList};
    use tax::{TaxRates, TaxReportAnswer};
    contract
        .operation(
            "payment-terms.create",
            Schemas::new().request::<NewTerms>().response::<PaymentTerms>(),
        )
        .operation("payment-terms.list", Schemas::new().response::<PaymentTermsList>())
        .operation(
            "customers.create",
            Schemas::new().request::<NewCustomer>().response::<Customer>(),
        )
        .operation("customers.list", Schemas::new().response::<CustomerPage>())
        .operation("customers.get", Schemas::new().response::<Customer>())
        .operation("invoices.create", Schemas::new().request::<NewInvoice>().response::<Invoice>())
        .operation(
            "invoices.list",
            Schemas::new().query::<InvoicesQuery>().response::<InvoicePage>(),
        )
        .operation("invoices.get", Schemas::new().response::<Invoice>())
        .operation("invoices.update", Schemas::new().request::<NewInvoice>().response::<Invoice>())
        // Answers 204 with no body.
        .operation("invoices.delete", Schemas::new())
        .operation("invoices.post", Schemas::new().response::<Invoice>())
        .operation("receipts.create", Schemas::new().request::<NewReceipt>().response::<Receipt>())
        .operation("receipts.get", Schemas::new().response::<Receipt>())
        .operation("tax-rates.create", Schemas::new().request::<NewTaxRate>().response::<TaxRate>())
        .operation("tax-rates.list", Schemas::new().response::<TaxRates>())
        .operation(
            "reports.tax",
            Schemas::new().query::<reports::Between>().response::<TaxReportAnswer>(),
        )
}

/// Bank statements, the company's settings, exchange rates and
/// revaluations.
fn bank_operations(contract: Contract) -> Contract {
    use bank::{MatchLine, PostLine, Reconciliation};
    use currencies::{RatePage, RatesImported, RatesQuery, RevaluationAt, RevaluationPage};
    contract
        .operation(
            "bank-statements.import",
            Schemas::new().request::<NewStatement>().response::<Statement>(),
        )
        .operation("bank-statements.get", Schemas::new().response::<Statement>())
        .operation(
            "bank-statements.match",
            Schemas::new().request::<MatchLine>().response::<StatementLine>(),
        )
        .operation("bank-statements.unmatch", Schemas::new().response::<StatementLine>())
        .operation(
            "bank-statements.post",
            Schemas::new().request::<PostLine>().response::<StatementLine>(),
        )
        .operation("bank-statements.reconciliation", Schemas::new().response::<Reconciliation>())
        .operation("settings.get", Schemas::new().response::<Settings>())
        .operation(
            "settings.update",
            Schemas::new().request::<SettingsChange>().response::<Settings>(),
        )
        .operation("exchange-rates.create", Schemas::new().request::<NewRate>().response::<Rate>())
        .operation("exchange-rates.import", Schemas::new().response::<RatesImported>())
        .operation(
            "exchange-rates.list",
            Schemas::new().query::<RatesQuery>().response::<RatePage>(),
        )
        .operation(
            "revaluations.create",
            Schemas::new().request::<RevaluationAt>().response::<Revaluation>(),
        )
        .operation("revaluations.list", Schemas::new().response::<RevaluationPage>())
        .operation("revaluations.get", Schemas::new().response::<Revaluation>())
}
