//! Jobs as their users and administrators reach them: whoever may call a
//! job's operation may read and cancel the job, and its steps run with
//! the permissions its caller holds when each step runs.

use std::sync::{Arc, Weak};

use keel_authz::Domain;
use keel_host::{Callers, Cancelled, Job, PermissionCheck};
use keel_types::{PluginId, TenantId};

use crate::access::CallerPermissions;
use crate::error::internal;
use crate::{Actor, Inner, Platform, PlatformError, Principal};

/// What job steps ask about their callers, answered by the platform while
/// it runs (the host holds this, so it holds the platform only weakly).
pub(crate) struct JobCallers(pub(crate) Weak<Inner>);

impl Callers for JobCallers {
    fn permissions_of(&self, caller: &str) -> Option<Arc<dyn PermissionCheck>> {
        let platform = Platform { inner: self.0.upgrade()? };
        let principal = Principal(caller.to_owned());
        Some(Arc::new(CallerPermissions { platform, principal }))
    }
}

impl Platform {
    /// `tenant`'s job `id`, for `principal`, who must hold the permission of
    /// the job's operation (or manage the tenant's plugins).
    pub async fn job_for(
        &self,
        principal: &Principal,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Job, PlatformError> {
        self.member_or_not_found(principal, tenant, id).await?;
        let job = self.job(tenant, id).await?;
        self.authorize_job(principal, tenant, &job).await?;
        Ok(job)
    }

    /// Cancels `tenant`'s job `id` for `actor`, who must hold the permission
    /// of the job's operation (or manage the tenant's plugins).
    pub async fn cancel_job_for(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Job, PlatformError> {
        self.member_or_not_found(&actor.principal, tenant, id).await?;
        let job = self.job(tenant, id).await?;
        self.authorize_job(&actor.principal, tenant, &job).await?;
        self.cancel_job(actor, tenant, id).await
    }

    /// Refuses with 404, as for a job that does not exist, unless
    /// `principal` holds a role in `tenant`: an outsider learns nothing of
    /// the tenant's jobs, or whether the tenant exists.
    async fn member_or_not_found(
        &self,
        principal: &Principal,
        tenant: &TenantId,
        id: &str,
    ) -> Result<(), PlatformError> {
        self.authorize_member(principal, tenant)
            .await
            .map(drop)
            .map_err(|_| PlatformError::NotFound(format!("tenant {tenant} has no job {id:?}")))
    }

    /// `tenant`'s job `id`, as its administrator sees it.
    pub async fn job(&self, tenant: &TenantId, id: &str) -> Result<Job, PlatformError> {
        self.tenant(tenant)?;
        let host = self.inner.host.clone();
        let (t, i) = (tenant.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || host.job(&t, &i))
            .await
            .map_err(internal)?
            .map_err(internal)?
            .ok_or_else(|| PlatformError::NotFound(format!("tenant {tenant} has no job {id:?}")))
    }

    /// `tenant`'s jobs, oldest first; only those not ended if `open`.
    pub async fn jobs(
        &self,
        tenant: &TenantId,
        open: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Job>, PlatformError> {
        self.tenant(tenant)?;
        let host = self.inner.host.clone();
        let (t, a) = (tenant.clone(), after.map(str::to_owned));
        tokio::task::spawn_blocking(move || host.jobs(&t, open, a.as_deref(), limit))
            .await
            .map_err(internal)?
            .map_err(internal)
    }

    /// Cancels `tenant`'s job `id` as `actor`; a conflict if it had ended.
    pub async fn cancel_job(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Job, PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let host = self.inner.host.clone();
        let (t, i) = (tenant.clone(), id.to_owned());
        let cancelled = tokio::task::spawn_blocking(move || host.cancel_job(&origin, &t, &i))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        match cancelled {
            Some(Cancelled::Now(job)) => Ok(job),
            Some(Cancelled::AlreadyEnded(job)) => Err(PlatformError::Conflict(format!(
                "job {id} has already ended ({}); there is nothing to cancel",
                job.state.as_str()
            ))),
            None => Err(PlatformError::NotFound(format!("tenant {tenant} has no job {id:?}"))),
        }
    }

    /// Refuses unless `principal` may call `job`'s operation in `tenant`,
    /// or manages the tenant's plugins.
    async fn authorize_job(
        &self,
        principal: &Principal,
        tenant: &TenantId,
        job: &Job,
    ) -> Result<(), PlatformError> {
        let host = &self.inner.host;
        let permission = PluginId::new(&job.plugin).ok().and_then(|id| {
            let plugin = host.enabled(tenant, &id).or_else(|| host.latest(&id))?;
            plugin.manifest().operation(&job.operation).map(|op| op.permission.clone())
        });
        let who = principal.as_str();
        let authz = &self.inner.authz;
        if let Some(permission) = &permission
            && authz.check(who, Domain::Tenant(tenant), permission).await
        {
            return Ok(());
        }
        self.authorize(principal, Domain::Tenant(tenant), crate::PLUGINS_MANAGE).await.map_err(
            |_| PlatformError::Forbidden {
                user: who.to_owned(),
                permission: permission.unwrap_or_else(|| crate::PLUGINS_MANAGE.to_owned()),
            },
        )
    }
}
