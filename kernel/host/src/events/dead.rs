//! Dead letters: the events a subscriber kept failing, listed, read and
//! replayed by an administrator.

use keel_types::{PluginId, TenantId, action};

use super::webhooks::{stored_webhooks, subscriber, webhook_of};
use super::{StoredEvent, audit, dead_key, dead_prefix, decode, encode, event_key};
use crate::error::{CallError, ReplayError};
use crate::host::Host;

/// An event that could not be delivered to one subscriber.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeadLetter {
    /// `<event id>-<subscriber>`: what the admin API names it by.
    pub id: String,
    /// The event's id in its tenant's outbox.
    pub event: u64,
    /// The topic.
    pub topic: String,
    /// The publisher's key.
    pub key: String,
    /// The payload, JSON text.
    pub payload: String,
    /// The plugin that published it.
    pub publisher: String,
    /// The plugin it could not be delivered to.
    pub subscriber: String,
    /// Deliveries tried.
    pub attempts: u32,
    /// Why the last one failed.
    pub error: String,
    /// When it became a dead letter, Unix seconds.
    pub dead_at: i64,
}

impl Host {
    /// `tenant`'s dead letters, oldest event first: at most `limit`, after
    /// the letter `after` if given.
    pub fn dead_letters(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, ReplayError> {
        let storage = ReplayError::Storage;
        let read = self.inner.storage.read().map_err(storage)?;
        let after = match after {
            Some(id) => {
                Some(letter_key(tenant, id).ok_or_else(|| ReplayError::NotFound(id.to_owned()))?)
            }
            None => None,
        };
        let records =
            read.catalog_page(&dead_prefix(tenant), after.as_deref(), limit).map_err(storage)?;
        records.iter().map(|(_, bytes)| decode("dead letter", bytes).map_err(storage)).collect()
    }

    /// One of `tenant`'s dead letters, by id (`<event id>-<subscriber>`).
    pub fn dead_letter(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<DeadLetter>, CallError> {
        let storage = CallError::Storage;
        let Some(key) = letter_key(tenant, id) else { return Ok(None) };
        let read = self.inner.storage.read().map_err(storage)?;
        read.catalog_get(&key)
            .map_err(storage)?
            .map(|bytes| decode("dead letter", &bytes).map_err(storage))
            .transpose()
    }

    /// Delivers a dead letter once more, now, as `origin` (the
    /// administrator): on success it is gone; on failure it stays, with
    /// the new error.
    pub fn replay(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        id: &str,
    ) -> Result<(), ReplayError> {
        let storage = ReplayError::Storage;
        let letter = self
            .dead_letter(tenant, id)
            .map_err(|err| ReplayError::Internal(err.to_string()))?
            .ok_or_else(|| ReplayError::NotFound(id.to_owned()))?;
        let webhook = webhook_of(&letter.subscriber);
        let plugin = PluginId::new(&letter.subscriber).ok().and_then(|p| self.enabled(tenant, &p));
        if webhook.is_none() && plugin.is_none() {
            return Err(ReplayError::NotEnabled(letter.subscriber));
        }
        let event = {
            let read = self.inner.storage.read().map_err(storage)?;
            let bytes = read
                .catalog_get(&event_key(tenant, &letter.topic, letter.event))
                .map_err(storage)?
                .ok_or_else(|| {
                    ReplayError::Internal(format!("event {} is missing", letter.event))
                })?;
            decode::<StoredEvent>("event", &bytes).map_err(storage)?
        };
        let attempt = letter.attempts.saturating_add(1);
        let delivered = match (plugin, webhook) {
            (Some(plugin), _) => self
                .deliver(tenant, &plugin, &event, attempt, Some(origin.clone()))
                .map_err(ReplayError::Failed),
            (None, Some(id)) => self.replay_webhook(origin, tenant, id, &event, attempt),
            (None, None) => Err(ReplayError::NotEnabled(letter.subscriber.clone())),
        };
        match delivered {
            Ok(()) => Ok(()),
            Err(err @ (ReplayError::Failed(_) | ReplayError::WebhookFailed(_))) => {
                let mut txn = self
                    .inner
                    .storage
                    .write(&[keel_storage::Lane::Tenant(tenant.clone())])
                    .map_err(storage)?;
                let error = match &err {
                    ReplayError::Failed(source) => source.to_string(),
                    ReplayError::WebhookFailed(source) => source.clone(),
                    other => other.to_string(),
                };
                let failed = DeadLetter { attempts: attempt, error, ..letter };
                txn.catalog_put(
                    &dead_key(tenant, failed.event, &failed.subscriber),
                    &encode(&failed).map_err(storage)?,
                )
                .map_err(storage)?;
                let detail = format!("dead letter {id}: replay failed: {err}");
                audit(
                    &mut txn,
                    origin,
                    tenant,
                    &failed.subscriber,
                    action::EVENT_REPLAY_FAILED,
                    detail,
                )
                .map_err(storage)?;
                txn.commit().map_err(storage)?;
                Err(err)
            }
            Err(other) => Err(other),
        }
    }

    /// Posts a webhook's dead letter once more; on success the letter goes.
    fn replay_webhook(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        id: u64,
        event: &StoredEvent,
        attempt: u32,
    ) -> Result<(), ReplayError> {
        let storage = ReplayError::Storage;
        let outbound = self.outbound().ok_or_else(|| {
            ReplayError::NoWebhook("this kernel was started without webhook delivery".to_owned())
        })?;
        let hook = {
            let read = self.inner.storage.read().map_err(storage)?;
            stored_webhooks(&read, tenant)
                .map_err(storage)?
                .into_iter()
                .find(|h| h.webhook.id == id)
        };
        let hook = hook.ok_or_else(|| {
            ReplayError::NoWebhook(format!(
                "webhook {id} was deleted; its dead letters can be read but not replayed"
            ))
        })?;
        self.post_webhook(outbound.as_ref(), tenant, &hook, event, attempt)
            .map_err(ReplayError::WebhookFailed)?;
        // A replay removes its dead letter whatever became of the webhook.
        self.webhook_delivered(tenant, &subscriber(id), event, attempt, Some(origin))
            .map(drop)
            .map_err(storage)
    }
}

/// The catalog key of the dead letter `<event id>-<subscriber>`.
fn letter_key(tenant: &TenantId, id: &str) -> Option<String> {
    let (event, subscriber) = id.split_once('-')?;
    let event: u64 = event.parse().ok()?;
    if let Some(id) = webhook_of(subscriber) {
        return Some(dead_key(tenant, event, &super::webhooks::subscriber(id)));
    }
    let subscriber = PluginId::new(subscriber).ok()?;
    Some(dead_key(tenant, event, subscriber.as_str()))
}
