//! A tenant's webhooks, for its administrators: each change audited in
//! the tenant's chain, the host's blocking work off the async workers.

use keel_host::{NewWebhook, Webhook, WebhookChange, WebhookError, WebhookTopic};
use keel_types::TenantId;

use crate::error::internal;
use crate::{Actor, Platform, PlatformError};

fn webhook_error(tenant: &TenantId, err: WebhookError) -> PlatformError {
    match err {
        WebhookError::NotFound(id) => {
            PlatformError::NotFound(format!("webhook {id} does not exist in tenant {tenant}"))
        }
        WebhookError::Invalid(_) => PlatformError::Invalid(err.to_string()),
        WebhookError::Full => PlatformError::Conflict(err.to_string()),
        other => internal(other),
    }
}

impl Platform {
    /// `tenant`'s webhooks, by id.
    pub async fn webhooks(&self, tenant: &TenantId) -> Result<Vec<Webhook>, PlatformError> {
        self.tenant(tenant)?;
        let t = tenant.clone();
        self.host_write(move |host| host.webhooks(&t)).await?.map_err(internal)
    }

    /// One of `tenant`'s webhooks, with how far each topic is delivered.
    pub async fn webhook(
        &self,
        tenant: &TenantId,
        id: u64,
    ) -> Result<(Webhook, Vec<WebhookTopic>), PlatformError> {
        self.tenant(tenant)?;
        let t = tenant.clone();
        let found = self.host_write(move |host| host.webhook(&t, id)).await?.map_err(internal)?;
        found.ok_or_else(|| {
            PlatformError::NotFound(format!("webhook {id} does not exist in tenant {tenant}"))
        })
    }

    /// Subscribes an endpoint to topics of `tenant`; answers the webhook
    /// and its secret, shown only now.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        new: NewWebhook,
    ) -> Result<(Webhook, String), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let t = tenant.clone();
        self.host_write(move |host| host.create_webhook(&origin, &t, new))
            .await?
            .map_err(|err| webhook_error(tenant, err))
    }

    /// Changes one of `tenant`'s webhooks.
    pub async fn update_webhook(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: u64,
        change: WebhookChange,
    ) -> Result<Webhook, PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let t = tenant.clone();
        self.host_write(move |host| host.update_webhook(&origin, &t, id, change))
            .await?
            .map_err(|err| webhook_error(tenant, err))
    }

    /// Gives one of `tenant`'s webhooks a new secret, shown only now.
    pub async fn rotate_webhook_secret(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: u64,
    ) -> Result<(Webhook, String), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let t = tenant.clone();
        self.host_write(move |host| host.rotate_webhook_secret(&origin, &t, id))
            .await?
            .map_err(|err| webhook_error(tenant, err))
    }

    /// Deletes one of `tenant`'s webhooks.
    pub async fn delete_webhook(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: u64,
    ) -> Result<(), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let t = tenant.clone();
        self.host_write(move |host| host.delete_webhook(&origin, &t, id))
            .await?
            .map_err(|err| webhook_error(tenant, err))
    }
}
