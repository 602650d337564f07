//! Administrative operations: tenants, users, memberships, plugins.

use std::sync::Arc;

use keel_authz::Domain;
use keel_host::{
    CallError, ChooseError, DeadLetter, EnableError, EnableReport, LoadError, Plugin,
    ProviderChoice, ReplayError, StoredSchedule, StoredTimer, TenantInfo,
};
use keel_identity::{ApiToken, Membership, User};
use keel_types::{PluginId, TenantId, UserId};

use keel_audit::Origin;

use crate::{
    ADMIN, AUDITOR, Actor, Platform, PlatformError, Principal, blocking, identity_error, internal,
};

/// Most roles one membership or token may list.
const ROLES_PER_MEMBER_MAX: usize = 32;
/// Longest lifetime of an API token, in days.
const TOKEN_DAYS_MAX: u32 = 366;
/// Most API tokens one tenant may hold.
const TOKENS_PER_TENANT_MAX: usize = 256;

impl Platform {
    /// Creates a tenant; a conflict if it exists.
    pub async fn create_tenant(
        &self,
        actor: &Actor,
        id: &TenantId,
        name: &str,
    ) -> Result<TenantInfo, PlatformError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(PlatformError::Invalid("tenant name must be 1 to 200 bytes".to_owned()));
        }
        let origin = self.origin(actor, None).await;
        let (tenant, named) = (id.clone(), name.to_owned());
        let created =
            self.host_write(move |host| host.create_tenant(&origin, &tenant, &named)).await?;
        if !created.map_err(internal)? {
            return Err(PlatformError::Conflict(format!("tenant {id} already exists")));
        }
        Ok(TenantInfo { id: id.clone(), name: name.to_owned(), storage_quota_bytes: None })
    }

    /// Every tenant.
    pub fn tenants(&self) -> Result<Vec<TenantInfo>, PlatformError> {
        self.inner.host.tenants().map_err(internal)
    }

    /// One tenant.
    pub fn tenant(&self, id: &TenantId) -> Result<TenantInfo, PlatformError> {
        self.inner
            .host
            .tenant(id)
            .map_err(internal)?
            .ok_or_else(|| PlatformError::NotFound(format!("tenant {id} does not exist")))
    }

    /// Renames a tenant.
    pub async fn rename_tenant(
        &self,
        actor: &Actor,
        id: &TenantId,
        name: &str,
    ) -> Result<TenantInfo, PlatformError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(PlatformError::Invalid("tenant name must be 1 to 200 bytes".to_owned()));
        }
        let origin = self.origin(actor, None).await;
        let (tenant, named) = (id.clone(), name.to_owned());
        let renamed =
            self.host_write(move |host| host.rename_tenant(&origin, &tenant, &named)).await?;
        if !renamed.map_err(internal)? {
            return Err(PlatformError::NotFound(format!("tenant {id} does not exist")));
        }
        self.tenant(id)
    }

    /// Sets the most bytes a tenant may store (`None`: the kernel's
    /// default). Lowering it below what the tenant stores refuses its
    /// growth from then on; nothing is deleted.
    pub async fn set_tenant_quota(
        &self,
        actor: &Actor,
        id: &TenantId,
        quota: Option<u64>,
    ) -> Result<TenantInfo, PlatformError> {
        let origin = self.origin(actor, None).await;
        let tenant = id.clone();
        let set =
            self.host_write(move |host| host.set_tenant_quota(&origin, &tenant, quota)).await?;
        set.map_err(internal)?
            .ok_or_else(|| PlatformError::NotFound(format!("tenant {id} does not exist")))
    }

    /// What a tenant stores and may store: `(stored bytes, quota bytes)`.
    /// The first count after a start walks its data, off the async workers.
    pub async fn tenant_storage(&self, id: &TenantId) -> Result<(u64, u64), PlatformError> {
        let tenant = self.tenant(id)?;
        let quota =
            tenant.storage_quota_bytes.unwrap_or(self.inner.host.limits().tenant_storage_bytes_max);
        let id = id.clone();
        let stored = self.host_write(move |host| host.stored_bytes(&id)).await?;
        Ok((stored.map_err(internal)?, quota))
    }

    /// Deletes a tenant that holds no plugin data, with its memberships,
    /// tokens, roles and rules. A tenant that has had plugins is refused: its
    /// books are kept until an explicit purge (not yet offered).
    pub async fn delete_tenant(&self, actor: &Actor, id: &TenantId) -> Result<(), PlatformError> {
        let _admin = self.inner.admin.lock().await;
        self.tenant(id)?;
        if self.inner.host.tenant_has_plugins(id).map_err(internal)? {
            return Err(PlatformError::Conflict(format!(
                "tenant {id} has had plugins and may hold their data; it cannot be deleted"
            )));
        }
        // The tenant's own chain records what went with it; the platform's
        // records the deletion.
        let origin = self.origin(actor, Some(id)).await;
        for member in self.members(id)? {
            self.apply_roles(&origin, id, &member.user, &[]).await?;
        }
        for token in self.tokens(id)? {
            self.revoke_token_locked(&origin, id, &token.id).await?;
        }
        for webhook in self.webhooks(id).await? {
            self.delete_webhook(actor, id, webhook.id).await?;
        }
        self.delete_tenant_policy(&origin, id).await?;
        let origin = self.origin(actor, None).await;
        let tenant = id.clone();
        self.host_write(move |host| host.delete_tenant(&origin, &tenant))
            .await?
            .map_err(internal)?;
        Ok(())
    }

    /// Creates a user with a password.
    pub async fn create_user(
        &self,
        actor: &Actor,
        id: UserId,
        name: String,
        password: String,
    ) -> Result<User, PlatformError> {
        let identity = Arc::clone(&self.inner.identity);
        let origin = self.origin(actor, None).await;
        blocking(move || identity.create_user(&origin, &id, &name, &password)).await
    }

    /// Every user.
    pub fn users(&self) -> Result<Vec<User>, PlatformError> {
        self.identity().users().map_err(identity_error)
    }

    /// One user.
    pub fn user(&self, id: &UserId) -> Result<User, PlatformError> {
        self.identity()
            .user(id)
            .map_err(identity_error)?
            .ok_or_else(|| PlatformError::NotFound(format!("user {id} does not exist")))
    }

    /// Changes a user's name and/or password (which ends their sessions).
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        name: Option<String>,
        password: Option<String>,
    ) -> Result<User, PlatformError> {
        let identity = Arc::clone(&self.inner.identity);
        let missing = PlatformError::NotFound(format!("user {id} does not exist"));
        let origin = self.origin(actor, None).await;
        let updated = blocking(move || {
            identity.update_user(&origin, &id, name.as_deref(), password.as_deref())
        })
        .await?;
        updated.ok_or(missing)
    }

    /// Deletes a user, their memberships and roles; the last platform
    /// administrator cannot be deleted.
    pub async fn delete_user(&self, actor: &Actor, id: &UserId) -> Result<(), PlatformError> {
        let _admin = self.inner.admin.lock().await;
        self.user(id)?;
        let admins = self.identity().memberships(Some(None)).map_err(identity_error)?;
        if admins.len() == 1 && admins[0].user == *id {
            return Err(PlatformError::Conflict(format!(
                "{id} is the last platform administrator"
            )));
        }
        // Before the roles go, so the record shows the ones the actor held.
        let origin = self.origin(actor, None).await;
        for membership in self.identity().memberships(None).map_err(identity_error)? {
            if membership.user != *id {
                continue;
            }
            let scope = membership.tenant.as_ref().map_or(Domain::Platform, Domain::Tenant);
            for role in &membership.roles {
                self.inner.authz.revoke(id.as_str(), role, scope).await.map_err(internal)?;
            }
        }
        // The tokens the user created act for them: they go with them.
        let theirs: Vec<ApiToken> = self.identity().tokens(None).map_err(identity_error)?;
        for token in theirs.iter().filter(|t| t.created_by.as_ref() == Some(id)) {
            self.revoke_token_locked(&origin, &token.tenant, &token.id).await?;
        }
        let user = id.clone();
        self.identity_write(move |identity| identity.delete_user(&origin, &user)).await?;
        Ok(())
    }

    /// The roles a tenant can grant: built-in ones, those of its enabled
    /// plugins, and its own.
    pub fn grantable_roles(&self, tenant: &TenantId) -> Vec<String> {
        let mut roles = vec![ADMIN.to_owned(), AUDITOR.to_owned()];
        for plugin in self.inner.host.enabled_plugins(tenant) {
            roles.extend(plugin.manifest().roles.iter().map(|r| r.id.clone()));
        }
        match self.identity().roles(Some(tenant)) {
            Ok(own) => roles.extend(own.into_iter().map(|r| r.id)),
            Err(err) => tracing::error!(%tenant, error = %err, "cannot read the tenant's roles"),
        }
        roles.sort();
        roles.dedup();
        roles
    }

    /// Replaces the roles `user` holds in `tenant`, as `actor`. Every role
    /// must be grantable there, no segregation rule may break, and `actor`
    /// must hold every permission of each role it gives or takes away (a
    /// grant never exceeds its granter, and no one demotes someone who is
    /// more than they are); otherwise nothing changes.
    ///
    /// `user` need not exist yet: whether a platform user exists is not a
    /// tenant's business, so naming one who does not answers as for one
    /// who is not a member, and the membership holds once they are created.
    pub async fn set_roles(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        user: &UserId,
        roles: &[String],
    ) -> Result<Vec<String>, PlatformError> {
        let _admin = self.inner.admin.lock().await;
        if !self.tenant_exists(tenant)? {
            return Err(PlatformError::NotFound(format!("tenant {tenant} does not exist")));
        }
        if roles.len() > ROLES_PER_MEMBER_MAX {
            return Err(PlatformError::Invalid(format!(
                "at most {ROLES_PER_MEMBER_MAX} roles per member"
            )));
        }
        let grantable = self.grantable_roles(tenant);
        if let Some(unknown) = roles.iter().find(|r| !grantable.contains(r)) {
            return Err(PlatformError::Invalid(format!(
                "role {unknown:?} cannot be granted in tenant {tenant}; grantable: {}",
                grantable.join(", ")
            )));
        }
        let held = self.inner.authz.roles(user.as_str(), Domain::Tenant(tenant)).await;
        let given = roles.iter().filter(|r| !held.contains(r));
        let taken = held.iter().filter(|r| !roles.contains(r));
        let changed: Vec<String> = given.chain(taken).cloned().collect();
        self.ensure_covers_roles(&actor.principal, tenant, &changed).await?;
        self.check_sod(tenant, user.as_str(), roles).await?;
        let origin = self.origin(actor, Some(tenant)).await;
        self.apply_roles(&origin, tenant, user, roles).await
    }

    /// Stores and applies a member's roles; the caller holds the admin lock
    /// and has validated them.
    async fn apply_roles(
        &self,
        origin: &Origin,
        tenant: &TenantId,
        user: &UserId,
        roles: &[String],
    ) -> Result<Vec<String>, PlatformError> {
        let scope = Domain::Tenant(tenant);
        let previous = self.inner.authz.roles(user.as_str(), scope).await;
        let (origin, t, u, r) = (origin.clone(), tenant.clone(), user.clone(), roles.to_vec());
        self.identity_write(move |identity| identity.set_roles(&origin, Some(&t), &u, &r)).await?;
        for role in previous.iter().filter(|r| !roles.contains(r)) {
            self.inner.authz.revoke(user.as_str(), role, scope).await.map_err(internal)?;
        }
        for role in roles {
            self.inner.authz.assign(user.as_str(), role, scope).await.map_err(internal)?;
        }
        Ok(self.inner.authz.roles(user.as_str(), scope).await)
    }

    /// Refuses unless `actor` holds every permission that `roles` grant in `tenant`.
    async fn ensure_covers_roles(
        &self,
        actor: &Principal,
        tenant: &TenantId,
        roles: &[String],
    ) -> Result<(), PlatformError> {
        for role in roles {
            let granted = self.inner.authz.role_permissions(tenant, role).await;
            self.ensure_covers(actor, tenant, &granted, role).await?;
        }
        Ok(())
    }

    /// Refuses unless `actor` holds each of `patterns` in `tenant`.
    pub(crate) async fn ensure_covers(
        &self,
        actor: &Principal,
        tenant: &TenantId,
        patterns: &[String],
        what: &str,
    ) -> Result<(), PlatformError> {
        for pattern in patterns {
            if !self.inner.authz.check(actor.as_str(), Domain::Tenant(tenant), pattern).await {
                return Err(PlatformError::Forbidden {
                    user: actor.to_string(),
                    permission: format!(
                        "{pattern} (granted by {what}); no one grants more than they hold"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Creates an API token acting in `tenant` with `roles`, valid for
    /// `days`; returns it with its secret (shown once).
    pub async fn create_token(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        name: &str,
        roles: &[String],
        days: u32,
    ) -> Result<(ApiToken, String), PlatformError> {
        let _admin = self.inner.admin.lock().await;
        // A token acts for the user who created it: never for another token.
        let Ok(created_by) = UserId::new(actor.principal.as_str()) else {
            return Err(PlatformError::Forbidden {
                user: actor.principal.to_string(),
                permission: "a user's session: API tokens cannot create tokens".to_owned(),
            });
        };
        if self.tokens(tenant)?.len() >= TOKENS_PER_TENANT_MAX {
            return Err(PlatformError::Conflict(format!(
                "tenant {tenant} has {TOKENS_PER_TENANT_MAX} tokens; revoke some first"
            )));
        }
        if !self.tenant_exists(tenant)? {
            return Err(PlatformError::NotFound(format!("tenant {tenant} does not exist")));
        }
        if roles.is_empty() || roles.len() > ROLES_PER_MEMBER_MAX {
            return Err(PlatformError::Invalid(format!(
                "a token needs 1 to {ROLES_PER_MEMBER_MAX} roles"
            )));
        }
        if !(1..=TOKEN_DAYS_MAX).contains(&days) {
            return Err(PlatformError::Invalid(format!(
                "expires_in_days must be 1 to {TOKEN_DAYS_MAX}"
            )));
        }
        let grantable = self.grantable_roles(tenant);
        if let Some(unknown) = roles.iter().find(|r| !grantable.contains(r)) {
            return Err(PlatformError::Invalid(format!(
                "role {unknown:?} cannot be granted in tenant {tenant}"
            )));
        }
        self.ensure_covers_roles(&actor.principal, tenant, roles).await?;
        self.check_sod(tenant, "the token", roles).await?;
        let expires_at = self.inner.host.now().seconds.saturating_add(i64::from(days) * 86_400);
        let origin = self.origin(actor, Some(tenant)).await;
        let (t, n, r) = (tenant.clone(), name.to_owned(), roles.to_vec());
        let (token, secret) = self
            .identity_write(move |identity| {
                identity.create_token(&origin, &t, &n, &r, expires_at, &created_by)
            })
            .await?;
        let principal = Principal::token(&token.id);
        for role in &token.roles {
            self.inner
                .authz
                .assign(principal.as_str(), role, Domain::Tenant(tenant))
                .await
                .map_err(internal)?;
        }
        Ok((token, secret))
    }

    /// A tenant's API tokens.
    pub fn tokens(&self, tenant: &TenantId) -> Result<Vec<ApiToken>, PlatformError> {
        self.identity().tokens(Some(tenant)).map_err(identity_error)
    }

    /// Revokes an API token at once.
    pub async fn revoke_token(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: &str,
    ) -> Result<(), PlatformError> {
        let _admin = self.inner.admin.lock().await;
        let origin = self.origin(actor, Some(tenant)).await;
        self.revoke_token_locked(&origin, tenant, id).await
    }

    async fn revoke_token_locked(
        &self,
        origin: &Origin,
        tenant: &TenantId,
        id: &str,
    ) -> Result<(), PlatformError> {
        let (origin, t, i) = (origin.clone(), tenant.clone(), id.to_owned());
        let revoked =
            self.identity_write(move |identity| identity.revoke_token(&origin, &t, &i)).await?;
        let Some(token) = revoked else {
            return Err(PlatformError::NotFound(format!(
                "token {id} does not exist in tenant {tenant}"
            )));
        };
        let principal = Principal::token(&token.id);
        for role in &token.roles {
            self.inner
                .authz
                .revoke(principal.as_str(), role, Domain::Tenant(tenant))
                .await
                .map_err(internal)?;
        }
        Ok(())
    }

    /// The members of a tenant and their roles.
    pub fn members(&self, tenant: &TenantId) -> Result<Vec<Membership>, PlatformError> {
        self.identity().memberships(Some(Some(tenant))).map_err(identity_error)
    }

    /// Installs a package: validated (manifest, component, world), compiled,
    /// and kept by digest. Returns the plugin and whether it was new.
    pub async fn install_package(
        &self,
        actor: &Actor,
        wasm: Vec<u8>,
    ) -> Result<(Arc<Plugin>, bool), PlatformError> {
        let host = self.inner.host.clone();
        let origin = self.origin(actor, None).await;
        let installed = tokio::task::spawn_blocking(move || host.install(&origin, &wasm))
            .await
            .map_err(internal)?;
        installed.map_err(|err| match err {
            LoadError::Duplicate { .. } => PlatformError::Conflict(err.to_string()),
            LoadError::Keep { .. } | LoadError::Unaudited(_) => {
                PlatformError::Internal(err.to_string())
            }
            other => PlatformError::Invalid(other.to_string()),
        })
    }

    /// Every installed package, by id then version.
    pub fn packages(&self) -> Vec<Arc<Plugin>> {
        self.inner.host.plugins()
    }

    /// One installed package.
    pub fn package(&self, plugin: &PluginId, version: &str) -> Result<Arc<Plugin>, PlatformError> {
        self.inner.host.package_version(plugin, version).ok_or_else(|| {
            PlatformError::NotFound(format!("package {plugin} {version} is not installed"))
        })
    }

    /// Enables `version` (default: newest) of `plugin` for `tenant`,
    /// running its migration; with `dry_run`, reports and changes nothing.
    pub async fn enable_plugin(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        plugin: &PluginId,
        version: Option<String>,
        dry_run: bool,
    ) -> Result<EnableReport, PlatformError> {
        let _admin = self.inner.admin.lock().await;
        // The version's roles must not give anyone what a segregation rule
        // forbids holding together.
        let target = match &version {
            Some(version) => self.inner.host.package_version(plugin, version),
            None => self.inner.host.latest(plugin),
        };
        if let Some(target) = &target {
            let redefined: Vec<keel_identity::TenantRole> = self
                .plugin_roles(tenant, Some(target))
                .into_iter()
                .map(|(id, permissions)| keel_identity::TenantRole {
                    tenant: tenant.clone(),
                    id,
                    permissions,
                })
                .collect();
            self.check_members_against(tenant, &redefined, None).await?;
        }
        let host = self.inner.host.clone();
        let (t, p) = (tenant.clone(), plugin.clone());
        let origin = self.origin(actor, Some(tenant)).await;
        let enabled = tokio::task::spawn_blocking(move || {
            host.enable_version(&origin, &t, &p, version.as_deref(), dry_run)
        })
        .await
        .map_err(internal)?;
        let report = enabled.map_err(|err| match err {
            EnableError::UnknownTenant(_) | EnableError::UnknownPlugin(_) => {
                PlatformError::NotFound(err.to_string())
            }
            EnableError::Downgrade { .. } | EnableError::MissingProvider { .. } => {
                PlatformError::Conflict(err.to_string())
            }
            EnableError::Storage(_) | EnableError::Corrupt { .. } => {
                PlatformError::Internal(err.to_string())
            }
            EnableError::Migrate { ref source, .. } => {
                kernel_failure(source).unwrap_or_else(|| PlatformError::Invalid(err.to_string()))
            }
            other => PlatformError::Invalid(other.to_string()),
        })?;
        if !report.dry_run {
            self.sync_plugin_roles(tenant).await?;
        }
        Ok(report)
    }

    /// Each domain interface with `tenant`'s provider of it, the enabled
    /// plugins that could provide it and those that require it.
    pub fn providers(&self, tenant: &TenantId) -> Result<Vec<ProviderChoice>, PlatformError> {
        self.tenant(tenant)?;
        Ok(self.inner.host.providers(tenant))
    }

    /// Makes `plugin` `tenant`'s provider of `interface`.
    pub async fn choose_provider(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        interface: &str,
        plugin: &PluginId,
    ) -> Result<ProviderChoice, PlatformError> {
        let _admin = self.inner.admin.lock().await;
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let host = self.inner.host.clone();
        let (t, i, p) = (tenant.clone(), interface.to_owned(), plugin.clone());
        let chosen = tokio::task::spawn_blocking(move || host.choose_provider(&origin, &t, &i, &p))
            .await
            .map_err(internal)?;
        chosen.map_err(|err| match err {
            ChooseError::UnknownInterface(_) | ChooseError::DoesNotProvide { .. } => {
                PlatformError::Invalid(err.to_string())
            }
            ChooseError::NotEnabled { .. } => PlatformError::Conflict(err.to_string()),
            other => internal(other),
        })?;
        let choices = self.inner.host.providers(tenant);
        choices
            .into_iter()
            .find(|c| c.interface == interface)
            .ok_or_else(|| internal(format!("{interface} vanished from the list of interfaces")))
    }

    /// `tenant`'s dead letters, oldest event first, after `after`.
    pub fn dead_letters(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, PlatformError> {
        self.tenant(tenant)?;
        self.inner.host.dead_letters(tenant, after, limit).map_err(|err| match err {
            ReplayError::NotFound(after) => {
                PlatformError::Invalid(format!("after: {after:?} does not name a dead letter"))
            }
            other => internal(other),
        })
    }

    /// One of `tenant`'s dead letters.
    pub fn dead_letter(&self, tenant: &TenantId, id: &str) -> Result<DeadLetter, PlatformError> {
        self.tenant(tenant)?;
        self.inner.host.dead_letter(tenant, id).map_err(internal)?.ok_or_else(|| {
            PlatformError::NotFound(format!("dead letter {id} does not exist in tenant {tenant}"))
        })
    }

    /// Delivers a dead letter again, now; it is gone if that succeeds.
    pub async fn replay(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: &str,
    ) -> Result<(), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let host = self.inner.host.clone();
        let (t, id) = (tenant.clone(), id.to_owned());
        let replayed = tokio::task::spawn_blocking(move || host.replay(&origin, &t, &id))
            .await
            .map_err(internal)?;
        replayed.map_err(|err| match err {
            ReplayError::NotFound(_) => PlatformError::NotFound(err.to_string()),
            ReplayError::NotEnabled(_) | ReplayError::NoWebhook(_) => {
                PlatformError::Conflict(err.to_string())
            }
            ReplayError::WebhookFailed(_) => PlatformError::Invalid(err.to_string()),
            ReplayError::Failed(ref source) => {
                kernel_failure(source).unwrap_or_else(|| PlatformError::Invalid(err.to_string()))
            }
            other => internal(other),
        })
    }

    /// `tenant`'s pending timers, by plugin and key: at most `limit`,
    /// after `<plugin>/<key>` if given.
    pub fn timers(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredTimer>, PlatformError> {
        self.tenant(tenant)?;
        self.inner.host.timers(tenant, after, limit).map_err(internal)
    }

    /// `tenant`'s dead timers: those whose attempts ran out.
    pub fn dead_timers(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredTimer>, PlatformError> {
        self.tenant(tenant)?;
        self.inner.host.dead_timers(tenant, after, limit).map_err(internal)
    }

    /// Sets `plugin`'s dead timer `key` going again, due now.
    pub async fn retry_dead_timer(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        plugin: &str,
        key: &str,
    ) -> Result<(), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let host = self.inner.host.clone();
        let (t, p, k) = (tenant.clone(), plugin.to_owned(), key.to_owned());
        let retried =
            tokio::task::spawn_blocking(move || host.retry_dead_timer(&origin, &t, &p, &k))
                .await
                .map_err(internal)?
                .map_err(internal)?;
        if retried {
            Ok(())
        } else {
            Err(PlatformError::NotFound(format!(
                "plugin {plugin} has no dead timer {key:?} in tenant {tenant}"
            )))
        }
    }

    /// `tenant`'s schedules, by plugin and id: at most `limit`, after
    /// `<plugin>/<id>` if given.
    pub fn schedules(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredSchedule>, PlatformError> {
        self.tenant(tenant)?;
        self.inner.host.schedules(tenant, after, limit).map_err(internal)
    }

    /// Runs `plugin`'s schedule `id` now, for its next slot.
    pub async fn run_schedule_now(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        plugin: &str,
        id: &str,
    ) -> Result<(), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let host = self.inner.host.clone();
        let (t, p, i) = (tenant.clone(), plugin.to_owned(), id.to_owned());
        let found = tokio::task::spawn_blocking(move || host.run_schedule_now(&origin, &t, &p, &i))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        if found {
            Ok(())
        } else {
            Err(PlatformError::NotFound(format!(
                "plugin {plugin} has no schedule {id:?} armed in tenant {tenant}; is the plugin enabled?"
            )))
        }
    }

    /// Stops `plugin` serving `tenant`, keeping its data.
    pub async fn disable_plugin(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        plugin: &PluginId,
    ) -> Result<(), PlatformError> {
        let _admin = self.inner.admin.lock().await;
        let origin = self.origin(actor, Some(tenant)).await;
        let (t, p) = (tenant.clone(), plugin.clone());
        let disabled =
            self.host_write(move |host| host.disable(&origin, &t, &p)).await?.map_err(|err| {
                match err {
                    EnableError::InUse { .. } => PlatformError::Conflict(err.to_string()),
                    other => internal(other),
                }
            })?;
        if disabled {
            return self.sync_plugin_roles(tenant).await;
        }
        Err(PlatformError::NotFound(format!("plugin {plugin} is not enabled for tenant {tenant}")))
    }
}

/// What a call that failed for the kernel's reasons (storage, a fault of
/// the kernel, no room to run it) answers, rather than the client's 422:
/// none where the plugin failed it.
fn kernel_failure(err: &CallError) -> Option<PlatformError> {
    match err {
        CallError::Storage(_) | CallError::Internal(_) => Some(internal(err)),
        CallError::Busy | CallError::GuestMemoryFull | CallError::TenantMemoryFull { .. } => {
            Some(PlatformError::Busy)
        }
        _ => None,
    }
}
