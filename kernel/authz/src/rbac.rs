//! The enforcer: casbin with one domain per tenant and one for the
//! platform, its rules checked before they reach it, and a cache of
//! decisions cleared on every change.

use std::collections::HashMap;
use std::sync::Mutex;

use casbin::function_map::OperatorFunction;
use casbin::rhai::Dynamic;
use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi, RbacApi};
use keel_types::TenantId;
use tokio::sync::RwLock;

use crate::pattern::{check_permission, check_permission_pattern, matches};

/// The built-in role that may do everything within its tenant.
pub const ADMIN: &str = "admin";
/// The built-in role that may read everything and change nothing.
pub const AUDITOR: &str = "auditor";
/// The built-in role that may administer the whole platform.
pub const PLATFORM_ADMIN: &str = "platform-admin";

/// The casbin domain of the platform; tenant ids cannot contain `~`.
const PLATFORM_DOMAIN: &str = "~platform";
/// Cached decisions kept before the cache is cleared wholesale.
const CACHE_ENTRIES_MAX: usize = 65_536;

/// Where a role is held or a permission is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain<'a> {
    /// The platform: tenants, users and packages.
    Platform,
    /// One tenant's data and plugins.
    Tenant(&'a TenantId),
}

impl Domain<'_> {
    fn as_str(&self) -> &str {
        match self {
            Domain::Platform => PLATFORM_DOMAIN,
            Domain::Tenant(id) => id.as_str(),
        }
    }
}

/// Why a policy change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthzError {
    /// A rule is malformed (a bad role name or permission).
    #[error("{0}")]
    Invalid(String),
    /// casbin failed underneath.
    #[error("authorization engine failed: {0}")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The authorization service. Share it behind an `Arc`.
pub struct Authz {
    enforcer: RwLock<Enforcer>,
    cache: Mutex<HashMap<(String, String, String), bool>>,
}

impl Authz {
    /// Starts with the built-in roles and no assignments.
    pub async fn new() -> Result<Self, AuthzError> {
        let model = DefaultModel::from_str(include_str!("model.conf")).await.map_err(engine)?;
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default()).await.map_err(engine)?;
        enforcer.add_function("permMatch", OperatorFunction::Arg2(perm_match));
        let authz = Self { enforcer: RwLock::new(enforcer), cache: Mutex::default() };
        authz.grant(None, ADMIN, "*").await?;
        authz.grant(None, AUDITOR, "*.read").await?;
        let mut enforcer = authz.enforcer.write().await;
        let rule = vec![role(PLATFORM_ADMIN), PLATFORM_DOMAIN.to_owned(), "*".to_owned()];
        enforcer.add_policy(rule).await.map_err(engine)?;
        drop(enforcer);
        Ok(authz)
    }

    /// Defines (or extends) `role` with `permissions`: in one tenant, or in
    /// every tenant when `tenant` is none (built-in and plugin roles).
    pub async fn define_role(
        &self,
        tenant: Option<&TenantId>,
        role_id: &str,
        permissions: &[String],
    ) -> Result<(), AuthzError> {
        check_role(role_id)?;
        if role_id == PLATFORM_ADMIN {
            return Err(AuthzError::Invalid(format!("role {role_id:?} is reserved")));
        }
        for permission in permissions {
            check_permission_pattern(permission).map_err(AuthzError::Invalid)?;
        }
        for permission in permissions {
            self.grant(tenant, role_id, permission).await?;
        }
        Ok(())
    }

    /// Replaces the permissions of a tenant's own role. The rules are
    /// validated first; a refused change changes nothing.
    pub async fn replace_role(
        &self,
        tenant: &TenantId,
        role_id: &str,
        permissions: &[String],
    ) -> Result<(), AuthzError> {
        check_role(role_id)?;
        for permission in permissions {
            check_permission_pattern(permission).map_err(AuthzError::Invalid)?;
        }
        let filter = vec![role(role_id), tenant.as_str().to_owned()];
        let mut enforcer = self.enforcer.write().await;
        enforcer.remove_filtered_policy(0, filter).await.map_err(engine)?;
        for permission in permissions {
            let rule = vec![role(role_id), tenant.as_str().to_owned(), permission.clone()];
            if !enforcer.has_policy(rule.clone()) {
                enforcer.add_policy(rule).await.map_err(engine)?;
            }
        }
        drop(enforcer);
        self.clear_cache();
        Ok(())
    }

    /// The permission patterns `role_id` grants in `tenant` (its own and
    /// those defined for every tenant), sorted.
    pub async fn role_permissions(&self, tenant: &TenantId, role_id: &str) -> Vec<String> {
        let enforcer = self.enforcer.read().await;
        let mut granted: Vec<String> = enforcer
            .get_filtered_policy(0, vec![role(role_id)])
            .into_iter()
            .filter(|rule| rule.get(1).is_some_and(|d| d == "*" || d == tenant.as_str()))
            .filter_map(|rule| rule.get(2).cloned())
            .collect();
        granted.sort();
        granted.dedup();
        granted
    }

    /// Whether holding `roles` in `tenant` would grant `permission`.
    pub async fn roles_grant(&self, tenant: &TenantId, roles: &[String], permission: &str) -> bool {
        for role_id in roles {
            if self
                .role_permissions(tenant, role_id)
                .await
                .iter()
                .any(|granted| matches(permission, granted))
            {
                return true;
            }
        }
        false
    }

    async fn grant(
        &self,
        tenant: Option<&TenantId>,
        role_id: &str,
        permission: &str,
    ) -> Result<(), AuthzError> {
        let domain = tenant.map_or("*", TenantId::as_str).to_owned();
        let rule = vec![role(role_id), domain, permission.to_owned()];
        let mut enforcer = self.enforcer.write().await;
        if !enforcer.has_policy(rule.clone()) {
            enforcer.add_policy(rule).await.map_err(engine)?;
        }
        drop(enforcer);
        self.clear_cache();
        Ok(())
    }

    /// Gives `user` the role `role_id` in `domain`.
    pub async fn assign(
        &self,
        user: &str,
        role_id: &str,
        domain: Domain<'_>,
    ) -> Result<(), AuthzError> {
        check_role(role_id)?;
        let platform_role = role_id == PLATFORM_ADMIN;
        if platform_role != (domain == Domain::Platform) {
            return Err(AuthzError::Invalid(format!(
                "role {role_id:?} cannot be held in {}; {PLATFORM_ADMIN:?} is the only platform role",
                domain.as_str()
            )));
        }
        let mut enforcer = self.enforcer.write().await;
        let (subject, role, domain) = (subject(user), role(role_id), domain.as_str().to_owned());
        if !enforcer.has_grouping_policy(vec![subject.clone(), role.clone(), domain.clone()]) {
            enforcer.add_grouping_policy(vec![subject, role, domain]).await.map_err(engine)?;
        }
        drop(enforcer);
        self.clear_cache();
        Ok(())
    }

    /// Takes the role away; returns whether the user held it.
    pub async fn revoke(
        &self,
        user: &str,
        role_id: &str,
        domain: Domain<'_>,
    ) -> Result<bool, AuthzError> {
        let rule = vec![subject(user), role(role_id), domain.as_str().to_owned()];
        let removed =
            self.enforcer.write().await.remove_grouping_policy(rule).await.map_err(engine)?;
        self.clear_cache();
        Ok(removed)
    }

    /// The roles `user` holds in `domain`, sorted.
    pub async fn roles(&self, user: &str, domain: Domain<'_>) -> Vec<String> {
        let enforcer = self.enforcer.read().await;
        let mut roles: Vec<String> = enforcer
            .get_roles_for_user(&subject(user), Some(domain.as_str()))
            .into_iter()
            .filter_map(|r| r.strip_prefix("role:").map(str::to_owned))
            .collect();
        roles.sort();
        roles
    }

    /// Whether `user` holds `permission` in `domain`. A platform
    /// administrator holds every permission everywhere.
    pub async fn check(&self, user: &str, domain: Domain<'_>, permission: &str) -> bool {
        if let Some(decision) = self.cached(user, domain, permission) {
            return decision;
        }
        let enforcer = self.enforcer.read().await;
        self.decide(&enforcer, user, domain, permission)
    }

    /// [`Authz::check`] for threads that may block (plugin calls); never
    /// call it from an async task.
    pub fn check_blocking(&self, user: &str, domain: Domain<'_>, permission: &str) -> bool {
        if check_permission(permission).is_err() {
            return false;
        }
        if let Some(decision) = self.cached(user, domain, permission) {
            return decision;
        }
        let enforcer = self.enforcer.blocking_read();
        self.decide(&enforcer, user, domain, permission)
    }

    fn cached(&self, user: &str, domain: Domain<'_>, permission: &str) -> Option<bool> {
        let key = (user.to_owned(), domain.as_str().to_owned(), permission.to_owned());
        let decision = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key).copied();
        let cache = if decision.is_some() { "hit" } else { "miss" };
        metrics::counter!("keel_authz_decisions_total", "cache" => cache).increment(1);
        decision
    }

    fn decide(
        &self,
        enforcer: &Enforcer,
        user: &str,
        domain: Domain<'_>,
        permission: &str,
    ) -> bool {
        let key = (user.to_owned(), domain.as_str().to_owned(), permission.to_owned());
        let ask = |domain: &str| {
            let request = (subject(user), domain.to_owned(), permission.to_owned());
            enforcer.enforce(request).unwrap_or_else(|err| {
                tracing::error!(error = %err, "authorization check failed; denying");
                false
            })
        };
        let allowed = ask(PLATFORM_DOMAIN) || (domain != Domain::Platform && ask(domain.as_str()));
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_ENTRIES_MAX {
            cache.clear();
        }
        cache.insert(key, allowed);
        allowed
    }

    fn clear_cache(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

fn subject(user: &str) -> String {
    format!("user:{user}")
}

fn role(id: &str) -> String {
    format!("role:{id}")
}

fn check_role(id: &str) -> Result<(), AuthzError> {
    keel_types::schema::check_name("role id", id)
        .map_err(|err| AuthzError::Invalid(err.to_string()))
}

fn engine(err: casbin::Error) -> AuthzError {
    AuthzError::Engine(Box::new(err))
}

/// `permMatch(requested, granted)` for the casbin matcher.
fn perm_match(requested: Dynamic, granted: Dynamic) -> Dynamic {
    let requested = requested.into_string().unwrap_or_default();
    let granted = granted.into_string().unwrap_or_default();
    Dynamic::from(matches(&requested, &granted))
}
