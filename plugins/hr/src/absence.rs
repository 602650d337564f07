//! Leave as served: holiday calendars, leave types, each employee's
//! balances (a ledger of allocations, takings and reversals), and requests
//! decided by the employee's manager (anyone above them in the reporting
//! line) or an HR officer, never by whom they are for or who asked.

use std::collections::BTreeMap;

use keel_sdk::contract::JsonSchema;
use keel_sdk::{Collection, Error, Range, Request, Response, Result, context, next_sequence};
use keel_values::Date;
use keel_values::decimal::{self, Sign};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::books;
use crate::leave::balance::{EntryKind, LeaveType, LedgerEntry, available};
use crate::leave::calendar::Calendar;
use crate::leave::request::{Request as LeaveRequest, State};
use crate::pay;
use crate::people::{Employee, check_id};

pub(crate) const CALENDARS: Collection<Calendar> = Collection::new("calendars");
pub(crate) const LEAVE_TYPES: Collection<LeaveType> = Collection::new("leave-types");
/// Keyed `<employee>/<type>/<date>/<number>`.
pub(crate) const LEDGER: Collection<LedgerEntry> = Collection::new("leave-ledger");
pub(crate) const REQUESTS: Collection<LeaveRequest> = Collection::new("leave-requests");
/// The calendar of employees who name none.
pub(crate) const DEFAULT_CALENDAR: &str = "default";
/// Most open leave requests one employee may have.
const OPEN_REQUESTS_MAX: usize = 20;

fn leave_type(code: &str) -> Result<LeaveType> {
    LEAVE_TYPES
        .get(code)?
        .ok_or_else(|| Error::invalid(format!("leave type {code} does not exist")))
}

pub(crate) fn calendar_of(employee: &Employee) -> Result<Calendar> {
    let id = employee.calendar.as_deref().unwrap_or(DEFAULT_CALENDAR);
    CALENDARS.get(id)?.ok_or_else(|| {
        Error::invalid(format!(
            "calendar {id} does not exist; an HR officer sets it with PUT /calendars/{id}"
        ))
    })
}

pub(crate) fn ledger(employee: &str, leave_type: &str) -> Result<Vec<LedgerEntry>> {
    let entries = LEDGER.scan_all(&Range::prefix(format!("{employee}/{leave_type}/")))?;
    Ok(entries.into_iter().map(|(_, entry)| entry).collect())
}

fn record(employee: &str, leave_type: &str, entry: &LedgerEntry) -> Result<()> {
    let n = next_sequence("leave-ledger")?;
    LEDGER.insert(&format!("{employee}/{leave_type}/{}/{n:08}", entry.date), entry)
}

/// `PUT /calendars/{id}`: weekly days off and holidays.
pub(crate) fn put_calendar(request: &Request) -> Result<Response> {
    let calendar: Calendar = request.json()?;
    let id = request.param("id")?;
    check_id("calendar", id)?;
    CALENDARS.put(id, &calendar)?;
    Response::ok(&calendar)
}

/// `PUT /leave-types/{code}`
pub(crate) fn put_leave_type(request: &Request) -> Result<Response> {
    let mut leave_type: LeaveType = request.json()?;
    leave_type.code = request.param("code")?.to_owned();
    check_id("leave type", &leave_type.code)?;
    leave_type.check()?;
    LEAVE_TYPES.put(&leave_type.code, &leave_type)?;
    Response::ok(&leave_type)
}

/// `GET /leave-types`
pub(crate) fn list_leave_types(_request: &Request) -> Result<Response> {
    let types: Vec<LeaveType> =
        LEAVE_TYPES.scan_all(&Range::all())?.into_iter().map(|(_, t)| t).collect();
    Response::ok(&LeaveTypes { leave_types: types })
}

/// Every leave type.
#[derive(Serialize, JsonSchema)]
pub(crate) struct LeaveTypes {
    /// By code.
    pub(crate) leave_types: Vec<LeaveType>,
}

/// Days given to an employee's balance by hand.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Allocation {
    /// A paid leave type's code.
    leave_type: String,
    /// Days given (or taken back, if negative), a decimal string.
    days: String,
    /// From when they count.
    date: Date,
}

/// `POST /employees/{id}/leave-allocations`: days given by hand (a
/// starting balance, a year's allowance).
pub(crate) fn allocate(request: &Request) -> Result<Response> {
    let allocation: Allocation = request.json()?;
    let employee = books::employee(request.param("id")?)?;
    let leave_type = leave_type(&allocation.leave_type)?;
    if !leave_type.paid {
        return Err(Error::invalid(format!(
            "{} is unpaid leave, which keeps no balance",
            leave_type.code
        )));
    }
    let days = decimal::quantity(&allocation.days, "days", Sign::Any)?;
    let entry = LedgerEntry { date: allocation.date, days, kind: EntryKind::Allocation };
    record(&employee.id, &leave_type.code, &entry)?;
    Response::created(&entry)
}

/// A request for leave.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Ask {
    /// Whom it is for; the caller when absent. Only HR officers ask for
    /// others.
    #[serde(default)]
    employee: Option<String>,
    /// The leave type's code.
    leave_type: String,
    /// The first day of leave.
    from: Date,
    /// The last day of leave.
    to: Date,
    /// Half a day, on a single date.
    #[serde(default)]
    half_day: bool,
}

/// A leave request and its number.
#[derive(Serialize, JsonSchema)]
pub(crate) struct NumberedRequest {
    /// The request's number.
    pub(crate) id: String,
    pub(crate) request: LeaveRequest,
}

/// `POST /leave-requests`: for oneself, or (an HR officer) for anyone.
pub(crate) fn ask(request: &Request) -> Result<Response> {
    let ask: Ask = request.json()?;
    let requester = context::caller().unwrap_or_default();
    let me = books::caller_employee()?;
    let employee = match (&ask.employee, &me) {
        (Some(id), Some(me)) if *id == me.id => me.clone(),
        (Some(id), _) if context::has_permission("hr.people.manage") => books::employee(id)?,
        (Some(id), _) => {
            return Err(Error::denied(format!(
                "only HR officers ask for leave for others, such as {id}"
            )));
        }
        (None, Some(me)) => me.clone(),
        (None, None) => return Err(Error::invalid("you are not an employee: name the employee")),
    };
    if !employee.active_on(&ask.from) || !employee.active_on(&ask.to) {
        return Err(Error::invalid(format!(
            "{} does not work here on every day from {} to {}",
            employee.id, ask.from, ask.to
        )));
    }
    let theirs = REQUESTS.lookup_all("by-employee", &Range::exactly(employee.id.as_str()))?;
    if let Some((id, _)) = theirs.iter().find(|(_, r)| r.overlaps(&ask.from, &ask.to)) {
        return Err(Error::conflict(format!(
            "leave request {id} of {} shares days with this one; cancel it first",
            employee.id
        )));
    }
    let open = theirs.iter().filter(|(_, r)| r.state == State::Open).count();
    if open >= OPEN_REQUESTS_MAX {
        return Err(Error::conflict(format!(
            "{} has {open} requests awaiting a decision; at most {OPEN_REQUESTS_MAX}",
            employee.id
        )));
    }
    let leave_type = leave_type(&ask.leave_type)?;
    let calendar = calendar_of(&employee)?;
    // What is left once the leave approved for later is counted too, so
    // that approving this cannot overdraw those.
    let held = available(&ledger(&employee.id, &leave_type.code)?, &ask.to);
    let new = LeaveRequest::new(
        &employee.id,
        &requester,
        &leave_type,
        (ask.from, ask.to),
        ask.half_day,
        &calendar,
        held,
    )?;
    let id = format!("{:08}", next_sequence("leave-requests")?);
    REQUESTS.insert(&id, &new)?;
    Response::created(&NumberedRequest { id, request: new })
}

fn stored(id: &str) -> Result<LeaveRequest> {
    REQUESTS.get(id)?.ok_or_else(|| Error::not_found(format!("leave request {id} does not exist")))
}

/// A decision on leave or attendance: `{"approve": true|false}`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decision {
    /// True to approve, false to refuse.
    pub(crate) approve: bool,
}

/// `POST /leave-requests/{id}/decision`: `{"approve": true|false}`.
pub(crate) fn decide(request: &Request) -> Result<Response> {
    let decision: Decision = request.json()?;
    let id = request.param("id")?;
    let mut leave = stored(id)?;
    let employee = books::employee(&leave.employee)?;
    let deciding = books::Deciding::of(&employee, "deciding on leave")?;
    let leave_type = leave_type(&leave.leave_type)?;
    let held = available(&ledger(&leave.employee, &leave.leave_type)?, &leave.to);
    let taken = leave.decide(deciding.decider(), decision.approve, &leave_type, held)?;
    if let Some(entry) = &taken {
        record(&leave.employee, &leave.leave_type, entry)?;
    }
    if leave.state == State::Approved {
        pay::note_change(&leave.employee, &leave.from)?;
    }
    REQUESTS.put(id, &leave)?;
    Response::ok(&NumberedRequest { id: id.to_owned(), request: leave })
}

/// `POST /leave-requests/{id}/cancellation`: by whom it is for while it is
/// open or has not begun; by HR at any time.
pub(crate) fn cancel(request: &Request) -> Result<Response> {
    let id = request.param("id")?;
    let mut leave = stored(id)?;
    let hr = context::has_permission("hr.people.manage");
    let mine = books::caller_employee()?.is_some_and(|me| me.id == leave.employee);
    if !mine && !hr {
        return Err(Error::denied("only whom a leave request is for, or HR, cancels it"));
    }
    if !hr && leave.state == State::Approved && leave.from <= books::today()? {
        return Err(Error::denied(format!(
            "leave that began on {} is cancelled by HR, not by whom it is for",
            leave.from
        )));
    }
    let was_approved = leave.state == State::Approved;
    if let Some(entry) = leave.cancel()? {
        record(&leave.employee, &leave.leave_type, &entry)?;
    }
    if was_approved {
        pay::note_change(&leave.employee, &leave.from)?;
    }
    REQUESTS.put(id, &leave)?;
    Response::ok(&NumberedRequest { id: id.to_owned(), request: leave })
}

/// An employee's leave.
#[derive(Serialize, JsonSchema)]
pub(crate) struct LeaveOf {
    /// The employee's number.
    pub(crate) employee: String,
    /// By paid leave type's code.
    pub(crate) balances: BTreeMap<String, LeaveBalance>,
    /// Their requests, by number.
    pub(crate) requests: Vec<NumberedRequest>,
}

/// One balance today, and the ledger it is the sum of.
#[derive(Serialize, JsonSchema)]
pub(crate) struct LeaveBalance {
    /// The days left to ask for: the balance today, less the leave
    /// approved for later.
    pub(crate) balance: Decimal,
    /// Its entries, oldest first.
    pub(crate) ledger: Vec<LedgerEntry>,
}

/// An employee's balances per leave type today, their ledgers, and their
/// requests.
pub(crate) fn leave_of(employee: &Employee) -> Result<LeaveOf> {
    let today = Date::parse(&context::today())?;
    let mut balances = BTreeMap::new();
    for (_, leave_type) in LEAVE_TYPES.scan_all(&Range::all())? {
        if !leave_type.paid {
            continue;
        }
        let entries = ledger(&employee.id, &leave_type.code)?;
        let left: Decimal = available(&entries, &today);
        balances.insert(leave_type.code.clone(), LeaveBalance { balance: left, ledger: entries });
    }
    let requests: Vec<_> = REQUESTS
        .lookup_all("by-employee", &Range::exactly(employee.id.as_str()))?
        .into_iter()
        .map(|(id, request)| NumberedRequest { id, request })
        .collect();
    Ok(LeaveOf { employee: employee.id.clone(), balances, requests })
}

/// `GET /employees/{id}/leave`: HR, or someone above them.
pub(crate) fn employee_leave(request: &Request) -> Result<Response> {
    let employee = books::visible_employee(request.param("id")?)?;
    if !books::may_see(&employee)? {
        return Err(Error::denied(format!("{} does not report to you", employee.id)));
    }
    Response::ok(&leave_of(&employee)?)
}

/// `GET /me/leave`
pub(crate) fn my_leave(_request: &Request) -> Result<Response> {
    let employee = books::caller_employee()?
        .ok_or_else(|| Error::not_found("you are not an employee of this organisation"))?;
    Response::ok(&leave_of(&employee)?)
}

/// `GET /leave-requests?cursor=&limit=`: the open requests the caller may
/// decide (all of them, for HR), oldest first, a page of open requests at
/// a time (a manager's page holds those of their people among them).
pub(crate) fn pending(request: &Request) -> Result<Response> {
    let everyone = context::has_permission("hr.people.manage");
    let me = books::caller_employee()?;
    let (cursor, limit) = (request.query("cursor"), request.page_limit()?);
    let page = REQUESTS.lookup("by-state", &Range::exactly("open"), cursor, limit)?;
    let mut pending = Vec::new();
    for (id, leave) in page.items {
        let employee = books::employee(&leave.employee)?;
        let above = match &me {
            Some(me) => books::is_above(me, &employee)?,
            None => false,
        };
        if leave.state == State::Open && (everyone || above) {
            pending.push(NumberedRequest { id, request: leave });
        }
    }
    Response::ok(&PendingPage { pending, cursor: page.cursor })
}

/// A page of the open leave requests the caller may decide.
#[derive(Serialize, JsonSchema)]
pub(crate) struct PendingPage {
    /// Oldest first.
    pub(crate) pending: Vec<NumberedRequest>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}
