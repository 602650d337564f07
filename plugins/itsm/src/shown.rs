//! Tickets as shown: as kept, with their clocks as they stand, and the
//! pages and queue rows the ticket handlers answer.

use keel_sdk::Result;
use keel_sdk::contract::JsonSchema;
use serde::Serialize;

use crate::rules::priority::Priority;
use crate::rules::ticket::{State, Ticket};
use crate::stored::{Attachment, Link, TicketDoc};
use crate::{clocks, desk};

/// A ticket as shown: as kept, with its clocks as they stand now. (Not
/// its notes counter, which counts internal notes too: not for
/// requesters, and of no use to agents, who list the notes.)
#[derive(Serialize, JsonSchema)]
pub(crate) struct TicketView {
    /// `INC-000001` for an incident, `REQ-000001` for a request.
    id: String,
    title: String,
    description: String,
    #[serde(flatten)]
    life: Ticket,
    /// 1 (highest) to the matrix's size.
    impact: u8,
    /// 1 (highest) to the matrix's size.
    urgency: u8,
    priority: Priority,
    /// The service (a configuration item) it concerns.
    service: Option<String>,
    /// Other configuration items it concerns.
    items: Vec<String>,
    /// The problem it is grouped under.
    problem: Option<String>,
    /// The change it waits on, if pending on one.
    change: Option<String>,
    links: Vec<Link>,
    attachments: Vec<Attachment>,
    /// Who raised it, when not its requester (an agent, for them).
    raised_by: Option<String>,
    /// Unix seconds.
    opened_at: i64,
    /// Unix seconds.
    updated_at: i64,
    /// Its SLA clocks, when a policy covers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    sla: Option<clocks::Sla>,
}

/// The ticket as shown: as kept, with its clocks as they stand now.
pub(crate) fn view(
    ticket: &TicketDoc,
    now: i64,
    calendars: &mut desk::Calendars,
) -> Result<TicketView> {
    let sla = ticket.clocks.as_ref().map(|c| clocks::shown(c, now, calendars)).transpose()?;
    Ok(TicketView {
        id: ticket.id.clone(),
        title: ticket.title.clone(),
        description: ticket.description.clone(),
        life: ticket.life.clone(),
        impact: ticket.impact,
        urgency: ticket.urgency,
        priority: ticket.priority.clone(),
        service: ticket.service.clone(),
        items: ticket.items.clone(),
        problem: ticket.problem.clone(),
        change: ticket.change.clone(),
        links: ticket.links.clone(),
        attachments: ticket.attachments.clone(),
        raised_by: ticket.raised_by.clone(),
        opened_at: ticket.opened_at,
        updated_at: ticket.updated_at,
        sla,
    })
}

/// A page of tickets.
#[derive(Serialize, JsonSchema)]
pub(crate) struct TicketPage {
    pub(crate) tickets: Vec<TicketView>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// `GET /tickets?state=&group=&agent=&mine=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct TicketsQuery {
    /// Only tickets in this state (for an approver, those awaiting
    /// approval).
    state: Option<State>,
    /// Only those assigned to this support group.
    group: Option<String>,
    /// Only those this agent (a user id) works.
    agent: Option<String>,
    /// Given (with any value), only the caller's own.
    mine: Option<String>,
}

/// The furthest ahead the overdue queue looks: a year's minutes.
pub(crate) const OVERDUE_WITHIN_MAX: i64 = 60 * 24 * 366;

/// `GET /overdue?within_minutes=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct OverdueQuery {
    /// Also those due within this many minutes (0 to a year's); 0
    /// without it.
    #[schemars(range(min = 0, max = OVERDUE_WITHIN_MAX))]
    within_minutes: Option<i64>,
}

/// A page of tickets past (or near) a deadline, earliest first.
#[derive(Serialize, JsonSchema)]
pub(crate) struct OverduePage {
    pub(crate) tickets: Vec<Overdue>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
    /// The instant asked at, in Unix seconds.
    pub(crate) now: i64,
}

/// A ticket in the overdue queue.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Overdue {
    id: String,
    title: String,
    /// Its priority's value.
    priority: u8,
    state: State,
    group: Option<String>,
    agent: Option<String>,
    /// Its earliest running deadline, in Unix seconds.
    due_at: Option<i64>,
    /// How long past it, in seconds; zero if not yet.
    overdue_seconds: Option<i64>,
}

impl Overdue {
    /// `ticket` in the queue at `now`.
    pub(crate) fn of(ticket: TicketDoc, now: i64) -> Self {
        let due = ticket.due_key.as_deref().and_then(|k| k.parse::<i64>().ok());
        Self {
            id: ticket.id,
            title: ticket.title,
            priority: ticket.priority.value,
            state: ticket.life.state,
            group: ticket.life.group,
            agent: ticket.life.agent,
            due_at: due,
            overdue_seconds: due.map(|d| (now - d).max(0)),
        }
    }
}
