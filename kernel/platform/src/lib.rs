//! The kernel's services behind its HTTP API: who a caller is, what they
//! may do, and the administrative operations. Each operation validates its
//! input completely before changing anything, so a refused request changes
//! nothing; the gateway only maps HTTP to these calls.

mod admin;
mod audit;
mod policy;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use keel_audit::Origin;
use keel_authz::{Authz, Domain};
use keel_host::{Host, PermissionCheck};
use keel_identity::{Identity, IdentityError, Session};
use keel_types::{TenantId, UserId};

pub use audit::Pruned;
pub use keel_authz::{ADMIN, AUDITOR, Domain as Scope, PLATFORM_ADMIN};
pub use keel_host::{DeadLetter, EnableReport, Plugin, ProviderChoice};
pub use keel_identity::SodRule;
pub use keel_identity::{ApiToken, Membership, TotpEnrolment, User, totp_code};
pub use policy::RoleInfo;

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
/// Permission to install plugin packages (platform domain).
pub const PACKAGES_MANAGE: &str = "keel.packages.manage";
/// Permission to list and inspect plugin packages (platform domain).
pub const PACKAGES_READ: &str = "keel.packages.read";

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

/// Who is making a request: a user (`alice`) or an API token (`token:<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(String);

/// What a token's principal starts with: `token:<id>`.
const TOKEN_PREFIX: &str = "token:";

impl Principal {
    /// The principal's name, as authorization and plugins see it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn token(id: &str) -> Self {
        Self(format!("{TOKEN_PREFIX}{id}"))
    }
}

/// An authenticated principal and where its request came from: what the
/// audit trail records of each change it makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Who.
    pub principal: Principal,
    /// The request's id.
    pub request_id: Option<String>,
    /// The client's address.
    pub source: Option<String>,
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

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
            }),
        };
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

    /// Checks a password (and a one-time code, once enrolled) and opens a session.
    pub async fn login(
        &self,
        user: String,
        password: String,
        totp: Option<String>,
        source: String,
        request_id: Option<String>,
    ) -> Result<Session, PlatformError> {
        let identity = Arc::clone(&self.inner.identity);
        blocking(move || {
            identity.login(&user, &password, totp.as_deref(), &source, request_id.as_deref())
        })
        .await
    }

    /// Starts enrolling the actor's user in TOTP (API tokens cannot).
    pub async fn totp_enrol(&self, actor: &Actor) -> Result<TotpEnrolment, PlatformError> {
        let user = self.user_of(&actor.principal)?;
        let origin = self.origin(actor, None).await;
        self.identity_write(move |identity| identity.totp_enrol(&origin, &user)).await
    }

    /// Confirms enrolment with a first code.
    pub async fn totp_confirm(&self, actor: &Actor, code: &str) -> Result<(), PlatformError> {
        let user = self.user_of(&actor.principal)?;
        let origin = self.origin(actor, None).await;
        let code = code.to_owned();
        self.identity_write(move |identity| identity.totp_confirm(&origin, &user, &code)).await
    }

    fn user_of(&self, principal: &Principal) -> Result<UserId, PlatformError> {
        UserId::new(principal.as_str()).map_err(|_| {
            PlatformError::Invalid("only users, not API tokens, have a second factor".to_owned())
        })
    }

    /// Closes a session; `request` carries the request id and address
    /// for the audit record (the actor is the session's user).
    pub async fn logout(&self, token: &str, request: &Actor) -> Result<bool, PlatformError> {
        let origin = Origin {
            at: self.inner.host.now().seconds,
            actor: request.principal.to_string(),
            roles: Vec::new(),
            request_id: request.request_id.clone(),
            source: request.source.clone(),
        };
        let token = token.to_owned();
        let closed = self.identity_write(move |identity| identity.logout(&origin, &token)).await?;
        Ok(closed.is_some())
    }

    /// The principal behind a bearer token: a login session or an API token.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Principal, PlatformError> {
        let Some(token) = token else { return Err(PlatformError::Unauthenticated) };
        if let Some(user) = self.identity().authenticate(token).map_err(identity_error)? {
            return Ok(Principal(user.to_string()));
        }
        match self.identity().authenticate_token(token).map_err(identity_error)? {
            Some(api_token) => Ok(Principal::token(&api_token.id)),
            None => Err(PlatformError::Unauthenticated),
        }
    }

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

    /// Whether a tenant exists (an unknown tenant and a forbidden one look alike to outsiders).
    pub fn tenant_exists(&self, tenant: &TenantId) -> Result<bool, PlatformError> {
        Ok(self.inner.host.tenant(tenant).map_err(internal)?.is_some())
    }
}

/// Answers a plugin's `has-permission` for one caller, from a plugin call's
/// blocking thread.
struct CallerPermissions {
    platform: Platform,
    principal: Principal,
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

fn identity_error(err: IdentityError) -> PlatformError {
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

fn internal(err: impl std::fmt::Display) -> PlatformError {
    PlatformError::Internal(err.to_string())
}
