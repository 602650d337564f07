//! The error a plugin returns; each case maps to an HTTP status.

use std::fmt;

use crate::__private::WitError;

/// Why an operation failed. Returning any `Error` from an operation rolls
/// back every write of the call; the client receives an RFC 9457 problem
/// response with the status shown on each case and the message as `detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be read: 400.
    BadRequest(String),
    /// The request breaks a business rule: 422.
    Invalid(String),
    /// The thing asked for does not exist: 404.
    NotFound(String),
    /// The change conflicts with stored data: 409.
    Conflict(String),
    /// The caller may not do this: 403.
    Denied(String),
    /// A kernel limit was exceeded: 422.
    LimitExceeded(String),
    /// An unexpected failure: 500.
    Internal(String),
}

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A malformed request (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// A broken business rule (422).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// A missing thing (404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// A conflict with stored data (409).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// A refusal (403).
    pub fn denied(message: impl Into<String>) -> Self {
        Self::Denied(message.into())
    }

    /// An unexpected failure (500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }

    /// The error for an operation id the plugin does not serve: the manifest
    /// and the code disagree, which is the plugin's bug (500).
    pub fn unknown_operation(operation: &str) -> Self {
        Self::Internal(format!(
            "operation {operation:?} is declared in the manifest but not implemented"
        ))
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        match self {
            Self::BadRequest(m)
            | Self::Invalid(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::Denied(m)
            | Self::LimitExceeded(m)
            | Self::Internal(m) => m,
        }
    }

    pub(crate) fn into_wit(self) -> WitError {
        match self {
            Self::BadRequest(m) => WitError::BadRequest(m),
            Self::Invalid(m) => WitError::Invalid(m),
            Self::NotFound(m) => WitError::NotFound(m),
            Self::Conflict(m) => WitError::Conflict(m),
            Self::Denied(m) => WitError::Denied(m),
            Self::LimitExceeded(m) => WitError::LimitExceeded(m),
            Self::Internal(m) => WitError::Internal(m),
        }
    }

    pub(crate) fn from_wit(err: WitError) -> Self {
        match err {
            WitError::BadRequest(m) => Self::BadRequest(m),
            WitError::Invalid(m) => Self::Invalid(m),
            WitError::NotFound(m) => Self::NotFound(m),
            WitError::Conflict(m) => Self::Conflict(m),
            WitError::Denied(m) => Self::Denied(m),
            WitError::LimitExceeded(m) => Self::LimitExceeded(m),
            WitError::Internal(m) => Self::Internal(m),
        }
    }
}

/// A broken business rule from a pure core is the client's to fix: 422.
impl From<keel_values::RuleError> for Error {
    fn from(err: keel_values::RuleError) -> Self {
        Self::invalid(err.0)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}
