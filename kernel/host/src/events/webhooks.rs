//! Webhooks: a tenant's subscriptions of outside endpoints to its event
//! topics. Each is one more consumer of the outbox, beside the plugins that
//! subscribe: it has a cursor per topic (so each topic reaches it in
//! order), retries and dead letters, all under the subscriber name
//! `webhook.<id>`, which no plugin id can take (plugin ids have no dot).
//!
//! The host keeps the subscriptions and their delivery state; an
//! [`Outbound`] (the `keel-webhooks` crate) owns the network: the
//! operator's policy on where deliveries may go, the HTTP client, and the
//! key that seals each subscription's signing secret.
//!
//! Kernel catalog records, per tenant: `webhook/<tenant>/<id>` (ids
//! zero-padded, from a sequence in the tenant's kernel namespace), each
//! with its secret sealed. Every change is audited in the tenant's chain.

use std::collections::HashMap;
use std::sync::Arc;

use keel_storage::{ReadTxn, WriteTxn};
use keel_types::{TenantId, action};

use super::{Retry, audit, cursor_key, decode, encode, kernel_ns, retry_key};
use crate::host::Host;

/// Most webhooks a tenant may have.
pub const WEBHOOKS_MAX: usize = 64;
/// Most topics one webhook may subscribe to.
pub const WEBHOOK_TOPICS_MAX: usize = 64;
/// Longest endpoint URL, in bytes.
pub const WEBHOOK_URL_BYTES_MAX: usize = 2048;
/// Longest description, in bytes.
pub const WEBHOOK_DESCRIPTION_BYTES_MAX: usize = 256;

/// What delivers webhooks, outside the host: see the module's notes.
pub trait Outbound: Send + Sync {
    /// Refuses an endpoint the operator's policy does not allow (its
    /// scheme, its host, or an address the host resolves to), saying why.
    /// Blocking: it resolves the host.
    fn check(&self, url: &str) -> Result<(), String>;

    /// A fresh signing secret: as shown to the administrator, once, and
    /// sealed for `context`, to store.
    fn new_secret(&self, context: &str) -> Result<(String, String), String>;

    /// Posts one delivery, signed with the secret it carries sealed,
    /// within the policy and its bounds on time and size; an error says
    /// why it failed (the endpoint's answer, or what refused it). Blocking.
    fn post(&self, post: &Post<'_>) -> Result<(), String>;
}

/// One delivery of an event to a webhook.
#[derive(Debug)]
pub struct Post<'a> {
    /// Where to.
    pub url: &'a str,
    /// The webhook's secret, as stored (sealed).
    pub sealed_secret: &'a str,
    /// What it was sealed for.
    pub context: &'a str,
    /// The webhook's id.
    pub webhook: u64,
    /// The event's id across tenants, `<tenant>:<id>`: the same on every
    /// attempt, so that the receiver can tell a delivery it already has.
    pub event_id: &'a str,
    /// The event's topic.
    pub topic: &'a str,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// When it is sent, Unix seconds: the signed timestamp.
    pub timestamp: i64,
    /// The JSON body, the same on every attempt.
    pub body: &'a [u8],
}

/// A webhook as shown: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Webhook {
    /// Its id in the tenant.
    pub id: u64,
    /// The endpoint deliveries are posted to.
    pub url: String,
    /// The event topics it receives.
    pub topics: Vec<String>,
    /// What it is for.
    pub description: String,
    /// Whether deliveries run; a paused webhook's events wait for it.
    pub active: bool,
    /// Who created it.
    pub created_by: String,
    /// When, Unix seconds.
    pub created_at: i64,
    /// When it last changed (its secret included), Unix seconds.
    pub updated_at: i64,
}

impl Webhook {
    /// Its name as a consumer of the outbox: in cursors, retries and dead
    /// letters.
    pub(crate) fn subscriber(&self) -> String {
        subscriber(self.id)
    }
}

/// A webhook's delivery of one topic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebhookTopic {
    /// The topic.
    pub topic: String,
    /// The last event id it has (or that became a dead letter).
    pub delivered_through: u64,
    /// The event that keeps failing, if one does.
    pub failing: Option<Failing>,
}

/// A delivery that keeps failing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failing {
    /// The event's id.
    pub event: u64,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next is due, Unix milliseconds.
    pub next_at_ms: i64,
    /// Why the last failed.
    pub error: String,
}

/// A new webhook, as an administrator asks for it.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// The endpoint.
    pub url: String,
    /// The topics.
    pub topics: Vec<String>,
    /// What it is for.
    pub description: String,
}

/// A change to a webhook: what is given changes.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    /// A new endpoint.
    pub url: Option<String>,
    /// The new set of topics; one added receives events published from now.
    pub topics: Option<Vec<String>>,
    /// A new description.
    pub description: Option<String>,
    /// Pause (false) or resume (true) its deliveries.
    pub active: Option<bool>,
}

/// Why a webhook could not be changed. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No such webhook.
    #[error("webhook {0} does not exist")]
    NotFound(u64),
    /// The request breaks a rule, or the policy refuses the endpoint.
    #[error("{0}")]
    Invalid(String),
    /// The tenant has as many webhooks as it may.
    #[error("a tenant has at most {WEBHOOKS_MAX} webhooks; delete one first")]
    Full,
    /// This kernel delivers no webhooks.
    #[error("this kernel was started without webhook delivery")]
    Unavailable,
    /// A secret could not be made or sealed.
    #[error("{0}")]
    Secret(String),
    /// Storage failed.
    #[error("storage failed: {0}")]
    Storage(#[from] keel_storage::Error),
}

/// A webhook as stored: with its secret, sealed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredWebhook {
    #[serde(flatten)]
    pub(crate) webhook: Webhook,
    /// Sealed for [`secret_context`].
    pub(crate) secret: String,
}

fn webhook_prefix(tenant: &TenantId) -> String {
    format!("webhook/{tenant}/")
}

fn webhook_key(tenant: &TenantId, id: u64) -> String {
    format!("webhook/{tenant}/{id:020}")
}

/// What a webhook's secret is sealed for: it opens for no other.
pub(crate) fn secret_context(tenant: &TenantId, id: u64) -> String {
    format!("webhook/{tenant}/{id}")
}

/// The outbox subscriber name of webhook `id`.
pub(crate) fn subscriber(id: u64) -> String {
    format!("webhook.{id}")
}

/// The webhook id in a subscriber name, if it names one.
pub(crate) fn webhook_of(subscriber: &str) -> Option<u64> {
    subscriber.strip_prefix("webhook.")?.parse().ok()
}

/// Every webhook of `tenant`, by id.
pub(crate) fn stored_webhooks(
    read: &ReadTxn,
    tenant: &TenantId,
) -> keel_storage::Result<Vec<StoredWebhook>> {
    let records = read.catalog_scan(&webhook_prefix(tenant))?;
    records.iter().map(|(_, bytes)| decode("webhook", bytes)).collect()
}

fn stored_webhook(
    txn: &WriteTxn,
    tenant: &TenantId,
    id: u64,
) -> Result<StoredWebhook, WebhookError> {
    let bytes = txn.catalog_get(&webhook_key(tenant, id))?.ok_or(WebhookError::NotFound(id))?;
    Ok(decode("webhook", &bytes)?)
}

/// The catalog key of the webhook `subscriber` names, if it names one.
pub(super) fn record_key(tenant: &TenantId, subscriber: &str) -> Option<String> {
    webhook_of(subscriber).map(|id| webhook_key(tenant, id))
}

/// Whether a webhook, as stored (`record`, read at the key
/// [`record_key`] gives), still receives `topic`: it may have been
/// deleted, or lost the topic, since a delivery started.
pub(super) fn receives(record: Option<Vec<u8>>, topic: &str) -> keel_storage::Result<bool> {
    Ok(receiving(record, topic)?.is_some())
}

/// The webhook as stored (`record`), if it still receives `topic`.
pub(super) fn receiving(
    record: Option<Vec<u8>>,
    topic: &str,
) -> keel_storage::Result<Option<StoredWebhook>> {
    let Some(bytes) = record else { return Ok(None) };
    let stored: StoredWebhook = decode("webhook", &bytes)?;
    Ok(stored.webhook.topics.iter().any(|t| t == topic).then_some(stored))
}

/// Checks a webhook's fields; the policy checks its URL after.
fn check(url: &str, topics: &[String], description: &str) -> Result<(), WebhookError> {
    let invalid = |message: String| Err(WebhookError::Invalid(message));
    if url.is_empty() || url.len() > WEBHOOK_URL_BYTES_MAX {
        return invalid(format!("url: an endpoint URL is 1 to {WEBHOOK_URL_BYTES_MAX} bytes"));
    }
    if topics.is_empty() || topics.len() > WEBHOOK_TOPICS_MAX {
        return invalid(format!("topics: a webhook receives 1 to {WEBHOOK_TOPICS_MAX} topics"));
    }
    for (i, topic) in topics.iter().enumerate() {
        if let Err(err) = keel_manifest::check_topic(topic) {
            return invalid(format!("topics[{i}]: {topic:?}: {err}"));
        }
        if topics[..i].contains(topic) {
            return invalid(format!("topics[{i}]: {topic:?} is listed twice"));
        }
    }
    if description.len() > WEBHOOK_DESCRIPTION_BYTES_MAX {
        return invalid(format!(
            "description: at most {WEBHOOK_DESCRIPTION_BYTES_MAX} bytes, not {}",
            description.len()
        ));
    }
    Ok(())
}

impl Host {
    /// Delivers webhooks through `outbound`; without one, none are
    /// created or delivered.
    pub fn set_outbound(&self, outbound: Arc<dyn Outbound>) {
        *self.inner.outbound.write().unwrap_or_else(|p| p.into_inner()) = Some(outbound);
    }

    pub(crate) fn outbound(&self) -> Option<Arc<dyn Outbound>> {
        self.inner.outbound.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads every tenant's webhooks into the dispatcher's view: at start.
    pub(crate) fn load_webhooks(&self) -> keel_storage::Result<()> {
        let tenants =
            self.tenants().map_err(|err| keel_storage::Error::Backend(err.to_string()))?;
        let read = self.inner.storage.read()?;
        let mut all = HashMap::new();
        for tenant in tenants {
            let hooks = stored_webhooks(&read, &tenant.id)?;
            if !hooks.is_empty() {
                all.insert(tenant.id, hooks.into_iter().map(Arc::new).collect());
            }
        }
        *self.inner.webhooks.write().unwrap_or_else(|p| p.into_inner()) = all;
        Ok(())
    }

    /// The dispatcher's view of `tenant`'s webhooks, after a change.
    fn reload_webhooks(&self, tenant: &TenantId) -> keel_storage::Result<()> {
        let hooks = stored_webhooks(&self.inner.storage.read()?, tenant)?;
        let mut all = self.inner.webhooks.write().unwrap_or_else(|p| p.into_inner());
        if hooks.is_empty() {
            all.remove(tenant);
        } else {
            all.insert(tenant.clone(), hooks.into_iter().map(Arc::new).collect());
        }
        drop(all);
        // A webhook resumed, or a topic added, may have events waiting.
        self.inner.dispatcher.notify(tenant);
        Ok(())
    }

    /// Whether any tenant has a webhook (whose secret needs the secrets
    /// key). Blocking.
    pub fn holds_webhooks(&self) -> keel_storage::Result<bool> {
        Ok(!self.inner.storage.read()?.catalog_page("webhook/", None, 1)?.is_empty())
    }

    /// `tenant`'s webhooks, by id. Blocking.
    pub fn webhooks(&self, tenant: &TenantId) -> keel_storage::Result<Vec<Webhook>> {
        let read = self.inner.storage.read()?;
        Ok(stored_webhooks(&read, tenant)?.into_iter().map(|s| s.webhook).collect())
    }

    /// One of `tenant`'s webhooks, with how far each topic is delivered.
    /// Blocking.
    pub fn webhook(
        &self,
        tenant: &TenantId,
        id: u64,
    ) -> keel_storage::Result<Option<(Webhook, Vec<WebhookTopic>)>> {
        let read = self.inner.storage.read()?;
        let Some(bytes) = read.catalog_get(&webhook_key(tenant, id))? else { return Ok(None) };
        let webhook = decode::<StoredWebhook>("webhook", &bytes)?.webhook;
        let subscriber = webhook.subscriber();
        let mut topics = Vec::with_capacity(webhook.topics.len());
        for topic in &webhook.topics {
            let failing = read
                .catalog_get(&retry_key(tenant, &subscriber, topic))?
                .map(|bytes| decode::<Retry>("retry", &bytes))
                .transpose()?
                .map(|retry| Failing {
                    event: retry.event,
                    attempts: retry.attempts,
                    next_at_ms: retry.next_at_ms,
                    error: retry.error,
                });
            topics.push(WebhookTopic {
                topic: topic.clone(),
                delivered_through: super::cursor(&read, tenant, &subscriber, topic)?,
                failing,
            });
        }
        Ok(Some((webhook, topics)))
    }

    /// Subscribes `new.url` to `new.topics` in `tenant`, as `origin`, audited
    /// as `webhook.create`; answers the webhook and its secret, which is
    /// shown only now. It receives the events published from now on.
    /// Blocking.
    pub fn create_webhook(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        new: NewWebhook,
    ) -> Result<(Webhook, String), WebhookError> {
        let outbound = self.outbound().ok_or(WebhookError::Unavailable)?;
        check(&new.url, &new.topics, &new.description)?;
        outbound.check(&new.url).map_err(|err| WebhookError::Invalid(format!("url: {err}")))?;
        let mut txn = self.inner.storage.write(&[keel_storage::Lane::Tenant(tenant.clone())])?;
        if txn.catalog_page(&webhook_prefix(tenant), None, WEBHOOKS_MAX)?.len() >= WEBHOOKS_MAX {
            return Err(WebhookError::Full);
        }
        let id = txn.next_sequence(&kernel_ns(tenant)?, "webhooks")?;
        let (secret, sealed) =
            outbound.new_secret(&secret_context(tenant, id)).map_err(WebhookError::Secret)?;
        let webhook = Webhook {
            id,
            url: new.url,
            topics: new.topics,
            description: new.description,
            active: true,
            created_by: origin.actor.clone(),
            created_at: origin.at,
            updated_at: origin.at,
        };
        start_cursors(&mut txn, tenant, &webhook.subscriber(), &webhook.topics)?;
        let stored = StoredWebhook { webhook: webhook.clone(), secret: sealed };
        txn.catalog_put(&webhook_key(tenant, id), &encode(&stored)?)?;
        let detail = format!("webhook {id} to {} for {}", webhook.url, webhook.topics.join(", "));
        audit(&mut txn, origin, tenant, "kernel", action::WEBHOOK_CREATE, detail)?;
        txn.commit()?;
        self.reload_webhooks(tenant)?;
        Ok((webhook, secret))
    }

    /// Changes webhook `id` of `tenant` as `change` says, audited as
    /// `webhook.update`. Blocking.
    pub fn update_webhook(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        id: u64,
        change: WebhookChange,
    ) -> Result<Webhook, WebhookError> {
        let outbound = self.outbound().ok_or(WebhookError::Unavailable)?;
        let before = {
            let read = self.inner.storage.read()?;
            let bytes = read.catalog_get(&webhook_key(tenant, id))?;
            decode::<StoredWebhook>("webhook", &bytes.ok_or(WebhookError::NotFound(id))?)?
        };
        let mut after = before.webhook.clone();
        let mut what = Vec::new();
        if let Some(url) = change.url.filter(|url| *url != after.url) {
            what.push(format!("url {} (was {})", url, after.url));
            after.url = url;
        }
        if let Some(topics) = change.topics.filter(|topics| *topics != after.topics) {
            what.push(format!("topics {} (were {})", topics.join(", "), after.topics.join(", ")));
            after.topics = topics;
        }
        if let Some(description) = change.description.filter(|d| *d != after.description) {
            what.push(format!("description {description:?}"));
            after.description = description;
        }
        if let Some(active) = change.active.filter(|active| *active != after.active) {
            what.push(if active { "resumed" } else { "paused" }.to_owned());
            after.active = active;
        }
        check(&after.url, &after.topics, &after.description)?;
        if after.url != before.webhook.url {
            outbound
                .check(&after.url)
                .map_err(|err| WebhookError::Invalid(format!("url: {err}")))?;
        }
        if what.is_empty() {
            return Ok(after);
        }
        let mut txn = self.inner.storage.write(&[keel_storage::Lane::Tenant(tenant.clone())])?;
        let stored = stored_webhook(&txn, tenant, id)?;
        if stored.webhook != before.webhook {
            return Err(WebhookError::Invalid(format!(
                "webhook {id} changed while this change was checked; read it and try again"
            )));
        }
        let subscriber = after.subscriber();
        let added: Vec<String> =
            after.topics.iter().filter(|t| !before.webhook.topics.contains(t)).cloned().collect();
        start_cursors(&mut txn, tenant, &subscriber, &added)?;
        for topic in before.webhook.topics.iter().filter(|t| !after.topics.contains(t)) {
            txn.catalog_remove(&cursor_key(tenant, &subscriber, topic))?;
            txn.catalog_remove(&retry_key(tenant, &subscriber, topic))?;
        }
        after.updated_at = origin.at;
        let stored = StoredWebhook { webhook: after.clone(), secret: stored.secret };
        txn.catalog_put(&webhook_key(tenant, id), &encode(&stored)?)?;
        let detail = format!("webhook {id}: {}", what.join("; "));
        audit(&mut txn, origin, tenant, "kernel", action::WEBHOOK_UPDATE, detail)?;
        txn.commit()?;
        self.reload_webhooks(tenant)?;
        Ok(after)
    }

    /// Gives webhook `id` a new secret, shown only now; deliveries are
    /// signed with it from now on. Audited as `webhook.rotate-secret`.
    /// Blocking.
    pub fn rotate_webhook_secret(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        id: u64,
    ) -> Result<(Webhook, String), WebhookError> {
        let outbound = self.outbound().ok_or(WebhookError::Unavailable)?;
        let mut txn = self.inner.storage.write(&[keel_storage::Lane::Tenant(tenant.clone())])?;
        let mut stored = stored_webhook(&txn, tenant, id)?;
        let (secret, sealed) =
            outbound.new_secret(&secret_context(tenant, id)).map_err(WebhookError::Secret)?;
        stored.secret = sealed;
        stored.webhook.updated_at = origin.at;
        txn.catalog_put(&webhook_key(tenant, id), &encode(&stored)?)?;
        let detail = format!("webhook {id}: a new secret");
        audit(&mut txn, origin, tenant, "kernel", action::WEBHOOK_ROTATE_SECRET, detail)?;
        txn.commit()?;
        self.reload_webhooks(tenant)?;
        Ok((stored.webhook, secret))
    }

    /// Deletes webhook `id` of `tenant` with its cursors and retries (its
    /// dead letters stay, to read; they can no longer be replayed), audited
    /// as `webhook.delete`. Blocking.
    pub fn delete_webhook(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        id: u64,
    ) -> Result<(), WebhookError> {
        let mut txn = self.inner.storage.write(&[keel_storage::Lane::Tenant(tenant.clone())])?;
        let stored = stored_webhook(&txn, tenant, id)?;
        let subscriber = stored.webhook.subscriber();
        for topic in &stored.webhook.topics {
            txn.catalog_remove(&cursor_key(tenant, &subscriber, topic))?;
            txn.catalog_remove(&retry_key(tenant, &subscriber, topic))?;
        }
        txn.catalog_remove(&webhook_key(tenant, id))?;
        let detail = format!("webhook {id} to {}", stored.webhook.url);
        audit(&mut txn, origin, tenant, "kernel", action::WEBHOOK_DELETE, detail)?;
        txn.commit()?;
        self.reload_webhooks(tenant)?;
        Ok(())
    }
}

/// Starts `subscriber`'s cursors of `topics` at the last event published
/// so far, so that it receives what is published from now on, not the
/// outbox's history.
fn start_cursors(
    txn: &mut WriteTxn,
    tenant: &TenantId,
    subscriber: &str,
    topics: &[String],
) -> keel_storage::Result<()> {
    let last = txn.sequence(&kernel_ns(tenant)?, "events")?;
    for topic in topics {
        txn.catalog_put(&cursor_key(tenant, subscriber, topic), last.to_string().as_bytes())?;
        txn.catalog_remove(&retry_key(tenant, subscriber, topic))?;
    }
    Ok(())
}
