//! The kernel's services behind its HTTP API: who a caller is, what they
//! may do, and the administrative operations. Each operation validates its
//! input completely before changing anything, so a refused request changes
//! nothing; the gateway only maps HTTP to these calls.
//!
//! - [`Platform`] (here): starting the services, plugin roles, and running
//!   blocking work off the async workers;
//! - `sign_in`: signing in and out, second factors, telling who a token is;
//! - `access`: what a principal may do, in the platform, a tenant or a
//!   plugin call;
//! - `admin`: tenants, users, members, roles, tokens, packages, plugins;
//! - `imports`: the mappings of source systems' files kept per import;
//! - `reports`: custom report definitions, and runs of them;
//! - `policy`: tenant roles and segregation-of-duties rules;
//! - `audit`: reading, verifying and signing trails, and pruning;
//! - `backups`: making and listing backups;
//! - `principal` and `error`: who asks, and why they are refused.

mod access;
mod admin;
mod audit;
mod backups;
mod error;
mod imports;
mod jobs;
mod policy;
mod principal;
mod reports;
mod sign_in;
mod webhooks;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use keel_audit::Origin;
use keel_authz::{Authz, Domain};
use keel_host::Host;
use keel_identity::{Identity, IdentityError};
use keel_types::{TenantId, UserId};

pub use audit::Pruned;
pub use error::PlatformError;
pub use imports::MappingOf;
pub use principal::{Actor, Principal};
pub use reports::{ReportAsk, ScheduleOf};

use error::{identity_error, internal};
pub use keel_authz::{ADMIN, AUDITOR, Domain as Scope, PLATFORM_ADMIN};
pub use keel_host::{
    DeadLetter, EnableReport, Failing, ImportOutcome, ImportRun, Job, JobState, LastRun,
    NewWebhook, Plugin, ProviderChoice, StoredSchedule, StoredTimer, Webhook, WebhookChange,
    WebhookTopic,
};
pub use keel_identity::SodRule;
pub use keel_identity::{ApiToken, Membership, Session, TotpEnrolment, User, totp_code};
pub use policy::RoleInfo;
use principal::TOKEN_PREFIX;

/// Permission to read and verify a tenant's audit trail (auditors hold it).
pub const AUDIT_READ: &str = "keel.audit.read";
/// Permission to create and list tenants (platform domain).
pub const TENANTS_MANAGE: &str = "keel.tenants.manage";
/// Permission to create and list users (platform domain).
pub const USERS_MANAGE: &str = "keel.users.manage";
/// Permission to grant roles within a tenant.
pub const MEMBERS_MANAGE: &str = "keel.members.manage";
/// Permission to read a tenant's members.
pub const MEMBERS_READ: &str = "keel.members.read";
/// Permission to define a tenant's own roles and segregation-of-duties rules.
pub const ROLES_MANAGE: &str = "keel.roles.manage";
/// Permission to create, list and revoke a tenant's API tokens.
pub const TOKENS_MANAGE: &str = "keel.tokens.manage";
/// Permission to enable, upgrade and disable plugins for a tenant.
pub const PLUGINS_MANAGE: &str = "keel.plugins.manage";
/// Permission to subscribe outside endpoints to a tenant's events (webhooks).
pub const WEBHOOKS_MANAGE: &str = "keel.webhooks.manage";
/// Permission to define a tenant's custom reports (reading them takes the
/// permission of the source each reads).
pub const REPORTS_MANAGE: &str = keel_host::REPORTS_MANAGE;
/// Permission to make and list backups (platform domain).
pub const BACKUPS_MANAGE: &str = "keel.backups.manage";
/// Permission to install plugin packages (platform domain).
pub const PACKAGES_MANAGE: &str = "keel.packages.manage";
/// Permission to list and inspect plugin packages (platform domain).
pub const PACKAGES_READ: &str = "keel.packages.read";

/// The platform services. Cheap to clone.
#[derive(Clone)]
pub struct Platform {
    inner: Arc<Inner>,
}

struct Inner {
    host: Host,
    identity: Arc<Identity>,
    authz: Authz,
    /// Held across validate, store and apply of every admin change, so
    /// storage and the authorization state never drift apart and rules are
    /// checked against a state no one else is changing.
    admin: tokio::sync::Mutex<()>,
    /// Signs audit chain heads.
    signer: keel_audit::HeadSigner,
    /// Held while signing and keeping heads, so they are kept in order.
    signing: std::sync::Mutex<()>,
    /// The audit chains being verified now, one verification each.
    verifying: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The plugin role ids defined in each tenant, from the versions its
    /// plugins run, so that a role a plugin no longer declares is removed.
    plugin_roles: std::sync::Mutex<HashMap<TenantId, BTreeSet<String>>>,
    /// Held while a backup is made: one at a time.
    backing_up: std::sync::Mutex<()>,
}

impl Platform {
    /// Builds the authorization state from the plugins' roles and the stored
    /// memberships, and on a fresh data directory bootstraps the platform
    /// administrator. Returns the generated admin password, if one was made
    /// (to be shown once).
    pub async fn start(
        host: Host,
        identity: Identity,
        admin_password: Option<String>,
        signer: keel_audit::HeadSigner,
    ) -> Result<(Self, Option<String>), PlatformError> {
        let authz = Authz::new().await.map_err(internal)?;
        let identity = Arc::new(identity);
        let platform = Self {
            inner: Arc::new(Inner {
                host,
                identity,
                authz,
                admin: tokio::sync::Mutex::new(()),
                signer,
                signing: std::sync::Mutex::new(()),
                verifying: std::sync::Mutex::default(),
                plugin_roles: std::sync::Mutex::default(),
                backing_up: std::sync::Mutex::default(),
            }),
        };
        let callers = jobs::JobCallers(Arc::downgrade(&platform.inner));
        platform.inner.host.set_callers(Arc::new(callers));
        platform.define_plugin_roles().await?;
        platform.restore_tenant_roles().await?;
        let identity = Arc::clone(&platform.inner.identity);
        let generated = blocking(move || identity.bootstrap(admin_password.as_deref())).await?;
        let admin = UserId::new(keel_identity::BOOTSTRAP_ADMIN).map_err(internal)?;
        if platform.identity().memberships(Some(None)).map_err(identity_error)?.is_empty() {
            let origin = Origin::kernel(platform.inner.host.now().seconds);
            platform
                .identity()
                .set_roles(&origin, None, &admin, &[PLATFORM_ADMIN.to_owned()])
                .map_err(identity_error)?;
        }
        for membership in platform.identity().memberships(None).map_err(identity_error)? {
            let scope = membership.tenant.as_ref().map_or(Domain::Platform, Domain::Tenant);
            for role in &membership.roles {
                if let Err(err) =
                    platform.inner.authz.assign(membership.user.as_str(), role, scope).await
                {
                    tracing::warn!(user = %membership.user, role, error = %err, "stored role not restored");
                }
            }
        }
        for token in platform.identity().tokens(None).map_err(identity_error)? {
            let principal = Principal::token(&token.id);
            for role in &token.roles {
                let scope = Domain::Tenant(&token.tenant);
                if let Err(err) = platform.inner.authz.assign(principal.as_str(), role, scope).await
                {
                    tracing::warn!(token = %token.id, role, error = %err, "stored token role not restored");
                }
            }
        }
        Ok((platform, generated))
    }

    /// Declares in each tenant the roles of the plugin versions it runs.
    async fn define_plugin_roles(&self) -> Result<(), PlatformError> {
        for tenant in self.inner.host.tenants().map_err(internal)? {
            self.sync_plugin_roles(&tenant.id).await?;
        }
        Ok(())
    }

    /// The roles `tenant`'s enabled plugins declare, in the versions it
    /// runs, with `instead` in place of the enabled version of its plugin.
    /// Plugins declaring one role id share it: it grants what each declares.
    pub(crate) fn plugin_roles(
        &self,
        tenant: &TenantId,
        instead: Option<&keel_host::Plugin>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut plugins: Vec<Arc<keel_host::Plugin>> = self.inner.host.enabled_plugins(tenant);
        plugins.retain(|p| instead.is_none_or(|i| i.manifest().id != p.manifest().id));
        let manifests = plugins.iter().map(|p| p.manifest()).chain(instead.map(|i| i.manifest()));
        let mut roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for manifest in manifests {
            for role in &manifest.roles {
                roles.entry(role.id.clone()).or_default().extend(role.permissions.iter().cloned());
            }
        }
        for permissions in roles.values_mut() {
            permissions.sort();
            permissions.dedup();
        }
        roles
    }

    /// Makes `tenant`'s plugin roles grant what the versions it runs
    /// declare, and removes those no enabled plugin declares any more.
    pub(crate) async fn sync_plugin_roles(&self, tenant: &TenantId) -> Result<(), PlatformError> {
        let desired = self.plugin_roles(tenant, None);
        let own = self.own_role_ids(tenant)?;
        let previous = {
            let mut defined = self.inner.plugin_roles.lock().unwrap_or_else(|p| p.into_inner());
            let ids = desired.keys().filter(|id| !own.contains(*id)).cloned().collect();
            defined.insert(tenant.clone(), ids).unwrap_or_default()
        };
        for gone in previous.iter().filter(|id| !desired.contains_key(*id) && !own.contains(*id)) {
            self.inner.authz.replace_role(tenant, gone, &[]).await.map_err(internal)?;
        }
        for (id, permissions) in &desired {
            if own.contains(id) {
                tracing::warn!(%tenant, role = id, "a plugin role has the id of the tenant's own role; the tenant's stays");
                continue;
            }
            self.inner.authz.replace_role(tenant, id, permissions).await.map_err(internal)?;
        }
        Ok(())
    }

    /// The plugin host.
    pub fn host(&self) -> &Host {
        &self.inner.host
    }

    fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// How the audit trail names `actor` acting in `tenant` (or on the
    /// platform): with the roles it holds there and on the platform.
    pub(crate) async fn origin(&self, actor: &Actor, tenant: Option<&TenantId>) -> Origin {
        let who = actor.principal.as_str();
        let mut roles = match tenant {
            Some(tenant) => self.inner.authz.roles(who, Domain::Tenant(tenant)).await,
            None => Vec::new(),
        };
        roles.extend(self.inner.authz.roles(who, Domain::Platform).await);
        Origin {
            at: self.inner.host.now().seconds,
            actor: who.to_owned(),
            roles,
            request_id: actor.request_id.clone(),
            source: actor.source.clone(),
        }
    }

    /// Whether a tenant exists (an unknown tenant and a forbidden one look alike to outsiders).
    pub fn tenant_exists(&self, tenant: &TenantId) -> Result<bool, PlatformError> {
        Ok(self.inner.host.tenant(tenant).map_err(internal)?.is_some())
    }
}

impl Platform {
    /// Runs identity work that writes on the blocking pool. A write waits
    /// for its lane's turn (which a tenant's long plugin call may hold) and
    /// for its sync: never on an async worker, where two such waits would
    /// stop every connection of a two-core kernel.
    async fn identity_write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Identity) -> Result<T, IdentityError> + Send + 'static,
    ) -> Result<T, PlatformError> {
        let identity = Arc::clone(&self.inner.identity);
        blocking(move || work(&identity)).await
    }

    /// Runs host work that writes on the blocking pool, as
    /// [`Platform::identity_write`] does identity work.
    async fn host_write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Host) -> T + Send + 'static,
    ) -> Result<T, PlatformError> {
        let host = self.inner.host.clone();
        tokio::task::spawn_blocking(move || work(&host)).await.map_err(internal)
    }
}

/// Runs blocking identity work (password hashing) off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, IdentityError> + Send + 'static,
) -> Result<T, PlatformError> {
    tokio::task::spawn_blocking(work).await.map_err(internal)?.map_err(identity_error)
}
