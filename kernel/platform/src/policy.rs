//! A tenant's own roles and its segregation-of-duties rules. Every change
//! is validated in full (names, permission patterns, and that no current
//! member or token would break a rule) before anything is stored.

use keel_audit::Origin;
use keel_authz::{check_permission, check_permission_pattern};
use keel_identity::{SodRule, TenantRole};
use keel_types::TenantId;

use crate::{
    ADMIN, AUDITOR, Actor, PLATFORM_ADMIN, Platform, PlatformError, Principal, identity_error,
    internal,
};

/// Most permissions one tenant role or rule may list.
const PERMISSIONS_PER_RULE_MAX: usize = 64;
/// Most roles of its own one tenant may define.
const ROLES_PER_TENANT_MAX: usize = 64;
/// Most segregation-of-duties rules one tenant may define.
const RULES_PER_TENANT_MAX: usize = 32;

/// A role as a tenant can see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    /// The role's id.
    pub id: String,
    /// `built-in`, `plugin` or `tenant`.
    pub origin: &'static str,
    /// What it grants in this tenant.
    pub permissions: Vec<String>,
}

impl Platform {
    /// Roles defined outside any tenant: built-in and plugin-declared.
    fn shared_roles(&self) -> Vec<String> {
        let mut roles = vec![ADMIN.to_owned(), AUDITOR.to_owned(), PLATFORM_ADMIN.to_owned()];
        for plugin in self.inner.host.plugins() {
            roles.extend(plugin.manifest().roles.iter().map(|r| r.id.clone()));
        }
        roles
    }

    /// The ids of `tenant`'s own roles.
    pub(crate) fn own_role_ids(
        &self,
        tenant: &TenantId,
    ) -> Result<std::collections::BTreeSet<String>, PlatformError> {
        let roles = self.identity().roles(Some(tenant)).map_err(identity_error)?;
        Ok(roles.into_iter().map(|r| r.id).collect())
    }

    /// Every role grantable in `tenant`, with what it grants.
    pub async fn tenant_roles(&self, tenant: &TenantId) -> Result<Vec<RoleInfo>, PlatformError> {
        let own = self.own_role_ids(tenant)?;
        let mut out = Vec::new();
        for id in self.grantable_roles(tenant) {
            let origin = if id == ADMIN || id == AUDITOR {
                "built-in"
            } else if own.contains(&id) {
                "tenant"
            } else {
                "plugin"
            };
            let permissions = self.inner.authz.role_permissions(tenant, &id).await;
            out.push(RoleInfo { id, origin, permissions });
        }
        Ok(out)
    }

    /// Defines or replaces one of `tenant`'s own roles.
    pub async fn define_tenant_role(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: &str,
        permissions: &[String],
    ) -> Result<(), PlatformError> {
        let _admin = self.inner.admin.lock().await;
        if !self.tenant_exists(tenant)? {
            return Err(PlatformError::NotFound(format!("tenant {tenant} does not exist")));
        }
        keel_types::schema::check_name("role id", id)
            .map_err(|err| PlatformError::Invalid(err.to_string()))?;
        if self.shared_roles().iter().any(|r| r == id) {
            return Err(PlatformError::Conflict(format!(
                "role {id:?} is built in or declared by a plugin; choose another id"
            )));
        }
        if permissions.is_empty() || permissions.len() > PERMISSIONS_PER_RULE_MAX {
            return Err(PlatformError::Invalid(format!(
                "a role grants 1 to {PERMISSIONS_PER_RULE_MAX} permissions"
            )));
        }
        for permission in permissions {
            check_permission_pattern(permission).map_err(PlatformError::Invalid)?;
        }
        let own = self.identity().roles(Some(tenant)).map_err(identity_error)?;
        if own.len() >= ROLES_PER_TENANT_MAX && !own.iter().any(|r| r.id == id) {
            return Err(PlatformError::Conflict(format!(
                "tenant {tenant} has {ROLES_PER_TENANT_MAX} roles of its own; delete some first"
            )));
        }
        self.ensure_covers(&actor.principal, tenant, permissions, &format!("role {id}")).await?;
        let role = TenantRole {
            tenant: tenant.clone(),
            id: id.to_owned(),
            permissions: permissions.to_vec(),
        };
        self.check_members_against(tenant, std::slice::from_ref(&role), None).await?;
        let origin = self.origin(actor, Some(tenant)).await;
        self.identity_write(move |identity| identity.put_role(&origin, &role)).await?;
        self.inner.authz.replace_role(tenant, id, permissions).await.map_err(internal)
    }

    /// Deletes one of `tenant`'s own roles; refused while anyone holds it.
    pub async fn delete_tenant_role(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: &str,
    ) -> Result<(), PlatformError> {
        let _admin = self.inner.admin.lock().await;
        let holders =
            self.members(tenant)?.into_iter().filter(|m| m.roles.iter().any(|r| r == id)).count()
                + self
                    .identity()
                    .tokens(Some(tenant))
                    .map_err(identity_error)?
                    .iter()
                    .filter(|t| t.roles.iter().any(|r| r == id))
                    .count();
        if holders > 0 {
            return Err(PlatformError::Conflict(format!(
                "role {id:?} is held by {holders} members or tokens of {tenant}; take it away first"
            )));
        }
        let origin = self.origin(actor, Some(tenant)).await;
        let (t, role) = (tenant.clone(), id.to_owned());
        if !self.identity_write(move |identity| identity.delete_role(&origin, &t, &role)).await? {
            return Err(PlatformError::NotFound(format!(
                "tenant {tenant} has no role {id:?} of its own"
            )));
        }
        self.inner.authz.replace_role(tenant, id, &[]).await.map_err(internal)
    }

    /// Deletes a segregation-of-duties rule.
    pub async fn delete_sod_rule(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        name: &str,
    ) -> Result<(), PlatformError> {
        let _admin = self.inner.admin.lock().await;
        let origin = self.origin(actor, Some(tenant)).await;
        let (t, rule) = (tenant.clone(), name.to_owned());
        if self.identity_write(move |identity| identity.delete_sod_rule(&origin, &t, &rule)).await?
        {
            return Ok(());
        }
        Err(PlatformError::NotFound(format!("tenant {tenant} has no rule {name:?}")))
    }

    /// Removes a tenant's own roles and rules (its policy), under the admin lock.
    pub(crate) async fn delete_tenant_policy(
        &self,
        origin: &Origin,
        tenant: &TenantId,
    ) -> Result<(), PlatformError> {
        for role in self.identity().roles(Some(tenant)).map_err(identity_error)? {
            let (o, t, id) = (origin.clone(), tenant.clone(), role.id.clone());
            self.identity_write(move |identity| identity.delete_role(&o, &t, &id)).await?;
            self.inner.authz.replace_role(tenant, &role.id, &[]).await.map_err(internal)?;
        }
        for rule in self.sod_rules(tenant)? {
            let (o, t) = (origin.clone(), tenant.clone());
            self.identity_write(move |identity| identity.delete_sod_rule(&o, &t, &rule.name))
                .await?;
        }
        Ok(())
    }

    /// The segregation-of-duties rules of `tenant`.
    pub fn sod_rules(&self, tenant: &TenantId) -> Result<Vec<SodRule>, PlatformError> {
        self.identity().sod_rules(Some(tenant)).map_err(identity_error)
    }

    /// Defines or replaces a rule: no principal may hold all of
    /// `permissions` in `tenant`. Refused while someone already does.
    pub async fn put_sod_rule(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        name: &str,
        permissions: &[String],
    ) -> Result<(), PlatformError> {
        let _admin = self.inner.admin.lock().await;
        let rules = self.sod_rules(tenant)?;
        if rules.len() >= RULES_PER_TENANT_MAX && !rules.iter().any(|r| r.name == name) {
            return Err(PlatformError::Conflict(format!(
                "tenant {tenant} has {RULES_PER_TENANT_MAX} rules; delete some first"
            )));
        }
        if !self.tenant_exists(tenant)? {
            return Err(PlatformError::NotFound(format!("tenant {tenant} does not exist")));
        }
        keel_types::schema::check_name("rule name", name)
            .map_err(|err| PlatformError::Invalid(err.to_string()))?;
        if !(2..=PERMISSIONS_PER_RULE_MAX).contains(&permissions.len()) {
            return Err(PlatformError::Invalid(
                "a segregation-of-duties rule names 2 or more permissions".to_owned(),
            ));
        }
        for permission in permissions {
            check_permission(permission).map_err(PlatformError::Invalid)?;
        }
        let rule = SodRule {
            tenant: tenant.clone(),
            name: name.to_owned(),
            permissions: permissions.to_vec(),
        };
        self.check_members_against(tenant, &[], Some(&rule)).await?;
        let origin = self.origin(actor, Some(tenant)).await;
        self.identity_write(move |identity| identity.put_sod_rule(&origin, &rule)).await
    }

    /// Refuses if a principal holding `roles` in `tenant` would break a rule.
    pub(crate) async fn check_sod(
        &self,
        tenant: &TenantId,
        who: &str,
        roles: &[String],
    ) -> Result<(), PlatformError> {
        for rule in self.sod_rules(tenant)? {
            self.check_rule(tenant, who, roles, &rule, &[]).await?;
        }
        Ok(())
    }

    async fn check_rule(
        &self,
        tenant: &TenantId,
        who: &str,
        roles: &[String],
        rule: &SodRule,
        redefined: &[TenantRole],
    ) -> Result<(), PlatformError> {
        for permission in &rule.permissions {
            let mut held = false;
            for role in roles {
                held |= match redefined.iter().find(|r| &r.id == role) {
                    Some(new) => new.permissions.iter().any(|p| keel_authz::matches(permission, p)),
                    None => {
                        self.inner
                            .authz
                            .roles_grant(tenant, std::slice::from_ref(role), permission)
                            .await
                    }
                };
            }
            if !held {
                return Ok(());
            }
        }
        Err(PlatformError::Conflict(format!(
            "segregation of duties rule {:?} in tenant {tenant}: {who} may not hold all of {}",
            rule.name,
            rule.permissions.join(", ")
        )))
    }

    /// Checks every member and token of `tenant` against the rules, with
    /// roles redefined or a rule added as proposed.
    pub(crate) async fn check_members_against(
        &self,
        tenant: &TenantId,
        redefined: &[TenantRole],
        added: Option<&SodRule>,
    ) -> Result<(), PlatformError> {
        let mut rules = self.sod_rules(tenant)?;
        rules.retain(|r| added.is_none_or(|a| a.name != r.name));
        rules.extend(added.cloned());
        let mut holders: Vec<(String, Vec<String>)> =
            self.members(tenant)?.into_iter().map(|m| (m.user.to_string(), m.roles)).collect();
        for token in self.identity().tokens(Some(tenant)).map_err(identity_error)? {
            holders.push((Principal::token(&token.id).to_string(), token.roles));
        }
        for (who, roles) in &holders {
            for rule in &rules {
                self.check_rule(tenant, who, roles, rule, redefined).await?;
            }
        }
        Ok(())
    }

    /// Re-applies every tenant's own roles at start.
    pub(crate) async fn restore_tenant_roles(&self) -> Result<(), PlatformError> {
        for role in self.identity().roles(None).map_err(identity_error)? {
            if let Err(err) =
                self.inner.authz.replace_role(&role.tenant, &role.id, &role.permissions).await
            {
                tracing::warn!(tenant = %role.tenant, role = role.id, error = %err, "stored tenant role not restored");
            }
        }
        Ok(())
    }
}
