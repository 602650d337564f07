//! The typed contract of the service desk's operations: what each reads
//! and answers. The kernel publishes it in the tenant's OpenAPI document
//! and checks each request body and query against it before the plugin
//! runs. Steps that take no body (starting work on a ticket, a change's
//! assessment) declare their answer only.

use keel_sdk::contract::{Contract, Schemas};

use crate::changes::{ChangeDoc, ChangePage, ChangesQuery, Requested};
use crate::cmdb::{
    ImpactAnswer, ImpactQuery, Item, ItemDetail, ItemPage, ItemsQuery, NewItem, Relation,
};
use crate::desk::{Calendar, CalendarList, NewSettings, PolicyList, Settings};
use crate::problems::{Linked, Opened, ProblemDetail, ProblemDoc, Step};
use crate::rules::cmdb::Class;
use crate::rules::hours::HoursDef;
use crate::rules::policy::Policy;
use crate::shown::{OverduePage, OverdueQuery, TicketPage, TicketView, TicketsQuery};
use crate::stored::Link;
use crate::tickets::{
    Assignment, Correction, NewNote, NewPriority, Note, NotePage, Pending, Raised, Resolution,
};
use crate::who::Decision;

/// The file beside `keel.toml` that the package embeds.
#[cfg(test)]
pub(crate) const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keel.contract.json");

/// Every operation, with its schemas.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the native test writes keel.contract.json from it")
)]
pub(crate) fn contract() -> Contract {
    let ticket = || Schemas::new().response::<TicketView>();
    Contract::new()
        .operation("settings.get", Schemas::new().response::<Settings>())
        .operation("settings.put", Schemas::new().request::<NewSettings>().response::<Settings>())
        .operation("calendars.put", Schemas::new().request::<HoursDef>().response::<Calendar>())
        .operation("calendars.list", Schemas::new().response::<CalendarList>())
        .operation("policies.put", Schemas::new().request::<Policy>().response::<Policy>())
        .operation("policies.list", Schemas::new().response::<PolicyList>())
        .operation("tickets.raise", ticket().request::<Raised>())
        .operation("tickets.list", Schemas::new().query::<TicketsQuery>().response::<TicketPage>())
        .operation(
            "tickets.overdue",
            Schemas::new().query::<OverdueQuery>().response::<OverduePage>(),
        )
        .operation("tickets.get", ticket())
        .operation("tickets.decide", ticket().request::<Decision>())
        .operation("tickets.assign", ticket().request::<Assignment>())
        .operation("tickets.start", ticket())
        .operation("tickets.pend", ticket().request::<Pending>())
        .operation("tickets.resume", ticket())
        .operation("tickets.resolve", ticket().request::<Resolution>())
        .operation("tickets.reopen", ticket())
        .operation("tickets.close", ticket())
        .operation("tickets.cancel", ticket())
        .operation("tickets.priority", ticket().request::<NewPriority>())
        .operation("tickets.update", ticket().request::<Correction>())
        .operation("tickets.note", Schemas::new().request::<NewNote>().response::<Note>())
        .operation("tickets.notes", Schemas::new().response::<NotePage>())
        .operation("tickets.link", ticket().request::<Link>())
        .operation("problems.open", Schemas::new().request::<Opened>().response::<ProblemDoc>())
        .operation("problems.get", Schemas::new().response::<ProblemDetail>())
        .operation("problems.link", Schemas::new().request::<Linked>().response::<ProblemDoc>())
        .operation("problems.update", Schemas::new().request::<Step>().response::<ProblemDoc>())
        .operation("changes.request", Schemas::new().request::<Requested>().response::<ChangeDoc>())
        .operation("changes.get", Schemas::new().response::<ChangeDoc>())
        .operation("changes.list", Schemas::new().query::<ChangesQuery>().response::<ChangePage>())
        // A schedule's window is the one step with a body; the plugin reads it.
        .operation("changes.step", Schemas::new().response::<ChangeDoc>())
        .operation("changes.decide", Schemas::new().request::<Decision>().response::<ChangeDoc>())
        .operation("classes.put", Schemas::new().request::<Class>().response::<Class>())
        .operation("cis.put", Schemas::new().request::<NewItem>().response::<Item>())
        .operation("cis.get", Schemas::new().response::<ItemDetail>())
        .operation("cis.list", Schemas::new().query::<ItemsQuery>().response::<ItemPage>())
        .operation("relations.put", Schemas::new().request::<Relation>().response::<Relation>())
        .operation("cis.impact", Schemas::new().query::<ImpactQuery>().response::<ImpactAnswer>())
}
