//! Domain interfaces (`keel:erp@0.3.0`): call the ledger, stock or
//! directory that another plugin provides, or provide one yourself.
//!
//! **Calling.** List the interface under `requires` in `keel.toml`
//! (`requires = ["keel:erp/ledger@0.3.0"]`) and call the functions of
//! [`ledger`], [`stock`] or [`directory`]. The kernel runs the call on the
//! plugin the tenant chose to provide it, in that plugin's own data, inside
//! your call's transaction: what it writes is kept exactly when your call
//! succeeds. An error it returns has undone its own writes; returning it
//! (with `?`) rolls back yours too.
//!
//! **Providing.** List the interface under `provides`, implement
//! [`LedgerProvider`], [`StockProvider`] or [`DirectoryProvider`], and
//! register the type with [`export_ledger!`](crate::export_ledger),
//! [`export_stock!`](crate::export_stock) or
//! [`export_directory!`](crate::export_directory) beside
//! [`export_plugin!`](crate::export_plugin).

use crate::Result;
use crate::error::Error;

pub use crate::__private::bindings::keel::erp::types::{
    Account, AccountBalance, AccountFigure, AccountType, CustomerInvoice, GoodsIssue, GoodsReceipt,
    InvoiceKind, InvoiceLine, InvoiceSummary, Item, JournalEntry, Line, Lot, OrgUnit, Payable,
    Person, StatementFigures, StockLevel, StockTransfer, Valuation,
};

/// The general ledger, as its provider keeps it.
pub mod ledger {
    use super::{
        Account, AccountBalance, CustomerInvoice, Error, InvoiceSummary, JournalEntry, Payable,
        Result, StatementFigures,
    };
    use crate::__private::bindings::keel::erp::ledger as wit;

    /// Posts a balanced entry; returns its journal entry number.
    pub fn post(entry: &JournalEntry) -> Result<u64> {
        wit::post(entry).map_err(Error::from_wit)
    }

    /// Records a supplier invoice as an open item to pay, and posts it;
    /// returns its payable number.
    pub fn record_payable(payable: &Payable) -> Result<String> {
        wit::record_payable(payable).map_err(Error::from_wit)
    }

    /// The balance of `account`, over all time or up to and including `as_of`.
    pub fn balance(account: &str, as_of: Option<&str>) -> Result<AccountBalance> {
        wit::balance(account, as_of).map_err(Error::from_wit)
    }

    /// Adds `account` to the chart unless its code is there with the same
    /// type and currency (a different one is a conflict).
    pub fn ensure_account(account: &Account) -> Result<()> {
        wit::ensure_account(account).map_err(Error::from_wit)
    }

    /// The currency the ledger keeps its books in.
    pub fn company_currency() -> Result<String> {
        wit::company_currency().map_err(Error::from_wit)
    }

    /// The period an entry dated `date` would post into in `journal` (the
    /// general journal if none), or none when the ledger keeps no periods;
    /// an error naming the period when it is closed.
    pub fn check_period(date: &str, journal: Option<&str>) -> Result<Option<String>> {
        wit::check_period(date, journal).map_err(Error::from_wit)
    }

    /// Creates a customer invoice or credit note, posted if it asks.
    pub fn create_invoice(invoice: &CustomerInvoice) -> Result<InvoiceSummary> {
        wit::create_invoice(invoice).map_err(Error::from_wit)
    }

    /// The profit and loss from `from` to `to` and the balance sheet at `to`.
    pub fn statement(from: &str, to: &str) -> Result<StatementFigures> {
        wit::statement(from, to).map_err(Error::from_wit)
    }
}

/// Stock, as its provider keeps and values it.
pub mod stock {
    use super::{
        Error, GoodsIssue, GoodsReceipt, Item, Result, StockLevel, StockTransfer, Valuation,
    };
    use crate::__private::bindings::keel::erp::stock as wit;

    /// The item with `code`, if the provider's catalogue has it.
    pub fn find_item(code: &str) -> Result<Option<Item>> {
        wit::find_item(code).map_err(Error::from_wit)
    }

    /// Receives goods; returns what they added to the value of stock.
    pub fn receive(receipt: &GoodsReceipt) -> Result<Valuation> {
        wit::receive(receipt).map_err(Error::from_wit)
    }

    /// Issues goods; returns what they took out of the value of stock.
    pub fn issue(issue: &GoodsIssue) -> Result<Valuation> {
        wit::issue(issue).map_err(Error::from_wit)
    }

    /// Moves goods between locations.
    pub fn transfer(transfer: &StockTransfer) -> Result<()> {
        wit::transfer(transfer).map_err(Error::from_wit)
    }

    /// The stock of `item` at `location`, or at every location holding some.
    pub fn on_hand(item: &str, location: Option<&str>) -> Result<Vec<StockLevel>> {
        wit::on_hand(item, location).map_err(Error::from_wit)
    }
}

/// People and organisational units, as their provider keeps them.
pub mod directory {
    use super::{Error, OrgUnit, Person, Result};
    use crate::__private::bindings::keel::erp::directory as wit;

    /// The person with `id`, if any.
    pub fn find_person(id: &str) -> Result<Option<Person>> {
        wit::find_person(id).map_err(Error::from_wit)
    }

    /// The unit with `id`, if any.
    pub fn find_org_unit(id: &str) -> Result<Option<OrgUnit>> {
        wit::find_org_unit(id).map_err(Error::from_wit)
    }

    /// The people of `org_unit`.
    pub fn members(org_unit: &str) -> Result<Vec<Person>> {
        wit::members(org_unit).map_err(Error::from_wit)
    }

    /// Whom `person` reports to, nearest first; empty for someone who
    /// reports to no one.
    pub fn manager_chain(person: &str) -> Result<Vec<Person>> {
        wit::manager_chain(person).map_err(Error::from_wit)
    }

    /// Whether `person` works for the organisation on `date` (`YYYY-MM-DD`).
    pub fn active_on(person: &str, date: &str) -> Result<bool> {
        wit::active_on(person, date).map_err(Error::from_wit)
    }
}

/// A plugin that provides the general ledger to others.
pub trait LedgerProvider {
    /// Posts a balanced entry; returns its number.
    fn post(entry: JournalEntry) -> Result<u64>;
    /// Records a supplier invoice as an open item and posts it; returns its number.
    fn record_payable(payable: Payable) -> Result<String>;
    /// The balance of `account`, over all time or up to `as_of`.
    fn balance(account: String, as_of: Option<String>) -> Result<AccountBalance>;
    /// Adds `account` to the chart if it is not there.
    fn ensure_account(account: Account) -> Result<()>;
    /// The currency the books are kept in.
    fn company_currency() -> Result<String>;
    /// The period `date` posts into in `journal`, if the ledger has periods.
    fn check_period(date: String, journal: Option<String>) -> Result<Option<String>>;
    /// Creates a customer invoice, posted if it asks.
    fn create_invoice(invoice: CustomerInvoice) -> Result<InvoiceSummary>;
    /// The statements' figures from `from` to `to`.
    fn statement(from: String, to: String) -> Result<StatementFigures>;
}

/// A plugin that provides stock to others.
pub trait StockProvider {
    /// The item with `code`, if any.
    fn find_item(code: String) -> Result<Option<Item>>;
    /// Receives goods and values them.
    fn receive(receipt: GoodsReceipt) -> Result<Valuation>;
    /// Issues goods and values them.
    fn issue(issue: GoodsIssue) -> Result<Valuation>;
    /// Moves goods between locations.
    fn transfer(transfer: StockTransfer) -> Result<()>;
    /// What is on hand.
    fn on_hand(item: String, location: Option<String>) -> Result<Vec<StockLevel>>;
}

/// A plugin that provides the directory of people and units to others.
pub trait DirectoryProvider {
    /// The person with `id`, if any.
    fn find_person(id: String) -> Result<Option<Person>>;
    /// The unit with `id`, if any.
    fn find_org_unit(id: String) -> Result<Option<OrgUnit>>;
    /// The people of `org_unit`.
    fn members(org_unit: String) -> Result<Vec<Person>>;
    /// Whom `person` reports to, nearest first.
    fn manager_chain(person: String) -> Result<Vec<Person>>;
    /// Whether `person` works for the organisation on `date`.
    fn active_on(person: String, date: String) -> Result<bool>;
}

/// Registers a [`LedgerProvider`](crate::erp::LedgerProvider) type as the
/// component's export of `keel:erp/ledger@0.3.0`.
#[macro_export]
macro_rules! export_ledger {
    ($provider:ty) => {
        const _: () = {
            struct KeelLedger;

            impl $crate::__private::ledger_provider::exports::keel::erp::ledger::Guest for KeelLedger {
                fn post(entry: $crate::erp::JournalEntry) -> ::std::result::Result<u64, $crate::__private::WitError> {
                    <$provider as $crate::erp::LedgerProvider>::post(entry).map_err($crate::__private::into_wit)
                }

                fn record_payable(payable: $crate::erp::Payable) -> ::std::result::Result<::std::string::String, $crate::__private::WitError> {
                    <$provider as $crate::erp::LedgerProvider>::record_payable(payable).map_err($crate::__private::into_wit)
                }

                fn balance(
                    account: ::std::string::String,
                    as_of: ::std::option::Option<::std::string::String>,
                ) -> ::std::result::Result<$crate::erp::AccountBalance, $crate::__private::WitError> {
                    <$provider as $crate::erp::LedgerProvider>::balance(account, as_of).map_err($crate::__private::into_wit)
                }

                                fn ensure_account(account: $crate::erp::Account) -> ::std::result::Result<(), $crate::__private::WitError> {
                    <$provider as $crate::erp::LedgerProvider>::ensure_account(account).map_err($crate::__private::into_wit)
                }

                fn company_currency() -> ::std::result::Result<::std::string::String, $crate::__private::WitError> {
                    <$provider as $crate::erp::LedgerProvider>::company_currency().map_err($crate::__private::into_wit)
                }

                fn check_period(
                    date: ::std::string::String,
                    journal: ::std::option::Option<::std::string::String>,
                ) -> ::std::result::Result<::std::option::Option<::std::string::String>, $crate::__private::WitError> {
                    <$provider as $crate::erp::LedgerProvider>::check_period(date, journal).map_err($crate::__private::into_wit)
                }

                fn create_invoice(invoice: $crate::erp::CustomerInvoice) -> ::std::result::Result<$crate::erp::InvoiceSummary, $crate::__private::WitError> {
                    <$provider as $crate::erp::LedgerProvider>::create_invoice(invoice).map_err($crate::__private::into_wit)
                }

                fn statement(
                    from: ::std::string::String,
                    to: ::std::string::String,
                ) -> ::std::result::Result<$crate::erp::StatementFigures, $crate::__private::WitError> {
                    <$provider as $crate::erp::LedgerProvider>::statement(from, to).map_err($crate::__private::into_wit)
                }
            }

            // Interface export names (`keel:erp/ledger@0.3.0#…`) are not
            // valid symbol names for native linkers; native builds (unit
            // tests) only type-check the implementation.
            #[cfg(target_arch = "wasm32")]
            $crate::__private::ledger_provider::__export_ledger_provider!(KeelLedger with_types_in $crate::__private::ledger_provider);
        };
    };
}

/// Registers a [`StockProvider`](crate::erp::StockProvider) type as the
/// component's export of `keel:erp/stock@0.3.0`.
#[macro_export]
macro_rules! export_stock {
    ($provider:ty) => {
        const _: () = {
            struct KeelStock;

            impl $crate::__private::stock_provider::exports::keel::erp::stock::Guest for KeelStock {
                fn find_item(code: ::std::string::String) -> ::std::result::Result<::std::option::Option<$crate::erp::Item>, $crate::__private::WitError> {
                    <$provider as $crate::erp::StockProvider>::find_item(code).map_err($crate::__private::into_wit)
                }

                fn receive(receipt: $crate::erp::GoodsReceipt) -> ::std::result::Result<$crate::erp::Valuation, $crate::__private::WitError> {
                    <$provider as $crate::erp::StockProvider>::receive(receipt).map_err($crate::__private::into_wit)
                }

                fn issue(issue: $crate::erp::GoodsIssue) -> ::std::result::Result<$crate::erp::Valuation, $crate::__private::WitError> {
                    <$provider as $crate::erp::StockProvider>::issue(issue).map_err($crate::__private::into_wit)
                }

                fn transfer(transfer: $crate::erp::StockTransfer) -> ::std::result::Result<(), $crate::__private::WitError> {
                    <$provider as $crate::erp::StockProvider>::transfer(transfer).map_err($crate::__private::into_wit)
                }

                fn on_hand(
                    item: ::std::string::String,
                    location: ::std::option::Option<::std::string::String>,
                ) -> ::std::result::Result<::std::vec::Vec<$crate::erp::StockLevel>, $crate::__private::WitError> {
                    <$provider as $crate::erp::StockProvider>::on_hand(item, location).map_err($crate::__private::into_wit)
                }
            }

            // Interface export names (`keel:erp/stock@0.3.0#…`) are not
            // valid symbol names for native linkers; native builds (unit
            // tests) only type-check the implementation.
            #[cfg(target_arch = "wasm32")]
            $crate::__private::stock_provider::__export_stock_provider!(KeelStock with_types_in $crate::__private::stock_provider);
        };
    };
}

/// Registers a [`DirectoryProvider`](crate::erp::DirectoryProvider) type as
/// the component's export of `keel:erp/directory@0.3.0`.
#[macro_export]
macro_rules! export_directory {
    ($provider:ty) => {
        const _: () = {
            struct KeelDirectory;

            impl $crate::__private::directory_provider::exports::keel::erp::directory::Guest for KeelDirectory {
                fn find_person(id: ::std::string::String) -> ::std::result::Result<::std::option::Option<$crate::erp::Person>, $crate::__private::WitError> {
                    <$provider as $crate::erp::DirectoryProvider>::find_person(id).map_err($crate::__private::into_wit)
                }

                fn find_org_unit(id: ::std::string::String) -> ::std::result::Result<::std::option::Option<$crate::erp::OrgUnit>, $crate::__private::WitError> {
                    <$provider as $crate::erp::DirectoryProvider>::find_org_unit(id).map_err($crate::__private::into_wit)
                }

                fn members(org_unit: ::std::string::String) -> ::std::result::Result<::std::vec::Vec<$crate::erp::Person>, $crate::__private::WitError> {
                    <$provider as $crate::erp::DirectoryProvider>::members(org_unit).map_err($crate::__private::into_wit)
                }

                fn manager_chain(person: ::std::string::String) -> ::std::result::Result<::std::vec::Vec<$crate::erp::Person>, $crate::__private::WitError> {
                    <$provider as $crate::erp::DirectoryProvider>::manager_chain(person).map_err($crate::__private::into_wit)
                }

                fn active_on(person: ::std::string::String, date: ::std::string::String) -> ::std::result::Result<bool, $crate::__private::WitError> {
                    <$provider as $crate::erp::DirectoryProvider>::active_on(person, date).map_err($crate::__private::into_wit)
                }
            }

            // Interface export names (`keel:erp/directory@0.3.0#…`) are not
            // valid symbol names for native linkers; native builds (unit
            // tests) only type-check the implementation.
            #[cfg(target_arch = "wasm32")]
            $crate::__private::directory_provider::__export_directory_provider!(KeelDirectory with_types_in $crate::__private::directory_provider);
        };
    };
}
