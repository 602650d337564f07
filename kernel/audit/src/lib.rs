//! The audit trail: every change is appended, in the same storage
//! transaction as the change, to a hash chain per tenant (and one for the
//! platform). Each entry's hash covers its sequence number, the previous
//! entry's hash and the record, so editing, deleting or reordering any
//! entry breaks the chain at that point, and [`verify`] names it.
//!
//! [`HeadSigner`] signs chain heads with the kernel's ed25519 key, so a head
//! kept elsewhere later proves truncation or rewriting of the chain.

mod chain;
mod signing;

pub use chain::{
    Broken, Filter, GENESIS_HASH, Origin, Record, Sealed, Summary, Verifier, append, chain_of,
    decode, heads_log, keep_head, kept_heads, page, read_from, search, value_digest, verify,
    verify_from,
};
pub use signing::{HeadSigner, HeadStatement, SignedHead, verify_signed_head};
