//! The trait a plugin implements.

use crate::events::Delivery;
use crate::jobs::{Progress, Step};
use crate::timers::Fired;
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

    /// Handles a timer the plugin set (see [`timers`](crate::timers)), at
    /// its time, in a write transaction of its own that also removes it;
    /// an error rolls it back and the kernel fires it again later. The
    /// default refuses: a plugin that sets timers implements it.
    fn on_timer(timer: Fired) -> Result<()> {
        Err(Error::internal(format!(
            "this plugin set timer {} but does not implement Plugin::on_timer",
            timer.key
        )))
    }

    /// Runs one step of a job (an operation the manifest declares with
    /// `job = true`; see [`jobs`](crate::jobs)), in a write transaction of
    /// its own that also records the job's progress. An error rolls the
    /// step back: one the request caused (bad request, invalid, not found,
    /// conflict, denied) fails the job at once, any other is retried. The
    /// default refuses: a plugin that declares a job implements it.
    fn run_step(step: Step) -> Result<Progress> {
        Err(Error::internal(format!(
            "operation {} is a job, but this plugin does not implement Plugin::run_step",
            step.operation
        )))
    }
}

/// A handler of one operation.
pub type Handler = fn(&Request) -> Result<Response>;

/// A plugin's operations: each manifest operation id with its handler, so
/// that [`Plugin::handle`] is a lookup and a test can check the table
/// against the manifest, both ways.
///
/// ```no_run
/// use keel_sdk::{Operations, Request, Response, Result};
///
/// fn list(_: &Request) -> Result<Response> {
///     Response::ok(&serde_json::json!({ "notes": [] }))
/// }
///
/// const OPERATIONS: Operations = Operations::new(&[("notes.list", list)]);
/// ```
pub struct Operations(&'static [(&'static str, Handler)]);

impl Operations {
    /// The table of `(operation id, handler)`.
    pub const fn new(table: &'static [(&'static str, Handler)]) -> Self {
        Self(table)
    }

    /// Serves `operation` with its handler; an operation not in the table
    /// is [`Error::unknown_operation`].
    pub fn handle(&self, operation: &str, request: &Request) -> Result<Response> {
        match self.0.iter().find(|(id, _)| *id == operation) {
            Some((_, handler)) => handler(request),
            None => Err(Error::unknown_operation(operation)),
        }
    }

    /// The operation ids, in the table's order.
    pub fn ids(&self) -> impl Iterator<Item = &'static str> {
        self.0.iter().map(|(id, _)| *id)
    }
}
