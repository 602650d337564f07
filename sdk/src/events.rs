//! Durable events between plugins.
//!
//! [`publish`] puts an event in the tenant's outbox inside the call's
//! transaction: it exists exactly when the call's changes do. The kernel
//! delivers it to every plugin of the tenant whose manifest lists the topic
//! under `subscribes`, through [`Plugin::deliver`](crate::Plugin::deliver):
//! at least once, in order per topic, each delivery in a transaction of its
//! own, retried with a growing delay when it fails, and kept as a dead
//! letter for an administrator once attempts run out.

use serde::Serialize;

use crate::__private::bindings::keel::kernel::events as wit;
use crate::{Error, Result};

pub use crate::__private::bindings::keel::kernel::events::Delivery;

/// Publishes `payload` (serialised as a JSON object) under `topic`, which
/// the manifest must list under `publishes` (`<plugin id>.<name>`). `key`
/// names the fact the event reports (1 to 256 bytes): publishing a topic's
/// key again publishes nothing, so a retried call cannot publish twice.
pub fn publish(topic: &str, key: &str, payload: &impl Serialize) -> Result<()> {
    let payload = serde_json::to_string(payload)
        .map_err(|err| Error::internal(format!("event payload: {err}")))?;
    let event = wit::Event { topic: topic.to_owned(), key: key.to_owned(), payload };
    wit::publish(&event).map_err(Error::from_wit)
}

/// The payload of `delivery`, deserialised.
pub fn payload<T: serde::de::DeserializeOwned>(delivery: &Delivery) -> Result<T> {
    serde_json::from_str(&delivery.payload).map_err(|err| {
        Error::invalid(format!("event {} ({}) payload: {err}", delivery.id, delivery.topic))
    })
}
