//! Authorization: role-based access control with one domain per tenant, on
//! casbin. This is the only crate that knows about casbin.
//!
//! - Users hold roles in a [`Domain`]: a tenant, or the platform itself.
//! - Roles grant permissions such as `finance.journal.post`; a built-in role
//!   is defined for every tenant, a plugin's or a tenant's own in each tenant
//!   (a plugin's as the version that tenant runs declares it). Patterns `*`,
//!   `*.read` and `finance.*` are allowed.
//! - Built-in roles: `admin` (everything in its tenant), `auditor` (every
//!   `*.read` permission), and `platform-admin` in the platform domain.
//! - Every rule is validated before it reaches casbin; a malformed one is an
//!   [`AuthzError::Invalid`], never a panic. Decisions are cached and the
//!   cache is cleared on every change.
//!
//! - `pattern`: permission names and patterns, checked and matched;
//! - `rbac`: [`Authz`], the enforcer over casbin, and its cache.

mod pattern;
mod rbac;

pub use pattern::{check_permission, check_permission_pattern, matches};
pub use rbac::{ADMIN, AUDITOR, Authz, AuthzError, Domain, PLATFORM_ADMIN};

#[cfg(test)]
mod tests;
