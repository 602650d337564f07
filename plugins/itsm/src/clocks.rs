//! SLA clocks as served: a ticket's clocks are kept in its document and
//! follow each change of state; one kernel timer per ticket is set for the
//! next warning or breach, so nothing polls, and the overdue queue is a
//! range of the `by-due` index. A warning or breach is published once, in
//! the same transaction that marks it noticed.

use keel_sdk::contract::JsonSchema;
use keel_sdk::timers::{self, Fired};
use keel_sdk::{Result, context, events};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::desk::{self, Sweep};
use crate::rules::history::History;
use crate::rules::policy::{Clocks, Noticed, Policy, Target, choose};
use crate::rules::sla::Stage;
use crate::stored::{TICKETS, TicketDoc};

/// What a ticket's timer carries.
#[derive(Serialize, Deserialize)]
struct Due {
    ticket: String,
}

fn timer_key(ticket: &str) -> String {
    format!("sla/{ticket}")
}

/// An instant as the overdue queue sorts it: zero-padded Unix seconds.
pub(crate) fn due_key(at: i64) -> String {
    format!("{:012}", at.max(0))
}

/// The policy `ticket`'s kind, priority and service choose, if any.
fn chosen(ticket: &TicketDoc) -> Result<Option<Policy>> {
    let policies = desk::policies()?;
    let kind = ticket.life.kind;
    let chosen = choose(&policies, kind, ticket.priority.value, ticket.service.as_deref());
    Ok(chosen.cloned())
}

/// Starts `ticket`'s clocks under the policy it falls under, if any.
pub(crate) fn start(ticket: &mut TicketDoc, now: i64) -> Result<()> {
    ticket.clocks = None;
    let Some(policy) = chosen(ticket)? else { return settle(ticket, now, None) };
    let calendar = desk::calendar(&policy.calendar)?;
    ticket.clocks = Some(Clocks::start(&policy, ticket.life.state, now, &calendar));
    settle(ticket, now, Some(&calendar))
}

/// `ticket`'s priority or service changed: what was due is noticed first,
/// then its clocks count on under the policy now chosen, keeping what they
/// spent (or start, if none ran).
pub(crate) fn rechoose(ticket: &mut TicketDoc, now: i64) -> Result<()> {
    let Some(was) = notice(ticket, now)? else { return start(ticket, now) };
    match (chosen(ticket)?, &mut ticket.clocks) {
        (Some(policy), Some(clocks)) if !clocks.follows(&policy) => {
            clocks.retarget(&policy, now, &was);
            let calendar = desk::calendar(&policy.calendar)?;
            settle(ticket, now, Some(&calendar))
        }
        // The same policy, or none covers it any more: its clocks run on
        // as they were.
        _ => settle(ticket, now, Some(&was)),
    }
}

/// `ticket` is to move to a new state: what was due by now is noticed
/// first (an agent starting after the deadline, before its timer ran,
/// still breached it), then its clocks follow it.
pub(crate) fn follow(ticket: &mut TicketDoc, now: i64) -> Result<()> {
    let calendar = notice(ticket, now)?;
    if let (Some(clocks), Some(calendar)) = (&mut ticket.clocks, &calendar) {
        clocks.follow(ticket.life.state, now, calendar);
    }
    settle(ticket, now, calendar.as_ref())
}

/// Publishes what is due by `now`, once; the calendar the clocks count on,
/// if the ticket has clocks.
fn notice(ticket: &mut TicketDoc, now: i64) -> Result<Option<History>> {
    let Some(clocks) = &ticket.clocks else { return Ok(None) };
    let calendar = desk::calendar_since(&clocks.calendar, clocks.running_since())?;
    publish_due(ticket, now, &calendar)?;
    Ok(Some(calendar))
}

/// Publishes what is due by `now` on `calendar`.
fn publish_due(ticket: &mut TicketDoc, now: i64, calendar: &History) -> Result<()> {
    let Some(clocks) = &mut ticket.clocks else { return Ok(()) };
    let noticed = clocks.notice(now, calendar);
    for what in noticed {
        publish(ticket, what, now, calendar)?;
    }
    Ok(())
}

/// After a change at `now` to `ticket`'s clocks (which count on
/// `calendar`): publishes what the change made due (a shorter target), and
/// keeps the overdue queue's key and the ticket's timer in step.
fn settle(ticket: &mut TicketDoc, now: i64, calendar: Option<&History>) -> Result<()> {
    let key = timer_key(&ticket.id);
    let Some(calendar) = calendar.filter(|_| ticket.clocks.is_some()) else {
        ticket.due_key = None;
        timers::cancel(&key)?;
        return Ok(());
    };
    publish_due(ticket, now, calendar)?;
    let Some(clocks) = &ticket.clocks else { return Ok(()) };
    ticket.due_key = clocks.due(calendar).filter(|at| *at < i64::MAX).map(due_key);
    match clocks.next_notice(calendar) {
        // Past instants are noticed above: the next is after now, but for a
        // clock whose calendar changed under it, which is looked at again
        // in a second rather than at once and over again.
        Some(at) if at < i64::MAX => {
            timers::set(&key, at.max(now + 1), &Due { ticket: ticket.id.clone() })?;
        }
        _ => drop(timers::cancel(&key)?),
    }
    Ok(())
}

fn publish(ticket: &TicketDoc, what: Noticed, now: i64, calendar: &History) -> Result<()> {
    let (topic, target) = match what {
        Noticed::Warning(target) => ("itsm.sla-warning", target),
        Noticed::Breach(target) => ("itsm.sla-breached", target),
    };
    let clock = ticket
        .clocks
        .as_ref()
        .and_then(|c| c.tracked.iter().find(|t| t.target == target))
        .map(|t| &t.clock);
    let payload = json!({
        "ticket": ticket.id,
        "title": ticket.title,
        "clock": target,
        "priority": ticket.priority.value,
        "group": ticket.life.group,
        "agent": ticket.life.agent,
        "elapsed_seconds": clock.map(|c| c.elapsed(calendar, now)),
        "target_seconds": clock.map(|c| c.target),
        "at": now,
    });
    let target = match target {
        Target::Own => "own",
        Target::Resolve => "resolve",
    };
    // Each clock warns and breaches once, whatever its policy becomes.
    events::publish(topic, &format!("{}/{target}", ticket.id), &payload)
}

/// Tickets a sweep reads at each firing of its timer.
const SWEEP_READ: u32 = 200;
/// Tickets a sweep changes at each firing at most: each may set its timer
/// and publish up to four events, within what one call may (64 of each).
const SWEEP_CHANGES_MAX: usize = 12;

/// A batch of a sweep (`desk::Sweep`), and the timer set for the next:
/// after a calendar changed, each open ticket whose clocks count on it
/// has what is now due published and its timer and place in the overdue
/// queue moved, so that a deadline the edit brought forward is not noticed
/// late; after a policy changed, each open ticket goes on under the policy
/// now chosen for it. The cursor is the last ticket looked at.
fn swept(timer: &Fired, sweep: Sweep) -> Result<()> {
    let now = context::now_seconds();
    let range = keel_sdk::Range::between(sweep.cursor.clone(), None);
    let page = TICKETS.scan(&range, None, SWEEP_READ + 1)?;
    let (policies, mut calendars) = (desk::policies()?, desk::Calendars::default());
    let (mut last, mut changes, mut read) = (sweep.cursor.clone(), 0, 0);
    let more = page.cursor.is_some();
    for (key, mut ticket) in page.items {
        if sweep.cursor.as_deref() == Some(key.as_str()) {
            continue;
        }
        if changes >= SWEEP_CHANGES_MAX || read >= SWEEP_READ {
            let next = Sweep { cursor: last, ..sweep };
            return timers::set(&timer.key, now, &next);
        }
        read += 1;
        last = Some(key.clone());
        if !ticket.life.is_open() {
            continue;
        }
        let changed = match &sweep.calendar {
            Some(id) => {
                if ticket.clocks.as_ref().is_none_or(|clocks| clocks.calendar != *id) {
                    continue;
                }
                settle(&mut ticket, now, Some(calendars.get(id)?))?;
                true
            }
            None => reapply(&mut ticket, now, &policies, &mut calendars)?,
        };
        if changed {
            TICKETS.put(&key, &ticket)?;
            changes += 1;
        }
    }
    if more {
        return timers::set(&timer.key, now, &Sweep { cursor: last, ..sweep });
    }
    // Every ticket after the cursor was looked at: the sweep is done.
    Ok(())
}

/// `ticket` under the policy now chosen for it among `policies`: if that
/// is another, or the same changed, what was due is noticed and its
/// clocks go on towards the new targets, keeping what they spent. Whether
/// anything changed.
fn reapply(
    ticket: &mut TicketDoc,
    now: i64,
    policies: &[Policy],
    calendars: &mut desk::Calendars,
) -> Result<bool> {
    let kind = ticket.life.kind;
    let Some(policy) = choose(policies, kind, ticket.priority.value, ticket.service.as_deref())
    else {
        return Ok(false);
    };
    if ticket.clocks.as_ref().is_some_and(|clocks| clocks.follows(policy)) {
        return Ok(false);
    }
    let Some(was) = notice(ticket, now)? else {
        start(ticket, now)?;
        return Ok(true);
    };
    if let Some(clocks) = &mut ticket.clocks {
        clocks.retarget(policy, now, &was);
    }
    settle(ticket, now, Some(calendars.get(&policy.calendar)?))?;
    Ok(true)
}

/// A ticket's timer: what is due now is published, and the timer set for
/// what comes next; or a batch of a sweep.
pub(crate) fn fired(timer: &Fired) -> Result<()> {
    if timer.key.starts_with("sweep/") {
        return swept(timer, timers::payload(timer)?);
    }
    let due: Due = timers::payload(timer)?;
    let Some(mut ticket) = TICKETS.get(&due.ticket)? else { return Ok(()) };
    let now = context::now_seconds();
    let calendar = notice(&mut ticket, now)?;
    settle(&mut ticket, now, calendar.as_ref())?;
    TICKETS.put(&due.ticket, &ticket)
}

/// How a ticket's clocks stand at `now`, to show on it.
pub(crate) fn shown(clocks: &Clocks, now: i64, calendars: &mut desk::Calendars) -> Result<Sla> {
    let calendar = calendars.get(&clocks.calendar)?;
    let zone = calendar.zone();
    let shown = clocks
        .tracked
        .iter()
        .map(|t| {
            let due = t.clock.due_at(calendar).filter(|at| *at < i64::MAX);
            ClockShown {
                clock: t.target,
                stage: t.clock.stage,
                target_seconds: t.clock.target,
                elapsed_seconds: t.clock.elapsed(calendar, now),
                percent: t.clock.percent(calendar, now),
                due_at: due,
                due_local: due.map(|at| zone.describe(at)),
                warned: t.warned,
                breached: t.breached,
            }
        })
        .collect();
    Ok(Sla { policy: clocks.policy.clone(), calendar: clocks.calendar.clone(), clocks: shown })
}

/// A ticket's clocks as they stand.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Sla {
    /// The SLA policy they run under.
    policy: String,
    /// The business calendar they count on.
    calendar: String,
    clocks: Vec<ClockShown>,
}

/// One clock as it stands.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ClockShown {
    /// Time to own, or time to resolve.
    clock: Target,
    stage: Stage,
    /// Business seconds it allows.
    target_seconds: i64,
    /// Business seconds spent.
    elapsed_seconds: i64,
    /// Of its target, spent.
    percent: i64,
    /// When it breaches (Unix seconds), if it runs and ever does.
    due_at: Option<i64>,
    /// The same on the calendar's wall clock.
    due_local: Option<String>,
    /// Its warning was published.
    warned: bool,
    /// Its breach was published.
    breached: bool,
}
