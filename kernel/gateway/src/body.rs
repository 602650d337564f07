//! The bodies the gateway answers with for the kernel's own types, owned
//! here: renaming a field of a domain type changes no response unless it
//! is changed here too, where the API is.

use keel_platform::{ApiToken, Membership, TotpEnrolment, User};
use serde::Serialize;

/// A user, never with a password hash.
#[derive(Debug, Serialize)]
pub(crate) struct UserBody {
    /// The login name.
    pub(crate) id: String,
    /// The display name.
    name: String,
    /// When the user was created, Unix seconds.
    created_at: i64,
}

impl From<&User> for UserBody {
    fn from(user: &User) -> Self {
        Self { id: user.id.to_string(), name: user.name.clone(), created_at: user.created_at }
    }
}

/// A session a login opened.
#[derive(Debug, Serialize)]
pub(crate) struct SessionBody {
    /// The bearer token, shown once.
    token: String,
    /// Whose session it is.
    user: String,
    /// When it expires, Unix seconds.
    expires_at: i64,
}

impl From<&keel_platform::Session> for SessionBody {
    fn from(session: &keel_platform::Session) -> Self {
        Self {
            token: session.token.clone(),
            user: session.user.to_string(),
            expires_at: session.expires_at,
        }
    }
}

/// What a user adds to an authenticator app, shown once.
#[derive(Debug, Serialize)]
pub(crate) struct TotpEnrolmentBody {
    /// The shared secret, base32.
    secret: String,
    /// The same as an `otpauth://` URL, for a QR code.
    otpauth_url: String,
}

impl From<&TotpEnrolment> for TotpEnrolmentBody {
    fn from(enrolment: &TotpEnrolment) -> Self {
        Self { secret: enrolment.secret.clone(), otpauth_url: enrolment.otpauth_url.clone() }
    }
}

/// The roles a user holds in a tenant (or on the platform).
#[derive(Debug, Serialize)]
pub(crate) struct MembershipBody {
    /// The tenant; none for the platform.
    tenant: Option<String>,
    /// The user.
    pub(crate) user: String,
    /// Role ids, sorted.
    roles: Vec<String>,
}

impl From<&Membership> for MembershipBody {
    fn from(membership: &Membership) -> Self {
        Self {
            tenant: membership.tenant.as_ref().map(ToString::to_string),
            user: membership.user.to_string(),
            roles: membership.roles.clone(),
        }
    }
}

/// An API token, never with its secret.
#[derive(Debug, Serialize)]
pub(crate) struct TokenBody {
    /// Its id; its principal is `token:<id>`.
    pub(crate) id: String,
    /// The tenant it acts in.
    tenant: String,
    /// What it is for.
    name: String,
    /// The roles it holds.
    roles: Vec<String>,
    /// When it was created, Unix seconds.
    created_at: i64,
    /// When it stops working, Unix seconds.
    expires_at: i64,
    /// The user it acts for; none for tokens older than that record.
    created_by: Option<String>,
}

impl From<&ApiToken> for TokenBody {
    fn from(token: &ApiToken) -> Self {
        Self {
            id: token.id.clone(),
            tenant: token.tenant.to_string(),
            name: token.name.clone(),
            roles: token.roles.clone(),
            created_at: token.created_at,
            expires_at: token.expires_at,
            created_by: token.created_by.as_ref().map(ToString::to_string),
        }
    }
}

/// The bodies of `items`.
pub(crate) fn bodies<'a, T: 'a, B: From<&'a T>>(items: &'a [T]) -> Vec<B> {
    items.iter().map(B::from).collect()
}
