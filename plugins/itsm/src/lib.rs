//! Keel's IT service management: incidents and service requests with SLA
//! clocks on business calendars, problems, changes authorised by a change
//! advisory board, and a configuration database with impact analysis.
//! People and support groups come from `keel:erp/directory`.
//!
//! - [`rules`]: the pure core, with no SDK and no I/O, unit- and
//!   property-tested natively: lifecycles, the priority matrix, business
//!   calendars, SLA clocks and policies, the configuration database.
//! - `desk`: the tenant's settings, business calendars and SLA policies.
//! - `tickets`: incidents and requests as served, with who may see what;
//!   `stored`, the ticket as kept; `shown`, as answered.
//! - `clocks`: each ticket's SLA clocks kept with it, a kernel timer set for
//!   the next warning or breach, and the events published then.
//! - `problems`, `changes`, `cmdb`: problems, changes and configuration
//!   items as served; `assets`, units of asset items received through
//!   procurement registered as configuration items.
//! - `contract`: the types of what the operations read and answer.
//! - `who`: the caller, signed in where segregation of duties needs it,
//!   and an approver's decision.
#![deny(clippy::float_arithmetic)]

pub mod rules;

mod assets;
mod changes;
mod clocks;
mod cmdb;
mod contract;
mod desk;
mod problems;
mod shown;
mod stored;
mod tickets;
mod who;

use keel_sdk::events::Delivery;
use keel_sdk::timers::Fired;
use keel_sdk::{Operations, Plugin, Request, Response, Result};

/// Each manifest operation with its handler.
const OPERATIONS: Operations = Operations::new(&[
    ("settings.get", desk::get_settings),
    ("settings.put", desk::put_settings),
    ("calendars.put", desk::put_calendar),
    ("calendars.list", desk::list_calendars),
    ("policies.put", desk::put_policy),
    ("policies.list", desk::list_policies),
    ("tickets.raise", tickets::raise),
    ("tickets.list", tickets::list),
    ("tickets.overdue", tickets::overdue),
    ("tickets.get", tickets::get),
    ("tickets.decide", tickets::decide),
    ("tickets.assign", tickets::assign),
    ("tickets.start", tickets::start),
    ("tickets.pend", tickets::pend),
    ("tickets.resume", tickets::resume),
    ("tickets.resolve", tickets::resolve),
    ("tickets.reopen", tickets::reopen),
    ("tickets.close", tickets::close),
    ("tickets.cancel", tickets::cancel),
    ("tickets.priority", tickets::set_priority),
    ("tickets.update", tickets::update),
    ("tickets.note", tickets::add_note),
    ("tickets.notes", tickets::notes),
    ("tickets.link", tickets::link),
    ("problems.open", problems::open),
    ("problems.get", problems::get),
    ("problems.link", problems::link),
    ("problems.update", problems::update),
    ("changes.request", changes::request),
    ("changes.get", changes::get),
    ("changes.list", changes::list),
    ("changes.step", changes::step),
    ("changes.decide", changes::decide),
    ("classes.put", cmdb::put_class),
    ("cis.put", cmdb::put_item),
    ("cis.get", cmdb::get_item),
    ("cis.list", cmdb::list_items),
    ("relations.put", cmdb::put_relation),
    ("cis.impact", cmdb::impact),
]);

struct Itsm;

impl Plugin for Itsm {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        OPERATIONS.handle(operation, &request)
    }

    fn on_timer(timer: Fired) -> Result<()> {
        clocks::fired(&timer)
    }

    /// A goods receipt from procurement: its assets become items.
    fn deliver(delivery: Delivery) -> Result<()> {
        assets::received(&delivery)
    }
}

keel_sdk::export_plugin!(Itsm, contract = "keel.contract.json");

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_is_valid_and_every_operation_is_dispatched() {
        let manifest = keel_manifest::Manifest::parse(include_str!("../keel.toml")).unwrap();
        assert_eq!(manifest.id.as_str(), "itsm");
        let mut declared: Vec<&str> = manifest.operations.iter().map(|op| op.id.as_str()).collect();
        let mut dispatched: Vec<&str> = super::OPERATIONS.ids().collect();
        declared.sort_unstable();
        dispatched.sort_unstable();
        assert_eq!(dispatched, declared, "each operation of the manifest has one handler");
    }

    #[test]
    fn contract_is_current_and_the_kernel_accepts_it() {
        crate::contract::contract().keep(crate::contract::FILE);
        let text = std::fs::read_to_string(crate::contract::FILE).unwrap();
        keel_manifest::Contract::parse_complete(&text, include_str!("../keel.toml")).unwrap();
    }
}
