//! Why a platform operation was refused, and how the failures of the
//! services beneath map to it.

use keel_identity::IdentityError;

/// Why a platform operation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// No valid credentials.
    #[error(
        "authentication required: log in with POST /auth/login and send the token as `Authorization: Bearer <token>`"
    )]
    Unauthenticated,
    /// Wrong user name or password.
    #[error("invalid user name or password")]
    BadCredentials,
    /// The password was right; a one-time code is needed too.
    #[error("a one-time code from the authenticator app is required: send it as \"totp\"")]
    TotpRequired,
    /// Too many requests of this kind at once.
    #[error("the kernel is busy; retry shortly")]
    Busy,
    /// Too many failed logins.
    #[error("too many failed logins; retry in {retry_after_s} s")]
    Throttled {
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// Authenticated, but without the permission.
    #[error("{user} lacks permission {permission}")]
    Forbidden {
        /// Who asked.
        user: String,
        /// What was missing.
        permission: String,
    },
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The thing already exists.
    #[error("{0}")]
    Conflict(String),
    /// The input breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// The kernel failed underneath.
    #[error("{0}")]
    Internal(String),
}

pub(crate) fn identity_error(err: IdentityError) -> PlatformError {
    match err {
        IdentityError::BadCredentials => PlatformError::BadCredentials,
        IdentityError::Throttled { retry_after_s } => PlatformError::Throttled { retry_after_s },
        IdentityError::TotpRequired => PlatformError::TotpRequired,
        IdentityError::Busy => PlatformError::Busy,
        IdentityError::Exists(_) => PlatformError::Conflict(err.to_string()),
        IdentityError::Invalid(_) => PlatformError::Invalid(err.to_string()),
        other => PlatformError::Internal(other.to_string()),
    }
}

pub(crate) fn internal(err: impl std::fmt::Display) -> PlatformError {
    PlatformError::Internal(err.to_string())
}
