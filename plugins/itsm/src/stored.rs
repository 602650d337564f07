//! A ticket as kept: its document and collection, apart from the
//! handlers (`tickets`) and its clocks (`clocks`), which both use them.

use keel_sdk::Collection;
use keel_sdk::contract::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rules::policy::Clocks;
use crate::rules::priority::Priority;
use crate::rules::ticket::Ticket;

pub(crate) const TICKETS: Collection<TicketDoc> = Collection::new("tickets");

/// A file kept elsewhere (a document store, a URL), referred to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Attachment {
    /// 1 to 200 bytes.
    pub name: String,
    /// Where it is kept, at most 2,000 bytes.
    pub reference: String,
}

/// How one ticket relates to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum LinkKind {
    DuplicateOf,
    CausedBy,
    Related,
}

/// A ticket's link to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Link {
    pub kind: LinkKind,
    /// The other ticket, by id.
    pub ticket: String,
}

/// A ticket as kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TicketDoc {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(flatten)]
    pub life: Ticket,
    pub impact: u8,
    pub urgency: u8,
    pub priority: Priority,
    /// The service (a configuration item) it concerns.
    #[serde(default)]
    pub service: Option<String>,
    /// Other configuration items it concerns.
    #[serde(default)]
    pub items: Vec<String>,
    /// The problem it is grouped under.
    #[serde(default)]
    pub problem: Option<String>,
    /// The change it waits on, if pending on one.
    #[serde(default)]
    pub change: Option<String>,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub clocks: Option<Clocks>,
    /// The earliest deadline of a running clock, for the overdue queue.
    #[serde(default)]
    pub due_key: Option<String>,
    /// Who raised it, when not its requester (an agent, for them).
    #[serde(default)]
    pub raised_by: Option<String>,
    pub opened_at: i64,
    pub updated_at: i64,
    /// Notes added so far: the next one's number.
    #[serde(default)]
    pub notes: u32,
}
