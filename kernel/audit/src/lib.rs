//! The audit trail: every change is appended, in the same storage
//! transaction as the change, to a hash chain per tenant (and one for the
//! platform). Each entry's hash covers its sequence number, the previous
//! entry's hash and the record, so editing, deleting or reordering any
//! entry breaks the chain at that point, and [`verify`] names it.
//!
//! Not yet here: signed chain heads (to detect truncation of the tail),
//! audit of admin actions and logins, queries by field, and export.

mod chain;

pub use chain::{
    Broken, Filter, Record, Sealed, Summary, append, chain_of, decode, page, search, verify,
};
