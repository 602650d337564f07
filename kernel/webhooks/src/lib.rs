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
//! - [`Sender`]: the client that posts deliveries within those rules.

mod address;
mod policy;
mod sender;
mod signature;

pub use address::forbidden;
pub use policy::Policy;
pub use sender::{DELIVERY_TIME_MAX, Sender};
pub use signature::{SECRET_PREFIX, SIGNATURE_HEADER, TOLERANCE_S, new_secret, sign, verify};

/// Makes the kernel's TLS crypto (aws-lc-rs, as the gateway serves with)
/// the process's default. The workspace's HTTP client (reqwest) is built
/// with rustls and no crypto of its own, so a process must call this
/// before it makes a client without its own TLS setup (the CLI's, a
/// test's); [`Sender`] brings its own. Calling it again does nothing.
pub fn install_crypto() {
    // An error means a default is installed already, which will do.
    drop(rustls::crypto::aws_lc_rs::default_provider().install_default());
}
