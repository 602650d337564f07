//! The trait a plugin implements.

use crate::events::Delivery;
use crate::{Error, Request, Response, Result};

/// A Keel plugin. Each call runs in a fresh instance, so a plugin keeps no
/// state between calls except what it stores in its [`Collection`](crate::Collection)s.
pub trait Plugin {
    /// Serves the manifest operation `operation` (its `id`). Operations whose
    /// method is GET run on a read snapshot; all others in one write
    /// transaction that commits only if this returns `Ok`.
    fn handle(operation: &str, request: Request) -> Result<Response>;

    /// Upgrades stored documents from `from_version` (none on first enable)
    /// to this version, in one write transaction. The default does nothing.
    fn migrate(from_version: Option<&str>) -> Result<()> {
        let _unused = from_version;
        Ok(())
    }

    /// Handles an event of a topic the manifest lists under `subscribes`,
    /// in a write transaction of its own; an error rolls it back and the
    /// kernel delivers it again later. A redelivery has the same `id` and
    /// `key`. The default refuses: a plugin that subscribes implements it.
    fn deliver(delivery: Delivery) -> Result<()> {
        Err(Error::internal(format!(
            "this plugin subscribes to {} but does not implement Plugin::deliver",
            delivery.topic
        )))
    }
}
