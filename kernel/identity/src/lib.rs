//! Identity: users with argon2id password hashes, login sessions, and the
//! bootstrap of the first platform administrator.
//!
//! Users and sessions are kernel catalog records in `keel-storage`; a session
//! token is shown once and stored only as its SHA-256 digest. Failed logins
//! slow down that user at that address (never locking anyone out), and
//! unknown users and wrong passwords get the same answer in about the same
//! time.
//!
//! - `users`: users and the bootstrap administrator;
//! - `login`: signing in and out, throttled (`throttle`), and sessions
//!   (`session`), with passwords hashed in `password`;
//! - `totp`: second factors, their seeds sealed at rest (`secrets`);
//! - `token`: API tokens acting for their creator;
//! - `membership` and `policy`: who holds which roles where, tenant roles
//!   and segregation-of-duties rules;
//! - `record`: what every change shares: its lane, audit record and JSON.

mod login;
mod membership;
mod password;
mod policy;
mod record;
mod secrets;
mod session;
mod throttle;
mod token;
mod totp;
mod users;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keel_storage::Storage;
use keel_types::Clock;

pub use membership::Membership;
pub use policy::{SodRule, TenantRole};
pub use secrets::{SecretsKey, unhex};
pub use session::Session;
pub use token::{ApiToken, check_catalog_index};
pub use totp::{TotpEnrolment, holds_sealed_secrets, totp_code};
pub use users::{BOOTSTRAP_ADMIN, User};

pub(crate) use record::{Change, audit, from_json, lane, storage, to_json};

/// Why an identity operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The user name or password is wrong; deliberately says no more.
    #[error("invalid user name or password")]
    BadCredentials,
    /// The password was right, but a second-factor code is needed.
    #[error("a one-time code from the authenticator app is required (field \"totp\")")]
    TotpRequired,
    /// Too many logins are being checked at once; retry shortly.
    #[error("too many logins at once; retry shortly")]
    Busy,
    /// Too many failed logins; retry after the given time.
    #[error("too many failed logins; retry in {retry_after_s} s")]
    Throttled {
        /// Seconds until the next attempt is accepted.
        retry_after_s: u64,
    },
    /// The user already exists.
    #[error("user {0} already exists")]
    Exists(String),
    /// The input breaks a rule (a weak password, an empty name).
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error("storage failed: {0}")]
    Storage(#[source] keel_storage::Error),
    /// A record or secret cannot be read or made: a damaged data directory,
    /// or a fault of the kernel. Never the caller's.
    #[error("{0}")]
    Corrupt(String),
}

/// The identity service.
pub struct Identity {
    storage: Arc<Storage>,
    clock: Arc<dyn Clock>,
    session_ttl: Duration,
    /// Seals second-factor seeds before they are stored.
    secrets: SecretsKey,
    throttle: Mutex<throttle::Throttle>,
    n_hashing: std::sync::atomic::AtomicUsize,
}

impl Identity {
    /// Serves users and sessions stored in `storage`; second-factor seeds
    /// are sealed with `secrets`.
    pub fn new(
        storage: Arc<Storage>,
        clock: Arc<dyn Clock>,
        session_ttl: Duration,
        secrets: SecretsKey,
    ) -> Self {
        Self {
            storage,
            clock,
            session_ttl,
            secrets,
            throttle: Mutex::default(),
            n_hashing: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests;
