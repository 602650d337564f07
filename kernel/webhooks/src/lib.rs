//! Outbound webhooks: everything about them that touches the network, and
//! the one crate that owns the outbound HTTP client. The host keeps the
//! subscriptions, cursors, retries and dead letters, and calls a
//! [`Sender`] through its `Outbound` trait.
//!
//! - `address`: which IP addresses are refused by default (loopback,
//!   private, link-local, shared, metadata), pure;
//! - [`Policy`]: the operator's rules on endpoints, and the hosts allowed
//!   by name;
//! - `signature`: how a delivery is signed, and how a receiver checks it
//!   ([`sign`], [`verify`]);
//! - [`Sender`]: the client that posts deliveries within those rules (its
//!   TLS uses the process's default crypto, which the gateway installs).

mod address;
mod policy;
mod sender;
mod signature;

pub use address::forbidden;
pub use policy::Policy;
pub use sender::{DELIVERY_TIME_MAX, Sender};
pub use signature::{SECRET_PREFIX, SIGNATURE_HEADER, TOLERANCE_S, new_secret, sign, verify};
