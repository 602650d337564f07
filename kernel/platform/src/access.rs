//! Deciding what a principal may do: in the platform, in a tenant, and
//! inside a plugin call (`has-permission`, and who a token acts for).

use std::sync::Arc;

use keel_authz::Domain;
use keel_host::PermissionCheck;
use keel_types::TenantId;

use crate::{Platform, PlatformError, Principal, TOKEN_PREFIX};

impl Platform {
    /// Refuses unless `principal` holds `permission` in `scope`.
    pub async fn authorize(
        &self,
        principal: &Principal,
        scope: Domain<'_>,
        permission: &str,
    ) -> Result<(), PlatformError> {
        if self.inner.authz.check(principal.as_str(), scope, permission).await {
            return Ok(());
        }
        Err(PlatformError::Forbidden {
            user: principal.to_string(),
            permission: permission.to_owned(),
        })
    }

    /// Refuses unless `principal` holds some role in `tenant` (or is a
    /// platform administrator): enough to read the tenant's API
    /// description. Returns the roles it holds there and on the platform.
    pub async fn authorize_member(
        &self,
        principal: &Principal,
        tenant: &TenantId,
    ) -> Result<Vec<String>, PlatformError> {
        let mut roles = self.inner.authz.roles(principal.as_str(), Domain::Tenant(tenant)).await;
        if !roles.is_empty()
            || self
                .inner
                .authz
                .check(principal.as_str(), Domain::Platform, "keel.openapi.read")
                .await
        {
            roles.extend(self.inner.authz.roles(principal.as_str(), Domain::Platform).await);
            return Ok(roles);
        }
        Err(PlatformError::Forbidden {
            user: principal.to_string(),
            permission: format!("a role in tenant {tenant}"),
        })
    }

    /// What a plugin call may ask about its caller's permissions.
    pub fn permissions_of(&self, principal: &Principal) -> Arc<dyn PermissionCheck> {
        Arc::new(CallerPermissions { platform: self.clone(), principal: principal.clone() })
    }
}

/// Answers a plugin's `has-permission` for one caller, from a plugin call's
/// blocking thread.
pub(crate) struct CallerPermissions {
    pub(crate) platform: Platform,
    pub(crate) principal: Principal,
}

impl std::fmt::Debug for CallerPermissions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerPermissions").field("principal", &self.principal).finish()
    }
}

impl PermissionCheck for CallerPermissions {
    fn check(&self, tenant: &TenantId, permission: &str) -> bool {
        self.platform.inner.authz.check_blocking(
            self.principal.as_str(),
            Domain::Tenant(tenant),
            permission,
        )
    }

    fn same_person(&self, tenant: &TenantId, principal: &str) -> Option<bool> {
        let caller = self.platform.person_of(tenant, self.principal.as_str())?;
        Some(self.platform.person_of(tenant, principal)? == caller)
    }
}

impl Platform {
    /// Who `principal` acts for in `tenant`: a user themself, or the user
    /// who created a token. A token with no recorded creator (made before
    /// tokens recorded one) acts for itself. None when that cannot be read.
    fn person_of(&self, tenant: &TenantId, principal: &str) -> Option<String> {
        let Some(token) = principal.strip_prefix(TOKEN_PREFIX) else {
            return Some(principal.to_owned());
        };
        match self.identity().token_owner(tenant, token) {
            Ok(Some(owner)) => Some(owner.to_string()),
            Ok(None) => {
                tracing::warn!(%tenant, token, "a token with no recorded creator acts for itself; recreate it");
                Some(principal.to_owned())
            }
            Err(err) => {
                tracing::error!(%tenant, token, error = %err, "cannot read who created a token");
                None
            }
        }
    }
}
