//! Incidents and service requests as served. Agents (those who may work
//! tickets) see and work every ticket; a requester sees their own, adds
//! follow-ups to it, and accepts, reopens or cancels it. Support groups
//! are the directory's units, and an agent is a person of the group who
//! signs in as a Keel user.

use keel_sdk::contract::JsonSchema;
use keel_sdk::erp::directory;
use keel_sdk::{Collection, Error, Range, Request, Response, Result, audit, context};
use serde::{Deserialize, Serialize};

use crate::rules::priority::Priority;
use crate::rules::ticket::{Kind, PendingOn, State, Ticket};
use crate::shown::{OVERDUE_WITHIN_MAX, Overdue, OverduePage, TicketPage, view};
use crate::stored::{Attachment, Link, LinkKind, TICKETS, TicketDoc};
use crate::who::{Decision, caller, signed_in};
use crate::{clocks, cmdb, desk};

/// Keyed `<ticket>/<number>`.
const NOTES: Collection<Note> = Collection::new("ticket-notes");
/// Longest title, in bytes.
const TITLE_BYTES_MAX: usize = 200;
/// Longest description or note, in bytes.
const TEXT_BYTES_MAX: usize = 16_000;
/// Most notes one ticket keeps.
const NOTES_MAX: u32 = 1000;
/// Most attachments, links or configuration items on one ticket.
const REFERENCES_MAX: usize = 50;
/// Who works tickets.
const WORK: &str = "itsm.tickets.work";
/// Who approves requests.
const APPROVE: &str = "itsm.requests.approve";

/// A follow-up the requester sees, or an internal note they do not.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Note {
    /// Who wrote it, by user id.
    by: String,
    /// When, in Unix seconds.
    at: i64,
    text: String,
    /// Only agents see it.
    internal: bool,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

fn works() -> bool {
    context::has_permission(WORK)
}

fn approves() -> bool {
    context::has_permission(APPROVE)
}

/// Whether the caller may see `ticket`: agents any, requesters their own,
/// approvers the requests awaiting a decision and those they decided.
fn may_see(ticket: &TicketDoc) -> bool {
    let me = caller();
    works()
        || ticket.life.requester == me
        || (approves()
            && (ticket.life.state == State::AwaitingApproval
                || ticket.life.decided_by.as_deref() == Some(me.as_str())))
}

/// The ticket `id`, if the caller may see it (another's reads as not
/// found, so ids reveal nothing).
fn visible(id: &str) -> Result<TicketDoc> {
    let not_found = || Error::not_found(format!("ticket {id} does not exist"));
    let ticket = TICKETS.get(id)?.ok_or_else(not_found)?;
    if may_see(&ticket) { Ok(ticket) } else { Err(not_found()) }
}

/// The ticket `id`, if the caller may act on it: an agent, or whoever it
/// is for. An approver reads a request, and decides on it, but no more.
fn actionable(id: &str) -> Result<TicketDoc> {
    let ticket = visible(id)?;
    if works() || ticket.life.requester == caller() {
        return Ok(ticket);
    }
    Err(Error::denied(format!("{id} is acted on by whom it is for, or by an agent")))
}

fn check_text(what: &str, text: &str, max: usize) -> Result<()> {
    if text.len() > max {
        return Err(Error::invalid(format!("{what} is at most {max} bytes")));
    }
    Ok(())
}

fn check_attachments(attachments: &[Attachment]) -> Result<()> {
    if attachments.len() > REFERENCES_MAX {
        return Err(Error::invalid(format!("at most {REFERENCES_MAX} attachments")));
    }
    for a in attachments {
        if a.name.trim().is_empty() || a.name.len() > 200 || a.reference.trim().is_empty() {
            return Err(Error::invalid(
                "an attachment has a name (1 to 200 bytes) and a reference",
            ));
        }
        check_text("an attachment's reference", &a.reference, 2000)?;
    }
    Ok(())
}

/// The configuration items a ticket concerns: at most
/// [`REFERENCES_MAX`], each one that exists.
fn check_items(items: &[String]) -> Result<()> {
    if items.len() > REFERENCES_MAX {
        return Err(Error::invalid(format!("at most {REFERENCES_MAX} configuration items")));
    }
    items.iter().try_for_each(|item| cmdb::expect_item(item))
}

/// Saves `ticket` after a change at `now`.
fn save(mut ticket: TicketDoc, now: i64) -> Result<TicketDoc> {
    ticket.updated_at = now;
    TICKETS.put(&ticket.id, &ticket)?;
    Ok(ticket)
}

fn answer(ticket: &TicketDoc, now: i64) -> Result<Response> {
    Response::ok(&view(ticket, now, &mut desk::Calendars::default())?)
}

/// An incident or a service request, as raised.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Raised {
    kind: Kind,
    /// 1 to 200 bytes.
    title: String,
    /// At most 16,000 bytes.
    #[serde(default)]
    description: String,
    /// 1 (highest) to the priority matrix's size.
    impact: u8,
    /// 1 (highest) to the priority matrix's size.
    urgency: u8,
    /// The service (a configuration item) it concerns.
    #[serde(default)]
    service: Option<String>,
    /// Other configuration items it concerns, at most 50.
    #[serde(default)]
    items: Vec<String>,
    /// The person it is for (agents raise tickets for others).
    #[serde(default)]
    requester: Option<String>,
    /// A request that waits for an approval first (every request does
    /// where the desk's settings say so).
    #[serde(default)]
    needs_approval: bool,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

/// `POST /tickets`: prioritised by the tenant's matrix, its clocks started
/// under the policy it falls under.
pub(crate) fn raise(request: &Request) -> Result<Response> {
    let raised: Raised = request.json()?;
    let title = raised.title.trim().to_owned();
    if title.is_empty() || title.len() > TITLE_BYTES_MAX {
        return Err(Error::invalid(format!("a title is 1 to {TITLE_BYTES_MAX} bytes")));
    }
    check_text("a description", &raised.description, TEXT_BYTES_MAX)?;
    check_attachments(&raised.attachments)?;
    let requester = match &raised.requester {
        None => caller(),
        Some(_) if !works() => {
            return Err(Error::denied("only agents raise tickets for someone else"));
        }
        Some(person) => {
            let found = directory::find_person(person)?
                .ok_or_else(|| Error::invalid(format!("person {person} does not exist")))?;
            found.user.ok_or_else(|| {
                Error::invalid(format!("{person} has no Keel user to follow their ticket"))
            })?
        }
    };
    let settings = desk::settings()?;
    let priority = Priority::computed(&settings.matrix, raised.impact, raised.urgency)?;
    if let Some(service) = &raised.service {
        cmdb::expect_service(service)?;
    }
    check_items(&raised.items)?;
    let needs_approval =
        raised.needs_approval || (raised.kind == Kind::Request && settings.requests_need_approval);
    let raised_by = if needs_approval {
        // Whoever raised it never approves it: a token would hide who that is.
        signed_in("raising a request that needs an approval")?
    } else {
        caller()
    };
    let life = Ticket::raise(raised.kind, &requester, needs_approval)?;
    let number = keel_sdk::next_sequence("tickets")?;
    let prefix = match raised.kind {
        Kind::Incident => "INC",
        Kind::Request => "REQ",
    };
    let now = context::now_seconds();
    let mut ticket = TicketDoc {
        id: format!("{prefix}-{number:06}"),
        title,
        description: raised.description,
        life,
        impact: raised.impact,
        urgency: raised.urgency,
        priority,
        service: raised.service,
        items: raised.items,
        problem: None,
        change: None,
        links: Vec::new(),
        attachments: raised.attachments,
        clocks: None,
        due_key: None,
        raised_by: (raised_by != requester).then_some(raised_by),
        opened_at: now,
        updated_at: now,
        notes: 0,
    };
    clocks::start(&mut ticket, now)?;
    TICKETS.insert(&ticket.id, &ticket)?;
    Response::created(&view(&ticket, now, &mut desk::Calendars::default())?)
}

/// `GET /tickets/{id}`.
pub(crate) fn get(request: &Request) -> Result<Response> {
    answer(&visible(request.param("id")?)?, context::now_seconds())
}

/// `GET /tickets`: agents, by `state`, `group` or `agent` (or all);
/// approvers, `?state=awaiting-approval`; requesters, their own.
pub(crate) fn list(request: &Request) -> Result<Response> {
    let (cursor, limit) = (request.query("cursor"), request.page_limit()?);
    let awaiting = request.query("state") == Some("awaiting-approval");
    let page = if awaiting && approves() && !works() {
        TICKETS.lookup("by-state", &Range::exactly("awaiting-approval"), cursor, limit)?
    } else if !works() || request.query("mine").is_some() {
        TICKETS.lookup("by-requester", &Range::exactly(caller()), cursor, limit)?
    } else if let Some(state) = request.query("state") {
        TICKETS.lookup("by-state", &Range::exactly(state), cursor, limit)?
    } else if let Some(group) = request.query("group") {
        TICKETS.lookup("by-group", &Range::exactly(group), cursor, limit)?
    } else if let Some(agent) = request.query("agent") {
        TICKETS.lookup("by-agent", &Range::exactly(agent), cursor, limit)?
    } else {
        TICKETS.scan(&Range::all(), cursor, limit)?
    };
    let now = context::now_seconds();
    // Each calendar read once, however many tickets count on it.
    let mut calendars = desk::Calendars::default();
    let tickets =
        page.items.iter().map(|(_, t)| view(t, now, &mut calendars)).collect::<Result<Vec<_>>>()?;
    Response::ok(&TicketPage { tickets, cursor: page.cursor })
}

/// `GET /overdue`: tickets whose running clock is past its deadline (or
/// will be within `within_minutes`), earliest first: a range of the
/// `by-due` index, however many tickets are open.
pub(crate) fn overdue(request: &Request) -> Result<Response> {
    let (cursor, limit) = (request.query("cursor"), request.page_limit()?);
    let within: i64 = request.query_as("within_minutes")?.unwrap_or(0);
    if !(0..=OVERDUE_WITHIN_MAX).contains(&within) {
        return Err(Error::invalid("within_minutes is 0 to a year's"));
    }
    let now = context::now_seconds();
    let until = clocks::due_key(now.saturating_add(within * 60));
    let page = TICKETS.lookup("by-due", &Range::between(None, Some(until)), cursor, limit)?;
    let tickets = page.items.into_iter().map(|(_, t)| Overdue::of(t, now)).collect();
    Response::ok(&OverduePage { tickets, cursor: page.cursor, now })
}

/// `POST /tickets/{id}/decision`: a request approved or refused, never by
/// whom it is for.
pub(crate) fn decide(request: &Request) -> Result<Response> {
    let decision: Decision = request.json()?;
    let by = signed_in("approving a request")?;
    let mut ticket = visible(request.param("id")?)?;
    if ticket.raised_by.as_deref() == Some(by.as_str()) && ticket.life.requester != by {
        return Err(Error::invalid(format!(
            "{by} raised this request for {}, so someone else approves or refuses it",
            ticket.life.requester
        )));
    }
    decision.check()?;
    ticket.life.decide(&by, decision.approve)?;
    let now = context::now_seconds();
    clocks::follow(&mut ticket, now)?;
    let detail = decision.detail(&ticket.id, &by);
    audit::record(audit::Event {
        action: if decision.approve { "request.approved" } else { "request.refused" },
        collection: Some("tickets"),
        key: Some(&ticket.id),
        detail: &detail,
    })?;
    answer(&save(ticket, now)?, now)
}

/// To a support group and, if given, to a person of it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Assignment {
    /// The support group: a directory unit, by id.
    group: String,
    /// A person of the group who signs in, by id.
    #[serde(default)]
    agent: Option<String>,
}

/// `POST /tickets/{id}/assignment`: to a support group (a directory unit)
/// and, if given, to a person of it who signs in.
pub(crate) fn assign(request: &Request) -> Result<Response> {
    let assignment: Assignment = request.json()?;
    let mut ticket = visible(request.param("id")?)?;
    if directory::find_org_unit(&assignment.group)?.is_none() {
        return Err(Error::invalid(format!("group {} does not exist", assignment.group)));
    }
    let agent = match &assignment.agent {
        None => None,
        Some(person) => {
            let member = directory::members(&assignment.group)?
                .into_iter()
                .find(|p| &p.id == person)
                .ok_or_else(|| {
                    Error::invalid(format!("{person} is not in group {}", assignment.group))
                })?;
            Some(member.user.ok_or_else(|| {
                Error::invalid(format!("{person} has no Keel user to work the ticket as"))
            })?)
        }
    };
    ticket.life.assign(&assignment.group, agent.as_deref())?;
    let now = context::now_seconds();
    clocks::follow(&mut ticket, now)?;
    answer(&save(ticket, now)?, now)
}

/// `POST /tickets/{id}/start`: the caller, of its group, starts on it.
pub(crate) fn start(request: &Request) -> Result<Response> {
    let mut ticket = visible(request.param("id")?)?;
    let me = caller();
    let group = ticket.life.group.clone().unwrap_or_default();
    let member = directory::members(&group)?.iter().any(|p| p.user.as_deref() == Some(&me));
    if !member {
        return Err(Error::denied(format!(
            "{me} is not in group {group}, to which {} is assigned",
            ticket.id
        )));
    }
    ticket.life.start(&me)?;
    let now = context::now_seconds();
    clocks::follow(&mut ticket, now)?;
    answer(&save(ticket, now)?, now)
}

/// What a ticket waits on.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pending {
    on: PendingOn,
    /// The change it waits on, when on a change.
    #[serde(default)]
    change: Option<String>,
}

/// `POST /tickets/{id}/pending`: it waits on the requester, a vendor, a
/// change or a problem; the clocks the policy says stand still.
pub(crate) fn pend(request: &Request) -> Result<Response> {
    let pending: Pending = request.json()?;
    let mut ticket = visible(request.param("id")?)?;
    if let Some(change) = &pending.change {
        if pending.on != PendingOn::Change {
            return Err(Error::invalid("a change is named only when pending on one"));
        }
        crate::changes::expect(change)?;
    }
    ticket.life.pend(pending.on)?;
    ticket.change = pending.change;
    let now = context::now_seconds();
    clocks::follow(&mut ticket, now)?;
    answer(&save(ticket, now)?, now)
}

/// `POST /tickets/{id}/resumption`.
pub(crate) fn resume(request: &Request) -> Result<Response> {
    transition(request, |ticket, _| ticket.life.resume().map_err(Error::from))
}

/// How a ticket was resolved.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Resolution {
    /// What was done.
    solution: String,
}

/// `POST /tickets/{id}/resolution`: its clocks stop.
pub(crate) fn resolve(request: &Request) -> Result<Response> {
    let resolution: Resolution = request.json()?;
    transition(request, |ticket, now| {
        ticket.life.resolve(&resolution.solution, now).map_err(Error::from)
    })
}

/// `POST /tickets/{id}/reopening`: by its requester or an agent, within
/// the tenant's window; time to resolve counts on from what it spent.
pub(crate) fn reopen(request: &Request) -> Result<Response> {
    let window = desk::settings()?.reopen_window_hours * 3600;
    transition(request, |ticket, now| ticket.life.reopen(now, window).map_err(Error::from))
}

/// `POST /tickets/{id}/closure`: its requester accepts the resolution.
pub(crate) fn close(request: &Request) -> Result<Response> {
    transition(request, |ticket, _| ticket.life.close().map_err(Error::from))
}

/// `POST /tickets/{id}/cancellation`.
pub(crate) fn cancel(request: &Request) -> Result<Response> {
    transition(request, |ticket, _| ticket.life.cancel().map_err(Error::from))
}

/// Applies `change` to the ticket the request names, which the caller
/// may see; its clocks follow.
fn transition(
    request: &Request,
    change: impl FnOnce(&mut TicketDoc, i64) -> Result<()>,
) -> Result<Response> {
    let mut ticket = actionable(request.param("id")?)?;
    let now = context::now_seconds();
    change(&mut ticket, now)?;
    clocks::follow(&mut ticket, now)?;
    answer(&save(ticket, now)?, now)
}

/// A new impact or urgency, or a priority set by hand.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPriority {
    /// New impact and urgency, through the matrix.
    #[serde(default)]
    impact: Option<u8>,
    #[serde(default)]
    urgency: Option<u8>,
    /// Or a priority set by hand (6: a major incident), with why.
    #[serde(default)]
    value: Option<u8>,
    #[serde(default)]
    reason: Option<String>,
}

/// `PUT /tickets/{id}/priority`: from a new impact or urgency, or set by
/// hand with a reason (audited). Its clocks count on under the policy now
/// chosen, keeping what they spent.
pub(crate) fn set_priority(request: &Request) -> Result<Response> {
    let new: NewPriority = request.json()?;
    let mut ticket = actionable(request.param("id")?)?;
    if !ticket.life.is_open() {
        return Err(Error::conflict(format!(
            "{} is {:?}: its priority stays as it was",
            ticket.id, ticket.life.state
        )));
    }
    match (new.value, new.impact.or(new.urgency)) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid("set a priority by hand, or a new impact and urgency"));
        }
        (Some(value), None) => {
            let reason = new.reason.unwrap_or_default();
            ticket.priority = ticket.priority.set_by_hand(value, &caller(), &reason)?;
            let detail = format!("{} priority {value} by hand: {}", ticket.id, reason.trim());
            audit::record(audit::Event {
                action: "priority.overridden",
                collection: Some("tickets"),
                key: Some(&ticket.id),
                detail: &detail,
            })?;
        }
        (None, Some(_)) => {
            ticket.impact = new.impact.unwrap_or(ticket.impact);
            ticket.urgency = new.urgency.unwrap_or(ticket.urgency);
            let matrix = desk::settings()?.matrix;
            ticket.priority = Priority::computed(&matrix, ticket.impact, ticket.urgency)?;
        }
        (None, None) => return Err(Error::invalid("give impact or urgency, or a value")),
    }
    let now = context::now_seconds();
    clocks::rechoose(&mut ticket, now)?;
    answer(&save(ticket, now)?, now)
}

/// What an agent may correct on an open ticket; what is left out stays.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Correction {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// The service it concerns; `null` for none.
    #[serde(default, deserialize_with = "given")]
    service: Option<Option<String>>,
    /// The other configuration items it concerns, all of them.
    #[serde(default)]
    items: Option<Vec<String>>,
}

/// A field given, even as `null`, as against one left out.
fn given<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PATCH /tickets/{id}`: agents correct an open ticket's title,
/// description, service or configuration items. A new service may bring
/// the ticket under another SLA policy: its clocks go on under it, keeping
/// what they spent, as for a new priority.
pub(crate) fn update(request: &Request) -> Result<Response> {
    let correction: Correction = request.json()?;
    let mut ticket = actionable(request.param("id")?)?;
    if !works() {
        return Err(Error::denied(format!("{} is corrected by an agent", ticket.id)));
    }
    if !ticket.life.is_open() {
        return Err(Error::conflict(format!(
            "{} is {:?}: it stays as it was",
            ticket.id, ticket.life.state
        )));
    }
    let mut changed = Vec::new();
    if let Some(title) = &correction.title {
        let title = title.trim();
        if title.is_empty() || title.len() > TITLE_BYTES_MAX {
            return Err(Error::invalid(format!("a title is 1 to {TITLE_BYTES_MAX} bytes")));
        }
        if title != ticket.title {
            ticket.title = title.to_owned();
            changed.push("title".to_owned());
        }
    }
    if let Some(description) = correction.description {
        check_text("a description", &description, TEXT_BYTES_MAX)?;
        if description != ticket.description {
            ticket.description = description;
            changed.push("description".to_owned());
        }
    }
    if let Some(items) = correction.items {
        check_items(&items)?;
        if items != ticket.items {
            ticket.items = items;
            changed.push("items".to_owned());
        }
    }
    let service_changed = match correction.service {
        Some(service) if service != ticket.service => {
            if let Some(service) = &service {
                cmdb::expect_service(service)?;
            }
            let shown = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".to_owned());
            changed.push(format!("service {} to {}", shown(&ticket.service), shown(&service)));
            ticket.service = service;
            true
        }
        _ => false,
    };
    let now = context::now_seconds();
    if changed.is_empty() {
        return answer(&ticket, now);
    }
    if service_changed {
        clocks::rechoose(&mut ticket, now)?;
    }
    let detail = format!("{} corrected: {}", ticket.id, changed.join(", "));
    audit::record(audit::Event {
        action: "ticket.corrected",
        collection: Some("tickets"),
        key: Some(&ticket.id),
        detail: &detail,
    })?;
    answer(&save(ticket, now)?, now)
}

/// A follow-up, or (agents) an internal note.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewNote {
    /// At most 16,000 bytes.
    text: String,
    /// Only agents see it.
    #[serde(default)]
    internal: bool,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

/// `POST /tickets/{id}/notes`: a follow-up, or (agents) an internal note.
pub(crate) fn add_note(request: &Request) -> Result<Response> {
    let new: NewNote = request.json()?;
    let mut ticket = actionable(request.param("id")?)?;
    if new.internal && !works() {
        return Err(Error::denied("only agents add internal notes"));
    }
    let text = new.text.trim();
    if text.is_empty() {
        return Err(Error::invalid("a note has text"));
    }
    check_text("a note", text, TEXT_BYTES_MAX)?;
    check_attachments(&new.attachments)?;
    if ticket.notes >= NOTES_MAX {
        return Err(Error::conflict(format!(
            "{} has {NOTES_MAX} notes, the most a ticket keeps; raise a new ticket and link it",
            ticket.id
        )));
    }
    let now = context::now_seconds();
    ticket.notes += 1;
    let note = Note {
        by: caller(),
        at: now,
        text: text.to_owned(),
        internal: new.internal,
        attachments: new.attachments,
    };
    NOTES.insert(&format!("{}/{:06}", ticket.id, ticket.notes), &note)?;
    save(ticket, now)?;
    Response::created(&note)
}

/// `GET /tickets/{id}/notes`: requesters see the follow-ups, agents
/// internal notes too; a page at a time, oldest first.
pub(crate) fn notes(request: &Request) -> Result<Response> {
    let ticket = actionable(request.param("id")?)?;
    let (cursor, limit) = (request.query("cursor"), request.page_limit()?);
    let all = works();
    let page = NOTES.scan(&Range::prefix(format!("{}/", ticket.id)), cursor, limit)?;
    let notes =
        page.items.into_iter().map(|(_, note)| note).filter(|note| all || !note.internal).collect();
    Response::ok(&NotePage { notes, cursor: page.cursor })
}

/// A page of a ticket's notes, oldest first.
#[derive(Serialize, JsonSchema)]
pub(crate) struct NotePage {
    notes: Vec<Note>,
    /// Where the next page starts; null on the last.
    cursor: Option<String>,
}

/// `POST /tickets/{id}/links`: duplicate of, caused by, or related to
/// another ticket (related both ways).
pub(crate) fn link(request: &Request) -> Result<Response> {
    let link: Link = request.json()?;
    let mut ticket = visible(request.param("id")?)?;
    if link.ticket == ticket.id {
        return Err(Error::invalid("a ticket is not linked to itself"));
    }
    let mut other = visible(&link.ticket)
        .map_err(|_| Error::invalid(format!("ticket {} does not exist", link.ticket)))?;
    if ticket.links.contains(&link) {
        return answer(&ticket, context::now_seconds());
    }
    if ticket.links.len() >= REFERENCES_MAX {
        return Err(Error::invalid(format!("a ticket has at most {REFERENCES_MAX} links")));
    }
    let now = context::now_seconds();
    if link.kind == LinkKind::Related && other.links.len() < REFERENCES_MAX {
        other.links.push(Link { kind: LinkKind::Related, ticket: ticket.id.clone() });
        save(other, now)?;
    }
    ticket.links.push(link);
    answer(&save(ticket, now)?, now)
}

/// Groups `ticket` (an incident) under `problem`.
pub(crate) fn group_under(id: &str, problem: &str) -> Result<TicketDoc> {
    let mut ticket = visible(id)?;
    if ticket.life.kind != Kind::Incident {
        return Err(Error::invalid(format!("{id} is a request; a problem groups incidents")));
    }
    ticket.problem = Some(problem.to_owned());
    save(ticket, context::now_seconds())
}
