//! Delivering events to webhooks, on the tenant's delivery worker like its
//! plugins' deliveries: posted first, then recorded as delivered in a
//! write of their own. A crash between the two posts the event again, with
//! the same event id, so the receiver can tell (at least once).

use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_types::TenantId;

use super::webhooks::{
    Outbound, Post, StoredWebhook, receives, receiving, record_key, secret_context,
};
use super::{
    DELIVERIES_PER_PASS_MAX, Retry, StoredEvent, cursor_key, mark_delivered, next_event,
    parse_cursor,
};
use crate::host::Host;

/// How long one pass delivers to one webhook's topic before letting the
/// tenant's other deliveries run (it goes on in the next pass).
const WEBHOOK_PASS_MAX: Duration = Duration::from_secs(1);

impl Host {
    /// Delivers the waiting events of `topic` to webhook `hook`, in order;
    /// returns how long until a failed one may be tried again (zero: more
    /// is waiting), if one did.
    pub(super) fn drain_webhook(
        &self,
        tenant: &TenantId,
        outbound: &Arc<dyn Outbound>,
        hook: &StoredWebhook,
        topic: &str,
    ) -> keel_storage::Result<Option<Duration>> {
        let subscriber = hook.webhook.subscriber();
        let started = Instant::now();
        for _ in 0..DELIVERIES_PER_PASS_MAX {
            if self.inner.dispatcher.stopped() || started.elapsed() >= WEBHOOK_PASS_MAX {
                return Ok(Some(Duration::ZERO));
            }
            let read = self.inner.storage.read()?;
            // As it is now, not as the pass began: deleted, paused, or the
            // topic dropped, nothing more goes to it (a dropped topic's
            // cursor is gone, and would read as 0); a new URL or secret is
            // used from the next delivery.
            let record = read.catalog_get(&record_key(tenant, &subscriber).unwrap_or_default())?;
            let Some(hook) = receiving(record, topic)?.filter(|h| h.webhook.active) else {
                return Ok(None);
            };
            let Some((event, retry)) = next_event(&read, tenant, &subscriber, topic)? else {
                return Ok(None);
            };
            drop(read);
            let attempt = match self.attempt_due(retry.as_ref(), &event) {
                Ok(attempt) => attempt,
                Err(wait) => return Ok(Some(wait)),
            };
            match self.post_webhook(outbound.as_ref(), tenant, &hook, &event, attempt) {
                Ok(()) => {
                    // Deleted, or the topic dropped, while it was posted:
                    // that change may not be durable yet, so the next read
                    // would not show it, and post the next event to a
                    // webhook that is gone. The next pass reads it anew.
                    if !self.webhook_delivered(tenant, &subscriber, &event, attempt, None)? {
                        return Ok(None);
                    }
                    crate::metrics::delivered("webhook", event.age(self.now()));
                }
                Err(err) => {
                    if !self.failed(tenant, &subscriber, &event, attempt, &err)? {
                        return Ok(Some(self.backoff(attempt)));
                    }
                }
            }
        }
        Ok(Some(Duration::ZERO))
    }

    /// Which attempt delivering `event` now is, given its topic's retry
    /// state; or how long until the next attempt is due.
    pub(super) fn attempt_due(
        &self,
        retry: Option<&Retry>,
        event: &StoredEvent,
    ) -> Result<u32, Duration> {
        match retry.filter(|r| r.event == event.id) {
            Some(retry) => {
                let due = retry.next_at_ms - crate::records::unix_ms(&self.now());
                if due > 0 {
                    return Err(Duration::from_millis(due.unsigned_abs()));
                }
                Ok(retry.attempts + 1)
            }
            None => Ok(1),
        }
    }

    /// Posts `event` to `hook`.
    pub(super) fn post_webhook(
        &self,
        outbound: &dyn Outbound,
        tenant: &TenantId,
        hook: &StoredWebhook,
        event: &StoredEvent,
        attempt: u32,
    ) -> Result<(), String> {
        let event_id = format!("{tenant}:{}", event.id);
        let data = serde_json::from_str::<serde_json::Value>(&event.payload)
            .unwrap_or_else(|_| serde_json::Value::String(event.payload.clone()));
        let body = serde_json::json!({
            "id": event_id,
            "tenant": tenant,
            "event": event.id,
            "topic": event.topic,
            "key": event.key,
            "publisher": event.publisher,
            "published_at": event.published_s,
            "data": data,
        });
        let body = serde_json::to_vec(&body).map_err(|err| format!("encoding the body: {err}"))?;
        let context = secret_context(tenant, hook.webhook.id);
        outbound.post(&Post {
            url: &hook.webhook.url,
            sealed_secret: &hook.secret,
            context: &context,
            webhook: hook.webhook.id,
            event_id: &event_id,
            topic: &event.topic,
            attempt,
            timestamp: self.now().seconds,
            body: &body,
        })
    }

    /// Records that webhook `subscriber` has `event`: its cursor moves on,
    /// or (a replay by `admin`) its dead letter goes. False if there was
    /// nothing to record: the webhook was deleted, or the topic dropped.
    pub(super) fn webhook_delivered(
        &self,
        tenant: &TenantId,
        subscriber: &str,
        event: &StoredEvent,
        attempt: u32,
        admin: Option<&keel_audit::Origin>,
    ) -> keel_storage::Result<bool> {
        let kernel = keel_audit::Origin::kernel(self.now().seconds);
        let origin = admin.unwrap_or(&kernel);
        let mut txn = self.inner.storage.write(&[keel_storage::Lane::Tenant(tenant.clone())])?;
        // Deleted, or the topic dropped (and perhaps added again, with a
        // new cursor), while it was posted: no cursor to move (one written
        // now would never go, and hold the outbox back).
        if admin.is_none() {
            let record = txn.catalog_get(&record_key(tenant, subscriber).unwrap_or_default())?;
            let cursor = txn.catalog_get(&cursor_key(tenant, subscriber, &event.topic))?;
            let behind = match cursor {
                Some(bytes) => parse_cursor(&bytes)? < event.id,
                None => false,
            };
            if !behind || !receives(record, &event.topic)? {
                return Ok(false);
            }
        }
        mark_delivered(&mut txn, origin, tenant, subscriber, event, attempt, admin.is_some())?;
        txn.commit().map(|()| true)
    }
}
