//! Attendance as served: a record a day per employee, kept by the employee
//! (or HR for them) and decided by someone above them or HR, never by
//! themselves; approved absences are days a payroll run does not pay. A day
//! recorded again keeps what was approved before until it is decided.

use keel_sdk::contract::JsonSchema;
use keel_sdk::{Collection, Error, Range, Request, Response, Result, context};
use keel_values::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::absence::{CALENDARS, DEFAULT_CALENDAR, Decision};
use crate::books;
use crate::leave::attendance::{Day, DayState, Presence};
use crate::pay;
use crate::people::Employee;

/// Keyed `<employee>/<date>`.
pub(crate) const ATTENDANCE: Collection<Day> = Collection::new("attendance");
/// Longest span one listing covers, in days.
const SPAN_DAYS_MAX: i64 = 366;

/// `employee`'s days from `from` to `to`, both included.
pub(crate) fn days(employee: &str, from: &Date, to: &Date) -> Result<Vec<Day>> {
    let range =
        Range::between(Some(format!("{employee}/{from}")), Some(format!("{employee}/{to}")));
    Ok(ATTENDANCE.scan_all(&range)?.into_iter().map(|(_, day)| day).collect())
}

/// A day as the employee (or HR) records it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Recorded {
    /// Whether they worked: an absence only on a working day.
    presence: Presence,
    /// Hours worked, 0 to 24, a decimal string; none on an absent day.
    #[serde(default)]
    #[schemars(with = "Option<keel_values::decimal::Text>")]
    hours: Option<Decimal>,
    /// A note, at most 500 bytes.
    #[serde(default)]
    note: Option<String>,
}

/// An employee's days.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Attendance {
    /// The employee's number.
    pub(crate) employee: String,
    /// The days recorded, oldest first.
    pub(crate) days: Vec<Day>,
}

/// `PUT /attendance/{employee}/{date}`: by the employee while it awaits a
/// decision, by HR at any time; either way it awaits a decision again.
pub(crate) fn record(request: &Request) -> Result<Response> {
    let recorded: Recorded = request.json()?;
    let employee = books::visible_employee(request.param("employee")?)?;
    let date = Date::parse(request.param("date")?)?;
    let hr = context::has_permission("hr.people.manage");
    let mine = books::caller_employee()?.is_some_and(|me| me.id == employee.id);
    if !mine && !hr {
        return Err(Error::denied("attendance is recorded by whose it is, or by HR"));
    }
    if !employee.active_on(&date) {
        return Err(Error::invalid(format!("{} does not work here on {date}", employee.id)));
    }
    let key = format!("{}/{date}", employee.id);
    let kept = ATTENDANCE.get(&key)?;
    if let Some(kept) = &kept
        && kept.state != DayState::Submitted
        && !hr
    {
        return Err(Error::conflict(format!(
            "attendance of {} on {date} is {:?}; HR corrects it",
            employee.id, kept.state
        )));
    }
    let calendar_id = employee.calendar.as_deref().unwrap_or(DEFAULT_CALENDAR);
    let working = match CALENDARS.get(calendar_id)? {
        Some(calendar) => calendar.is_working(&date),
        None => return Err(Error::invalid(format!("calendar {calendar_id} does not exist"))),
    };
    let by = context::caller().unwrap_or_default();
    let mut day = Day::submitted(&employee.id, date, recorded.presence, &by);
    day.hours = recorded.hours;
    day.note = recorded.note;
    day.check(working, &books::today()?)?;
    let day = match &kept {
        Some(kept) => day.replacing(kept),
        None => day,
    };
    ATTENDANCE.put(&key, &day)?;
    Response::ok(&day)
}

/// `POST /attendance/{employee}/{date}/decision`: by someone above the
/// employee who works here, or HR; never by the employee or who recorded it.
pub(crate) fn decide(request: &Request) -> Result<Response> {
    let decision: Decision = request.json()?;
    let employee = books::visible_employee(request.param("employee")?)?;
    let date = Date::parse(request.param("date")?)?;
    let key = format!("{}/{date}", employee.id);
    let mut day = ATTENDANCE.get(&key)?.ok_or_else(|| {
        Error::not_found(format!("no attendance of {} on {date} is recorded", employee.id))
    })?;
    let deciding = books::Deciding::of(&employee, "deciding on attendance")?;
    day.decide(deciding.decider(), decision.approve)?;
    ATTENDANCE.put(&key, &day)?;
    pay::note_change(&employee.id, &date)?;
    Response::ok(&day)
}

fn listed(request: &Request, employee: &Employee) -> Result<Response> {
    let date = |name: &str| -> Result<Date> {
        let text = request.query(name).ok_or_else(|| {
            Error::invalid(format!(
                "give ?{name}=YYYY-MM-DD: the days listed are from and to dates"
            ))
        })?;
        Ok(Date::parse(text)?)
    };
    let (from, to) = (date("from")?, date("to")?);
    let span = to.days() - from.days() + 1;
    if !(1..=SPAN_DAYS_MAX).contains(&span) {
        return Err(Error::invalid(format!(
            "list 1 to {SPAN_DAYS_MAX} days at once, not from {from} to {to}"
        )));
    }
    let days = days(&employee.id, &from, &to)?;
    Response::ok(&Attendance { employee: employee.id.clone(), days })
}

/// `GET /employees/{id}/attendance?from=&to=`: for HR, someone above them,
/// or themselves.
pub(crate) fn of_employee(request: &Request) -> Result<Response> {
    let employee = books::visible_employee(request.param("id")?)?;
    if !books::may_see(&employee)? {
        return Err(Error::denied(format!("{} does not report to you", employee.id)));
    }
    listed(request, &employee)
}

/// `GET /me/attendance?from=&to=`
pub(crate) fn mine(request: &Request) -> Result<Response> {
    let me = books::caller_employee()?
        .ok_or_else(|| Error::not_found("you are not an employee of this organisation"))?;
    listed(request, &me)
}
