//! The contract's receivables: the lists of payment terms, customers and
//! invoices, and the invoices' query.

use keel_sdk::contract::JsonSchema;

use crate::ledger::receivable::{Customer, Invoice, Status};
use crate::ledger::terms::PaymentTerms;

/// `GET /invoices?customer=&status=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct InvoicesQuery {
    /// Only the invoices and credit notes of this customer, by code.
    customer: Option<String>,
    /// Only those drafted, open, or paid.
    status: Option<Status>,
}

/// The payment terms.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct PaymentTermsList {
    /// The built-in ones (`NET0`, `NET14`, `NET30`, `NET60`), then the
    /// tenant's own by code.
    pub(crate) payment_terms: Vec<PaymentTerms>,
}

/// A page of customers.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct CustomerPage {
    /// The customers, by code.
    pub(crate) customers: Vec<Customer>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// A page of invoices and credit notes.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct InvoicePage {
    /// The invoices and credit notes, by id.
    pub(crate) invoices: Vec<Invoice>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}
